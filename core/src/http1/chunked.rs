//! Decoding a `Transfer-Encoding: chunked` body, byte by byte, strictly:
//! CRLF line ends, at most 16 hex digits of size; trailers skipped, or
//! kept for a body that goes on as HTTP/2.

use super::head::read_fields;
use super::{Fields, MAX_HEADERS};

/// The most trailer bytes a decoder keeps (haproxy's trailers must fit
/// in a buffer too).
const MAX_TRAILERS: usize = 16_384;

/// Why a chunked body is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// Not chunked syntax.
    #[error("invalid chunked encoding")]
    Syntax,
    /// A chunk size that does not fit.
    #[error("chunk size too large")]
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Reading the hex size; `digits` read so far.
    #[default]
    Size,
    /// Skipping a chunk extension up to CR.
    Extension,
    /// After the size line's CR.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// After chunk data: CR expected.
    DataCr,
    /// After chunk data's CR.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// After a trailer line's CR.
    TrailerLf,
    /// After the final empty line's CR.
    EndLf,
    /// The body is complete.
    Done,
}

/// Incremental chunked decoder.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    digits: u8,
    /// The trailer lines read, when they are kept.
    trailers: Option<Vec<u8>>,
}

impl ChunkedDecoder {
    /// A decoder that keeps the trailer fields ([`ChunkedDecoder::trailers`]).
    pub fn keeping_trailers() -> Self {
        Self {
            trailers: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// The trailer fields read (none unless kept), names lower-cased.
    pub fn trailers(&self) -> Result<Fields, ChunkError> {
        let Some(lines) = self.trailers.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(Fields::default());
        };
        let block = [lines, b"\r\n"].concat();
        let mut parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::parse_headers(&block, &mut parsed) {
            Ok(httparse::Status::Complete((_, fields))) => Ok(read_fields(fields, lines.len())),
            _ => Err(ChunkError::Syntax),
        }
    }

    /// True once the last chunk and trailers were read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, appending data to `out`; returns how many
    /// bytes were consumed (fewer than `input.len()` only once done).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkError> {
        self.walk(input, |data| out.extend_from_slice(data))
    }

    /// Follows the encoding through `input` without copying anything, for
    /// a body forwarded as it was sent: how many bytes of `input` belong
    /// to the body (fewer than `input.len()` only once done).
    pub fn scan(&mut self, input: &[u8]) -> Result<usize, ChunkError> {
        self.walk(input, |_| {})
    }

    fn walk(&mut self, input: &[u8], mut data: impl FnMut(&[u8])) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            let b = input[i];
            if self.state == State::Data {
                let take = (input.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                data(&input[i..i + take]);
                self.size -= take as u64;
                i += take;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let before = self.state;
            self.state = self.step(b)?;
            if let Some(kept) = &mut self.trailers {
                let in_line = matches!(self.state, State::Trailer | State::TrailerLf)
                    || before == State::TrailerLf;
                if in_line {
                    if kept.len() == MAX_TRAILERS {
                        return Err(ChunkError::TooLarge);
                    }
                    kept.push(b);
                }
            }
            i += 1;
        }
        Ok(i)
    }

    fn step(&mut self, b: u8) -> Result<State, ChunkError> {
        let expect = |want: u8, next: State| {
            if b == want {
                Ok(next)
            } else {
                Err(ChunkError::Syntax)
            }
        };
        match self.state {
            State::Size => match (b as char).to_digit(16) {
                Some(d) => {
                    if self.digits == 16 {
                        return Err(ChunkError::TooLarge);
                    }
                    self.digits += 1;
                    self.size = self.size << 4 | u64::from(d);
                    Ok(State::Size)
                }
                None if self.digits == 0 => Err(ChunkError::Syntax),
                None => match b {
                    b';' | b' ' | b'\t' => Ok(State::Extension),
                    b'\r' => Ok(State::SizeLf),
                    _ => Err(ChunkError::Syntax),
                },
            },
            State::Extension => match b {
                b'\r' => Ok(State::SizeLf),
                b'\n' => Err(ChunkError::Syntax),
                _ => Ok(State::Extension),
            },
            State::SizeLf => {
                let next = if self.size == 0 {
                    State::TrailerStart
                } else {
                    State::Data
                };
                self.digits = 0;
                expect(b'\n', next)
            }
            State::DataCr => expect(b'\r', State::DataLf),
            State::DataLf => expect(b'\n', State::Size),
            State::TrailerStart => match b {
                b'\r' => Ok(State::EndLf),
                b'\n' => Err(ChunkError::Syntax),
                _ => Ok(State::Trailer),
            },
            State::Trailer => match b {
                b'\r' => Ok(State::TrailerLf),
                b'\n' => Err(ChunkError::Syntax),
                _ => Ok(State::Trailer),
            },
            State::TrailerLf => expect(b'\n', State::TrailerStart),
            State::EndLf => expect(b'\n', State::Done),
            State::Data | State::Done => Ok(self.state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
        let mut d = ChunkedDecoder::default();
        let mut out = Vec::new();
        let n = d.feed(input, &mut out)?;
        Ok((out, n, d.is_done()))
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        let body = b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let (out, n, done) = decode(body).expect("valid");
        assert_eq!(out, b"hello world");
        assert!(done);
        assert_eq!(&body[n..], b"NEXT");
    }

    #[test]
    fn kept_trailers_are_read_as_fields_however_the_bytes_come() {
        let body = b"3\r\nabc\r\n0\r\nGrpc-Status: 0\r\nx-t:  a b \r\n\r\nNEXT";
        for split in 0..body.len() - 4 {
            let mut d = ChunkedDecoder::keeping_trailers();
            let mut out = Vec::new();
            let first = d.feed(&body[..split], &mut out).expect("valid");
            d.feed(&body[first..], &mut out).expect("valid");
            assert!(d.is_done());
            let trailers = d.trailers().expect("valid trailers");
            let got: Vec<(&str, &[u8])> = trailers.iter().collect();
            assert_eq!(
                got,
                [("grpc-status", &b"0"[..]), ("x-t", b"a b")],
                "split at {split}"
            );
        }
        let mut none = ChunkedDecoder::keeping_trailers();
        none.feed(b"0\r\n\r\n", &mut Vec::new()).expect("valid");
        assert!(none.trailers().expect("valid").is_empty());
        let mut skipped = ChunkedDecoder::default();
        skipped.feed(body, &mut Vec::new()).expect("valid");
        assert!(skipped.trailers().expect("none kept").is_empty());
        let mut bad = ChunkedDecoder::keeping_trailers();
        bad.feed(b"0\r\nno colon\r\n\r\n", &mut Vec::new())
            .expect("chunk syntax");
        assert_eq!(bad.trailers().map(|_| ()), Err(ChunkError::Syntax));
        let mut huge = ChunkedDecoder::keeping_trailers();
        let mut flood = b"0\r\n".to_vec();
        flood.extend(std::iter::repeat_n(b'a', MAX_TRAILERS + 1));
        assert_eq!(
            huge.feed(&flood, &mut Vec::new()),
            Err(ChunkError::TooLarge)
        );
    }

    #[test]
    fn byte_at_a_time_gives_the_same_result() {
        let body = b"A\r\n0123456789\r\n0\r\n\r\n";
        let mut d = ChunkedDecoder::default();
        let mut out = Vec::new();
        for b in body {
            assert_eq!(d.feed(std::slice::from_ref(b), &mut out), Ok(1));
        }
        assert!(d.is_done());
        assert_eq!(out, b"0123456789");
    }

    #[test]
    fn malformed_chunks_are_refused() {
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello",
            b"5\r\nhelloX",
            b"\r\n",
            b"0\r\n\n",
        ] {
            assert_eq!(decode(bad).map(|_| ()), Err(ChunkError::Syntax), "{bad:?}");
        }
        assert_eq!(
            decode(b"11111111111111111\r\n").map(|_| ()),
            Err(ChunkError::TooLarge)
        );
    }

    #[test]
    fn scanning_finds_the_same_end_as_decoding() {
        let body = b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let end = body.len() - b"NEXT".len();
        for split in 0..end {
            let mut d = ChunkedDecoder::default();
            let first = d.scan(&body[..split]).expect("valid");
            assert_eq!(first, split);
            let rest = d.scan(&body[split..]).expect("valid");
            assert!(d.is_done());
            assert_eq!(&body[split + rest..], b"NEXT");
        }
        assert_eq!(
            ChunkedDecoder::default().scan(b"5\nhello"),
            Err(ChunkError::Syntax)
        );
    }

    #[test]
    fn an_unfinished_body_is_not_done() {
        let (out, _, done) = decode(b"5\r\nhel").expect("valid");
        assert_eq!((out.as_slice(), done), (&b"hel"[..], false));
    }
}
