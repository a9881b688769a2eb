//! `option spop-check`: the SPOP handshake a stream-processing agent
//! answers (SPOE's protocol): haproxy's HAPROXY-HELLO frame, marked as a
//! health check, and the reading of the agent's AGENT-HELLO or
//! AGENT-DISCONNECT with haproxy's words for what is wrong.

/// The largest frame haproxy offers (its buffer less the length field).
const MAX_FRAME_SIZE: u64 = 16_380;
/// The smallest frame size an agent may ask for.
const MIN_FRAME_SIZE: u64 = 256;

const HAPROXY_HELLO: u8 = 1;
const AGENT_HELLO: u8 = 101;
const AGENT_DISCONNECT: u8 = 102;
const FLAG_FIN: u32 = 1;

/// Data types of a key/value item (the low four bits of its type byte).
const T_BOOL: u8 = 1;
const T_UINT32: u8 = 3;
const T_STR: u8 = 8;
const FLAG_TRUE: u8 = 0x10;

/// haproxy's words for each SPOP status code.
const REASONS: [&str; 14] = [
    "normal",
    "I/O error",
    "a timeout occurred",
    "frame is too big",
    "invalid frame received",
    "version value not found",
    "max-frame-size value not found",
    "capabilities value not found",
    "unsupported version",
    "max-frame-size too big or too small",
    "fragmentation not supported",
    "invalid interlaced frames",
    "frame-id not found",
    "resource allocation error",
];
const UNKNOWN: &str = "an unknown error occurred";
const INVALID: &str = REASONS[4];

/// The HAPROXY-HELLO frame of a health check, with its length in front.
pub(super) fn hello_frame() -> Vec<u8> {
    let mut frame = vec![HAPROXY_HELLO];
    frame.extend_from_slice(&FLAG_FIN.to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    text(&mut frame, b"supported-versions");
    frame.push(T_STR);
    text(&mut frame, b"2.0");
    text(&mut frame, b"max-frame-size");
    frame.push(T_UINT32);
    varint(&mut frame, MAX_FRAME_SIZE);
    text(&mut frame, b"capabilities");
    frame.push(T_STR);
    text(&mut frame, b"");
    text(&mut frame, b"healthcheck");
    frame.push(T_BOOL | FLAG_TRUE);
    let mut out = u32::try_from(frame.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    out.extend(frame);
    out
}

/// The agent's answer so far judged: `None` while its frame is not whole
/// (and more may come), else `Ok` or haproxy's words for the problem.
pub(super) fn judge(answer: &[u8], last_read: bool) -> Option<Result<(), &'static str>> {
    let size = answer
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let frame = match size {
        Some(n) if answer.len() >= 4 + n => &answer[4..4 + n],
        _ if !last_read => return None,
        Some(_) => &answer[4..],
        None => &[][..],
    };
    Some(match frame.first() {
        Some(&AGENT_DISCONNECT) => Err(disconnect_reason(frame)),
        _ => agent_hello(frame),
    })
}

/// Reads an AGENT-HELLO frame as haproxy does.
fn agent_hello(frame: &[u8]) -> Result<(), &'static str> {
    if frame.first() != Some(&AGENT_HELLO) || frame.len() < 7 {
        return Err(INVALID);
    }
    let flags = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]);
    if flags & FLAG_FIN == 0 {
        return Err(REASONS[10]);
    }
    if frame[5] != 0 || frame[6] != 0 {
        return Err(INVALID);
    }
    let mut r = Reader(&frame[7..]);
    let (mut version, mut frame_size) = (false, false);
    while !r.0.is_empty() {
        let key = r.bytes().filter(|k| !k.is_empty()).ok_or(INVALID)?;
        let kind = r.byte().ok_or(INVALID)? & 0x0f;
        if key.starts_with(b"version") {
            let v = (kind == T_STR)
                .then(|| r.bytes())
                .flatten()
                .ok_or(INVALID)?;
            if version_of(v) != Some(2000) {
                return Err(REASONS[8]);
            }
            version = true;
        } else if key.starts_with(b"max-frame-size") {
            if !(2..=5).contains(&kind) {
                return Err(INVALID);
            }
            let n = r.varint().ok_or(INVALID)?;
            if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&n) {
                return Err(REASONS[9]);
            }
            frame_size = true;
        } else if key.starts_with(b"capabilities") {
            (kind == T_STR)
                .then(|| r.bytes())
                .flatten()
                .ok_or(INVALID)?;
        } else {
            r.skip(kind).ok_or(INVALID)?;
        }
    }
    match (version, frame_size) {
        (false, _) => Err(REASONS[5]),
        (_, false) => Err(REASONS[6]),
        _ => Ok(()),
    }
}

/// The words for an AGENT-DISCONNECT frame's `status-code`.
fn disconnect_reason(frame: &[u8]) -> &'static str {
    let mut r = Reader(frame.get(7..).unwrap_or_default());
    while let (Some(key), Some(kind)) = (r.bytes(), r.byte()) {
        let kind = kind & 0x0f;
        if key.starts_with(b"status-code") && (2..=5).contains(&kind) {
            let code = r.varint().and_then(|c| usize::try_from(c).ok());
            return code
                .and_then(|c| REASONS.get(c))
                .copied()
                .unwrap_or(UNKNOWN);
        }
        if r.skip(kind).is_none() {
            break;
        }
    }
    UNKNOWN
}

/// `major.minor` as `major * 1000 + minor`, as haproxy compares versions.
fn version_of(text: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(text).ok()?.trim();
    let (major, minor) = text.split_once('.')?;
    let major: u32 = major.parse().ok().filter(|m| *m > 0)?;
    let minor: u32 = minor.parse().ok().filter(|m| *m <= 999)?;
    Some(major * 1000 + minor)
}

/// A length-prefixed string.
fn text(out: &mut Vec<u8>, s: &[u8]) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// haproxy's variable-length integer: below 240 in one byte, else the
/// low four bits with the top four set, then seven bits a byte.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    if v < 240 {
        out.push(v as u8);
        return;
    }
    out.push((v as u8) | 240);
    v = (v - 240) >> 4;
    while v >= 128 {
        out.push((v as u8) | 128);
        v = (v - 128) >> 7;
    }
    out.push(v as u8);
}

/// Reads a frame's items from the front.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let first = self.byte()?;
        let mut v = u64::from(first);
        if v < 240 {
            return Some(v);
        }
        let mut shift = 4;
        loop {
            let b = self.byte()?;
            v = v.checked_add(u64::from(b).checked_shl(shift)?)?;
            shift += 7;
            if b < 128 {
                return Some(v);
            }
            if shift > 63 {
                return None;
            }
        }
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }

    /// Skips the value of an item of type `kind`.
    fn skip(&mut self, kind: u8) -> Option<()> {
        match kind {
            0 | 1 => Some(()),
            2..=5 => self.varint().map(|_| ()),
            6 => self.take(4).map(|_| ()),
            7 => self.take(16).map(|_| ()),
            8 | 9 => self.bytes().map(|_| ()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AGENT-HELLO with `version` and the frame size it names.
    fn agent_hello(version: &str, flags: u32) -> Vec<u8> {
        let mut f = vec![AGENT_HELLO];
        f.extend_from_slice(&flags.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        text(&mut f, b"version");
        f.push(T_STR);
        text(&mut f, version.as_bytes());
        text(&mut f, b"max-frame-size");
        f.push(T_UINT32);
        varint(&mut f, MAX_FRAME_SIZE);
        text(&mut f, b"capabilities");
        f.push(T_STR);
        text(&mut f, b"pipelining");
        let mut out = (f.len() as u32).to_be_bytes().to_vec();
        out.extend(f);
        out
    }

    // Input: the health check's hello.
    // Output: haproxy's 82 bytes: length 78 first, the frame size
    // 16380 as its varint FC F0 06, the healthcheck item last.
    #[test]
    fn the_hello_is_haproxys() {
        let hello = hello_frame();
        assert_eq!(hello.len(), 82);
        assert_eq!(hello[..4], [0, 0, 0, 0x4e]);
        assert!(hello.windows(3).any(|w| w == [0xfc, 0xf0, 0x06]));
        assert_eq!(
            hello[hello.len() - 13..hello.len() - 1],
            *b"\x0bhealthcheck"
        );
        assert_eq!(hello[hello.len() - 1], T_BOOL | FLAG_TRUE);
        let mut r = Reader(&[0xfc, 0xf0, 0x06]);
        assert_eq!(r.varint(), Some(MAX_FRAME_SIZE));
    }

    // Input: a good hello, one cut short, an empty frame, a fragment, a
    // version 1.0, a disconnect with status 3.
    // Output: ok, wait, and haproxy's words for each problem.
    #[test]
    fn answers_get_haproxys_verdicts() {
        let good = agent_hello("2.0", FLAG_FIN);
        assert_eq!(judge(&good, false), Some(Ok(())));
        assert_eq!(judge(&good[..10], false), None);
        assert_eq!(judge(&good[..10], true), Some(Err(INVALID)));
        assert_eq!(judge(&[0, 0, 0, 0], false), Some(Err(INVALID)));
        let fragment = [0, 0, 0, 7, AGENT_HELLO, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            judge(&fragment, false),
            Some(Err("fragmentation not supported"))
        );
        let old = agent_hello("1.0", FLAG_FIN);
        assert_eq!(judge(&old, false), Some(Err("unsupported version")));
        let mut bye = vec![AGENT_DISCONNECT, 0, 0, 0, 1, 0, 0];
        text(&mut bye, b"status-code");
        bye.push(T_UINT32);
        varint(&mut bye, 3);
        let mut framed = (bye.len() as u32).to_be_bytes().to_vec();
        framed.extend(bye);
        assert_eq!(judge(&framed, false), Some(Err("frame is too big")));
    }
}
