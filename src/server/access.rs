//! The builder options for access control: the built-in ACL ([`Server::acl`],
//! [`Server::requirepass`]), an authenticator of one's own ([`Server::authenticator`]),
//! and protected mode ([`Server::protected_mode`]). The checks themselves run in the
//! connection core (`crate::auth::check`).

use super::Server;
use crate::auth::check::AuthConfig;
use crate::auth::{Acl, Authenticator};
use crate::handler::Handler;
use std::sync::Arc;

impl<H: Handler> Server<H> {
    /// Access control by Redis's ACL: clients authenticate with `AUTH` or `HELLO ...
    /// AUTH` (`-NOAUTH` before, while the `default` user has a password or is off),
    /// each user's permissions are checked before every command (`-NOPERM`), and the
    /// server answers the `ACL` command from `acl`. Keep a clone of `acl` to change
    /// users while the server runs. Default: no access control.
    ///
    /// ```
    /// use redcon::auth::Acl;
    /// let acl = Acl::with_requirepass("admin-secret");
    /// acl.set_user("app", "on >app-secret ~app:* +@all -@dangerous")?;
    /// let server = redcon::Server::new(redcon::mux::Mux::new()).acl(acl);
    /// # drop(server);
    /// # Ok::<(), redcon::auth::AclError>(())
    /// ```
    pub fn acl(mut self, acl: Acl) -> Self {
        self.config.auth = Some(AuthConfig {
            authn: Arc::new(acl.clone()),
            acl: Some(acl),
        });
        self
    }

    /// A password for the `default` user, as Redis's `requirepass`: the built-in
    /// [`Acl`] with only that user.
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::mux::Mux::new()).requirepass("s3cret");
    /// # drop(server);
    /// ```
    pub fn requirepass(self, password: &str) -> Self {
        self.acl(Acl::with_requirepass(password))
    }

    /// Access control by an [`Authenticator`] of your own (users kept in your
    /// database, say). The core answers `AUTH` and `HELLO ... AUTH` from it and asks
    /// it before every command; the `ACL` command is left to the handler.
    ///
    /// ```
    /// use redcon::auth::Authenticator;
    /// struct Token;
    /// impl Authenticator for Token {
    ///     fn auth_required(&self) -> bool { true }
    ///     fn authenticate(&self, _user: &str, password: &[u8]) -> bool {
    ///         password == b"let-me-in"
    ///     }
    /// }
    /// let server = redcon::Server::new(redcon::mux::Mux::new()).authenticator(Token);
    /// # drop(server);
    /// ```
    pub fn authenticator(mut self, authn: impl Authenticator) -> Self {
        self.config.auth = Some(AuthConfig {
            authn: Arc::new(authn),
            acl: None,
        });
        self
    }

    /// Redis's protected mode: while the `default` user has no password (no access
    /// control, or a `default` user with `nopass`), clients from anywhere but
    /// `127.0.0.1`, `::1` and Unix sockets are answered Redis's `-DENIED ...` and
    /// closed. Default: off (Redis's default is on; the example clone turns it on).
    ///
    /// ```
    /// let server = redcon::Server::new(redcon::mux::Mux::new())
    ///     .addr("0.0.0.0:6379")
    ///     .protected_mode(true);
    /// # drop(server);
    /// ```
    pub fn protected_mode(mut self, on: bool) -> Self {
        self.config.protected_mode = on;
        self
    }

    /// Logs each TLS client in as the ACL user named by the common name (CN) of the
    /// certificate it presented, when that user exists and is on; a client without one
    /// (or naming no such user) starts as the `default` user, as any other. Needs a TLS
    /// configuration that asks for certificates
    /// ([`load_tls_config_with_client_auth`](crate::load_tls_config_with_client_auth))
    /// and access control ([`acl`](Self::acl)). Default: off.
    ///
    /// ```no_run
    /// use redcon::{load_tls_config_with_client_auth, TlsClientAuth};
    /// let tls = load_tls_config_with_client_auth("cert.pem", "key.pem", "ca.pem", TlsClientAuth::Required)?;
    /// let acl = redcon::auth::Acl::with_requirepass("admin-secret");
    /// acl.set_user("app", "on ~app:* +@all")?; // no password: the certificate vouches
    /// let server = redcon::Server::new(redcon::mux::Mux::new())
    ///     .tls(tls)
    ///     .acl(acl)
    ///     .tls_user_from_cn(true);
    /// # drop(server);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_user_from_cn(mut self, on: bool) -> Self {
        self.config.tls_user_from_cn = on;
        self
    }
}
