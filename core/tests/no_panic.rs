//! Parsers never panic: arbitrary bytes and mutated real configs go through
//! both, and every diagnostic they return points inside the input.

use haven_core::config::haproxy::{self, ParseOptions};
use haven_core::config::{keepalived, Diagnostics, NoIncludes};
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    include_str!("../../scenarios/book-14.3/haproxy.cfg"),
    include_str!("../../scenarios/book-14.3/keepalived-haproxy-server.conf"),
    include_str!("../../scenarios/book-14.4/keepalived-haproxy1.conf"),
    include_str!("../../scenarios/book-14.4/haproxy.cfg"),
];

/// Fragments that stress the lexers and block structure.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "\\",
    "#",
    "!",
    "$",
    "${",
    "${X-",
    "\\x4",
    "\n",
    " ",
    "\t",
    "if",
    "unless",
    "||",
    "!",
    "server",
    "acl",
    "use_backend",
    ":",
    "[",
    "]",
    "@",
    "include",
    "-i",
    "-m",
    "vrrp_instance",
    "track_script",
    "{ path_beg",
    ".if",
    ".endif",
    "weight",
    "0",
    "999999999999",
    "é",
    "\r",
    "\nfrontend f\n",
    "\nbackend b\n",
    "\nlisten l\n",
    "\ndefaults\n",
    "\nglobal\n",
    "stats",
    "admin",
    "auth",
    "option",
    "httpchk",
    "http-check",
    "expect",
    "send",
    "timeout",
    "bind",
    "balance",
    "uri",
    "hash-type",
    "default-server",
    "log",
    "mode",
    "http",
    "no",
    "global_defs",
    "vrrp_script",
    "vrrp_sync_group",
    "group",
    "authentication",
    "auth_pass",
    "virtual_ipaddress",
    "unicast_peer",
    "$X=1\n",
    "@^x",
];

fn check_both(text: &str) -> (Diagnostics, Diagnostics) {
    let h = haproxy::parse(&[("fuzz.cfg", text)], &ParseOptions::default()).diagnostics;
    let k = keepalived::parse("fuzz.conf", text, &NoIncludes).diagnostics;
    let lines = text.lines().count() as u32 + 1;
    for d in h.iter().chain(k.iter()) {
        assert!(d.line <= lines, "line {} past end ({lines}): {d:?}", d.line);
    }
    (h, k)
}

/// One edit of a config: delete, insert a fragment, or duplicate a span.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 16).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            Edit::Insert(at, frag) => {
                let at = at % (chars.len() + 1);
                let f = FRAGMENTS[frag % FRAGMENTS.len()];
                chars.splice(at..at, f.chars());
            }
            Edit::Duplicate(at, len) => {
                let at = at % n;
                let end = (at + len % 64).min(chars.len());
                let copy: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(at..at, copy);
            }
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Delete(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_both(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fragment_soup_never_panics(frags in proptest::collection::vec(0..FRAGMENTS.len(), 0..64)) {
        let text: String = frags.iter().map(|i| FRAGMENTS[*i]).collect::<Vec<_>>().join(" ");
        check_both(&text);
    }

    #[test]
    fn mutated_real_configs_never_panic(seed in 0..SEEDS.len(), edits in proptest::collection::vec(edit(), 1..8)) {
        check_both(&apply(SEEDS[seed], &edits));
    }
}

#[test]
fn unmutated_seeds_stay_valid_for_their_own_parser() {
    let (h, _) = check_both(SEEDS[0]);
    assert!(!h.has_errors());
    let (_, k) = check_both(SEEDS[1]);
    assert!(!k.has_errors());
}
