//! Slowloris: 1,000 connections each dribbling a partial command, a byte at a time.
//! Every one holds a thread blocked in `read`, which costs no CPU, so another client's
//! latency barely moves; once they stop sending, the idle timeout reaps them all.

mod common_hostile;

use common_hostile::{percentiles, read_to_close, start, threads, wait_until, Client};
use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

const LORIS: usize = 1000;
const IDLE: Duration = Duration::from_secs(2);

/// Pings for `period`, returning each round trip.
fn sample(client: &mut Client, period: Duration) -> Vec<Duration> {
    let start = Instant::now();
    let mut out = Vec::new();
    while start.elapsed() < period {
        out.push(client.ping_latency());
        thread::sleep(Duration::from_millis(2));
    }
    out
}

#[test]
fn slowloris_does_not_slow_others_and_idle_timeout_reaps_it() {
    let threads_before = threads();
    let (handle, state) = start(|s| s.idle_timeout(IDLE));
    let addr = common_hostile::addr(&handle);
    let mut normal = Client::connect(&addr);
    let (b50, b99, bmax) = percentiles(sample(&mut normal, Duration::from_millis(500)));

    // A partial command, then one more byte per connection every ~0.7 s: each read
    // resets the idle clock, so the server must hold them all.
    let partial = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$20\r\n";
    let connecting = Instant::now();
    let mut loris: Vec<TcpStream> = (0..LORIS)
        .map(|_| {
            let mut s = common_hostile::connect(&addr);
            s.write_all(partial).expect("partial command");
            s
        })
        .collect();
    let connect_time = connecting.elapsed();
    assert!(wait_until(Duration::from_secs(5), || handle.clients() == LORIS + 1));

    let dribbling = Instant::now();
    let mut during = Vec::new();
    for _ in 0..4 {
        for s in &mut loris {
            s.write_all(b"v").expect("dribble");
        }
        during.extend(sample(&mut normal, Duration::from_millis(700)));
    }
    let dribble_time = dribbling.elapsed();
    let (d50, d99, dmax) = percentiles(during);
    println!(
        "PING latency alone: p50 {b50:?} p99 {b99:?} max {bmax:?}; with {LORIS} slowloris \
         connections: p50 {d50:?} p99 {d99:?} max {dmax:?} (connect {connect_time:?}, \
         dribble {dribble_time:?}, threads {} -> {})",
        threads_before,
        threads()
    );
    // Generous: two shared cores, other test binaries running beside this one.
    assert!(d99 < Duration::from_millis(200), "p99 {d99:?}");
    assert!(state.closes().is_empty(), "{:?}", &state.closes()[..3]);

    // They stop; the idle timeout closes them all (the normal client keeps talking).
    let stopped = Instant::now();
    assert!(
        wait_until(IDLE + Duration::from_secs(4), || {
            normal.ping_latency();
            handle.clients() == 1
        }),
        "{} clients left",
        handle.clients()
    );
    let reaped_after = stopped.elapsed();
    assert_eq!(state.closes_with("IdleTimeout"), LORIS);
    for s in loris.iter_mut().take(10) {
        assert_eq!(read_to_close(s, Duration::from_secs(1)), b"");
    }
    // Nothing half-received was ever applied.
    assert!(state.store().is_empty());
    println!("all {LORIS} reaped {reaped_after:?} after their last byte (idle timeout {IDLE:?})");
    drop(loris);
    handle.shutdown();
    assert!(wait_until(Duration::from_secs(5), || threads() <= threads_before + 1));
}
