//! The file-system side of config loading: reading files and directories,
//! and answering keepalived `include` requests for core's parser.

use anyhow::{Context, Result};
use haven_core::config::SourceLoader;
use std::path::{Path, PathBuf};

/// Reads a config file as text; invalid UTF-8 is replaced, not refused,
/// so that a stray byte in a comment does not hide the real diagnostics.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Expands `-f` arguments: a directory stands for its `*.cfg` files in name
/// order, as with haproxy.
pub(crate) fn expand_cfg_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read directory '{}'", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "cfg") && f.is_file())
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Answers `include` with the files a glob matches, relative to the
/// including file's directory.
pub(crate) struct FsLoader;

impl SourceLoader for FsLoader {
    fn load(&self, pattern: &str, from: &str) -> Result<Vec<(String, String)>, String> {
        let base = Path::new(from).parent().unwrap_or(Path::new("."));
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            base.join(pattern)
        };
        let full = full.to_string_lossy().into_owned();
        let mut paths: Vec<PathBuf> = glob::glob(&full)
            .map_err(|e| format!("bad pattern: {e}"))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let text = read_text(&p).map_err(|e| format!("{e:#}"))?;
                Ok((p.to_string_lossy().into_owned(), text))
            })
            .collect()
    }
}
