//! `haven run` as a process moving bodies far larger than its memory
//! could hold: a 1 GB download and 1 GB uploads (Content-Length and
//! chunked) go through whole, byte for byte, while the process's peak
//! resident memory (VmHWM) grows by less than 16 MB. Every byte is
//! checked against the pattern it was generated from.

#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{eventually, free_port, get, proxy_cfg};

const GIB: u64 = 1 << 30;
/// The most haven's peak memory may grow while moving one body.
const GROWTH_LIMIT_KB: u64 = 16 * 1024;
/// The period of every test body: a prime, so a misplaced block shows.
const PERIOD: usize = 65_521;

/// The block every body repeats, twice over, so that any window of
/// `PERIOD` bytes from a position in the first copy is contiguous.
fn pattern() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    let once: Vec<u8> = (0..PERIOD)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect();
    once.repeat(2)
}

/// Writes `len` bytes of the pattern to `out`.
fn send_pattern(out: &mut impl Write, len: u64, block: &[u8]) -> std::io::Result<()> {
    let mut sent = 0u64;
    while sent < len {
        let at = (sent % PERIOD as u64) as usize;
        let n = (PERIOD as u64).min(len - sent) as usize;
        out.write_all(&block[at..at + n])?;
        sent += n as u64;
    }
    Ok(())
}

/// Checks bytes against the pattern from position `*pos` on.
fn matches_pattern(pos: &mut u64, data: &[u8], block: &[u8]) -> bool {
    let mut rest = data;
    while !rest.is_empty() {
        let at = (*pos % PERIOD as u64) as usize;
        let n = rest.len().min(PERIOD);
        if rest[..n] != block[at..at + n] {
            return false;
        }
        rest = &rest[n..];
        *pos += n as u64;
    }
    true
}

/// Reads a head up to its blank line; its lines, lower-cased.
fn read_head(r: &mut impl BufRead) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            return lines;
        }
        lines.push(line.trim_end().to_ascii_lowercase());
    }
}

/// Reads `len` bytes of body, checking them; how many were right.
fn check_body(r: &mut impl Read, len: u64, block: &[u8], pos: &mut u64) -> bool {
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let Ok(n) = r.read(&mut buf[..want]) else {
            return false;
        };
        if n == 0 || !matches_pattern(pos, &buf[..n], block) {
            return false;
        }
        left -= n as u64;
    }
    true
}

/// A server: `GET /?n=N` answers N pattern bytes (any other GET, none);
/// a POST is read (by
/// its length or its chunks) and answered `ok <bytes>` when every byte
/// was the pattern's, `bad` otherwise. One request per connection.
fn pattern_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

fn serve(stream: TcpStream) {
    let block = pattern();
    let mut reader = BufReader::with_capacity(256 * 1024, stream.try_clone().expect("clone"));
    let mut out = stream;
    let head = read_head(&mut reader);
    let Some(first) = head.first() else {
        return;
    };
    if let Some(target) = first.strip_prefix("get ") {
        let n: u64 = target
            .strip_prefix("/?n=")
            .and_then(|r| r.split(' ').next())
            .map_or(0, |n| n.parse().expect("length"));
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n");
        if out.write_all(head.as_bytes()).is_ok() {
            let _ = send_pattern(&mut out, n, &block);
        }
        return;
    }
    let mut pos = 0;
    let length = head
        .iter()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map(|v| v.parse::<u64>().expect("length"));
    let whole = match length {
        Some(len) => check_body(&mut reader, len, &block, &mut pos),
        None => loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("chunk size");
            let size = u64::from_str_radix(size.trim(), 16).expect("hex size");
            if size == 0 {
                read_head(&mut reader);
                break true;
            }
            if !check_body(&mut reader, size, &block, &mut pos) {
                break false;
            }
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).expect("chunk end");
        },
    };
    let answer = if whole {
        format!("ok {pos}")
    } else {
        "bad".into()
    };
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = out.write_all(reply.as_bytes());
}

/// `haven run` on `port` in front of `server`, killed when dropped.
struct Haven(Child);

impl Haven {
    fn start(port: u16, server: SocketAddr, dir: &std::path::Path) -> Self {
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(&cfg, proxy_cfg(port, server)).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_haven"))
            .args(["run", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haven starts");
        let haven = Self(child);
        eventually("haven answers", || get(port).is_some());
        haven
    }

    /// Peak resident memory so far, in kB (`VmHWM`).
    fn peak_kb(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .expect("VmHWM")
    }
}

impl Drop for Haven {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connection to haven with a generous read timeout.
fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s
}

/// GETs `n` pattern bytes through haven; true when all came right.
fn download(port: u16, n: u64) -> bool {
    let block = pattern();
    let mut s = connect(port);
    let request = format!("GET /?n={n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).expect("request");
    let mut reader = BufReader::with_capacity(256 * 1024, s);
    let head = read_head(&mut reader);
    assert!(head[0].starts_with("http/1.1 200"), "{head:?}");
    assert!(head.contains(&format!("content-length: {n}")), "{head:?}");
    let mut pos = 0;
    check_body(&mut reader, n, &block, &mut pos) && pos == n
}

/// POSTs `n` pattern bytes (chunked in 1 MiB chunks when `chunked`);
/// the server's answer.
fn upload(port: u16, n: u64, chunked: bool) -> String {
    let block = pattern();
    let mut s = connect(port);
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {n}")
    };
    let head = format!("POST /up HTTP/1.1\r\nHost: x\r\n{framing}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).expect("head");
    if chunked {
        let mut chunk_pos = 0u64;
        let mut scratch = Vec::with_capacity(1 << 20);
        while chunk_pos < n {
            let size = (1u64 << 20).min(n - chunk_pos);
            scratch.clear();
            // The chunk's bytes are the pattern's from `chunk_pos` on.
            let mut pos = chunk_pos;
            while (scratch.len() as u64) < size {
                let at = (pos % PERIOD as u64) as usize;
                let take = (PERIOD as u64).min(size - scratch.len() as u64) as usize;
                scratch.extend_from_slice(&block[at..at + take]);
                pos += take as u64;
            }
            s.write_all(format!("{size:x}\r\n").as_bytes())
                .expect("size");
            s.write_all(&scratch).expect("chunk");
            s.write_all(b"\r\n").expect("crlf");
            chunk_pos += size;
        }
        s.write_all(b"0\r\n\r\n").expect("last chunk");
    } else {
        send_pattern(&mut s, n, &block).expect("body");
    }
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or(answer)
}

// Input: haven run in front of a server sending 1 GiB with
// Content-Length; the client reads it all.
// Output: every byte arrives in order, and haven's peak memory grows by
// less than 16 MB over its peak after a small warm-up download.
#[test]
fn a_1gb_download_leaves_haven_memory_flat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let haven = Haven::start(port, pattern_server(), dir.path());
    assert!(download(port, 1_000_000), "warm-up");
    let before = haven.peak_kb();
    assert!(download(port, GIB), "1 GiB arrived whole");
    let growth = haven.peak_kb().saturating_sub(before);
    assert!(
        growth < GROWTH_LIMIT_KB,
        "peak memory grew {growth} kB moving 1 GiB"
    );
}

// Input: haven run in front of a server that checks every byte it reads;
// 1 GiB uploaded with Content-Length, then 1 GiB chunked in 1 MiB chunks.
// Output: the server reads both whole and right, and haven's peak memory
// grows by less than 16 MB.
#[test]
fn uploads_of_1gb_reach_the_server_intact_with_memory_flat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let haven = Haven::start(port, pattern_server(), dir.path());
    assert_eq!(upload(port, 1_000_000, false), "ok 1000000", "warm-up");
    let before = haven.peak_kb();
    assert_eq!(upload(port, GIB, false), format!("ok {GIB}"));
    assert_eq!(upload(port, GIB, true), format!("ok {GIB}"));
    let growth = haven.peak_kb().saturating_sub(before);
    assert!(
        growth < GROWTH_LIMIT_KB,
        "peak memory grew {growth} kB moving 2 GiB up"
    );
}
