//! The clone's keyspace: 16 databases, each a map sharded under read-write locks, with
//! a fast seeded hash; entries (a string or a list) with an optional expiry time; and
//! the clients blocked on list keys (`BLPOP`), which a push serves.

use crate::blocking::Blocked;
use redcon::cluster::key_slot;
use redcon::Conn;
use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const DATABASES: usize = 16;
/// Keys are spread over shards so 500 clients on two cores rarely meet on one lock.
pub(crate) const SHARDS: usize = 64;
/// Values up to this size are copied into the reply while the shard is read-locked;
/// larger ones are cloned first, because a large reply may go straight to the socket
/// and a slow client must not hold a lock.
pub(crate) const COPY_UNDER_LOCK: usize = 16 * 1024;

/// Redis's reply to a command on a key holding another type.
pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A list's elements.
pub(crate) type List = VecDeque<Vec<u8>>;

/// A key's value: a string in `value`, or a list in `list` (then `value` is empty).
/// A list sits behind a box so that a string entry, by far the most common, stays as
/// small as before lists existed.
pub(crate) struct Entry {
    pub(crate) value: Vec<u8>,
    pub(crate) list: Option<Box<List>>,
    pub(crate) expires: Option<Instant>,
}

impl Entry {
    /// A string entry.
    pub(crate) fn string(value: Vec<u8>, expires: Option<Instant>) -> Entry {
        Entry {
            value,
            list: None,
            expires,
        }
    }

    /// Whether the entry holds a list (string commands answer [`WRONGTYPE`]).
    pub(crate) fn is_list(&self) -> bool {
        self.list.is_some()
    }

    /// Whether the entry has not expired. The clock is read only for entries that can
    /// expire: most have no expiry, and reading the clock is a noticeable share of a GET.
    pub(crate) fn live(&self) -> bool {
        self.expires.is_none_or(|t| t > Instant::now())
    }
}

/// The store's hash: a seeded multiply-and-fold over 8-byte words (the construction of
/// wyhash and foldhash), several times faster than SipHash on short keys. The seed is
/// random per process, which stops precomputed collisions; unlike SipHash it makes no
/// promise against an attacker who can probe the server adaptively, a fair trade for
/// an example and one a production store would weigh.
#[derive(Clone)]
pub(crate) struct FoldHash {
    pub(crate) seed: u64,
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

pub(crate) use crate::shard::Shard;

/// One database: a sharded map. Reads (GET, EXISTS, MGET) share a shard's lock.
pub(crate) struct Db {
    shards: Vec<RwLock<Shard>>,
}

/// All databases, shared by every connection.
pub(crate) struct Store {
    dbs: Vec<Db>,
    hasher: FoldHash,
    /// Clients blocked in BLPOP / BRPOP.
    pub(crate) blocked: Blocked,
}

// A panicking command never leaves a shard half-written; keep serving.
pub(crate) fn write_lock(m: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read_lock(m: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// The databases, empty. `cluster`: the store of a cluster node, which keeps an
    /// index of the keys of each hash slot in database 0 (the only one a cluster has).
    pub(crate) fn new(cluster: bool) -> Store {
        let hasher = FoldHash {
            seed: RandomState::new().hash_one(0u64),
        };
        Store {
            dbs: (0..DATABASES)
                .map(|db| Db {
                    shards: (0..SHARDS)
                        .map(|_| RwLock::new(Shard::new(hasher.clone(), cluster && db == 0)))
                        .collect(),
                })
                .collect(),
            hasher,
            blocked: Blocked::default(),
        }
    }

    /// The key's hash, as the maps compute it. Its top six bits are the key's shard,
    /// so ordering keys by hash orders them by shard first (SCAN relies on it).
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    // Inlined into every command across the clone's modules (each its own codegen
    // unit): called once per key.
    #[inline]
    pub(crate) fn slot(&self, db: usize, key: &[u8]) -> &RwLock<Shard> {
        // The map hashes with the same function; the top bits pick the shard so the
        // map's buckets (low bits) stay independent of it.
        &self.dbs[db].shards[shard_of(self.hash(key))]
    }

    /// Shard `i` of database `db`.
    pub(crate) fn shard_at(&self, db: usize, i: usize) -> &RwLock<Shard> {
        &self.dbs[db].shards[i]
    }

    /// The shards of two keys (possibly in two databases), locked for writing in a
    /// fixed order (database, then shard) so two commands locking the same pair in
    /// opposite roles cannot deadlock. One guard when both keys share a shard.
    pub(crate) fn pair(&self, a: (usize, &[u8]), b: (usize, &[u8])) -> Pair<'_> {
        let ia = (a.0, shard_of(self.hash(a.1)));
        let ib = (b.0, shard_of(self.hash(b.1)));
        let lock = |(d, i): (usize, usize)| write_lock(&self.dbs[d].shards[i]);
        if ia == ib {
            Pair::One(lock(ia))
        } else if ia < ib {
            let first = lock(ia);
            Pair::Two(first, lock(ib))
        } else {
            let second = lock(ib);
            Pair::Two(lock(ia), second)
        }
    }

    /// The shards holding `keys` in database `db`, each locked once for writing, in
    /// shard order (as [`Store::pair`], to rule out deadlocks): for commands that must
    /// see and change several keys at once (MSETNX).
    pub(crate) fn lock_keys(&self, db: usize, keys: &[&[u8]]) -> Locked<'_> {
        let mut idx: Vec<usize> = keys.iter().map(|k| shard_of(self.hash(k))).collect();
        idx.sort_unstable();
        idx.dedup();
        Locked {
            guards: idx
                .into_iter()
                .map(|i| (i, write_lock(&self.dbs[db].shards[i])))
                .collect(),
            store: self,
        }
    }

    /// Calls `f` on the live entry of `key` under the shard's read lock.
    pub(crate) fn read<R>(&self, db: usize, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
        read_lock(self.slot(db, key))
            .get(key)
            .filter(|e| e.live())
            .map(f)
    }

    /// How many entries database `db` holds, expired ones not yet removed included
    /// (what Redis's `INFO keyspace` counts), and how many of them have an expiry.
    pub(crate) fn stored(&self, db: usize) -> (usize, usize) {
        self.dbs[db].shards.iter().fold((0, 0), |(n, v), shard| {
            let shard = read_lock(shard);
            let volatile = shard.values().filter(|e| e.expires.is_some()).count();
            (n + shard.len(), v + volatile)
        })
    }

    /// The shard holding `key`, locked for writing.
    #[inline]
    pub(crate) fn shard(&self, db: usize, key: &[u8]) -> RwLockWriteGuard<'_, Shard> {
        write_lock(self.slot(db, key))
    }

    /// Writes the live value of `key` as a bulk reply, or a null; removes an expired one.
    /// A list is [`WRONGTYPE`] if `strict` (GET), else a null (MGET).
    pub(crate) fn write_value(&self, conn: &mut Conn, db: usize, key: &[u8], strict: bool) {
        let shard = read_lock(self.slot(db, key));
        let large = match shard.get(key) {
            Some(e) if e.live() && e.is_list() => {
                drop(shard);
                return match strict {
                    true => conn.write_error(WRONGTYPE),
                    false => conn.write_null(),
                };
            }
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
            let mut shard = write_lock(shard);
            *shard = shard.emptied();
        }
    }

    /// Calls `f` on each live key of hash slot `slot` in database `db` until it returns
    /// false: through the slot index where the shards keep one, else by a pass over
    /// every key.
    pub(crate) fn for_each_in_slot(&self, db: usize, slot: u16, mut f: impl FnMut(&[u8]) -> bool) {
        for shard in &self.dbs[db].shards {
            let shard = read_lock(shard);
            let go_on = match shard.slot_keys(slot) {
                Some(mut keys) => keys.all(|k| !shard.get(k).is_some_and(Entry::live) || f(k)),
                None => shard
                    .iter()
                    .all(|(k, e)| !e.live() || key_slot(k) != slot || f(k)),
            };
            if !go_on {
                return;
            }
        }
    }
}

/// The shard of a key with hash `h`: its top six bits.
pub(crate) fn shard_of(h: u64) -> usize {
    (h >> 58) as usize % SHARDS
}

/// The live entry of `key` in a write-locked shard; an expired one is removed first,
/// so a write never sees (or revives) a dead value.
pub(crate) fn live_mut<'a>(shard: &'a mut Shard, key: &[u8]) -> Option<&'a mut Entry> {
    if shard.get(key).is_some_and(|e| !e.live()) {
        shard.remove(key);
    }
    shard.get_mut(key)
}

/// Two keys' shards, locked by [`Store::pair`]: `first` holds the first key, `second`
/// the second (the same map when they share a shard).
pub(crate) enum Pair<'a> {
    One(RwLockWriteGuard<'a, Shard>),
    Two(RwLockWriteGuard<'a, Shard>, RwLockWriteGuard<'a, Shard>),
}

impl Pair<'_> {
    pub(crate) fn first(&mut self) -> &mut Shard {
        match self {
            Pair::One(s) | Pair::Two(s, _) => s,
        }
    }

    pub(crate) fn second(&mut self) -> &mut Shard {
        match self {
            Pair::One(s) | Pair::Two(_, s) => s,
        }
    }
}

/// Several shards of one database, locked by [`Store::lock_keys`].
pub(crate) struct Locked<'a> {
    guards: Vec<(usize, RwLockWriteGuard<'a, Shard>)>,
    store: &'a Store,
}

impl Locked<'_> {
    /// The locked shard holding `key` (one of the keys given to `lock_keys`).
    pub(crate) fn shard(&mut self, key: &[u8]) -> &mut Shard {
        let i = shard_of(self.store.hash(key));
        let at = self.guards.iter().position(|(j, _)| *j == i);
        &mut self.guards[at.expect("key was locked")].1
    }
}

/// Expiry times are kept as `Instant`s (monotonic, cheap to compare) and shown as Unix
/// milliseconds (EXPIRETIME, EXPIREAT). Both conversions go through one anchor taken
/// at the first use, so a time set as Unix milliseconds reads back exactly.
fn anchor() -> &'static (Instant, i64) {
    static ANCHOR: OnceLock<(Instant, i64)> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        (Instant::now(), unix)
    })
}

/// The current time in Unix milliseconds, on the same clock as the expiry times.
pub(crate) fn now_ms() -> i64 {
    to_unix_ms(Instant::now())
}

pub(crate) fn to_unix_ms(t: Instant) -> i64 {
    let (at, ms) = *anchor();
    match t.checked_duration_since(at) {
        Some(d) => ms.saturating_add(d.as_millis() as i64),
        None => ms.saturating_sub(at.duration_since(t).as_millis() as i64),
    }
}

/// The instant of Unix time `ms`; times before the process started map to its start,
/// which is just as much in the past for an expiry.
pub(crate) fn from_unix_ms(ms: i64) -> Instant {
    let (at, anchor_ms) = *anchor();
    let d = ms.saturating_sub(anchor_ms);
    if d >= 0 {
        at.checked_add(Duration::from_millis(d as u64))
            .unwrap_or_else(|| at + Duration::from_secs(100 * 365 * 86_400))
    } else {
        at
    }
}

/// The connection's selected database (set by SELECT).
pub(crate) struct Selected(pub(crate) usize);

pub(crate) fn db(conn: &Conn) -> usize {
    conn.context::<Selected>().map_or(0, |s| s.0)
}
