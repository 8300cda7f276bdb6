//! Load: one publisher, 200 subscribers, 10 000 messages each, every one delivered in
//! order; and a subscriber that never reads, which must not slow the publisher or the
//! other subscribers and is disconnected once its queue passes the limit. The publish
//! rates are printed (run with `--nocapture`), not asserted: timing depends on the
//! machine.

use super::common::*;
use redcon::pubsub::PubSub;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const SUBSCRIBERS: usize = 200;
const MESSAGES: usize = 10_000;

#[test]
fn fan_out_200_subscribers_10000_messages_in_order() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let expected: Arc<Vec<u8>> = Arc::new(
        (0..MESSAGES)
            .flat_map(|i| message(false, "fan", &i.to_string()))
            .collect(),
    );
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut threads = Vec::new();
    for n in 0..SUBSCRIBERS {
        let ready = ready_tx.clone();
        if n % 20 == 0 {
            // One in twenty through the redis crate, the rest checked byte for byte.
            let url = url(&server, false);
            threads.push(thread::spawn(move || {
                let mut conn = redis_conn(&url);
                let mut ps = conn.as_pubsub();
                ps.subscribe("fan").expect("subscribe");
                ready.send(()).expect("main thread waits");
                for i in 0..MESSAGES {
                    let m = ps.get_message().expect("message");
                    assert_eq!(m.get_payload::<String>().expect("payload"), i.to_string());
                }
            }));
        } else {
            let mut c = tcp(&server);
            let expected = expected.clone();
            threads.push(thread::spawn(move || {
                c.roundtrip(
                    b"SUBSCRIBE fan\r\n",
                    &confirm(false, "subscribe", Some("fan"), 1),
                );
                ready.send(()).expect("main thread waits");
                c.expect(&expected);
            }));
        }
    }
    for _ in 0..SUBSCRIBERS {
        ready_rx
            .recv_timeout(TIMEOUT)
            .expect("every subscriber subscribes");
    }
    assert_eq!(pubsub.numsub("fan"), SUBSCRIBERS);

    let mut publisher = redis_conn(&url(&server, false));
    let t0 = Instant::now();
    for i in 0..MESSAGES {
        assert_eq!(
            publish(&mut publisher, "fan", &i.to_string()),
            SUBSCRIBERS as i64
        );
    }
    let published = t0.elapsed();
    for t in threads {
        t.join()
            .expect("a subscriber missed or reordered a message");
    }
    let delivered = t0.elapsed();
    println!(
        "fan-out: {MESSAGES} messages to {SUBSCRIBERS} subscribers: published in {published:?} \
         ({:.0} msg/s), all {} deliveries done in {delivered:?}",
        MESSAGES as f64 / published.as_secs_f64(),
        MESSAGES * SUBSCRIBERS,
    );
    server.shutdown();
}

/// Subscribers that read everything.
const FAST: usize = 4;
/// Messages per run, of about 4 KiB each: ~24 MiB per subscriber, well over a stuck
/// subscriber's socket buffers (a few MiB) plus its queue limit.
const COUNT: usize = 6_000;
/// The queue limit: 8 MiB per subscriber, so a reading subscriber that the (shared,
/// busy) machine does not schedule for a moment is not mistaken for a stuck one.
const LIMIT_BYTES: usize = 8 << 20;
/// Messages are published in bursts of this many, with a pause between bursts, which
/// keeps the data rate at about 20 MiB/s: a reading subscriber would have to stall for
/// ~0.4 s to reach the limit.
const BURST: usize = 50;
const PAUSE: Duration = Duration::from_millis(10);

fn payload(i: usize) -> String {
    format!("{i:08}{}", "p".repeat(4088))
}

/// A TCP client with a tiny receive buffer, so that it stops taking data soon.
fn stuck_client(addr: SocketAddr) -> Raw<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    s.connect(&addr.into()).expect("connect");
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    Raw { stream: s }
}

/// Publishes `COUNT` messages to `FAST` reading subscribers, and to one that never reads
/// if `stuck`; returns the publish rate (time spent in `PUBLISH` round trips only).
fn run(stuck: bool) -> f64 {
    let pubsub = PubSub::with_queue_limits(100_000, LIMIT_BYTES);
    let server = start(&pubsub);
    let expected: Arc<Vec<u8>> = Arc::new(
        (0..COUNT)
            .flat_map(|i| message(false, "s", &payload(i)))
            .collect(),
    );
    let (ready_tx, ready_rx) = mpsc::channel();
    let fast: Vec<JoinHandle<Raw<TcpStream>>> = (0..FAST)
        .map(|_| {
            let mut c = tcp(&server);
            let (ready, expected) = (ready_tx.clone(), expected.clone());
            thread::spawn(move || {
                c.roundtrip(
                    b"SUBSCRIBE s\r\n",
                    &confirm(false, "subscribe", Some("s"), 1),
                );
                ready.send(()).expect("main thread waits");
                c.expect(&expected);
                c // kept open until the end: they stay subscribed
            })
        })
        .collect();
    for _ in 0..FAST {
        ready_rx.recv_timeout(TIMEOUT).expect("subscribed");
    }
    let addr: SocketAddr = server
        .local_addr()
        .to_string()
        .parse()
        .expect("tcp address");
    let mut slow = stuck.then(|| {
        let mut c = stuck_client(addr);
        c.roundtrip(
            b"SUBSCRIBE s\r\n",
            &confirm(false, "subscribe", Some("s"), 1),
        );
        c
    });

    let mut publisher = redis_conn(&url(&server, false));
    let mut publishing = Duration::ZERO;
    for burst in 0..COUNT / BURST {
        let t0 = Instant::now();
        for i in burst * BURST..(burst + 1) * BURST {
            // The stuck subscriber counts until it is gone, as in Redis.
            assert!(publish(&mut publisher, "s", &payload(i)) >= FAST as i64);
        }
        publishing += t0.elapsed();
        thread::sleep(PAUSE);
    }
    let rate = COUNT as f64 / publishing.as_secs_f64();
    let _fast: Vec<Raw<TcpStream>> = fast
        .into_iter()
        .map(|t| {
            t.join()
                .expect("a reading subscriber missed or reordered a message")
        })
        .collect();
    if let Some(slow) = slow.as_mut() {
        wait_until("the stuck subscriber to be disconnected", || {
            pubsub.numsub("s") == FAST
        });
        let got = slow.read_to_close();
        assert!(
            got.len() < expected.len(),
            "a stuck subscriber got everything ({} bytes)",
            got.len()
        );
        // What it did get is a prefix of the stream: nothing lost or reordered before
        // the cut.
        assert!(
            got[..] == expected[..got.len()],
            "the stuck subscriber's stream differs"
        );
    }
    server.shutdown();
    rate
}

#[test]
fn a_stuck_subscriber_does_not_slow_the_others_and_is_disconnected() {
    let without = run(false);
    let with = run(true);
    println!(
        "publish rate with {FAST} reading subscribers: {without:.0} msg/s; \
         plus one that never reads: {with:.0} msg/s"
    );
}
