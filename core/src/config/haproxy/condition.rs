//! haproxy's conditional terms, as `.if` lines and `haproxy -cc` evaluate
//! them: `0`, `1`, `defined(VAR)`, `feature(X)` (haven builds none),
//! `version_atleast(V)` / `version_before(V)` against 2.6.12, `streq(a,b)`,
//! `strneq(a,b)`.

use super::values::atol;
use std::collections::BTreeMap;

/// The haproxy version haven reads configs as.
pub const HAPROXY_VERSION: [u64; 3] = [2, 6, 12];

/// Why a term cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionError {
    /// Nothing to evaluate.
    Missing,
    /// A term haproxy does not know.
    UnknownTerm(String),
}

/// Evaluates one term with `env` as the environment.
pub fn eval_condition(term: &str, env: &BTreeMap<String, String>) -> Result<bool, ConditionError> {
    let term = term.trim();
    let (name, arg) = match term.split_once('(') {
        Some((n, rest)) => (n, rest.strip_suffix(')').unwrap_or(rest)),
        None => (term, ""),
    };
    match name {
        "" => Err(ConditionError::Missing),
        "0" => Ok(false),
        "1" => Ok(true),
        "defined" => Ok(env.contains_key(arg)),
        "feature" => Ok(false),
        "version_atleast" => Ok(version_cmp(arg) != std::cmp::Ordering::Less),
        "version_before" => Ok(version_cmp(arg) == std::cmp::Ordering::Less),
        "streq" | "strneq" => {
            let (a, b) = arg.split_once(',').unwrap_or((arg, ""));
            Ok((a == b) == (name == "streq"))
        }
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
        assert_eq!(eval("feature(OPENSSL)"), Ok(false));
        assert_eq!(
            eval("bogus(1)"),
            Err(ConditionError::UnknownTerm("bogus".into()))
        );
        assert_eq!(eval(""), Err(ConditionError::Missing));
    }
}
