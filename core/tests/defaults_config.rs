//! Which `defaults` a proxy takes, as haproxy 2.6 reads them: `from
//! <name>` the whole named section, otherwise the last one above it.

use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::time::Duration;

const TEXT: &str = "defaults slow\n  mode http\n  timeout client 30s\n  timeout server 30s\n  timeout connect 3s\ndefaults\n  mode tcp\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nfrontend named from slow\n  bind 127.0.0.1:1\n  default_backend be\nfrontend last\n  bind 127.0.0.1:2\n  default_backend bt\nbackend be from slow\n  server s 127.0.0.1:3\nbackend bt\n  server s 127.0.0.1:4\n";

// Input: a named `defaults slow` whose settings follow its header, then
// an anonymous `defaults`; one frontend `from slow`, one without.
// Output: `from slow` takes every line of the named section (mode http,
// 30 s); the other takes the last defaults (mode tcp, 1 s); no warning
// about missing timeouts.
#[test]
fn from_takes_the_whole_named_section() {
    let parsed = parse(&[("t.cfg", TEXT)], &ParseOptions::default());
    assert!(
        parsed.diagnostics.iter().next().is_none(),
        "{:?}",
        parsed.diagnostics
    );
    let cfg = parsed.config.expect("valid");
    let client = |i: usize| cfg.proxies[i].timeouts.client;
    let mode = |i: usize| format!("{:?}", cfg.proxies[i].mode);
    assert_eq!(
        (mode(0), client(0)),
        ("Http".into(), Some(Duration::from_secs(30)))
    );
    assert_eq!(
        (mode(1), client(1)),
        ("Tcp".into(), Some(Duration::from_secs(1)))
    );
    assert_eq!(
        cfg.proxies[2].timeouts.connect,
        Some(Duration::from_secs(3))
    );
}

// Input: a `defaults` with `mode http`, `option httplog` and a client
// timeout, then a second `defaults` setting only the other timeouts; a
// `listen` after the second.
// Output: as haproxy 2.6 documents it ("a defaults section resets all
// settings"): the listen takes nothing from the first section: `mode
// tcp`, no httplog, no client timeout.
#[test]
fn a_defaults_section_starts_afresh() {
    let text = "defaults\n  mode http\n  option httplog\n  timeout client 7s\ndefaults\n  timeout server 1s\n  timeout connect 1s\nlisten l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n";
    let cfg = parse(&[("t.cfg", text)], &ParseOptions::default())
        .config
        .expect("valid");
    let l = &cfg.proxies[0];
    assert_eq!(format!("{:?}", l.mode), "Tcp");
    assert!(!l.options.httplog && !l.options.tcplog);
    assert_eq!(l.timeouts.client, None);
}

// Input: `log global` in `defaults`; one listen that says `no log`, one
// that does not; then `no log` with an argument.
// Output: the first has no log target left, the second keeps the one it
// inherited; the argument is refused in haproxy 2.6.12's words.
#[test]
fn no_log_drops_the_inherited_targets() {
    let text = |extra: &str| {
        format!("global\n  log 127.0.0.1:514 local0\ndefaults\n  log global\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nlisten quiet\n  bind 127.0.0.1:1\n  no log{extra}\n  server s 127.0.0.1:2\nlisten loud\n  bind 127.0.0.1:3\n  server s 127.0.0.1:2\n")
    };
    let cfg = parse(&[("t.cfg", &text(""))], &ParseOptions::default())
        .config
        .expect("valid");
    assert!(cfg.proxies[0].logs.is_empty());
    assert_eq!(cfg.proxies[1].logs.len(), 1);
    let refused = parse(&[("t.cfg", &text(" extra"))], &ParseOptions::default());
    let said: Vec<String> = refused
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect();
    assert_eq!(said, ["10: log : 'no log' does not expect arguments"]);
}
