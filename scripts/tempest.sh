#!/usr/bin/env bash
# `make tempest`: OpenStack's own API suite against the server `make run`
# builds, on a fresh SQLite database — identity and image, the services that
# exist (compute, networks and volumes extend TEMPEST_REGEX when they land).
# Tempest makes its own users and projects (dynamic credentials) as the
# bootstrap admin; the config below says what this cloud has, so a skip is
# Tempest's own for a service that is not there. Prints the counts and the
# failed tests; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$HOME/.cache/gureum/target}"
server="${GUREUM_TEMPEST_SERVER:-$CARGO_TARGET_DIR/debug/gureum-server}"
venv="${TEMPEST_VENV:-$HOME/.cache/gureum/venv}"
port="${GUREUM_TEMPEST_PORT:-3392}"
regex="${TEMPEST_REGEX:-^tempest\.api\.(identity|image)}"
# OAuth1 is out of scope (docs/architecture.md) and Tempest has no switch
# for it: its tests are left out here, by name.
exclude="${TEMPEST_EXCLUDE:-\.test_oauth_consumers\.}"
base="http://127.0.0.1:$port"
password=tempest-admin-password

[[ -x "$venv/bin/tempest" ]] || { echo "tempest is missing from $venv (scripts/install-deps.sh tempest installs it)" >&2; exit 1; }
work=$(mktemp -d)
source scripts/serve.sh
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; [[ -n "${TEMPEST_KEEP:-}" ]] || rm -rf "$work"' EXIT
# The web-download source: a small real qcow2 served on loopback.
source_port=$((port + 1))
mkdir -p "$work/www"
qemu-img create -q -f qcow2 "$work/www/cirros.qcow2" 64M
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$source_port" >"$work/source.log" 2>&1 &
source_pid=$!
trap 'kill $server_pid $source_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; [[ -n "${TEMPEST_KEEP:-}" ]] || rm -rf "$work"' EXIT
export GUREUM_IMAGE__REQUIRE_FORMAT_MATCH=false
export GUREUM_IMAGE__IMPORT_ALLOWED_HOSTS='["127.0.0.1"]'
export GUREUM_IMAGE__IMPORT_ALLOWED_PORTS="[80, 443, $source_port]"
start_server "sqlite:$work/gureum.db" "$work"

# Its workspace registry stays in the scratch directory, not ~/.tempest.
"$venv/bin/tempest" init --workspace-path "$work/workspace.yaml" "$work/tempest" >/dev/null
sed -e "s|@BASE@|$base|g" -e "s|@PASSWORD@|$password|g" -e "s|@SOURCE@|http://127.0.0.1:$source_port|g" scripts/tempest.conf.in >"$work/tempest/etc/tempest.conf"
cd "$work/tempest"
set +e
"$venv/bin/tempest" run --concurrency 2 --regex "$regex" --exclude-regex "$exclude" >"$work/run.log" 2>&1
status=$?
set -e
grep -E "^(Totals| - (Passed|Failed|Skipped))" "$work/run.log" | sed 's/^/   /' || tail -20 "$work/run.log"
if ((status != 0)); then
    echo "   failed:"
    "$venv/bin/stestr" failing --list 2>/dev/null | sed 's/\[.*//; s/^/     /' | sort -u
    [[ -n "${TEMPEST_KEEP:-}" ]] && echo "   kept: $work (run.log, server.log, tempest/tempest.log)"
fi
exit $status
