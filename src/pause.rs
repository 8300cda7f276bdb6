//! Pausing clients, as Redis's `CLIENT PAUSE`: [`Clients::pause`](crate::Clients::pause)
//! holds every command (or, in [`PauseMode::Write`], the commands the command table
//! flags `write`) before its handler runs, until the pause ends or
//! [`Clients::unpause`](crate::Clients::unpause). The check runs in the connection
//! loop, so no handler composition skips it, and costs one relaxed load per command
//! when nothing is paused. Shutdown ends a pause, so it never holds the server up.

use crate::commands::{CommandTable, Flags};
use crate::resp::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What [`Clients::pause`](crate::Clients::pause) holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PauseMode {
    /// Commands the command table flags `write` (all others run). A server whose
    /// handler has no command table cannot tell, and pauses nothing in this mode.
    Write,
    /// Every command.
    All,
}

/// The pause state of a server.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    active: AtomicBool,
    until: Mutex<Option<(Instant, PauseMode)>>,
    changed: Condvar,
}

impl Pause {
    fn lock(&self) -> MutexGuard<'_, Option<(Instant, PauseMode)>> {
        self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a pause may be in force: the only cost on the command path otherwise.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Starts or extends a pause: as in Redis, the later end and the stricter mode win.
    pub(crate) fn pause(&self, timeout: Duration, mode: PauseMode) {
        let end = Instant::now() + timeout;
        let mut p = self.lock();
        *p = Some(match *p {
            Some((t, m)) => (t.max(end), if m == PauseMode::All { m } else { mode }),
            None => (end, mode),
        });
        self.active.store(true, Ordering::Relaxed);
    }

    /// Ends the pause and releases every held command.
    pub(crate) fn unpause(&self) {
        *self.lock() = None;
        self.active.store(false, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// Wakes every held command to look again (a held connection was killed).
    pub(crate) fn wake_all(&self) {
        let _p = self.lock();
        self.changed.notify_all();
    }

    /// Holds `cmd` while a pause that concerns it lasts. Returns `false`, at once, if
    /// `ended()` says the connection was ended meanwhile (killed): the command must
    /// not run.
    pub(crate) fn hold(
        &self,
        table: Option<&CommandTable>,
        cmd: &Command<'_>,
        ended: &dyn Fn() -> bool,
    ) -> bool {
        let concerned = |mode: PauseMode| match mode {
            PauseMode::All => true,
            PauseMode::Write => table
                .and_then(|t| t.lookup(cmd))
                .is_some_and(|s| s.command_flags().contains(Flags::WRITE)),
        };
        let mut p = self.lock();
        while let Some((end, mode)) = *p {
            if ended() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                // Over: the first to notice clears it.
                *p = None;
                self.active.store(false, Ordering::Relaxed);
                self.changed.notify_all();
                break;
            }
            if !concerned(mode) {
                break;
            }
            p = self
                .changed
                .wait_timeout(p, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        !ended()
    }
}
