//! `map*` converters: a file of `key value` lines, looked up by the
//! sample as the map's match method says. The lines of one file are
//! shared by every converter that reads it ([`MapLines`]), so the runtime
//! API's `add map`, `del map`, `set map` and `clear map` change what they
//! all see.

use super::{Match, Pattern, Value};
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

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
    /// Its number, unique in the file (the runtime API's `#<ref>`).
    pub id: u64,
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
    pub entries: MapLines,
}

/// The lines of one map file, shared by the converters that read it and
/// changed in place by the runtime API.
#[derive(Debug, Clone, Default)]
pub struct MapLines {
    inner: Arc<RwLock<Lines>>,
}

#[derive(Debug, Default)]
struct Lines {
    entries: Vec<MapEntry>,
    /// Keys are compiled as regular expressions (`map_reg`, `map_regm`).
    compiled: bool,
    next_id: u64,
}

impl MapLines {
    /// Lines holding `entries`, their keys compiled when `compiled`.
    pub fn new(entries: Vec<MapEntry>, compiled: bool) -> Self {
        let next_id = entries.iter().map(|e| e.id + 1).max().unwrap_or(1);
        Self {
            inner: Arc::new(RwLock::new(Lines {
                entries,
                compiled,
                next_id,
            })),
        }
    }

    /// `f` of the lines as they are now.
    pub fn with<R>(&self, f: impl FnOnce(&[MapEntry]) -> R) -> R {
        f(&self.read().entries)
    }

    fn read(&self) -> RwLockReadGuard<'_, Lines> {
        // A writer that panicked left whole entries: read on.
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Lines> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `key value`; haproxy's complaint when the key does not
    /// compile.
    pub fn add(&self, key: &str, value: &str) -> Result<(), String> {
        let mut lines = self.write();
        let pattern = match lines.compiled {
            true => Some(Pattern::new(key, false).map_err(|e| format!("'{key}': {e}"))?),
            false => None,
        };
        let id = lines.next_id;
        lines.next_id += 1;
        lines.entries.push(MapEntry {
            id,
            key: key.to_owned(),
            pattern,
            value: value.to_owned(),
        });
        Ok(())
    }

    /// Removes every entry `key` names (`#<id>`: that entry); whether any
    /// was.
    pub fn remove(&self, key: &str) -> bool {
        self.remove_where(|e| names(e, key))
    }

    /// Removes every entry whose key is `key` as written; whether any was.
    pub fn remove_key(&self, key: &str) -> bool {
        self.remove_where(|e| e.key == key)
    }

    fn remove_where(&self, hit: impl Fn(&MapEntry) -> bool) -> bool {
        let mut lines = self.write();
        let before = lines.entries.len();
        lines.entries.retain(|e| !hit(e));
        lines.entries.len() != before
    }

    /// Sets the value of every entry `key` names; whether any was.
    pub fn set(&self, key: &str, value: &str) -> bool {
        self.set_where(|e| names(e, key), value)
    }

    /// Sets the value of every entry whose key is `key` as written, or
    /// appends `key value` when none is (a rule's `set-map`).
    pub fn set_or_add(&self, key: &str, value: &str) {
        if !self.set_where(|e| e.key == key, value) {
            // A key that does not compile is not added, as in haproxy.
            let _ = self.add(key, value);
        }
    }

    /// Appends `key` with no value unless an entry has it (a rule's
    /// `add-acl`); whether it was appended.
    pub fn add_absent(&self, key: &str) -> bool {
        let known = self.with(|entries| entries.iter().any(|e| e.key == key));
        !known && self.add(key, "").is_ok()
    }

    fn set_where(&self, hit: impl Fn(&MapEntry) -> bool, value: &str) -> bool {
        let mut lines = self.write();
        let mut found = false;
        for e in lines.entries.iter_mut().filter(|e| hit(e)) {
            e.value = value.to_owned();
            found = true;
        }
        found
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.write().entries.clear();
    }
}

/// Whether `key` (a key, or `#<id>` in hexadecimal as `show map` prints
/// it) names entry `e`.
fn names(e: &MapEntry, key: &str) -> bool {
    match key.strip_prefix("#0x").or_else(|| key.strip_prefix('#')) {
        Some(hex) => u64::from_str_radix(hex, 16).is_ok_and(|id| id == e.id),
        None => e.key == key,
    }
}

impl PartialEq for MapLines {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.read().entries == other.read().entries
    }
}

impl Eq for MapLines {}

impl Serialize for MapLines {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.read().entries.serialize(s)
    }
}

/// An ACL line's values, shared so the runtime API's `add acl` and
/// `del acl` on a pattern file (`acl -f`) reach every line that read it.
#[derive(Debug, Clone, Default)]
pub struct AclValues(Arc<RwLock<Vec<String>>>);

impl AclValues {
    /// Values as written (inline ones, then each file's lines).
    pub fn new(values: Vec<String>) -> Self {
        Self(Arc::new(RwLock::new(values)))
    }

    /// `f` of the values as they are now.
    pub fn with<R>(&self, f: impl FnOnce(&[String]) -> R) -> R {
        f(&self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<String>> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `value`.
    pub fn push(&self, value: &str) {
        self.write().push(value.to_owned());
    }

    /// Removes every `value`.
    pub fn remove(&self, value: &str) {
        self.write().retain(|v| v != value);
    }
}

impl PartialEq for AclValues {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.with(|a| other.with(|b| a == b))
    }
}

impl Eq for AclValues {}

impl Serialize for AclValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with(|v| v.serialize(s))
    }
}

/// A pattern file read by `acl -f`: its lines as the runtime API shows
/// them, and the ACL lines that hold them among their values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AclFile {
    /// The file.
    pub file: String,
    /// Its patterns, numbered (values unused).
    pub entries: MapLines,
    /// The values of each ACL line that read it.
    pub users: Vec<AclValues>,
    /// Some user compares with regular expressions, compiled at start:
    /// patterns added at run time would not reach it.
    pub compiled: bool,
}

impl AclFile {
    /// Adds `pattern` to the file and to every ACL line that read it.
    pub fn add(&self, pattern: &str) {
        // Cannot fail: ACL patterns are not compiled here.
        let _ = self.entries.add(pattern, "");
        self.users.iter().for_each(|u| u.push(pattern));
    }

    /// Adds `pattern` unless the file has it; whether it was added.
    pub fn add_absent(&self, pattern: &str) -> bool {
        let added = self.entries.add_absent(pattern);
        if added {
            self.users.iter().for_each(|u| u.push(pattern));
        }
        added
    }

    /// Removes every `pattern`, as written, from the file and its ACL
    /// lines; whether the file had it.
    pub fn remove(&self, pattern: &str) -> bool {
        let found = self.entries.remove_key(pattern);
        if found {
            self.users.iter().for_each(|u| u.remove(pattern));
        }
        found
    }
}

thread_local! {
    /// The map files read by the parse in progress on this thread, so
    /// converters of one file share its lines ([`shared`]).
    static READ: RefCell<Vec<(String, MapLines)>> = const { RefCell::new(Vec::new()) };
}

/// The lines of `file` already read by this parse with the same
/// compilation, else `read()`'s, remembered.
pub(crate) fn shared(
    file: &str,
    compiled: bool,
    read: impl FnOnce() -> Result<Vec<MapEntry>, String>,
) -> Result<MapLines, String> {
    let known = READ.with(|r| {
        r.borrow()
            .iter()
            .find(|(f, l)| f == file && l.read().compiled == compiled)
            .map(|(_, l)| l.clone())
    });
    if let Some(lines) = known {
        return Ok(lines);
    }
    let lines = MapLines::new(read()?, compiled);
    READ.with(|r| r.borrow_mut().push((file.to_owned(), lines.clone())));
    Ok(lines)
}

/// Starts a parse: no map file read yet.
pub(crate) fn begin_parse() {
    READ.with(|r| r.borrow_mut().clear());
}

/// Ends a parse: every map file it read, with its lines.
pub(crate) fn end_parse() -> Vec<(String, MapLines)> {
    READ.with(|r| std::mem::take(&mut *r.borrow_mut()))
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
            id: out.len() as u64 + 1,
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
        let found = self.entries.with(|entries| match &self.how {
            Match::Reg(_) => {
                let text = v.to_text();
                entries.iter().find_map(|e| {
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
                entries
                    .iter()
                    .filter(|e| super::in_network(ip, &e.key))
                    .max_by_key(|e| prefix_len(&e.key))
                    .map(|e| e.value.clone())
            }
            how => entries
                .iter()
                .find(|e| how.hit(v, std::slice::from_ref(&e.key), false))
                .map(|e| e.value.clone()),
        });
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
            entries: MapLines::new(entries(text, &how).expect("entries"), false),
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
