//! A message's [`Fields`] read as text where every value is UTF-8, as
//! most are: samples and rules read them where they lie, with no copy
//! made to have text; and the walk over fields kept as text, these or
//! the rules' headers.

use super::fields::{Fields, Span, Spans};

/// Fields whose every value is UTF-8, each checked once.
#[derive(Debug, Clone, Copy)]
pub struct TextFields<'a> {
    fields: &'a Fields,
    /// Every value, back to back, each starting and ending on a character.
    values: &'a str,
}

impl<'a> TextFields<'a> {
    /// `fields` as text, unless a value is not UTF-8 (one pass over all
    /// of them, then a look at where each starts).
    pub fn of(fields: &'a Fields) -> Option<Self> {
        let (_, values, ends, _) = fields.parts();
        let values = std::str::from_utf8(values).ok()?;
        // A value that cuts a character of the whole in two is not text
        // alone.
        let whole = Spans::new(ends).all(|(_, v)| values.is_char_boundary(v.start));
        whole.then_some(Self { fields, values })
    }

    /// Its buffers as text: every name, every value, where each field's
    /// name and value end, and the classes of its names.
    pub(crate) fn parts(self) -> (&'a str, &'a str, &'a [(u32, u32)], u64) {
        let (names, _, ends, classes) = self.fields.parts();
        (names, self.values, ends, classes)
    }

    /// The fields as bytes.
    pub fn fields(self) -> &'a Fields {
        self.fields
    }

    /// Each field's name and value, in order.
    pub fn iter(self) -> TextIter<'a> {
        let (names, values, ends, _) = self.parts();
        TextIter::new(names, values, ends)
    }

    /// False when no field is named `name` (any case); true when one may
    /// be.
    pub fn may_have(self, name: &str) -> bool {
        self.fields.may_have(name)
    }
}

/// Fields kept as text, each name and value where its buffer says,
/// either end first.
#[derive(Debug, Clone)]
pub struct TextIter<'a> {
    names: &'a str,
    values: &'a str,
    spans: Spans<'a>,
}

impl<'a> TextIter<'a> {
    /// The fields whose names lie in `names` and values in `values`,
    /// each ending where `ends` says.
    pub(crate) fn new(names: &'a str, values: &'a str, ends: &'a [(u32, u32)]) -> Self {
        Self {
            names,
            values,
            spans: Spans::new(ends),
        }
    }

    fn at(&self, (name, value): Span) -> (&'a str, &'a str) {
        (&self.names[name], &self.values[value])
    }
}

impl<'a> Iterator for TextIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.spans.next().map(|span| self.at(span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for TextIter<'_> {}

impl DoubleEndedIterator for TextIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.spans.next_back().map(|span| self.at(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: readable fields. Expected: read as text in order, either
    // end first, with the class lookup of the fields.
    #[test]
    fn readable_fields_read_as_text_both_ways() {
        let fields: Fields = [("Host", &b"a"[..]), ("x-b", "é".as_bytes())]
            .into_iter()
            .collect();
        let text = TextFields::of(&fields).expect("all text");
        let forth: Vec<_> = text.iter().collect();
        assert_eq!(forth, [("host", "a"), ("x-b", "é")]);
        let back: Vec<_> = text.iter().rev().collect();
        assert_eq!(back, [("x-b", "é"), ("host", "a")]);
        assert!(text.may_have("HOST"));
        assert!(!text.may_have("expect"));
    }

    // Input: a value that is not UTF-8; two values that are UTF-8 only
    // together (a character cut between them). Expected: neither is text.
    #[test]
    fn a_value_that_is_not_text_alone_makes_none() {
        let bad: Fields = [("a", &b"x"[..]), ("b", &[0xff][..])].into_iter().collect();
        assert!(TextFields::of(&bad).is_none());
        let e = "é".as_bytes();
        let cut: Fields = [("a", &e[..1]), ("b", &e[1..])].into_iter().collect();
        assert!(TextFields::of(&cut).is_none());
    }
}
