//! `cpu-map`: each serving thread bound to the CPUs core read for it.
//! The process's map is set on the starting thread before the others
//! start, so every thread made after inherits it, as haproxy binds the
//! whole process under a service manager; each serving thread then
//! narrows itself to its own map.

use haven_core::config::haproxy::CpuMaps;
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Binds the calling thread to the process's map, if there is one.
pub(crate) fn bind_process(maps: &CpuMaps) {
    if let Some(cpus) = maps.of_process() {
        bind(&cpus, "the process");
    }
}

/// Binds the calling thread, serving thread `number` (from 1), to its
/// map, if it has one of its own.
pub(crate) fn bind_thread(maps: &CpuMaps, number: u32) {
    if let Some(cpus) = maps
        .of_thread(number)
        .filter(|c| Some(c) != maps.of_process().as_ref())
    {
        bind(&cpus, &format!("thread {number}"));
    }
}

/// Binds the calling thread to `cpus`; a warning when the system
/// refuses (a CPU the machine lacks or the process may not use): the
/// thread then runs where it did, as haproxy's would.
fn bind(cpus: &[u16], what: &str) {
    let mut set = CpuSet::new();
    let bound = cpus
        .iter()
        .try_for_each(|&cpu| set.set(usize::from(cpu)))
        .and_then(|()| sched_setaffinity(Pid::from_raw(0), &set));
    if let Err(e) = bound {
        let list: Vec<String> = cpus.iter().map(u16::to_string).collect();
        crate::eprintln_whole!(
            "[WARNING]  ({}) : cpu-map : {what} could not be bound to CPUs {}: {e}; it runs where the system puts it.",
            std::process::id(),
            list.join(",")
        );
    }
}
