# Two commands do everything on a fresh clone:
#   make demo   installs what is missing, builds, serves the demo on http://localhost:8080
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

.PHONY: all deps deps-browser build dist packages server demo test test-native test-wasm test-e2e clean bench
all: build

deps:
	scripts/install-deps.sh

deps-browser:
	scripts/install-deps.sh --browser

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

server:
	cargo build -p authenticator-server

demo: build
	@echo "Demo: open http://localhost:8080"
	$(SERVER)

test: deps-browser build packages test-native test-wasm test-e2e

test-native:
	cargo test --workspace

# The browser shell's own tests (src/web/tests.rs), wasm-bindgen-test in headless Chromium
# (webdriver.json passes its flags).
test-wasm:
	CHROMEDRIVER=$${CHROMEDRIVER:-/usr/bin/chromedriver} \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	cargo test -p kloudless-authenticator --target wasm32-unknown-unknown --lib

# The files named (not the folder: Node 22+ would take `e2e/` for a module).
test-e2e:
	node --test --test-concurrency=1 e2e/*.test.mjs e2e/consumer/*.test.mjs

# This library against the original 1.3.0 in headless Chromium: prints the table and writes
# bench/results.md (the bench's own dependencies are in bench/package.json).
bench: deps-browser dist server
	if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules ]; then \
		(cd bench && npm ci --no-audit --no-fund) && touch bench/node_modules; fi
	node bench/run.mjs

clean:
	rm -rf build dist target examples/*/dist
