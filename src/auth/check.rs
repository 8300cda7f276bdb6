//! The access-control step of the command path, run by the core for every command
//! before cluster routing and before any handler: `AUTH` and the credentials of `HELLO`
//! answered here, `-NOAUTH` until the client has authenticated (except for the commands
//! Redis lets through: `AUTH`, `HELLO`, `QUIT`, `RESET`), `-NOPERM` for what its user may
//! not run, and the `ACL` command of the built-in ACL. Also what a connection starts
//! with, and Redis's tighter request limits while it has not authenticated.
//!
//! Links between cluster nodes (a node forwarding `PUBLISH` to the others) are ordinary
//! client connections as far as this step goes: with access control on, the forwarding
//! side must log in first (`AUTH user pass` on each link, with credentials the node is
//! configured with), and its user needs `+publish` and the channels it forwards.

use super::acl::Acl;
use super::{acl_cmd, Authenticator, Denial, Refusal};
use crate::commands::Flags;
use crate::conn::ConnState;
use crate::io::Socket;
use crate::resp::{Command, Protocol, Writer};
use std::sync::{Arc, Weak};

const NOAUTH: &str = "NOAUTH Authentication required.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const NO_PASSWORD: &str = "ERR AUTH <password> called without any password configured for \
                           the default user. Are you sure your configuration is correct?";
const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, \
                            otherwise the HELLO AUTH <user> <pass> option can be used to \
                            authenticate the client and select the RESP protocol version at \
                            the same time";

/// The server's access control, shared by its connections.
#[derive(Clone)]
pub(crate) struct AuthConfig {
    pub(crate) authn: Arc<dyn Authenticator>,
    /// Set when `authn` is the built-in ACL: the core then answers `ACL`.
    pub(crate) acl: Option<Acl>,
}

/// One connection's identity.
pub(crate) struct ConnAuth {
    pub(crate) config: AuthConfig,
    pub(crate) user: String,
    /// Logged in (or created while the `default` user needed no password).
    pub(crate) authenticated: bool,
    /// The connection's socket, for the built-in ACL to disconnect it when its user is
    /// deleted.
    socket: Option<Weak<Socket>>,
}

impl ConnAuth {
    /// A new connection runs as `default`, authenticated only if `default` needs no
    /// password (Redis's `createClient`).
    pub(crate) fn new(config: AuthConfig) -> ConnAuth {
        let authenticated = !config.authn.auth_required();
        ConnAuth {
            config,
            user: "default".into(),
            authenticated,
            socket: None,
        }
    }

    /// Now logged in as `user`: the built-in ACL keeps the socket, to disconnect the
    /// connection if the user is deleted (as Redis does).
    fn logged_in(&mut self, user: String) {
        self.forget_user();
        if let (Some(acl), Some(socket)) = (&self.config.acl, &self.socket) {
            acl.track(&user, socket.clone());
        }
        self.user = user;
        self.authenticated = true;
    }

    /// No longer disconnected with the user it ran as (it logs in again, or resets).
    fn forget_user(&self) {
        if let (Some(acl), Some(socket)) = (&self.config.acl, &self.socket) {
            acl.untrack(&self.user, socket);
        }
    }

    /// Logs the connection in as `user` without a password (the name in its TLS client
    /// certificate); `false` if no such enabled user exists.
    #[cfg(feature = "tls")]
    fn login_as(&mut self, user: &str) -> bool {
        if !self.config.authn.user_enabled(user) {
            return false;
        }
        self.logged_in(user.to_string());
        true
    }

    /// Redis's `authRequired`: the connection has not authenticated and `default`
    /// (still) needs a password.
    fn required(&self) -> bool {
        !self.authenticated && self.config.authn.auth_required()
    }
}

/// Whether the connection is held to the limits for clients that must still
/// authenticate.
pub(crate) fn limited(state: &ConnState) -> bool {
    state.auth.as_deref().is_some_and(ConnAuth::required)
}

/// Runs the access-control step for one request. Returns `true` when it was answered
/// here, so no later step or handler may see it.
pub(crate) fn before_handler(state: &mut ConnState, cmd: &Command<'_>) -> bool {
    let answered = check(state, cmd);
    if answered && let Some(drain) = state.before_error.clone() {
        // A pub/sub session queues its replies for a writer thread: what it queued
        // before this answer is written first, then this answer, before the session
        // queues anything more.
        drain();
        if let Err(e) = state.flush_with(&[]) {
            state.write_error.get_or_insert(e);
            state.close = true;
        }
    }
    answered
}

fn check(state: &mut ConnState, cmd: &Command<'_>) -> bool {
    let Some(auth) = state.auth.as_deref_mut() else {
        return false;
    };
    let out = &mut state.out;
    // A RESP2 pub/sub subscriber may not run AUTH or HELLO: they go on, as any command,
    // to the pub/sub session, which refuses them as Redis does — without logging in.
    // (Only a subscribed session sets `before_error`.)
    let subscribed = state.before_error.is_some() && out.protocol() == Protocol::Resp2;
    if cmd.is("auth") && !subscribed {
        let info = client_info(state.id, &state.peer, &state.name);
        serve_auth(auth, out, cmd, &info);
        return true;
    }
    if cmd.is("hello") && !subscribed {
        return check_hello(state, cmd);
    }
    let table = state.commands.as_deref();
    // A hidden command that changes the topology is judged as the public one that does.
    let spec = table.and_then(|t| {
        t.lookup(cmd).or_else(|| {
            crate::cluster::is_push_config(cmd)
                .then(|| t.get("cluster|setslot"))
                .flatten()
        })
    });
    if auth.required() {
        let let_through = match table {
            Some(t) => match t.resolve(cmd) {
                Ok(spec) => spec.command_flags().contains(Flags::NO_AUTH),
                Err(msg) => {
                    out.write_error(msg);
                    return true;
                }
            },
            None => cmd.is("quit") || cmd.is("reset"),
        };
        if !let_through {
            out.write_error(NOAUTH);
            return true;
        }
    } else {
        // Wrong arity is answered before permissions, as in Redis; the handler is not
        // trusted to refuse it (it might run the command anyway).
        if let Some(spec) = spec
            && !spec.arity().accepts(cmd.len())
        {
            out.write_error(crate::reply::wrong_arity(spec.name()));
            return true;
        }
        // A command the table does not know is still checked, by its name.
        if let Err(denial) = auth.config.authn.authorize(&auth.user, cmd, spec) {
            if denial == Denial::UserGone {
                // Redis disconnects the clients of a deleted user.
                state.close = true;
                return true;
            }
            if spec.is_none()
                && let Some(Err(unknown)) = table.map(|t| t.resolve(cmd))
            {
                // Redis answers an unknown command as unknown, whatever the user's
                // rules; the handler does not get to serve it for this user.
                out.write_error(unknown);
                return true;
            }
            let name = match spec {
                Some(s) => s.name().to_string(),
                None => String::from_utf8_lossy(cmd.name()).to_ascii_lowercase(),
            };
            out.write_error(denial.message(&name));
            let object = match denial {
                Denial::Key(i) | Denial::Channel(i) => {
                    String::from_utf8_lossy(cmd.get(i).unwrap_or_default()).into_owned()
                }
                _ => name,
            };
            let info = client_info(state.id, &state.peer, &state.name);
            auth.config.authn.record(Refusal {
                reason: denial.reason(),
                object,
                username: auth.user.clone(),
                client_info: format!("{info} user={}", auth.user),
            });
            return true;
        }
        if cmd.is("acl")
            && let Some(acl) = &auth.config.acl
        {
            let ctx = acl_cmd::Ctx {
                acl,
                out,
                whoami: &auth.user,
                table,
            };
            acl_cmd::serve(ctx, cmd);
            return true;
        }
    }
    if cmd.is("reset") && cmd.len() == 1 {
        // Back to the default user, authenticated only if it needs no password.
        auth.forget_user();
        auth.user = "default".into();
        auth.authenticated = !auth.config.authn.auth_required();
    }
    false
}

/// `AUTH [user] password`.
fn serve_auth(auth: &mut ConnAuth, out: &mut Writer, cmd: &Command<'_>, info: &str) {
    match cmd.len() {
        1 => out.write_error(crate::reply::wrong_arity("auth")),
        2 if auth.config.authn.default_user_nopass() => out.write_error(NO_PASSWORD),
        2 => {
            if login(auth, out, cmd, b"default", &cmd[1], info) {
                out.write_string("OK");
            }
        }
        3 => {
            if login(auth, out, cmd, &cmd[1], &cmd[2], info) {
                out.write_string("OK");
            }
        }
        _ => out.write_error("ERR syntax error"),
    }
}

/// Checks credentials; on failure answers `-WRONGPASS` and records the refusal.
fn login(
    auth: &mut ConnAuth,
    out: &mut Writer,
    cmd: &Command<'_>,
    user: &[u8],
    password: &[u8],
    info: &str,
) -> bool {
    let name = String::from_utf8_lossy(user);
    let ok = std::str::from_utf8(user).is_ok() && auth.config.authn.authenticate(&name, password);
    if ok {
        auth.logged_in(name.into_owned());
        return true;
    }
    out.write_error(WRONGPASS);
    auth.config.authn.record(Refusal {
        reason: "auth",
        object: String::from_utf8_lossy(cmd.name()).into_owned(),
        username: name.into_owned(),
        client_info: format!("{info} user={}", auth.user),
    });
    false
}

/// `HELLO`: errors in its arguments and its credentials are answered here, in Redis's
/// order; a valid `HELLO` of an authenticated client goes on to the handler's
/// `on_hello`, which switches the protocol and replies.
fn check_hello(state: &mut ConnState, cmd: &Command<'_>) -> bool {
    let info = client_info(state.id, &state.peer, &state.name);
    let Some(auth) = state.auth.as_deref_mut() else {
        return false;
    };
    let out = &mut state.out;
    let args = match crate::hello::parse(cmd) {
        Ok(args) => args,
        Err(msg) => {
            out.write_error(msg);
            return true;
        }
    };
    if let Some((user, password)) = args.auth
        && !login(auth, out, cmd, user, password, &info)
    {
        return true;
    }
    if auth.required() {
        out.write_error(HELLO_NOAUTH);
        return true;
    }
    false
}

/// What a refusal says about the client (a subset of Redis's `CLIENT INFO` line).
fn client_info(id: u64, peer: &crate::io::PeerAddr, name: &Option<Vec<u8>>) -> String {
    let name = name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    format!("id={id} addr={peer} name={name}")
}

/// Redis's refusal of a client from another host in protected mode.
const DENIED: &str = "DENIED Redis is running in protected mode because protected mode is \
enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to \
Redis you may adopt one of the following solutions: 1) Just disable protected mode sending \
the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to \
Redis from the same host the server is running, however MAKE SURE Redis is not publicly \
accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) \
Alternatively you can just disable the protected mode by editing the Redis configuration \
file, and setting the protected mode option to 'no', and then restarting the server. 3) If \
you started the server manually just for testing, restart it with the '--protected-mode no' \
option. 4) Setup a an authentication password for the default user. NOTE: You only need to \
do one of the above things in order for the server to start accepting connections from the \
outside.";

/// Protected mode, when a connection starts: `true` (with Redis's `-DENIED` error
/// written) if the client must be closed — it is not on `127.0.0.1`, `::1` or a Unix
/// socket, and the `default` user has no password.
pub(crate) fn protected_refusal(state: &mut ConnState) -> bool {
    let crate::io::PeerAddr::Tcp(addr) = &state.peer else {
        return false;
    };
    let local = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => {
            ip == std::net::Ipv6Addr::LOCALHOST
                || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    };
    let nopass = state
        .auth
        .as_deref()
        .is_none_or(|a| a.config.authn.default_user_nopass());
    if local || !nopass {
        return false;
    }
    state.out.write_error(DENIED);
    true
}

/// A new connection's identity on a server with access control. The built-in ACL
/// learns the server's command table here, to validate the command names in rules.
pub(crate) fn start(
    config: Option<&AuthConfig>,
    table: Option<&Arc<crate::commands::CommandTable>>,
    socket: Option<&Arc<Socket>>,
) -> Option<Box<ConnAuth>> {
    let config = config?;
    if let (Some(acl), Some(table)) = (&config.acl, table) {
        acl.learn_commands(table);
    }
    let mut auth = ConnAuth::new(config.clone());
    auth.socket = socket.map(Arc::downgrade);
    Some(Box::new(auth))
}

/// Logs a new TLS connection in as the ACL user its client certificate's common name
/// names, if that user exists and is on (`Server::tls_user_from_cn`).
#[cfg(feature = "tls")]
pub(crate) fn login_by_certificate(state: &mut ConnState) {
    let Some(auth) = state.auth.as_deref_mut() else {
        return;
    };
    let Some(certs) = state.sink.peer_certificates() else {
        return;
    };
    if let Some(cn) = certs
        .first()
        .and_then(|c| crate::io::client_cert::common_name(c))
        && auth.login_as(&cn)
    {
        log::debug!("client {} logged in as {cn} by its certificate", state.id);
    }
}
