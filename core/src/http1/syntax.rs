//! Where an HTTP/1 head first breaks the syntax (RFC 9112), for
//! `show errors`' "error at position": the parser says only that it
//! failed.

/// A token character (RFC 9110 §5.6.2).
pub fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The offset of the first byte of a request head (`response`: a
/// response head) that breaks the syntax; the length of what was scanned
/// when none does (the error is in what a field means, or past the bytes
/// given).
pub fn error_position(head: &[u8], response: bool) -> usize {
    let line = match response {
        false => request_line(head),
        true => status_line(head),
    };
    match line {
        Ok(end) => fields(head, end),
        Err(at) => at,
    }
}

/// The end of a request line (before its line break), or where it breaks.
fn request_line(head: &[u8]) -> Result<usize, usize> {
    let at = |i: usize| head.get(i).copied();
    let mut i = head.iter().take_while(|b| tchar(**b)).count();
    if i == 0 || at(i) != Some(b' ') {
        return Err(i);
    }
    i += 1;
    let start = i;
    while at(i).is_some_and(|b| b > b' ' && b != 0x7f) {
        i += 1;
    }
    if i == start || at(i) != Some(b' ') {
        return Err(i);
    }
    version(head, i + 1)
}

/// The end of a status line (before its line break), or where it breaks.
fn status_line(head: &[u8]) -> Result<usize, usize> {
    let at = |i: usize| head.get(i).copied();
    let mut i = version(head, 0)?;
    if at(i) != Some(b' ') {
        return Err(i);
    }
    i += 1;
    for _ in 0..3 {
        if !at(i).is_some_and(|b| b.is_ascii_digit()) {
            return Err(i);
        }
        i += 1;
    }
    // The reason: anything printable, tabs, obs-text.
    while at(i).is_some_and(|b| b == b'\t' || b >= b' ' && b != 0x7f) {
        i += 1;
    }
    Ok(i)
}

/// The end of `HTTP/1.<digit>` at `i`, or where it breaks.
fn version(head: &[u8], mut i: usize) -> Result<usize, usize> {
    for want in b"HTTP/1." {
        if head.get(i) != Some(want) {
            return Err(i);
        }
        i += 1;
    }
    match head.get(i) {
        Some(b) if b.is_ascii_digit() => Ok(i + 1),
        _ => Err(i),
    }
}

/// Where the header fields after the start line (ending at `i`) break.
fn fields(head: &[u8], mut i: usize) -> usize {
    let at = |i: usize| head.get(i).copied();
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
            assert_eq!(error_position(head, false), want, "{}", head.escape_ascii());
        }
    }

    #[test]
    fn a_status_line_is_checked_as_such() {
        let cases: [(&[u8], usize); 4] = [
            (b"HTTP/1.1 200 OK\r\nA b: c\r\n\r\n", 18),
            (b"HTTP/1.1 2x0 OK\r\n\r\n", 10),
            (b"HTTQ/1.1 200 OK\r\n\r\n", 3),
            (b"HTTP/1.0 204\r\n\r\n", 16),
        ];
        for (head, want) in cases {
            assert_eq!(error_position(head, true), want, "{}", head.escape_ascii());
        }
    }
}
