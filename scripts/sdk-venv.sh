#!/usr/bin/env bash
# The official Kloudless Python SDK for its tests (e2e/sdk.test.mjs, e2e/sdk/calls.py): a Python
# virtual environment in build/sdk-venv with the packages pinned in e2e/sdk/requirements.txt,
# installed from PyPI as a migrating app would. Made anew only when it is missing or the
# requirements changed since it was made.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=build/sdk-venv
requirements=e2e/sdk/requirements.txt
if [ -x "$venv/bin/python" ] && [ ! "$requirements" -nt "$venv/installed" ]; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
touch "$venv/installed"
