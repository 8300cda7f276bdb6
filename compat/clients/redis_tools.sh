#!/usr/bin/env bash
# redis-cli and redis-benchmark against a server, every output asserted. Prints
# `ok - ...` / `not ok - ...` lines.
#   redis_tools.sh LABEL HOST PORT [UNIX_SOCKET] [TLS_PORT CA_CERT]
set -uo pipefail
LABEL=$1 HOST=$2 PORT=$3 SOCK=${4:-} TLS_PORT=${5:-} CA=${6:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cli() { redis-cli -h "$HOST" -p "$PORT" "$@"; }

report() { # name, expected, got
    if [ "$2" == "$3" ]; then
        echo "ok - redis-cli [$LABEL] $1"
    else
        echo "not ok - redis-cli [$LABEL] $1"
        echo "    want: $(printf '%q' "$2")"
        echo "    got:  $(printf '%q' "$3")"
    fi
}

# expect NAME EXPECTED_STDOUT redis-cli-args... (one-shot; exit status must be 0)
expect() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(cli "$@" 2>&1; echo "[exit $?]")
    report "$name" "$want"$'\n[exit 0]' "$got"
}

# expect_stdin NAME INPUT EXPECTED_STDOUT redis-cli-args... (commands read from stdin)
expect_stdin() {
    local name=$1 input=$2 want=$3
    shift 3
    local got
    got=$(printf '%s' "$input" | cli "$@" 2>&1; echo "[exit $?]")
    report "$name" "$want"$'\n[exit 0]' "$got"
}

echo "# $(redis-cli --version) against $LABEL"
cli flushall >/dev/null

# One-shot commands. Not on a terminal redis-cli prints raw replies: nil as an empty
# line, errors as their text.
expect "ping" "PONG" ping
expect "ping message" "hello" ping hello
expect "set" "OK" set k v
expect "get" "v" get k
expect "get missing" "" get missing
expect "get missing as text" "(nil)" --no-raw get missing
expect "incr" "1" incr n
expect "decr" "0" decr n
expect "mset" "OK" mset a 1 b 2
expect "mget" $'1\n2\n' mget a b missing
expect "mget as text" $'1) "1"\n2) "2"\n3) (nil)' --no-raw mget a b missing
expect "exists" "3" exists a b k missing
expect "del" "2" del a b missing
expect "dbsize" "2" dbsize
expect "keys" "n" keys '[mn]'
expect "select with -n" "OK" -n 3 set only3 x
expect "dbsize with -n" "1" -n 3 dbsize
expect "repeat with -r" $'1\n2\n3' -r 3 incr counter
expect "wrong arity" "ERR wrong number of arguments for 'get' command"$'\n' get
expect "unknown command" "ERR unknown command 'nope', with args beginning with: 'x' "$'\n' nope x
expect "resp3 with -3" "" -3 get missing
expect "client setname" "OK" client setname cli
expect "echo binary" $'a\tb\r\nc' echo $'a\tb\r\nc'

# Quoted arguments: the shell's quoting reaches the server as one argument each; lines
# read from stdin are split by redis-cli's own parser (quotes and escapes).
expect "argument with spaces" "OK" set "key with spaces" "value with spaces"
expect "get argument with spaces" "value with spaces" get "key with spaces"
expect "empty argument" "OK" set "" ""
expect "get empty key" "" get ""
expect_stdin "stdin double quotes" $'set "q 1" "x\\x41\\ny"\nget "q 1"\n' $'OK\nxA\ny' 
expect_stdin "stdin single quotes" $'set \'s 1\' \'it\\\'s\'\nget \'s 1\'\n' $'OK\nit\'s'
expect_stdin "stdin escapes" $'echo "\\t\\x41\\xff"\n' $'\tA\xff'
expect_stdin "stdin last argument with -x" $'line1\nline2' "OK" -x set xk
expect "value from -x" $'line1\nline2' get xk

# Mass insertion: 100,000 SET commands through --pipe, then DBSIZE.
cli flushall >/dev/null
python3 - "$WORK/mass.txt" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(100000):
        k, v = b"key:%d" % i, b"value:%d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
got=$(cli --pipe < "$WORK/mass.txt" 2>&1 | tail -1)
report "--pipe 100,000 SETs" "errors: 0, replies: 100000" "$got"
expect "dbsize after --pipe" "100000" dbsize
expect "a key from --pipe" "value:99999" get key:99999

if [ -n "$SOCK" ]; then
    got=$(redis-cli -s "$SOCK" ping 2>&1)
    report "unix socket ping" "PONG" "$got"
fi
if [ -n "$TLS_PORT" ]; then
    got=$(redis-cli --tls --cacert "$CA" -h "$HOST" -p "$TLS_PORT" set tk tv 2>&1; \
          redis-cli --tls --cacert "$CA" -h "$HOST" -p "$TLS_PORT" get tk 2>&1)
    report "tls set get" $'OK\ntv' "$got"
fi

# redis-benchmark: a short run; every test must report its rate, nothing may say error.
out=$(redis-benchmark -h "$HOST" -p "$PORT" -t ping,set,get,incr,mset -n 20000 -c 20 --csv 2>&1)
rows=$(printf '%s\n' "$out" | grep -cE '^"(PING_INLINE|PING_MBULK|SET|GET|INCR|MSET \(10 keys\))","[0-9.]+"')
errors=$(printf '%s\n' "$out" | grep -ciE 'error|ERR ' || true)
report "redis-benchmark -t ping,set,get,incr,mset" "6 results, 0 errors" "$rows results, $errors errors"
printf '%s\n' "$out" | sed 's/^/    /' | cut -c1-100
