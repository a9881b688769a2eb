//! haproxy's master-worker mode (`-W`, `-Ws`, or `master-worker` in the
//! global section). This process stays the master: it forks a worker (this
//! same program as `haproxy -db`, started again from its path, so an
//! upgraded binary serves after the next reload) and supervises it.
//!
//! - SIGUSR2 or SIGHUP (or `reload` on the master CLI) reloads: the config
//!   is checked, a new worker starts with `-sf` and the old one finishes
//!   its requests once the new one listens. A broken config keeps the old
//!   worker ("Loading failure!").
//! - SIGTERM and SIGINT stop the workers; SIGUSR1 lets them finish.
//! - A worker that dies on its own takes the master down with its code, as
//!   haproxy's default `exit-on-failure` does.
//! - `-S ADDR` serves the master CLI (`show proc`, `reload`, `show
//!   version`, `@1 CMD` to the worker's stats socket), one command line
//!   per connection.
//! - `-Ws` tells systemd (`NOTIFY_SOCKET`) READY, RELOADING and STOPPING.
//!
//! Workers say they listen the way a service tells systemd: `READY=1` and
//! `MAINPID` on a datagram socket the master names in their
//! `NOTIFY_SOCKET`. [`WORKER_ENV`] tells them they are workers.
//!
//! haproxy's master re-executes itself on reload; haven's keeps running
//! and starts the new worker from the program's path, which gives the
//! same upgrade path without handing the master's sockets over.

use crate::check::Report;
use crate::run::Action;
use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sd_notify::NotifyState;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixDatagram;
use tokio::signal::unix::SignalKind;
use tokio::sync::mpsc;

/// Set in a worker's environment to its master's pid.
pub(crate) const WORKER_ENV: &str = "HAVEN_MASTER_PID";

/// In a worker: stop (SIGTERM, so requests in progress finish) when the
/// master dies, as haproxy's workers leave with their master; a master
/// gone already stops it at once.
pub(crate) fn follow_master() {
    let master = std::env::var(WORKER_ENV)
        .ok()
        .and_then(|p| p.parse::<i32>().ok());
    let Some(master) = master else { return };
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    if nix::unistd::getppid() != Pid::from_raw(master) {
        say(
            "ALERT",
            &format!("master process ({master}) is gone; exiting"),
        );
        std::process::exit(1);
    }
}

/// What the master needs to know.
pub(crate) struct Master {
    /// The config files, for checks and for the workers.
    pub(crate) files: Vec<PathBuf>,
    pub(crate) quiet: bool,
    /// Holds the master's pid.
    pub(crate) pidfile: Option<PathBuf>,
    pub(crate) daemon: bool,
    /// `-Ws`: notify systemd.
    pub(crate) systemd: bool,
    /// `-S` addresses of the master CLI.
    pub(crate) cli: Vec<String>,
    /// Passed on to the workers.
    pub(crate) accept_unsupported: bool,
}

/// The master's signals.
const SIGNALS: &[(SignalKind, Action)] = &[
    (SignalKind::user_defined2(), Action::Reload),
    (SignalKind::hangup(), Action::Reload),
    (SignalKind::terminate(), Action::Immediate(Signal::SIGTERM)),
    (SignalKind::interrupt(), Action::Immediate(Signal::SIGINT)),
    (SignalKind::user_defined1(), Action::Graceful),
];

/// Prints a master line in haproxy's layout: `[NOTICE]   (PID) : text`.
fn say(level: &str, text: &str) {
    let tag = format!("[{level}]");
    haven_runtime::eprintln_whole!("{tag:<11}({}) : {text}", std::process::id());
}

/// One worker process.
struct Worker {
    pid: u32,
    born: Instant,
    /// Reloads of the master since this worker started.
    reloads: u32,
}

/// The master's view of its workers.
struct Supervisor {
    master: Master,
    exe: PathBuf,
    notify_path: PathBuf,
    born: Instant,
    reloads: u32,
    failed_reloads: u32,
    /// Serving, or starting and not ready yet.
    current: Option<Worker>,
    pending: Option<Worker>,
    /// Finishing their requests after a reload.
    former: Vec<Worker>,
    exits: mpsc::UnboundedSender<(u32, ExitStatus)>,
    stopping: bool,
    /// The exit code once every worker is gone.
    code: u8,
}

/// Runs the master to its end.
pub(crate) fn run(master: Master) -> ExitCode {
    match supervise(master) {
        Ok(code) => code,
        Err(e) => {
            say("ALERT", &format!("{e:#}"));
            ExitCode::from(1)
        }
    }
}

fn supervise(master: Master) -> Result<ExitCode> {
    let (daemon, pidfile) = (master.daemon, master.pidfile.clone());
    crate::run::as_process(daemon, pidfile.as_deref(), || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")?;
        rt.block_on(serve(master)).map(ExitCode::from)
    })
}

async fn serve(master: Master) -> Result<u8> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let notify_path =
        std::env::temp_dir().join(format!("haven-master-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&notify_path);
    let notify = UnixDatagram::bind(&notify_path)
        .with_context(|| format!("cannot bind {}", notify_path.display()))?;
    let (cli_tx, mut cli_rx) = mpsc::unbounded_channel();
    for address in &master.cli {
        crate::personality::master_cli::serve(address, cli_tx.clone()).await?;
    }
    let (exits, mut exited) = mpsc::unbounded_channel();
    let mut actions = crate::run::watch_signals(SIGNALS)?;
    let mut sup = Supervisor {
        master,
        exe,
        notify_path: notify_path.clone(),
        born: Instant::now(),
        reloads: 0,
        failed_reloads: 0,
        current: None,
        pending: None,
        former: Vec::new(),
        exits,
        stopping: false,
        code: 0,
    };
    sup.fork()?;
    let mut buf = [0u8; 512];
    let code = loop {
        tokio::select! {
            Ok(n) = notify.recv(&mut buf) => sup.heard(&String::from_utf8_lossy(&buf[..n])),
            Some((pid, status)) = exited.recv() => {
                if let Some(code) = sup.exited(pid, status) {
                    break code;
                }
            }
            Some(action) = actions.recv() => match action {
                Action::Reload => sup.reload(),
                Action::Graceful => sup.stop(Signal::SIGUSR1),
                Action::Immediate(signal) => sup.stop(signal),
                Action::DumpStats | Action::DumpData => sup.stop(Signal::SIGTERM),
            },
            Some(request) = cli_rx.recv() => sup.answer(request).await,
        }
    };
    let _ = std::fs::remove_file(&notify_path);
    Ok(code)
}

impl Supervisor {
    /// Starts a worker that replaces the current one once it listens.
    fn fork(&mut self) -> Result<()> {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg0("haproxy").arg("-db");
        for f in &self.master.files {
            cmd.arg("-f").arg(f);
        }
        if self.master.quiet {
            cmd.arg("-q");
        }
        if self.master.accept_unsupported {
            cmd.arg("--accept-unsupported");
        }
        if let Some(old) = &self.current {
            cmd.arg("-sf").arg(old.pid.to_string());
        }
        cmd.env("NOTIFY_SOCKET", &self.notify_path)
            .env(WORKER_ENV, std::process::id().to_string())
            .stdin(std::process::Stdio::null());
        let mut child = cmd.spawn().context("cannot start a worker")?;
        let pid = child.id().unwrap_or_default();
        let exits = self.exits.clone();
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                let _ = exits.send((pid, status));
            }
        });
        say("NOTICE", &format!("New worker ({pid}) forked"));
        self.pending = Some(Worker {
            pid,
            born: Instant::now(),
            reloads: 0,
        });
        Ok(())
    }

    /// A worker's notification: the pending one listens.
    fn heard(&mut self, message: &str) {
        let ready = message.lines().any(|l| l == "READY=1");
        let pid = message
            .lines()
            .find_map(|l| l.strip_prefix("MAINPID="))
            .and_then(|p| p.parse::<u32>().ok());
        if !ready || pid.is_none() || self.pending.as_ref().map(|w| w.pid) != pid {
            return;
        }
        let first = self.current.is_none();
        if let Some(old) = self.current.take() {
            self.former.push(old);
        }
        self.current = self.pending.take();
        say("NOTICE", "Loading success.");
        if !first {
            say(
                "NOTICE",
                &format!("haproxy version is {}", super::haproxy::version()),
            );
            say(
                "NOTICE",
                &format!("path to executable is {}", self.exe.display()),
            );
        }
        self.notify_systemd(NotifyState::Ready);
    }

    /// Reload: a new worker when the config is valid.
    fn reload(&mut self) {
        if self.stopping {
            return;
        }
        say("NOTICE", "Reloading HAProxy");
        self.notify_systemd(NotifyState::Reloading);
        self.reloads += 1;
        for w in self.current.iter_mut().chain(self.former.iter_mut()) {
            w.reloads += 1;
        }
        let valid = matches!(
            crate::check::load_haproxy(&self.master.files, self.report()),
            Ok(Some(_))
        );
        if !valid || self.pending.is_some() || self.fork().is_err() {
            self.failed_reloads += 1;
            say("WARNING", "Loading failure!");
            self.notify_systemd(NotifyState::Ready);
        }
    }

    /// SIGTERM or SIGUSR1: every worker gets `signal`; the master exits
    /// when they are gone.
    fn stop(&mut self, signal: Signal) {
        if !self.stopping {
            say("WARNING", "Exiting Master process...");
            self.notify_systemd(NotifyState::Stopping);
        }
        self.stopping = true;
        for pid in self.pids() {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }

    /// Worker `pid` ended; `Some(code)` when the master is done.
    fn exited(&mut self, pid: u32, status: ExitStatus) -> Option<u8> {
        let (code, how) = describe(status);
        if self.pending.as_ref().is_some_and(|w| w.pid == pid) {
            self.pending = None;
            self.failed_reloads += 1;
            say(
                "ALERT",
                &format!("New worker ({pid}) exited with code {code} ({how})"),
            );
            say("WARNING", "Loading failure!");
            self.notify_systemd(NotifyState::Ready);
        } else if self.current.as_ref().is_some_and(|w| w.pid == pid) && self.pending.is_some() {
            // Told to finish by its replacement, whose READY is on its way.
            self.current = None;
            say(
                "WARNING",
                &format!("Former worker ({pid}) exited with code {code} ({how})"),
            );
        } else if self.current.as_ref().is_some_and(|w| w.pid == pid) {
            self.current = None;
            let level = if code == 0 { "WARNING" } else { "ALERT" };
            say(
                level,
                &format!("Current worker ({pid}) exited with code {code} ({how})"),
            );
            if self.stopping {
                // SIGTERM is the normal stop; any other end (130 after
                // SIGINT) is the master's own exit code, as haproxy's.
                self.code = if code == 128 + Signal::SIGTERM as u8 {
                    0
                } else {
                    code
                };
            } else {
                say(
                    "ALERT",
                    "exit-on-failure: killing every processes with SIGTERM",
                );
                self.code = code;
                self.stop(Signal::SIGTERM);
            }
        } else if let Some(at) = self.former.iter().position(|w| w.pid == pid) {
            self.former.remove(at);
            say(
                "WARNING",
                &format!("Former worker ({pid}) exited with code {code} ({how})"),
            );
        }
        let none_left = self.pids().is_empty();
        let no_server = self.current.is_none() && self.pending.is_none();
        if none_left && (self.stopping || no_server) {
            say(
                "WARNING",
                &format!("All workers exited. Exiting... ({})", self.code),
            );
            return Some(self.code);
        }
        None
    }

    /// Every worker's pid.
    fn pids(&self) -> Vec<u32> {
        self.current
            .iter()
            .chain(&self.pending)
            .chain(&self.former)
            .map(|w| w.pid)
            .collect()
    }

    /// How a reload's config read shows its problems: not at all under -q.
    fn report(&self) -> Report {
        if self.master.quiet {
            Report::Quiet
        } else {
            Report::Run
        }
    }

    fn notify_systemd(&self, state: NotifyState<'_>) {
        if self.master.systemd {
            let _ = sd_notify::notify(false, &[state]);
        }
    }

    /// Answers one master CLI request.
    async fn answer(&mut self, request: crate::personality::master_cli::Request) {
        use crate::personality::master_cli::Command;
        let reply = match request.command {
            Command::ShowProc => self.show_proc(),
            Command::ShowVersion => format!("{}\n", super::haproxy::version()),
            Command::Reload => {
                self.reload();
                String::new()
            }
            Command::Help => crate::personality::master_cli::HELP.to_owned(),
            Command::Worker { target, line } => self.forward(&target, &line).await,
            Command::Unknown(word) => format!(
                "Unknown command: '{word}'\n{}",
                crate::personality::master_cli::HELP
            ),
        };
        let _ = request.reply.send(reply);
    }

    /// `show proc`: the master, then the workers, in haproxy's columns.
    fn show_proc(&self) -> String {
        let version = super::haproxy::version();
        let mut out = format!(
            "{:<16}{:<16}{:<16}{:<16}{:<15}\n",
            "#<PID>", "<type>", "<reloads>", "<uptime>", "<version>"
        );
        let row = |pid: u32, kind: &str, reloads: String, born: Instant| {
            format!(
                "{pid:<16}{kind:<16}{reloads:<16}{:<16}{version}\n",
                uptime(born.elapsed().as_secs())
            )
        };
        out += &row(
            std::process::id(),
            "master",
            format!("{} [failed: {}]", self.reloads, self.failed_reloads),
            self.born,
        );
        out += "# workers\n";
        for w in self.current.iter().chain(&self.pending) {
            out += &row(w.pid, "worker", w.reloads.to_string(), w.born);
        }
        if !self.former.is_empty() {
            out += "# old workers\n";
            for w in &self.former {
                out += &row(w.pid, "worker", w.reloads.to_string(), w.born);
            }
        }
        out += "# programs\n\n";
        out
    }

    /// `@1 CMD` / `@!PID CMD`: the command, answered by the serving
    /// worker's stats socket.
    async fn forward(&self, target: &str, line: &str) -> String {
        let current = self.current.as_ref().map(|w| w.pid);
        let matches = match target.strip_prefix('!') {
            Some(pid) => pid.parse::<u32>().ok() == current,
            None => target == "1",
        };
        if !matches || current.is_none() {
            return format!("Can't find the target PID matching the prefix '@{target}'\n");
        }
        let socket = crate::check::load_haproxy(&self.master.files, Report::Quiet)
            .ok()
            .flatten()
            .and_then(|cfg| cfg.global.stats_sockets.first().map(|s| s.address.clone()));
        let Some(socket) = socket else {
            return "This worker has no stats socket to send the command to.\n".to_owned();
        };
        match ask_worker(&socket, line).await {
            Ok(reply) => reply,
            Err(e) => format!("Can't connect to the worker's stats socket {socket}: {e}\n"),
        }
    }
}

/// Sends one command line to a stats socket and reads the whole reply.
async fn ask_worker(socket: &str, line: &str) -> std::io::Result<String> {
    let mut reply = String::new();
    let request = format!("{line}\n");
    match socket.strip_prefix("ipv4@") {
        Some(addr) => {
            let mut s = tokio::net::TcpStream::connect(addr).await?;
            s.write_all(request.as_bytes()).await?;
            s.read_to_string(&mut reply).await?;
        }
        None => {
            let path = socket.strip_prefix("unix@").unwrap_or(socket);
            let mut s = tokio::net::UnixStream::connect(path).await?;
            s.write_all(request.as_bytes()).await?;
            s.read_to_string(&mut reply).await?;
        }
    }
    Ok(reply)
}

/// haproxy's `0d00h00m05s`.
fn uptime(secs: u64) -> String {
    format!(
        "{}d{:02}h{:02}m{:02}s",
        secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// An exit status as haproxy words it: the code (128 + signal when
/// killed) and `Exit`, or the signal's description.
fn describe(status: ExitStatus) -> (u8, String) {
    if let Some(code) = status.code() {
        return (code as u8, "Exit".to_owned());
    }
    let signal = status.signal().unwrap_or(0);
    let text = match Signal::try_from(signal) {
        Ok(Signal::SIGTERM) => "Terminated".to_owned(),
        Ok(Signal::SIGKILL) => "Killed".to_owned(),
        Ok(Signal::SIGINT) => "Interrupt".to_owned(),
        Ok(Signal::SIGSEGV) => "Segmentation fault".to_owned(),
        Ok(Signal::SIGABRT) => "Aborted".to_owned(),
        Ok(s) => s.as_str().to_owned(),
        Err(_) => format!("signal {signal}"),
    };
    ((128 + signal) as u8, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_and_exits_read_as_haproxy_s() {
        assert_eq!(uptime(5), "0d00h00m05s");
        assert_eq!(uptime(90_061), "1d01h01m01s");
        assert_eq!(describe(ExitStatus::from_raw(0)), (0, "Exit".to_owned()));
        assert_eq!(
            describe(ExitStatus::from_raw(15)),
            (143, "Terminated".to_owned())
        );
        assert_eq!(
            describe(ExitStatus::from_raw(2 << 8)),
            (2, "Exit".to_owned())
        );
    }
}
