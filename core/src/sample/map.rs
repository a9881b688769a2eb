//! `map*` converters: a file of `key value` lines, looked up by the
//! sample as the map's match method says.

use super::{Match, Pattern, Value};
use serde::Serialize;
use std::net::IpAddr;

/// What a map's values become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MapOutput {
    /// Text (`map_str`, the default).
    Str,
    /// An integer (`map_str_int`).
    Int,
    /// An address (`map_str_ip`).
    Ip,
}

/// One line of a map file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapEntry {
    /// The key as written.
    pub key: String,
    /// The key compiled, for `map_reg` and `map_regm`.
    pub pattern: Option<Pattern>,
    /// The value: the rest of the line.
    pub value: String,
}

/// A map converter with its file read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Map {
    /// The file it was read from.
    pub file: String,
    /// How keys are matched.
    pub how: Match,
    /// `map_regm`: `\N` in values take the key's captures.
    pub backrefs: bool,
    /// What values become.
    pub output: MapOutput,
    /// The value when no key matches.
    pub default: Option<String>,
    /// The lines in file order.
    pub entries: Vec<MapEntry>,
}

/// Reads converter name `name` (`map`, `map_beg`, `map_str_int`...) as
/// its match method, output type and back-reference flag.
pub(crate) fn kind(name: &str) -> Option<(Match, MapOutput, bool)> {
    let rest = name.strip_prefix("map")?;
    if !(rest.is_empty() || rest.starts_with('_')) {
        return None;
    }
    let mut parts = rest.split('_').skip(1);
    let how = parts.next().unwrap_or("str");
    let output = match parts.next() {
        None | Some("str") => MapOutput::Str,
        Some("int") => MapOutput::Int,
        Some("ip") => MapOutput::Ip,
        Some(_) => return None,
    };
    let (how, backrefs) = match how {
        "regm" => ("reg", true),
        other => (other, false),
    };
    let how = match how {
        "ip" | "int" | "str" | "beg" | "end" | "sub" | "dir" | "dom" | "reg" => Match::named(how)?,
        _ => return None,
    };
    Some((how, output, backrefs))
}

/// The entries of map file `text`: `key value` lines, `#` comments and
/// blank lines skipped; regex keys compiled when `how` is `reg`.
pub(crate) fn entries(text: &str, how: &Match) -> Result<Vec<MapEntry>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(|c: char| c.is_ascii_whitespace())
            .map_or((line, ""), |(k, v)| (k, v.trim()));
        let pattern = match how {
            Match::Reg(_) => {
                Some(Pattern::new(key, false).map_err(|e| format!("line {}: {e}", n + 1))?)
            }
            _ => None,
        };
        out.push(MapEntry {
            key: key.to_owned(),
            pattern,
            value: value.to_owned(),
        });
    }
    Ok(out)
}

impl Map {
    /// The value `v` maps to, else the default; `None` when there is
    /// neither, or the value is not of the output type.
    pub fn lookup<'a>(&self, v: &Value<'_>) -> Option<Value<'a>> {
        let found = match &self.how {
            Match::Reg(_) => {
                let text = v.to_text();
                self.entries.iter().find_map(|e| {
                    let caps = e.pattern.as_ref()?.regex().captures(&text)?;
                    Some(if self.backrefs {
                        let mut out = String::new();
                        caps.expand(&super::backrefs(&e.value), &mut out);
                        out
                    } else {
                        e.value.clone()
                    })
                })
            }
            Match::Ip => {
                let ip = v.to_ip()?;
                self.entries
                    .iter()
                    .filter(|e| super::in_network(ip, &e.key))
                    .max_by_key(|e| prefix_len(&e.key))
                    .map(|e| e.value.clone())
            }
            how => self
                .entries
                .iter()
                .find(|e| how.hit(v, std::slice::from_ref(&e.key), false))
                .map(|e| e.value.clone()),
        };
        let text = found.or_else(|| self.default.clone())?;
        match self.output {
            MapOutput::Str => Some(Value::string(text)),
            MapOutput::Int => text.trim().parse().ok().map(Value::Int),
            MapOutput::Ip => text.trim().parse::<IpAddr>().ok().map(Value::Ip),
        }
    }
}

/// The prefix length a network key names (a plain address is a host).
fn prefix_len(key: &str) -> u32 {
    match key.split_once('/') {
        Some((_, bits)) => bits.parse().unwrap_or(0),
        None if key.contains(':') => 128,
        None => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(name: &str, text: &str) -> Map {
        let (how, output, backrefs) = kind(name).expect("a map converter");
        Map {
            file: "m".into(),
            entries: entries(text, &how).expect("entries"),
            how,
            backrefs,
            output,
            default: Some("dflt".into()),
        }
    }

    fn look(m: &Map, s: &str) -> Option<String> {
        m.lookup(&Value::string(s))
            .map(|v| v.to_text().into_owned())
    }

    #[test]
    fn keys_match_as_the_converter_says() {
        let m = map("map_beg", "# comment\n/api  backend_api\n/  backend_root\n");
        assert_eq!(look(&m, "/api/x").as_deref(), Some("backend_api"));
        assert_eq!(look(&m, "/other").as_deref(), Some("backend_root"));
        let m = map("map", "a.example one\nb.example two\n");
        assert_eq!(look(&m, "b.example").as_deref(), Some("two"));
        assert_eq!(look(&m, "c.example").as_deref(), Some("dflt"));
        let m = map("map_ip", "10.0.0.0/8 wide\n10.1.0.0/16 narrow\n");
        assert_eq!(
            look(&m, "10.1.2.3").as_deref(),
            Some("narrow"),
            "longest prefix"
        );
        let m = map("map_regm", "^(.*)\\.example\\.com$ \\1.internal\n");
        assert_eq!(look(&m, "www.example.com").as_deref(), Some("www.internal"));
        let m = map("map_str_int", "a 12\n");
        assert_eq!(m.lookup(&Value::string("a")), Some(Value::Int(12)));
        assert!(kind("map_nope").is_none());
        assert!(kind("mapx").is_none());
    }
}
