//! Servers added at run time (the runtime API's `add server`), as haproxy
//! 2.6 takes them (its reg-test `server/cli_add_server.vtc` in core
//! form): the refusals in haproxy's words, a new server in maintenance
//! until enabled, and one with a keyword haven does not honour held there.

use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::node::{AddRefused, Node};
use haven_core::proxy::{AdminAction, Output};
use haven_core::route::RequestHead;
use haven_core::sample::HeaderView;
use haven_core::time::Instant;
use haven_core::vrrp::HostInfo;

const CFG: &str = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend fe\n  bind :80\n  default_backend test\nbackend test\n  balance random\nbackend other\n  balance static-rr\nbackend other2\n  balance random\n  mode tcp\nbackend rr\n  server a 127.0.0.1:1\nfrontend fe2\n  bind :81\n  default_backend rr\n";

fn node() -> Node {
    let parsed = parse(&[("t.cfg", CFG)], &ParseOptions::default());
    let cfg = parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
    let mut node = Node::new(Some(cfg), None, HostInfo::default()).expect("node");
    node.start_haproxy(Instant::ZERO);
    node
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// The server the next request on `frontend` goes to.
fn served_by(node: &mut Node, frontend: usize, id: u64) -> Option<(usize, usize)> {
    let (flow, mut t) = node.flow().expect("haproxy");
    let head = RequestHead {
        method: "GET",
        uri: "/",
        headers: HeaderView::Pairs(&[]),
        client: None,
        payload: &[],
        around: Default::default(),
    };
    let client = "10.0.0.1".parse().expect("ip");
    flow.handle_request(Instant::ZERO, id, frontend, &head, client, &mut t);
    std::iter::from_fn(|| flow.poll_output()).find_map(|o| match o {
        Output::Connect {
            backend, server, ..
        } => Some((backend, server)),
        _ => None,
    })
}

// Input: the reg-test's refused commands.
// Output: haproxy's words, refusals before the line is read, alerts after.
#[test]
fn refusals_are_haproxys() {
    let mut n = node();
    let mut add = |backend: &str, name: &str, line: &str| {
        n.add_server(Instant::ZERO, backend, name, &words(line))
            .map(|a| a.server)
    };
    assert_eq!(
        add("foo", "s1", "127.0.0.1:80"),
        Err(AddRefused::Refused("No such backend."))
    );
    assert_eq!(
        add("other", "s1", "127.0.0.1:80"),
        Err(AddRefused::Refused(
            "Backend must use a dynamic load balancing to support dynamic servers."
        ))
    );
    let alert = |m: &str| Err(AddRefused::Alert(m.to_owned()));
    assert_eq!(
        add("test", "s1", ""),
        alert("'server' expects <name> and <addr>[:<port>] as arguments.")
    );
    assert_eq!(
        add("other2", "s1", "127.0.0.1:80 proto h2"),
        alert("MUX protocol is not usable for server.")
    );
    assert_eq!(
        add("test", "s1", "127.0.0.1:80 bogus"),
        alert("unknown keyword 'bogus'.")
    );
    assert_eq!(add("test", "s1", "127.0.0.1:80"), Ok(0));
    assert_eq!(
        add("test", "s1", "127.0.0.1:81"),
        alert("Already exists a server with the same name in backend.")
    );
    assert_eq!(add("rr", "b", "127.0.0.1:2 weight 3"), Ok(1));
}

// Input: a server added to an empty backend, then enabled; one added with
// `proto fcgi` (not honoured).
// Output: 503 territory (no server) until it is enabled, then it serves;
// the FastCGI one is added but core holds it in maintenance; one on a
// unix socket is added with its path.
#[test]
fn a_new_server_serves_once_enabled() {
    let mut n = node();
    let added = n
        .add_server(Instant::ZERO, "test", "s1", &words("127.0.0.1:8080"))
        .expect("added");
    assert_eq!((added.backend, added.server), (1, 0));
    assert_eq!(added.addr, "127.0.0.1:8080".parse().expect("addr"));
    assert_eq!(served_by(&mut n, 0, 1), None, "in maintenance at first");
    {
        let (flow, mut t) = n.flow().expect("haproxy");
        flow.set_admin(Instant::ZERO, 1, 0, AdminAction::Ready, &mut t);
    }
    assert_eq!(served_by(&mut n, 0, 2), Some((1, 0)));
    let fcgi = n
        .add_server(
            Instant::ZERO,
            "test",
            "s2",
            &words("127.0.0.1:8081 proto fcgi"),
        )
        .expect("added");
    assert_eq!(fcgi.not_honoured, ["server proto fcgi"]);
    let held = n.held_in_maintenance(1, 1).expect("held");
    assert!(held.contains("server proto fcgi"), "{held}");
    assert_eq!(n.held_in_maintenance(1, 0), None);
    let cfg = n.haproxy_config().expect("config");
    let names: Vec<&str> = cfg.proxies[1]
        .servers
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["s1", "s2"], "the stats and the logs see them");
    let unix = n
        .add_server(Instant::ZERO, "test", "s3", &words("/run/app.sock"))
        .expect("added");
    let cfg = n.haproxy_config().expect("config");
    let reached = match &cfg.proxies[1].servers[unix.server].addr {
        haven_core::config::haproxy::ServerAddr::Unix(path) => path.to_string(),
        other => format!("{other:?}"),
    };
    assert_eq!(reached, "/run/app.sock", "reached by its path");
}

// Input: a weight-3 server added to a round-robin backend beside a
// weight-1 one, then enabled.
// Output: round robin takes it in at its weight: three picks in four.
#[test]
fn round_robin_takes_a_new_server_at_its_weight() {
    let mut n = node();
    let b = n
        .add_server(Instant::ZERO, "rr", "b", &words("127.0.0.1:2 weight 3"))
        .expect("added");
    {
        let (flow, mut t) = n.flow().expect("haproxy");
        flow.set_admin(
            Instant::ZERO,
            b.backend,
            b.server,
            AdminAction::Ready,
            &mut t,
        );
    }
    let picks: Vec<usize> = (10..18)
        .filter_map(|id| served_by(&mut n, 5, id))
        .map(|(_, s)| s)
        .collect();
    assert_eq!(picks.len(), 8);
    assert_eq!(picks.iter().filter(|s| **s == 1).count(), 6, "{picks:?}");
}
