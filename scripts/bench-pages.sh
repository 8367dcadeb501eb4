#!/usr/bin/env bash
# `make bench`: Identity › Users as a signed-in browser meets it — the server
# binary `make run` builds, 10,000 users made through the REST API, the page
# fetched by `wrk` (a separate process) with the portal's session cookie.
# The first page and the middle one (page 100: rows 4,951–5,000), on SQLite and on MariaDB
# (a scratch database on 127.0.0.1:3306, dropped after).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$HOME/.cache/gureum/target}"
server="${GUREUM_BENCH_SERVER:-$CARGO_TARGET_DIR/debug/gureum-server}"
port="${GUREUM_BENCH_PORT:-3391}"
base="http://127.0.0.1:$port"
password=bench-admin-password
users="${BENCH_USERS:-10000}"
source scripts/serve.sh
command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh bench installs it)" >&2; exit 1; }

rate() {
    awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99}'
}

# bench_backend LABEL DATABASE_URL
bench_backend() {
    local label=$1 url=$2 work pid
    work=$(mktemp -d)
    start_server "$url" "$work"
    pid=$server_pid
    # Users without passwords: the page is measured, not argon2.
    local secs
    secs=$(python3 - "$base" "$password" "$users" <<'EOF'
import http.client, json, sys, threading, time
base, password, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = base.removeprefix("http://").split(":")
def conn():
    return http.client.HTTPConnection(host, int(port), timeout=30)
c = conn()
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": password}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
c.request("POST", "/identity/v3/auth/tokens", json.dumps(body), {"Content-Type": "application/json"})
r = c.getresponse(); r.read()
token = r.getheader("X-Subject-Token")
start = time.time()
def make(part):
    c = conn()
    for i in range(part, n, 4):
        c.request("POST", "/identity/v3/users", json.dumps({"user": {"name": f"user-{i:05}", "email": f"user{i}@example.org"}}),
                  {"Content-Type": "application/json", "X-Auth-Token": token})
        r = c.getresponse(); r.read()
        if r.status != 201:
            sys.exit(f"user {i}: HTTP {r.status}")
threads = [threading.Thread(target=make, args=(p,)) for p in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(f"{time.time() - start:.1f}")
EOF
)
    curl -fs -c "$work/jar" -o /dev/null -H "Origin: $base" \
        --data-urlencode domain=Default --data-urlencode username=admin --data-urlencode "password=$password" \
        "$base/api/login"
    local cookie
    cookie=$(awk '$6 == "gureum_session" {print "gureum_session=" $7}' "$work/jar")
    cat >"$work/page.lua" <<EOF
wrk.headers["Cookie"] = "$cookie"
wrk.headers["Accept"] = "text/html"
EOF
    # The middle page: (the admin sorts first) it shows user-<offset + 10>.
    local mid=$(( users / 100 )) expect
    expect=$(printf 'user-%05d' $(( (mid - 1) * 50 + 10 )))
    curl -fs -b "$work/jar" "$base/identity/users?page=$mid" | grep -q "$expect" \
        || { echo "   $label: page $mid does not show $expect" >&2; kill $pid; return 1; }
    echo "== Identity › Users, 50 of $users rows, $label (users made over REST in ${secs}s)"
    # One browser (the time a user waits), then four at once (throughput).
    for page in 1 "$mid"; do
        for c in 1 4; do
            echo "   page $page, $c connection(s), 10s: $(wrk -t1 -c$c -d10s --latency -s "$work/page.lua" "$base/identity/users?page=$page" | rate)"
        done
    done
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    rm -rf "$work"
}

sqlite_dir=$(mktemp -d)
db="gureum_bench_pages_$$"
trap 'rm -rf "$sqlite_dir"; mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true' EXIT
bench_backend SQLite "sqlite:$sqlite_dir/gureum.db"
mysql -uroot -h127.0.0.1 -e "CREATE DATABASE $db"
bench_backend MariaDB "mysql://root@127.0.0.1:3306/$db"
