//! Bad-config fixtures: each file under `tests/bad/` starts with
//! `# expect: LINE:COL: MESSAGE` (haproxy) or `! expect: ...` (keepalived),
//! the first error the parser must report, exactly. Line 0 means an error
//! with no single place (haproxy's post-parse checks).
//!
//! The haproxy fixtures (h*.cfg) were checked against haproxy 2.6.12 `-c`:
//! same line, same message. The keepalived ones (k*.conf) use keepalived
//! 2.2.7's words where it has some (`keepalived -t`), and haven's stricter
//! checks (unknown keywords and bad values that decide elections are errors).
//!
//! `HAVEN_UPDATE_GOLDEN=1 cargo test -p haven-core --test bad_configs`
//! rewrites the expectations; review the diff.

// Tests read their fixtures from disk; core itself never does.
#![allow(clippy::disallowed_methods)]

use haven_core::config::haproxy::{self, ParseOptions};
use haven_core::config::{keepalived, Diagnostics, NoIncludes};
use std::path::Path;

fn first_error(name: &str, text: &str) -> Option<String> {
    let diags: Diagnostics = if name.ends_with(".cfg") {
        haproxy::parse(&[(name, text)], &ParseOptions::default()).diagnostics
    } else {
        keepalived::parse(name, text, &NoIncludes).diagnostics
    };
    let e = diags.errors().next()?;
    Some(format!("{}:{}: {}", e.line, e.col, e.message))
}

#[test]
fn every_fixture_reports_its_expected_first_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let update = std::env::var_os("HAVEN_UPDATE_GOLDEN").is_some();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad exists")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let (header, rest) = text.split_once('\n').expect("fixture has a header line");
        let expected = header
            .strip_prefix("# expect: ")
            .or_else(|| header.strip_prefix("! expect: "))
            .expect("header is '# expect: ' or '! expect: '");
        let got = first_error(&name, &text).unwrap_or_else(|| "no error".into());
        if update {
            let marker = &header[..header.find("expect: ").expect("marker") + 8];
            std::fs::write(&path, format!("{marker}{got}\n{rest}")).expect("rewrite fixture");
        } else if got != expected {
            failures.push(format!("{name}\n  expected: {expected}\n  got:      {got}"));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
