//! Unit tests for the reader: reading in pieces, buffer growth, compaction and
//! shrinking, limits, and the error type.

use super::*;

/// A `Read` handing out `data` at most `chunk` bytes per call, counting calls.
struct Chunked {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
    reads: usize,
    interrupt_first: bool,
}

impl Chunked {
    fn new(data: &[u8], chunk: usize) -> Self {
        Chunked {
            data: data.to_vec(),
            pos: 0,
            chunk,
            reads: 0,
            interrupt_first: false,
        }
    }
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.interrupt_first {
            self.interrupt_first = false;
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = out.len().min(self.chunk).min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn names<R: Read>(reader: &mut Reader<R>) -> Result<Vec<Vec<u8>>, ReadError> {
    let mut out = Vec::new();
    while let Some(c) = reader.read_command()? {
        out.push(c.args().flatten().copied().collect());
    }
    Ok(out)
}

fn small<R: Read>(inner: R, max_query_buffer: usize) -> Reader<R> {
    Reader::with_limits(inner, Limits::default(), 64, max_query_buffer)
}

fn bulk_command(len: usize) -> Vec<u8> {
    let mut out = format!("*1\r\n${len}\r\n").into_bytes();
    out.resize(out.len() + len, b'x');
    out.extend_from_slice(b"\r\n");
    out
}

#[test]
fn any_chunk_size_gives_the_same_commands() {
    let input = b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\nSET \"k k\" v\r\n*0\r\nPING\r\n";
    let expected = names(&mut Reader::new(&input[..])).unwrap();
    assert_eq!(expected.len(), 3);
    for chunk in 1..=input.len() {
        let mut reader = small(Chunked::new(input, chunk), 1 << 20);
        assert_eq!(names(&mut reader).unwrap(), expected, "chunk {chunk}");
    }
}

#[test]
fn nothing_is_allocated_before_the_first_read() {
    let mut reader = Reader::new(&b""[..]);
    assert_eq!(reader.capacity(), 0);
    assert_eq!(reader.buffered(), b"");
    assert!(reader.next_buffered().unwrap().is_none());
    assert!(reader.read_command().unwrap().is_none());
    assert_eq!(reader.capacity(), 16 * 1024);
}

#[test]
fn fill_buf_reads_once() {
    let mut reader = Reader::new(Chunked::new(b"PING\r\nPING\r\n", 3));
    assert_eq!(reader.fill_buf().unwrap(), 3);
    assert_eq!(reader.get_ref().reads, 1);
    assert_eq!(reader.buffered(), b"PIN");
    assert!(reader.next_buffered().unwrap().is_none());
    assert_eq!(reader.fill_buf().unwrap(), 3);
    assert!(reader.next_buffered().unwrap().is_some());
    assert_eq!(reader.get_mut().reads, 2);
}

#[test]
fn announced_length_does_not_allocate() {
    let mut input = b"*1\r\n$536870912\r\n".to_vec();
    input.extend_from_slice(b"0123456789");
    let mut reader = Reader::new(Chunked::new(&input, 5));
    assert!(reader.read_command().unwrap().is_none());
    assert_eq!(reader.capacity(), 16 * 1024);
    assert_eq!(reader.buffered(), &input[..]);
}

#[test]
fn growth_follows_arrived_bytes() {
    // 1 MiB of a 512 MiB element: the buffer stays within twice what arrived.
    let mut input = b"*1\r\n$536870912\r\n".to_vec();
    input.resize(input.len() + (1 << 20), b'x');
    let mut reader = small(Chunked::new(&input, 4096), 1 << 30);
    assert!(reader.read_command().unwrap().is_none());
    assert_eq!(reader.buffered().len(), input.len());
    assert!(
        reader.capacity() <= 2 * input.len() + 64,
        "{}",
        reader.capacity()
    );
}

#[test]
fn growth_stops_at_the_element_size() {
    let input = bulk_command(100_000);
    let mut reader = small(Chunked::new(&input, usize::MAX), 1 << 30);
    let c = reader.read_command().unwrap().unwrap();
    assert_eq!(c[0].len(), 100_000);
    // Geometric growth, with the last step cut to what the element needs.
    assert!(
        reader.capacity() < input.len() + 64,
        "{}",
        reader.capacity()
    );
}

#[test]
fn buffer_shrinks_after_a_large_command() {
    let mut input = bulk_command(100_000);
    input.extend_from_slice(b"PING\r\n");
    let mut reader = small(Chunked::new(&input, 50_000), 1 << 30);
    assert_eq!(reader.read_command().unwrap().unwrap()[0].len(), 100_000);
    assert!(reader.capacity() > 100_000);
    assert!(reader.read_command().unwrap().unwrap().is("ping"));
    // The next read starts with an empty buffer, which is given back first.
    assert!(reader.read_command().unwrap().is_none());
    assert_eq!(reader.capacity(), 64);
}

#[test]
fn compaction_keeps_a_pipeline_in_a_small_buffer() {
    let input = b"*1\r\n$4\r\nPING\r\n".repeat(200);
    let mut reader = small(Chunked::new(&input, 50), 1 << 30);
    assert_eq!(names(&mut reader).unwrap().len(), 200);
    assert_eq!(reader.capacity(), 64);
}

#[test]
fn query_buffer_limit() {
    let input = bulk_command(2000);
    let mut reader = small(Chunked::new(&input, 100), 1000);
    assert!(matches!(
        reader.read_command(),
        Err(ReadError::QueryBufferLimit)
    ));
    // The unparsed bytes never went past the limit.
    assert_eq!(reader.buffered().len(), 1000);
    // A request that fits is fine, however it arrives.
    let input = bulk_command(900);
    let mut reader = small(Chunked::new(&input, 7), 1000);
    assert_eq!(reader.read_command().unwrap().unwrap()[0].len(), 900);
}

#[test]
fn protocol_errors() {
    let input = b"PING\r\n*1\r\nX\r\n";
    let mut reader = Reader::new(&input[..]);
    assert!(reader.read_command().unwrap().unwrap().is("ping"));
    let err = reader.read_command().unwrap_err();
    assert!(matches!(
        err,
        ReadError::Protocol(ProtocolError::ExpectedDollar(b'X'))
    ));
    assert_eq!(err.to_string(), "Protocol error: expected '$', got 'X'");
    let mut reader = Reader::new(&b"ECHO \"a\r\n"[..]);
    reader.fill_buf().unwrap();
    assert_eq!(
        reader.next_buffered().unwrap_err(),
        ProtocolError::UnbalancedQuotes
    );
}

#[test]
fn read_error_traits() {
    use std::error::Error;
    let io: ReadError = io::Error::other("boom").into();
    assert_eq!(io.to_string(), "I/O error: boom");
    assert!(io.source().is_some());
    let proto: ReadError = ProtocolError::InvalidBulkLength.into();
    assert_eq!(proto.to_string(), "Protocol error: invalid bulk length");
    assert!(proto.source().is_some());
    assert_eq!(
        ReadError::QueryBufferLimit.to_string(),
        "query buffer limit reached"
    );
}

#[test]
fn interrupted_reads_are_retried() {
    let mut inner = Chunked::new(b"PING\r\n", 100);
    inner.interrupt_first = true;
    let mut reader = Reader::new(inner);
    assert!(reader.read_command().unwrap().unwrap().is("ping"));
    let mut inner = Chunked::new(b"PING\r\n", 100);
    inner.interrupt_first = true;
    let mut reader = Reader::new(inner);
    assert!(matches!(reader.fill_buf(), Err(ReadError::Io(_))));
}

#[test]
fn end_of_input_leaves_the_unfinished_request() {
    let mut reader = Reader::new(&b"PING\r\n\r\n*0\r\n*2\r\n$3\r\nGET"[..]);
    assert!(reader.read_command().unwrap().unwrap().is("ping"));
    assert!(reader.read_command().unwrap().is_none());
    // The empty requests were dropped.
    assert_eq!(reader.buffered(), b"*2\r\n$3\r\nGET");
}

#[test]
fn next_buffered_and_consume() {
    let mut reader = Reader::new(&b"GET a\r\n*1\r\n$4\r\nPING\r\nGET"[..]);
    reader.fill_buf().unwrap();
    let (c, rest) = reader.next_buffered().unwrap().unwrap();
    assert_eq!(&c[1], b"a");
    assert_eq!(rest, b"*1\r\n$4\r\nPING\r\nGET");
    // Partly parse what follows, then drop some of it: the parser starts over.
    reader.consume(14);
    assert_eq!(reader.buffered(), b"GET");
    reader.consume(100);
    assert_eq!(reader.buffered(), b"");
    assert!(reader.next_buffered().unwrap().is_none());
}

#[test]
fn consume_forgets_a_partial_request() {
    let mut reader = Reader::new(Chunked::new(b"*2\r\n$3\r\nGET\r\n$1\r\nkPING\r\n", 13));
    reader.fill_buf().unwrap();
    assert!(reader.next_buffered().unwrap().is_none());
    reader.consume(13);
    assert_eq!(reader.buffered(), b"");
    reader.fill_buf().unwrap();
    reader.consume(5);
    assert!(reader.read_command().unwrap().unwrap().is("ping"));
}

#[test]
fn parts_round_trip() {
    let mut reader = Reader::new(Chunked::new(b"PING\r\n*1\r\n$4\r\nEC", 100));
    assert!(reader.read_command().unwrap().unwrap().is("ping"));
    assert!(reader.next_buffered().unwrap().is_none());
    let (inner, rest) = reader.into_parts();
    assert_eq!(rest, b"*1\r\n$4\r\nEC");
    let mut reader = Reader::from_parts(
        Chunked::new(b"HO\r\n", 100),
        rest,
        Limits::default(),
        64,
        1 << 20,
    );
    assert_eq!(inner.reads, 1);
    assert!(reader.read_command().unwrap().unwrap().is("echo"));
}

#[test]
fn full_reads_grow_a_small_buffer_for_a_pipeline() {
    // A pipeline far larger than the initial buffer, all of it already waiting: reads
    // that fill the buffer double it, so it is read in a few large reads, and the
    // buffer stops at 64 KiB.
    let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n".repeat(20_000);
    let mut reader = Reader::with_limits(
        Chunked::new(&input, usize::MAX),
        Limits::default(),
        512,
        1 << 30,
    );
    assert_eq!(names(&mut reader).unwrap().len(), 20_000);
    assert_eq!(reader.capacity(), 64 * 1024);
    assert!(
        reader.get_ref().reads < 40,
        "{} reads",
        reader.get_ref().reads
    );

    // A client that sends one small command at a time never grows it.
    let mut reader = Reader::with_limits(
        Chunked::new(&b"PING\r\n".repeat(1000), 6),
        Limits::default(),
        512,
        1 << 30,
    );
    assert_eq!(names(&mut reader).unwrap().len(), 1000);
    assert_eq!(reader.capacity(), 512);
}
