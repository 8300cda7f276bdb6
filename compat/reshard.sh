# The live-resharding stage of compat/run.sh (sourced by it after the cluster stage;
# it uses run.sh's WORK, PIDS, CLONE, PY, HERE, result, run_check and start_clone, and
# cluster_lib.sh). The same scenario, compat/clients/reshard_load.py, runs against a
# real redis-server cluster and against clone nodes: under continuous client traffic
# a fourth, empty node is added (`redis-cli --cluster add-node`), given a quarter of
# the slots (`rebalance --cluster-use-empty-masters`), gives 1,000 back (`reshard`),
# is emptied and removed (`reshard`, `del-node`), and then 10,000 keys are imported
# from a standalone redis-server (`import`). Checked: no client operation fails, no
# acknowledged write is lost, every imported key arrives intact. Printed: per step the
# slots and keys moved, the time, and the clients' latency, Redis and clone side by
# side.
#
# COMPAT_RESHARD=full runs the longer form (more keys, a longer quiet load before and
# after) whose figures the README shows; the default is the short form CI runs.

reshard_started=$(date +%s)
echo
echo "== live-resharding stage (${COMPAT_RESHARD:-short} form)"

# shellcheck source=compat/cluster_lib.sh
. "$HERE/cluster_lib.sh"

if [ "${COMPAT_RESHARD:-short}" = full ]; then
    RESHARD_ARGS=(--keys 200000 --threads 6 --quiet-load 20 --bench-clients 4)
else
    # Lighter traffic: on two cores the load slows every step of redis-cli down.
    RESHARD_ARGS=(--keys 10000 --threads 2 --quiet-load 2 --bench-clients 1)
fi

# Five ports from 30000 up for each cluster (the real Redis nodes' bus ports, +10000,
# free too): three masters, the fourth node and the standalone import source. Picked
# just before they are used: the range overlaps the ephemeral ports the clients'
# own connections take, so a port free a minute earlier may not be any more.
pick_ports() { read -r -a rs_ports <<<"$(cluster_ports 5 30000 40000)"; }

# A standalone redis-server, the source `redis-cli --cluster import` reads from.
start_import_source() { # port
    redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$WORK/redis-import-source-$1.log" &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    return 1
}

# How each kind of cluster starts its fourth node: a fresh, empty cluster-mode node.
start_fourth_redis() { start_redis_cluster_node "$1"; }
start_fourth_clone() { start_clone "reshard-$1" --addr "127.0.0.1:$1" --cluster-empty; }

# The scenario, the same for both kinds of cluster.
reshard_scenario() { # label, the masters as H:P,H:P,H:P, the fourth node's port, the command starting it, the source's port
    local label=$1 masters=$2 fourth=$3 start_fourth=$4 source=$5
    if ! "$start_fourth" "$fourth"; then
        result "not ok" "start: the fourth, empty $label node on port $fourth"
        return
    fi
    if ! start_import_source "$source"; then
        result "not ok" "start: the standalone redis-server to import from, for the $label cluster"
        return
    fi
    run_check "live resharding under load: the $label cluster" \
        "$PY" "$HERE/clients/reshard_load.py" --label "$label" --nodes "$masters" \
        --new "127.0.0.1:$fourth" --source "127.0.0.1:$source" \
        --figures "$WORK/reshard-$label.json" "${RESHARD_ARGS[@]}"
}

list_of() { printf '127.0.0.1:%s,127.0.0.1:%s,127.0.0.1:%s' "$@"; }

# The reference: three redis-server masters made by `redis-cli --cluster create`.
pick_ports
rs_redis=("${rs_ports[@]:0:3}")
rs_ok=1
for p in "${rs_redis[@]}"; do
    start_redis_cluster_node "$p" || rs_ok=0
done
if [ "$rs_ok" -eq 1 ] && create_redis_cluster "${rs_redis[@]}"; then
    result ok "start: redis-server cluster for resharding on $(list_of "${rs_redis[@]}")"
    reshard_scenario redis "$(list_of "${rs_redis[@]}")" "${rs_ports[3]}" start_fourth_redis "${rs_ports[4]}"
else
    result "not ok" "start: redis-server cluster for resharding on $(list_of "${rs_redis[@]}")"
fi

# The clone: three nodes started with the list of the three.
pick_ports
rs_clone=("${rs_ports[@]:0:3}")
rs_ok=1
for p in "${rs_clone[@]}"; do
    start_clone "reshard-$p" --addr "127.0.0.1:$p" --cluster "$(list_of "${rs_clone[@]}")" || rs_ok=0
done
if [ "$rs_ok" -eq 1 ]; then
    result ok "start: clone cluster for resharding on $(list_of "${rs_clone[@]}")"
    reshard_scenario clone "$(list_of "${rs_clone[@]}")" "${rs_ports[3]}" start_fourth_clone "${rs_ports[4]}"
else
    result "not ok" "start: clone cluster for resharding on $(list_of "${rs_clone[@]}")"
fi

echo "== live resharding, per step: redis-server cluster vs clone nodes"
"$PY" "$HERE/clients/reshard_load.py" --table \
    "redis=$WORK/reshard-redis.json" "clone=$WORK/reshard-clone.json"
echo "   the live-resharding stage took $(($(date +%s) - reshard_started))s"
