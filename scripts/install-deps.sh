#!/usr/bin/env bash
# Installs what the build and the tests need and is missing: the wasm target, wasm-bindgen-cli
# (the very version of the wasm-bindgen crate), npm packages (binaryen's wasm-opt, esbuild,
# playwright-core, …), and as root, with apt: Chromium and chromedriver (--browser; the
# wasm-bindgen-test runner drives chromedriver), PostgreSQL (--postgres), or Python 3 with its
# venv module (--python).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
  cargo install wasm-bindgen-cli --version "=$want" --locked || cargo install wasm-bindgen-cli --version "=$want"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
  touch node_modules
fi
# The browser the tests and the bench run (e2e/harness.mjs, bench/run.mjs), and its driver.
if [ "${1:-}" = "--browser" ] && { [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] || ! command -v chromedriver >/dev/null; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    echo "Chromium and chromedriver are needed for the browser tests: install them (Debian: apt-get install chromium chromium-driver), or set CHROMIUM to Chromium's path." >&2
    exit 1
  fi
fi
# PostgreSQL 15's server programs, for the PostgreSQL test suite and the server benchmark
# (scripts/postgres.sh starts throw-away clusters with them).
if [ "${1:-}" = "--postgres" ] && [ ! -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15
  else
    echo "PostgreSQL 15 is needed for the PostgreSQL tests: install it (Debian: apt-get install postgresql-15), or set PG_BIN to its bin folder." >&2
    exit 1
  fi
fi
# Python 3 with its venv module and the pip it bundles, for the official Kloudless Python SDK's
# tests (scripts/sdk-venv.sh makes their virtual environment; Debian keeps ensurepip in python3-venv).
if [ "${1:-}" = "--python" ] && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
  else
    echo "Python 3 with its venv module is needed for the Kloudless SDK tests: install it (Debian: apt-get install python3 python3-venv)." >&2
    exit 1
  fi
fi
