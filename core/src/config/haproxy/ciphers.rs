//! OpenSSL's cipher strings (`ciphers`, `ssl-default-bind-ciphers`) read
//! as OpenSSL reads them, over the TLS 1.2 ciphers haven offers: which of
//! them a string selects, in what order, and which of its words name
//! ciphers haven does not have.

/// A TLS 1.2 cipher haven offers: its OpenSSL name and the words of
/// OpenSSL's cipher-string language that select it.
struct Cipher {
    name: &'static str,
    words: &'static [&'static str],
}

/// Words every offered cipher answers to.
const COMMON: &[&str] = &[
    "ALL", "DEFAULT", "HIGH", "TLSv1.2", "ECDHE", "EECDH", "kECDHE", "kEECDH", "ECDH", "AEAD",
];

/// The ciphers haven offers for TLS 1.2, in its default order (strongest
/// first, ECDSA before RSA, as OpenSSL sorts them).
const OFFERED: [Cipher; 6] = [
    Cipher {
        name: "ECDHE-ECDSA-AES256-GCM-SHA384",
        words: &["ECDSA", "aECDSA", "AES", "AESGCM", "AES256"],
    },
    Cipher {
        name: "ECDHE-RSA-AES256-GCM-SHA384",
        words: &["RSA", "aRSA", "AES", "AESGCM", "AES256"],
    },
    Cipher {
        name: "ECDHE-ECDSA-CHACHA20-POLY1305",
        words: &["ECDSA", "aECDSA", "CHACHA20"],
    },
    Cipher {
        name: "ECDHE-RSA-CHACHA20-POLY1305",
        words: &["RSA", "aRSA", "CHACHA20"],
    },
    Cipher {
        name: "ECDHE-ECDSA-AES128-GCM-SHA256",
        words: &["ECDSA", "aECDSA", "AES", "AESGCM", "AES128"],
    },
    Cipher {
        name: "ECDHE-RSA-AES128-GCM-SHA256",
        words: &["RSA", "aRSA", "AES", "AESGCM", "AES128"],
    },
];

/// The TLS 1.3 suites haven offers, in its default order.
pub const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
];

impl Cipher {
    fn answers(&self, word: &str) -> bool {
        word == self.name || COMMON.contains(&word) || self.words.contains(&word)
    }
}

/// What a cipher string selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The offered ciphers it selects, in order (OpenSSL names).
    pub ciphers: Vec<&'static str>,
    /// Words of it that add ciphers haven does not have (`DHE-RSA-…`,
    /// `kRSA`, `3DES`): those are not offered.
    pub missing: Vec<String>,
}

/// Reads an OpenSSL cipher string: `:`-, `,`- or space-separated terms,
/// each words joined by `+` (a cipher matches when it answers to every
/// word); a term adds the ciphers it matches, `-` takes them out, `!`
/// takes them out for good, `+` moves them to the end; `@…` settings are
/// OpenSSL's own.
pub fn select(text: &str) -> Selection {
    let mut chosen: Vec<usize> = Vec::new();
    let mut banned: Vec<usize> = Vec::new();
    let mut missing = Vec::new();
    for term in text.split([':', ',', ' ']).filter(|t| !t.is_empty()) {
        if term.starts_with('@') {
            continue;
        }
        let (op, body) = match term.as_bytes()[0] {
            b @ (b'!' | b'-' | b'+') => (b, &term[1..]),
            _ => (b' ', term),
        };
        let matching: Vec<usize> = (0..OFFERED.len())
            .filter(|&i| body.split('+').all(|w| OFFERED[i].answers(w)))
            .collect();
        match op {
            b'!' => {
                banned.extend(&matching);
                chosen.retain(|i| !matching.contains(i));
            }
            b'-' => chosen.retain(|i| !matching.contains(i)),
            b'+' => {
                let (moved, kept): (Vec<usize>, Vec<usize>) =
                    chosen.iter().partition(|i| matching.contains(i));
                chosen = kept.into_iter().chain(moved).collect();
            }
            _ => {
                if matching.is_empty() {
                    missing.push(body.to_owned());
                }
                for i in matching {
                    if !chosen.contains(&i) && !banned.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    Selection {
        ciphers: chosen.into_iter().map(|i| OFFERED[i].name).collect(),
        missing,
    }
}

/// Reads a `ciphersuites` list (TLS 1.3 suite names, `:`-separated): the
/// offered suites it names in order, and the names haven does not have.
pub fn select_suites(text: &str) -> Selection {
    let mut selection = Selection {
        ciphers: Vec::new(),
        missing: Vec::new(),
    };
    for name in text.split(':').filter(|n| !n.is_empty()) {
        match TLS13_SUITES.iter().find(|s| **s == name) {
            Some(s) if !selection.ciphers.contains(s) => selection.ciphers.push(s),
            Some(_) => {}
            None => selection.missing.push(name.to_owned()),
        }
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozilla_intermediate_keeps_its_order_and_names_what_is_missing() {
        let s = select("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384");
        assert_eq!(
            s.ciphers,
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-CHACHA20-POLY1305",
            ]
        );
        assert_eq!(
            s.missing,
            ["DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"]
        );
    }

    #[test]
    fn families_exclusions_and_moves_read_as_openssl_does() {
        // Debian's stock haproxy.cfg.
        let s = select("ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS");
        assert_eq!(
            s.ciphers,
            [
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
            ]
        );
        assert_eq!(s.missing, ["DH+AESGCM", "DH+AES256", "DH+AES"]);
        let s = select("HIGH:!aRSA:+AES256");
        assert_eq!(
            s.ciphers,
            [
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
            ]
        );
        assert!(select("!ALL:ECDHE-RSA-AES128-GCM-SHA256")
            .ciphers
            .is_empty());
        assert_eq!(
            select("-ALL:ECDHE-RSA-AES128-GCM-SHA256@SECLEVEL=2")
                .ciphers
                .len(),
            0,
            "a word glued to a setting names nothing"
        );
    }

    #[test]
    fn tls13_suites_are_named_one_by_one() {
        let s = select_suites("TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256");
        assert_eq!(s.ciphers, ["TLS_AES_128_GCM_SHA256"]);
        assert_eq!(s.missing, ["TLS_AES_128_CCM_SHA256"]);
    }
}
