//! Stopping the clone gracefully: on SIGINT or SIGTERM (through `signal-hook`, so no
//! signal handler of our own) and on `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]`, the server
//! shuts down the library's way — the commands already read are answered, every
//! connection's `on_close` runs, a blocked `BLPOP` is woken, the Unix socket file is
//! removed — and the process exits with status 0.
//!
//! The clone keeps no data on disk, so `SAVE` has nothing to write and `NOSAVE`,
//! `NOW` and `FORCE` change nothing; each is accepted, and the combinations Redis
//! refuses are refused with its errors.

use crate::specs::spec;
use redcon::mux::Mux;
use redcon::{reply, ServerHandle};
use std::sync::mpsc::{channel, Receiver, Sender};

/// Why the clone stops.
pub(crate) enum Stop {
    Signal(&'static str),
    Shutdown,
}

/// The channel the signals and `SHUTDOWN` report on.
pub(crate) fn channel_pair() -> (Sender<Stop>, Receiver<Stop>) {
    channel()
}

/// Registers `SHUTDOWN`, which asks the main thread to stop the server.
pub(crate) fn register(mux: &mut Mux, stop: Sender<Stop>) {
    mux.command(spec("shutdown"), move |conn, cmd| {
        let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
        for arg in cmd.args().skip(1) {
            match arg.to_ascii_lowercase().as_slice() {
                b"save" => save = true,
                b"nosave" => nosave = true,
                b"now" | b"force" => other = true,
                b"abort" => abort = true,
                _ => return conn.write_error(reply::SYNTAX_ERROR),
            }
        }
        if (abort && (save || nosave || other)) || (save && nosave) {
            return conn.write_error(reply::SYNTAX_ERROR);
        }
        if abort {
            // A shutdown here is never left in progress: it completes at once.
            return conn.write_error("ERR No shutdown in progress.");
        }
        println!(
            "SHUTDOWN asked by client {} ({})",
            conn.id(),
            conn.peer_addr()
        );
        // No reply, as Redis: the connection closes when the server does.
        let _ = stop.send(Stop::Shutdown);
    });
}

/// Serves until a signal or `SHUTDOWN` arrives, then shuts the server down.
pub(crate) fn serve_until_stopped(handle: ServerHandle, stop: Sender<Stop>, stops: Receiver<Stop>) {
    crate::signals::on_stop_signal(move |name| {
        let _ = stop.send(Stop::Signal(name));
    });
    match stops.recv() {
        Ok(Stop::Signal(name)) => println!("{name} received: shutting down"),
        Ok(Stop::Shutdown) | Err(_) => println!("SHUTDOWN: shutting down"),
    }
    let joined = handle.shutdown();
    println!("stopped ({joined} connection threads joined)");
}
