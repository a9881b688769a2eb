//! A message's header fields kept in three buffers whatever their number
//! (one allocation per field would cost more than the parse): names
//! lower-cased, as haproxy's HTX keeps them, values as sent.

use std::ops::Range;

/// Fields a message's buffers have room for past those it came with.
pub const SPARE_FIELDS: usize = 4;
/// Bytes a message's buffers have room for past those it came with.
pub const SPARE_BYTES: usize = 64;

/// Header fields in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// Every name, back to back.
    names: String,
    /// Every value, back to back.
    values: Vec<u8>,
    /// Per field: where its name ends in `names` and its value in `values`.
    ends: Vec<(u32, u32)>,
    /// One bit per class of names ([`name_class`]) a field's name is in:
    /// a name whose bit is clear is not there, so looking up an absent
    /// one (`content-length` in a GET, `upgrade`, `expect`) reads no
    /// field.
    classes: u64,
}

/// The bit of `name`'s class, whatever its case: its length and first
/// byte (cheap to take at each field, and they part the names looked for
/// most, `content-length`, `transfer-encoding`, `connection`, `upgrade`,
/// `expect`, from those requests and answers carry most).
pub(crate) fn name_class(name: &str) -> u64 {
    let first = name.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
    1 << ((name.len() * 11 + usize::from(first)) % 64)
}

/// What becomes of a field in [`Fields::rewrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldChange<'a> {
    /// It stays as it is.
    Keep,
    /// It goes.
    Drop,
    /// It takes this value.
    Value(&'a [u8]),
}

impl Fields {
    /// Room for `fields` fields of `bytes` bytes in all, and for the few
    /// a rule or the proxy adds (`x-forwarded-for`, a `set-header`)
    /// without growing.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            names: String::with_capacity(bytes / 2 + SPARE_BYTES),
            values: Vec::with_capacity(bytes + SPARE_BYTES),
            ends: Vec::with_capacity(fields + SPARE_FIELDS),
            classes: 0,
        }
    }

    /// Adds a field at the end; its name is lower-cased.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let start = self.names.len();
        self.names.push_str(name);
        self.names[start..].make_ascii_lowercase();
        self.values.extend_from_slice(value);
        self.ends
            .push((self.names.len() as u32, self.values.len() as u32));
        self.classes |= name_class(name);
    }

    /// False when no field is named `name` (any case); true when one may
    /// be.
    pub(crate) fn may_have(&self, name: &str) -> bool {
        self.classes & name_class(name) != 0
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of every name and value.
    pub fn bytes(&self) -> usize {
        self.names.len() + self.values.len()
    }

    /// Each field's name and value, in order.
    pub fn iter(&self) -> FieldsIter<'_> {
        FieldsIter {
            fields: self,
            spans: Spans::new(&self.ends),
        }
    }

    /// Its buffers as they are: every name, every value, where each
    /// field's name and value end, and the classes of its names.
    pub(crate) fn parts(&self) -> (&str, &[u8], &[(u32, u32)], u64) {
        (&self.names, &self.values, &self.ends, self.classes)
    }

    /// Each field's name and value, the value as text when it is UTF-8
    /// (else its bytes): checked in one pass over every value.
    pub fn texts(&self) -> impl Iterator<Item = (&str, Result<&str, &[u8]>)> + '_ {
        let whole = std::str::from_utf8(&self.values).ok();
        let mut end = 0;
        self.iter().map(move |(name, value)| {
            let start = end;
            end += value.len();
            // A value that cuts a character of the whole in two is not
            // text alone.
            let text = whole.and_then(|w| w.get(start..end));
            let text = text.map_or_else(|| std::str::from_utf8(value).map_err(|_| value), Ok);
            (name, text)
        })
    }

    /// The values of every field named `name` (lower case), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let fields = match self.may_have(name) {
            true => self.iter(),
            false => self.iter_none(),
        };
        fields.filter(move |(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The value of the first field named `name` (lower case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        if !self.may_have(name) {
            return None;
        }
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// An iterator over no field.
    fn iter_none(&self) -> FieldsIter<'_> {
        FieldsIter {
            fields: self,
            spans: Spans::new(&[]),
        }
    }

    /// True when a field is named `name` (lower case).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Changes the fields in order as `change` says of each (its name
    /// and value).
    pub fn rewrite<'v>(&mut self, mut change: impl FnMut(&str, &[u8]) -> FieldChange<'v>) {
        let mut out = Self::with_capacity(self.len(), self.values.len());
        for (name, value) in self.iter() {
            match change(name, value) {
                FieldChange::Keep => out.push(name, value),
                FieldChange::Drop => {}
                FieldChange::Value(v) => out.push(name, v),
            }
        }
        *self = out;
    }
}

/// The fields of [`Fields`], either end first.
#[derive(Debug, Clone)]
pub struct FieldsIter<'a> {
    fields: &'a Fields,
    spans: Spans<'a>,
}

impl<'a> FieldsIter<'a> {
    /// `fields`' name and value where `span` says.
    fn at(&self, (name, value): Span) -> (&'a str, &'a [u8]) {
        (&self.fields.names[name], &self.fields.values[value])
    }
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        self.spans.next().map(|span| self.at(span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for FieldsIter<'_> {}

impl DoubleEndedIterator for FieldsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.spans.next_back().map(|span| self.at(span))
    }
}

/// Where a field's name and value lie in their buffers.
pub(crate) type Span = (Range<usize>, Range<usize>);

/// Where each field's name and value lie, read from where each ends (as
/// [`Fields`] and the rules' headers keep them), either end first.
#[derive(Debug, Clone)]
pub(crate) struct Spans<'a> {
    ends: &'a [(u32, u32)],
    /// The next field from the front.
    front: usize,
    /// Where its name and its value start.
    starts: (u32, u32),
    /// One past the next field from the back.
    back: usize,
}

impl<'a> Spans<'a> {
    /// The spans of fields ending at `ends`.
    pub(crate) fn new(ends: &'a [(u32, u32)]) -> Self {
        Self {
            ends,
            front: 0,
            starts: (0, 0),
            back: ends.len(),
        }
    }
}

impl Iterator for Spans<'_> {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        if self.front >= self.back {
            return None;
        }
        let (n0, v0) = self.starts;
        let (n1, v1) = self.ends[self.front];
        self.front += 1;
        self.starts = (n1, v1);
        Some((n0 as usize..n1 as usize, v0 as usize..v1 as usize))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back.saturating_sub(self.front);
        (left, Some(left))
    }
}

impl DoubleEndedIterator for Spans<'_> {
    fn next_back(&mut self) -> Option<Span> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        let (n0, v0) = match self.back.checked_sub(1) {
            Some(before) => self.ends[before],
            None => (0, 0),
        };
        let (n1, v1) = self.ends[self.back];
        Some((n0 as usize..n1 as usize, v0 as usize..v1 as usize))
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for Fields {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(iter: I) -> Self {
        let mut fields = Self::default();
        for (name, value) in iter {
            fields.push(name, value);
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_order_with_names_lower_cased() {
        let mut f = Fields::default();
        f.push("Host", b"a");
        f.push("X-Empty", b"");
        f.push("host", b"b");
        let all: Vec<_> = f.iter().collect();
        assert_eq!(all, [("host", &b"a"[..]), ("x-empty", b""), ("host", b"b")]);
        assert_eq!(f.get("host"), Some(&b"a"[..]));
        assert_eq!(f.all("host").count(), 2);
        assert!(f.contains("x-empty") && !f.contains("Host"));
        assert_eq!(f.iter().next_back(), Some(("host", &b"b"[..])));
    }

    #[test]
    fn lookups_find_every_name_there_and_no_other() {
        let names = [
            "host",
            "content-length",
            "transfer-encoding",
            "connection",
            "upgrade",
            "te",
            "ab-cd",
            "",
        ];
        let f: Fields = names.iter().map(|n| (*n, n.as_bytes())).collect();
        for name in names {
            assert_eq!(f.get(name), Some(name.as_bytes()), "{name}");
            assert_eq!(f.all(name).count(), 1, "{name}");
            assert!(f.may_have(&name.to_ascii_uppercase()), "{name}");
        }
        // "ax-cd" is in the class of "ab-cd": the fields are read, and it
        // is not among them.
        assert!(f.may_have("ax-cd"));
        assert_eq!(f.get("ax-cd"), None);
        assert_eq!(f.get("expect"), None);
        assert_eq!(f.all("expect").count(), 0);
        assert!(!Fields::default().may_have("host"));
    }

    #[test]
    fn values_read_as_text_where_they_are_utf8() {
        let f: Fields = [
            ("a", &b"caf\xc3\xa9"[..]),
            ("b", b"\xff"),
            ("c", b"\xc3"),
            ("d", b"\xa9"),
        ]
        .into_iter()
        .collect();
        let texts: Vec<_> = f.texts().collect();
        assert_eq!(
            texts,
            [
                ("a", Ok("caf\u{e9}")),
                ("b", Err(&b"\xff"[..])),
                ("c", Err(&b"\xc3"[..])),
                ("d", Err(&b"\xa9"[..])),
            ]
        );
        // "c" and "d" make a character together, not apart.
        let split: Fields = [("c", &b"\xc3"[..]), ("d", b"\xa9"), ("e", b"x")]
            .into_iter()
            .collect();
        let texts: Vec<_> = split.texts().map(|(_, v)| v.ok()).collect();
        assert_eq!(texts, [None, None, Some("x")]);
    }

    #[test]
    fn the_iterator_meets_itself_from_both_ends() {
        let f: Fields = [("a", &b"1"[..]), ("b", b"22"), ("c", b"333")]
            .into_iter()
            .collect();
        let mut it = f.iter();
        assert_eq!(it.len(), 3);
        assert_eq!(it.next(), Some(("a", &b"1"[..])));
        assert_eq!(it.next_back(), Some(("c", &b"333"[..])));
        assert_eq!(it.len(), 1);
        assert_eq!(it.next(), Some(("b", &b"22"[..])));
        assert_eq!((it.next(), it.next_back()), (None, None));
        assert_eq!(f.iter().rev().map(|(n, _)| n).collect::<String>(), "cba");
    }

    #[test]
    fn rewriting_keeps_drops_or_changes_each_field() {
        let mut f: Fields = [("a", &b"1"[..]), ("b", b"2"), ("a", b"3")]
            .into_iter()
            .collect();
        f.rewrite(|name, value| match (name, value) {
            ("a", b"1") => FieldChange::Value(b"x"),
            ("b", _) => FieldChange::Drop,
            _ => FieldChange::Keep,
        });
        let all: Vec<_> = f.iter().collect();
        assert_eq!(all, [("a", &b"x"[..]), ("a", b"3")]);
        assert_eq!(f.len(), 2);
    }
}
