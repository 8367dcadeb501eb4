#!/usr/bin/env bash
# `make bench`, compute as users meet it: the server binary `make run`
# builds, on its own SQLite file, its embedded agent on libvirt's test
# driver (with room for every boot), load from `wrk` in a separate process.
#
# 1. Boot storm: POST /compute/v2.1/servers at 8 connections for 10 s —
#    accepted boots/s with p50 and p99, the server's memory during it.
# 2. Once every boot is ACTIVE: the server list as the CLI and the
#    dashboard ask for it — `servers/detail?limit=1000` (1,000 rows) and the
#    first page of 50 — req/s with p50 and p99 at 8 connections, and the
#    server's memory under that load.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$HOME/.cache/gureum/target}"
server="${GUREUM_BENCH_SERVER:-$CARGO_TARGET_DIR/debug/gureum-server}"
port="${GUREUM_BENCH_PORT:-3391}"
base="http://127.0.0.1:$port"
password=bench-admin-password

command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh bench installs it)" >&2; exit 1; }
work=$(mktemp -d)
source scripts/serve.sh
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
# No quotas, and a test-driver node big enough for every boot of the storm.
GUREUM_COMPUTE__INSTANCES=-1 GUREUM_COMPUTE__CORES=-1 GUREUM_COMPUTE__RAM_MIB=-1 \
    GUREUM_AGENT__VCPUS=100000 GUREUM_AGENT__MEMORY_MIB=100000000 GUREUM_AGENT__DISK_GB=1000000 \
    GUREUM_AGENT__STATE_DIR="$work/agent" \
    start_server "sqlite:$work/gureum.db" "$work"
pid=$server_pid
mem() { awk -v k="$1:" '$1 == k {print int($2 / 1024) " MB"}' "/proc/$pid/status"; }
# The highest VmRSS seen while a command runs (sampled every 100 ms).
rss_during() {
    local peak=0 rss
    "$@" &
    local job=$!
    while kill -0 $job 2>/dev/null; do
        rss=$(awk '$1 == "VmRSS:" {print int($2 / 1024)}' "/proc/$pid/status")
        (( rss > peak )) && peak=$rss
        sleep 0.1
    done
    wait $job
    echo "   server RSS under this load: up to $peak MB"
}

login_body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$password")
token=$(curl -fsi -H 'Content-Type: application/json' -d "$login_body" "$base/identity/v3/auth/tokens" \
    | awk -F': ' 'tolower($1) == "x-subject-token" {print $2}' | tr -d '\r')
api() { curl -fs -H "X-Auth-Token: $token" -H 'Content-Type: application/json' "$@"; }

api -d '{"flavor":{"name":"bench.tiny","vcpus":1,"ram":64,"disk":1,"id":"bench-tiny"}}' "$base/compute/v2.1/flavors" >/dev/null
image=$(api -d '{"name":"bench","disk_format":"raw","container_format":"bare","visibility":"public"}' "$base/image/v2/images" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
head -c 4096 /dev/urandom >"$work/image.raw"
curl -fs -X PUT -H "X-Auth-Token: $token" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$work/image.raw" "$base/image/v2/images/$image/file"

# req/s, p50 and p99 of a wrk run (its --latency table).
rate() {
    awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
         END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99; if (bad) printf ", %s non-2xx", bad}'
}
cat >"$work/boot.lua" <<EOF
wrk.method = "POST"
wrk.headers["X-Auth-Token"] = "$token"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["OpenStack-API-Version"] = "compute 2.37"
wrk.body = '{"server":{"name":"bench","imageRef":"$image","flavorRef":"bench-tiny","networks":"none"}}'
EOF
echo "== boot storm: POST /compute/v2.1/servers, 8 connections, 10s (embedded agent, test driver)"
boot_storm() { echo "   $(wrk -t2 -c8 -d10s --latency -s "$work/boot.lua" "$base/compute/v2.1/servers" | rate)"; }
rss_during boot_storm

count() {
    api "$base/compute/v2.1/servers/detail?limit=1000&all_tenants=1$1" \
        | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["servers"]))'
}
for _ in $(seq 600); do
    [[ $(count "&status=BUILD") == 0 ]] && break
    sleep 0.2
done
booted=$(api "$base/compute/v2.1/limits" | python3 -c 'import json,sys; print(json.load(sys.stdin)["limits"]["absolute"]["totalInstancesUsed"])')
echo "   servers: $booted, still building: $(count "&status=BUILD"), in ERROR: $(count "&status=ERROR")"

cat >"$work/list.lua" <<EOF
wrk.headers["X-Auth-Token"] = "$token"
EOF
list() { echo "   $(wrk -t2 -c8 -d10s --latency -s "$work/list.lua" "$base/compute/v2.1/$1" | rate)"; }
echo "== GET /compute/v2.1/servers/detail?limit=1000 (1,000 rows), 8 connections, 10s"
rss_during list "servers/detail?limit=1000"
echo "== GET /compute/v2.1/servers/detail?limit=50 (a dashboard page), 8 connections, 10s"
rss_during list "servers/detail?limit=50"
echo "   server peak RSS (VmHWM): $(mem VmHWM)"
