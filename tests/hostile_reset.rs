//! Clients that reset the connection (SO_LINGER 0, then close: the peer gets RST)
//! in the middle of sending a command and in the middle of receiving a large reply.
//! The server closes each once, applies nothing half-received, leaks no thread, and
//! everyone else is served throughout.

mod common_hostile;

use common_hostile::{encode, reset, start, threads, wait_until, Client};
use redcon::resp::OwnedValue;
use std::io::{Read, Write};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(5);

#[test]
fn resets_mid_command_and_mid_reply() {
    let threads_before = threads();
    let (handle, state) = start(|s| s);
    let addr = common_hostile::addr(&handle);
    let mut normal = Client::connect(&addr);

    // Mid-command: half a SET, then RST. Over and over, with a bystander between.
    let set = encode(&[b"SET", b"torn", &[b'v'; 4096]]);
    for i in 0..50 {
        let mut s = common_hostile::connect(&addr);
        let cut = 10 + i * (set.len() - 20) / 50;
        s.write_all(&set[..cut]).expect("half a command");
        reset(s);
        assert!(normal.ping_latency() < WITHIN);
    }

    // Mid-reply: ask for 8 MiB, read a little of it, then RST while the server is
    // still writing (blocked in write on a full socket buffer).
    for _ in 0..20 {
        let mut s = common_hostile::connect(&addr);
        s.write_all(&encode(&[b"BIG", b"8388608"])).expect("ask");
        let mut some = [0u8; 1024];
        s.read_exact(&mut some).expect("start of the reply");
        assert!(some.starts_with(b"$8388608\r\nxxx"));
        reset(s);
    }

    // A pipeline reset after its first replies arrive.
    for _ in 0..20 {
        let mut s = common_hostile::connect(&addr);
        let mut pipeline = Vec::new();
        for _ in 0..1000 {
            pipeline.extend(encode(&[b"BIG", b"1000"]));
        }
        s.write_all(&pipeline).expect("pipeline");
        let mut some = [0u8; 4096];
        s.read_exact(&mut some).expect("first replies");
        reset(s);
    }

    let resets = 90;
    assert!(
        wait_until(WITHIN, || state.closes().len() == resets),
        "{} closes",
        state.closes().len()
    );
    let closes = state.closes();
    // Each connection closed exactly once.
    let mut ids: Vec<u64> = closes.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), resets);
    // A reset is seen as a reset (or as the end of the stream, when the kernel got the
    // RST before the read), never as anything else.
    let io = state.closes_with("Io");
    let eof = state.closes_with("ClientClosed");
    assert_eq!(io + eof, resets, "{closes:?}");
    println!("{resets} resets: {io} seen as I/O errors, {eof} as end of stream");
    // The torn SET never ran.
    assert_eq!(normal.call(&[b"GET", b"torn"]), OwnedValue::NullBulk);
    assert_eq!(handle.clients(), 1);
    drop(normal);
    handle.shutdown();
    assert!(wait_until(WITHIN, || threads() <= threads_before + 1));
}
