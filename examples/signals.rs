//! SIGINT and SIGTERM as an ordinary event, for the examples' graceful stop: a thread
//! waits for the first of them through `signal-hook` (no signal handler of our own,
//! where only async-signal-safe calls could run) and reports it.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Calls `then` with the signal's name ("SIGINT" or "SIGTERM") on a thread of its own
/// when the first of them arrives. If the signals cannot be caught, says so and leaves
/// their default action (the process ends without a graceful stop).
pub fn on_stop_signal(then: impl FnOnce(&'static str) + Send + 'static) {
    match Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    then(if sig == SIGINT { "SIGINT" } else { "SIGTERM" });
                }
            });
        }
        Err(e) => eprintln!("cannot handle SIGINT/SIGTERM: {e}"),
    }
}

/// Blocks until SIGINT or SIGTERM, then shuts `server` down (the replies to the
/// commands already read are sent, every `on_close` runs) and returns.
#[allow(dead_code)] // the clone waits for SHUTDOWN as well, with `on_stop_signal`
pub fn serve_until_signal(server: redcon::ServerHandle) {
    let (tx, rx) = std::sync::mpsc::channel();
    on_stop_signal(move |name| {
        let _ = tx.send(name);
    });
    if let Ok(name) = rx.recv() {
        println!("{name} received: shutting down");
    }
    let joined = server.shutdown();
    println!("stopped ({joined} connection threads joined)");
}
