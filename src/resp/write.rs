//! Reply encoding: the `append_*` functions (one RESP item onto a `Vec<u8>`, no protocol
//! logic) and [`Writer`], a reply buffer that knows the connection's protocol and picks
//! each value's encoding the way Redis 7 does (networking.c `addReply*`).

mod append;
mod double;
mod num;
#[cfg(test)]
mod tests;

pub use append::*;

use super::to_resp::ToResp;

/// Protocol version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Protocol {
    /// RESP2 (default).
    #[default]
    Resp2,
    /// RESP3 (after HELLO 3).
    Resp3,
}

/// Protocol-aware reply buffer.
///
/// Each `write_*` method appends one value (or an aggregate header, to be followed by its
/// elements) in the encoding the connection's [`Protocol`] calls for, as Redis 7 does:
///
/// | call                  | RESP3                  | RESP2                                   |
/// |-----------------------|------------------------|-----------------------------------------|
/// | `write_null`          | `_`                    | `$-1`                                   |
/// | `write_null_array`    | `_`                    | `*-1`                                   |
/// | `write_bool`          | `#t` / `#f`            | `:1` / `:0`                             |
/// | `write_double`        | `,1.5`                 | bulk string `$3 1.5`                    |
/// | `write_big_number`    | `(123…`                | bulk string                             |
/// | `write_verbatim`      | `=15 txt:…`            | bulk string of the data alone           |
/// | `write_blob_error`    | `!21 SYNTAX …`         | simple error `-SYNTAX …`                |
/// | `write_map(n)`        | `%n`                   | flat array `*2n`                        |
/// | `write_set(n)`        | `~n`                   | array `*n`                              |
/// | `write_push(n)`       | `>n`                   | array `*n`                              |
/// | `write_attribute(n)`  | `\|n`                  | dropped, with its `2n` values           |
///
/// The other methods write the same bytes in both protocols.
///
/// RESP2 has no attributes, so in RESP2 [`write_attribute`](Writer::write_attribute)
/// starts discarding: the attribute's `2n` keys and values, including any aggregates
/// nested in them, are dropped as they are written, and the value the attribute
/// describes is then written normally. Only [`write_raw`](Writer::write_raw) and
/// [`buffer_mut`](Writer::buffer_mut) bypass this (and all other protocol logic).
///
/// ```
/// use redcon::resp::{Protocol, Writer};
///
/// let mut w = Writer::with_protocol(Protocol::Resp2);
/// w.write_map(1);
/// w.write_bulk("pi");
/// w.write_double(3.14);
/// assert_eq!(w.as_bytes(), b"*2\r\n$2\r\npi\r\n$4\r\n3.14\r\n");
///
/// let mut w = Writer::with_protocol(Protocol::Resp3);
/// w.write_map(1);
/// w.write_bulk("pi");
/// w.write_double(3.14);
/// assert_eq!(w.as_bytes(), b"%1\r\n$2\r\npi\r\n,3.14\r\n");
/// ```
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    protocol: Protocol,
    /// RESP2 only: values still to drop because they belong to an attribute.
    discard: usize,
}

impl Writer {
    /// An empty RESP2 writer.
    ///
    /// ```
    /// let w = redcon::resp::Writer::new();
    /// assert_eq!(w.protocol(), redcon::resp::Protocol::Resp2);
    /// assert!(w.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer for the given protocol.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// assert_eq!(Writer::with_protocol(Protocol::Resp3).protocol(), Protocol::Resp3);
    /// ```
    pub fn with_protocol(protocol: Protocol) -> Self {
        Writer {
            buf: Vec::new(),
            protocol,
            discard: 0,
        }
    }

    /// A writer that appends to `buf` (keeping its contents and capacity).
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::from_vec(b"+OK\r\n".to_vec(), Protocol::Resp2);
    /// w.write_int(1);
    /// assert_eq!(w.into_inner(), b"+OK\r\n:1\r\n");
    /// ```
    pub fn from_vec(buf: Vec<u8>, protocol: Protocol) -> Self {
        Writer {
            buf,
            protocol,
            discard: 0,
        }
    }

    /// The protocol replies are encoded for.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// assert_eq!(Writer::new().protocol(), Protocol::Resp2);
    /// assert_eq!(Writer::with_protocol(Protocol::Resp3).protocol(), Protocol::Resp3);
    /// ```
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Switches protocol (as `HELLO` does). Meant for between replies: it also forgets any
    /// attribute values still pending to be discarded.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::new();
    /// w.set_protocol(Protocol::Resp3);
    /// w.write_null();
    /// assert_eq!(w.as_bytes(), b"_\r\n");
    /// ```
    pub fn set_protocol(&mut self, p: Protocol) {
        self.protocol = p;
        self.discard = 0;
    }

    /// The encoded bytes so far.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_int(42);
    /// assert_eq!(w.as_bytes(), b":42\r\n");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The underlying buffer, for appending pre-encoded data with the `append_*`
    /// functions. Bytes added here bypass the protocol logic.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// redcon::resp::append_simple_string(w.buffer_mut(), "OK");
    /// assert_eq!(w.as_bytes(), b"+OK\r\n");
    /// ```
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// The bytes allocated for replies (for `CLIENT LIST`'s memory fields).
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Number of encoded bytes.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_string("OK");
    /// assert_eq!(w.len(), 5); // "+OK\r\n"
    /// ```
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing has been written.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// assert!(w.is_empty());
    /// w.write_null();
    /// assert!(!w.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Empties the buffer (keeping its capacity) and forgets any pending attribute
    /// discarding.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_string("stale");
    /// w.clear();
    /// w.write_string("OK");
    /// assert_eq!(w.as_bytes(), b"+OK\r\n");
    /// ```
    pub fn clear(&mut self) {
        self.buf.clear();
        self.discard = 0;
    }

    /// Takes the encoded bytes, leaving the writer empty (and without capacity).
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_string("OK");
    /// assert_eq!(w.take(), b"+OK\r\n");
    /// assert!(w.is_empty());
    /// ```
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The encoded bytes, consuming the writer.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_bulk("v");
    /// assert_eq!(w.into_inner(), b"$1\r\nv\r\n");
    /// ```
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Whether the writer is dropping values: inside a RESP2 attribute, which has no
    /// RESP2 form.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new(); // RESP2
    /// w.write_attribute(1);
    /// assert!(w.is_discarding());
    /// w.write_string("key");
    /// w.write_int(1); // the attribute is over
    /// assert!(!w.is_discarding());
    /// w.write_string("OK");
    /// assert_eq!(w.as_bytes(), b"+OK\r\n");
    /// ```
    pub fn is_discarding(&self) -> bool {
        self.discard > 0
    }

    /// Accounts for one value about to be written that has `children` values of its own;
    /// returns false when it belongs to a RESP2 attribute and must be dropped.
    #[inline]
    fn keep(&mut self, children: usize) -> bool {
        if self.discard == 0 {
            return true;
        }
        self.discard = (self.discard - 1).saturating_add(children);
        false
    }

    /// Simple string `+s` (CR and LF become spaces; see [`append_simple_string`]).
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_string("OK");
    /// assert_eq!(w.as_bytes(), b"+OK\r\n");
    /// ```
    #[inline]
    pub fn write_string(&mut self, s: impl AsRef<[u8]>) {
        if self.keep(0) {
            append_simple_string(&mut self.buf, s);
        }
    }

    /// Error `-msg`; `msg` should start with an error code such as `ERR`. See
    /// [`append_error`] for the handling of a leading `-` and of CR/LF.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_error("ERR syntax error");
    /// assert_eq!(w.as_bytes(), b"-ERR syntax error\r\n");
    /// ```
    pub fn write_error(&mut self, msg: impl AsRef<[u8]>) {
        if self.keep(0) {
            append_error(&mut self.buf, msg);
        }
    }

    /// An error whose text is written as it stands (see `append_error_verbatim`).
    pub(crate) fn write_error_verbatim(&mut self, text: &[u8]) {
        if self.keep(0) {
            append::append_error_verbatim(&mut self.buf, text);
        }
    }

    /// Integer `:n`. Same as [`write_i64`](Writer::write_i64).
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_int(-42);
    /// assert_eq!(w.as_bytes(), b":-42\r\n");
    /// ```
    #[inline]
    pub fn write_int(&mut self, n: i64) {
        if self.keep(0) {
            append_integer(&mut self.buf, n);
        }
    }

    /// Integer `:n`. Same as [`write_int`](Writer::write_int).
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_i64(-1);
    /// assert_eq!(w.as_bytes(), b":-1\r\n");
    /// ```
    #[inline]
    pub fn write_i64(&mut self, n: i64) {
        self.write_int(n);
    }

    /// Integer `:n` from a `u64` (see [`append_uint`] about values above `i64::MAX`).
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_u64(u64::MAX);
    /// assert_eq!(w.as_bytes(), b":18446744073709551615\r\n");
    /// ```
    #[inline]
    pub fn write_u64(&mut self, n: u64) {
        if self.keep(0) {
            append_uint(&mut self.buf, n);
        }
    }

    /// Bulk string `$len data`. Binary-safe.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_bulk(b"\x00\xff");
    /// assert_eq!(w.as_bytes(), b"$2\r\n\x00\xff\r\n");
    /// ```
    #[inline]
    pub fn write_bulk(&mut self, data: impl AsRef<[u8]>) {
        if self.keep(0) {
            append_bulk(&mut self.buf, data);
        }
    }

    /// Bulk string from a `&str`.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_bulk_string("héllo");
    /// assert_eq!(w.as_bytes(), "$6\r\nhéllo\r\n".as_bytes());
    /// ```
    pub fn write_bulk_string(&mut self, s: &str) {
        self.write_bulk(s);
    }

    /// Array header `*n`; write the `n` elements next.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_array(2);
    /// w.write_int(1);
    /// w.write_int(2);
    /// assert_eq!(w.as_bytes(), b"*2\r\n:1\r\n:2\r\n");
    /// ```
    #[inline]
    pub fn write_array(&mut self, n: usize) {
        if self.keep(n) {
            append_array_len(&mut self.buf, n);
        }
    }

    /// Null: `$-1` (null bulk string) in RESP2, `_` in RESP3.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_null();
    /// assert_eq!(w.as_bytes(), b"$-1\r\n");
    /// ```
    #[inline]
    pub fn write_null(&mut self) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append_null_bulk(&mut self.buf),
                Protocol::Resp3 => append_null(&mut self.buf),
            }
        }
    }

    /// Null array: `*-1` in RESP2, `_` in RESP3 (which has a single null).
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_null_array();
    /// assert_eq!(w.as_bytes(), b"*-1\r\n");
    /// ```
    #[inline]
    pub fn write_null_array(&mut self) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append_null_array(&mut self.buf),
                Protocol::Resp3 => append_null(&mut self.buf),
            }
        }
    }

    /// Appends bytes as they are: no encoding, no protocol logic, never discarded, not
    /// counted as a value.
    ///
    /// ```
    /// let mut w = redcon::resp::Writer::new();
    /// w.write_raw(b"+PONG\r\n");
    /// assert_eq!(w.as_bytes(), b"+PONG\r\n");
    /// ```
    pub fn write_raw(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_bool(true);
    /// assert_eq!(w.as_bytes(), b":1\r\n");
    /// ```
    pub fn write_bool(&mut self, b: bool) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append_integer(&mut self.buf, i64::from(b)),
                Protocol::Resp3 => append_bool(&mut self.buf, b),
            }
        }
    }

    /// Double: `,d` in RESP3, a bulk string of the same text in RESP2. Formatted as
    /// Redis 7.2+ does (see [`append_double`]).
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_double(f64::INFINITY);
    /// assert_eq!(w.as_bytes(), b"$3\r\ninf\r\n");
    /// ```
    pub fn write_double(&mut self, d: f64) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append::append_double_bulk(&mut self.buf, d),
                Protocol::Resp3 => append_double(&mut self.buf, d),
            }
        }
    }

    /// Big number: `(digits` in RESP3, a bulk string in RESP2.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_big_number("123456789012345678901234567890");
    /// assert_eq!(w.as_bytes(), b"$30\r\n123456789012345678901234567890\r\n");
    /// ```
    pub fn write_big_number(&mut self, digits: impl AsRef<[u8]>) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append_bulk(&mut self.buf, digits),
                Protocol::Resp3 => append_big_number(&mut self.buf, digits),
            }
        }
    }

    /// Verbatim string: `=len fmt:data` in RESP3, a bulk string of `data` alone in RESP2.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_verbatim("txt", "hi");
    /// assert_eq!(w.as_bytes(), b"$2\r\nhi\r\n");
    /// ```
    pub fn write_verbatim(&mut self, format: &str, data: impl AsRef<[u8]>) {
        self.write_verbatim_bytes(format.as_bytes(), data.as_ref());
    }

    /// [`write_verbatim`](Writer::write_verbatim) with the format as bytes.
    pub(crate) fn write_verbatim_bytes(&mut self, format: &[u8], data: &[u8]) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append_bulk(&mut self.buf, data),
                Protocol::Resp3 => append::append_verbatim_bytes(&mut self.buf, format, data),
            }
        }
    }

    /// Blob error: `!len data` in RESP3; in RESP2, which has only simple errors, a simple
    /// error with CR and LF turned into spaces (as [`write_error`](Writer::write_error)).
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_blob_error("SYNTAX invalid\r\nsyntax");
    /// assert_eq!(w.as_bytes(), b"-SYNTAX invalid  syntax\r\n");
    /// ```
    pub fn write_blob_error(&mut self, data: impl AsRef<[u8]>) {
        if self.keep(0) {
            match self.protocol {
                Protocol::Resp2 => append_error(&mut self.buf, data),
                Protocol::Resp3 => append_blob_error(&mut self.buf, data),
            }
        }
    }

    /// Map header for `n` pairs: `%n` in RESP3, a flat array `*2n` in RESP2. Write the
    /// `2n` keys and values next, alternating.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp2);
    /// w.write_map(2);
    /// assert_eq!(w.as_bytes(), b"*4\r\n");
    /// ```
    pub fn write_map(&mut self, n: usize) {
        let values = n.saturating_mul(2);
        if self.keep(values) {
            match self.protocol {
                Protocol::Resp2 => append_array_len(&mut self.buf, values),
                Protocol::Resp3 => append_map_len(&mut self.buf, n),
            }
        }
    }

    /// Set header: `~n` in RESP3, `*n` in RESP2.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp3);
    /// w.write_set(2);
    /// assert_eq!(w.as_bytes(), b"~2\r\n");
    /// ```
    pub fn write_set(&mut self, n: usize) {
        if self.keep(n) {
            match self.protocol {
                Protocol::Resp2 => append_array_len(&mut self.buf, n),
                Protocol::Resp3 => append_set_len(&mut self.buf, n),
            }
        }
    }

    /// Attribute header for `n` pairs, to be followed by the `2n` keys and values and then
    /// by the value they describe. RESP3 writes `|n`; RESP2 has no attributes, so the
    /// header and the `2n` values after it (nested aggregates included) are dropped.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// for (protocol, want) in [
    ///     (Protocol::Resp3, &b"|1\r\n+ttl\r\n:10\r\n$1\r\nv\r\n"[..]),
    ///     (Protocol::Resp2, &b"$1\r\nv\r\n"[..]),
    /// ] {
    ///     let mut w = Writer::with_protocol(protocol);
    ///     w.write_attribute(1);
    ///     w.write_string("ttl");
    ///     w.write_int(10);
    ///     w.write_bulk("v");
    ///     assert_eq!(w.as_bytes(), want);
    /// }
    /// ```
    pub fn write_attribute(&mut self, n: usize) {
        match self.protocol {
            // Not a value itself: it adds its pairs, and the value it describes stays
            // counted where it is (kept or, if the attribute is itself inside discarded
            // data, discarded).
            Protocol::Resp2 => self.discard = self.discard.saturating_add(n.saturating_mul(2)),
            Protocol::Resp3 => append_attribute_len(&mut self.buf, n),
        }
    }

    /// Push header: `>n` in RESP3, `*n` in RESP2 (how Redis sends pub/sub messages to
    /// RESP2 clients).
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp3);
    /// w.write_push(3);
    /// assert_eq!(w.as_bytes(), b">3\r\n");
    /// ```
    pub fn write_push(&mut self, n: usize) {
        if self.keep(n) {
            match self.protocol {
                Protocol::Resp2 => append_array_len(&mut self.buf, n),
                Protocol::Resp3 => append_push_len(&mut self.buf, n),
            }
        }
    }

    /// Writes any [`ToResp`] value: integers, strings, byte strings, options, vectors,
    /// maps, sets, tuples and more.
    ///
    /// ```
    /// use redcon::resp::{Protocol, Writer};
    /// let mut w = Writer::with_protocol(Protocol::Resp3);
    /// w.write_any(&(1, "two", Some(3.5), None::<i64>));
    /// assert_eq!(w.as_bytes(), b"*4\r\n:1\r\n$3\r\ntwo\r\n,3.5\r\n_\r\n");
    /// ```
    pub fn write_any<T: ToResp + ?Sized>(&mut self, value: &T) {
        value.write_resp(self)
    }
}
