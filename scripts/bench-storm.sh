#!/usr/bin/env bash
# `make bench`, measured as users meet it: the server binary that `make run`
# builds, on its own SQLite file, with load from `wrk` in a separate process.
#
# 0. Password token issue at 8 connections and token validation at 8 and 32:
#    req/s with p50 and p99.
# 1. Login storm: 64 concurrent password logins for STORM_SECS (default 30)
#    seconds — issues/s, timeouts, non-2xx answers, and the server's peak
#    and after-storm memory (VmHWM, VmRSS from /proc).
# 2. Slow clients: 500 connections that send half a header and stall, while
#    wrk validates tokens at 32 connections — validations/s with and without
#    them, and how many of the 500 the server closed by its header timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$HOME/.cache/gureum/target}"
server="${GUREUM_BENCH_SERVER:-$CARGO_TARGET_DIR/debug/gureum-server}"
storm_secs="${STORM_SECS:-30}"
port="${GUREUM_BENCH_PORT:-3390}"
base="http://127.0.0.1:$port"
password=bench-admin-password

command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh bench installs it)" >&2; exit 1; }
work=$(mktemp -d)
source scripts/serve.sh
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
# The storm is 64 logins a second for one account: no lockout.
GUREUM_IDENTITY__LOCKOUT_FAILURE_ATTEMPTS=0 start_server "sqlite:$work/gureum.db" "$work"
pid=$server_pid
mem() { awk -v k="$1:" '$1 == k {print int($2 / 1024) " MB"}' "/proc/$pid/status"; }

login_body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$password")
cat >"$work/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$login_body'
EOF

# req/s, p50 and p99 of a wrk run (its --latency table).
rate() {
    awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99}'
}

echo "== password token issue, 8 connections, 10s: $(wrk -t2 -c8 -d10s --latency -s "$work/login.lua" "$base/identity/v3/auth/tokens" | rate)"

echo "== login storm: 64 concurrent password logins for ${storm_secs}s (wrk, separate process)"
echo "   server RSS before: $(mem VmRSS)"
wrk -t2 -c64 -d"${storm_secs}s" --timeout 10s -s "$work/login.lua" "$base/identity/v3/auth/tokens" \
    | tee "$work/storm.txt" | grep -E "Requests/sec|Socket errors|Non-2xx|Latency" | sed 's/^/   /'
grep -q "Socket errors" "$work/storm.txt" || echo "   timeouts: 0"
echo "   server peak RSS (VmHWM): $(mem VmHWM)"
sleep 5
echo "   server RSS 5s after: $(mem VmRSS)"

token=$(curl -fsi -H 'Content-Type: application/json' -d "$login_body" "$base/identity/v3/auth/tokens" \
    | awk -F': ' 'tolower($1) == "x-subject-token" {print $2}' | tr -d '\r')
cat >"$work/validate.lua" <<EOF
wrk.headers["X-Auth-Token"] = "$token"
wrk.headers["X-Subject-Token"] = "$token"
EOF
validations() {
    wrk -t2 -c"$1" -d10s --latency -s "$work/validate.lua" "$base/identity/v3/auth/tokens" | rate
}
echo "== token validation (GET /v3/auth/tokens), 10s each"
echo "   8 connections:  $(validations 8)"
echo "   32 connections: $(validations 32)"
echo "== slow clients: 500 stalled half-headers while wrk validates tokens (32 connections, 10s)"
echo "   validations without them: $(validations 32)"
python3 - "$port" >"$work/slow.txt" <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(500):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /identity/v3 HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    socks.append(s)
start = time.time()
closed = set()
while time.time() - start < 25 and len(closed) < len(socks):
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
    time.sleep(0.2)
print(f"{len(closed)} of {len(socks)} closed by the server within {time.time() - start:.1f}s")
EOF
slow=$!
sleep 1
echo "   validations with them:    $(validations 32)"
wait $slow
echo "   $(cat "$work/slow.txt")"
echo "   server RSS: $(mem VmRSS), peak $(mem VmHWM)"
