//! Every configurable limit, enforced on real sockets: max clients, query buffer, bulk
//! length, inline line, multibulk count, the tighter limits for clients that have not
//! authenticated, idle timeout, and the cross-protocol (`POST`, `Host:`) close. Each test checks what the offending client sees and that the server
//! goes on serving everyone else.

mod common_hostile;

use common_hostile::{read_to_close, start, wait_until, Client};
use redcon::resp::OwnedValue;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

const CLOSE_WITHIN: Duration = Duration::from_secs(5);

fn ok() -> OwnedValue {
    OwnedValue::SimpleString(b"OK".to_vec())
}

fn pong() -> OwnedValue {
    OwnedValue::SimpleString(b"PONG".to_vec())
}

#[test]
fn max_clients_refuses_the_extra_client_and_frees_the_slot_on_close() {
    // No thread reuse, so that every connection's thread is counted below.
    let (handle, state) = start(|s| s.max_clients(3).max_idle_threads(0));
    let addr = common_hostile::addr(&handle);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(&addr)).collect();
    for c in &mut clients {
        assert_eq!(c.call(&[b"PING"]), pong());
    }
    let mut extra = common_hostile::connect(&addr);
    assert_eq!(
        read_to_close(&mut extra, CLOSE_WITHIN),
        b"-ERR max number of clients reached\r\n"
    );
    // The three are unaffected, and a refused client never reached on_accept.
    for c in &mut clients {
        assert_eq!(c.call(&[b"PING"]), pong());
    }
    assert_eq!(state.accepts.load(std::sync::atomic::Ordering::SeqCst), 3);

    drop(clients.pop());
    assert!(wait_until(CLOSE_WITHIN, || handle.clients() == 2));
    let mut again = Client::connect(&addr);
    assert_eq!(again.call(&[b"PING"]), pong());
    // Three served, one refused on its own thread, one more served.
    assert_eq!(handle.shutdown(), 5);
}

#[test]
fn query_buffer_limit_closes_without_a_reply() {
    let (handle, state) = start(|s| s.max_query_buffer(64 * 1024));
    let addr = common_hostile::addr(&handle);

    // A pipeline far larger than the limit is fine: complete commands are consumed as
    // they arrive, so only the unparsed part counts.
    let mut piper = Client::connect(&addr);
    let pipeline = b"PING\r\n".repeat(50_000);
    let mut w = piper.stream.try_clone().expect("clone");
    let writer = thread::spawn(move || w.write_all(&pipeline).expect("pipeline"));
    for _ in 0..50_000 {
        assert_eq!(piper.reply(), pong());
    }
    writer.join().expect("writer");

    // One unfinished argument larger than the limit: closed, nothing written back.
    let mut hog = common_hostile::connect(&addr);
    hog.write_all(b"*2\r\n$4\r\nECHO\r\n$1000000\r\n")
        .expect("header");
    let chunk = vec![b'a'; 16 * 1024];
    let mut sent = 0;
    while sent < 1_000_000 {
        if hog.write_all(&chunk).is_err() {
            break; // the server closed mid-send: what we want
        }
        sent += chunk.len();
        if sent > 256 * 1024 {
            break;
        }
    }
    assert_eq!(read_to_close(&mut hog, CLOSE_WITHIN), b"");
    assert!(wait_until(CLOSE_WITHIN, || state
        .closes_with("QueryBufferLimit")
        == 1));
    assert_eq!(piper.call(&[b"PING"]), pong());
    handle.shutdown();
}

#[test]
fn bulk_length_limit_is_a_protocol_error() {
    let (handle, state) = start(|s| s.max_bulk_len(1024));
    let addr = common_hostile::addr(&handle);
    let mut c = Client::connect(&addr);
    let at_limit = vec![b'v'; 1024];
    assert_eq!(c.call(&[b"SET", b"k", &at_limit]), ok());

    let mut over = common_hostile::connect(&addr);
    over.write_all(b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n")
        .expect("send");
    assert_eq!(
        read_to_close(&mut over, CLOSE_WITHIN),
        b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(c.call(&[b"GET", b"k"]), OwnedValue::Bulk(at_limit));
    assert!(wait_until(CLOSE_WITHIN, || state.closes_with("Protocol") == 1));
    handle.shutdown();

    // Redis's own limit with the defaults: 512 MiB is accepted, one more byte is not.
    let (handle, _) = start(|s| s);
    let addr = common_hostile::addr(&handle);
    let mut at_default = common_hostile::connect(&addr);
    at_default
        .write_all(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nabc")
        .expect("send");
    let mut over = common_hostile::connect(&addr);
    over.write_all(b"*2\r\n$4\r\nECHO\r\n$536870913\r\n")
        .expect("send");
    assert_eq!(
        read_to_close(&mut over, CLOSE_WITHIN),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(!common_hostile::is_closed(&at_default));
    handle.shutdown();
}

#[test]
fn inline_line_limit_default_64k_and_configured() {
    let (handle, _) = start(|s| s);
    let addr = common_hostile::addr(&handle);
    let mut long = common_hostile::connect(&addr);
    long.write_all(&vec![b'a'; 70 * 1024]).expect("send");
    assert_eq!(
        read_to_close(&mut long, CLOSE_WITHIN),
        b"-ERR Protocol error: too big inline request\r\n"
    );
    // A header line with no end counts too.
    let mut header = common_hostile::connect(&addr);
    let mut bytes = b"*1\r\n$".to_vec();
    bytes.extend(std::iter::repeat_n(b'1', 70 * 1024));
    header.write_all(&bytes).expect("send");
    assert_eq!(
        read_to_close(&mut header, CLOSE_WITHIN),
        b"-ERR Protocol error: too big bulk count string\r\n"
    );
    handle.shutdown();

    let (handle, _) = start(|s| s.max_inline_len(100));
    let addr = common_hostile::addr(&handle);
    let mut c = Client::connect(&addr);
    let line = format!("ECHO {}\r\n", "b".repeat(80));
    c.send(line.as_bytes());
    assert_eq!(c.reply(), OwnedValue::Bulk(vec![b'b'; 80]));
    let mut long = common_hostile::connect(&addr);
    long.write_all(&[b'a'; 200]).expect("send");
    assert_eq!(
        read_to_close(&mut long, CLOSE_WITHIN),
        b"-ERR Protocol error: too big inline request\r\n"
    );
    handle.shutdown();
}

#[test]
fn multibulk_count_limit_is_a_protocol_error() {
    let (handle, _) = start(|s| s.max_multibulk_len(3));
    let addr = common_hostile::addr(&handle);
    let mut c = Client::connect(&addr);
    assert_eq!(c.call(&[b"SET", b"k", b"v"]), ok());
    let mut over = common_hostile::connect(&addr);
    over.write_all(b"*4\r\n").expect("send");
    assert_eq!(
        read_to_close(&mut over, CLOSE_WITHIN),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    // A declared huge count costs nothing until arguments arrive (default limit).
    handle.shutdown();
    let (handle, _) = start(|s| s);
    let addr = common_hostile::addr(&handle);
    let mut huge = Client::connect(&addr);
    huge.send(b"*2147483647\r\n$4\r\nECHO\r\n");
    let mut over = common_hostile::connect(&addr);
    over.write_all(b"*2147483648\r\n").expect("send");
    assert_eq!(
        read_to_close(&mut over, CLOSE_WITHIN),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(!common_hostile::is_closed(&huge.stream));
    handle.shutdown();
}

#[test]
fn idle_timeout_reaps_silent_clients_only() {
    let idle = Duration::from_millis(300);
    let (handle, state) = start(|s| s.idle_timeout(idle));
    let addr = common_hostile::addr(&handle);
    let t = Instant::now();
    let mut silent = common_hostile::connect(&addr);
    let mut half = common_hostile::connect(&addr);
    half.write_all(b"*2\r\n$4\r\nECHO\r\n$3\r\nab")
        .expect("send");
    let mut busy = Client::connect(&addr);
    // The busy client talks every 100 ms for 1 s: never idle that long.
    while t.elapsed() < Duration::from_secs(1) {
        assert_eq!(busy.call(&[b"PING"]), pong());
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(read_to_close(&mut silent, Duration::from_secs(2)), b"");
    assert_eq!(read_to_close(&mut half, Duration::from_secs(2)), b"");
    assert_eq!(busy.call(&[b"PING"]), pong());
    assert!(wait_until(CLOSE_WITHIN, || state
        .closes_with("IdleTimeout")
        == 2));
    handle.shutdown();
}

#[test]
fn cross_protocol_requests_are_closed_without_a_reply() {
    let (handle, state) = start(|s| s);
    let addr = common_hostile::addr(&handle);
    let cases: [&[u8]; 5] = [
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nSET k evil",
        b"Host: 127.0.0.1\r\n",
        b"post /x HTTP/1.0\r\n",
        b"*1\r\n$5\r\nhost:\r\n",
        // As Redis: replies to the commands read with it are dropped too.
        b"PING\r\nPOST / HTTP/1.1\r\nSET k evil\r\n",
    ];
    for case in cases {
        let mut c = common_hostile::connect(&addr);
        c.write_all(case).expect("send");
        assert_eq!(
            read_to_close(&mut c, CLOSE_WITHIN),
            b"",
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }
    assert!(wait_until(CLOSE_WITHIN, || state
        .closes_with("CrossProtocol")
        == cases.len()));
    // Nothing after the HTTP lines ran.
    assert!(state.store().is_empty());
    let mut c = Client::connect(&addr);
    assert_eq!(c.call(&[b"GET", b"k"]), OwnedValue::NullBulk);
    // POST as an argument is nothing special.
    assert_eq!(
        c.call(&[b"ECHO", b"POST"]),
        OwnedValue::Bulk(b"POST".to_vec())
    );
    handle.shutdown();
}

#[test]
fn unauthenticated_clients_cannot_make_the_server_buffer() {
    let (handle, state) = start(|s| s.requirepass("s3cret"));
    let addr = common_hostile::addr(&handle);
    let mut c = Client::connect(&addr);
    assert_eq!(c.call(&[b"AUTH", b"s3cret"]), ok());

    // Each declares a bulk far over 16 KiB and starts sending it: refused at the
    // header, before the server reads (or keeps) a byte of the data.
    let before = common_hostile::rss_kib();
    let mut hostile = Vec::new();
    for _ in 0..100 {
        let mut s = common_hostile::connect(&addr);
        let _ = s.write_all(b"*2\r\n$4\r\nAUTH\r\n$536870000\r\n");
        let _ = s.write_all(&vec![b'x'; 256 * 1024]);
        hostile.push(s);
    }
    for s in &mut hostile {
        let got = read_to_close(s, CLOSE_WITHIN);
        assert_eq!(got, b"-ERR Protocol error: unauthenticated bulk length\r\n");
    }
    let grown = common_hostile::rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "RSS grew {grown} KiB for 100 refused clients"
    );

    // More than 10 elements, and one byte over 16 KiB.
    let mut many = common_hostile::connect(&addr);
    many.write_all(b"*11\r\n").expect("send");
    assert_eq!(
        read_to_close(&mut many, CLOSE_WITHIN),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let mut big = common_hostile::connect(&addr);
    big.write_all(b"*1\r\n$16385\r\n").expect("send");
    assert_eq!(
        read_to_close(&mut big, CLOSE_WITHIN),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    // The authenticated client was never disturbed, and may send what it likes.
    let large = vec![b'v'; 100_000];
    assert_eq!(c.call(&[b"SET", b"k", &large]), ok());
    assert_eq!(c.call(&[b"GET", b"k"]), OwnedValue::Bulk(large));
    assert!(wait_until(CLOSE_WITHIN, || state.closes_with("Protocol") == 102));
    handle.shutdown();
}
