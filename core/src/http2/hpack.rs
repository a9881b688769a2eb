//! HPACK encoding (RFC 7541) as haproxy does it: a field whose name and
//! value the static table holds is one index; a name it holds is an
//! index and the value a literal; any other field is two literals. The
//! dynamic table is never used and nothing is Huffman-coded, so encoding
//! is a copy, with no table to search or keep. (Decoding is the
//! `loona-hpack` crate's: peers use all of HPACK.)

/// The static table's index of a whole field haven sends often.
fn field_index(name: &[u8], value: &[u8]) -> Option<usize> {
    Some(match (name, value) {
        (b":method", b"GET") => 2,
        (b":method", b"POST") => 3,
        (b":path", b"/") => 4,
        (b":scheme", b"http") => 6,
        (b":scheme", b"https") => 7,
        (b":status", b"200") => 8,
        (b":status", b"204") => 9,
        (b":status", b"206") => 10,
        (b":status", b"304") => 11,
        (b":status", b"400") => 12,
        (b":status", b"404") => 13,
        (b":status", b"500") => 14,
        _ => return None,
    })
}

/// The static table's index of a name haven sends often.
fn name_index(name: &[u8]) -> Option<usize> {
    Some(match name {
        b":authority" => 1,
        b":method" => 2,
        b":path" => 4,
        b":scheme" => 6,
        b":status" => 8,
        b"accept-encoding" => 16,
        b"accept-ranges" => 18,
        b"accept" => 19,
        b"access-control-allow-origin" => 20,
        b"age" => 21,
        b"cache-control" => 24,
        b"content-encoding" => 26,
        b"content-length" => 28,
        b"content-type" => 31,
        b"cookie" => 32,
        b"date" => 33,
        b"etag" => 34,
        b"expires" => 36,
        b"host" => 38,
        b"last-modified" => 44,
        b"location" => 46,
        b"server" => 54,
        b"set-cookie" => 55,
        b"user-agent" => 58,
        b"vary" => 59,
        b"via" => 60,
        b"www-authenticate" => 61,
        _ => return None,
    })
}

/// Appends field `name: value` to a header block.
pub(super) fn encode_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    if let Some(index) = field_index(name, value) {
        put_integer(out, index, 7, 0x80);
        return;
    }
    // A literal "without indexing" (its first four bits 0000).
    match name_index(name) {
        Some(index) => put_integer(out, index, 4, 0x00),
        None => {
            out.push(0x00);
            put_string(out, name);
        }
    }
    put_string(out, value);
}

/// Appends a dynamic table size update to `size` (a block's first).
pub(super) fn encode_size_update(out: &mut Vec<u8>, size: usize) {
    put_integer(out, size, 5, 0x20);
}

/// Appends `bytes` as a string literal, not Huffman-coded.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_integer(out, bytes.len(), 7, 0x00);
    out.extend_from_slice(bytes);
}

/// Appends `value` as an integer with a `prefix`-bit prefix, the first
/// byte's other bits being `first`'s (RFC 7541 §5.1).
fn put_integer(out: &mut Vec<u8>, value: usize, prefix: u8, first: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use loona_hpack::Decoder;

    #[test]
    fn what_is_encoded_decodes_back_with_indexes_where_the_static_table_has_them() {
        let long = vec![b'x'; 300];
        let fields: [(&[u8], &[u8]); 6] = [
            (b":status", b"200"),
            (b":status", b"418"),
            (b"content-length", b"5"),
            (b"x-custom", b"value"),
            (b"x-long", &long),
            (b"set-cookie", b""),
        ];
        let mut block = Vec::new();
        for (name, value) in fields {
            encode_field(&mut block, name, value);
        }
        // `:status 200` is one byte; `:status 418` the name's index (8)
        // and a three-byte literal.
        assert_eq!(block[..6], [0x88, 0x08, 3, b'4', b'1', b'8']);
        let decoded = Decoder::new().decode(&block).expect("decodes");
        let got: Vec<(&[u8], &[u8])> = decoded.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        assert_eq!(got, fields);
    }

    #[test]
    fn integers_past_their_prefix_continue_on_seven_bit_bytes() {
        let mut out = Vec::new();
        put_integer(&mut out, 1337, 5, 0x20);
        assert_eq!(out, [0x3f, 154, 10]);
        out.clear();
        encode_size_update(&mut out, 0);
        assert_eq!(out, [0x20]);
    }
}
