//! Glob-style pattern matching that gives the same answers as Redis 7's `stringmatchlen`
//! (the matcher behind KEYS, SCAN MATCH, PSUBSCRIBE and friends), malformed patterns
//! included, in time bounded by `pattern.len() * string.len()`.
//!
//! How the answers line up with Redis's recursive matcher:
//!
//! - Between two stars a pattern is a fixed run of one-byte matchers (`?`, a byte, an
//!   escaped byte, a class), so only stars can backtrack. Redis stops retrying earlier
//!   stars as soon as a later star has tried every position (its `skipLongerMatches`
//!   flag); that is the classic "remember only the last star" loop used below.
//! - Redis gives up (no match) when stars nest more than 1000 deep. Nesting only grows
//!   at a star that is not the pattern's last token, and such a star must be passed for
//!   the pattern to match, so a pattern with more than 1000 of them never matches.
//! - The matcher loop only runs while both pattern and string are non-empty, so an
//!   empty string matches only the empty pattern: `*` does not match `""`.
//! - Bytes in class ranges compare as C's signed `char`, so `[a-\xff]` is the range
//!   `\xff..=a` (-1 to 97), not `a..=\xff`.
//!
//! ```
//! use redcon::glob::{glob_match, glob_match_nocase};
//! assert!(glob_match(b"user:*:name", b"user:42:name"));
//! assert!(!glob_match(b"*", b"")); // as in Redis
//! assert!(glob_match_nocase(b"NEWS.*", b"news.sport"));
//! ```

/// Redis stops matching (no match) when stars nest deeper than this.
const MAX_STAR_NESTING: usize = 1000;

/// Whether `string` matches the glob `pattern`, exactly as Redis 7 decides for KEYS,
/// SCAN's MATCH, PSUBSCRIBE and PUBSUB CHANNELS.
///
/// - `*` matches any run of bytes, `?` any one byte.
/// - `[abc]` one of the listed bytes, `[a-z]` a range (reversed ranges like `[z-a]` work
///   too), `[^...]` any byte not listed; `\` takes the next byte literally, inside and
///   outside brackets.
/// - Malformed patterns get Redis's answers: a trailing `\` is a literal backslash, an
///   unclosed `[abc` acts as `[abc]`, `[]` matches nothing and `[^]` any byte.
/// - The empty string matches only the empty pattern (Redis's KEYS and SCAN treat the
///   pattern `*` as "everything" before calling the matcher; do the same if you need
///   `*` to cover an empty key).
///
/// Runs in `O(pattern.len() * string.len())` time without allocating, whatever the
/// pattern: `*a*a*a*a*a*b` against a long run of `a`s is not exponential.
///
/// ```
/// use redcon::glob_match;
/// assert!(glob_match(b"h?llo", b"hello"));
/// assert!(glob_match(b"h*llo", b"heeeello"));
/// assert!(glob_match(b"h[ae]llo", b"hallo"));
/// assert!(!glob_match(b"h[^e]llo", b"hello"));
/// assert!(glob_match(b"h[a-b]llo", b"hbllo"));
/// assert!(glob_match(b"news.\\*", b"news.*"));
/// assert!(!glob_match(b"news.\\*", b"news.sport"));
/// // Malformed patterns answer as Redis does.
/// assert!(glob_match(b"[abc", b"b"));
/// assert!(!glob_match(b"[]", b"]"));
/// assert!(glob_match(b"abc\\", b"abc\\"));
/// ```
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    matches(pattern, string, false)
}

/// Like [`glob_match`] but ignoring ASCII case, as Redis does for CONFIG GET and
/// COMMAND LIST FILTERBY PATTERN.
///
/// Only `A`-`Z` fold. As in Redis, a byte escaped with `\` inside brackets still
/// compares case-sensitively, and a range's ends are lowered after being put in order,
/// so `[a-Z]` (the range `Z..=a`) becomes the empty range `z..=a`.
///
/// ```
/// use redcon::glob::glob_match_nocase;
/// assert!(glob_match_nocase(b"CONFIG|G*", b"config|get"));
/// assert!(glob_match_nocase(b"[F-H]et", b"GET"));
/// assert!(!glob_match_nocase(b"[\\G]et", b"get"));
/// ```
pub fn glob_match_nocase(pattern: &[u8], string: &[u8]) -> bool {
    matches(pattern, string, true)
}

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'p> {
    /// A run of one or more `*`.
    Star,
    /// `?`.
    Any,
    /// A byte, possibly escaped with `\`.
    Byte(u8),
    /// `[...]`. `members` runs from the first member to the end of the pattern; the
    /// class ends where [`next_member`] says so.
    Class { negate: bool, members: &'p [u8] },
}

/// One member of a bracket class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    /// `\x`: compared case-sensitively even when ignoring case, as Redis does.
    Escaped(u8),
    /// A byte.
    Byte(u8),
    /// `lo-hi`, in either order.
    Range(u8, u8),
}

/// Splits the first token off `pattern`, or `None` when it is empty.
fn split_token(pattern: &[u8]) -> Option<(Token<'_>, &[u8])> {
    match pattern {
        [] => None,
        [b'*', ..] => {
            let mut rest = pattern;
            while let [b'*', tail @ ..] = rest {
                rest = tail;
            }
            Some((Token::Star, rest))
        }
        [b'?', rest @ ..] => Some((Token::Any, rest)),
        [b'[', rest @ ..] => {
            let (negate, members) = match rest {
                [b'^', members @ ..] => (true, members),
                _ => (false, rest),
            };
            Some((Token::Class { negate, members }, class_end(members)))
        }
        // A trailing `\` has nothing to escape and stands for itself (next arm).
        [b'\\', b, rest @ ..] => Some((Token::Byte(*b), rest)),
        [b, rest @ ..] => Some((Token::Byte(*b), rest)),
    }
}

/// Splits the first member off a class, or returns the pattern after the class.
///
/// The order of the arms is Redis's: an escape wins over `]`, `]` over a range, and a
/// class that reaches the end of the pattern unclosed simply ends there. A `-` that is
/// not between two bytes is a plain member.
fn next_member(members: &[u8]) -> Result<(Member, &[u8]), &[u8]> {
    match members {
        [b'\\', b, rest @ ..] => Ok((Member::Escaped(*b), rest)),
        [b']', rest @ ..] => Err(rest),
        [] => Err(members),
        [lo, b'-', hi, rest @ ..] => Ok((Member::Range(*lo, *hi), rest)),
        [b, rest @ ..] => Ok((Member::Byte(*b), rest)),
    }
}

/// The pattern after the class whose members start at `members`.
fn class_end(mut members: &[u8]) -> &[u8] {
    loop {
        match next_member(members) {
            Ok((_, rest)) => members = rest,
            Err(after) => return after,
        }
    }
}

/// Compares two bytes, folding ASCII case if asked.
fn same_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Redis reads bytes through C's (signed on the platforms it runs on) `char`, and ranges
/// compare those signed values; lowering only touches `A`-`Z`.
fn signed(b: u8, nocase: bool) -> i8 {
    let b = if nocase { b.to_ascii_lowercase() } else { b };
    i8::from_ne_bytes([b])
}

impl Member {
    fn matches(self, c: u8, nocase: bool) -> bool {
        match self {
            Member::Escaped(b) => b == c,
            Member::Byte(b) => same_byte(b, c, nocase),
            Member::Range(lo, hi) => {
                // Ordered before lowering, as Redis does: `[a-Z]` ignoring case is empty.
                let (lo, hi) = if signed(lo, false) > signed(hi, false) {
                    (hi, lo)
                } else {
                    (lo, hi)
                };
                (signed(lo, nocase)..=signed(hi, nocase)).contains(&signed(c, nocase))
            }
        }
    }
}

impl Token<'_> {
    /// Whether this one-byte token accepts `c`; a star accepts nothing here (the
    /// matching loop handles stars).
    fn matches(self, c: u8, nocase: bool) -> bool {
        match self {
            Token::Star => false,
            Token::Any => true,
            Token::Byte(b) => same_byte(b, c, nocase),
            Token::Class {
                negate,
                mut members,
            } => {
                while let Ok((member, rest)) = next_member(members) {
                    if member.matches(c, nocase) {
                        return !negate;
                    }
                    members = rest;
                }
                negate
            }
        }
    }
}

/// How deeply Redis's matcher would nest for `pattern`: the number of star runs that
/// are not the pattern's last token (a last star returns "match" without nesting).
fn star_nesting(mut pattern: &[u8]) -> usize {
    let mut depth = 0;
    while let Some((token, rest)) = split_token(pattern) {
        if token == Token::Star && !rest.is_empty() {
            depth += 1;
        }
        pattern = rest;
    }
    depth
}

fn matches(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    if star_nesting(pattern) > MAX_STAR_NESTING {
        return false;
    }
    let (mut pat, mut s) = (pattern, string);
    // The pattern after the latest star, and where in the string it was last tried.
    // Earlier stars are never retried: a later star has already tried the rest of the
    // pattern at every later position, and a longer match for an earlier star could
    // only bring the later star further right.
    let mut resume: Option<(&[u8], &[u8])> = None;
    loop {
        match (split_token(pat), s.split_first()) {
            (None, None) => return true,
            // A last star takes whatever is left, even nothing.
            (Some((Token::Star, [])), _) => return true,
            (Some((Token::Star, rest)), Some(_)) => {
                resume = Some((rest, s));
                pat = rest;
                continue;
            }
            (Some((token, rest)), Some((&c, s_rest))) if token.matches(c, nocase) => {
                pat = rest;
                s = s_rest;
                continue;
            }
            // A mismatch, pattern left over at the end of the string, or string left
            // over at the end of the pattern: let the latest star take one more byte.
            _ => {}
        }
        // Like Redis, the rest after a star is tried only against non-empty suffixes
        // (it starts with a one-byte token, so an empty one could not match anyway).
        match resume.and_then(|(after, start)| Some((after, start.split_first()?.1))) {
            Some((after, next)) if !next.is_empty() => {
                resume = Some((after, next));
                pat = after;
                s = next;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    /// Redis's recursive matcher restated step by step (its nesting limit and its
    /// early exit included), over raw bytes and without the tokenizer above, so the
    /// two can be compared on small inputs.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        let mut give_up = false;
        reference_at(p, s, nocase, &mut give_up, 0)
    }

    fn lower(b: u8, nocase: bool) -> i32 {
        let b = if nocase { b.to_ascii_lowercase() } else { b };
        i32::from(b as i8)
    }

    fn reference_at(
        mut p: &[u8],
        mut s: &[u8],
        nocase: bool,
        give_up: &mut bool,
        depth: usize,
    ) -> bool {
        if depth > 1000 {
            return false;
        }
        while !p.is_empty() && !s.is_empty() {
            let c = s[0];
            match p[0] {
                b'*' => {
                    while p.get(1) == Some(&b'*') {
                        p = &p[1..];
                    }
                    if p.len() == 1 {
                        return true;
                    }
                    while !s.is_empty() {
                        if reference_at(&p[1..], s, nocase, give_up, depth + 1) {
                            return true;
                        }
                        if *give_up {
                            return false;
                        }
                        s = &s[1..];
                    }
                    *give_up = true;
                    return false;
                }
                b'?' => p = &p[1..],
                b'[' => {
                    let negate = p.get(1) == Some(&b'^');
                    let mut i = if negate { 2 } else { 1 };
                    let mut hit = false;
                    loop {
                        let left = p.len() - i;
                        if left >= 2 && p[i] == b'\\' {
                            i += 1;
                            hit |= p[i] == c;
                        } else if left >= 1 && p[i] == b']' {
                            break;
                        } else if left == 0 {
                            i -= 1;
                            break;
                        } else if left >= 3 && p[i + 1] == b'-' {
                            let (mut lo, mut hi) = (p[i], p[i + 2]);
                            if (lo as i8) > (hi as i8) {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            let x = lower(c, nocase);
                            hit |= lower(lo, nocase) <= x && x <= lower(hi, nocase);
                            i += 2;
                        } else {
                            hit |= lower(p[i], nocase) == lower(c, nocase);
                        }
                        i += 1;
                    }
                    if hit == negate {
                        return false;
                    }
                    p = &p[i + 1..];
                }
                b'\\' if p.len() >= 2 => {
                    if lower(p[1], nocase) != lower(c, nocase) {
                        return false;
                    }
                    p = &p[2..];
                }
                b => {
                    if lower(b, nocase) != lower(c, nocase) {
                        return false;
                    }
                    p = &p[1..];
                }
            }
            s = &s[1..];
            if s.is_empty() {
                while p.first() == Some(&b'*') {
                    p = &p[1..];
                }
            }
        }
        p.is_empty() && s.is_empty()
    }

    fn both(p: &[u8], s: &[u8]) {
        for nocase in [false, true] {
            assert_eq!(
                matches(p, s, nocase),
                reference(p, s, nocase),
                "pattern {:?} string {:?} nocase {nocase}",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(s),
            );
        }
    }

    /// Every pattern of up to 4 bytes over the special characters against every
    /// string of up to 3 bytes.
    #[test]
    fn agrees_with_reference_exhaustively() {
        fn all(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
            let mut out = vec![Vec::new()];
            let mut last = vec![Vec::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| {
                        alphabet.iter().map(move |&b| {
                            let mut w = w.clone();
                            w.push(b);
                            w
                        })
                    })
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let strings = all(b"aB]-\\", 3);
        for p in all(b"ab*?[]^-\\", 4) {
            for s in &strings {
                both(&p, s);
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_reference(
            p in proptest::collection::vec(
                proptest::sample::select(b"abA*?[]^-\\\x80\xff".to_vec()), 0..14),
            s in proptest::collection::vec(
                proptest::sample::select(b"abA]-^\\[\x80\xff".to_vec()), 0..12),
        ) {
            both(&p, &s);
        }
    }

    #[test]
    fn star_nesting_limit_matches_reference() {
        let stars = |unit: &[u8], n: usize| unit.repeat(n);
        let a = |n: usize| vec![b'a'; n];
        for (p, s, expected) in [
            (stars(b"*a", 1000), a(1000), true),
            (stars(b"*a", 1001), a(1001), false),
            ([stars(b"*a", 1001), b"*".to_vec()].concat(), a(1001), false),
            ([stars(b"*a", 1000), b"*".to_vec()].concat(), a(1000), true),
            (stars(b"a*", 1001), a(1001), true),
            (stars(b"a*", 1002), a(1002), false),
        ] {
            assert_eq!(glob_match(&p, &s), expected);
            assert_eq!(reference(&p, &s, false), expected);
        }
    }

    #[test]
    fn star_nesting_counts_tokens_not_bytes() {
        assert_eq!(star_nesting(b""), 0);
        assert_eq!(star_nesting(b"*"), 0);
        assert_eq!(star_nesting(b"***a"), 1);
        assert_eq!(star_nesting(b"*a*"), 1);
        assert_eq!(star_nesting(b"[*]\\**"), 0);
        assert_eq!(star_nesting(b"[a-]*]*b"), 1);
    }

    #[test]
    fn empty_string_matches_only_empty_pattern() {
        assert!(glob_match(b"", b""));
        assert!(!glob_match(b"*", b""));
        assert!(!glob_match(b"", b"a"));
        assert!(glob_match(b"a*", b"a"));
    }

    #[test]
    fn ranges_compare_signed_bytes() {
        assert!(glob_match(b"[a-\xff]", b"\xff"));
        assert!(glob_match(b"[a-\xff]", b"\x00"));
        assert!(!glob_match(b"[a-\xff]", b"b"));
        assert!(glob_match(b"[\x80-\xff]", b"\x90"));
        assert!(!glob_match_nocase(b"[a-Z]", b"_"));
        assert!(glob_match(b"[a-Z]", b"_"));
    }

    #[test]
    fn nocase_keeps_bracket_escapes_exact() {
        assert!(glob_match_nocase(b"\\G", b"g"));
        assert!(!glob_match_nocase(b"[\\G]", b"g"));
        assert!(glob_match_nocase(b"[G]", b"g"));
    }

    fn time(p: &[u8], s: &[u8]) -> (bool, Duration) {
        let start = Instant::now();
        let m = glob_match(p, s);
        (m, start.elapsed())
    }

    #[test]
    fn no_exponential_blowup() {
        let a = vec![b'a'; 10_000];
        let (m, took) = time(b"*a*a*a*a*a*a*a*a*a*b", &a);
        assert!(!m);
        assert!(took < Duration::from_millis(500), "took {took:?}");
        let ab = [a.as_slice(), b"b"].concat();
        let (m, took) = time(b"*a*a*a*a*a*a*a*a*a*b", &ab);
        assert!(m);
        assert!(took < Duration::from_millis(500), "took {took:?}");
        let (m, took) = time(&b"a*".repeat(500), &a[..2000]);
        assert!(m);
        assert!(took < Duration::from_millis(500), "took {took:?}");
    }
}
