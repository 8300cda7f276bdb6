//! The server's shared state: configuration, the live connections ([`Clients`], so
//! `shutdown` can wake each one by shutting its socket for reading, instead of
//! polling), the count that
//! enforces max clients, the connection threads to join, and the pool of threads
//! waiting for their next client.
//!
//! The lock here is taken on accept, on close and on shutdown only, never per command.

use super::pool::Pool;
use super::Config;
use crate::clients::{ClientCtl, Clients};
use crate::io::Socket;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

#[derive(Default)]
struct Registry {
    shutting_down: bool,
    threads: Vec<JoinHandle<()>>,
    running_threads: usize,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) pool: Pool,
    registry: Mutex<Registry>,
    /// The live connections, each with its socket (shutdown and kill shut them).
    pub(crate) live: Clients,
    threads_done: Condvar,
    next_id: AtomicU64,
    shutting_down: AtomicBool,
    /// When shutdown stops waiting for connections: set when it begins.
    deadline: OnceLock<Instant>,
}

fn lock(m: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    // Nothing panics while holding this lock; never let poisoning spread anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        let live = Clients::default();
        live.counters()
            .max_clients
            .store(config.max_clients, Ordering::Relaxed);
        Arc::new(Shared {
            pool: Pool::new(config.max_idle_threads, config.thread_keep_alive),
            config,
            registry: Mutex::new(Registry::default()),
            live,
            threads_done: Condvar::new(),
            next_id: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            deadline: OnceLock::new(),
        })
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// The number of connected clients, detached ones included.
    pub(crate) fn clients(&self) -> usize {
        self.live.counters().connected.load(Ordering::Relaxed)
    }

    /// Registers a new connection; `None` once shutdown has begun (the caller drops the
    /// socket). Registration and shutdown take the same lock, so no connection can slip
    /// in unseen by `begin_shutdown`.
    pub(crate) fn register(self: &Arc<Self>, socket: &Arc<Socket>) -> Option<ClientSlot> {
        let reg = lock(&self.registry);
        if reg.shutting_down {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let ctl = self.live.insert(id, socket.clone());
        let counters = self.live.counters();
        counters
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        let clients = counters.connected.fetch_add(1, Ordering::Relaxed) + 1;
        Some(ClientSlot {
            shared: self.clone(),
            id,
            ctl,
            // Decided here, in accept order, as Redis does: deciding later on the
            // connection's own thread (after a TLS handshake, say) would refuse whichever
            // clients happen to run first, and a burst could refuse them all.
            over_limit: clients > self.config.max_clients,
        })
    }

    /// Keeps a connection thread's handle for joining at shutdown; finished threads are
    /// reaped here so the list stays proportional to the live connections.
    pub(crate) fn add_thread(&self, handle: JoinHandle<()>) {
        let mut reg = lock(&self.registry);
        if reg.threads.len() >= 64 && reg.threads.len() >= 2 * reg.running_threads {
            reg.threads.retain(|t| !t.is_finished());
        }
        reg.threads.push(handle);
    }

    pub(crate) fn thread_started(&self) {
        lock(&self.registry).running_threads += 1;
    }

    pub(crate) fn thread_finished(&self) {
        let mut reg = lock(&self.registry);
        reg.running_threads -= 1;
        // A thread that ended keeps its stack until its handle is joined or dropped:
        // reap as connections end too, not only as new ones arrive, so memory goes back
        // down with the load. Never once shutdown began: it joins and counts them.
        if !reg.shutting_down && reg.threads.len() >= 2 * reg.running_threads + 8 {
            reg.threads.retain(|t| !t.is_finished());
        }
        if reg.running_threads == 0 {
            self.threads_done.notify_all();
        }
    }

    /// Stops new registrations and wakes every connection: shutting a socket for reading
    /// makes a blocked `read` return end-of-stream, while replies can still be written.
    /// Threads waiting for a client are woken to exit, and a connection thread whose
    /// client leaves from now on exits too.
    pub(crate) fn begin_shutdown(&self) {
        let _ = self
            .deadline
            .set(Instant::now() + self.config.shutdown_grace);
        {
            let mut reg = lock(&self.registry);
            reg.shutting_down = true;
            self.shutting_down.store(true, Ordering::Release);
            self.live.end_all(Shutdown::Read);
        }
        // Commands held by CLIENT PAUSE run (and the connections then end).
        self.live.unpause();
        self.pool.close();
    }

    /// The moment shutdown stops waiting for connections to finish (the grace period
    /// after it began); `None` before it began.
    pub(crate) fn shutdown_deadline(&self) -> Option<Instant> {
        self.deadline.get().copied()
    }

    /// Waits for the connection threads; at the shutdown deadline, shuts the remaining
    /// sockets both ways (a thread blocked writing to a client that never reads then
    /// fails at once), then joins every thread.
    pub(crate) fn finish_shutdown(&self) -> usize {
        let deadline = self
            .shutdown_deadline()
            .unwrap_or_else(|| Instant::now() + self.config.shutdown_grace);
        let mut reg = lock(&self.registry);
        while reg.running_threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                self.live.end_all(Shutdown::Both);
                break;
            }
            reg = self
                .threads_done
                .wait_timeout(reg, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let threads = std::mem::take(&mut reg.threads);
        drop(reg);
        let n = threads.len();
        for t in threads {
            let _ = t.join();
        }
        n
    }
}

/// One connected client, counted for max clients and known to shutdown. Dropping it
/// forgets the client. It moves into a [`DetachedConn`](crate::DetachedConn) on detach.
pub(crate) struct ClientSlot {
    shared: Arc<Shared>,
    pub(crate) id: u64,
    /// How the rest of the server reaches this connection (kill, shutdown, waits).
    pub(crate) ctl: Arc<ClientCtl>,
    /// Registering this client took the count past max clients: it is to be refused.
    pub(crate) over_limit: bool,
}

impl ClientSlot {
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.shared.live.remove(self.id);
        let counters = self.shared.live.counters();
        counters.connected.fetch_sub(1, Ordering::Relaxed);
    }
}
