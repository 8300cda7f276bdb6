//! # redcon
//!
//! Fast, custom Redis-protocol servers without async. Implement one trait (or write one
//! closure) and any Redis client — redis-cli, redis-py, ioredis, node-redis, redis-rs,
//! Jedis, redigo — can talk to your program.
//!
//! - **One OS thread per client**, blocking `std::net` I/O: no runtime, no `async`, plain
//!   stack traces. Idle clients cost no CPU (a blocked `read`), and a few KiB of memory.
//!   A thread whose client left waits a while for the next one
//!   ([`Server::max_idle_threads`], [`Server::thread_keep_alive`]), so short-lived
//!   connections do not pay a thread's creation each.
//! - **Zero-copy parsing**: a command's arguments borrow the read buffer; pipelines are
//!   read with one `read` and answered with one `write`.
//! - **Redis 7 on the wire**: multibulk and inline (telnet) requests split exactly as
//!   Redis splits them, Redis's limits and error texts, RESP2 and RESP3 (`HELLO 3`), so
//!   clients that open with `HELLO 3` work without any code of yours.
//! - TCP, Unix sockets and TLS (rustls), detached connections for pub/sub, a command
//!   router with Redis-style arity checks, and Redis's glob matching.
//!
//! ## The smallest server
//!
//! A closure `Fn(&mut Conn, Command)` serves as a [`Handler`]; [`handler_fn`] lets its
//! parameter types be inferred:
//!
//! ```no_run
//! use redcon::handler_fn;
//!
//! fn main() -> Result<(), redcon::Error> {
//!     redcon::listen_and_serve("127.0.0.1:6380", handler_fn(|conn, cmd| {
//!         if cmd.is("ping") {
//!             conn.write_string("PONG");
//!         } else {
//!             conn.write_error(redcon::reply::unknown_command(&cmd));
//!         }
//!     }))
//! }
//! ```
//!
//! `redis-cli -p 6380 ping` now answers `PONG`.
//!
//! ## A handler with state
//!
//! One handler value serves every connection (each on its own thread), so shared state
//! lives behind a lock; per-connection state lives in the [`Conn`] itself
//! ([`Conn::set_context`]). The [`Handler`] trait adds hooks for accept and close:
//!
//! ```
//! use redcon::{CloseReason, Command, Conn, Handler, Server};
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! #[derive(Default)]
//! struct Kv {
//!     map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
//! }
//!
//! impl Handler for Kv {
//!     fn on_command(&self, conn: &mut Conn, cmd: Command) {
//!         let mut map = self.map.lock().unwrap();
//!         match (cmd.name().to_ascii_lowercase().as_slice(), cmd.len()) {
//!             (b"set", 3) => {
//!                 map.insert(cmd[1].to_vec(), cmd[2].to_vec());
//!                 conn.write_string("OK");
//!             }
//!             (b"get", 2) => match map.get(&cmd[1]) {
//!                 Some(v) => conn.write_bulk(v),
//!                 None => conn.write_null(), // `$-1`, or `_` after HELLO 3
//!             },
//!             _ => conn.write_error(redcon::reply::unknown_command(&cmd)),
//!         }
//!     }
//!
//!     fn on_close(&self, conn: &mut Conn, reason: &CloseReason) {
//!         log::debug!("client {} left: {reason}", conn.id());
//!     }
//! }
//!
//! let server = Server::new(Kv::default()).addr("127.0.0.1:0").start()?;
//!
//! // Any Redis client works; here, raw RESP over a socket.
//! use std::io::{Read, Write};
//! let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;
//! c.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n")?;
//! let mut buf = [0u8; 12];
//! c.read_exact(&mut buf)?;
//! assert_eq!(&buf, b"+OK\r\n$1\r\nv\r\n");
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Routing commands
//!
//! [`mux::Mux`] routes by command name (any case, no allocation) with Redis's arity
//! rules and errors, and is itself a handler:
//!
//! ```no_run
//! use redcon::mux::{Arity, Mux};
//! let mut mux = Mux::new();
//! mux.handle("ping", Arity::Exactly(1), |conn, _| conn.write_string("PONG"));
//! mux.handle("echo", Arity::Exactly(2), |conn, cmd| conn.write_bulk(&cmd[1]));
//! redcon::listen_and_serve("127.0.0.1:6380", mux)?;
//! # Ok::<(), redcon::Error>(())
//! ```
//!
//! ## Replies and protocols
//!
//! [`Conn`] dereferences to a [`resp::Writer`]: `write_string`, `write_error`,
//! `write_int`, `write_bulk`, `write_array`, `write_null`, the RESP3 types (`write_map`,
//! `write_set`, `write_double`, `write_bool`, `write_push`, ...) and `write_any` for
//! ordinary Rust values (`Option`, `Vec`, `HashMap`, numbers, strings, `Result`). Each
//! writes the connection's protocol: after `HELLO 3` a map is `%2`, before it a flat
//! `*4`. The server answers `HELLO` itself ([`hello::reply`]) unless you override
//! [`Handler::on_hello`].
//!
//! ## Servers: TCP, Unix, TLS, options, shutdown
//!
//! [`Server`] is a builder: [`Server::addr`], [`Server::unix`], or a listener you bound;
//! [`Server::tls`] with a rustls config ([`load_tls_config`] reads PEM files); limits
//! and timeouts (idle, write, max clients, query buffer, bulk length, ...).
//! [`Server::serve`] blocks; [`Server::start`] returns a [`ServerHandle`] with the bound
//! address, a ready signal and [`ServerHandle::shutdown`], which wakes every
//! connection without polling, lets replies to commands already read go out, calls
//! `on_close`, and joins the threads.
//!
//! ## Detaching: pub/sub and long-lived protocols
//!
//! [`Conn::detach`] hands the socket (and any bytes already read) to a
//! [`DetachedConn`] that you drive yourself, on this thread or another; its
//! [`DetachedConn::writer`] lets a second thread write while the first blocks reading.
//! [`pubsub`] builds Redis's pub/sub on it: wrap your handler with
//! [`pubsub::PubSub::handler`] and `SUBSCRIBE`, `PSUBSCRIBE`, `PUBLISH` and friends
//! answer as Redis 7 does, with a bounded queue per subscriber so a slow one never
//! holds up the rest.
//!
//! ## Moving keys: DUMP, RESTORE, MIGRATE
//!
//! [`dump`] reads and writes Redis 7.0's `DUMP` payloads for strings and lists (LZF
//! included on reading), and [`dump::Migrator`] is the client side of `MIGRATE`: a
//! server built on redcon can take keys from redis-server and hand keys to it, as
//! `redis-cli --cluster reshard` drives them.
//!
//! ## The protocol layer alone
//!
//! [`resp`] needs no server: [`resp::Parser`] and [`resp::Reader`] parse requests,
//! [`resp::Writer`] encodes replies, and [`resp::parse_value`] reads any reply — for
//! proxies, tests and tools.
//!
//! ## Features
//!
//! - `tls` (default): TLS through rustls with the `ring` provider. Without it no TLS
//!   code is compiled.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod client_info;
mod clients;
pub mod cluster;
pub mod commands;
mod conn;
mod detached;
pub mod dump;
mod error;
pub mod glob;
mod handler;
pub mod hello;
pub mod info;
mod io;
mod monitor;
pub mod mux;
mod names;
mod pause;
pub mod pubsub;
pub mod reply;
pub mod resp;
mod server;
mod stats;
mod wait;

pub use client_info::{ClientInfo, ClientType};
pub use clients::Clients;
pub use conn::Conn;
pub use detached::{ConnWriter, DetachedConn};
pub use error::{Error, ProtocolError};
pub use glob::{glob_match, glob_match_nocase};
pub use handler::{handler_fn, CloseReason, Handler, HandlerFn, IntoHandler, IsClosure, IsHandler};
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[cfg(feature = "tls")]
pub use io::client_cert::{load_tls_config_with_client_auth, TlsClientAuth};
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[cfg(feature = "tls")]
pub use io::tls::load_tls_config;
pub use io::{ListenAddr, PeerAddr, PeerCredentials};
pub use pause::PauseMode;
pub use resp::{Command, Protocol};
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[cfg(feature = "tls")]
pub use rustls;
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[cfg(feature = "tls")]
pub use server::listen_and_serve_tls;
pub use server::{
    listen_and_serve, listen_and_serve_unix, AcceptErrorFn, Server, ServerHandle, Stream,
};
pub use stats::Stats;
pub use wait::{Cancel, Wait, Waker};

/// The README's examples, compiled and checked as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
