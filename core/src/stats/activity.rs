//! `show activity`: what each thread serving traffic did, in haproxy's
//! layout (a total, then one figure per thread in brackets when there
//! are several). haven measures the connections each thread accepted.

use std::fmt::Write;

/// The answer to `show activity`, asked on thread `asking` (from 1) of
/// `accepted.len()` threads, at `date_now_us` (microseconds since the
/// epoch); `accepted[t]`: connections thread `t + 1` accepted.
pub fn activity(asking: usize, date_now_us: u64, accepted: &[u64]) -> String {
    let threads = accepted.len();
    let mut out = format!(
        "thread_id: {asking} (1..{threads})\ndate_now: {}.{:06}\n",
        date_now_us / 1_000_000,
        date_now_us % 1_000_000
    );
    let total: u64 = accepted.iter().sum();
    let _ = write!(out, "accepted: {total}");
    if threads > 1 {
        out.push_str(" [");
        for n in accepted {
            let _ = write!(out, " {n}");
        }
        out.push_str(" ]");
    }
    out.push_str("\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_figure_per_thread_in_brackets_as_haproxy_prints_them() {
        // haproxy 2.6.12, nbthread 2, after 11 connections.
        assert_eq!(
            activity(1, 1_796_545_192_620_209, &[9, 2]),
            "thread_id: 1 (1..2)\ndate_now: 1796545192.620209\naccepted: 11 [ 9 2 ]\n\n"
        );
        // nbthread 1: the total alone.
        assert_eq!(
            activity(1, 1_796_545_210_000_001, &[2]),
            "thread_id: 1 (1..1)\ndate_now: 1796545210.000001\naccepted: 2\n\n"
        );
    }
}
