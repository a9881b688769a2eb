//! One stream of an HTTP/2 connection to a server, read and written as
//! the HTTP/1.1 connection of one request: what the exchange (or an HTTP
//! check) writes is an HTTP/1 request, sent as HEADERS and DATA without
//! its HTTP/1 framing; what it reads is the server's answer rendered as
//! HTTP/1.1, its body chunked unless its length was given. Both ways
//! move under HTTP/2 flow control. An HTTP/1.1 upgrade goes as haproxy
//! sends it, an extended CONNECT (RFC 8441) whose 200 is read as the 101
//! that opens the tunnel; to a server that does not announce extended
//! CONNECT it is refused (a 502).

use super::framing::{give, invalid, poll_room, put_chunk, Unframe};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};
use haven_core::http1::{parse_head, BodyFraming, ChunkedDecoder, Head, Switch};
use http::header::CONTENT_LENGTH;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep_until, Instant, Sleep};

/// The most a request head may take.
const MAX_HEAD: usize = crate::body::BUFSIZE;

/// How long an upgrade waits for the server's SETTINGS to allow extended
/// CONNECT, and how often it looks.
const SETTINGS_WAIT: Duration = Duration::from_secs(1);
const SETTINGS_LOOK: Duration = Duration::from_millis(5);

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
    Ready(Box<http::Request<()>>, Option<Unframe>, BytesMut),
    /// Its body is going out.
    Body(SendStream<Bytes>, Unframe),
    /// Sent whole.
    Done,
}

/// How far the answer has come.
enum Hearing {
    /// Not asked yet.
    Idle,
    /// Its head is awaited.
    Head(ResponseFuture),
    /// Its head came; for a HEAD, its end is awaited too (while true).
    Whole(Box<http::Response<RecvStream>>, bool),
    /// Its body is read, `chunked` or as it comes.
    Body { body: RecvStream, chunked: bool },
    /// Read whole.
    Done,
    /// The request could not be sent (an upgrade the server does not
    /// take): reading fails.
    Refused,
}

/// A request to a server over one HTTP/2 stream, as an HTTP/1.1
/// connection.
pub(crate) struct H2Upstream {
    connection: SendRequest<Bytes>,
    sending: Sending,
    hearing: Hearing,
    head_request: bool,
    /// The protocol of an upgrade, sent as an extended CONNECT.
    upgrade: Option<String>,
    /// Until when, and the next look, an upgrade waits for the server to
    /// allow extended CONNECT.
    settings_wait: Option<(Instant, Pin<Box<Sleep>>)>,
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
    /// A new stream on `connection`.
    pub(crate) fn new(connection: SendRequest<Bytes>) -> Self {
        Self {
            connection,
            sending: Sending::Head(BytesMut::new()),
            hearing: Hearing::Idle,
            head_request: false,
            upgrade: None,
            settings_wait: None,
            pending: BytesMut::new(),
        }
    }

    /// Sends the request once its head was read and the connection takes
    /// another stream.
    fn poll_dispatch(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !matches!(self.sending, Sending::Ready(..)) {
            return Poll::Ready(Ok(()));
        }
        ready!(self.connection.poll_ready(cx)).map_err(io::Error::other)?;
        if self.upgrade.is_some() && !ready!(self.poll_settings(cx)) {
            self.sending = Sending::Done;
            self.hearing = Hearing::Refused;
            return Poll::Ready(Ok(()));
        }
        let Sending::Ready(request, upload, rest) =
            std::mem::replace(&mut self.sending, Sending::Done)
        else {
            return Poll::Ready(Ok(()));
        };
        let (answer, stream) = self
            .connection
            .send_request(*request, upload.is_none())
            .map_err(io::Error::other)?;
        self.hearing = Hearing::Head(answer);
        if let Some(upload) = upload {
            self.sending = Sending::Body(stream, upload);
            self.body(&rest)?;
        }
        Poll::Ready(Ok(()))
    }

    /// Waits, within [`SETTINGS_WAIT`], for the server's SETTINGS to allow
    /// extended CONNECT: true once they do, false when the wait is over.
    fn poll_settings(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let (until, look) = self.settings_wait.get_or_insert_with(|| {
            let now = Instant::now();
            (
                now + SETTINGS_WAIT,
                Box::pin(sleep_until(now + SETTINGS_LOOK)),
            )
        });
        loop {
            if self.connection.is_extended_connect_protocol_enabled() {
                return Poll::Ready(true);
            }
            if Instant::now() >= *until {
                return Poll::Ready(false);
            }
            ready!(look.as_mut().poll(cx));
            look.as_mut().reset(Instant::now() + SETTINGS_LOOK);
        }
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
            BodyFraming::Chunked => Some(Unframe::Chunked(ChunkedDecoder::default())),
        };
        let request = request(&head, self.upgrade.as_deref())?;
        self.sending = Sending::Ready(Box::new(request), upload, rest);
        Ok(())
    }

    /// Sends `bytes` of the request body, without their HTTP/1 framing.
    fn body(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Sending::Body(stream, upload) = &mut self.sending else {
            return Ok(());
        };
        if upload.send(bytes, stream)? {
            self.sending = Sending::Done;
        }
        Ok(())
    }

    /// Renders the next part of the answer into `pending`; false at its
    /// end.
    fn poll_hear(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        match &mut self.hearing {
            Hearing::Idle | Hearing::Done => Poll::Ready(Ok(false)),
            Hearing::Refused => {
                Poll::Ready(Err(invalid("the server does not take extended CONNECT")))
            }
            Hearing::Head(answer) => {
                let answer = ready!(Pin::new(answer).poll(cx)).map_err(io::Error::other)?;
                let awaited = self.head_request && !answer.body().is_end_stream();
                self.hearing = Hearing::Whole(Box::new(answer), awaited);
                Poll::Ready(Ok(true))
            }
            // The answer to a HEAD is read to its end before its head is
            // handed on: the server's stream has ended when the exchange
            // does, as haproxy ends a stream at the end of its message.
            Hearing::Whole(answer, awaited @ true) => {
                match ready!(answer.body_mut().poll_data(cx)) {
                    Some(Ok(data)) => {
                        let _ = answer
                            .body_mut()
                            .flow_control()
                            .release_capacity(data.len());
                    }
                    Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                    None => *awaited = false,
                }
                Poll::Ready(Ok(true))
            }
            Hearing::Whole(_, false) => {
                let Hearing::Whole(answer, _) = std::mem::replace(&mut self.hearing, Hearing::Done)
                else {
                    return Poll::Ready(Ok(true));
                };
                let (parts, body) = answer.into_parts();
                if let Some(protocol) = self.upgrade.as_deref().filter(|_| parts.status == 200) {
                    render_upgraded(&parts, protocol, &mut self.pending);
                    self.hearing = Hearing::Body {
                        body,
                        chunked: false,
                    };
                    return Poll::Ready(Ok(true));
                }
                let framing = if self.head_request || parts.headers.contains_key(CONTENT_LENGTH) {
                    Framing::AsGiven
                } else if body.is_end_stream() {
                    Framing::Empty
                } else {
                    Framing::Chunked
                };
                let chunked = framing == Framing::Chunked;
                render_head(&parts, framing, &mut self.pending);
                self.hearing = match self.head_request {
                    true => Hearing::Done,
                    false => Hearing::Body { body, chunked },
                };
                Poll::Ready(Ok(true))
            }
            Hearing::Body { body, chunked } => {
                match ready!(body.poll_data(cx)) {
                    Some(Ok(data)) => {
                        let _ = body.flow_control().release_capacity(data.len());
                        if *chunked {
                            put_chunk(&mut self.pending, &data);
                        } else {
                            self.pending.put_slice(&data);
                        }
                    }
                    Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                    None => {
                        if *chunked {
                            self.pending.put_slice(b"0\r\n\r\n");
                        }
                        self.hearing = Hearing::Done;
                    }
                }
                Poll::Ready(Ok(true))
            }
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
            Sending::Body(stream, _) => {
                let take = ready!(poll_room(stream, buf.len(), cx))?;
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
        self.get_mut().poll_dispatch(cx)
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

/// The HTTP/2 request of an HTTP/1 `head`; an extended CONNECT for
/// `upgrade` to that protocol. An origin-form target goes with `:scheme`
/// `https`, as haproxy sends it whatever the connection (browsers'
/// default); an absolute one keeps its own.
fn request(head: &Head, upgrade: Option<&str>) -> io::Result<http::Request<()>> {
    let scheme = "https";
    let host = head
        .headers
        .get("host")
        .and_then(|h| std::str::from_utf8(h).ok());
    let uri = match host {
        Some(host) if head.target.starts_with('/') => format!("{scheme}://{host}{}", head.target),
        _ => head.target.clone(),
    };
    let method = match upgrade {
        Some(_) => "CONNECT",
        None => head.method.as_str(),
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(protocol) = upgrade {
        builder = builder.extension(h2::ext::Protocol::from(protocol));
    }
    if host.is_none() {
        // No authority to name: the h2 crate sends the path alone.
        builder = builder.version(http::Version::HTTP_11);
    }
    for (name, value) in head.headers.iter() {
        let trailers_only = name == "te" && !value.eq_ignore_ascii_case(b"trailers");
        if NOT_CARRIED.contains(&name) || trailers_only {
            continue;
        }
        builder = builder.header(name, value);
    }
    builder.body(()).map_err(invalid)
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

/// Renders the 200 that opened an extended CONNECT's tunnel as the
/// HTTP/1.1 101 of an upgrade to `protocol`.
fn render_upgraded(parts: &http::response::Parts, protocol: &str, out: &mut BytesMut) {
    out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in &parts.headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(format!("connection: upgrade\r\nupgrade: {protocol}\r\n\r\n").as_bytes());
}

/// Renders an answer's head as HTTP/1.1, its body framed as `framing`.
fn render_head(parts: &http::response::Parts, framing: Framing, out: &mut BytesMut) {
    let status = parts.status;
    let reason = status.canonical_reason().unwrap_or("");
    out.put_slice(format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).as_bytes());
    for (name, value) in &parts.headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    match framing {
        Framing::Chunked => out.put_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Empty if !matches!(status.as_u16(), 204 | 304) => {
            out.put_slice(b"content-length: 0\r\n");
        }
        _ => {}
    }
    out.put_slice(b"\r\n");
}
