//! Integer formatting without allocation, for reply headers and `:` integers.
//!
//! Replies are mostly headers (`*3`, `$5`, `:42`), so this is the hottest formatting in
//! the writer: the digit count is known up front, and digits are produced two at a time
//! from a lookup table straight into their place at the end of the output.

/// Longest decimal `u64` (`18446744073709551615`).
const MAX_DIGITS: usize = 20;

/// `"000102…9899"`: the two ASCII digits of every number below 100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        table[2 * n] = b'0' + (n / 10) as u8;
        table[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    table
};

/// How many decimal digits `n` has: the bit length gives the digit count or one less
/// (`bits * 1233 / 4096` is a close lower bound of `bits * log10(2)`), and one comparison
/// with a power of ten settles which.
#[inline]
fn digit_count(n: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut table = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            table[i] = table[i - 1] * 10;
            i += 1;
        }
        table
    };
    let bits = 64 - (n | 1).leading_zeros() as usize;
    let low = (bits * 1233) >> 12;
    let above = POW10.get(low).map_or(0, |&p| usize::from(n >= p));
    (low + above).max(1)
}

/// Writes the digits of `n` into `buf`, right-aligned; `buf` should be exactly
/// [`digit_count`] long (a shorter one keeps the low digits, a longer one is left
/// unwritten at the front).
#[inline]
fn write_digits(buf: &mut [u8], mut n: u64) {
    let mut pos = buf.len();
    while n >= 100 && pos >= 2 {
        // `n % 100 < 100`, so the pair index is below 200.
        let pair = (n % 100) as usize * 2;
        n /= 100;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 && pos >= 2 {
        let pair = n as usize * 2;
        buf[pos - 2..pos].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else if let Some(last) = pos.checked_sub(1) {
        buf[last] = b'0' + (n % 10) as u8;
    }
}

/// The decimal digits of an integer, held on the stack.
///
/// The digits sit at the end of `buf`, from `start` on; a minus sign, when there is one,
/// sits just before them.
pub(crate) struct Digits {
    buf: [u8; MAX_DIGITS + 1],
    start: usize,
}

impl Digits {
    /// Formats an unsigned integer.
    pub(crate) fn unsigned(n: u64) -> Self {
        let mut buf = [0u8; MAX_DIGITS + 1];
        let start = buf.len() - digit_count(n);
        write_digits(&mut buf[start..], n);
        Digits { buf, start }
    }

    /// Formats a signed integer; `i64::MIN` works because the magnitude is taken as
    /// a `u64`.
    pub(crate) fn signed(n: i64) -> Self {
        let mut digits = Digits::unsigned(n.unsigned_abs());
        if n < 0 {
            // At most 19 digits for an i64 magnitude, so there is room for the sign.
            digits.start -= 1;
            digits.buf[digits.start] = b'-';
        }
        digits
    }

    /// The formatted text.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Longest header line: a prefix byte, a sign, 20 digits and CRLF.
pub(crate) const LINE_MAX: usize = 24;

/// Writes `prefix`, a minus sign if `negative`, the digits of `n` and CRLF at the start
/// of `buf` (at least [`LINE_MAX`] bytes), and returns the length written.
#[inline(always)]
pub(crate) fn write_line(buf: &mut [u8], prefix: u8, negative: bool, n: u64) -> usize {
    let Some(buf) = buf.get_mut(..LINE_MAX) else {
        return 0;
    };
    buf[0] = prefix;
    buf[1] = b'-'; // overwritten by the first digit when not negative
    let start = 1 + usize::from(negative);
    // Lengths and counts are mostly below 100: no digit count or division for those.
    let end = if n < 10 {
        buf[start] = b'0' + n as u8;
        start + 1
    } else if n < 100 {
        let pair = n as usize * 2;
        buf[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        start + 2
    } else {
        let end = start + digit_count(n);
        write_digits(&mut buf[start..end], n);
        end
    };
    buf[end] = b'\r';
    buf[end + 1] = b'\n';
    end + 2
}

/// Appends an item of at most `max` bytes that `fill` writes in place: the vector is
/// extended by `max` zero bytes (a couple of wide stores), `fill` writes the item at
/// the start of that space and returns its length, and the rest is cut off. Writing in
/// place, rather than into a stack buffer copied afterwards, keeps both the variable
/// length `memcpy` call and the stall of reading back freshly written bytes off the
/// hot path.
#[inline(always)]
pub(crate) fn append_in_place(
    out: &mut Vec<u8>,
    max: usize,
    fill: impl FnOnce(&mut [u8]) -> usize,
) {
    let at = out.len();
    out.resize(at + max, 0);
    let len = fill(out.get_mut(at..).unwrap_or_default());
    out.truncate(at + len.min(max));
}

/// Appends `prefix`, the digits of `n` (after a minus sign if `negative`), and CRLF.
#[inline]
fn append_line(out: &mut Vec<u8>, prefix: u8, negative: bool, n: u64) {
    append_in_place(out, LINE_MAX, |buf| write_line(buf, prefix, negative, n));
}

/// Appends `prefix`, the digits of `n`, and CRLF.
#[inline]
pub(crate) fn append_line_i64(out: &mut Vec<u8>, prefix: u8, n: i64) {
    append_line(out, prefix, n < 0, n.unsigned_abs());
}

/// Appends `prefix`, the digits of `n`, and CRLF.
#[inline]
pub(crate) fn append_line_u64(out: &mut Vec<u8>, prefix: u8, n: u64) {
    append_line(out, prefix, false, n);
}

/// Appends `prefix`, the digits of a length or count, and CRLF.
#[inline]
pub(crate) fn append_line_usize(out: &mut Vec<u8>, prefix: u8, n: usize) {
    // usize is at most 64 bits on every platform Rust supports.
    append_line(out, prefix, false, n as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_count_matches_display() {
        let mut n = 1u64;
        loop {
            for m in [n - 1, n, n + 1, n.saturating_mul(5)] {
                assert_eq!(digit_count(m), m.to_string().len(), "{m}");
            }
            match n.checked_mul(10) {
                Some(next) => n = next,
                None => break,
            }
        }
        assert_eq!(digit_count(u64::MAX), 20);
    }

    #[test]
    fn unsigned_matches_display() {
        let samples = [
            0u64,
            1,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            12345,
            u64::from(u32::MAX),
            u64::MAX / 10,
            u64::MAX - 1,
            u64::MAX,
        ];
        for n in samples {
            assert_eq!(Digits::unsigned(n).as_bytes(), n.to_string().as_bytes());
        }
        for n in (0..100_000u64).step_by(7) {
            assert_eq!(Digits::unsigned(n).as_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn signed_matches_display() {
        let samples = [
            0i64,
            1,
            -1,
            9,
            -9,
            10,
            -10,
            99,
            -100,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ];
        for n in samples {
            assert_eq!(Digits::signed(n).as_bytes(), n.to_string().as_bytes());
        }
        let mut n = 1i64;
        while let Some(next) = n.checked_mul(3) {
            assert_eq!(Digits::signed(-n).as_bytes(), (-n).to_string().as_bytes());
            n = next;
        }
    }

    #[test]
    fn lines() {
        let mut out = Vec::new();
        append_line_i64(&mut out, b':', i64::MIN);
        append_line_u64(&mut out, b':', u64::MAX);
        append_line_usize(&mut out, b'*', 0);
        assert_eq!(
            out,
            b":-9223372036854775808\r\n:18446744073709551615\r\n*0\r\n".to_vec()
        );
    }
}
