//! Reply and request encoding throughput: redcon's `Writer` against other Rust RESP
//! encoders, producing byte-identical output (checked before timing) in the same run.
//!
//! Every encoder appends into one reused buffer, as a server's reply buffer is reused
//! across pipeline batches. The other crates encode from their own frame types, which
//! are built once outside the timed loop: that favours them, since redcon needs no
//! intermediate value at all.
//!
//! Contenders: `redcon` (`Writer`), `redis-protocol` (RESP2 `extend_encode_borrowed`),
//! `redis-rs` (`Cmd::write_packed_command`, which only encodes requests, so it appears on
//! the array corpora only) and `resp` (`resp::encode`, which returns a fresh `Vec` per
//! value by design).

mod common;

use bytes::BytesMut;
use common::{corpora, kib_value, Args};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redcon::resp::Writer;
use redis_protocol::resp2::encode::extend_encode_borrowed;
use redis_protocol::resp2::types::BorrowedFrame;

/// One reply (or, for `Array`, a request or an array reply of bulk strings).
enum Item {
    Ok,
    Int(i64),
    Bulk(Vec<u8>),
    Array(Args),
}

struct WriteCorpus {
    name: &'static str,
    items: Vec<Item>,
}

fn write_corpora() -> Vec<WriteCorpus> {
    let small_bulks = (0..1000).map(|i| format!("value:{i:06}").into_bytes());
    // Commands sent by a client: the parser's small SET/GET and MSET corpora.
    let requests = |name: &str| {
        corpora()
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.commands.into_iter().map(Item::Array).collect())
            .unwrap_or_default()
    };
    vec![
        WriteCorpus {
            name: "ok",
            items: (0..1000).map(|_| Item::Ok).collect(),
        },
        WriteCorpus {
            name: "int",
            // Small counters and large ids, with a few negatives.
            items: (0..1000i64)
                .map(|i| Item::Int(if i % 3 == 0 { i * 7_919_993 - 5 } else { i }))
                .collect(),
        },
        WriteCorpus {
            name: "bulk-small",
            items: small_bulks.map(Item::Bulk).collect(),
        },
        WriteCorpus {
            name: "bulk-1kib",
            items: (0..100).map(|i| Item::Bulk(kib_value(i))).collect(),
        },
        WriteCorpus {
            name: "array-100",
            // An MGET reply of 100 small values.
            items: (0..20)
                .map(|c| {
                    Item::Array(
                        (0..100)
                            .map(|i| format!("value:{:06}", c * 100 + i).into_bytes())
                            .collect(),
                    )
                })
                .collect(),
        },
        WriteCorpus {
            name: "request-set-get",
            items: requests("small-set-get"),
        },
        WriteCorpus {
            name: "request-mset-100",
            items: requests("mset-100"),
        },
    ]
}

fn redcon(w: &mut Writer, items: &[Item]) -> usize {
    w.clear();
    for item in items {
        match item {
            Item::Ok => w.write_string("OK"),
            Item::Int(n) => w.write_int(*n),
            Item::Bulk(b) => w.write_bulk(b),
            Item::Array(args) => {
                w.write_array(args.len());
                for a in args {
                    w.write_bulk(a);
                }
            }
        }
    }
    black_box(w.as_bytes()).len()
}

/// redis-protocol's borrowed frames for a corpus. Array elements live in `children`,
/// which must be built first so the frames can borrow them.
fn children(items: &[Item]) -> Vec<Vec<BorrowedFrame<'_>>> {
    items
        .iter()
        .map(|item| match item {
            Item::Array(args) => args.iter().map(|a| BorrowedFrame::BulkString(a)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn frames<'a>(items: &'a [Item], children: &'a [Vec<BorrowedFrame<'a>>]) -> Vec<BorrowedFrame<'a>> {
    items
        .iter()
        .zip(children)
        .map(|(item, kids)| match item {
            Item::Ok => BorrowedFrame::SimpleString(b"OK"),
            Item::Int(n) => BorrowedFrame::Integer(*n),
            Item::Bulk(b) => BorrowedFrame::BulkString(b),
            Item::Array(_) => BorrowedFrame::Array(kids),
        })
        .collect()
}

fn redis_protocol(buf: &mut BytesMut, frames: &[BorrowedFrame<'_>]) -> usize {
    buf.clear();
    for f in frames {
        let _ = extend_encode_borrowed(buf, f, false);
    }
    black_box(&buf[..]).len()
}

/// redis-rs commands, or `None` when a corpus holds replies it cannot encode.
fn redis_cmds(items: &[Item]) -> Option<Vec<redis::Cmd>> {
    items
        .iter()
        .map(|item| match item {
            Item::Array(args) => {
                let mut cmd = redis::Cmd::new();
                for a in args {
                    cmd.arg(&a[..]);
                }
                Some(cmd)
            }
            _ => None,
        })
        .collect()
}

fn redis_rs(out: &mut Vec<u8>, cmds: &[redis::Cmd]) -> usize {
    out.clear();
    for c in cmds {
        c.write_packed_command(out);
    }
    black_box(&out[..]).len()
}

fn resp_values(items: &[Item]) -> Vec<resp::Value> {
    let bulk = |b: &Vec<u8>| resp::Value::BufBulk(b.clone());
    items
        .iter()
        .map(|item| match item {
            Item::Ok => resp::Value::String("OK".into()),
            Item::Int(n) => resp::Value::Integer(*n),
            Item::Bulk(b) => bulk(b),
            Item::Array(args) => resp::Value::Array(args.iter().map(bulk).collect()),
        })
        .collect()
}

fn resp_crate(out: &mut Vec<u8>, values: &[resp::Value]) -> usize {
    out.clear();
    for v in values {
        out.extend_from_slice(&resp::encode(v));
    }
    black_box(&out[..]).len()
}

fn bench_write(c: &mut Criterion) {
    for corpus in write_corpora() {
        let items = &corpus.items;
        let n = items.len();
        let mut w = Writer::new();
        redcon(&mut w, items);
        let expected = w.as_bytes().to_vec();

        let kids = children(items);
        let frames = frames(items, &kids);
        let mut bm = BytesMut::new();
        redis_protocol(&mut bm, &frames);
        assert_eq!(&bm[..], &expected[..], "redis-protocol on {}", corpus.name);

        let cmds = redis_cmds(items);
        let mut out = Vec::new();
        if let Some(cmds) = &cmds {
            redis_rs(&mut out, cmds);
            assert_eq!(out, expected, "redis-rs on {}", corpus.name);
        }
        let values = resp_values(items);
        resp_crate(&mut out, &values);
        assert_eq!(out, expected, "resp on {}", corpus.name);

        let mut group = c.benchmark_group(format!("write/{}", corpus.name));
        group.throughput(Throughput::Bytes(expected.len() as u64));
        group.bench_function(BenchmarkId::new("redcon", n), |b| {
            b.iter(|| redcon(&mut w, items))
        });
        group.bench_function(BenchmarkId::new("redis-protocol", n), |b| {
            b.iter(|| redis_protocol(&mut bm, &frames))
        });
        if let Some(cmds) = &cmds {
            group.bench_function(BenchmarkId::new("redis-rs", n), |b| {
                b.iter(|| redis_rs(&mut out, cmds))
            });
        }
        group.bench_function(BenchmarkId::new("resp", n), |b| {
            b.iter(|| resp_crate(&mut out, &values))
        });
        group.finish();
    }
}

criterion_group!(benches, bench_write);
criterion_main!(benches);
