//! A clock stepped on one host: its log's times move by the step, what the
//! cluster does does not.

// Tests read the shipped scenario; the world itself never does.
#![allow(clippy::disallowed_methods)]

use haven_sim::{load, run, Recorder};
use std::path::Path;

/// The April 4 replay with `extra` TOML appended.
fn april4(extra: &str) -> Recorder {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let text = std::fs::read_to_string(dir.join("april4-failover.toml")).expect("scenario") + extra;
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let sc = load("april4.toml", &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    run(&sc, None)
}

/// When host `h` logged `text` first (wall-clock µs).
fn logged_at(rec: &Recorder, h: usize, text: &str) -> i64 {
    rec.logged(h)
        .find(|(_, _, t)| t.ends_with(text))
        .map(|(at, ..)| at)
        .unwrap_or_else(|| panic!("{text} never logged"))
}

// Input: backup-haproxy's clock stepped back 5 s at 15 s, before the
// failover.
// Output: its "Entering MASTER STATE" line is stamped 5 s earlier; the
// other host's lines and the VIP's move (virtual time) do not move.
#[test]
fn a_clock_step_moves_the_hosts_log_only() {
    let plain = april4("");
    let stepped = april4(
        "\n[[event]]\nat = \"15s\"\nhost = \"backup-haproxy\"\naction = \"clock step -5s\"\n",
    );
    let master = "(HA_1) Entering MASTER STATE";
    assert_eq!(
        logged_at(&plain, 1, master) - logged_at(&stepped, 1, master),
        5_000_000
    );
    let heard = "(HA_1) Received higher prio advert";
    assert_eq!(logged_at(&plain, 0, heard), logged_at(&stepped, 0, heard));
    let moved = |r: &Recorder| r.failovers.iter().find_map(|f| f.vip_moved);
    assert_eq!(moved(&plain), moved(&stepped));
    assert!(moved(&plain).is_some());
}
