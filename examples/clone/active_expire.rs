//! Active expiry: a background thread that removes expired keys nobody reads again.
//! Reads and writes already drop an expired key they meet (lazy expiry); without this
//! thread a key written with a TTL and never touched again would stay in memory.
//!
//! Redis samples 20 volatile keys per database ten times a second and repeats while
//! many of them were expired. The clone's maps cannot be sampled at random, so it
//! sweeps instead: ten times a second it visits a tenth of every database's shards,
//! so each shard is visited once a second. A visit first looks for an expired entry
//! under the read lock (readers keep going), and only when one is found takes the
//! write lock to drop every expired entry of that shard and give back the table's
//! spare room. An expired key is thus gone within about a second of expiring, at a
//! cost of one read-locked walk over the keys per second.

use crate::store::{read_lock, write_lock, Store, DATABASES, SHARDS};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sweeps per second (Redis's default `hz`).
pub(crate) const HZ: u32 = 10;

/// Starts the sweeping thread; it runs for the life of the process.
pub(crate) fn start(store: Arc<Store>) {
    std::thread::Builder::new()
        .name("active-expire".into())
        .spawn(move || {
            let per_tick = SHARDS.div_ceil(HZ as usize);
            let mut next = 0;
            loop {
                std::thread::sleep(Duration::from_secs(1) / HZ);
                for db in 0..DATABASES {
                    for i in next..(next + per_tick).min(SHARDS) {
                        sweep(&store, db, i);
                    }
                }
                next = if next + per_tick >= SHARDS {
                    0
                } else {
                    next + per_tick
                };
            }
        })
        .expect("spawn the active expiry thread");
}

/// Removes the expired entries of one shard; returns how many.
pub(crate) fn sweep(store: &Store, db: usize, i: usize) -> usize {
    let slot = store.shard_at(db, i);
    let now = Instant::now();
    let expired = |t: &Option<Instant>| t.is_some_and(|t| t <= now);
    if !read_lock(slot).values().any(|e| expired(&e.expires)) {
        return 0;
    }
    let mut shard = write_lock(slot);
    let before = shard.len();
    shard.retain(|_, e| !expired(&e.expires));
    // The table keeps its peak size after a mass expiry otherwise.
    if shard.len() < shard.capacity() / 4 {
        shard.shrink_to_fit();
    }
    before - shard.len()
}
