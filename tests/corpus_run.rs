//! `haven run` on every haproxy.cfg of `../shared/corpus` that haproxy
//! 2.6.12 accepts, or refuses only for what its test host lacked (DNS
//! names, certificates): each starts, serves every listener, and warns of
//! no keyword it does not honour but TLS ones. Each runs in a network
//! namespace built by the test, whose loopback holds the config's
//! addresses, whose `/etc/resolv.conf` names a DNS server the test runs
//! there (every name is 127.0.0.2), and whose `/run` is a private tmpfs
//! (pid files and runtime API sockets never touch the host). A config
//! whose listeners name certificates by relative paths runs from a copy
//! beside certificates the test makes (never kept).

// Other lab tests use all of it.
#[path = "support/corpus.rs"]
mod corpus;
#[allow(dead_code)]
mod lab;
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use haven_core::config::haproxy::{parse, ParseOptions, ProxyKind, ServerAddr};
use simple_dns::rdata::{RData, A};
use simple_dns::{Name, Packet, ResourceRecord, CLASS, QTYPE, TYPE};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Notes a config may print, being about TLS (the subject of another
/// issue): what haven's TLS does not offer.
const TLS_NOTES: &[&str] = &["'bind ciphers "];

/// The relative certificate files `text`'s `bind` lines name.
fn certificates(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("bind "))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let named: Vec<String> = words
                .windows(2)
                .filter(|w| w[0] == "crt" && !w[1].starts_with('/'))
                .map(|w| w[1].to_owned())
                .collect();
            named
        })
        .collect()
}

/// `text` copied to `home` as `name`, with a self-signed certificate and
/// its key at each relative path its listeners name: the copy's path.
fn beside_certificates(home: &std::path::Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(home).expect("config home");
    for file in certificates(text) {
        let made = rcgen::generate_simple_self_signed(vec!["svc1.example.com".to_owned()])
            .expect("certificate");
        let pem = made.cert.pem() + &made.signing_key.serialize_pem();
        std::fs::write(home.join(file), pem).expect("write certificate");
    }
    let copy = home.join(name);
    std::fs::write(&copy, text).expect("copy config");
    copy
}

/// The lines of `output` that say something is not supported, but for
/// TLS.
fn unsupported(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.contains("not supported") && !TLS_NOTES.iter().any(|n| l.contains(n)))
        .collect()
}

/// Answers every A query with 127.0.0.2 and every other with no record,
/// on `socket`, on a thread.
fn dns_server(socket: UdpSocket) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let Ok(query) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let Some(q) = query.questions.first() else {
                continue;
            };
            let (name, wants_a) = (q.qname.to_string(), q.qtype == QTYPE::TYPE(TYPE::A));
            let mut reply = query.into_reply();
            if wants_a {
                reply.answers.push(ResourceRecord::new(
                    Name::new_unchecked(&name),
                    CLASS::IN,
                    5,
                    RData::A(A {
                        address: u32::from(Ipv4Addr::new(127, 0, 0, 2)),
                    }),
                ));
            }
            if let Ok(bytes) = reply.build_bytes_vec() {
                let _ = socket.send_to(&bytes, from);
            }
        }
    });
}

/// `/etc/netns/<ns>/`, which `ip netns exec` mounts over `/etc`'s files:
/// removed when dropped.
struct NetnsEtc(PathBuf);

impl Drop for NetnsEtc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The literal addresses `text` binds or sends to, but loopback ones.
fn addresses(text: &str) -> Vec<IpAddr> {
    let Some(cfg) = parse(&[("c.cfg", text)], &ParseOptions::default()).config else {
        return Vec::new();
    };
    let binds = cfg
        .proxies
        .iter()
        .flat_map(|p| &p.binds)
        .filter_map(|b| b.addr);
    let servers = cfg
        .proxies
        .iter()
        .flat_map(|p| &p.servers)
        .filter_map(|s| match s.addr {
            ServerAddr::Ip(ip) => Some(ip),
            ServerAddr::Host(_) | ServerAddr::Unix(_) => None,
        });
    let mut out: Vec<IpAddr> = binds
        .chain(servers)
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// How many listening lines `text`'s frontends make `haven run` print.
fn listeners(text: &str) -> usize {
    parse(&[("c.cfg", text)], &ParseOptions::default())
        .config
        .map_or(0, |cfg| {
            cfg.proxies
                .iter()
                .filter(|p| p.kind != ProxyKind::Backend)
                .map(|p| p.binds.len())
                .sum()
        })
}

/// Whether the config names a `user` or `group` this host lacks (the
/// corpus verdicts come from a host with haproxy's account).
fn missing_account(text: &str) -> Option<String> {
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let (Some(kw), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let exists = match kw {
            "user" => nix::unistd::User::from_name(name).ok().flatten().is_some(),
            "group" => nix::unistd::Group::from_name(name).ok().flatten().is_some(),
            _ => true,
        };
        if !exists {
            return Some(format!("{kw} {name}"));
        }
    }
    None
}

// Input: each corpus haproxy.cfg haproxy accepts (or refuses only for the
// test host's DNS or certificates), run by `haven run -f FILE` as
// described at the top.
// Output: every listener is served within 10 s, the process is still
// running, and no "not supported" warning was printed but TLS ones.
#[test]
fn accepted_corpus_configs_run_with_every_keyword_honoured() {
    let Some(corpus) = corpus::dir() else {
        return;
    };
    if !lab::available() {
        return;
    }
    let mut lab = lab::Lab::new("cr");
    lab.host("h", 1);
    let ns = lab.ns("h");
    let etc = NetnsEtc(PathBuf::from(format!("/etc/netns/{ns}")));
    std::fs::create_dir_all(&etc.0).expect("/etc/netns dir");
    std::fs::write(etc.0.join("resolv.conf"), "nameserver 127.0.0.1\n").expect("resolv.conf");
    // The system's resolver, and docker's, which a `resolvers` section names.
    for at in ["127.0.0.1:53", "127.0.0.11:53"] {
        let socket = lab.inside("h", move || UdpSocket::bind(at).expect("bind dns"));
        dns_server(socket.join().expect("dns socket"));
    }
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).expect("manifest");
    let dir = tempfile::tempdir().expect("tempdir");
    let haven = env!("CARGO_BIN_EXE_haven");
    let mut ran = 0;
    let mut failures = Vec::new();
    for row in manifest.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, verdict, notes) = (cols[0], cols[3], cols.get(5).copied().unwrap_or(""));
        let accepted = verdict.starts_with("valid") || notes.contains("env-only");
        if !file.starts_with("haproxy/") || !accepted {
            continue;
        }
        let mut path = corpus.join(file);
        let text = std::fs::read_to_string(&path).expect("config");
        if let Some(account) = missing_account(&text) {
            eprintln!("{file}: skipped, this host has no '{account}'");
            continue;
        }
        if !certificates(&text).is_empty() {
            let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
            path = beside_certificates(&dir.path().join(format!("home{ran}")), name, &text);
        }
        for ip in addresses(&text) {
            let _ = std::process::Command::new("ip")
                .args(["-n", &ns, "addr", "add", &format!("{ip}/32"), "dev", "lo"])
                .status();
        }
        let script = format!(
            "mount -t tmpfs tmpfs /run && mkdir -p /run/haproxy && if [ -e /dev/log ]; then mount --bind /dev/null /dev/log; fi && exec {haven} run -f {}",
            path.display()
        );
        let log = dir.path().join(format!("{ran}.log"));
        let child = lab.spawn("h", "sh", &["-c", &script], &log);
        let want = listeners(&text);
        let deadline = Instant::now() + Duration::from_secs(10);
        let output = loop {
            let out = std::fs::read_to_string(&log).unwrap_or_default();
            let up = out.matches(" listening on ").count() >= want;
            if up || lab.exited(child) || Instant::now() > deadline {
                break out;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let running = !lab.exited(child);
        let served = output.matches(" listening on ").count();
        if !running || served < want || !unsupported(&output).is_empty() {
            failures.push(format!(
                "{file}: running {running}, {served} of {want} listeners\n{output}"
            ));
        }
        if running {
            lab.signal(child, "-TERM");
        }
        let stopped = Instant::now() + Duration::from_secs(10);
        while !lab.exited(child) && Instant::now() < stopped {
            std::thread::sleep(Duration::from_millis(20));
        }
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} configs ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
