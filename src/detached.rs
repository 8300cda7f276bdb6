//! [`DetachedConn`]: a connection taken out of the server's command loop, owning its
//! socket, the bytes already read, and its protocol and state — for pub/sub and other
//! long-lived protocols. [`ConnWriter`] is a cloneable, `Send` handle that writes to the
//! same client from another thread while the `DetachedConn` blocks reading.

use crate::conn::ConnState;
use crate::handler::{CloseReason, Handler};
use crate::io::{PeerAddr, ReadHalf, WriteHalf};
use crate::resp::{Command, Protocol, ReadError, Reader, Writer};
use crate::server::ClientSlot;
use std::any::Any;
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

type WriteLock = Arc<Mutex<()>>;

fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection detached from the server with [`Conn::detach`](crate::Conn::detach).
///
/// Read commands with [`read_command`](Self::read_command); write replies with the
/// [`Writer`] methods it dereferences to, then [`flush`](Self::flush). To write from
/// another thread while this one blocks in `read_command` (a pub/sub publisher, say),
/// take a [`ConnWriter`] with [`writer`](Self::writer). It works the same over TCP,
/// Unix sockets and TLS.
///
/// Dropping it flushes what is buffered and closes the connection.
///
/// ```no_run
/// use redcon::{Command, Conn};
///
/// redcon::listen_and_serve("127.0.0.1:6380", |conn: &mut Conn, cmd: Command| {
///     if cmd.is("detach") {
///         conn.write_string("OK");
///         conn.detach(|mut d| {
///             // Serve the same connection in a loop of our own.
///             while let Ok(Some(cmd)) = d.read_command() {
///                 let echo = cmd.name().to_vec();
///                 d.write_bulk(echo);
///                 if d.flush().is_err() {
///                     break;
///                 }
///             }
///         });
///     } else {
///         conn.write_string("PONG");
///     }
/// })?;
/// # Ok::<(), redcon::Error>(())
/// ```
pub struct DetachedConn {
    state: ConnState,
    reader: Reader<ReadHalf>,
    // Keeps the client counted by the server (max clients) and reachable by its
    // shutdown until the connection is dropped.
    slot: Option<ClientSlot>,
}

impl DetachedConn {
    pub(crate) fn new(mut state: ConnState, reader: Reader<ReadHalf>, slot: ClientSlot) -> Self {
        // A server's connection has its lock already (shared with `Clients::writer`).
        state
            .write_lock
            .get_or_insert_with(|| Arc::new(Mutex::new(())));
        state.close = false;
        DetachedConn {
            state,
            reader,
            slot: Some(slot),
        }
    }

    /// Reads the next command, blocking until one is complete. Commands that were
    /// already received when the connection was detached come first.
    ///
    /// Returns `Ok(None)` when the client closed the connection (or the server is
    /// shutting down).
    ///
    /// # Errors
    /// [`ReadError::Protocol`] for a malformed request (Redis would now reply
    /// `-ERR Protocol error: ...` and close: see
    /// [`ProtocolError::reply`](crate::ProtocolError::reply)),
    /// [`ReadError::QueryBufferLimit`], or [`ReadError::Io`].
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"STREAM\r\nA\r\nB\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|mut d| {
    ///         let mut names = Vec::new();
    ///         while let Ok(Some(cmd)) = d.read_command() {
    ///             names.push(cmd.name().to_vec());
    ///         }
    ///         // The client closed: answer once, with everything it sent.
    ///         d.write_any(&names);
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"*2\r\n$1\r\nA\r\n$1\r\nB\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_command(&mut self) -> Result<Option<Command<'_>>, ReadError> {
        self.reader.read_command()
    }

    /// Serves this connection with `handler` exactly as the server would — pipeline
    /// batches, built-in `HELLO`, panics contained, protocol errors answered — until it
    /// closes (then `on_close` is called and the reason returned) or the handler
    /// detaches it again (then `None`).
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"PING\r\nUPGRADE\r\nPING\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, cmd| {
    ///     if cmd.is("upgrade") {
    ///         conn.write_string("OK");
    ///         // The rest of this connection is served by another handler.
    ///         conn.detach(|d| {
    ///             d.serve(&handler_fn(|conn, _| conn.write_string("v2")));
    ///         });
    ///     } else {
    ///         conn.write_string("v1");
    ///     }
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"+v1\r\n+OK\r\n+v2\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve<H: Handler + ?Sized>(mut self, handler: &H) -> Option<CloseReason> {
        let state = std::mem::replace(&mut self.state, ConnState::placeholder());
        let reader = std::mem::replace(&mut self.reader, Reader::new(ReadHalf::Closed));
        let slot = self.slot.take()?;
        crate::server::serve_to_end(handler, state, reader, slot)
    }

    /// Sends everything written so far.
    ///
    /// # Errors
    /// The socket write failed (the client is gone or stopped reading past the write
    /// timeout).
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"SUBSCRIBE\r\n")?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|mut d| {
    ///         for n in 1..=3 {
    ///             d.write_push(2);
    ///             d.write_bulk("tick");
    ///             d.write_int(n);
    ///             if d.flush().is_err() {
    ///                 return; // the client left
    ///             }
    ///         }
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out.escape_ascii().to_string().matches("tick").count(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn flush(&mut self) -> io::Result<()> {
        self.state.flush_with(&[])
    }

    /// Sets what runs before a protocol error is written (see `ConnState::before_error`).
    pub(crate) fn set_before_error(&mut self, f: Option<crate::conn::BeforeError>) {
        self.state.before_error = f;
    }

    /// Flushes, then closes the connection.
    ///
    /// # Errors
    /// The final flush failed; the connection is closed anyway.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"LEAVE\r\n")?; // the client keeps its end open
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|mut d| {
    ///         d.write_string("bye");
    ///         d.close().expect("client gone");
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?; // ends: the server closed the connection
    /// assert_eq!(out, b"+bye\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(mut self) -> io::Result<()> {
        let res = self.flush();
        self.state.sink.close_after_replies();
        res
    }

    /// A handle that writes to this client from any thread. Writes through it and
    /// through this `DetachedConn` never interleave mid-flush.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"WATCH\r\n")?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|d| {
    ///         let mut w = d.writer();
    ///         std::thread::spawn(move || {
    ///             w.write_string("from another thread");
    ///             w.flush().expect("client gone");
    ///         })
    ///         .join()
    ///         .unwrap();
    ///         drop(d);
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"+from another thread\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn writer(&self) -> ConnWriter {
        ConnWriter {
            out: Writer::with_protocol(self.state.out.protocol()),
            sink: self.state.sink.clone(),
            write_lock: self
                .state
                .write_lock
                .clone()
                .unwrap_or_else(|| Arc::new(Mutex::new(()))),
        }
    }

    // The accessors' examples run in the body of `check`, called from a handler (`Conn`)
    // or on the detached connection (`DetachedConn`); the client expects `EXPECTED` and
    // then `+OK`.
    crate::conn::shared_conn_methods!(
        "```\n# use redcon::{handler_fn, DetachedConn, Server};\n# use std::io::{Read, Write};\n# fn check(conn: &mut DetachedConn) {",
        "# let server = Server::new(handler_fn(|conn, _cmd| {\n#     conn.detach(|mut d| {\n#         check(&mut d);\n#         d.write_string(\"OK\");\n#         d.close().unwrap();\n#     });\n# })).addr(\"127.0.0.1:0\").start()?;\n# let mut c = std::net::TcpStream::connect(server.local_addr().to_string())?;\n# c.write_all(b\"PING\\r\\n\")?;\n# let mut got = Vec::new();\n# c.read_to_end(&mut got)?;\n# let want = [EXPECTED, b\"+OK\\r\\n\"].concat();\n# assert_eq!(got.escape_ascii().to_string(), want.escape_ascii().to_string());\n# server.shutdown();\n# Ok::<(), Box<dyn std::error::Error>>(())\n```"
    );
}

impl Deref for DetachedConn {
    type Target = Writer;

    fn deref(&self) -> &Writer {
        &self.state.out
    }
}

impl DerefMut for DetachedConn {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.state.out
    }
}

impl Drop for DetachedConn {
    fn drop(&mut self) {
        // After `serve` took everything out there is nothing left to close.
        if self.slot.is_some() {
            let _ = self.flush();
            self.state.sink.close_after_replies();
        }
    }
}

impl fmt::Debug for DetachedConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetachedConn")
            .field("id", &self.state.id)
            .field("peer", &self.state.peer)
            .field("protocol", &self.state.out.protocol())
            .finish_non_exhaustive()
    }
}

/// Writes to a detached client from any thread; see [`DetachedConn::writer`].
///
/// It has its own reply buffer (use the [`Writer`] methods it dereferences to, then
/// [`flush`](Self::flush)). Clones share the connection but not the buffer.
///
/// ```
/// use redcon::{handler_fn, Server};
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// let (mut client, server_end) = UnixStream::pair()?;
/// client.write_all(b"SUBSCRIBE\r\n")?;
/// Server::new(handler_fn(|conn, _cmd| {
///     conn.detach(|d| {
///         // Two publishers; each clone has its own buffer, so replies never mix.
///         let workers: Vec<_> = (0..2)
///             .map(|i| {
///                 let mut w = d.writer();
///                 std::thread::spawn(move || {
///                     w.write_push(2);
///                     w.write_bulk("message");
///                     w.write_int(i);
///                     w.flush().expect("client gone");
///                 })
///             })
///             .collect();
///         workers.into_iter().for_each(|t| t.join().unwrap());
///     });
/// }))
/// .serve_connection(server_end);
/// let mut out = Vec::new();
/// client.read_to_end(&mut out)?;
/// let one = |i: u8| [&b"*2\r\n$7\r\nmessage\r\n:"[..], &[b'0' + i], b"\r\n"].concat();
/// assert!(out == [one(0), one(1)].concat() || out == [one(1), one(0)].concat());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ConnWriter {
    out: Writer,
    sink: WriteHalf,
    write_lock: WriteLock,
}

impl ConnWriter {
    pub(crate) fn new(protocol: Protocol, sink: WriteHalf, write_lock: WriteLock) -> ConnWriter {
        ConnWriter {
            out: Writer::with_protocol(protocol),
            sink,
            write_lock,
        }
    }

    /// Sends everything written to this handle so far.
    ///
    /// # Errors
    /// The socket write failed: the client is gone, or stopped reading for longer than
    /// the server's write timeout.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"X\r\n")?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|d| {
    ///         let mut w = d.writer();
    ///         w.write_string("queued");
    ///         assert!(!w.is_empty());
    ///         w.flush().expect("client gone"); // sent, and the buffer emptied
    ///         assert!(w.is_empty());
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"+queued\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let _guard = lock(&self.write_lock);
        let res = self.sink.write_all(&[self.out.as_bytes()]);
        self.out.clear();
        res
    }

    /// Writes `bytes` (already encoded RESP) straight to the client, after anything
    /// buffered in this handle.
    ///
    /// # Errors
    /// As for [`flush`](Self::flush).
    ///
    /// ```
    /// use redcon::resp::OwnedCommand;
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"X\r\n")?;
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|d| {
    ///         // Bytes encoded once, e.g. a message for many subscribers.
    ///         let encoded = OwnedCommand::new(["message", "news", "hi"]).to_resp();
    ///         d.writer().send_raw(&encoded).expect("client gone");
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let _guard = lock(&self.write_lock);
        let res = self.sink.write_all(&[self.out.as_bytes(), bytes]);
        self.out.clear();
        res
    }

    /// Closes the connection for reading and writing; the `DetachedConn` blocked in
    /// `read_command` sees end of stream.
    ///
    /// ```
    /// use redcon::{handler_fn, Server};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut client, server_end) = UnixStream::pair()?;
    /// client.write_all(b"SUBSCRIBE\r\n")?; // and keeps its end open
    /// Server::new(handler_fn(|conn, _cmd| {
    ///     conn.detach(|mut d| {
    ///         let w = d.writer();
    ///         // E.g. a kill switch on another thread:
    ///         std::thread::spawn(move || w.close());
    ///         // Unblocks the read below, which sees end of stream.
    ///         assert!(matches!(d.read_command(), Ok(None)));
    ///     });
    /// }))
    /// .serve_connection(server_end);
    /// let mut out = Vec::new();
    /// client.read_to_end(&mut out)?;
    /// assert!(out.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        self.sink.close();
    }
}

impl Clone for ConnWriter {
    fn clone(&self) -> Self {
        ConnWriter {
            out: Writer::with_protocol(self.out.protocol()),
            sink: self.sink.clone(),
            write_lock: self.write_lock.clone(),
        }
    }
}

impl Deref for ConnWriter {
    type Target = Writer;

    fn deref(&self) -> &Writer {
        &self.out
    }
}

impl DerefMut for ConnWriter {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.out
    }
}

impl fmt::Debug for ConnWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnWriter")
            .field("protocol", &self.out.protocol())
            .finish_non_exhaustive()
    }
}
