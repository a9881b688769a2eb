//! Process-wide variables (`proc.*`) through the runtime API: `set var`
//! and `get var`, answered in haproxy 2.6's words.

use super::flow::Flow;
use crate::route::RequestHead;
use crate::sample::{Expr, Format, HeaderView, Scope, Value, VarName};

/// What a sample sees outside any request: nothing but constants.
fn nothing() -> RequestHead<'static> {
    RequestHead {
        method: "",
        uri: "",
        headers: HeaderView::default(),
        client: None,
        payload: &[],
        around: Default::default(),
    }
}

/// haproxy's name for the type of `v`.
fn type_name(v: &Value<'_>) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) => "sint",
        Value::Ip(ip) if ip.is_ipv4() => "ipv4",
        Value::Ip(_) => "ipv6",
        Value::Str(_) => "str",
        Value::Bin(_) => "bin",
    }
}

impl Flow {
    /// `set var <name> [expr|fmt] <value>`, given the words after `set
    /// var`: the answer (an empty line once set).
    pub fn cli_set_var(&mut self, args: &[String]) -> String {
        let (name, value) = match args {
            [] => return "Missing process-wide variable identifier.\n\n".into(),
            [_] => return "Missing either 'expr', 'fmt' or expression.\n\n".into(),
            [name, expr] => (name, Ok(expr)),
            [name, kind, text, ..] => match kind.as_str() {
                "expr" => (name, Ok(text)),
                "fmt" => (name, Err(text)),
                _ => {
                    return format!(
                        "'set var': arg type must be either 'expr' or 'fmt' but got '{kind}'.\n"
                    )
                }
            },
        };
        let var = match VarName::parse(name) {
            Ok(v) => v,
            Err(e) => return format!("{e}\n"),
        };
        let value = match value {
            Ok(expr) => match Expr::parse(expr) {
                Ok(e) => e.eval(&nothing()).map(Value::into_owned),
                Err(e) => return format!("{e}\n"),
            },
            Err(fmt) => match Format::parse(fmt) {
                Ok(f) => Some(Value::string(f.render(&nothing()))),
                Err(e) => return format!("{e}\n"),
            },
        };
        if var.scope != Scope::Proc {
            return format!(
                "'set var': cannot set variable '{name}', only scope 'proc' is permitted here.\n"
            );
        }
        if let Some(v) = value {
            self.proc_vars.set(&var, v);
        }
        "\n".into()
    }

    /// `get var <name>`: its type and value, as haproxy shows them.
    pub fn cli_get_var(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "Missing process-wide variable identifier.\n\n".into();
        };
        let value = VarName::parse(name)
            .ok()
            .filter(|v| v.scope == Scope::Proc)
            .and_then(|v| self.proc_vars.get(&v));
        let Some(value) = value else {
            return "Variable not found.\n\n".into();
        };
        let shown: String = value
            .to_text()
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '.'
                }
            })
            .collect();
        format!("{name}: type={} value=<{shown}>\n", type_name(value))
    }
}
