//! The scenario a replay writes: the nodes as the logs show them (their
//! keepalived generation, `-D`, pids), what was inferred at the times
//! chosen, no traffic.

use super::infer::{Act, Guess};
use super::logs::Line;
use crate::cluster::Node;
use anyhow::{anyhow, Result};
use haven_core::log::syslog::Civil;
use haven_sim::Loaded;
use std::fmt::Write as _;

use super::SECOND;

/// The cluster the logs came from.
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<Node>,
    /// haproxy.cfg, shared by the nodes.
    pub(crate) haproxy: String,
    /// keepalived 1.x wording (else 2.x).
    pub(crate) v1: bool,
    /// keepalived's `-D` lines appear.
    pub(crate) detail: bool,
    /// Each node's pids by program, as its lines give them.
    pub(crate) pids: Vec<Vec<(&'static str, u32)>>,
    /// The users' requests the access lines show, replayed in the
    /// scenario written (not in the search: they change no VRRP timing).
    pub(crate) traffic: Option<Traffic>,
}

/// The access lines of the logs, replayed against the VIP.
pub(crate) struct Traffic {
    /// The lines (`access.log` beside the scenario).
    pub(crate) access: String,
    /// When the first request came (wall-clock µs).
    pub(crate) first: i64,
    /// Where the clients sent them: the VIP and the frontend's port.
    pub(crate) target: String,
    /// The servers haproxy names, simulated.
    pub(crate) backends: Vec<String>,
}

impl Traffic {
    /// Its `[[backend]]`s and the `[[client]]` replaying the lines, for a
    /// run starting at `start` (µs).
    fn toml(&self, start: i64) -> String {
        format!(
            "{}# The users of the access lines, each request when it came.\n[[client]]\nname = \"logged\"\ntarget = \"{}\"\nreplay = \"access.log\"\ntimeout = \"5s\"\nstart = \"{}us\"\n\n",
            crate::cluster::backends_toml(&self.backends),
            self.target,
            (self.first - start).max(0)
        )
    }
}

impl Cluster {
    /// How the nodes logged: the wording, `-D`, and their pids.
    pub(crate) fn new(nodes: Vec<Node>, haproxy: String, lines: &[(Option<usize>, Line)]) -> Self {
        let instance_lines = || {
            lines
                .iter()
                .filter(|(_, l)| super::infer::instance_message(&l.text).is_some())
        };
        let v1 = instance_lines().any(|(_, l)| l.text.starts_with("VRRP_Instance("));
        let detail = lines.iter().any(|(_, l)| is_detail(&l.text));
        let mut pids = vec![Vec::new(); nodes.len()];
        for (node, line) in lines {
            let (Some(n), Some(ident), Some(pid)) = (node, &line.ident, line.pid) else {
                continue;
            };
            let key = match ident.as_str() {
                "haproxy" => "haproxy",
                "Keepalived" => "keepalived",
                "Keepalived_vrrp" => "vrrp",
                "Keepalived_healthcheckers" => "checker",
                _ => continue,
            };
            let known: &mut Vec<(&str, u32)> = &mut pids[*n];
            if !known.iter().any(|(k, _)| *k == key) {
                known.push((key, pid));
            }
        }
        Self {
            nodes,
            haproxy,
            v1,
            detail,
            pids,
            traffic: None,
        }
    }

    /// The scenario to write: [`Cluster::toml`] and the logged users'
    /// traffic, if any.
    pub(crate) fn toml_with_traffic(
        &self,
        guesses: &[Guess],
        at: &[i64],
        start: i64,
        end: i64,
    ) -> String {
        let mut s = self.toml(guesses, at, start, end);
        if let Some(t) = &self.traffic {
            s.push_str(&t.toml(start));
        }
        s
    }

    /// The scenario: the run starts at `start` and ends at `end`
    /// (wall-clock µs), `guesses[i]` comes at `at[i]`.
    pub(crate) fn toml(&self, guesses: &[Guess], at: &[i64], start: i64, end: i64) -> String {
        let (style, implementation) = match self.v1 {
            true => ("1x", "keepalived-1.2"),
            false => ("2x", "keepalived-2.2"),
        };
        let mut s = format!(
            "# Written by haven replay from the logs: what they imply, at the times that\n# reproduce them best.\nname = \"replay\"\nseed = 1\nstart = \"{}\"\nduration = \"{}us\"\nlog_style = \"{style}\"\nlog_detail = {}\n\n[network]\nlatency = \"100us\"\n\n",
            wall(start),
            end - start,
            self.detail
        );
        for (n, node) in self.nodes.iter().enumerate() {
            let mut extra = format!("implementation = \"{implementation}\"\n");
            if !self.pids[n].is_empty() {
                let pids: Vec<String> = self.pids[n]
                    .iter()
                    .map(|(k, p)| format!("{k} = {p}"))
                    .collect();
                let _ = writeln!(extra, "pids = {{ {} }}", pids.join(", "));
            }
            let boot = guesses
                .iter()
                .zip(at)
                .find(|(g, _)| g.node == n && g.act == Act::Boot);
            if let Some((_, t)) = boot {
                let _ = writeln!(extra, "start = \"{}us\"", t - start);
            }
            s.push_str(&node.host_toml(&extra));
        }
        for (g, t) in guesses.iter().zip(at) {
            let Act::Action(action) = g.act else { continue };
            let _ = writeln!(
                s,
                "# {}\n[[event]]\nat = \"{}us\"\nhost = \"{}\"\naction = \"{action}\"\n",
                g.why,
                t - start,
                self.nodes[g.node].name
            );
        }
        s
    }

    /// Loads scenario `text` with the configs it names.
    pub(crate) fn load(&self, text: &str) -> Result<Loaded> {
        let access = self
            .traffic
            .as_ref()
            .map(|t| ("access.log", t.access.as_str()));
        let files: Vec<(&str, &str)> = access.into_iter().collect();
        crate::cluster::load_scenario("replay.toml", text, &self.haproxy, &self.nodes, &files)
            .map_err(|e| anyhow!("the replay's scenario does not load: {e}"))
    }
}

/// `2015-04-04 20:57:31.500000`.
fn wall(at: i64) -> String {
    let c = Civil::from_unix(at.div_euclid(SECOND));
    format!(
        "{}-{:02}-{:02} {}",
        c.year,
        c.month,
        c.day,
        super::stamp(at)
    )
}

/// True for what keepalived prints only with `-D`.
fn is_detail(text: &str) -> bool {
    let message = super::infer::instance_message(text).unwrap_or(text);
    [
        "Receive advertisement timeout",
        "setting protocol VIPs.",
        "setting VIPs.",
        "removing protocol VIPs.",
        "removing VIPs.",
        "Sending gratuitous ARP",
        "Sending/queueing gratuitous ARPs",
        "Backup received priority 0",
        "Master received priority 0",
        "Netlink reflector reports",
    ]
    .iter()
    .any(|d| message.starts_with(d))
}
