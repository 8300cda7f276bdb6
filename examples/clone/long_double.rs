//! INCRBYFLOAT's arithmetic, as Redis 7.0 does it on x86-64: the stored value and the
//! increment are read with `strtold` into an 80-bit long double (a 64-bit significand),
//! added, and printed with `%.17Lf`, trailing zeros and point removed. The digits
//! clients see depend on every rounding step (`10.5` + `0.1` is `10.6`, but
//! `5000.1` + `0` shows the binary error: `5000.10000000000000009`), so each step is
//! done here exactly as the hardware and glibc do it: correctly rounded parsing,
//! round-to-nearest-even addition, exact decimal printing.

use std::cmp::Ordering;

/// A finite 80-bit value: `(-1)^neg * mant * 2^exp`, `mant` normalised (top bit set)
/// unless the value is zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i64,
}

/// Why a long double could not be had.
#[derive(Debug, PartialEq)]
pub(crate) enum Error {
    /// Not a number `strtold` reads in full, or out of its range (Redis's string2ld).
    Invalid,
    /// Infinite (`inf` parses; a sum can overflow).
    Infinite,
}

/// The largest and smallest exponents of a normalised 64-bit significand.
const MAX_EXP: i64 = 16384 - 64;
const MIN_EXP: i64 = -16382 - 63;

/// A little-endian arbitrary-precision unsigned integer, just what is needed here.
#[derive(Clone, Debug, Default)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut n: u128) -> Big {
        let mut v = Vec::new();
        while n > 0 {
            v.push(n as u32);
            n >>= 32;
        }
        Big(v)
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|w| w >> (i % 32) & 1 == 1)
    }

    /// Whether any bit below `i` is set.
    fn any_below(&self, i: u64) -> bool {
        (0..i).any(|b| self.bit(b))
    }

    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for w in &mut self.0 {
            let x = u64::from(*w) * u64::from(m) + carry;
            *w = x as u32;
            carry = x >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn shl(&self, n: u64) -> Big {
        let (words, bits) = ((n / 32) as usize, n % 32);
        let mut v = vec![0u32; words];
        let mut carry = 0u32;
        for &w in &self.0 {
            v.push(if bits == 0 { w } else { (w << bits) | carry });
            carry = if bits == 0 { 0 } else { w >> (32 - bits) };
        }
        v.push(carry);
        let mut b = Big(v);
        b.trim();
        b
    }

    /// The bits from `from` up, as a u128 (the caller knows they fit).
    fn bits_from(&self, from: u64) -> u128 {
        (from..self.bits())
            .filter(|&i| self.bit(i))
            .fold(0u128, |acc, i| acc | 1u128 << (i - from))
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, w) in self.0.iter_mut().enumerate() {
            let x = i64::from(*w) - i64::from(*other.0.get(i).unwrap_or(&0)) - borrow;
            borrow = i64::from(x < 0);
            *w = x.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }

    /// `self / d` (d > 0) as a u128 quotient (the caller sizes it to fit) and whether a
    /// remainder is left: restoring division, one bit of the dividend at a time.
    fn div(&self, d: &Big) -> (u128, bool) {
        let mut r = Big::default();
        let mut q = 0u128;
        for i in (0..self.bits()).rev() {
            r = r.shl(1);
            if self.bit(i) {
                if r.0.is_empty() {
                    r.0.push(0);
                }
                r.0[0] |= 1;
            }
            q <<= 1;
            if r.cmp(d) != Ordering::Less {
                r.sub_assign(d);
                q |= 1;
            }
        }
        (q, !r.is_zero())
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut parts = Vec::new();
        while !n.is_zero() {
            let mut rem = 0u64;
            for w in n.0.iter_mut().rev() {
                let x = (rem << 32) | u64::from(*w);
                *w = (x / 1_000_000_000) as u32;
                rem = x % 1_000_000_000;
            }
            n.trim();
            parts.push(rem);
        }
        let mut s = parts.pop().map_or("0".to_string(), |p| p.to_string());
        for p in parts.iter().rev() {
            s += &format!("{p:09}");
        }
        s
    }
}

/// `x * 2^exp`, plus something below x's last bit if `sticky`, rounded to 64 bits
/// (ties to even) and range-checked.
fn round(x: u128, sticky: bool, exp: i64, neg: bool) -> Result<LongDouble, Error> {
    if x == 0 {
        return Ok(LongDouble {
            neg,
            mant: 0,
            exp: 0,
        });
    }
    let len = 128 - i64::from(x.leading_zeros());
    let (mut mant, mut exp) = if len <= 64 {
        ((x << (64 - len)) as u64, exp - (64 - len))
    } else {
        let shift = len - 64;
        let top = (x >> shift) as u64;
        let half = 1u128 << (shift - 1);
        let rest = x & ((1u128 << shift) - 1);
        let up = rest > half || (rest == half && (sticky || top & 1 == 1));
        // A carry out of the top bit leaves 0, fixed just below.
        (top.wrapping_add(u64::from(up)), exp + shift)
    };
    if mant == 0 {
        (mant, exp) = (1 << 63, exp + 1);
    }
    if exp > MAX_EXP {
        return Err(Error::Infinite);
    }
    if exp < MIN_EXP {
        // Subnormal results are not reproduced: only sums of values near 1e-4930 reach them.
        return Err(Error::Invalid);
    }
    Ok(LongDouble { neg, mant, exp })
}

/// A big integer times `2^exp`, rounded.
fn round_big(x: &Big, exp: i64, neg: bool) -> Result<LongDouble, Error> {
    let bits = x.bits() as i64;
    if bits <= 126 {
        return round(x.bits_from(0), false, exp, neg);
    }
    // Keep 126 bits; what lies below only matters as a sticky bit.
    let drop = (bits - 126) as u64;
    round(x.bits_from(drop), x.any_below(drop), exp + drop as i64, neg)
}

impl LongDouble {
    /// Reads `s` as Redis's string2ld does: the whole string must be what glibc's
    /// `strtold` reads (decimal or hexadecimal, `inf` / `infinity`), no leading space,
    /// not NaN, not out of range.
    pub(crate) fn parse(s: &[u8]) -> Result<LongDouble, Error> {
        let (neg, body) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Err(Error::Infinite);
        }
        if lower.starts_with(b"0x") {
            return parse_digits(&body[2..], 16, b'p', neg);
        }
        parse_digits(body, 10, b'e', neg)
    }

    /// `(long long) ceill(self * 1000.0)`, as Redis 7.0 computes a timeout in
    /// milliseconds from seconds: the product rounded to a long double, then rounded up
    /// (so `0.0001` is 1 ms but `-0.0001` is 0, no limit). `None` where the conversion
    /// overflows (x86 then yields `LLONG_MIN`, which Redis reports as a negative
    /// timeout).
    pub(crate) fn millis(self) -> Option<i64> {
        let product = round(u128::from(self.mant) * 1000, false, self.exp, self.neg).ok()?;
        let (whole, frac): (u128, bool) = if product.exp >= 0 {
            let e = u32::try_from(product.exp).ok().filter(|&e| e < 64)?;
            (u128::from(product.mant) << e, false)
        } else {
            let e = product.exp.unsigned_abs();
            if e >= 64 {
                (0, product.mant != 0)
            } else {
                let m = u128::from(product.mant);
                (m >> e, m & ((1u128 << e) - 1) != 0)
            }
        };
        let n = i64::try_from(whole).ok()?;
        Some(match (product.neg, frac) {
            (true, _) => -n,
            (false, true) => n.checked_add(1)?,
            (false, false) => n,
        })
    }

    /// `self + other`, rounded to the nearest long double (ties to even).
    pub(crate) fn add(self, other: LongDouble) -> Result<LongDouble, Error> {
        if other.mant == 0 {
            return Ok(if self.mant == 0 {
                LongDouble {
                    neg: self.neg && other.neg,
                    ..self
                }
            } else {
                self
            });
        }
        if self.mant == 0 {
            return Ok(other);
        }
        let (a, b) = if self.exp >= other.exp {
            (self, other)
        } else {
            (other, self)
        };
        // 62 spare bits below a's significand hold b's bits and the rounding bits.
        let d = (a.exp - b.exp) as u64;
        let big_a = u128::from(a.mant) << 62;
        let b_full = u128::from(b.mant) << 62;
        let (big_b, sticky) = if d >= 127 {
            (0, true)
        } else {
            (b_full >> d, b_full & ((1u128 << d) - 1) != 0)
        };
        let exp = a.exp - 62;
        if a.neg == b.neg {
            return round(big_a + big_b, sticky, exp, a.neg);
        }
        // Different signs: when bits of b were dropped, the exact difference is one
        // unit less plus a fraction, which the sticky bit stands for.
        match big_a.cmp(&big_b) {
            Ordering::Equal if !sticky => Ok(LongDouble {
                neg: false,
                mant: 0,
                exp: 0,
            }),
            Ordering::Less => round(big_b - big_a, false, exp, b.neg),
            _ => round(big_a - big_b - u128::from(sticky), sticky, exp, a.neg),
        }
    }

    /// `%.17Lf` with trailing zeros (and a bare point) removed, `-0` shown as `0`:
    /// Redis's ld2string in its human mode.
    pub(crate) fn to_human(self) -> String {
        let (int, frac) = if self.exp >= 0 {
            (
                Big::from_u128(u128::from(self.mant))
                    .shl(self.exp as u64)
                    .to_decimal(),
                0,
            )
        } else {
            let e = (-self.exp) as u64;
            let int = if e >= 64 { 0 } else { self.mant >> e };
            let low = if e >= 64 {
                self.mant
            } else {
                self.mant & ((1u64 << e) - 1)
            };
            let scaled = u128::from(low) * 100_000_000_000_000_000;
            let digits = if e > 127 {
                0
            } else {
                let q = scaled >> e;
                let rest = scaled & ((1u128 << e) - 1);
                let half = 1u128 << (e - 1);
                q + u128::from(rest > half || (rest == half && q & 1 == 1))
            };
            if digits == 100_000_000_000_000_000 {
                ((u128::from(int) + 1).to_string(), 0)
            } else {
                (int.to_string(), digits)
            }
        };
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s += &int;
        if frac > 0 {
            let f = format!("{frac:017}");
            s.push('.');
            s += f.trim_end_matches('0');
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

/// The digits of a decimal (`e` exponent, base 10) or hexadecimal (`p` exponent, a
/// power of two) number, rounded once.
fn parse_digits(s: &[u8], base: u32, exp_char: u8, neg: bool) -> Result<LongDouble, Error> {
    let mut n = Big::default();
    // The value is n * base^-fraction_digits * (10 or 2)^exponent.
    let (mut any, mut point, mut fraction_digits, mut exponent) = (false, false, 0i64, 0i64);
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !point {
            point = true;
        } else if let Some(d) = (c as char).to_digit(base) {
            any = true;
            n.mul_add(base, d);
            n.trim();
            if point {
                fraction_digits += 1;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any {
        return Err(Error::Invalid);
    }
    if i < s.len() {
        if !s[i].eq_ignore_ascii_case(&exp_char) {
            return Err(Error::Invalid);
        }
        let e = &s[i + 1..];
        let (eneg, digits) = match e.first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(Error::Invalid);
        }
        // Past 10^6 any non-zero number is out of range; keep the arithmetic small.
        let v = digits.iter().fold(0i64, |acc, d| {
            (acc * 10 + i64::from(d - b'0')).min(1_000_000)
        });
        exponent = if eneg { -v } else { v };
    }
    if n.is_zero() {
        return Ok(LongDouble {
            neg,
            mant: 0,
            exp: 0,
        });
    }
    let result = if base == 16 {
        round_big(&n, exponent - 4 * fraction_digits, neg)
    } else {
        decimal(&n, exponent - fraction_digits, neg)
    };
    // strtold's overflow (HUGE_VAL) and underflow are both refused by string2ld.
    result.map_err(|_| Error::Invalid)
}

/// `n * 10^scale`, correctly rounded.
fn decimal(n: &Big, scale: i64, neg: bool) -> Result<LongDouble, Error> {
    let digits = n.to_decimal().len() as i64;
    if digits + scale > 4940 {
        return Err(Error::Infinite);
    }
    if digits + scale < -4960 {
        return Err(Error::Invalid);
    }
    if scale >= 0 {
        let mut x = n.clone();
        for _ in 0..scale {
            x.mul_add(10, 0);
        }
        return round_big(&x, 0, neg);
    }
    let mut pow = Big::from_u128(1);
    for _ in 0..-scale {
        pow.mul_add(10, 0);
    }
    // n / 10^k: scale n up so that the quotient has 66 to 67 bits, divide, and let the
    // remainder be the sticky bit.
    let shift = (pow.bits() as i64 - n.bits() as i64 + 66).max(0) as u64;
    let (q, rest) = n.shl(shift).div(&pow);
    round(q, rest, -(shift as i64), neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(a: &str, b: &str) -> String {
        let x = LongDouble::parse(a.as_bytes()).unwrap();
        let y = LongDouble::parse(b.as_bytes()).unwrap();
        x.add(y).unwrap().to_human()
    }

    #[test]
    fn redis_examples() {
        assert_eq!(human("10.50", "0.1"), "10.6");
        assert_eq!(human("10.6", "-5"), "5.6");
        assert_eq!(human("5.0e3", "2.0e2"), "5200");
        assert_eq!(human("0", "0"), "0");
        assert_eq!(human("-0", "-0"), "0");
    }
}
