#!/usr/bin/env bash
# check-assets.sh PACKAGE VERSION INTEGRITY: package-lock.json pins PACKAGE at VERSION with the
# integrity hash the npm registry publishes for it (`npm view PACKAGE@VERSION dist.integrity`);
# `npm ci` then refuses a tarball that does not match it.
set -euo pipefail
cd "$(dirname "$0")"
node -e '
const [name, version, integrity] = process.argv.slice(1);
const entry = require("./package-lock.json").packages["node_modules/" + name] || {};
if (entry.version !== version || entry.integrity !== integrity) {
  console.error(`package-lock.json: ${name} is ${entry.version} ${entry.integrity}, expected ${version} ${integrity}`);
  process.exit(1);
}' "$1" "$2" "$3"
