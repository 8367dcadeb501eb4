# Sourced by the benchmark and Tempest scripts: `start_server DATABASE_URL DIR`
# starts the server `make run` builds ($server) on that database, with its
# image store and log in DIR, listening on 127.0.0.1:$port with the admin
# password $password, and returns once it answers (its pid in $server_pid).
# A server that does not come up fails the script, with its log.
server_pid=""
start_server() {
    GUREUM_DATABASE_URL="$1" GUREUM_LISTEN="127.0.0.1:$port" GUREUM_PUBLIC_URL="http://127.0.0.1:$port" \
        GUREUM_ADMIN_PASSWORD="$password" GUREUM_IMAGE__STORE_DIR="$2/images" GUREUM_IDENTITY__CREDENTIAL_KEY_FILE="$2/credential-keys" GUREUM_LOG="${GUREUM_LOG:-warn}" \
        "$server" serve --bootstrap >"$2/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        curl -fs "http://127.0.0.1:$port/identity/v3" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not answer on port $port within 20 s; its log:" >&2
    tail -20 "$2/server.log" >&2
    return 1
}
