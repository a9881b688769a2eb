//! Reading headers as haproxy's cache reads them: a header's
//! comma-separated values one by one, or its first line whole.

/// Headers as name and value pairs, names in any case.
pub(crate) type Pairs<'a> = &'a [(&'a str, &'a str)];

/// Every comma-separated value of header `name`, trimmed, in order
/// (quoted commas do not split), as haproxy's header search walks them.
pub(crate) fn values<'a>(headers: Pairs<'a>, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| split_values(v))
}

/// The first line of header `name`, whole.
pub(crate) fn first<'a>(headers: Pairs<'a>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// True when header `name` is present.
pub(crate) fn has(headers: Pairs<'_>, name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// `value` cut at the commas outside quoted strings, each part trimmed.
fn split_values(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut quoted = false;
        let cut = text.char_indices().find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c == ',' && !quoted
        });
        let (part, next) = match cut {
            Some((i, _)) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        rest = next;
        Some(part.trim())
    })
}

/// True when `text` starts with `prefix`, ignoring case.
pub(crate) fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_commas_outside_quotes() {
        let h = [
            ("Cache-Control", "max-age=5, no-cache=\"a,b\""),
            ("cache-control", "public"),
        ];
        let got: Vec<&str> = values(&h, "cache-control").collect();
        assert_eq!(got, ["max-age=5", "no-cache=\"a,b\"", "public"]);
        assert_eq!(
            first(&h, "CACHE-CONTROL"),
            Some("max-age=5, no-cache=\"a,b\"")
        );
    }
}
