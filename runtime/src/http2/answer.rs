//! The HTTP/1.1 answer an exchange writes, turned into HTTP/2: interim
//! answers as informational HEADERS, the final head as HEADERS without
//! the connection's own fields, the body as DATA frames without its
//! HTTP/1 framing, END_STREAM where the body ends. Bytes are taken only
//! as the client's window lets them go, so a slow client slows the
//! server down as over HTTP/1.

use super::framing::{invalid, poll_room, Unframe};
use bytes::{Buf, Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, SendStream};
use haven_core::http1::{parse_response_head, ChunkedDecoder, ResponseFraming, ResponseHead};
use std::io;
use std::task::{ready, Context, Poll};

/// The most an answer's head may take before it is refused.
const MAX_HEAD: usize = 65_536;

/// Fields of an HTTP/1 head that HTTP/2 does not carry (RFC 9113 §8.2.2).
const CONNECTION_FIELDS: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// How far the answer has come.
#[derive(Debug)]
enum State {
    /// Its head is being read.
    Head(BytesMut),
    /// Its body is going out.
    Body(Unframe),
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
                let sending = self.sending.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
                let take = ready!(poll_room(sending, buf.len(), cx))?;
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
            (State::Body(Unframe::AtFinish), Some(sending)) => {
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
                let _ = self.respond.send_informational(response(&head, false)?);
                continue;
            }
            // An extended CONNECT's upgrade is answered 200 (RFC 8441).
            let upgraded = self.tunnel && head.code == 101;
            let framing = match head.body {
                _ if self.tunnel && (200..300).contains(&head.code) => Some(Unframe::AtFinish),
                _ if upgraded => Some(Unframe::AtFinish),
                // Ended with the exchange: a HEAD's answer ends once the
                // body the server sent anyway was read and dropped, so
                // the client's next request finds the server connection
                // free, as with haproxy.
                ResponseFraming::Empty if self.head_request => Some(Unframe::AtFinish),
                ResponseFraming::Empty | ResponseFraming::Length(0) => None,
                ResponseFraming::Length(n) => Some(Unframe::Length(n)),
                ResponseFraming::Chunked => Some(Unframe::Chunked(ChunkedDecoder::default())),
                ResponseFraming::UntilClose => Some(Unframe::AtFinish),
            };
            let rest = std::mem::take(read);
            let sending = self
                .respond
                .send_response(response(&head, upgraded)?, framing.is_none())
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
        if framing.send(bytes, sending)? {
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

/// The HTTP/2 head of an HTTP/1 answer's `head`; a 200 when it is the
/// 101 that `upgraded` an extended CONNECT.
fn response(head: &ResponseHead, upgraded: bool) -> io::Result<http::Response<()>> {
    let status = if upgraded { 200 } else { head.code };
    let mut builder = http::Response::builder().status(status);
    for (name, value) in head.headers.iter() {
        if CONNECTION_FIELDS.contains(&name) {
            continue;
        }
        builder = builder.header(name, value);
    }
    builder.body(()).map_err(invalid)
}
