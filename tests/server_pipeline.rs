//! Pipelining over a real socket: a 10,000-command pipeline answered in order (raw and
//! through redis-rs), the same pipeline sent one byte per write, an explicit
//! `Conn::flush` in the middle of a command, and the handler's view of the rest of the
//! pipeline (`peek_pipeline`, `take_pipeline`).

mod common;

use common::{bulk, connect, redis_conn, request, start, Basic};
use redcon::{Command, Conn};
use std::io::Write;
use std::thread;

/// `ECHO i` for i in 0..n, alternating multibulk and inline forms, and the replies.
/// Every tenth argument is padded, so 10,000 replies (about 500 KB) outgrow the reply
/// buffer and are sent in several writes.
fn echo_pipeline(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..n {
        let arg = if i % 10 == 0 {
            format!("v{i:0>400}")
        } else {
            format!("v{i}")
        };
        if i % 2 == 0 {
            req.extend_from_slice(&request(&["ECHO", &arg]));
        } else {
            req.extend_from_slice(format!("ECHO {arg}\r\n").as_bytes());
        }
        expected.extend_from_slice(&bulk(arg.as_bytes()));
    }
    (req, expected)
}

#[test]
fn ten_thousand_commands_in_one_write() {
    let server = start(Basic::default());
    let mut c = connect(&server);
    let (req, expected) = echo_pipeline(10_000);
    // Write from another thread: the replies must be read while the request is still
    // being written, or both sides could block on full socket buffers.
    let mut w = c.stream.try_clone().unwrap();
    let writer = thread::spawn(move || w.write_all(&req).unwrap());
    c.expect(&expected);
    writer.join().unwrap();
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn ten_thousand_commands_through_redis_rs() {
    let server = start(Basic::default());
    let mut con = redis_conn(&server, false);
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("ECHO").arg(format!("v{i}"));
    }
    let replies: Vec<String> = pipe.query(&mut con).unwrap();
    assert_eq!(replies.len(), 10_000);
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r, &format!("v{i}"));
    }
    server.shutdown();
}

#[test]
fn one_byte_per_write_gets_the_same_replies() {
    let server = start(Basic::default());
    let (mut req, mut expected) = echo_pipeline(40);
    // Binary data with CR and LF inside a bulk, and an empty argument.
    req.extend_from_slice(&request(&[&b"ECHO"[..], b"a\r\nb\rc\nd"]));
    expected.extend_from_slice(&bulk(b"a\r\nb\rc\nd"));
    req.extend_from_slice(&request(&["ECHO", ""]));
    expected.extend_from_slice(&bulk(b""));
    // Quoted inline arguments and blank lines between commands.
    req.extend_from_slice(b"\r\n  \r\nECHO \"x y\\r\\n\"\r\nPING\n");
    expected.extend_from_slice(&bulk(b"x y\r\n"));
    expected.extend_from_slice(b"+PONG\r\n");

    // All at once...
    let mut whole = connect(&server);
    whole.send(&req);
    whole.expect(&expected);

    // ...and one byte per write (TCP_NODELAY is on, so each is its own segment).
    let mut bytewise = connect(&server);
    for b in &req {
        bytewise.send(std::slice::from_ref(b));
    }
    bytewise.expect(&expected);
    server.shutdown();
}

/// `PEEK` replies with the names of the commands after it; `TAKE` takes them, replies
/// with how many, then answers each taken `ECHO` itself with a `taken:` prefix.
fn pipeline_handler(conn: &mut Conn<'_>, cmd: Command<'_>) {
    if cmd.is("peek") {
        let rest = conn.peek_pipeline();
        conn.write_array(rest.len());
        for c in &rest {
            conn.write_bulk(&c.args[0]);
        }
    } else if cmd.is("take") {
        let taken = conn.take_pipeline();
        conn.write_int(taken.len() as i64);
        for c in &taken {
            let mut reply = b"taken:".to_vec();
            reply.extend_from_slice(c.args.get(1).map_or(&b""[..], |a| a));
            conn.write_bulk(reply);
        }
    } else if !common::basic(conn, &cmd) {
        conn.write_error("ERR unknown");
    }
}

#[test]
fn peek_pipeline_sees_the_rest_without_consuming_it() {
    let server = start(pipeline_handler);
    let mut c = connect(&server);
    // One small write arrives in one read, so the whole pipeline is buffered when PEEK
    // runs.
    c.send(b"PEEK\r\nECHO a\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\nPING\r\n");
    c.expect(b"*3\r\n$4\r\nECHO\r\n$4\r\nECHO\r\n$4\r\nPING\r\n");
    // The peeked commands are still served, in order.
    c.expect(b"$1\r\na\r\n$1\r\nb\r\n+PONG\r\n");
    server.shutdown();
}

#[test]
fn take_pipeline_serves_the_rest_as_a_batch() {
    let server = start(pipeline_handler);
    let mut c = connect(&server);
    c.send(b"TAKE\r\nECHO a\r\nECHO b\r\n*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n");
    c.expect(b":3\r\n$7\r\ntaken:a\r\n$7\r\ntaken:b\r\n$7\r\ntaken:c\r\n");
    // Taken commands are not served again: the next reply is the next command's.
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn take_pipeline_stops_at_an_incomplete_command() {
    let server = start(pipeline_handler);
    let mut c = connect(&server);
    // The last command is cut off: TAKE gets only the complete one before it...
    c.send(b"TAKE\r\nECHO a\r\n*2\r\n$4\r\nECHO\r\n$1\r\n");
    c.expect(b":1\r\n$7\r\ntaken:a\r\n");
    // ...and the cut-off command is served normally once it is complete.
    c.send(b"z\r\n");
    c.expect(b"$1\r\nz\r\n");
    // With nothing after it, TAKE takes nothing.
    c.send(b"TAKE\r\n");
    c.expect(b":0\r\n");
    server.shutdown();
}

#[test]
fn take_pipeline_stops_at_a_malformed_command() {
    let server = start(pipeline_handler);
    let mut c = connect(&server);
    // The malformed command is left to the connection, which answers it as usual.
    c.send(b"TAKE\r\nECHO a\r\n*1\r\n$x\r\nECHO b\r\n");
    c.expect(b":1\r\n$7\r\ntaken:a\r\n-ERR Protocol error: invalid bulk length\r\n");
    c.expect_eof();
    server.shutdown();
}

#[test]
fn conn_flush_sends_replies_before_the_command_returns() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    let handler = move |conn: &mut Conn<'_>, cmd: Command<'_>| {
        if cmd.is("twostep") {
            conn.write_string("first");
            conn.flush().unwrap();
            // Only finishes once the test has seen the first reply.
            rx.lock().unwrap().recv_timeout(common::TIMEOUT).unwrap();
            conn.write_string("second");
        } else {
            common::basic(conn, &cmd);
        }
    };
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"PING\r\nTWOSTEP\r\nPING\r\n");
    // The reply before it and its first part arrive while TWOSTEP is still running.
    c.expect(b"+PONG\r\n+first\r\n");
    tx.send(()).unwrap();
    c.expect(b"+second\r\n+PONG\r\n");
    server.shutdown();
}

#[test]
fn stats_count_the_commands_bytes_and_connections_that_were_sent() {
    let server = start(Basic::default());
    // Three clients, each a pipeline of 100 PINGs in one write and 50 more after.
    let burst: Vec<u8> = b"PING\r\n".repeat(100);
    let more = request(&["ECHO", "hello"]).repeat(50);
    for _ in 0..3 {
        let mut c = connect(&server);
        c.send(&burst);
        c.expect(&b"+PONG\r\n".repeat(100));
        c.send(&more);
        c.expect(&bulk(b"hello").repeat(50));
    }
    let sent_in = 3 * (burst.len() + more.len()) as u64;
    let sent_out = 3 * (100 * 7 + 50 * bulk(b"hello").len()) as u64;
    // A batch is counted before its replies are written, so a client that has them
    // finds its commands counted (Redis counts a command before it replies).
    let s = server.stats();
    assert_eq!((s.commands_processed, s.net_input_bytes), (450, sent_in));
    // The bytes a write sent are added right after it.
    common::wait_until("every byte out counted", || {
        server.stats().net_output_bytes == sent_out
    });
    let s = server.stats();
    assert_eq!(s.connections_received, 3);
    assert_eq!(s.rejected_connections, 0);
    assert_eq!(s.blocked_clients, 0);
    common::wait_until("the clients are gone", || {
        server.stats().connected_clients == 0
    });
    // The batch a connection ends with counts too.
    let mut c = connect(&server);
    c.send(b"PING\r\nQUIT\r\n");
    c.expect(b"+PONG\r\n+OK\r\n");
    assert_eq!(server.stats().commands_processed, 452);
    common::wait_until("the last client is gone", || {
        server.stats().connected_clients == 0
    });
    // INFO renders the same figures under Redis's names.
    let info = redcon::info::Info::new(&server.stats()).render(&[b"stats"]);
    assert!(info.starts_with("# Stats\r\n"), "{info}");
    assert!(
        info.contains("\r\ntotal_commands_processed:452\r\n"),
        "{info}"
    );
    assert!(
        info.contains(&format!("\r\ntotal_net_input_bytes:{}\r\n", sent_in + 12)),
        "{info}"
    );
    assert!(
        info.contains("\r\ntotal_connections_received:4\r\n"),
        "{info}"
    );
    server.shutdown();
}

#[test]
fn a_monitor_sees_every_command_of_a_pipelined_burst_in_order_with_redis_escaping() {
    let server = start(|conn: &mut Conn<'_>, cmd: Command<'_>| {
        if cmd.is("monitor") {
            conn.monitor();
        } else if cmd.is("select") {
            conn.set_db(std::str::from_utf8(&cmd[1]).unwrap().parse().unwrap());
            conn.write_string("OK");
        } else {
            conn.write_string("OK");
        }
    });
    let mut watcher = connect(&server);
    watcher.send(b"MONITOR\r\n");
    watcher.expect(b"+OK\r\n");
    let mut c = connect(&server);
    let peer = c.stream.local_addr().unwrap();
    let mut burst = Vec::new();
    for i in 0..200 {
        burst.extend(request(&["SET", &format!("k{i}"), "v"]));
    }
    burst.extend(request(&[&b"SELECT"[..], b"2"]));
    burst.extend(request(&[
        &b"SET"[..],
        b"a\"b\\c\r\n\t\x07\x08\x00\xff ",
        b"",
    ]));
    burst.extend(request(&["AUTH", "user", "secret"]));
    c.send(&burst);
    c.expect(&b"+OK\r\n".repeat(203));
    let mut lines = Vec::new();
    while lines.len() < 203 {
        let line = watcher.reply();
        // "+<secs>.<6 digits> [" then the rest.
        let text = String::from_utf8(line).unwrap();
        let (time, rest) = text[1..].split_once(' ').unwrap();
        let (secs, micros) = time.split_once('.').unwrap();
        assert!(secs.parse::<u64>().unwrap() > 1_600_000_000 && micros.len() == 6);
        lines.push(rest.to_string());
    }
    for (i, line) in lines.iter().take(200).enumerate() {
        assert_eq!(*line, format!("[0 {peer}] \"SET\" \"k{i}\" \"v\"\r\n"));
    }
    assert_eq!(lines[200], format!("[2 {peer}] \"SELECT\" \"2\"\r\n"));
    assert_eq!(
        lines[201],
        format!("[2 {peer}] \"SET\" \"a\\\"b\\\\c\\r\\n\\t\\a\\b\\x00\\xff \" \"\"\r\n")
    );
    assert_eq!(
        lines[202],
        format!("[2 {peer}] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n")
    );
    // The monitor leaves with QUIT; nobody monitors any more.
    watcher.send(b"QUIT\r\n");
    watcher.expect(b"+OK\r\n");
    watcher.expect_eof();
    server.shutdown();
}

/// A reader that hands out at most 1,000 bytes per call, yielding between calls, so a
/// streamed bulk goes out in many writes.
struct Trickle(usize);

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        thread::yield_now();
        let n = buf.len().min(self.0).min(1000);
        buf[..n].fill(b'b');
        self.0 -= n;
        Ok(n)
    }
}

/// Out-of-band writes (`Clients::writer`) interleave with a pipeline's replies only
/// between whole replies: a thread pushes messages for as long as the client pipelines
/// 90 commands whose replies include 100 KB bulks and streamed bulks (written in many
/// parts); every frame the client reads is whole, and the pushes are in order.
#[test]
fn out_of_band_pushes_never_split_a_reply() {
    use redcon::handler_fn;
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const N: usize = 90;
    let server = start(handler_fn(|conn, cmd| {
        let n: usize = std::str::from_utf8(&cmd[1]).unwrap().parse().unwrap();
        match n % 3 {
            0 => conn.write_bulk(vec![b'a'; 100_000]),
            1 => conn.write_bulk_from(Trickle(200_000), 200_000).unwrap(),
            _ => conn.write_int(n as i64),
        }
    }));
    let mut c = connect(&server);
    c.send(&request(&["N", "2"]));
    c.expect(b":2\r\n");
    let clients = server.clients_handle();
    let id = clients.ids()[0];
    let mut w = clients.writer(id).expect("the client is live");
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let pusher = thread::spawn(move || {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            w.write_push(2);
            w.write_bulk("push");
            w.write_int(i);
            if w.flush().is_err() {
                break;
            }
            i += 1;
            thread::yield_now();
        }
    });
    let mut req = Vec::new();
    for n in 0..N {
        req.extend_from_slice(&request(&["N", &n.to_string()]));
    }
    let mut stream = c.stream.try_clone().unwrap();
    let writer = thread::spawn(move || stream.write_all(&req).unwrap());
    let (mut buf, mut pushes, mut replies) = (Vec::new(), 0, 0);
    let mut chunk = vec![0u8; 1 << 16];
    while replies < N {
        let n = c.stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {pushes} pushes and {replies} replies");
        buf.extend_from_slice(&chunk[..n]);
        while let Some(len) = common::resp_len(&buf).expect("a split or corrupt frame") {
            let frame: Vec<u8> = buf.drain(..len).collect();
            if frame.starts_with(b"*2\r\n$4\r\npush\r\n") {
                assert_eq!(
                    frame,
                    format!("*2\r\n$4\r\npush\r\n:{pushes}\r\n").as_bytes()
                );
                pushes += 1;
            } else {
                let want = match replies % 3 {
                    0 => bulk(&vec![b'a'; 100_000]),
                    1 => bulk(&vec![b'b'; 200_000]),
                    _ => format!(":{replies}\r\n").into_bytes(),
                };
                assert!(frame == want, "reply {replies} is not whole");
                replies += 1;
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    pusher.join().unwrap();
    writer.join().unwrap();
    // The pushes really did run alongside the replies.
    assert!(pushes > 0, "no push arrived among the replies");
    server.shutdown();
}
