#!/usr/bin/env bash
# The clone stops gracefully (exit status 0, its Unix socket file removed, a client
# blocked in BLPOP closed rather than holding the stop up) on SIGTERM, on SIGINT, and on
# SHUTDOWN. Each run starts its own clone on a Unix socket. The mux and tls examples
# (built beside the clone) stop the same way on SIGTERM and SIGINT, with a client
# connected: exit status 0, the stop logged.
#
# usage: stop_check.sh CLONE_BINARY WORK_DIR
set -u
CLONE=$1
WORK=$2
failures=0

check() { # description, condition...
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
    else
        echo "not ok - $what"
        failures=$((failures + 1))
    fi
}

# Starts a clone on a fresh socket; sets PID and SOCK.
start() {
    SOCK=$WORK/stop-$1.sock
    rm -f "$SOCK"
    "$CLONE" --unix "$SOCK" >"$WORK/stop-$1.out" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        [ -S "$SOCK" ] && redis-cli -s "$SOCK" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "clone did not start ($1)"
    return 1
}

for how in TERM INT SHUTDOWN; do
    start "$how" || { failures=$((failures + 1)); continue; }
    # A client blocked in BLPOP (given time to block).
    redis-cli -s "$SOCK" blpop waiting 0 >"$WORK/stop-$how.blpop" 2>&1 &
    blocked=$!
    sleep 0.3
    if [ "$how" = SHUTDOWN ]; then
        redis-cli -s "$SOCK" shutdown nosave >/dev/null 2>&1
    else
        kill -"$how" "$PID"
    fi
    wait "$PID"
    status=$?
    check "$how: exit status 0 (got $status)" [ "$status" -eq 0 ]
    check "$how: Unix socket file removed" [ ! -e "$SOCK" ]
    wait "$blocked"
    check "$how: the client blocked in BLPOP was closed" grep -q "closed the connection" "$WORK/stop-$how.blpop"
    check "$how: the stop was logged" grep -q "shutting down" "$WORK/stop-$how.out"
done

EXAMPLES=$(dirname "$CLONE")
CA=$(dirname "$0")/../../examples/tls/cert.pem
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
for ex in mux tls; do
    for how in TERM INT; do
        port=$(free_port)
        if [ "$ex" = mux ]; then
            "$EXAMPLES/mux" "127.0.0.1:$port" >"$WORK/stop-$ex-$how.out" 2>&1 &
            cli=(redis-cli -p "$port")
        else
            "$EXAMPLES/tls" "$port" >"$WORK/stop-$ex-$how.out" 2>&1 &
            cli=(redis-cli --tls --cacert "$CA" -p "$port")
        fi
        PID=$!
        up=0
        for _ in $(seq 100); do
            [ "$("${cli[@]}" ping 2>/dev/null)" = PONG ] && up=1 && break
            sleep 0.05
        done
        check "$ex $how: started" [ "$up" -eq 1 ]
        [ "$up" -eq 1 ] || { kill "$PID" 2>/dev/null; continue; }
        # A client that stays connected (it waits for input that never comes).
        sleep 5 | "${cli[@]}" >/dev/null 2>&1 &
        held=$!
        sleep 0.3
        kill -"$how" "$PID"
        wait "$PID"
        status=$?
        check "$ex $how: exit status 0 (got $status)" [ "$status" -eq 0 ]
        check "$ex $how: the stop was logged" grep -q "shutting down" "$WORK/stop-$ex-$how.out"
        kill "$held" 2>/dev/null
        wait "$held" 2>/dev/null
    done
done

[ "$failures" -eq 0 ]
