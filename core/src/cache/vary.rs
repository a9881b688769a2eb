//! `process-vary`: the secondary key that tells apart the variants of
//! one URI, built from the only two request headers haproxy 2.6 varies
//! on — `Accept-Encoding` (as a set of known encodings) and `Referer`
//! (as a hash of its value).

use super::headers::{first, starts_with_ignore_case, values, Pairs};

/// Bit of `Accept-Encoding` in a vary signature.
pub(super) const VARY_ACCEPT_ENCODING: u8 = 1;
/// Bit of `Referer` in a vary signature.
pub(super) const VARY_REFERER: u8 = 2;

const GZIP: u32 = 1 << 0;
const DEFLATE: u32 = 1 << 1;
const BR: u32 = 1 << 2;
const COMPRESS: u32 = 1 << 3;
const AES128GCM: u32 = 1 << 4;
const EXI: u32 = 1 << 5;
const PACK200_GZIP: u32 = 1 << 6;
const ZSTD: u32 = 1 << 7;
const IDENTITY: u32 = 1 << 8;
const STAR: u32 = 1 << 9;
const OTHER: u32 = 1 << 10;

/// More `Accept-Encoding` values than this and the request is not
/// trusted with a key.
const MAX_ENCODINGS: usize = 16;

/// A secondary key: the encodings a request accepts (or a response
/// carries) and the hash of its `Referer`; a part the signature does not
/// name is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondaryKey {
    encodings: u32,
    referer: u32,
}

impl SecondaryKey {
    /// The key of a request with `headers`, for the headers `signature`
    /// names; `None` when it has too many encodings to be trusted.
    pub fn of_request(headers: Pairs<'_>, signature: u8) -> Option<Self> {
        let encodings = match signature & VARY_ACCEPT_ENCODING {
            0 => 0,
            _ => accepted(headers)?,
        };
        let referer = match signature & VARY_REFERER {
            0 => 0,
            _ => first(headers, "referer").map_or(0, fnv1a),
        };
        Some(Self { encodings, referer })
    }

    /// Only the parts `signature` names.
    pub fn reduced(self, signature: u8) -> Self {
        Self {
            encodings: if signature & VARY_ACCEPT_ENCODING != 0 {
                self.encodings
            } else {
                0
            },
            referer: if signature & VARY_REFERER != 0 {
                self.referer
            } else {
                0
            },
        }
    }

    /// The stored key of a response: its encodings replace what the
    /// request accepted. `None` for an encoding haproxy does not know
    /// (such a response is not kept).
    pub fn with_response_encoding(self, response: Pairs<'_>) -> Option<Self> {
        let mut bits = 0;
        for v in values(response, "content-encoding") {
            bits |= encoding(v)?.0;
        }
        Some(Self {
            encodings: if bits == 0 { IDENTITY } else { bits },
            ..self
        })
    }

    /// True when a stored variant with this key may answer a request
    /// with key `request`: every encoding it carries is accepted, and the
    /// referer is the same.
    pub fn serves(&self, request: &Self) -> bool {
        self.encodings & OTHER == 0
            && request.encodings & self.encodings == self.encodings
            && self.referer == request.referer
    }

    /// Its bytes in hexadecimal, as `show cache` prints a key.
    pub fn hex(&self) -> String {
        format!(
            "{:08x}{:08x}",
            self.encodings.swap_bytes(),
            self.referer.swap_bytes()
        )
    }
}

/// The signature of a response's `Vary` values; `None` when it varies on
/// a header haproxy does not know.
pub(super) fn signature(response: Pairs<'_>) -> Option<u8> {
    let mut sig = 0;
    for v in values(response, "vary") {
        sig |= if v.eq_ignore_ascii_case("accept-encoding") {
            VARY_ACCEPT_ENCODING
        } else if v.eq_ignore_ascii_case("referer") {
            VARY_REFERER
        } else {
            return None;
        };
    }
    Some(sig)
}

/// The encodings a request accepts, as a bit set.
fn accepted(headers: Pairs<'_>) -> Option<u32> {
    let mut bits = IDENTITY;
    let mut refused = u32::MAX;
    let mut count = 0;
    for v in values(headers, "accept-encoding") {
        count += 1;
        if count > MAX_ENCODINGS {
            return None;
        }
        if v.is_empty() {
            continue;
        }
        match encoding(&v.to_ascii_lowercase()) {
            Some((bit, true)) => refused &= !bit,
            Some((bit, false)) => bits |= bit,
            None => bits |= OTHER,
        }
    }
    if count == MAX_ENCODINGS {
        return None;
    }
    if bits & STAR != 0 {
        bits = u32::MAX;
    }
    Some(if count == 0 { u32::MAX } else { bits & refused })
}

/// One encoding value: its bit, and whether its weight is zero (`q=0`).
fn encoding(value: &str) -> Option<(u32, bool)> {
    const NAMES: [(&str, u32); 12] = [
        ("aes128gcm", AES128GCM),
        ("br", BR),
        ("compress", COMPRESS),
        ("deflate", DEFLATE),
        ("exi", EXI),
        ("gzip", GZIP),
        ("identity", IDENTITY),
        ("pack200-gzip", PACK200_GZIP),
        ("x-gzip", GZIP),
        ("x-compress", COMPRESS),
        ("zstd", ZSTD),
        ("*", STAR),
    ];
    let (bit, rest) = NAMES
        .iter()
        .find(|(n, _)| starts_with_ignore_case(value, n))
        .map(|(n, bit)| (*bit, &value[n.len()..]))?;
    let rest = rest.trim_start_matches([' ', '\t']);
    if rest.is_empty() {
        return Some((bit, false));
    }
    let weight = rest.strip_prefix(';')?.trim_start_matches([' ', '\t']);
    Some((bit, weight == "q=0"))
}

/// FNV-1a, the hash a `Referer` value is kept as.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(headers: Pairs<'_>) -> SecondaryKey {
        SecondaryKey::of_request(headers, VARY_ACCEPT_ENCODING).expect("trusted")
    }

    #[test]
    fn a_gzipped_variant_serves_only_clients_that_accept_gzip() {
        let stored = key(&[("Accept-Encoding", "gzip")])
            .with_response_encoding(&[("content-encoding", "gzip")])
            .expect("known");
        assert!(stored.serves(&key(&[("accept-encoding", "br, gzip")])));
        assert!(!stored.serves(&key(&[("accept-encoding", "br")])));
        assert!(!stored.serves(&key(&[("accept-encoding", "gzip;q=0, *")])));
        // No header: anything is acceptable.
        assert!(stored.serves(&key(&[])));
    }

    #[test]
    fn an_identity_variant_serves_unless_identity_is_refused() {
        let stored = key(&[]).with_response_encoding(&[]).expect("known");
        assert!(stored.serves(&key(&[("accept-encoding", "br")])));
        assert!(!stored.serves(&key(&[("accept-encoding", "br, identity;q=0")])));
    }

    #[test]
    fn vary_on_an_unknown_header_has_no_signature() {
        assert_eq!(signature(&[("vary", "Accept-Encoding, referer")]), Some(3));
        assert_eq!(signature(&[("vary", "accept-encoding, cookie")]), None);
        assert_eq!(signature(&[]), Some(0));
    }
}
