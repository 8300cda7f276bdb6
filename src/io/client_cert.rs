//! TLS client certificates: a server configuration that asks clients for a certificate
//! signed by a given CA (Redis's `tls-auth-clients yes|optional` with `tls-ca-cert-file`),
//! and the subject common name of a certificate, which can name the ACL user a client
//! logs in as.

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::Path;
use std::sync::Arc;

/// Whether TLS clients must present a certificate, as Redis's `tls-auth-clients`.
///
/// ```
/// use redcon::TlsClientAuth;
/// assert_ne!(TlsClientAuth::Required, TlsClientAuth::Optional);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsClientAuth {
    /// `yes`: a client without a certificate signed by the CA fails the handshake.
    Required,
    /// `optional`: a certificate is asked for and checked if sent, but not required.
    Optional,
}

/// Like [`load_tls_config`](crate::load_tls_config), and asks clients for a certificate
/// signed by one of the certificates in `ca_pem` (Redis's `tls-ca-cert-file` with
/// `tls-auth-clients yes` or `optional`). A handler reads what a client presented
/// with [`Conn::peer_certificates`](crate::Conn::peer_certificates);
/// [`Server::tls_user_from_cn`](crate::Server::tls_user_from_cn) logs clients in as the
/// ACL user their certificate names.
///
/// # Errors
/// [`Error::Pem`] when a file cannot be read or holds no certificate or key;
/// [`Error::Tls`] when rustls rejects the pair or the CA certificates.
///
/// ```no_run
/// use redcon::{load_tls_config_with_client_auth, TlsClientAuth};
/// let config = load_tls_config_with_client_auth("cert.pem", "key.pem", "ca.pem", TlsClientAuth::Required)?;
/// # Ok::<(), redcon::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub fn load_tls_config_with_client_auth(
    cert_chain_pem: impl AsRef<Path>,
    private_key_pem: impl AsRef<Path>,
    ca_pem: impl AsRef<Path>,
    mode: TlsClientAuth,
) -> Result<Arc<ServerConfig>, Error> {
    let certs = read_certs(cert_chain_pem.as_ref())?;
    let key = PrivateKeyDer::from_pem_file(private_key_pem.as_ref()).map_err(Error::Pem)?;
    let mut roots = RootCertStore::empty();
    for ca in read_certs(ca_pem.as_ref())? {
        roots.add(ca).map_err(Error::Tls)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = match mode {
        TlsClientAuth::Required => builder,
        TlsClientAuth::Optional => builder.allow_unauthenticated(),
    };
    let verifier = builder
        .build()
        .map_err(|e| Error::Tls(rustls::Error::General(e.to_string())))?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(Error::Tls)?;
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(Error::Pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Pem)?;
    if certs.is_empty() {
        return Err(Error::Pem(rustls::pki_types::pem::Error::NoItemsFound));
    }
    Ok(certs)
}

/// One DER element: (tag, contents, the rest after it).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The subject's common name (OID 2.5.4.3) of a DER certificate, if it has one in a
/// string type; the last one if several.
pub(crate) fn common_name(der: &[u8]) -> Option<String> {
    const SEQUENCE: u8 = 0x30;
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    let (SEQUENCE, cert, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject.
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..4 {
        rest = element(rest)?.2;
    }
    let (SEQUENCE, mut names, _) = element(rest)? else {
        return None;
    };
    let mut found = None;
    while !names.is_empty() {
        let (_set_tag, mut set, next) = element(names)?;
        names = next;
        while !set.is_empty() {
            let (_, attr, next) = element(set)?;
            set = next;
            let (0x06, oid, value) = element(attr)? else {
                continue;
            };
            if oid != CN {
                continue;
            }
            let (tag, text, _) = element(value)?;
            // UTF8String, PrintableString, T61String, IA5String.
            if matches!(tag, 0x0c | 0x13 | 0x14 | 0x16) {
                found = std::str::from_utf8(text).ok().map(str::to_string);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_of_the_test_certificates() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tls/");
        let cn = |file: &str| {
            let cert = read_certs(Path::new(&format!("{dir}{file}"))).unwrap();
            common_name(&cert[0])
        };
        assert_eq!(cn("client.pem").as_deref(), Some("app"));
        assert_eq!(cn("cert.pem").as_deref(), Some("localhost"));
        assert_eq!(common_name(b"\x30\x82"), None);
        assert_eq!(common_name(b""), None);
    }
}
