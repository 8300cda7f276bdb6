//! The reply parser behind [`parse_value`](super::parse_value).
//!
//! It keeps an explicit stack of open aggregates instead of recursing, so the depth of
//! the input never touches the thread's stack; the depth limit exists to bound the
//! recursion of whoever later drops or walks the value. Aggregates grow as their
//! elements arrive, with any up-front capacity capped by the bytes actually present.

use super::{Value, ValueError};
use memchr::memchr;
use std::mem;

/// Longest line a length, count or integer can need: a sign and 19 digits, with slack
/// for leading zeros. A longer line without CR cannot become valid.
const MAX_NUMBER_LINE: usize = 32;

/// The shortest encoded value (`_\r\n`), used to cap capacities by the bytes present.
const MIN_VALUE_LEN: usize = 3;

pub(super) fn parse(
    input: &[u8],
    max_depth: usize,
) -> Result<Option<(Value<'_>, usize)>, ValueError> {
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut pos = 0;
    loop {
        let Some((item, next)) = parse_item(input, pos)? else {
            return Ok(None);
        };
        pos = next;
        let mut done = match item {
            Item::Value(v) => v,
            Item::Open(kind, count) => {
                if stack.len() >= max_depth {
                    return Err(ValueError::TooDeep { max_depth });
                }
                let room = input.len().saturating_sub(pos) / MIN_VALUE_LEN;
                match Frame::open(kind, count, room) {
                    Opened::Empty(v) => v,
                    Opened::Frame(frame) => {
                        stack.push(frame);
                        continue;
                    }
                }
            }
        };
        // Hand the finished value to its parent, closing every aggregate it completes.
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Some((done, pos)));
            };
            match top.accept(done) {
                None => break,
                Some(finished) => {
                    stack.pop();
                    done = finished;
                }
            }
        }
    }
}

/// What one header line (plus, for strings, its data) produced.
enum Item<'a> {
    Value(Value<'a>),
    Open(Kind, usize),
}

#[derive(Clone, Copy)]
enum Kind {
    Array,
    Set,
    Push,
    Map,
    Attribute,
}

/// An aggregate still waiting for elements.
enum Frame<'a> {
    Seq {
        kind: Kind,
        left: usize,
        items: Vec<Value<'a>>,
    },
    Pairs {
        attribute: bool,
        left: usize,
        key: Option<Value<'a>>,
        pairs: Vec<(Value<'a>, Value<'a>)>,
    },
    /// An attribute whose pairs are complete, waiting for the value it annotates.
    Annotating {
        attributes: Vec<(Value<'a>, Value<'a>)>,
    },
}

enum Opened<'a> {
    Empty(Value<'a>),
    Frame(Frame<'a>),
}

impl<'a> Frame<'a> {
    /// A frame for `count` elements (pairs for maps and attributes); `room` is how many
    /// values the rest of the input could hold at most.
    fn open(kind: Kind, count: usize, room: usize) -> Opened<'a> {
        match kind {
            Kind::Array | Kind::Set | Kind::Push if count == 0 => {
                Opened::Empty(seq_value(kind, Vec::new()))
            }
            Kind::Array | Kind::Set | Kind::Push => Opened::Frame(Frame::Seq {
                kind,
                left: count,
                items: Vec::with_capacity(count.min(room)),
            }),
            Kind::Map if count == 0 => Opened::Empty(Value::Map(Vec::new())),
            Kind::Attribute if count == 0 => Opened::Frame(Frame::Annotating {
                attributes: Vec::new(),
            }),
            Kind::Map | Kind::Attribute => Opened::Frame(Frame::Pairs {
                attribute: matches!(kind, Kind::Attribute),
                left: count,
                key: None,
                pairs: Vec::with_capacity(count.min(room / 2)),
            }),
        }
    }

    /// Adds a finished element; returns the aggregate once it is complete.
    fn accept(&mut self, v: Value<'a>) -> Option<Value<'a>> {
        match self {
            Frame::Seq { kind, left, items } => {
                items.push(v);
                *left -= 1;
                (*left == 0).then(|| seq_value(*kind, mem::take(items)))
            }
            Frame::Pairs {
                attribute,
                left,
                key,
                pairs,
            } => {
                let Some(k) = key.take() else {
                    *key = Some(v);
                    return None;
                };
                pairs.push((k, v));
                *left -= 1;
                if *left > 0 {
                    return None;
                }
                let pairs = mem::take(pairs);
                if *attribute {
                    *self = Frame::Annotating { attributes: pairs };
                    None
                } else {
                    Some(Value::Map(pairs))
                }
            }
            Frame::Annotating { attributes } => Some(Value::Attribute {
                attributes: mem::take(attributes),
                value: Box::new(v),
            }),
        }
    }
}

fn seq_value(kind: Kind, items: Vec<Value<'_>>) -> Value<'_> {
    match kind {
        Kind::Set => Value::Set(items),
        Kind::Push => Value::Push(items),
        _ => Value::Array(items),
    }
}

/// Parses the item at `pos`; `Ok(None)` when the input ends before it does.
fn parse_item(input: &[u8], pos: usize) -> Result<Option<(Item<'_>, usize)>, ValueError> {
    let Some(&kind) = input.get(pos) else {
        return Ok(None);
    };
    let body = pos + 1;
    let number_line = |input| line(input, body, Some(MAX_NUMBER_LINE));
    let text_line = |input| line(input, body, None);

    let (item, next) = match kind {
        b'+' | b'-' | b'(' | b',' | b'_' | b'#' => {
            let Some((text, next)) = text_line(input)? else {
                return Ok(None);
            };
            (Item::Value(scalar(kind, text)?), next)
        }
        b':' => {
            let Some((text, next)) = number_line(input)? else {
                return Ok(None);
            };
            let n = parse_i64(text).ok_or(ValueError::InvalidInteger)?;
            (Item::Value(Value::Integer(n)), next)
        }
        b'$' | b'=' | b'!' => {
            let Some((text, next)) = number_line(input)? else {
                return Ok(None);
            };
            let Some(len) = length(text)? else {
                if kind == b'$' {
                    return Ok(Some((Item::Value(Value::NullBulk), next)));
                }
                return Err(ValueError::InvalidLength);
            };
            let Some((data, next)) = blob(input, next, len)? else {
                return Ok(None);
            };
            (Item::Value(blob_value(kind, data)?), next)
        }
        b'*' | b'%' | b'~' | b'|' | b'>' => {
            let Some((text, next)) = number_line(input)? else {
                return Ok(None);
            };
            let Some(count) = length(text)? else {
                if kind == b'*' {
                    return Ok(Some((Item::Value(Value::NullArray), next)));
                }
                return Err(ValueError::InvalidLength);
            };
            let kind = match kind {
                b'*' => Kind::Array,
                b'%' => Kind::Map,
                b'~' => Kind::Set,
                b'|' => Kind::Attribute,
                _ => Kind::Push,
            };
            (Item::Open(kind, count), next)
        }
        other => return Err(ValueError::UnknownType(other)),
    };
    Ok(Some((item, next)))
}

/// The line starting at `start` (without its CRLF) and the position after the CRLF.
/// With a `limit`, a line that has no CR within that many bytes is an error.
fn line(
    input: &[u8],
    start: usize,
    limit: Option<usize>,
) -> Result<Option<(&[u8], usize)>, ValueError> {
    let rest = input.get(start..).unwrap_or_default();
    let window = match limit {
        Some(limit) => rest.get(..limit).unwrap_or(rest),
        None => rest,
    };
    match memchr(b'\r', window) {
        Some(cr) => match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => Ok(Some((&rest[..cr], start + cr + 2))),
            Some(_) => Err(ValueError::MissingCrlf),
        },
        None if window.len() < rest.len() => Err(ValueError::InvalidLength),
        None => Ok(None),
    }
}

/// `len` bytes of data at `start` followed by CRLF.
fn blob(input: &[u8], start: usize, len: usize) -> Result<Option<(&[u8], usize)>, ValueError> {
    // No slice can be longer than isize::MAX bytes, so such a length can never arrive.
    let end = start
        .checked_add(len)
        .filter(|&end| end <= isize::MAX as usize - 2)
        .ok_or(ValueError::InvalidLength)?;
    let next = end + 2;
    match (input.get(start..end), input.get(end..next)) {
        (Some(data), Some(b"\r\n")) => Ok(Some((data, next))),
        (Some(_), Some(_)) => Err(ValueError::MissingCrlf),
        _ => Ok(None),
    }
}

/// A length or count: `Some(n)`, or `None` for `-1` (a RESP2 null where allowed).
fn length(text: &[u8]) -> Result<Option<usize>, ValueError> {
    if text == b"?" {
        return Err(ValueError::Streamed);
    }
    match parse_i64(text).ok_or(ValueError::InvalidLength)? {
        -1 => Ok(None),
        n => usize::try_from(n)
            .map(Some)
            .map_err(|_| ValueError::InvalidLength),
    }
}

/// The single-line types other than integers.
fn scalar(kind: u8, text: &[u8]) -> Result<Value<'_>, ValueError> {
    Ok(match kind {
        b'+' => Value::SimpleString(text),
        b'-' => Value::Error(text),
        b'_' if text.is_empty() => Value::Null,
        b'_' => return Err(ValueError::InvalidNull),
        b'#' => match text {
            b"t" => Value::Boolean(true),
            b"f" => Value::Boolean(false),
            _ => return Err(ValueError::InvalidBoolean),
        },
        b',' => Value::Double(
            std::str::from_utf8(text)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(ValueError::InvalidDouble)?,
        ),
        _ => {
            let digits = text.strip_prefix(b"-").or_else(|| text.strip_prefix(b"+"));
            let digits = digits.unwrap_or(text);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(ValueError::InvalidBigNumber);
            }
            Value::BigNumber(text)
        }
    })
}

/// The length-prefixed types.
fn blob_value(kind: u8, data: &[u8]) -> Result<Value<'_>, ValueError> {
    Ok(match kind {
        b'$' => Value::Bulk(data),
        b'!' => Value::BlobError(data),
        _ => match data {
            [a, b, c, b':', rest @ ..] => Value::Verbatim {
                format: [*a, *b, *c],
                data: rest,
            },
            _ => return Err(ValueError::InvalidVerbatim),
        },
    })
}

/// A decimal `i64` with an optional `+` or `-` sign. Leading zeros are accepted (this
/// reads replies, not requests, and is lenient where nothing is ambiguous).
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_capped_by_the_bytes_present() {
        for kind in [
            Kind::Array,
            Kind::Set,
            Kind::Push,
            Kind::Map,
            Kind::Attribute,
        ] {
            match Frame::open(kind, 2_000_000_000, 0) {
                Opened::Frame(Frame::Seq { items, .. }) => assert_eq!(items.capacity(), 0),
                Opened::Frame(Frame::Pairs { pairs, .. }) => assert_eq!(pairs.capacity(), 0),
                _ => panic!("expected an open frame"),
            }
        }
        match Frame::open(Kind::Array, 2_000_000_000, 10) {
            Opened::Frame(Frame::Seq { items, .. }) => assert!(items.capacity() <= 10),
            _ => panic!("expected an open frame"),
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-0"), Some(0));
        assert_eq!(parse_i64(b"+12"), Some(12));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-9223372036854775809"), None);
        assert_eq!(parse_i64(b"18446744073709551616"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"+"), None);
        assert_eq!(parse_i64(b"1 "), None);
        assert_eq!(parse_i64(b"--1"), None);
    }
}
