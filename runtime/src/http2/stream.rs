//! One HTTP/2 stream seen as the HTTP/1.1 connection of one request, so
//! the exchange that serves HTTP/1 clients serves it unchanged (haproxy
//! too turns each stream into the same internal message as an HTTP/1
//! request). Reading gives the request body in the framing its head
//! announces; what is written is an HTTP/1.1 answer, turned back into
//! HTTP/2 frames by [`Answer`]. Both ways move under HTTP/2 flow
//! control: a window is given back only once the bytes were read, and
//! nothing more is accepted while the client's window is shut.

use super::answer::Answer;
use super::framing::{give, put_chunk, put_last_chunk};
use super::link::{Received, StreamLink};
use crate::wire::{Manner, Streamed};
use bytes::BytesMut;
use haven_core::http1::ResponseHead;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How the request body is handed to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upload {
    /// As the DATA frames carry it (`content-length` given, or a
    /// CONNECT tunnel).
    Raw,
    /// In HTTP/1.1 chunks: the length is not known.
    Chunked,
}

/// An HTTP/2 stream read and written as an HTTP/1.1 connection.
pub(crate) struct H2Stream {
    link: StreamLink,
    upload: Upload,
    /// Encoded bytes not yet read.
    pending: BytesMut,
    /// The body's end was read (the last chunk too).
    body_done: bool,
    answer: Answer,
    /// Where the client connected to, for `dst` and PROXY headers.
    local: Option<SocketAddr>,
}

impl H2Stream {
    /// Stream `link`, whose request body is handed over as `upload`
    /// says (`bodiless`: its HEADERS ended the stream); `head_request`
    /// when it is a HEAD, `tunnel` when a CONNECT.
    pub(crate) fn new(
        link: StreamLink,
        (upload, bodiless): (Upload, bool),
        (head_request, tunnel): (bool, bool),
        local: Option<SocketAddr>,
    ) -> Self {
        Self {
            body_done: bodiless && upload == Upload::Raw,
            link,
            upload,
            pending: BytesMut::new(),
            answer: Answer::new(head_request, tunnel),
            local,
        }
    }

    /// The request body was read to its end.
    pub(crate) fn request_read(&self) -> bool {
        self.body_done && self.pending.is_empty()
    }

    /// Ends the stream once the exchange is over: an answer cut short
    /// resets it, one that ran until its server closed ends it.
    pub(crate) fn finish(mut self) {
        self.answer.finish(&self.link);
    }

    /// Reads the next DATA frame into `pending`, encoded as the reader
    /// gets it; false when the client reset the stream (its "close").
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        // The window is given back as the bytes leave for the reader: at
        // most one frame waits here.
        match ready!(self.link.poll_data(cx)) {
            Received::Data(data) => match self.upload {
                Upload::Raw => self.pending.extend_from_slice(&data),
                Upload::Chunked => put_chunk(&mut self.pending, &data),
            },
            Received::Reset => return Poll::Ready(Ok(false)),
            Received::End(trailers) => {
                if self.upload == Upload::Chunked {
                    put_last_chunk(&mut self.pending, &trailers);
                }
                self.body_done = true;
            }
        }
        Poll::Ready(Ok(true))
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if give(&mut this.pending, buf) {
                return Poll::Ready(Ok(()));
            }
            if this.body_done {
                // Past the body: the client "closes" when it resets the
                // stream, as an HTTP/1 client closes its connection.
                return this.link.poll_reset(cx).map(Ok);
            }
            if !ready!(this.poll_fill(cx))? {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.answer.poll_write(&this.link, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.answer.finish(&this.link);
        Poll::Ready(Ok(()))
    }
}

impl crate::client_io::ClientIo for H2Stream {
    type Reader<'a> = tokio::io::ReadHalf<&'a mut Self>;
    type Writer<'a> = tokio::io::WriteHalf<&'a mut Self>;

    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>) {
        tokio::io::split(self)
    }

    fn poll_readable(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // One request per stream: never waited on for another.
        Poll::Ready(Ok(()))
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    fn announce(&mut self, head: &ResponseHead, manner: Manner, streamed: &Streamed) {
        self.answer.announce(&self.link, (head, manner), streamed);
    }
}
