//! `show table` and `clear table` of the runtime API: a table's entries,
//! all of them, one key's, or those whose stored data pass up to four
//! `data.<type> <op> <value>` filters, answered in haproxy 2.6's words.

use super::{StickKey, StickTables, Table};
use crate::config::haproxy::{StickCounter, StickKeyType};
use crate::time::Instant;
use std::net::IpAddr;

/// haproxy's limit on filters in one command.
const MAX_FILTERS: usize = 4;

/// What a command picks in a table.
enum Pick {
    /// Every entry.
    All,
    /// The entry of one key (`None`: a key the table's type cannot hold).
    Key(Option<StickKey>),
    /// The entries whose stored data pass every filter.
    Data(Vec<(StickCounter, Op, i64)>),
}

/// A filter's comparison.
#[derive(Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
}

impl Op {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "le" => Self::Le,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "gt" => Self::Gt,
            _ => return None,
        })
    }

    fn holds(self, a: i64, b: i64) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Ne => a != b,
            Self::Le => a <= b,
            Self::Ge => a >= b,
            Self::Lt => a < b,
            Self::Gt => a > b,
        }
    }
}

/// `key` read as table `t` keys its entries.
fn key_of(t: &Table, key: &str) -> Option<StickKey> {
    Some(match t.config.key {
        StickKeyType::Ip => StickKey::Ip(IpAddr::V4(key.parse().ok()?)),
        StickKeyType::Ipv6 => StickKey::Ip(key.parse::<IpAddr>().ok()?),
        StickKeyType::Integer => StickKey::Int(key.parse().ok()?),
        StickKeyType::String => StickKey::Str(key.to_owned()),
    })
}

/// What `args` (the words after the table's name) pick in `t`, or
/// haproxy's complaint.
fn pick(t: &Table, args: &[String], clear: bool) -> Result<Pick, String> {
    match args.first().map(String::as_str) {
        None => Ok(Pick::All),
        Some("key") => match args.get(1) {
            Some(key) => Ok(Pick::Key(key_of(t, key))),
            None => Err("Key value expected\n".into()),
        },
        Some(word) if word.starts_with("data.") => filters(t, args).map(Pick::Data),
        Some(_) if clear => Err("Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n".into()),
        Some(_) => Err("Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n".into()),
    }
}

/// The `data.<type> <op> <value>` filters of `args`.
fn filters(t: &Table, args: &[String]) -> Result<Vec<(StickCounter, Op, i64)>, String> {
    let mut out = Vec::new();
    for (i, f) in args.chunks(3).take(MAX_FILTERS).enumerate() {
        let n = i + 1;
        let name = f[0].strip_prefix("data.").unwrap_or("");
        let counter = StickCounter::from_name(name)
            .ok_or_else(|| format!("Filter entry #{n}: Unknown data type\n"))?;
        if t.config.stores(counter).is_none() {
            return Err(format!(
                "Filter entry #{n}: Data type not stored in this table\n"
            ));
        }
        let op = f.get(1).and_then(|o| Op::named(o)).ok_or_else(|| {
            format!("Filter entry #{n}: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n")
        })?;
        let value = f.get(2).and_then(|v| v.parse().ok()).ok_or_else(|| {
            format!("Filter entry #{n}: Require a valid integer value to compare against\n")
        })?;
        out.push((counter, op, value));
    }
    let used = out.len() * 3;
    if args.len() > used {
        let after = &args[used - 1];
        return Err(format!(
            "Detected extra data in filter, {}th word of input, after '{after}'\n",
            used + 4
        ));
    }
    Ok(out)
}

impl StickTables {
    /// The answer to `show table <name> ...` (`clear`: `clear table`,
    /// which removes what it picks instead of printing it), `args` being
    /// the words after the name.
    pub fn cli(&mut self, clear: bool, name: &str, args: &[String], now: Instant) -> String {
        let Some(t) = self.tables.get_mut(name) else {
            return "No such table\n".into();
        };
        t.purge(now);
        let picked = match pick(t, args, clear) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let keys: Vec<StickKey> = match &picked {
            Pick::All => t.entries.keys().cloned().collect(),
            Pick::Key(key) => key
                .iter()
                .filter(|k| t.entries.contains_key(*k))
                .cloned()
                .collect(),
            Pick::Data(filters) => t
                .entries
                .iter()
                .filter(|(_, e)| {
                    filters.iter().all(|(counter, op, value)| {
                        let period = t.config.stores(*counter).unwrap_or_default();
                        let v = Table::value(e, *counter, period, now);
                        op.holds(i64::try_from(v).unwrap_or(i64::MAX), *value)
                    })
                })
                .map(|(k, _)| k.clone())
                .collect(),
        };
        if clear {
            for key in &keys {
                t.remove(key);
            }
            return String::new();
        }
        // A key asked for and not there: nothing, not even the header.
        if matches!(picked, Pick::Key(_)) && keys.is_empty() {
            return String::new();
        }
        let mut out = t.header(name);
        for key in &keys {
            out.push_str(&t.line(key, &t.entries[key], now));
        }
        out
    }
}
