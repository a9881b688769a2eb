//! `AsyncRead` / `AsyncWrite` for an enum of streams, each call passed
//! to the variant's own stream (its first field).

/// Implements `AsyncRead` for `$t`, whose variants `$v` each hold a
/// readable stream first.
macro_rules! delegate_read {
    ($t:ty; $($v:ident),+) => {
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $(Self::$v(s, ..) => std::pin::Pin::new(s).poll_read(cx, buf),)+
                }
            }
        }
    };
}

/// Implements `AsyncWrite` for `$t`, whose variants `$v` each hold a
/// writable stream first.
macro_rules! delegate_write {
    ($t:ty; $($v:ident),+) => {
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $(Self::$v(s, ..) => std::pin::Pin::new(s).poll_write(cx, buf),)+
                }
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $(Self::$v(s, ..) => std::pin::Pin::new(s).poll_write_vectored(cx, bufs),)+
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $(Self::$v(s, ..) => s.is_write_vectored(),)+
                }
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $(Self::$v(s, ..) => std::pin::Pin::new(s).poll_flush(cx),)+
                }
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $(Self::$v(s, ..) => std::pin::Pin::new(s).poll_shutdown(cx),)+
                }
            }
        }
    };
}

pub(crate) use {delegate_read, delegate_write};
