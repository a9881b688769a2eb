//! What TLS costs clients that open a connection per request: the
//! handshake's round trips (2 one-way trips more for TLS 1.3, 4 for TLS
//! 1.2) and the proxy's CPU for each handshake, one at a time, so that a
//! rate beyond what one CPU can shake hands with queues.

#![allow(clippy::disallowed_methods)]

use haven_sim::{load, run};

/// Latency figures (mean, max in ms; failed requests) of one load
/// balancer whose frontend binds as `bind` says, before one backend of
/// constant 5 ms, every hop 0.2 ms, for 20 s, its proxy spending 1 ms on
/// a TLS handshake, under `client` (TOML).
fn run_with(bind: &str, client: &str) -> (f64, f64, u64) {
    let config = format!("defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\nfrontend web\n    bind *:80{bind}\n    default_backend pool\nbackend pool\n    server b1 10.1.0.1:80\n");
    let text = format!(
        "name = \"tls\"\nseed = 1\nstart = \"2026-01-01 00:00:00\"\nduration = \"20s\"\n\n[network]\nlatency = \"200us\"\n\n[[host]]\nname = \"lb\"\naddress = \"10.0.0.1\"\nhaproxy = \"lb.cfg\"\ntls_handshake = \"1ms\"\n\n[[backend]]\naddress = \"10.1.0.1:80\"\nservice = \"5ms\"\ndistribution = \"constant\"\nworkers = 100\n\n[[client]]\nname = \"c\"\ntarget = \"10.0.0.1:80\"\ndistribution = \"constant\"\ntimeout = \"2s\"\n{client}"
    );
    let read = |_: &str| Ok(config.clone());
    let sc = load("tls.toml", &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    let l = run(&sc, None).latency.expect("traffic ran");
    (l.mean_ms, l.max_ms, l.failed)
}

// Input: 500 req/s at a fixed rate, a connection per request, on a clear
// frontend, a TLS one (1.3), and one limited to TLS 1.2.
// Output: clear 6.2 ms (6 hops and the service); TLS 1.3 adds 2 hops
// and the 1 ms handshake: 7.6 ms; TLS 1.2 two hops more: 8.0 ms. Arrivals
// 2 ms apart never wait for the CPU.
#[test]
fn a_handshake_costs_its_round_trips_and_its_cpu() {
    let rate = "rate = 500\nkeepalive = false\n";
    assert_eq!(run_with("", rate), (6.2, 6.2, 0));
    assert_eq!(run_with(" ssl crt x.pem", rate), (7.6, 7.6, 0));
    assert_eq!(
        run_with(" ssl crt x.pem ssl-max-ver TLSv1.2", rate),
        (8.0, 8.0, 0)
    );
}

// Input: 1,250 req/s, beyond the 1,000 handshakes a second one CPU does
// at 1 ms each; the same rate with keep-alive connections.
// Output: handshakes queue: latency grows until clients give up after
// 2 s; kept-alive connections shake hands no more and never wait.
#[test]
fn handshakes_beyond_one_cpu_queue_up() {
    let (mean, max, failed) = run_with(" ssl crt x.pem", "rate = 1250\nkeepalive = false\n");
    assert!(max > 1_000.0 && mean > 100.0, "mean {mean} max {max}");
    assert!(failed > 0, "clients gave up");
    let kept = run_with(" ssl crt x.pem", "rate = 1250\nkeepalive = true\n");
    assert_eq!(kept, (5.8, 5.8, 0));
}
