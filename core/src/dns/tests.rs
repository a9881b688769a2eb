use super::*;
use crate::config::haproxy::{parse, ParseOptions};
use crate::time::Duration;
use simple_dns::rdata::{RData, A};
use simple_dns::{Name, Packet, ResourceRecord, CLASS, RCODE};

const NS: &str = "127.0.0.1:5353";

fn resolution(server_line: &str, start: Option<IpAddr>) -> Resolution {
    let text = format!(
        "resolvers dns\n    nameserver ns1 {NS}\n    hold valid 2s\n    hold nx 3s\n    resolve_retries 2\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nbackend be\n    {server_line}\n"
    );
    let cfg = parse(&[("t.cfg", &text)], &ParseOptions::default())
        .config
        .expect("valid");
    Resolution::new(&cfg, &[], &|_, _| start, Instant::ZERO, 42)
}

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(secs * 1000)
}

/// The nameserver's answer to `query`: its addresses, or NXDOMAIN.
fn answer(query: &Query, addrs: &[&str]) -> Vec<u8> {
    let asked = Packet::parse(&query.bytes).expect("a query");
    let name = asked.questions[0].qname.to_string();
    let mut reply = asked.into_reply();
    if addrs.is_empty() {
        *reply.rcode_mut() = RCODE::NameError;
    }
    for a in addrs {
        let ip: std::net::Ipv4Addr = a.parse().expect("ip");
        reply.answers.push(ResourceRecord::new(
            Name::new_unchecked(&name),
            CLASS::IN,
            5,
            RData::A(A {
                address: u32::from(ip),
            }),
        ));
    }
    reply.build_bytes_vec().expect("built")
}

fn ns() -> SocketAddr {
    NS.parse().expect("addr")
}

// Input: `init-addr none`, `resolve-prefer ipv4`; the nameserver answers
// 10.0.0.1, then 10.0.0.2 at the next resolution (2 s later, `hold
// valid`).
// Output: the server gets its address and leaves maintenance, then
// changes address, as haproxy's three then one log lines say.
#[test]
fn answers_give_and_change_the_address() {
    let mut r = resolution(
        "server s app1:80 resolvers dns resolve-prefer ipv4 init-addr none",
        None,
    );
    let (queries, changes) = r.poll(at(0));
    assert!(changes.is_empty());
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].to, ns());
    let (more, changes) = r.receive(at(0), ns(), &answer(&queries[0], &["10.0.0.1"]));
    assert!(more.is_empty());
    assert_eq!(
        changes,
        [
            Change::Address {
                backend: 0,
                server: 0,
                from: None,
                to: "10.0.0.1".parse().expect("ip"),
                by: "dns/ns1".into()
            },
            Change::Resolves {
                backend: 0,
                server: 0,
                host: "app1".into()
            }
        ]
    );
    assert_eq!(r.next_wakeup(), Some(at(2)));
    assert!(r.poll(at(1)).0.is_empty());
    let (queries, _) = r.poll(at(2));
    // The same address again changes nothing; a new one replaces it.
    let (_, same) = r.receive(at(2), ns(), &answer(&queries[0], &["10.0.0.3", "10.0.0.1"]));
    assert!(same.is_empty());
    let (queries, _) = r.poll(at(4));
    let (_, changed) = r.receive(at(4), ns(), &answer(&queries[0], &["10.0.0.2"]));
    assert_eq!(
        changed,
        [Change::Address {
            backend: 0,
            server: 0,
            from: Some("10.0.0.1".parse().expect("ip")),
            to: "10.0.0.2".parse().expect("ip"),
            by: "dns/ns1".into()
        }]
    );
}

// Input: a server resolved at start; from 2 s on the name does not exist
// (`hold nx 3s`), whichever family is asked.
// Output: each NX for the preferred family asks the other; the server
// keeps its address until 3 s have passed since the last good answer,
// then goes into maintenance (once).
#[test]
fn nx_past_its_hold_puts_the_server_in_maintenance() {
    let mut r = resolution(
        "server s app1:80 resolvers dns resolve-prefer ipv4",
        Some("10.0.0.1".parse().expect("ip")),
    );
    let (q, _) = r.poll(at(0));
    let (_, c) = r.receive(at(0), ns(), &answer(&q[0], &["10.0.0.1"]));
    assert!(c.is_empty(), "the start's address stands");
    let (q, _) = r.poll(at(2));
    let (other, c) = r.receive(at(2), ns(), &answer(&q[0], &[]));
    assert!(c.is_empty());
    assert_eq!(other.len(), 1, "the other family is asked");
    let (none, c) = r.receive(at(2), ns(), &answer(&other[0], &[]));
    assert!(none.is_empty() && c.is_empty(), "within hold nx");
    let (q, _) = r.poll(at(4));
    let (other, _) = r.receive(at(4), ns(), &answer(&q[0], &[]));
    let (_, c) = r.receive(at(4), ns(), &answer(&other[0], &[]));
    assert_eq!(
        c,
        [Change::Lost {
            backend: 0,
            server: 0,
            status: "DNS NX status"
        }]
    );
    let (q, _) = r.poll(at(6));
    let (other, _) = r.receive(at(6), ns(), &answer(&q[0], &[]));
    assert!(r.receive(at(6), ns(), &answer(&other[0], &[])).1.is_empty());
}

// Input: a nameserver that never answers (`resolve_retries 2`, `timeout
// retry` 1 s), and an answer from an address that is not the section's
// nameserver.
// Output: the query is sent twice, then the resolution times out; the
// stranger's answer is ignored.
#[test]
fn silence_is_retried_then_times_out() {
    let mut r = resolution("server s app1:80 resolvers dns init-addr none", None);
    let (q, _) = r.poll(at(0));
    assert_eq!(q.len(), 1);
    let stranger: SocketAddr = "127.0.0.2:5353".parse().expect("addr");
    assert!(r
        .receive(at(0), stranger, &answer(&q[0], &["10.0.0.9"]))
        .1
        .is_empty());
    let (again, _) = r.poll(at(1));
    assert_eq!(again, q, "the same query, sent again");
    let (none, changes) = r.poll(at(2));
    assert!(none.is_empty());
    assert!(changes.is_empty(), "no address to lose");
    assert_eq!(r.next_wakeup(), Some(at(4)));
}

// Input: `server-template web 3 app1:80` (three servers resolving one
// name, `init-addr none`); the answer holds two addresses.
// Output: the first two servers take one address each, in order; the
// third, with no address left, stays in maintenance.
#[test]
fn template_servers_spread_over_the_answer() {
    let mut r = resolution(
        "server-template web 3 app1:80 resolvers dns resolve-prefer ipv4 init-addr none",
        None,
    );
    let (queries, _) = r.poll(at(0));
    assert_eq!(queries.len(), 3, "one query per server");
    let mut got = Vec::new();
    for q in &queries {
        let (_, changes) = r.receive(at(0), ns(), &answer(q, &["10.0.0.1", "10.0.0.2"]));
        got.push(changes.iter().find_map(|c| match c {
            Change::Address { server, to, .. } => Some((*server, to.to_string())),
            _ => None,
        }));
    }
    assert_eq!(
        got,
        [
            Some((0, "10.0.0.1".to_owned())),
            Some((1, "10.0.0.2".to_owned())),
            None
        ]
    );
}

// Input: `hold obsolete 0s` (haproxy's default) and `hold obsolete 30s`.
// Output: the first is honoured as is; the second is named as changing
// traffic (haven moves servers off a dropped address at once).
#[test]
fn a_held_obsolete_address_is_named() {
    let read = |hold: &str| {
        let text = format!("resolvers dns\n    nameserver ns1 {NS}\n    hold obsolete {hold}\n");
        let cfg = parse(&[("t.cfg", &text)], &ParseOptions::default())
            .config
            .expect("valid");
        cfg.unsupported
            .iter()
            .map(|u| (u.what.clone(), u.gap.impact))
            .collect::<Vec<_>>()
    };
    assert!(read("0s").is_empty());
    assert_eq!(
        read("30s"),
        [(
            "resolvers hold obsolete".to_owned(),
            crate::config::support::Impact::Traffic
        )]
    );
}
