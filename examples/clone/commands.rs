//! The clone's command table: each command registered with its description (from
//! `specs.rs`) and its implementation, by area (`strings`, `keyspace`, `expire`,
//! `server_cmds`, `lists`, `migrate`), plus the small helpers those share.

use crate::specs::spec;
use crate::store::Store;
use redcon::mux::Mux;
use redcon::resp::parse_int;
use redcon::{reply, Command, Conn};
use std::sync::Arc;

/// A command implemented over the store.
pub(crate) type StoreFn = fn(&Store, &mut Conn<'_>, Command<'_>);

/// Registers `name` (described by `spec(name)`) to run `f` on the shared store.
pub(crate) fn on(mux: &mut Mux, store: &Arc<Store>, name: &str, f: StoreFn) {
    let s = store.clone();
    mux.command(spec(name), move |conn, cmd| f(&s, conn, cmd));
}

/// An integer argument, or `None` after replying Redis's error for a non-integer.
pub(crate) fn int_arg(conn: &mut Conn, arg: &[u8]) -> Option<i64> {
    let n = parse_int(arg);
    if n.is_none() {
        conn.write_error(reply::NOT_AN_INTEGER);
    }
    n
}

/// A bulk reply, or a null for `None`.
pub(crate) fn write_opt(conn: &mut Conn, v: Option<Vec<u8>>) {
    match v {
        Some(v) => conn.write_bulk(v),
        None => conn.write_null(),
    }
}

pub fn build_mux(store: Arc<Store>) -> Mux {
    let mut mux = Mux::new();
    crate::server_cmds::register(&mut mux, &store);
    crate::strings::register(&mut mux, &store);
    crate::keyspace::register(&mut mux, &store);
    crate::expire::register(&mut mux, &store);
    crate::lists::register(&mut mux, &store);
    crate::migrate::register(&mut mux, &store);
    mux
}
