#!/usr/bin/env bash
# redis-cli (-c following MOVED, --cluster check, --cluster info) and redis-benchmark
# --cluster against a three-node cluster, every output asserted. Prints
# `ok - ...` / `not ok - ...` lines.
#   cluster_tools.sh LABEL HOST:PORT,HOST:PORT,HOST:PORT   (node N serves the Nth third)
set -uo pipefail
LABEL=$1
IFS=, read -r -a ADDRS <<<"$2"
H1=${ADDRS[0]%:*} P1=${ADDRS[0]##*:}
P2=${ADDRS[1]##*:} P3=${ADDRS[2]##*:}

report() { # name, expected, got
    if [ "$2" == "$3" ]; then
        echo "ok - cluster tools [$LABEL] $1"
    else
        echo "not ok - cluster tools [$LABEL] $1"
        echo "    want: $(printf '%q' "$2")"
        echo "    got:  $(printf '%q' "$3")"
    fi
}
# contains NAME TEXT PATTERN...: every grep pattern is found in TEXT.
contains() {
    local name=$1 text=$2 missing=""
    shift 2
    for pat in "$@"; do
        grep -qE -- "$pat" <<<"$text" || missing+="$pat; "
    done
    if [ -z "$missing" ]; then
        echo "ok - cluster tools [$LABEL] $name"
    else
        echo "not ok - cluster tools [$LABEL] $name"
        echo "    missing: $missing"
        sed 's/^/    | /' <<<"$text" | head -40
    fi
}

echo "# $(redis-cli --version) against the $LABEL cluster"
for p in "$P1" "$P2" "$P3"; do redis-cli -h "$H1" -p "$p" flushall >/dev/null; done

# Without -c redis-cli shows the redirection; with -c it follows it.
report "MOVED without -c" "MOVED 12182 $H1:$P3" "$(redis-cli -h "$H1" -p "$P1" get foo 2>&1)"
report "-c set on another node" "OK" "$(redis-cli -c -h "$H1" -p "$P1" set foo bar 2>&1)"
report "-c get on another node" "bar" "$(redis-cli -c -h "$H1" -p "$P2" get foo 2>&1)"
report "key stored on its owner" "bar" "$(redis-cli -h "$H1" -p "$P3" get foo 2>&1)"
got=$(printf 'set a 1\nset b 2\nset c 3\nget a\nget b\nget c\nmget {x}1 {x}2\nmget a b\n' |
    redis-cli -c -h "$H1" -p "$P2" 2>&1)
r() { echo "-> Redirected to slot [$1] located at $H1:$2"; }
want="$(r 15495 "$P3")
OK
$(r 3300 "$P1")
OK
$(r 7365 "$P2")
OK
$(r 15495 "$P3")
1
$(r 3300 "$P1")
2
$(r 7365 "$P2")
3
$(r 16287 "$P3")


CROSSSLOT Keys in request don't hash to the same slot"
report "-c commands from stdin over all nodes" "$want" "$got"
report "-c --no-raw" '"3"' "$(redis-cli -c --no-raw -h "$H1" -p "$P1" get c 2>&1)"
report "keys spread" "1 1 2" "$(for p in "$P1" "$P2" "$P3"; do redis-cli -h "$H1" -p "$p" dbsize; done | paste -sd' ')"

# --cluster check: every slot covered, every node agreeing, exit status 0.
# Without the terminal colour codes.
plain() { sed 's/\x1b\[[0-9;]*m//g'; }
out=$(redis-cli --cluster check "$H1:$P2" 2>&1 | plain)
status=${PIPESTATUS[0]}
contains "--cluster check" "$out" \
    "^$H1:$P1 \(.{8}\.\.\.\) -> 1 keys \| 5461 slots \| 0 slaves\.$" \
    "^$H1:$P2 \(.{8}\.\.\.\) -> 1 keys \| 5462 slots \| 0 slaves\.$" \
    "^$H1:$P3 \(.{8}\.\.\.\) -> 2 keys \| 5461 slots \| 0 slaves\.$" \
    "^\[OK\] 4 keys in 3 masters\.$" \
    "^\[OK\] All nodes agree about slots configuration\.$" \
    "^\[OK\] All 16384 slots covered\.$" \
    "^   slots:\[0-5460\] \(5461 slots\) master$" \
    "^   slots:\[5461-10922\] \(5462 slots\) master$" \
    "^   slots:\[10923-16383\] \(5461 slots\) master$"
report "--cluster check exit status" 0 "$status"
if grep -qE '^\[(ERR|WARNING)\]' <<<"$out"; then
    report "--cluster check without errors or warnings" "" "$(grep -E '^\[(ERR|WARNING)\]' <<<"$out")"
else
    report "--cluster check without errors or warnings" "" ""
fi
out=$(redis-cli --cluster info "$H1:$P1" 2>&1 | plain)
contains "--cluster info" "$out" "^\[OK\] 4 keys in 3 masters\.$" "^0\.00 keys per slot on average\.$"

# redis-benchmark --cluster: finds the three masters, no error.
out=$(redis-benchmark --cluster -h "$H1" -p "$P1" -t set,get -n 20000 -q 2>&1)
status=$?
out=$(tr '\r' '\n' <<<"$out")
contains "redis-benchmark --cluster -t set,get" "$out" \
    "^Cluster has 3 master nodes:" "^SET: [0-9.]+ requests per second" "^GET: [0-9.]+ requests per second"
report "redis-benchmark --cluster exit status" 0 "$status"
errors=$(grep -iE 'error|moved|crossslot' <<<"$out")
report "redis-benchmark --cluster without errors" "" "$errors"
total=0
for p in "$P1" "$P2" "$P3"; do
    n=$(redis-cli -h "$H1" -p "$p" dbsize)
    [ "$n" -gt 0 ] || report "redis-benchmark wrote to node :$p" "some keys" "$n"
    total=$((total + n))
done
report "redis-benchmark keys on all three nodes" yes "$([ "$total" -ge 4 ] && echo yes)"
