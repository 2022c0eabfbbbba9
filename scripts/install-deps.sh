#!/usr/bin/env bash
# Installs what the build and the tests need and is missing: the wasm target, npm packages
# (binaryen's wasm-opt, esbuild, playwright-core, …), and (as root, with apt) Chromium.
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
