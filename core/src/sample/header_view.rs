//! A message's header fields as samples read them, borrowed where they
//! already are: pairs a caller lent, a message's fields as parsed, or
//! the [`Headers`] rules keep changing. Rules read the request many
//! times between two changes; lending their `Headers` as they are costs
//! nothing, where copying them into pairs for each read cost as much as
//! the reads.

use crate::http1::{TextFields, TextIter};
use crate::http_rules::Headers;

/// Header fields in order, names as kept.
#[derive(Debug, Clone, Copy)]
pub enum HeaderView<'a> {
    /// Name and value pairs.
    Pairs(&'a [(&'a str, &'a str)]),
    /// A message's fields as parsed, every value text.
    Parsed(TextFields<'a>),
    /// A rule's headers.
    Kept(&'a Headers),
}

impl Default for HeaderView<'_> {
    fn default() -> Self {
        Self::Pairs(&[])
    }
}

impl<'a> HeaderView<'a> {
    /// Each field's name and value, in order.
    pub fn iter(self) -> FieldIter<'a> {
        match self {
            Self::Pairs(pairs) => FieldIter::Pairs(pairs.iter()),
            Self::Parsed(fields) => FieldIter::Text(fields.iter()),
            Self::Kept(headers) => FieldIter::Text(headers.iter()),
        }
    }

    /// How many fields there are.
    pub fn len(self) -> usize {
        match self {
            Self::Pairs(pairs) => pairs.len(),
            Self::Parsed(fields) => fields.fields().len(),
            Self::Kept(headers) => headers.len(),
        }
    }

    /// True when there is none.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// False when no field is named `name` (any case); true when one may
    /// be (lent pairs may always).
    pub fn may_have(self, name: &str) -> bool {
        match self {
            Self::Pairs(_) => true,
            Self::Parsed(fields) => fields.may_have(name),
            Self::Kept(headers) => headers.may_have(name),
        }
    }
}

/// The fields of a [`HeaderView`], either end first.
#[derive(Debug, Clone)]
pub enum FieldIter<'a> {
    /// Over lent pairs.
    Pairs(std::slice::Iter<'a, (&'a str, &'a str)>),
    /// Over a message's fields as parsed, or a rule's headers.
    Text(TextIter<'a>),
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Pairs(pairs) => pairs.next().copied(),
            Self::Text(fields) => fields.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Pairs(pairs) => pairs.size_hint(),
            Self::Text(fields) => fields.size_hint(),
        }
    }
}

impl ExactSizeIterator for FieldIter<'_> {}

impl DoubleEndedIterator for FieldIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Pairs(pairs) => pairs.next_back().copied(),
            Self::Text(fields) => fields.next_back(),
        }
    }
}
