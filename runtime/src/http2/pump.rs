//! The task side of an HTTP/2 connection: bytes read from the peer go
//! into core's connection, events out to the streams, and what the
//! connection wrote goes to the peer, until either side is done.

use super::link::{Link, State};
use bytes::{Buf, BytesMut};
use haven_core::http2::{Event, Field};
use std::future::Future;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

/// What woke the connection's task.
pub(super) enum Woke<X> {
    /// Bytes came, a stream wrote, or input waits behind sent output.
    Io,
    /// The peer closed, or its connection broke.
    Closed,
    /// What the caller also waited for.
    Other(X),
}

/// A connection's bytes, both ways.
pub(super) struct Pump<T> {
    pub(super) link: Arc<Link>,
    reader: ReadHalf<T>,
    writer: WriteHalf<T>,
    input: BytesMut,
    output: Vec<u8>,
    /// The last [`Pump::feed`] read some input.
    used: bool,
    /// The last [`Pump::flush`] sent something.
    flushed: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Pump<T> {
    /// The pump of `link`'s connection over `io`.
    pub(super) fn new(io: T, link: Arc<Link>) -> Self {
        let (reader, writer) = tokio::io::split(io);
        Self {
            link,
            reader,
            writer,
            input: BytesMut::with_capacity(16 * 1024),
            output: Vec::new(),
            used: false,
            flushed: false,
        }
    }

    /// Reads the input into the connection: each head goes to `head`
    /// (the state locked), the other events to their streams.
    pub(super) fn feed(&mut self, mut head: impl FnMut(&mut State, u32, Vec<Field>, bool)) {
        let mut state = self.link.lock();
        let used = state.conn.receive(&self.input);
        self.input.advance(used);
        self.used = used > 0;
        while let Some(event) = state.conn.next_event() {
            match event {
                Event::Head {
                    stream,
                    fields,
                    end,
                } => head(&mut state, stream, fields, end),
                other => state.deliver(other),
            }
        }
        state.wake_waiting();
        std::mem::swap(&mut self.output, state.conn.output());
    }

    /// Sends what the connection wrote; false when the peer is gone.
    pub(super) async fn flush(&mut self) -> bool {
        self.flushed = !self.output.is_empty();
        if !self.flushed {
            return true;
        }
        if self.writer.write_all(&self.output).await.is_err() {
            return false;
        }
        self.output.clear();
        self.link.lock().wake_writers();
        true
    }

    /// Whether the connection is done: it failed, or it is `closing`
    /// and no stream is open.
    pub(super) fn over(&self, closing: bool) -> bool {
        let state = self.link.lock();
        state.conn.failed() || closing && state.conn.idle()
    }

    /// Waits for bytes from the peer, output from a stream, or `other`.
    pub(super) async fn wait<X>(&mut self, other: impl Future<Output = X>) -> Woke<X> {
        // Whole frames may wait behind output that had to go first.
        if !self.input.is_empty() && (self.used || self.flushed) {
            return Woke::Io;
        }
        tokio::select! {
            read = self.reader.read_buf(&mut self.input) => match read {
                Ok(0) | Err(_) => Woke::Closed,
                Ok(_) => Woke::Io,
            },
            () = self.link.written() => Woke::Io,
            x = other => Woke::Other(x),
        }
    }
}

impl<T> Drop for Pump<T> {
    /// The connection is over: the streams still in use learn it.
    fn drop(&mut self) {
        self.link.lock().close();
    }
}
