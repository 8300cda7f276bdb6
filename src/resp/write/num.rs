//! Integer formatting without allocation, for reply headers and `:` integers.
//!
//! Replies are mostly headers (`*3`, `$5`, `:42`), so this is the hottest formatting in
//! the writer: the digit count is known up front, digits are produced two at a time
//! from a lookup table straight into their place in a stack buffer, and the finished
//! line is appended with one fixed-size copy.

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

/// How many decimal digits `n` has.
#[inline]
fn digit_count(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
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
pub(crate) fn write_line<const N: usize>(
    buf: &mut [u8; N],
    prefix: u8,
    negative: bool,
    n: u64,
) -> usize {
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

/// A header line (`:42\r\n`, `$5\r\n`) built on the stack: the first `len` bytes of
/// `buf`. It is appended as a fixed-size copy followed by a truncation, which compiles
/// to a few register moves instead of a `memcpy` call of variable length.
pub(crate) struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl Line {
    /// `prefix`, the digits of `n` (after a minus sign if `negative`), CRLF.
    #[inline]
    fn new(prefix: u8, negative: bool, n: u64) -> Line {
        let mut buf = [0u8; LINE_MAX];
        let len = write_line(&mut buf, prefix, negative, n);
        Line { buf, len }
    }

    /// Appends the line to `out`.
    #[inline]
    pub(crate) fn append_to(&self, out: &mut Vec<u8>) {
        append_prefix_of(out, &self.buf, self.len);
    }
}

/// Appends the first `len` bytes of `buf`: a copy of all of `buf` (whose size is known
/// at compile time, so no `memcpy` call) and a truncation.
#[inline]
pub(crate) fn append_prefix_of<const N: usize>(out: &mut Vec<u8>, buf: &[u8; N], len: usize) {
    let at = out.len();
    out.extend_from_slice(buf);
    out.truncate(at + len.min(N));
}

/// The header line of a length or count.
#[inline]
pub(crate) fn line_usize(prefix: u8, n: usize) -> Line {
    // usize is at most 64 bits on every platform Rust supports.
    Line::new(prefix, false, n as u64)
}

/// Appends `prefix`, the digits of `n`, and CRLF, with one copy into `out`.
#[inline]
pub(crate) fn append_line_i64(out: &mut Vec<u8>, prefix: u8, n: i64) {
    Line::new(prefix, n < 0, n.unsigned_abs()).append_to(out);
}

/// Appends `prefix`, the digits of `n`, and CRLF, with one copy into `out`.
#[inline]
pub(crate) fn append_line_u64(out: &mut Vec<u8>, prefix: u8, n: u64) {
    Line::new(prefix, false, n).append_to(out);
}

/// Appends `prefix`, the digits of a length or count, and CRLF.
#[inline]
pub(crate) fn append_line_usize(out: &mut Vec<u8>, prefix: u8, n: usize) {
    line_usize(prefix, n).append_to(out);
}

#[cfg(test)]
mod tests {
    use super::*;

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
