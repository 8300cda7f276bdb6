#!/usr/bin/env bash
# redis-cli (-a, --user/--pass, AUTH typed in) and redis-benchmark (-a, --user) against
# a server started with compat/acl/users.acl. Prints `ok - ...` / `not ok - ...` lines.
# With a TLS port, also redis-cli over TLS presenting a client certificate (the server
# asks for one signed by the client CA: tls-auth-clients yes).
#   acl_tools.sh LABEL HOST PORT [TLS_PORT SERVER_CA CLIENT_CERT CLIENT_KEY]
set -uo pipefail
LABEL=$1 HOST=$2 PORT=$3 TLS_PORT=${4:-} SERVER_CA=${5:-} CLIENT_CERT=${6:-} CLIENT_KEY=${7:-}
cli() { redis-cli -h "$HOST" -p "$PORT" --no-auth-warning "$@" 2>&1; }

report() { # name, expected, got
    if [ "$2" == "$3" ]; then
        echo "ok - acl tools [$LABEL] $1"
    else
        echo "not ok - acl tools [$LABEL] $1"
        echo "    want: $(printf '%q' "$2")"
        echo "    got:  $(printf '%q' "$3")"
    fi
}

report "redis-cli without a password" "NOAUTH Authentication required." "$(cli get k)"
report "redis-cli -a" "default" "$(cli -a compat-secret acl whoami)"
report "redis-cli --user --pass" "app" "$(cli --user app --pass app-pw set app:cli v >/dev/null; cli --user app --pass app-pw get app:cli | sed 's/^v$/app/')"
report "redis-cli --user denied key" "NOPERM this user has no permissions to access one of the keys used as arguments" \
    "$(cli --user app --pass app-pw get other)"
report "redis-cli -a wrong" "AUTH failed: WRONGPASS invalid username-password pair or user is disabled." \
    "$(cli -a wrong ping | head -1)"
report "redis-cli AUTH typed in" $'OK\ndefault' "$(printf 'AUTH compat-secret\nACL WHOAMI\n' | cli)"

# Progress lines end in CR: one line each.
bench() { redis-benchmark -h "$HOST" -p "$PORT" -n 2000 -c 4 -q "$@" 2>&1 | tr '\r' '\n'; }
out=$(bench -a compat-secret -t set,get)
if echo "$out" | grep -q '^SET: .* requests per second' && echo "$out" | grep -q '^GET: .* requests per second'; then
    report "redis-benchmark -a" ok ok
else
    report "redis-benchmark -a" "SET: and GET: lines" "$out"
fi
out=$(bench --user app -a app-pw set app:bench v)
if echo "$out" | grep -q '^set app:bench v: .* requests per second' && ! echo "$out" | grep -qi 'noperm'; then
    report "redis-benchmark --user" ok ok
else
    report "redis-benchmark --user" "a 'set app:bench v:' line" "$out"
fi
out=$(bench --user app -a app-pw del app:bench)
if echo "$out" | grep -q 'NOPERM'; then
    report "redis-benchmark --user denied command" ok ok
else
    report "redis-benchmark --user denied command" "NOPERM" "$out"
fi

if [ -n "$TLS_PORT" ]; then
    tls() { redis-cli -h "$HOST" -p "$TLS_PORT" --tls --cacert "$SERVER_CA" --no-auth-warning "$@" 2>&1; }
    report "redis-cli over TLS with a client certificate, -a" "PONG" \
        "$(tls --cert "$CLIENT_CERT" --key "$CLIENT_KEY" -a compat-secret ping)"
    report "redis-cli over TLS with a client certificate, --user --pass" "v" \
        "$(tls --cert "$CLIENT_CERT" --key "$CLIENT_KEY" --user app --pass app-pw set app:tls v >/dev/null
           tls --cert "$CLIENT_CERT" --key "$CLIENT_KEY" --user app --pass app-pw get app:tls)"
    out=$(redis-benchmark -h "$HOST" -p "$TLS_PORT" --tls --cacert "$SERVER_CA" \
        --cert "$CLIENT_CERT" --key "$CLIENT_KEY" -a compat-secret -n 1000 -c 2 -q -t get 2>&1 | tr '\r' '\n')
    if echo "$out" | grep -q '^GET: .* requests per second'; then
        report "redis-benchmark over TLS with a client certificate, -a" ok ok
    else
        report "redis-benchmark over TLS with a client certificate, -a" "a GET: line" "$out"
    fi
    got=$(tls -a compat-secret ping)
    if [ "$got" != PONG ]; then
        report "redis-cli over TLS without a client certificate is refused" ok ok
    else
        report "redis-cli over TLS without a client certificate is refused" "a failed handshake" "$got"
    fi
fi
