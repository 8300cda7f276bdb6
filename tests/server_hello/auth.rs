//! Access control over real sockets, byte for byte as Redis 7.0.15 answers (texts taken
//! from a real redis-server with the same `requirepass` / users): `AUTH`, `HELLO ...
//! AUTH`, `-NOAUTH` on every path a command can take (the connection loop, a pub/sub
//! session, a connection served again after detaching, cluster routing), `-NOPERM` for
//! commands, keys and channels, the `ACL` command, the request limits for clients that
//! have not authenticated, protected mode, and an authenticator of one's own.

use super::common::kv::{kv_mux, Store};
use super::common::{connect, request, tcp_addr, Client};
use redcon::auth::{Acl, Authenticator};
use redcon::cluster::{Cluster, Node, Topology};
use redcon::commands::{CommandSpec, Flags, KeyFlags, KeySpec};
use redcon::mux::Mux;
use redcon::pubsub::PubSub;
use redcon::{Conn, Server, ServerHandle};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// Sends one multibulk request and checks the reply bytes.
#[track_caller]
fn call(c: &mut Client<TcpStream>, args: &[&str], want: &[u8]) {
    c.send(&request(args));
    c.expect(want);
}

fn start(server: Server<impl redcon::Handler>) -> ServerHandle {
    server.addr("127.0.0.1:0").start().expect("server starts")
}

/// A key-value mux whose GET reads its key and SET writes it (flags as Redis's).
fn kv() -> Mux {
    let mut mux = kv_mux(Store::default());
    mux.describe(
        CommandSpec::new("get", 2)
            .flags(Flags::READONLY | Flags::FAST)
            .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RO | KeyFlags::ACCESS)),
    );
    mux.describe(
        CommandSpec::new("set", -3)
            .flags(Flags::WRITE)
            .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RW | KeyFlags::UPDATE)),
    );
    mux
}

#[test]
fn the_connection_loop_refuses_everything_before_auth() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let mut mux = kv();
    mux.command(
        CommandSpec::new("reset", 1).flags(Flags::NO_AUTH),
        |conn: &mut Conn, _| conn.write_string("RESET"),
    );
    mux.command(CommandSpec::new("count", 1), move |conn: &mut Conn, _| {
        s.fetch_add(1, Ordering::SeqCst);
        conn.write_string("OK")
    });
    let h = start(Server::new(mux).requirepass("s3cret"));
    let mut c = connect(&h);
    call(&mut c, &["COUNT"], NOAUTH);
    call(&mut c, &["SET", "k", "v"], NOAUTH);
    // Unknown commands and wrong arity are answered first, as Redis does.
    call(
        &mut c,
        &["NOSUCH"],
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    );
    call(
        &mut c,
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    call(
        &mut c,
        &["AUTH"],
        b"-ERR wrong number of arguments for 'auth' command\r\n",
    );
    call(&mut c, &["AUTH", "a", "b", "c"], b"-ERR syntax error\r\n");
    call(&mut c, &["AUTH", "wrong"], WRONGPASS);
    call(&mut c, &["AUTH", "default", "wrong"], WRONGPASS);
    call(&mut c, &["HELLO", "3"], b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n");
    call(
        &mut c,
        &["HELLO", "3", "AUTH", "default"],
        b"-ERR Syntax error in HELLO option 'AUTH'\r\n",
    );
    call(&mut c, &["HELLO", "3", "AUTH", "default", "bad"], WRONGPASS);
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the handler saw a command");
    // Inline and pipelined: AUTH takes effect for the very next command.
    c.send(b"AUTH s3cret\r\nCOUNT\r\n");
    c.expect(b"+OK\r\n+OK\r\n");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    // RESET logs the connection out again.
    c.send(b"RESET\r\nCOUNT\r\n");
    c.expect(b"+RESET\r\n");
    c.expect(NOAUTH);
    // HELLO with credentials logs in and switches protocol in one step.
    c.send(&request(&["HELLO", "3", "AUTH", "default", "s3cret"]));
    assert!(c.reply().starts_with(b"%7\r\n$6\r\nserver\r\n"));
    call(&mut c, &["COUNT"], b"+OK\r\n");
}

#[test]
fn auth_without_a_password_configured() {
    let h = start(Server::new(kv()).acl(Acl::new()));
    let mut c = connect(&h);
    call(&mut c, &["AUTH", "x"], b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n");
    // nopass takes any password.
    call(&mut c, &["AUTH", "default", "x"], b"+OK\r\n");
    call(&mut c, &["GET", "k"], b"$-1\r\n");
}

#[test]
fn a_pub_sub_session_is_checked_too() {
    let acl = Acl::with_requirepass("s3cret");
    acl.set_user("sub", "on >pw &news.* +@all").unwrap();
    let pubsub = PubSub::new();
    let h = start(Server::new(pubsub.handler(kv())).acl(acl));
    let mut c = connect(&h);
    call(&mut c, &["SUBSCRIBE", "news.a"], NOAUTH);
    call(&mut c, &["PUBLISH", "news.a", "m"], NOAUTH);
    assert_eq!(
        pubsub.publish("news.a", "m"),
        0,
        "an unauthenticated client subscribed"
    );
    call(&mut c, &["AUTH", "sub", "pw"], b"+OK\r\n");
    // A denied channel among allowed ones, in one pipeline: replies stay in order.
    let mut batch = request(&["SUBSCRIBE", "news.a"]);
    batch.extend(request(&["SUBSCRIBE", "sports"]));
    batch.extend(request(&["PSUBSCRIBE", "news.*"]));
    c.send(&batch);
    c.expect(b"*3\r\n$9\r\nsubscribe\r\n$6\r\nnews.a\r\n:1\r\n");
    c.expect(
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    c.expect(b"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:2\r\n");
    // A RESP2 subscriber may not run AUTH (nor log in with HELLO), as in Redis.
    call(
        &mut c,
        &["AUTH", "s3cret"],
        b"-ERR Can't execute 'auth': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    call(
        &mut c,
        &["HELLO", "3", "AUTH", "default", "s3cret"],
        b"-ERR Can't execute 'hello': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    call(
        &mut c,
        &["SUBSCRIBE", "other"],
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    // RESET inside the session: back to the default user, who must authenticate.
    c.send(b"RESET\r\n");
    c.expect(b"+RESET\r\n");
    call(&mut c, &["SUBSCRIBE", "news.a"], NOAUTH);
    call(&mut c, &["GET", "k"], NOAUTH);
}

/// The key-value commands, and DETACH, which detaches the connection and serves it
/// again with the same commands.
struct Detaching(Arc<Mux>);

impl redcon::Handler for Detaching {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: redcon::Command<'_>) {
        if !cmd.is("detach") {
            return self.0.on_command(conn, cmd);
        }
        conn.write_string("OK");
        let again = self.0.clone();
        conn.detach(move |d| {
            d.serve(&*again);
        });
    }

    fn commands(&self) -> Option<Arc<redcon::commands::CommandTable>> {
        self.0.commands()
    }
}

#[test]
fn a_connection_served_again_after_detaching_is_checked() {
    let mut mux = kv();
    mux.describe(CommandSpec::new("detach", 1));
    let outer = Detaching(Arc::new(mux));
    let h = start(Server::new(outer).requirepass("s3cret"));
    let mut c = connect(&h);
    call(&mut c, &["DETACH"], NOAUTH);
    call(&mut c, &["AUTH", "s3cret"], b"+OK\r\n");
    call(&mut c, &["DETACH"], b"+OK\r\n");
    call(&mut c, &["SET", "k", "v"], b"+OK\r\n");
    call(
        &mut c,
        &["RESET"],
        b"-ERR unknown command 'RESET', with args beginning with: \r\n",
    );
    call(&mut c, &["GET", "k"], NOAUTH);
    call(&mut c, &["AUTH", "s3cret"], b"+OK\r\n");
    call(&mut c, &["GET", "k"], b"$1\r\nv\r\n");
}

#[test]
fn cluster_routing_runs_after_authentication() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let a = "a".repeat(40);
    let b = "b".repeat(40);
    let nodes = vec![
        Node::master(&a, "127.0.0.1", port),
        Node::master(&b, "127.0.0.1", 1),
    ];
    let topology = Topology::builder(nodes, &a)
        .slots(0..=8191, &a)
        .slots(8192..=16383, &b)
        .build()
        .unwrap();
    let h = Server::new(kv())
        .listener(listener)
        .cluster(Cluster::new(topology))
        .requirepass("s3cret")
        .start()
        .unwrap();
    let mut c = connect(&h);
    // "foo" hashes to slot 12182, node B's: no redirection leaks before AUTH.
    call(&mut c, &["GET", "foo"], NOAUTH);
    call(&mut c, &["CLUSTER", "MYID"], NOAUTH);
    call(&mut c, &["AUTH", "s3cret"], b"+OK\r\n");
    call(&mut c, &["GET", "foo"], b"-MOVED 12182 127.0.0.1:1\r\n");
}

#[test]
fn unauthenticated_requests_are_limited_as_in_redis() {
    let h = start(Server::new(kv()).requirepass("s3cret"));
    let mut c = connect(&h);
    c.send(b"PING\r\n*11\r\n");
    c.expect(NOAUTH);
    c.expect(b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    c.expect_eof();
    let mut c = connect(&h);
    c.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    c.expect(b"-ERR Protocol error: unauthenticated bulk length\r\n");
    c.expect_eof();
    // The limits are lifted by AUTH, for the rest of the same pipeline already.
    let mut c = connect(&h);
    let big = "v".repeat(20_000);
    let mut batch = b"AUTH s3cret\r\n".to_vec();
    batch.extend(request(&["SET", "k", &big]));
    batch.extend(request(&[
        "PING", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
    ]));
    c.send(&batch);
    c.expect(b"+OK\r\n+OK\r\n+PONG\r\n");
}

#[test]
fn permissions_of_acl_users() {
    let acl = Acl::with_requirepass("admin");
    acl.set_user(
        "app",
        "on >pw ~foo* %R~r* %W~w* &chan* -@all +get +set +acl|whoami",
    )
    .unwrap();
    let h = start(Server::new(kv()).acl(acl.clone()));
    let mut c = connect(&h);
    call(&mut c, &["AUTH", "app", "pw"], b"+OK\r\n");
    call(&mut c, &["ACL", "WHOAMI"], b"$3\r\napp\r\n");
    call(&mut c, &["GET", "foo1"], b"$-1\r\n");
    let key =
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
    call(&mut c, &["GET", "x"], key);
    call(&mut c, &["GET", "r1"], b"$-1\r\n");
    call(&mut c, &["SET", "r1", "v"], key);
    call(&mut c, &["SET", "w1", "v"], b"+OK\r\n");
    call(&mut c, &["GET", "w1"], key);
    call(
        &mut c,
        &["PING"],
        b"-NOPERM this user has no permissions to run the 'ping' command\r\n",
    );
    call(
        &mut c,
        &["ACL", "LIST"],
        b"-NOPERM this user has no permissions to run the 'acl|list' command\r\n",
    );
    // The admin sees the refusals in ACL LOG, newest first.
    let mut admin = connect(&h);
    call(&mut admin, &["AUTH", "admin"], b"+OK\r\n");
    admin.send(&request(&["ACL", "LOG", "1"]));
    let log = admin.reply();
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("$6\r\nreason\r\n$7\r\ncommand\r\n"), "{text}");
    assert!(
        text.contains("$6\r\nobject\r\n$8\r\nacl|list\r\n"),
        "{text}"
    );
    assert!(text.contains("$8\r\nusername\r\n$3\r\napp\r\n"), "{text}");
    call(
        &mut admin,
        &["ACL", "DRYRUN", "app", "get", "x"],
        b"$50\r\nThis user has no permissions to access the 'x' key\r\n",
    );
    // Failed logins are logged too, alike ones counted in one entry.
    let mut intruder = connect(&h);
    call(&mut intruder, &["AUTH", "app", "guess1"], WRONGPASS);
    call(&mut intruder, &["AUTH", "app", "guess2"], WRONGPASS);
    admin.send(&request(&["ACL", "LOG", "1"]));
    let text = String::from_utf8_lossy(&admin.reply()).into_owned();
    for part in [
        "$5\r\ncount\r\n:2\r\n",
        "$6\r\nreason\r\n$4\r\nauth\r\n",
        "$6\r\nobject\r\n$4\r\nAUTH\r\n",
        "$8\r\nusername\r\n$3\r\napp\r\n",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    call(&mut admin, &["ACL", "LOG", "RESET"], b"+OK\r\n");
    call(&mut admin, &["ACL", "LOG"], b"*0\r\n");
    // Deleting a user closes its connections at once (this one is idle), but not one
    // that has logged in as someone else since.
    let mut moved = connect(&h);
    call(&mut moved, &["AUTH", "app", "pw"], b"+OK\r\n");
    call(&mut moved, &["AUTH", "admin"], b"+OK\r\n");
    call(&mut admin, &["ACL", "DELUSER", "app"], b":1\r\n");
    c.expect_eof();
    call(&mut moved, &["ACL", "WHOAMI"], b"$7\r\ndefault\r\n");
    assert_eq!(acl.users(), ["default"]);
}

#[test]
fn protected_mode_refuses_other_hosts_without_a_password() {
    const DENIED: &[u8] = b"-DENIED Redis is running in protected mode";
    let from = |h: &ServerHandle, ip: &str, want: &[u8]| {
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.bind(
            &format!("{ip}:0")
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
        sock.connect(&tcp_addr(h).into()).unwrap();
        let s: TcpStream = sock.into();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut c = Client::new(s);
        c.send(b"PING\r\n");
        if want.is_empty() {
            c.read_to_eof()
        } else {
            c.read_to_eof_or(want)
        }
    };
    let open = start(Server::new(kv()).protected_mode(true));
    let got = from(&open, "127.0.0.2", b"");
    assert!(got.starts_with(DENIED), "{}", got.escape_ascii());
    assert!(got.ends_with(b"connections from the outside.\r\n"));
    assert_eq!(from(&open, "127.0.0.1", b"+PONG\r\n"), b"+PONG\r\n");
    // Counted by reason: one refusal by protected mode.
    let stats = open.stats();
    assert_eq!(stats.rejected_protected_mode, 1);
    assert_eq!(
        (stats.rejected_connections, stats.connections_received),
        (0, 2)
    );
    // With a password for the default user, other hosts may connect (and must AUTH).
    let guarded = start(Server::new(kv()).protected_mode(true).requirepass("x"));
    assert_eq!(from(&guarded, "127.0.0.2", NOAUTH), NOAUTH);
}

/// One account, kept by the application.
struct Single;

impl Authenticator for Single {
    fn auth_required(&self) -> bool {
        true
    }
    fn authenticate(&self, user: &str, password: &[u8]) -> bool {
        user == "app" && password == b"pw"
    }
}

#[test]
fn an_authenticator_of_ones_own() {
    let h = start(Server::new(kv()).authenticator(Single));
    let mut c = connect(&h);
    call(&mut c, &["GET", "k"], NOAUTH);
    call(&mut c, &["AUTH", "pw"], WRONGPASS);
    call(&mut c, &["AUTH", "app", "pw"], b"+OK\r\n");
    call(&mut c, &["GET", "k"], b"$-1\r\n");
    // redis-rs logs in from its URL.
    let url = format!("redis://app:pw@{}/", tcp_addr(&h));
    let mut conn = super::common::redis_conn_to(&url, super::common::TIMEOUT);
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
    assert_eq!(v, None);
}

#[test]
fn a_handler_without_a_command_table() {
    // The handler answers every command; the core still guards them, and answers ACL
    // (arity included) from its own description of it.
    let h = start(
        Server::new(redcon::handler_fn(|conn: &mut Conn, _| {
            conn.write_string("SERVED")
        }))
        .acl(Acl::with_requirepass("pw")),
    );
    let mut c = connect(&h);
    call(&mut c, &["ANYTHING"], NOAUTH);
    call(&mut c, &["AUTH", "pw"], b"+OK\r\n");
    call(&mut c, &["ANYTHING"], b"+SERVED\r\n");
    call(
        &mut c,
        &["ACL", "GETUSER"],
        b"-ERR wrong number of arguments for 'acl|getuser' command\r\n",
    );
    call(
        &mut c,
        &["ACL", "NOSUCH"],
        b"-ERR unknown subcommand 'NOSUCH'. Try ACL HELP.\r\n",
    );
    call(&mut c, &["ACL", "WHOAMI"], b"$7\r\ndefault\r\n");
}

#[test]
fn acl_file_load_and_save() {
    let path = std::env::temp_dir().join(format!("redcon-auth-{}.acl", std::process::id()));
    std::fs::write(
        &path,
        "user default on >pw ~* &* +@all\n\nuser ro on >r %R~* -@all +@read\n",
    )
    .unwrap();
    let acl = Acl::new();
    acl.load_file(&path).unwrap();
    let h = start(Server::new(kv()).acl(acl));
    let mut c = connect(&h);
    call(&mut c, &["AUTH", "ro", "r"], b"+OK\r\n");
    call(&mut c, &["AUTH", "pw"], b"+OK\r\n");
    call(
        &mut c,
        &["ACL", "SETUSER", "new", "on", ">n", "~n:*", "+get"],
        b"+OK\r\n",
    );
    call(&mut c, &["ACL", "SAVE"], b"+OK\r\n");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(saved.lines().count(), 3, "{saved}");
    assert!(
        saved.contains("user new on #") && saved.contains("~n:* resetchannels -@all +get\n"),
        "{saved}"
    );
    // A bad file changes nothing, and says where it is wrong as Redis does.
    std::fs::write(&path, "user default on >pw ~* &* +@all\nuser x on bogus\n").unwrap();
    let want = format!(
        "-ERR {}:2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n",
        path.display()
    );
    call(&mut c, &["ACL", "LOAD"], want.as_bytes());
    call(
        &mut c,
        &["ACL", "USERS"],
        b"*3\r\n$7\r\ndefault\r\n$3\r\nnew\r\n$2\r\nro\r\n",
    );
    // Loading a file without the user a connection runs as closes that connection.
    std::fs::write(&path, "user default on >pw ~* &* +@all\n").unwrap();
    let mut ro = connect(&h);
    call(&mut ro, &["AUTH", "ro", "r"], b"+OK\r\n");
    call(&mut c, &["ACL", "LOAD"], b"+OK\r\n");
    ro.expect_eof();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn selectors_each_allow_what_they_describe() {
    let acl = Acl::with_requirepass("admin");
    // Root: read anything under ro:; a selector: read and write tmp:.
    acl.set_user("u", "on >pw %R~ro:* -@all +get (~tmp:* +get +set)")
        .unwrap();
    let h = start(Server::new(kv()).acl(acl));
    let mut c = connect(&h);
    call(&mut c, &["AUTH", "u", "pw"], b"+OK\r\n");
    call(&mut c, &["GET", "ro:1"], b"$-1\r\n");
    call(&mut c, &["SET", "tmp:1", "v"], b"+OK\r\n");
    call(&mut c, &["GET", "tmp:1"], b"$1\r\nv\r\n");
    let key =
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
    call(&mut c, &["SET", "ro:1", "v"], key);
    call(&mut c, &["GET", "other"], key);
}
