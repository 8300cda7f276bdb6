# The cluster stage of compat/run.sh (sourced by it, after the standalone checks; it
# uses run.sh's WORK, PIDS, CLONE, PY, HERE, result, run_check and start_clone).
# Starts three clone nodes (`--cluster` with the three addresses) and, as the
# reference, a real three-node redis-server cluster made by `redis-cli --cluster
# create`, both with the same slot split (0-5460, 5461-10922, 10923-16383 in list
# order), then:
#   1. cluster_conformance.py: routing errors and CLUSTER replies compared byte for
#      byte after normalising node ids, ports, epochs and ping times;
#   2. cluster clients (redis-py RedisCluster, ioredis Cluster, node-redis
#      createCluster, redis-cli -c, redis-cli --cluster check, redis-benchmark
#      --cluster, Envoy's redis proxy) against both clusters; then a clone node made
#      stale, answering MOVED until its topology is pushed, and every client again;
#   3. the throughput of `redis-benchmark --cluster -t set,get -P 16 -n 1000000 -q`
#      against both, printed side by side.

cluster_started=$(date +%s)
echo
echo "== cluster stage"

# shellcheck source=compat/cluster_lib.sh
. "$HERE/cluster_lib.sh"

# Six ports below 30000, so a port never reads like a slot number or a timestamp
# (the resharding stage takes its own from 30000 up): three clone nodes, three
# redis-server nodes.
read -r -a cluster_stage_ports <<<"$(cluster_ports 6 20000 29990)"
CL_PORTS=("${cluster_stage_ports[@]:0:3}")
RC_PORTS=("${cluster_stage_ports[@]:3:3}")
CL_LIST=$(printf '127.0.0.1:%s,' "${CL_PORTS[@]}")
CL_LIST=${CL_LIST%,}
RC_LIST=$(printf '127.0.0.1:%s,' "${RC_PORTS[@]}")
RC_LIST=${RC_LIST%,}

cluster_ok=1
for p in "${CL_PORTS[@]}"; do
    if ! start_clone "cluster-$p" --addr "127.0.0.1:$p" --cluster "$CL_LIST"; then
        cluster_ok=0
    fi
done
if [ "$cluster_ok" -eq 1 ]; then
    result ok "start: three clone cluster nodes on $CL_LIST"
else
    result "not ok" "start: three clone cluster nodes on $CL_LIST"
fi

# The reference: redis-server with --cluster-enabled, each node in its own directory.
rc_started=$(date +%s)
rc_ready=1
for p in "${RC_PORTS[@]}"; do
    start_redis_cluster_node "$p" || rc_ready=0
done
if [ "$rc_ready" -eq 1 ] && ! create_redis_cluster "${RC_PORTS[@]}"; then
    rc_ready=0
fi
if [ "$rc_ready" -eq 1 ]; then
    result ok "start: redis-server cluster on $RC_LIST, cluster_state:ok on every node ($(($(date +%s) - rc_started))s)"
else
    result "not ok" "start: redis-server cluster on $RC_LIST (not ready)"
    cluster_ok=0
fi

if [ "$cluster_ok" -eq 1 ]; then
    run_check "cluster conformance: redis-server cluster vs clone nodes" \
        "$PY" "$HERE/cluster_conformance.py" --redis "$RC_LIST" --clone "$CL_LIST"

    # Every cluster client against one cluster; $3 says when, in the check names.
    cluster_clients() {
        local target=$1 list=$2 when=${3:-}
        run_check "redis-py RedisCluster against the $target cluster$when" \
            "$PY" "$HERE/clients/cluster_py.py" "$target" "$list"
        run_check "ioredis Cluster and node-redis createCluster against the $target cluster$when" \
            node "$HERE/clients/cluster_node.mjs" "$target" "$list"
        run_check "redis-cli -c, --cluster check, redis-benchmark --cluster against the $target cluster$when" \
            "$HERE/clients/cluster_tools.sh" "$target" "$list"
        run_check "Envoy redis proxy in front of the $target cluster$when" \
            "$PY" "$HERE/clients/cluster_envoy.py" "$target" "$list"
    }
    cluster_clients clone "$CL_LIST"
    cluster_clients redis "$RC_LIST"

    # A clone node with a stale topology answers MOVED (a redirection loop for the
    # slots it is wrong about) until the topology is pushed to it; then every client
    # above succeeds again.
    run_check "a stale clone node answers MOVED until its topology is pushed" \
        "$PY" "$HERE/clients/cluster_stale.py" "$CL_LIST"
    cluster_clients clone "$CL_LIST" ", after the push"

    # Throughput, measured in the same run against both: printed, not asserted.
    echo "== redis-benchmark --cluster -t set,get -P 16 -n 1000000 -q"
    for target in clone redis; do
        if [ "$target" = clone ]; then port=${CL_PORTS[0]}; else port=${RC_PORTS[0]}; fi
        redis-benchmark --cluster -h 127.0.0.1 -p "$port" -t set,get -P 16 -n 1000000 -q \
            2>&1 | tr '\r' '\n' | grep 'requests per second' | sed "s/^/   $target cluster: /"
    done
fi
echo "   the cluster stage took $(($(date +%s) - cluster_started))s"
