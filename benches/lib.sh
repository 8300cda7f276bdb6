# Shared by the benchmark scripts (sourced, not run): building the clone, free ports,
# waiting for a server to answer.

# Sets CLONE_BIN, building the release clone unless CLONE_BIN is already set.
build_clone() {
    if [ -z "${CLONE_BIN:-}" ]; then
        cargo build --release --quiet --example clone
        CLONE_BIN=target/release/examples/clone
    fi
}

# Sets FLOOR_BIN to the floor server (benches/floor.rs), building it if $1 (a list of
# server names) includes "floor".
build_floor() {
    case " $1 " in
        *" floor "*) ;;
        *) return 0 ;;
    esac
    # A binary of the benchmarks' package (benches/Cargo.toml), built with the release
    # profile like the clone.
    if ! cargo build --release --quiet -p redcon-benches --bin floor; then
        echo "could not build the floor server (-p redcon-benches --bin floor)" >&2
        return 1
    fi
    FLOOR_BIN=target/release/floor
}

# Prints a free loopback TCP port.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 5 s for a server on port $1 to answer PING; further arguments go to
# redis-cli (e.g. --tls --cacert FILE).
wait_ready() {
    for _ in $(seq 100); do
        redis-cli -p "$1" "${@:2}" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "server on port $1 did not start" >&2
    return 1
}
