//! Sweep parameters. `--set advert_int=1,2,3` names a config keyword and
//! values in that keyword's own syntax (keepalived seconds, haproxy times);
//! [`apply`] rewrites every place the keyword appears in a loaded
//! scenario's configs. A keyword both programs have (`fall`, `rise`,
//! `weight`) applies to both; `keepalived.fall` or `haproxy.fall` picks one.

use crate::load::Loaded;
use haven_core::config::haproxy::{parse_time, Server};
use haven_core::config::keepalived::{decimal_micros, KeepalivedConfig, VrrpInstance, VrrpScript};
use haven_core::time::Duration;

/// One sweep dimension: a parameter and the values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// As written: `advert_int`, `haproxy.fall`.
    pub name: String,
    /// In the order given.
    pub values: Vec<String>,
}

impl std::str::FromStr for Param {
    type Err = String;

    /// Reads `NAME=V1,V2,...`; the name must be a known parameter.
    fn from_str(arg: &str) -> Result<Self, String> {
        let (name, values) = arg
            .split_once('=')
            .ok_or_else(|| format!("'{arg}': expected NAME=VALUE[,VALUE...]"))?;
        if !KNOBS.iter().any(|k| k.matches(name)) {
            return Err(format!("'{name}': unknown parameter; known: {}", known()));
        }
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_owned()).collect();
        if values.iter().any(String::is_empty) {
            return Err(format!("'{arg}': empty value"));
        }
        Ok(Self {
            name: name.to_owned(),
            values,
        })
    }
}

/// Which config object a knob sets.
enum Target {
    /// Every `vrrp_instance`.
    Instance(fn(&mut VrrpInstance, &str) -> Result<(), String>),
    /// Every `vrrp_script`.
    Script(fn(&mut VrrpScript, &str) -> Result<(), String>),
    /// Every haproxy `server` with `check` (for `weight`: every server).
    Server(fn(&mut Server, &str) -> Result<(), String>),
    /// Every keepalived.conf as a whole.
    Keepalived(fn(&mut KeepalivedConfig, &str) -> Result<(), String>),
}

/// A keyword of one program that a sweep can set.
struct Knob {
    program: &'static str,
    keyword: &'static str,
    target: Target,
}

impl Knob {
    /// `advert_int` and `keepalived.advert_int` both name keepalived's.
    fn matches(&self, name: &str) -> bool {
        name == self.keyword
            || name
                .strip_prefix(self.program)
                .and_then(|r| r.strip_prefix('.'))
                == Some(self.keyword)
    }
}

const KNOBS: &[Knob] = &[
    Knob {
        program: "keepalived",
        keyword: "advert_int",
        target: Target::Instance(|i, v| {
            i.advert_int = seconds(v, 0.01, 255.0)?;
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "preempt_delay",
        target: Target::Instance(|i, v| {
            i.preempt_delay = Some(seconds(v, 0.0, 1000.0)?);
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "garp_master_delay",
        target: Target::Instance(|i, v| {
            i.garp_master_delay = seconds(v, 0.0, 255.0)?;
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "interval",
        target: Target::Script(|s, v| {
            s.interval = seconds(v, 0.000001, 86_400.0)?;
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "fall",
        target: Target::Script(|s, v| {
            s.fall = count(v, 1, 1 << 20)?;
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "rise",
        target: Target::Script(|s, v| {
            s.rise = count(v, 1, 1 << 20)?;
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "weight",
        target: Target::Script(|s, v| {
            let w: i32 = v.parse().map_err(|_| format!("'{v}': not an integer"))?;
            if !(-253..=253).contains(&w) {
                return Err(format!("'{v}': weight must be between -253 and 253"));
            }
            s.weight = w;
            Ok(())
        }),
    },
    Knob {
        program: "keepalived",
        keyword: "implementation",
        target: Target::Keepalived(crate::load::implement),
    },
    Knob {
        program: "haproxy",
        keyword: "inter",
        target: Target::Server(|s, v| {
            let d = parse_time(v).map_err(|_| format!("'{v}': not a time (2000, 2s, 500ms)"))?;
            if d == Duration::ZERO {
                return Err(format!("'{v}': inter must be positive"));
            }
            s.inter = d;
            Ok(())
        }),
    },
    Knob {
        program: "haproxy",
        keyword: "fall",
        target: Target::Server(|s, v| {
            s.fall = count(v, 1, 1 << 20)?;
            Ok(())
        }),
    },
    Knob {
        program: "haproxy",
        keyword: "rise",
        target: Target::Server(|s, v| {
            s.rise = count(v, 1, 1 << 20)?;
            Ok(())
        }),
    },
    Knob {
        program: "haproxy",
        keyword: "weight",
        target: Target::Server(|s, v| {
            s.weight = count(v, 0, 256)?;
            Ok(())
        }),
    },
];

/// The parameters a sweep knows, for error messages.
fn known() -> String {
    let mut names: Vec<String> = KNOBS
        .iter()
        .map(|k| format!("{}.{}", k.program, k.keyword))
        .collect();
    names.dedup();
    names.join(", ")
}

/// keepalived seconds (`2`, `0.5`) within `lo..=hi`.
fn seconds(v: &str, lo: f64, hi: f64) -> Result<Duration, String> {
    let us = decimal_micros(v).ok_or_else(|| format!("'{v}': not a number of seconds"))?;
    let secs = us as f64 / 1e6;
    if !(lo..=hi).contains(&secs) {
        return Err(format!("'{v}': must be between {lo} and {hi} seconds"));
    }
    Ok(Duration::from_micros(us))
}

/// An integer within `lo..=hi`.
fn count(v: &str, lo: u32, hi: u32) -> Result<u32, String> {
    let n: u32 = v
        .parse()
        .map_err(|_| format!("'{v}': not a whole number"))?;
    if !(lo..=hi).contains(&n) {
        return Err(format!("'{v}': must be between {lo} and {hi}"));
    }
    Ok(n)
}

/// Sets parameter `name` to `value` everywhere it appears in `sc`'s
/// configs. Errors name the parameter and say what is wrong with the value,
/// or that no config of the scenario has the keyword.
pub fn apply(sc: &mut Loaded, name: &str, value: &str) -> Result<(), String> {
    let mut places = 0;
    for knob in KNOBS.iter().filter(|k| k.matches(name)) {
        for host in &mut sc.hosts {
            let err = |e: String| format!("{name}={value}: {e}");
            match &knob.target {
                Target::Instance(set) => {
                    for i in host.keepalived.iter_mut().flat_map(|k| &mut k.instances) {
                        set(i, value).map_err(err)?;
                        places += 1;
                    }
                }
                Target::Script(set) => {
                    for s in host.keepalived.iter_mut().flat_map(|k| &mut k.scripts) {
                        set(s, value).map_err(err)?;
                        places += 1;
                    }
                }
                Target::Keepalived(set) => {
                    if let Some(k) = &mut host.keepalived {
                        set(k, value).map_err(err)?;
                        places += 1;
                    }
                }
                Target::Server(set) => {
                    let servers = host
                        .haproxy
                        .iter_mut()
                        .flat_map(|h| &mut h.proxies)
                        .flat_map(|p| &mut p.servers)
                        .filter(|s| s.check || knob.keyword == "weight");
                    for s in servers {
                        set(s, value).map_err(err)?;
                        places += 1;
                    }
                }
            }
        }
    }
    if places == 0 {
        return Err(format!("{name}: no config of this scenario has it"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_name_and_values() {
        let p: Param = "advert_int=1,2, 3".parse().expect("valid");
        assert_eq!(p.name, "advert_int");
        assert_eq!(p.values, ["1", "2", "3"]);
        assert!("haproxy.fall=2".parse::<Param>().is_ok());
        let err = "advert=1".parse::<Param>().expect_err("unknown");
        assert!(err.contains("unknown parameter") && err.contains("keepalived.advert_int"));
        assert!("fall"
            .parse::<Param>()
            .expect_err("no =")
            .contains("NAME=VALUE"));
        assert!("fall=2,"
            .parse::<Param>()
            .expect_err("empty")
            .contains("empty value"));
    }

    #[test]
    fn values_are_read_in_the_keywords_own_syntax() {
        assert_eq!(seconds("1.5", 0.01, 255.0), Ok(Duration::from_millis(1500)));
        assert!(seconds("0", 0.01, 255.0).is_err());
        assert!(seconds("2s", 0.01, 255.0).is_err());
        assert_eq!(count("3", 1, 10), Ok(3));
        assert!(count("0", 1, 10).is_err());
    }
}
