//! Command parsing throughput: redcon's parser against other Rust RESP decoders, on the
//! same inputs in the same run. Each corpus is one buffer of back-to-back requests (a
//! pipeline as it sits in a read buffer); every decoder walks it to the end and looks at
//! every argument, so none wins by skipping work. Throughput is bytes; the ratio script
//! (`benches/ratios.py`) derives commands/s from the command count in each benchmark id.
//!
//! Contenders:
//! - `redcon` — `Parser` over the buffer (what the server's loop does after a read);
//! - `redcon-reader` — `Reader` over an in-memory `Read`, so the copy into its buffer
//!   is counted too;
//! - `redcon-value` — the reply reader `parse_value`, which builds a tree like the
//!   value decoders below do;
//! - `redis-protocol` — its RESP2 `decode_range` (zero-copy ranges) and `decode_bytes`
//!   (`Bytes` frames);
//! - `redis-rs` — `redis::Parser::parse_value` streaming over the buffer;
//! - `resp` — the `resp` crate's streaming `Decoder`.
//!
//! None of the other decoders reads inline commands, so that corpus has redcon only.

mod common;

use bytes::Bytes;
use common::{corpora, Corpus};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redcon::resp::{parse_value, Parsed, Parser, Reader, Value};
use redis_protocol::resp2::decode::{decode_bytes, decode_range};
use redis_protocol::resp2::types::{BytesFrame, RangeFrame};
use std::io::{BufReader, Read};

/// What a decoder saw: commands and arguments, compared across decoders before timing
/// so that a decoder that silently stopped early cannot look fast.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Seen {
    commands: usize,
    args: usize,
    bytes: usize,
}

impl Seen {
    #[inline]
    fn arg(&mut self, a: &[u8]) {
        self.args += 1;
        self.bytes += black_box(a).len();
    }
}

fn redcon_parser(input: &[u8], parser: &mut Parser) -> Seen {
    let mut seen = Seen::default();
    let mut rest = input;
    loop {
        match parser.parse(rest) {
            Ok(Parsed::Command { command, consumed }) => {
                seen.commands += 1;
                for a in command.args() {
                    seen.arg(a);
                }
                rest = rest.get(consumed..).unwrap_or_default();
            }
            Ok(Parsed::Incomplete { .. }) | Err(_) => return seen,
        }
    }
}

/// A `Read` that hands out at most 16 KiB per call, like a socket read into a buffer
/// of Redis's size.
struct Chunked<'a>(&'a [u8]);

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(16 * 1024);
        let (head, tail) = self.0.split_at(n);
        buf[..n].copy_from_slice(head);
        self.0 = tail;
        Ok(n)
    }
}

fn redcon_reader(input: &[u8]) -> Seen {
    let mut seen = Seen::default();
    let mut reader = Reader::new(Chunked(input));
    while let Ok(Some(command)) = reader.read_command() {
        seen.commands += 1;
        for a in command.args() {
            seen.arg(a);
        }
    }
    seen
}

fn redcon_value(input: &[u8]) -> Seen {
    let mut seen = Seen::default();
    let mut rest = input;
    while let Ok(Some((value, used))) = parse_value(rest) {
        if let Value::Array(items) = value {
            seen.commands += 1;
            for item in &items {
                if let Value::Bulk(a) = item {
                    seen.arg(a);
                }
            }
        }
        rest = rest.get(used..).unwrap_or_default();
    }
    seen
}

fn redis_protocol_range(input: &[u8]) -> Seen {
    let mut seen = Seen::default();
    let mut offset = 0;
    while let Ok(Some((frame, used))) = decode_range(&input[offset..]) {
        if let RangeFrame::Array(items) = frame {
            seen.commands += 1;
            for item in &items {
                if let RangeFrame::BulkString((start, end)) = item {
                    seen.arg(&input[offset + start..offset + end]);
                }
            }
        }
        offset += used;
    }
    seen
}

fn redis_protocol_bytes(input: &Bytes) -> Seen {
    let mut seen = Seen::default();
    let mut rest = input.clone();
    while let Ok(Some((frame, used))) = decode_bytes(&rest) {
        if let BytesFrame::Array(items) = frame {
            seen.commands += 1;
            for item in &items {
                if let BytesFrame::BulkString(a) = item {
                    seen.arg(a);
                }
            }
        }
        rest = rest.slice(used..);
    }
    seen
}

fn redis_rs(input: &[u8], commands: usize) -> Seen {
    let mut seen = Seen::default();
    let mut parser = redis::Parser::new();
    let mut reader = input;
    // The parser buffers from the reader internally, so it is asked for exactly the
    // number of values the corpus holds.
    for _ in 0..commands {
        match parser.parse_value(&mut reader) {
            Ok(redis::Value::Array(items)) => {
                seen.commands += 1;
                for item in &items {
                    if let redis::Value::BulkString(a) = item {
                        seen.arg(a);
                    }
                }
            }
            _ => break,
        }
    }
    seen
}

fn resp_crate(input: &[u8], commands: usize) -> Seen {
    let mut seen = Seen::default();
    let mut decoder = resp::Decoder::with_buf_bulk(BufReader::new(input));
    for _ in 0..commands {
        match decoder.decode() {
            Ok(resp::Value::Array(items)) => {
                seen.commands += 1;
                for item in &items {
                    if let resp::Value::BufBulk(a) = item {
                        seen.arg(a);
                    }
                }
            }
            _ => break,
        }
    }
    seen
}

/// Checks that every decoder sees the whole corpus before any of them is timed.
fn check(corpus: &Corpus, wire: &[u8]) {
    let expected = Seen {
        commands: corpus.commands.len(),
        args: corpus.args(),
        bytes: corpus.commands.iter().flatten().map(Vec::len).sum(),
    };
    let mut parser = Parser::new();
    assert_eq!(redcon_parser(wire, &mut parser), expected, "redcon");
    assert_eq!(redcon_reader(wire), expected, "redcon-reader");
    if corpus.inline {
        return;
    }
    let n = corpus.commands.len();
    assert_eq!(redcon_value(wire), expected, "redcon-value");
    assert_eq!(redis_protocol_range(wire), expected, "redis-protocol");
    let bytes = Bytes::copy_from_slice(wire);
    assert_eq!(
        redis_protocol_bytes(&bytes),
        expected,
        "redis-protocol-bytes"
    );
    assert_eq!(redis_rs(wire, n), expected, "redis-rs");
    assert_eq!(resp_crate(wire, n), expected, "resp");
}

fn bench_parse(c: &mut Criterion) {
    for corpus in corpora() {
        let wire = corpus.wire();
        check(&corpus, &wire);
        let n = corpus.commands.len();
        let mut group = c.benchmark_group(format!("parse/{}", corpus.name));
        group.throughput(Throughput::Bytes(wire.len() as u64));
        let mut parser = Parser::new();
        group.bench_with_input(BenchmarkId::new("redcon", n), &wire, |b, w| {
            b.iter(|| redcon_parser(w, &mut parser))
        });
        group.bench_with_input(BenchmarkId::new("redcon-reader", n), &wire, |b, w| {
            b.iter(|| redcon_reader(w))
        });
        if !corpus.inline {
            group.bench_with_input(BenchmarkId::new("redcon-value", n), &wire, |b, w| {
                b.iter(|| redcon_value(w))
            });
            group.bench_with_input(BenchmarkId::new("redis-protocol", n), &wire, |b, w| {
                b.iter(|| redis_protocol_range(w))
            });
            let bytes = Bytes::copy_from_slice(&wire);
            group.bench_with_input(
                BenchmarkId::new("redis-protocol-bytes", n),
                &bytes,
                |b, w| b.iter(|| redis_protocol_bytes(w)),
            );
            group.bench_with_input(BenchmarkId::new("redis-rs", n), &wire, |b, w| {
                b.iter(|| redis_rs(w, n))
            });
            group.bench_with_input(BenchmarkId::new("resp", n), &wire, |b, w| {
                b.iter(|| resp_crate(w, n))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
