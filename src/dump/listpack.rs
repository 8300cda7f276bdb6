//! The listpack format (Redis 7's compact list node): a 4-byte total size, a 2-byte
//! element count, the entries (each an encoding, its data and a back length) and an end
//! byte. Read with every length checked, as Redis's deep integrity check reads a
//! restored one; written as Redis writes it, integers as integers.

use crate::resp::parse_int;

/// Header: total bytes (u32) and element count (u16), both little-endian.
const HEADER_LEN: usize = 6;
const END: u8 = 0xff;
/// The count a listpack with 65,535 elements or more holds (then it must be counted).
const COUNT_UNKNOWN: u16 = u16::MAX;

const ENC_INT16: u8 = 0xf1;
const ENC_INT24: u8 = 0xf2;
const ENC_INT32: u8 = 0xf3;
const ENC_INT64: u8 = 0xf4;
const ENC_STR32: u8 = 0xf0;

/// The bytes of a listpack holding `items`, in order.
pub(crate) fn encode<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let mut lp = vec![0u8; HEADER_LEN];
    for item in items {
        push_entry(&mut lp, item.as_ref());
    }
    lp.push(END);
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
    let count = u16::try_from(items.len()).unwrap_or(COUNT_UNKNOWN);
    lp[4..6].copy_from_slice(&count.to_le_bytes());
    lp
}

/// How many bytes `item` takes as an entry, back length included.
pub(crate) fn entry_len(item: &[u8]) -> usize {
    let mut scratch = Vec::new();
    push_entry(&mut scratch, item);
    scratch.len()
}

/// Appends one entry: an integer in the smallest form that holds it (for a string
/// `lpStringToInt64` reads as one), else a string with a 6, 12 or 32-bit length.
fn push_entry(out: &mut Vec<u8>, item: &[u8]) {
    let start = out.len();
    match parse_int(item) {
        Some(v) if (0..=127).contains(&v) => out.push(v as u8),
        Some(v) if (-4096..=4095).contains(&v) => {
            let u = (v as u16) & 0x1fff;
            out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
        }
        Some(v) if i16::try_from(v).is_ok() => {
            out.push(ENC_INT16);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
            out.push(ENC_INT24);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        Some(v) if i32::try_from(v).is_ok() => {
            out.push(ENC_INT32);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        Some(v) => {
            out.push(ENC_INT64);
            out.extend_from_slice(&v.to_le_bytes());
        }
        None if item.len() < 64 => {
            out.push(0x80 | item.len() as u8);
            out.extend_from_slice(item);
        }
        None if item.len() < 4096 => {
            out.extend_from_slice(&[0xe0 | (item.len() >> 8) as u8, item.len() as u8]);
            out.extend_from_slice(item);
        }
        None => {
            out.push(ENC_STR32);
            out.extend_from_slice(&(item.len() as u32).to_le_bytes());
            out.extend_from_slice(item);
        }
    }
    let len = out.len() - start;
    out.extend_from_slice(&backlen(len));
}

/// The back length of an entry of `len` bytes: 7 bits per byte, the most significant
/// first, every byte but the first with its top bit set (it is read backwards).
fn backlen(len: usize) -> Vec<u8> {
    let mut groups = vec![(len & 127) as u8];
    let mut rest = len >> 7;
    while rest > 0 {
        groups.push((rest & 127) as u8);
        rest >>= 7;
    }
    groups.reverse();
    let last = groups.len() - 1;
    for g in &mut groups[1..=last] {
        *g |= 128;
    }
    groups
}

/// The elements of a listpack (integers as their decimal strings), or `None` if it is
/// malformed in any way Redis's integrity check would find: a size that is not the
/// buffer's, an entry past the end, a wrong back length, a count that does not match.
pub(crate) fn decode(lp: &[u8]) -> Option<Vec<Vec<u8>>> {
    let header = lp.get(..HEADER_LEN)?;
    let total = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if usize::try_from(total).ok()? != lp.len() {
        return None;
    }
    let count = u16::from_le_bytes([header[4], header[5]]);
    let mut items = Vec::new();
    let mut at = HEADER_LEN;
    loop {
        let enc = *lp.get(at)?;
        if enc == END {
            break;
        }
        let (item, len) = entry(&lp[at..])?;
        let back = backlen(len);
        if lp.get(at + len..at + len + back.len())? != back.as_slice() {
            return None;
        }
        items.push(item);
        at += len + back.len();
    }
    let exact_end = at + 1 == lp.len();
    let counted = count == COUNT_UNKNOWN || usize::from(count) == items.len();
    (exact_end && counted).then_some(items)
}

/// The element at the front of `bytes` and the length of its encoding and data.
fn entry(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let enc = bytes[0];
    let int = |n: i64, len: usize| Some((n.to_string().into_bytes(), len));
    let le = |n: usize| -> Option<[u8; 8]> {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(bytes.get(1..1 + n)?);
        Some(b)
    };
    let string = |skip: usize, len: usize| {
        let data = bytes.get(skip..skip.checked_add(len)?)?;
        Some((data.to_vec(), skip + len))
    };
    match enc {
        0x00..=0x7f => int(i64::from(enc), 1),
        0x80..=0xbf => string(1, usize::from(enc & 0x3f)),
        0xc0..=0xdf => {
            let u = (i64::from(enc & 0x1f) << 8) | i64::from(*bytes.get(1)?);
            int(if u >= 1 << 12 { u - (1 << 13) } else { u }, 2)
        }
        0xe0..=0xef => {
            let len = (usize::from(enc & 0x0f) << 8) | usize::from(*bytes.get(1)?);
            string(2, len)
        }
        ENC_STR32 => {
            let b = le(4)?;
            string(5, u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        }
        ENC_INT16 => int(i64::from(i16::from_le_bytes([le(2)?[0], le(2)?[1]])), 3),
        ENC_INT24 => {
            let b = le(3)?;
            // Sign-extend from 24 bits.
            int(i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8), 4)
        }
        ENC_INT32 => {
            let b = le(4)?;
            int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])), 5)
        }
        ENC_INT64 => int(i64::from_le_bytes(le(8)?), 9),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_as_redis_does() {
        // RPUSH l a b c on Redis 7.0: a 16-byte listpack.
        assert_eq!(
            encode(&["a", "b", "c"]),
            b"\x10\x00\x00\x00\x03\x00\x81a\x02\x81b\x02\x81c\x02\xff"
        );
        // 1 is a 7-bit integer, -1 a 13-bit one.
        assert_eq!(
            encode(&["1", "-1"]),
            b"\x0c\x00\x00\x00\x02\x00\x01\x01\xdf\xff\x02\xff"
        );
    }

    #[test]
    fn backlen_forms() {
        assert_eq!(backlen(127), [127]);
        assert_eq!(backlen(128), [1, 128]);
        assert_eq!(backlen(16383), [127, 255]);
        assert_eq!(backlen(16384), [1, 128, 128]);
    }

    #[test]
    fn refuses_malformed() {
        let good = encode(&["a", "b"]);
        assert!(decode(&good).is_some());
        let mut wrong_total = good.clone();
        wrong_total[0] += 1;
        assert_eq!(decode(&wrong_total), None);
        let mut wrong_count = good.clone();
        wrong_count[4] = 3;
        assert_eq!(decode(&wrong_count), None);
        let mut wrong_back = good.clone();
        wrong_back[8] = 9;
        assert_eq!(decode(&wrong_back), None);
        let mut no_end = good.clone();
        *no_end.last_mut().unwrap() = 0x01;
        assert_eq!(decode(&no_end), None);
        assert_eq!(decode(b"\x07\x00\x00\x00\x00\x00"), None);
        // A string longer than the listpack.
        assert_eq!(decode(b"\x0a\x00\x00\x00\x01\x00\x85a\x02\xff\x00"), None);
    }

    proptest! {
        #[test]
        fn round_trips(items in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..80),
                any::<i64>().prop_map(|n| n.to_string().into_bytes()),
                (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
                proptest::collection::vec(any::<u8>(), 4090..4100),
            ],
            0..12,
        )) {
            let lp = encode(&items);
            prop_assert_eq!(lp.len(), 7 + items.iter().map(|i| entry_len(i)).sum::<usize>());
            prop_assert_eq!(decode(&lp), Some(items));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
