//! [`ToResp`]: ordinary Rust values written as replies, protocol-aware through
//! [`Writer`], plus small wrappers ([`Status`], [`ErrorReply`], [`Bulk`], [`NullArray`])
//! for the reply kinds a plain Rust type cannot express.

use super::write::Writer;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::rc::Rc;
use std::sync::Arc;

/// Values that can be written as a reply.
///
/// Implement it for your own types by calling [`Writer`] methods (or other `ToResp`
/// values); the writer applies the connection's protocol. The trait is object safe, so
/// `Vec<Box<dyn ToResp>>` is a heterogeneous array. The crate implements it for:
///
/// | Rust type                                           | reply                            |
/// |-----------------------------------------------------|----------------------------------|
/// | `i8`…`i64`, `isize`, `u16`, `u32`                   | integer                          |
/// | `u64`, `usize`, `i128`, `u128`                      | integer; big number beyond `i64` |
/// | `f32`, `f64`                                        | double                           |
/// | `bool`                                              | boolean                          |
/// | `str`, `String`, `char`                             | bulk string                      |
/// | `[u8]`, `Vec<u8>`, `[u8; N]`                        | bulk string (not an array)       |
/// | `[T]`, `Vec<T>`, `[T; N]`, `VecDeque<T>`, tuples    | array                            |
/// | `HashMap`, `BTreeMap`                               | map                              |
/// | `HashSet`, `BTreeSet`                               | set                              |
/// | `Option<T>` (`None`), `()`                          | null                             |
/// | `Result<T, E: Display>` (`Err`)                     | error                            |
/// | `&T`, `&mut T`, `Box<T>`, `Rc<T>`, `Arc<T>`, `Cow`  | as `T`                           |
/// | [`Status`], [`ErrorReply`], [`Bulk`], [`NullArray`] | see each                         |
///
/// **Bytes.** `u8` deliberately has no `ToResp` impl, which lets `[u8]`, `Vec<u8>` and
/// `[u8; N]` have their own: byte strings are written as bulk strings, never as arrays
/// of small integers. (A `u8` wanted as an integer can be widened: `u16::from(b)`.)
///
/// ```
/// use redcon::resp::{Protocol, ToResp, Writer};
///
/// struct Point { x: i64, y: i64 }
///
/// impl ToResp for Point {
///     fn write_resp(&self, w: &mut Writer) {
///         w.write_map(2);
///         w.write_any("x");
///         w.write_int(self.x);
///         w.write_any("y");
///         w.write_int(self.y);
///     }
/// }
///
/// let mut w = Writer::with_protocol(Protocol::Resp3);
/// w.write_any(&Point { x: 1, y: -2 });
/// assert_eq!(w.as_bytes(), b"%2\r\n$1\r\nx\r\n:1\r\n$1\r\ny\r\n:-2\r\n");
/// ```
pub trait ToResp {
    /// Writes `self` as one reply value.
    ///
    /// ```
    /// use redcon::resp::{ToResp, Writer};
    /// let mut w = Writer::new();
    /// Some(7i64).write_resp(&mut w);
    /// None::<i64>.write_resp(&mut w);
    /// assert_eq!(w.as_bytes(), b":7\r\n$-1\r\n");
    /// ```
    fn write_resp(&self, w: &mut Writer);
}

// ----- wrappers --------------------------------------------------------------------------

/// A simple string reply (`+OK`), for text that should not be a bulk string.
///
/// ```
/// use redcon::resp::{Status, Writer};
/// let mut w = Writer::new();
/// w.write_any(&Status("OK"));
/// assert_eq!(w.as_bytes(), b"+OK\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status<T>(pub T);

impl<T: AsRef<[u8]>> ToResp for Status<T> {
    fn write_resp(&self, w: &mut Writer) {
        w.write_string(&self.0);
    }
}

/// An error reply written as given: the text should start with its error code
/// (`ERR`, `WRONGTYPE`, …). See [`Writer::write_error`].
///
/// ```
/// use redcon::resp::{ErrorReply, Writer};
/// let mut w = Writer::new();
/// w.write_any(&ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value"));
/// assert_eq!(
///     w.as_bytes(),
///     b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorReply<T>(pub T);

impl<T: AsRef<[u8]>> ToResp for ErrorReply<T> {
    fn write_resp(&self, w: &mut Writer) {
        w.write_error(&self.0);
    }
}

/// A bulk string from any `AsRef<[u8]>` type, for byte containers without a `ToResp`
/// impl of their own (such as `bytes::Bytes`).
///
/// ```
/// use redcon::resp::{Bulk, Writer};
/// let mut w = Writer::new();
/// w.write_any(&Bulk(b"a/b"));
/// assert_eq!(w.as_bytes(), b"$3\r\na/b\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bulk<T>(pub T);

impl<T: AsRef<[u8]>> ToResp for Bulk<T> {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bulk(&self.0);
    }
}

/// The null array: `*-1` in RESP2 (as `BLPOP` on timeout), `_` in RESP3. `None` and `()`
/// write the null bulk string `$-1` instead.
///
/// ```
/// use redcon::resp::{NullArray, Writer};
/// let mut w = Writer::new();
/// w.write_any(&NullArray);
/// assert_eq!(w.as_bytes(), b"*-1\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NullArray;

impl ToResp for NullArray {
    fn write_resp(&self, w: &mut Writer) {
        w.write_null_array();
    }
}

// ----- scalars ---------------------------------------------------------------------------

macro_rules! small_ints {
    ($($t:ty),*) => {$(
        impl ToResp for $t {
            fn write_resp(&self, w: &mut Writer) {
                w.write_int(i64::from(*self));
            }
        }
    )*};
}
small_ints!(i8, i16, i32, i64, u16, u32);

/// Integers that may not fit an `i64`: RESP integers are signed 64-bit, and clients
/// built on hiredis reject larger ones, so those go out as big numbers (bulk strings in
/// RESP2).
macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl ToResp for $t {
            fn write_resp(&self, w: &mut Writer) {
                match i64::try_from(*self) {
                    Ok(n) => w.write_int(n),
                    Err(_) => write_big_integer(w, *self),
                }
            }
        }
    )*};
}
wide_ints!(isize, u64, usize, i128, u128);

fn write_big_integer(w: &mut Writer, n: impl Display) {
    use std::io::Write;
    // 40 bytes hold any i128 or u128 with its sign.
    let mut buf = [0u8; 40];
    let mut rest = &mut buf[..];
    let _ = write!(rest, "{n}");
    let len = 40 - rest.len();
    w.write_big_number(&buf[..len]);
}

impl ToResp for f64 {
    fn write_resp(&self, w: &mut Writer) {
        w.write_double(*self);
    }
}

/// Widened to `f64`, so `0.1f32` is written as `0.10000000149011612`.
impl ToResp for f32 {
    fn write_resp(&self, w: &mut Writer) {
        w.write_double(f64::from(*self));
    }
}

impl ToResp for bool {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bool(*self);
    }
}

impl ToResp for str {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bulk(self);
    }
}

impl ToResp for String {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bulk(self);
    }
}

impl ToResp for char {
    fn write_resp(&self, w: &mut Writer) {
        let mut buf = [0u8; 4];
        w.write_bulk(self.encode_utf8(&mut buf));
    }
}

/// `()` is the null reply.
impl ToResp for () {
    fn write_resp(&self, w: &mut Writer) {
        w.write_null();
    }
}

// ----- byte strings and sequences --------------------------------------------------------

impl ToResp for [u8] {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bulk(self);
    }
}

impl ToResp for Vec<u8> {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bulk(self);
    }
}

impl<const N: usize> ToResp for [u8; N] {
    fn write_resp(&self, w: &mut Writer) {
        w.write_bulk(self);
    }
}

fn write_seq<'a, T: ToResp + 'a>(w: &mut Writer, len: usize, items: impl Iterator<Item = &'a T>) {
    w.write_array(len);
    for item in items {
        item.write_resp(w);
    }
}

impl<T: ToResp> ToResp for [T] {
    fn write_resp(&self, w: &mut Writer) {
        write_seq(w, self.len(), self.iter());
    }
}

impl<T: ToResp> ToResp for Vec<T> {
    fn write_resp(&self, w: &mut Writer) {
        write_seq(w, self.len(), self.iter());
    }
}

impl<T: ToResp, const N: usize> ToResp for [T; N] {
    fn write_resp(&self, w: &mut Writer) {
        write_seq(w, N, self.iter());
    }
}

impl<T: ToResp> ToResp for VecDeque<T> {
    fn write_resp(&self, w: &mut Writer) {
        write_seq(w, self.len(), self.iter());
    }
}

// ----- maps and sets ---------------------------------------------------------------------

fn write_map<'a, K: ToResp + 'a, V: ToResp + 'a>(
    w: &mut Writer,
    len: usize,
    pairs: impl Iterator<Item = (&'a K, &'a V)>,
) {
    w.write_map(len);
    for (k, v) in pairs {
        k.write_resp(w);
        v.write_resp(w);
    }
}

fn write_set<'a, T: ToResp + 'a>(w: &mut Writer, len: usize, items: impl Iterator<Item = &'a T>) {
    w.write_set(len);
    for item in items {
        item.write_resp(w);
    }
}

impl<K: ToResp, V: ToResp, S> ToResp for HashMap<K, V, S> {
    fn write_resp(&self, w: &mut Writer) {
        write_map(w, self.len(), self.iter());
    }
}

impl<K: ToResp, V: ToResp> ToResp for BTreeMap<K, V> {
    fn write_resp(&self, w: &mut Writer) {
        write_map(w, self.len(), self.iter());
    }
}

impl<T: ToResp, S> ToResp for HashSet<T, S> {
    fn write_resp(&self, w: &mut Writer) {
        write_set(w, self.len(), self.iter());
    }
}

impl<T: ToResp> ToResp for BTreeSet<T> {
    fn write_resp(&self, w: &mut Writer) {
        write_set(w, self.len(), self.iter());
    }
}

// ----- option, result, tuples ------------------------------------------------------------

/// `None` is the null reply (`$-1` in RESP2, `_` in RESP3); use [`NullArray`] where a
/// RESP2 client expects `*-1`.
impl<T: ToResp> ToResp for Option<T> {
    fn write_resp(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write_resp(w),
            None => w.write_null(),
        }
    }
}

/// `Err(e)` becomes an error reply with `e`'s `Display` text. The text is sent as it is
/// when it already starts with an error code — a first word of two or more uppercase
/// ASCII letters (`WRONGTYPE …`, `NOPERM …`) or a leading `-` — and prefixed with `ERR `
/// otherwise.
///
/// ```
/// use redcon::resp::Writer;
/// let mut w = Writer::new();
/// w.write_any(&Err::<i64, _>("no such key"));
/// w.write_any(&Err::<i64, _>("BUSYKEY Target key name already exists."));
/// w.write_any(&Ok::<i64, &str>(7));
/// assert_eq!(
///     w.as_bytes(),
///     b"-ERR no such key\r\n-BUSYKEY Target key name already exists.\r\n:7\r\n"
/// );
/// ```
impl<T: ToResp, E: Display> ToResp for Result<T, E> {
    fn write_resp(&self, w: &mut Writer) {
        match self {
            Ok(v) => v.write_resp(w),
            Err(e) => {
                let msg = e.to_string();
                if starts_with_error_code(&msg) {
                    w.write_error(msg);
                } else {
                    let mut full = String::with_capacity(msg.len() + 4);
                    full.push_str("ERR ");
                    full.push_str(&msg);
                    w.write_error(full);
                }
            }
        }
    }
}

/// A leading `-`, or a first word of at least two uppercase ASCII letters.
fn starts_with_error_code(msg: &str) -> bool {
    if msg.starts_with('-') {
        return true;
    }
    let word = msg.split(' ').next().unwrap_or_default();
    word.len() >= 2 && word.bytes().all(|b| b.is_ascii_uppercase())
}

macro_rules! tuples {
    ($($len:literal => ($($name:ident),+);)*) => {$(
        impl<$($name: ToResp),+> ToResp for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_resp(&self, w: &mut Writer) {
                let ($($name,)+) = self;
                w.write_array($len);
                $($name.write_resp(w);)+
            }
        }
    )*};
}
tuples! {
    1 => (A);
    2 => (A, B);
    3 => (A, B, C);
    4 => (A, B, C, D);
    5 => (A, B, C, D, E);
    6 => (A, B, C, D, E, F);
    7 => (A, B, C, D, E, F, G);
    8 => (A, B, C, D, E, F, G, H);
}

// ----- pointers --------------------------------------------------------------------------

macro_rules! deref_impls {
    ($($ptr:ty),*) => {$(
        impl<T: ToResp + ?Sized> ToResp for $ptr {
            fn write_resp(&self, w: &mut Writer) {
                (**self).write_resp(w);
            }
        }
    )*};
}
deref_impls!(&T, &mut T, Box<T>, Rc<T>, Arc<T>);

impl<B: ToResp + ToOwned + ?Sized> ToResp for Cow<'_, B> {
    fn write_resp(&self, w: &mut Writer) {
        (**self).write_resp(w);
    }
}

#[cfg(test)]
mod tests;
