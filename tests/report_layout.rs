//! Every shipped scenario's report: its time axes span the whole
//! scenario, and no label of its plots overlaps another or leaves them.

// The test reads the shipped scenarios and their configs.
#![allow(clippy::disallowed_methods)]

use haven_reports::{fault_labels, vip_labels, zoom_labels, zooms, Placed, Plot, Run};
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The labels of one band: inside `start..=end`, and none overlapping
/// another of its row.
fn check_band(name: &str, band: &str, labels: &[Placed], (start, end): (f64, f64)) {
    for (k, a) in labels.iter().enumerate() {
        assert!(
            a.start >= start && a.end <= end * 1.0001,
            "{name} {band}: label {k} spans {}..{} outside {start}..{end}",
            a.start,
            a.end
        );
        for b in &labels[..k] {
            let apart = a.row != b.row || a.end <= b.start || b.end <= a.start;
            assert!(apart, "{name} {band}: labels overlap: {a:?} and {b:?}");
        }
    }
}

// Input: each scenario of scenarios/, run by `haven sim`.
// Output: the report's time axis ends at the scenario's duration (it used
// to end at the last event: a split brain's heal was cut off), and the
// fault and VIP-move labels of the latency and VRRP plots neither overlap
// nor run past the axis. Each failover's zoomed panel starts a second
// before its fault and ends a second after ARP converged (or at the run's
// end), and its labels neither overlap nor leave it.
#[test]
fn shipped_scenarios_plot_their_whole_span_with_legible_labels() {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("scenarios"))
        .expect("scenarios/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let dir = tempfile::tempdir().expect("tempdir");
        let scenario = Path::new(ROOT).join("scenarios").join(&name);
        let o = Command::new(env!("CARGO_BIN_EXE_haven"))
            .arg("sim")
            .arg(&scenario)
            .arg("--out")
            .arg(dir.path())
            .output()
            .expect("haven runs");
        assert!(o.status.code().is_some_and(|c| c <= 1), "{name}: {o:?}");
        let run = Run::load(dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = std::fs::read_to_string(&scenario).expect("scenario");
        let read = |rel: &str| {
            std::fs::read_to_string(Path::new(ROOT).join("scenarios").join(rel))
                .map_err(|e| e.to_string())
        };
        let loaded = haven_sim::load(&name, &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
        let duration = loaded.duration.as_micros() as f64 / 1e6;
        assert_eq!(run.end(), duration, "{name}: the time axis");
        for plot in [Plot::Latency, Plot::Vrrp] {
            check_band(
                &name,
                &plot.stem(),
                &fault_labels(plot, &run),
                (0.0, duration),
            );
        }
        check_band(&name, "VIP moves", &vip_labels(&run), (0.0, duration));
        for (k, zoom) in zooms(&run).iter().enumerate() {
            let band = format!("failover {}", k + 1);
            assert_eq!(zoom.lo, (zoom.at - 1.0).max(0.0), "{name} {band}");
            let converged = zoom.marks.iter().find(|(_, l)| l == "ARP converged");
            if let Some((t, _)) = converged {
                assert_eq!(zoom.hi, (t + 1.0).min(duration), "{name} {band}");
            }
            check_band(&name, &band, &zoom_labels(zoom), (zoom.lo, zoom.hi));
        }
    }
}
