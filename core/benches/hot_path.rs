//! The per-request hot path: route a request by Host (the book's three
//! ACLs) and pick a server with roundrobin, for 2, 10 and 100 servers;
//! and the timer queue's work for one proxied request.
//! Run: `cargo bench -p haven-core --bench hot_path`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use haven_core::balance::{Balancer, PickKey};
use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::node::NodeTimer;
use haven_core::proxy::Timer;
use haven_core::route::{route, RequestHead};
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
            headers: &headers,
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

criterion_group!(benches, route_and_pick, scheduler);
criterion_main!(benches);
