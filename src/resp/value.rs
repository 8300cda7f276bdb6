//! Reading replies: [`parse_value`] turns the front of a byte buffer into a [`Value`] that
//! borrows its strings from the buffer, covering every RESP2 and RESP3 type, with a
//! nesting limit so hostile input cannot exhaust the stack. [`OwnedValue`] is the same
//! tree without the borrow. Both implement [`ToResp`], so a proxy can re-encode what it
//! read for a client of either protocol.

mod parse;
#[cfg(test)]
mod tests;

use super::to_resp::ToResp;
use super::write::Writer;
use std::fmt;

/// The nesting limit [`parse_value`] applies: aggregates (arrays, maps, sets, pushes,
/// attributes) may nest this deep.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// One RESP2 or RESP3 value, borrowing its strings from the parsed input.
///
/// An attribute (`|`) is not a value of its own in RESP3: it annotates the value after
/// it. It is therefore returned together with that value, as [`Value::Attribute`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `+text`
    SimpleString(&'a [u8]),
    /// `-CODE message`, without the `-`.
    Error(&'a [u8]),
    /// `:n`
    Integer(i64),
    /// `$len data`
    Bulk(&'a [u8]),
    /// RESP2 `$-1`.
    NullBulk,
    /// RESP2 `*-1`.
    NullArray,
    /// `*n` and its elements.
    Array(Vec<Value<'a>>),
    /// RESP3 `_`.
    Null,
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `,d`, including `inf`, `-inf` and `nan`.
    Double(f64),
    /// RESP3 `(digits`: an optional sign and decimal digits, unparsed.
    BigNumber(&'a [u8]),
    /// RESP3 `=len fmt:data`.
    Verbatim {
        /// The three-byte format, such as `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `fmt:`.
        data: &'a [u8],
    },
    /// RESP3 `!len CODE message`.
    BlobError(&'a [u8]),
    /// RESP3 `%n` and its key-value pairs, in wire order.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// RESP3 `~n` and its elements, in wire order.
    Set(Vec<Value<'a>>),
    /// RESP3 `|n`, its key-value pairs, and the value they annotate.
    Attribute {
        /// The attribute's key-value pairs.
        attributes: Vec<(Value<'a>, Value<'a>)>,
        /// The value after the attribute.
        value: Box<Value<'a>>,
    },
    /// RESP3 `>n`: out-of-band data such as pub/sub messages.
    Push(Vec<Value<'a>>),
}

/// [`Value`] with owned strings, for keeping a reply after its buffer is gone.
///
/// ```
/// use redcon::resp::{parse_value, OwnedValue};
/// let (v, _) = parse_value(b"*2\r\n:1\r\n$1\r\na\r\n").unwrap().unwrap();
/// let owned: OwnedValue = v.to_owned_value();
/// assert_eq!(owned, OwnedValue::Array(vec![OwnedValue::Integer(1), OwnedValue::Bulk(b"a".to_vec())]));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the variants mirror Value's, documented there
pub enum OwnedValue {
    SimpleString(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Bulk(Vec<u8>),
    NullBulk,
    NullArray,
    Array(Vec<OwnedValue>),
    Null,
    Boolean(bool),
    Double(f64),
    BigNumber(Vec<u8>),
    Verbatim {
        format: [u8; 3],
        data: Vec<u8>,
    },
    BlobError(Vec<u8>),
    Map(Vec<(OwnedValue, OwnedValue)>),
    Set(Vec<OwnedValue>),
    Attribute {
        attributes: Vec<(OwnedValue, OwnedValue)>,
        value: Box<OwnedValue>,
    },
    Push(Vec<OwnedValue>),
}

/// Why [`parse_value`] rejected its input. The input is not valid RESP and will not
/// become valid with more bytes.
///
/// ```
/// use redcon::resp::{parse_value, ValueError};
/// assert_eq!(parse_value(b"?x\r\n").unwrap_err(), ValueError::UnknownType(b'?'));
/// assert_eq!(parse_value(b":12a\r\n").unwrap_err(), ValueError::InvalidInteger);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueError {
    /// A value starts with a byte that is no RESP2/RESP3 type; holds the byte.
    UnknownType(u8),
    /// A CR not followed by LF, or string data not followed by CRLF.
    MissingCrlf,
    /// An integer (`:`) that is malformed or does not fit an `i64`.
    InvalidInteger,
    /// A length or count that is malformed, negative (other than RESP2's `-1` nulls) or
    /// too large, or a length line longer than any number.
    InvalidLength,
    /// A RESP3 streamed string or aggregate (`$?`, `*?`), which is not supported.
    Streamed,
    /// A RESP3 null (`_`) with content before its CRLF.
    InvalidNull,
    /// A RESP3 boolean other than `#t` or `#f`.
    InvalidBoolean,
    /// A RESP3 double that is not a number, `inf`, `-inf` or `nan`.
    InvalidDouble,
    /// A RESP3 big number that is not an optional sign followed by digits.
    InvalidBigNumber,
    /// A RESP3 verbatim string without its `fmt:` prefix.
    InvalidVerbatim,
    /// Aggregates nested deeper than the limit in force.
    TooDeep {
        /// The limit.
        max_depth: usize,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::UnknownType(b) => write!(f, "unknown RESP type byte {:?}", char::from(*b)),
            ValueError::MissingCrlf => f.write_str("expected CRLF"),
            ValueError::InvalidInteger => f.write_str("invalid integer"),
            ValueError::InvalidLength => f.write_str("invalid length"),
            ValueError::Streamed => f.write_str("streamed RESP3 types are not supported"),
            ValueError::InvalidNull => f.write_str("invalid null"),
            ValueError::InvalidBoolean => f.write_str("invalid boolean"),
            ValueError::InvalidDouble => f.write_str("invalid double"),
            ValueError::InvalidBigNumber => f.write_str("invalid big number"),
            ValueError::InvalidVerbatim => f.write_str("invalid verbatim string"),
            ValueError::TooDeep { max_depth } => {
                write!(f, "aggregates nested deeper than {max_depth} levels")
            }
        }
    }
}

impl std::error::Error for ValueError {}

/// Parses one value from the front of `input`, with [`DEFAULT_MAX_DEPTH`].
///
/// Returns the value and the number of bytes it took, or `Ok(None)` when `input` holds
/// only part of a value so far. Memory use is bounded by the input: counts and lengths
/// are trusted only as far as the bytes present back them.
///
/// # Errors
///
/// A [`ValueError`] when the input is not valid RESP, or nests too deeply.
///
/// ```
/// use redcon::resp::{parse_value, Value};
///
/// let input = b"*2\r\n$5\r\nhello\r\n:42\r\n+next";
/// let (value, used) = parse_value(input).unwrap().unwrap();
/// assert_eq!(value, Value::Array(vec![Value::Bulk(b"hello"), Value::Integer(42)]));
/// assert_eq!(&input[used..], b"+next");
///
/// assert_eq!(parse_value(b"$5\r\nhel").unwrap(), None); // incomplete
/// assert!(parse_value(b"?\r\n").is_err());
/// ```
pub fn parse_value(input: &[u8]) -> Result<Option<(Value<'_>, usize)>, ValueError> {
    parse_value_with_depth(input, DEFAULT_MAX_DEPTH)
}

/// [`parse_value`] with a custom nesting limit: `0` accepts only scalars, `1` arrays of
/// scalars, and so on; an attribute counts as a level for its pairs and for the value
/// it annotates.
///
/// Parsing itself uses no recursion, but dropping, converting or re-encoding a value
/// recurses once per level, so keep the limit modest.
///
/// # Errors
///
/// As [`parse_value`]; [`ValueError::TooDeep`] when aggregates nest beyond `max_depth`.
///
/// ```
/// use redcon::resp::{parse_value_with_depth, ValueError};
///
/// assert!(parse_value_with_depth(b"*1\r\n:1\r\n", 1).is_ok());
/// assert_eq!(
///     parse_value_with_depth(b"*1\r\n*1\r\n:1\r\n", 1),
///     Err(ValueError::TooDeep { max_depth: 1 })
/// );
/// ```
pub fn parse_value_with_depth(
    input: &[u8],
    max_depth: usize,
) -> Result<Option<(Value<'_>, usize)>, ValueError> {
    parse::parse(input, max_depth)
}

fn owned_list(items: &[Value<'_>]) -> Vec<OwnedValue> {
    items.iter().map(Value::to_owned_value).collect()
}

fn borrowed_list(items: &[OwnedValue]) -> Vec<Value<'_>> {
    items.iter().map(OwnedValue::as_value).collect()
}

fn owned_pairs(pairs: &[(Value<'_>, Value<'_>)]) -> Vec<(OwnedValue, OwnedValue)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_owned_value(), v.to_owned_value()))
        .collect()
}

fn borrowed_pairs(pairs: &[(OwnedValue, OwnedValue)]) -> Vec<(Value<'_>, Value<'_>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_value(), v.as_value()))
        .collect()
}

impl Value<'_> {
    /// True for the three nulls: RESP2 `$-1` and `*-1`, RESP3 `_`.
    ///
    /// ```
    /// let (v, _) = redcon::resp::parse_value(b"*-1\r\n").unwrap().unwrap();
    /// assert!(v.is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::NullBulk | Value::NullArray)
    }

    /// True for errors, simple (`-`) or blob (`!`).
    ///
    /// ```
    /// use redcon::resp::parse_value;
    /// let (v, _) = parse_value(b"-ERR wrong type\r\n").unwrap().unwrap();
    /// assert!(v.is_error());
    /// let (v, _) = parse_value(b"+OK\r\n").unwrap().unwrap();
    /// assert!(!v.is_error());
    /// ```
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_) | Value::BlobError(_))
    }

    /// The bytes of a string-like value: simple string, bulk string, verbatim string
    /// (its data) or big number (its digits).
    ///
    /// ```
    /// let (v, _) = redcon::resp::parse_value(b"=8\r\ntxt:abcd\r\n").unwrap().unwrap();
    /// assert_eq!(v.as_bytes(), Some(&b"abcd"[..]));
    /// ```
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::SimpleString(s)
            | Value::Bulk(s)
            | Value::BigNumber(s)
            | Value::Verbatim { data: s, .. } => Some(s),
            _ => None,
        }
    }

    /// The number in an integer reply.
    ///
    /// ```
    /// use redcon::resp::parse_value;
    /// let (v, _) = parse_value(b":42\r\n").unwrap().unwrap();
    /// assert_eq!(v.as_integer(), Some(42));
    /// let (v, _) = parse_value(b"$2\r\n42\r\n").unwrap().unwrap();
    /// assert_eq!(v.as_integer(), None); // a string, not an integer
    /// ```
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// A copy that owns its strings.
    ///
    /// ```
    /// use redcon::resp::{parse_value, OwnedValue};
    /// let owned = {
    ///     let buf = b"+OK\r\n".to_vec();
    ///     parse_value(&buf).unwrap().unwrap().0.to_owned_value()
    /// };
    /// assert_eq!(owned, OwnedValue::SimpleString(b"OK".to_vec()));
    /// ```
    pub fn to_owned_value(&self) -> OwnedValue {
        let list = owned_list;
        match self {
            Value::SimpleString(s) => OwnedValue::SimpleString(s.to_vec()),
            Value::Error(s) => OwnedValue::Error(s.to_vec()),
            Value::Integer(n) => OwnedValue::Integer(*n),
            Value::Bulk(s) => OwnedValue::Bulk(s.to_vec()),
            Value::NullBulk => OwnedValue::NullBulk,
            Value::NullArray => OwnedValue::NullArray,
            Value::Array(items) => OwnedValue::Array(list(items)),
            Value::Null => OwnedValue::Null,
            Value::Boolean(b) => OwnedValue::Boolean(*b),
            Value::Double(d) => OwnedValue::Double(*d),
            Value::BigNumber(s) => OwnedValue::BigNumber(s.to_vec()),
            Value::Verbatim { format, data } => OwnedValue::Verbatim {
                format: *format,
                data: data.to_vec(),
            },
            Value::BlobError(s) => OwnedValue::BlobError(s.to_vec()),
            Value::Map(pairs) => OwnedValue::Map(owned_pairs(pairs)),
            Value::Set(items) => OwnedValue::Set(list(items)),
            Value::Attribute { attributes, value } => OwnedValue::Attribute {
                attributes: owned_pairs(attributes),
                value: Box::new(value.to_owned_value()),
            },
            Value::Push(items) => OwnedValue::Push(list(items)),
        }
    }
}

impl OwnedValue {
    /// A [`Value`] borrowing from `self`.
    ///
    /// ```
    /// use redcon::resp::{OwnedValue, Value};
    /// let owned = OwnedValue::Bulk(b"x".to_vec());
    /// assert_eq!(owned.as_value(), Value::Bulk(b"x"));
    /// ```
    pub fn as_value(&self) -> Value<'_> {
        let list = borrowed_list;
        match self {
            OwnedValue::SimpleString(s) => Value::SimpleString(s),
            OwnedValue::Error(s) => Value::Error(s),
            OwnedValue::Integer(n) => Value::Integer(*n),
            OwnedValue::Bulk(s) => Value::Bulk(s),
            OwnedValue::NullBulk => Value::NullBulk,
            OwnedValue::NullArray => Value::NullArray,
            OwnedValue::Array(items) => Value::Array(list(items)),
            OwnedValue::Null => Value::Null,
            OwnedValue::Boolean(b) => Value::Boolean(*b),
            OwnedValue::Double(d) => Value::Double(*d),
            OwnedValue::BigNumber(s) => Value::BigNumber(s),
            OwnedValue::Verbatim { format, data } => Value::Verbatim {
                format: *format,
                data,
            },
            OwnedValue::BlobError(s) => Value::BlobError(s),
            OwnedValue::Map(pairs) => Value::Map(borrowed_pairs(pairs)),
            OwnedValue::Set(items) => Value::Set(list(items)),
            OwnedValue::Attribute { attributes, value } => Value::Attribute {
                attributes: borrowed_pairs(attributes),
                value: Box::new(value.as_value()),
            },
            OwnedValue::Push(items) => Value::Push(list(items)),
        }
    }
}

impl<'a> From<&Value<'a>> for OwnedValue {
    fn from(v: &Value<'a>) -> Self {
        v.to_owned_value()
    }
}

fn write_pairs(w: &mut Writer, pairs: &[(Value<'_>, Value<'_>)]) {
    for (k, v) in pairs {
        k.write_resp(w);
        v.write_resp(w);
    }
}

fn write_items(w: &mut Writer, items: &[Value<'_>]) {
    for item in items {
        item.write_resp(w);
    }
}

/// Re-encodes the value for the writer's protocol, so a RESP3 reply can be passed on to
/// a RESP2 client (maps become flat arrays, attributes are dropped, and so on; see
/// [`Writer`]). Doubles are re-formatted, so `,1.50` is passed on as `,1.5`.
///
/// ```
/// use redcon::resp::{parse_value, Protocol, Writer};
/// let (v, _) = parse_value(b"%1\r\n+a\r\n#t\r\n").unwrap().unwrap();
/// let mut w = Writer::with_protocol(Protocol::Resp2);
/// w.write_any(&v);
/// assert_eq!(w.as_bytes(), b"*2\r\n+a\r\n:1\r\n");
/// ```
impl ToResp for Value<'_> {
    fn write_resp(&self, w: &mut Writer) {
        match self {
            Value::SimpleString(s) => w.write_string(s),
            // The text came off the wire without its `-`; keep it exactly, even when it
            // starts with another `-`.
            Value::Error(s) => w.write_error_verbatim(s),
            Value::Integer(n) => w.write_int(*n),
            Value::Bulk(s) => w.write_bulk(s),
            Value::NullBulk | Value::Null => w.write_null(),
            Value::NullArray => w.write_null_array(),
            Value::Array(items) => {
                w.write_array(items.len());
                write_items(w, items);
            }
            Value::Boolean(b) => w.write_bool(*b),
            Value::Double(d) => w.write_double(*d),
            Value::BigNumber(s) => w.write_big_number(s),
            Value::Verbatim { format, data } => w.write_verbatim_bytes(format, data),
            Value::BlobError(s) => w.write_blob_error(s),
            Value::Map(pairs) => {
                w.write_map(pairs.len());
                write_pairs(w, pairs);
            }
            Value::Set(items) => {
                w.write_set(items.len());
                write_items(w, items);
            }
            Value::Attribute { attributes, value } => {
                w.write_attribute(attributes.len());
                write_pairs(w, attributes);
                value.write_resp(w);
            }
            Value::Push(items) => {
                w.write_push(items.len());
                write_items(w, items);
            }
        }
    }
}

/// Re-encodes through [`OwnedValue::as_value`] (which builds a borrowed tree first).
impl ToResp for OwnedValue {
    fn write_resp(&self, w: &mut Writer) {
        self.as_value().write_resp(w);
    }
}
