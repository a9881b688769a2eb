//! Where the serving threads run: on the CPUs of one NUMA node when
//! haproxy 2.6 would keep the process to one (core's
//! `Global::numa_node`, from the machine as [`topology`] reads it), and
//! each on the CPUs `cpu-map` gives it (core's `CpuMaps`). The process's
//! CPUs are set on the starting thread before the others start, so every
//! thread made after inherits them, as haproxy binds the whole process
//! under a service manager; each serving thread then binds itself to
//! its own map.

use haven_core::config::haproxy::{CpuMaps, Topology};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use std::path::Path;
use std::sync::OnceLock;

/// Where Linux describes the machine's CPUs and NUMA nodes.
pub(crate) const SYSTEM: &str = "/sys/devices/system";

/// The machine's NUMA nodes and online CPUs as `system` (see [`SYSTEM`])
/// describes them, and the CPUs this process may use. What cannot be
/// read is left empty: no node is then chosen.
pub(crate) fn topology(system: &Path) -> Topology {
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let nodes = std::fs::read_dir(system.join("node"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            Some((name, read(&entry.path().join("cpumap"))))
        })
        .collect();
    let usable = at_start().len();
    Topology {
        nodes,
        online: read(&system.join("cpu/online")),
        usable,
    }
}

/// The CPUs the process could use before it first started serving:
/// what a start without a map of the process returns to (a reload may
/// drop the `cpu-map` of the one before).
fn at_start() -> &'static [u16] {
    static AT_START: OnceLock<Vec<u16>> = OnceLock::new();
    AT_START.get_or_init(|| {
        let Ok(set) = sched_getaffinity(Pid::from_raw(0)) else {
            return Vec::new();
        };
        (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .filter_map(|cpu| u16::try_from(cpu).ok())
            .collect()
    })
}

/// Binds the calling thread, and the threads it makes after, to the
/// process's CPUs: `cpu-map`'s map of the process, else the NUMA node
/// chosen, else those it had before it first started serving.
pub(crate) fn bind_process(maps: &CpuMaps, node: Option<&[u16]>) {
    match (maps.of_process(), node) {
        (Some(cpus), _) => bind(&cpus, "cpu-map : the process"),
        (None, Some(cpus)) => bind(cpus, "numa-cpu-mapping : the process"),
        (None, None) if !at_start().is_empty() => bind(at_start(), "the process"),
        (None, None) => {}
    }
}

/// Binds the calling thread, serving thread `number` (from 1), to the
/// CPUs `cpu-map` gives it, if any.
pub(crate) fn bind_thread(maps: &CpuMaps, number: u32) {
    if let Some(cpus) = maps.of_thread(number) {
        bind(&cpus, &format!("cpu-map : thread {number}"));
    }
}

/// Binds the calling thread to `cpus` for `what` (the keyword, and
/// whose binding); a warning when the system refuses (a CPU the machine
/// lacks or the process may not use): the thread then runs where it
/// did, as haproxy's would.
fn bind(cpus: &[u16], what: &str) {
    let mut set = CpuSet::new();
    let bound = cpus
        .iter()
        .try_for_each(|&cpu| set.set(usize::from(cpu)))
        .and_then(|()| sched_setaffinity(Pid::from_raw(0), &set));
    if let Err(e) = bound {
        let list: Vec<String> = cpus.iter().map(u16::to_string).collect();
        crate::eprintln_whole!(
            "[WARNING]  ({}) : {what} could not be bound to CPUs {}: {e}; it runs where the system puts it.",
            std::process::id(),
            list.join(",")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a copy of Linux's layout with two nodes (node0: CPUs 0-1,
    // node1: 2-3), an entry that is no node, and CPUs 0-3 online.
    // Output: each entry with its map, the online list as written, and
    // the CPUs this process may use counted.
    #[test]
    fn the_machine_is_read_from_its_system_directory() {
        let system = tempfile::tempdir().expect("directory");
        for (node, map) in [("node0", "00000003\n"), ("node1", "0000000c\n")] {
            std::fs::create_dir_all(system.path().join("node").join(node)).expect("node");
            std::fs::write(system.path().join("node").join(node).join("cpumap"), map).expect("map");
        }
        std::fs::write(system.path().join("node/online"), "0-1\n").expect("file");
        std::fs::create_dir_all(system.path().join("cpu")).expect("cpu");
        std::fs::write(system.path().join("cpu/online"), "0-3\n").expect("online");
        let mut read = topology(system.path());
        read.nodes.sort();
        assert_eq!(
            read.nodes,
            [
                ("node0".to_owned(), "00000003\n".to_owned()),
                ("node1".to_owned(), "0000000c\n".to_owned()),
                ("online".to_owned(), String::new())
            ]
        );
        assert_eq!(read.online, "0-3\n");
        assert!(read.usable >= 1, "this thread runs somewhere");
    }
}
