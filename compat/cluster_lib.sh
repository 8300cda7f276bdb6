# Shell functions the cluster stages of compat/run.sh share (compat/cluster.sh and
# compat/reshard.sh source this file): picking ports for cluster nodes, and starting
# real redis-server cluster nodes and waiting for a cluster made of them. They use
# run.sh's WORK and PIDS.

# COUNT distinct ports P in [LOW, HIGH) with P and P+10000 (the cluster bus) free.
# Each stage takes its own range, so that the two stages (and anyone else on the
# machine using other ranges) never pick the same port.
cluster_ports() { # count, low, high
    python3 - "$@" <<'EOF'
import random, socket, sys
count, low, high = map(int, sys.argv[1:])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
got = []
while len(got) < count:
    p = random.randrange(low, high)
    if p not in got and free(p) and free(p + 10000):
        got.append(p)
print(" ".join(map(str, got)))
EOF
}

# Starts a redis-server with --cluster-enabled on PORT, in a directory of its own (for
# its nodes.conf), and waits until it answers PING.
start_redis_cluster_node() { # port
    local p=$1 dir=$WORK/redis-cluster-$1
    mkdir -p "$dir"
    (cd "$dir" && exec redis-server --port "$p" --bind 127.0.0.1 \
        --cluster-enabled yes --cluster-config-file "$dir/nodes-$p.conf" \
        --save '' --appendonly no --daemonize no --logfile "$dir/log") &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    return 1
}

# Makes a cluster of the nodes on PORTS with `redis-cli --cluster create` (slots split
# evenly in list order) and waits until it is ready: every node says cluster_state:ok,
# knows every node as a connected master and has seen the last epoch, and `--cluster
# check` finds every node agreeing. Prints create's output on failure.
create_redis_cluster() { # port...
    local ports=("$@") n=$# ready p
    # shellcheck disable=SC2046
    if ! redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-yes \
        >"$WORK/redis-cluster-create-$1.out" 2>&1; then
        cat "$WORK/redis-cluster-create-$1.out"
        return 1
    fi
    for _ in $(seq 300); do
        ready=1
        for p in "${ports[@]}"; do
            redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ready=0
            [ "$(redis-cli -p "$p" cluster nodes 2>/dev/null | grep -c ' connected')" = "$n" ] || ready=0
            [ "$(redis-cli -p "$p" cluster info 2>/dev/null | tr -d '\r' |
                sed -n 's/^cluster_current_epoch://p')" = "$n" ] || ready=0
        done
        if [ "$ready" -eq 1 ] &&
            redis-cli --cluster check "127.0.0.1:$1" 2>&1 | grep -q 'All nodes agree'; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
