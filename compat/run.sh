#!/usr/bin/env bash
# The compatibility run. Starts redis-server and the clone example (TCP, Unix socket,
# TLS) on free loopback ports, then:
#   1. conformance.py: the same bytes to both servers, identical reply bytes required;
#   2. real clients (redis-py, node-redis, ioredis, redis-cli, redis-benchmark) run
#      scenarios against the clone, and against redis-server to show that what the
#      scenarios assert is Redis's own behaviour;
#   3. access control: redis-server and a clone started with the same ACL file
#      (compat/acl/users.acl), the cases of compat/acl byte-compared, real clients
#      logging in, and protected mode seen from 127.0.0.2;
#   4. the cluster stage (compat/cluster.sh): three clone nodes against a real
#      three-node redis-server cluster, byte comparison and cluster clients;
#   5. the live-resharding stage (compat/reshard.sh): a node added, given slots, emptied
#      and removed, and keys imported, under client load, on both kinds of cluster
#      (COMPAT_RESHARD=full for the long form).
# COMPAT_ONLY=standalone|acl|cluster|reshard runs only that stage (with the servers
# every stage starts), for working on it.
# Needs what compat/setup.sh installs; a missing tool is a failure, never a skip.
# Ends with `N passed, M failed` and exits non-zero on any failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redcon-compat.XXXXXX")
RESULTS=$WORK/results.txt
PY=$HERE/.venv/bin/python
STEP_TIMEOUT=${COMPAT_STEP_TIMEOUT:-300}
PIDS=()
started=$(date +%s)
: >"$RESULTS"

STEP_PID=
cleanup() {
    if [ -n "$STEP_PID" ]; then kill "$STEP_PID" 2>/dev/null; fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A result line of our own, counted with those the checks print.
result() { # ok|"not ok", description
    echo "$1 - $2" | tee -a "$RESULTS"
}

# Runs a check that prints `ok - ...` / `not ok - ...` lines; a check that fails
# without saying what failed (crash, timeout) is one failure of its own.
run_check() { # name, command...
    local name=$1 out=$WORK/check.out
    shift
    echo "== $name"
    # In the background with `wait`, so a signal reaches the cleanup at once.
    timeout "$STEP_TIMEOUT" "$@" >"$out" 2>&1 </dev/null &
    STEP_PID=$!
    wait "$STEP_PID"
    local status=$?
    STEP_PID=
    cat "$out"
    grep -E '^(ok|not ok) - ' "$out" >>"$RESULTS"
    if [ "$status" -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
        result "not ok" "$name exited with status $status"
    elif ! grep -q '^ok - ' "$out" && ! grep -q '^not ok - ' "$out"; then
        result "not ok" "$name reported nothing"
    fi
}

summary() {
    local passed failed
    passed=$(grep -c '^ok - ' "$RESULTS")
    failed=$(grep -c '^not ok - ' "$RESULTS")
    echo
    if [ "$failed" -gt 0 ]; then
        echo "Failed:"
        grep '^not ok - ' "$RESULTS" | sed 's/^/  /'
    fi
    echo "compat/run.sh took $(($(date +%s) - started))s"
    echo "compat: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- Tools -------------------------------------------------------------------------
echo "== tools"
tools_ok=1
need() { # description, test command...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        result ok "installed: $what"
    else
        result "not ok" "installed: $what (run compat/setup.sh)"
        tools_ok=0
    fi
}
need "python3" command -v python3
need "redis-server" command -v redis-server
need "redis-cli" command -v redis-cli
need "redis-benchmark" command -v redis-benchmark
need "openssl" command -v openssl
need "prometheus-redis-exporter" command -v prometheus-redis-exporter
need "stdbuf" command -v stdbuf
need "redis-py in compat/.venv" "$PY" -c 'import redis'
need "node" command -v node
need "node-redis in compat/node_modules" test -f "$HERE/node_modules/redis/package.json"
need "ioredis in compat/node_modules" test -f "$HERE/node_modules/ioredis/package.json"
have() { command -v "$1" >/dev/null 2>&1; }
if have redis-server; then echo "   $(redis-server --version)"; fi
if [ -x "$PY" ]; then echo "   redis-py $("$PY" -c 'import redis; print(redis.__version__)' 2>/dev/null)"; fi
if have node; then
    echo "   node $(node --version), node-redis $(node -p 'require("'"$HERE"'/node_modules/redis/package.json").version' 2>/dev/null)," \
        "ioredis $(node -p 'require("'"$HERE"'/node_modules/ioredis/package.json").version' 2>/dev/null)"
fi

# --- The clone ---------------------------------------------------------------------
echo "== cargo build --release --example clone --example mux --example tls"
if (cd "$ROOT" && cargo build --release --example clone --example mux --example tls); then
    result ok "build: clone, mux and tls examples (release)"
else
    result "not ok" "build: clone, mux and tls examples (release)"
    summary
    exit 1
fi
CLONE=$ROOT/target/release/examples/clone

# TLS certificate: the example's test certificate, else a throwaway one.
CERT=$ROOT/examples/tls/cert.pem
KEY=$ROOT/examples/tls/key.pem
if [ ! -f "$CERT" ] || [ ! -f "$KEY" ]; then
    CERT=$WORK/cert.pem
    KEY=$WORK/key.pem
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$KEY" -out "$CERT" 2>/dev/null || true
fi

# Starts a clone and waits for its "listening on ..." line; sets ADDR to the address.
# (Not called in a subshell: the pid must reach PIDS for the cleanup.)
start_clone() { # name, clone arguments...
    local name=$1 out=$WORK/clone-$1.out
    shift
    ADDR=
    "$CLONE" "$@" >"$out" 2>"$WORK/clone-$name.err" &
    PIDS+=($!)
    for _ in $(seq 100); do
        if grep -q '^listening on ' "$out"; then
            ADDR=$(sed -n 's/^listening on \(rediss\?:\/\/\|unix:\)//p' "$out")
            return 0
        fi
        sleep 0.05
    done
    cat "$WORK/clone-$name.err" >&2
    return 1
}

servers_ok=1
if start_clone tcp --addr 127.0.0.1:0; then
    CLONE_TCP=$ADDR
    result ok "start: clone on TCP $CLONE_TCP"
else
    result "not ok" "start: clone on TCP"
    servers_ok=0
fi
CLONE_SOCK=$WORK/clone.sock
if start_clone unix --unix "$CLONE_SOCK"; then
    result ok "start: clone on a Unix socket"
else
    result "not ok" "start: clone on a Unix socket"
    servers_ok=0
fi
if start_clone tls --addr 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$KEY"; then
    CLONE_TLS=$ADDR
    result ok "start: clone with TLS on $CLONE_TLS"
else
    result "not ok" "start: clone with TLS"
    servers_ok=0
fi

# --- redis-server --------------------------------------------------------------------
REDIS_PORT=$(free_port)
REDIS_TLS_PORT=$(free_port)
REDIS_SOCK=$WORK/redis.sock
if have redis-server; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$WORK/redis.log" \
        --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
        --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
        --tls-ca-cert-file "$CERT" --tls-auth-clients no &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
fi
if have redis-cli && [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
    result ok "start: $(redis-server --version | cut -d' ' -f1-3) on port $REDIS_PORT"
else
    result "not ok" "start: redis-server"
    servers_ok=0
fi

if [ "$tools_ok" -ne 1 ] || [ "$servers_ok" -ne 1 ]; then
    echo "Tools or servers missing: the checks that need them are not run."
    summary
    exit 1
fi

# --- The checks ----------------------------------------------------------------------
# Whether a stage runs: every stage, or the one COMPAT_ONLY names.
stage() { [ -z "${COMPAT_ONLY:-}" ] || [ "$COMPAT_ONLY" = "$1" ]; }

if stage standalone; then
    run_check "conformance: redis-server vs clone" \
        "$PY" "$HERE/conformance.py" --redis "127.0.0.1:$REDIS_PORT" --clone "$CLONE_TCP"

    run_check "command table: clone vs redis-server (redis-py, redis-cli)" \
        "$PY" "$HERE/clients/command_table.py" --clone "$CLONE_TCP" --redis "127.0.0.1:$REDIS_PORT"

    run_check "operators' tools: redis-cli info and --stat, prometheus-redis-exporter" \
        "$PY" "$HERE/clients/ops_check.py" --clone-bin "$CLONE" --redis "127.0.0.1:$REDIS_PORT"

    run_check "stopping the examples: SIGTERM, SIGINT, and the clone's SHUTDOWN" \
        "$HERE/clients/stop_check.sh" "$CLONE" "$WORK"

    run_check "INCRBYFLOAT digits: clone vs redis-server" \
        python3 "$HERE/clients/incrbyfloat_check.py" --clone "$CLONE_TCP" --redis "127.0.0.1:$REDIS_PORT"

    run_check "MIGRATE between redis-server and clones, both ways (DUMP / RESTORE payloads)" \
        "$PY" "$HERE/clients/migrate_check.py" --clone-bin "$CLONE"

    for target in clone redis; do
        if [ "$target" = clone ]; then
            tcp=$CLONE_TCP sock=$CLONE_SOCK tls=$CLONE_TLS
        else
            tcp=127.0.0.1:$REDIS_PORT sock=$REDIS_SOCK tls=127.0.0.1:$REDIS_TLS_PORT
        fi
        run_check "redis-py against $target" \
            "$PY" "$HERE/clients/redis_py.py" --label "$target" --tcp "$tcp" --unix "$sock" \
            --tls "$tls" --ca "$CERT"
        run_check "node-redis against $target" node "$HERE/clients/node_redis.mjs" "$target" "$tcp"
        run_check "ioredis against $target" node "$HERE/clients/ioredis.mjs" "$target" "$tcp"
        run_check "redis-cli and redis-benchmark against $target" \
            "$HERE/clients/redis_tools.sh" "$target" "${tcp%:*}" "${tcp##*:}" "$sock" "${tls##*:}" "$CERT"
        run_check "SCAN under churn and active expiry against $target" \
            python3 "$HERE/clients/keyspace_checks.py" --label "$target" --addr "$tcp"
    done
fi

# --- Access control ------------------------------------------------------------------
if stage acl; then
    # Each server gets its own copy of the ACL file: ACL SAVE would write it back.
    cp "$HERE/acl/users.acl" "$WORK/redis-users.acl"
    cp "$HERE/acl/users.acl" "$WORK/clone-users.acl"
    ACL_REDIS_PORT=$(free_port)
    ACL_REDIS_TLS_PORT=$(free_port)
    CLIENT_CA=$ROOT/examples/tls/client-ca.pem
    CLIENT_CERT=$ROOT/examples/tls/client.pem
    CLIENT_KEY=$ROOT/examples/tls/client-key.pem
    redis-server --port "$ACL_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$WORK/redis-acl.log" --aclfile "$WORK/redis-users.acl" \
        --tls-port "$ACL_REDIS_TLS_PORT" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
        --tls-ca-cert-file "$CLIENT_CA" --tls-auth-clients yes &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$ACL_REDIS_PORT" --no-auth-warning -a compat-secret ping 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    # The open servers for protected mode listen on every address, so that a client
    # from 127.0.0.2 reaches them (Redis counts only 127.0.0.1 as local).
    OPEN_REDIS_PORT=$(free_port)
    redis-server --port "$OPEN_REDIS_PORT" --bind '*' --save '' --appendonly no \
        --daemonize no --logfile "$WORK/redis-open.log" &
    PIDS+=($!)
    acl_ok=1
    if start_clone acl --addr 127.0.0.1:0 --aclfile "$WORK/clone-users.acl"; then
        CLONE_ACL=$ADDR
    else
        acl_ok=0
    fi
    # The clone serves TLS on a listener of its own.
    cp "$HERE/acl/users.acl" "$WORK/clone-tls-users.acl"
    if start_clone acltls --addr 127.0.0.1:0 --aclfile "$WORK/clone-tls-users.acl" \
        --tls-cert "$CERT" --tls-key "$KEY" --tls-ca-cert "$CLIENT_CA" --tls-auth-clients yes; then
        CLONE_ACL_TLS=$ADDR
    else
        acl_ok=0
    fi
    if start_clone open --addr 0.0.0.0:0; then
        CLONE_OPEN=127.0.0.1:${ADDR##*:}
    else
        acl_ok=0
    fi
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$OPEN_REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    if [ "$acl_ok" -eq 1 ] && [ "$(redis-cli -p "$ACL_REDIS_PORT" --no-auth-warning -a compat-secret ping 2>/dev/null)" = PONG ]; then
        result ok "start: redis-server and clone with the ACL file"
        run_check "access control conformance: redis-server vs clone" \
            "$PY" "$HERE/conformance.py" --redis "127.0.0.1:$ACL_REDIS_PORT" --clone "$CLONE_ACL" \
            --cases "$HERE/acl" --auth compat-secret
        for target in clone redis; do
            if [ "$target" = clone ]; then
                tcp=$CLONE_ACL open=$CLONE_OPEN tls=$CLONE_ACL_TLS
            else
                tcp=127.0.0.1:$ACL_REDIS_PORT open=127.0.0.1:$OPEN_REDIS_PORT tls=127.0.0.1:$ACL_REDIS_TLS_PORT
            fi
            run_check "redis-py logging in to $target" \
                "$PY" "$HERE/clients/acl_clients.py" --label "$target" --addr "$tcp" --open "$open" \
                --tls "$tls" --ca "$CERT" --cert "$CLIENT_CERT" --key "$CLIENT_KEY"
            run_check "node-redis and ioredis logging in to $target" \
                node "$HERE/clients/acl_node.mjs" "$target" "$tcp" "$tls" "$CERT" "$CLIENT_CERT" "$CLIENT_KEY"
            run_check "redis-cli and redis-benchmark logging in to $target" \
                "$HERE/clients/acl_tools.sh" "$target" "${tcp%:*}" "${tcp##*:}" \
                "${tls##*:}" "$CERT" "$CLIENT_CERT" "$CLIENT_KEY"
        done
    else
        result "not ok" "start: redis-server and clone with the ACL file"
    fi
fi

# --- Cluster -------------------------------------------------------------------------
if stage cluster; then
    # shellcheck source=compat/cluster.sh
    . "$HERE/cluster.sh"
fi

# --- Live resharding --------------------------------------------------------------------
if stage reshard; then
    # shellcheck source=compat/reshard.sh
    . "$HERE/reshard.sh"
fi

summary
