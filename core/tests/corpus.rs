//! The real-world corpus (`../shared/corpus`, beside the checkout): 61
//! haproxy.cfg and keepalived.conf files with what haproxy 2.6.12 `-c` and
//! keepalived 2.2.7 `-t` said of each (`MANIFEST.tsv`). haven must accept
//! what they accept and, where they reject for a reason that is in the file
//! (not the test host: missing interfaces, DNS, certificates, script users),
//! report a problem on the same line.
//!
//! The corpus is third-party text, so it is read from `shared/` rather
//! than copied in. Without it the test skips, except under `CI=true`, where
//! it fails. `HAVEN_SHARED` overrides the location.

// Tests read their fixtures from disk; core itself never does.
#![allow(clippy::disallowed_methods)]

use haven_core::config::haproxy::{self, ParseOptions};
use haven_core::config::{keepalived, Diagnostics, NoIncludes};
use std::path::PathBuf;

fn corpus_dir() -> Option<PathBuf> {
    let base = std::env::var_os("HAVEN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = base.join("corpus");
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "corpus missing at {} under CI=true",
        dir.display()
    );
    eprintln!("skipping: no corpus at {}", dir.display());
    None
}

/// Files where haven differs on purpose, and why.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "keepalived/030-snemarch-dns-doodle.conf",
    "its error is inside an LVS virtual_server block, which haven skips with a 'not supported yet' warning",
)];

/// Messages that only say the test host lacked something.
fn environmental(msg: &str) -> bool {
    [
        "could not resolve",
        "unable to stat SSL",
        "invalid address",
        "doesn't exist",
        "Unable to set default user",
        "not found/accessible",
        "cannot find",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

/// The line number in a haproxy `[file:N]` or keepalived `Line N)` message.
fn line_of(msg: &str) -> Option<u32> {
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    if let Some(i) = msg.find("Line ") {
        return digits(&msg[i + 5..]);
    }
    let i = msg.find(".cfg:")?;
    digits(&msg[i + 5..])
}

fn parse(file: &str, text: &str) -> Diagnostics {
    if file.starts_with("haproxy/") {
        haproxy::parse(&[(file, text)], &ParseOptions::default()).diagnostics
    } else {
        keepalived::parse(file, text, &NoIncludes).diagnostics
    }
}

#[test]
fn haven_agrees_with_the_real_programs_on_the_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest readable");
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for row in manifest.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let [file, _source, _license, verdict, first, notes] = cols[..] else {
            panic!("bad manifest row: {row}");
        };
        let bytes = std::fs::read(dir.join(file)).expect("corpus file readable");
        let diags = parse(file, &String::from_utf8_lossy(&bytes));
        let errors: Vec<u32> = diags.errors().map(|d| d.line).collect();
        let lines: Vec<u32> = diags.iter().map(|d| d.line).collect();
        let real_line = line_of(first).filter(|_| !environmental(first));
        let problem = match verdict {
            "valid" | "valid-with-warnings" if !errors.is_empty() => Some(format!(
                "real program accepts it; haven: {:?}",
                diags.errors().next()
            )),
            "invalid"
                if file.starts_with("haproxy/")
                    && notes.contains("real config errors")
                    && errors.is_empty() =>
            {
                Some(format!("real program rejects it ({first}); haven accepts"))
            }
            "invalid" => match real_line {
                // haproxy: the first error is on the same line.
                Some(l) if file.starts_with("haproxy/") && errors.first() != Some(&l) => {
                    Some(format!(
                        "first error on line {l} ({first}); haven's: {:?}",
                        errors.first()
                    ))
                }
                // keepalived: haven says something on that line too.
                Some(l) if !file.starts_with("haproxy/") && !lines.contains(&l) => Some(format!(
                    "keepalived complains on line {l} ({first}); haven on {lines:?}"
                )),
                _ => None,
            },
            _ => None,
        };
        let excused = KNOWN_DIFFERENCES.iter().any(|(f, _)| *f == file);
        if let Some(p) = problem.filter(|_| !excused) {
            disagreements.push(format!("{file}: {p}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 61, "the corpus holds 61 files");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
