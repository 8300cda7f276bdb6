//! Connection threads that outlive their connection. When a client leaves, its thread
//! waits a bounded time (the keep-alive) for the next accepted client instead of
//! exiting, and the acceptor hands each new client to a waiting thread before it spawns
//! one: creating and tearing down a thread costs more CPU than a short connection's
//! whole conversation. Still one thread per client at any moment.
//!
//! Bounded: at most `max_idle_threads` threads wait at once (a thread that finds the
//! pool full exits), and a thread that waits the whole keep-alive exits, so the thread
//! count returns to what the connected clients need. The thread that waited least long
//! is handed the next client (last in, first out): its stack and caches are the
//! warmest, and the surplus threads, the ones that waited longest, are the ones that
//! time out.
//!
//! Waiting costs no CPU: each waiting thread blocks on a condition variable of its own
//! ([`Seat`]), and closing the pool (at shutdown) wakes every one of them, without
//! polling, as everything in shutdown.
//!
//! Nothing of one connection reaches the next: the connection's state, reader, TLS
//! session and buffers live in the frames of the connection's run and are dropped when
//! it returns, before the thread waits; the library keeps no thread-locals. A thread is
//! reused only with the scheduling settings it was spawned with, which it inherited
//! from the thread that started the server: one whose handler changed its own policy,
//! priority or nice value exits instead (it may not be allowed to change them back).
//!
//! Nor does a connection's stack depth: an idle connection's memory is mostly the stack
//! pages its thread touched, and a reused thread has touched whatever its earlier
//! connections needed (a deep handler, a pub/sub loop). Before it waits, a thread gives
//! back the pages more than [`STACK_KEPT`] below its waiting frame, as the C library
//! does for a thread that exits; the pages a plain or TLS connection needs stay, so
//! the next one does not fault them in again.

use super::registry::ClientSlot;
use crate::io::{PeerAddr, Socket};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Stack kept resident below a waiting thread's frame: a TLS connection (the deepest
/// path of the library's own) touches 20 KiB from the top of its thread's stack, a
/// plain one 8 KiB. The C library keeps 16 KiB below an exiting thread's frame too.
const STACK_KEPT: usize = 16 * 1024;

/// An accepted client on its way to a thread.
pub(crate) struct Client {
    pub(crate) socket: Arc<Socket>,
    /// From `accept`, which saves looking it up.
    pub(crate) peer: PeerAddr,
    pub(crate) slot: ClientSlot,
}

/// The threads waiting for a client.
pub(crate) struct Pool {
    max_idle: usize,
    keep: Duration,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    /// Set at shutdown: no thread waits any more.
    closed: bool,
    /// The most recently idle last.
    seats: Vec<Arc<Seat>>,
}

/// Where one waiting thread receives its next client. Each thread has its own, so a
/// hand-off wakes exactly the thread it chose.
#[derive(Default)]
struct Seat {
    next: Mutex<Next>,
    filled: Condvar,
}

#[derive(Default)]
enum Next {
    #[default]
    Empty,
    Client(Client),
    /// The pool closed: the thread exits.
    Closed,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; never let poisoning spread anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Seat {
    fn fill(&self, next: Next) {
        *lock(&self.next) = next;
        self.filled.notify_one();
    }
}

impl Pool {
    pub(crate) fn new(max_idle: usize, keep: Duration) -> Pool {
        Pool {
            max_idle,
            keep,
            waiting: Mutex::new(Waiting::default()),
        }
    }

    /// The number of threads waiting for a client.
    pub(crate) fn idle(&self) -> usize {
        lock(&self.waiting).seats.len()
    }

    /// Gives `client` to the thread that waited least long; gives it back if no thread
    /// is waiting (the caller spawns one).
    pub(crate) fn hand_off(&self, client: Client) -> Result<(), Client> {
        if self.max_idle == 0 {
            return Err(client);
        }
        let seat = lock(&self.waiting).seats.pop();
        match seat {
            Some(seat) => {
                seat.fill(Next::Client(client));
                Ok(())
            }
            None => Err(client),
        }
    }

    /// Wakes every waiting thread to exit, and turns away any that would wait later.
    pub(crate) fn close(&self) {
        let seats = {
            let mut w = lock(&self.waiting);
            w.closed = true;
            std::mem::take(&mut w.seats)
        };
        for seat in seats {
            seat.fill(Next::Closed);
        }
    }

    /// Runs on a connection thread: `serve` the `first` client, then each client handed
    /// to this thread while it waits, until the pool no longer wants it.
    pub(crate) fn serve(&self, first: Client, mut serve: impl FnMut(Client)) {
        if self.max_idle == 0 {
            serve(first);
            return;
        }
        let spawned = Scheduling::current();
        // Made once the first client is served, not before: a thread whose first client
        // stays connected (idle, maybe) never needs them.
        let mut waiting: Option<(Arc<Seat>, Stack)> = None;
        let mut client = first;
        loop {
            serve(client);
            if Scheduling::current() != spawned {
                log::debug!("a handler changed its thread's scheduling: the thread exits");
                return;
            }
            let (seat, stack) =
                waiting.get_or_insert_with(|| (Arc::default(), Stack::of_this_thread()));
            match self.wait(seat, stack) {
                Some(next) => client = next,
                None => return,
            }
        }
    }

    /// Waits up to the keep-alive for a client; `None` if the pool is full or closed, or
    /// none came.
    #[inline(never)]
    fn wait(&self, seat: &Arc<Seat>, stack: &Stack) -> Option<Client> {
        {
            let mut w = lock(&self.waiting);
            if w.closed || w.seats.len() >= self.max_idle {
                return None;
            }
            w.seats.push(seat.clone());
        }
        // After joining the pool, so that a thread that exits instead leaves the
        // trimming to the C library. A client handed over meanwhile waits the few
        // microseconds this takes.
        stack.trim();
        // An unrepresentable deadline means waiting for ever.
        let deadline = Instant::now().checked_add(self.keep);
        let mut next = lock(&seat.next);
        loop {
            match std::mem::take(&mut *next) {
                Next::Client(c) => return Some(c),
                Next::Closed => return None,
                Next::Empty => {}
            }
            next = match deadline {
                None => seat.filled.wait(next).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    (seat.filled)
                        .wait_timeout(next, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        drop(next);
        // Timed out: leave the pool, unless the acceptor (or shutdown) has just taken
        // this seat out of it, in which case its client (or the close) is on its way and
        // must not be lost.
        {
            let mut w = lock(&self.waiting);
            if let Some(i) = w.seats.iter().position(|s| Arc::ptr_eq(s, seat)) {
                w.seats.remove(i);
                return None;
            }
        }
        let mut next = lock(&seat.next);
        loop {
            match std::mem::take(&mut *next) {
                Next::Client(c) => return Some(c),
                Next::Closed => return None,
                Next::Empty => next = seat.filled.wait(next).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

/// A thread's scheduling policy, priority and nice value, compared before each reuse
/// (one system call) so that a thread serves every client with the settings it
/// inherited from the thread that started the server.
#[derive(PartialEq)]
struct Scheduling(Option<(u32, u32, i32)>);

impl Scheduling {
    #[cfg(target_os = "linux")]
    #[inline(never)]
    fn current() -> Scheduling {
        // `struct sched_attr` as the kernel first defined it (SCHED_ATTR_SIZE_VER0).
        #[repr(C)]
        #[derive(Default)]
        struct SchedAttr {
            size: u32,
            policy: u32,
            flags: u64,
            nice: i32,
            priority: u32,
            runtime: u64,
            deadline: u64,
            period: u64,
        }
        let mut attr = SchedAttr::default();
        let size = std::mem::size_of::<SchedAttr>() as libc::c_uint;
        // SAFETY: `attr` is a writable `sched_attr` of `size` bytes; pid 0 is the
        // calling thread; the kernel writes at most `size` bytes.
        let r = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                0,
                &mut attr as *mut SchedAttr,
                size,
                0,
            )
        };
        // Where the call is refused (a seccomp filter, say), every reading is the same
        // `None` and threads are reused as spawned.
        Scheduling((r == 0).then_some((attr.policy, attr.priority, attr.nice)))
    }

    #[cfg(not(target_os = "linux"))]
    fn current() -> Scheduling {
        Scheduling(None)
    }
}

/// The usable part of a connection thread's stack, to trim before it waits.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Stack {
    /// The lowest usable address (the stack grows down towards it); 0 if unknown.
    low: usize,
    page: usize,
}

impl Stack {
    #[cfg(target_os = "linux")]
    fn of_this_thread() -> Stack {
        let mut low = 0;
        // SAFETY: `attr` is initialised by pthread_getattr_np before it is read, and
        // destroyed only if that succeeded; the out-pointers are live locals.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) == 0 {
                let mut addr = std::ptr::null_mut();
                let mut size = 0;
                if libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0 {
                    low = addr as usize;
                }
                libc::pthread_attr_destroy(&mut attr);
            }
        }
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(0);
        if page == 0 || !page.is_power_of_two() {
            low = 0;
        }
        Stack { low, page }
    }

    #[cfg(not(target_os = "linux"))]
    fn of_this_thread() -> Stack {
        Stack { low: 0, page: 0 }
    }

    /// Gives the kernel back the pages from the bottom of the stack up to
    /// [`STACK_KEPT`] below this frame: nothing there is live (the stack grows down,
    /// and this is the deepest frame of the thread's when it waits), and the kernel
    /// maps a zeroed page again when one is touched.
    #[inline(never)]
    fn trim(&self) {
        #[cfg(target_os = "linux")]
        {
            let here = std::hint::black_box(0u8);
            let here = std::ptr::addr_of!(here) as usize;
            let end = here.saturating_sub(STACK_KEPT) & !(self.page.wrapping_sub(1));
            if self.low == 0 || end <= self.low {
                return;
            }
            // SAFETY: [low, end) is this thread's own stack, below every live frame (and
            // STACK_KEPT below this one, far more than madvise's own frame needs);
            // MADV_DONTNEED only drops the pages' contents, which no one reads again
            // before writing.
            unsafe {
                libc::madvise(
                    self.low as *mut libc::c_void,
                    end - self.low,
                    libc::MADV_DONTNEED,
                );
            }
        }
    }
}
