//! Keywords of `defaults`, `frontend`, `backend` and `listen` sections
//! (spec/haproxy.md §1.4), with haproxy's capability rules: a keyword of
//! the other side is ignored with a warning, a keyword `defaults` cannot
//! hold is an error.

use super::http_rule::{Failure, RulePhase};
use super::keywords;
use super::lexer::Word;
use super::model::*;
use super::parser::{Parser, Section};
use super::tls::BindTls;
use super::values::{parse_host_port, AddrError, Host, PortSpec};
use crate::config::Form;

/// Which side of a proxy a keyword configures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Frontend,
    Backend,
    Both,
}

/// Proxy keywords haven reads, for "did you mean" hints.
const PROXY_KEYWORDS: &[&str] = &[
    "mode",
    "bind",
    "default_backend",
    "use_backend",
    "acl",
    "balance",
    "hash-type",
    "server",
    "default-server",
    "retries",
    "retry-on",
    "maxconn",
    "option",
    "timeout",
    "log",
    "stats",
    "http-check",
    "tcp-check",
    "tcp-request",
    "dispatch",
    "http-reuse",
    "cookie",
    "capture",
    "declare",
    "unique-id-format",
    "unique-id-header",
    "stick-table",
];

/// Bind parameters that take no argument.
const BIND_FLAGS: &[&str] = &[
    "ssl",
    "v4v6",
    "v6only",
    "transparent",
    "accept-proxy",
    "defer-accept",
    "tfo",
    "strict-sni",
    "allow-0rtt",
    "prefer-client-ciphers",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "force-tlsv12",
    "force-tlsv13",
    "no-tls-tickets",
    "generate-certificates",
    "quic-force-retry",
    "accept-netscaler-cip",
];

/// Bind parameters that take one argument.
const BIND_WITH_ARG: &[&str] = &[
    "crt",
    "alpn",
    "name",
    "interface",
    "process",
    "thread",
    "maxconn",
    "backlog",
    "npn",
    "ciphers",
    "ciphersuites",
    "ca-file",
    "verify",
    "curves",
    "ecdhe",
    "ssl-min-ver",
    "ssl-max-ver",
    "crt-list",
    "level",
    "mode",
    "user",
    "group",
    "uid",
    "gid",
    "nice",
    "id",
    "mss",
    "namespace",
    "expose-fd",
    "severity-output",
    "crl-file",
    "ca-ignore-err",
    "crt-ignore-err",
    "tcp-ut",
    "ca-sign-pass",
];

/// The `option`s that choose a TCP check (backend only).
const TCP_CHECK_OPTIONS: [&str; 8] = [
    "tcp-check",
    "redis-check",
    "mysql-check",
    "pgsql-check",
    "smtpchk",
    "ldap-check",
    "ssl-hello-chk",
    "spop-check",
];

impl Parser<'_> {
    /// `None` in `defaults`, else the proxy's kind and name.
    pub(crate) fn current(&self) -> Option<(ProxyKind, String)> {
        match self.section {
            Section::Proxy(i) => {
                Some((self.drafts[i].proxy.kind, self.drafts[i].proxy.name.clone()))
            }
            _ => None,
        }
    }

    /// True when a keyword for `side` applies here; warns in haproxy's words
    /// when it does not. `what` is how haproxy names the keyword.
    fn applies(&mut self, word: &Word, side: Side, what: &str) -> bool {
        let Some((kind, name)) = self.current() else {
            return true;
        };
        let (ok, other) = match side {
            Side::Both => (true, ""),
            Side::Frontend => (kind.is_frontend(), "frontend"),
            Side::Backend => (kind.is_backend(), "backend"),
        };
        if !ok {
            let me = kind.keyword();
            let msg = if what.starts_with("timeout ") {
                format!("'{what}' will be ignored because {me} '{name}' has no {other} capability")
            } else if what == "maxconn" {
                format!("'maxconn' ignored because {me} '{name}' has no frontend capability. Maybe you want 'fullconn' instead ?")
            } else {
                format!("'{what}' ignored because {me} '{name}' has no {other} capability.")
            };
            self.warn(Form::Parsing, word.col, msg);
        }
        ok
    }

    /// Refuses a keyword `defaults` cannot hold.
    fn not_in_defaults(&mut self, word: &Word, form: Form) -> bool {
        if self.section == Section::Defaults {
            let anon = if word.text == "acl" && self.defaults.proxy.name.is_empty() {
                "anonymous "
            } else {
                ""
            };
            self.error(
                form,
                word.col,
                format!("'{}' not allowed in {anon}'defaults' section.", word.text),
            );
            return true;
        }
        false
    }

    pub(crate) fn proxy_keyword(&mut self, words: &[Word]) {
        let w0 = &words[0];
        let kw = w0.text.as_str();
        match kw {
            "mode" => match words.get(1).map(|w| w.text.as_str()) {
                Some("http") => self.draft().proxy.mode = Mode::Http,
                Some("tcp") => self.draft().proxy.mode = Mode::Tcp,
                Some(other) => self.error(
                    Form::Parsing,
                    words[1].col,
                    format!("unknown proxy mode '{other}'."),
                ),
                None => self.error(
                    Form::Parsing,
                    w0.col,
                    "'mode' expects one of 'http', 'tcp' or 'health'.".into(),
                ),
            },
            "bind" => {
                if !self.not_in_defaults(w0, Form::Parsing)
                    && self.applies(w0, Side::Frontend, "bind")
                {
                    self.bind(words);
                }
            }
            "default_backend" => {
                if self.applies(w0, Side::Frontend, kw) {
                    match words.get(1) {
                        Some(b) => {
                            let line = self.line;
                            self.draft().default_backend = Some((b.text.clone(), line));
                        }
                        None => self.error(
                            Form::Parsing,
                            w0.col,
                            "'default_backend' expects a backend name.".into(),
                        ),
                    }
                }
            }
            "use_backend" => {
                if !self.not_in_defaults(w0, Form::Parsing) && self.applies(w0, Side::Frontend, kw)
                {
                    self.use_backend(words);
                }
            }
            "acl" => {
                if !self.not_in_defaults(w0, Form::Parsing) {
                    self.acl(words);
                }
            }
            "balance" => {
                if self.applies(w0, Side::Backend, kw) {
                    self.balance(words);
                }
            }
            "stick" => {
                if !self.not_in_defaults(w0, Form::Parsing) && self.applies(w0, Side::Backend, kw) {
                    self.stick_rule(words);
                }
            }
            "hash-type" => {
                if self.applies(w0, Side::Backend, kw) {
                    self.hash_type(words);
                }
            }
            "server" => self.server_keyword(words),
            "server-template" => self.server_template(words),
            "default-server" => {
                if self.applies(w0, Side::Backend, kw) {
                    self.default_server_keyword(words);
                }
            }
            "retries" => {
                if self.applies(w0, Side::Backend, kw) {
                    let n = self.count_arg(words);
                    self.draft().proxy.retries = n;
                }
            }
            "retry-on" => self.retry_on(words),
            "id" => self.proxy_id(words),
            "maxconn" => {
                if self.applies(w0, Side::Frontend, kw) {
                    let n = self.count_arg(words);
                    self.draft().proxy.maxconn = Some(n);
                }
            }
            "source" => {
                if self.applies(w0, Side::Backend, kw) {
                    let args: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                    match super::source::parse_source(&args, false) {
                        Ok(source) => self.draft().proxy.source = Some(source),
                        Err(m) => self.error(Form::Parsing, w0.col, m),
                    }
                }
            }
            "fullconn" => {
                if self.applies(w0, Side::Backend, kw) {
                    let n = self.count_arg(words);
                    self.draft().proxy.fullconn = Some(n);
                }
            }
            "option" => self.option(words, false),
            "no" if words.get(1).is_some_and(|w| w.text == "option") => {
                self.option(&words[1..], true)
            }
            "timeout" => self.timeout(words),
            // `no log`: the targets inherited or given so far are dropped.
            "no" if words.get(1).is_some_and(|w| w.text == "log") => match words.get(2) {
                Some(extra) => self.error(
                    Form::Parsing,
                    extra.col,
                    "log : 'no log' does not expect arguments".into(),
                ),
                None => self.draft().proxy.logs.clear(),
            },
            "log" => {
                if let Some(t) = self.log_target(words) {
                    self.draft().proxy.logs.push(t);
                }
            }
            "stats" => self.stats(words),
            // Not inherited: haproxy takes it in proxies only.
            "description" => {
                if self.not_in_defaults(w0, Form::ParsingTight) {
                    return;
                }
                let text: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                self.draft().proxy.description = Some(text.join(" "));
            }
            "http-request" if is_prometheus_rule(words) && self.in_frontend() => {
                self.prometheus_rule(words);
            }
            "http-request" => self.http_rule(RulePhase::Request, words),
            "http-response" => self.http_rule(RulePhase::Response, words),
            "http-after-response" => self.http_rule(RulePhase::AfterResponse, words),
            "redirect" => self.redirect_keyword(words),
            "http-check" => {
                if self.applies(w0, Side::Backend, kw) {
                    self.http_check(words);
                }
            }
            "tcp-request" => self.tcp_request(words),
            "errorfile" => self.errorfile(words),
            "unique-id-format" => self.unique_id_format(words),
            "log-format" => self.log_format(words),
            "stick-table" => {
                if !self.not_in_defaults(w0, Form::Parsing) {
                    if let Some(t) = self.stick_table(words) {
                        self.draft().proxy.stick_table = Some(t);
                    }
                }
            }
            "unique-id-header" => match words.get(1) {
                Some(name) => {
                    self.draft().proxy.unique_id_header = Some(name.text.to_ascii_lowercase())
                }
                None => self.error(
                    Form::Parsing,
                    w0.col,
                    "unique-id-header expects an argument.".into(),
                ),
            },
            "monitor-uri" => {
                if self.applies(w0, Side::Frontend, kw) {
                    match words.get(1) {
                        Some(uri) => self.draft().proxy.monitor_uri = Some(uri.text.clone()),
                        None => self.error(
                            Form::Parsing,
                            w0.col,
                            "'monitor-uri' expects an URI.".into(),
                        ),
                    }
                }
            }
            "dispatch" => {
                if self.applies(w0, Side::Backend, kw) {
                    self.dispatch(words);
                }
            }
            "cookie" => {
                if self.applies(w0, Side::Backend, kw) {
                    if let Some(c) = self.cookie_persistence(words) {
                        self.draft().proxy.cookie = Some(c);
                    }
                }
            }
            "capture" => self.capture_keyword(words),
            "compression" => self.compression(words),
            "declare" => self.declare_keyword(words),
            "http-reuse" => {
                if self.applies(w0, Side::Backend, kw) {
                    self.http_reuse(words);
                }
            }
            "tcp-check" => {
                if self.applies(w0, Side::Backend, kw) {
                    let d = self.draft();
                    if !d.own_tcp_check_rules {
                        d.own_tcp_check_rules = true;
                        d.proxy.tcp_check_rules.clear();
                    }
                    self.tcp_check_rule(words);
                }
            }
            _ => {
                if let Some(msg) = keywords::removed_proxy_keyword(kw) {
                    self.error(Form::Parsing, w0.col, msg);
                } else if keywords::is_unsupported_proxy(kw) {
                    self.not_supported(w0.col, kw);
                } else {
                    let section = match self.current() {
                        Some((k, _)) => k.keyword(),
                        None => "defaults",
                    };
                    let hint = self.suggest(kw, PROXY_KEYWORDS);
                    self.error(
                        Form::Parsing,
                        w0.col,
                        format!("unknown keyword '{kw}' in '{section}' section{hint}"),
                    );
                }
            }
        }
    }

    fn bind(&mut self, words: &[Word]) {
        let Some(spec) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments."
                    .into(),
            );
        };
        let line = self.line;
        let mut binds = Vec::new();
        let expanded = super::values::env_expand(&spec.text, &self.opts.env);
        for part in expanded.split(',') {
            let unbound = Bind::unbound(line);
            if let Some(n) = part.strip_prefix("fd@") {
                match n.parse::<i32>() {
                    Ok(fd) if fd >= 0 => binds.push(Bind {
                        fd: Some(fd),
                        ..unbound
                    }),
                    _ => self.error(
                        Form::Parsing,
                        spec.col,
                        format!("'bind' : invalid file descriptor '{n}' in '{}'.", spec.text),
                    ),
                }
                continue;
            }
            if let Some(unix) = UnixAddr::parse(part) {
                binds.push(Bind {
                    unix: Some(unix),
                    ..unbound
                });
                continue;
            }
            if part.contains('@') && !part.starts_with("ipv4@") && !part.starts_with("ipv6@") {
                self.not_supported(spec.col, &format!("bind address {part}"));
                continue;
            }
            let err = |p: &mut Self, m: String| {
                p.error(
                    Form::Parsing,
                    spec.col,
                    format!("'bind {}' : {m}", spec.text),
                )
            };
            match parse_host_port(part) {
                Ok(hp) => {
                    let addr = match hp.host {
                        Host::Any => None,
                        Host::Ip(ip) if ip.is_unspecified() && ip.is_ipv4() => None,
                        Host::Ip(ip) => Some(ip),
                        Host::Name(n) => {
                            let msg = format!("'bind' : invalid address: '{n}' in '{part}'");
                            self.error(Form::Parsing, spec.col, msg);
                            continue;
                        }
                    };
                    match hp.port {
                        Some(PortSpec::Range(port, port_end)) => binds.push(Bind {
                            addr,
                            port,
                            port_end,
                            ..unbound
                        }),
                        Some(PortSpec::Offset(_)) => {
                            err(self, addr_message(&AddrError::OffsetNotPermitted, part))
                        }
                        None => err(self, addr_message(&AddrError::MissingPort, part)),
                    }
                }
                Err(e) => err(self, addr_message(&e, part)),
            }
        }
        let mut tls = BindTls::default();
        let mut ssl = false;
        let mut i = 2;
        while let Some(p) = words.get(i) {
            let name = p.text.as_str();
            let rest: Vec<&str> = words[i..].iter().map(|w| w.text.as_str()).collect();
            match self.bind_tls_word(&mut tls, &rest) {
                Ok(0) => {}
                Ok(taken) => {
                    ssl |= name == "ssl";
                    i += taken;
                    continue;
                }
                Err(e) => {
                    self.bind_error(p.col, &spec.text, &e);
                    // The argument that was refused is not read again.
                    i += 1 + usize::from(BIND_WITH_ARG.contains(&name));
                    continue;
                }
            }
            if name == "accept-proxy" {
                binds.iter_mut().for_each(|b| b.accept_proxy = true);
                i += 1;
                continue;
            }
            // Seen in per-listener statistics (`option socket-stats`) and
            // in TLS listeners' log lines.
            if let ("name", Some(value)) = (name, words.get(i + 1)) {
                binds
                    .iter_mut()
                    .for_each(|b| b.name = Some(value.text.clone()));
                i += 2;
                continue;
            }
            if name == "mode" && binds.iter().all(|b| b.unix.is_some()) {
                match words.get(i + 1).map(|w| u32::from_str_radix(&w.text, 8)) {
                    Some(Ok(mode)) if mode <= 0o7777 => {
                        binds.iter_mut().for_each(|b| b.mode = Some(mode));
                    }
                    _ => self.bind_error(p.col, &spec.text, "'mode' : missing or invalid mode"),
                }
                i += 2;
                continue;
            }
            if name == "proto" {
                match words.get(i + 1).map(|w| w.text.as_str()) {
                    Some(value @ ("h1" | "h2" | "none")) => {
                        let proto = match value {
                            "h2" => BindProto::H2,
                            "h1" => BindProto::H1,
                            _ => BindProto::None,
                        };
                        binds.iter_mut().for_each(|b| b.proto = proto);
                        let written = (spec.text.clone(), line, proto);
                        self.draft().muxed_binds.push(written);
                    }
                    Some(value @ ("fcgi" | "quic")) => {
                        self.not_supported(p.col, &format!("bind proto {value}"));
                    }
                    Some(value) => self.bind_error(
                        p.col,
                        &spec.text,
                        &format!("'proto' :  unknown MUX protocol '{value}'"),
                    ),
                    None => self.bind_error(p.col, &spec.text, "'proto' : missing value"),
                }
                i += 2;
                continue;
            }
            if BIND_FLAGS.contains(&name) {
                i += 1;
            } else if BIND_WITH_ARG.contains(&name) {
                if words.get(i + 1).is_none() {
                    self.bind_error(p.col, &spec.text, &format!("'{name}' : missing value"));
                }
                i += 2;
            } else {
                let hint = self.suggest(name, &[BIND_FLAGS, BIND_WITH_ARG].concat());
                let section = self.section_keyword();
                self.error(
                    Form::Parsing,
                    p.col,
                    format!(
                        "'bind {}' in section '{section}': unknown keyword '{name}'{hint}",
                        spec.text
                    ),
                );
                i += 1;
                continue;
            }
            self.not_supported(p.col, &format!("bind {name}"));
        }
        if ssl {
            let tls = self.bind_tls_finish(tls, &spec.text, words[0].col);
            binds
                .iter_mut()
                .for_each(|b| b.tls = Some(Box::new(tls.clone())));
        }
        self.draft().proxy.binds.extend(binds);
    }

    /// An error in a setting of the `bind` line `spec`, worded as haproxy
    /// words it.
    fn bind_error(&mut self, col: u32, spec: &str, message: &str) {
        let section = self.section_keyword();
        let message = format!("'bind {spec}' in section '{section}' : {message}");
        self.error(Form::Parsing, col, message);
    }

    /// The keyword of the section being read (`frontend`, `listen`...).
    pub(crate) fn section_keyword(&self) -> &'static str {
        self.current()
            .map_or("defaults", |(kind, _)| kind.keyword())
    }

    fn use_backend(&mut self, words: &[Word]) {
        let Some(target) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'use_backend' expects a backend name.".into(),
            );
        };
        let cond = match words.get(2) {
            None => None,
            Some(_) => match self.condition(&words[2..], "switching rule") {
                Some(c) => Some(c),
                None => return,
            },
        };
        let line = self.line;
        let dynamic = if target.text.contains('%') {
            match self.lf(&target.text) {
                Ok(f) => Some(f),
                Err(Failure::Unsupported(what)) => return self.not_supported(target.col, &what),
                Err(Failure::Bad(msg)) => {
                    let msg = format!("'use_backend' : {msg}");
                    return self.error(Form::Parsing, target.col, msg);
                }
            }
        } else {
            None
        };
        self.draft()
            .rules
            .push((target.text.clone(), dynamic, cond, line));
    }

    fn balance(&mut self, words: &[Word]) {
        let algo = words.get(1).map(|w| w.text.as_str()).unwrap_or("");
        let arg = |i: usize| words.get(i).map(|w| w.text.clone());
        let b = match algo {
            "roundrobin" => Balance::Roundrobin,
            "static-rr" => Balance::StaticRr,
            "leastconn" => Balance::Leastconn,
            "first" => Balance::First,
            "source" => Balance::Source,
            a if a == "random" || a.starts_with("random(") && a.ends_with(')') => {
                let draws = a
                    .strip_prefix("random(")
                    .and_then(|d| d.strip_suffix(')'))
                    .map_or(2, |d| super::values::atol(d).clamp(1, 1000) as u32);
                Balance::Random { draws }
            }
            "uri" => {
                let (mut whole, mut len, mut depth, mut path_only) = (false, None, None, false);
                let mut i = 2;
                while let Some(w) = words.get(i) {
                    match w.text.as_str() {
                        "whole" => whole = true,
                        "path-only" => path_only = true,
                        "len" => {
                            len = arg(i + 1).map(|v| super::values::atol(&v).max(0) as u32);
                            i += 1;
                        }
                        "depth" => {
                            depth = arg(i + 1).map(|v| super::values::atol(&v).max(0) as u32);
                            i += 1;
                        }
                        other => {
                            let msg = format!("balance uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '{other}').");
                            return self.error(Form::Parsing, w.col, msg);
                        }
                    }
                    i += 1;
                }
                Balance::Uri {
                    whole,
                    len,
                    depth,
                    path_only,
                }
            }
            "url_param" => match arg(2) {
                Some(p) => Balance::UrlParam(p),
                None => {
                    return self.error(
                        Form::Parsing,
                        words[0].col,
                        "'balance url_param' requires an URL parameter name.".into(),
                    )
                }
            },
            a if a.starts_with("hdr(") && a.ends_with(')') => {
                Balance::Hdr(a[4..a.len() - 1].to_owned())
            }
            a if a.starts_with("rdp-cookie") => Balance::RdpCookie(
                a.trim_start_matches("rdp-cookie")
                    .trim_matches(|c| c == '(' || c == ')')
                    .to_owned(),
            ),
            _ => {
                return self.error(Form::Parsing, words[0].col, "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.".into());
            }
        };
        if !matches!(
            b,
            Balance::Roundrobin
                | Balance::StaticRr
                | Balance::Leastconn
                | Balance::First
                | Balance::Source
                | Balance::Uri { .. }
                | Balance::Random { .. }
        ) {
            self.not_supported(words[1].col, &format!("balance {algo}"));
        }
        self.draft().proxy.balance = b;
    }

    fn hash_type(&mut self, words: &[Word]) {
        let mut h = HashType::default();
        match words.get(1).map(|w| w.text.as_str()) {
            Some("map-based") => {}
            Some("consistent") => h.consistent = true,
            _ => {
                return self.error(
                    Form::Parsing,
                    words[0].col,
                    "hash-type requires 'map-based' or 'consistent'.".into(),
                )
            }
        }
        let func = words.get(2).map(|w| w.text.as_str());
        h.avalanche = words.iter().any(|w| w.text == "avalanche") || h.consistent && func.is_none();
        if let Some(f) = func.filter(|f| !matches!(*f, "sdbm" | "avalanche")) {
            self.not_supported(words[2].col, &format!("hash-type function {f}"));
        }
        self.draft().proxy.hash_type = h;
    }

    /// `log-format FORMAT`: kept as written until the proxy's mode is
    /// known; it replaces an earlier `option httplog|tcplog`.
    fn log_format(&mut self, words: &[Word]) {
        let col = words[0].col;
        let Some(text) = words.get(1) else {
            return self.error(Form::Parsing, col, "log-format expects an argument.".into());
        };
        if words.len() > 2 {
            let msg = "log-format expects only one argument, don't forget to escape spaces!";
            return self.error(Form::Parsing, col, msg.into());
        }
        if let Some((kind, name)) = self.current().filter(|(k, _)| !k.is_frontend()) {
            let msg = format!(
                "{} '{name}' : 'log-format' directive is ignored in backends.",
                kind.type_str()
            );
            return self.warn(Form::Parsing, col, msg);
        }
        let line = self.line;
        let d = self.draft();
        let o = &mut d.proxy.options;
        let previous = match (o.httplog, o.tcplog) {
            (true, _) => Some("httplog"),
            (_, true) => Some("tcplog"),
            _ => None,
        };
        (o.httplog, o.tcplog, o.httpslog) = (false, false, false);
        d.httplog_at = None;
        d.log_format = Some((text.text.clone(), line));
        // haproxy says so of a `defaults` section only.
        if let Some(previous) = previous.filter(|_| self.current().is_none()) {
            let msg = format!(
                "'log-format' overrides previous 'option {previous}' in 'defaults' section."
            );
            self.warn(Form::ParsingTight, col, msg);
        }
    }

    fn unique_id_format(&mut self, words: &[Word]) {
        let col = words[0].col;
        let Some(text) = words.get(1) else {
            let msg = "unique-id-format expects an argument.";
            return self.error(Form::Parsing, col, msg.into());
        };
        if words.len() > 2 {
            let msg = "unique-id-format expects only one argument, don't forget to escape spaces!";
            return self.error(Form::Parsing, col, msg.into());
        }
        match self.lf(&text.text) {
            Ok(f) => self.draft().proxy.unique_id_format = Some(f),
            Err(Failure::Unsupported(what)) => self.not_supported(text.col, &what),
            Err(Failure::Bad(msg)) => {
                let msg = format!("failed to parse unique-id-format : {msg}");
                self.error(Form::Parsing, text.col, msg);
            }
        }
    }

    /// `id N`: the proxy's number, unique, above 0.
    fn proxy_id(&mut self, words: &[Word]) {
        let w0 = &words[0];
        if self.not_in_defaults(w0, Form::ParsingTight) {
            return;
        }
        let Some(arg) = words.get(1) else {
            let msg = "'id' expects an integer argument.".to_owned();
            return self.error(Form::ParsingTight, w0.col, msg);
        };
        let Ok(id) =
            u32::try_from(super::values::atol(&arg.text)).map(|id| id.min(i32::MAX as u32))
        else {
            return self.error(
                Form::ParsingTight,
                w0.col,
                "custom id has to be > 0.".into(),
            );
        };
        if id == 0 {
            return self.error(
                Form::ParsingTight,
                w0.col,
                "custom id has to be > 0.".into(),
            );
        }
        let (kind, name) = self.current().unwrap_or((ProxyKind::Listen, String::new()));
        let this = format!("{} {name}", kind.keyword());
        if let Some(first) = self.proxy_ids.get(&id) {
            let msg = format!("{this} reuses same custom id as {first}.");
            return self.error(Form::ParsingTight, w0.col, msg);
        }
        let line = self.draft().proxy.line;
        let declared = format!("{this} (declared at {}:{line})", self.file);
        self.proxy_ids.insert(id, declared);
        self.draft().proxy.id = Some(id);
    }

    /// `compression algo|type|offload ...`.
    fn compression(&mut self, words: &[Word]) {
        let args: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
        let place = format!("{}:{}", self.file, self.line);
        let in_defaults = self.section == Section::Defaults;
        let comp = self
            .draft()
            .proxy
            .compression
            .get_or_insert_with(Default::default);
        match super::compression::read_line(comp, &args, (in_defaults, &place)) {
            Ok(None) => {}
            Ok(Some(warning)) => self.warn(Form::Parsing, words[0].col, warning),
            Err(msg) => self.error(Form::Parsing, words[0].col, msg),
        }
    }

    fn http_reuse(&mut self, words: &[Word]) {
        let mode = match words.get(1).map(|w| w.text.as_str()) {
            Some("never") => HttpReuse::Never,
            Some("safe") => HttpReuse::Safe,
            Some("aggressive") => HttpReuse::Aggressive,
            Some("always") => HttpReuse::Always,
            _ => {
                return self.error(
                    Form::Parsing,
                    words[0].col,
                    "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'".into(),
                )
            }
        };
        self.draft().proxy.http_reuse = mode;
    }

    fn option(&mut self, words: &[Word], negate: bool) {
        let Some(opt) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'option' expects an option name.".into(),
            );
        };
        let name = opt.text.as_str();
        if TCP_CHECK_OPTIONS.contains(&name) {
            return self.tcp_check_option(words, negate);
        }
        let backend_only = matches!(
            name,
            "httpchk" | "redispatch" | "abortonclose" | "allbackups" | "tcp-smart-connect"
        );
        if backend_only && !self.applies(opt, Side::Backend, name) {
            return;
        }
        let frontend_only = matches!(name, "dontlognull" | "tcp-smart-accept");
        if frontend_only && !self.applies(opt, Side::Frontend, name) {
            return;
        }
        let http_log = matches!(name, "httplog" | "httpslog");
        if http_log && self.current().is_some_and(|(k, _)| !k.is_frontend()) {
            let n = self.current().map(|(_, n)| n).unwrap_or_default();
            return self.warn(
                Form::Parsing,
                opt.col,
                format!("backend '{n}' : 'option {name}' directive is ignored in backends."),
            );
        }
        let line = self.line;
        let file = self.file.clone();
        let d = self.draft();
        let o = &mut d.proxy.options;
        match name {
            "redispatch" => {
                o.redispatch = (!negate).then(|| {
                    words
                        .get(2)
                        .map_or(-1, |w| super::values::atol(&w.text) as i32)
                });
                if o.redispatch == Some(0) {
                    o.redispatch = None;
                }
            }
            "abortonclose" => o.abortonclose = !negate,
            "prefer-last-server" => o.prefer_last_server = !negate,
            "transparent" => o.transparent = !negate,
            "allbackups" => o.allbackups = !negate,
            "dontlognull" => o.dontlognull = !negate,
            "nolinger" => o.nolinger = !negate,
            "tcp-smart-accept" => o.tcp_smart_accept = Some(!negate),
            "tcp-smart-connect" => o.tcp_smart_connect = !negate,
            "splice-request" => o.splice.request = !negate,
            "splice-response" => o.splice.response = !negate,
            "splice-auto" => o.splice.auto = !negate,
            "http-buffer-request" => o.http_buffer_request = !negate,
            "http-ignore-probes" => o.ignore_probes = !negate,
            "socket-stats" => o.socket_stats = !negate,
            "disable-h2-upgrade" => o.disable_h2_upgrade = !negate,
            "log-health-checks" => o.log_health_checks = !negate,
            "http-restrict-req-hdr-names" => {
                o.restrict_header_names = match words.get(2).map(|w| w.text.as_str()) {
                    Some("preserve") => HeaderNames::Preserve,
                    Some("delete") => HeaderNames::Delete,
                    Some("reject") => HeaderNames::Reject,
                    other => {
                        let what = match other {
                            None => "missing parameter".to_owned(),
                            Some(p) => format!("invalid parameter '{p}'"),
                        };
                        let msg = format!("{what}. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.");
                        return self.error(Form::Parsing, opt.col, msg);
                    }
                };
            }
            "httplog" | "httpslog" | "tcplog" => {
                // The last of them says which format lines have.
                o.httpslog = name == "httpslog" && !negate;
                let (this, other) = if http_log {
                    (&mut o.httplog, &mut o.tcplog)
                } else {
                    (&mut o.tcplog, &mut o.httplog)
                };
                let overrides = *other && !negate;
                let replaces_format = !negate && d.log_format.take().is_some();
                *this = !negate;
                d.httplog_at = (http_log && !negate).then(|| (file.clone(), line));
                if overrides {
                    *other = false;
                }
                // haproxy says so of a `defaults` section only.
                if overrides && self.current().is_none() {
                    let prev = if http_log { "tcplog" } else { "httplog" };
                    self.warn(Form::ParsingTight, opt.col, format!("'option {name}' overrides previous 'option {prev}' in 'defaults' section."));
                }
                if replaces_format && self.current().is_none() {
                    self.warn(Form::ParsingTight, opt.col, format!("'option {name}' overrides previous 'log-format' in 'defaults' section."));
                }
            }
            "forwardfor" => {
                o.forwardfor = (!negate).then(|| forwardfor(&words[2..], "X-Forwarded-For"));
            }
            "originalto" => {
                o.originalto = (!negate).then(|| forwardfor(&words[2..], "X-Original-To"));
            }
            "httpclose" | "forceclose" => {
                o.http_conn = if negate {
                    HttpConnMode::KeepAlive
                } else {
                    HttpConnMode::Close
                }
            }
            "http-server-close" => {
                o.http_conn = if negate {
                    HttpConnMode::KeepAlive
                } else {
                    HttpConnMode::ServerClose
                }
            }
            "http-keep-alive" => o.http_conn = HttpConnMode::KeepAlive,
            "httpchk" => {
                d.httpchk_option = !negate;
                if negate {
                    d.proxy.http_check = None;
                } else {
                    d.proxy.tcp_check = None;
                    self.httpchk_option(words, opt.col);
                }
            }
            _ => {
                if let Some(msg) = keywords::removed_option(name) {
                    self.error(Form::ParsingTight, opt.col, msg.to_owned());
                } else if keywords::is_unsupported_option(name) {
                    self.not_supported(opt.col, &format!("option {name}"));
                } else {
                    self.error(Form::Parsing, opt.col, format!("unknown option '{name}'."));
                }
            }
        }
    }

    fn timeout(&mut self, words: &[Word]) {
        let Some(which) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'timeout' expects a name and a value.".into(),
            );
        };
        let name = which.text.as_str();
        let side = match name {
            "client" | "http-request" | "http-keep-alive" | "client-fin" => Side::Frontend,
            "connect" | "server" | "queue" | "check" | "tunnel" | "server-fin" => Side::Backend,
            "tarpit" => Side::Both,
            _ => {
                return self.error(Form::Parsing, which.col, format!("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{name}')"));
            }
        };
        let what = format!("timeout {name}");
        let Some(value) = self.time_arg(words, 2, &what) else {
            return;
        };
        if !self.applies(which, side, &what) {
            return;
        }
        let t = &mut self.draft().proxy.timeouts;
        let slot = match name {
            "client" => &mut t.client,
            "http-request" => &mut t.http_request,
            "http-keep-alive" => &mut t.http_keep_alive,
            "connect" => &mut t.connect,
            "server" => &mut t.server,
            "queue" => &mut t.queue,
            "check" => &mut t.check,
            "tunnel" => &mut t.tunnel,
            "tarpit" => &mut t.tarpit,
            _ => return self.not_supported(which.col, &what),
        };
        *slot = Some(value);
    }

    /// True inside a frontend or listen section.
    pub(crate) fn in_frontend(&self) -> bool {
        matches!(
            self.current(),
            Some((ProxyKind::Frontend | ProxyKind::Listen, _))
        )
    }

    /// `http-request use-service prometheus-exporter [if|unless <cond>]`.
    fn prometheus_rule(&mut self, words: &[Word]) {
        let cond = match words.get(3) {
            None => None,
            Some(_) => match self.condition(&words[3..], "'http-request use-service' rule") {
                Some(c) => Some(c),
                None => return,
            },
        };
        let line = self.line;
        self.draft()
            .proxy
            .prometheus
            .push(ExporterRule { cond, line });
    }

    fn stats(&mut self, words: &[Word]) {
        let Some(sub) = words.get(1) else {
            return self.error(Form::Parsing, words[0].col, "'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-node' or 'uri'.".into());
        };
        let name = sub.text.as_str();
        let arg = words.get(2).map(|w| w.text.clone());
        let needs_arg = matches!(name, "uri" | "auth" | "refresh" | "realm" | "scope");
        if needs_arg && arg.is_none() {
            return self.error(
                Form::Parsing,
                sub.col,
                format!("'stats {name}' needs an argument."),
            );
        }
        let refresh = if name == "refresh" {
            self.time_arg(words, 2, "stats refresh")
        } else {
            None
        };
        let admin = if name == "admin" {
            match self.condition(&words[2..], "stats admin rule") {
                Some(c) => Some(c),
                None => return,
            }
        } else {
            None
        };
        let d = self.draft();
        let s = d.proxy.stats.get_or_insert_with(|| Stats {
            uri: "/haproxy?stats".into(),
            auth: Vec::new(),
            refresh: None,
            realm: None,
            hide_version: false,
            admin: None,
            show_node: None,
            show_desc: None,
            show_legends: false,
            show_modules: false,
            scope: Vec::new(),
        });
        match name {
            "enable" => {}
            "uri" => s.uri = arg.unwrap_or_default(),
            "realm" => s.realm = arg,
            "hide-version" => s.hide_version = true,
            "refresh" => s.refresh = refresh,
            "admin" => s.admin = admin,
            "auth" => {
                let a = arg.unwrap_or_default();
                match a.split_once(':') {
                    Some((u, p)) => s.auth.push((u.to_owned(), p.to_owned())),
                    None => self.error(Form::Parsing, sub.col, "'stats auth' needs a user:password account.".into()),
                }
            }
            "show-node" => s.show_node = Some(arg.unwrap_or_default()),
            "show-desc" => {
                let text: Vec<&str> = words[2..].iter().map(|w| w.text.as_str()).collect();
                s.show_desc = Some(text.join(" "));
            }
            "show-legends" => s.show_legends = true,
            "show-modules" => s.show_modules = true,
            "scope" => s.scope.push(arg.unwrap_or_default()),
            "http-request" => {
                self.not_supported(sub.col, &format!("stats {name}"));
            }
            _ => self.error(Form::Parsing, sub.col, format!("unknown stats parameter '{name}' (expects 'admin', 'auth', 'enable', 'hide-version', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-node' or 'uri').")),
        }
    }

    /// `dispatch <addr>:<port>`.
    fn dispatch(&mut self, words: &[Word]) {
        // haproxy's words for an empty or portless address.
        let Some(target) = words.get(1) else {
            let msg =
                "'dispatch' : '' resolves to an empty address (environment variable missing?)";
            return self.error(Form::Parsing, words[0].col, msg.into());
        };
        match target.text.parse::<std::net::SocketAddr>() {
            Ok(addr) => self.draft().proxy.dispatch = Some(addr),
            Err(_) if !target.text.contains(':') => {
                let msg = format!(
                    "'dispatch' : missing port specification in '{}'",
                    target.text
                );
                self.error(Form::Parsing, target.col, msg);
            }
            Err(_) => {
                let msg = format!("'dispatch' : invalid address: '{}'", target.text);
                self.error(Form::Parsing, target.col, msg);
            }
        }
    }
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
/// `option forwardfor` or `option originalto` arguments; `header` is the
/// default header name.
fn forwardfor(args: &[Word], header: &str) -> Forwardfor {
    let mut f = Forwardfor {
        header: header.into(),
        except: None,
        if_none: false,
    };
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let next = args.get(i + 1).map(|w| w.text.clone());
        match w.text.as_str() {
            "except" => {
                f.except = next;
                i += 1;
            }
            "header" => {
                f.header = next.unwrap_or(f.header);
                i += 1;
            }
            "if-none" => f.if_none = true,
            _ => {}
        }
        i += 1;
    }
    f
}

/// The text after `'server b/s' : ` for an address problem.
pub(crate) fn addr_message(e: &AddrError, whole: &str) -> String {
    match e {
        AddrError::PortChar(c, p) => {
            format!("invalid character '{c}' in port number '{p}' in '{whole}'")
        }
        AddrError::PortRange(p) => format!("invalid port '{p}'"),
        AddrError::RangeNotPermitted => format!("port range not permitted here in '{whole}'"),
        AddrError::OffsetNotPermitted => format!("port offset not permitted here in '{whole}'"),
        AddrError::MissingPort => format!("missing port number: '{whole}'"),
        AddrError::Unresolvable(h) => format!("could not resolve address '{h}'."),
    }
}

/// True for `http-request use-service prometheus-exporter ...`, the one
/// `http-request` action haven acts on.
fn is_prometheus_rule(words: &[Word]) -> bool {
    let word = |i: usize| words.get(i).map(|w| w.text.as_str());
    word(1) == Some("use-service") && word(2) == Some("prometheus-exporter")
}
