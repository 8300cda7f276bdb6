//! One shard of a database: its map of keys to entries and, for database 0 of a cluster
//! node, which of its keys each hash slot holds, kept as keys come and go. Resharding
//! asks a node for the keys of one slot at a time (`CLUSTER GETKEYSINSLOT`, then
//! `COUNTKEYSINSLOT` before the slot changes hands) for every slot it moves; with the
//! index that costs the slot's keys instead of a pass over the whole keyspace. Every
//! change of the key set goes through the methods here, so the index cannot drift:
//! the map itself is only lent out read-only.

use crate::store::{Entry, FoldHash};
use redcon::cluster::key_slot;
use std::collections::{HashMap, HashSet};
use std::ops::Deref;

/// The map of one shard.
pub(crate) type Map = HashMap<Vec<u8>, Entry, FoldHash>;

/// Per slot, the keys a shard holds.
type SlotIndex = HashMap<u16, HashSet<Vec<u8>, FoldHash>, FoldHash>;

pub(crate) struct Shard {
    map: Map,
    slots: Option<SlotIndex>,
}

impl Deref for Shard {
    type Target = Map;

    fn deref(&self) -> &Map {
        &self.map
    }
}

impl Shard {
    /// An empty shard; `indexed`: keep the per-slot index.
    pub(crate) fn new(hasher: FoldHash, indexed: bool) -> Shard {
        Shard {
            slots: indexed.then(|| HashMap::with_hasher(hasher.clone())),
            map: HashMap::with_hasher(hasher),
        }
    }

    /// An empty shard like this one (FLUSHDB: a new table, so the old one's memory goes
    /// back too).
    pub(crate) fn emptied(&self) -> Shard {
        Shard::new(self.map.hasher().clone(), self.slots.is_some())
    }

    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key)
    }

    pub(crate) fn insert(&mut self, key: Vec<u8>, entry: Entry) -> Option<Entry> {
        if let Some(slots) = &mut self.slots {
            if !self.map.contains_key(&key) {
                let hasher = self.map.hasher().clone();
                slots
                    .entry(key_slot(&key))
                    .or_insert_with(|| HashSet::with_hasher(hasher))
                    .insert(key.clone());
            }
        }
        self.map.insert(key, entry)
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let removed = self.map.remove(key);
        if removed.is_some() {
            unindex(&mut self.slots, key);
        }
        removed
    }

    /// The entry of `key`, made by `make` if there is none.
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Entry,
    ) -> &mut Entry {
        if !self.map.contains_key(key) {
            self.insert(key.to_vec(), make());
        }
        self.map.get_mut(key).expect("present: inserted above")
    }

    /// Keeps the entries `keep` says to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&[u8], &Entry) -> bool) {
        let slots = &mut self.slots;
        self.map.retain(|k, e| {
            let kept = keep(k, e);
            if !kept {
                unindex(slots, k);
            }
            kept
        });
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.map.shrink_to_fit();
    }

    /// The keys of `slot` here, live or not; `None` if this shard keeps no index.
    pub(crate) fn slot_keys(&self, slot: u16) -> Option<impl Iterator<Item = &Vec<u8>>> {
        let slots = self.slots.as_ref()?;
        Some(slots.get(&slot).into_iter().flatten())
    }
}

fn unindex(slots: &mut Option<SlotIndex>, key: &[u8]) {
    if let Some(slots) = slots {
        let slot = key_slot(key);
        if let Some(set) = slots.get_mut(&slot) {
            set.remove(key);
            if set.is_empty() {
                slots.remove(&slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Entry;

    fn indexed_keys(s: &Shard, slot: u16) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = s.slot_keys(slot).unwrap().cloned().collect();
        keys.sort();
        keys
    }

    fn keys_by_scan(s: &Shard, slot: u16) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = s.keys().filter(|k| key_slot(k) == slot).cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_index_follows_every_change() {
        let hasher = || FoldHash { seed: 7 };
        let mut s = Shard::new(hasher(), true);
        // "{t}..." keys share a slot; the others spread.
        let keys: Vec<Vec<u8>> = (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    format!("{{t}}{i}")
                } else {
                    format!("k{i}")
                }
                .into_bytes()
            })
            .collect();
        for k in &keys {
            s.insert(k.clone(), Entry::string(b"v".to_vec(), None));
        }
        // Overwriting, removing, recreating, retaining.
        s.insert(keys[0].clone(), Entry::string(b"w".to_vec(), None));
        for k in keys.iter().step_by(3) {
            s.remove(k);
        }
        s.get_or_insert_with(&keys[3], || Entry::string(Vec::new(), None));
        s.retain(|k, _| !k.ends_with(b"7"));
        for k in &keys {
            let slot = key_slot(k);
            assert_eq!(indexed_keys(&s, slot), keys_by_scan(&s, slot));
        }
        let empty = s.emptied();
        assert!(empty.is_empty() && empty.slot_keys(key_slot(b"{t}")).unwrap().count() == 0);
        // Without an index, nothing is kept.
        assert!(Shard::new(hasher(), false).slot_keys(0).is_none());
    }
}
