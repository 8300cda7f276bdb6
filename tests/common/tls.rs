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
