//! Double formatting exactly as current Redis prints doubles in replies.
//!
//! Redis 7.2 and later format a double with `d2string` (util.c): `nan`, `inf`, `-inf`,
//! `0` and `-0` spelled out; integral values within ±(2^62 - 1) printed as integers; anything
//! else printed by `fpconv_dtoa`, a Grisu2 shortest-round-trip conversion with its own
//! layout rules (`0.1`, `1.5e-7`, `1e+300`). Redis 7.0 used `%.17g` instead
//! (`0.10000000000000001`); clients talking to any current Redis see the Grisu2 text, so
//! that is what this module reproduces, digit for digit: Grisu2 is not always the
//! shortest form, so a different shortest-digits algorithm would disagree on a few
//! doubles in a thousand.

use super::num::Digits;

/// Room for any formatted double: at most a sign, 17 digits, a point and `e-308`.
pub(crate) const DOUBLE_BUF_LEN: usize = 32;

/// Formats `d` as Redis 7.2+ `d2string` does and returns the text, held in `buf`.
pub(crate) fn format_double(d: f64, buf: &mut [u8; DOUBLE_BUF_LEN]) -> &[u8] {
    let mut out = Cursor { buf, len: 0 };
    if d.is_nan() {
        // libc spells NaN several ways (`nan`, `-nan`, `NAN`); Redis normalises it.
        out.push_all(b"nan");
    } else if d.is_infinite() {
        out.push_all(if d < 0.0 { b"-inf" } else { b"inf" });
    } else if d == 0.0 {
        out.push_all(if d.is_sign_negative() { b"-0" } else { b"0" });
    } else if let Some(n) = exact_i64(d) {
        out.push_all(Digits::signed(n).as_bytes());
    } else {
        grisu_format(d, &mut out);
    }
    let len = out.len;
    &buf[..len]
}

/// `d` as an i64 when it is integral and within ±(`i64::MAX` / 2), the range in which
/// Redis's `double2ll` prints it as an integer rather than through Grisu2.
fn exact_i64(d: f64) -> Option<i64> {
    // Compared in floating point, exactly as Redis does: the bound rounds up to 2^62.
    let limit = (i64::MAX / 2) as f64;
    if d < -limit || d > limit {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// A bounded writer over a stack buffer; bytes past the end are dropped rather than
/// panicking (the buffer is sized so that this never happens).
struct Cursor<'a> {
    buf: &'a mut [u8; DOUBLE_BUF_LEN],
    len: usize,
}

impl Cursor<'_> {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_all(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    fn push_zeros(&mut self, n: i32) {
        for _ in 0..n {
            self.push(b'0');
        }
    }
}

// ---------------------------------------------------------------------------------------
// Grisu2, following Loitsch's paper "Printing Floating-Point Numbers Quickly and
// Accurately with Integers" (2010) and the choices of the fpconv library Redis ships.
// ---------------------------------------------------------------------------------------

const FRACTION_MASK: u64 = 0x000F_FFFF_FFFF_FFFF;
const HIDDEN_BIT: u64 = 0x0010_0000_0000_0000;
/// Exponent bias plus the 52 fraction bits: the value is `f * 2^(biased - EXP_BIAS)`.
const EXP_BIAS: i32 = 1023 + 52;
/// After scaling by a cached power the binary exponent must land in this window, so the
/// integral part of the scaled upper boundary fits in 32 bits.
const ALPHA: i32 = -60;
const GAMMA: i32 = -32;

/// A "do-it-yourself" float: `f * 2^e` with a 64-bit significand.
#[derive(Clone, Copy)]
struct DiyFp {
    f: u64,
    e: i32,
}

impl DiyFp {
    fn from_f64(d: f64) -> Self {
        let bits = d.to_bits();
        let fraction = bits & FRACTION_MASK;
        let biased = ((bits >> 52) & 0x7FF) as i32;
        if biased == 0 {
            // Subnormal: no hidden bit, smallest exponent.
            DiyFp {
                f: fraction,
                e: 1 - EXP_BIAS,
            }
        } else {
            DiyFp {
                f: fraction | HIDDEN_BIT,
                e: biased - EXP_BIAS,
            }
        }
    }

    /// Shifts left until the bit at `top` is set, then by `extra` more bits.
    fn normalized(mut self, top: u64, extra: i32) -> Self {
        while self.f & top == 0 {
            self.f <<= 1;
            self.e -= 1;
        }
        self.f <<= extra;
        self.e -= extra;
        self
    }

    /// The upper 64 bits of the 128-bit product, rounded half up.
    fn mul(self, other: DiyFp) -> DiyFp {
        let product = u128::from(self.f) * u128::from(other.f) + (1u128 << 63);
        DiyFp {
            f: (product >> 64) as u64,
            e: self.e + other.e + 64,
        }
    }
}

/// The midpoints between `v` and its neighbours, both with the upper one's normalized
/// exponent. The lower gap is half as wide when `v` is a power of two.
fn boundaries(v: DiyFp) -> (DiyFp, DiyFp) {
    let upper = DiyFp {
        f: (v.f << 1) + 1,
        e: v.e - 1,
    }
    .normalized(HIDDEN_BIT << 1, 64 - 52 - 2);
    let lower_shift = if v.f == HIDDEN_BIT { 2 } else { 1 };
    let lower_e = v.e - lower_shift;
    let lower = DiyFp {
        f: ((v.f << lower_shift) - 1) << (lower_e - upper.e),
        e: upper.e,
    };
    (lower, upper)
}

const FIRST_POWER: i32 = -348;
const POWER_STEP: i32 = 8;

/// `10^k` for k = -348, -340, …, 340 (k = FIRST_POWER + index × POWER_STEP), as a
/// normalized 64-bit significand rounded to nearest and its binary exponent. Generated
/// with exact rational arithmetic.
#[rustfmt::skip]
const CACHED_POWERS: [(u64, i32); 87] = [
    (0xfa8fd5a0081c0288, -1220), (0xbaaee17fa23ebf76, -1193), (0x8b16fb203055ac76, -1166),
    (0xcf42894a5dce35ea, -1140), (0x9a6bb0aa55653b2d, -1113), (0xe61acf033d1a45df, -1087),
    (0xab70fe17c79ac6ca, -1060), (0xff77b1fcbebcdc4f, -1034), (0xbe5691ef416bd60c, -1007),
    (0x8dd01fad907ffc3c, -980), (0xd3515c2831559a83, -954), (0x9d71ac8fada6c9b5, -927),
    (0xea9c227723ee8bcb, -901), (0xaecc49914078536d, -874), (0x823c12795db6ce57, -847),
    (0xc21094364dfb5637, -821), (0x9096ea6f3848984f, -794), (0xd77485cb25823ac7, -768),
    (0xa086cfcd97bf97f4, -741), (0xef340a98172aace5, -715), (0xb23867fb2a35b28e, -688),
    (0x84c8d4dfd2c63f3b, -661), (0xc5dd44271ad3cdba, -635), (0x936b9fcebb25c996, -608),
    (0xdbac6c247d62a584, -582), (0xa3ab66580d5fdaf6, -555), (0xf3e2f893dec3f126, -529),
    (0xb5b5ada8aaff80b8, -502), (0x87625f056c7c4a8b, -475), (0xc9bcff6034c13053, -449),
    (0x964e858c91ba2655, -422), (0xdff9772470297ebd, -396), (0xa6dfbd9fb8e5b88f, -369),
    (0xf8a95fcf88747d94, -343), (0xb94470938fa89bcf, -316), (0x8a08f0f8bf0f156b, -289),
    (0xcdb02555653131b6, -263), (0x993fe2c6d07b7fac, -236), (0xe45c10c42a2b3b06, -210),
    (0xaa242499697392d3, -183), (0xfd87b5f28300ca0e, -157), (0xbce5086492111aeb, -130),
    (0x8cbccc096f5088cc, -103), (0xd1b71758e219652c, -77), (0x9c40000000000000, -50),
    (0xe8d4a51000000000, -24), (0xad78ebc5ac620000, 3), (0x813f3978f8940984, 30),
    (0xc097ce7bc90715b3, 56), (0x8f7e32ce7bea5c70, 83), (0xd5d238a4abe98068, 109),
    (0x9f4f2726179a2245, 136), (0xed63a231d4c4fb27, 162), (0xb0de65388cc8ada8, 189),
    (0x83c7088e1aab65db, 216), (0xc45d1df942711d9a, 242), (0x924d692ca61be758, 269),
    (0xda01ee641a708dea, 295), (0xa26da3999aef774a, 322), (0xf209787bb47d6b85, 348),
    (0xb454e4a179dd1877, 375), (0x865b86925b9bc5c2, 402), (0xc83553c5c8965d3d, 428),
    (0x952ab45cfa97a0b3, 455), (0xde469fbd99a05fe3, 481), (0xa59bc234db398c25, 508),
    (0xf6c69a72a3989f5c, 534), (0xb7dcbf5354e9bece, 561), (0x88fcf317f22241e2, 588),
    (0xcc20ce9bd35c78a5, 614), (0x98165af37b2153df, 641), (0xe2a0b5dc971f303a, 667),
    (0xa8d9d1535ce3b396, 694), (0xfb9b7cd9a4a7443c, 720), (0xbb764c4ca7a44410, 747),
    (0x8bab8eefb6409c1a, 774), (0xd01fef10a657842c, 800), (0x9b10a4e5e9913129, 827),
    (0xe7109bfba19c0c9d, 853), (0xac2820d9623bf429, 880), (0x80444b5e7aa7cf85, 907),
    (0xbf21e44003acdd2d, 933), (0x8e679c2f5e44ff8f, 960), (0xd433179d9c8cb841, 986),
    (0x9e19db92b4e31ba9, 1013), (0xeb96bf6ebadf77d9, 1039), (0xaf87023b9bf0ee6b, 1066),
];

/// The cached power `(c, k)`, `c ≈ 10^k`, that brings a number with binary exponent `e`
/// into [ALPHA, GAMMA].
fn cached_power(e: i32) -> Option<(DiyFp, i32)> {
    // First guess from log10(2), refined by stepping through the table.
    let approx = (f64::from(-(e + 87)) * 0.301_029_995_663_981_14) as i32;
    let mut index = (approx - FIRST_POWER) / POWER_STEP;
    loop {
        let &(f, power_e) = CACHED_POWERS.get(usize::try_from(index).ok()?)?;
        let scaled = e + power_e + 64;
        if scaled < ALPHA {
            index += 1;
        } else if scaled > GAMMA {
            index -= 1;
        } else {
            return Some((DiyFp { f, e: power_e }, FIRST_POWER + index * POWER_STEP));
        }
    }
}

/// Up to 17 significant digits (room for a few more, never used).
struct DigitBuf {
    digits: [u8; 24],
    len: usize,
}

impl DigitBuf {
    fn push(&mut self, digit: u8) {
        if let Some(slot) = self.digits.get_mut(self.len) {
            *slot = b'0' + digit;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    /// Moves the last digit down while that brings the number closer to `v` and keeps
    /// it inside the rounding interval (Grisu's "weeding").
    fn round_last(&mut self, delta: u64, mut rest: u64, ten_kappa: u64, w_dist: u64) {
        let Some(last) = self.len.checked_sub(1).and_then(|i| self.digits.get_mut(i)) else {
            return;
        };
        while rest < w_dist
            && delta.wrapping_sub(rest) >= ten_kappa
            && (rest.wrapping_add(ten_kappa) < w_dist
                || w_dist.wrapping_sub(rest) > rest.wrapping_add(ten_kappa).wrapping_sub(w_dist))
        {
            *last = last.wrapping_sub(1);
            rest = rest.wrapping_add(ten_kappa);
        }
    }
}

/// Generates the digits of the scaled upper boundary until they pin down a number within
/// `delta` of it. Returns the decimal exponent adjustment.
fn generate_digits(w: DiyFp, upper: DiyFp, lower: DiyFp, out: &mut DigitBuf) -> i32 {
    let shift = -upper.e; // in 32..=60, see ALPHA and GAMMA
    let one = 1u64 << shift;
    let mask = one - 1;
    let w_dist = upper.f.wrapping_sub(w.f);
    let mut delta = upper.f.wrapping_sub(lower.f);

    let mut integral = upper.f >> shift; // below 2^32
    let mut fractional = upper.f & mask;
    let mut kappa = 10;
    let mut divisor = 1_000_000_000u64;
    while kappa > 0 {
        let digit = integral / divisor;
        if digit != 0 || out.len != 0 {
            out.push(digit as u8);
        }
        integral %= divisor;
        kappa -= 1;
        let rest = (integral << shift).wrapping_add(fractional);
        if rest <= delta {
            out.round_last(delta, rest, divisor << shift, w_dist);
            return kappa;
        }
        divisor /= 10;
    }

    let mut unit = 10u64;
    loop {
        fractional = fractional.wrapping_mul(10);
        delta = delta.wrapping_mul(10);
        kappa -= 1;
        let digit = fractional >> shift;
        if digit != 0 || out.len != 0 {
            out.push(digit as u8);
        }
        fractional &= mask;
        if fractional < delta {
            out.round_last(delta, fractional, one, w_dist.wrapping_mul(unit));
            return kappa;
        }
        unit = unit.wrapping_mul(10);
    }
}

/// Shortest-ish digits of a finite, non-zero, positive-or-negative `d` and the decimal
/// exponent `k` such that `|d| ≈ digits × 10^k`.
fn grisu2(d: f64, out: &mut DigitBuf) -> Option<i32> {
    let v = DiyFp::from_f64(d);
    let (lower, upper) = boundaries(v);
    let v = v.normalized(HIDDEN_BIT, 64 - 52 - 1);
    let (c, k) = cached_power(upper.e)?;
    let w = v.mul(c);
    let mut upper = upper.mul(c);
    let mut lower = lower.mul(c);
    // Stay strictly inside the interval: the products may be off by one unit.
    lower.f = lower.f.wrapping_add(1);
    upper.f = upper.f.wrapping_sub(1);
    Some(generate_digits(w, upper, lower, out) - k)
}

/// Formats a finite, non-zero `d` the way fpconv's `fpconv_dtoa` lays out its digits.
fn grisu_format(d: f64, out: &mut Cursor<'_>) {
    let negative = d.is_sign_negative();
    if negative {
        out.push(b'-');
    }
    let mut digits = DigitBuf {
        digits: [0; 24],
        len: 0,
    };
    match grisu2(d, &mut digits) {
        Some(k) => layout(digits.as_slice(), k, negative, out),
        None => {
            // Unreachable for finite doubles (the table spans every exponent); keep a
            // correct if differently formatted answer rather than panic.
            use std::io::Write;
            let mut rest = [0u8; DOUBLE_BUF_LEN];
            let mut slice = &mut rest[..];
            let _ = write!(slice, "{:e}", d.abs());
            let written = DOUBLE_BUF_LEN - slice.len();
            out.push_all(&rest[..written]);
        }
    }
}

/// Places the digits: plain integer, plain decimal, or scientific notation, using
/// fpconv's thresholds (integers up to 7 trailing zeros, decimals down to 6 leading
/// zeros, a signed exponent of at least one digit otherwise).
fn layout(digits: &[u8], k: i32, negative: bool, out: &mut Cursor<'_>) {
    let count = digits.len() as i32;
    let exp = (k + count - 1).abs();

    if k >= 0 && exp < count + 7 {
        out.push_all(digits);
        out.push_zeros(k);
        return;
    }

    if k < 0 && (k > -7 || exp < 4) {
        let point = count + k;
        if point <= 0 {
            out.push_all(b"0.");
            out.push_zeros(-point);
            out.push_all(digits);
        } else {
            let (int_part, frac_part) = digits.split_at(point as usize);
            out.push_all(int_part);
            out.push(b'.');
            out.push_all(frac_part);
        }
        return;
    }

    // fpconv caps the mantissa at 17 digits (with a sign); Grisu2 never produces more.
    let cap = if negative { 17 } else { 18 };
    let shown = digits.len().min(cap);
    let (first, rest) = digits[..shown].split_at(1.min(shown));
    out.push_all(first);
    if !rest.is_empty() {
        out.push(b'.');
        out.push_all(rest);
    }
    out.push(b'e');
    out.push(if k + shown as i32 - 1 < 0 { b'-' } else { b'+' });
    let mut exp = exp;
    let hundreds = exp / 100;
    if hundreds > 0 {
        out.push(b'0' + hundreds as u8);
        exp -= hundreds * 100;
    }
    if exp > 9 {
        out.push(b'0' + (exp / 10) as u8);
        exp %= 10;
    } else if hundreds > 0 {
        out.push(b'0');
    }
    out.push(b'0' + (exp % 10) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(d: f64) -> String {
        let mut buf = [0u8; DOUBLE_BUF_LEN];
        String::from_utf8(format_double(d, &mut buf).to_vec()).unwrap()
    }

    #[test]
    fn special_values() {
        assert_eq!(fmt(f64::NAN), "nan");
        assert_eq!(fmt(-f64::NAN), "nan");
        assert_eq!(fmt(f64::INFINITY), "inf");
        assert_eq!(fmt(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(-0.0), "-0");
    }

    #[test]
    fn integral_values_print_as_integers() {
        assert_eq!(fmt(3.0), "3");
        assert_eq!(fmt(-3.0), "-3");
        assert_eq!(fmt(1e15), "1000000000000000");
        assert_eq!(fmt(1e18), "1000000000000000000");
        // 2^62 is the rounded bound itself, still printed by ll2string.
        assert_eq!(fmt(4611686018427387904.0), "4611686018427387904");
        assert_eq!(fmt(-4611686018427387904.0), "-4611686018427387904");
        // 2^63 is past it: Grisu2 digits, padded with zeros.
        assert_eq!(fmt(9223372036854775808.0), "9223372036854776000");
    }

    /// Expected strings as produced by Redis's own `d2string` and `fpconv_dtoa` (the same
    /// code, compiled from Redis's sources, agreed with this module on a million
    /// doubles of assorted shapes).
    #[test]
    fn matches_redis_reference() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (-0.1, "-0.1"),
            (1.5, "1.5"),
            (0.3, "0.3"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e300, "1e+300"),
            (-1e300, "-1e+300"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e-6, "0.000001"),
            (1.234e-6, "1.234e-6"),
            (0.000123, "0.000123"),
            (-2.5e-5, "-0.000025"),
            (123456.789, "123456.789"),
            (12345678.9, "12345678.9"),
            (std::f64::consts::PI, "3.141592653589793"),
            (1.2345678901234567e-5, "1.2345678901234568e-5"),
            (1.2345e-10, "1.2345e-10"),
            (1e19, "1e+19"),
            (1e21, "1e+21"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (1.234567e16, "12345670000000000"),
            (1.2345678901234568e20, "123456789012345680000"),
            // Grisu2 is not always shortest: Redis prints 1e23 this way, and so must we.
            (1e23, "99999999999999990000000"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
        ];
        for &(d, want) in cases {
            assert_eq!(fmt(d), want, "formatting {d:e}");
        }
    }

    #[test]
    fn round_trips() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            // xorshift: cheap, deterministic bit patterns across the whole f64 range
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = f64::from_bits(x);
            if !d.is_finite() {
                continue;
            }
            let text = fmt(d);
            let back: f64 = text.parse().unwrap();
            assert_eq!(back.to_bits(), d.to_bits(), "{text}");
        }
    }

    #[test]
    fn every_exponent_finds_a_cached_power() {
        for biased in 0..2047u64 {
            for fraction in [0u64, 1, FRACTION_MASK] {
                let d = f64::from_bits((biased << 52) | fraction);
                if d == 0.0 {
                    continue;
                }
                let mut digits = DigitBuf {
                    digits: [0; 24],
                    len: 0,
                };
                assert!(grisu2(d, &mut digits).is_some(), "{d:e}");
                assert!(digits.len <= 17);
            }
        }
    }
}
