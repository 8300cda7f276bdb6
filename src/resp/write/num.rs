//! Integer formatting without allocation, for reply headers and `:` integers.
//!
//! Replies are mostly headers (`*3`, `$5`, `:42`), so this is the hottest formatting in
//! the writer: digits are produced two at a time from a lookup table into a stack buffer,
//! filled from the right, and the finished line is appended with a single copy.

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
    pub(crate) fn unsigned(mut n: u64) -> Self {
        let mut buf = [0u8; MAX_DIGITS + 1];
        let mut pos = buf.len();
        while n >= 100 {
            // `n % 100 < 100`, so the pair index is below 200.
            let pair = (n % 100) as usize * 2;
            n /= 100;
            pos -= 2;
            buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            pos -= 2;
            buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        } else {
            pos -= 1;
            buf[pos] = b'0' + n as u8;
        }
        Digits { buf, start: pos }
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

/// Appends `prefix`, the digits of `n`, and CRLF, with one copy into `out`.
pub(crate) fn append_line_i64(out: &mut Vec<u8>, prefix: u8, n: i64) {
    append_line(out, prefix, &Digits::signed(n));
}

/// Appends `prefix`, the digits of `n`, and CRLF, with one copy into `out`.
pub(crate) fn append_line_u64(out: &mut Vec<u8>, prefix: u8, n: u64) {
    append_line(out, prefix, &Digits::unsigned(n));
}

/// Appends `prefix`, the digits of a length or count, and CRLF.
pub(crate) fn append_line_usize(out: &mut Vec<u8>, prefix: u8, n: usize) {
    // usize is at most 64 bits on every platform Rust supports.
    append_line_u64(out, prefix, n as u64);
}

fn append_line(out: &mut Vec<u8>, prefix: u8, digits: &Digits) {
    let text = digits.as_bytes();
    // prefix + up to 20 digits and a sign + CRLF.
    let mut line = [0u8; MAX_DIGITS + 4];
    line[0] = prefix;
    let end = 1 + text.len();
    line[1..end].copy_from_slice(text);
    line[end] = b'\r';
    line[end + 1] = b'\n';
    out.extend_from_slice(&line[..end + 2]);
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
