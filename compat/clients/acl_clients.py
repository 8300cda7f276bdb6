"""Real clients logging in to a server started with compat/acl/users.acl, at their
defaults: redis-py with password=, with username= and password=, and from a URL; each
denial a client sees asserted. Also protected mode, from the source address 127.0.0.2,
against a second server without a password. Prints `ok - ...` / `not ok - ...` lines.

    acl_clients.py --label L --addr HOST:PORT [--open HOST:PORT]
"""

import argparse
import socket
import sys

import redis

PASS = "compat-secret"

# Redis 7.0.15's refusal in protected mode, in full.
DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you "
    b"may adopt one of the following solutions: 1) Just disable protected mode sending the "
    b"command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    b"Redis from the same host the server is running, however MAKE SURE Redis is not "
    b"publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    b"permanent. 2) Alternatively you can just disable the protected mode by editing the "
    b"Redis configuration file, and setting the protected mode option to 'no', and then "
    b"restarting the server. 3) If you started the server manually just for testing, "
    b"restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    b"password for the default user. NOTE: You only need to do one of the above things in "
    b"order for the server to start accepting connections from the outside.\r\n"
)
failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print(f"ok - {name}")
    except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
        failures += 1
        print(f"not ok - {name}\n    {type(e).__name__}: {e}")


def eq(got, want):
    if got != want:
        raise AssertionError(f"got {got!r}, want {want!r}")


def raises(exc, text, fn):
    try:
        fn()
    except exc as e:
        if text not in str(e):
            raise AssertionError(f"error {e!r} lacks {text!r}") from e
        return
    raise AssertionError(f"no {exc.__name__}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--open", help="a server without a password, for protected mode")
    ap.add_argument("--tls", help="HOST:PORT of the same server over TLS (client certificates)")
    ap.add_argument("--ca", help="the server certificate's CA")
    ap.add_argument("--cert", help="a client certificate signed by the server's client CA")
    ap.add_argument("--key", help="its key")
    a = ap.parse_args()
    host, port = a.addr.rsplit(":", 1)
    port = int(port)
    label = a.label
    print(f"# redis-py {redis.__version__} against {label}")

    def password_only():
        r = redis.Redis(host=host, port=port, password=PASS)
        eq(r.set("acl:k", "v"), True)
        eq(r.get("acl:k"), b"v")
        eq(r.acl_whoami(), "default")
        r.close()

    def user_and_password():
        r = redis.Redis(host=host, port=port, username="app", password="app-pw")
        eq(r.set("app:1", "v"), True)
        eq(r.get("app:1"), b"v")
        raises(redis.exceptions.NoPermissionError, "no permissions to access one of the keys", lambda: r.get("other"))
        raises(redis.exceptions.NoPermissionError, "no permissions to run the 'del' command", lambda: r.delete("app:1"))
        r.close()

    def from_url():
        r = redis.Redis.from_url(f"redis://reader:ro-pw@{host}:{port}/0")
        eq(r.exists("acl:k"), 1)
        raises(redis.exceptions.NoPermissionError, "no permissions to run the 'set' command", lambda: r.set("k", "v"))
        r.close()

    def resp2_client():
        r = redis.Redis(host=host, port=port, username="app", password="app-pw", protocol=2)
        eq(r.get("app:1"), b"v")
        r.close()

    def wrong_password():
        r = redis.Redis(host=host, port=port, username="app", password="nope")
        raises(redis.exceptions.AuthenticationError, "invalid username-password pair", r.ping)

    def no_password():
        r = redis.Redis(host=host, port=port)
        raises(redis.exceptions.AuthenticationError, "", r.ping)

    def pubsub_user():
        r = redis.Redis(host=host, port=port, username="subber", password="sub-pw")
        p = r.pubsub()
        p.subscribe("news.a")
        eq(p.get_message(timeout=2)["type"], "subscribe")
        raises(redis.exceptions.NoPermissionError, "channels", lambda: r.publish("other", "x"))
        admin = redis.Redis(host=host, port=port, password=PASS)
        eq(admin.publish("news.a", "hi"), 1)
        msg = p.get_message(timeout=2)
        eq((msg["type"], msg["data"]), ("message", b"hi"))
        p.close()
        admin.close()
        r.close()

    check(f"redis-py [{label}] password= logs in as default", password_only)
    check(f"redis-py [{label}] username= and password=, denials", user_and_password)
    check(f"redis-py [{label}] URL with user and password", from_url)
    check(f"redis-py [{label}] RESP2 client (AUTH user pass)", resp2_client)
    check(f"redis-py [{label}] wrong password refused", wrong_password)
    check(f"redis-py [{label}] no password: NOAUTH", no_password)
    check(f"redis-py [{label}] pub/sub user and channels", pubsub_user)

    if a.tls:
        thost, tport = a.tls.rsplit(":", 1)

        def tls_with_certificate():
            r = redis.Redis(
                host=thost, port=int(tport), ssl=True, ssl_ca_certs=a.ca,
                ssl_certfile=a.cert, ssl_keyfile=a.key, username="app", password="app-pw",
            )
            eq(r.set("app:tls", "v"), True)
            eq(r.get("app:tls"), b"v")
            raises(redis.exceptions.NoPermissionError, "keys", lambda: r.get("other"))
            r.close()

        def tls_without_certificate():
            r = redis.Redis(host=thost, port=int(tport), ssl=True, ssl_ca_certs=a.ca, password=PASS)
            raises(redis.exceptions.ConnectionError, "", r.ping)

        check(f"redis-py [{label}] TLS with a client certificate, username and password", tls_with_certificate)
        check(f"redis-py [{label}] TLS without a client certificate is refused", tls_without_certificate)

    if a.open:
        ohost, oport = a.open.rsplit(":", 1)

        def protected():
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.settimeout(5)
            s.connect((ohost, int(oport)))
            # Both servers refuse at once, before any request: send nothing, so that
            # closing with unread input cannot turn into a reset.
            got = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                got += chunk
            s.close()
            eq(got, DENIED)
            # From 127.0.0.1 the same server answers.
            r = redis.Redis(host=ohost, port=int(oport))
            eq(r.ping(), True)

        check(f"protected mode [{label}] -DENIED from 127.0.0.2, served from 127.0.0.1", protected)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
