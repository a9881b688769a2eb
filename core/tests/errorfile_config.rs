//! `errorfile` as haproxy 2.6 reads it: the status must be one it
//! generates, the file must open and parse as a response, a proxy's own
//! page replaces the one it inherits.

use haven_core::config::haproxy::{parse, ParseOptions};

/// Reads the two files the tests name; any other path fails to open.
fn files(path: &str) -> std::io::Result<Vec<u8>> {
    match path {
        "/errors/503.http" => Ok(
            b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<h1>503</h1>\n"
                .to_vec(),
        ),
        "/errors/own.http" => Ok(b"HTTP/1.1 503 Busy\r\nContent-Length: 5\r\n\r\nbusy\n".to_vec()),
        "/errors/garbage" => Ok(b"not a response\n".to_vec()),
        _ => Err(std::io::ErrorKind::NotFound.into()),
    }
}

fn read(text: &str) -> haven_core::config::Parsed<haven_core::config::haproxy::HaproxyConfig> {
    let opts = ParseOptions {
        files: Some(files),
        ..Default::default()
    };
    parse(&[("t.cfg", text)], &opts)
}

// Input: a 503 page in defaults, a backend with its own 503 page, one
// without.
// Output: the own page replaces the inherited one; the other keeps it.
#[test]
fn a_proxy_page_replaces_the_inherited_one() {
    let parsed = read("defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n  errorfile 503 /errors/503.http\nbackend own\n  errorfile 503 /errors/own.http\nbackend inherits\n");
    let cfg = parsed.config.expect("valid");
    let line = |i: usize| cfg.proxies[i].errorfiles[0].status_line.clone();
    assert_eq!(cfg.proxies[0].errorfiles.len(), 1);
    assert_eq!(line(0), "HTTP/1.1 503 Busy");
    assert_eq!(line(1), "HTTP/1.0 503 Service Unavailable");
}

// Input: a status haproxy does not generate, a file that does not open,
// one that is not a response, a line without its file.
// Output: haproxy's four errors, each at its line.
#[test]
fn bad_errorfiles_are_refused_in_haproxys_words() {
    let parsed = read("backend b\n  errorfile 999 /errors/503.http\n  errorfile 503 /nowhere\n  errorfile 502 /errors/garbage\n  errorfile 503\n");
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect();
    assert_eq!(
        errors,
        [
            "2: errorfile : status code '999' not handled.",
            "3: errorfile : error opening file '/nowhere'.",
            "4: errorfile : '/errors/garbage': unable to parse headers (error offset: 0)",
            "5: errorfile : expects <status_code> and <file> as arguments.\n",
        ]
    );
    assert!(parsed.config.is_none());
}
