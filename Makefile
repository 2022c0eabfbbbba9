# Two commands do everything on a fresh clone:
#   make demo   installs what is missing, builds, serves the demo on http://localhost:8080 (with
#               an example OpenID provider to connect through)
#   make test   installs what is missing (Chromium too), builds, runs every test
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

WASM := target/wasm32-unknown-unknown/wasm/kloudless_authenticator.wasm
SERVER := target/debug/authenticator-server
# Features rustc's wasm32 target emits; wasm-opt must be allowed to keep them. Flattening and
# re-looping the control flow, and merging functions that differ only in constants, before the
# -Oz passes give a smaller module than -Oz alone (measured: 162 bytes gzip).
WASM_OPT := node_modules/.bin/wasm-opt --flatten --rereloop --merge-similar-functions -Oz -Oz --converge --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
	--enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue

.PHONY: demo-screenshots all deps deps-browser deps-postgres deps-python sdk-venv build dist packages server server-plain demo test test-native test-wasm test-e2e test-postgres clean bench bench-server bench-raw
all: build

deps:
	scripts/install-deps.sh

deps-browser:
	scripts/install-deps.sh --browser

deps-postgres:
	scripts/install-deps.sh --postgres

deps-python:
	scripts/install-deps.sh --python

# The official Kloudless Python SDK from PyPI, pinned (e2e/sdk/requirements.txt), in
# build/sdk-venv, for the end-to-end tests that drive the server with it (e2e/sdk.test.mjs).
sdk-venv: deps-python
	scripts/sdk-venv.sh

build: deps dist server

# The shipped browser files: dist/kloudless.authenticator.js (script tag) and the npm package
# (staged in build/npm/, packed by npm pack into dist/kloudless-authenticator-<version>.tgz).
# wasm-bindgen generates the glue (build/wb/); wasm-opt shrinks its module.
dist:
	cargo build -p kloudless-authenticator --target wasm32-unknown-unknown --profile wasm
	mkdir -p build
	wasm-bindgen --target web --no-typescript --out-dir build/wb $(WASM)
	$(WASM_OPT) --strip-debug --strip-producers --strip-target-features build/wb/kloudless_authenticator_bg.wasm -o build/kloudless_authenticator.wasm
	node js/build.mjs

# The example apps and the typed consumer, installed from the fresh tarball (npm ci).
packages: dist
	scripts/install-packages.sh

# The server the end-to-end tests and the bench start (target/debug/authenticator-server), with
# the test knobs (`--test-faults`, `--latency-ms`, `--rehost`: the `test-support` feature), and
# the quirk simulator e2e/quirks.test.mjs starts (target/debug/quirk-simulator). A release build
# (`cargo build --release -p authenticator-server`, as bench-server does) has no knob.
server:
	cargo build -p authenticator-server --features test-support -p quirk-simulator

# The same binary without the test knobs, as shipped.
server-plain:
	cargo build -p authenticator-server

# The server with the simulated services, an example OpenID provider and a webhook receiver
# printing the demo app's events (scripts/demo.mjs), in
# a plain build (no test knobs); `make server` puts the test build back for the tests.
demo: deps dist server-plain
	@echo "Demo: open http://localhost:8080"
	node scripts/demo.mjs

# Screenshots of the pop-up's pages (chooser, a form, an error page; light and dark) for the
# README, in docs/screenshots/ (scripts/screenshots.mjs).
demo-screenshots: deps-browser server
	node scripts/screenshots.mjs

# Every test on SQLite (the default database), then the server's and the end-to-end tests again
# on PostgreSQL.
test: deps-browser deps-postgres build packages test-native test-wasm test-e2e test-postgres

# The tests that check a build without the test knobs refuses them, then every test with the
# knobs (the `test-support` feature), which also leaves that build in target/debug for test-e2e.
test-native:
	cargo test -p authenticator-server --lib --test cli
	cargo test --workspace --features authenticator-server/test-support

# The browser shell's own tests (src/web/tests.rs), wasm-bindgen-test in headless Chromium
# (webdriver.json passes its flags).
test-wasm:
	CHROMEDRIVER=$${CHROMEDRIVER:-/usr/bin/chromedriver} \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	cargo test -p kloudless-authenticator --target wasm32-unknown-unknown --lib

# The files named (not the folder: Node 22+ would take `e2e/` for a module).
test-e2e: server sdk-venv
	node --test --test-concurrency=1 e2e/*.test.mjs e2e/consumer/*.test.mjs

# The server's tests and the end-to-end tests on PostgreSQL: a throw-away cluster in a temporary
# folder (scripts/postgres.sh; durability off, as nothing in it outlives the run), whose URL
# KLOUDLESS_TEST_DATABASE hands to the tests (each test, or each server an end-to-end test
# starts, makes a database of its own there); stopped and removed whatever the outcome.
test-postgres: deps-postgres server
	cluster=$$(mktemp -d); \
	trap 'scripts/postgres.sh stop "$$cluster"; rm -rf "$$cluster"' EXIT; \
	url=$$(scripts/postgres.sh start "$$cluster" fsync=off synchronous_commit=off full_page_writes=off); \
	echo "PostgreSQL suite on $$url"; \
	KLOUDLESS_TEST_DATABASE=$$url cargo test -p authenticator-server --features test-support; \
	KLOUDLESS_TEST_DATABASE=$$url $(MAKE) --no-print-directory test-e2e

# This library against the original 1.3.0 in headless Chromium: prints the table and writes
# bench/results.md (the bench's own dependencies are in bench/package.json).
bench: deps-browser dist server
	if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules ]; then \
		(cd bench && npm ci --no-audit --no-fund) && touch bench/node_modules; fi
	node bench/run.mjs

# The API server under load (autocannon: token verification + account fetch) on SQLite and on
# PostgreSQL with one and two instances, against a reference measured in the same run (a bare
# axum route answering a constant: bench/server/reference.rs); writes bench/server/results.md
# (quoted in the README), results.svg and results.json. Not part of `make test`. Its dependency
# is in bench/server/package.json.
bench-server: deps-postgres
	cargo build --release -p authenticator-server
	cargo build --release -p authenticator-server --example bench-reference
	if [ ! -d bench/server/node_modules ] || [ bench/server/package-lock.json -nt bench/server/node_modules ]; then \
		(cd bench/server && npm ci --no-audit --no-fund) && touch bench/server/node_modules; fi
	node bench/server/run.mjs

# The pass-through API's streaming throughput against a local provider, in a release build:
# 64 MiB up and down through the API and directly, medians of 5 (server/tests/raw_streaming.rs,
# bench_raw_throughput). Not part of `make test`.
bench-raw:
	cargo test --release -p authenticator-server --test raw_streaming bench_raw_throughput -- --ignored --nocapture

clean:
	rm -rf build dist target examples/*/dist
