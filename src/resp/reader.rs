//! [`Reader`]: the read buffer over any `Read`. STUB.
use super::command::Command;
use super::parse::{Limits, Parser};
use crate::error::ProtocolError;
use std::io::{self, Read};

/// Why [`Reader`] could not produce a command.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The underlying reader failed.
    Io(io::Error),
    /// The client sent a malformed request.
    Protocol(ProtocolError),
    /// Unparsed input exceeded the query buffer limit.
    QueryBufferLimit,
}

/// Buffered command reader.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    parser: Parser,
    initial_capacity: usize,
    max_query_buffer: usize,
}

impl<R: Read> Reader<R> {
    /// New reader.
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, Limits::default(), 4096, 1 << 30)
    }
    /// New reader with limits.
    pub fn with_limits(inner: R, limits: Limits, initial_capacity: usize, max_query_buffer: usize) -> Self {
        Reader { inner, buf: Vec::new(), start: 0, end: 0, parser: Parser::with_limits(limits), initial_capacity, max_query_buffer }
    }
    /// One read call.
    pub fn fill_buf(&mut self) -> Result<usize, ReadError> { todo!() }
    /// Next buffered command and the rest.
    pub fn next_buffered(&mut self) -> Result<Option<(Command<'_>, &[u8])>, ProtocolError> { todo!() }
    /// Drop n bytes.
    pub fn consume(&mut self, n: usize) { let _ = n; todo!() }
    /// Read a command.
    pub fn read_command(&mut self) -> Result<Option<Command<'_>>, ReadError> { todo!() }
    /// Unparsed bytes.
    pub fn buffered(&self) -> &[u8] { &self.buf[self.start..self.end] }
    /// Inner.
    pub fn get_ref(&self) -> &R { &self.inner }
    /// Inner.
    pub fn get_mut(&mut self) -> &mut R { &mut self.inner }
    /// Parts.
    pub fn into_parts(self) -> (R, Vec<u8>) { (self.inner, self.buf[self.start..self.end].to_vec()) }
    /// From parts.
    pub fn from_parts(inner: R, buffered: Vec<u8>, limits: Limits, initial_capacity: usize, max_query_buffer: usize) -> Self {
        let end = buffered.len();
        Reader { inner, buf: buffered, start: 0, end, parser: Parser::with_limits(limits), initial_capacity, max_query_buffer }
    }
}
