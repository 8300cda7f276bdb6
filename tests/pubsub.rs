//! Pub/sub against Redis 7's exact replies (recorded from redis-server 7.0 with the same
//! input), through raw sockets and the `redis` crate: confirmations and counts,
//! subscribed-mode rules in RESP2, push frames in RESP3, channel and pattern overlap,
//! unsubscribing from everything, ordering of replies among messages, and cleanup. The
//! load tests (fan-out, a stuck subscriber) and TLS / Unix sockets are in submodules.

#[path = "pubsub/common.rs"]
mod common;
#[path = "pubsub/load.rs"]
mod load;
/// The helpers the `server_*` tests share; `common` builds on a few of them.
#[path = "common/mod.rs"]
mod server_common;
#[path = "pubsub/transports.rs"]
mod transports;

use common::*;
use redcon::pubsub::PubSub;

#[test]
fn resp2_confirmations_and_counts_match_redis() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.roundtrip(
        b"SUBSCRIBE x x\r\n",
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n",
    );
    c.roundtrip(b"PING\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    c.roundtrip(b"PING hi\r\n", b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n",
    );
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    // Back in normal mode.
    c.roundtrip(b"PING\r\n", b"+PONG\r\n");
    c.roundtrip(
        b"PSUBSCRIBE a* b*\r\n",
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nb*\r\n:2\r\n",
    );
    // No channels to leave: one null confirmation with the pattern count.
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:2\r\n",
    );
    c.roundtrip(
        b"PUNSUBSCRIBE z\r\n",
        b"*3\r\n$12\r\npunsubscribe\r\n$1\r\nz\r\n:2\r\n",
    );
    c.roundtrip(
        b"PUNSUBSCRIBE\r\n",
        b"*3\r\n$12\r\npunsubscribe\r\n$2\r\na*\r\n:1\r\n*3\r\n$12\r\npunsubscribe\r\n$2\r\nb*\r\n:0\r\n",
    );
    c.roundtrip(
        b"PUNSUBSCRIBE\r\n",
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n",
    );

    // Never subscribed.
    let mut d = tcp(&server);
    d.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    d.roundtrip(
        b"UNSUBSCRIBE a b\r\n",
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n",
    );
    d.roundtrip(b"PUBLISH x y\r\n", b":0\r\n");
    d.roundtrip(
        b"PUBLISH\r\n",
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    );
    d.roundtrip(
        b"SUBSCRIBE\r\n",
        b"-ERR wrong number of arguments for 'subscribe' command\r\n",
    );
    server.shutdown();
}

#[test]
fn resp2_subscribed_mode_allows_only_pubsub_commands() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.roundtrip(
        b"SUBSCRIBE x\r\n",
        &confirm(false, "subscribe", Some("x"), 1),
    );
    c.roundtrip(b"GET k\r\n", &cant_execute("get"));
    c.roundtrip(b"CLIENT ID\r\n", &cant_execute("client|id"));
    c.roundtrip(b"HELLO 3\r\n", &cant_execute("hello"));
    c.roundtrip(b"PUBLISH x y\r\n", &cant_execute("publish"));
    // Unknown-command and arity errors come first, as in Redis.
    c.roundtrip(
        b"FOO\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: \r\n",
    );
    c.roundtrip(
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    c.roundtrip(
        b"CLIENT FOO\r\n",
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
    );
    c.roundtrip(
        b"PING a b\r\n",
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    );
    c.roundtrip(
        b"PUBLISH x\r\n",
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    );
    c.roundtrip(
        b"RESET x\r\n",
        b"-ERR wrong number of arguments for 'reset' command\r\n",
    );
    // A whole pipeline in and out of subscribed mode, in order.
    c.roundtrip(
        b"PING\r\nSUBSCRIBE b\r\nPING x\r\nGET k\r\nUNSUBSCRIBE b\r\nUNSUBSCRIBE x\r\nPING\r\n\
          SUBSCRIBE c\r\nECHO hi\r\n",
        &[
            &b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"[..],
            &confirm(false, "subscribe", Some("b"), 2),
            b"*2\r\n$4\r\npong\r\n$1\r\nx\r\n",
            &cant_execute("get"),
            &confirm(false, "unsubscribe", Some("b"), 1),
            &confirm(false, "unsubscribe", Some("x"), 0),
            b"+PONG\r\n",
            &confirm(false, "subscribe", Some("c"), 1),
            &cant_execute("echo"),
        ]
        .concat(),
    );
    server.shutdown();
}

#[test]
fn reset_and_quit_in_subscribed_mode() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.roundtrip(b"CLIENT SETNAME me\r\n", b"+OK\r\n");
    c.send(b"HELLO 3\r\n");
    c.skip_past(b"modules\r\n*0\r\n");
    c.roundtrip(
        b"SUBSCRIBE a\r\n",
        &confirm(true, "subscribe", Some("a"), 1),
    );
    // RESET leaves every channel, returns to RESP2 and normal mode.
    c.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    c.roundtrip(b"GET k\r\nCLIENT GETNAME\r\n", b"$-1\r\n$-1\r\n");
    assert_eq!(pubsub.numsub("a"), 0);
    assert_eq!(pubsub.publish("a", "x"), 0);
    c.roundtrip(
        b"SUBSCRIBE a\r\n",
        &confirm(false, "subscribe", Some("a"), 1),
    );
    c.roundtrip(b"QUIT\r\n", b"+OK\r\n");
    assert!(c.read_to_close().is_empty());
    wait_until("the subscription to go", || pubsub.numsub("a") == 0);
    server.shutdown();
}

#[test]
fn resp3_push_frames_and_any_command() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.send(b"HELLO 3\r\n");
    c.skip_past(b"modules\r\n*0\r\n");
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
    );
    c.roundtrip(
        b"SUBSCRIBE x x\r\n",
        b">3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n",
    );
    // Any command runs, answered in RESP3.
    c.roundtrip(b"PING\r\n", b"+PONG\r\n");
    c.roundtrip(b"PING hi\r\n", b"$2\r\nhi\r\n");
    c.roundtrip(b"GET k\r\n", b"_\r\n");
    c.roundtrip(b"PUBLISH nobody x\r\n", b":0\r\n");
    c.roundtrip(
        b"PSUBSCRIBE x*\r\n",
        b">3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:2\r\n",
    );
    assert_eq!(pubsub.publish("x", "hello"), 2);
    c.expect(&message(true, "x", "hello"));
    c.expect(&pmessage(true, "x*", "x", "hello"));
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b">3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:1\r\n",
    );
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        b">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n",
    );
    c.roundtrip(
        b"PUNSUBSCRIBE\r\n",
        b">3\r\n$12\r\npunsubscribe\r\n$2\r\nx*\r\n:0\r\n",
    );
    c.roundtrip(
        b"PUNSUBSCRIBE\r\n",
        b">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n",
    );
    // HELLO 2 while subscribed: RESP2 subscribed mode from then on.
    c.roundtrip(
        b"SUBSCRIBE q\r\n",
        &confirm(true, "subscribe", Some("q"), 1),
    );
    c.send(b"HELLO 2\r\n");
    c.skip_past(b"modules\r\n*0\r\n");
    c.roundtrip(b"GET k\r\n", &cant_execute("get"));
    assert_eq!(pubsub.publish("q", "m"), 1);
    c.expect(&message(false, "q", "m"));
    server.shutdown();
}

#[test]
fn resp3_subscriber_with_the_redis_crate() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut sub = redis_conn(&url(&server, true));
    let mut publisher = redis_conn(&url(&server, false));
    let mut ps = sub.as_pubsub();
    ps.subscribe("news").expect("subscribe");
    ps.psubscribe("n*").expect("psubscribe");
    wait_until("both subscriptions", || {
        pubsub.numsub("news") == 1 && pubsub.numpat() == 1
    });
    assert_eq!(publish(&mut publisher, "news", "one"), 2);
    let m = ps.get_message().expect("message");
    assert_eq!(m.get_channel_name(), "news");
    assert_eq!(m.get_payload::<String>().expect("payload"), "one");
    assert!(!m.from_pattern());
    let m = ps.get_message().expect("pmessage");
    assert_eq!(m.get_pattern::<String>().expect("pattern"), "n*");
    assert_eq!(m.get_payload::<String>().expect("payload"), "one");
    drop(ps);
    // Leaving pub/sub unsubscribed from everything; the connection works on.
    let pong: String = redis::cmd("PING").query(&mut sub).expect("PING");
    assert_eq!(pong, "PONG");
    assert_eq!(pubsub.numpat(), 0);
    server.shutdown();
}

#[test]
fn channel_and_pattern_overlap_counts() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut a = tcp(&server);
    a.roundtrip(
        b"SUBSCRIBE x\r\nPSUBSCRIBE x* *\r\n",
        &[
            confirm(false, "subscribe", Some("x"), 1),
            confirm(false, "psubscribe", Some("x*"), 2),
            confirm(false, "psubscribe", Some("*"), 3),
        ]
        .concat(),
    );
    let mut b = redis_conn(&url(&server, false));
    let mut bps = b.as_pubsub();
    bps.psubscribe("x*").expect("psubscribe");
    let mut publisher = redis_conn(&url(&server, false));
    // `x`: a's channel, a's two patterns, b's pattern.
    assert_eq!(publish(&mut publisher, "x", "1"), 4);
    // `xy`: a's two patterns, b's pattern.
    assert_eq!(publish(&mut publisher, "xy", "2"), 3);
    // `z`: a's `*` only.
    assert_eq!(publish(&mut publisher, "z", "3"), 1);
    assert_eq!(pubsub.numpat(), 2);
    assert_eq!(pubsub.numsub("x"), 1);

    // a: the channel message first, then one pmessage per matching pattern (in no
    // particular order between patterns, as in Redis).
    a.expect(&message(false, "x", "1"));
    a.expect_any_order(&[
        pmessage(false, "x*", "x", "1"),
        pmessage(false, "*", "x", "1"),
    ]);
    a.expect_any_order(&[
        pmessage(false, "x*", "xy", "2"),
        pmessage(false, "*", "xy", "2"),
    ]);
    a.expect(&pmessage(false, "*", "z", "3"));
    // b: only its pattern's messages, in publish order.
    for (chan, payload) in [("x", "1"), ("xy", "2")] {
        let m = bps.get_message().expect("pmessage");
        assert_eq!(m.get_channel_name(), chan);
        assert_eq!(m.get_pattern::<String>().expect("pattern"), "x*");
        assert_eq!(m.get_payload::<String>().expect("payload"), payload);
    }
    server.shutdown();
}

#[test]
fn unsubscribe_from_all() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.roundtrip(
        b"SUBSCRIBE a b c\r\nPSUBSCRIBE p*\r\n",
        &[
            confirm(false, "subscribe", Some("a"), 1),
            confirm(false, "subscribe", Some("b"), 2),
            confirm(false, "subscribe", Some("c"), 3),
            confirm(false, "psubscribe", Some("p*"), 4),
        ]
        .concat(),
    );
    // Channels are confirmed oldest first (Redis's order is its hash table's).
    c.roundtrip(
        b"UNSUBSCRIBE\r\n",
        &[
            confirm(false, "unsubscribe", Some("a"), 3),
            confirm(false, "unsubscribe", Some("b"), 2),
            confirm(false, "unsubscribe", Some("c"), 1),
        ]
        .concat(),
    );
    assert_eq!(pubsub.publish("a", "x"), 0);
    assert_eq!(pubsub.publish("pq", "x"), 1);
    c.expect(&pmessage(false, "p*", "pq", "x"));
    c.roundtrip(
        b"PUNSUBSCRIBE\r\nPING\r\nGET k\r\n",
        &[
            &confirm(false, "punsubscribe", Some("p*"), 0)[..],
            b"+PONG\r\n$-1\r\n",
        ]
        .concat(),
    );
    assert_eq!(pubsub.numpat(), 0);
    assert!(pubsub.channels(None).is_empty());

    // The redis crate's way: unsubscribing from everything when its PubSub is dropped.
    let mut conn = redis_conn(&url(&server, false));
    {
        let mut ps = conn.as_pubsub();
        ps.subscribe(&["a", "b"]).expect("subscribe");
        ps.psubscribe("q*").expect("psubscribe");
        // The crate returns after the first confirmation of a command; wait for the rest.
        wait_until("the pattern subscription", || pubsub.numpat() == 1);
        assert_eq!(pubsub.publish("qa", "x"), 1);
    }
    let n: i64 = redis::cmd("PUBLISH")
        .arg("a")
        .arg("m")
        .query(&mut conn)
        .expect("publish");
    assert_eq!(n, 0, "nothing left subscribed");
    server.shutdown();
}

#[test]
fn replies_keep_their_place_among_messages() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.roundtrip(
        b"SUBSCRIBE a\r\n",
        &confirm(false, "subscribe", Some("a"), 1),
    );
    let mut expected = Vec::new();
    for i in 0..500 {
        assert_eq!(pubsub.publish("a", i.to_string()), 1);
        expected.extend_from_slice(&message(false, "a", &i.to_string()));
    }
    // Queued before the PING was read, so written before its reply, as Redis does.
    c.send(b"PING\r\nUNSUBSCRIBE\r\n");
    expected.extend_from_slice(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    expected.extend_from_slice(&confirm(false, "unsubscribe", Some("a"), 0));
    c.expect(&expected);
    server.shutdown();
}

#[test]
fn disconnecting_cleans_up() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    let mut c = tcp(&server);
    c.roundtrip(
        b"SUBSCRIBE a\r\nPSUBSCRIBE a*\r\n",
        &[
            confirm(false, "subscribe", Some("a"), 1),
            confirm(false, "psubscribe", Some("a*"), 2),
        ]
        .concat(),
    );
    assert_eq!(pubsub.publish("a", "x"), 2);
    drop(c);
    wait_until("cleanup", || {
        pubsub.numsub("a") == 0 && pubsub.numpat() == 0
    });
    assert_eq!(pubsub.publish("a", "x"), 0);
    wait_until("the client to be gone", || server.clients() == 0);
    server.shutdown();
}

/// A protocol error after subscribing (in the same write, or later): Redis sends the
/// confirmations and every other queued reply first, then the error, then closes.
#[test]
fn protocol_error_comes_after_queued_replies() {
    let pubsub = PubSub::new();
    let server = start(&pubsub);
    for request in [
        &b"SUBSCRIBE a\r\n*1\r\n$x\r\n"[..],
        b"SUBSCRIBE a b\r\nPING\r\n*1\r\n$-2\r\n",
    ] {
        let mut c = tcp(&server);
        c.send(request);
        let got = c.read_to_close();
        let mut want = confirm(false, "subscribe", Some("a"), 1);
        if request.starts_with(b"SUBSCRIBE a b") {
            want.extend(confirm(false, "subscribe", Some("b"), 2));
            want.extend_from_slice(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        }
        want.extend_from_slice(b"-ERR Protocol error: invalid bulk length\r\n");
        assert_eq!(show(&got), show(&want), "for {}", show(request));
    }
}
