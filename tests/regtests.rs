//! HAProxy's own regression tests (haproxy v2.6.0's `reg-tests/`, run by
//! VTest through `../shared/regtests/run.sh`) against haven: every test
//! listed in `tests/regtests.txt` must pass. The list grows as haven
//! passes more of them; `../shared/regtests/README.md` says how the
//! runner isolates each test in its own network namespace.
//!
//! Needs `../shared` beside the checkout (skips with a reason outside CI,
//! fails under `CI=true` without it), root (network namespaces), and gcc,
//! make, libpcre2-dev and zlib1g-dev to build VTest on first use.

use std::path::Path;
use std::process::Command;

// Input: `run.sh -b <haven> tests/regtests.txt`.
// Output: exit status 0, "N passed, 0 failed" with N the list's length.
#[test]
fn haproxy_reg_tests_on_the_project_list_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runner = root.join("../shared/regtests/run.sh");
    if !runner.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/regtests missing under CI=true"
        );
        eprintln!("skipping: no reg-test runner at {}", runner.display());
        return;
    }
    let list = root.join("tests/regtests.txt");
    let listed = std::fs::read_to_string(&list)
        .expect("tests/regtests.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("regtests");
    let out = Command::new("bash")
        .arg(&runner)
        .arg("-b")
        .arg(env!("CARGO_BIN_EXE_haven"))
        .arg("-w")
        .arg(&work)
        .arg(&list)
        .output()
        .expect("run.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        out.status.success() && stdout.contains(&format!("{listed} passed, 0 failed")),
        "reg-tests failed: {failed:?}\n{stdout}\n{stderr}"
    );
}
