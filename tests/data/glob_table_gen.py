#!/usr/bin/env python3
"""Regenerates tests/data/glob_cases.txt from a running redis-server.

Each case is asked of the server, never computed here, so the table records what
Redis's own matcher answers:

- case-sensitive cases ("cs"): a second connection PSUBSCRIBEs the pattern and the
  first PUBLISHes to the string; PUBLISH's receiver count says whether Redis's
  matcher accepted it. PUBLISH is used because it calls the matcher with no
  shortcut. The case is cross-checked with FLUSHALL / SET <string> 1 / KEYS
  <pattern>; KEYS treats the one-byte pattern "*" as "every key" without calling
  the matcher, so it disagrees for "*" against the empty string, and that
  disagreement is written into the file as a comment.
- case-insensitive cases ("ci"): COMMAND LIST FILTERBY PATTERN matches command
  names without regard to case, so the strings of these cases are command names.

Usage: start a throwaway server, e.g.
    redis-server --port 6399 --save '' --appendonly no --daemonize yes
then run
    python3 tests/data/glob_table_gen.py 6399 > tests/data/glob_cases.txt

File format (read by tests/glob_redis_table.rs): one case a line,
    <expected 0|1> <cs|ci> <pattern> <string>
Lines starting with '#' are comments. A field is one or more pieces joined by '+';
a piece is a quoted byte string optionally followed by 'x<count>' (repeat). Inside
the quotes, bytes 0x21..0x7e stand for themselves except '"' and '\\'; '\\\\' is
a backslash and '\\xHH' any byte.
"""

import socket
import sys


class Piece:
    def __init__(self, unit, count=1):
        self.unit = unit if isinstance(unit, bytes) else unit.encode("latin-1")
        self.count = count


def R(unit, count):
    """A repeated piece: unit * count, written compactly in the data file."""
    return [Piece(unit, count)]


def field(spec):
    """Accepts bytes, str, or a list of Pieces / bytes / str."""
    if isinstance(spec, (bytes, str)):
        return [Piece(spec)]
    out = []
    for part in spec:
        out.extend([part] if isinstance(part, Piece) else field(part))
    return out


def materialize(pieces):
    return b"".join(p.unit * p.count for p in pieces)


def escape(data):
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x21 <= b <= 0x7E and b != 0x22:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def encode_field(pieces):
    parts = []
    for p in pieces:
        s = '"' + escape(p.unit) + '"'
        if p.count != 1:
            s += "x%d" % p.count
        parts.append(s)
    return "+".join(parts)


# (pattern, string, mode). Comments become section headers in the data file.
CASES = [
    "# plain literals, '?' and '*'",
    ("hello", "hello"), ("hello", "hell"), ("hello", "helloo"), ("hello", "Hello"),
    ("", ""), ("", "a"), ("a", ""),
    ("h?llo", "hello"), ("h?llo", "hllo"), ("h?llo", "heello"),
    ("?", ""), ("?", "a"), ("?", "ab"), ("??", "ab"),
    ("*", "hello"), ("*", ""), ("*", "*"), ("**", "x"), ("**", ""),
    ("h*llo", "hllo"), ("h*llo", "heeeello"), ("h*llo", "hello!"),
    ("*a", "a"), ("*a", "ba"), ("*a", "ab"), ("a*", "a"), ("a*", "abc"), ("a*", "ba"),
    ("*a*", "bab"), ("*a*", "bbb"), ("a**b", "ab"), ("a**b", "axxb"),
    ("a*b*c", "abc"), ("a*b*c", "aXbYc"), ("a*b*c", "acb"), ("a*b*c", "abcbc"),
    ("*?", "a"), ("*?", ""), ("?*", "a"), ("?*?", "a"), ("*??*", "ab"),
    ("a*a", "a"), ("a*a", "aa"), ("*ab", "aab"), ("*ab*ab", "abab"),
    "# character classes",
    ("h[ae]llo", "hello"), ("h[ae]llo", "hallo"), ("h[ae]llo", "hillo"),
    ("h[^e]llo", "hallo"), ("h[^e]llo", "hello"),
    ("h[a-b]llo", "hallo"), ("h[a-b]llo", "hbllo"), ("h[a-b]llo", "hcllo"),
    ("h[b-a]llo", "hallo"), ("[z-a]", "m"), ("[z-a]", "A"),
    ("[!a]", "!"), ("[!a]", "b"), ("[*]", "*"), ("[*]", "a"), ("[?]", "?"), ("[?]", "a"),
    ("[[]", "["), ("[a-c-e]", "d"), ("[a-c-e]", "-"), ("[a-c-e]", "e"),
    ("[--0]", "."), ("[--0]", "1"), ("[^a-z]", "A"), ("[^a-z]", "q"),
    ("[a-Z]", "_"), ("[a-Z]", "g"),
    "# escapes",
    ("h\\*llo", "h*llo"), ("h\\*llo", "hello"), ("\\?", "?"), ("\\?", "a"),
    ("\\\\", "\\"), ("\\a", "a"), ("\\[a]", "[a]"), ("\\[a]", "a"),
    ("*\\*", "abc*"), ("*\\*", "abc"),
    ("[\\]]", "]"), ("[\\]]", "\\"), ("[\\-]", "-"), ("[\\^a]", "^"), ("[\\^a]", "b"),
    ("[a\\-z]", "-"), ("[a\\-z]", "b"), ("[\\a-c]", "b"), ("[\\a-c]", "-"),
    "# malformed patterns: trailing backslash, unclosed or empty brackets",
    ("abc\\", "abc\\"), ("abc\\", "abc"), ("\\", "\\"), ("*\\", "abc\\"),
    ("[abc", "a"), ("[abc", "d"), ("[abc", "[abc"), ("[", "["), ("[", "a"), ("a[", "a"), ("a[", "a["),
    ("[^", "x"), ("[^", "^"), ("[^", ""), ("[^a", "b"), ("[^a", "a"),
    ("[a-", "a"), ("[a-", "-"), ("[a-", "b"),
    ("[a-]", "]"), ("[a-]", "^"), ("[a-]", "a"), ("[a-]", "b"), ("[a-]b]", "b"), ("[a-]b]", "b]"),
    ("[]", "]"), ("[]", ""), ("[]", "[]"), ("[]]", "]"), ("[]]", "]]"),
    ("[^]", "a"), ("[^]]", "a]"), ("[^]]", "]]"), ("[^]]", "a"),
    ("[\\", "\\"), ("[\\", "["), ("[a\\", "\\"), ("[a-\\]", "_"), ("[a-\\]", "b"),
    "# binary bytes (ranges compare bytes as signed chars, as Redis's C code does)",
    (b"\x00", b"\x00"), (b"\x00", b""), (b"a\x00*", b"a\x00b"), (b"a*", b"a\x00b"),
    (b"[\x00-\x05]", b"\x03"), (b"[\x00]", b"\x00"),
    (b"\xff", b"\xff"), (b"\xff", b"\xfe"), (b"h\xe9llo", b"h\xe9llo"), (b"h?llo", b"h\xc3\xa9llo"),
    (b"[\x80-\xff]", b"\x90"), (b"[\x80-\xff]", b"a"),
    (b"[a-\xff]", b"b"), (b"[a-\xff]", b"\xff"), (b"[a-\xff]", b"\x00"), (b"[a-\xff]", b"\x80"),
    (b"[\x01-\xff]", b"\x80"), (b"[\x01-\xff]", b"\x00"), (b"[^\x80-\xff]", b"a"),
    (b"a?b", b"a b"), (b"\r?", b"\r\n"), (b"*\n", b"x\r\n"),
    "# case-insensitive matching (strings are command names)",
    ("GET", "get", "ci"), ("g?T", "get", "ci"), ("[F-H]et", "get", "ci"), ("[f-h]ET", "get", "ci"),
    ("[^G]et", "get", "ci"), ("\\GET", "get", "ci"), ("[\\G]et", "get", "ci"), ("[G]et", "get", "ci"),
    ("[A-Z]et", "get", "ci"), ("[a-Z]et", "get", "ci"), ("CONFIG|GET", "config|get", "ci"),
    ("C*|G*", "config|get", "ci"), ("SET", "get", "ci"),
    "# patterns that are exponential for naive backtracking",
    ([R("*a", 9), "*b"], R("a", 10000)), ([R("*a", 9), "*b"], [R("a", 10000), "b"]),
    ([R("a*", 20), "b"], R("a", 60)), ("*a*a*a*a*a*a*a*a*a*a*a*a", R("ab", 40)),
    "# star nesting limit: Redis gives up (no match) past 1000 nested '*'",
    (R("*a", 1000), R("a", 1000)), (R("*a", 1001), R("a", 1001)),
    ([R("*a", 1000), "*"], R("a", 1000)), ([R("*a", 1001), "*"], R("a", 1001)),
    (R("a*", 1001), R("a", 1001)), (R("a*", 1002), R("a", 1002)),
    ([R("*a", 1001)], R("b", 5)), ([R("*?", 1001)], R("a", 2000)), ([R("*?", 1000)], R("a", 2000)),
]


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode("latin-1"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.reply()


def ask_cs(cmd, sub, pattern, string):
    sub.send(b"PSUBSCRIBE", pattern)
    sub.reply()
    received = cmd.call(b"PUBLISH", string, b"m")
    if received:
        sub.reply()  # the pmessage
    sub.send(b"PUNSUBSCRIBE", pattern)
    sub.reply()
    cmd.call(b"FLUSHALL")
    cmd.call(b"SET", string, b"1")
    keys = cmd.call(b"KEYS", pattern)
    return received == 1, string in keys


def ask_ci(cmd, pattern, string):
    names = cmd.call(b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", pattern)
    return string in names


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    cmd, sub = Conn(port), Conn(port)
    version = cmd.call(b"INFO", b"server").split(b"redis_version:")[1].split(b"\r\n")[0]
    print("# Answers of redis-server %s's glob matcher; regenerate with" % version.decode())
    print("# tests/data/glob_table_gen.py (see its header for the format).")
    print("# <expected> <cs|ci> <pattern> <string>")
    total = 0
    for case in CASES:
        if isinstance(case, str):
            print(case)
            continue
        pattern_spec, string_spec = case[0], case[1]
        mode = case[2] if len(case) > 2 else "cs"
        pat_f, str_f = field(pattern_spec), field(string_spec)
        pattern, string = materialize(pat_f), materialize(str_f)
        if mode == "ci":
            matched = ask_ci(cmd, pattern, string)
        else:
            matched, by_keys = ask_cs(cmd, sub, pattern, string)
            if by_keys != matched:
                print("# KEYS answers %d here: it takes the pattern \"*\" as every key" % by_keys
                      if pattern == b"*" else "# KEYS disagrees here (%d)" % by_keys)
        print("%d %s %s %s" % (matched, mode, encode_field(pat_f), encode_field(str_f)))
        total += 1
    cmd.call(b"FLUSHALL")
    print("# %d cases" % total)


if __name__ == "__main__":
    main()
