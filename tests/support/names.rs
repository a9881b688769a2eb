//! Processes under the names `haproxy` and `keepalived` (a symlink to
//! haven, as an operator would install it), and their pids.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// A directory with `haproxy` and `keepalived` symlinks to haven.
pub(crate) struct Names {
    pub(crate) dir: tempfile::TempDir,
}

impl Names {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["haproxy", "keepalived"] {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_haven"), dir.path().join(name))
                .expect("symlink");
        }
        Self { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn run(&self, name: &str, args: &[&str]) -> Output {
        Command::new(self.path(name))
            .args(args)
            .output()
            .expect("runs")
    }

    pub(crate) fn write(&self, file: &str, text: &str) -> String {
        let p = self.dir.path().join(file);
        std::fs::write(&p, text).expect("write");
        p.to_str().expect("utf-8").to_owned()
    }
}

/// Sends `sig` (`-TERM`, `-USR2`...) to `pid`.
pub(crate) fn kill(pid: i32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

/// The pid a pidfile holds.
pub(crate) fn pid_in(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` runs (a zombie does not).
pub(crate) fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// Kills a child if the test ends early.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
