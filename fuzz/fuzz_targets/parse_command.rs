//! Fuzz target: the command parser over one whole buffer must agree with [`Reader`]
//! fed the same bytes in arbitrary chunks (same commands in the same order, then the
//! same protocol error or none), and neither may panic, hang or loop without progress.
//!
//! Input layout: byte 0 chooses how many chunk-size bytes follow (1 to 8) and the
//! reader's initial buffer capacity; those bytes give the sizes of successive reads
//! (1 to 256 bytes each, cycling); the rest is what the client sends.
//!
//! Inputs should stay well below the 64 KiB inline/header limit (libFuzzer's default
//! `-max_len` is 4096): past it, whether Redis reports "too big" depends on how much
//! had arrived when it looked, so whole-buffer and chunked parsing may rightly differ.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redcon::resp::{Limits, OwnedCommand, Parsed, Parser, ReadError, Reader};
use redcon::ProtocolError;
use std::io::{self, Read};

/// What a client's bytes came to: the commands, then the error that stopped parsing.
#[derive(Debug, PartialEq)]
struct Outcome {
    commands: Vec<OwnedCommand>,
    error: Option<ProtocolError>,
}

/// Parses `data` as one buffer, dropping consumed bytes after each call.
fn whole_buffer(data: &[u8]) -> Outcome {
    let mut parser = Parser::new();
    let mut rest = data;
    let mut commands = Vec::new();
    loop {
        match parser.parse(rest) {
            Ok(Parsed::Command { command, consumed }) => {
                assert!(consumed > 0, "a command consumed no input");
                commands.push(command.to_owned_command());
                rest = rest.get(consumed..).expect("consumed more than the input");
            }
            Ok(Parsed::Incomplete { consumed }) => {
                assert!(consumed <= rest.len(), "consumed more than the input");
                return Outcome {
                    commands,
                    error: None,
                };
            }
            Err(error) => {
                return Outcome {
                    commands,
                    error: Some(error),
                }
            }
        }
    }
}

/// An in-memory client that hands out its bytes in reads of the given sizes.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    reads: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self
            .sizes
            .get(self.reads % self.sizes.len().max(1))
            .map_or(1, |&s| usize::from(s) + 1);
        self.reads += 1;
        let n = size.min(buf.len()).min(self.data.len());
        let (now, later) = self.data.split_at(n);
        buf[..n].copy_from_slice(now);
        self.data = later;
        Ok(n)
    }
}

/// Reads `data` through [`Reader`], in chunks of `sizes`, until end of input or error.
fn chunked(data: &[u8], sizes: &[u8], initial_capacity: usize) -> Outcome {
    let client = Chunked {
        data,
        sizes,
        reads: 0,
    };
    let mut reader = Reader::with_limits(client, Limits::default(), initial_capacity, 1 << 30);
    let mut commands = Vec::new();
    // Every read returns at least one byte until the data runs out, so the reader
    // needs at most one call per byte plus a few to see the end.
    for _ in 0..data.len() + 8 {
        match reader.read_command() {
            Ok(Some(command)) => commands.push(command.to_owned_command()),
            Ok(None) => {
                return Outcome {
                    commands,
                    error: None,
                }
            }
            // A request cut short by the end of input is not a protocol error.
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Outcome {
                    commands,
                    error: None,
                }
            }
            Err(ReadError::Protocol(error)) => {
                return Outcome {
                    commands,
                    error: Some(error),
                }
            }
            Err(other) => panic!("unexpected reader error: {other:?}"),
        }
    }
    panic!("the reader made no progress");
}

fuzz_target!(|input: &[u8]| {
    let Some((&head, rest)) = input.split_first() else {
        return;
    };
    let n_sizes = (usize::from(head & 7) + 1).min(rest.len());
    let (sizes, data) = rest.split_at(n_sizes);
    let initial_capacity = usize::from(head >> 3) * 8 + 1;

    let expected = whole_buffer(data);
    let got = chunked(data, sizes, initial_capacity);
    assert_eq!(expected, got, "whole buffer vs reads of {sizes:?}");
});
