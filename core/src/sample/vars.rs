//! Variables (`set-var(txn.name)`, `var(txn.name)`): a scope and a name.

use super::Value;
use serde::Serialize;
use std::fmt;

/// How long a variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole process.
    Proc,
    /// The client's session (its connection).
    Sess,
    /// One request and its response.
    Txn,
    /// The request phase only.
    Req,
    /// The response phase only.
    Res,
    /// One health check.
    Check,
}

/// A variable's full name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VarName {
    /// Its scope.
    pub scope: Scope,
    /// The name past the scope.
    pub name: String,
}

impl VarName {
    /// Reads `scope.name`, with haproxy's error when it is not one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scope, name) = text.split_once('.').unwrap_or((text, ""));
        let scope = match scope {
            "proc" => Scope::Proc,
            "sess" => Scope::Sess,
            "txn" => Scope::Txn,
            "req" => Scope::Req,
            "res" => Scope::Res,
            "check" => Scope::Check,
            _ => return Err(format!("invalid variable name '{text}'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'")),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(format!("invalid variable name '{text}'. Only alphanumeric, '_' and '.' characters are allowed after the scope"));
        }
        Ok(Self {
            scope,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for VarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match self.scope {
            Scope::Proc => "proc",
            Scope::Sess => "sess",
            Scope::Txn => "txn",
            Scope::Req => "req",
            Scope::Res => "res",
            Scope::Check => "check",
        };
        write!(f, "{scope}.{}", self.name)
    }
}

/// Variables set so far, few enough to be searched in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(Vec<(VarName, Value<'static>)>);

impl Vars {
    /// No variable is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &VarName) -> Option<&Value<'static>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &VarName, value: Value<'_>) {
        let value = value.into_owned();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.clone(), value)),
        }
    }

    /// Takes on `from`'s variables of `scope`, dropping the ones of that
    /// scope `from` lacks.
    pub fn replace_scope(&mut self, scope: Scope, from: &Self) {
        self.0.retain(|(n, _)| n.scope != scope);
        let kept = from.0.iter().filter(|(n, _)| n.scope == scope);
        self.0.extend(kept.cloned());
    }

    /// Removes `name`.
    pub fn unset(&mut self, name: &VarName) {
        self.0.retain(|(n, _)| n != name);
    }

    /// Makes here the changes that led from `before` to `after` (what
    /// one of several users of these variables did to its copy): what
    /// it set or changed is set, what it removed goes, and what others
    /// changed meanwhile stays.
    pub fn merge_changes(&mut self, before: &Self, after: &Self) {
        for (name, value) in &after.0 {
            if before.get(name) != Some(value) {
                self.set(name, value.clone());
            }
        }
        for (name, _) in &before.0 {
            if after.get(name).is_none() {
                self.unset(name);
            }
        }
    }

    /// The variables of `scope` alone.
    pub fn of_scope(&self, scope: Scope) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(n, _)| n.scope == scope)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_need_a_scope_and_a_name() {
        let n = VarName::parse("txn.my_var.x").expect("valid");
        assert_eq!((n.scope, n.name.as_str()), (Scope::Txn, "my_var.x"));
        assert_eq!(n.to_string(), "txn.my_var.x");
        assert!(VarName::parse("foo.bar").is_err());
        assert!(VarName::parse("txn.").is_err());
        assert!(VarName::parse("txn.a-b").is_err());
        let mut vars = Vars::default();
        vars.set(&n, Value::Int(3));
        vars.set(&n, Value::Int(4));
        assert_eq!(vars.get(&n), Some(&Value::Int(4)));
        vars.unset(&n);
        assert_eq!(vars.get(&n), None);
    }

    #[test]
    fn merged_changes_keep_what_others_changed_meanwhile() {
        let name = |n: &str| VarName::parse(n).expect("valid");
        let (a, b, c) = (name("sess.a"), name("sess.b"), name("sess.c"));
        let mut before = Vars::default();
        before.set(&a, Value::Int(1));
        before.set(&b, Value::Int(1));
        // One stream changed `a`, removed `b`, added `c`...
        let mut after = before.clone();
        after.set(&a, Value::Int(2));
        after.unset(&b);
        after.set(&c, Value::Int(3));
        // ...while another set `d` in the shared copy.
        let d = name("sess.d");
        let mut shared = before.clone();
        shared.set(&d, Value::Int(4));
        shared.merge_changes(&before, &after);
        assert_eq!(shared.get(&a), Some(&Value::Int(2)));
        assert_eq!(shared.get(&b), None);
        assert_eq!(shared.get(&c), Some(&Value::Int(3)));
        assert_eq!(shared.get(&d), Some(&Value::Int(4)));
    }
}
