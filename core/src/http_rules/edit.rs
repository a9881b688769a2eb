//! What rules change in a message, as steps a driver applies to the head
//! it sends: core decides on a working copy, the driver repeats the steps
//! on the bytes it holds.

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

/// Applies the header steps of `edits` to `headers` (names lower case);
/// `value` makes a stored value from text. Other steps are the driver's.
pub fn apply_headers<V>(headers: &mut Vec<(String, V)>, edits: &[Edit], value: impl Fn(&str) -> V) {
    for edit in edits {
        match edit {
            Edit::Set(name, v) => {
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                headers.push((name.clone(), value(v)));
            }
            Edit::Add(name, v) => headers.push((name.clone(), value(v))),
            Edit::Del(name) => headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name)),
            Edit::Rewrite(name, values) => {
                let mut values = values.iter();
                headers.retain_mut(|(n, v)| {
                    if !n.eq_ignore_ascii_case(name) {
                        return true;
                    }
                    match values.next() {
                        Some(new) => {
                            *v = value(new);
                            true
                        }
                        None => false,
                    }
                });
            }
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
        apply_headers(&mut h, &edits, str::to_owned);
        let got: Vec<_> = h.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(got, ["a=x", "a=y", "b=5"]);
    }
}
