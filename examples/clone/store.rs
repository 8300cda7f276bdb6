//! The clone's keyspace: 16 databases, each a map sharded under read-write locks, with
//! a fast seeded hash; entries with an optional expiry time.

use redcon::Conn;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

pub(crate) const DATABASES: usize = 16;
/// Keys are spread over shards so 500 clients on two cores rarely meet on one lock.
pub(crate) const SHARDS: usize = 64;
/// Values up to this size are copied into the reply while the shard is read-locked;
/// larger ones are cloned first, because a large reply may go straight to the socket
/// and a slow client must not hold a lock.
pub(crate) const COPY_UNDER_LOCK: usize = 16 * 1024;

pub(crate) struct Entry {
    pub(crate) value: Vec<u8>,
    pub(crate) expires: Option<Instant>,
}

impl Entry {
    /// Whether the entry has not expired. The clock is read only for entries that can
    /// expire: most have no expiry, and reading the clock is a noticeable share of a GET.
    pub(crate) fn live(&self) -> bool {
        self.expires.map_or(true, |t| t > Instant::now())
    }
}

/// The store's hash: a seeded multiply-and-fold over 8-byte words (the construction of
/// wyhash and foldhash), several times faster than SipHash on short keys. The seed is
/// random per process, which stops precomputed collisions; unlike SipHash it makes no
/// promise against an attacker who can probe the server adaptively, a fair trade for
/// an example and one a production store would weigh.
#[derive(Clone)]
pub(crate) struct FoldHash {
    seed: u64,
}

pub(crate) struct FoldHasher {
    state: u64,
}

/// The 128-bit product of `a` and `b`, folded to 64 bits.
pub(crate) fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

pub(crate) const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl BuildHasher for FoldHash {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher { state: self.seed }
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.state = fold_mul(self.state ^ u64::from_le_bytes(b), MIX);
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut b = [0u8; 8];
            b[..tail.len()].copy_from_slice(tail);
            // The tail's length goes in too, so "a" and "a\0" differ.
            let word = u64::from_le_bytes(b) ^ ((tail.len() as u64) << 59);
            self.state = fold_mul(self.state ^ word, MIX);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.state = fold_mul(self.state ^ n as u64, MIX);
    }

    fn finish(&self) -> u64 {
        fold_mul(self.state, MIX.rotate_left(32))
    }
}

pub(crate) type Shard = HashMap<Vec<u8>, Entry, FoldHash>;

/// One database: a sharded map. Reads (GET, EXISTS, MGET) share a shard's lock.
pub(crate) struct Db {
    shards: Vec<RwLock<Shard>>,
}

/// All databases, shared by every connection.
pub(crate) struct Store {
    dbs: Vec<Db>,
    hasher: FoldHash,
}

// A panicking command never leaves a shard half-written; keep serving.
pub(crate) fn write_lock(m: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read_lock(m: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    pub(crate) fn new() -> Store {
        let hasher = FoldHash {
            seed: RandomState::new().hash_one(0u64),
        };
        Store {
            dbs: (0..DATABASES)
                .map(|_| Db {
                    shards: (0..SHARDS)
                        .map(|_| RwLock::new(HashMap::with_hasher(hasher.clone())))
                        .collect(),
                })
                .collect(),
            hasher,
        }
    }

    // Inlined into every command across the clone's modules (each its own codegen
    // unit): called once per key.
    #[inline]
    pub(crate) fn slot(&self, db: usize, key: &[u8]) -> &RwLock<Shard> {
        // The map hashes with the same function; the top bits pick the shard so the
        // map's buckets (low bits) stay independent of it.
        let i = (self.hasher.hash_one(key) >> 58) as usize % SHARDS;
        &self.dbs[db].shards[i]
    }

    /// The shard holding `key`, locked for writing.
    #[inline]
    pub(crate) fn shard(&self, db: usize, key: &[u8]) -> RwLockWriteGuard<'_, Shard> {
        write_lock(self.slot(db, key))
    }

    /// Writes the live value of `key` as a bulk reply, or a null; removes an expired one.
    pub(crate) fn write_value(&self, conn: &mut Conn, db: usize, key: &[u8]) {
        let shard = read_lock(self.slot(db, key));
        let large = match shard.get(key) {
            Some(e) if e.live() && e.value.len() <= COPY_UNDER_LOCK => {
                return conn.write_bulk(&e.value);
            }
            Some(e) if e.live() => Some(e.value.clone()),
            Some(_) => None,
            None => return conn.write_null(),
        };
        drop(shard);
        match large {
            Some(v) => conn.write_bulk(v),
            None => {
                let mut shard = self.shard(db, key);
                if shard.get(key).is_some_and(|e| !e.live()) {
                    shard.remove(key);
                }
                drop(shard);
                conn.write_null()
            }
        }
    }

    pub(crate) fn del(&self, db: usize, key: &[u8]) -> bool {
        let mut shard = self.shard(db, key);
        matches!(shard.remove(key), Some(e) if e.live())
    }

    pub(crate) fn exists(&self, db: usize, key: &[u8]) -> bool {
        matches!(read_lock(self.slot(db, key)).get(key), Some(e) if e.live())
    }

    pub(crate) fn for_each_live(&self, db: usize, mut f: impl FnMut(&[u8])) {
        for shard in &self.dbs[db].shards {
            for (k, e) in read_lock(shard).iter() {
                if e.live() {
                    f(k);
                }
            }
        }
    }

    pub(crate) fn flush(&self, db: usize) {
        for shard in &self.dbs[db].shards {
            // A new map, not `clear()`: the old table's memory goes back too.
            *write_lock(shard) = HashMap::with_hasher(self.hasher.clone());
        }
    }
}

/// The connection's selected database (set by SELECT).
pub(crate) struct Selected(pub(crate) usize);

pub(crate) fn db(conn: &Conn) -> usize {
    conn.context::<Selected>().map_or(0, |s| s.0)
}
