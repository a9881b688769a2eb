//! What an HTTP/2 connection shares between the task that moves its
//! bytes and the tasks that use its streams: core's [`Connection`], what
//! each stream received and has yet to read, and the wakers of whoever
//! waits. A stream's side ([`StreamLink`]) reads and writes through it;
//! the connection's task sends what they wrote once woken
//! ([`Link::wake_sender`]).

use haven_core::http2::{Connection, ErrorCode, Event, Field};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
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
    /// Heads received (as a client: an answer's), not yet read, each
    /// with whether it ended the stream.
    heads: VecDeque<(Vec<Field>, bool)>,
    /// Body bytes received, not yet read.
    inbound: VecDeque<Vec<u8>>,
    /// The trailer fields that ended the body, if any.
    trailers: Vec<Field>,
    /// The peer's side of the stream ended.
    ended: bool,
    /// The stream was reset (by the peer, for its error, or as the
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
    /// The open streams' slots. The peer picks the ids, but the streams
    /// it may open at once are few (`tune.h2.max-concurrent-streams`),
    /// so a cheap hash cannot be made slow.
    slots: FxHashMap<u32, Slot>,
    /// Tasks waiting for the connection to change (its SETTINGS, a
    /// stream closing): they look again.
    waiting: Vec<Waker>,
    /// The connection's task is over.
    closed: bool,
}

/// An HTTP/2 connection, shared.
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
                slots: FxHashMap::default(),
                waiting: Vec::new(),
                closed: false,
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

    /// Hands an event of the connection to the stream it concerns (a
    /// head, body bytes, a reset, room to send). Bytes for a stream whose
    /// task is gone are credited back at once.
    pub(super) fn deliver(&mut self, event: Event) {
        match event {
            Event::Head {
                stream,
                fields,
                end,
            } => {
                if let Some(slot) = self.slots.get_mut(&stream) {
                    slot.heads.push_back((fields, end));
                    slot.ended |= end;
                    wake(&mut slot.reader);
                }
            }
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
            Event::Trailers { stream, fields } => {
                if let Some(slot) = self.slots.get_mut(&stream) {
                    slot.trailers = fields;
                    slot.ended = true;
                    wake(&mut slot.reader);
                }
            }
            Event::Reset { stream, code } => {
                if let Some(slot) = self.slots.get_mut(&stream) {
                    slot.reset = Some(code);
                    slot.wake();
                }
            }
            Event::Room => self.wake_writers(),
        }
    }

    /// Wakes every stream waiting for room to send.
    pub(super) fn wake_writers(&mut self) {
        for slot in self.slots.values_mut() {
            wake(&mut slot.writer);
        }
    }

    /// Wakes whoever waits for the connection to change.
    pub(super) fn wake_waiting(&mut self) {
        self.waiting.drain(..).for_each(Waker::wake);
    }

    /// The connection is over: every stream still in use is reset.
    pub(super) fn close(&mut self) {
        self.closed = true;
        for slot in self.slots.values_mut() {
            slot.reset.get_or_insert(ErrorCode::CANCEL);
            slot.wake();
        }
        self.wake_waiting();
    }

    /// Whether new streams may still open.
    pub(super) fn usable(&self) -> bool {
        !(self.closed || self.conn.failed() || self.conn.going_away())
    }
}

/// A client connection to a server: the handle that opens its streams,
/// shared by the requests to that server.
#[derive(Debug, Clone)]
pub(crate) struct H2Client(Arc<Link>);

impl H2Client {
    pub(super) fn new(link: Arc<Link>) -> Self {
        Self(link)
    }

    /// Whether new streams may still open on it.
    pub(crate) fn usable(&self) -> bool {
        self.0.lock().usable()
    }

    /// Resolves once the server's SETTINGS came (or the connection
    /// ended): whether it takes extended CONNECT.
    pub(super) fn poll_settled(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.0.lock();
        if state.conn.settled() || state.closed {
            return Poll::Ready(state.conn.connect_protocol());
        }
        state.waiting.push(cx.waker().clone());
        Poll::Pending
    }

    /// Gives up the next stream with a reset alone (see
    /// [`Connection::refuse_next`]).
    pub(super) fn refuse_next(&self) {
        self.0.lock().conn.refuse_next(ErrorCode::CANCEL);
        self.0.wake_sender();
    }

    /// Opens a stream with a request head (`fields`; `end`: no body;
    /// `head_request`: a HEAD), once the server lets one more open.
    pub(super) fn poll_open(
        &self,
        cx: &mut Context<'_>,
        fields: &[(&[u8], &[u8])],
        (end, head_request): (bool, bool),
    ) -> Poll<io::Result<StreamLink>> {
        let mut state = self.0.lock();
        if !state.usable() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let Some(id) = state.conn.open(fields, end, head_request) else {
            state.waiting.push(cx.waker().clone());
            return Poll::Pending;
        };
        state.open(id);
        drop(state);
        self.0.wake_sender();
        Poll::Ready(Ok(StreamLink::new(Arc::clone(&self.0), id)))
    }
}

impl Drop for H2Client {
    /// The connection's task looks whether anyone still uses it.
    fn drop(&mut self) {
        self.0.wake_sender();
    }
}

/// One stream of a [`Link`], read and written by the task using it.
#[derive(Debug)]
pub(crate) struct StreamLink {
    link: Arc<Link>,
    id: u32,
}

/// What reading a stream gives.
pub(crate) enum Received {
    /// Body bytes.
    Data(Vec<u8>),
    /// The body ended, with these trailer fields (often none).
    End(Vec<Field>),
    /// The stream was reset.
    Reset,
}

impl StreamLink {
    /// The side of `stream` (already opened in `link`).
    pub(super) fn new(link: Arc<Link>, id: u32) -> Self {
        Self { link, id }
    }

    /// Runs `f` on the connection, then wakes the sender.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let out = f(&mut self.link.lock().conn);
        self.link.wake_sender();
        out
    }

    /// The next head received on the stream, with whether it ended the
    /// stream; `None` once the stream was reset.
    pub(crate) fn poll_head(&self, cx: &mut Context<'_>) -> Poll<Option<(Vec<Field>, bool)>> {
        let mut state = self.link.lock();
        let Some(slot) = state.slots.get_mut(&self.id) else {
            return Poll::Ready(None);
        };
        if let Some(head) = slot.heads.pop_front() {
            return Poll::Ready(Some(head));
        }
        if slot.reset.is_some() {
            return Poll::Ready(None);
        }
        slot.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The next body bytes; their room goes back to the peer as they
    /// are taken.
    pub(crate) fn poll_data(&self, cx: &mut Context<'_>) -> Poll<Received> {
        let mut state = self.link.lock();
        let State { conn, slots, .. } = &mut *state;
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
            return Poll::Ready(Received::End(std::mem::take(&mut slot.trailers)));
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

    /// Sends a head: `fields`, pseudo-fields first; `end`: nothing
    /// follows.
    pub(crate) fn send_head<'f>(
        &self,
        fields: impl IntoIterator<Item = (&'f [u8], &'f [u8])>,
        end: bool,
    ) -> io::Result<()> {
        self.with(|conn| {
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
        let State { conn, slots, .. } = &mut *state;
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
        self.with(|conn| {
            if conn.send_data(self.id, data, end) < data.len() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            Ok(())
        })
    }

    /// Resets the stream with `code`.
    pub(crate) fn reset(&self, code: ErrorCode) {
        self.with(|conn| conn.reset(self.id, code));
    }
}

impl Drop for StreamLink {
    /// The stream's task is done: a stream still open is reset (see
    /// [`Connection::done`]), what the peer sent unread is credited
    /// back, and the slot goes, which may let another stream open.
    fn drop(&mut self) {
        let mut state = self.link.lock();
        let State { conn, slots, .. } = &mut *state;
        conn.done(self.id);
        if let Some(slot) = slots.remove(&self.id) {
            conn.consumed(self.id, slot.inbound.iter().map(Vec::len).sum());
        }
        state.wake_waiting();
        drop(state);
        self.link.wake_sender();
    }
}
