//! haproxy's conditional expressions, as `.if` lines and `haproxy -cc`
//! evaluate them: terms joined by `&&` (tighter) and `||`, negated by `!`,
//! grouped in parentheses. A term is a number (true when not 0) or a
//! predicate: `defined(VAR)`, `feature(X)` (haven's [`FEATURES`]),
//! `version_atleast(V)` / `version_before(V)` against 2.6.12, `streq(a,b)`,
//! `strneq(a,b)`, `ssllib_name_startswith(S)` (haven's TLS library is
//! rustls) and `openssl_version_atleast|before(V)` (no OpenSSL: an error,
//! as haproxy's without one).

use super::values::atol;
use std::collections::BTreeMap;

/// The haproxy version haven reads configs as.
pub const HAPROXY_VERSION: [u64; 3] = [2, 6, 12];

/// haven's feature list, as `haproxy -vv` prints it: TLS (rustls, under
/// the name haproxy's scripts and reg-tests look for), Perl-style regular
/// expressions (the `regex` crate: `\d`, `\w`, lazy quantifiers as PCRE2;
/// a pattern it cannot run, a look-around, is refused when the config is
/// read), splicing (`option splice-*`, Linux's `splice()`) and the
/// Prometheus exporter.
pub const FEATURES: &str = "+LINUX_SPLICE +OPENSSL +PCRE2 +PROMEX +THREAD";

/// The TLS library's name, for `ssllib_name_startswith`.
const SSL_LIBRARY: &str = "rustls";

/// How deep parentheses and negations may nest, as haproxy's limit.
const MAX_DEPTH: usize = 64;

/// Why an expression cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionError {
    /// Nothing to evaluate.
    Missing,
    /// A term haproxy does not know.
    UnknownTerm(String),
    /// Not an expression: haproxy's message.
    Unparsable(String),
}

impl std::fmt::Display for ConditionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("missing condition"),
            Self::UnknownTerm(name) => write!(f, "unknown term '{name}' in condition"),
            Self::Unparsable(why) => f.write_str(why),
        }
    }
}

/// Evaluates expression `text` with `env` as the environment.
pub fn eval_condition(text: &str, env: &BTreeMap<String, String>) -> Result<bool, ConditionError> {
    if text.is_empty() {
        return Err(ConditionError::Missing);
    }
    let mut p = Parser { text, at: 0, env };
    let value = p.expr(MAX_DEPTH).map_err(|e| p.reported_from(e, 0))?;
    p.skip_blanks();
    match p.rest().chars().next() {
        None => Ok(value),
        Some(c) => Err(ConditionError::Unparsable(format!(
            "unexpected character '{c}' at the end of conditional expression '{text}'"
        ))),
    }
}

/// A reader of one expression; `at` is where it is in `text`.
struct Parser<'a> {
    text: &'a str,
    at: usize,
    env: &'a BTreeMap<String, String>,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_blanks(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// Takes `token` if the text continues with it.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_blanks();
        let found = self.rest().starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn unparsable(&self) -> ConditionError {
        ConditionError::Unparsable(format!(
            "unparsable conditional expression '{}'",
            self.rest()
        ))
    }

    /// `and ('||' and)*`. Every term is read, even past a decided value,
    /// so that an error anywhere is reported.
    fn expr(&mut self, depth: usize) -> Result<bool, ConditionError> {
        self.skip_blanks();
        let start = self.at;
        let mut value = self.and(depth).map_err(|e| self.reported_from(e, start))?;
        // Nothing after `||` is for the enclosing parenthesis, or the
        // whole text, to report.
        while self.eat("||") {
            value |= self.and(depth)?;
        }
        Ok(value)
    }

    /// `term ('&&' term)*`.
    fn and(&mut self, depth: usize) -> Result<bool, ConditionError> {
        let mut value = self.term(depth)?;
        loop {
            self.skip_blanks();
            let op = self.at;
            if !self.eat("&&") {
                return Ok(value);
            }
            value &= self.term(depth).map_err(|e| self.reported_from(e, op))?;
        }
    }

    /// An operand missing at the end (`Missing`) is reported from `at` on,
    /// as haproxy reports it: from its `&&`, from the start of an `||`
    /// expression or of a parenthesis, or the whole text.
    fn reported_from(&self, e: ConditionError, at: usize) -> ConditionError {
        match e {
            ConditionError::Missing => ConditionError::Unparsable(format!(
                "unparsable conditional expression '{}'",
                &self.text[at..]
            )),
            other => other,
        }
    }

    /// `'!'* (number | '(' expr ')' | predicate '(' args ')')`.
    fn term(&mut self, depth: usize) -> Result<bool, ConditionError> {
        if depth == 0 {
            return Err(self.unparsable());
        }
        let mut negated = false;
        while self.eat("!") {
            negated = !negated;
        }
        self.skip_blanks();
        let rest = self.rest();
        if rest.is_empty() {
            return Err(ConditionError::Missing);
        }
        let digits = rest
            .char_indices()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
            .count();
        let value = if digits > 0 && rest[..digits].chars().any(|c| c.is_ascii_digit()) {
            let number = atol(&rest[..digits]);
            self.at += digits;
            number != 0
        } else if self.eat("(") {
            let open = self.at - 1;
            let value = self
                .expr(depth - 1)
                .map_err(|e| self.reported_from(e, open))?;
            if !self.eat(")") {
                return Err(ConditionError::Unparsable(format!(
                    "expected ')' after conditional expression '{}'",
                    self.text
                )));
            }
            value
        } else {
            self.predicate()?
        };
        Ok(value != negated)
    }

    /// `name(arg, ...)`, evaluated.
    fn predicate(&mut self) -> Result<bool, ConditionError> {
        let rest = self.rest();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() {
            return Err(self.unparsable());
        }
        let after = &rest[name_len..];
        let Some(inner) = after.strip_prefix('(') else {
            return Err(self.unparsable());
        };
        let Some(close) = inner.find(')') else {
            return Err(self.unparsable());
        };
        let arg = &inner[..close];
        let known = eval_predicate(name, arg, self.env).map_err(|e| match e {
            ConditionError::UnknownTerm(_) => self.unparsable(),
            other => other,
        })?;
        self.at += name_len + 1 + close + 1;
        Ok(known)
    }
}

/// Evaluates predicate `name` on its argument text `arg`.
fn eval_predicate(
    name: &str,
    arg: &str,
    env: &BTreeMap<String, String>,
) -> Result<bool, ConditionError> {
    match name {
        "defined" => Ok(env.contains_key(arg)),
        "feature" => Ok(FEATURES
            .split(' ')
            .any(|f| f.strip_prefix('+') == Some(arg))),
        "version_atleast" => Ok(version_cmp(arg) != std::cmp::Ordering::Less),
        "version_before" => Ok(version_cmp(arg) == std::cmp::Ordering::Less),
        "streq" | "strneq" => {
            let (a, b) = arg.split_once(',').unwrap_or((arg, ""));
            Ok((a == b) == (name == "streq"))
        }
        "ssllib_name_startswith" => Ok(SSL_LIBRARY.starts_with(arg)),
        "openssl_version_atleast" | "openssl_version_before" => Err(ConditionError::Unparsable(
            format!("{name}: haven's TLS is rustls's: there is no OpenSSL version to compare"),
        )),
        _ => Err(ConditionError::UnknownTerm(name.to_owned())),
    }
}

/// Compares haproxy 2.6.12 with a version string such as `2.5` or `2.6.12`.
fn version_cmp(v: &str) -> std::cmp::Ordering {
    let theirs: Vec<u64> = v.split('.').map(|p| atol(p).max(0) as u64).collect();
    HAPROXY_VERSION
        .iter()
        .zip(theirs.iter().chain(std::iter::repeat(&0)))
        .map(|(a, b)| a.cmp(b))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_evaluate_as_haproxy_2_6_12() {
        let env = BTreeMap::from([("HOME".to_owned(), "/root".to_owned())]);
        let eval = |t| eval_condition(t, &env);
        assert_eq!(eval("version_atleast(2.5)"), Ok(true));
        assert_eq!(eval("version_atleast(2.6.13)"), Ok(false));
        assert_eq!(eval("version_before(3.0)"), Ok(true));
        assert_eq!(eval("defined(HOME)"), Ok(true));
        assert_eq!(eval("streq(a,a)"), Ok(true));
        assert_eq!(eval("feature(OPENSSL)"), Ok(true));
        assert_eq!(eval("feature(OPEN)"), Ok(false));
        assert_eq!(eval("feature(LUA)"), Ok(false));
        assert_eq!(eval("feature(PCRE) || feature(PCRE2)"), Ok(true));
        assert_eq!(eval("ssllib_name_startswith(OpenSSL)"), Ok(false));
        assert!(eval("openssl_version_atleast(1.1.1)").is_err());
        assert_eq!(
            eval("bogus(1)"),
            Err(ConditionError::Unparsable(
                "unparsable conditional expression 'bogus(1)'".into()
            ))
        );
        assert_eq!(eval(""), Err(ConditionError::Missing));
    }

    #[test]
    fn expressions_combine_as_haproxy_reads_them() {
        let env = BTreeMap::from([("A".to_owned(), String::new())]);
        let eval = |t| eval_condition(t, &env);
        // A compound used to be read as one term, its name the first.
        assert_eq!(eval("defined(A) && defined(B)"), Ok(false));
        assert_eq!(eval("defined(A) && !defined(B)"), Ok(true));
        assert_eq!(eval("defined(B) || defined(A)"), Ok(true));
        // `&&` binds tighter than `||`.
        assert_eq!(eval("1 || 0 && 0"), Ok(true));
        assert_eq!(eval("(1 || 0) && 0"), Ok(false));
        assert_eq!(eval("!!1"), Ok(true));
        assert_eq!(eval("! ( 0 )"), Ok(true));
        assert_eq!(eval("2"), Ok(true));
        assert_eq!(
            eval("feature(OPENSSL) && ssllib_name_startswith(OpenSSL)"),
            Ok(false)
        );
        assert!(matches!(eval("(1"), Err(ConditionError::Unparsable(_))));
        assert!(
            matches!(eval("1 0"), Err(ConditionError::Unparsable(m)) if m.contains("unexpected character '0'"))
        );
        // Errors name where haproxy's do.
        let at = |t| match eval(t) {
            Err(ConditionError::Unparsable(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(at("1 &&"), "unparsable conditional expression '&&'");
        assert_eq!(at("0 || "), "unparsable conditional expression '0 || '");
        assert_eq!(
            at("1 && 0 || bogus"),
            "unparsable conditional expression 'bogus'"
        );
        assert_eq!(at("(0 || )"), "unparsable conditional expression ')'");
        assert_eq!(at("(0 ||"), "unparsable conditional expression '(0 ||'");
    }
}
