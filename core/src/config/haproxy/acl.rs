//! `acl` declarations and `if` / `unless` conditions (spec/haproxy.md
//! §1.5): criteria, `-i`, `-m`, anonymous `{ ... }` ACLs, `!`, `||`.

use super::keywords;
use super::lexer::Word;
use super::model::*;
use super::parser::Parser;
use crate::config::Form;
use crate::sample::{Expr, Match, ParseError, Pattern};

/// What a predefined ACL tests, with its values; those haven does not
/// evaluate are [`Criterion::Unsupported`].
fn predefined(name: &str) -> (Criterion, &'static [&'static str]) {
    let method = |m: &'static [&'static str]| (Criterion::Method, m);
    match name {
        "TRUE" => (Criterion::Constant(true), &[]),
        "FALSE" => (Criterion::Constant(false), &[]),
        "HTTP" => (Criterion::ProtoHttp, &[]),
        "LOCALHOST" => (Criterion::Src, &["127.0.0.1/8", "::1"]),
        "METH_CONNECT" => method(&["CONNECT"]),
        "METH_DELETE" => method(&["DELETE"]),
        "METH_GET" => method(&["GET", "HEAD"]),
        "METH_HEAD" => method(&["HEAD"]),
        "METH_OPTIONS" => method(&["OPTIONS"]),
        "METH_POST" => method(&["POST"]),
        "METH_PUT" => method(&["PUT"]),
        "METH_TRACE" => method(&["TRACE"]),
        other => (Criterion::Unsupported(other.to_owned()), &[]),
    }
}

/// ACLs haproxy predefines.
const PREDEFINED: &[&str] = &[
    "TRUE",
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "WAIT_END",
];

impl Parser<'_> {
    /// `acl <name> <criterion> [flags] <values>`.
    pub(crate) fn acl(&mut self, words: &[Word]) {
        let Some(name) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'acl' expects an ACL name.".into(),
            );
        };
        if let Some(pattern) = self.acl_pattern(&name.text, &words[2..], name.col) {
            let acls = &mut self.draft().proxy.acls;
            match acls.iter_mut().find(|a| a.name == name.text) {
                Some(acl) => acl.patterns.push(pattern),
                None => acls.push(Acl {
                    name: name.text.clone(),
                    patterns: vec![pattern],
                }),
            }
        }
    }

    /// Parses `<criterion> [flags] <values>` of ACL `name`.
    fn acl_pattern(&mut self, name: &str, words: &[Word], col: u32) -> Option<AclPattern> {
        let err = |p: &mut Self, m: String| {
            p.error(
                Form::Parsing,
                col,
                format!("error detected while parsing ACL '{name}' : {m}"),
            )
        };
        let Some(expr) = words.first() else {
            err(self, "missing fetch method in ACL expression ''.".into());
            return None;
        };
        let (mut ignore_case, mut method, mut values, mut explicit_end) =
            (false, None, Vec::new(), false);
        let mut files: Vec<(String, Vec<String>)> = Vec::new();
        let mut i = 1;
        while let Some(w) = words.get(i) {
            match w.text.as_str() {
                "-i" if values.is_empty() => ignore_case = true,
                "-n" | "-u" | "-M" if values.is_empty() => {}
                "-m" if values.is_empty() => {
                    method = words.get(i + 1).map(|w| w.text.clone());
                    i += 1;
                }
                "-f" => {
                    let file = words.get(i + 1).map_or("", |w| w.text.as_str());
                    match self.pattern_file(file) {
                        Ok(lines) => {
                            files.push((file.to_owned(), lines.clone()));
                            values.extend(lines);
                        }
                        Err(m) => {
                            err(self, m);
                            return None;
                        }
                    }
                    i += 1;
                }
                "--" if values.is_empty() => explicit_end = true,
                v => values.push(v.to_owned()),
            }
            i += 1;
        }
        let criterion = match self.criterion(&expr.text, method.as_deref(), &values, ignore_case) {
            Ok(c) => c,
            Err(Unread::Unsupported(what)) => {
                self.not_supported(expr.col, &what);
                Criterion::Unsupported(expr.text.clone())
            }
            Err(Unread::Bad(m)) => {
                err(self, m);
                return None;
            }
        };
        let fetch = expr.text.split(['(', ',']).next().unwrap_or("");
        // A boolean sample needs no value.
        let boolean = matches!(
            &criterion,
            Criterion::Sample {
                how: crate::sample::Match::Bool,
                ..
            }
        );
        let needs_values = !boolean
            && !matches!(method.as_deref(), Some("found" | "bool"))
            && !fetch.ends_with("_found");
        if values.is_empty() && needs_values && !explicit_end {
            let msg = format!("parsing acl keyword '{fetch}' :\n  no pattern to match against were provided, so this ACL will never match.\n  If this is what you intended, please add '--' to get rid of this warning.\n  If you intended to match only for existence, please use '-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n");
            self.warn(Form::Unplaced, expr.col, msg);
        }
        let values = crate::sample::AclValues::new(values);
        let compiled = matches!(
            &criterion,
            Criterion::Sample {
                how: crate::sample::Match::Reg(_),
                ..
            }
        );
        for (file, lines) in files {
            self.read_acl_file(&file, &lines, &values, compiled);
        }
        Some(AclPattern {
            criterion,
            ignore_case,
            values,
            line: self.line,
        })
    }

    /// Parses `if|unless <terms>` starting at `words[0]`. `what` names the
    /// rule in errors ("switching rule"...).
    pub(crate) fn condition(&mut self, words: &[Word], what: &str) -> Option<Condition> {
        let Some(head) = words.first() else {
            self.error(Form::Parsing, 0, format!("error detected while parsing {what} : expects 'if' or 'unless' followed by a condition."));
            return None;
        };
        let unless = match head.text.as_str() {
            "if" => false,
            "unless" => true,
            other => {
                self.error(Form::Parsing, head.col, format!("error detected while parsing {what} : expects 'if' or 'unless' followed by a condition but found '{other}'."));
                return None;
            }
        };
        let mut any_of: Vec<Vec<Term>> = vec![Vec::new()];
        let mut i = 1;
        while let Some(w) = words.get(i) {
            let mut text = w.text.as_str();
            if text == "||" || text == "or" {
                any_of.push(Vec::new());
                i += 1;
                continue;
            }
            let mut negate = false;
            while let Some(rest) = text.strip_prefix('!') {
                negate = !negate;
                text = rest;
            }
            if text.is_empty() {
                i += 1;
                match words.get(i) {
                    Some(next) => text = next.text.as_str(),
                    None => break,
                }
            }
            let acl = if text == "{" {
                let Some(close) = words[i..].iter().position(|w| w.text == "}") else {
                    self.error(Form::Parsing, w.col, format!("error detected while parsing {what} : missing closing '}}' in condition."));
                    return None;
                };
                let inner = &words[i + 1..i + close];
                let pattern = self.acl_pattern("anonymous", inner, w.col)?;
                i += close;
                let acls = &mut self.draft().proxy.acls;
                acls.push(Acl {
                    name: String::new(),
                    patterns: vec![pattern],
                });
                acls.len() - 1
            } else if let Some(idx) = self.draft().proxy.acls.iter().position(|a| a.name == text) {
                idx
            } else if PREDEFINED.contains(&text) {
                let (criterion, values) = predefined(text);
                if matches!(criterion, Criterion::Unsupported(_)) {
                    self.not_supported(w.col, &format!("acl predefined {text}"));
                }
                let acls = &mut self.draft().proxy.acls;
                let pattern = AclPattern {
                    criterion,
                    ignore_case: false,
                    values: crate::sample::AclValues::new(
                        values.iter().map(|v| (*v).to_owned()).collect(),
                    ),
                    line: 0,
                };
                acls.push(Acl {
                    name: text.to_owned(),
                    patterns: vec![pattern],
                });
                acls.len() - 1
            } else {
                self.error(
                    Form::Parsing,
                    w.col,
                    format!("error detected while parsing {what} : no such ACL : '{text}'."),
                );
                return None;
            };
            if let Some(group) = any_of.last_mut() {
                group.push(Term { negate, acl });
            }
            i += 1;
        }
        if any_of.iter().any(Vec::is_empty) {
            self.error(
                Form::Parsing,
                head.col,
                format!(
                    "error detected while parsing {what} : missing ACL after '{}'.",
                    head.text
                ),
            );
            return None;
        }
        Some(Condition { unless, any_of })
    }
}

/// Why an ACL's criterion was not read.
enum Unread {
    /// haproxy knows it, haven does not evaluate it: what to name.
    Unsupported(String),
    /// Malformed: haproxy's message.
    Bad(String),
}

/// Fetch name suffixes that imply a match method (`path_beg`, `hdr_val`).
const SUFFIXES: &[(&str, &str)] = &[
    ("_beg", "beg"),
    ("_end", "end"),
    ("_sub", "sub"),
    ("_reg", "reg"),
    ("_dom", "dom"),
    ("_dir", "dir"),
    ("_len", "len"),
    ("_found", "found"),
    ("_val", "int"),
    ("_ip", "ip"),
];

impl Parser<'_> {
    /// Records that an ACL line holding `values` read pattern file `file`
    /// (its `lines`), for the runtime API.
    fn read_acl_file(
        &mut self,
        file: &str,
        lines: &[String],
        values: &crate::sample::AclValues,
        compiled: bool,
    ) {
        let known = self.acl_files.iter().position(|f| f.file == file);
        let index = known.unwrap_or_else(|| {
            let entries = lines
                .iter()
                .enumerate()
                .map(|(n, l)| crate::sample::MapEntry {
                    id: n as u64 + 1,
                    key: l.clone(),
                    pattern: None,
                    value: String::new(),
                })
                .collect();
            self.acl_files.push(crate::sample::AclFile {
                file: file.to_owned(),
                entries: crate::sample::MapLines::new(entries, false),
                users: Vec::new(),
                compiled: false,
            });
            self.acl_files.len() - 1
        });
        let f = &mut self.acl_files[index];
        f.users.push(values.clone());
        f.compiled |= compiled;
    }

    /// The patterns of `acl -f file`: one per line, blank lines and `#`
    /// comments skipped. Without a file reader (the simulator), none.
    fn pattern_file(&self, file: &str) -> Result<Vec<String>, String> {
        let Some(read) = self.files() else {
            return Ok(Vec::new());
        };
        let bytes =
            read(file).map_err(|e| format!("failed to open pattern file <{file}> : {e}."))?;
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect())
    }

    /// The criterion of expression `text` with match method `-m method`
    /// over `values`: a dedicated one when there is, else a sample
    /// expression.
    fn criterion(
        &mut self,
        text: &str,
        method: Option<&str>,
        values: &[String],
        ignore_case: bool,
    ) -> Result<Criterion, Unread> {
        let calls = crate::sample::split_calls(text).map_err(Unread::Bad)?;
        if let [only] = calls.as_slice() {
            if let Some(c) = fast_criterion(&only.name, only.args.join(","), method) {
                return Ok(c);
            }
        }
        let files = self.files();
        let (expr, implied) = match Expr::parse_with(text, files) {
            Ok(e) => (e, None),
            Err(ParseError::UnknownFetch(name)) => SUFFIXES
                .iter()
                .find_map(|(suffix, how)| {
                    let base = name.strip_suffix(suffix)?;
                    let e = Expr::parse_with(&text.replacen(&name, base, 1), files).ok()?;
                    Some((e, Some(*how)))
                })
                .ok_or_else(|| unread_fetch(&name, text))?,
            Err(ParseError::UnknownConverter(name)) => return Err(unread_converter(&name)),
            Err(e) => return Err(Unread::Bad(e.to_string())),
        };
        let how = match method.or(implied) {
            None => expr.default_match(),
            Some(m) => Match::named(m)
                .ok_or_else(|| Unread::Bad(format!("'-m' : unknown match method '{m}'.")))?,
        };
        let how = match how {
            Match::Reg(_) => Match::Reg(
                values
                    .iter()
                    .map(|v| Pattern::new(v, ignore_case))
                    .collect::<Result<_, _>>()
                    .map_err(|e| Unread::Bad(format!("regex is invalid: {e}")))?,
            ),
            other => other,
        };
        Ok(Criterion::Sample { expr, how })
    }
}

/// A fetch haven does not know in expression `text`: unsupported when
/// haproxy knows it.
fn unread_fetch(name: &str, text: &str) -> Unread {
    if keywords::is_unsupported_fetch(name) || name.starts_with("req.") || name.starts_with("res.")
    {
        Unread::Unsupported(format!("acl fetch {name}"))
    } else {
        let call = text.split(',').next().unwrap_or(text);
        Unread::Bad(format!(
            "unknown fetch method '{name}' in ACL expression '{call}'."
        ))
    }
}

/// A converter haven does not know: unsupported when haproxy knows it.
fn unread_converter(name: &str) -> Unread {
    if keywords::is_haproxy_converter(name) {
        Unread::Unsupported(format!("converter {name}"))
    } else {
        Unread::Bad(format!("unknown converter '{name}'."))
    }
}

/// The dedicated criterion for fetch `fetch(arg)` with match method `-m`,
/// or `None` when a sample expression evaluates it.
fn fast_criterion(fetch: &str, arg: String, method: Option<&str>) -> Option<Criterion> {
    let header = match fetch {
        "hdr" | "req.hdr" => Some(method.unwrap_or("str")),
        "hdr_beg" => Some("beg"),
        "hdr_end" => Some("end"),
        "hdr_dom" => Some("dom"),
        "hdr_sub" => Some("sub"),
        _ => None,
    };
    if let Some(m) = header {
        return Some(match m {
            "str" => Criterion::Hdr(arg),
            "beg" => Criterion::HdrBeg(arg),
            "end" => Criterion::HdrEnd(arg),
            "dom" => Criterion::HdrDom(arg),
            "sub" => Criterion::HdrSub(arg),
            _ => return None,
        });
    }
    let path = match fetch {
        "path" => Some(method.unwrap_or("str")),
        "path_beg" => Some("beg"),
        "path_end" => Some("end"),
        "path_sub" => Some("sub"),
        _ => None,
    };
    if let Some(m) = path {
        return Some(match m {
            "str" => Criterion::Path,
            "beg" => Criterion::PathBeg,
            "end" => Criterion::PathEnd,
            "sub" => Criterion::PathSub,
            _ => return None,
        });
    }
    match (fetch, method) {
        ("url_beg", None) | ("url", Some("beg")) => Some(Criterion::UrlBeg),
        ("method", None | Some("str")) => Some(Criterion::Method),
        ("src", None | Some("ip")) => Some(Criterion::Src),
        ("req.ssl_sni" | "req_ssl_sni", m) => Some(Criterion::SslSni(match m {
            None | Some("str") => StrMatch::Exact,
            Some("beg") => StrMatch::Beg,
            Some("end") => StrMatch::End,
            Some("sub") => StrMatch::Sub,
            Some("dom") => StrMatch::Dom,
            _ => return None,
        })),
        ("req.ssl_sni_end", None) => Some(Criterion::SslSni(StrMatch::End)),
        ("req.ssl_hello_type" | "req_ssl_hello_type", None | Some("int")) => {
            Some(Criterion::SslHelloType)
        }
        ("req.len" | "req_len", None | Some("int")) => Some(Criterion::ReqLen),
        ("req.proto_http" | "req_proto_http", None) => Some(Criterion::ProtoHttp),
        ("req.payload", Some(m @ ("str" | "bin"))) => {
            let (offset, length) = arg.split_once(',')?;
            Some(Criterion::Payload {
                offset: offset.trim().parse().ok()?,
                length: length.trim().parse().ok()?,
                binary: m == "bin",
            })
        }
        _ => None,
    }
}
