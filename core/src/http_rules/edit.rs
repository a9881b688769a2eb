//! What rules change in a message, as steps a driver applies to the head
//! it sends: core decides on a working copy, the driver repeats the steps
//! on the bytes it holds.

use crate::http1::{FieldChange, Fields};

/// One change to a message head. Header names are lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The request's method becomes this.
    Method(String),
    /// The request's target becomes this.
    Uri(String),
    /// The response's status (and reason phrase, when given).
    Status(u16, Option<String>),
    /// Every header of this name goes; one with this value is added.
    Set(String, String),
    /// A header is added.
    Add(String, String),
    /// Every header of this name goes.
    Del(String),
    /// The headers of this name, in order, take these values; those past
    /// the last value go.
    Rewrite(String, Vec<String>),
}

/// A message's headers as the header steps of an [`Edit`] change them;
/// names are lower case.
pub trait HeaderList {
    /// Drops every header named `name`.
    fn remove_all(&mut self, name: &str);
    /// Adds a header at the end.
    fn append(&mut self, name: &str, value: &str);
    /// Gives the headers named `name`, in order, these `values`; those
    /// past the last value go.
    fn revalue(&mut self, name: &str, values: &[String]);
}

impl<V: for<'a> From<&'a str>> HeaderList for Vec<(String, V)> {
    fn remove_all(&mut self, name: &str) {
        self.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn append(&mut self, name: &str, value: &str) {
        self.push((name.to_owned(), V::from(value)));
    }

    fn revalue(&mut self, name: &str, values: &[String]) {
        let mut values = values.iter();
        self.retain_mut(|(n, v)| {
            if !n.eq_ignore_ascii_case(name) {
                return true;
            }
            match values.next() {
                Some(new) => {
                    *v = V::from(new);
                    true
                }
                None => false,
            }
        });
    }
}

impl HeaderList for Fields {
    fn remove_all(&mut self, name: &str) {
        // Most often there is none: nothing to copy then.
        if !self.may_have(name) || !self.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return;
        }
        self.rewrite(|n, _| match n.eq_ignore_ascii_case(name) {
            true => FieldChange::Drop,
            false => FieldChange::Keep,
        });
    }

    fn append(&mut self, name: &str, value: &str) {
        self.push(name, value.as_bytes());
    }

    fn revalue(&mut self, name: &str, values: &[String]) {
        if !self.may_have(name) || !self.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return;
        }
        let mut values = values.iter();
        self.rewrite(|n, _| match n.eq_ignore_ascii_case(name) {
            false => FieldChange::Keep,
            true => values
                .next()
                .map_or(FieldChange::Drop, |v| FieldChange::Value(v.as_bytes())),
        });
    }
}

/// Applies the header steps of `edits` to `headers`; other steps are the
/// driver's.
pub fn apply_headers(headers: &mut impl HeaderList, edits: &[Edit]) {
    for edit in edits {
        match edit {
            Edit::Set(name, v) => {
                headers.remove_all(name);
                headers.append(name, v);
            }
            Edit::Add(name, v) => headers.append(name, v),
            Edit::Del(name) => headers.remove_all(name),
            Edit::Rewrite(name, values) => headers.revalue(name, values),
            Edit::Method(_) | Edit::Uri(_) | Edit::Status(..) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_steps_apply_in_order() {
        let mut h = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "3".to_owned()),
        ];
        let edits = [
            Edit::Rewrite("a".into(), vec!["x".into(), "y".into()]),
            Edit::Add("c".into(), "4".into()),
            Edit::Set("b".into(), "5".into()),
            Edit::Del("c".into()),
        ];
        let mut fields: Fields = h.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        apply_headers(&mut h, &edits);
        apply_headers(&mut fields, &edits);
        let got: Vec<_> = h.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(got, ["a=x", "a=y", "b=5"]);
        let from_fields: Vec<_> = fields
            .iter()
            .map(|(n, v)| format!("{n}={}", String::from_utf8_lossy(v)))
            .collect();
        assert_eq!(from_fields, got, "fields take the same steps");
    }
}
