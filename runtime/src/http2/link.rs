//! What a client's HTTP/2 connection shares between the task that moves
//! its bytes and the tasks that serve its streams: core's
//! [`Connection`], each stream's received body waiting to be read, and
//! the wakers of whoever waits. A stream's side ([`StreamLink`]) reads
//! and writes through it; the connection's task sends what they wrote
//! once woken ([`Link::wake_sender`]).

use haven_core::http2::{Connection, ErrorCode, Event};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// Wakes the task `waker` holds, if any.
fn wake(waker: &mut Option<Waker>) {
    if let Some(waker) = waker.take() {
        waker.wake();
    }
}

/// One stream's side of the connection, as its task sees it.
#[derive(Debug, Default)]
struct Slot {
    /// Body bytes received, not yet read.
    inbound: VecDeque<Vec<u8>>,
    /// The client's body ended.
    ended: bool,
    /// The stream was reset (by the client, for its error, or as the
    /// connection ended).
    reset: Option<ErrorCode>,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Slot {
    fn wake(&mut self) {
        wake(&mut self.reader);
        wake(&mut self.writer);
    }
}

/// The connection's state, behind the link's lock.
#[derive(Debug)]
pub(super) struct State {
    pub(super) conn: Connection,
    slots: HashMap<u32, Slot>,
}

/// A client's HTTP/2 connection, shared.
#[derive(Debug)]
pub(super) struct Link {
    state: Mutex<State>,
    /// Wakes the connection's task: there is something to send.
    sender: Notify,
}

impl Link {
    /// The link of `conn`.
    pub(super) fn new(conn: Connection) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                conn,
                slots: HashMap::new(),
            }),
            sender: Notify::new(),
        })
    }

    /// The state, locked.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the connection's task that there is output to send.
    pub(super) fn wake_sender(&self) {
        self.sender.notify_one();
    }

    /// Waits until a stream wrote something.
    pub(super) async fn written(&self) {
        self.sender.notified().await;
    }
}

impl State {
    /// A slot for the new `stream`.
    pub(super) fn open(&mut self, stream: u32) {
        self.slots.insert(stream, Slot::default());
    }

    /// Hands an event of the connection to the stream it concerns
    /// (body bytes, a reset, room to send). Bytes for a stream whose
    /// task is gone are credited back at once.
    pub(super) fn deliver(&mut self, event: Event) {
        match event {
            Event::Data { stream, data, end } => match self.slots.get_mut(&stream) {
                Some(slot) => {
                    if !data.is_empty() {
                        slot.inbound.push_back(data);
                    }
                    slot.ended |= end;
                    wake(&mut slot.reader);
                }
                None => self.conn.consumed(stream, data.len()),
            },
            Event::Reset { stream, code } => {
                if let Some(slot) = self.slots.get_mut(&stream) {
                    slot.reset = Some(code);
                    slot.wake();
                }
            }
            Event::Room => self.wake_writers(),
            Event::Head { .. } => {}
        }
    }

    /// Wakes every stream waiting for room to send.
    pub(super) fn wake_writers(&mut self) {
        for slot in self.slots.values_mut() {
            wake(&mut slot.writer);
        }
    }

    /// The connection is over: every stream still served is reset.
    pub(super) fn close(&mut self) {
        for slot in self.slots.values_mut() {
            slot.reset.get_or_insert(ErrorCode::CANCEL);
            slot.wake();
        }
    }
}

/// One stream of a [`Link`], read and written by the task serving it.
#[derive(Debug)]
pub(crate) struct StreamLink {
    link: Arc<Link>,
    id: u32,
}

/// What reading a stream's body gives.
pub(crate) enum Received {
    /// Body bytes.
    Data(Vec<u8>),
    /// The body ended.
    End,
    /// The stream was reset.
    Reset,
}

impl StreamLink {
    /// The side of `stream` (already opened in `link`).
    pub(super) fn new(link: Arc<Link>, id: u32) -> Self {
        Self { link, id }
    }

    /// Runs `f` on the connection and this stream's slot (`None`: the
    /// stream's slot is gone), then wakes the sender.
    fn with<T>(&self, f: impl FnOnce(&mut Connection, Option<&mut Slot>) -> T) -> T {
        let out = {
            let mut state = self.link.lock();
            let State { conn, slots } = &mut *state;
            f(conn, slots.get_mut(&self.id))
        };
        self.link.wake_sender();
        out
    }

    /// The next body bytes; their room goes back to the client as they
    /// are taken.
    pub(crate) fn poll_data(&self, cx: &mut Context<'_>) -> Poll<Received> {
        let mut state = self.link.lock();
        let State { conn, slots } = &mut *state;
        let Some(slot) = slots.get_mut(&self.id) else {
            return Poll::Ready(Received::Reset);
        };
        if let Some(data) = slot.inbound.pop_front() {
            conn.consumed(self.id, data.len());
            drop(state);
            self.link.wake_sender();
            return Poll::Ready(Received::Data(data));
        }
        if slot.reset.is_some() {
            return Poll::Ready(Received::Reset);
        }
        if slot.ended {
            return Poll::Ready(Received::End);
        }
        slot.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Resolves once the stream is reset.
    pub(crate) fn poll_reset(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.link.lock();
        match state.slots.get_mut(&self.id) {
            Some(slot) if slot.reset.is_none() => {
                slot.reader = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }

    /// Sends a head: `fields`, `:status` first; `end`: nothing follows.
    pub(crate) fn send_head(&self, fields: &[(&[u8], &[u8])], end: bool) -> io::Result<()> {
        self.with(|conn, _| {
            if !conn.can_send(self.id) {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            conn.send_head(self.id, fields, end);
            Ok(())
        })
    }

    /// Waits until some of `wanted` bytes may be sent: how many.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>, wanted: usize) -> Poll<io::Result<usize>> {
        let mut state = self.link.lock();
        let State { conn, slots } = &mut *state;
        let reset = slots.get(&self.id).is_none_or(|s| s.reset.is_some());
        if reset || !conn.can_send(self.id) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = conn.room(self.id);
        if room > 0 || wanted == 0 {
            return Poll::Ready(Ok(room.min(wanted)));
        }
        if let Some(slot) = slots.get_mut(&self.id) {
            slot.writer = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Sends `data` (no more than the last [`StreamLink::poll_room`]
    /// allowed), ending the stream when `end`.
    pub(crate) fn send_data(&self, data: &[u8], end: bool) -> io::Result<()> {
        self.with(|conn, _| {
            if conn.send_data(self.id, data, end) < data.len() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            Ok(())
        })
    }

    /// Resets the stream with `code`.
    pub(crate) fn reset(&self, code: ErrorCode) {
        self.with(|conn, _| conn.reset(self.id, code));
    }
}

impl Drop for StreamLink {
    /// The stream's task is done: a client still sending its body is
    /// told to stop (RFC 9113 §8.1), what it sent unread is credited
    /// back, and the slot goes.
    fn drop(&mut self) {
        let mut state = self.link.lock();
        let State { conn, slots } = &mut *state;
        conn.reset(self.id, ErrorCode::NO_ERROR);
        if let Some(slot) = slots.remove(&self.id) {
            conn.consumed(self.id, slot.inbound.iter().map(Vec::len).sum());
        }
        drop(state);
        self.link.wake_sender();
    }
}
