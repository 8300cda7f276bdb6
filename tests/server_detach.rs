//! Detached connections over a real socket: the `DetachedConn` first serves the
//! commands already buffered when it was detached, then reads and answers new ones; a
//! `ConnWriter` used from another thread writes while the `DetachedConn` is blocked
//! reading; closing through the writer ends the read; the detached client still counts
//! as connected; a panic in the detached code closes only that connection; and
//! `DetachedConn::serve` hands the connection back to a handler.

mod common;

use common::{connect, start, Basic, Reason};
use redcon::{Command, Conn, ConnWriter, Protocol};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// What the detached side reports to the test.
enum Event {
    /// The connection was detached; a writer for it.
    Writer(ConnWriter),
    /// `read_command` is about to be called for the n-th time.
    Reading(usize),
    /// `read_command` returned end of stream (`Ok(None)`).
    Ended,
}

/// `DETACH` replies `+OK` and detaches into a loop that answers `ECHO x` with
/// `detached:x` and reports its progress on the channel.
fn detaching_handler(
    events: mpsc::Sender<Event>,
) -> impl Fn(&mut Conn<'_>, Command<'_>) + Send + Sync + 'static {
    let events = Mutex::new(events);
    move |conn: &mut Conn<'_>, cmd: Command<'_>| {
        if !cmd.is("detach") {
            common::basic(conn, &cmd);
            return;
        }
        conn.write_string("OK");
        let tx = events.lock().unwrap().clone();
        conn.detach(move |mut d| {
            tx.send(Event::Writer(d.writer())).unwrap();
            for n in 1.. {
                tx.send(Event::Reading(n)).unwrap();
                let cmd = match d.read_command() {
                    Ok(Some(cmd)) => cmd,
                    Ok(None) => break,
                    Err(e) => panic!("read_command failed: {e:?}"),
                };
                let mut reply = b"detached:".to_vec();
                reply.extend_from_slice(cmd.get(1).unwrap_or_default());
                d.write_bulk(reply);
                if d.flush().is_err() {
                    break;
                }
            }
            tx.send(Event::Ended).unwrap();
        });
    }
}

fn recv(rx: &mpsc::Receiver<Event>) -> Event {
    rx.recv_timeout(common::TIMEOUT)
        .expect("event from the detached side")
}

fn writer(rx: &mpsc::Receiver<Event>) -> ConnWriter {
    match recv(rx) {
        Event::Writer(w) => w,
        _ => panic!("expected the writer first"),
    }
}

#[track_caller]
fn reading(rx: &mpsc::Receiver<Event>, n: usize) {
    match recv(rx) {
        Event::Reading(i) => assert_eq!(i, n),
        Event::Ended => panic!("ended before read {n}"),
        Event::Writer(_) => panic!("second writer"),
    }
}

#[track_caller]
fn ended(rx: &mpsc::Receiver<Event>) {
    assert!(matches!(recv(rx), Event::Ended), "expected the end");
}

#[test]
fn detached_conn_serves_buffered_then_new_commands() {
    let (tx, rx) = mpsc::channel();
    let server = start(detaching_handler(tx));
    let mut c = connect(&server);
    // The ECHO after DETACH arrives in the same read: the detached side gets it first.
    c.send(b"PING\r\nDETACH\r\nECHO early\r\n");
    c.expect(b"+PONG\r\n+OK\r\n");
    let _w = writer(&rx);
    reading(&rx, 1);
    c.expect(b"$14\r\ndetached:early\r\n");
    reading(&rx, 2);
    c.send(b"*2\r\n$4\r\nECHO\r\n$4\r\nlate\r\nECHO again\r\n");
    c.expect(b"$13\r\ndetached:late\r\n$14\r\ndetached:again\r\n");
    reading(&rx, 3);
    // Still counted as a client while detached.
    assert_eq!(server.clients(), 1);
    drop(c);
    reading_or_end(&rx);
    common::wait_until("client forgotten", || server.clients() == 0);
    server.shutdown();
}

/// Skips progress reports until the detached loop ends.
fn reading_or_end(rx: &mpsc::Receiver<Event>) {
    loop {
        if let Event::Ended = recv(rx) {
            return;
        }
    }
}

#[test]
fn conn_writer_writes_while_the_detached_conn_blocks_reading() {
    let (tx, rx) = mpsc::channel();
    let server = start(detaching_handler(tx));
    let mut c = connect(&server);
    c.send(b"DETACH\r\n");
    c.expect(b"+OK\r\n");
    let mut w = writer(&rx);
    reading(&rx, 1);
    // The detached thread is now in (or entering) a blocking read with nothing to read.
    // Writes from this thread must not wait for it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    w.write_push(2);
    w.write_bulk("message");
    w.write_bulk("one");
    w.flush().unwrap();
    // The connection is RESP2: a push is written as an array.
    c.expect(b"*2\r\n$7\r\nmessage\r\n$3\r\none\r\n");
    // A second writer from yet another thread, and raw bytes.
    let mut w2 = w.clone();
    std::thread::spawn(move || w2.send_raw(b"+raw\r\n").unwrap())
        .join()
        .unwrap();
    c.expect(b"+raw\r\n");
    // The reading side still works.
    c.send(b"ECHO x\r\n");
    c.expect(b"$10\r\ndetached:x\r\n");
    reading(&rx, 2);
    // Closing through the writer ends the blocked read with end of stream.
    w.close();
    ended(&rx);
    c.expect_eof();
    assert!(w.flush().is_ok(), "nothing buffered: nothing to fail");
    w.write_string("late");
    assert!(w.flush().is_err(), "writing to a closed connection fails");
    server.shutdown();
}

#[test]
fn conn_writer_uses_the_protocol_of_the_connection() {
    let (tx, rx) = mpsc::channel();
    let server = start(detaching_handler(tx));
    let mut c = connect(&server);
    c.send(b"HELLO 3\r\n");
    c.reply();
    c.send(b"DETACH\r\n");
    c.expect(b"+OK\r\n");
    let mut w = writer(&rx);
    assert_eq!(w.protocol(), Protocol::Resp3);
    w.write_push(1);
    w.write_null();
    w.flush().unwrap();
    c.expect(b">1\r\n_\r\n");
    drop(c);
    reading_or_end(&rx);
    server.shutdown();
}

#[test]
fn detached_conn_can_be_served_by_a_handler_again() {
    let inner = Basic::default();
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let inner = inner.clone();
        let reasons = reasons.clone();
        move |conn: &mut Conn<'_>, cmd: Command<'_>| {
            if cmd.is("detach") {
                conn.write_string("OK");
                let inner = inner.clone();
                let reasons = reasons.clone();
                conn.detach(move |d| {
                    let r = d.serve(&inner).map(|r| Reason::from(&r));
                    reasons.lock().unwrap().push(r);
                });
            } else {
                conn.write_error("ERR not attached");
            }
        }
    };
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"FOO\r\nDETACH\r\nPING\r\n");
    c.expect(b"-ERR not attached\r\n+OK\r\n+PONG\r\n");
    // The built-in HELLO still answers.
    c.send(b"HELLO 3\r\n");
    assert!(c.reply().starts_with(b"%7\r\n"));
    c.send(b"ECHO hi\r\nQUIT\r\n");
    c.expect(b"$2\r\nhi\r\n+OK\r\n");
    c.expect_eof();
    assert_eq!(inner.closes.wait_for(1), vec![(1, Reason::Closed)]);
    common::wait_until("serve returned", || !reasons.lock().unwrap().is_empty());
    assert_eq!(*reasons.lock().unwrap(), vec![Some(Reason::Closed)]);
    server.shutdown();
}

#[test]
fn a_panic_in_detached_code_closes_only_that_connection() {
    let handler = |conn: &mut Conn<'_>, cmd: Command<'_>| {
        if cmd.is("detach") {
            conn.write_string("OK");
            conn.detach(|mut d| {
                d.write_string("last words");
                panic!("detached code failed");
            });
        } else {
            common::basic(conn, &cmd);
        }
    };
    let server = start(handler);
    let mut other = connect(&server);
    let mut c = connect(&server);
    c.send(b"DETACH\r\n");
    // What was written before the panic is still flushed when the connection drops.
    c.expect(b"+OK\r\n+last words\r\n");
    c.expect_eof();
    common::wait_until("client forgotten", || server.clients() == 1);
    other.send(b"PING\r\n");
    other.expect(b"+PONG\r\n");
    assert_eq!(server.shutdown(), 2);
}
