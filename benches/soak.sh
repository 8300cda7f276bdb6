#!/usr/bin/env bash
# Soak test (not a unit test): SECONDS of mixed load with constant connects and
# disconnects against the clone example, printing the server's RSS and thread count
# every 30 s, then checking that both return to their idle baseline.
#
#   benches/soak.sh [SECONDS] [PORT]        # default: 600 s (10 minutes), port 6399
#
# Load, all at once for the whole duration:
#   - redis-benchmark with -k 0: a new connection for every request (SET/GET/INCR/PING),
#   - redis-benchmark with kept connections and pipelining (-P 16), random keys,
#   - a Python client mix that connects and disconnects all the time: half-sent
#     commands, protocol errors, resets (SO_LINGER 0) mid-command and mid-reply,
#     1 MiB values, clients that stop reading, HELLO 3, idle connections held a while.
# The keyspace is bounded, and FLUSHALL runs at the end, so memory can go back down.
#
# Needs redis-benchmark, redis-cli and python3. SOAK_PROFILE=debug uses a debug build
# (default: release). SOAK_ENV is put before the server's command line, e.g.
#   SOAK_ENV="env GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.trim_threshold=65536:glibc.malloc.mmap_threshold=65536:glibc.pthread.stack_cache_size=0"
# makes glibc hand freed memory and thread stacks back at once, so the RSS after the
# load shows what the server still holds rather than what the allocator caches.
# Exits non-zero if the server died or its thread count did not come back to the
# baseline; the RSS figures are printed for reading (the first report to the last
# shows any growth under steady load).
set -euo pipefail

duration=${1:-600}
port=${2:-6399}
profile=${SOAK_PROFILE:-release}
interval=30
cd "$(dirname "$0")/.."

for tool in redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "soak: $tool is needed" >&2; exit 2; }
done

if [[ $profile == release ]]; then
    cargo build --quiet --release --example clone
    bin=target/release/examples/clone
else
    cargo build --quiet --example clone
    bin=target/debug/examples/clone
fi

field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$server/status"; }
stamp() { printf '%6ds  rss %7s KiB  threads %5s\n' "$(( $(date +%s) - start ))" "$(field VmRSS)" "$(field Threads)"; }

${SOAK_ENV:-} "$bin" --addr "127.0.0.1:$port" &
server=$!
load_pids=()
cleanup() {
    for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    kill "$server" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -p "$port" ping >/dev/null
sleep 1
base_rss=$(field VmRSS)
base_threads=$(field Threads)
start=$(date +%s)
end=$(( start + duration ))
echo "soak: ${duration}s against $bin (pid $server) on port $port"
echo "baseline: rss $base_rss KiB, threads $base_threads"

# A new connection per request.
(
    while (( $(date +%s) < end )); do
        redis-benchmark -p "$port" -k 0 -c 20 -n 20000 -r 10000 -t set,get,incr,ping -q \
            >/dev/null 2>&1 || sleep 1
    done
) &
load_pids+=($!)

# Kept connections, pipelined.
(
    while (( $(date +%s) < end )); do
        redis-benchmark -p "$port" -c 50 -P 16 -n 500000 -r 100000 -d 64 -t set,get,mset -q \
            >/dev/null 2>&1 || sleep 1
    done
) &
load_pids+=($!)

# Misbehaving clients, connecting and disconnecting all the time.
python3 - "$port" "$end" <<'EOF' &
import random, socket, struct, sys, threading, time

port, end = int(sys.argv[1]), float(sys.argv[2])
counts = {}

def conn(timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s

def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def drain(s, limit=1 << 22):
    got = 0
    try:
        while got < limit:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except OSError:
        pass
    return got

def half_command(s):
    s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nsoak\r\n$100\r\nabc")
    time.sleep(random.random() * 0.5)
    random.choice([s.close, lambda: reset(s)])()

def protocol_error(s):
    s.sendall(random.choice([b"*1\r\n$-5\r\n", b'SET "unbalanced\r\n', b"*x\r\n", b"\x00\xff" * 100 + b"\r\n"]))
    drain(s)
    s.close()

def reset_mid_reply(s):
    s.sendall(b"SET soak:big " + b"x" * (1 << 20) + b"\r\n")
    s.recv(5)
    s.sendall(b"GET soak:big\r\n" * 8)
    s.recv(1000)
    reset(s)

def stop_reading(s):
    s.sendall(b"GET soak:big\r\n" * 64)
    time.sleep(random.random())
    s.close()

def hello3(s):
    s.sendall(b"HELLO 3\r\nSET soak:h v\r\nGET soak:h\r\nMGET a b c\r\nQUIT\r\n")
    drain(s)
    s.close()

def idle(s):
    time.sleep(random.random() * 20)
    s.sendall(b"PING\r\n")
    s.recv(7)
    s.close()

kinds = [half_command, protocol_error, reset_mid_reply, stop_reading, hello3, idle]

def worker():
    while time.time() < end:
        kind = random.choice(kinds)
        try:
            kind(conn())
            counts[kind.__name__] = counts.get(kind.__name__, 0) + 1
        except OSError as e:
            # Expected now and then: the server closes on protocol errors, resets race.
            key = kind.__name__ + ":" + type(e).__name__
            counts[key] = counts.get(key, 0) + 1
            time.sleep(0.05)

threads = [threading.Thread(target=worker, daemon=True) for _ in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("misbehaving clients:", dict(sorted(counts.items())), flush=True)
EOF
load_pids+=($!)

peak_rss=$base_rss
peak_threads=$base_threads
next=$(( start + interval ))
while (( $(date +%s) < end )); do
    sleep 1
    kill -0 "$server" 2>/dev/null || { echo "soak: the server died" >&2; exit 1; }
    rss=$(field VmRSS); threads=$(field Threads)
    (( rss > peak_rss )) && peak_rss=$rss
    (( threads > peak_threads )) && peak_threads=$threads
    if (( $(date +%s) >= next )); then
        stamp
        [[ -z ${first_rss:-} ]] && first_rss=$rss
        last_rss=$rss
        next=$(( next + interval ))
    fi
done

echo "load stopping; peak rss $peak_rss KiB, peak threads $peak_threads;" \
    "rss at the first report ${first_rss:-?} KiB, at the last ${last_rss:-?} KiB"
for p in "${load_pids[@]}"; do wait "$p" 2>/dev/null || true; done
load_pids=()
redis-cli -p "$port" flushall >/dev/null
# Idle clients may still hold a connection for up to 20 s after the load ends.
for _ in $(seq 60); do
    (( $(field Threads) == base_threads )) && break
    sleep 1
done
sleep 2
stamp
final_rss=$(field VmRSS)
final_threads=$(field Threads)
echo "after: rss $final_rss KiB (baseline $base_rss), threads $final_threads (baseline $base_threads)"
if (( final_threads != base_threads )); then
    echo "soak: FAILED, threads did not return to the baseline" >&2
    exit 1
fi
echo "soak: passed"
