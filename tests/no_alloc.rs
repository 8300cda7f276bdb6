//! Once warmed up, parsing a buffered pipeline allocates nothing, through `Parser` and
//! through `Reader::next_buffered`: arguments borrow the buffer and the parser reuses
//! its lists.

use redcon::resp::{Limits, Parsed, Parser, Reader};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read};

/// Counts allocations made by the current thread, so other test threads do not count.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees for `alloc`, passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as for `dealloc`, and `new_size` is the caller's, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    redcon::resp::OwnedCommand::new(args).to_resp()
}

/// A pipeline of many commands: small ones, a 100-argument MSET, inline lines with and
/// without quotes, and empty requests; returns it with its number of commands.
fn pipeline() -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut count = 0;
    let keys: Vec<Vec<u8>> = (0..100).map(|i| format!("key:{i}").into_bytes()).collect();
    let mut mset: Vec<&[u8]> = vec![b"MSET"];
    mset.extend(keys.iter().map(Vec::as_slice));
    for i in 0..50 {
        out.extend_from_slice(&multibulk(&[b"SET", b"key", b"value"]));
        out.extend_from_slice(&multibulk(&[b"GET", b"key"]));
        out.extend_from_slice(b"GET plain\r\nSET \"quoted key\" 'v'\r\n*0\r\n\r\n");
        count += 4;
        if i % 10 == 0 {
            out.extend_from_slice(&multibulk(&mset));
            count += 1;
        }
    }
    (out, count)
}

/// Hands out the same bytes on every read that has room for them.
struct Repeat(Vec<u8>);

impl Read for Repeat {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        Ok(n)
    }
}

fn parse_all(parser: &mut Parser, input: &[u8]) -> usize {
    let mut pos = 0;
    let mut commands = 0;
    loop {
        match parser.parse(&input[pos..]) {
            Ok(Parsed::Command { command, consumed }) => {
                assert!(!command.is_empty());
                commands += 1;
                pos += consumed;
            }
            Ok(Parsed::Incomplete { consumed }) => {
                assert_eq!(pos + consumed, input.len());
                return commands;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn drain<R: Read>(reader: &mut Reader<R>) -> usize {
    let mut commands = 0;
    while let Some((command, _rest)) = reader.next_buffered().expect("valid pipeline") {
        assert!(!command.is_empty());
        commands += 1;
    }
    commands
}

#[test]
fn parsing_a_buffered_pipeline_allocates_nothing() {
    let (input, count) = pipeline();

    let mut parser = Parser::new();
    assert_eq!(parse_all(&mut parser, &input), count);
    let before = allocations();
    assert_eq!(parse_all(&mut parser, &input), count);
    assert_eq!(allocations() - before, 0, "Parser allocated");

    let mut reader = Reader::with_limits(
        Repeat(input.clone()),
        Limits::default(),
        2 * input.len(),
        1 << 30,
    );
    assert_eq!(reader.fill_buf().expect("read"), input.len());
    assert_eq!(drain(&mut reader), count);
    let before = allocations();
    assert_eq!(reader.fill_buf().expect("read"), input.len());
    assert_eq!(drain(&mut reader), count);
    assert_eq!(allocations() - before, 0, "Reader allocated");
}
