//! `haven sweep` end to end: parameters reach the configs, the same seeds
//! give the same sweep whatever `--jobs`, three shards merge into the
//! unsharded sweep byte for byte, the sweep report draws, and bad
//! parameters are refused with a clear message.

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn haven(args: &[&str]) -> Output {
    haven_in(args, &[])
}

/// `haven` with `args` and the job engine's variables `vars` (and none
/// inherited from the test's own environment).
fn haven_in(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_haven"));
    for engine in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        command.env_remove(engine);
    }
    command
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .expect("haven runs")
}

/// `haven sweep` of the April 4 replay over advert_int 1,3 and 3 seeds
/// into `out`, with `extra` flags; asserts it succeeded.
fn sweep(out: &Path, extra: &[&str]) {
    sweep_in(out, extra, &[]);
}

/// [`sweep`] under a job engine's variables `vars`.
fn sweep_in(out: &Path, extra: &[&str], vars: &[(&str, &str)]) {
    let scenario = format!("{ROOT}/scenarios/april4-failover.toml");
    let out = out.to_string_lossy();
    let mut args = vec![
        "sweep",
        &scenario,
        "--set",
        "advert_int=1,3",
        "--set",
        "keepalived.fall=1,2",
        "--seeds",
        "3",
        "--out",
        &out,
    ];
    args.extend(extra);
    let o = haven_in(&args, vars);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (advert_int, keepalived.fall, vip_move_s) of each row.
fn vip_moves(csv: &str) -> Vec<(String, String, f64)> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].into(), f[2].into(), f[5].parse().expect("a VIP move"))
        })
        .collect()
}

// Input: advert_int 1,3 x vrrp_script fall 1,2 x seeds 1..3.
// Output: 12 rows in run order, combinations with the last parameter
// varying fastest; the VIP moves later with a longer advert_int (master
// down interval) and with a higher fall (one more failed script run).
#[test]
fn parameters_reach_the_configs() {
    let dir = tempfile::tempdir().expect("tempdir");
    sweep(dir.path(), &[]);
    let csv = read(&dir.path().join("sweep.csv"));
    assert!(csv.starts_with("run,advert_int,keepalived.fall,seed,detection_s,vip_move_s,"));
    let rows = vip_moves(&csv);
    assert_eq!(rows.len(), 12);
    let combos: Vec<(&str, &str)> = rows
        .iter()
        .step_by(3)
        .map(|r| (r.0.as_str(), r.1.as_str()))
        .collect();
    assert_eq!(combos, [("1", "1"), ("1", "2"), ("3", "1"), ("3", "2")]);
    let mean = |a: &str, f: &str| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r.0 == a && r.1 == f)
            .map(|r| r.2)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean("1", "1") < mean("3", "1"),
        "advert_int slows the takeover"
    );
    assert!(
        mean("1", "1") < mean("1", "2"),
        "fall delays the priority drop"
    );
}

// Input: the same sweep with --jobs 1 and --jobs 2.
// Output: the same bytes.
#[test]
fn a_sweep_is_deterministic_for_its_seeds() {
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    sweep(a.path(), &["--jobs", "1"]);
    sweep(b.path(), &["--jobs", "2"]);
    assert_eq!(
        read(&a.path().join("sweep.csv")),
        read(&b.path().join("sweep.csv"))
    );
}

// Input: the sweep unsharded with --report, and as shards 1/3 (`--shard`),
// 2/3 (the second task of a Slurm array 4-6) and 3/3 (the pod of index 2
// of a Kubernetes Indexed Job of 3 completions) into another directory,
// then `haven report` there.
// Output: the merged sweep.csv, the plots and report.html equal the
// unsharded ones byte for byte (the page names its directory, so both
// directories carry the same name).
#[test]
fn three_shards_merge_into_the_unsharded_sweep() {
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (whole, parts) = (a.path().join("s"), b.path().join("s"));
    sweep(&whole, &["--report"]);
    sweep(&parts, &["--shard", "1/3"]);
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "5"),
        ("SLURM_ARRAY_TASK_MIN", "4"),
        ("SLURM_ARRAY_TASK_STEP", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ];
    sweep_in(&parts, &[], &slurm);
    sweep_in(&parts, &["--shards", "3"], &[("JOB_COMPLETION_INDEX", "2")]);
    for shard in 1..=3 {
        let file = parts.join(format!("sweep-{shard}-of-3.csv"));
        assert!(file.exists(), "{} missing", file.display());
    }
    assert!(!parts.join("sweep.csv").exists());
    let o = haven(&["report", &parts.to_string_lossy()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in [
        "sweep.csv",
        "report.html",
        "sweep-downtime.png",
        "sweep-downtime.svg",
        "sweep-failed.png",
        "sweep-vip-move.svg",
    ] {
        let bytes = |d: &Path| std::fs::read(d.join(file)).expect("output exists");
        assert!(
            bytes(&whole) == bytes(&parts),
            "{file} differs after merging"
        );
    }
}

// Input: the sweep report of the unsharded sweep.
// Output: three plots, PNGs of the set size with drawn pixels; the page
// has one table row per combination and every plot inline.
#[test]
fn the_sweep_report_shows_every_combination() {
    let dir = tempfile::tempdir().expect("tempdir");
    sweep(dir.path(), &["--report"]);
    let html = read(&dir.path().join("report.html"));
    assert_eq!(html.matches("<svg").count(), 3);
    for combo in [
        "advert_int=1 keepalived.fall=1",
        "advert_int=3 keepalived.fall=2",
    ] {
        assert!(
            html.contains(&format!("<tr><td>{combo}</td><td>3</td>")),
            "{combo}"
        );
    }
    let svg = read(&dir.path().join("sweep-downtime.svg"));
    assert!(svg.contains("client downtime (s)") && svg.contains("advert_int=3 keepalived.fall=2"));
    let file = std::fs::File::open(dir.path().join("sweep-failed.png")).expect("png");
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!((info.width, info.height), (800, 440));
    let px = &buf[..info.buffer_size()];
    let white = px
        .chunks(info.color_type.samples())
        .filter(|p| p[..3] == [255, 255, 255])
        .count();
    let share = white as f64 / (px.len() / info.color_type.samples()) as f64;
    assert!((0.5..0.97).contains(&share), "{share:.3} white");
}

// Input: bad --set, --shard and incomplete shards.
// Output: a message naming the culprit; nothing runs.
#[test]
fn bad_parameters_are_refused() {
    let scenario = format!("{ROOT}/scenarios/april4-failover.toml");
    let err = |args: &[&str]| {
        let o = haven(args);
        assert!(!o.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["sweep", &scenario, "--set", "advert=1"]);
    assert!(
        e.contains("'advert': unknown parameter; known: keepalived.advert_int"),
        "{e}"
    );
    let e = err(&["sweep", &scenario, "--set", "advert_int=1,abc"]);
    assert!(
        e.contains("--set advert_int=abc: 'abc': not a number of seconds"),
        "{e}"
    );
    let e = err(&["sweep", &scenario, "--set", "haproxy.inter=0"]);
    assert!(e.contains("inter must be positive"), "{e}");
    let e = err(&["sweep", &scenario, "--shard", "4/3"]);
    assert!(e.contains("'4/3': expected I/N"), "{e}");
    let o = haven_in(&["sweep", &scenario], &[("JOB_COMPLETION_INDEX", "0")]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("pass --shards N, the Indexed Job's completions"),
        "{e}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    sweep(dir.path(), &["--shard", "2/3"]);
    let e = err(&["report", &dir.path().to_string_lossy()]);
    assert!(
        e.contains("shards sweep-2-of-3.csv do not make one sweep of 3"),
        "{e}"
    );
}
