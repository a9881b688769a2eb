//! `haven replay`: an incident's logs and the cluster's configs become a
//! scenario. The lines tell what happened (a proxy dying, keepalived
//! stopped, killed or started) within a span of time; the simulator finds
//! the times in those spans that reproduce the log best, writes the
//! scenario, runs it and prints the real log against the simulated one.

mod diff;
mod infer;
mod logs;
mod nodes;
mod scenario;
mod search;

use crate::check::load_keepalived;
use crate::cluster::{assign_addresses, Node};
use crate::fs_loader::{expand_cfg_paths, read_text};
use crate::ReplayArgs;
use anyhow::{bail, Context, Result};
use haven_core::log::syslog::Civil;
use infer::{Act, Guess};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

/// A second, in the microseconds the replay counts time in.
const SECOND: i64 = 1_000_000;

/// Runs `haven replay`: 0 when the run reproduces every line the simulator
/// writes to the second, 1 when some line differs.
pub(crate) fn run(args: &ReplayArgs) -> Result<ExitCode> {
    if args.keepalived.len() < 2 {
        bail!("replay needs the keepalived.conf of each node: -k [NAME=]NODE1.conf -k [NAME=]NODE2.conf");
    }
    let year = args.year.unwrap_or_else(this_year);
    let mut logs = Vec::new();
    for spec in &args.logs {
        let (host, path) = nodes::split_named(spec);
        let text = read_text(&path)?;
        let lines = logs::read(&path.to_string_lossy(), &text, year).map_err(anyhow::Error::msg)?;
        logs.push((host, lines));
    }
    let hosts: BTreeSet<String> = logs
        .iter()
        .flat_map(|(file_host, lines)| {
            file_host
                .iter()
                .cloned()
                .chain(lines.iter().filter_map(|l| l.host.clone()))
        })
        .collect();
    let mut given = Vec::new();
    for spec in &args.keepalived {
        let (name, path) = nodes::split_named(spec);
        let Some(cfg) = load_keepalived(&path)? else {
            return Ok(ExitCode::from(1));
        };
        let text = read_text(&path)?;
        given.push(nodes::Given {
            name,
            path,
            text,
            cfg,
        });
    }
    let mut nodes = nodes::name(given, &hosts)?;
    let vip = first_vip(&nodes)?;
    let Some(haproxy_cfg) = crate::check::load_haproxy_elsewhere(&args.haproxy)? else {
        return Ok(ExitCode::from(1));
    };
    let haproxy = expand_cfg_paths(&args.haproxy)?
        .iter()
        .map(|p| read_text(p))
        .collect::<Result<Vec<_>>>()?
        .join("\n");

    let mut lines = nodes::attribute(&nodes, logs);
    for (n, addr) in infer::addresses(&nodes, &lines).into_iter().enumerate() {
        if let Some(addr) = addr {
            nodes[n].addr = addr;
        }
    }
    assign_addresses(&mut nodes, vip);
    let inferred = infer::infer(&nodes, &mut lines);
    let mut cluster = scenario::Cluster::new(nodes, haproxy, &lines);
    cluster.traffic = traffic(&haproxy_cfg, vip, &lines);
    let names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    print!("{}", header(&cluster, &lines, &inferred.guesses, &names));
    if !inferred.notes.is_empty() {
        println!("not inferred:");
        for note in &inferred.notes {
            println!("  - {note}");
        }
    }
    let (plan, comparison, runs) = search::search(&cluster, &inferred.guesses, &lines)?;
    let text = cluster.toml_with_traffic(&inferred.guesses, &plan.at, plan.start, plan.end);
    write_scenario(args, &cluster, &text)?;
    let rec = haven_sim::run(&cluster.load(&text)?, None);
    let diff = comparison.render(&names);
    std::fs::write(args.out.join("diff.txt"), &diff)
        .with_context(|| format!("cannot write '{}'", args.out.join("diff.txt").display()))?;
    println!("chosen after {runs} runs:");
    for (g, at) in inferred.guesses.iter().zip(&plan.at) {
        println!(
            "  {}  {:<14} {}",
            stamp(*at),
            act_name(g.act),
            names[g.node]
        );
    }
    println!(
        "scenario: {} (haven sim reruns it)\n",
        args.out.join("scenario.toml").display()
    );
    print!("{diff}");
    println!(
        "\n{} of {} lines reproduced to the second ({} paired); {} simulated lines the logs do not have",
        comparison.in_second, comparison.real, comparison.matched, comparison.extra
    );
    print_vip_moves(&comparison, &names);
    crate::sim::write_outputs(&rec, &text, &args.out)?;
    Ok(match comparison.exact() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}

/// The access lines of the logs (haproxy's httplog lines, whatever host
/// logged them: the users reached the VIP), to replay against the VIP at
/// the frontend's port; `None` without any, or without a port.
fn traffic(
    haproxy: &haven_core::config::haproxy::HaproxyConfig,
    vip: Ipv4Addr,
    lines: &[(Option<usize>, logs::Line)],
) -> Option<scenario::Traffic> {
    let access: Vec<&str> = lines
        .iter()
        .filter(|(_, l)| haven_sim::first_request(&l.text).is_some())
        .map(|(_, l)| l.text.as_str())
        .collect();
    let access = access.join("\n") + "\n";
    let first = haven_sim::first_request(&access)?;
    let (port, _) = crate::cluster::front(haproxy)?;
    Some(scenario::Traffic {
        first: first as i64 * 1000,
        target: format!("{vip}:{port}"),
        backends: crate::cluster::backends(haproxy, Some(port)),
        access,
    })
}

/// The year syslog dates are read in when not given: this one.
fn this_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Civil::from_unix(secs as i64).year
}

/// The first IPv4 VIP of the first node's first instance.
fn first_vip(nodes: &[Node]) -> Result<Ipv4Addr> {
    nodes[0]
        .cfg
        .instances
        .first()
        .and_then(|i| {
            i.vips.iter().find_map(|v| match v.addr {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
        })
        .context("the simulator needs an IPv4 virtual_ipaddress in the first keepalived.conf")
}

/// What was read and inferred.
fn header(
    cluster: &scenario::Cluster,
    lines: &[(Option<usize>, logs::Line)],
    guesses: &[Guess],
    names: &[String],
) -> String {
    let compared = lines
        .iter()
        .filter(|(n, l)| n.is_some() && diff::modelled(&l.text))
        .count();
    let mut out = format!(
        "read {} lines of {}: keepalived {} wording{}; {compared} lines are of what the simulator writes\ninferred:\n",
        lines.len(),
        names.join(", "),
        if cluster.v1 { "1.x" } else { "2.x" },
        if cluster.detail { ", -D" } else { "" },
    );
    for g in guesses {
        let _ = writeln!(
            out,
            "  {} .. {}  {:<14} {}  ({})",
            stamp(g.lo),
            stamp(g.hi),
            act_name(g.act),
            names[g.node],
            g.why
        );
    }
    out
}

/// A guess's action as the scenario words it.
fn act_name(act: Act) -> &'static str {
    match act {
        Act::Boot => "start (boot)",
        Act::Action(a) => a,
    }
}

/// `20:57:51.000000`.
fn stamp(at: i64) -> String {
    let c = Civil::from_unix(at.div_euclid(SECOND));
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        c.hour,
        c.minute,
        c.second,
        at.rem_euclid(SECOND)
    )
}

/// Writes the scenario and the configs it names into the output folder.
fn write_scenario(args: &ReplayArgs, cluster: &scenario::Cluster, text: &str) -> Result<()> {
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create '{}'", out.display()))?;
    let mut files = vec![("haproxy.cfg".to_owned(), cluster.haproxy.as_str())];
    for n in &cluster.nodes {
        files.push((format!("{}.conf", n.name), n.text.as_str()));
    }
    if let Some(t) = &cluster.traffic {
        files.push(("access.log".to_owned(), t.access.as_str()));
    }
    files.push(("scenario.toml".to_owned(), text));
    for (name, body) in files {
        let p = out.join(name);
        std::fs::write(&p, body).with_context(|| format!("cannot write '{}'", p.display()))?;
    }
    Ok(())
}

/// When each node entered MASTER, really and in the run.
fn print_vip_moves(comparison: &diff::Comparison, names: &[String]) {
    for (n, name) in names.iter().enumerate() {
        for (real, sim) in comparison.pairs(n, "Entering MASTER STATE") {
            let sim = sim.map_or_else(|| "never".to_owned(), stamp);
            println!(
                "{name} enters MASTER: real {}, simulated {sim}",
                stamp(real)
            );
        }
    }
}
