//! One stream of an HTTP/2 connection to a server, read and written as
//! the HTTP/1.1 connection of one request: what the exchange (or an HTTP
//! check) writes is an HTTP/1 request, sent as HEADERS and DATA without
//! its HTTP/1 framing; what it reads is the server's answer rendered as
//! HTTP/1.1, its body chunked unless its length was given. Both ways
//! move under HTTP/2 flow control. An HTTP/1.1 upgrade goes as haproxy
//! sends it, an extended CONNECT (RFC 8441) whose 200 is read as the 101
//! that opens the tunnel; to a server whose SETTINGS do not offer
//! extended CONNECT it is refused (a 502), its stream reset unopened.

use super::framing::{chunked, give, invalid, put_chunk, put_last_chunk, send_last, Unframe};
use super::link::{H2Client, Received, StreamLink};
use crate::wire::put_decimal;
use bytes::{Buf, BufMut, BytesMut};
use haven_core::http1::{parse_head, BodyFraming, Fields, Head, Switch};
use haven_core::http2::Field;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most a request head may take.
const MAX_HEAD: usize = crate::body::BUFSIZE;

/// Fields of an HTTP/1 head that HTTP/2 does not carry (RFC 9113 §8.2.2);
/// `host` becomes `:authority`.
const NOT_CARRIED: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// How far the request has come.
enum Sending {
    /// Its head is being read.
    Head(BytesMut),
    /// Its head was read: it goes out once the connection takes a
    /// stream, with the body bytes that came after it.
    Ready(Vec<Field>, Option<Unframe>, BytesMut),
    /// Its body is going out.
    Body(Unframe),
    /// Sent whole.
    Done,
}

/// How far the answer has come.
enum Hearing {
    /// Not asked yet.
    Idle,
    /// Its head is awaited.
    Head,
    /// Its body is read, `chunked` or as it comes.
    Body { chunked: bool },
    /// Read whole.
    Done,
    /// The request could not be sent (an upgrade the server does not
    /// take): reading fails.
    Refused,
}

/// A request to a server over one HTTP/2 stream, as an HTTP/1.1
/// connection.
pub(crate) struct H2Upstream {
    client: H2Client,
    stream: Option<StreamLink>,
    sending: Sending,
    hearing: Hearing,
    head_request: bool,
    /// The protocol of an upgrade, sent as an extended CONNECT.
    upgrade: Option<String>,
    /// Body bytes taken with the head, still to send, and when the body
    /// ends with them, its trailer fields (often none).
    unsent: (BytesMut, Option<Fields>),
    /// The answer's head, held while a HEAD's stream is read to its end.
    held: Option<(Vec<Field>, bool)>,
    /// Rendered bytes of the answer not yet read.
    pending: BytesMut,
}

impl std::fmt::Debug for H2Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Upstream")
            .field("upgrade", &self.upgrade)
            .finish_non_exhaustive()
    }
}

impl H2Upstream {
    /// A new stream on `client`'s connection.
    pub(crate) fn new(client: H2Client) -> Self {
        Self {
            client,
            stream: None,
            sending: Sending::Head(BytesMut::new()),
            hearing: Hearing::Idle,
            head_request: false,
            upgrade: None,
            unsent: (BytesMut::new(), None),
            held: None,
            pending: BytesMut::new(),
        }
    }

    /// Sends the request once its head was read and the connection takes
    /// another stream (an upgrade once the server said it takes one),
    /// then the body bytes that came with the head as the windows allow.
    fn poll_dispatch(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_open(cx))?;
        let (unsent, ends) = &mut self.unsent;
        let Some(stream) = self
            .stream
            .as_ref()
            .filter(|_| !unsent.is_empty() || ends.is_some())
        else {
            return Poll::Ready(Ok(()));
        };
        while !unsent.is_empty() || ends.is_some() {
            let take = ready!(stream.poll_room(cx, unsent.len()))?;
            let chunk = unsent.split_to(take);
            match ends.take_if(|_| unsent.is_empty()) {
                Some(trailers) => send_last(stream, &chunk, &trailers)?,
                None => stream.send_data(&chunk, false)?,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Opens the stream of a request whose head was read.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Sending::Ready(fields, upload, _) = &self.sending else {
            return Poll::Ready(Ok(()));
        };
        if self.upgrade.is_some() && !ready!(self.client.poll_settled(cx)) {
            self.client.refuse_next();
            self.sending = Sending::Done;
            self.hearing = Hearing::Refused;
            return Poll::Ready(Ok(()));
        }
        let fields: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        let end = upload.is_none();
        let stream = ready!(self.client.poll_open(cx, &fields, (end, self.head_request)))?;
        self.stream = Some(stream);
        self.hearing = Hearing::Head;
        let Sending::Ready(_, upload, rest) = std::mem::replace(&mut self.sending, Sending::Done)
        else {
            return Poll::Ready(Ok(()));
        };
        if let Some(mut upload) = upload {
            let (data, end) = upload.data(&rest)?;
            let ends = end.then(|| upload.trailers()).transpose()?;
            self.unsent = (BytesMut::from(&data[..]), ends);
            if !end {
                self.sending = Sending::Body(upload);
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads the request head in what was written so far.
    fn head(&mut self) -> io::Result<()> {
        let Sending::Head(read) = &mut self.sending else {
            return Ok(());
        };
        let parsed = parse_head(read, MAX_HEAD).map_err(invalid)?;
        let Some((head, len)) = parsed else {
            return Ok(());
        };
        read.advance(len);
        let rest = std::mem::take(read);
        self.head_request = head.method == "HEAD";
        if let Switch::Upgrade { .. } = head.switch() {
            let protocol = head.headers.get("upgrade").unwrap_or_default();
            self.upgrade = Some(String::from_utf8_lossy(protocol).into_owned());
        }
        let upload = match head.body {
            // A tunnel's bytes go as they come, once it is open.
            _ if self.upgrade.is_some() => Some(Unframe::AtFinish),
            BodyFraming::Empty | BodyFraming::Length(0) => None,
            BodyFraming::Length(n) => Some(Unframe::Length(n)),
            BodyFraming::Chunked => Some(chunked()),
        };
        let fields = request(&head, self.upgrade.as_deref());
        self.sending = Sending::Ready(fields, upload, rest);
        Ok(())
    }

    /// Sends `bytes` of the request body, without their HTTP/1 framing.
    fn body(&mut self, bytes: &[u8]) -> io::Result<()> {
        let (Sending::Body(upload), Some(stream)) = (&mut self.sending, &self.stream) else {
            return Ok(());
        };
        let (data, end) = upload.data(bytes)?;
        if end {
            send_last(stream, &data, &upload.trailers()?)?;
            self.sending = Sending::Done;
        } else if !data.is_empty() {
            stream.send_data(&data, false)?;
        }
        Ok(())
    }

    /// Renders the next part of the answer into `pending`; false at its
    /// end.
    fn poll_hear(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let Some(stream) = &self.stream else {
            return Poll::Ready(match self.hearing {
                Hearing::Refused => Err(invalid("the server does not take extended CONNECT")),
                _ => Ok(false),
            });
        };
        match &mut self.hearing {
            Hearing::Idle | Hearing::Done => Poll::Ready(Ok(false)),
            Hearing::Refused => Poll::Ready(Err(invalid("refused"))),
            Hearing::Head => {
                let (fields, end) = match self.held.take() {
                    Some(held) => held,
                    None => match ready!(stream.poll_head(cx)) {
                        Some(head) => head,
                        None => return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
                    },
                };
                let status = status(&fields);
                // Interim answers go on as HTTP/1.1 ones, the exchange
                // passing them to the client as haproxy does.
                if status < 200 {
                    render_head(status, &fields, Framing::AsGiven, &mut self.pending);
                    return Poll::Ready(Ok(true));
                }
                // The answer to a HEAD is read to its end before its head
                // is handed on: the server's stream has ended when the
                // exchange does, as haproxy ends a stream at the end of
                // its message.
                if self.head_request && !end {
                    loop {
                        match stream.poll_data(cx) {
                            Poll::Ready(Received::Data(_)) => {}
                            Poll::Ready(_) => break,
                            Poll::Pending => {
                                self.held = Some((fields, end));
                                return Poll::Pending;
                            }
                        }
                    }
                }
                if let Some(protocol) = self.upgrade.as_deref().filter(|_| status == 200) {
                    render_upgraded(&fields, protocol, &mut self.pending);
                    self.hearing = Hearing::Body { chunked: false };
                    return Poll::Ready(Ok(true));
                }
                let has_length = fields.iter().any(|(n, _)| n == b"content-length");
                let framing = if self.head_request || has_length {
                    Framing::AsGiven
                } else if end {
                    Framing::Empty
                } else {
                    Framing::Chunked
                };
                let chunked = framing == Framing::Chunked;
                render_head(status, &fields, framing, &mut self.pending);
                self.hearing = match self.head_request || end {
                    true => Hearing::Done,
                    false => Hearing::Body { chunked },
                };
                Poll::Ready(Ok(true))
            }
            Hearing::Body { chunked } => {
                match ready!(stream.poll_data(cx)) {
                    Received::Data(data) => match chunked {
                        true => put_chunk(&mut self.pending, &data),
                        false => self.pending.put_slice(&data),
                    },
                    Received::Reset => {
                        return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
                    }
                    Received::End(trailers) => {
                        if *chunked {
                            put_last_chunk(&mut self.pending, &trailers);
                        }
                        self.hearing = Hearing::Done;
                    }
                }
                Poll::Ready(Ok(true))
            }
        }
    }

    /// Ends a body that runs until the writer is done (a tunnel's).
    fn finish(&mut self) {
        if let (Sending::Body(Unframe::AtFinish), Some(stream)) = (&self.sending, &self.stream) {
            let _ = stream.send_data(&[], true);
            self.sending = Sending::Done;
        }
    }
}

impl AsyncWrite for H2Upstream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_dispatch(cx))?;
        match &mut this.sending {
            Sending::Head(read) => {
                read.extend_from_slice(buf);
                if read.len() > MAX_HEAD {
                    return Poll::Ready(Err(invalid("request head too large")));
                }
                this.head()?;
                Poll::Ready(Ok(buf.len()))
            }
            // Taken once the connection has room for the stream.
            Sending::Ready(..) => Poll::Pending,
            Sending::Body(_) => {
                let Some(stream) = &this.stream else {
                    return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
                };
                let take = ready!(stream.poll_room(cx, buf.len()))?;
                this.body(&buf[..take])?;
                Poll::Ready(Ok(take))
            }
            Sending::Done => Poll::Ready(Ok(buf.len())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_dispatch(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_dispatch(cx))?;
        this.finish();
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for H2Upstream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_dispatch(cx))?;
        loop {
            if give(&mut this.pending, buf) {
                return Poll::Ready(Ok(()));
            }
            if matches!(this.hearing, Hearing::Idle) {
                // Nothing asked: an idle connection, quiet.
                return Poll::Pending;
            }
            if !ready!(this.poll_hear(cx))? {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// The HTTP/2 fields of an HTTP/1 `head`; an extended CONNECT for
/// `upgrade` to that protocol. An origin-form target goes with `:scheme`
/// `https`, as haproxy sends it whatever the connection (browsers'
/// default); an absolute one keeps its own scheme and authority.
fn request(head: &Head, upgrade: Option<&str>) -> Vec<Field> {
    let host = head.headers.get("host");
    let (scheme, authority, path) = match head.target.split_once("://") {
        Some((scheme, rest)) if !head.target.starts_with('/') => {
            let at = rest.find('/').unwrap_or(rest.len());
            let path = if at == rest.len() { "/" } else { &rest[at..] };
            (scheme, Some(&rest.as_bytes()[..at]), path)
        }
        _ => ("https", host, head.target.as_str()),
    };
    let pair = |n: &str, v: &[u8]| (n.as_bytes().to_vec(), v.to_vec());
    let mut fields = Vec::with_capacity(head.headers.len() + 5);
    if head.method == "CONNECT" && upgrade.is_none() {
        fields.push(pair(":method", b"CONNECT"));
        fields.push(pair(":authority", head.target.as_bytes()));
    } else {
        let method = if upgrade.is_some() {
            "CONNECT"
        } else {
            &head.method
        };
        fields.push(pair(":method", method.as_bytes()));
        fields.push(pair(":scheme", scheme.as_bytes()));
        if let Some(authority) = authority {
            fields.push(pair(":authority", authority));
        }
        fields.push(pair(":path", path.as_bytes()));
        if let Some(protocol) = upgrade {
            fields.push(pair(":protocol", protocol.as_bytes()));
        }
    }
    for (name, value) in head.headers.iter() {
        let trailers_only = name == "te" && !value.eq_ignore_ascii_case(b"trailers");
        if !(NOT_CARRIED.contains(&name) || trailers_only) {
            fields.push(pair(name, value));
        }
    }
    fields
}

/// An answer's status (0 when it has none that reads: the stream was
/// reset for it before it came here).
fn status(fields: &[Field]) -> u16 {
    fields
        .iter()
        .find(|(n, _)| n == b":status")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(0)
}

/// How an answer's body is framed once rendered as HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// As its head says (its length, or none to a HEAD).
    AsGiven,
    /// It has none: `content-length: 0`.
    Empty,
    /// Its length is not known: chunked.
    Chunked,
}

/// Renders the regular fields of an answer's head as HTTP/1.1 lines.
fn put_fields(fields: &[Field], out: &mut BytesMut) {
    for (name, value) in fields.iter().filter(|(n, _)| !n.starts_with(b":")) {
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
}

/// Renders the 200 that opened an extended CONNECT's tunnel as the
/// HTTP/1.1 101 of an upgrade to `protocol`.
fn render_upgraded(fields: &[Field], protocol: &str, out: &mut BytesMut) {
    out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    put_fields(fields, out);
    out.put_slice(format!("connection: upgrade\r\nupgrade: {protocol}\r\n\r\n").as_bytes());
}

/// Renders an answer's head (`status`, `fields`) as HTTP/1.1, its body
/// framed as `framing`.
fn render_head(status: u16, fields: &[Field], framing: Framing, out: &mut BytesMut) {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    out.put_slice(b"HTTP/1.1 ");
    put_decimal(out, status.into());
    out.put_slice(b" ");
    out.put_slice(reason.as_bytes());
    out.put_slice(b"\r\n");
    put_fields(fields, out);
    match framing {
        Framing::Chunked => out.put_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Empty if !matches!(status, 204 | 304) => {
            out.put_slice(b"content-length: 0\r\n");
        }
        _ => {}
    }
    out.put_slice(b"\r\n");
}
