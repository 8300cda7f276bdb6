//! SCAN's cursor. The cursor is a position in the order of the keys' hashes: a reply
//! holds every key whose hash lies between the request's cursor and the returned one,
//! so a key that stays in the database for the whole iteration is returned exactly
//! once, whatever is inserted or deleted meanwhile and however the maps grow (the
//! order depends only on the key, never on a table's layout). A key added or removed
//! during the scan may or may not be returned, as in Redis.
//!
//! A key's shard is the top six bits of its hash, so hash order visits the shards one
//! after the other. Each call walks the shards it touches once; to keep a full scan
//! of a large shard to a bounded number of walks, a call takes at least a sixteenth of
//! the shard it stops in, even when COUNT asks for fewer (COUNT is a hint in Redis too).

use crate::store::{read_lock, shard_of, Store, SHARDS};

/// Keys from cursor `cursor` on: the visited keys that are live, and the next cursor
/// (0 when the iteration is complete). At least `count` entries are visited unless the
/// database ends first.
pub(crate) fn scan(store: &Store, db: usize, cursor: u64, count: usize) -> (u64, Vec<Vec<u8>>) {
    let mut keys = Vec::new();
    let mut need = count.max(1);
    for i in shard_of(cursor)..SHARDS {
        let shard = read_lock(store.shard_at(db, i));
        let mut found: Vec<(u64, &Vec<u8>, bool)> = shard
            .iter()
            .map(|(k, e)| (store.hash(k), k, e.live()))
            .filter(|&(h, _, _)| h >= cursor)
            .collect();
        let take = need.max(shard.len() / 16);
        if found.len() <= take {
            need -= found.len().min(need);
            keys.extend(found.into_iter().filter(|f| f.2).map(|f| f.1.clone()));
            if need == 0 && i + 1 < SHARDS {
                return (((i + 1) as u64) << 58, keys);
            }
            continue;
        }
        found.select_nth_unstable_by_key(take - 1, |f| f.0);
        let last = found[take - 1].0;
        // Keys of the same hash as the last one taken go too (the cursor moves past it).
        keys.extend(
            found
                .into_iter()
                .filter(|f| f.0 <= last && f.2)
                .map(|f| f.1.clone()),
        );
        return (last.wrapping_add(1), keys);
    }
    (0, keys)
}
