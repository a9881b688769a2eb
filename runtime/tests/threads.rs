//! `nbthread`: several threads accept and serve, and every request is
//! still decided by the one core. Against a running haven and real
//! servers on loopback.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::raw::answered_on_one_connection;
use common::*;
use std::net::SocketAddr;

// Input: a roundrobin backend of three servers weighted 5:3:2, served
// with `nbthread 1`, then with `nbthread 4`: 40 requests one after the
// other, each on a new client connection; then 8 clients at once, 10
// requests each on one connection; then `show activity` and `show info`.
// Output: with 4 threads the 40 go to the same servers in the same order
// as with one (one FWRR sequence for the backend, not one per thread);
// the 80 concurrent ones are split exactly 40/24/16 (8 whole rounds of
// 10); `show activity` counts every connection, served by more than one
// thread; `show info` says `Nbthread: 4`.
#[tokio::test]
async fn every_thread_takes_its_servers_from_the_one_sequence() {
    let (a, b, c) = (
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    );
    let run = |threads: u32| {
        let (port, cli) = (free_port(), free_port());
        let text = format!(
            "global\n    nbthread {threads}\n    stats socket ipv4@127.0.0.1:{cli} level admin\n{DEFAULTS}listen f\n    bind 127.0.0.1:{port}\n    server a {} weight 5\n    server b {} weight 3\n    server c {} weight 2\n",
            a.addr, b.addr, c.addr
        );
        let cli = SocketAddr::from(([127, 0, 0, 1], cli));
        async move {
            let running = haven_runtime::start(config(&text)).await.expect("starts");
            let fe = running.listeners[0].1;
            let mut one_by_one = Vec::new();
            for _ in 0..40 {
                let (status, server) = get(fe, "x", "/").await;
                assert_eq!(status, 200);
                one_by_one.push(server);
            }
            let clients: Vec<_> = (0..8)
                .map(|_| tokio::spawn(answered_on_one_connection(fe, 10)))
                .collect();
            let mut together = std::collections::BTreeMap::new();
            for client in clients {
                for server in client.await.expect("client") {
                    *together.entry(server).or_insert(0) += 1;
                }
            }
            let activity = send_raw(cli, b"show activity\n").await;
            let info = send_raw(cli, b"show info\n").await;
            running.stop();
            (one_by_one.join(" "), together, activity, info)
        }
    };
    let (alone, ..) = run(1).await;
    let (shared, together, activity, info) = run(4).await;
    assert_eq!(shared, alone, "one sequence whichever thread asks");
    let split: Vec<_> = together.into_iter().collect();
    assert_eq!(
        split,
        [
            ("a".to_owned(), 40),
            ("b".to_owned(), 24),
            ("c".to_owned(), 16)
        ]
    );
    assert!(info.contains("\nNbthread: 4\n"), "{info}");
    // `accepted: TOTAL [ t1 t2 t3 t4 ]` and `accq_pushed` alike: 48
    // client connections and the runtime API's first one, accepted by
    // some threads and handed to several.
    let per_thread = |name: &str| -> Vec<u32> {
        let line = activity
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{activity}"));
        let (total, each) = line.split_once(" [ ").expect("one figure per thread");
        let each: Vec<u32> = each
            .trim_end_matches(" ]")
            .split(' ')
            .map(|n| n.parse().expect("a count"))
            .collect();
        assert_eq!(total, "49", "{activity}");
        assert_eq!(each.iter().sum::<u32>(), 49, "{activity}");
        each
    };
    assert_eq!(per_thread("accepted: ").len(), 4, "{activity}");
    let served = per_thread("accq_pushed: ");
    let busy = served.iter().filter(|n| **n > 0).count();
    assert!(busy > 1, "one thread served everything: {activity}");
}

/// The CPUs of each thread of this process named `name`.
fn threads_named(name: &str) -> Vec<Vec<usize>> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("tasks");
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            (comm.trim() == name).then(|| cpus_of(tid))
        })
        .collect()
}

/// The CPUs thread `tid` (0: the caller) may run on.
fn cpus_of(tid: i32) -> Vec<usize> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(tid)).expect("affinity");
    (0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect()
}

// Input: `nbthread 2` and `cpu-map auto:1/1-2 A B`, A and B the first two
// CPUs this process may use (the same one twice on a machine with one).
// Output: the thread that started haven (thread 1) runs on A alone, a
// thread named `haven-2` on B alone, and a request is served; started
// again without `cpu-map`, thread 1 is back on every CPU it had. Without
// binding, every thread would keep all the process's CPUs; without the
// return, thread 1 would stay on A.
#[tokio::test]
async fn cpu_map_binds_each_thread_to_its_cpus() {
    let allowed = cpus_of(0);
    let (a, b) = (allowed[0], *allowed.get(1).unwrap_or(&allowed[0]));
    let server = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "global\n    nbthread 2\n    cpu-map auto:1/1-2 {a} {b}\n{DEFAULTS}listen f\n    bind 127.0.0.1:{port}\n    server a {}\n",
        server.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    assert_eq!(cpus_of(0), [a], "thread 1");
    // Other tests of this file run their own `haven-2` threads, unbound;
    // ours names and binds itself as it starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seconds = threads_named("haven-2");
        if seconds.contains(&vec![b]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{seconds:?}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, _) = get(running.listeners[0].1, "x", "/").await;
    assert_eq!(status, 200);
    running.stop();
    // A start without `cpu-map` (a reload dropping it) runs where the
    // process could before.
    let text = format!(
        "global\n    nbthread 1\n{DEFAULTS}listen f\n    bind 127.0.0.1:{}\n    server a {}\n",
        free_port(),
        server.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    assert_eq!(cpus_of(0), allowed);
    running.stop();
}
