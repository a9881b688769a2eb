//! `default-path`: where the relative paths of the file being read lead
//! (haproxy changes its directory while it reads that file; haven joins
//! the paths instead), and the file reader that follows it.

use super::lexer::Word;
use super::parser::Parser;
use crate::config::Form;
use crate::sample::ReadFile;

/// Reads a file by its path as the config names it, joined to the
/// default path in force.
pub(super) type Reader = Box<dyn Fn(&str) -> std::io::Result<Vec<u8>>>;

/// `dir/path`, or `path` when it is absolute or there is no `dir`.
fn join(dir: Option<&str>, path: &str) -> String {
    match dir {
        Some(dir) if !path.starts_with('/') => format!("{}/{path}", dir.trim_end_matches('/')),
        _ => path.to_owned(),
    }
}

/// The directory of the file named `file` (`None`: the working
/// directory).
fn directory(file: &str) -> Option<String> {
    file.rsplit_once('/').map(|(dir, _)| match dir {
        "" => "/".to_owned(),
        d => d.to_owned(),
    })
}

impl Parser<'_> {
    /// A new file starts: its relative paths lead from the working
    /// directory until it says otherwise.
    pub(super) fn reset_default_path(&mut self) {
        self.set_default_path(None);
    }

    /// `default-path current|config|parent|origin <dir>`.
    pub(super) fn default_path(&mut self, words: &[Word]) {
        let col = words[0].col;
        let mode = words.get(1).map_or("", |w| w.text.as_str());
        let dir = match mode {
            "current" => None,
            "config" => directory(&self.file),
            "parent" => Some(join(directory(&self.file).as_deref(), "..")),
            "origin" => match words.get(2) {
                Some(dir) => Some(dir.text.clone()),
                None => {
                    let msg = "'default-path origin' expects a directory as an argument.";
                    return self.error(Form::Parsing, col, msg.to_owned());
                }
            },
            _ => {
                let what = if mode.is_empty() {
                    "missing"
                } else {
                    "unsupported"
                };
                let msg = format!("{what} default-path mode '{mode}' for 'default-path', supported modes include 'current', 'config', 'parent', and 'origin'.");
                return self.error(Form::Parsing, col, msg);
            }
        };
        self.set_default_path(dir);
    }

    fn set_default_path(&mut self, dir: Option<String>) {
        self.reader = self.opts.files.map(|read| {
            let dir = dir.clone();
            Box::new(move |path: &str| read(&join(dir.as_deref(), path))) as Reader
        });
        self.default_dir = dir;
    }

    /// Reads the files the config names, from the default path.
    pub(crate) fn files(&self) -> Option<ReadFile<'_>> {
        self.reader.as_deref()
    }

    /// A base directory (`crt-base`, `ca-base`) as it stands from the
    /// default path: relative paths under it lead from there.
    pub(crate) fn base_on_default_path(&self, base: Option<&str>) -> Option<String> {
        match (base, self.default_dir.as_deref()) {
            (Some(base), dir) => Some(join(dir, base)),
            (None, dir) => dir.map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_unless_absolute() {
        assert_eq!(join(Some("conf/"), "a.pem"), "conf/a.pem");
        assert_eq!(join(Some("conf"), "/etc/a.pem"), "/etc/a.pem");
        assert_eq!(join(None, "a.pem"), "a.pem");
        assert_eq!(
            directory("/etc/haproxy/haproxy.cfg").as_deref(),
            Some("/etc/haproxy")
        );
        assert_eq!(directory("haproxy.cfg"), None);
    }
}
