//! A message's headers as rules read and change them: text, in order,
//! kept as [`Fields`] keeps them (names back to back in one buffer,
//! values in another; a string per name and per value would cost two
//! allocations a header on every request), so a message's fields become
//! headers in three copies when they are text, whatever their number.

use super::edit::HeaderList;
use crate::http1::{name_class, Fields, TextFields, TextIter, SPARE_BYTES, SPARE_FIELDS};

/// Header fields as text, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Every name, back to back.
    names: String,
    /// Every value, back to back.
    values: String,
    /// Per field: where its name ends in `names` and its value in
    /// `values`.
    ends: Vec<(u32, u32)>,
    /// The classes of its names, as [`Fields`] keeps them: a name out of
    /// them is not there.
    classes: u64,
}

impl Headers {
    /// Room for `fields` fields of `bytes` bytes in all, and for the few
    /// rules add without growing.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            names: String::with_capacity(bytes / 2 + SPARE_BYTES),
            values: String::with_capacity(bytes + SPARE_BYTES),
            ends: Vec::with_capacity(fields + SPARE_FIELDS),
            classes: 0,
        }
    }

    /// False when no field is named `name` (any case); true when one may
    /// be.
    pub fn may_have(&self, name: &str) -> bool {
        self.classes & name_class(name) != 0
    }

    /// The fields `pairs`, in one allocation each for names, values and
    /// ends.
    pub fn of<'a>(pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let bytes = pairs.clone().map(|(n, v)| n.len() + v.len()).sum();
        let mut headers = Self::with_capacity(pairs.len(), bytes);
        for (name, value) in pairs {
            headers.push(name, value);
        }
        headers
    }

    /// The fields of a message as read (`fields`), their values as text
    /// (with replacement characters where they are not UTF-8): its
    /// buffers copied whole when every value is text.
    pub fn of_fields(fields: &Fields) -> Self {
        if let Some(text) = TextFields::of(fields) {
            return Self::of_text(text);
        }
        let mut headers = Self::with_capacity(fields.len(), fields.bytes());
        for (name, value) in fields.texts() {
            match value {
                Ok(text) => headers.push(name, text),
                Err(bytes) => headers.push(name, &String::from_utf8_lossy(bytes)),
            }
        }
        headers
    }

    /// A message's fields already known to be text, their buffers
    /// copied whole.
    pub fn of_text(text: TextFields<'_>) -> Self {
        Self::copied(text.parts())
    }

    /// A copy, with room for the few fields rules add.
    pub fn with_room(&self) -> Self {
        Self::copied((&self.names, &self.values, &self.ends, self.classes))
    }

    /// Headers of these buffers (names, values, ends, classes), with room
    /// for the few fields rules add.
    fn copied((names, values, ends, classes): (&str, &str, &[(u32, u32)], u64)) -> Self {
        let mut copy = Self::with_capacity(ends.len(), names.len() + values.len());
        copy.names.push_str(names);
        copy.values.push_str(values);
        copy.ends.extend_from_slice(ends);
        copy.classes = classes;
        copy
    }

    /// Adds a field at the end.
    pub fn push(&mut self, name: &str, value: &str) {
        self.names.push_str(name);
        self.values.push_str(value);
        let ends = (self.names.len() as u32, self.values.len() as u32);
        self.ends.push(ends);
        self.classes |= name_class(name);
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each field's name and value, in order.
    pub fn iter(&self) -> TextIter<'_> {
        TextIter::new(&self.names, &self.values, &self.ends)
    }

    /// Each field as an owned pair, for what keeps them apart (a cache
    /// entry).
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// Keeps the fields `keep` says yes to (given each name and value),
    /// in order, giving each kept one the value it returns when some.
    fn rebuild<'v>(&mut self, mut keep: impl FnMut(&str, &str) -> Option<Option<&'v str>>) {
        let mut out = Self {
            names: String::with_capacity(self.names.len()),
            values: String::with_capacity(self.values.len()),
            ends: Vec::with_capacity(self.ends.len()),
            classes: 0,
        };
        for (name, value) in self.iter() {
            if let Some(new) = keep(name, value) {
                out.push(name, new.unwrap_or(value));
            }
        }
        *self = out;
    }

    /// Keeps the fields `keep` says yes to (given each name and value).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        if self.iter().all(|(n, v)| keep(n, v)) {
            return;
        }
        self.rebuild(|n, v| keep(n, v).then_some(None));
    }

    /// Lower-cases every name (haproxy's HTX keeps them so).
    pub fn lower_names(&mut self) {
        self.names.make_ascii_lowercase();
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        // A guess at the text: most fields are short.
        let fields = iter.size_hint().0;
        let mut headers = Self::with_capacity(fields, fields * 32);
        for (name, value) in iter {
            headers.push(name, value);
        }
        headers
    }
}

impl HeaderList for Headers {
    fn remove_all(&mut self, name: &str) {
        if self.may_have(name) {
            self.retain(|n, _| !n.eq_ignore_ascii_case(name));
        }
    }

    fn append(&mut self, name: &str, value: &str) {
        self.push(name, value);
    }

    fn revalue(&mut self, name: &str, values: &[String]) {
        if !self.may_have(name) || !self.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return;
        }
        let mut values = values.iter();
        self.rebuild(|n, _| match n.eq_ignore_ascii_case(name) {
            false => Some(None),
            true => values.next().map(|v| Some(v.as_str())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_rules::{apply_headers, Edit};

    #[test]
    fn fields_become_headers_as_text() {
        let text: Fields = [("host", &b"a"[..]), ("x-name", "caf\u{e9}".as_bytes())]
            .into_iter()
            .collect();
        let h = Headers::of_fields(&text);
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("host", "a"), ("x-name", "caf\u{e9}")]
        );
        assert!(h.may_have("x-name") && !h.may_have("x-forwarded-proto"));
        // Together these two values are "\u{e9}", apart neither is text.
        let split: Fields = [("c", &b"\xc3"[..]), ("d", b"\xa9")].into_iter().collect();
        let h = Headers::of_fields(&split);
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("c", "\u{fffd}"), ("d", "\u{fffd}")]
        );
    }

    #[test]
    fn names_are_known_absent_without_reading_a_field() {
        let mut h: Headers = [("Host", "a"), ("User-Agent", "b")].into_iter().collect();
        assert!(h.may_have("host") && h.may_have("USER-AGENT"));
        assert!(!h.may_have("x-forwarded-proto"));
        let mut it = h.iter();
        assert_eq!(it.next_back(), Some(("User-Agent", "b")));
        assert_eq!(it.next(), Some(("Host", "a")));
        assert_eq!((it.next(), it.next_back()), (None, None));
        h.retain(|n, _| n != "Host");
        assert!(h.may_have("user-agent"));
        assert_eq!(h.iter().collect::<Vec<_>>(), [("User-Agent", "b")]);
    }

    #[test]
    fn headers_keep_order_and_take_the_steps_a_list_would() {
        let pairs = [
            ("Host", "a"),
            ("x-empty", ""),
            ("Host", "b"),
            ("Via", "1.1 x"),
        ];
        let mut h: Headers = pairs.into_iter().collect();
        assert_eq!(h.len(), 4);
        assert_eq!(h.iter().next(), Some(("Host", "a")));
        h.lower_names();
        let edits = [
            Edit::Rewrite("host".into(), vec!["c".into()]),
            Edit::Add("x-new".into(), "1".into()),
            Edit::Set("via".into(), "2".into()),
            Edit::Del("x-empty".into()),
        ];
        apply_headers(&mut h, &edits);
        let got: Vec<String> = h.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(got, ["host=c", "x-new=1", "via=2"]);
        let mut unchanged = h.clone();
        unchanged.retain(|_, _| true);
        assert_eq!(unchanged, h);
    }
}
