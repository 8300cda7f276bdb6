//! The DUMP payload format of Redis 7.0 for strings and lists: the RDB type byte, the
//! value as RDB stores it, the RDB version (2 bytes, little-endian) and a CRC-64 of all
//! that (8 bytes, little-endian). Encoding writes what Redis writes (without LZF
//! compression); decoding reads every form Redis 7.0 writes, LZF included.

use super::{listpack, lzf};
use crate::resp::parse_int;
use std::fmt;

/// The RDB version Redis 7.0 writes in its payloads, and the newest it accepts.
///
/// ```
/// assert_eq!(redcon::dump::RDB_VERSION, 10);
/// ```
pub const RDB_VERSION: u16 = 10;

/// RDB object type of a string.
const RDB_TYPE_STRING: u8 = 0;
/// RDB object type of a list in Redis 7.0: quicklist nodes holding listpacks.
const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
/// A quicklist node holding one large element as it is.
const QUICKLIST_NODE_PLAIN: usize = 1;
/// A quicklist node holding a listpack.
const QUICKLIST_NODE_PACKED: usize = 2;
/// The size a listpack node stays within (`list-max-listpack-size -2`, Redis's
/// default), so a list is cut into nodes of Redis's size.
const LISTPACK_NODE_BYTES: usize = 8192;
/// The highest RDB object type byte Redis 7.0 knows (`RDB_TYPE_STREAM_LISTPACKS_2`);
/// 8 (a module type of Redis 4.0's first draft) is not one.
const RDB_TYPE_MAX: u8 = 19;
/// A length byte whose top two bits are `11` announces an encoded string; its low six
/// bits say which encoding.
const RDB_ENCVAL: u8 = 3;
const RDB_ENC_INT8: u8 = 0;
const RDB_ENC_INT16: u8 = 1;
const RDB_ENC_INT32: u8 = 2;
const RDB_ENC_LZF: u8 = 3;
/// Length bytes that announce a 32-bit and a 64-bit big-endian length.
const RDB_32BITLEN: u8 = 0x80;
const RDB_64BITLEN: u8 = 0x81;
/// Strings this long or shorter are tried as integers (`rdbTryIntegerEncoding`): the
/// longest 32-bit integer, with its sign, is 11 characters.
const MAX_INTEGER_ENCODED_LEN: usize = 11;
/// The version (2 bytes) and the checksum (8 bytes) that end every payload.
const FOOTER_LEN: usize = 10;

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Why a payload was refused. [`Display`](fmt::Display) gives the error reply Redis 7.0
/// sends for the same payload (`RESTORE`), so a server can send it as it is.
///
/// ```
/// use redcon::dump::{decode, DumpError};
/// assert_eq!(decode(b"nonsense"), Err(DumpError::VersionOrChecksum));
/// assert_eq!(
///     DumpError::VersionOrChecksum.to_string(),
///     "ERR DUMP payload version or checksum are wrong"
/// );
/// assert_eq!(DumpError::BadDataFormat.to_string(), "ERR Bad data format");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DumpError {
    /// Shorter than its footer, a version newer than [`RDB_VERSION`], or a checksum
    /// that does not match.
    VersionOrChecksum,
    /// The checksum matches but the value cannot be read: an unknown type byte, a
    /// length past the end of the payload, a malformed LZF stream.
    BadDataFormat,
    /// A well-formed payload of a Redis type this module does not decode (a hash, a
    /// set...); holds the RDB type byte. Redis would restore it, so its text is this
    /// module's own.
    UnsupportedType(u8),
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::VersionOrChecksum => {
                f.write_str("ERR DUMP payload version or checksum are wrong")
            }
            DumpError::BadDataFormat => f.write_str("ERR Bad data format"),
            DumpError::UnsupportedType(t) => {
                write!(f, "ERR DUMP payload of RDB type {t} is not supported")
            }
        }
    }
}

impl std::error::Error for DumpError {}

/// A value read from a payload.
///
/// ```
/// use redcon::dump::{decode, encode_string, Value};
/// assert_eq!(decode(&encode_string(b"v")), Ok(Value::String(b"v".to_vec())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// A string.
    String(Vec<u8>),
    /// A list's elements, head first.
    List(Vec<Vec<u8>>),
}

/// The payload Redis 7.0's `DUMP` gives for a string value, except that strings are
/// never LZF-compressed: for a string over 20 bytes that compresses, Redis's payload is
/// shorter than this one (each decodes to the same value, on Redis and here).
///
/// ```
/// use redcon::dump::encode_string;
/// // The type (0), the length and bytes, the version (10), the CRC-64.
/// assert_eq!(
///     encode_string(b"hello"),
///     b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a"
/// );
/// // Integers that fit 32 bits are stored as integers, as Redis stores them.
/// assert_eq!(&encode_string(b"123")[..3], b"\x00\xc0\x7b");
/// ```
pub fn encode_string(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 9 + FOOTER_LEN + 1);
    out.push(RDB_TYPE_STRING);
    write_string(&mut out, value);
    finish(out)
}

/// The payload Redis 7.0's `DUMP` gives for a list holding `items` (head first): its
/// quicklist nodes, each a listpack of at most 8 KiB (Redis's default node size),
/// never LZF-compressed. Redis compresses a node over 20 bytes when that makes it
/// shorter, so the bytes equal Redis's for small lists and for ones whose nodes do not
/// compress (and whose nodes Redis cut the same way: lists built by pushing at the
/// tail); each payload restores on the other server all the same.
///
/// An empty list (which Redis never stores) gives a payload with no node, which
/// Redis's `RESTORE` and [`decode`] refuse.
///
/// ```
/// use redcon::dump::{decode, encode_list, Value};
/// let payload = encode_list(["a", "b", "c"]);
/// // Type 18, one node, a packed node of 16 bytes: Redis's bytes for RPUSH l a b c.
/// assert_eq!(&payload[..4], b"\x12\x01\x02\x10");
/// assert_eq!(
///     decode(&payload),
///     Ok(Value::List(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]))
/// );
/// ```
pub fn encode_list<I>(items: I) -> Vec<u8>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    // Redis's rule for appending at the tail (`_quicklistNodeAllowInsert`): the
    // element joins the last node if the node's listpack size, plus the element's
    // length, plus an 8-byte allowance for its encoding, stays within the limit;
    // otherwise it starts a node (alone, however large).
    const EMPTY_LISTPACK: usize = 7;
    const ENTRY_ALLOWANCE: usize = 8;
    let mut nodes: Vec<Vec<I::Item>> = Vec::new();
    let mut size = 0;
    for item in items {
        let raw = item.as_ref().len();
        let entry = listpack::entry_len(item.as_ref());
        match nodes.last_mut() {
            Some(node) if size + raw + ENTRY_ALLOWANCE <= LISTPACK_NODE_BYTES => {
                node.push(item);
                size += entry;
            }
            _ => {
                nodes.push(vec![item]);
                size = EMPTY_LISTPACK + entry;
            }
        }
    }
    let mut out = vec![RDB_TYPE_LIST_QUICKLIST_2];
    write_len(&mut out, nodes.len() as u64);
    for node in &nodes {
        write_len(&mut out, QUICKLIST_NODE_PACKED as u64);
        write_string(&mut out, &listpack::encode(node));
    }
    finish(out)
}

/// Appends the version and the checksum of everything before it.
fn finish(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A string as `rdbSaveRawString` writes it (compression off): as an integer if it is
/// one Redis would store so, else its length and its bytes.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= MAX_INTEGER_ENCODED_LEN
        && let Some(n) = parse_int(s)
    {
        if let Ok(n) = i8::try_from(n) {
            out.extend_from_slice(&[encoded(RDB_ENC_INT8), n as u8]);
            return;
        }
        if let Ok(n) = i16::try_from(n) {
            out.push(encoded(RDB_ENC_INT16));
            out.extend_from_slice(&n.to_le_bytes());
            return;
        }
        if let Ok(n) = i32::try_from(n) {
            out.push(encoded(RDB_ENC_INT32));
            out.extend_from_slice(&n.to_le_bytes());
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The length byte announcing encoding `enc`.
fn encoded(enc: u8) -> u8 {
    (RDB_ENCVAL << 6) | enc
}

/// A length in RDB's variable encoding: 6 bits, 14 bits, 32 or 64 bits big-endian.
fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(RDB_32BITLEN);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(RDB_64BITLEN);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Checks a payload's footer as Redis's `verifyDumpPayload` does, then reads its value
/// as Redis's `rdbLoadObject` does: bytes after the value are ignored, and the footer
/// counts as payload (a declared length that reaches into it takes those bytes).
///
/// # Errors
///
/// [`DumpError::VersionOrChecksum`] for a payload under 10 bytes, a version newer than
/// [`RDB_VERSION`] or a wrong checksum; [`DumpError::BadDataFormat`] for a value that
/// cannot be read; [`DumpError::UnsupportedType`] for a value of another Redis type.
/// Declared lengths are checked against the payload before anything is allocated.
///
/// ```
/// use redcon::dump::{decode, encode_string, DumpError, Value};
/// // Redis 7.0.15's DUMP of "a" * 100, LZF-compressed.
/// let from_redis = b"\x00\xc3\x09\x40\x64\x01\x61\x61\xe0\x57\x00\x01\x61\x61\
///                    \x0a\x00\xe8\xa3\xb5\x07\xb0\x6d\xf2\x71";
/// assert_eq!(decode(from_redis), Ok(Value::String(vec![b'a'; 100])));
///
/// let mut tampered = encode_string(b"v");
/// tampered[1] ^= 1;
/// assert_eq!(decode(&tampered), Err(DumpError::VersionOrChecksum));
/// # Ok::<(), DumpError>(())
/// ```
pub fn decode(payload: &[u8]) -> Result<Value, DumpError> {
    verify(payload)?;
    // The value is read from the whole payload, footer included, as Redis reads it: a
    // length that runs into the footer takes its bytes rather than being refused.
    let mut r = Reader { rest: payload };
    let kind = r.byte()?;
    match kind {
        RDB_TYPE_STRING => Ok(Value::String(r.string()?)),
        RDB_TYPE_LIST_QUICKLIST_2 => r.list().map(Value::List),
        8 => Err(DumpError::BadDataFormat),
        t if t <= RDB_TYPE_MAX => Err(DumpError::UnsupportedType(t)),
        _ => Err(DumpError::BadDataFormat),
    }
}

/// Checks the footer: the version and the checksum.
fn verify(payload: &[u8]) -> Result<(), DumpError> {
    let Some(split) = payload.len().checked_sub(FOOTER_LEN) else {
        return Err(DumpError::VersionOrChecksum);
    };
    let footer = &payload[split..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    let covered = &payload[..split + 2];
    if version > RDB_VERSION || CRC64.checksum(covered) != u64::from_le_bytes(crc) {
        return Err(DumpError::VersionOrChecksum);
    }
    Ok(())
}

/// Reads RDB items from the front of a payload's body; running out is a format error.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DumpError> {
        if n > self.rest.len() {
            return Err(DumpError::BadDataFormat);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DumpError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DumpError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A length, or `Err(Ok(enc))` for the marker of an encoded string.
    fn len_or_encoding(&mut self) -> Result<Result<usize, u8>, DumpError> {
        let first = self.byte()?;
        let len = match first >> 6 {
            0 => u64::from(first & 0x3f),
            1 => (u64::from(first & 0x3f) << 8) | u64::from(self.byte()?),
            RDB_ENCVAL => return Ok(Err(first & 0x3f)),
            _ if first == RDB_32BITLEN => u64::from(u32::from_be_bytes(self.array()?)),
            _ if first == RDB_64BITLEN => u64::from_be_bytes(self.array()?),
            _ => return Err(DumpError::BadDataFormat),
        };
        // A length beyond the address space cannot be in the payload either.
        Ok(Ok(usize::try_from(len).unwrap_or(usize::MAX)))
    }

    /// A plain length (no encoding marker allowed).
    fn len(&mut self) -> Result<usize, DumpError> {
        self.len_or_encoding()?
            .map_err(|_| DumpError::BadDataFormat)
    }

    /// A Redis 7.0 list: a node count, then each node's container type and its data
    /// (one element, or a listpack). Empty listpacks are skipped, as Redis skips them,
    /// but a list with no element at all is refused. Nothing is reserved from the
    /// declared count: each node must be read from the payload.
    fn list(&mut self) -> Result<Vec<Vec<u8>>, DumpError> {
        let nodes = self.len()?;
        let mut items = Vec::new();
        for _ in 0..nodes {
            let container = self.len()?;
            let data = self.string()?;
            match container {
                QUICKLIST_NODE_PLAIN => items.push(data),
                QUICKLIST_NODE_PACKED => {
                    items.extend(listpack::decode(&data).ok_or(DumpError::BadDataFormat)?)
                }
                _ => return Err(DumpError::BadDataFormat),
            }
        }
        if items.is_empty() {
            return Err(DumpError::BadDataFormat);
        }
        Ok(items)
    }

    /// A string in any of the forms `rdbGenericLoadStringObject` reads.
    fn string(&mut self) -> Result<Vec<u8>, DumpError> {
        let enc = match self.len_or_encoding()? {
            Ok(len) => return Ok(self.take(len)?.to_vec()),
            Err(enc) => enc,
        };
        let n = match enc {
            RDB_ENC_INT8 => i64::from(i8::from_le_bytes(self.array()?)),
            RDB_ENC_INT16 => i64::from(i16::from_le_bytes(self.array()?)),
            RDB_ENC_INT32 => i64::from(i32::from_le_bytes(self.array()?)),
            RDB_ENC_LZF => {
                let compressed_len = self.len()?;
                let len = self.len()?;
                let compressed = self.take(compressed_len)?;
                return lzf::decompress(compressed, len).ok_or(DumpError::BadDataFormat);
            }
            _ => return Err(DumpError::BadDataFormat),
        };
        Ok(n.to_string().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Values and the payloads redis-server 7.0.15's DUMP gave for them.
    const FROM_REDIS: &[(&[u8], &str)] = &[
        (b"", "00000a005d9b5c400f7fa2da"),
        (b"hello", "000568656c6c6f0a006372df766534200a"),
        (b"123", "00c07b0a0048e253e1007a67b9"),
        (b"-5", "00c0fb0a0049c4c6f4d7263f68"),
        (b"300", "00c12c010a00954261f265825c10"),
        (b"-70000", "00c290eefeff0a002875de7b13eb2800"),
        (
            b"2147483648",
            "000a323134373438333634380a00e7b129a34c1d76ee",
        ),
        (
            b"12345678901",
            "000b31323334353637383930310a00304e52d727176510",
        ),
    ];

    #[test]
    fn encodes_as_redis_does() {
        for (value, payload) in FROM_REDIS {
            assert_eq!(encode_string(value), hex(payload), "{value:?}");
        }
    }

    #[test]
    fn decodes_what_redis_wrote() {
        for (value, payload) in FROM_REDIS {
            assert_eq!(decode(&hex(payload)), Ok(Value::String(value.to_vec())));
        }
        let compressed = [
            (vec![b'x'; 21], "00c30615017878e00a000a00941a83676017192f"),
            (
                b"hello world hello world hello world!".to_vec(),
                "00c314240c68656c6c6f20776f726c642068e00c0b0164210a00fc356a39e453d509",
            ),
        ];
        for (value, payload) in compressed {
            assert_eq!(decode(&hex(payload)), Ok(Value::String(value)));
        }
    }

    #[test]
    fn length_encodings() {
        for (len, header) in [
            (63usize, &[63u8][..]),
            (64, &[0x40, 64]),
            (16383, &[0x7f, 0xff]),
            (16384, &[0x80, 0, 0, 0x40, 0]),
        ] {
            let value = vec![b'v'; len];
            let p = encode_string(&value);
            assert_eq!(&p[1..1 + header.len()], header, "{len}");
            assert_eq!(decode(&p), Ok(Value::String(value)));
        }
        // A 64-bit length (Redis writes one only past 4 GiB, but reads it at any size).
        let mut body = vec![0u8, 0x81, 0, 0, 0, 0, 0, 0, 0, 2, b'o', b'k'];
        body = finish(std::mem::take(&mut body));
        assert_eq!(decode(&body), Ok(Value::String(b"ok".to_vec())));
    }

    #[test]
    fn refuses_bad_footers() {
        let good = encode_string(b"value");
        assert_eq!(decode(&good[..9]), Err(DumpError::VersionOrChecksum));
        let mut crc = good.clone();
        *crc.last_mut().unwrap() ^= 0x80;
        assert_eq!(decode(&crc), Err(DumpError::VersionOrChecksum));
        // Version 11 with a checksum that matches it: still refused.
        let mut newer = good[..good.len() - FOOTER_LEN].to_vec();
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = CRC64.checksum(&newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&newer), Err(DumpError::VersionOrChecksum));
        // An older version is accepted.
        let mut older = good[..good.len() - FOOTER_LEN].to_vec();
        older.extend_from_slice(&9u16.to_le_bytes());
        let crc = CRC64.checksum(&older);
        older.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&older), Ok(Value::String(b"value".to_vec())));
    }

    #[test]
    fn refuses_bad_bodies() {
        let cases: &[(&[u8], DumpError)] = &[
            (b"\x00", DumpError::BadDataFormat),
            (b"\x00\x0eabc", DumpError::BadDataFormat),
            (b"\x00\x80\xff\xff\xff\xff", DumpError::BadDataFormat),
            (
                b"\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff",
                DumpError::BadDataFormat,
            ),
            (b"\x00\x82", DumpError::BadDataFormat),
            (b"\x00\xc4", DumpError::BadDataFormat),
            (b"\x00\xc3\x02\x10\x01a", DumpError::BadDataFormat),
            (b"\x00\xc3\x0d\x10\x01a", DumpError::BadDataFormat),
            (b"\x00\xc3\xc0\x05\x01\x61\x61", DumpError::BadDataFormat),
            (b"\x08\x00", DumpError::BadDataFormat),
            (b"\x14\x00", DumpError::BadDataFormat),
            (b"\x04\x00", DumpError::UnsupportedType(4)),
            // Lists: no node, an empty listpack only, an unknown container, a bad
            // listpack.
            (b"\x12\x00", DumpError::BadDataFormat),
            (
                b"\x12\x01\x02\x07\x07\x00\x00\x00\x00\x00\xff",
                DumpError::BadDataFormat,
            ),
            (b"\x12\x01\x03\x01a", DumpError::BadDataFormat),
            (
                b"\x12\x01\x02\x07\x08\x00\x00\x00\x00\x00\xff",
                DumpError::BadDataFormat,
            ),
            (b"\x12\xff", DumpError::BadDataFormat),
        ];
        for (body, err) in cases {
            assert_eq!(decode(&finish(body.to_vec())), Err(*err), "{body:?}");
        }
    }

    #[test]
    fn reads_as_redis_reads() {
        // Bytes after the value are ignored.
        assert_eq!(
            decode(&finish(b"\x00\x02okjunk".to_vec())),
            Ok(Value::String(b"ok".to_vec()))
        );
        // A length that reaches into the footer takes its bytes (the version here).
        assert_eq!(
            decode(&finish(b"\x00\x05abc".to_vec())),
            Ok(Value::String(b"abc\x0a\x00".to_vec()))
        );
    }

    #[test]
    fn lists() {
        // Redis 7.0.15's DUMP after RPUSH l a b c.
        let redis = hex("12010210100000000300816102816202816302ff0a00");
        let mut payload = encode_list(["a", "b", "c"]);
        payload.truncate(payload.len() - 8);
        assert_eq!(payload, redis);
        // A plain node holds one element as it is.
        let plain = finish(b"\x12\x01\x01\x03big".to_vec());
        assert_eq!(decode(&plain), Ok(Value::List(vec![b"big".to_vec()])));
        // Large lists are cut into nodes of at most 8 KiB.
        let items: Vec<Vec<u8>> = (0..3000)
            .map(|i| format!("element-{i}").into_bytes())
            .collect();
        let payload = encode_list(&items);
        assert!(payload[1] > 1, "several nodes");
        assert_eq!(decode(&payload), Ok(Value::List(items)));
        // One element larger than a node.
        let big = vec![vec![b'x'; 20000], b"y".to_vec()];
        assert_eq!(decode(&encode_list(&big)), Ok(Value::List(big)));
    }

    proptest! {
        #[test]
        fn lists_round_trip(items in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..40), 1..50)) {
            prop_assert_eq!(decode(&encode_list(&items)), Ok(Value::List(items)));
        }

        #[test]
        fn round_trips(value in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(decode(&encode_string(&value)), Ok(Value::String(value)));
        }

        #[test]
        fn integers_round_trip(n in any::<i64>()) {
            let s = n.to_string().into_bytes();
            prop_assert_eq!(decode(&encode_string(&s)), Ok(Value::String(s)));
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&finish(body));
        }
    }
}
