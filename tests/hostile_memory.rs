//! Memory follows the bytes that arrive, never the lengths a client declares: 200
//! clients each announce a 512 MiB argument (`$536870912`, Redis's largest) and then
//! send one byte a second. The server runs in this process, so its memory is this
//! process's RSS; it must stay within a few MiB of the idle figure while another client
//! is served normally. The only test in its binary, so nothing else moves the RSS.

mod common_hostile;

use common_hostile::{percentiles, rss_kib, start, wait_until, Client};
use redcon::resp::OwnedValue;
use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

const HOGS: usize = 200;
const DRIBBLE_ROUNDS: usize = 6;

#[test]
fn declared_512mib_bulks_cost_only_what_arrives() {
    let (handle, state) = start(|s| s);
    let addr = common_hostile::addr(&handle);

    // Warm up: one client served, so the idle figure includes a served connection.
    let mut normal = Client::connect(&addr);
    for _ in 0..100 {
        normal.ping_latency();
    }
    thread::sleep(Duration::from_millis(200));
    let idle = rss_kib();

    let mut hogs: Vec<TcpStream> = (0..HOGS)
        .map(|_| {
            let mut s = common_hostile::connect(&addr);
            s.write_all(b"*3\r\n$3\r\nSET\r\n$3\r\nhog\r\n$536870912\r\n")
                .expect("declare");
            s
        })
        .collect();
    assert!(wait_until(Duration::from_secs(5), || handle.clients() == HOGS + 1));

    let mut peak = rss_kib();
    let mut latencies = Vec::new();
    let mut i = 0u64;
    for _ in 0..DRIBBLE_ROUNDS {
        for s in &mut hogs {
            s.write_all(b"x").expect("a byte");
        }
        // Meanwhile, for about a second, a normal client does real work.
        let round = Instant::now();
        while round.elapsed() < Duration::from_secs(1) {
            let t = Instant::now();
            let key = format!("k{i}");
            assert_eq!(
                normal.call(&[b"SET", key.as_bytes(), b"v"]),
                OwnedValue::SimpleString(b"OK".to_vec())
            );
            assert_eq!(
                normal.call(&[b"GET", key.as_bytes()]),
                OwnedValue::Bulk(b"v".to_vec())
            );
            latencies.push(t.elapsed());
            i += 1;
            thread::sleep(Duration::from_millis(5));
        }
        peak = peak.max(rss_kib());
    }
    let grown_kib = peak.saturating_sub(idle);
    let (p50, p99, max) = percentiles(latencies);
    println!(
        "idle RSS {idle} KiB, peak with {HOGS} clients declaring 512 MiB each \
         ({} GiB in all) {peak} KiB: +{grown_kib} KiB, {:.1} KiB per client; \
         SET+GET round trip p50 {p50:?} p99 {p99:?} max {max:?} over {i} pairs",
        HOGS / 2,
        grown_kib as f64 / HOGS as f64,
    );
    // A few MiB: a thread stack's touched pages and a small read buffer per client.
    assert!(
        grown_kib < 16 * 1024,
        "RSS grew {grown_kib} KiB for {HOGS} clients"
    );
    assert!(max < Duration::from_secs(1), "a round trip took {max:?}");
    // Every hog is still waiting for its data, none was dropped or answered.
    assert!(state.closes().is_empty(), "{:?}", state.closes());
    assert!(state.store().get(b"hog".as_slice()).is_none());

    drop(hogs);
    assert!(wait_until(Duration::from_secs(5), || handle.clients() == 1));
    assert_eq!(state.closes_with("ClientClosed"), HOGS);
    handle.shutdown();
}
