//! Chaos: the shipped clusters hold their invariants under random fault
//! schedules, and the checker does catch a cluster that breaks them.

// Tests read the shipped scenario files; the world itself never does.
#![allow(clippy::disallowed_methods)]

use haven_sim::chaos::{run, schedule};
use haven_sim::{load, Loaded};
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Scenario `text` with config paths read from scenarios/, after `edit`
/// of each config's text.
fn load_text(text: &str, edit: impl Fn(&str, String) -> String) -> Loaded {
    let dir = scenarios_dir();
    let read = |rel: &str| {
        std::fs::read_to_string(dir.join(rel))
            .map(|t| edit(rel, t))
            .map_err(|e| e.to_string())
    };
    load("chaos.toml", text, &read, None).unwrap_or_else(|e| panic!("{e}"))
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(scenarios_dir().join(name)).expect("scenario readable")
}

// Input: 60 schedules each over the book-14.3 pair (keepalived 2.x) and
// the book-14.4 dual master, with their traffic.
// Output: no invariant breaks; every schedule injects faults.
#[test]
fn shipped_clusters_hold_their_invariants_under_chaos() {
    for name in ["april4-failover-2x.toml", "dual-master.toml"] {
        let sc = load_text(&shipped(name), |_, t| t);
        for seed in 1..=60 {
            let r = run(&sc, seed);
            assert!(r.faults >= 3, "{name} seed {seed}: {r:?}");
            assert!(
                r.violations.is_empty(),
                "{name}: haven sim scenarios/{name} --chaos 1 --seed {seed}: {:?}",
                r.violations
            );
        }
    }
}

// Input: the same seed twice; two different seeds.
// Output: the same schedule, then different ones.
#[test]
fn a_seed_draws_one_schedule() {
    let sc = load_text(&shipped("dual-master.toml"), |_, t| t);
    assert_eq!(schedule(&sc, 7).events, schedule(&sc, 7).events);
    assert_ne!(schedule(&sc, 7).events, schedule(&sc, 8).events);
}

// Input: the dual-master cluster with haproxy2's passwords changed, so
// neither host accepts the other's adverts while both are connected.
// Output: "one master" breaks (both hosts MASTER of each VRID).
#[test]
fn a_split_brain_is_caught() {
    let sc = load_text(&shipped("dual-master.toml"), |rel, t| {
        if rel.ends_with("haproxy2.conf") {
            t.replace("auth_pass 1111", "auth_pass 2222")
        } else {
            t
        }
    });
    let r = run(&sc, 1);
    assert!(
        r.violations.iter().any(|v| v.invariant == "one master"),
        "{:?}",
        r.violations
    );
}

// Input: the dual-master cluster with its www clients sent to a port no
// frontend binds.
// Output: "liveness" breaks: their requests fail while the cluster is
// healthy.
#[test]
fn clients_that_never_succeed_are_caught() {
    let text = shipped("dual-master.toml").replace("192.168.66.10:80", "192.168.66.10:81");
    let sc = load_text(&text, |_, t| t);
    let r = run(&sc, 1);
    assert!(
        r.violations.iter().any(|v| v.invariant == "liveness"),
        "{:?}",
        r.violations
    );
}
