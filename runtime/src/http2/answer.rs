//! The HTTP/1.1 answer an exchange writes, turned into HTTP/2: interim
//! answers as informational HEADERS, the final head as HEADERS without
//! the connection's own fields, the body as DATA frames without its
//! HTTP/1 framing, END_STREAM where the body ends. Bytes are taken only
//! as the client's window lets them go, so a slow client slows the
//! server down as over HTTP/1.

use super::framing::{chunked, invalid, send_last, Unframe, CONNECTION_FIELDS};
use super::link::StreamLink;
use crate::wire::{kept_field, put_decimal, Delivery, Manner, Streamed};
use bytes::{Buf, BytesMut};
use haven_core::http1::{parse_response_head, ResponseFraming, ResponseHead};
use haven_core::http2::ErrorCode;
use std::io;
use std::task::{ready, Context, Poll};

/// The most an answer's head may take before it is refused.
const MAX_HEAD: usize = 65_536;

/// How far the answer has come.
#[derive(Debug)]
enum State {
    /// Its head is being read.
    Head(BytesMut),
    /// Its head went out when it was announced; so many bytes of it are
    /// still to come, to be skipped, then its body as framed.
    Announced(usize, Option<Unframe>),
    /// Its body is going out.
    Body(Unframe),
    /// The stream was ended or reset.
    Over,
}

/// One stream's answer, written as HTTP/1.1 and sent as HTTP/2.
pub(crate) struct Answer {
    head_request: bool,
    /// A CONNECT: a 2xx answer opens a tunnel, its bytes go as they come.
    tunnel: bool,
    state: State,
}

impl Answer {
    /// The answer to a request that was (`head_request`) a HEAD, or
    /// (`tunnel`) a CONNECT.
    pub(crate) fn new(head_request: bool, tunnel: bool) -> Self {
        Self {
            head_request,
            tunnel,
            state: State::Head(BytesMut::new()),
        }
    }

    /// Takes HTTP/1.1 bytes of the answer for `link`; how many were
    /// taken. Body bytes are taken only as the client's windows let them
    /// go (a head's are taken whole, up to its end).
    pub(crate) fn poll_write(
        &mut self,
        link: &StreamLink,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.state {
            State::Over => Poll::Ready(Ok(buf.len())),
            State::Head(read) => {
                read.extend_from_slice(buf);
                let past_head = self.head(link).inspect_err(|_| self.reset(link))?;
                Poll::Ready(Ok(buf.len().saturating_sub(past_head)))
            }
            State::Announced(left, _) => {
                let skipped = (*left).min(buf.len());
                *left -= skipped;
                if *left == 0 {
                    let framing = match std::mem::replace(&mut self.state, State::Over) {
                        State::Announced(_, framing) => framing,
                        _ => None,
                    };
                    self.state = framing.map_or(State::Over, State::Body);
                }
                Poll::Ready(Ok(skipped))
            }
            State::Body(_) => {
                let take = ready!(link.poll_room(cx, buf.len()))?;
                self.body(link, &buf[..take])?;
                Poll::Ready(Ok(take))
            }
        }
    }

    /// Ends the stream when the exchange is over: a body that ran to the
    /// end of the exchange ends there; an answer cut short is reset.
    pub(crate) fn finish(&mut self, link: &StreamLink) {
        match &self.state {
            State::Over => {}
            State::Body(Unframe::AtFinish) => {
                let _ = link.send_data(&[], true);
            }
            _ => self.reset(link),
        }
        self.state = State::Over;
    }

    /// Sends the final head of a server's answer, `head` to a request
    /// made in `manner`, before the exchange writes it as `streamed`,
    /// whose head bytes are then skipped: the answer is not parsed again.
    /// Answers whose HTTP/1 rendering is not the server's framing kept
    /// as sent (compressed, a tunnel, a HEAD's) are read as written.
    pub(crate) fn announce(
        &mut self,
        link: &StreamLink,
        (head, manner): (&ResponseHead, Manner),
        streamed: &Streamed,
    ) {
        let plain = matches!(streamed.delivery, Delivery::Nothing | Delivery::AsSent(_));
        let fresh = matches!(&self.state, State::Head(read) if read.is_empty());
        if !plain || !fresh || self.tunnel || self.head_request || head.code < 200 {
            return;
        }
        let framing = match head.body {
            ResponseFraming::Empty | ResponseFraming::Length(0) => None,
            ResponseFraming::Length(n) => Some(Unframe::Length(n)),
            ResponseFraming::Chunked => Some(chunked()),
            ResponseFraming::UntilClose => Some(Unframe::AtFinish),
        };
        let fields = head.headers.iter().filter(|(name, _)| {
            kept_field(head, manner, name) && !CONNECTION_FIELDS.contains(name)
        });
        self.state = match send_fields(link, head.code, fields, framing.is_none()) {
            Ok(()) => State::Announced(streamed.head.len(), framing),
            Err(_) => State::Over,
        };
    }

    /// Reads the heads in what was written so far; the first final one
    /// goes out. Returns how many bytes written after it were left for
    /// the body.
    fn head(&mut self, link: &StreamLink) -> io::Result<usize> {
        let State::Head(read) = &mut self.state else {
            return Ok(0);
        };
        loop {
            let parsed = parse_response_head(read, self.head_request)
                .map_err(|_| invalid("invalid answer head"))?;
            let Some((head, len)) = parsed else {
                if read.len() > MAX_HEAD {
                    return Err(invalid("answer head too large"));
                }
                return Ok(0);
            };
            read.advance(len);
            if (100..200).contains(&head.code) && head.code != 101 {
                send_head(link, &head, false, false)?;
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
                ResponseFraming::Chunked => Some(chunked()),
                ResponseFraming::UntilClose => Some(Unframe::AtFinish),
            };
            let past_head = read.len();
            send_head(link, &head, upgraded, framing.is_none())?;
            self.state = framing.map_or(State::Over, State::Body);
            return Ok(past_head);
        }
    }

    /// Sends `bytes` of the body, without their HTTP/1 framing.
    fn body(&mut self, link: &StreamLink, bytes: &[u8]) -> io::Result<()> {
        let State::Body(framing) = &mut self.state else {
            return Ok(());
        };
        let (data, end) = framing.data(bytes)?;
        if end {
            send_last(link, &data, &framing.trailers()?)?;
            self.state = State::Over;
        } else if !data.is_empty() {
            link.send_data(&data, false)?;
        }
        Ok(())
    }

    /// Resets the stream: its answer cannot be sent whole.
    fn reset(&mut self, link: &StreamLink) {
        link.reset(ErrorCode::INTERNAL_ERROR);
        self.state = State::Over;
    }
}

/// Sends the HTTP/2 head of an HTTP/1 answer's `head` on `link`
/// (`end`: nothing follows): `:status` (200 when it is the 101 that
/// `upgraded` an extended CONNECT), then its fields but the connection's
/// own.
fn send_head(link: &StreamLink, head: &ResponseHead, upgraded: bool, end: bool) -> io::Result<()> {
    let code = if upgraded { 200 } else { head.code };
    let fields = head
        .headers
        .iter()
        .filter(|(name, _)| !CONNECTION_FIELDS.contains(name));
    send_fields(link, code, fields, end)
}

/// Sends a head on `link`: `:status` `code`, then `fields` (`end`:
/// nothing follows).
fn send_fields<'f>(
    link: &StreamLink,
    code: u16,
    fields: impl Iterator<Item = (&'f str, &'f [u8])>,
    end: bool,
) -> io::Result<()> {
    let mut status = Vec::with_capacity(3);
    put_decimal(&mut status, code.into());
    let status: (&[u8], &[u8]) = (b":status", &status);
    let fields = fields.map(|(name, value)| (name.as_bytes(), value));
    link.send_head(std::iter::once(status).chain(fields), end)
}
