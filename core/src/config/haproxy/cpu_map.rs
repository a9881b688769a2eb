//! `cpu-map`: the CPUs the process and each thread may run on, read and
//! combined as haproxy 2.6 does.
//!
//! A line names a process set (it must be process 1 nowadays; any other
//! is read and then treated as the process), optionally a thread set
//! after a `/`, then CPU sets. A line without threads, or with thread 1
//! alone, maps the whole process; any other thread set maps each thread
//! named. `auto:` hands the CPUs out one each, lowest first. Later lines
//! replace earlier ones where they overlap. A thread runs on its own map
//! within the process's, or on the process's when that leaves nothing.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The most threads (and process numbers) a set may name: a machine
/// word's bits.
const SET_BITS: u32 = 64;
/// CPU numbers go from 0 to this, excluded (Linux's `CPU_SETSIZE`).
const CPUS: u32 = 1024;

/// The CPU maps of the `cpu-map` lines, in effect once all are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuMaps {
    /// The whole process's CPUs (empty: no map).
    process: BTreeSet<u16>,
    /// Each mapped thread's CPUs, by thread number (from 1).
    threads: BTreeMap<u32, BTreeSet<u16>>,
}

impl CpuMaps {
    /// The CPUs thread `number` (from 1) runs on, when any map says.
    pub fn of_thread(&self, number: u32) -> Option<Vec<u16>> {
        let own = self.threads.get(&number).map(|own| {
            if self.process.is_empty() {
                own.clone()
            } else {
                own.intersection(&self.process).copied().collect()
            }
        });
        let cpus = own
            .filter(|own| !own.is_empty())
            .unwrap_or_else(|| self.process.clone());
        (!cpus.is_empty()).then(|| cpus.into_iter().collect())
    }

    /// The CPUs of the whole process, when a line mapped it.
    pub fn of_process(&self) -> Option<Vec<u16>> {
        (!self.process.is_empty()).then(|| self.process.iter().copied().collect())
    }

    /// Reads the arguments of one `cpu-map` line and applies them over
    /// the earlier lines; the message haproxy gives when they are wrong.
    pub(super) fn read_line(&mut self, args: &[&str]) -> Result<(), String> {
        let (Some(sets), Some(_)) = (args.first(), args.get(1)) else {
            return Err(format!(
                "cpu-map expects a process number  ('all', 'odd', 'even', a number from 1 to \
                 {SET_BITS} or a range),  followed by a list of CPU ranges with numbers from 0 to {}.",
                SET_BITS - 1
            ));
        };
        let (sets, auto) = match sets.strip_prefix("auto:") {
            Some(rest) => (rest, true),
            None => (*sets, false),
        };
        let (process, threads) = match sets.split_once('/') {
            Some((process, threads)) => (numbers(process)?, numbers(threads)?),
            None => (numbers(sets)?, 0),
        };
        let cpus = cpu_set(&args[1..])?;
        let count = cpus.len() as u32;
        if auto && process.count_ones() != count && threads.count_ones() != count {
            return Err(
                "cpu-map : PROC/THREAD range and CPU sets must have the same size \
                        to be automatically bound"
                    .into(),
            );
        }
        let mut handed = cpus.iter().copied();
        let mut take = || match auto {
            true => handed.next().into_iter().collect(),
            false => cpus.clone(),
        };
        if threads == 0 || threads == 1 {
            self.process = take();
        } else {
            for number in (1..=SET_BITS).filter(|n| threads & (1 << (n - 1)) != 0) {
                self.threads.insert(number, take());
            }
        }
        Ok(())
    }
}

/// A process or thread set, `all`, `odd`, `even`, `N`, `N-` or `N-M`,
/// as a mask whose bit 0 is number 1.
fn numbers(text: &str) -> Result<u64, String> {
    match text {
        "all" => return Ok(u64::MAX),
        "odd" => return Ok(u64::MAX / 3),
        "even" => return Ok((u64::MAX / 3) << 1),
        _ => {}
    }
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (low, Some(high)),
        None => (text, None),
    };
    if !low
        .bytes()
        .chain(high.unwrap_or("").bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(format!("cpu-map : '{text}' is not a valid number/range."));
    }
    let low = leading_number(low);
    let high = high.map_or(low, |h| {
        if h.is_empty() {
            SET_BITS
        } else {
            leading_number(h)
        }
    });
    let (low, high) = (low.min(high), low.max(high));
    if low < 1 || high > SET_BITS {
        return Err(format!(
            "cpu-map : '{text}' is not a valid number/range. It supports numbers from 1 to {SET_BITS}."
        ));
    }
    Ok((low..=high).fold(0, |mask, n| mask | 1 << (n - 1)))
}

/// The CPUs of one or more CPU sets, `N`, `N-` or `N-M` each, read as
/// haproxy reads them: from the digits each starts with.
fn cpu_set(args: &[&str]) -> Result<BTreeSet<u16>, String> {
    let mut cpus = BTreeSet::new();
    for arg in args {
        if !arg.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("cpu-map : '{arg}' is not a CPU range."));
        }
        let low = leading_number(arg);
        let high = match arg.split_once('-') {
            Some((_, "")) => CPUS - 1,
            Some((_, high)) => leading_number(high),
            None => low,
        };
        let (low, high) = (low.min(high), low.max(high));
        if high >= CPUS {
            return Err(format!(
                "cpu-map : supports CPU numbers from 0 to {}.",
                CPUS - 1
            ));
        }
        cpus.extend((low..=high).map(|cpu| cpu as u16));
    }
    Ok(cpus)
}

/// The number `text` starts with (0 without one), as C's `strtoul`
/// reads it, saturated.
fn leading_number(text: &str) -> u32 {
    text.bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0u32, |n, d| {
            n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(lines: &[&str]) -> CpuMaps {
        let mut maps = CpuMaps::default();
        for line in lines {
            let args: Vec<&str> = line.split_whitespace().collect();
            maps.read_line(&args).expect(line);
        }
        maps
    }

    fn error(line: &str) -> String {
        let args: Vec<&str> = line.split_whitespace().collect();
        CpuMaps::default().read_line(&args).expect_err(line)
    }

    #[test]
    fn auto_hands_one_cpu_to_each_thread_lowest_first() {
        for line in ["auto:1/1-4 0-3", "auto:1/1-4 0-1 2-3", "auto:1/1-4 3 2 1 0"] {
            let m = maps(&[line]);
            let each: Vec<_> = (1..=5).map(|t| m.of_thread(t)).collect();
            assert_eq!(
                each,
                [
                    Some(vec![0]),
                    Some(vec![1]),
                    Some(vec![2]),
                    Some(vec![3]),
                    None
                ],
                "{line}"
            );
        }
        // haproxy checks the sizes against the process set too, so one
        // CPU for four threads passes: the first gets it, the others none.
        let m = maps(&["auto:1/1-4 0"]);
        assert_eq!((m.of_thread(1), m.of_thread(2)), (Some(vec![0]), None));
        let m = maps(&["auto:1/even 4-35"]);
        assert_eq!(
            (m.of_thread(1), m.of_thread(2), m.of_thread(4)),
            (None, Some(vec![4]), Some(vec![5]))
        );
    }

    #[test]
    fn a_line_without_threads_or_with_thread_one_maps_the_process() {
        for line in ["1 2-3", "1/1 2-3", "all 2-3"] {
            let m = maps(&[line]);
            assert_eq!(
                (m.of_thread(1), m.of_thread(7)),
                (Some(vec![2, 3]), Some(vec![2, 3])),
                "{line}"
            );
        }
        // `auto:` on the process: its lowest CPU.
        assert_eq!(maps(&["auto:1 5-5"]).of_thread(3), Some(vec![5]));
    }

    #[test]
    fn threads_run_within_the_process_map_or_on_it_when_that_leaves_nothing() {
        let m = maps(&["1 0-3", "1/2 3-5", "1/3 6"]);
        assert_eq!(m.of_thread(2), Some(vec![3]));
        assert_eq!(m.of_thread(3), Some(vec![0, 1, 2, 3]));
        // Later lines replace earlier ones where they overlap.
        let m = maps(&["1/1-4 0-7", "1/2 1", "1/2- 9-10"]);
        assert_eq!(
            (m.of_thread(1), m.of_thread(2)),
            (Some((0..=7).collect()), Some(vec![9, 10]))
        );
        assert!(maps(&[]).of_process().is_none() && maps(&[]).of_thread(1).is_none());
    }

    #[test]
    fn ranges_are_read_as_haproxy_reads_them() {
        // Open-ended, reversed, and digits followed by anything.
        assert_eq!(maps(&["1/3- 0"]).of_thread(64), Some(vec![0]));
        assert_eq!(maps(&["1/4-2 1022-"]).of_thread(3), Some(vec![1022, 1023]));
        assert_eq!(maps(&["1 3-1 7x"]).of_thread(1), Some(vec![1, 2, 3, 7]));
    }

    #[test]
    fn wrong_lines_get_haproxy_s_messages() {
        assert!(error("1").starts_with("cpu-map expects a process number  ('all', 'odd'"));
        assert_eq!(error("x 0"), "cpu-map : 'x' is not a valid number/range.");
        assert_eq!(
            error("1/1-2-3 0"),
            "cpu-map : '1-2-3' is not a valid number/range."
        );
        assert_eq!(
            error("1/0 0"),
            "cpu-map : '0' is not a valid number/range. It supports numbers from 1 to 64."
        );
        assert_eq!(
            error("1/65 0"),
            "cpu-map : '65' is not a valid number/range. It supports numbers from 1 to 64."
        );
        assert_eq!(error("1 a-3"), "cpu-map : 'a-3' is not a CPU range.");
        assert_eq!(
            error("1 0-1024"),
            "cpu-map : supports CPU numbers from 0 to 1023."
        );
        for line in ["auto:1/1-4 0-1", "auto:1/1 0-3"] {
            assert_eq!(
                error(line),
                "cpu-map : PROC/THREAD range and CPU sets must have the same size to be automatically bound"
            );
        }
    }
}
