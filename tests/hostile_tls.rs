//! Hostile clients on a TLS port: garbage instead of a handshake, handshakes that stall
//! (silent, cut short, or dribbled a byte at a time: all reaped by the handshake
//! timeout, which bounds the whole handshake, not each read), and a flood of stalled
//! handshakes against max clients (threads stay bounded). A real TLS client is served
//! throughout.
//!
//! The certificate is the examples' self-signed test certificate for `localhost`.

#![cfg(feature = "tls")]

mod common_hostile;

use common_hostile::{read_to_close, start, threads, wait_until, Kv, State};
use redcon::rustls::pki_types::pem::PemObject;
use redcon::rustls::pki_types::{CertificateDer, ServerName};
use redcon::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use redcon::{Server, ServerHandle};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(1500);

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/tls")
        .join(name)
}

fn start_tls(configure: impl FnOnce(Server<Kv>) -> Server<Kv>) -> (ServerHandle, Arc<State>) {
    let config = redcon::load_tls_config(data("cert.pem"), data("key.pem")).expect("test cert");
    start(|s| configure(s.tls(config).tls_handshake_timeout(HANDSHAKE_TIMEOUT)))
}

fn client_config() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let cert = CertificateDer::from_pem_file(data("cert.pem")).expect("test cert");
    roots.add(cert).expect("trust the test cert");
    let provider = Arc::new(redcon::rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A TLS client's first flight: its ClientHello record(s).
fn client_hello() -> Vec<u8> {
    let name = ServerName::try_from("localhost").expect("name");
    let mut conn = ClientConnection::new(client_config(), name).expect("client");
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).expect("client hello");
    }
    out
}

/// A real TLS client: PING must be answered PONG.
fn tls_ping(addr: &str) {
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(client_config(), name).expect("client");
    let sock = common_hostile::connect(addr);
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(b"PING\r\n").expect("send over TLS");
    let mut reply = [0u8; 7];
    tls.read_exact(&mut reply).expect("reply over TLS");
    assert_eq!(&reply, b"+PONG\r\n");
}

#[test]
fn garbage_on_the_tls_port_is_closed_and_others_are_served() {
    let _serial = common_hostile::serial();
    let (handle, state) = start_tls(|s| s);
    let addr = common_hostile::addr(&handle);
    tls_ping(&addr);
    let hello = client_hello();
    let mut hello_then_junk = hello.clone();
    hello_then_junk.extend_from_slice(&[0x17, 0x03, 0x03, 0xff, 0xff, 1, 2, 3]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("plain RESP", b"PING\r\n".to_vec()),
        ("HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "random bytes",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        (
            "record claiming 64 KiB",
            vec![0x16, 0x03, 0x01, 0xff, 0xff, 0x01],
        ),
        ("hello, then a bogus record", hello_then_junk),
        ("zeros", vec![0; 100]),
    ];
    for (what, bytes) in &cases {
        let t = Instant::now();
        let mut s = common_hostile::connect(&addr);
        // The server may close before taking it all.
        let _ = s.write_all(bytes);
        let answer = read_to_close(&mut s, Duration::from_secs(5));
        // At most a TLS alert record, never anything readable as RESP.
        assert!(
            answer.is_empty() || answer[0] == 0x15 || answer[0] == 0x16,
            "{what}: {answer:?}"
        );
        assert!(
            t.elapsed() < HANDSHAKE_TIMEOUT,
            "{what} took {:?}",
            t.elapsed()
        );
        tls_ping(&addr);
    }
    // A failed handshake never reached the handler.
    assert_eq!(
        state.accepts.load(std::sync::atomic::Ordering::SeqCst),
        1 + cases.len()
    );
    assert!(wait_until(Duration::from_secs(2), || handle.clients() == 0));
    handle.shutdown();
}

#[test]
fn stalled_handshakes_are_reaped_by_the_handshake_timeout() {
    let _serial = common_hostile::serial();
    let (handle, state) = start_tls(|s| s);
    let addr = common_hostile::addr(&handle);
    let hello = client_hello();

    let t = Instant::now();
    let silent = common_hostile::connect(&addr);
    let mut cut = common_hostile::connect(&addr);
    cut.write_all(&hello[..hello.len() / 2])
        .expect("half a hello");
    // One byte every 200 ms: each read is quick, the handshake is not.
    let dribbled = common_hostile::connect(&addr);
    let dribbler = {
        let mut s = dribbled.try_clone().expect("clone");
        let hello = hello.clone();
        thread::spawn(move || {
            for b in hello {
                if s.write_all(&[b]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    assert!(wait_until(Duration::from_secs(2), || handle.clients() == 3));
    // Meanwhile a real client is served.
    tls_ping(&addr);

    let bound = HANDSHAKE_TIMEOUT + Duration::from_secs(2);
    for (what, mut s) in [("silent", silent), ("cut", cut), ("dribbled", dribbled)] {
        let _ = read_to_close(&mut s, bound);
        println!("{what} handshake closed after {:?}", t.elapsed());
    }
    assert!(t.elapsed() < bound, "took {:?}", t.elapsed());
    dribbler.join().expect("dribbler");
    assert!(wait_until(Duration::from_secs(2), || handle.clients() == 0));
    // None of them reached on_accept: only the real client did.
    assert_eq!(state.accepts.load(std::sync::atomic::Ordering::SeqCst), 1);
    handle.shutdown();
}

#[test]
fn stalled_handshake_flood_costs_a_bounded_number_of_threads() {
    let _serial = common_hostile::serial();
    let (handle, _) = start_tls(|s| s.max_clients(5));
    let addr = common_hostile::addr(&handle);
    let before = threads();
    let flood: Vec<TcpStream> = (0..300).map(|_| common_hostile::connect(&addr)).collect();
    // Five hold a slot in their handshake and 64 more are being refused (a TLS client
    // must finish its handshake to read why); the rest are closed at once, threadless.
    let closed_at_once = wait_until(Duration::from_millis(1000), || {
        flood
            .iter()
            .filter(|s| common_hostile::is_closed(s))
            .count()
            == 300 - 5 - 64
    });
    let peak = threads();
    println!("300 stalled handshakes, max clients 5: threads {before} -> {peak}");
    assert!(closed_at_once);
    assert!(peak <= before + 5 + 64 + 2, "threads {before} -> {peak}");
    // The handshake timeout reaps the rest; then the port serves again.
    assert!(wait_until(
        HANDSHAKE_TIMEOUT + Duration::from_secs(2),
        || { handle.clients() == 0 }
    ));
    tls_ping(&addr);
    handle.shutdown();
}
