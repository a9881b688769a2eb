//! `numa-cpu-mapping` (on unless `no numa-cpu-mapping`): on a machine of
//! several NUMA nodes, haproxy 2.6 keeps a process started without
//! `nbthread`, and free to run on every online CPU, to one node's CPUs,
//! with a thread for each. The runtime reads the machine
//! ([`Topology`]); [`Global::numa_node`] decides as haproxy does.

use super::Global;
use std::collections::BTreeSet;

/// What the system says of its CPUs (Linux's `/sys/devices/system`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Each entry of `node/` with its `cpumap` text (comma-separated
    /// 32-bit hexadecimal words, the highest first).
    pub nodes: Vec<(String, String)>,
    /// `cpu/online`: the online CPUs, as `0-3,8-11`.
    pub online: String,
    /// How many CPUs the process may run on.
    pub usable: usize,
}

impl Global {
    /// The CPUs of the NUMA node the process keeps to, when haproxy 2.6
    /// would keep it to one: no `nbthread`, `numa-cpu-mapping` on, the
    /// process free to use every online CPU, and two nodes or more; the
    /// first node with an online CPU, taking the nodes in the reverse
    /// order of their names, as haproxy walks them.
    pub fn numa_node(&self, topology: &Topology) -> Option<Vec<u16>> {
        if self.nbthread.is_some() || self.no_numa_cpu_mapping {
            return None;
        }
        let online = cpu_list(&topology.online)?;
        let mut nodes: Vec<&(String, String)> = topology
            .nodes
            .iter()
            .filter(|(name, _)| is_node(name))
            .collect();
        if online.len() != topology.usable || nodes.len() < 2 {
            return None;
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        nodes.iter().rev().find_map(|(_, map)| {
            let cpus: Vec<u16> = cpu_map(map).intersection(&online).copied().collect();
            (!cpus.is_empty()).then_some(cpus)
        })
    }
}

/// Whether a `node/` entry is a node: `node` and a number.
fn is_node(name: &str) -> bool {
    name.strip_prefix("node")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A CPU list such as `0-3,8-11` (`None` when it is not one).
fn cpu_list(text: &str) -> Option<BTreeSet<u16>> {
    let mut cpus = BTreeSet::new();
    for part in text.trim().split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let (low, high): (u16, u16) = (low.parse().ok()?, high.parse().ok()?);
        cpus.extend(low.min(high)..=low.max(high));
    }
    Some(cpus)
}

/// A `cpumap`: 32-bit hexadecimal words, the highest first; a word that
/// is not one counts as none of its CPUs.
fn cpu_map(text: &str) -> BTreeSet<u16> {
    text.trim()
        .rsplit(',')
        .enumerate()
        .flat_map(|(word, hex)| {
            let bits = u32::from_str_radix(hex, 16).unwrap_or(0);
            (0..32u16)
                .filter(move |bit| bits & (1 << bit) != 0)
                .map(move |bit| word as u16 * 32 + bit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nodes of 4 CPUs each, 0-3 and 4-7, all online and usable.
    fn two_nodes() -> Topology {
        Topology {
            nodes: vec![
                ("node0".into(), "0000000f\n".into()),
                ("node1".into(), "000000f0\n".into()),
                ("possible".into(), String::new()),
            ],
            online: "0-7\n".into(),
            usable: 8,
        }
    }

    #[test]
    fn a_process_free_on_several_nodes_keeps_to_the_last_named_with_cpus_online() {
        let global = Global::default();
        assert_eq!(global.numa_node(&two_nodes()), Some(vec![4, 5, 6, 7]));
        // Offline CPUs do not count; a node with none online is passed.
        let mut t = two_nodes();
        t.online = "0-3".into();
        t.usable = 4;
        assert_eq!(global.numa_node(&t), Some(vec![0, 1, 2, 3]));
        // Words past the first: CPUs from 32 up.
        let mut t = two_nodes();
        t.nodes[1].1 = "00000001,00000000".into();
        t.online = "0-3,32".into();
        t.usable = 5;
        assert_eq!(global.numa_node(&t), Some(vec![32]));
    }

    #[test]
    fn nothing_is_kept_to_a_node_when_haproxy_would_not() {
        let one_node = Topology {
            nodes: vec![("node0".into(), "ff".into())],
            ..two_nodes()
        };
        assert_eq!(Global::default().numa_node(&one_node), None);
        // Restricted already (taskset), or told how many threads, or not to.
        let restricted = Topology {
            usable: 2,
            ..two_nodes()
        };
        assert_eq!(Global::default().numa_node(&restricted), None);
        let told = Global {
            nbthread: Some(8),
            ..Default::default()
        };
        assert_eq!(told.numa_node(&two_nodes()), None);
        let off = Global {
            no_numa_cpu_mapping: true,
            ..Default::default()
        };
        assert_eq!(off.numa_node(&two_nodes()), None);
    }
}
