//! `haven sim --report` and `haven report` end to end: every plot is a
//! valid, non-blank image of the expected size that shows what it claims
//! (fault labels, failed requests, one lane per node), report.html holds
//! every plot and the summary, and the whole output is reproducible.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PLOTS: [&str; 5] = ["latency", "vrrp", "latency-cdf", "servers", "failover-1"];

fn haven(args: &[&str], out: &Path) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_haven"))
        .args(args)
        .arg(out)
        .output()
        .expect("haven runs");
    assert!(
        output.status.success(),
        "haven {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Replays April 4 with `--report` into a fresh directory.
fn april4_report() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = format!("{ROOT}/scenarios/april4-failover.toml");
    haven(&["sim", &scenario, "--report", "--out"], dir.path());
    dir
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Decodes a PNG into (width, height, RGB(A) bytes, channels).
fn decode_png(p: &Path) -> (u32, u32, Vec<u8>, usize) {
    let file = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf, info.color_type.samples())
}

// Input: the April 4 replay with --report.
// Output: four PNGs at their nominal sizes, each with a white background
// and enough drawn pixels (not blank, not a solid fill), including the red
// of failed requests on the latency plot and the green of MASTER on the
// VRRP lanes.
#[test]
fn every_plot_is_a_drawn_png_of_the_right_size() {
    let dir = april4_report();
    for (name, size) in [
        ("latency", (1000, 420)),
        ("vrrp", (1000, 250)),
        ("latency-cdf", (760, 460)),
        ("servers", (1000, 420)),
        ("failover-1", (1000, 300)),
    ] {
        let (w, h, px, channels) = decode_png(&dir.path().join(format!("{name}.png")));
        assert_eq!((w, h), size, "{name}.png size");
        let pixels: Vec<&[u8]> = px.chunks(channels).collect();
        let white = pixels.iter().filter(|p| p[..3] == [255, 255, 255]).count();
        let share = white as f64 / pixels.len() as f64;
        assert!(
            (0.3..0.97).contains(&share),
            "{name}.png: {share:.3} of pixels white"
        );
        let has = |rgb: [u8; 3]| pixels.iter().any(|p| p[..3] == rgb);
        match name {
            "latency" => assert!(has([200, 30, 30]), "failed requests drawn"),
            "vrrp" => assert!(has([40, 160, 70]), "MASTER lanes drawn"),
            "failover-1" => assert!(has([200, 30, 30]), "failed requests drawn"),
            _ => {}
        }
    }
}

// Input: the same replay.
// Output: the SVGs carry the text a reader needs: fault labels, axis
// names, one lane per (instance, node), the failed-request count.
#[test]
fn svg_plots_name_faults_lanes_and_failures() {
    let dir = april4_report();
    let svg = |name: &str| read(&dir.path().join(format!("{name}.svg")));
    let latency = svg("latency");
    assert!(latency.contains("kill haproxy"), "fault label");
    assert!(
        latency.contains("stop keepalived, start keepalived"),
        "same-instant faults share a label"
    );
    assert!(
        latency.contains("failed request (27)"),
        "failed count in the legend"
    );
    assert!(latency.contains("time (s)") && latency.contains("latency (ms)"));
    let vrrp = svg("vrrp");
    assert!(vrrp.contains("HA_1 @ haproxy-server") && vrrp.contains("HA_1 @ backup-haproxy"));
    let cdf = svg("latency-cdf");
    assert!(cdf.contains("before the first fault (52)"), "{cdf}");
    // The zoomed failover: wall-clock times as the logs print them, the
    // moments that matter, the priorities the adverts carried.
    let zoom = svg("failover-1");
    let texts: Vec<&str> = zoom
        .split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
        .collect();
    for needle in [
        "kill haproxy at 20:57:51.000 (t = 19.500 s): 27 failed requests",
        "20:57:51.500",
        "kill haproxy",
        "first log line",
        "VIP \u{2192} backup-haproxy",
        "ARP converged",
        "121",
        "100",
        "111",
        "clients (x: a failed request)",
    ] {
        assert!(
            texts.contains(&needle),
            "failover-1.svg lacks {needle}: {texts:?}"
        );
    }
    let servers = svg("servers");
    for s in [
        "server_www/webapp1",
        "server_static/webapp2",
        "server_video/webapp3",
    ] {
        assert!(servers.contains(s), "servers plot names {s}");
    }
}

// Input: the same replay.
// Output: report.html is one page with every plot inline, the summary and
// failover tables, the expectations, key log lines and the scenario.
#[test]
fn report_html_holds_every_plot_and_the_summary() {
    let dir = april4_report();
    let html = read(&dir.path().join("report.html"));
    assert_eq!(html.matches("<svg").count(), PLOTS.len());
    for needle in [
        "<h1>haven report: april4-failover</h1>",
        "<th>failed requests</th>",
        "<td>kill haproxy</td>",
        "<td>backup-haproxy</td>",
        "VRRP_Instance(HA_1) Transition to MASTER STATE",
        "[[event]]",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    assert!(!html.contains("FAILED"), "every expectation passes");
    assert!(!html.contains("src=\"http"), "self-contained");
}

// Input: the replay twice, and `haven report` over the first run again.
// Output: byte-identical plots and pages, equal to the README's plots.
#[test]
fn reports_are_reproducible() {
    let a = april4_report();
    let b = april4_report();
    for name in PLOTS
        .iter()
        .flat_map(|p| [format!("{p}.png"), format!("{p}.svg")])
        .chain(["report.html".to_owned()])
    {
        let bytes = |d: &Path| std::fs::read(d.join(&name)).expect("output exists");
        assert!(
            bytes(a.path()) == bytes(b.path()),
            "{name} differs between runs"
        );
    }
    for name in ["latency.png", "vrrp.png", "failover-1.png"] {
        let docs = std::fs::read(format!("{ROOT}/docs/april4-{name}")).expect("docs plot");
        assert!(
            docs == std::fs::read(a.path().join(name)).expect("png"),
            "docs/april4-{name} is stale: copy it from the main command's output"
        );
    }
    let before = std::fs::read(a.path().join("latency.png")).expect("png");
    haven(&["report"], a.path());
    assert!(before == std::fs::read(a.path().join("latency.png")).expect("png"));
}

// Input: `haven report` on a directory with no run in it.
// Output: exit 1 and a message naming the directory and the missing file.
#[test]
fn report_of_a_missing_run_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_haven"))
        .arg("report")
        .arg(dir.path())
        .output()
        .expect("haven runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read run directory") && err.contains("summary.json"),
        "{err}"
    );
}

// Input: the April 4 replay in 1.x and in 2.x wording, compared; a sweep
// of the graceful switchover over implementation=keepalived-2.2,haven,
// its two combinations compared; and the sweep without a pick.
// Output: each comparison's page names both sides with their figures and
// draws the three plots; the sweep without a pick is refused, naming its
// combinations.
#[test]
fn compare_draws_two_runs_or_two_sweep_combinations_side_by_side() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let sim = |scenario: &str, out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_haven"))
            .args(["sim", &format!("{ROOT}/scenarios/{scenario}"), "--out", out])
            .output()
            .expect("haven runs");
        assert!(o.status.code().is_some(), "{o:?}");
    };
    sim("april4-failover.toml", &at("1x"));
    sim("april4-failover-2x.toml", &at("2x"));
    let compare = |a: &str, b: &str, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_haven"))
            .args(["report", "--compare", a, b, "--out", out])
            .output()
            .expect("haven runs")
    };
    let o = compare(&at("1x"), &at("2x"), &at("runs"));
    assert!(o.status.success(), "{o:?}");
    let page = read(&dir.path().join("runs/report.html"));
    assert!(page.contains("<td>compared=1x</td>") && page.contains("<td>compared=2x</td>"));
    assert!(
        page.contains("<td>27 / 27 / 27</td>"),
        "failed requests, whole"
    );
    for plot in ["sweep-downtime", "sweep-failed", "sweep-vip-move"] {
        assert!(
            dir.path().join(format!("runs/{plot}.png")).exists(),
            "{plot}"
        );
    }
    let sweep = at("sweep");
    let o = Command::new(env!("CARGO_BIN_EXE_haven"))
        .args([
            "sweep",
            &format!("{ROOT}/scenarios/graceful-switchover.toml"),
        ])
        .args([
            "--set",
            "implementation=keepalived-2.2,haven",
            "--seeds",
            "2",
            "--out",
            &sweep,
        ])
        .output()
        .expect("haven runs");
    assert!(o.status.success(), "{o:?}");
    let pick = |value: &str| format!("{sweep}#implementation={value}");
    let o = compare(&pick("keepalived-2.2"), &pick("haven"), &at("combos"));
    assert!(o.status.success(), "{o:?}");
    let page = read(&dir.path().join("combos/report.html"));
    assert!(
        page.contains("sweep implementation=keepalived-2.2</td><td>2</td>"),
        "{page}"
    );
    assert!(
        page.contains("sweep implementation=haven</td><td>2</td>"),
        "{page}"
    );
    let o = compare(&sweep, &at("1x"), &at("refused"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("names 2 of the sweep's combinations")
            && err.contains("implementation=keepalived-2.2; implementation=haven"),
        "{err}"
    );
}
