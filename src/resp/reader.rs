//! [`Reader`]: the read buffer over any [`Read`], feeding the [`Parser`]. It decides when
//! to read, compact, grow and shrink, so memory follows the bytes that have arrived,
//! never the sizes a client announces.

use super::command::Command;
use super::parse::{Limits, Parser, Progress};
use crate::error::ProtocolError;
use std::fmt;
use std::io::{self, Read};

/// Why [`Reader`] could not produce a command.
///
/// ```
/// use redcon::resp::{ReadError, Reader};
/// let mut reader = Reader::new(&b"*1\r\n$x\r\n"[..]);
/// match reader.read_command() {
///     Err(ReadError::Protocol(e)) => assert_eq!(e.to_string(), "invalid bulk length"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The underlying reader failed.
    Io(io::Error),
    /// The client sent a malformed request.
    Protocol(ProtocolError),
    /// Unparsed input exceeded the query buffer limit (Redis closes such a client
    /// without a reply).
    QueryBufferLimit,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "I/O error: {e}"),
            ReadError::Protocol(e) => write!(f, "Protocol error: {e}"),
            ReadError::QueryBufferLimit => f.write_str("query buffer limit reached"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Protocol(e) => Some(e),
            ReadError::QueryBufferLimit => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<ProtocolError> for ReadError {
    fn from(e: ProtocolError) -> Self {
        ReadError::Protocol(e)
    }
}

/// The default initial buffer size.
const DEFAULT_CAPACITY: usize = 16 * 1024;
/// The default query buffer limit (Redis's `client-query-buffer-limit`, 1 GiB).
const DEFAULT_MAX_QUERY_BUFFER: usize = 1 << 30;
/// The smallest initial capacity used, whatever is asked.
const MIN_CAPACITY: usize = 64;
/// An empty buffer is given back only above this size (and four times the initial
/// size): a connection that keeps sending pipelines of a few tens of KiB keeps its
/// buffer instead of growing it again for every batch, even when its initial size is
/// small.
const SHRINK_ABOVE: usize = 64 * 1024;
/// A read that fills a window of at least this many bytes suggests more input is
/// waiting, so the buffer is doubled (up to [`SHRINK_ABOVE`]) before the next read.
const FULL_READ_MIN: usize = 256;

/// Buffered command reader over any [`Read`]: one socket read brings in as many
/// requests as have arrived, and [`next_buffered`](Reader::next_buffered) hands them
/// out one by one, borrowing the buffer.
///
/// Memory: the buffer is allocated on the first read, grows geometrically (toward the
/// size of an element being received, but never more than doubling per read, so a
/// client cannot reserve memory by announcing a large length), and drops back to its
/// initial size once empty after a large request (one that grew it past 64 KiB and four
/// times its initial size). A read that fills the buffer doubles it, up to 64 KiB, so
/// a pipelining client is read in few large reads. Unparsed bytes are capped by the
/// query buffer limit.
///
/// ```
/// use redcon::resp::Reader;
/// let input = &b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"[..];
/// let mut reader = Reader::new(input);
/// let mut names = Vec::new();
/// while let Some(command) = reader.read_command()? {
///     names.push(String::from_utf8_lossy(command.name()).into_owned());
/// }
/// assert_eq!(names, ["GET", "PING"]);
/// # Ok::<(), redcon::resp::ReadError>(())
/// ```
pub struct Reader<R> {
    inner: R,
    /// Zero-initialised storage; `buf.len()` is the usable capacity.
    buf: Vec<u8>,
    /// Unparsed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    parser: Parser,
    initial_capacity: usize,
    max_query_buffer: usize,
    /// The last read filled its whole window (of at least [`FULL_READ_MIN`] bytes).
    filled: bool,
}

impl<R: fmt::Debug> fmt::Debug for Reader<R> {
    // The buffer can be large: show its size, not its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("inner", &self.inner)
            .field("buffered", &(self.end - self.start))
            .field("capacity", &self.buf.len())
            .field("parser", &self.parser)
            .field("max_query_buffer", &self.max_query_buffer)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Reader<R> {
    /// A reader with Redis's default limits, a 16 KiB initial buffer and a 1 GiB query
    /// buffer limit.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// // Any `Read`: a socket, a file, a byte slice.
    /// let mut reader = Reader::new(std::io::Cursor::new(b"PING\r\n".to_vec()));
    /// assert!(reader.read_command()?.unwrap().is("ping"));
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn new(inner: R) -> Self {
        Self::with_limits(
            inner,
            Limits::default(),
            DEFAULT_CAPACITY,
            DEFAULT_MAX_QUERY_BUFFER,
        )
    }

    /// A reader with the given parser limits, initial buffer size (at least 64 bytes
    /// are used) and query buffer limit (the most unparsed bytes it will hold).
    ///
    /// ```
    /// use redcon::resp::{Limits, Reader};
    /// let reader = Reader::with_limits(&b""[..], Limits::default(), 4096, 1 << 20);
    /// assert_eq!(reader.capacity(), 0); // nothing is allocated before the first read
    /// ```
    pub fn with_limits(
        inner: R,
        limits: Limits,
        initial_capacity: usize,
        max_query_buffer: usize,
    ) -> Self {
        Reader {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            parser: Parser::with_limits(limits),
            initial_capacity: initial_capacity.max(MIN_CAPACITY),
            max_query_buffer,
            filled: false,
        }
    }

    /// A reader that starts with `buffered` as unparsed input (as returned by
    /// [`into_parts`](Self::into_parts)), then reads from `inner`.
    ///
    /// ```
    /// use redcon::resp::{Limits, Reader};
    /// let mut reader = Reader::from_parts(&b"\r\n"[..], b"PING".to_vec(), Limits::default(), 4096, 1 << 30);
    /// assert!(reader.read_command()?.unwrap().is("ping"));
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn from_parts(
        inner: R,
        buffered: Vec<u8>,
        limits: Limits,
        initial_capacity: usize,
        max_query_buffer: usize,
    ) -> Self {
        let mut reader = Self::with_limits(inner, limits, initial_capacity, max_query_buffer);
        reader.end = buffered.len();
        reader.buf = buffered;
        reader
    }

    /// Makes exactly one `read` call on the inner reader, into the buffer's free space,
    /// and returns the number of bytes read (0 at end of input). Before reading it
    /// compacts and grows the buffer as needed.
    ///
    /// # Errors
    /// [`ReadError::Io`] if the read fails (`Interrupted` included: this makes one
    /// call only); [`ReadError::QueryBufferLimit`] if the unparsed bytes already fill
    /// the query buffer limit, so nothing more may be read.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"PING\r\n"[..]);
    /// assert_eq!(reader.fill_buf()?, 6);
    /// assert_eq!(reader.fill_buf()?, 0); // end of input
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn fill_buf(&mut self) -> Result<usize, ReadError> {
        let limit = self.make_room()?;
        let window = self.buf.get_mut(self.end..limit).unwrap_or_default();
        let room = window.len();
        debug_assert!(room > 0, "make_room left no room");
        // A reader claiming more than it was given is clamped, not trusted.
        let n = self.inner.read(window)?.min(room);
        self.end += n;
        self.filled = n == room && room >= FULL_READ_MIN;
        Ok(n)
    }

    /// The next complete command already in the buffer, with the buffered bytes after
    /// it (the rest of the pipeline, possibly holding more commands); `None` if no
    /// complete command is buffered. Never reads.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"GET a\r\nGET b\r\nGE"[..]);
    /// reader.fill_buf()?;
    /// let (command, rest) = reader.next_buffered()?.unwrap();
    /// assert_eq!(&command[1], b"a");
    /// assert_eq!(rest, b"GET b\r\nGE");
    /// assert!(reader.next_buffered()?.is_some());
    /// assert!(reader.next_buffered()?.is_none());
    /// assert_eq!(reader.buffered(), b"GE");
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    ///
    /// # Errors
    /// The [`ProtocolError`] of a malformed request; the connection should be answered
    /// and closed.
    pub fn next_buffered(&mut self) -> Result<Option<(Command<'_>, &[u8])>, ProtocolError> {
        Ok(match self.advance()? {
            Some((start, end)) => Some((
                self.parser
                    .command(self.buf.get(start..end).unwrap_or_default()),
                self.buf.get(self.start..self.end).unwrap_or_default(),
            )),
            None => None,
        })
    }

    /// Applies or lifts the limits for a client that must still authenticate (see
    /// [`Parser::set_unauthenticated`]).
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"*2\r\n$20000\r\n"[..]);
    /// reader.set_unauthenticated(true);
    /// let err = reader.read_command().unwrap_err();
    /// assert_eq!(err.to_string(), "Protocol error: unauthenticated bulk length");
    /// ```
    pub fn set_unauthenticated(&mut self, on: bool) {
        self.parser.set_unauthenticated(on);
    }

    /// Drops the first `n` unparsed bytes (at most all of them), for a caller that took
    /// the rest of a pipeline from [`next_buffered`](Self::next_buffered) itself. Any
    /// partly parsed request is forgotten.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"MULTI\r\nSET k v\r\nEXEC\r\n"[..]);
    /// reader.fill_buf()?;
    /// let (_, rest) = reader.next_buffered()?.unwrap();
    /// let taken = rest.to_vec(); // the caller handles the rest of the pipeline itself
    /// reader.consume(taken.len());
    /// assert!(reader.buffered().is_empty());
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn consume(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.start += n.min(self.end - self.start);
        self.parser.reset();
    }

    /// The next command, reading as needed; `Ok(None)` at end of input (an unfinished
    /// request is then left in [`buffered`](Self::buffered)). Reads interrupted by a
    /// signal are retried.
    ///
    /// # Errors
    /// [`ReadError::Io`], [`ReadError::Protocol`] or [`ReadError::QueryBufferLimit`].
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n"[..]);
    /// let mut names = Vec::new();
    /// while let Some(cmd) = reader.read_command()? {
    ///     names.push(cmd.name().to_vec());
    /// }
    /// assert_eq!(names, [&b"ECHO"[..], b"PING"]);
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn read_command(&mut self) -> Result<Option<Command<'_>>, ReadError> {
        // Find the command's position first and borrow the buffer only once: returning
        // a borrow from inside the loop would not pass the borrow checker.
        let (start, end) = loop {
            if let Some(found) = self.advance()? {
                break found;
            }
            match self.fill_buf() {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        Ok(Some(
            self.parser
                .command(self.buf.get(start..end).unwrap_or_default()),
        ))
    }

    /// The unparsed bytes.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"PING\r\nGET"[..]);
    /// assert!(reader.read_command()?.is_some());
    /// assert!(reader.read_command()?.is_none()); // input ended mid-request
    /// assert_eq!(reader.buffered(), b"GET");
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// The buffer's current size in bytes (0 until the first read).
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"PING\r\n"[..]);
    /// assert_eq!(reader.capacity(), 0);
    /// reader.fill_buf()?;
    /// assert!(reader.capacity() >= 6);
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The inner reader.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let reader = Reader::new(std::io::Cursor::new(b"PING\r\n"));
    /// assert_eq!(reader.get_ref().position(), 0);
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably. Reading from it directly loses those bytes to the
    /// parser.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(std::io::Cursor::new(b"junk PING\r\n"));
    /// reader.get_mut().set_position(5); // skip bytes the parser must not see
    /// assert!(reader.read_command()?.unwrap().is("ping"));
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader and the unparsed bytes, reusing the buffer's allocation.
    ///
    /// ```
    /// use redcon::resp::Reader;
    /// let mut reader = Reader::new(&b"PING\r\nGET"[..]);
    /// reader.read_command()?;
    /// let (_, rest) = reader.into_parts();
    /// assert_eq!(rest, b"GET");
    /// # Ok::<(), redcon::resp::ReadError>(())
    /// ```
    pub fn into_parts(self) -> (R, Vec<u8>) {
        let Reader {
            inner,
            mut buf,
            start,
            end,
            ..
        } = self;
        buf.copy_within(start..end, 0);
        buf.truncate(end - start);
        (inner, buf)
    }

    /// Runs the parser over the unparsed bytes; on a command, moves past it and returns
    /// its position in `buf`.
    fn advance(&mut self) -> Result<Option<(usize, usize)>, ProtocolError> {
        let input = self.buf.get(self.start..self.end).unwrap_or_default();
        let found = match self.parser.advance(input)? {
            Progress::Done { start, end } => {
                let found = (self.start + start, self.start + end);
                self.start += end;
                Some(found)
            }
            Progress::Pending { consumed } => {
                self.start += consumed;
                None
            }
        };
        Ok(found)
    }

    /// Prepares free space for a read and returns where the read window ends.
    fn make_room(&mut self) -> Result<usize, ReadError> {
        let unparsed = self.end - self.start;
        if unparsed >= self.max_query_buffer {
            return Err(ReadError::QueryBufferLimit);
        }
        let initial = self.initial_capacity;
        if unparsed == 0 {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > (4 * initial).max(SHRINK_ABOVE) {
                // Done with a large request: give the memory back.
                self.buf.truncate(initial);
                self.buf.shrink_to_fit();
                self.filled = false;
            }
        }
        if self.buf.is_empty() {
            self.buf.resize(initial, 0);
        }
        if self.filled && self.buf.len() < SHRINK_ABOVE {
            // The last read took all the room there was, so a pipelining client is
            // probably sending more: read it in fewer, larger reads. The buffer only
            // grows as fast as bytes actually arrive, and never past the size at which
            // an empty buffer is given back, so a busy client keeps it.
            self.filled = false;
            self.compact(unparsed);
            let wanted = (self.buf.len() * 2).min(SHRINK_ABOVE);
            self.resize_to(wanted.min(self.max_query_buffer.max(self.buf.len())));
        }
        if self.low_on_room() {
            self.compact(unparsed);
            if self.low_on_room() {
                self.grow(unparsed);
            }
        }
        // Never read more than the query buffer limit allows.
        Ok((self.start + self.max_query_buffer).min(self.buf.len()))
    }

    /// Moves the `unparsed` bytes to the front of the buffer.
    fn compact(&mut self, unparsed: usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = unparsed;
        }
    }

    /// Grows the (compacted) buffer to `new_len` bytes, if that is larger.
    fn resize_to(&mut self, new_len: usize) {
        if new_len > self.buf.len() {
            // Drop the stale tail first so the reallocation copies only live bytes.
            self.buf.truncate(self.end);
            self.buf.reserve_exact(new_len - self.end);
            self.buf.resize(new_len, 0);
        }
    }

    /// Whether the free space after the unparsed bytes is under an eighth of the buffer.
    fn low_on_room(&self) -> bool {
        let len = self.buf.len();
        self.end == len || len - self.end < len / 8
    }

    /// Grows the (compacted) buffer holding `unparsed` bytes: by doubling, or less if
    /// the element being received needs less, but at least by the initial capacity.
    fn grow(&mut self, unparsed: usize) {
        let initial = self.initial_capacity;
        let floor = unparsed.saturating_add(initial);
        let ceiling = self.buf.len().saturating_mul(2).max(floor);
        let wanted = match self.parser.needed() {
            Some(needed) => unparsed.saturating_add(needed).clamp(floor, ceiling),
            None => ceiling,
        };
        // Room for the limit's worth of unparsed bytes is all that can be used.
        self.resize_to(wanted.min(self.max_query_buffer.max(self.buf.len())));
    }
}

#[cfg(test)]
mod tests;
