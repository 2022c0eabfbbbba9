#!/usr/bin/env bash
# Installs what the build and the tests need and is missing: the wasm target, npm packages
# (binaryen's wasm-opt, esbuild, playwright-core, …), and (as root, with apt) Chromium (--browser)
# or PostgreSQL (--postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
  touch node_modules
fi
# The browser the tests and the bench run (e2e/harness.mjs, bench/run.mjs).
if [ "${1:-}" = "--browser" ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "Chromium is needed for the browser tests: install it (Debian: apt-get install chromium), or set CHROMIUM to its path." >&2
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
