#!/usr/bin/env bash
# Installs the npm test tools (package.json beside this script) into DIR, once:
# reinstalls only when package.json changed. Prints DIR/node_modules.
#   test/npm/install.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir"
# Tests run in parallel and each may call this: one installs, the others wait.
exec 9>"$dir/.install.lock"
flock 9
if ! cmp -s "$here/package.json" "$dir/package.json" || [ ! -d "$dir/node_modules/@modelcontextprotocol/conformance" ]; then
  cp "$here/package.json" "$dir/package.json"
  (cd "$dir" && npm install --no-package-lock --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dir/node_modules"
