#!/usr/bin/env bash
# Installs the example apps and the typed consumer with `npm ci`, each taking the package from
# the tarball `make dist` packed (dist/kloudless-authenticator-<version>.tgz), as a user's app would.
#
# The tarball changes with every build, so its lock entries must carry no integrity hash: with
# one, npm ci would install the copy it cached under that hash instead of the new build. This
# takes any such hash out (after a plain `npm install` wrote one) before installing.
set -euo pipefail
cd "$(dirname "$0")/.."

for dir in examples/react examples/vue e2e/consumer; do
  node -e '
    const fs = require("fs");
    const file = process.argv[1];
    const lock = JSON.parse(fs.readFileSync(file, "utf8"));
    let changed = false;
    for (const entry of Object.values(lock.packages)) {
      if (entry.resolved?.startsWith("file:") && entry.integrity) { delete entry.integrity; changed = true; }
    }
    if (changed) fs.writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
  ' "$dir/package-lock.json"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
