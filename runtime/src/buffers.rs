//! Read buffers kept for reuse on each thread, as haproxy keeps its
//! buffer pool: a connection holds no buffer while it waits for its next
//! request, and takes one back then without an allocation (a 4 kB one
//! costs the allocator its slow path each time). At most [`KEPT`] wait
//! per thread, so idle connections cost no buffer however many there
//! are.

use bytes::BytesMut;
use std::cell::RefCell;

/// What a read buffer has room for when taken.
pub(crate) const BUFFER: usize = 4096;

/// Buffers kept per thread, at most.
const KEPT: usize = 64;

thread_local! {
    static FREE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for [`BUFFER`] bytes at least.
pub(crate) fn take() -> BytesMut {
    FREE.with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| BytesMut::with_capacity(BUFFER))
}

/// Gives `buf` back: its allocation is kept for the next [`take`] when
/// nothing else shares it and the thread keeps fewer than [`KEPT`].
pub(crate) fn give(mut buf: BytesMut) {
    buf.clear();
    if buf.try_reclaim(BUFFER) {
        FREE.with_borrow_mut(|free| {
            if free.len() < KEPT {
                free.push(buf);
            }
        });
    }
}

/// Makes room in `buf` for [`BUFFER`] more bytes: a kept buffer when it
/// has none at all.
pub(crate) fn room(buf: &mut BytesMut) {
    if buf.capacity() == 0 {
        *buf = take();
    } else {
        buf.reserve(BUFFER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_without_an_allocation() {
        let mut buf = take();
        buf.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let at = buf.as_ptr();
        give(buf);
        let again = take();
        assert_eq!(again.as_ptr(), at, "the same allocation");
        assert!(again.is_empty() && again.capacity() >= BUFFER);
    }

    #[test]
    fn a_shared_buffer_is_not_kept() {
        let mut buf = take();
        buf.extend_from_slice(b"body");
        let body = buf.split_to(4);
        let at = body.as_ptr();
        give(buf);
        assert_ne!(take().as_ptr(), at, "the body still uses it");
        drop(body);
    }

    #[test]
    fn room_comes_from_the_kept_buffers() {
        let kept = take();
        let at = kept.as_ptr();
        give(kept);
        let mut buf = BytesMut::new();
        room(&mut buf);
        assert_eq!(buf.as_ptr(), at);
        buf.extend_from_slice(&[0; BUFFER]);
        room(&mut buf);
        assert!(buf.capacity() - buf.len() >= BUFFER);
    }
}
