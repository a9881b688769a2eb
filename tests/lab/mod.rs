//! A private network built inside the test: network namespaces joined by
//! veth pairs to a bridge that lives in a namespace of its own, so the
//! host's own network is never touched. Addresses are 10.77.0.0/24, inside
//! the namespaces only. Dropping the [`Lab`] kills its processes and
//! deletes its namespaces, also when a test fails.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The subnet every host of a lab is on.
pub(crate) const PREFIX: &str = "10.77.0";

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub(crate) fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this machine can build labs: root and iproute2. Under
/// `CI=true` a machine that cannot is an error, not a skip.
pub(crate) fn available() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let iproute = Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && iproute {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but this machine cannot build network namespaces (root: {root}, iproute2: {iproute})"
    );
    eprintln!("skipped: needs root and iproute2");
    false
}

/// A set of hosts on one bridge.
pub(crate) struct Lab {
    /// Namespace name prefix, unique per lab.
    tag: String,
    hosts: Vec<String>,
    children: Vec<Child>,
}

impl Lab {
    /// A lab whose namespace names start with `tag`, the process id and
    /// a number of its own (tests run in parallel).
    pub(crate) fn new(tag: &str) -> Self {
        static LABS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LABS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("{tag}{}n{n}", std::process::id());
        let lab = Self {
            tag,
            hosts: Vec::new(),
            children: Vec::new(),
        };
        let sw = lab.ns("sw");
        ip(&["netns", "add", &sw]);
        // No multicast snooping: VRRP's groups reach every port at once.
        ip(&[
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        lab
    }

    /// The full namespace name of host `name`.
    pub(crate) fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.tag)
    }

    /// Adds host `name` with address `10.77.0.<last>` on its `eth0`.
    pub(crate) fn host(&mut self, name: &str, last: u8) {
        let (ns, sw) = (self.ns(name), self.ns("sw"));
        ip(&["netns", "add", &ns]);
        self.hosts.push(ns.clone());
        // IPv6 addresses usable at once: no duplicate address detection.
        self.inside(name, || {
            for conf in ["all", "default"] {
                let path = format!("/proc/sys/net/ipv6/conf/{conf}/accept_dad");
                std::fs::write(path, "0").expect("accept_dad");
            }
        })
        .join()
        .expect("sysctl thread");
        let port = format!("p{name}");
        ip(&[
            "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{PREFIX}.{last}/24"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
    }

    /// Starts `program ARGS` inside host `name`'s namespace; output goes
    /// to `log`. The lab kills it when dropped.
    pub(crate) fn spawn(
        &mut self,
        name: &str,
        program: &str,
        args: &[&str],
        log: &std::path::Path,
    ) -> usize {
        let out = File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(name), program])
            .args(args)
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("process starts");
        self.children.push(child);
        self.children.len() - 1
    }

    /// Starts `program ARGS` inside host `name`'s namespace with its
    /// standard output piped to the caller (standard error is not read).
    /// The lab kills it when dropped.
    #[allow(dead_code)]
    pub(crate) fn spawn_piped(
        &mut self,
        name: &str,
        program: &str,
        args: &[&str],
    ) -> (usize, std::process::ChildStdout) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns(name), program])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("process starts");
        let out = child.stdout.take().expect("piped");
        self.children.push(child);
        (self.children.len() - 1, out)
    }

    /// The pid of spawned process `index` (`ip netns exec` execs it).
    pub(crate) fn pid(&self, index: usize) -> u32 {
        self.children[index].id()
    }

    /// Sends `signal` (`-KILL`, `-TERM`) to spawned process `index`.
    pub(crate) fn signal(&self, index: usize, signal: &str) {
        let pid = self.children[index].id().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Whether spawned process `index` has exited.
    pub(crate) fn exited(&mut self, index: usize) -> bool {
        self.children[index].try_wait().ok().flatten().is_some()
    }

    /// Whether host `name` has `addr` on its eth0.
    pub(crate) fn has_address(&self, name: &str, addr: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns(name), "-o", "addr", "show", "dev", "eth0"])
            .output()
            .expect("ip runs");
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {addr}/"))
    }

    /// Runs `f` on a thread inside host `name`'s network namespace.
    pub(crate) fn inside<T: Send + 'static>(
        &self,
        name: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.ns(name));
        std::thread::spawn(move || {
            let ns = File::open(&path).expect("namespace file");
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
    }

    /// An HTTP server on port 80 of host `name`, answering every request
    /// with 200 and `body`.
    pub(crate) fn web(&self, name: &str, body: &'static str) {
        let ready = self.inside(name, || TcpListener::bind("0.0.0.0:80").expect("bind :80"));
        crate::support::serve_on(ready.join().expect("listener"), body);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in self.hosts.iter().chain([&self.ns("sw")]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// GET / with `host` from inside the client's namespace, over a fresh
/// connection: the body of a 200, or `None`.
pub(crate) fn get(addr: SocketAddr, host: &str) -> Option<String> {
    attempt(addr, host).ok()
}

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection was reset: an HTTP client may send an idempotent
    /// request again (RFC 9110 §9.2.2), as browsers do.
    Reset(String),
    /// Anything else (no connection, a timeout, a bad answer).
    Failed(String),
}

/// One GET, saying how it failed.
pub(crate) fn attempt(addr: SocketAddr, host: &str) -> Result<String, Failure> {
    let failed = |what: &str, e: std::io::Error| {
        let text = format!("{what}: {e}");
        if e.kind() == std::io::ErrorKind::ConnectionReset {
            Failure::Reset(text)
        } else {
            Failure::Failed(text)
        }
    };
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| failed("connect", e))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| failed("socket", e))?;
    let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| failed("send", e))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| failed("read", e))?;
    let out = String::from_utf8_lossy(&out);
    match out.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(Failure::Failed(format!("answer: {out}"))),
    }
}

/// Polls `f` every 20 ms until it holds or `limit` passes; the time it took.
pub(crate) fn within(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
