//! Hash slots: which of Redis Cluster's 16,384 slots a key belongs to — CRC-16/XMODEM of
//! the key, or of its hash tag (`{...}`), masked to 14 bits — exactly as Redis's
//! `keyHashSlot`.

use crc::{Crc, Table, CRC_16_XMODEM};

/// The number of hash slots in a Redis Cluster.
///
/// ```
/// use redcon::cluster::{key_slot, SLOTS};
/// assert!(usize::from(key_slot(b"any key")) < SLOTS);
/// ```
pub const SLOTS: usize = 16384;

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection, no final XOR): the
/// variant Redis Cluster uses. Sixteen bytes a step (an 8 KiB table): a typical key in
/// one or two steps, where a byte at a time costs about 140 instructions for a 16-byte
/// key — on every keyed request in cluster mode.
static XMODEM: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_XMODEM);

/// The hash slot of `key`, as Redis Cluster computes it: if the key has a hash tag —
/// a `{`, then a `}` after it with at least one byte between them — only the bytes
/// between the first `{` and the first `}` after it are hashed, so keys sharing a tag
/// share a slot.
///
/// ```
/// use redcon::cluster::key_slot;
/// assert_eq!(key_slot(b"foo"), 12182);
/// assert_eq!(key_slot(b"123456789"), 12739);
/// assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
/// assert_eq!(key_slot(b"{user1000}.following"), 3443);
/// // An empty tag does not count: the whole key is hashed.
/// assert_eq!(key_slot(b"{}x"), key_slot(b"{}x"));
/// assert_ne!(key_slot(b"{}x"), key_slot(b""));
/// ```
pub fn key_slot(key: &[u8]) -> u16 {
    XMODEM.checksum(hash_tag(key)) & 0x3FFF
}

/// A slot argument of a `CLUSTER` subcommand, as Redis's `getSlotOrReply` reads it:
/// the slot, or the error reply.
pub(crate) fn slot_arg(arg: &[u8]) -> Result<u16, String> {
    match crate::resp::parse_int(arg) {
        Some(s) if (0..SLOTS as i64).contains(&s) => Ok(s as u16),
        _ => Err("ERR Invalid or out of range slot".into()),
    }
}

/// The part of `key` that is hashed: its hash tag if it has a non-empty one, else all
/// of it.
fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = memchr::memchr(b'{', key) else {
        return key;
    };
    match memchr::memchr(b'}', &key[open + 1..]) {
        Some(len) if len > 0 => &key[open + 1..open + 1 + len],
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An independent CRC-16/XMODEM, bit by bit, for the property test.
    fn crc16_bitwise(data: &[u8]) -> u16 {
        let mut crc: u16 = 0;
        for &b in data {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    /// An independent hash-tag rule, written from its description.
    fn tag_naive(key: &[u8]) -> &[u8] {
        if let Some(s) = key.iter().position(|&b| b == b'{')
            && let Some(e) = key[s + 1..].iter().position(|&b| b == b'}')
            && e > 0
        {
            return &key[s + 1..s + 1 + e];
        }
        key
    }

    #[test]
    fn vectors_from_redis() {
        // CLUSTER KEYSLOT answers of a real redis-server 7.0.15.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b"{user1000}.following"), 3443);
        assert_eq!(key_slot(b"user1000"), 3443);
        assert_eq!(XMODEM.checksum(b"123456789"), 0x31C3);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"{a}b"), b"a");
        assert_eq!(hash_tag(b"x{a}{b}"), b"a");
        assert_eq!(hash_tag(b"{}a"), b"{}a");
        assert_eq!(hash_tag(b"{a"), b"{a");
        assert_eq!(hash_tag(b"}{a}"), b"a");
        assert_eq!(hash_tag(b"{{a}}"), b"{a");
        assert_eq!(hash_tag(b""), b"");
    }

    proptest! {
        #[test]
        fn matches_an_independent_implementation(key in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(key_slot(&key), crc16_bitwise(tag_naive(&key)) & 0x3FFF);
        }

        #[test]
        fn braces_are_common(key in "[a-c{}]{0,12}") {
            let key = key.as_bytes();
            prop_assert_eq!(key_slot(key), crc16_bitwise(tag_naive(key)) & 0x3FFF);
        }
    }
}
