//! The per-request hot path: route a request by Host (the book's three
//! ACLs) and pick a server with roundrobin, for 2, 10 and 100 servers;
//! the rule engine on ten typical rules (bench/lib.sh's, the `rules`
//! variant of bench/proxy.sh); and the timer queue's work for one
//! proxied request.
//! Run: `cargo bench -p haven-core --bench hot_path`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use haven_core::balance::{Balancer, PickKey};
use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::http_rules::{Names, ResponseDraft, Txn};
use haven_core::node::NodeTimer;
use haven_core::proxy::Timer;
use haven_core::route::{route, RequestHead};
use haven_core::sample::HeaderView;
use haven_core::sched::Scheduler;
use haven_core::time::{Duration, Instant};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

fn config(servers: usize) -> String {
    let mut text = String::from(
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
         frontend www\n  bind *:80\n\
         \x20 acl host_www hdr_dom(host) -i www.zb.com\n\
         \x20 acl host_static hdr_dom(host) -i static.zb.com\n\
         \x20 acl host_video hdr_dom(host) -i video.zb.com\n\
         \x20 use_backend server_static if host_static\n\
         \x20 use_backend server_video if host_video\n\
         \x20 use_backend server_www if host_www\n\
         backend server_static\nbackend server_video\nbackend server_www\n  balance roundrobin\n",
    );
    for i in 0..servers {
        text.push_str(&format!(
            "  server s{i} 10.0.{}.{}:80 weight {} check\n",
            i / 250,
            i % 250 + 1,
            i % 7 + 1
        ));
    }
    text
}

fn route_and_pick(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_and_pick");
    for n in [2usize, 10, 100] {
        let text = config(n);
        let parsed = parse(&[("bench.cfg", &text)], &ParseOptions::default());
        let cfg = parsed.config.expect("bench config parses");
        let fe = cfg.frontend("www").expect("frontend");
        let mut lb = Balancer::new(cfg.backend("server_www").expect("backend"));
        let headers = [
            ("User-Agent", "bench/1.0"),
            ("Accept", "*/*"),
            ("Host", "www.zb.com"),
        ];
        let head = RequestHead {
            method: "GET",
            uri: "/index.html",
            headers: HeaderView::Pairs(&headers),
            client: None,
            payload: &[],
            around: Default::default(),
        };
        let key = PickKey {
            client: IpAddr::V4(Ipv4Addr::new(192, 168, 66, 100)),
            uri: "/index.html",
        };
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let backend = route(&cfg.proxies, fe, black_box(&head));
                let server = lb.pick(key, None);
                black_box((backend, server))
            })
        });
    }
    group.finish();
}

/// The ten typical rules of bench/lib.sh on a request none of them
/// stops: the request phase, routing, then the response phase.
fn rule_engine(c: &mut Criterion) {
    let text = "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
        frontend fe\n  bind *:80\n\
        \x20 acl is_api path_beg /api\n\
        \x20 acl is_static path_end .css .js .png\n\
        \x20 acl bad_bot hdr_sub(user-agent) -i badbot\n\
        \x20 acl internal src 10.0.0.0/8\n\
        \x20 http-request deny if bad_bot\n\
        \x20 http-request redirect scheme https code 301 if { hdr(x-forwarded-proto) -m str http }\n\
        \x20 http-request set-header X-Forwarded-Host %[req.hdr(host),lower]\n\
        \x20 http-request del-header X-Debug\n\
        \x20 http-request set-var(txn.path) path\n\
        \x20 http-request set-header X-Internal yes if internal\n\
        \x20 http-response set-header X-Frame-Options DENY\n\
        \x20 http-response set-header X-Path %[var(txn.path)] if { var(txn.path) -m beg /api }\n\
        \x20 use_backend be if is_api || is_static\n\
        \x20 default_backend be\n\
        backend be\n  server s1 10.0.0.1:80\n";
    let parsed = parse(&[("bench.cfg", text)], &ParseOptions::default());
    let cfg = parsed.config.expect("bench config parses");
    let fe = cfg.frontend("fe").expect("frontend");
    let headers = [
        ("Host", "WWW.Example.com"),
        ("User-Agent", "bench/1.0"),
        ("Accept", "*/*"),
    ];
    let head = RequestHead {
        method: "GET",
        uri: "/api/items?page=2",
        headers: HeaderView::Pairs(&headers),
        client: Some(IpAddr::V4(Ipv4Addr::new(192, 168, 66, 100))),
        payload: &[],
        around: Default::default(),
    };
    let names = Names {
        frontend: "fe",
        ..Names::default()
    };
    c.bench_function("rule_engine_ten_rules", |b| {
        b.iter(|| {
            let mut txn = Txn::new(black_box(&head));
            let answer = txn.request_phase(fe, names);
            let backend = txn.with_view(names, None, |req| route(&cfg.proxies, fe, req));
            let headers = [("content-length", "3")].into_iter().collect();
            let mut res = ResponseDraft::new(200, headers, Default::default());
            txn.run_response(fe, &fe.http_response, names, &mut res);
            black_box((answer, backend, res.edits.len(), txn.edits.len()))
        })
    });
}

/// One request's timers as the flow arms them (`timeout connect`, armed
/// then cancelled; `timeout server`, armed), the server timer of the
/// request `inflight` before it cancelled (so `inflight` of them stay
/// armed), and a look for a due timer (none is).
fn scheduler(c: &mut Criterion) {
    let mut group = c.benchmark_group("scheduler_request");
    for inflight in [8u64, 1000] {
        let mut s = Scheduler::new();
        let mut now = Instant::ZERO;
        let step = Duration::from_micros(1);
        for id in 0..inflight {
            s.arm(
                NodeTimer::Proxy(Timer::Server(id)),
                now + Duration::from_secs(30),
            );
        }
        let mut id = inflight;
        group.bench_with_input(BenchmarkId::from_parameter(inflight), &inflight, |b, _| {
            b.iter(|| {
                now += step;
                s.arm(
                    NodeTimer::Proxy(Timer::Connect(id)),
                    now + Duration::from_secs(5),
                );
                s.cancel(&NodeTimer::Proxy(Timer::Connect(id)));
                s.arm(
                    NodeTimer::Proxy(Timer::Server(id)),
                    now + Duration::from_secs(30),
                );
                s.cancel(&NodeTimer::Proxy(Timer::Server(id - inflight)));
                id += 1;
                black_box(s.pop_due(now))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, route_and_pick, rule_engine, scheduler);
criterion_main!(benches);
