//! `haven check --simulate`: the standard faults run in the simulator on
//! the configs at hand (one haproxy.cfg, one keepalived.conf per node),
//! with what each costs the clients at a stated load, and the classic
//! mistakes flagged with the fault that shows them.

use crate::check::{load_haproxy_elsewhere, load_keepalived};
use crate::cluster::{assign_addresses, backends, backends_toml, front, Node};
use crate::fs_loader::{expand_cfg_paths, read_text};
use anyhow::{anyhow, bail, Context, Result};
use haven_core::config::haproxy::HaproxyConfig;
use haven_core::config::keepalived::InitialState;
use haven_core::time::{Duration, Instant};
use haven_core::vrrp::{is_haproxy_idiom, priority_with, Health};
use haven_sim::Recorder;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

/// When the fault comes (s), and how long a run lasts (s).
const FAULT_AT: u64 = 30;
const RUN_FOR: u64 = 90;

/// What to simulate: the configs and the load.
pub(crate) struct Simulation<'a> {
    pub(crate) haproxy: &'a [PathBuf],
    pub(crate) keepalived: &'a [PathBuf],
    /// Requests per second, at a fixed rate.
    pub(crate) load: f64,
}

/// The standard faults: what they are, and their scenario action on the
/// master (`None`: the first backend goes down).
const FAULTS: [(&str, Option<&str>); 6] = [
    ("the proxy dies on the master", Some("kill haproxy")),
    ("keepalived killed on the master", Some("kill keepalived")),
    ("the master crashes", Some("crash")),
    ("keepalived stopped on the master", Some("stop keepalived")),
    ("the master's link goes down", Some("link down")),
    ("a backend goes down", None),
];

/// What the standard faults do to a cluster: the run's description, the
/// figures of each fault, and what is wrong.
pub(crate) struct Assessment {
    /// What is simulated and where the VIP is at rest.
    pub(crate) header: String,
    /// Per fault: its label and its figures.
    pub(crate) rows: Vec<(&'static str, Figures)>,
    /// The classic mistakes found.
    pub(crate) findings: Vec<String>,
}

/// One fault's figures: when and where the VIP moved, the clients'
/// downtime and their failed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Figures {
    pub(crate) moved: String,
    pub(crate) to: String,
    pub(crate) downtime: String,
    pub(crate) failed: u64,
}

/// The table's header line.
pub(crate) const TABLE_HEAD: (&str, &str, &str, &str, &str) =
    ("fault at 30 s", "VIP moves", "to", "downtime", "failed");

/// Runs `haven check --simulate`: 0 when nothing was found, 1 on a
/// finding or a config that does not read.
pub(crate) fn run(sim: &Simulation<'_>) -> Result<ExitCode> {
    let Some(a) = assess(sim)? else {
        return Ok(ExitCode::from(1));
    };
    let mut out = a.header;
    if !a.rows.is_empty() {
        let (f, m, t, d, n) = TABLE_HEAD;
        let _ = writeln!(out, "{f:<34} {m:>9} {t:>18} {d:>9} {n:>8}");
    }
    for (label, f) in &a.rows {
        let _ = writeln!(
            out,
            "{label:<34} {:>9} {:>18} {:>9} {:>8}",
            f.moved, f.to, f.downtime, f.failed
        );
    }
    Ok(finish(out, &a.findings))
}

/// Runs the standard faults on `sim`'s configs; `None` when a config does
/// not read (its errors are printed).
pub(crate) fn assess(sim: &Simulation<'_>) -> Result<Option<Assessment>> {
    if sim.keepalived.len() < 2 {
        bail!("--simulate needs the keepalived.conf of each node: -k NODE1.conf -k NODE2.conf");
    }
    let Some(haproxy) = load_haproxy_elsewhere(sim.haproxy)? else {
        return Ok(None);
    };
    let haproxy_text = expand_cfg_paths(sim.haproxy)?
        .iter()
        .map(|p| read_text(p))
        .collect::<Result<Vec<_>>>()?
        .join("\n");
    let mut nodes = Vec::new();
    for path in sim.keepalived {
        let Some(cfg) = load_keepalived(path)? else {
            return Ok(None);
        };
        let name = path.file_stem().map_or_else(
            || format!("node{}", nodes.len() + 1),
            |s| s.to_string_lossy().into_owned(),
        );
        if nodes.iter().any(|n: &Node| n.name == name) {
            bail!("two keepalived.conf files are named {name}: the nodes are named after them");
        }
        let text = read_text(path)?;
        nodes.push(Node::new(name, text, cfg));
    }
    let world = World::new(&haproxy, haproxy_text, nodes, sim.load)?;
    let mut findings = mismatches(&world.nodes);
    let mut header = world.header();
    let rest = world.run(None)?;
    let at_rest = Instant::ZERO + Duration::from_secs(FAULT_AT);
    let masters = rest.owners(&world.instance, at_rest);
    let holds = if masters.len() > 1 { "hold" } else { "holds" };
    let _ = writeln!(
        header,
        "at rest: {} {holds} {}",
        masters.join(" and "),
        world.vip
    );
    if masters.len() > 1 {
        findings.push(format!(
            "both nodes become MASTER of {} at rest: they do not take each other's adverts (see the mismatches above, or a firewall)",
            world.instance
        ));
    }
    let mut rows = Vec::new();
    let Some(master) = masters.first().cloned() else {
        findings.push(format!("no node holds {} at rest", world.vip));
        return Ok(Some(Assessment {
            header,
            rows,
            findings,
        }));
    };
    for (label, action) in FAULTS {
        let Some(event) = world.event(action, &master) else {
            continue;
        };
        let rec = world.run(Some(&event))?;
        let outcome = rec.outcome();
        let moved = rec.failovers.first().and_then(|f| {
            let after = f.vip_moved?.saturating_duration_since(f.at);
            Some((after, f.new_owner.clone()?))
        });
        let (after, to) = match &moved {
            Some((after, to)) => (seconds(*after), to.clone()),
            None => ("stays".to_owned(), "-".to_owned()),
        };
        rows.push((
            label,
            Figures {
                moved: after,
                to,
                downtime: seconds(outcome.client_downtime),
                failed: outcome.failed_requests,
            },
        ));
        let alone = masters.len() == 1;
        if alone && action == Some("kill haproxy") && moved.is_none() && outcome.failed_requests > 0
        {
            findings.push(world.proxy_death_stays(&master));
        }
    }
    Ok(Some(Assessment {
        header,
        rows,
        findings,
    }))
}

/// `1.234s`.
fn seconds(d: Duration) -> String {
    format!("{:.3}s", d.as_micros() as f64 / 1e6)
}

/// Prints the figures and the findings; the exit code they make.
pub(crate) fn finish(mut out: String, findings: &[String]) -> ExitCode {
    if findings.is_empty() {
        out.push_str("no finding\n");
    } else {
        out.push_str("findings:\n");
        for f in findings {
            let _ = writeln!(out, "  - {f}");
        }
    }
    print!("{out}");
    ExitCode::from(u8::from(!findings.is_empty()))
}

/// The simulated world the configs make: the nodes on one segment, the
/// backends haproxy names, a fixed-rate client at the first VIP.
struct World {
    nodes: Vec<Node>,
    haproxy_text: String,
    /// The first vrrp_instance of the first node, and its first VIP.
    instance: String,
    vip: Ipv4Addr,
    /// The port clients reach and the Host they send, when haproxy
    /// listens there.
    front: Option<(u16, Option<String>)>,
    backends: Vec<String>,
    load: f64,
}

impl World {
    fn new(
        haproxy: &HaproxyConfig,
        haproxy_text: String,
        mut nodes: Vec<Node>,
        load: f64,
    ) -> Result<Self> {
        let first = nodes[0]
            .cfg
            .instances
            .first()
            .context("the first keepalived.conf has no vrrp_instance")?;
        let instance = first.name.clone();
        let vip = first
            .vips
            .iter()
            .find_map(|v| match v.addr {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .context("the simulator needs an IPv4 virtual_ipaddress")?;
        let front = front(haproxy);
        let backends = backends(haproxy, front.as_ref().map(|(port, _)| *port));
        assign_addresses(&mut nodes, vip);
        Ok(Self {
            nodes,
            haproxy_text,
            instance,
            vip,
            front,
            backends,
            load,
        })
    }

    /// What is simulated, in a few lines.
    fn header(&self) -> String {
        let names: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("{} ({})", n.name, n.addr))
            .collect();
        let load = match &self.front {
            Some((port, host)) => format!(
                "{} requests/s to {}:{port}{}",
                self.load,
                self.vip,
                host.as_ref()
                    .map_or(String::new(), |h| format!(" with Host {h}"))
            ),
            None => "no client (haproxy listens on no port)".to_owned(),
        };
        let mut out = format!(
            "simulating {} for {RUN_FOR} s per fault: {load}; {} backends of 2 ms\n",
            names.join(", "),
            self.backends.len()
        );
        for n in &self.nodes {
            for s in &n.cfg.scripts {
                if !is_haproxy_idiom(&s.script) {
                    let _ = writeln!(
                        out,
                        "assumed: vrrp_script {} of {} ('{}') succeeds",
                        s.name, n.name, s.script
                    );
                }
            }
        }
        out
    }

    /// The `[[event]]` of a fault: `action` on `master`, or the first
    /// backend going down (`None`), if there is one.
    fn event(&self, action: Option<&str>, master: &str) -> Option<String> {
        Some(match action {
            Some(action) => {
                format!(
                    "[[event]]\nat = \"{FAULT_AT}s\"\nhost = \"{master}\"\naction = \"{action}\"\n"
                )
            }
            None => format!(
                "[[event]]\nat = \"{FAULT_AT}s\"\nhost = \"{}\"\naction = \"backend down\"\n",
                self.backends.first()?
            ),
        })
    }

    /// Runs the world with `event`, if any.
    fn run(&self, event: Option<&str>) -> Result<Recorder> {
        let text = self.scenario(event.unwrap_or_default());
        let sc = crate::cluster::load_scenario(
            "check-simulate.toml",
            &text,
            &self.haproxy_text,
            &self.nodes,
            &[],
        )
        .map_err(|e| anyhow!("the simulation cannot run these configs: {e}"))?;
        Ok(haven_sim::run(&sc, None))
    }

    /// The scenario: the nodes, the backends, the client and `event`.
    fn scenario(&self, event: &str) -> String {
        let mut s = format!(
            "name = \"check-simulate\"\nseed = 1\nstart = \"2026-01-01 00:00:00\"\nduration = \"{RUN_FOR}s\"\n\n[network]\nlatency = \"200us\"\n\n"
        );
        for n in &self.nodes {
            s.push_str(&n.host_toml(""));
        }
        s.push_str(&backends_toml(&self.backends));
        if let Some((port, host)) = &self.front {
            let _ = writeln!(
                s,
                "[[client]]\nname = \"load\"\ntarget = \"{}:{port}\"\nrate = {}\ndistribution = \"constant\"\ntimeout = \"2s\"\nstart = \"10s\"",
                self.vip, self.load
            );
            if let Some(h) = host {
                let _ = writeln!(s, "hosts = {{ \"{h}\" = 1 }}");
            }
            s.push('\n');
        }
        s.push_str(event);
        s
    }

    /// Why the VIP stays on `master` when its proxy dies: the priorities
    /// each node's tracked scripts make (core's arithmetic), the "is
    /// haproxy running" scripts failing on the master.
    fn proxy_death_stays(&self, master: &str) -> String {
        let priorities: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let i = n.cfg.instances.iter().find(|i| i.name == self.instance)?;
                let up = priority_with(&n.cfg, i, |_| Health::Ok);
                Some(if n.name == master {
                    let down = priority_with(&n.cfg, i, |s| {
                        match is_haproxy_idiom(&n.cfg.scripts[s].script) {
                            true => Health::Ko,
                            false => Health::Ok,
                        }
                    });
                    format!("{} falls from {up} to {down} without its proxy", n.name)
                } else {
                    format!("{} stays at {up}", n.name)
                })
            })
            .collect();
        format!(
            "a dying proxy never moves the VIP: the track_script weights do not flip the priorities ({})",
            priorities.join(", ")
        )
    }
}

/// What differs between the nodes' instances of one name where it must
/// not (VRID, advert_int, authentication), and `nopreempt` beside
/// `state MASTER`.
fn mismatches(nodes: &[Node]) -> Vec<String> {
    let mut found = Vec::new();
    for n in nodes {
        for i in &n.cfg.instances {
            if i.nopreempt && i.state == InitialState::Master {
                found.push(format!(
                    "{}: vrrp_instance {} has nopreempt with state MASTER; keepalived ignores nopreempt unless the state is BACKUP",
                    n.name, i.name
                ));
            }
        }
    }
    let (first, others) = nodes.split_first().expect("two nodes or more");
    for i in &first.cfg.instances {
        for n in others {
            let Some(j) = n.cfg.instances.iter().find(|j| j.name == i.name) else {
                found.push(format!("{} has no vrrp_instance {}", n.name, i.name));
                continue;
            };
            let pair = format!("vrrp_instance {} of {} and {}", i.name, first.name, n.name);
            if i.vrid != j.vrid {
                found.push(format!(
                    "{pair}: virtual_router_id {} and {} differ",
                    i.vrid, j.vrid
                ));
            }
            if i.advert_int != j.advert_int {
                found.push(format!(
                    "{pair}: advert_int {} and {} differ",
                    seconds(i.advert_int),
                    seconds(j.advert_int)
                ));
            }
            if i.auth != j.auth {
                found.push(format!("{pair}: the authentication differs"));
            }
        }
    }
    found
}
