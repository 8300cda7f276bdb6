//! TLS with a rustls client that trusts the test certificate in `examples/tls/`:
//! commands and exact replies, `HELLO 3`, a 1 MiB reply, a detached connection whose
//! `ConnWriter` writes while its reader is blocked in a TLS read, clients that fail or
//! never finish the handshake (the server keeps serving others, and a shutdown does not
//! wait for them), the max-clients refusal sent over TLS, and client certificates
//! (required or optional, read by the handler, naming the ACL user a client logs in as).
#![cfg(feature = "tls")]

mod common;

use common::tls::{tls_client, CERT, KEY};
use common::{CloseLog, Reason};
use redcon::{CloseReason, Command, Conn, ConnWriter, Handler, Server, ServerHandle};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Tls {
    closes: CloseLog,
    writers: Arc<Mutex<mpsc::Sender<ConnWriter>>>,
}

impl Handler for Tls {
    fn on_command(&self, conn: &mut Conn<'_>, cmd: Command<'_>) {
        if cmd.is("istls") {
            let tls = conn.is_tls();
            conn.write_bool(tls);
        } else if cmd.is("big") {
            conn.write_bulk(vec![b'x'; 1 << 20]);
        } else if cmd.is("detach") {
            conn.write_string("OK");
            let tx = self.writers.lock().unwrap().clone();
            conn.detach(move |mut d| {
                tx.send(d.writer()).unwrap();
                while let Ok(Some(cmd)) = d.read_command() {
                    let arg = cmd.get(1).unwrap_or_default().to_vec();
                    d.write_bulk(arg);
                    if d.flush().is_err() {
                        break;
                    }
                }
            });
        } else if !common::basic(conn, &cmd) {
            conn.write_error("ERR unknown");
        }
    }

    fn on_close(&self, conn: &mut Conn<'_>, reason: &CloseReason) {
        self.closes.push(conn.id(), reason);
    }
}

fn tls_server(
    configure: impl FnOnce(Server<Tls>) -> Server<Tls>,
) -> (ServerHandle, Tls, mpsc::Receiver<ConnWriter>) {
    let (tx, rx) = mpsc::channel();
    let h = Tls {
        closes: CloseLog::default(),
        writers: Arc::new(Mutex::new(tx)),
    };
    let config = redcon::load_tls_config(CERT, KEY).expect("test certificate loads");
    let server = configure(Server::new(h.clone()).addr("127.0.0.1:0").tls(config))
        .start()
        .unwrap();
    (server, h, rx)
}

#[test]
fn commands_over_tls() {
    let (server, h, _) = tls_server(|s| s);
    for name in ["localhost", "127.0.0.1"] {
        let mut c = tls_client(&server, name);
        c.send(b"PING\r\nISTLS\r\n*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n");
        c.expect(b"+PONG\r\n:1\r\n$4\r\na\r\nb\r\n");
        c.send(b"HELLO 3\r\nISTLS\r\n");
        assert!(c.reply().starts_with(b"%7\r\n"));
        c.expect(b"#t\r\n");
        c.send(b"QUIT\r\n");
        c.expect(b"+OK\r\n");
        c.expect_eof();
    }
    let closes = h.closes.wait_for(2);
    assert!(closes.iter().all(|c| c.1 == Reason::Closed), "{closes:?}");
    server.shutdown();
}

#[test]
fn large_reply_and_pipeline_over_tls() {
    let (server, _, _) = tls_server(|s| s);
    let mut c = tls_client(&server, "localhost");
    c.send(b"ECHO a\r\nBIG\r\nECHO b\r\n");
    c.expect(b"$1\r\na\r\n");
    c.expect(format!("${}\r\n", 1 << 20).as_bytes());
    assert!(c.read_n(1 << 20).iter().all(|&b| b == b'x'));
    c.expect(b"\r\n$1\r\nb\r\n");
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..2000 {
        req.extend_from_slice(format!("ECHO {i}\r\n").as_bytes());
        expected.extend_from_slice(&common::bulk(i.to_string().as_bytes()));
    }
    c.send(&req);
    c.expect(&expected);
    server.shutdown();
}

#[test]
fn conn_writer_writes_while_the_tls_reader_is_blocked() {
    let (server, _, writers) = tls_server(|s| s);
    let mut c = tls_client(&server, "localhost");
    c.send(b"DETACH\r\n");
    c.expect(b"+OK\r\n");
    let mut w = writers.recv_timeout(common::TIMEOUT).unwrap();
    // The detached side is blocked reading the socket; a write through the shared TLS
    // session must not wait for it.
    std::thread::sleep(Duration::from_millis(20));
    for i in 0..3 {
        w.write_string(format!("tick {i}"));
        w.flush().unwrap();
        c.expect(format!("+tick {i}\r\n").as_bytes());
    }
    // Both directions at once: commands in, pushes out from another thread.
    let pusher = std::thread::spawn(move || {
        for _ in 0..200 {
            w.write_string("push");
            w.flush().unwrap();
        }
        w
    });
    let mut req = Vec::new();
    for i in 0..200 {
        req.extend_from_slice(format!("ECHO {i}\r\n").as_bytes());
    }
    c.send(&req);
    let w = pusher.join().unwrap();
    let (mut pushes, mut echoes) = (0, 0);
    while pushes < 200 || echoes < 200 {
        let reply = c.reply();
        if reply == b"+push\r\n" {
            pushes += 1;
        } else {
            assert_eq!(reply, common::bulk(echoes.to_string().as_bytes()));
            echoes += 1;
        }
    }
    w.close();
    c.expect_eof();
    server.shutdown();
}

#[test]
fn failed_and_stalled_handshakes_do_not_disturb_others() {
    let (server, h, _) = tls_server(|s| s.tls_handshake_timeout(Duration::from_millis(200)));
    // A plain-text client: the handshake fails and the server drops it.
    let mut plain = common::connect(&server);
    plain.send(b"PING\r\n");
    let got = plain.read_to_eof();
    assert!(!got.starts_with(b"+PONG"), "plain text served over TLS");
    // A client that connects and says nothing is dropped after the handshake timeout.
    let mut silent = common::connect(&server);
    silent.expect_eof();
    // A TLS client is served throughout.
    let mut c = tls_client(&server, "localhost");
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    // Clients that never completed a handshake never reached the handler, and are
    // counted as refused for that reason (and only for it).
    assert!(h.closes.snapshot().is_empty());
    let stats = server.stats();
    assert_eq!(stats.rejected_tls_handshake, 2);
    assert_eq!(
        (stats.rejected_connections, stats.rejected_protected_mode),
        (0, 0)
    );
    drop(c);
    server.shutdown();
}

#[test]
fn client_rejects_a_name_the_certificate_does_not_cover() {
    let (server, _, _) = tls_server(|s| s);
    let mut c = tls_client(&server, "example.com");
    let err = std::io::Write::write_all(&mut c.stream, b"PING\r\n")
        .and_then(|_| std::io::Write::flush(&mut c.stream))
        .and_then(|_| std::io::Read::read(&mut c.stream, &mut [0u8; 16]));
    assert!(err.is_err(), "certificate accepted for the wrong name");
    // The server is fine.
    let mut ok = tls_client(&server, "localhost");
    ok.send(b"PING\r\n");
    ok.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn shutdown_closes_tls_clients_cleanly() {
    let (server, h, _) = tls_server(|s| s);
    let mut c = tls_client(&server, "localhost");
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    assert_eq!(server.shutdown(), 1);
    // A close_notify, not an abrupt end: the client sees a clean end of stream.
    let mut buf = [0u8; 16];
    let n = std::io::Read::read(&mut c.stream, &mut buf).expect("clean TLS close");
    assert_eq!(n, 0);
    assert_eq!(h.closes.wait_for(1), vec![(1, Reason::ServerShutdown)]);
}

#[test]
fn shutdown_does_not_wait_for_a_pending_handshake() {
    // The default handshake timeout is 10 s; shutdown must not sit it out.
    let (server, _, _) = tls_server(|s| s);
    let mut silent = common::connect(&server);
    // Make sure the server has accepted it (its thread is in the handshake).
    common::wait_until("client accepted", || server.clients() == 1);
    let started = std::time::Instant::now();
    assert_eq!(server.shutdown(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    silent.expect_eof();
}

#[test]
fn max_clients_refusal_is_sent_over_tls() {
    let (server, _, _) = tls_server(|s| s.max_clients(1));
    let mut first = tls_client(&server, "localhost");
    first.send(b"PING\r\n");
    first.expect(b"+PONG\r\n");
    // Reading drives the handshake; the refusal is the first thing to arrive.
    let mut second = tls_client(&server, "localhost");
    second.expect(b"-ERR max number of clients reached\r\n");
    second.expect_eof();
    server.shutdown();
}

#[test]
fn max_clients_counts_clients_in_accept_order_not_handshake_order() {
    let (server, _, _) = tls_server(|s| s.max_clients(2));
    // All four connect (and are accepted) before any of them handshakes.
    let mut clients: Vec<_> = (0..4).map(|_| tls_client(&server, "localhost")).collect();
    common::wait_until("all accepted", || server.clients() == 4);
    // The first two accepted are served and the last two refused, although the first
    // two finish their handshakes while all four are connected.
    let mut replies = Vec::new();
    for c in &mut clients {
        c.send(b"PING\r\n");
        let got = c.read_to_eof_or(b"+PONG\r\n");
        replies.push(String::from_utf8_lossy(&got).into_owned());
    }
    assert_eq!(
        replies,
        [
            "+PONG\r\n",
            "+PONG\r\n",
            "-ERR max number of clients reached\r\n",
            "-ERR max number of clients reached\r\n",
        ]
    );
    server.shutdown();
}

/// Answers `WHO` with the connection's user and the CN-bearing certificate count.
fn who(conn: &mut Conn<'_>, _cmd: Command<'_>) {
    let certs = conn.peer_certificates().map_or(0, |c| c.len());
    conn.write_string(format!("{} {certs}", conn.user()));
}

fn cert_server(mode: redcon::TlsClientAuth) -> ServerHandle {
    use common::tls::CLIENT_CA;
    let tls = redcon::load_tls_config_with_client_auth(CERT, KEY, CLIENT_CA, mode).unwrap();
    let acl = redcon::auth::Acl::with_requirepass("admin");
    // No password: only its certificate logs a client in as app.
    acl.set_user("app", "on ~* +@all").unwrap();
    Server::new(redcon::handler_fn(who))
        .addr("127.0.0.1:0")
        .tls(tls)
        .acl(acl)
        .tls_user_from_cn(true)
        .start()
        .unwrap()
}

#[test]
fn client_certificates_required() {
    let h = cert_server(redcon::TlsClientAuth::Required);
    // The certificate's CN names the user: logged in without AUTH.
    let mut c = common::tls::tls_client_with_cert(&h);
    c.send(b"WHO\r\n");
    c.expect(b"+app 1\r\n");
    // Without a certificate the handshake fails: no command is ever served.
    let mut bare = tls_client(&h, "localhost");
    use std::io::Write;
    let sent = bare
        .stream
        .write_all(b"WHO\r\n")
        .and_then(|_| bare.stream.flush());
    let mut buf = [0u8; 16];
    let read = std::io::Read::read(&mut bare.stream, &mut buf);
    assert!(
        sent.is_err() || !matches!(read, Ok(n) if n > 0),
        "served without a certificate"
    );
    h.shutdown();
}

#[test]
fn client_certificates_optional() {
    let h = cert_server(redcon::TlsClientAuth::Optional);
    let mut bare = tls_client(&h, "localhost");
    bare.send(b"WHO\r\nAUTH admin\r\nWHO\r\n");
    bare.expect(b"-NOAUTH Authentication required.\r\n+OK\r\n+default 0\r\n");
    let mut c = common::tls::tls_client_with_cert(&h);
    c.send(b"WHO\r\n");
    c.expect(b"+app 1\r\n");
    h.shutdown();
}

#[test]
fn redis_rs_over_tls_with_a_client_certificate_or_a_password() {
    use common::tls::{CLIENT_CERT, CLIENT_KEY};
    let h = cert_server(redcon::TlsClientAuth::Optional);
    let port = h.local_addr().to_string();
    let port = port.rsplit(':').next().unwrap();
    let read = |path: &str| std::fs::read(path).unwrap();
    // The certificate logs the client in as `app`, without AUTH.
    let with_cert = redis::Client::build_with_tls(
        format!("rediss://localhost:{port}/"),
        redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: read(CLIENT_CERT),
                client_key: read(CLIENT_KEY),
            }),
            root_cert: Some(read(CERT)),
        },
    )
    .unwrap();
    let mut con = with_cert.get_connection().unwrap();
    let who: String = redis::cmd("WHO").query(&mut con).unwrap();
    assert_eq!(who, "app 1");
    // Without one, the password in the URL.
    let with_password = redis::Client::build_with_tls(
        format!("rediss://default:admin@localhost:{port}/"),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(read(CERT)),
        },
    )
    .unwrap();
    let mut con = with_password.get_connection().unwrap();
    let who: String = redis::cmd("WHO").query(&mut con).unwrap();
    assert_eq!(who, "default 0");
    h.shutdown();
}
