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
regex="${TEMPEST_REGEX:-^tempest\.api\.(identity|image|compute)}"
# What is left out, by name, and why.
exclude="${TEMPEST_EXCLUDE_LIST:-$PWD/scripts/tempest-exclude.txt}"
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
# The embedded agent runs on libvirt's test driver: Tempest checks the API,
# not guests (the agent's own tests boot real ones under QEMU).
export GUREUM_AGENT__STATE_DIR="$work/agent"
start_server "sqlite:$work/gureum.db" "$work"

# What [compute] names: two flavors and two images, made as the admin with
# the stock CLI, as an operator would.
os() { "$venv/bin/openstack" --os-auth-url "$base/identity/v3" --os-username admin --os-password "$password" \
    --os-project-name admin --os-user-domain-name Default --os-project-domain-name Default "$@"; }
flavor_ref=$(os flavor create --vcpus 1 --ram 128 --disk 1 tempest.small -f value -c id)
flavor_ref_alt=$(os flavor create --vcpus 1 --ram 192 --disk 1 tempest.alt -f value -c id)
image_ref=$(os image create --public --disk-format qcow2 --container-format bare --file "$work/www/cirros.qcow2" tempest-image -f value -c id)
image_ref_alt=$(os image create --public --disk-format qcow2 --container-format bare --file "$work/www/cirros.qcow2" tempest-image-alt -f value -c id)

# Its workspace registry stays in the scratch directory, not ~/.tempest.
"$venv/bin/tempest" init --workspace-path "$work/workspace.yaml" "$work/tempest" >/dev/null
sed -e "s|@BASE@|$base|g" -e "s|@PASSWORD@|$password|g" -e "s|@SOURCE@|http://127.0.0.1:$source_port|g" \
    -e "s|@FLAVOR@|$flavor_ref|g" -e "s|@FLAVOR_ALT@|$flavor_ref_alt|g" -e "s|@IMAGE@|$image_ref|g" -e "s|@IMAGE_ALT@|$image_ref_alt|g" scripts/tempest.conf.in >"$work/tempest/etc/tempest.conf"
cd "$work/tempest"
set +e
"$venv/bin/tempest" run --concurrency 2 --regex "$regex" --exclude-list "$exclude" >"$work/run.log" 2>&1
status=$?
set -e
grep -E "^(Totals| - (Passed|Failed|Skipped))" "$work/run.log" | sed 's/^/   /' || tail -20 "$work/run.log"
if ((status != 0)); then
    echo "   failed:"
    "$venv/bin/stestr" failing --list 2>/dev/null | sed 's/\[.*//; s/^/     /' | sort -u
    [[ -n "${TEMPEST_KEEP:-}" ]] && echo "   kept: $work (run.log, server.log, tempest/tempest.log)"
fi
exit $status
