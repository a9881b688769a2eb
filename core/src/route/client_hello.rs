//! The first bytes of a TLS connection, as `req.ssl_hello_type` and
//! `req.ssl_sni` read them: the handshake record's type and the server
//! name of a client hello, without decrypting anything.

/// What the first bytes of a connection say of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Hello<'a> {
    /// Not the whole first record yet.
    Partial,
    /// Not a TLS handshake record.
    NotTls,
    /// A handshake record whole: its first message's type (1: client
    /// hello, 2: server hello) and, in a client hello, the server name.
    Handshake {
        /// The handshake message type.
        kind: u8,
        /// The `server_name` extension's host name.
        sni: Option<&'a [u8]>,
    },
}

/// Reads the handshake record at the start of `data`.
pub(super) fn read(data: &[u8]) -> Hello<'_> {
    let Some(header) = data.get(..5) else {
        return match data.first() {
            Some(&t) if t != 0x16 => Hello::NotTls,
            _ => Hello::Partial,
        };
    };
    if header[0] != 0x16 || header[1] != 0x03 {
        return Hello::NotTls;
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let Some(record) = data.get(5..5 + len) else {
        return Hello::Partial;
    };
    let Some(&kind) = record.first() else {
        return Hello::NotTls;
    };
    let sni = if kind == 1 { server_name(record) } else { None };
    Hello::Handshake { kind, sni }
}

/// The host name of the `server_name` extension of a client hello
/// `message` (handshake header included).
fn server_name(message: &[u8]) -> Option<&[u8]> {
    let mut r = Reader(message.get(4..)?);
    r.skip(2 + 32)?; // version, random
    let session = r.u8()?;
    r.skip(usize::from(session))?;
    let ciphers = r.u16()?;
    r.skip(usize::from(ciphers))?;
    let compression = r.u8()?;
    r.skip(usize::from(compression))?;
    let total = r.u16()?;
    let mut extensions = Reader(r.take(usize::from(total))?);
    while let (Some(kind), Some(len)) = (extensions.u16(), extensions.u16()) {
        let body = extensions.take(usize::from(len))?;
        if kind != 0 {
            continue;
        }
        let mut names = Reader(body);
        let list = names.u16()?;
        let mut list = Reader(names.take(usize::from(list))?);
        while let (Some(name_type), Some(len)) = (list.u8(), list.u16()) {
            let name = list.take(usize::from(len))?;
            if name_type == 0 {
                return Some(name);
            }
        }
        return None;
    }
    None
}

/// Reads big-endian fields off a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(drop)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS 1.2 client hello record naming `name` (none when empty).
    fn client_hello(name: &str) -> Vec<u8> {
        let mut ext = Vec::new();
        if !name.is_empty() {
            let n = name.len() as u16;
            ext.extend_from_slice(&[0x00, 0x00]);
            ext.extend_from_slice(&(n + 5).to_be_bytes());
            ext.extend_from_slice(&(n + 3).to_be_bytes());
            ext.push(0);
            ext.extend_from_slice(&n.to_be_bytes());
            ext.extend_from_slice(name.as_bytes());
        }
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut message = vec![0x01, 0x00];
        message.extend_from_slice(&(body.len() as u16).to_be_bytes());
        message.extend_from_slice(&body);
        let mut record = vec![0x16, 0x03, 0x01];
        record.extend_from_slice(&(message.len() as u16).to_be_bytes());
        record.extend_from_slice(&message);
        record
    }

    #[test]
    fn a_client_hello_names_its_server() {
        let hello = client_hello("db.example.com");
        assert_eq!(
            read(&hello),
            Hello::Handshake {
                kind: 1,
                sni: Some(&b"db.example.com"[..])
            }
        );
        assert_eq!(read(&hello[..hello.len() - 1]), Hello::Partial);
        assert_eq!(read(&hello[..3]), Hello::Partial);
        assert_eq!(
            read(&client_hello("")),
            Hello::Handshake { kind: 1, sni: None }
        );
        assert_eq!(read(b"GET / HTTP/1.1\r\n"), Hello::NotTls);
        assert_eq!(read(b"G"), Hello::NotTls);
        assert_eq!(read(b""), Hello::Partial);
    }
}
