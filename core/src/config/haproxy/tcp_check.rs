//! `option tcp-check` with its `tcp-check` rules, and the protocol checks
//! haproxy builds on the same engine: `option redis-check`,
//! `mysql-check`, `pgsql-check`, `smtpchk`, `ldap-check`, `ssl-hello-chk`.
//! What the config says is kept here; [`crate::health::script`] turns it
//! into the steps a probe runs.

use super::lexer::Word;
use super::parser::Parser;
use crate::config::Form;
use serde::Serialize;

/// Which tcp-check ruleset a backend's health checks run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TcpCheck {
    /// `option tcp-check`: the backend's own `tcp-check` rules (a plain
    /// connect when it has none).
    Rules,
    /// `option redis-check`.
    Redis,
    /// `option mysql-check [user <name> [post-41|pre-41]]`.
    Mysql {
        /// The user to log in as; without one, only the greeting is read.
        user: Option<String>,
        /// `pre-41`: the MySQL 4.0 login packet.
        pre41: bool,
    },
    /// `option pgsql-check user <name>`.
    Pgsql {
        /// The user named in the startup packet.
        user: String,
    },
    /// `option smtpchk [EHLO|HELO <domain>]`.
    Smtp {
        /// The greeting command sent (`HELO localhost` by default).
        hello: String,
    },
    /// `option ldap-check`.
    Ldap,
    /// `option ssl-hello-chk`.
    SslHello,
    /// `option spop-check`.
    Spop,
}

/// One `tcp-check` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TcpCheckRule {
    /// `tcp-check connect [port <n>]`.
    Connect {
        /// The port to connect to instead of the server's.
        port: Option<u16>,
        /// `comment <text>`.
        comment: Option<String>,
        /// `linger`: it closes gracefully, not with haproxy's reset.
        linger: bool,
    },
    /// `tcp-check send <string>` or `send-binary <hex>`.
    Send {
        /// The bytes sent.
        data: Vec<u8>,
        /// `comment <text>`.
        comment: Option<String>,
    },
    /// `tcp-check expect ...`.
    Expect(TcpExpect),
    /// `tcp-check comment <text>`.
    Comment(String),
}

/// A `tcp-check expect` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpExpect {
    /// `!`: the check fails when the pattern matches.
    pub negate: bool,
    /// What is looked for in what the server sent.
    pub pattern: TcpPattern,
    /// `min-recv <n>`: bytes to wait for before deciding.
    pub min_recv: Option<usize>,
    /// `ok-status`, `error-status`: haproxy's status names.
    pub ok_status: Option<String>,
    /// See `ok_status`.
    pub error_status: Option<String>,
    /// `on-success <text>`.
    pub on_success: Option<String>,
    /// `on-error <text>`.
    pub on_error: Option<String>,
    /// `comment <text>`.
    pub comment: Option<String>,
}

impl TcpExpect {
    /// Looking for `pattern` (`negate`: failing when found), with every
    /// option at haproxy's default.
    pub fn new(pattern: TcpPattern, negate: bool) -> Self {
        Self {
            negate,
            pattern,
            min_recv: None,
            ok_status: None,
            error_status: None,
            on_success: None,
            on_error: None,
            comment: None,
        }
    }
}

/// What a `tcp-check expect` looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TcpPattern {
    /// `string <text>`: found anywhere.
    String(Vec<u8>),
    /// `binary <hex>`: found anywhere.
    Binary(Vec<u8>),
    /// `rstring <regex>`, over the bytes.
    Rstring(String),
    /// `rbinary <regex>`, over the bytes written in upper-case hex.
    Rbinary(String),
}

/// Status names an expect rule may set.
const STATUSES: [&str; 9] = [
    "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7OK", "L7RSP", "L7STS",
];

impl Parser<'_> {
    /// `option tcp-check` and the protocol checks: the check runs a
    /// tcp-check ruleset, in place of any HTTP check.
    pub(crate) fn tcp_check_option(&mut self, words: &[Word], negate: bool) {
        let name = words[1].text.as_str();
        let arg = |i: usize| words.get(i).map(|w| w.text.clone());
        let check = match name {
            "tcp-check" => TcpCheck::Rules,
            "redis-check" => TcpCheck::Redis,
            "ldap-check" => TcpCheck::Ldap,
            "ssl-hello-chk" => TcpCheck::SslHello,
            "spop-check" => TcpCheck::Spop,
            "smtpchk" => TcpCheck::Smtp {
                hello: match (arg(2), arg(3)) {
                    (Some(verb), Some(domain)) if verb == "EHLO" || verb == "HELO" => {
                        format!("{verb} {domain}")
                    }
                    _ => "HELO localhost".to_owned(),
                },
            },
            "pgsql-check" => match (arg(2).as_deref(), arg(3)) {
                (Some("user"), Some(user)) => TcpCheck::Pgsql { user },
                _ => {
                    let msg = format!("'option {name}' expects 'user <username>' as argument.");
                    return self.error(Form::Parsing, words[1].col, msg);
                }
            },
            _ => match (arg(2).as_deref(), arg(3), arg(4).as_deref()) {
                (None, _, _) => TcpCheck::Mysql {
                    user: None,
                    pre41: false,
                },
                (Some("user"), Some(user), None | Some("post-41")) => TcpCheck::Mysql {
                    user: Some(user),
                    pre41: false,
                },
                (Some("user"), Some(user), Some("pre-41")) => TcpCheck::Mysql {
                    user: Some(user),
                    pre41: true,
                },
                (Some("user"), Some(_), Some(other)) => {
                    let msg = format!(
                        "keyword 'user' only supports 'post-41' and 'pre-41' (got '{other}')."
                    );
                    return self.error(Form::Parsing, words[1].col, msg);
                }
                (Some(other), _, _) => {
                    let msg = format!(
                        "'option {name}' only supports optional values: 'user' (got '{other}')."
                    );
                    return self.error(Form::Parsing, words[1].col, msg);
                }
            },
        };
        let d = self.draft();
        if negate {
            d.proxy.tcp_check = None;
            return;
        }
        d.proxy.tcp_check = Some(check);
        d.proxy.http_check = None;
        d.httpchk_option = false;
    }

    /// One `tcp-check <rule>` line.
    pub(crate) fn tcp_check_rule(&mut self, words: &[Word]) {
        let Some(sub) = words.get(1) else {
            return self.error(Form::Parsing, words[0].col, only_supports(""));
        };
        let rule = match sub.text.as_str() {
            "comment" => match words.get(2) {
                Some(w) => Some(TcpCheckRule::Comment(w.text.clone())),
                None => {
                    let msg = "'tcp-check comment' : expects a string as argument.".to_owned();
                    return self.error(Form::Parsing, sub.col, msg);
                }
            },
            "connect" => self.tcp_check_connect(&words[2..], sub.col),
            "send" | "send-binary" => self.tcp_check_send(&sub.text, &words[2..], sub.col),
            "expect" => self.tcp_check_expect(&words[2..], sub.col),
            "send-lf" | "send-binary-lf" | "set-var" | "unset-var" => {
                self.not_supported(sub.col, &format!("tcp-check {}", sub.text));
                None
            }
            other => return self.error(Form::Parsing, sub.col, only_supports(other)),
        };
        if let Some(rule) = rule {
            self.draft().proxy.tcp_check_rules.push(rule);
        }
    }

    fn tcp_check_connect(&mut self, args: &[Word], col: u32) -> Option<TcpCheckRule> {
        let (mut port, mut comment, mut linger) = (None, None, false);
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let value = args.get(i + 1).map(|v| v.text.clone());
            match w.text.as_str() {
                "default" => {}
                "linger" => linger = true,
                "port" => {
                    match value.as_deref().and_then(|v| v.parse::<u16>().ok()) {
                        Some(p) if p > 0 => port = Some(p),
                        _ => {
                            let got = value.unwrap_or_default();
                            let msg = format!("'tcp-check connect' : expects a valid TCP port (from range 1 to 65535) or a sample expression, got {got}..");
                            self.error(Form::Parsing, w.col, msg);
                            return None;
                        }
                    }
                    i += 1;
                }
                "comment" => {
                    comment = value;
                    i += 1;
                }
                "addr" | "proto" | "sni" | "alpn" => {
                    self.not_supported(w.col, &format!("tcp-check connect {}", w.text));
                    i += 1;
                }
                "ssl" | "send-proxy" | "via-socks4" => {
                    self.not_supported(w.col, &format!("tcp-check connect {}", w.text));
                }
                other => {
                    let msg = format!("'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '{other}' as argument.");
                    self.error(Form::Parsing, w.col, msg);
                    return None;
                }
            }
            i += 1;
        }
        let _ = col;
        Some(TcpCheckRule::Connect {
            port,
            comment,
            linger,
        })
    }

    fn tcp_check_send(&mut self, verb: &str, args: &[Word], col: u32) -> Option<TcpCheckRule> {
        let Some(data) = args.first() else {
            let what = if verb == "send" {
                "string"
            } else {
                "binary string"
            };
            // haproxy's words, its arguments swapped.
            let msg = format!("'tcp-check {verb}' : '{what}' expects a {verb} as argument.");
            self.error(Form::Parsing, col, msg);
            return None;
        };
        let bytes = if verb == "send" {
            data.text.as_bytes().to_vec()
        } else {
            match hex(&data.text) {
                Ok(b) => b,
                Err(why) => {
                    let msg = format!(
                        "'tcp-check {verb}' : '{}' invalid binary string ({why}).",
                        data.text
                    );
                    self.error(Form::Parsing, data.col, msg);
                    return None;
                }
            }
        };
        let comment = match (args.get(1), args.get(2)) {
            (None, _) => None,
            (Some(w), Some(c)) if w.text == "comment" => Some(c.text.clone()),
            (Some(w), _) => {
                let msg = format!(
                    "'tcp-check {verb}' : expects 'comment' but got '{}' as argument.",
                    w.text
                );
                self.error(Form::Parsing, w.col, msg);
                return None;
            }
        };
        Some(TcpCheckRule::Send {
            data: bytes,
            comment,
        })
    }

    fn tcp_check_expect(&mut self, args: &[Word], col: u32) -> Option<TcpCheckRule> {
        let mut expect = TcpExpect::new(TcpPattern::String(Vec::new()), false);
        let mut pattern = None;
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let value = args.get(i + 1);
            let Some(v) = value else {
                let msg = format!("'tcp-check expect' : '{}' expects an argument.", w.text);
                self.error(Form::Parsing, w.col, msg);
                return None;
            };
            let text = v.text.clone();
            match w.text.as_str() {
                // haproxy reads it with atol: junk counts as 0.
                "min-recv" => {
                    expect.min_recv = usize::try_from(super::values::atol(&text))
                        .ok()
                        .filter(|n| *n > 0);
                }
                kw @ ("ok-status" | "error-status" | "tout-status") => {
                    if !STATUSES.contains(&text.as_str()) {
                        let msg = format!("'tcp-check expect' : '{kw}' only supports 'L4OK', 'L6OK', 'L7OK', 'L7OKC', 'L4TOUT', 'L6TOUT', 'L7TOUT', 'L4CON', 'L6RSP', 'L7RSP' or 'L7STS' status (got '{text}').");
                        self.error(Form::Parsing, v.col, msg);
                        return None;
                    }
                    match kw {
                        "ok-status" => expect.ok_status = Some(text),
                        "error-status" => expect.error_status = Some(text),
                        _ => self.not_supported(w.col, "tcp-check expect tout-status"),
                    }
                }
                kw @ ("on-success" | "on-error") => {
                    // Written as given; log-format fetches are not run.
                    if text.contains("%[") {
                        self.not_supported(v.col, &format!("tcp-check expect {kw} log-format"));
                    }
                    let slot = if kw == "on-success" {
                        &mut expect.on_success
                    } else {
                        &mut expect.on_error
                    };
                    *slot = Some(text);
                }
                "comment" => expect.comment = Some(text),
                "status-code" => self.not_supported(w.col, "tcp-check expect status-code"),
                kind => {
                    let (negate, kind) = match kind.strip_prefix('!') {
                        Some(k) => (true, k),
                        None => (false, kind),
                    };
                    let found = match kind {
                        "string" => TcpPattern::String(text.into_bytes()),
                        "rstring" => TcpPattern::Rstring(text),
                        "rbinary" => TcpPattern::Rbinary(text),
                        "binary" => match hex(&text) {
                            Ok(b) => TcpPattern::Binary(b),
                            Err(why) => {
                                let msg =
                                    format!("'tcp-check expect' : invalid binary string ({why}).");
                                self.error(Form::Parsing, v.col, msg);
                                return None;
                            }
                        },
                        "string-lf" | "binary-lf" | "custom" => {
                            self.not_supported(w.col, &format!("tcp-check expect {kind}"));
                            return None;
                        }
                        other => {
                            let msg = format!("'tcp-check expect' : 'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '{other}' as argument..");
                            self.error(Form::Parsing, w.col, msg);
                            return None;
                        }
                    };
                    expect.negate = negate;
                    pattern = Some(found);
                }
            }
            i += 2;
        }
        let Some(pattern) = pattern else {
            let msg =
                "'tcp-check expect' : expects at least a matching pattern as arguments.".to_owned();
            self.error(Form::Parsing, col, msg);
            return None;
        };
        if let TcpPattern::Rstring(r) | TcpPattern::Rbinary(r) = &pattern {
            if let Err(e) = regex::bytes::Regex::new(r) {
                let msg = format!("'tcp-check expect' : regex '{r}' is invalid ({e}).");
                self.error(Form::Parsing, col, msg);
                return None;
            }
        }
        expect.pattern = pattern;
        Some(TcpCheckRule::Expect(expect))
    }
}

/// haproxy's refusal of `tcp-check` lines it does not know.
fn only_supports(got: &str) -> String {
    format!("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{got}'")
}

/// The bytes a hex string stands for (`send-binary`, `expect binary`),
/// or why it is not one, in haproxy's words.
pub(crate) fn hex(text: &str) -> Result<Vec<u8>, String> {
    if let Some(c) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("an hex digit is expected (found '{c}')"));
    }
    if text.len() % 2 != 0 {
        return Err("an even number of hex digit is expected".into());
    }
    Ok((0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect())
}
