//! `sc-inc-gpc0(<sc>)`, `sc-inc-gpc1(<sc>)` and `sc-set-gpt0(<sc>)
//! <int>|<expr>`: actions on the stick table entry a `track-sc` slot
//! tracks, in `http-request`, `http-response` and `tcp-request` rules,
//! read with haproxy 2.6's messages.

use crate::sample::Expr;
use serde::Serialize;

/// An action on a tracked entry's general purpose counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterAction {
    /// `sc-inc-gpc0` / `sc-inc-gpc1`: the counter (and its rate) goes up
    /// by one.
    IncGpc {
        /// 0 or 1.
        counter: u8,
        /// The slot.
        slot: usize,
    },
    /// `sc-set-gpt0`: the tag takes a value.
    SetGpt0 {
        /// The slot.
        slot: usize,
        /// The value.
        value: GptValue,
    },
}

impl CounterAction {
    /// The slot whose entry the action changes.
    pub fn slot(&self) -> usize {
        match self {
            Self::IncGpc { slot, .. } | Self::SetGpt0 { slot, .. } => *slot,
        }
    }

    /// The sample the action reads, if any.
    pub fn sample(&self) -> Option<&Expr> {
        match self {
            Self::SetGpt0 {
                value: GptValue::Expr(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

/// What `sc-set-gpt0` stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GptValue {
    /// A number written in the rule.
    Int(i64),
    /// A sample, read as an integer when the rule runs.
    Expr(Expr),
}

/// Reads action `name` (`sc-set-gpt0(1)`) with the word after it, if it
/// is one of these: the action and whether it took that word. `expr`
/// parses a sample expression, or says why this rule set cannot take
/// one.
pub(crate) fn parse<E: From<String>>(
    name: &str,
    next: Option<&str>,
    expr: impl FnOnce(&str) -> Result<Expr, E>,
) -> Option<Result<(CounterAction, bool), E>> {
    if let Some(rest) = name.strip_prefix("sc-set-gpt0") {
        return Some(
            slot(name, rest, "sc-set-gpt0")
                .map_err(E::from)
                .and_then(|slot| {
                    // haproxy reads the value as a number first; an empty or
                    // missing word is the number 0.
                    let text = next.unwrap_or("");
                    let (value, took) = match text.trim_start().parse::<i64>() {
                        Ok(n) => (GptValue::Int(n), next.is_some()),
                        Err(_) if text.is_empty() => (GptValue::Int(0), next.is_some()),
                        Err(_) => (GptValue::Expr(expr(text)?), true),
                    };
                    Ok((CounterAction::SetGpt0 { slot, value }, took))
                }),
        );
    }
    let (counter, rest) = match name.strip_prefix("sc-inc-gpc") {
        Some(r) if r.starts_with('0') => (0, &r[1..]),
        Some(r) if r.starts_with('1') => (1, &r[1..]),
        _ => return None,
    };
    let base = &name[..name.len() - rest.len()];
    let action = slot(name, rest, base).map(|slot| CounterAction::IncGpc { counter, slot });
    Some(action.map(|a| (a, false)).map_err(E::from))
}

/// The slot of `name`, whose text after its base (`base`) is `rest`:
/// nothing (slot 0) or `(<n>)`.
fn slot(name: &str, rest: &str, base: &str) -> Result<usize, String> {
    let gpt = base == "sc-set-gpt0";
    let expects = match gpt {
        true => format!("invalid stick table track ID '{name}'. Expects {base}(<Track ID>)"),
        false => format!("invalid stick table track ID. Expects {name}(<Track ID>)"),
    };
    if rest.is_empty() {
        return Ok(0);
    }
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| expects.clone())?;
    // haproxy's strtol: an empty number is 0.
    let n = match inner {
        "" => 0,
        digits => digits.parse::<i64>().map_err(|_| expects)?,
    };
    usize::try_from(n)
        .ok()
        .filter(|n| *n < 3)
        .ok_or_else(|| match gpt {
            true => format!("invalid stick table track ID '{name}'. The max allowed ID is 2"),
            false => "invalid stick table track ID. The max allowed ID is 2".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, next: Option<&str>) -> Result<(CounterAction, bool), String> {
        parse(name, next, |e| Err(format!("no expression here: {e}"))).expect("a counter action")
    }

    #[test]
    fn slots_default_to_zero_and_stop_at_two() {
        let inc = |counter, slot| Ok((CounterAction::IncGpc { counter, slot }, false));
        assert_eq!(read("sc-inc-gpc0", None), inc(0, 0));
        assert_eq!(read("sc-inc-gpc1(2)", None), inc(1, 2));
        assert_eq!(
            read("sc-inc-gpc0(3)", None),
            Err("invalid stick table track ID. The max allowed ID is 2".into())
        );
        assert_eq!(
            read("sc-set-gpt0(x)", Some("1")),
            Err(
                "invalid stick table track ID 'sc-set-gpt0(x)'. Expects sc-set-gpt0(<Track ID>)"
                    .into()
            )
        );
        let array = parse::<String>("sc-inc-gpc(0,1)", None, |_| unreachable!());
        assert!(array.is_none(), "the gpc array is not kept");
    }

    #[test]
    fn a_gpt_value_is_a_number_when_it_reads_as_one() {
        let set = |value, took| Ok((CounterAction::SetGpt0 { slot: 1, value }, took));
        assert_eq!(
            read("sc-set-gpt0(1)", Some("42")),
            set(GptValue::Int(42), true)
        );
        assert_eq!(read("sc-set-gpt0(1)", None), set(GptValue::Int(0), false));
        assert_eq!(
            read("sc-set-gpt0(1)", Some("src")),
            Err("no expression here: src".into())
        );
    }
}
