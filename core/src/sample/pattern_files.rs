//! Rules that edit pattern files as they run: `set-map(<file>)`,
//! `del-map(<file>)`, `add-acl(<file>)` and `del-acl(<file>)`. Like the
//! runtime API's commands, each changes what every converter and ACL
//! reading that file sees.

use super::{AclFile, MapLines};
use serde::Serialize;

/// What a rule does to a pattern file, with haproxy's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternEdit {
    /// `add-acl`: the key is added unless the file has it.
    AddAcl,
    /// `del-acl`: every entry of the key goes.
    DelAcl,
    /// `set-map`: every entry of the key takes the value; a key the file
    /// lacks is added.
    SetMap,
    /// `del-map`: every entry of the key goes.
    DelMap,
}

/// The map lines and ACL pattern files read from one file name, as a rule
/// editing them holds them. Empty when no converter or ACL reads the
/// file: the rule then does nothing, as haproxy's finds no reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternFiles {
    maps: Vec<MapLines>,
    acls: Vec<AclFile>,
}

impl PatternFiles {
    /// Every reading of `file` among the configuration's maps and ACL
    /// pattern files.
    pub fn of(file: &str, maps: &[(String, MapLines)], acls: &[AclFile]) -> Self {
        Self {
            maps: maps
                .iter()
                .filter(|(f, _)| f == file)
                .map(|(_, l)| l.clone())
                .collect(),
            acls: acls.iter().filter(|a| a.file == file).cloned().collect(),
        }
    }

    /// Some ACL compares the file's patterns as regular expressions,
    /// compiled at start: edits do not reach it.
    pub fn has_compiled_acl(&self) -> bool {
        self.acls.iter().any(|a| a.compiled)
    }

    /// Does `edit` with `key` (and `value`, for `set-map`).
    pub fn apply(&self, edit: PatternEdit, key: &str, value: &str) {
        let acls = self.acls.iter().filter(|a| !a.compiled);
        match edit {
            PatternEdit::AddAcl => {
                self.maps.iter().for_each(|m| {
                    m.add_absent(key);
                });
                acls.for_each(|a| {
                    a.add_absent(key);
                });
            }
            PatternEdit::SetMap => {
                self.maps.iter().for_each(|m| m.set_or_add(key, value));
                acls.for_each(|a| {
                    a.add_absent(key);
                });
            }
            PatternEdit::DelAcl | PatternEdit::DelMap => {
                self.maps.iter().for_each(|m| {
                    m.remove_key(key);
                });
                acls.for_each(|a| {
                    a.remove(key);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{AclValues, MapEntry};

    fn map(lines: &[(&str, &str)]) -> MapLines {
        let entries = lines
            .iter()
            .zip(1..)
            .map(|((k, v), id)| MapEntry {
                id,
                key: (*k).to_owned(),
                pattern: None,
                value: (*v).to_owned(),
            })
            .collect();
        MapLines::new(entries, false)
    }

    fn pairs(m: &MapLines) -> Vec<(String, String)> {
        m.with(|e| e.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
    }

    #[test]
    fn set_map_updates_every_entry_of_a_key_or_appends_it() {
        let lines = map(&[("a", "1"), ("b", "2"), ("a", "3")]);
        let files = PatternFiles::of("f", &[("f".into(), lines.clone())], &[]);
        files.apply(PatternEdit::SetMap, "a", "9");
        files.apply(PatternEdit::SetMap, "c", "4");
        let want = [("a", "9"), ("b", "2"), ("a", "9"), ("c", "4")];
        let want: Vec<_> = want.map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        assert_eq!(pairs(&lines), want);
    }

    #[test]
    fn del_map_removes_a_key_as_written_not_an_entry_reference() {
        let lines = map(&[("#1", "x"), ("a", "1")]);
        let files = PatternFiles::of("f", &[("f".into(), lines.clone())], &[]);
        files.apply(PatternEdit::DelMap, "#2", "");
        assert_eq!(pairs(&lines).len(), 2, "'#2' names no key");
        files.apply(PatternEdit::DelMap, "#1", "");
        assert_eq!(pairs(&lines), vec![("a".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn add_acl_reaches_every_acl_line_once_and_del_acl_takes_it_back() {
        let values = AclValues::new(vec!["10.0.0.1".into()]);
        let file = AclFile {
            file: "deny.lst".into(),
            entries: map(&[("10.0.0.1", "")]),
            users: vec![values.clone()],
            compiled: false,
        };
        let files = PatternFiles::of("deny.lst", &[], std::slice::from_ref(&file));
        files.apply(PatternEdit::AddAcl, "10.0.0.2", "");
        files.apply(PatternEdit::AddAcl, "10.0.0.2", "");
        assert_eq!(values.with(<[_]>::to_vec), ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(file.entries.with(<[_]>::len), 2);
        files.apply(PatternEdit::DelAcl, "10.0.0.1", "");
        assert_eq!(values.with(<[_]>::to_vec), ["10.0.0.2"]);
    }

    #[test]
    fn a_file_no_one_reads_is_left_alone() {
        let lines = map(&[("a", "1")]);
        let files = PatternFiles::of("other", &[("f".into(), lines.clone())], &[]);
        files.apply(PatternEdit::SetMap, "a", "2");
        assert_eq!(pairs(&lines), vec![("a".to_owned(), "1".to_owned())]);
    }
}
