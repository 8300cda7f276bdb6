//! Clients that never read their replies: the replies back up into the socket
//! buffers, the server's write blocks, and after the write timeout the client is
//! dropped — its thread and memory are freed, and nobody else notices.

mod common_hostile;

use common_hostile::{encode, percentiles, rss_kib, start, wait_until, Client};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const WRITE_TIMEOUT: Duration = Duration::from_millis(500);

#[test]
fn a_client_that_never_reads_is_dropped_at_the_write_timeout() {
    let _serial = common_hostile::serial();
    let (handle, state) = start(|s| s.write_timeout(Some(WRITE_TIMEOUT)));
    let addr = common_hostile::addr(&handle);
    let rss_before = rss_kib();

    // A bystander pings the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let bystander = {
        let addr = addr.clone();
        let stop = stop.clone();
        thread::spawn(move || {
            let mut c = Client::connect(&addr);
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.push(c.ping_latency());
                thread::sleep(Duration::from_millis(2));
            }
            samples
        })
    };

    // One asks for 64 MiB of large replies; one floods small commands (its own writes
    // stall once the server stops reading, so it writes from a thread that may fail).
    let t = Instant::now();
    let mut big = common_hostile::connect(&addr);
    let mut asks = Vec::new();
    for _ in 0..64 {
        asks.extend(encode(&[b"BIG", b"1048576"]));
    }
    big.write_all(&asks).expect("ask for 64 MiB");
    let flood = common_hostile::connect(&addr);
    let flooder = {
        let mut s = flood.try_clone().expect("clone");
        thread::spawn(move || {
            let pings = b"PING\r\n".repeat(10_000);
            let mut sent = 0usize;
            while s.write_all(&pings).is_ok() {
                sent += pings.len();
            }
            sent
        })
    };

    assert!(
        wait_until(Duration::from_secs(10), || state
            .closes_with("WriteTimeout")
            == 2),
        "{:?}",
        state.closes()
    );
    let dropped_after = t.elapsed();
    let rss_peak = rss_kib();
    let flooded = flooder.join().expect("flooder");
    stop.store(true, Ordering::Relaxed);
    let (p50, p99, max) = percentiles(bystander.join().expect("bystander"));
    println!(
        "two non-reading clients dropped after {dropped_after:?} (write timeout \
         {WRITE_TIMEOUT:?}); flooder sent {} KiB before its writes failed; RSS {rss_before} \
         -> {rss_peak} KiB; bystander PING p50 {p50:?} p99 {p99:?} max {max:?}",
        flooded / 1024
    );
    // Each is dropped once a write has made no progress for the timeout; filling the
    // socket buffers first takes a moment.
    assert!(dropped_after < Duration::from_secs(10));
    assert!(max < Duration::from_millis(500), "bystander waited {max:?}");
    // What the kernel still held for it, then the end of the stream.
    let _ = common_hostile::read_to_close(&mut big, Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || handle.clients() == 0));
    drop(flood);
    handle.shutdown();
}
