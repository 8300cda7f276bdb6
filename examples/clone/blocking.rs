//! The clients blocked in BLPOP / BRPOP: for each list key, the clients waiting on it in
//! the order they blocked. A push serves them before the list is seen by anyone else,
//! first blocked first served, as Redis does after the pushing command; each waiting
//! client sleeps in `Conn::wait`, so it also wakes when it disconnects, is killed, or
//! the server shuts down.
//!
//! Lock order: a key's shard, then the queues. A push holds its shard's lock while it
//! serves the queues, and a blocking client re-checks its lists (shard, then queues)
//! after registering, so no push can fall between its check and its wait: the
//! registration count is read by the pusher after the push, and written by the blocker
//! before its re-check.

use crate::store::List;
use redcon::Waker;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What a blocked client receives: the key and the element popped for it.
pub(crate) type Served = (Vec<u8>, Vec<u8>);

/// One blocked client.
pub(crate) struct Waiter {
    db: usize,
    /// Its keys, each once.
    keys: Vec<Vec<u8>>,
    /// BLPOP (pops the head) or BRPOP (the tail).
    pub(crate) left: bool,
    waker: Waker,
    got: Mutex<Option<Served>>,
}

impl Waiter {
    pub(crate) fn new(db: usize, keys: Vec<Vec<u8>>, left: bool, waker: Waker) -> Arc<Waiter> {
        let mut unique: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        Arc::new(Waiter {
            db,
            keys: unique,
            left,
            waker,
            got: Mutex::new(None),
        })
    }

    /// The element a push handed to this client, if one did.
    pub(crate) fn take(&self) -> Option<Served> {
        lock(&self.got).take()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Queues = HashMap<(usize, Vec<u8>), VecDeque<Arc<Waiter>>>;

/// Every blocked client, by key.
#[derive(Default)]
pub(crate) struct Blocked {
    /// How many clients are registered: a push takes the queues' lock only if some are.
    count: AtomicUsize,
    queues: Mutex<Queues>,
}

impl Blocked {
    /// Registers a client on each of its keys, after those already waiting.
    pub(crate) fn add(&self, w: &Arc<Waiter>) {
        let mut q = lock(&self.queues);
        for k in &w.keys {
            q.entry((w.db, k.clone())).or_default().push_back(w.clone());
        }
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// Unregisters a client that stops waiting (served, timed out, gone); nothing if a
    /// push already unregistered it.
    pub(crate) fn remove(&self, w: &Arc<Waiter>) {
        let mut q = lock(&self.queues);
        if unlink(&mut q, w) {
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Whether any client is blocked: the pusher's cheap check, read after the push.
    pub(crate) fn any(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }

    /// Hands elements of `list` (the list at `key`, whose shard the caller holds locked)
    /// to the clients blocked on it, in the order they blocked, while it has any.
    pub(crate) fn serve(&self, db: usize, key: &[u8], list: &mut List) {
        if !self.any() {
            return;
        }
        let mut q = lock(&self.queues);
        while !list.is_empty() {
            let Some(w) = q.get_mut(&(db, key.to_vec())).and_then(VecDeque::pop_front) else {
                break;
            };
            let value = if w.left {
                list.pop_front()
            } else {
                list.pop_back()
            };
            let Some(value) = value else { break };
            // Off its other keys too: it is served once.
            unlink(&mut q, &w);
            self.count.fetch_sub(1, Ordering::SeqCst);
            *lock(&w.got) = Some((key.to_vec(), value));
            w.waker.wake();
        }
    }
}

/// Removes `w` from every queue it is in; whether it was in any.
fn unlink(q: &mut Queues, w: &Arc<Waiter>) -> bool {
    let mut found = false;
    for k in &w.keys {
        let slot = (w.db, k.clone());
        if let Some(queue) = q.get_mut(&slot) {
            let before = queue.len();
            queue.retain(|x| !Arc::ptr_eq(x, w));
            found |= queue.len() != before;
            if queue.is_empty() {
                q.remove(&slot);
            }
        }
    }
    found
}
