#!/usr/bin/env bash
# Server load: redis-server against the clone example under redis-benchmark, in
# alternation (redis, clone, redis, clone, ...) so that both see the same machine, and
# reported as medians over the rounds with the ratio clone/redis of every figure.
#
# Shapes, all `-t set,get`:
#   a   -P 1   -c 50         many clients, no pipelining
#   b   -P 16  -c 50         moderate pipelining
#   c   -P 512 -c 512        deep pipelines, many clients (needs many requests: N_C)
#   d   -P 1   -c 1          one client: latency
#   e   -P 1   -c 50 -k 0    a new connection per request (connection churn)
#   tb  -P 16  -c 50         b over TLS
#   te  -P 1   -c 50 -k 0    e over TLS: a TLS handshake per request
# TLS shapes run against redis-server's own TLS port and the clone serving TLS, both
# with one throwaway certificate (EC P-256, made here with openssl); the floors do not
# speak TLS and sit them out.
#
# For each run: req/s, p50 and p99 (from redis-benchmark --csv) per test, and the
# server's CPU time (utime+stime of the whole process, from /proc/PID/stat, taken just
# before and after the run) divided by the requests of that run (both tests).
#
# Environment:
#   ROUNDS=3                 rounds (each round runs every shape on every server)
#   SHAPES="a b c d e tb te" which shapes
#   N_A N_B N_C N_D N_E N_TB N_TE
#                            requests per test for each shape (defaults 1M, 5M, 20M,
#                            200k, 200k, 2M, 20k; QUICK=1 divides them by 20)
#   SERVERS="redis clone floor floorreuse"
#                            which servers, each run in turn: redis (redis-server), clone
#                            (the clone example), floor (benches/floor.rs: a
#                            one-thread-per-client server that only reads and writes canned
#                            replies, i.e. the CPU per request the kernel alone charges this
#                            design), floorreuse (the floor reusing its threads as the
#                            library does: the floor for shape e), noreuse (the clone with
#                            --max-idle-threads 0: a thread per connection), before (the
#                            clone binary in BEFORE_BIN, e.g. built from an older commit),
#                            batch (the clone under `chrt --batch 0`: Linux's SCHED_BATCH,
#                            fewer wake-up preemptions)
#   BENCH_ARGS=""            extra redis-benchmark arguments, e.g. "-r 100000"
#   CLONE_BIN                a prebuilt clone binary (default: build the release example)
#   BEFORE_BIN               the clone binary the server `before` runs
#   OUT=target/load          where raw results go
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SHAPES=${SHAPES:-a b c d e tb te}
div=1
[ "${QUICK:-0}" = 1 ] && div=20
N_A=${N_A:-$((1000000 / div))}
N_B=${N_B:-$((5000000 / div))}
N_C=${N_C:-$((20000000 / div))}
N_D=${N_D:-$((200000 / div))}
N_E=${N_E:-$((200000 / div))}
N_TB=${N_TB:-$((2000000 / div))}
N_TE=${N_TE:-$((20000 / div))}
BENCH_ARGS=${BENCH_ARGS:-}
SERVERS=${SERVERS:-redis clone floor floorreuse}
OUT=${OUT:-target/load}
mkdir -p "$OUT"
RAW="$OUT/raw.tsv"

# 512 clients plus the servers' own descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=benches/lib.sh
. benches/lib.sh
build_clone

# utime + stime of a whole process (all its threads, live and exited), in clock ticks.
cpu_ticks() {
    # Drop "pid (comm) " first: comm may contain spaces.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

tls_shape() {
    case $1 in t*) return 0 ;; *) return 1 ;; esac
}

# TLS only if a TLS shape is asked for: one certificate for every server.
TLS=0
for shape in $SHAPES; do
    tls_shape "$shape" && TLS=1
done
if [ "$TLS" = 1 ]; then
    CERT="$OUT/cert.pem" KEY="$OUT/key.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$KEY" -out "$CERT" 2>/dev/null
fi

# The clone and its variants, given how to run it: [prefix...] binary [args...]. Called
# by start_server, whose locals server, port and tls_port it reads.
clone_like() {
    "$@" --addr "127.0.0.1:$port" >>"$OUT/$server.log" 2>&1 &
    PID[$server]=$!
    if [ "$TLS" = 1 ]; then
        "$@" --addr "127.0.0.1:$tls_port" --tls-cert "$CERT" --tls-key "$KEY" \
            >>"$OUT/$server-tls.log" 2>&1 &
        TLS_PID[$server]=$!
    fi
}

# PORT/PID: the server's plain port and process; TLS_PORT/TLS_PID: the same for TLS
# (redis-server serves both from one process, the clone from two).
declare -A PORT PID TLS_PORT TLS_PID
start_server() {
    local server=$1 port tls_port
    port=$(free_port)
    tls_port=$(free_port)
    case $server in
        redis)
            local tls_args=()
            if [ "$TLS" = 1 ]; then
                tls_args=(--tls-port "$tls_port" --tls-cert-file "$CERT" --tls-key-file "$KEY"
                    --tls-ca-cert-file "$CERT" --tls-auth-clients no)
            fi
            redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
                --maxclients 20000 --loglevel warning "${tls_args[@]}" >"$OUT/redis.log" 2>&1 &
            PID[$server]=$!
            TLS_PID[$server]=$!
            ;;
        clone) clone_like "$CLONE_BIN" ;;
        noreuse) clone_like "$CLONE_BIN" --max-idle-threads 0 ;;
        before)
            if [ -z "${BEFORE_BIN:-}" ]; then
                echo "the server 'before' needs BEFORE_BIN (a clone binary)" >&2
                exit 1
            fi
            clone_like "$BEFORE_BIN"
            ;;
        batch) clone_like chrt --batch 0 "$CLONE_BIN" ;;
        floor | floorreuse)
            local reuse=()
            [ "$server" = floorreuse ] && reuse=(--reuse)
            "$FLOOR_BIN" "127.0.0.1:$port" "${reuse[@]}" >"$OUT/$server.log" 2>&1 &
            PID[$server]=$!
            ;;
        *) echo "unknown server $server" >&2; exit 1 ;;
    esac
    PORT[$server]=$port
    TLS_PORT[$server]=$tls_port
}
cleanup() { kill "${PID[@]}" "${TLS_PID[@]}" 2>/dev/null || true; }
trap cleanup EXIT
case " $SERVERS " in
    *" floor "* | *" floorreuse "*) build_floor floor ;;
esac
for server in $SERVERS; do
    start_server "$server"
done
for server in $SERVERS; do
    wait_ready "${PORT[$server]}"
    if [ "$TLS" = 1 ] && [ -n "${TLS_PID[$server]:-}" ]; then
        wait_ready "${TLS_PORT[$server]}" --tls --cacert "$CERT"
    fi
done

shape_args() {
    case $1 in
        a) echo "-P 1 -c 50 -n $N_A" ;;
        b) echo "-P 16 -c 50 -n $N_B" ;;
        c) echo "-P 512 -c 512 -n $N_C" ;;
        d) echo "-P 1 -c 1 -n $N_D" ;;
        e) echo "-P 1 -c 50 -k 0 -n $N_E" ;;
        tb) echo "--tls --cacert $CERT -P 16 -c 50 -n $N_TB" ;;
        te) echo "--tls --cacert $CERT -P 1 -c 50 -k 0 -n $N_TE" ;;
        *) echo "unknown shape $1" >&2; exit 1 ;;
    esac
}

load=$(cut -d' ' -f1 /proc/loadavg)
echo "load before the run: $load" >&2
awk -v l="$load" 'BEGIN {exit !(l > 1)}' && echo "warning: the machine is busy; figures will be noisy" >&2

printf 'shape\tround\tserver\ttest\trps\tp50_ms\tp99_ms\tcpu_us_per_req\n' >"$RAW"
TCK=$(getconf CLK_TCK)
for round in $(seq "$ROUNDS"); do
    for shape in $SHAPES; do
        for server in $SERVERS; do
            if tls_shape "$shape"; then
                [ -n "${TLS_PID[$server]:-}" ] || continue
                port=${TLS_PORT[$server]} pid=${TLS_PID[$server]}
            else
                port=${PORT[$server]} pid=${PID[$server]}
            fi
            args=$(shape_args "$shape")
            n=$(echo "$args" | awk '{print $NF}')
            before=$(cpu_ticks "$pid")
            # shellcheck disable=SC2086
            csv=$(redis-benchmark -h 127.0.0.1 -p "$port" -t set,get $args $BENCH_ARGS --csv 2>>"$OUT/benchmark.log")
            after=$(cpu_ticks "$pid")
            # Both tests ran n requests each.
            cpu=$(awk -v d=$((after - before)) -v t="$TCK" -v n="$n" 'BEGIN {printf "%.4f", d / t * 1e6 / (2 * n)}')
            echo "$csv" | tail -n +2 | tr -d '"' | while IFS=, read -r test rps _avg _min p50 _p95 p99 _max; do
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$round" "$server" "$test" "$rps" "$p50" "$p99" "$cpu" >>"$RAW"
                printf '%-2s round %s %-10s %-3s %10s req/s  p50 %6s ms  p99 %6s ms  cpu %s us/req\n' \
                    "$shape" "$round" "$server" "$test" "$rps" "$p50" "$p99" "$cpu" >&2
            done
        done
    done
done

python3 "$(dirname "$0")/load_table.py" "$RAW"
