//! [`Command`]: one parsed request whose arguments borrow the read buffer, and
//! [`OwnedCommand`], its owned twin for when a command must outlive the buffer.

use std::fmt;
use std::ops::Index;

/// Where one argument lives: a byte range of the input buffer, or (for inline arguments
/// that had escapes or quotes to undo) a byte range of the parser's scratch space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) in_scratch: bool,
}

/// One complete request: the command name and its arguments, borrowed from the read
/// buffer (multibulk arguments always are; inline arguments that needed unescaping borrow
/// the parser's scratch space instead).
///
/// `Command` is `Copy`: it is three slices, no allocation.
///
/// ```
/// use redcon::resp::{Parser, Parsed};
/// let mut parser = Parser::new();
/// let input = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
/// match parser.parse(input).unwrap() {
///     Parsed::Command { command, consumed } => {
///         assert_eq!(consumed, input.len());
///         assert!(command.is("get"));
///         assert_eq!(command.len(), 2);
///         assert_eq!(&command[1], b"key");
///     }
///     Parsed::Incomplete { .. } => unreachable!(),
/// }
/// ```
#[derive(Clone, Copy)]
pub struct Command<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) scratch: &'a [u8],
    pub(crate) spans: &'a [Span],
    pub(crate) inline: bool,
}

impl<'a> Command<'a> {
    /// The number of arguments, the command name included. Never zero: the parser skips
    /// empty requests.
    ///
    /// ```
    /// # use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"SET k v\r\n") else { panic!() };
    /// assert_eq!(command.len(), 3);
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Always `false` for a command from the parser; present for API symmetry with slices.
    ///
    /// ```
    /// # use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"PING\r\n") else { panic!() };
    /// assert!(!command.is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (0 is the command name), or `None` past the end.
    ///
    /// ```
    /// # use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"GET k\r\n") else { panic!() };
    /// assert_eq!(command.get(1), Some(&b"k"[..]));
    /// assert_eq!(command.get(2), None);
    /// ```
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.spans.get(i).map(|s| self.resolve(*s))
    }

    #[inline]
    fn resolve(&self, s: Span) -> &'a [u8] {
        if s.in_scratch {
            &self.scratch[s.start..s.end]
        } else {
            &self.input[s.start..s.end]
        }
    }

    /// The command name (argument 0) as sent, in the client's case.
    ///
    /// ```
    /// # use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"gEt k\r\n") else { panic!() };
    /// assert_eq!(command.name(), b"gEt");
    /// ```
    #[inline]
    pub fn name(&self) -> &'a [u8] {
        self.get(0).unwrap_or(&[])
    }

    /// Whether the command name equals `name`, ignoring ASCII case, without allocating.
    ///
    /// ```
    /// # use redcon::resp::{Parser, Parsed};
    /// # let mut p = Parser::new();
    /// # let Parsed::Command { command, .. } = p.parse(b"SeT k v\r\n").unwrap() else { panic!() };
    /// assert!(command.is("set"));
    /// assert!(command.is("SET"));
    /// assert!(!command.is("get"));
    /// ```
    #[inline]
    pub fn is(&self, name: &str) -> bool {
        self.name().eq_ignore_ascii_case(name.as_bytes())
    }

    /// An iterator over all arguments, the command name first.
    ///
    /// ```
    /// # use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"DEL a b\r\n") else { panic!() };
    /// let keys: Vec<&[u8]> = command.args().skip(1).collect();
    /// assert_eq!(keys, [b"a", b"b"]);
    /// ```
    #[inline]
    pub fn args(&self) -> Args<'a> {
        Args {
            command: *self,
            front: 0,
            back: self.spans.len(),
        }
    }

    /// The request exactly as the client sent it: the whole multibulk frame, or the
    /// inline line with its line ending (Go redcon's `Command.Raw`). For proxying,
    /// logging or replication without encoding the arguments again.
    ///
    /// ```
    /// use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n";
    /// let Ok(Parsed::Command { command, consumed }) = p.parse(input) else { panic!() };
    /// assert_eq!(command.raw(), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    /// let Ok(Parsed::Command { command, .. }) = p.parse(&input[consumed..]) else { panic!() };
    /// assert_eq!(command.raw(), b"PING\r\n");
    /// ```
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.input
    }

    /// Whether the request came as an inline (telnet) line rather than multibulk.
    ///
    /// ```
    /// # use redcon::resp::{Parsed, Parser};
    /// let mut p = Parser::new();
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"PING\r\n") else { panic!() };
    /// assert!(command.is_inline());
    /// let Ok(Parsed::Command { command, .. }) = p.parse(b"*1\r\n$4\r\nPING\r\n") else { panic!() };
    /// assert!(!command.is_inline());
    /// ```
    #[inline]
    pub fn is_inline(&self) -> bool {
        self.inline
    }

    /// The same request without its first `n` arguments: `COMMAND GETKEYS GET k`
    /// seen as `GET k`. The caller makes sure at least one argument remains.
    pub(crate) fn skip_args(&self, n: usize) -> Command<'a> {
        Command {
            spans: &self.spans[n.min(self.spans.len())..],
            ..*self
        }
    }

    /// Copies the arguments into an [`OwnedCommand`] that outlives the buffer.
    ///
    /// ```
    /// # use redcon::resp::{OwnedCommand, Parsed, Parser};
    /// let owned: OwnedCommand = {
    ///     let mut p = Parser::new();
    ///     let input = b"SET k v\r\n".to_vec();
    ///     let Ok(Parsed::Command { command, .. }) = p.parse(&input) else { panic!() };
    ///     command.to_owned_command()
    /// }; // the input buffer is gone; the copy lives on
    /// assert_eq!(owned.args[1], b"k");
    /// ```
    pub fn to_owned_command(&self) -> OwnedCommand {
        OwnedCommand {
            args: self.args().map(<[u8]>::to_vec).collect(),
        }
    }
}

impl<'a> Index<usize> for Command<'a> {
    type Output = [u8];

    /// # Panics
    /// Panics if `i >= self.len()`, like slice indexing.
    #[inline]
    fn index(&self, i: usize) -> &[u8] {
        self.resolve(self.spans[i])
    }
}

impl fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.args().map(|a| String::from_utf8_lossy(a)))
            .finish()
    }
}

impl PartialEq for Command<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.args().zip(other.args()).all(|(a, b)| a == b)
    }
}

impl Eq for Command<'_> {}

/// Iterator over a [`Command`]'s arguments; see [`Command::args`].
///
/// ```
/// # use redcon::resp::{Parsed, Parser};
/// let mut p = Parser::new();
/// let Ok(Parsed::Command { command, .. }) = p.parse(b"MSET a 1 b 2\r\n") else { panic!() };
/// let mut args = command.args();
/// assert_eq!(args.len(), 5);
/// assert_eq!(args.next_back(), Some(&b"2"[..]));
/// ```
#[derive(Clone)]
pub struct Args<'a> {
    command: Command<'a>,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front < self.back {
            let s = self.command.spans[self.front];
            self.front += 1;
            Some(self.command.resolve(s))
        } else {
            None
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<'a> DoubleEndedIterator for Args<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front < self.back {
            self.back -= 1;
            Some(self.command.resolve(self.command.spans[self.back]))
        } else {
            None
        }
    }
}

impl ExactSizeIterator for Args<'_> {}

/// A command that owns its arguments, for keeping a request past the buffer it came from
/// (a queue, another thread, a pipeline taken with `Conn::take_pipeline`).
///
/// ```
/// use redcon::resp::OwnedCommand;
/// let mut queue: Vec<OwnedCommand> = Vec::new();
/// queue.push(OwnedCommand::new(["INCR", "hits"]));
/// assert_eq!(queue[0].to_resp(), b"*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedCommand {
    /// The arguments, the command name first.
    pub args: Vec<Vec<u8>>,
}

impl OwnedCommand {
    /// Builds a command from its arguments.
    ///
    /// ```
    /// use redcon::resp::OwnedCommand;
    /// let c = OwnedCommand::new(["SET", "k", "v"]);
    /// assert!(c.is("set"));
    /// assert_eq!(c.args[2], b"v");
    /// ```
    pub fn new<I, A>(args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        OwnedCommand {
            args: args.into_iter().map(|a| a.as_ref().to_vec()).collect(),
        }
    }

    /// Whether the command name equals `name`, ignoring ASCII case.
    ///
    /// ```
    /// use redcon::resp::OwnedCommand;
    /// assert!(OwnedCommand::new(["Ping"]).is("PING"));
    /// assert!(!OwnedCommand::default().is("PING"));
    /// ```
    pub fn is(&self, name: &str) -> bool {
        self.args
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// Encodes the command as a RESP multibulk request (what a client would send).
    ///
    /// ```
    /// use redcon::resp::OwnedCommand;
    /// assert_eq!(OwnedCommand::new(["PING"]).to_resp(), b"*1\r\n$4\r\nPING\r\n");
    /// ```
    pub fn to_resp(&self) -> Vec<u8> {
        let mut out = Vec::new();
        append_request(&mut out, self.args.iter().map(Vec::as_slice));
        out
    }
}

/// Appends a request as a client encodes it, an array of bulk strings, to `out`.
pub(crate) fn append_request<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    crate::resp::append_array_len(out, args.len());
    for a in args {
        crate::resp::append_bulk(out, a);
    }
}
