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

// Input: `default-path origin /errors` in global, then an errorfile named
// by a relative path; the same config read as `/errors/t.cfg` with
// `default-path config`; and with no default path.
// Output: both default paths lead the relative name to `/errors/503.http`;
// without one it is read as named, and does not open.
#[test]
fn default_path_leads_relative_files() {
    let tail = "defaults\n  mode http\n  errorfile 503 503.http\n";
    let opts = ParseOptions {
        files: Some(files),
        ..Default::default()
    };
    let origin = format!("global\n  default-path origin /errors\n{tail}");
    let config = format!("global\n  default-path config\n{tail}");
    for (name, text) in [("t.cfg", &origin), ("/errors/t.cfg", &config)] {
        let parsed = parse(&[(name, text)], &opts);
        let cfg = parsed.config.expect("the page opens");
        assert_eq!(cfg.proxies.len(), 0);
        assert!(parsed.diagnostics.iter().next().is_none());
    }
    let none = parse(&[("/errors/t.cfg", tail)], &opts);
    assert!(none.config.is_none(), "read from the working directory");
}
