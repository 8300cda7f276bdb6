//! The streaming command parser: multibulk and inline requests, with Redis 7's limits,
//! leniencies and error texts, resumable across reads so a slowly arriving request is
//! never parsed twice.

use super::command::{Command, Span};
use super::inline;
use super::number::string2ll;
use crate::error::ProtocolError;

/// Parser limits, each defaulting to Redis 7's value.
///
/// ```
/// use redcon::resp::{Limits, Parser};
/// let limits = Limits { max_bulk_len: 1024 * 1024, ..Limits::default() };
/// assert_eq!(Parser::with_limits(limits).limits().max_bulk_len, 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `$len` accepted (Redis's `proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: usize,
    /// Longest inline line, and longest `*`/`$` header line (64 KiB). As in Redis, a
    /// request is refused only once more than this many bytes of it are buffered with
    /// no line end among them; a longer line that is already complete in the buffer is
    /// accepted.
    pub max_inline_len: usize,
    /// Largest `*count` accepted (`i32::MAX`, as Redis 7).
    pub max_multibulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_multibulk_len: i32::MAX as usize,
        }
    }
}

/// What [`Parser::parse`] found at the start of the input.
///
/// ```
/// use redcon::resp::{Parsed, Parser};
/// let mut p = Parser::new();
/// let input = b"GET a\r\nGET";
/// let Ok(Parsed::Command { command, consumed }) = p.parse(input) else { panic!() };
/// assert_eq!((&command[1], consumed), (&b"a"[..], 7));
/// // The rest is not a whole command yet: read more and call again.
/// assert!(matches!(p.parse(&input[7..]), Ok(Parsed::Incomplete { .. })));
/// ```
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A complete command; `consumed` bytes of the input belong to it (and to any empty
    /// requests skipped before it).
    Command {
        /// The command, borrowing the input.
        command: Command<'a>,
        /// Bytes of input used.
        consumed: usize,
    },
    /// No complete command yet. `consumed` bytes at the front were empty requests
    /// (blank lines, `*0`, `*-1`) that the caller must drop before calling again.
    Incomplete {
        /// Bytes of input to drop.
        consumed: usize,
    },
}

/// Where the parser stands in a request that has not fully arrived. Offsets are from
/// the start of that request, which is the start of the input on the next call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Between requests.
    #[default]
    Idle,
    /// An inline line; its first `searched` bytes hold no `\n`.
    Inline { searched: usize },
    /// A `*count` line; its first `searched` bytes hold no `\r`.
    Count { searched: usize },
    /// A `$len` line at `pos` with `left` elements to go (this one included); the
    /// `searched` bytes from `pos` hold no `\r`.
    Header {
        left: usize,
        pos: usize,
        searched: usize,
    },
    /// Element data of `len` bytes (plus two skipped bytes) at `pos`.
    Data { left: usize, pos: usize, len: usize },
}

/// How far one request got.
enum Outcome {
    /// A command of this many bytes.
    Command(usize),
    /// An empty request of this many bytes, to skip.
    Empty(usize),
    /// The request is not complete yet.
    NeedMore,
}

/// Result of [`Parser::advance`]: the index-only twin of [`Parsed`], which holds no
/// borrow so a caller can loop on it freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// A command occupies `input[start..end]`; build it with [`Parser::command`].
    Done { start: usize, end: usize },
    /// See [`Parsed::Incomplete`].
    Pending { consumed: usize },
}

/// Above these sizes the argument lists are released after the command that needed them,
/// so one huge request does not pin its memory for the connection's life.
const KEEP_SPANS: usize = 1024;
const KEEP_SCRATCH: usize = 16 * 1024;

/// Streaming command parser: multibulk (`*N\r\n$len\r\n…`) and inline requests.
///
/// Multibulk arguments and plain inline arguments borrow the input; inline arguments
/// with quotes or escapes are unescaped into a scratch buffer the parser reuses, as it
/// reuses its list of arguments: after warm-up, parsing allocates nothing.
///
/// # Resuming
/// The parser keeps its place in a request that has not fully arrived, so a huge
/// request delivered in many small reads is scanned once, not once per read. The
/// contract: after [`Parsed::Incomplete { consumed }`](Parsed::Incomplete), drop the
/// first `consumed` bytes and call again with the rest of the same bytes, followed by
/// whatever has arrived since. After [`Parsed::Command`], drop `consumed` bytes and
/// call with what follows. To start over on unrelated input, call
/// [`reset`](Parser::reset). (Input that breaks the contract yields wrong commands or
/// errors, never a panic.) [`Reader`](super::Reader) does all of this for you.
///
/// # Redis compatibility
/// Everything Redis 7 accepts is accepted, including its leniencies: the byte after a
/// header's `\r` and the two bytes after element data are skipped unchecked, and empty
/// requests (`*0`, negative counts, blank lines) are skipped. Errors are Redis's, at the
/// same point of arrival. One deliberate difference: Redis searches for line ends with
/// `strchr`, so a NUL byte in a header or inline line stalls it until the 64 KiB limit;
/// here NUL is an ordinary byte (an inline line is then split, as Redis's splitter
/// would split it, up to the NUL).
///
/// ```
/// use redcon::resp::{Parsed, Parser};
/// let mut parser = Parser::new();
/// let mut input = b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n*1\r\n$4\r\nPI".to_vec();
/// let mut names = Vec::new();
/// loop {
///     match parser.parse(&input).unwrap() {
///         Parsed::Command { command, consumed } => {
///             names.push(command.name().to_vec());
///             input.drain(..consumed);
///         }
///         Parsed::Incomplete { consumed } => {
///             input.drain(..consumed);
///             break;
///         }
///     }
/// }
/// assert_eq!(names, [b"ECHO".to_vec(), b"PING".to_vec()]);
/// // The rest arrives; the parser carries on where it stopped.
/// input.extend_from_slice(b"NG\r\n");
/// let Parsed::Command { command, .. } = parser.parse(&input).unwrap() else { panic!() };
/// assert!(command.is("ping"));
/// ```
#[derive(Debug, Default)]
pub struct Parser {
    limits: Limits,
    spans: Vec<Span>,
    scratch: Vec<u8>,
    state: State,
    inline: bool,
    needed: Option<usize>,
    /// Redis's tighter limits for a client that must still authenticate.
    unauthenticated: bool,
}

/// The most elements a request of a client that must still authenticate may declare,
/// and the longest bulk it may declare (Redis's `processMultibulkBuffer`): a client
/// without a password cannot make the server buffer more than a few small arguments.
pub(crate) const UNAUTHENTICATED_MULTIBULK: usize = 10;
/// See [`UNAUTHENTICATED_MULTIBULK`].
pub(crate) const UNAUTHENTICATED_BULK: usize = 16 * 1024;

impl Parser {
    /// A parser with Redis's default limits.
    ///
    /// ```
    /// use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// assert!(matches!(p.parse(b"PING\r\n"), Ok(Parsed::Command { consumed: 6, .. })));
    /// ```
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A parser with the given limits.
    ///
    /// ```
    /// use redcon::resp::{Limits, Parser};
    /// let limits = Limits { max_bulk_len: 4, ..Limits::default() };
    /// let mut p = Parser::with_limits(limits);
    /// let err = p.parse(b"*2\r\n$3\r\nSET\r\n$5\r\n").unwrap_err();
    /// assert!(err.to_string().contains("invalid bulk length"));
    /// ```
    pub fn with_limits(limits: Limits) -> Self {
        Parser {
            limits,
            ..Parser::default()
        }
    }

    /// The limits in force.
    ///
    /// ```
    /// use redcon::resp::{Limits, Parser};
    /// assert_eq!(Parser::new().limits(), Limits::default());
    /// ```
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Applies (or lifts) Redis's limits for a client that has not authenticated yet:
    /// a request declaring more than 10 elements is refused with
    /// `unauthenticated multibulk length`, a bulk longer than 16 KiB with
    /// `unauthenticated bulk length`. The server sets this for every connection that
    /// must authenticate, and lifts it once `AUTH` succeeds.
    ///
    /// ```
    /// use redcon::resp::Parser;
    /// let mut p = Parser::new();
    /// p.set_unauthenticated(true);
    /// let err = p.parse(b"*11\r\n").unwrap_err();
    /// assert_eq!(err.to_string(), "unauthenticated multibulk length");
    /// p.set_unauthenticated(false);
    /// assert!(p.parse(b"*11\r\n").is_ok()); // incomplete, but accepted
    /// ```
    pub fn set_unauthenticated(&mut self, on: bool) {
        self.unauthenticated = on;
    }

    /// Parses the next command from the front of `input`.
    ///
    /// See the [type documentation](Parser#resuming) for what to pass on the next call.
    ///
    /// ```
    /// use redcon::resp::{Parsed, Parser};
    /// let mut parser = Parser::new();
    /// // Empty requests before an unfinished one are reported, to be dropped.
    /// match parser.parse(b"*0\r\n\r\nGET k").unwrap() {
    ///     Parsed::Incomplete { consumed } => assert_eq!(consumed, 6),
    ///     Parsed::Command { .. } => unreachable!(),
    /// }
    /// ```
    ///
    /// # Errors
    /// A [`ProtocolError`] with Redis's text for a malformed request. The connection
    /// should then be answered and closed, as Redis does; the parser is reset.
    pub fn parse<'a>(&'a mut self, input: &'a [u8]) -> Result<Parsed<'a>, ProtocolError> {
        Ok(match self.advance(input)? {
            Progress::Done { start, end } => Parsed::Command {
                command: self.command(input.get(start..end).unwrap_or_default()),
                consumed: end,
            },
            Progress::Pending { consumed } => Parsed::Incomplete { consumed },
        })
    }

    /// Forgets any partly parsed command.
    ///
    /// ```
    /// use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// // Half a command, then the client is replaced by another one.
    /// assert!(matches!(p.parse(b"*2\r\n$3\r\nGET\r\n"), Ok(Parsed::Incomplete { .. })));
    /// p.reset();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"PING\r\n") else { panic!() };
    /// assert!(command.is("ping"));
    /// ```
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.needed = None;
        self.spans.clear();
        self.scratch.clear();
    }

    /// How many more bytes the element being received needs before the command can
    /// progress, if the parser is inside a multibulk element whose length it knows.
    /// A buffer may grow toward this, but should not trust it further than the bytes
    /// that have actually arrived: the length is the client's claim.
    ///
    /// ```
    /// use redcon::resp::{Parsed, Parser};
    /// let mut parser = Parser::new();
    /// let input = b"*1\r\n$10\r\nabc";
    /// assert!(matches!(parser.parse(input), Ok(Parsed::Incomplete { consumed: 0 })));
    /// assert_eq!(parser.needed(), Some(7 + 2));
    /// ```
    pub fn needed(&self) -> Option<usize> {
        self.needed
    }

    /// The command found by the last [`advance`](Self::advance), given its bytes
    /// (`input[start..end]` of that call).
    pub(crate) fn command<'a>(&'a self, bytes: &'a [u8]) -> Command<'a> {
        Command {
            input: bytes,
            scratch: &self.scratch,
            spans: &self.spans,
            inline: self.inline,
        }
    }

    /// Runs the parser over `input` without borrowing it in the result.
    pub(crate) fn advance(&mut self, input: &[u8]) -> Result<Progress, ProtocolError> {
        self.needed = None;
        if self.state == State::Idle
            && let Some(end) = self.complete_multibulk(input)
        {
            return Ok(Progress::Done { start: 0, end });
        }
        let mut base = 0;
        loop {
            let rest = input.get(base..).unwrap_or_default();
            match self.step(rest) {
                Ok(Outcome::Command(len)) => {
                    self.state = State::Idle;
                    return Ok(Progress::Done {
                        start: base,
                        end: base + len,
                    });
                }
                Ok(Outcome::Empty(len)) => {
                    self.state = State::Idle;
                    base += len;
                }
                Ok(Outcome::NeedMore) => return Ok(Progress::Pending { consumed: base }),
                Err(e) => {
                    self.reset();
                    return Err(e);
                }
            }
        }
    }

    /// The usual request in one pass, without the resumable state machine: a multibulk
    /// request that has fully arrived, with plain headers (see [`quick_number`]) within
    /// the limits. Returns its length. Anything else (`None`) is left to the general
    /// path, which starts the request over and gives the errors; it runs only from the
    /// idle state, so a request arriving in pieces is scanned at most twice, not once
    /// per read. Parsing is a large share of a pipelined server's time: in the clone
    /// example under `redis-benchmark -P 512` this path took a quarter off the
    /// instructions spent reading each command (callgrind).
    #[inline]
    fn complete_multibulk(&mut self, input: &[u8]) -> Option<usize> {
        if input.first() != Some(&b'*') {
            return None;
        }
        let (count, cr) = quick_number(input, 0)?;
        let count = usize::try_from(count)
            .ok()
            .filter(|&n| n >= 1 && n <= self.limits.max_multibulk_len)
            .filter(|&n| !self.unauthenticated || n <= UNAUTHENTICATED_MULTIBULK)?;
        self.clear_arguments(false);
        let mut pos = cr + 2;
        for _ in 0..count {
            let line = input.get(pos..)?;
            if line.first() != Some(&b'$') {
                return None;
            }
            let (len, cr) = quick_number(line, 0)?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&n| n <= self.limits.max_bulk_len)
                .filter(|&n| !self.unauthenticated || n <= UNAUTHENTICATED_BULK)?;
            let start = pos + cr + 2;
            let end = start + len;
            // The element and the two bytes after it, which are not checked.
            if end + 2 > input.len() {
                return None;
            }
            self.spans.push(Span {
                start,
                end,
                in_scratch: false,
            });
            pos = end + 2;
        }
        Some(pos)
    }

    /// Starts a new request whose first byte is `first`.
    fn begin(&mut self, first: u8) {
        self.clear_arguments(first != b'*');
        self.state = if self.inline {
            State::Inline { searched: 0 }
        } else {
            State::Count { searched: 0 }
        };
    }

    /// Forgets the previous request's arguments, releasing their memory if they were
    /// unusually many or large.
    fn clear_arguments(&mut self, inline: bool) {
        self.spans.clear();
        self.scratch.clear();
        if self.spans.capacity() > KEEP_SPANS {
            self.spans.shrink_to(KEEP_SPANS);
        }
        if self.scratch.capacity() > KEEP_SCRATCH {
            self.scratch.shrink_to(KEEP_SCRATCH);
        }
        self.inline = inline;
    }

    /// Carries the current request as far as `rest` (which starts with it) allows.
    fn step(&mut self, rest: &[u8]) -> Result<Outcome, ProtocolError> {
        // Offsets saved from an earlier call must fit this input; if the caller broke
        // the contract, start the request over rather than index out of bounds.
        let fits = match self.state {
            State::Idle => true,
            State::Inline { searched } | State::Count { searched } => searched <= rest.len(),
            State::Header { pos, searched, .. } => pos.saturating_add(searched) <= rest.len(),
            State::Data { pos, .. } => pos <= rest.len(),
        };
        if !fits || self.state == State::Idle {
            match rest.first() {
                Some(&first) => self.begin(first),
                None => return Ok(Outcome::NeedMore),
            }
        }
        match self.state {
            State::Inline { searched } => self.inline_line(rest, searched),
            State::Count { searched } => self.count_line(rest, searched),
            _ => self.elements(rest),
        }
    }

    fn inline_line(&mut self, rest: &[u8], searched: usize) -> Result<Outcome, ProtocolError> {
        let Some(lf) = find(b'\n', rest, searched) else {
            if rest.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            self.state = State::Inline {
                searched: rest.len(),
            };
            return Ok(Outcome::NeedMore);
        };
        // One `\r` before the `\n` belongs to the line ending.
        let line = &rest[..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        inline::split(line, &mut self.spans, &mut self.scratch)?;
        Ok(if self.spans.is_empty() {
            Outcome::Empty(lf + 1)
        } else {
            Outcome::Command(lf + 1)
        })
    }

    fn count_line(&mut self, rest: &[u8], searched: usize) -> Result<Outcome, ProtocolError> {
        let (count, cr) = match quick_number(rest, searched) {
            Some(found) => found,
            None => {
                let cr = match header_end(rest, searched, self.limits.max_inline_len) {
                    HeaderEnd::Found(cr) => cr,
                    HeaderEnd::Missing { searched } => {
                        self.state = State::Count { searched };
                        return Ok(Outcome::NeedMore);
                    }
                    HeaderEnd::TooBig => return Err(ProtocolError::TooBigMbulkCountString),
                };
                let count = rest
                    .get(1..cr)
                    .and_then(string2ll)
                    .ok_or(ProtocolError::InvalidMultibulkLength)?;
                (count, cr)
            }
        };
        if count <= 0 {
            return Ok(Outcome::Empty(cr + 2));
        }
        let left = usize::try_from(count)
            .ok()
            .filter(|&n| n <= self.limits.max_multibulk_len)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if self.unauthenticated && left > UNAUTHENTICATED_MULTIBULK {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        self.state = State::Header {
            left,
            pos: cr + 2,
            searched: 0,
        };
        self.elements(rest)
    }

    /// Parses `$len` headers and element data until the command is complete or the
    /// input runs out.
    fn elements(&mut self, rest: &[u8]) -> Result<Outcome, ProtocolError> {
        loop {
            match self.state {
                State::Header {
                    left,
                    pos,
                    searched,
                } => {
                    let line = rest.get(pos..).unwrap_or_default();
                    let quick = match line.first() {
                        Some(b'$') => quick_number(line, searched),
                        _ => None,
                    };
                    let (len, cr) = match quick {
                        Some(found) => found,
                        None => {
                            let cr = match header_end(line, searched, self.limits.max_inline_len) {
                                HeaderEnd::Found(cr) => cr,
                                HeaderEnd::Missing { searched } => {
                                    self.state = State::Header {
                                        left,
                                        pos,
                                        searched,
                                    };
                                    return Ok(Outcome::NeedMore);
                                }
                                HeaderEnd::TooBig => {
                                    return Err(ProtocolError::TooBigBulkCountString)
                                }
                            };
                            match line.first() {
                                Some(b'$') => {}
                                Some(&other) => return Err(ProtocolError::ExpectedDollar(other)),
                                None => return Ok(Outcome::NeedMore),
                            }
                            let len = line
                                .get(1..cr)
                                .and_then(string2ll)
                                .ok_or(ProtocolError::InvalidBulkLength)?;
                            (len, cr)
                        }
                    };
                    let len = usize::try_from(len)
                        .ok()
                        .filter(|&n| n <= self.limits.max_bulk_len)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if self.unauthenticated && len > UNAUTHENTICATED_BULK {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    self.state = State::Data {
                        left,
                        pos: pos + cr + 2,
                        len,
                    };
                }
                State::Data { left, pos, len } => {
                    // The element and the two bytes after it, which are not checked.
                    let need = len.saturating_add(2);
                    let have = rest.len().saturating_sub(pos);
                    if have < need {
                        self.state = State::Data { left, pos, len };
                        self.needed = Some(need - have);
                        return Ok(Outcome::NeedMore);
                    }
                    self.spans.push(Span {
                        start: pos,
                        end: pos + len,
                        in_scratch: false,
                    });
                    let next = pos + need;
                    if left <= 1 {
                        return Ok(Outcome::Command(next));
                    }
                    self.state = State::Header {
                        left: left - 1,
                        pos: next,
                        searched: 0,
                    };
                }
                State::Idle | State::Inline { .. } | State::Count { .. } => {
                    return Ok(Outcome::NeedMore)
                }
            }
        }
    }
}

/// The number on a header line that has not been searched yet (`searched == 0`), when
/// the line is the usual kind: the type byte, 1 to 18 digits with no leading zero (or
/// a lone `0`), `\r`, and at least one more byte. Returns the number and the offset of
/// the `\r`, found in the same pass that reads the digits; for anything else, `None`,
/// and the general path (search for `\r`, then `string2ll`) decides, which for the
/// lines accepted here gives the same answer.
#[inline]
fn quick_number(line: &[u8], searched: usize) -> Option<(i64, usize)> {
    if searched != 0 {
        return None;
    }
    let digit = |i: usize| {
        line.get(i)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|&d| d <= 9)
    };
    let first = digit(1)?;
    let mut value = i64::from(first);
    let mut cr = 2;
    // A leading zero only as the whole number; at most 18 digits, so no overflow.
    if first != 0 {
        while let Some(d) = digit(cr) {
            if cr > 18 {
                return None;
            }
            value = value * 10 + i64::from(d);
            cr += 1;
        }
    }
    if line.get(cr) != Some(&b'\r') || cr + 1 >= line.len() {
        return None;
    }
    Some((value, cr))
}

/// Where a `*`/`$` header line ends.
enum HeaderEnd {
    /// The line's `\r` is at this offset, and at least one byte follows it.
    Found(usize),
    /// Not yet; the first `searched` bytes hold no `\r` (or end with a lone one).
    Missing { searched: usize },
    /// More than the inline limit is buffered with no `\r` in it.
    TooBig,
}

/// Finds the `\r` ending the header line at the start of `line`, as Redis does: the
/// first `\r` anywhere in the buffered bytes, which must be followed by one more byte
/// (skipped unchecked). The size limit applies only while no `\r` is buffered at all.
fn header_end(line: &[u8], searched: usize, max: usize) -> HeaderEnd {
    match find(b'\r', line, searched) {
        Some(cr) if cr + 1 < line.len() => HeaderEnd::Found(cr),
        // A lone `\r` at the end: look at it again when more arrives.
        Some(cr) => HeaderEnd::Missing { searched: cr },
        None if line.len() > max => HeaderEnd::TooBig,
        None => HeaderEnd::Missing {
            searched: line.len(),
        },
    }
}

/// The first `needle` in `haystack` at or after `from`.
#[inline]
fn find(needle: u8, haystack: &[u8], from: usize) -> Option<usize> {
    let tail = haystack.get(from..)?;
    memchr::memchr(needle, tail).map(|i| from + i)
}

#[cfg(test)]
mod tests;
