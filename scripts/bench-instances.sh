#!/usr/bin/env bash
# `make bench`: Project › Compute › Instances as a signed-in browser meets
# it, with 10,000 instances in the project — the server binary `make run`
# builds, the page fetched by `wrk` (a separate process) with the portal's
# session cookie: the first page (newest first), the middle one, and sorted
# by name; on SQLite and on MariaDB (a scratch database, dropped after);
# and the first page in Chromium (scripts/bench-browser.mjs).
# Then the delay from a node's answer to the browser hearing of it: an SSE
# client on /portal/compute/events times stop → SHUTOFF.
#
# Ten thousand instances do not fit on the embedded test node, so the rows
# are written straight into the database (as the service writes them);
# the page reads them as it reads any.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$HOME/.cache/gureum/target}"
server="${GUREUM_BENCH_SERVER:-$CARGO_TARGET_DIR/debug/gureum-server}"
port="${GUREUM_BENCH_PORT:-3392}"
base="http://127.0.0.1:$port"
password=bench-admin-password
count="${BENCH_INSTANCES:-10000}"
source scripts/serve.sh
command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh bench installs it)" >&2; exit 1; }

rate() {
    awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99}'
}

# The admin project's id, an active image and the rows' SQL (one INSERT a
# thousand rows), written to $work/rows.sql.
make_rows() {
    python3 - "$base" "$password" "$count" "$1" <<'EOF'
import http.client, json, sys, time, uuid
base, password, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
host, port = base.removeprefix("http://").split(":")
c = http.client.HTTPConnection(host, int(port), timeout=30)
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": password}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
c.request("POST", "/identity/v3/auth/tokens", json.dumps(body), {"Content-Type": "application/json"})
r = c.getresponse(); tok = json.loads(r.read())["token"]
token, project, user = r.getheader("X-Subject-Token"), tok["project"]["id"], tok["user"]["id"]
h = {"Content-Type": "application/json", "X-Auth-Token": token}
c.request("POST", "/image/v2/images", json.dumps({"name": "bench-image", "disk_format": "raw", "container_format": "bare"}), h)
r = c.getresponse(); image = json.loads(r.read())["id"]
c.request("PUT", f"/image/v2/images/{image}/file", b"x" * 4096, {"Content-Type": "application/octet-stream", "X-Auth-Token": token})
r = c.getresponse(); r.read()
now = int(time.time() * 1e6)
cols = ("id, name, project_id, user_id, image_id, flavor_id, flavor_name, vcpus, ram_mib, disk_gb, "
        "ephemeral_gb, swap_mib, flavor_extra_specs, key_name, hostname, node_id, node_name, vm_state, "
        "power_state, reservation_id, launch_index, launched_at, created_at, updated_at")
with open(out, "w") as f:
    for start in range(0, n, 1000):
        rows = []
        for i in range(start, min(n, start + 1000)):
            at = now - (n - i) * 1000
            rows.append(f"('{uuid.uuid4()}', 'vm-{i:05}', '{project}', '{user}', '{image}', '1', 'm1.tiny', 1, 512, 1, "
                        f"0, 0, '{{}}', NULL, 'vm-{i:05}', NULL, 'bench-node', 'active', 1, 'r-{i}', 0, {at}, {at}, {at})")
        f.write(f"INSERT INTO instances ({cols}) VALUES\n" + ",\n".join(rows) + ";\n")
print(project)
EOF
}

# bench_backend LABEL DATABASE_URL LOAD_COMMAND
bench_backend() {
    local label=$1 url=$2 load=$3 work pid
    work=$(mktemp -d)
    start_server "$url" "$work"
    pid=$server_pid
    make_rows "$work/rows.sql" >/dev/null
    local t0=$SECONDS
    eval "$load" <"$work/rows.sql"
    curl -fs -c "$work/jar" -o /dev/null -H "Origin: $base" \
        --data-urlencode domain=Default --data-urlencode username=admin --data-urlencode "password=$password" \
        "$base/api/login"
    local cookie
    cookie=$(awk '$6 == "gureum_session" {print "gureum_session=" $7}' "$work/jar")
    cat >"$work/page.lua" <<EOF
wrk.headers["Cookie"] = "$cookie"
wrk.headers["Accept"] = "text/html"
EOF
    # The newest is vm-<count-1>; the middle page (newest first) shows
    # vm-<count - (mid-1)*50 - 1> first.
    local mid=$(( count / 100 )) expect
    expect=$(printf 'vm-%05d' $(( count - (mid - 1) * 50 - 1 )))
    curl -fs -b "$work/jar" "$base/project/instances?page=$mid" | grep -q "$expect" \
        || { echo "   $label: page $mid does not show $expect" >&2; kill $pid; return 1; }
    curl -fs -b "$work/jar" "$base/project/instances" | grep -q "10,000\|$(printf "%'d" "$count")" \
        || { echo "   $label: the page does not show the total" >&2; kill $pid; return 1; }
    echo "== Project › Compute › Instances, 50 of $count rows, $label (rows written in $(( SECONDS - t0 ))s)"
    for q in "" "?page=$mid" "?sort=name&dir=asc"; do
        for c in 1 4; do
            echo "   /project/instances$q, $c connection(s), 10s: $(wrk -t1 -c$c -d10s --latency -s "$work/page.lua" "$base/project/instances$q" | rate)"
        done
    done
    echo "   in Chromium, $(node scripts/bench-browser.mjs "$base" admin "$password" /project/instances 10)"
    local rss
    rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    echo "   server peak RSS: $(( rss / 1024 )) MiB"
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    rm -rf "$work"
}

sqlite_dir=$(mktemp -d)
db="gureum_bench_instances_$$"
trap 'rm -rf "$sqlite_dir"; mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true' EXIT
[[ -n "${BENCH_LIVE_ONLY:-}" ]] || bench_backend SQLite "sqlite:$sqlite_dir/gureum.db" "python3 -c 'import sqlite3,sys; c=sqlite3.connect(\"$sqlite_dir/gureum.db\", timeout=30); c.executescript(sys.stdin.read()); c.commit()'"
[[ -n "${BENCH_LIVE_ONLY:-}" ]] || mysql -uroot -h127.0.0.1 -e "CREATE DATABASE $db"
[[ -n "${BENCH_LIVE_ONLY:-}" ]] || bench_backend MariaDB "mysql://root@127.0.0.1:3306/$db" "mysql -uroot -h127.0.0.1 $db"

# From a node's answer to the browser: a boot and a stop, each timed from
# the request to the SSE event that shows its result.
work=$(mktemp -d)
start_server "sqlite:$work/gureum.db" "$work"
pid=$server_pid
trap 'kill $pid 2>/dev/null || true; rm -rf "$work" "$sqlite_dir"; mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true' EXIT
python3 - "$base" "$password" <<'EOF'
import http.client, json, sys, threading, time, statistics
base, password = sys.argv[1], sys.argv[2]
host, port = base.removeprefix("http://").split(":")
def conn():
    return http.client.HTTPConnection(host, int(port), timeout=30)
c = conn()
form = f"domain=Default&username=admin&password={password}"
c.request("POST", "/api/login", form, {"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
r = c.getresponse(); r.read()
# The session cookie among those the sign-in sets.
cookie = next(v.split(";")[0] for v in r.headers.get_all("Set-Cookie") if v.startswith("gureum_session="))
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": password}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
c.request("POST", "/identity/v3/auth/tokens", json.dumps(body), {"Content-Type": "application/json"})
r = c.getresponse(); r.read(); token = r.getheader("X-Subject-Token")
h = {"Content-Type": "application/json", "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.90"}
c.request("POST", "/image/v2/images", json.dumps({"name": "bench-live", "disk_format": "raw", "container_format": "bare"}), h)
r = c.getresponse(); image = json.loads(r.read())["id"]
c.request("PUT", f"/image/v2/images/{image}/file", b"x" * 4096, {"Content-Type": "application/octet-stream", "X-Auth-Token": token})
r = c.getresponse(); r.read()
# The embedded node first: a boot before its first report finds no host.
for _ in range(300):
    c.request("GET", "/compute/v2.1/os-hypervisors", headers=h)
    if json.loads(c.getresponse().read()).get("hypervisors"):
        break
    time.sleep(0.1)
# The browser's stream, read line by line on its own thread.
seen = {}
lock = threading.Condition()
def listen():
    s = conn()
    s.request("GET", "/portal/compute/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    resp = s.getresponse()
    if resp.status != 200:
        print(f"the event stream answered {resp.status}: {resp.read()[:200]!r}", file=sys.stderr)
        return
    event = None
    while True:
        line = resp.readline().decode().rstrip("\r\n")
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data" and event == "instance":
            row = json.loads(value)
            with lock:
                seen.setdefault((row["id"], row["status"]), time.perf_counter())
                lock.notify_all()
threading.Thread(target=listen, daemon=True).start()
time.sleep(0.5)
def wait(key):
    with lock:
        if not lock.wait_for(lambda: key in seen, timeout=10):
            c.request("GET", f"/compute/v2.1/servers/{key[0]}", headers=h)
            print(json.loads(c.getresponse().read())["server"].get("fault"), file=sys.stderr)
            c.request("GET", "/compute/v2.1/os-hypervisors/detail", headers=h)
            print(c.getresponse().read()[:600], file=sys.stderr)
            sys.exit(f"the stream never showed {key[0]} as {key[1]}; it showed {[k[1] for k in seen if k[0] == key[0]]}")
        return seen[key]
boots, stops = [], []
for i in range(20):
    t = time.perf_counter()
    c.request("POST", "/compute/v2.1/servers", json.dumps({"server": {"name": f"live-{i}", "imageRef": image, "flavorRef": "1", "networks": "none"}}), h)
    r = c.getresponse(); body = json.loads(r.read())
    if "server" not in body:
        sys.exit(f"the boot was refused: {body}")
    sid = body["server"]["id"]
    boots.append((wait((sid, "ACTIVE")) - t) * 1000)
    t = time.perf_counter()
    c.request("POST", f"/compute/v2.1/servers/{sid}/action", json.dumps({"os-stop": None}), h)
    r = c.getresponse(); r.read()
    stops.append((wait((sid, "SHUTOFF")) - t) * 1000)
    # Gone before the next: a stopped instance still holds the node's
    # memory, and the project's quota.
    c.request("DELETE", f"/compute/v2.1/servers/{sid}", headers=h)
    c.getresponse().read()
    while True:
        c.request("GET", f"/compute/v2.1/servers/{sid}", headers=h)
        r = c.getresponse(); r.read()
        if r.status == 404:
            break
        time.sleep(0.02)
q = lambda xs: f"p50 {statistics.median(xs):.1f} ms, max {max(xs):.1f} ms"
print(f"== Live updates (SQLite, embedded agent): POST /servers → ACTIVE on the browser's stream: {q(boots)}")
print(f"   os-stop → SHUTOFF on the browser's stream: {q(stops)}")
EOF
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
rm -rf "$work"
