//! HAProxy's line lexer (spec/haproxy.md §1.1): words split on unprotected
//! blanks, `#` comments, backslash escapes, weak `"…"` quotes with
//! environment expansion, strong `'…'` quotes.

use std::collections::BTreeMap;

/// One word of a line, after quotes and escapes were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word's text.
    pub(crate) text: String,
    /// 1-based column (in characters) where the word starts.
    pub(crate) col: u32,
}

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexError {
    /// A quote opened at `col` was never closed.
    UnmatchedQuote { col: u32 },
    /// A `\x` escape at `col` is not followed by two hex digits.
    BadHex { col: u32 },
}

/// Variables a line may expand inside double quotes.
pub(crate) struct Vars<'a> {
    /// The process environment as the caller passed it in.
    pub(crate) env: &'a BTreeMap<String, String>,
    /// The file name, for `${.FILE}`.
    pub(crate) file: &'a str,
    /// The line number, for `${.LINE}`.
    pub(crate) line: u32,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            ".FILE" => Some(self.file.to_owned()),
            ".LINE" => Some(self.line.to_string()),
            _ => self.env.get(name).cloned(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Splits one line (without its `\n`) into words.
pub(crate) fn split_line(line: &str, vars: &Vars<'_>) -> Result<Vec<Word>, LexError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut cur: Option<Word> = None;
    let mut quote = Quote::None;
    let mut quote_col = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i as u32 + 1;
        match (quote, c) {
            (Quote::None, ' ' | '\t' | '\r') => {
                words.extend(cur.take());
                i += 1;
                continue;
            }
            (Quote::None, '#') => break,
            (Quote::Single, '\'') | (Quote::Double, '"') => {
                quote = Quote::None;
                i += 1;
                continue;
            }
            _ => {}
        }
        let word = cur.get_or_insert_with(|| Word {
            text: String::new(),
            col,
        });
        match (quote, c) {
            (Quote::None, '\'') => {
                quote = Quote::Single;
                quote_col = col;
                i += 1;
            }
            (Quote::None, '"') => {
                quote = Quote::Double;
                quote_col = col;
                i += 1;
            }
            (Quote::Single, _) => {
                word.text.push(c);
                i += 1;
            }
            (_, '\\') => i += escape(&chars[i..], col, &mut word.text)?,
            (Quote::Double, '$') => i += expand(&chars[i..], vars, &mut word.text),
            _ => {
                word.text.push(c);
                i += 1;
            }
        }
    }
    if quote != Quote::None {
        return Err(LexError::UnmatchedQuote { col: quote_col });
    }
    words.extend(cur);
    Ok(words)
}

/// Applies the escape starting at `rest[0] == '\\'`; returns chars consumed.
fn escape(rest: &[char], col: u32, out: &mut String) -> Result<usize, LexError> {
    match rest.get(1) {
        Some(c @ (' ' | '#' | '\\' | '\'' | '"' | '$')) => {
            out.push(*c);
            Ok(2)
        }
        Some('n') => {
            out.push('\n');
            Ok(2)
        }
        Some('r') => {
            out.push('\r');
            Ok(2)
        }
        Some('t') => {
            out.push('\t');
            Ok(2)
        }
        Some('x') => {
            let hex: String = rest.iter().skip(2).take(2).collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(b) if hex.len() == 2 => {
                    out.push(char::from(b));
                    Ok(4)
                }
                _ => Err(LexError::BadHex { col }),
            }
        }
        Some(other) => {
            out.push('\\');
            out.push(*other);
            Ok(2)
        }
        None => {
            out.push('\\');
            Ok(1)
        }
    }
}

/// Expands `$NAME`, `${NAME}` or `${NAME-default}` at `rest[0] == '$'`;
/// returns chars consumed. A `$` that starts no variable stays literal.
fn expand(rest: &[char], vars: &Vars<'_>, out: &mut String) -> usize {
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_' || *c == '.';
    if rest.get(1) == Some(&'{') {
        let Some(close) = rest.iter().position(|c| *c == '}') else {
            out.push('$');
            return 1;
        };
        let inner: String = rest[2..close].iter().collect();
        let inner = inner.strip_suffix("[*]").unwrap_or(&inner);
        let (name, default) = match inner.split_once('-') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (vars.get(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {}
        }
        return close + 1;
    }
    let len = rest[1..].iter().take_while(|c| is_name(c)).count();
    if len == 0 {
        out.push('$');
        return 1;
    }
    let name: String = rest[1..=len].iter().collect();
    out.push_str(&vars.get(&name).unwrap_or_default());
    len + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let env = BTreeMap::from([("PORT".to_owned(), "8080".to_owned())]);
        let vars = Vars {
            env: &env,
            file: "t.cfg",
            line: 7,
        };
        split_line(line, &vars)
            .expect("line lexes")
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn blanks_comments_and_escapes() {
        assert_eq!(words("  bind :80 # web"), ["bind", ":80"]);
        assert_eq!(words("global#x"), ["global"]);
        assert_eq!(
            words(r"stats realm Haproxy\ Statistics"),
            ["stats", "realm", "Haproxy Statistics"]
        );
        assert_eq!(words(r"a\#b \x41\\"), ["a#b", "A\\"]);
        assert_eq!(words("maxconn 10\r"), ["maxconn", "10"]);
    }

    #[test]
    fn quotes_join_and_expand_only_when_double() {
        assert_eq!(words(r#""a b"'c'd"#), ["a bcd"]);
        assert_eq!(
            words(r#"x "${PORT}" '${PORT}' ${PORT}"#),
            ["x", "8080", "${PORT}", "${PORT}"]
        );
        assert_eq!(
            words(r#""${NOPE-9}" "$PORT:" "${NOPE}" "${.LINE}""#),
            ["9", "8080:", "", "7"]
        );
        assert_eq!(words(r#""a#b" "\"q\"""#), ["a#b", "\"q\""]);
    }

    #[test]
    fn errors_carry_the_column() {
        let env = BTreeMap::new();
        let vars = Vars {
            env: &env,
            file: "t",
            line: 1,
        };
        assert_eq!(
            split_line(r#"  log "127.0.0.1 local0"#, &vars),
            Err(LexError::UnmatchedQuote { col: 7 })
        );
        assert_eq!(
            split_line(r"a \xZ1", &vars),
            Err(LexError::BadHex { col: 3 })
        );
    }

    #[test]
    fn word_columns_are_one_based() {
        let env = BTreeMap::new();
        let vars = Vars {
            env: &env,
            file: "t",
            line: 1,
        };
        let w = split_line("  server s1 1.2.3.4:80", &vars).expect("line lexes");
        assert_eq!(w.iter().map(|w| w.col).collect::<Vec<_>>(), [3, 10, 13]);
    }
}
