//! `show activity`: what each thread serving traffic did, in haproxy's
//! layout (a total, then one figure per thread in brackets when there
//! are several). haven measures the connections each thread accepted and
//! those each was given to serve.

use std::fmt::Write;

/// The answer to `show activity`, asked on thread `asking` (from 1), at
/// `date_now_us` (microseconds since the epoch); `accepted[t]`: the
/// connections thread `t + 1` accepted, `pushed[t]`: those it was handed
/// to serve (none with one thread).
pub fn activity(asking: usize, date_now_us: u64, accepted: &[u64], pushed: &[u64]) -> String {
    let mut out = format!(
        "thread_id: {asking} (1..{})\ndate_now: {}.{:06}\n",
        accepted.len(),
        date_now_us / 1_000_000,
        date_now_us % 1_000_000
    );
    per_thread(&mut out, "accepted", accepted);
    per_thread(&mut out, "accq_pushed", pushed);
    out.push('\n');
    out
}

/// `NAME: TOTAL`, then each thread's figure in brackets when there are
/// several, as haproxy's `SHOW_TOT` prints them.
fn per_thread(out: &mut String, name: &str, figures: &[u64]) {
    let total: u64 = figures.iter().sum();
    let _ = write!(out, "{name}: {total}");
    if figures.len() > 1 {
        out.push_str(" [");
        for n in figures {
            let _ = write!(out, " {n}");
        }
        out.push_str(" ]");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_figure_per_thread_in_brackets_as_haproxy_prints_them() {
        // haproxy 2.6.12, nbthread 2, after 11 connections.
        assert_eq!(
            activity(1, 1_796_545_192_620_209, &[9, 2], &[6, 5]),
            "thread_id: 1 (1..2)\ndate_now: 1796545192.620209\naccepted: 11 [ 9 2 ]\naccq_pushed: 11 [ 6 5 ]\n\n"
        );
        // nbthread 1: the totals alone, and nothing handed over.
        assert_eq!(
            activity(1, 1_796_545_210_000_001, &[2], &[0]),
            "thread_id: 1 (1..1)\ndate_now: 1796545210.000001\naccepted: 2\naccq_pushed: 0\n\n"
        );
    }
}
