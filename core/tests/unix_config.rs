//! Unix socket addresses as haproxy reads them in `bind` and `server`
//! lines: `/path`, `unix@path`, `abns@name`, with `mode` on the bind.

use haven_core::config::haproxy::{parse, ParseOptions, ServerAddr, UnixAddr};

// Input: binds on `/run/a.sock mode 660`, `unix@rel.sock`, `abns@name`
// and an IP address given `mode`; servers on the same three forms.
// Output: each bind listens on its unix address (the mode kept where
// given, octal); the IP bind's `mode` is noted as not honoured; each
// server's address is its unix socket, shown as haproxy shows it.
#[test]
fn binds_and_servers_read_unix_addresses() {
    let text = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend fe\n  bind /run/a.sock mode 660\n  bind unix@rel.sock\n  bind abns@name\n  bind 127.0.0.1:8080 mode 600\n  default_backend be\nbackend be\n  server a /run/app.sock\n  server b unix@app.sock\n  server c abns@app\n";
    let parsed = parse(&[("t.cfg", text)], &ParseOptions::default());
    assert!(parsed.diagnostics.errors().next().is_none());
    let cfg = parsed.config.expect("valid");
    let binds: Vec<_> = cfg.proxies[0]
        .binds
        .iter()
        .map(|b| (b.unix.clone(), b.mode))
        .collect();
    assert_eq!(
        binds,
        [
            (Some(UnixAddr::Path("/run/a.sock".into())), Some(0o660)),
            (Some(UnixAddr::Path("rel.sock".into())), None),
            (Some(UnixAddr::Abstract("name".into())), None),
            (None, None),
        ]
    );
    let noted: Vec<_> = cfg.unsupported.iter().map(|u| u.what.as_str()).collect();
    assert_eq!(noted, ["bind mode"]);
    let servers: Vec<String> = cfg.proxies[1]
        .servers
        .iter()
        .map(|s| match &s.addr {
            ServerAddr::Unix(unix) => unix.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(servers, ["/run/app.sock", "app.sock", "abns@app"]);
}
