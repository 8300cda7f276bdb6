//! A rustls client that trusts the test certificate in `examples/tls/`, for the tests
//! that talk TLS to a server.

use super::{tcp_addr, Client};
use redcon::rustls;
use redcon::ServerHandle;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::TcpStream;
use std::sync::Arc;

pub const CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/cert.pem");
pub const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/key.pem");

/// The client certificate (CN `app`), its key, and the CA that signed it.
pub const CLIENT_CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/client.pem");
pub const CLIENT_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/client-key.pem");
pub const CLIENT_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/client-ca.pem");

pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

pub fn client_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(CERT).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

/// A TLS client for `name` (the certificate is for `localhost` and `127.0.0.1`).
pub fn tls_client(server: &ServerHandle, name: &str) -> Client<TlsStream> {
    let tcp = TcpStream::connect(tcp_addr(server)).unwrap();
    tcp.set_read_timeout(Some(super::TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(super::TIMEOUT)).unwrap();
    let name = ServerName::try_from(name.to_string()).unwrap();
    let session = rustls::ClientConnection::new(client_config(), name).unwrap();
    Client::new(rustls::StreamOwned::new(session, tcp))
}

/// A TLS client that presents the client certificate (CN `app`); the handshake's
/// outcome is left to the caller (a server that refuses it fails the first read).
pub fn tls_client_with_cert(server: &ServerHandle) -> Client<TlsStream> {
    use rustls::pki_types::PrivateKeyDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(CERT).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let chain: Vec<_> = CertificateDer::pem_file_iter(CLIENT_CERT)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(CLIENT_KEY).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let tcp = TcpStream::connect(tcp_addr(server)).unwrap();
    tcp.set_read_timeout(Some(super::TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(super::TIMEOUT)).unwrap();
    let name = ServerName::try_from("localhost".to_string()).unwrap();
    let session = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    Client::new(rustls::StreamOwned::new(session, tcp))
}
