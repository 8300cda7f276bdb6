//! The command table: every command a server answers, described once — arity,
//! [`Flags`], [`AclCategories`], where its keys are ([`KeySpec`]), tips and
//! documentation — the way Redis describes its own commands in `src/commands/*.json`.
//!
//! Everything else is derived from these descriptions rather than repeated:
//! `COMMAND`, `COMMAND INFO`, `COMMAND DOCS`, `COMMAND GETKEYS` and friends
//! ([`serve_command`]), the router's arity checks, a request's keys
//! ([`CommandTable::keys`], [`CommandSpec::keys_of`]), and the steps that cluster routing and access control
//! take before a handler runs.
//!
//! A [`Mux`](crate::mux::Mux) keeps a table of what is registered in it and answers
//! `COMMAND` from it; the plain one-line registration still works, and a description
//! is a builder:
//!
//! ```
//! use redcon::commands::{AclCategories, CommandSpec, Flags, KeyFlags, KeySpec};
//! use redcon::mux::{Arity, Mux};
//!
//! let mut mux = Mux::new();
//! // One line, as before: no flags, no keys, @slow.
//! mux.handle("ping", Arity::AtLeast(1), |conn, _| conn.write_string("PONG"));
//! // Described as Redis 7 describes GET: cluster clients can route it, and
//! // `COMMAND INFO get` answers exactly what redis-server answers.
//! mux.command(
//!     CommandSpec::new("get", 2)
//!         .flags(Flags::READONLY | Flags::FAST)
//!         .acl(AclCategories::STRING)
//!         .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RO | KeyFlags::ACCESS)),
//!     |conn, _cmd| conn.write_null(),
//! );
//! let table = mux.command_table();
//! assert_eq!(table.get("get").unwrap().first_last_step(), (1, 1, 1));
//! ```

mod flags;
mod keys;
mod reply;
mod spec;
mod table;

pub use flags::{AclCategories, Flags, KeyFlags};
pub use keys::{BeginSearch, FindKeys, KeyRef, KeySpec, Keys, KeysError, KeysFn};
pub use reply::{command_specs, serve_command};
pub use spec::{Arity, CommandSpec};
pub use table::CommandTable;

pub(crate) use table::{insert_node, resolve, sorted, Node, Resolved};
