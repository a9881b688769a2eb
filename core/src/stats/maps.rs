//! The runtime API's map and ACL commands (`show|add|del|set|clear map`,
//! `show|add|del|clear acl`) on the map and pattern files a configuration
//! read: each changes the lines every converter or ACL of that file
//! looks up.

use super::cli::CliCommand;
use crate::sample::{AclFile, MapLines};

/// haproxy's answer for a map that is neither a file read nor a `#id`.
const UNKNOWN_MAP: &str = "Unknown map identifier. Please use #<id> or <file>.\n\n";

/// The answer to map command `cmd` over `maps` (each file with its lines,
/// a file read two ways appearing twice); `None` for other commands.
pub fn map_command(maps: &[(String, MapLines)], cmd: &CliCommand) -> Option<String> {
    let files = unique_files(maps);
    let find = |id: &str| -> Vec<&MapLines> {
        let file = match id.strip_prefix('#') {
            Some(n) => n.parse::<usize>().ok().and_then(|n| files.get(n).copied()),
            None => files.iter().find(|f| **f == id).copied(),
        };
        file.map(|f| {
            maps.iter()
                .filter(|(name, _)| name == f)
                .map(|(_, l)| l)
                .collect()
        })
        .unwrap_or_default()
    };
    let answer = match cmd {
        CliCommand::ShowMaps => {
            let mut out = String::from("# id (file) description\n");
            for (id, file) in files.iter().enumerate() {
                let count = find(file).first().map_or(0, |l| l.with(<[_]>::len));
                out.push_str(&format!(
                    "{id} ({file}) pattern loaded from file '{file}' used by map. curr_ver=0 next_ver=0 entry_cnt={count}\n"
                ));
            }
            out + "\n"
        }
        CliCommand::ShowMap(id) => match find(id).first() {
            Some(lines) => lines.with(|entries| {
                let mut out: String = entries
                    .iter()
                    .map(|e| format!("0x{:x} {} {}\n", e.id, e.key, e.value))
                    .collect();
                out.push('\n');
                out
            }),
            None => UNKNOWN_MAP.to_owned(),
        },
        CliCommand::AddMap { map, entries } => {
            let all = find(map);
            if all.is_empty() {
                return Some(UNKNOWN_MAP.to_owned());
            }
            for (key, value) in entries {
                for lines in &all {
                    if let Err(e) = lines.add(key, value) {
                        return Some(format!("Failed to add a map entry: {e}\n\n"));
                    }
                }
            }
            "\n".to_owned()
        }
        CliCommand::DelMap { map, key } => {
            let all = find(map);
            if all.is_empty() {
                return Some(UNKNOWN_MAP.to_owned());
            }
            // Every flavour of the file changes, not only the first.
            let removed: Vec<bool> = all.iter().map(|l| l.remove(key)).collect();
            let removed = removed.contains(&true);
            if removed { "\n" } else { "Key not found.\n\n" }.to_owned()
        }
        CliCommand::SetMap { map, key, value } => {
            let all = find(map);
            if all.is_empty() {
                return Some(UNKNOWN_MAP.to_owned());
            }
            let set: Vec<bool> = all.iter().map(|l| l.set(key, value)).collect();
            let set = set.contains(&true);
            if set { "\n" } else { "entry not found.\n\n" }.to_owned()
        }
        CliCommand::ClearMap(map) => {
            let all = find(map);
            if all.is_empty() {
                return Some(UNKNOWN_MAP.to_owned());
            }
            all.iter().for_each(|l| l.clear());
            "\n".to_owned()
        }
        _ => return None,
    };
    Some(answer)
}

/// The files of `maps` once each, in the order they were read.
fn unique_files(maps: &[(String, MapLines)]) -> Vec<&str> {
    let mut files: Vec<&str> = Vec::new();
    for (f, _) in maps {
        if !files.contains(&f.as_str()) {
            files.push(f);
        }
    }
    files
}

/// haproxy's answer for an ACL that is neither a file read nor a `#id`.
const UNKNOWN_ACL: &str = "Unknown ACL identifier. Please use #<id> or <file>.\n\n";

/// The answer to ACL command `cmd` over the pattern files `files`;
/// `None` for other commands.
pub fn acl_command(files: &[AclFile], cmd: &CliCommand) -> Option<String> {
    let find = |id: &str| -> Option<&AclFile> {
        match id.strip_prefix('#') {
            Some(n) => n.parse::<usize>().ok().and_then(|n| files.get(n)),
            None => files.iter().find(|f| f.file == id),
        }
    };
    let answer = match cmd {
        CliCommand::ShowAcls => {
            let mut out = String::from("# id (file) description\n");
            for (id, f) in files.iter().enumerate() {
                let count = f.entries.with(<[_]>::len);
                out.push_str(&format!(
                    "{id} ({}) pattern loaded from file '{}' used by acl. curr_ver=0 next_ver=0 entry_cnt={count}\n",
                    f.file, f.file
                ));
            }
            out + "\n"
        }
        CliCommand::ShowAcl(id) => match find(id) {
            Some(f) => f.entries.with(|entries| {
                let mut out: String = entries
                    .iter()
                    .map(|e| format!("0x{:x} {}\n", e.id, e.key))
                    .collect();
                out.push('\n');
                out
            }),
            None => UNKNOWN_ACL.to_owned(),
        },
        CliCommand::AddAcl { acl, patterns } => match find(acl) {
            None => UNKNOWN_ACL.to_owned(),
            Some(f) if f.compiled => {
                "haven compiles this file's regular expressions at start: reload to change them.\n\n"
                    .to_owned()
            }
            Some(f) => {
                patterns.iter().for_each(|p| f.add(p));
                "\n".to_owned()
            }
        },
        CliCommand::DelAcl { acl, pattern } => match find(acl) {
            None => UNKNOWN_ACL.to_owned(),
            Some(f) => {
                let keys: Vec<String> = f.entries.with(|entries| {
                    entries
                        .iter()
                        .filter(|e| e.key == *pattern || ref_of(pattern) == Some(e.id))
                        .map(|e| e.key.clone())
                        .collect()
                });
                if keys.is_empty() {
                    "Key not found.\n\n".to_owned()
                } else {
                    keys.iter().for_each(|k| {
                        f.remove(k);
                    });
                    "\n".to_owned()
                }
            }
        },
        CliCommand::ClearAcl(acl) => match find(acl) {
            None => UNKNOWN_ACL.to_owned(),
            Some(f) => {
                let keys: Vec<String> =
                    f.entries.with(|entries| entries.iter().map(|e| e.key.clone()).collect());
                for k in &keys {
                    f.users.iter().for_each(|u| u.remove(k));
                }
                f.entries.clear();
                "\n".to_owned()
            }
        },
        _ => return None,
    };
    Some(answer)
}

/// The entry number `#<hex>` names, if `text` is one.
fn ref_of(text: &str) -> Option<u64> {
    let hex = text
        .strip_prefix("#0x")
        .or_else(|| text.strip_prefix('#'))?;
    u64::from_str_radix(hex, 16).ok()
}
