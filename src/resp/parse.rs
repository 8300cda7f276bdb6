//! The streaming command parser: multibulk and inline requests, Redis 7's limits and
//! error texts. STUB: signatures only, to be implemented.

use super::command::{Command, Span};
use crate::error::ProtocolError;

/// Parser limits, each defaulting to Redis 7's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `$len` accepted (Redis's `proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: usize,
    /// Longest inline line, and longest `*`/`$` header line (64 KiB).
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
    /// (blank lines, `*0`, `*-1`) that the caller may drop.
    Incomplete {
        /// Bytes of input that may be dropped.
        consumed: usize,
    },
}

/// Streaming command parser.
#[derive(Debug, Default)]
pub struct Parser {
    limits: Limits,
    spans: Vec<Span>,
    scratch: Vec<u8>,
}

impl Parser {
    /// A parser with Redis's default limits.
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Parser {
            limits,
            spans: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Parses the next command from the front of `input`.
    pub fn parse<'a>(&'a mut self, input: &'a [u8]) -> Result<Parsed<'a>, ProtocolError> {
        let _ = input;
        let _ = Command {
            input,
            scratch: &self.scratch,
            spans: &self.spans,
            inline: false,
        };
        todo!()
    }

    /// Forgets any partly parsed command.
    pub fn reset(&mut self) {
        self.spans.clear();
    }
}
/// string2ll
pub fn parse_int(b: &[u8]) -> Option<i64> { std::str::from_utf8(b).ok()?.parse().ok() }
