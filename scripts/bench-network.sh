#!/usr/bin/env bash
# `make bench`, networking as users meet it: the server binary `make run`
# builds, load from `wrk` in a separate process, on SQLite and on MariaDB
# (a scratch database on 127.0.0.1:3306, dropped after).
#
# 1. Port storm: POST /network/v2.0/ports on one network with a /16 at 8
#    connections for 10 s — ports created/s with p50 and p99 (each takes
#    an address from the IPAM and joins the project's default security
#    group in its own transaction), the server's memory during it; then a
#    check that every port holds a distinct address.
# 2. The port list as the CLI asks for it (`ports?limit=1000`) and a
#    dashboard page (50), req/s at 8 connections.
# 3. Floating IP storm: POST /network/v2.0/floatingips on an external /16
#    (each allocates a port and an address there) at 8 connections, 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$HOME/.cache/gureum/target}"
server="${GUREUM_BENCH_SERVER:-$CARGO_TARGET_DIR/debug/gureum-server}"
port="${GUREUM_BENCH_PORT:-3391}"
base="http://127.0.0.1:$port"
password=bench-admin-password
source scripts/serve.sh
command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh bench installs it)" >&2; exit 1; }

# req/s, p50 and p99 of a wrk run (its --latency table).
rate() {
    awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
         END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99; if (bad) printf ", %s non-2xx", bad}'
}

# bench_backend LABEL DATABASE_URL
bench_backend() {
    local label=$1 url=$2 work pid
    work=$(mktemp -d)
    # No quotas in the way of the storms.
    GUREUM_NETWORK__PORTS=-1 GUREUM_NETWORK__FLOATING_IPS=-1 start_server "$url" "$work"
    pid=$server_pid
    local login_body token
    login_body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$password")
    token=$(curl -fsi -H 'Content-Type: application/json' -d "$login_body" "$base/identity/v3/auth/tokens" \
        | awk -F': ' 'tolower($1) == "x-subject-token" {print $2}' | tr -d '\r')
    api() { curl -fs -H "X-Auth-Token: $token" -H 'Content-Type: application/json' "$@"; }
    id_of() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"][\"id\"])"; }
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

    local net
    net=$(api -d '{"network":{"name":"bench"}}' "$base/network/v2.0/networks" | id_of network)
    api -d "{\"subnet\":{\"network_id\":\"$net\",\"cidr\":\"10.128.0.0/16\",\"ip_version\":4}}" \
        "$base/network/v2.0/subnets" >/dev/null
    cat >"$work/port.lua" <<EOF
wrk.method = "POST"
wrk.headers["X-Auth-Token"] = "$token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"port":{"network_id":"$net"}}'
EOF
    echo "== $label: port storm, POST /network/v2.0/ports on a /16, 8 connections, 10s"
    storm() { echo "   $(wrk -t2 -c8 -d10s --latency -s "$work/port.lua" "$base/network/v2.0/ports" | rate)"; }
    rss_during storm
    api "$base/network/v2.0/ports?network_id=$net&fields=fixed_ips" | python3 -c '
import json, sys
ports = json.load(sys.stdin)["ports"]
ips = [ip["ip_address"] for p in ports for ip in p["fixed_ips"]]
assert len(ips) == len(set(ips)) == len(ports), "an address was handed out twice"
print(f"   {len(ports)} ports, {len(set(ips))} distinct addresses")'

    cat >"$work/list.lua" <<EOF
wrk.headers["X-Auth-Token"] = "$token"
EOF
    for limit in 1000 50; do
        echo "   GET /network/v2.0/ports?limit=$limit, 8 connections, 10s: $(wrk -t2 -c8 -d10s --latency -s "$work/list.lua" "$base/network/v2.0/ports?limit=$limit" | rate)"
    done

    local public
    public=$(api -d '{"network":{"name":"bench-public","router:external":true}}' "$base/network/v2.0/networks" | id_of network)
    api -d "{\"subnet\":{\"network_id\":\"$public\",\"cidr\":\"172.20.0.0/16\",\"ip_version\":4,\"enable_dhcp\":false}}" \
        "$base/network/v2.0/subnets" >/dev/null
    cat >"$work/fip.lua" <<EOF
wrk.method = "POST"
wrk.headers["X-Auth-Token"] = "$token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"floatingip":{"floating_network_id":"$public"}}'
EOF
    echo "== $label: floating IP storm, POST /network/v2.0/floatingips on an external /16, 8 connections, 10s"
    fips() { echo "   $(wrk -t2 -c8 -d10s --latency -s "$work/fip.lua" "$base/network/v2.0/floatingips" | rate)"; }
    rss_during fips
    echo "   server peak RSS (VmHWM): $(awk '$1 == "VmHWM:" {print int($2 / 1024) " MB"}' "/proc/$pid/status")"
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    rm -rf "$work"
}

sqlite_dir=$(mktemp -d)
db="gureum_bench_network_$$"
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$sqlite_dir"; mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true' EXIT
bench_backend SQLite "sqlite:$sqlite_dir/gureum.db"
mysql -uroot -h127.0.0.1 -e "CREATE DATABASE $db"
bench_backend MariaDB "mysql://root@127.0.0.1:3306/$db"
