//! The `append_*` functions: one RESP2 or RESP3 item appended to a byte vector, with no
//! protocol logic. [`Writer`](super::Writer) chooses among them per connection.

use super::double::{format_double, DOUBLE_BUF_LEN};
use super::num::{
    append_in_place, append_line_i64, append_line_u64, append_line_usize, write_line, LINE_MAX,
};

/// Appends a simple string, `+<s>\r\n`.
///
/// A simple string cannot carry CR or LF, so each one becomes a space, as Redis's
/// scripting and module layers do; without that, a stray newline would split the reply
/// in two and desynchronise the client.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_simple_string(&mut out, "OK");
/// redcon::resp::append_simple_string(&mut out, "two\r\nlines");
/// assert_eq!(out, b"+OK\r\n+two  lines\r\n");
/// ```
#[inline]
pub fn append_simple_string(out: &mut Vec<u8>, s: impl AsRef<[u8]>) {
    append_line_item(out, b'+', s.as_ref());
}

/// Appends an error, `-<msg>\r\n`.
///
/// `msg` should start with an error code, as in `"ERR syntax error"` or
/// `"WRONGTYPE Operation against a key holding the wrong kind of value"`; nothing is
/// added to it. Following Redis (`addReplyErrorLength`, `addReplyErrorFormat`):
///
/// - a message that already starts with `-` does not get a second one;
/// - CR and LF at either end are trimmed, and those inside become spaces.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_error(&mut out, "ERR unknown command");
/// redcon::resp::append_error(&mut out, "-WRONGTYPE bad\r\n");
/// redcon::resp::append_error(&mut out, "ERR a\nb");
/// assert_eq!(out, b"-ERR unknown command\r\n-WRONGTYPE bad\r\n-ERR a b\r\n");
/// ```
pub fn append_error(out: &mut Vec<u8>, msg: impl AsRef<[u8]>) {
    let msg = trim_newlines(msg.as_ref());
    let msg = msg.strip_prefix(b"-").unwrap_or(msg);
    append_line_item(out, b'-', msg);
}

/// Appends an error line whose text is taken as it stands (CR and LF still become
/// spaces): no leading `-` is dropped and nothing is trimmed. For re-encoding an error
/// read off the wire, whose own text may begin with `-`.
pub(crate) fn append_error_verbatim(out: &mut Vec<u8>, text: &[u8]) {
    append_line_item(out, b'-', text);
}

/// Appends an integer, `:<n>\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_integer(&mut out, i64::MIN);
/// assert_eq!(out, b":-9223372036854775808\r\n");
/// ```
#[inline]
pub fn append_integer(out: &mut Vec<u8>, n: i64) {
    append_line_i64(out, b':', n);
}

/// Appends an unsigned integer, `:<n>\r\n`.
///
/// RESP integers are signed 64-bit by specification; values above `i64::MAX` are written
/// as digits all the same, which lenient clients accept and strict ones reject. Use
/// [`append_big_number`] (or [`Writer::write_big_number`](super::Writer::write_big_number))
/// when that matters.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_uint(&mut out, u64::MAX);
/// assert_eq!(out, b":18446744073709551615\r\n");
/// ```
#[inline]
pub fn append_uint(out: &mut Vec<u8>, n: u64) {
    append_line_u64(out, b':', n);
}

/// Appends a bulk string, `$<len>\r\n<data>\r\n`. Binary-safe.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_bulk(&mut out, b"a\r\nb");
/// assert_eq!(out, b"$4\r\na\r\nb\r\n");
/// ```
#[inline]
pub fn append_bulk(out: &mut Vec<u8>, data: impl AsRef<[u8]>) {
    append_length_prefixed(out, b'$', data.as_ref());
}

/// Appends only the header of a bulk string, `$<len>\r\n`; the caller then appends
/// exactly `len` bytes and `\r\n` (for data produced in pieces).
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_bulk_header(&mut out, 5);
/// out.extend_from_slice(b"hello\r\n");
/// assert_eq!(out, b"$5\r\nhello\r\n");
/// ```
#[inline]
pub fn append_bulk_header(out: &mut Vec<u8>, len: usize) {
    append_line_usize(out, b'$', len);
}

/// Appends the RESP2 null bulk string, `$-1\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_null_bulk(&mut out);
/// assert_eq!(out, b"$-1\r\n");
/// ```
#[inline]
pub fn append_null_bulk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// Appends an array header, `*<n>\r\n`; the caller then appends `n` values.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_array_len(&mut out, 2);
/// redcon::resp::append_integer(&mut out, 1);
/// redcon::resp::append_bulk(&mut out, "x");
/// assert_eq!(out, b"*2\r\n:1\r\n$1\r\nx\r\n");
/// ```
#[inline]
pub fn append_array_len(out: &mut Vec<u8>, n: usize) {
    append_line_usize(out, b'*', n);
}

/// Appends the RESP2 null array, `*-1\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_null_array(&mut out);
/// assert_eq!(out, b"*-1\r\n");
/// ```
#[inline]
pub fn append_null_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
}

/// Appends the RESP3 null, `_\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_null(&mut out);
/// assert_eq!(out, b"_\r\n");
/// ```
#[inline]
pub fn append_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"_\r\n");
}

/// Appends a RESP3 boolean, `#t\r\n` or `#f\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_bool(&mut out, true);
/// redcon::resp::append_bool(&mut out, false);
/// assert_eq!(out, b"#t\r\n#f\r\n");
/// ```
pub fn append_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
}

/// Appends a RESP3 double, `,<d>\r\n`, formatted as Redis 7.2 and later format doubles:
/// the shortest text that reads back as the same double (Grisu2, as Redis's bundled
/// `fpconv`), integral values as integers, and `inf`, `-inf`, `nan`, `-0` spelled out.
/// (Redis 7.0 printed `%.17g`, e.g. `0.10000000000000001`; current Redis prints `0.1`.)
///
/// ```
/// let mut out = Vec::new();
/// for d in [1.5, 0.1, 3.0, 1e300, f64::NEG_INFINITY, f64::NAN] {
///     redcon::resp::append_double(&mut out, d);
/// }
/// assert_eq!(out, b",1.5\r\n,0.1\r\n,3\r\n,1e+300\r\n,-inf\r\n,nan\r\n");
/// ```
pub fn append_double(out: &mut Vec<u8>, d: f64) {
    let mut buf = [0u8; DOUBLE_BUF_LEN];
    append_line_item(out, b',', format_double(d, &mut buf));
}

/// Appends the bulk-string form of a double, `$<len>\r\n<d>\r\n`, which is how Redis
/// sends doubles to RESP2 clients. The text is the same as [`append_double`]'s.
pub(crate) fn append_double_bulk(out: &mut Vec<u8>, d: f64) {
    let mut buf = [0u8; DOUBLE_BUF_LEN];
    append_length_prefixed(out, b'$', format_double(d, &mut buf));
}

/// Appends a RESP3 big number, `(<digits>\r\n`. The digits are not checked; CR and LF
/// become spaces so that a bad value cannot break the framing.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_big_number(&mut out, "3492890328409238509324850943850943825024385");
/// assert_eq!(out, b"(3492890328409238509324850943850943825024385\r\n");
/// ```
pub fn append_big_number(out: &mut Vec<u8>, digits: impl AsRef<[u8]>) {
    append_line_item(out, b'(', digits.as_ref());
}

/// Appends a RESP3 verbatim string, `=<len>\r\n<fmt>:<data>\r\n`, where `len` counts the
/// four bytes of `<fmt>:`.
///
/// As in Redis's `addReplyVerbatim`, the format is exactly three bytes: a longer one is
/// cut to its first three bytes, a shorter one padded with spaces. Common formats are
/// `txt` and `mkd`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_verbatim(&mut out, "txt", "Some string");
/// assert_eq!(out, b"=15\r\ntxt:Some string\r\n");
/// ```
pub fn append_verbatim(out: &mut Vec<u8>, format: &str, data: impl AsRef<[u8]>) {
    append_verbatim_bytes(out, format.as_bytes(), data.as_ref());
}

/// [`append_verbatim`] with the format as bytes (a parsed reply's format need not be
/// UTF-8).
pub(crate) fn append_verbatim_bytes(out: &mut Vec<u8>, format: &[u8], data: &[u8]) {
    let mut tag = [b' ', b' ', b' ', b':'];
    for (slot, &b) in tag[..3].iter_mut().zip(format) {
        // A CR or LF here would be data, not framing, but keep it readable.
        *slot = if b == b'\r' || b == b'\n' { b' ' } else { b };
    }
    out.reserve(data.len() + 32);
    append_line_usize(out, b'=', data.len().saturating_add(tag.len()));
    out.extend_from_slice(&tag);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends a RESP3 blob error, `!<len>\r\n<data>\r\n`. Binary-safe; `data` should start
/// with an error code, as in `"SYNTAX invalid syntax"`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_blob_error(&mut out, "SYNTAX invalid syntax");
/// assert_eq!(out, b"!21\r\nSYNTAX invalid syntax\r\n");
/// ```
pub fn append_blob_error(out: &mut Vec<u8>, data: impl AsRef<[u8]>) {
    append_length_prefixed(out, b'!', data.as_ref());
}

/// Appends a RESP3 map header, `%<n>\r\n`; the caller then appends `n` key-value pairs
/// (`2n` values).
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_map_len(&mut out, 1);
/// redcon::resp::append_bulk(&mut out, "k");
/// redcon::resp::append_integer(&mut out, 1);
/// assert_eq!(out, b"%1\r\n$1\r\nk\r\n:1\r\n");
/// ```
pub fn append_map_len(out: &mut Vec<u8>, n: usize) {
    append_line_usize(out, b'%', n);
}

/// Appends a RESP3 set header, `~<n>\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_set_len(&mut out, 3);
/// assert_eq!(out, b"~3\r\n");
/// ```
pub fn append_set_len(out: &mut Vec<u8>, n: usize) {
    append_line_usize(out, b'~', n);
}

/// Appends a RESP3 attribute header, `|<n>\r\n`; the caller then appends `n` key-value
/// pairs and then the value they describe.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_attribute_len(&mut out, 1);
/// assert_eq!(out, b"|1\r\n");
/// ```
pub fn append_attribute_len(out: &mut Vec<u8>, n: usize) {
    append_line_usize(out, b'|', n);
}

/// Appends a RESP3 push header, `><n>\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// redcon::resp::append_push_len(&mut out, 3);
/// assert_eq!(out, b">3\r\n");
/// ```
pub fn append_push_len(out: &mut Vec<u8>, n: usize) {
    append_line_usize(out, b'>', n);
}

/// `<prefix><len>\r\n<data>\r\n`, reserving the whole item first.
/// Items with at most this many bytes of data are assembled whole on the stack.
const SMALL_DATA: usize = 32;
/// Room for a small item: header line, data, CRLF.
const SMALL_ITEM: usize = 64;

#[inline]
fn append_length_prefixed(out: &mut Vec<u8>, prefix: u8, data: &[u8]) {
    let len = data.len();
    if len <= SMALL_DATA {
        // The common reply (`$5\r\nhello\r\n`) written whole in place: no `memcpy`
        // calls and one capacity check.
        append_in_place(out, SMALL_ITEM, |item| {
            let head = write_line(item, prefix, false, len as u64);
            match item.get_mut(head..head + len + 2) {
                Some(rest) => {
                    let (body, crlf) = rest.split_at_mut(len);
                    copy_small(body, data);
                    crlf.copy_from_slice(b"\r\n");
                    head + len + 2
                }
                None => 0,
            }
        });
        return;
    }
    // One reservation for the whole item, so the three appends below never reallocate.
    out.reserve(LINE_MAX + len + 2);
    append_line_usize(out, prefix, len);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Copies `src` (at most [`SMALL_DATA`] bytes) into `dst` of the same length with
/// fixed-size moves, two overlapping ones when the length is not a power of two.
#[inline]
fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    if n >= 16 {
        dst[..16].copy_from_slice(&src[..16]);
        dst[n - 16..n].copy_from_slice(&src[n - 16..n]);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..n].copy_from_slice(&src[n - 8..n]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..n].copy_from_slice(&src[n - 4..n]);
    } else if n > 0 {
        // 1 to 3 bytes: first, middle and last cover them all.
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/// `<prefix><text>\r\n` with any CR or LF in `text` replaced by a space.
#[inline]
fn append_line_item(out: &mut Vec<u8>, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.push(prefix);
    if has_newline(text) {
        push_replacing_newlines(out, text);
    } else {
        // The common case: one copy.
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// Whether `text` holds a CR or LF. Replies such as `OK` are short, and a plain loop
/// over a few bytes beats the setup of a vectorised search.
#[inline]
fn has_newline(text: &[u8]) -> bool {
    if text.len() <= 16 {
        text.iter().any(|&b| b == b'\r' || b == b'\n')
    } else {
        memchr::memchr2(b'\r', b'\n', text).is_some()
    }
}

#[cold]
fn push_replacing_newlines(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// `text` without CR and LF at either end (Redis's `sdstrim(s, "\r\n")`).
fn trim_newlines(text: &[u8]) -> &[u8] {
    let is_newline = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = text
        .iter()
        .position(|b| !is_newline(b))
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_newline(b))
        .map_or(start, |i| i + 1);
    text.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths (small items on the stack, short header lines) against the plain
    /// definition, across every length where a path changes.
    #[test]
    fn length_prefixed_matches_plain_encoding() {
        for len in (0..=300).chain([999, 1000, 9999, 10_000, 65_536]) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut out = b"prefix".to_vec();
            append_bulk(&mut out, &data);
            let mut expected = b"prefix".to_vec();
            expected.extend_from_slice(format!("${len}\r\n").as_bytes());
            expected.extend_from_slice(&data);
            expected.extend_from_slice(b"\r\n");
            assert_eq!(out, expected, "length {len}");
        }
    }

    #[test]
    fn header_lines_match_display() {
        let mut n = 1u64;
        for _ in 0..20 {
            for m in [n - 1, n, n + 1] {
                let mut out = Vec::new();
                append_uint(&mut out, m);
                append_integer(&mut out, -(m as i64));
                append_array_len(&mut out, m as usize);
                let expected = format!(":{m}\r\n:{}\r\n*{m}\r\n", -(m as i64));
                assert_eq!(out, expected.as_bytes());
            }
            n = n.saturating_mul(10);
        }
    }
}
