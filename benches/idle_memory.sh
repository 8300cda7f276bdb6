#!/usr/bin/env bash
# Idle connections: what they cost a server at rest. For the clone example and, as a
# reference, redis-server, each started fresh for each count:
#   - RSS per idle connection: VmRSS with N connected clients that each did one PING,
#     minus VmRSS before they connected, divided by N (N = 1000 and 5000);
#   - how long opening N connections takes (connect all, PING all, read every PONG);
#   - the server's CPU time over 10 s with the N clients idle;
#   - whether 10,000 concurrent clients are all served (each PINGs and gets PONG).
#
# Besides redis-server, the floor (benches/floor.rs with the library's default 512-byte
# read buffer) shows what one blocked thread per client costs before any of the
# library's own state: its stack pages and the C library's and Rust's per-thread data.
#
# Environment: COUNTS="1000 5000", MANY=10000, IDLE_SECS=10, SERVERS="clone redis floor"
# (add "before" for the clone binary in BEFORE_BIN, e.g. built from an older commit),
# CLONE_BIN (default: build the release example), OUT=target/idle.
set -euo pipefail

cd "$(dirname "$0")/.."
COUNTS=${COUNTS:-1000 5000}
MANY=${MANY:-10000}
IDLE_SECS=${IDLE_SECS:-10}
SERVERS=${SERVERS:-clone redis floor}
OUT=${OUT:-target/idle}
mkdir -p "$OUT"

# Each side needs one descriptor per client, plus a few.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((MANY + 100)) ]; then
    echo "the descriptor limit $(ulimit -n) is too low for $MANY clients" >&2
    exit 1
fi

# shellcheck source=benches/lib.sh
. benches/lib.sh
build_clone
build_floor "$SERVERS"

# Starts server $1 on a free port; sets PORT and PID.
start() {
    PORT=$(free_port)
    case $1 in
        clone) "$CLONE_BIN" --addr "127.0.0.1:$PORT" >>"$OUT/clone.log" 2>&1 & ;;
        redis) redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --maxclients $((MANY + 1000)) --loglevel warning >>"$OUT/redis.log" 2>&1 & ;;
        floor) "$FLOOR_BIN" "127.0.0.1:$PORT" 512 >>"$OUT/floor.log" 2>&1 & ;;
        before) "${BEFORE_BIN:?the server before needs BEFORE_BIN}" --addr "127.0.0.1:$PORT" \
            >>"$OUT/before.log" 2>&1 & ;;
        *) echo "unknown server $1" >&2; exit 1 ;;
    esac
    PID=$!
    wait_ready "$PORT" || exit 1
}

stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap stop EXIT

# The client side: opens the connections, measures, prints one result line.
CLIENTS=$(cat <<'PY'
import os, socket, sys, time

port, pid, n, idle_secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
tck = os.sysconf("SC_CLK_TCK")

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def cpu_ms():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / tck

def threads():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])

time.sleep(0.5)
before = rss_kib()
t0 = time.perf_counter()
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:
    s.sendall(b"PING\r\n")
ok = 0
for s in socks:
    reply = b""
    while len(reply) < 7:
        chunk = s.recv(7 - len(reply))
        if not chunk:
            break
        reply += chunk
    ok += reply == b"+PONG\r\n"
opened = time.perf_counter() - t0
time.sleep(1.0)  # let the server settle (threads parked, buffers trimmed)
after = rss_kib()
c0 = cpu_ms()
time.sleep(idle_secs)
c1 = cpu_ms()
print(f"{n}\t{ok}\t{opened:.3f}\t{before}\t{after}\t{(after - before) / n:.2f}\t{c1 - c0:.0f}\t{threads()}")
for s in socks:
    s.close()
PY
)

printf '| server | clients | served | open+PING s | RSS before KiB | RSS after KiB | KiB/conn | CPU ms idle %ss | threads |\n' "$IDLE_SECS"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $COUNTS $MANY; do
    for server in $SERVERS; do
        start $server
        # The many-clients run checks that they all work; its idle figures come along.
        python3 -c "$CLIENTS" "$PORT" "$PID" "$n" "$IDLE_SECS" |
            awk -v s=$server -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, $1, $2, $3, $4, $5, $6, $7, $8}'
        stop
    done
done
