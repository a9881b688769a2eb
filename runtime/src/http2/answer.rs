//! The HTTP/1.1 answer an exchange writes, turned into HTTP/2: interim
//! answers as informational HEADERS, the final head as HEADERS without
//! the connection's own fields, the body as DATA frames without its
//! HTTP/1 framing, END_STREAM where the body ends. Bytes are taken only
//! as the client's window lets them go, so a slow client slows the
//! server down as over HTTP/1.

use bytes::{Buf, Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, SendStream};
use haven_core::http1::{parse_response_head, ChunkedDecoder, ResponseFraming, ResponseHead};
use std::io;
use std::task::{ready, Context, Poll};

/// The most an answer's head may take before it is refused.
const MAX_HEAD: usize = 65_536;

/// The most reserved of the client's window at a time: haproxy's buffer.
const WINDOW_ASKED: usize = crate::body::BUFSIZE;

/// Fields of an HTTP/1 head that HTTP/2 does not carry (RFC 9113 §8.2.2).
const CONNECTION_FIELDS: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Where the body of the answer ends.
#[derive(Debug)]
enum Framing {
    /// After this many bytes more.
    Length(u64),
    /// At the last chunk.
    Chunked(ChunkedDecoder),
    /// When the exchange is over (a server that closes, a tunnel).
    AtFinish,
}

/// How far the answer has come.
#[derive(Debug)]
enum State {
    /// Its head is being read.
    Head(BytesMut),
    /// Its body is going out.
    Body(Framing),
    /// The stream was ended or reset.
    Over,
}

/// One stream's answer, written as HTTP/1.1 and sent as HTTP/2.
pub(crate) struct Answer {
    respond: SendResponse<Bytes>,
    sending: Option<SendStream<Bytes>>,
    head_request: bool,
    /// A CONNECT: a 2xx answer opens a tunnel, its bytes go as they come.
    tunnel: bool,
    state: State,
}

impl Answer {
    /// The answer sent on `respond` to a request that was (`head_request`)
    /// a HEAD, or (`tunnel`) a CONNECT.
    pub(crate) fn new(respond: SendResponse<Bytes>, head_request: bool, tunnel: bool) -> Self {
        Self {
            respond,
            sending: None,
            head_request,
            tunnel,
            state: State::Head(BytesMut::new()),
        }
    }

    /// Takes HTTP/1.1 bytes of the answer; how many were taken.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.state {
            State::Over => Poll::Ready(Ok(buf.len())),
            State::Head(read) => {
                read.extend_from_slice(buf);
                self.head().inspect_err(|_| self.reset())?;
                Poll::Ready(Ok(buf.len()))
            }
            State::Body(_) => {
                let sending = self.sending.as_mut().ok_or_else(gone)?;
                while sending.capacity() == 0 {
                    sending.reserve_capacity(buf.len().min(WINDOW_ASKED));
                    match ready!(sending.poll_capacity(cx)) {
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                        None => return Poll::Ready(Err(gone())),
                    }
                }
                let take = sending.capacity().min(buf.len());
                self.body(&buf[..take])?;
                Poll::Ready(Ok(take))
            }
        }
    }

    /// Resolves when the client resets the stream.
    pub(crate) fn poll_reset(&mut self, cx: &mut Context<'_>) -> Poll<Reason> {
        let reset = match &mut self.sending {
            Some(sending) => sending.poll_reset(cx),
            None => self.respond.poll_reset(cx),
        };
        reset.map(|r| r.unwrap_or(Reason::CANCEL))
    }

    /// Ends the stream when the exchange is over: a body that ran to the
    /// end of the exchange ends there; an answer cut short is reset.
    pub(crate) fn finish(&mut self) {
        match (&self.state, &mut self.sending) {
            (State::Over, _) => {}
            (State::Body(Framing::AtFinish), Some(sending)) => {
                let _ = sending.send_data(Bytes::new(), true);
            }
            _ => self.reset(),
        }
        self.state = State::Over;
    }

    /// Reads the heads in what was written so far; the first final one
    /// goes out, with the body bytes that followed it.
    fn head(&mut self) -> io::Result<()> {
        let State::Head(read) = &mut self.state else {
            return Ok(());
        };
        loop {
            let parsed = parse_response_head(read, self.head_request)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "invalid answer head"))?;
            let Some((head, len)) = parsed else {
                if read.len() > MAX_HEAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "answer head too large",
                    ));
                }
                return Ok(());
            };
            read.advance(len);
            if (100..200).contains(&head.code) && head.code != 101 {
                let _ = self.respond.send_informational(response(&head)?);
                continue;
            }
            let framing = match head.body {
                _ if self.tunnel && (200..300).contains(&head.code) => Some(Framing::AtFinish),
                // Ended with the exchange: a HEAD's answer ends once the
                // body the server sent anyway was read and dropped, so
                // the client's next request finds the server connection
                // free, as with haproxy.
                ResponseFraming::Empty if self.head_request => Some(Framing::AtFinish),
                ResponseFraming::Empty | ResponseFraming::Length(0) => None,
                ResponseFraming::Length(n) => Some(Framing::Length(n)),
                ResponseFraming::Chunked => Some(Framing::Chunked(ChunkedDecoder::default())),
                ResponseFraming::UntilClose => Some(Framing::AtFinish),
            };
            let rest = std::mem::take(read);
            let sending = self
                .respond
                .send_response(response(&head)?, framing.is_none())
                .map_err(io::Error::other)?;
            self.sending = Some(sending);
            self.state = framing.map_or(State::Over, State::Body);
            return self.body(&rest);
        }
    }

    /// Sends `bytes` of the body, without their HTTP/1 framing.
    fn body(&mut self, bytes: &[u8]) -> io::Result<()> {
        let (State::Body(framing), Some(sending)) = (&mut self.state, &mut self.sending) else {
            return Ok(());
        };
        let (data, end) = match framing {
            Framing::Length(left) => {
                let take = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                *left -= take as u64;
                (Bytes::copy_from_slice(&bytes[..take]), *left == 0)
            }
            Framing::Chunked(decoder) => {
                let mut data = Vec::with_capacity(bytes.len());
                decoder
                    .feed(bytes, &mut data)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "invalid chunk"))?;
                (Bytes::from(data), decoder.is_done())
            }
            Framing::AtFinish => (Bytes::copy_from_slice(bytes), false),
        };
        if data.is_empty() && !end {
            return Ok(());
        }
        sending.send_data(data, end).map_err(io::Error::other)?;
        if end {
            self.state = State::Over;
        }
        Ok(())
    }

    /// Resets the stream: its answer cannot be sent whole.
    fn reset(&mut self) {
        match &mut self.sending {
            Some(sending) => sending.send_reset(Reason::INTERNAL_ERROR),
            None => self.respond.send_reset(Reason::INTERNAL_ERROR),
        }
        self.state = State::Over;
    }
}

/// The HTTP/2 head of an HTTP/1 answer's `head`.
fn response(head: &ResponseHead) -> io::Result<http::Response<()>> {
    let mut builder = http::Response::builder().status(head.code);
    for (name, value) in head.headers.iter() {
        if CONNECTION_FIELDS.contains(&name) {
            continue;
        }
        builder = builder.header(name, value);
    }
    builder
        .body(())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The error of a write to a stream that is gone.
fn gone() -> io::Error {
    io::ErrorKind::BrokenPipe.into()
}
