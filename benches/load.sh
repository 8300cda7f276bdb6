#!/usr/bin/env bash
# Server load: redis-server against the clone example under redis-benchmark, in
# alternation (redis, clone, redis, clone, ...) so that both see the same machine, and
# reported as medians over the rounds with the ratio clone/redis of every figure.
#
# Shapes, all `-t set,get`:
#   a  -P 1   -c 50    many clients, no pipelining
#   b  -P 16  -c 50    moderate pipelining
#   c  -P 512 -c 512   deep pipelines, many clients (needs many requests: N_C)
#   d  -P 1   -c 1     one client: latency
#
# For each run: req/s, p50 and p99 (from redis-benchmark --csv) per test, and the
# server's CPU time (utime+stime of the whole process, from /proc/PID/stat, taken just
# before and after the run) divided by the requests of that run (both tests).
#
# Environment:
#   ROUNDS=3                 rounds (each round runs every shape on both servers)
#   SHAPES="a b c d"         which shapes
#   N_A N_B N_C N_D          requests per test for each shape
#                            (defaults 1M, 5M, 20M, 200k; QUICK=1 divides them by 20)
#   SERVERS="redis clone floor"
#                            which servers, each run in turn: redis (redis-server), clone
#                            (the clone example), floor (benches/floor.rs: a
#                            one-thread-per-client server that only reads and writes canned
#                            replies, i.e. the CPU per request the kernel alone charges this
#                            design), batch (the clone under `chrt --batch 0`: Linux's
#                            SCHED_BATCH, fewer wake-up preemptions)
#   BENCH_ARGS=""            extra redis-benchmark arguments, e.g. "-r 100000"
#   CLONE_BIN                a prebuilt clone binary (default: build the release example)
#   OUT=target/load          where raw results go
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SHAPES=${SHAPES:-a b c d}
div=1
[ "${QUICK:-0}" = 1 ] && div=20
N_A=${N_A:-$((1000000 / div))}
N_B=${N_B:-$((5000000 / div))}
N_C=${N_C:-$((20000000 / div))}
N_D=${N_D:-$((200000 / div))}
BENCH_ARGS=${BENCH_ARGS:-}
SERVERS=${SERVERS:-redis clone floor}
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

declare -A PORT PID
start_server() {
    local port
    port=$(free_port)
    case $1 in
        redis) redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --maxclients 20000 --loglevel warning >"$OUT/redis.log" 2>&1 & ;;
        clone) "$CLONE_BIN" --addr "127.0.0.1:$port" >"$OUT/clone.log" 2>&1 & ;;
        batch) chrt --batch 0 "$CLONE_BIN" --addr "127.0.0.1:$port" >"$OUT/batch.log" 2>&1 & ;;
        floor) "$FLOOR_BIN" "127.0.0.1:$port" >"$OUT/floor.log" 2>&1 & ;;
        *) echo "unknown server $1" >&2; exit 1 ;;
    esac
    PID[$1]=$!
    PORT[$1]=$port
}
cleanup() { kill "${PID[@]}" 2>/dev/null || true; }
trap cleanup EXIT
build_floor "$SERVERS"
for server in $SERVERS; do
    start_server "$server"
done
for server in $SERVERS; do
    wait_ready "${PORT[$server]}"
done

shape_args() {
    case $1 in
        a) echo "-P 1 -c 50 -n $N_A" ;;
        b) echo "-P 16 -c 50 -n $N_B" ;;
        c) echo "-P 512 -c 512 -n $N_C" ;;
        d) echo "-P 1 -c 1 -n $N_D" ;;
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
            port=${PORT[$server]} pid=${PID[$server]}
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
                printf '%s round %s %-5s %-3s %10s req/s  p50 %6s ms  p99 %6s ms  cpu %s us/req\n' \
                    "$shape" "$round" "$server" "$test" "$rps" "$p50" "$p99" "$cpu" >&2
            done
        done
    done
done

python3 "$(dirname "$0")/load_table.py" "$RAW"
