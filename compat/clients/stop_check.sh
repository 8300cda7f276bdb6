#!/usr/bin/env bash
# The clone stops gracefully (exit status 0, its Unix socket file removed, a client
# blocked in BLPOP closed rather than holding the stop up) on SIGTERM, on SIGINT, and on
# SHUTDOWN. Each run starts its own clone on a Unix socket.
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

[ "$failures" -eq 0 ]
