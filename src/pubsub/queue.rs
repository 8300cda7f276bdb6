//! One subscriber's outgoing queue and the thread that drains it: [`Subscriber`] is what
//! publishers hold (push, never wait), [`WriterThread`] owns the draining thread, which batches
//! everything queued into one socket write.
//!
//! The queue is a crossbeam channel bounded by counters rather than by capacity: a
//! `bounded(n)` channel allocates all `n` slots up front, which for a generous limit and
//! thousands of subscribers would be memory spent on nothing. The counters also bound
//! bytes, as Redis's `client-output-buffer-limit pubsub` does, and they count what the
//! writer has taken but not yet written, so a subscriber's memory stays under its limit.

use crate::detached::ConnWriter;
use crate::io::Socket;
use crate::resp::Protocol;
use crossbeam_channel::{Receiver, Sender};
use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// A batch is written once it holds this much, even if more is queued, so one write
/// never holds the connection's write lock for too long.
const BATCH_BYTES: usize = 256 * 1024;

/// A writer's buffer above this size is released after the batch that grew it.
const KEEP_BUFFER: usize = 64 * 1024;

/// The writer thread's stack: it only encodes (or encrypts) and writes.
const WRITER_STACK: usize = 256 * 1024;

/// What a subscriber's writer thread is asked to do, in order.
pub(crate) enum Item {
    /// A published message, encoded once for every subscriber as a RESP2 array; the
    /// writer turns the leading `*` into `>` for a RESP3 client.
    Message(Arc<[u8]>),
    /// Replies to the client's own commands, already encoded in its protocol.
    Reply(Vec<u8>),
    /// The client switched protocol: messages after this are encoded for it.
    Protocol(Protocol),
    /// Signalled once everything queued before it has been written.
    Barrier(Sender<()>),
    /// Write what is queued before it, then end.
    Stop,
}

/// How much one subscriber may have queued before it is disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) messages: usize,
    pub(crate) bytes: usize,
}

/// The publishers' handle on one subscribed connection.
pub(crate) struct Subscriber {
    /// The connection's id, for logs.
    pub(crate) id: u64,
    tx: Sender<Item>,
    limits: Limits,
    /// Messages and replies queued or being written.
    queued: AtomicUsize,
    /// Their bytes.
    queued_bytes: AtomicUsize,
    dead: AtomicBool,
    /// Shut down (not closed: no TLS alert, which would take the TLS write lock) to
    /// disconnect the client without waiting on anything.
    socket: Option<Arc<Socket>>,
}

impl Subscriber {
    /// Queues a published message. Never blocks.
    pub(crate) fn push_message(&self, frame: &Arc<[u8]>) {
        self.push(Item::Message(frame.clone()), frame.len());
    }

    /// Queues replies to the client's own commands. Returns `false` if the client is
    /// being disconnected (its queue overflowed or its socket failed).
    pub(crate) fn push_reply(&self, bytes: Vec<u8>) -> bool {
        if bytes.is_empty() {
            return !self.is_dead();
        }
        let n = bytes.len();
        self.push(Item::Reply(bytes), n)
    }

    /// Queues an item that is not output (a protocol switch, a barrier, stop): not
    /// counted against the limits.
    pub(crate) fn push_control(&self, item: Item) -> bool {
        self.tx.send(item).is_ok()
    }

    fn push(&self, item: Item, bytes: usize) -> bool {
        if self.is_dead() {
            return false;
        }
        let n = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        let b = self.queued_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if n > self.limits.messages || b > self.limits.bytes {
            log::info!(
                "pub/sub client {} disconnected: {n} messages / {b} bytes queued, over the limit",
                self.id
            );
            self.kill();
            return false;
        }
        self.tx.send(item).is_ok()
    }

    /// Waits until everything queued so far has been written, or returns at once if
    /// the writer thread has ended.
    pub(crate) fn barrier(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.push_control(Item::Barrier(tx)) {
            // Err: the writer ended (socket failed) and dropped the barrier unsignalled.
            let _ = rx.recv();
        }
    }

    /// Whether anything queued has not been written yet.
    pub(crate) fn has_pending(&self) -> bool {
        self.queued.load(Ordering::Acquire) > 0
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Disconnects the client: its writer's write fails, its reader sees end of stream,
    /// and the connection thread cleans up. Safe to call from any thread, never blocks.
    pub(crate) fn kill(&self) {
        if !self.dead.swap(true, Ordering::AcqRel)
            && let Some(s) = &self.socket
        {
            s.shutdown(Shutdown::Both);
        }
    }

    fn written(&self, messages: usize, bytes: usize) {
        self.queued.fetch_sub(messages, Ordering::Release);
        self.queued_bytes.fetch_sub(bytes, Ordering::Release);
    }
}

/// A running writer thread and the subscriber handle that feeds it.
pub(crate) struct WriterThread {
    pub(crate) sub: Arc<Subscriber>,
    thread: Option<JoinHandle<()>>,
}

impl WriterThread {
    /// Starts a writer thread for a connection.
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub(crate) fn start(
        id: u64,
        out: ConnWriter,
        socket: Option<Arc<Socket>>,
        protocol: Protocol,
        limits: Limits,
    ) -> io::Result<WriterThread> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let sub = Arc::new(Subscriber {
            id,
            tx,
            limits,
            queued: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            socket,
        });
        let s = sub.clone();
        let thread = thread::Builder::new()
            .name(format!("redcon-pubsub-{id}"))
            .stack_size(WRITER_STACK)
            .spawn(move || drain(&s, &rx, out, protocol))?;
        Ok(WriterThread {
            sub,
            thread: Some(thread),
        })
    }

    /// Waits until everything queued so far has been written (or the client is gone).
    pub(crate) fn barrier(&self) {
        self.sub.barrier();
    }

    /// Writes what is queued, then ends the thread and waits for it (dropping does the
    /// same).
    pub(crate) fn stop(self) {}
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        let _ = self.sub.push_control(Item::Stop);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::warn!("pub/sub writer of client {} panicked", self.sub.id);
        }
    }
}

/// The writer thread: take one item (blocking), then everything else already queued,
/// write it all at once, repeat.
fn drain(sub: &Subscriber, rx: &Receiver<Item>, mut out: ConnWriter, mut protocol: Protocol) {
    let mut acks = Vec::new();
    let mut next = rx.recv().ok();
    while next.is_some() {
        let (mut messages, mut bytes, mut stop) = (0, 0, false);
        while let Some(item) = next.take() {
            match item {
                Item::Message(frame) => {
                    messages += 1;
                    bytes += frame.len();
                    append_message(out.buffer_mut(), &frame, protocol);
                }
                Item::Reply(r) => {
                    messages += 1;
                    bytes += r.len();
                    out.buffer_mut().extend_from_slice(&r);
                }
                Item::Protocol(p) => protocol = p,
                Item::Barrier(ack) => acks.push(ack),
                Item::Stop => {
                    stop = true;
                    break;
                }
            }
            if out.len() >= BATCH_BYTES {
                break;
            }
            next = rx.try_recv().ok();
        }
        let res = out.flush();
        if out.buffer_mut().capacity() > KEEP_BUFFER {
            *out.buffer_mut() = Vec::new();
        }
        sub.written(messages, bytes);
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        if let Err(e) = res {
            log::debug!("pub/sub client {}: write failed: {e}", sub.id);
            sub.kill();
            // Drop what is queued now (releasing any barrier): nothing more gets written.
            while rx.try_recv().is_ok() {}
            return;
        }
        if stop {
            return;
        }
        next = rx.recv().ok();
    }
}

/// Appends a message frame, encoded as a RESP2 array, in `protocol`: a RESP3 push
/// differs only in its first byte.
fn append_message(buf: &mut Vec<u8>, frame: &[u8], protocol: Protocol) {
    match (protocol, frame.split_first()) {
        (Protocol::Resp3, Some((_, rest))) => {
            buf.push(b'>');
            buf.extend_from_slice(rest);
        }
        _ => buf.extend_from_slice(frame),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriber(messages: usize, bytes: usize) -> (Subscriber, Receiver<Item>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let sub = Subscriber {
            id: 1,
            tx,
            limits: Limits { messages, bytes },
            queued: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            socket: None,
        };
        (sub, rx)
    }

    #[test]
    fn overflowing_the_message_limit_kills() {
        let (sub, rx) = subscriber(2, 1 << 20);
        let frame: Arc<[u8]> = Arc::from(&b"*1\r\n$1\r\nx\r\n"[..]);
        sub.push_message(&frame);
        sub.push_message(&frame);
        assert!(!sub.is_dead());
        sub.push_message(&frame);
        assert!(sub.is_dead());
        assert_eq!(rx.len(), 2, "the message over the limit is not queued");
        assert!(!sub.push_reply(b"+OK\r\n".to_vec()));
    }

    #[test]
    fn overflowing_the_byte_limit_kills_and_written_releases() {
        let (sub, _rx) = subscriber(100, 10);
        assert!(sub.push_reply(b"+PONG\r\n".to_vec()));
        assert!(sub.has_pending());
        sub.written(1, 7);
        assert!(!sub.has_pending());
        assert!(sub.push_reply(b"+PONG\r\n".to_vec()));
        assert!(!sub.push_reply(b"+PONG\r\n".to_vec()));
        assert!(sub.is_dead());
    }

    #[test]
    fn resp3_messages_are_pushes() {
        let mut buf = Vec::new();
        append_message(&mut buf, b"*3\r\n$1\r\na\r\n", Protocol::Resp3);
        assert_eq!(buf, b">3\r\n$1\r\na\r\n");
        buf.clear();
        append_message(&mut buf, b"*3\r\n$1\r\na\r\n", Protocol::Resp2);
        assert_eq!(buf, b"*3\r\n$1\r\na\r\n");
    }
}
