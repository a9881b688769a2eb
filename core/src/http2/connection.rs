//! One HTTP/2 connection, sans-IO, on either side: bytes from the peer
//! go in ([`Connection::receive`]), events come out
//! ([`Connection::next_event`]), and what haven says (requests as a
//! client, answers as a server, data, resets, a GOAWAY) becomes frames
//! in [`Connection::output`].
//!
//! It keeps what RFC 9113 asks and what haproxy checks on top: the
//! preface and first SETTINGS, frame sizes, stream states and
//! identifiers, HPACK, both flow-control windows each way, and a
//! message's `content-length` against its DATA. A body's window is given
//! back as haven reads it ([`Connection::consumed`]), frame by frame as
//! haproxy does, so the peer learns at once that its bytes moved on and
//! a slow reader slows the peer down.

use super::frame::{
    flag, kind, put_goaway, put_header, put_reset, put_window_update, setting, u32_at, ErrorCode,
    FrameHeader, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, HEADER_LEN, MAX_WINDOW, PREFACE,
};
use super::hpack;
use super::request::well_formed;
use crate::config::haproxy::H2Tune;
use loona_hpack::Decoder;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The HPACK table size haven's decoder allows by default and its
/// encoder announces.
const TABLE_SIZE: usize = 4_096;

/// Streams refused for want of room (see [`Connection::done`]) before
/// the connection ends with `ENHANCE_YOUR_CALM`.
const REFUSALS_TOLERATED: u32 = 10;

/// The highest stream identifier.
const MAX_STREAM: u32 = (1 << 31) - 1;

/// Output held before more input is read: past it, [`Connection::receive`]
/// stops until the output was sent, so a client that floods frames
/// needing an answer (PING, SETTINGS) and reads nothing stalls on its
/// own unread bytes rather than growing haven's memory.
const OUTPUT_HIGH: usize = 65_536;

/// Which end of the connection haven is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It serves a client's streams.
    Server,
    /// It opens streams to a server.
    Client,
}

/// What haven sets for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Streams the peer may have open at once (haproxy's
    /// `tune.h2.max-concurrent-streams`; 0: no limit).
    pub max_concurrent_streams: u32,
    /// The largest header list a message may carry once decoded.
    pub max_header_list: u32,
    /// Whether the extended CONNECT (RFC 8441) is offered.
    pub connect_protocol: bool,
    /// The HPACK table the peer's encoder may use
    /// (`tune.h2.header-table-size`).
    pub header_table_size: u32,
    /// Each stream's receive window (`tune.h2.initial-window-size`).
    pub initial_window: u32,
    /// The largest frame the peer may send (`tune.h2.max-frame-size`).
    pub max_frame_size: u32,
}

impl Default for Limits {
    /// haproxy's defaults, with its default 16 kB buffers.
    fn default() -> Self {
        Self::haproxy(&H2Tune::default(), 16_384)
    }
}

impl Limits {
    /// What haproxy 2.6 sets: its defaults, changed by `tune`, the frame
    /// size bounded by `bufsize`.
    pub fn haproxy(tune: &H2Tune, bufsize: u32) -> Self {
        let frame = tune.max_frame_size.unwrap_or(bufsize).min(bufsize);
        Self {
            max_concurrent_streams: tune.max_concurrent_streams.unwrap_or(100),
            max_header_list: bufsize,
            connect_protocol: true,
            header_table_size: tune.header_table_size.unwrap_or(TABLE_SIZE as u32),
            initial_window: tune.initial_window_size.unwrap_or(DEFAULT_WINDOW),
            max_frame_size: frame.clamp(DEFAULT_MAX_FRAME, 0xff_ffff),
        }
    }

    /// The SETTINGS that announce these limits, in haproxy's order,
    /// each only when it is not the protocol's default (`client`: with
    /// server push refused first).
    fn settings(&self, client: bool) -> Vec<(u16, u32)> {
        let mut settings = Vec::new();
        if client {
            settings.push((setting::ENABLE_PUSH, 0));
        }
        if self.connect_protocol {
            settings.push((setting::ENABLE_CONNECT_PROTOCOL, 1));
        }
        let defaults = [
            (
                setting::HEADER_TABLE_SIZE,
                self.header_table_size,
                TABLE_SIZE as u32,
            ),
            (
                setting::INITIAL_WINDOW_SIZE,
                self.initial_window,
                DEFAULT_WINDOW,
            ),
            (
                setting::MAX_CONCURRENT_STREAMS,
                self.max_concurrent_streams,
                0,
            ),
            (
                setting::MAX_FRAME_SIZE,
                self.max_frame_size,
                DEFAULT_MAX_FRAME,
            ),
        ];
        for (id, value, default) in defaults {
            if value != default {
                settings.push((id, value));
            }
        }
        settings
    }
}

/// What a connection saw and did, as haproxy's HTTP/2 statistics module
/// counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// HEADERS frames received (`h2_headers_rcvd`).
    pub headers_rcvd: u64,
    /// DATA frames received (`h2_data_rcvd`).
    pub data_rcvd: u64,
    /// SETTINGS frames received (`h2_settings_rcvd`).
    pub settings_rcvd: u64,
    /// RST_STREAM frames received (`h2_rst_stream_rcvd`).
    pub rst_stream_rcvd: u64,
    /// GOAWAY frames received (`h2_goaway_rcvd`).
    pub goaway_rcvd: u64,
    /// Connection errors detected (`h2_detected_conn_protocol_errors`).
    pub conn_protocol_errors: u64,
    /// Stream errors detected (`h2_detected_strm_protocol_errors`).
    pub strm_protocol_errors: u64,
    /// RST_STREAM sent for a detected error (`h2_rst_stream_resp`).
    pub rst_stream_resp: u64,
    /// GOAWAY sent for a detected error (`h2_goaway_resp`).
    pub goaway_resp: u64,
}

impl Counters {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Self) {
        self.headers_rcvd += other.headers_rcvd;
        self.data_rcvd += other.data_rcvd;
        self.settings_rcvd += other.settings_rcvd;
        self.rst_stream_rcvd += other.rst_stream_rcvd;
        self.goaway_rcvd += other.goaway_rcvd;
        self.conn_protocol_errors += other.conn_protocol_errors;
        self.strm_protocol_errors += other.strm_protocol_errors;
        self.rst_stream_resp += other.rst_stream_resp;
        self.goaway_resp += other.goaway_resp;
    }
}

/// A header field as decoded: name and value bytes.
pub type Field = (Vec<u8>, Vec<u8>);

/// What the peer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A head: as a server, a request that opened a stream; as a client,
    /// an answer's head (interim ones first) on a stream it opened
    /// (`end`: no body follows).
    Head {
        /// The stream.
        stream: u32,
        /// Its header fields, pseudo-headers first as sent.
        fields: Vec<Field>,
        /// The HEADERS frame ended the stream.
        end: bool,
    },
    /// Body bytes of a stream (`end`: its last).
    Data {
        /// The stream.
        stream: u32,
        /// The bytes, padding removed.
        data: Vec<u8>,
        /// The client's side of the stream ended.
        end: bool,
    },
    /// Trailer fields, which end the stream's body.
    Trailers {
        /// The stream.
        stream: u32,
        /// The fields, none of them a pseudo-header.
        fields: Vec<Field>,
    },
    /// The stream was reset: by the peer, for its error, or (as a
    /// client) beyond the last stream a GOAWAY lets finish, where it
    /// may be retried (`REFUSED_STREAM`).
    Reset {
        /// The stream.
        stream: u32,
        /// Why.
        code: ErrorCode,
    },
    /// Windows grew: streams waiting to send may go on.
    Room,
}

/// One stream's state.
#[derive(Debug, Clone, Copy)]
struct Stream {
    /// What haven may still send on it.
    send_window: i64,
    /// What the client may still send on it.
    recv_window: i64,
    /// The client may still send.
    remote_open: bool,
    /// haven may still send.
    local_open: bool,
    /// Body bytes its `content-length` still announces.
    length: Option<u64>,
    /// Its final head came (a server's streams open with theirs).
    answered: bool,
    /// It carries a HEAD request: the answer's length announces no body.
    head_request: bool,
}

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the client's preface.
    Preface,
    /// Waiting for the peer's first frame, its SETTINGS.
    FirstSettings,
    /// Frames flow.
    Frames,
    /// A connection error ended it: a GOAWAY was written.
    Failed,
}

/// A header block being read across HEADERS and CONTINUATION frames.
#[derive(Debug)]
struct Block {
    stream: u32,
    end_stream: bool,
    /// The HEADERS frame made the stream depend on itself.
    self_dependent: bool,
    bytes: Vec<u8>,
}

/// One HTTP/2 connection.
pub struct Connection {
    role: Role,
    limits: Limits,
    phase: Phase,
    decoder: Decoder<'static>,
    /// Table sizes to announce in the next header block sent: the
    /// smallest since the last one, and the last.
    table_update: Option<(usize, usize)>,
    encoder_table: usize,
    peer_initial_window: i64,
    peer_max_frame: usize,
    send_window: i64,
    recv_window: i64,
    streams: BTreeMap<u32, Stream>,
    /// The highest stream opened (by the client, whichever it is).
    last_stream: u32,
    /// As a server, the requests being served: from their head until
    /// the serving side is [`Connection::done`] with them, reset or not.
    in_flight: BTreeSet<u32>,
    /// Streams refused for want of room so far.
    refused: u32,
    /// Streams the peer lets haven open at once (as a client).
    peer_max_streams: u32,
    /// The peer takes extended CONNECT (RFC 8441).
    peer_connect_protocol: bool,
    block: Option<Block>,
    going_away: bool,
    counters: Counters,
    events: VecDeque<Event>,
    out: Vec<u8>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("phase", &self.phase)
            .field("streams", &self.streams)
            .field("last_stream", &self.last_stream)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server's connection whose client has yet to send its preface;
    /// haven's SETTINGS are already in the output.
    pub fn server(limits: Limits) -> Self {
        let mut out = Vec::with_capacity(64);
        super::frame::put_settings(&mut out, &limits.settings(false));
        Self::with(Role::Server, limits, out)
    }

    /// A client's connection: its preface and SETTINGS (no server push)
    /// are already in the output.
    pub fn client(limits: Limits) -> Self {
        let mut out = PREFACE.to_vec();
        super::frame::put_settings(&mut out, &limits.settings(true));
        Self::with(Role::Client, limits, out)
    }

    fn with(role: Role, limits: Limits, out: Vec<u8>) -> Self {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(limits.header_table_size as usize);
        Self {
            role,
            limits,
            phase: match role {
                Role::Server => Phase::Preface,
                Role::Client => Phase::FirstSettings,
            },
            decoder,
            table_update: None,
            encoder_table: TABLE_SIZE,
            peer_initial_window: i64::from(DEFAULT_WINDOW),
            peer_max_frame: DEFAULT_MAX_FRAME as usize,
            send_window: i64::from(DEFAULT_WINDOW),
            recv_window: i64::from(DEFAULT_WINDOW),
            streams: BTreeMap::new(),
            last_stream: 0,
            in_flight: BTreeSet::new(),
            refused: 0,
            peer_max_streams: u32::MAX,
            peer_connect_protocol: false,
            block: None,
            going_away: false,
            counters: Counters::default(),
            events: VecDeque::new(),
            out,
        }
    }

    /// Reads what it can of `input`: whole frames (and the preface).
    /// Returns how many bytes were used; the rest must be given again
    /// with what follows. After a connection error everything is used.
    pub fn receive(&mut self, input: &[u8]) -> usize {
        let mut used = 0;
        while self.phase != Phase::Failed && self.out.len() < OUTPUT_HIGH {
            let rest = &input[used..];
            if self.phase == Phase::Preface {
                if rest.len() < PREFACE.len() {
                    if !PREFACE.starts_with(rest) {
                        self.fail(ErrorCode::PROTOCOL_ERROR);
                    }
                    break;
                }
                if !rest.starts_with(PREFACE) {
                    self.fail(ErrorCode::PROTOCOL_ERROR);
                    break;
                }
                used += PREFACE.len();
                self.phase = Phase::FirstSettings;
                continue;
            }
            let Some(header) = FrameHeader::parse(rest) else {
                break;
            };
            if header.len > self.limits.max_frame_size {
                self.fail(ErrorCode::FRAME_SIZE_ERROR);
                break;
            }
            let end = HEADER_LEN + header.len as usize;
            let Some(payload) = rest.get(HEADER_LEN..end) else {
                break;
            };
            used += end;
            if let Err(code) = self.frame(header, payload) {
                self.fail(code);
            }
        }
        if self.phase == Phase::Failed {
            input.len()
        } else {
            used
        }
    }

    /// The next event, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The frames to send, which the caller drains as it sends them.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// A connection error ended the connection: once its GOAWAY is sent,
    /// it closes.
    pub fn failed(&self) -> bool {
        self.phase == Phase::Failed
    }

    /// haven sent a GOAWAY, or (as a client) received one: no new
    /// stream opens.
    pub fn going_away(&self) -> bool {
        self.going_away
    }

    /// What the connection counted so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// No stream is open.
    pub fn idle(&self) -> bool {
        self.streams.is_empty()
    }

    /// The peer's first SETTINGS came (or the connection failed): what
    /// it allows is known.
    pub fn settled(&self) -> bool {
        !matches!(self.phase, Phase::Preface | Phase::FirstSettings)
    }

    /// The peer takes extended CONNECT (RFC 8441), as its SETTINGS say.
    pub fn connect_protocol(&self) -> bool {
        self.peer_connect_protocol
    }

    /// As a client, opens a stream with a request head (`fields`,
    /// pseudo-fields first; `end`: no body follows; `head_request`: a
    /// HEAD, whose answer's length announces no body). `None` when no
    /// stream may open now (the peer's limit, a GOAWAY, a failure).
    pub fn open(
        &mut self,
        fields: &[(&[u8], &[u8])],
        end: bool,
        head_request: bool,
    ) -> Option<u32> {
        let full = self.streams.len() >= self.peer_max_streams as usize;
        if self.role != Role::Client || self.going_away || self.failed() || full {
            return None;
        }
        let id = self.next_client_stream()?;
        let mut stream = self.new_stream(true, false);
        stream.head_request = head_request;
        self.streams.insert(id, stream);
        self.send_head(id, fields.iter().copied(), end);
        Some(id)
    }

    /// As a client, gives up the next stream at once: a RST_STREAM is all
    /// that goes on it. haproxy does so with a request it cannot send as
    /// HTTP/2 (an upgrade to a server without extended CONNECT).
    pub fn refuse_next(&mut self, code: ErrorCode) {
        if self.role == Role::Client && !self.failed() {
            if let Some(id) = self.next_client_stream() {
                put_reset(&mut self.out, id, code);
            }
        }
    }

    /// The next stream a client opens, counted as opened.
    fn next_client_stream(&mut self) -> Option<u32> {
        let id = if self.last_stream == 0 {
            1
        } else {
            self.last_stream + 2
        };
        if id > MAX_STREAM {
            return None;
        }
        self.last_stream = id;
        Some(id)
    }

    /// Whether haven may still send on `stream`.
    pub fn can_send(&self, stream: u32) -> bool {
        self.streams.get(&stream).is_some_and(|s| s.local_open)
    }

    /// How many body bytes `stream` may send now: what both windows
    /// allow, and what the output has room for.
    pub fn room(&self, stream: u32) -> usize {
        let Some(s) = self.streams.get(&stream).filter(|s| s.local_open) else {
            return 0;
        };
        let window = s.send_window.min(self.send_window).max(0) as usize;
        window.min(OUTPUT_HIGH.saturating_sub(self.out.len()))
    }

    /// Sends a head on `stream`: `fields` (`:status` first), ending the
    /// stream when `end`.
    pub fn send_head<'f>(
        &mut self,
        stream: u32,
        fields: impl IntoIterator<Item = (&'f [u8], &'f [u8])>,
        end: bool,
    ) {
        if !self.can_send(stream) {
            return;
        }
        // The block is written in place after a HEADERS frame header,
        // whose length is filled in once known; a block longer than a
        // frame (rare) is cut into CONTINUATION frames after.
        let at = self.out.len();
        let flags = flag::END_HEADERS | if end { flag::END_STREAM } else { 0 };
        put_header(&mut self.out, 0, kind::HEADERS, flags, stream);
        if let Some((smallest, last)) = self.table_update.take() {
            hpack::encode_size_update(&mut self.out, smallest);
            if last != smallest {
                hpack::encode_size_update(&mut self.out, last);
            }
        }
        for (name, value) in fields {
            hpack::encode_field(&mut self.out, name, value);
        }
        let len = self.out.len() - at - HEADER_LEN;
        if len <= self.peer_max_frame {
            self.out[at..at + 3].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
        } else {
            let block = self.out.split_off(at + HEADER_LEN);
            self.out.truncate(at);
            self.put_block(stream, &block, end);
        }
        if end {
            self.local_end(stream);
        }
    }

    /// Writes a header block too long for one frame: HEADERS, then
    /// CONTINUATION frames.
    fn put_block(&mut self, stream: u32, block: &[u8], end: bool) {
        let mut chunks = block.chunks(self.peer_max_frame).peekable();
        let mut first = true;
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let (frame_kind, mut flags) = match first {
                true => (kind::HEADERS, if end { flag::END_STREAM } else { 0 }),
                false => (kind::CONTINUATION, 0),
            };
            if last {
                flags |= flag::END_HEADERS;
            }
            put_header(&mut self.out, chunk.len(), frame_kind, flags, stream);
            self.out.extend_from_slice(chunk);
            first = false;
        }
    }

    /// Sends what [`Connection::room`] allows of `data` on `stream`,
    /// ending the stream when `end` and all of it went. Returns how many
    /// bytes went.
    pub fn send_data(&mut self, stream: u32, data: &[u8], end: bool) -> usize {
        let n = data.len().min(self.room(stream));
        let all = n == data.len();
        if n == 0 && !(all && end && self.can_send(stream)) {
            return 0;
        }
        let mut chunks = data[..n].chunks(self.peer_max_frame).peekable();
        if n == 0 {
            put_header(&mut self.out, 0, kind::DATA, flag::END_STREAM, stream);
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let flags = if last && all && end {
                flag::END_STREAM
            } else {
                0
            };
            put_header(&mut self.out, chunk.len(), kind::DATA, flags, stream);
            self.out.extend_from_slice(chunk);
        }
        self.send_window -= n as i64;
        if let Some(s) = self.streams.get_mut(&stream) {
            s.send_window -= n as i64;
        }
        if all && end {
            self.local_end(stream);
        }
        n
    }

    /// The serving side read `n` body bytes of `stream`: their room is
    /// given back to the client, on the connection and (while haven
    /// answers it, its body ended or not, as haproxy 2.6 does) the stream.
    pub fn consumed(&mut self, stream: u32, n: usize) {
        if n == 0 || self.phase == Phase::Failed {
            return;
        }
        self.credit_connection(n);
        if let Some(s) = self.streams.get_mut(&stream) {
            s.recv_window += n as i64;
            put_window_update(&mut self.out, stream, n as u32);
        }
    }

    /// Resets `stream` with `code` (nothing when it is already closed).
    pub fn reset(&mut self, stream: u32, code: ErrorCode) {
        if self.streams.remove(&stream).is_some() {
            put_reset(&mut self.out, stream, code);
        }
    }

    /// haven is done with `stream`: as a server, its request no longer
    /// counts among those in flight; if it is still open, it is reset,
    /// with `NO_ERROR` when haven's server side answered it whole (the
    /// client need not send the rest, RFC 9113 §8.1), else `CANCEL`.
    pub fn done(&mut self, stream: u32) {
        self.in_flight.remove(&stream);
        let code = match self.streams.get(&stream) {
            None => return,
            Some(s) if self.role == Role::Server && !s.local_open => ErrorCode::NO_ERROR,
            Some(_) => ErrorCode::CANCEL,
        };
        self.reset(stream, code);
    }

    /// Sends a GOAWAY: the streams open go on, no new one is served.
    pub fn go_away(&mut self, code: ErrorCode) {
        if !self.going_away && self.phase != Phase::Failed {
            self.going_away = true;
            put_goaway(&mut self.out, self.last_stream, code);
        }
    }

    /// Ends the connection for a connection error.
    fn fail(&mut self, code: ErrorCode) {
        self.counters.conn_protocol_errors += 1;
        self.counters.goaway_resp += 1;
        put_goaway(&mut self.out, self.last_stream, code);
        self.phase = Phase::Failed;
        for stream in std::mem::take(&mut self.streams).into_keys() {
            self.events.push_back(Event::Reset { stream, code });
        }
    }

    /// Handles one frame; `Err`: a connection error.
    fn frame(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if self.phase == Phase::FirstSettings {
            if h.kind != kind::SETTINGS || h.has(flag::ACK) {
                return Err(ErrorCode::PROTOCOL_ERROR);
            }
            self.phase = Phase::Frames;
        }
        if let Some(block) = &self.block {
            if h.kind != kind::CONTINUATION || h.stream != block.stream {
                return Err(ErrorCode::PROTOCOL_ERROR);
            }
        }
        let counter = match h.kind {
            kind::HEADERS => Some(&mut self.counters.headers_rcvd),
            kind::DATA => Some(&mut self.counters.data_rcvd),
            kind::SETTINGS => Some(&mut self.counters.settings_rcvd),
            kind::RST_STREAM => Some(&mut self.counters.rst_stream_rcvd),
            kind::GOAWAY => Some(&mut self.counters.goaway_rcvd),
            _ => None,
        };
        if let Some(counter) = counter {
            *counter += 1;
        }
        match h.kind {
            kind::DATA => self.data(h, payload),
            kind::HEADERS => self.headers(h, payload),
            kind::CONTINUATION => self.continuation(h, payload),
            kind::PRIORITY => self.priority(h, payload),
            kind::RST_STREAM => self.peer_reset(h, payload),
            kind::SETTINGS => self.settings(h, payload),
            kind::PING => self.ping(h, payload),
            kind::GOAWAY => self.peer_goaway(h, payload),
            kind::WINDOW_UPDATE => self.window_update(h, payload),
            kind::PUSH_PROMISE => Err(ErrorCode::PROTOCOL_ERROR),
            // Unknown types are ignored (RFC 9113 §4.1).
            _ => Ok(()),
        }
    }

    /// A stream error: `stream` is reset with `code`, and the serving
    /// side told.
    fn stream_error(&mut self, stream: u32, code: ErrorCode) -> Result<(), ErrorCode> {
        if code != ErrorCode::REFUSED_STREAM {
            self.counters.strm_protocol_errors += 1;
        }
        self.counters.rst_stream_resp += 1;
        if self.streams.remove(&stream).is_some() {
            self.events.push_back(Event::Reset { stream, code });
        }
        put_reset(&mut self.out, stream, code);
        Ok(())
    }

    fn credit_connection(&mut self, n: usize) {
        self.recv_window += n as i64;
        put_window_update(&mut self.out, 0, n as u32);
    }

    /// haven's side of `stream` ended.
    fn local_end(&mut self, stream: u32) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.local_open = false;
            if !s.remote_open {
                self.streams.remove(&stream);
            }
        }
    }

    /// The client's side of `stream` ended.
    fn remote_end(&mut self, stream: u32) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.remote_open = false;
            if !s.local_open {
                self.streams.remove(&stream);
            }
        }
    }

    fn data(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if h.stream == 0 {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        let body = unpad(h, payload)?;
        let len = i64::from(h.len);
        if len > self.recv_window {
            return Err(ErrorCode::FLOW_CONTROL_ERROR);
        }
        self.recv_window -= len;
        let Some(s) = self.streams.get_mut(&h.stream) else {
            if h.stream > self.last_stream {
                return Err(ErrorCode::PROTOCOL_ERROR);
            }
            // A stream closed here: the bytes only come back.
            self.credit_connection(len as usize);
            return Ok(());
        };
        let code = if !s.remote_open {
            Some(ErrorCode::STREAM_CLOSED)
        } else if !s.answered {
            Some(ErrorCode::PROTOCOL_ERROR)
        } else if len > s.recv_window {
            Some(ErrorCode::FLOW_CONTROL_ERROR)
        } else if s.length.is_some_and(|left| body.len() as u64 > left) {
            Some(ErrorCode::PROTOCOL_ERROR)
        } else {
            None
        };
        if let Some(code) = code {
            self.credit_connection(len as usize);
            return self.stream_error(h.stream, code);
        }
        s.recv_window -= len;
        if let Some(left) = &mut s.length {
            *left -= body.len() as u64;
        }
        let end = h.has(flag::END_STREAM);
        if end && s.length.is_some_and(|left| left > 0) {
            self.credit_connection(len as usize);
            return self.stream_error(h.stream, ErrorCode::PROTOCOL_ERROR);
        }
        // Padding is no body: its room comes back at once.
        let padding = payload.len() - body.len();
        if padding > 0 {
            self.consumed(h.stream, padding);
        }
        self.events.push_back(Event::Data {
            stream: h.stream,
            data: body.to_vec(),
            end,
        });
        if end {
            self.remote_end(h.stream);
        }
        Ok(())
    }

    fn headers(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        let ours_unopened = self.role == Role::Client && h.stream > self.last_stream;
        if h.stream == 0 || h.stream % 2 == 0 || ours_unopened {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        let mut bytes = unpad(h, payload)?;
        let mut self_dependent = false;
        if h.has(flag::PRIORITY) {
            if bytes.len() < 5 {
                return Err(ErrorCode::PROTOCOL_ERROR);
            }
            self_dependent = u32_at(bytes, 0) & 0x7fff_ffff == h.stream;
            bytes = &bytes[5..];
        }
        self.block = Some(Block {
            stream: h.stream,
            end_stream: h.has(flag::END_STREAM),
            self_dependent,
            bytes: bytes.to_vec(),
        });
        match h.has(flag::END_HEADERS) {
            true => self.end_block(),
            false => Ok(()),
        }
    }

    fn continuation(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        let Some(block) = &mut self.block else {
            return Err(ErrorCode::PROTOCOL_ERROR);
        };
        block.bytes.extend_from_slice(payload);
        // A block past twice what its decoded list may hold is a flood
        // of CONTINUATION frames, not a request.
        if block.bytes.len() > 2 * self.limits.max_header_list as usize {
            return Err(ErrorCode::ENHANCE_YOUR_CALM);
        }
        match h.has(flag::END_HEADERS) {
            true => self.end_block(),
            false => Ok(()),
        }
    }

    /// Decodes a whole header block and acts on it: a new request, an
    /// answer's head, trailers, or (on a stream closed here) nothing.
    fn end_block(&mut self) -> Result<(), ErrorCode> {
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        let fields = self.decode(&block.bytes)?;
        let id = block.stream;
        if let Some(s) = self.streams.get(&id) {
            if !s.answered {
                return self.answer_head(block, fields);
            }
            // Trailers: they end the body. A pseudo-header among them
            // makes them malformed (RFC 9113 §8.1), as a field HTTP/1
            // cannot carry does.
            if !s.remote_open {
                return self.stream_error(id, ErrorCode::STREAM_CLOSED);
            }
            if !block.end_stream || s.length.is_some_and(|left| left > 0) {
                return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
            }
            let Some(fields) = fields.filter(|f| f.iter().all(|(n, v)| well_formed(n, v))) else {
                return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
            };
            self.events.push_back(match fields.is_empty() {
                true => Event::Data {
                    stream: id,
                    data: Vec::new(),
                    end: true,
                },
                false => Event::Trailers { stream: id, fields },
            });
            self.remote_end(id);
            return Ok(());
        }
        if id <= self.last_stream || self.going_away || self.role == Role::Client {
            // A stream closed here, or opened after the GOAWAY.
            return Ok(());
        }
        self.last_stream = id;
        let Some(fields) = fields else {
            return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
        };
        if block.self_dependent {
            return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
        }
        // A reset stream's request may still be on its way to a server:
        // it keeps its room until the serving side is done with it, so a
        // client that opens and resets streams without end (the "rapid
        // reset" attack) cannot have haven send requests without end.
        let most = self.limits.max_concurrent_streams;
        if most > 0 && self.in_flight.len() >= most as usize {
            self.refused += 1;
            if self.refused > REFUSALS_TOLERATED {
                self.go_away(ErrorCode::ENHANCE_YOUR_CALM);
            }
            return self.stream_error(id, ErrorCode::REFUSED_STREAM);
        }
        let length = content_length(&fields);
        if block.end_stream && length.is_some_and(|l| l > 0) {
            return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
        }
        let mut stream = self.new_stream(!block.end_stream, true);
        stream.length = length;
        self.streams.insert(id, stream);
        self.in_flight.insert(id);
        self.events.push_back(Event::Head {
            stream: id,
            fields,
            end: block.end_stream,
        });
        Ok(())
    }

    /// A new stream's state: the windows the peer's and haven's settings
    /// give it.
    fn new_stream(&self, remote_open: bool, answered: bool) -> Stream {
        Stream {
            send_window: self.peer_initial_window,
            recv_window: i64::from(self.limits.initial_window),
            remote_open,
            local_open: true,
            length: None,
            answered,
            head_request: false,
        }
    }

    /// As a client, the head of an answer on stream `block.stream`: an
    /// interim one (1xx) or the final one, whose length the body must
    /// then match (none for a HEAD, a 204 or a 304).
    fn answer_head(&mut self, block: Block, fields: Option<Vec<Field>>) -> Result<(), ErrorCode> {
        let id = block.stream;
        let Some(fields) = fields else {
            return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
        };
        let status = fields
            .iter()
            .find(|(n, _)| n == b":status")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<u16>().ok());
        let Some(status) = status.filter(|s| (100..1000).contains(s)) else {
            return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
        };
        let interim = status < 200;
        if interim && block.end_stream {
            return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
        }
        if let Some(s) = self.streams.get_mut(&id).filter(|_| !interim) {
            s.answered = true;
            let bodiless = s.head_request || status == 204 || status == 304;
            s.length = content_length(&fields).filter(|_| !bodiless);
            if block.end_stream && s.length.is_some_and(|l| l > 0) {
                return self.stream_error(id, ErrorCode::PROTOCOL_ERROR);
            }
        }
        self.events.push_back(Event::Head {
            stream: id,
            fields,
            end: block.end_stream,
        });
        if block.end_stream {
            self.remote_end(id);
        }
        Ok(())
    }

    /// The fields of a header block (`None`: more than the limit),
    /// or the COMPRESSION_ERROR of a block HPACK cannot read.
    fn decode(&mut self, block: &[u8]) -> Result<Option<Vec<Field>>, ErrorCode> {
        let limit = self.limits.max_header_list as usize;
        let mut fields = Vec::new();
        let mut size = 0;
        self.decoder
            .decode_with_cb(block, |name, value| {
                size += name.len() + value.len() + 32;
                if size <= limit {
                    fields.push((name.into_owned(), value.into_owned()));
                }
            })
            .map_err(|_| ErrorCode::COMPRESSION_ERROR)?;
        Ok((size <= limit).then_some(fields))
    }

    fn priority(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if h.stream == 0 {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        if payload.len() != 5 {
            return self.stream_error(h.stream, ErrorCode::FRAME_SIZE_ERROR);
        }
        if u32_at(payload, 0) & 0x7fff_ffff == h.stream {
            return self.stream_error(h.stream, ErrorCode::PROTOCOL_ERROR);
        }
        Ok(())
    }

    fn peer_reset(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if h.stream == 0 || h.stream > self.last_stream {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        if payload.len() != 4 {
            return Err(ErrorCode::FRAME_SIZE_ERROR);
        }
        if self.streams.remove(&h.stream).is_some() {
            let code = ErrorCode(u32_at(payload, 0));
            self.events.push_back(Event::Reset {
                stream: h.stream,
                code,
            });
        }
        Ok(())
    }

    fn settings(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if h.stream != 0 {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        if h.has(flag::ACK) {
            return match payload.is_empty() {
                true => Ok(()),
                false => Err(ErrorCode::FRAME_SIZE_ERROR),
            };
        }
        if payload.len() % 6 != 0 {
            return Err(ErrorCode::FRAME_SIZE_ERROR);
        }
        for entry in payload.chunks(6) {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32_at(entry, 2);
            match id {
                setting::HEADER_TABLE_SIZE => self.resize_table(value as usize),
                setting::ENABLE_PUSH | setting::ENABLE_CONNECT_PROTOCOL if value > 1 => {
                    return Err(ErrorCode::PROTOCOL_ERROR);
                }
                setting::INITIAL_WINDOW_SIZE => self.initial_window(value)?,
                setting::MAX_CONCURRENT_STREAMS => self.peer_max_streams = value,
                setting::ENABLE_CONNECT_PROTOCOL => self.peer_connect_protocol = value == 1,
                setting::MAX_FRAME_SIZE => {
                    if !(DEFAULT_MAX_FRAME..=0xff_ffff).contains(&value) {
                        return Err(ErrorCode::PROTOCOL_ERROR);
                    }
                    self.peer_max_frame = value as usize;
                }
                _ => {}
            }
        }
        put_header(&mut self.out, 0, kind::SETTINGS, flag::ACK, 0);
        Ok(())
    }

    /// The peer's decoder allows a table of `size`: haven's encoder keeps
    /// to it (it never fills its table) and says so in its next block.
    fn resize_table(&mut self, size: usize) {
        let size = size.min(TABLE_SIZE);
        if size == self.encoder_table {
            return;
        }
        self.encoder_table = size;
        let smallest = self.table_update.map_or(size, |(s, _)| s.min(size));
        self.table_update = Some((smallest, size));
    }

    /// A new `SETTINGS_INITIAL_WINDOW_SIZE`: every stream's window moves
    /// by the difference.
    fn initial_window(&mut self, value: u32) -> Result<(), ErrorCode> {
        let value = i64::from(value);
        if value > MAX_WINDOW {
            return Err(ErrorCode::FLOW_CONTROL_ERROR);
        }
        let delta = value - self.peer_initial_window;
        self.peer_initial_window = value;
        for s in self.streams.values_mut() {
            s.send_window += delta;
            if s.send_window > MAX_WINDOW {
                return Err(ErrorCode::FLOW_CONTROL_ERROR);
            }
        }
        if delta > 0 {
            self.events.push_back(Event::Room);
        }
        Ok(())
    }

    /// A GOAWAY: the peer opens no more streams and serves none past the
    /// last it names; as a client, haven opens none either, and those it
    /// opened past that may be retried elsewhere.
    fn peer_goaway(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if h.stream != 0 {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        if payload.len() < 8 {
            return Err(ErrorCode::FRAME_SIZE_ERROR);
        }
        if self.role == Role::Client {
            self.going_away = true;
            let last = u32_at(payload, 0) & 0x7fff_ffff;
            let cut: Vec<u32> = self.streams.range(last + 1..).map(|(id, _)| *id).collect();
            for stream in cut {
                self.streams.remove(&stream);
                let code = ErrorCode::REFUSED_STREAM;
                self.events.push_back(Event::Reset { stream, code });
            }
        }
        Ok(())
    }

    fn ping(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if h.stream != 0 {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        if payload.len() != 8 {
            return Err(ErrorCode::FRAME_SIZE_ERROR);
        }
        if !h.has(flag::ACK) {
            put_header(&mut self.out, 8, kind::PING, flag::ACK, 0);
            self.out.extend_from_slice(payload);
        }
        Ok(())
    }

    fn window_update(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ErrorCode> {
        if payload.len() != 4 {
            return Err(ErrorCode::FRAME_SIZE_ERROR);
        }
        let increment = i64::from(u32_at(payload, 0) & 0x7fff_ffff);
        if h.stream == 0 {
            if increment == 0 {
                return Err(ErrorCode::PROTOCOL_ERROR);
            }
            self.send_window += increment;
            if self.send_window > MAX_WINDOW {
                return Err(ErrorCode::FLOW_CONTROL_ERROR);
            }
            self.events.push_back(Event::Room);
            return Ok(());
        }
        if h.stream > self.last_stream {
            return Err(ErrorCode::PROTOCOL_ERROR);
        }
        let Some(s) = self.streams.get_mut(&h.stream) else {
            return Ok(());
        };
        if increment == 0 {
            return self.stream_error(h.stream, ErrorCode::PROTOCOL_ERROR);
        }
        s.send_window += increment;
        if s.send_window > MAX_WINDOW {
            return self.stream_error(h.stream, ErrorCode::FLOW_CONTROL_ERROR);
        }
        self.events.push_back(Event::Room);
        Ok(())
    }
}

/// A DATA or HEADERS payload without its padding.
fn unpad(h: FrameHeader, payload: &[u8]) -> Result<&[u8], ErrorCode> {
    if !h.has(flag::PADDED) {
        return Ok(payload);
    }
    let (&pad, rest) = payload.split_first().ok_or(ErrorCode::PROTOCOL_ERROR)?;
    let pad = usize::from(pad);
    if pad > rest.len() {
        return Err(ErrorCode::PROTOCOL_ERROR);
    }
    Ok(&rest[..rest.len() - pad])
}

/// The body length the first `content-length` field announces, when it
/// reads as one.
fn content_length(fields: &[Field]) -> Option<u64> {
    let (_, value) = fields.iter().find(|(n, _)| n == b"content-length")?;
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests;
