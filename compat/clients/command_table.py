#!/usr/bin/env python3
"""The clone's command table against redis-server's, through redis-py. Prints `ok - ...` /
`not ok - ...` lines.

    command_table.py --clone 127.0.0.1:6380 --redis 127.0.0.1:6379

- COMMAND LIST covers exactly the commands the clone answers: every name in Redis's
  COMMAND LIST is sent to the clone (with no arguments); it is in the clone's list if and
  only if the clone does not answer "unknown command" / "unknown subcommand". The only
  names the clone lists that Redis 7.0.15 lacks are the documented ones.
- COMMAND COUNT is the number of top-level names in COMMAND LIST.
- COMMAND DOCS of every clone command equals Redis's, less the argument lists and
  history the clone does not describe.
- redis-py's CommandsParser (what RedisCluster builds from COMMAND at start) finds the
  same keys on both servers for every keyed clone command, multi-key ones included.
"""

import argparse
import subprocess
import sys

import redis
from redis._parsers import CommandsParser
from report import Report, eq

# In the clone and not in Redis 7.0.15 (README, "Differences").
CLONE_ONLY = {"detach", "client|setinfo", "client|no-touch"}
# Left out of the clone's COMMAND DOCS: it describes no arguments or history.
UNDESCRIBED_DOC_FIELDS = {"arguments", "history", "doc_flags"}

report = Report()


def check(name):
    def wrap(fn):
        def run(*args):
            report.run(f"command table: {name}", fn, *args, timed=False, traceback_lines=10)

        return run

    return wrap


def connect(addr, **kw):
    host, port = addr.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), protocol=2, decode_responses=True, **kw)


def raw(r, *args):
    """A reply without redis-py's parsing of COMMAND replies (which expects COMMAND INFO)."""
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def names(r):
    return set(raw(r, "COMMAND", "LIST"))


def answers(r, name):
    """Whether the server has the command (or subcommand) `name`."""
    args = name.split("|")
    try:
        raw(r, *[a.upper() for a in args])
    except redis.ResponseError as e:
        text = str(e)
        return not (text.startswith("unknown command") or text.startswith("unknown subcommand"))
    except redis.ConnectionError:
        return True  # QUIT, SHUTDOWN ...: known
    return True


@check("COMMAND LIST is exactly what the clone answers")
def list_covers(clone_addr, redis_addr):
    clone, real = connect(clone_addr), connect(redis_addr)
    listed = names(clone)
    eq(listed - names(real), CLONE_ONLY, "listed by the clone but not by Redis")
    # Commands that would change the server's state for the other checks, or block.
    skip = {"shutdown", "monitor", "quit", "reset", "subscribe", "psubscribe", "ssubscribe",
            "sync", "psync", "debug", "failover", "replicaof", "slaveof", "save", "bgsave",
            "bgrewriteaof", "flushall", "flushdb", "blpop", "brpop", "blmove", "brpoplpush",
            "bzpopmin", "bzpopmax", "blmpop", "bzmpop", "xread", "xreadgroup", "wait",
            "client|pause", "client|kill", "detach"}
    for name in sorted(names(real) - skip):
        fresh = connect(clone_addr)
        eq(name in listed, answers(fresh, name), f"{name} listed vs answered")
        fresh.close()


@check("COMMAND COUNT counts the top-level commands of COMMAND LIST")
def count(clone_addr, _redis_addr):
    clone = connect(clone_addr)
    top = {n for n in names(clone) if "|" not in n}
    eq(raw(clone, "COMMAND", "COUNT"), len(top))


def docs(r, name):
    reply = raw(r, "COMMAND", "DOCS", name)
    entry = dict(zip(reply[0::2], reply[1::2]))[name]
    doc = dict(zip(entry[0::2], entry[1::2]))
    for field in UNDESCRIBED_DOC_FIELDS:
        doc.pop(field, None)
    if "subcommands" in doc:
        subs = doc["subcommands"]
        doc["subcommands"] = sorted(subs[0::2])
    return doc


@check("COMMAND DOCS of every clone command is Redis's (less arguments and history)")
def docs_match(clone_addr, redis_addr):
    clone, real = connect(clone_addr), connect(redis_addr)
    for name in sorted(names(clone) - CLONE_ONLY):
        mine, theirs = docs(clone, name), docs(real, name)
        if "subcommands" in mine:
            # The clone has some of Redis's subcommands; each is compared on its own.
            assert set(mine["subcommands"]) <= set(theirs["subcommands"]) | CLONE_ONLY, name
            mine.pop("subcommands"), theirs.pop("subcommands")
        eq(mine, theirs, name)


KEYED = [
    ("GET", "k"),
    ("SET", "k", "v", "EX", "10"),
    ("MGET", "a", "b", "c"),
    ("MSET", "a", "1", "b", "2", "c", "3"),
    ("DEL", "a", "b"),
    ("EXISTS", "a", "b", "a"),
    ("INCR", "n"),
    ("DECR", "n"),
]


@check("redis-py's CommandsParser finds the same keys on the clone as on Redis")
def commands_parser(clone_addr, redis_addr):
    clone, real = connect(clone_addr), connect(redis_addr)
    mine, theirs = CommandsParser(clone), CommandsParser(real)
    for args in KEYED:
        want = theirs.get_keys(real, *args)
        got = mine.get_keys(clone, *args)
        eq(got, want, " ".join(args))
        assert got, f"{args[0]}: no keys found"
    # Commands without keys give none on both.
    eq(mine.get_keys(clone, "PING"), theirs.get_keys(real, "PING"), "PING")


@check("redis-cli prints COMMAND DOCS GET in Redis's shape")
def redis_cli_docs(clone_addr, redis_addr):
    def show(addr):
        host, port = addr.rsplit(":", 1)
        out = subprocess.run(
            ["redis-cli", "-h", host, "-p", port, "--no-raw", "COMMAND", "DOCS", "GET"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.splitlines()
        # Redis goes on with the argument list, which the clone does not describe; the
        # indentation depends on how many fields follow, so tokens are compared.
        cut = next((i for i, l in enumerate(out) if '"arguments"' in l), len(out))
        return [l.split() for l in out[:cut]]

    mine, theirs = show(clone_addr), show(redis_addr)
    eq(mine, theirs, "redis-cli output")
    assert ["2)", '"Get', "the", "value", "of", "a", 'key"'] in mine, mine


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clone", required=True)
    ap.add_argument("--redis", required=True)
    a = ap.parse_args()
    for run in (list_covers, count, docs_match, commands_parser, redis_cli_docs):
        run(a.clone, a.redis)
    sys.exit(report.status())


if __name__ == "__main__":
    main()
