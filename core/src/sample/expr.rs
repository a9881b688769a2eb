//! The text of a sample expression, `fetch(args),conv(args),...`, split
//! into its calls as haproxy splits it: arguments separated by commas,
//! a backslash escaping the next character, parentheses balanced.

/// One call of an expression: a fetch or converter name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
}

/// Splits `text` into its calls, the fetch first.
pub(crate) fn split(text: &str) -> Result<Vec<Call>, String> {
    let mut calls = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(['(', ',']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        if name.is_empty() {
            return Err(if calls.is_empty() {
                format!("missing fetch method in sample expression '{text}'")
            } else {
                format!("missing converter name in sample expression '{text}'")
            });
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
        {
            return Err(format!(
                "invalid character '{bad}' in '{name}' of sample expression '{text}'"
            ));
        }
        rest = &rest[end..];
        let mut args = Vec::new();
        if let Some(inner) = rest.strip_prefix('(') {
            let (list, after) = arguments(inner).ok_or_else(|| {
                format!("missing closing ')' after arguments to '{name}' in '{text}'")
            })?;
            args = list;
            rest = after;
        }
        calls.push(Call {
            name: name.to_owned(),
            args,
        });
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None if rest.trim().is_empty() => return Ok(calls),
            None => {
                return Err(format!(
                    "syntax error: unexpected '{}' after '{name}' in '{text}'",
                    rest.trim()
                ))
            }
        }
    }
}

/// The comma-separated arguments up to the closing parenthesis, and what
/// follows it; `None` when it never closes. As haproxy reads them:
/// quotes group (and go), a backslash escapes a backslash, a space or a
/// quote and writes `\r`, `\n`, `\t`; any other backslash stays.
fn arguments(text: &str) -> Option<(Vec<String>, &str)> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let (mut squote, mut dquote) = (false, false);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if !squote => dquote = !dquote,
            '\'' if !dquote => squote = !squote,
            '\\' if !squote => match chars.peek().map(|&(_, n)| n) {
                Some(n @ ('\\' | ' ' | '"' | '\'')) => {
                    cur.push(n);
                    chars.next();
                }
                Some(n @ ('r' | 'n' | 't')) => {
                    cur.push(match n {
                        'r' => '\r',
                        'n' => '\n',
                        _ => '\t',
                    });
                    chars.next();
                }
                _ => cur.push(c),
            },
            _ if squote || dquote => cur.push(c),
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' if depth == 0 => {
                if !(args.is_empty() && cur.is_empty()) {
                    args.push(cur);
                }
                return Some((args, &text[i + 1..]));
            }
            ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => args.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{split, Call};

    fn call(name: &str, args: &[&str]) -> Call {
        Call {
            name: name.into(),
            args: args.iter().map(|a| (*a).into()).collect(),
        }
    }

    #[test]
    fn splits_calls_and_arguments() {
        assert_eq!(
            split("req.hdr(host,1),lower,field(2,\",\")").expect("valid"),
            vec![
                call("req.hdr", &["host", "1"]),
                call("lower", &[]),
                call("field", &["2", ","]),
            ]
        );
        assert_eq!(split("src").expect("valid"), vec![call("src", &[])]);
        // haproxy keeps a backslash it does not know, and unescapes quotes.
        assert_eq!(
            split(r"regsub(:\d+$,,),concat('a,b',\')").expect("valid"),
            vec![
                call("regsub", &[r":\d+$", "", ""]),
                call("concat", &["a,b", "'"]),
            ]
        );
        assert_eq!(
            split("str()").expect("valid"),
            vec![call("str", &[])],
            "no argument at all"
        );
        assert!(split("hdr(host").is_err());
        assert!(split("hdr(host),").is_err());
        assert!(split("").is_err());
        assert!(split("path x").is_err());
    }
}
