//! The name table behind the router and the command table: command names, compared
//! without regard to ASCII case, mapped to routes or descriptions.
//!
//! The lookup runs once per command, so it is built for that: a name of up to 15 bytes
//! (every Redis command name but a handful) is packed with its length into one `u128`,
//! lowercased eight bytes at a time, and hashed with one multiply. That replaces a
//! byte-by-byte lowercase into a buffer, a hash over a slice and a `memcmp` of the key,
//! about three quarters of the instructions the lookup took. Longer names go to a
//! second map keyed by their lowercase bytes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Names longer than this are unknown without a search (Redis's longest is 20 bytes).
const MAX_NAME: usize = 64;

/// Longest name that packs into a `u128` with its length.
const MAX_PACKED: usize = 15;

/// A map from command names (any ASCII case) to `V`.
pub(crate) struct NameTable<V> {
    packed: HashMap<u128, V, BuildHasherDefault<PackedHasher>>,
    long: HashMap<Box<[u8]>, V>,
}

impl<V: Clone> Clone for NameTable<V> {
    fn clone(&self) -> Self {
        Self {
            packed: self.packed.clone(),
            long: self.long.clone(),
        }
    }
}

impl<V> Default for NameTable<V> {
    fn default() -> Self {
        Self {
            packed: HashMap::default(),
            long: HashMap::new(),
        }
    }
}

impl<V> NameTable<V> {
    /// The value for `name`, in any case.
    #[inline]
    pub(crate) fn get(&self, name: &[u8]) -> Option<&V> {
        match pack(name) {
            Some(key) => self.packed.get(&key),
            None if name.len() <= MAX_NAME => {
                let mut buf = [0u8; MAX_NAME];
                let lower = &mut buf[..name.len()];
                lower.copy_from_slice(name);
                lower.make_ascii_lowercase();
                self.long.get(&*lower)
            }
            None => None,
        }
    }

    /// The value for `name`, inserting `make()` first if there is none.
    pub(crate) fn get_or_insert_with(&mut self, name: &str, make: impl FnOnce() -> V) -> &mut V {
        match pack(name.as_bytes()) {
            Some(key) => self.packed.entry(key).or_insert_with(make),
            None => self.long.entry(long_key(name)).or_insert_with(make),
        }
    }

    /// Sets the value for `name`, replacing any.
    pub(crate) fn insert(&mut self, name: &str, value: V) {
        match pack(name.as_bytes()) {
            Some(key) => self.packed.insert(key, value),
            None => self.long.insert(long_key(name), value),
        };
    }

    pub(crate) fn len(&self) -> usize {
        self.packed.len() + self.long.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.packed.is_empty() && self.long.is_empty()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.packed.values().chain(self.long.values())
    }
}

/// The key of a name too long to pack: its lowercase bytes.
fn long_key(name: &str) -> Box<[u8]> {
    name.to_ascii_lowercase().into_bytes().into_boxed_slice()
}

/// `name`, ASCII-lowercased, in the low 15 bytes and its length in the top byte; `None`
/// if it is longer than 15 bytes. The length keeps `get` and `get\0` apart.
#[inline]
fn pack(name: &[u8]) -> Option<u128> {
    if name.len() > MAX_PACKED {
        return None;
    }
    let (lo, hi) = load(name);
    // The length byte (at most 15) is not a letter, so lowercasing leaves it alone.
    let hi = hi | (name.len() as u64) << 56;
    Some(u128::from(lowercase_word(lo)) | (u128::from(lowercase_word(hi)) << 64))
}

/// The bytes of `name` (at most 15) as two little-endian words, zero-padded. Reads with
/// a few fixed-size, possibly overlapping loads instead of a `memcpy` call of variable
/// length, which alone cost a quarter of the lookup; bytes that two loads both cover
/// are the same bytes, so OR-ing the loads is exact.
#[inline]
fn load(name: &[u8]) -> (u64, u64) {
    let n = name.len();
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&name[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&name[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    match n {
        0 => (0, 0),
        1..=3 => {
            let b = |i: usize| u64::from(name[i]) << (8 * i);
            (b(0) | b(n / 2) | b(n - 1), 0)
        }
        4..=7 => (half(0) | half(n - 4) << (8 * (n - 4)), 0),
        8 => (word(0), 0),
        _ => (word(0), word(n - 8) >> (8 * (16 - n))),
    }
}

/// ASCII-lowercases the eight bytes of `w` at once: `A`..=`Z` gain 0x20, every other
/// byte (non-letters and bytes ≥ 0x80) is unchanged, exactly as `to_ascii_lowercase`.
#[inline]
fn lowercase_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each byte's low seven bits plus a constant sets that byte's high bit exactly
    // when the seven bits reach the threshold; the sum never carries into the next byte
    // (at most 0x7f + 0x3f).
    let low7 = w & !HIGH;
    let at_least_a = low7 + ONES * (0x80 - u64::from(b'A'));
    let above_z = low7 + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = at_least_a & !above_z & !w & HIGH;
    w | (upper >> 2)
}

/// Hashes a packed name with one folded multiply. The names in the table are the
/// program's own; clients only look names up, so they cannot flood it with collisions,
/// and a keyed hash would buy nothing for its cost.
#[derive(Default)]
pub(crate) struct PackedHasher(u64);

impl Hasher for PackedHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used; this keeps any other key type correct.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    #[inline]
    fn write_u128(&mut self, n: u128) {
        let lo = (n as u64) ^ 0x243f_6a88_85a3_08d3;
        let hi = ((n >> 64) as u64) ^ 0x1319_8a2e_0370_7344;
        let product = u128::from(lo) * u128::from(hi);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_word_matches_std_for_every_byte() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = [b'x'; 8];
                bytes[pos] = b;
                let mut want = bytes;
                want.make_ascii_lowercase();
                let got = lowercase_word(u64::from_le_bytes(bytes)).to_le_bytes();
                assert_eq!(got, want, "byte {b:#04x} at {pos}");
            }
        }
    }

    #[test]
    fn lowercase_word_neighbours_do_not_interfere() {
        // Every pair of adjacent bytes, so a carry or borrow between them would show.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let bytes = [a, b, b, a, a, b, 0, 255];
                let mut want = bytes;
                want.make_ascii_lowercase();
                assert_eq!(
                    lowercase_word(u64::from_le_bytes(bytes)).to_le_bytes(),
                    want
                );
            }
        }
    }

    #[test]
    fn load_reads_every_length_exactly() {
        let bytes: Vec<u8> = (1..=15).collect();
        for n in 0..=15 {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&bytes[..n]);
            let (lo, hi) = load(&bytes[..n]);
            assert_eq!(lo.to_le_bytes(), padded[..8], "length {n}");
            assert_eq!(hi.to_le_bytes(), padded[8..], "length {n}");
        }
    }

    #[test]
    fn any_case_finds_the_same_entry() {
        let mut t = NameTable::default();
        t.insert("get", 1);
        t.insert("ZRangeByScore", 2);
        t.insert("georadiusbymember_ro", 3);
        t.insert("x", 4);
        assert_eq!(t.get(b"GET"), Some(&1));
        assert_eq!(t.get(b"gEt"), Some(&1));
        assert_eq!(t.get(b"zrangebyscore"), Some(&2));
        assert_eq!(t.get(b"GEORADIUSBYMEMBER_RO"), Some(&3));
        assert_eq!(t.get(b"X"), Some(&4));
        assert_eq!(t.values().count(), 4);
    }

    #[test]
    fn length_is_part_of_the_key() {
        let mut t = NameTable::default();
        t.insert("get", 1);
        assert_eq!(t.get(b"get\0"), None);
        assert_eq!(t.get(b"ge"), None);
        assert_eq!(t.get(b""), None);
        assert_eq!(t.get(b"get\0\0\0\0\0\0\0\0\0\0\0\0"), None);
        t.insert("", 2);
        assert_eq!(t.get(b""), Some(&2));
        assert_eq!(t.get(b"get"), Some(&1));
    }

    #[test]
    fn names_at_the_packing_boundary() {
        let mut t = NameTable::default();
        let fifteen = "abcdefghijklmno";
        let sixteen = "abcdefghijklmnop";
        t.insert(fifteen, 15);
        t.insert(sixteen, 16);
        assert_eq!(t.get(fifteen.to_uppercase().as_bytes()), Some(&15));
        assert_eq!(t.get(sixteen.to_uppercase().as_bytes()), Some(&16));
        assert_eq!(t.get(b"abcdefghijklmn"), None);
        assert_eq!(t.get(b"abcdefghijklmnopq"), None);
        // Non-letters and bytes above 0x7f are compared as they are.
        t.insert("client|kill", 5);
        assert_eq!(t.get(b"CLIENT|KILL"), Some(&5));
        assert_eq!(t.get(b"CLIENT\\KILL"), None);
        assert_eq!(t.get("ÄB".as_bytes()), None);
    }

    #[test]
    fn names_longer_than_any_lookup_are_unknown() {
        let mut t = NameTable::default();
        let long = "a".repeat(MAX_NAME + 1);
        t.insert(&long, 1);
        assert_eq!(t.get(long.as_bytes()), None);
        assert_eq!(t.get(&long.as_bytes()[..MAX_NAME]), None);
    }

    #[test]
    fn insert_replaces() {
        let mut t = NameTable::default();
        t.insert("set", 1);
        t.insert("SET", 2);
        assert_eq!(t.get(b"set"), Some(&2));
        assert_eq!(t.values().count(), 1);
        assert!(!t.is_empty());
    }
}
