//! `errorfile <status> <file>`: the response haproxy sends instead of its
//! own page for that status. haproxy reads and parses the file with the
//! config, and sends it through its HTTP layer: the status line as
//! written, header names lower-cased, the file's own connection headers
//! replaced by what the connection calls for.

use super::lexer::Word;
use super::parser::Parser;
use crate::config::Form;
use serde::Serialize;

/// The statuses haproxy 2.6 takes an `errorfile` for.
const HANDLED: [u16; 19] = [
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504,
];

/// A page an `errorfile` gives, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorPage {
    /// The status it answers.
    pub status: u16,
    /// The file it was read from.
    pub path: String,
    /// The status line as written, without its line end.
    pub status_line: String,
    /// Headers in order, names lower-cased, without the connection ones.
    pub headers: Vec<(String, String)>,
    /// The body as written.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The client connection closes after it: the file says
    /// `Connection: close`, or gives no `Content-Length`.
    pub closes: bool,
}

impl ErrorPage {
    /// True when the status line says HTTP/1.0 (closing is then implied).
    pub fn http10(&self) -> bool {
        self.status_line.starts_with("HTTP/1.0")
    }

    /// An empty file: haproxy sends nothing and closes the connection.
    pub fn is_silent(&self) -> bool {
        self.status_line.is_empty()
    }

    /// Reads the response in `bytes`, or says where it stops making sense.
    fn parse(status: u16, path: &str, bytes: &[u8]) -> Result<Self, usize> {
        if bytes.is_empty() {
            return Ok(Self {
                status,
                path: path.to_owned(),
                status_line: String::new(),
                headers: Vec::new(),
                body: Vec::new(),
                closes: true,
            });
        }
        let mut slots = [httparse::EMPTY_HEADER; crate::http1::MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        let len = match response.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Err(bytes.len()),
            Err(_) => return Err(0),
        };
        let line_end = bytes.iter().position(|b| *b == b'\n').unwrap_or(0);
        let status_line = String::from_utf8_lossy(&bytes[..line_end])
            .trim_end_matches('\r')
            .to_owned();
        let (mut says_close, mut has_length) = (false, false);
        let mut headers = Vec::new();
        for h in response.headers.iter() {
            let name = h.name.to_ascii_lowercase();
            let value = String::from_utf8_lossy(h.value).into_owned();
            match name.as_str() {
                "connection" => says_close |= value.eq_ignore_ascii_case("close"),
                "keep-alive" | "proxy-connection" => {}
                _ => {
                    has_length |= name == "content-length";
                    headers.push((name, value));
                }
            }
        }
        Ok(Self {
            status,
            path: path.to_owned(),
            status_line,
            headers,
            body: bytes[len..].to_vec(),
            closes: says_close || !has_length,
        })
    }
}

impl Parser<'_> {
    /// One `errorfile` line: the page replaces any earlier one for its
    /// status in this proxy (or the defaults it came from).
    pub(crate) fn errorfile(&mut self, words: &[Word]) {
        let fail = |p: &mut Self, col: u32, what: String| {
            p.error(Form::Parsing, col, format!("errorfile : {what}"));
        };
        let (Some(code), Some(file)) = (words.get(1), words.get(2)) else {
            let what = "expects <status_code> and <file> as arguments.\n".to_owned();
            return fail(self, words[0].col, what);
        };
        let status = super::values::atol(&code.text).clamp(0, i64::from(u16::MAX)) as u16;
        if !HANDLED.contains(&status) {
            return fail(
                self,
                code.col,
                format!("status code '{status}' not handled."),
            );
        }
        // Without a reader (the simulator), the page is not read: nothing
        // is served from it there.
        let Some(read) = self.files() else {
            return;
        };
        let Ok(bytes) = read(&file.text) else {
            let what = format!("error opening file '{}'.", file.text);
            return fail(self, file.col, what);
        };
        match ErrorPage::parse(status, &file.text, &bytes) {
            Ok(page) => {
                let pages = &mut self.draft().proxy.errorfiles;
                pages.retain(|p| p.status != status);
                pages.push(page);
            }
            Err(offset) => {
                let what = format!(
                    "'{}': unable to parse headers (error offset: {offset})",
                    file.text
                );
                fail(self, file.col, what);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_its_status_line_and_drops_connection_headers() {
        let text = b"HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html></html>\n";
        let page = ErrorPage::parse(503, "503.http", text).expect("valid");
        assert_eq!(page.status_line, "HTTP/1.0 503 Service Unavailable");
        assert_eq!(
            page.headers,
            [
                ("cache-control".to_owned(), "no-cache".to_owned()),
                ("content-type".to_owned(), "text/html".to_owned())
            ]
        );
        assert_eq!(page.body, b"<html></html>\n");
        assert!(page.closes && page.http10());
    }

    #[test]
    fn a_page_with_a_length_keeps_the_connection() {
        let text = b"HTTP/1.1 503 Busy\r\nContent-Length: 5\r\n\r\nbusy\n";
        let page = ErrorPage::parse(503, "p", text).expect("valid");
        assert!(!page.closes && !page.http10());
        assert_eq!(ErrorPage::parse(503, "p", b"hostname\n"), Err(0));
        assert!(ErrorPage::parse(408, "/dev/null", b"")
            .expect("silent")
            .is_silent());
    }
}
