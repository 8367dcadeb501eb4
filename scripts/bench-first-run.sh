#!/usr/bin/env bash
# `make bench FIRST_RUN=1`: the first `make build` a new user meets — a clean
# clone of this checkout's HEAD built into empty target directories (the
# server and the front end), timed. Tools already installed (wasm-bindgen-cli,
# npm packages in the npm cache) are reused; on a new machine their install
# comes on top (wasm-bindgen-cli: about 2m40s here).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q . "$work/clone"
start=$(date +%s)
(
    cd "$work/clone"
    CARGO_TARGET_DIR="$work/target" WASM_TARGET_DIR="$work/target-wasm" make build >"$work/build.log" 2>&1
) || { tail -30 "$work/build.log"; exit 1; }
secs=$(( $(date +%s) - start ))
echo "== first build from a clean clone (empty target directories): $((secs / 60))m$((secs % 60))s"
grep -E "Finished" "$work/build.log" | sed 's/^ */   /'
