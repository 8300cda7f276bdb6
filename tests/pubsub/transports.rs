//! Pub/sub over TLS (a subscriber's reader and writer threads sharing one rustls
//! session) and over a Unix socket.

use super::common::*;
use redcon::pubsub::PubSub;
use redcon::Server;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

fn temp_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("redcon-pubsub-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use redcon::rustls;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::net::TcpStream;
    use std::sync::Arc;
    use std::thread;

    /// The test certificate committed with the TLS example (for `localhost` and
    /// 127.0.0.1), trusted by the client as its own root.
    const CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/cert.pem");
    const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/key.pem");

    type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

    fn tls_client(addr: &str) -> Raw<TlsStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(CERT).expect("certificate parses"))
            .expect("certificate accepted");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from("localhost").expect("server name");
        let session = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        tcp.set_write_timeout(Some(TIMEOUT)).expect("timeout");
        Raw {
            stream: rustls::StreamOwned::new(session, tcp),
        }
    }

    #[test]
    fn pubsub_over_tls() {
        let config = redcon::load_tls_config(CERT, KEY).expect("TLS config loads");
        let pubsub = PubSub::new();
        let server = Server::new(handler(&pubsub))
            .addr("127.0.0.1:0")
            .tls(config)
            .start()
            .expect("server starts");
        let addr = server.local_addr().to_string();

        let mut sub = tls_client(&addr);
        sub.roundtrip(
            b"SUBSCRIBE t\r\nPSUBSCRIBE t*\r\n",
            &[
                confirm(false, "subscribe", Some("t"), 1),
                confirm(false, "psubscribe", Some("t*"), 2),
            ]
            .concat(),
        );
        let mut publisher = tls_client(&addr);
        publisher.roundtrip(b"PUBLISH t first\r\n", b":2\r\n");
        sub.expect(&message(false, "t", "first"));
        sub.expect(&pmessage(false, "t*", "t", "first"));

        // Messages written by the subscriber's writer thread while its connection thread
        // reads and answers PINGs, all through one TLS session.
        let ps = pubsub.clone();
        let flood = thread::spawn(move || {
            for i in 0..2_000 {
                assert_eq!(ps.publish("tx", i.to_string()), 1);
            }
        });
        let mut expected = Vec::new();
        for i in 0..2_000 {
            expected.extend_from_slice(&pmessage(false, "t*", "tx", &i.to_string()));
        }
        sub.expect(&expected);
        flood.join().expect("publisher");
        sub.roundtrip(b"PING tls\r\n", b"*2\r\n$4\r\npong\r\n$3\r\ntls\r\n");
        sub.roundtrip(
            b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nGET k\r\n",
            &[
                &confirm(false, "unsubscribe", Some("t"), 1)[..],
                &confirm(false, "punsubscribe", Some("t*"), 0),
                b"$-1\r\n",
            ]
            .concat(),
        );
        server.shutdown();
    }
}

#[test]
fn pubsub_over_a_unix_socket() {
    let path = temp_path("pubsub.sock");
    let pubsub = PubSub::new();
    let server = Server::new(handler(&pubsub))
        .unix(&path)
        .start()
        .expect("server starts");
    let url = format!("redis+unix://{}", path.display());

    // Byte for byte over a raw Unix stream...
    let raw = UnixStream::connect(&path).expect("connect");
    raw.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let mut raw = Raw { stream: raw };
    raw.roundtrip(
        b"PSUBSCRIBE u*\r\n",
        &confirm(false, "psubscribe", Some("u*"), 1),
    );

    // ...and through the redis crate.
    let mut conn = redis_conn(&url);
    let mut ps = conn.as_pubsub();
    ps.subscribe("u").expect("subscribe");
    let mut publisher = redis_conn(&url);
    for i in 0..1_000 {
        assert_eq!(publish(&mut publisher, "u", &i.to_string()), 2);
    }
    let mut expected = Vec::new();
    for i in 0..1_000 {
        let m = ps.get_message().expect("message");
        assert_eq!(m.get_channel_name(), "u");
        assert_eq!(m.get_payload::<String>().expect("payload"), i.to_string());
        expected.extend_from_slice(&pmessage(false, "u*", "u", &i.to_string()));
    }
    raw.expect(&expected);
    drop(ps);
    let n: i64 = redis::cmd("PUBLISH")
        .arg("u")
        .arg("x")
        .query(&mut conn)
        .expect("publish");
    assert_eq!(n, 1, "only the raw pattern subscriber is left");
    server.shutdown();
}
