//! keepalived's data dump (SIGUSR1, `/tmp/keepalived.data`): the global
//! definitions, each instance's configuration and live state, and each
//! tracked script, line for line as keepalived 2.2.7 words them. The
//! sections about keepalived's own internals (socket pool, interface
//! table, wall-clock timers) are left out.

use super::daemon::Vrrp;
use super::script::Health;
use crate::config::keepalived::{AuthType, KeepalivedConfig, VrrpInstance};
use std::fmt::Write;

impl Vrrp {
    /// The dump of this daemon running `cfg` on host `hostname`.
    pub fn data_dump(&self, cfg: &KeepalivedConfig, hostname: &str) -> String {
        let mut out = String::new();
        let g = &cfg.global;
        let router_id = g.router_id.as_deref().unwrap_or(hostname);
        let _ = write!(
            out,
            "------< Global definitions >------\n Router ID = {router_id}\n VRRP IPv4 mcast group = 224.0.0.18\n VRRP IPv6 mcast group = ff02::12\n Gratuitous ARP delay = {}\n Gratuitous ARP repeat = {}\n Gratuitous ARP refresh timer = {}\n VRRP default protocol version = {}\n Script security {}\n",
            g.vrrp_garp_master_delay.as_secs(),
            g.vrrp_garp_master_repeat,
            g.vrrp_garp_master_refresh.map_or(0, |d| d.as_secs()),
            g.vrrp_version,
            if g.enable_script_security { "enabled" } else { "disabled" },
        );
        out.push_str("------< VRRP Topology >------\n");
        for (inst, c) in self.instances.iter().zip(&cfg.instances) {
            let _ = write!(
                out,
                " VRRP Instance = {}\n   VRRP Version = {}\n   State = {}\n   Interface = {}\n   Using src_ip = {}\n",
                inst.name,
                c.version,
                inst.state.as_str(),
                inst.iface,
                inst.src,
            );
            write_peers(&mut out, c);
            let _ = write!(
                out,
                "   Gratuitous ARP delay = {}\n   Gratuitous ARP repeat = {}\n   Gratuitous ARP refresh = {}\n   Virtual Router ID = {}\n   Priority = {}\n   Effective priority = {}\n   Advert interval = {}\n   Preempt = {}\n",
                c.garp_master_delay.as_secs(),
                c.garp_master_repeat,
                c.garp_master_refresh.map_or(0, |d| d.as_secs()),
                inst.vrid,
                inst.base_prio,
                inst.eff_prio,
                advert_interval(c),
                if c.nopreempt { "disabled" } else { "enabled" },
            );
            if let Some(delay) = c.preempt_delay {
                let _ = writeln!(out, "   Preempt delay = {} secs", delay.as_secs());
            }
            match &c.auth {
                Some(a) if a.kind == AuthType::Pass => {
                    let _ = write!(
                        out,
                        "   Authentication type = SIMPLE_PASSWORD\n   Password = {}\n",
                        a.pass
                    );
                }
                Some(_) => out.push_str("   Authentication type = IPSEC_AH\n"),
                None => {}
            }
            let set = if inst.state == super::State::Master {
                " set"
            } else {
                ""
            };
            let _ = writeln!(out, "   Virtual IP ({}):", c.vips.len());
            for v in &c.vips {
                let dev = v.dev.as_deref().unwrap_or(&c.interface);
                let _ = writeln!(
                    out,
                    "     {}/{} dev {dev} scope global{set}",
                    v.addr, v.prefix
                );
            }
            if !c.track_scripts.is_empty() {
                out.push_str("   Tracked scripts :\n");
                for t in &c.track_scripts {
                    let weight = t.weight.unwrap_or(cfg.scripts[t.script].weight);
                    let _ = writeln!(out, "     {} weight {weight}", t.name);
                }
            }
        }
        if !cfg.scripts.is_empty() {
            out.push_str("------< VRRP Scripts >------\n");
        }
        for (s, t) in cfg.scripts.iter().zip(&self.scripts) {
            let init = if t.health == Health::Init {
                "INIT"
            } else {
                "unknown"
            };
            let status = if t.result >= i64::from(s.rise) {
                "GOOD"
            } else {
                "BAD"
            };
            let _ = write!(
                out,
                " VRRP Script = {}\n   Command = '{}'\n   Interval = {} sec\n   Timeout = {} sec\n   Weight = {}\n   Rise = {}\n   Fall = {}\n   Result = {}\n   Insecure = no\n   Init state = {init}\n   Status = {status}\n   VRRP instances :\n   Tracking instances :\n",
                s.name,
                s.script,
                s.interval.as_secs(),
                s.timeout.map_or(0, |d| d.as_secs()),
                s.weight,
                s.rise,
                s.fall,
                t.result,
            );
            for i in cfg.instances.iter() {
                for tr in i.track_scripts.iter().filter(|tr| tr.name == s.name) {
                    let _ = writeln!(
                        out,
                        "     {}, weight {}",
                        i.name,
                        tr.weight.unwrap_or(s.weight)
                    );
                }
            }
            out.push_str(if t.running {
                "   State = running\n"
            } else {
                "   State = idle\n"
            });
        }
        out
    }
}

/// Where adverts go: the multicast group, or the unicast peers.
fn write_peers(out: &mut String, c: &VrrpInstance) {
    if c.unicast_peers.is_empty() {
        let group = if c.vips.first().is_some_and(|v| v.addr.is_ipv6()) {
            "ff02::12"
        } else {
            "224.0.0.18"
        };
        let _ = writeln!(out, "   Multicast address {group}");
        return;
    }
    out.push_str("   Unicast Peer :\n");
    for p in &c.unicast_peers {
        let _ = writeln!(out, "     {p}");
    }
}

/// "1 sec", or milliseconds for a VRRPv3 sub-second interval.
fn advert_interval(c: &VrrpInstance) -> String {
    let ms = c.advert_int.as_millis();
    if ms % 1000 == 0 {
        format!("{} sec", ms / 1000)
    } else {
        format!("{ms} milli-sec")
    }
}

#[cfg(test)]
mod tests {
    use crate::config::keepalived::parse;
    use crate::config::NoIncludes;
    use crate::sched::Scheduler;
    use crate::time::Instant;
    use crate::vrrp::{HostInfo, Vrrp};
    use std::collections::BTreeMap;

    #[test]
    fn the_instance_lines_are_keepalived_s() {
        let text = "global_defs {\n router_id lb1\n}\nvrrp_script chk {\n script \"/usr/bin/true\"\n interval 2\n weight 21\n}\nvrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 1\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n track_script {\n  chk\n }\n virtual_ipaddress {\n  10.9.0.100/24\n }\n}\n";
        let cfg = parse("k.conf", text, &NoIncludes).config.expect("valid");
        let host = HostInfo {
            interfaces: BTreeMap::from([("eth0".to_owned(), "10.9.0.1".parse().expect("ip"))]),
            ..HostInfo::default()
        };
        let mut vrrp = Vrrp::new(&cfg, &host).expect("runs");
        vrrp.start(Instant::ZERO, &mut Scheduler::new());
        let dump = vrrp.data_dump(&cfg, "h");
        // Lines as keepalived 2.2.7 wrote them for this config (BACKUP,
        // before the script's first answer).
        for line in [
            " Router ID = lb1\n",
            "------< VRRP Topology >------\n VRRP Instance = VI_1\n   VRRP Version = 2\n   State = BACKUP\n   Interface = eth0\n   Using src_ip = 10.9.0.1\n   Multicast address 224.0.0.18\n   Gratuitous ARP delay = 5\n   Gratuitous ARP repeat = 5\n   Gratuitous ARP refresh = 0\n   Virtual Router ID = 51\n   Priority = 100\n   Effective priority = 100\n   Advert interval = 1 sec\n   Preempt = enabled\n   Authentication type = SIMPLE_PASSWORD\n   Password = 1111\n   Virtual IP (1):\n     10.9.0.100/24 dev eth0 scope global\n   Tracked scripts :\n     chk weight 21\n",
            " VRRP Script = chk\n   Command = '/usr/bin/true'\n   Interval = 2 sec\n   Timeout = 0 sec\n   Weight = 21\n   Rise = 1\n   Fall = 1\n   Result = 0\n   Insecure = no\n   Init state = INIT\n   Status = BAD\n   VRRP instances :\n   Tracking instances :\n     VI_1, weight 21\n   State = idle\n",
        ] {
            assert!(dump.contains(line), "{line}\nnot in\n{dump}");
        }
    }
}
