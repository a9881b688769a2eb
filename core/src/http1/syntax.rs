//! Where an HTTP/1 request head first breaks the syntax (RFC 9112), for
//! `show errors`' "error at position": the parser says only that it
//! failed.

/// A token character (RFC 9110 §5.6.2).
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The offset of the first byte of `head` that breaks the request syntax;
/// the length of what was scanned when none does (the error is in what a
/// field means, or past the bytes given).
pub fn error_position(head: &[u8]) -> usize {
    let at = |i: usize| head.get(i).copied();
    let mut i = head.iter().take_while(|b| tchar(**b)).count();
    if i == 0 || at(i) != Some(b' ') {
        return i;
    }
    i += 1;
    let start = i;
    while at(i).is_some_and(|b| b > b' ' && b != 0x7f) {
        i += 1;
    }
    if i == start || at(i) != Some(b' ') {
        return i;
    }
    i += 1;
    for want in b"HTTP/1." {
        if at(i) != Some(*want) {
            return i;
        }
        i += 1;
    }
    if !at(i).is_some_and(|b| b.is_ascii_digit()) {
        return i;
    }
    i += 1;
    loop {
        // The end of a line: CRLF or a bare LF, as haproxy takes it.
        match (at(i), at(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => i += 2,
            (Some(b'\n'), _) => i += 1,
            _ => return i,
        }
        if matches!(
            (at(i), at(i + 1)),
            (Some(b'\r'), Some(b'\n')) | (Some(b'\n'), _)
        ) {
            return head.len().min(i + 2);
        }
        let name = head[i.min(head.len())..]
            .iter()
            .take_while(|b| tchar(**b))
            .count();
        if name == 0 || at(i + name) != Some(b':') {
            return i + name;
        }
        i += name + 1;
        // A value: visible characters, spaces, tabs and obs-text.
        while at(i).is_some_and(|b| b == b'\t' || b >= b' ' && b != 0x7f) {
            i += 1;
        }
        if !matches!(at(i), Some(b'\r' | b'\n')) {
            return i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_of_the_head_is_checked() {
        let cases: [(&[u8], usize); 7] = [
            (b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 18),
            (b"G@T / HTTP/1.1\r\n\r\n", 1),
            (b"GET /a\x01 HTTP/1.1\r\n\r\n", 6),
            (b"GET / HTTQ/1.1\r\n\r\n", 9),
            (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 23),
            (b"GET / HTTP/1.1\nHost x\n\n", 19),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27),
        ];
        for (head, want) in cases {
            assert_eq!(error_position(head), want, "{}", head.escape_ascii());
        }
    }
}
