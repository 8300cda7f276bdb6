//! A handler that panics on one command while 100 other clients pipeline: the panic
//! ends only the connection that sent it (the replies before it still arrive, its own
//! half-written reply never does), and every other client gets every reply, in order.

mod common_hostile;

use common_hostile::{encode, read_to_close, start, wait_until, Client};
use redcon::resp::OwnedValue;
use std::thread;
use std::time::Duration;

const CLIENTS: usize = 100;
const BATCHES: usize = 20;
const PER_BATCH: usize = 50;

/// One client's pipelined work: batches of SET / GET / INCR, each reply checked.
fn pipeline_client(addr: String, i: usize) -> usize {
    let mut c = Client::connect(&addr);
    let counter = format!("n{i}");
    let mut replies = 0;
    for b in 0..BATCHES {
        let mut batch = Vec::new();
        for j in 0..PER_BATCH {
            let key = format!("c{i}:{b}:{j}");
            let val = format!("v{b}.{j}");
            batch.extend(encode(&[b"SET", key.as_bytes(), val.as_bytes()]));
            batch.extend(encode(&[b"GET", key.as_bytes()]));
            batch.extend(encode(&[b"INCR", counter.as_bytes()]));
        }
        c.send(&batch);
        for j in 0..PER_BATCH {
            let val = format!("v{b}.{j}");
            assert_eq!(c.reply(), OwnedValue::SimpleString(b"OK".to_vec()));
            assert_eq!(c.reply(), OwnedValue::Bulk(val.into_bytes()));
            let n = (b * PER_BATCH + j + 1) as i64;
            assert_eq!(c.reply(), OwnedValue::Integer(n), "client {i} out of order");
            replies += 3;
        }
    }
    replies
}

#[test]
fn a_panicking_command_ends_only_its_own_connection() {
    // The expected panics need no backtrace; any other still gets one.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"PANIC command") {
            default_hook(info);
        }
    }));
    let (handle, state) = start(|s| s);
    let addr = common_hostile::addr(&handle);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let addr = addr.clone();
            thread::spawn(move || pipeline_client(addr, i))
        })
        .collect();

    // Meanwhile, twenty clients each send a command, PANIC, and one more command.
    let mut panickers = 0;
    for p in 0..20 {
        let mut s = common_hostile::connect(&addr);
        let key = format!("p{p}");
        let mut bytes = encode(&[b"SET", key.as_bytes(), b"before"]);
        bytes.extend(encode(&[b"PANIC"]));
        bytes.extend(encode(&[b"SET", key.as_bytes(), b"after"]));
        std::io::Write::write_all(&mut s, &bytes).expect("send");
        assert_eq!(read_to_close(&mut s, Duration::from_secs(5)), b"+OK\r\n");
        panickers += 1;
        thread::sleep(Duration::from_millis(20));
    }

    let total: usize = workers
        .into_iter()
        .map(|w| w.join().expect("a pipelining client failed"))
        .sum();
    assert_eq!(total, CLIENTS * BATCHES * PER_BATCH * 3);
    assert!(wait_until(Duration::from_secs(5), || state
        .closes_with("Panic")
        == panickers));
    {
        let store = state.store();
        for p in 0..panickers {
            let key = format!("p{p}");
            assert_eq!(
                store.get(key.as_bytes()).map(Vec::as_slice),
                Some(&b"before"[..])
            );
        }
    }
    println!(
        "{total} replies to {CLIENTS} pipelining clients, in order, beside {panickers} panics"
    );
    let mut c = Client::connect(&addr);
    assert_eq!(
        c.call(&[b"PING"]),
        OwnedValue::SimpleString(b"PONG".to_vec())
    );
    drop(c);
    handle.shutdown();
}
