//! The room a message has for rewrites, as haproxy counts it: the
//! message sits in one buffer of `tune.bufsize` bytes (its HTX form:
//! a 48-byte header, then blocks of 8 bytes plus their payload: the
//! start line's 20 bytes and its words, each header's name and value,
//! the end of headers, the body read so far). Reading leaves
//! `tune.maxrewrite` bytes free; a rewrite that needs more fails, and
//! in strict mode (haproxy's default) fails the message with a 500.

use super::{Edit, Headers};

/// haproxy's `struct htx`, before the blocks.
const HTX_HEAD: i64 = 48;
/// One block's descriptor.
const BLOCK: i64 = 8;
/// A start line's fixed part.
const START_LINE: i64 = 20;

/// What a message has left for rewrites, and what a rewrite that does
/// not fit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Bytes left (`None`: not counted).
    pub left: Option<i64>,
    /// `strict-mode on`: a rewrite that does not fit fails the message
    /// (else it is skipped).
    pub strict: bool,
}

impl Default for Room {
    fn default() -> Self {
        Self {
            left: None,
            strict: true,
        }
    }
}

/// The bytes a header takes in the buffer.
fn header(name: &str, value: &str) -> i64 {
    (name.len() + value.len()) as i64 + BLOCK
}

/// The bytes the headers named `name` take.
fn named(headers: &Headers, name: &str) -> i64 {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, v)| header(n, v))
        .sum()
}

/// The bytes a message head takes: its start line's three words, its
/// headers and the end of headers.
pub fn head_size(line: [&str; 3], headers: &Headers) -> i64 {
    let words: usize = line.iter().map(|w| w.len()).sum();
    let fields: i64 = headers.iter().map(|(n, v)| header(n, v)).sum();
    START_LINE + words as i64 + BLOCK + fields + BLOCK
}

impl Room {
    /// The room of a message whose head takes `head` bytes, with `body`
    /// bytes of body read, in buffers of `(size, reserve)`.
    pub fn of((size, reserve): (usize, usize), head: i64, body: usize) -> Self {
        let space = size as i64 - HTX_HEAD;
        let readable = (space - reserve as i64 - head).max(0);
        let data = match (body as i64).min(readable) {
            0 => 0,
            n => n + BLOCK,
        };
        Self {
            left: Some(space - head - data),
            ..Self::default()
        }
    }

    /// Takes room for `edit` of a message with `headers` and request line
    /// `(method, uri)`: false when it does not fit.
    pub fn take(&mut self, edit: &Edit, headers: &Headers, line: (&str, &str)) -> bool {
        let Some(left) = self.left else {
            return true;
        };
        let cost = match edit {
            Edit::Method(m) => m.len() as i64 - line.0.len() as i64,
            Edit::Uri(u) => u.len() as i64 - line.1.len() as i64,
            Edit::Status(..) => 0,
            Edit::Set(n, v) => header(n, v) - named(headers, n),
            Edit::Add(n, v) => header(n, v),
            Edit::Del(n) => -named(headers, n),
            Edit::Rewrite(n, values) => {
                let new: i64 = values.iter().map(|v| header(n, v)).sum();
                new - named(headers, n)
            }
        };
        if cost > left {
            return false;
        }
        self.left = Some(left - cost);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // haproxy 2.6.12 with `tune.bufsize 2048` and `tune.maxrewrite 128`
    // adds one 60-byte header to a request whose 2000-byte body filled
    // the buffer, and fails the second (the strict_rw_mode reg-test).
    #[test]
    fn a_full_buffer_takes_one_header_of_its_reserve_not_two() {
        let headers: Headers = [("content-length", "2000")].into_iter().collect();
        let head = head_size(["GET", "/req1", "HTTP/1.1"], &headers);
        let mut room = Room::of((2048, 128), head, 2000);
        let value = "1".repeat(60);
        let add = |n: &str| Edit::Set(n.to_owned(), value.clone());
        assert!(room.take(&add("x-hdr1"), &headers, ("GET", "/req1")));
        assert!(!room.take(&add("x-hdr2"), &headers, ("GET", "/req1")));
        // Deleting always fits, and frees room: 26 bytes here.
        assert!(room.take(&Edit::Del("content-length".into()), &headers, ("GET", "/")));
        let small = Edit::Add("x-small".into(), "1".repeat(40));
        let none = Headers::default();
        assert!(room.take(&small, &none, ("GET", "/req1")));
        assert!(!room.take(&small, &none, ("GET", "/req1")));
        // A small message has room to spare.
        let mut small = Room::of((2048, 128), head, 10);
        assert!(small.take(&add("x-hdr1"), &headers, ("GET", "/")));
        assert!(small.take(&add("x-hdr2"), &headers, ("GET", "/")));
    }
}
