//! Decimal numbers in request headers (`*<count>`, `$<len>`), read exactly as Redis's
//! `string2ll` reads them, so that the same headers are accepted and rejected.

/// Redis refuses number strings of this many bytes or more before looking at them
/// (`LONG_STR_SIZE`: 20 digits plus a sign fit below it).
const MAX_NUMBER_BYTES: usize = 21;

/// Parses `bytes` as Redis's `string2ll` does: an optional `-`, then digits with no
/// leading zero (a lone `0` excepted); no `+`, no `-0`, no spaces, nothing else; a value
/// outside `i64` is refused. Returns `None` for anything Redis refuses.
pub(crate) fn string2ll(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() >= MAX_NUMBER_BYTES {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    // The first digit must be 1-9: this refuses "", "-", leading zeros and "-0".
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX, so go through i128.
        i64::try_from(-i128::from(value)).ok()
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a signed 64-bit integer exactly as Redis does (util.c `string2ll`): an
/// optional `-`, decimal digits, no `+`, no leading zeros, no `-0`, no spaces, no
/// overflow. Use it for numeric command arguments so they are accepted and refused as
/// Redis would.
///
/// ```
/// use redcon::resp::parse_int;
/// assert_eq!(parse_int(b"42"), Some(42));
/// assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
/// assert_eq!(parse_int(b"007"), None);
/// assert_eq!(parse_int(b"+1"), None);
/// assert_eq!(parse_int(b" 1"), None);
/// ```
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    string2ll(bytes)
}

#[cfg(test)]
mod tests {
    use super::string2ll;

    #[test]
    fn accepts_what_redis_accepts() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"1"), Some(1));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"1234567890"), Some(1_234_567_890));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn refuses_what_redis_refuses() {
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"00",
            b"-0",
            b"-01",
            b" 1",
            b"1 ",
            b"1\r",
            b"1a",
            b"a",
            b"--1",
            b"1-",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"99999999999999999999",
            // 21 bytes is refused on length alone, as LONG_STR_SIZE does.
            b"-00000000000000000001",
            b"123456789012345678901",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
