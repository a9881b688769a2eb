//! Checks haproxy makes once every file is read: backend references,
//! mode compatibility, missing binds and timeouts, ignored `http-check`
//! rules. Turns drafts into the final proxies.

use super::model::*;
use super::parser::Parser;
use super::tcp_request::{TcpAction, TcpLayer, TcpRequestRule};
use super::HttpAction;
use crate::config::{Form, Severity};
use crate::sample::{Alias, Fetch, Part};

/// Resolves every draft into a [`Proxy`]; problems go to the parser's
/// diagnostics (unplaced, as haproxy prints them).
pub(crate) fn resolve(p: &mut Parser<'_>) -> Vec<Proxy> {
    let drafts = std::mem::take(&mut p.drafts);
    let find = |name: &str| {
        drafts
            .iter()
            .position(|d| d.proxy.kind.is_backend() && d.proxy.name == name)
    };
    let mut out = Vec::with_capacity(drafts.len());
    for d in &drafts {
        let mut proxy = d.proxy.clone();
        let me = &d.proxy;
        let lookup = |name: &str, what: &str, p: &mut Parser<'_>| -> Option<BackendRef> {
            let Some(index) = find(name) else {
                p.post_error(
                    Severity::Error,
                    format!(
                        "Proxy '{}': unable to find required {what}: '{name}'.",
                        me.name
                    ),
                );
                return None;
            };
            let be = &drafts[index].proxy;
            if me.mode == Mode::Http && be.mode == Mode::Tcp {
                let role = if what == "default_backend" {
                    "its default backend"
                } else {
                    "a 'use_backend' rule"
                };
                p.post_error(
                    Severity::Error,
                    format!(
                        "http frontend '{}' ({}:{}) tries to use incompatible tcp backend '{}' ({}:{}) as {role} (see 'mode').",
                        me.name, p.file, me.line, be.name, p.file, be.line
                    ),
                );
            }
            Some(BackendRef {
                name: name.to_owned(),
                index,
            })
        };
        if me.kind.is_frontend() {
            proxy.default_backend = d
                .default_backend
                .as_ref()
                .and_then(|(name, _)| lookup(name, "default_backend", p));
            proxy.switching_rules = d
                .rules
                .iter()
                .filter_map(|(name, dynamic, cond, line)| {
                    let backend = match dynamic {
                        Some(_) => None,
                        None => Some(lookup(name, "use_backend", p)?),
                    };
                    Some(SwitchingRule {
                        backend,
                        dynamic: dynamic.clone(),
                        cond: cond.clone(),
                        line: *line,
                    })
                })
                .collect();
            upgrade_to_http(p, &drafts, &mut proxy);
            if me.binds.is_empty() {
                p.post_error(
                    Severity::Warning,
                    format!(
                        "{} '{}' has no 'bind' directive. Please declare it as a backend if this was intended.",
                        me.kind.type_str(),
                        me.name
                    ),
                );
            }
        }
        let t = &me.timeouts;
        let missing = (me.kind.is_frontend() && t.client.is_none())
            || (me.kind.is_backend() && (t.connect.is_none() || t.server.is_none()));
        if missing {
            p.post_error(
                Severity::Warning,
                format!(
                    "missing timeouts for {} '{}'.\n   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
                    me.kind.type_str(),
                    me.name
                ),
            );
        }
        if !d.httpchk_option && me.kind.is_backend() && d.http_check_line.is_some() {
            p.post_error(
                Severity::Warning,
                format!(
                    "{} '{}' uses http-check rules without 'option httpchk', so the rules are ignored.",
                    me.kind.type_str(),
                    me.name
                ),
            );
        }
        if d.httpchk_option {
            if let Some(check) = &mut proxy.http_check {
                super::http_check::finish(check);
            }
        } else {
            proxy.http_check = None;
        }
        let tcp_frontend = me.mode == Mode::Tcp && me.kind.is_frontend();
        if tcp_frontend {
            httplog_falls_back(p, d, &mut proxy);
        }
        custom_log_format(p, d, &mut proxy);
        log_format_needs_a_target(p, &proxy);
        if tcp_frontend {
            forwardfor_ignored(p, &mut proxy);
        }
        unusable_muxes_refused(p, d);
        if me.mode == Mode::Tcp && !proxy.http_upgrade {
            // A connection's content rules let it in or not, set
            // variables, or switch it to HTTP; its addresses stay.
            let changes = |r: &&TcpRequestRule| {
                r.layer == TcpLayer::Content
                    && matches!(r.action, TcpAction::SetSrc(_) | TcpAction::SetDst(_))
            };
            for rule in me.tcp_request.iter().filter(changes) {
                let what = "tcp-request content set-src|set-dst in mode tcp";
                p.post_not_supported((p.file.clone(), rule.line), what);
            }
        }
        out.push(proxy);
    }
    rule_references_exist(p, &out);
    default_fullconn(&p.global, &mut out);
    number_proxies(!p.global.stats_sockets.is_empty(), &mut out);
    out
}

/// Gives each proxy its number as haproxy does: its `id`, else the first
/// number not taken from where the count stands, the count going up by
/// one per proxy (the runtime API's own, first when there is one, too).
fn number_proxies(runtime_api: bool, proxies: &mut [Proxy]) {
    let mut taken: std::collections::BTreeSet<u32> = proxies.iter().filter_map(|p| p.id).collect();
    let mut next = 1;
    let mut number = |id: Option<u32>| {
        let uuid = id.unwrap_or_else(|| {
            while taken.contains(&next) {
                next += 1;
            }
            taken.insert(next);
            next
        });
        next += 1;
        uuid
    };
    if runtime_api {
        number(None);
    }
    for proxy in proxies {
        proxy.uuid = number(proxy.id);
    }
}

/// A `mode tcp` frontend that sends connections to a `mode http` backend:
/// haproxy turns them into HTTP streams. When the default backend is the
/// only way out (no `use_backend`, no `tcp-request content` rule to run
/// first), every connection is upgraded at once, and haven serves the
/// frontend as HTTP from the first byte; when its content rules switch
/// every connection they let through (`switch-mode http`), those are
/// served as HTTP; otherwise, it says it cannot.
fn upgrade_to_http(p: &mut Parser<'_>, drafts: &[super::parser::Draft], proxy: &mut Proxy) {
    let http = |r: &BackendRef| drafts[r.index].proxy.mode == Mode::Http;
    let to_http = proxy.default_backend.as_ref().is_some_and(http)
        || proxy
            .switching_rules
            .iter()
            .any(|r| r.backend.as_ref().is_some_and(http));
    if proxy.mode != Mode::Tcp || !to_http || none_stay_tcp(proxy) {
        return;
    }
    let content_rules = proxy
        .tcp_request
        .iter()
        .any(|r| r.layer == TcpLayer::Content);
    if proxy.switching_rules.is_empty() && !content_rules {
        proxy.http_upgrade = true;
    } else {
        let at = (p.file.clone(), proxy.line);
        p.post_not_supported(at, "mode tcp frontend to mode http backend");
    }
}

/// No connection leaves `proxy`'s content rules as TCP: before any
/// `accept`, an unconditional `switch-mode http`, `reject` or
/// `silent-drop` ends them.
fn none_stay_tcp(proxy: &Proxy) -> bool {
    let content = proxy
        .tcp_request
        .iter()
        .filter(|r| r.layer == TcpLayer::Content);
    for rule in content {
        match rule.action {
            TcpAction::Accept => return false,
            TcpAction::SwitchToHttp(_) | TcpAction::Reject | TcpAction::SilentDrop
                if rule.cond.is_none() =>
            {
                return true
            }
            _ => {}
        }
    }
    false
}

/// haproxy's `maxconn` when neither the frontend nor `global` sets one
/// (its build default; haproxy raises it from the file descriptor limit
/// when it can).
const DEFAULT_MAXCONN: u64 = 2000;

/// Gives each backend without `fullconn` haproxy's default: a tenth of
/// the `maxconn`s of the frontends that use it, at least 1. As in
/// haproxy, a frontend counts once for its `default_backend` (a `listen`
/// without one, for itself) and once per static `use_backend` rule.
fn default_fullconn(global: &Global, proxies: &mut [Proxy]) {
    let mut totals = vec![0u64; proxies.len()];
    for (f, p) in proxies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind.is_frontend())
    {
        let maxconn = p
            .maxconn
            .or(global.maxconn)
            .map_or(DEFAULT_MAXCONN, u64::from);
        let default = match (&p.default_backend, p.kind) {
            (Some(r), _) => Some(r.index),
            (None, ProxyKind::Listen) => Some(f),
            (None, _) => None,
        };
        let rules = p.switching_rules.iter().filter_map(|r| r.backend.as_ref());
        for b in default.into_iter().chain(rules.map(|r| r.index)) {
            totals[b] += maxconn;
        }
    }
    for (p, total) in proxies.iter_mut().zip(totals) {
        if p.kind.is_backend() && p.fullconn.is_none() {
            let full = total.div_ceil(10);
            p.fullconn = Some(u32::try_from(full).unwrap_or(u32::MAX).max(1));
        }
    }
}

/// Every `stick` and `track-sc*` rule names a table that exists, and every `capture
/// ... id N` rule a slot its frontend declares, as haproxy checks.
fn rule_references_exist(p: &mut Parser<'_>, proxies: &[Proxy]) {
    for proxy in proxies {
        for rule in &proxy.tcp_request {
            if let TcpAction::Track { slot, table, .. } = &rule.action {
                let name = table.as_deref().unwrap_or(&proxy.name);
                if !proxies
                    .iter()
                    .any(|t| t.name == name && t.stick_table.is_some())
                {
                    let msg = format!(
                        "Proxy '{}': unable to find table '{name}' referenced by track-sc{slot}.",
                        proxy.name
                    );
                    p.post_error(Severity::Error, msg);
                }
            }
        }
        for rule in &proxy.stick_rules {
            let name = rule.table.as_deref().unwrap_or(&proxy.name);
            if !proxies
                .iter()
                .any(|t| t.name == name && t.stick_table.is_some())
            {
                let msg = format!(
                    "Proxy '{}': unable to find stick-table '{name}'.",
                    proxy.name
                );
                p.post_error(Severity::Error, msg);
            }
        }
        let phases = [
            ("http-request", &proxy.http_request, &proxy.captures.request),
            (
                "http-response",
                &proxy.http_response,
                &proxy.captures.response,
            ),
        ];
        for (kw, rules, slots) in phases {
            for rule in rules {
                let problem = match &rule.action {
                    HttpAction::Track { slot, table, .. } => {
                        let name = table.as_deref().unwrap_or(&proxy.name);
                        let found = proxies
                            .iter()
                            .any(|t| t.name == name && t.stick_table.is_some());
                        (!found).then(|| {
                            format!("unable to find table '{name}' referenced by track-sc{slot}.")
                        })
                    }
                    // A backend's rule fills its frontend's slots: known
                    // per request only.
                    HttpAction::Capture { slot, .. }
                        if proxy.kind.is_frontend() && *slot >= slots.len() =>
                    {
                        Some(format!(
                            "unable to find capture id '{slot}' referenced by {kw} capture rule."
                        ))
                    }
                    _ => None,
                };
                if let Some(msg) = problem {
                    p.post_error(Severity::Error, format!("Proxy '{}': {msg}", proxy.name));
                }
            }
        }
    }
}

/// `option httplog` on a `mode tcp` frontend: haproxy says so and logs
/// as `option tcplog`.
fn httplog_falls_back(p: &mut Parser<'_>, d: &super::parser::Draft, proxy: &mut Proxy) {
    if let Some(at) = d.httplog_at.clone().filter(|_| proxy.options.httplog) {
        let msg = format!(
            "'option httplog' not usable with {} '{}' (needs 'mode http'). Falling back to 'option tcplog'.",
            proxy.kind.type_str(),
            proxy.name
        );
        p.post_error_at(Severity::Warning, at, msg);
        proxy.options.httplog = false;
        proxy.options.tcplog = true;
    }
}

/// `option forwardfor` on a `mode tcp` frontend: haproxy says so and
/// ignores it.
fn forwardfor_ignored(p: &mut Parser<'_>, proxy: &mut Proxy) {
    if proxy.options.forwardfor.take().is_some() {
        let msg = format!(
            "'option forwardfor' ignored for {} '{}' as it requires HTTP mode.",
            proxy.kind.type_str(),
            proxy.name
        );
        p.post_error(Severity::Warning, msg);
    }
}

/// Binds and servers whose `proto` the proxy's mode cannot speak: an
/// HTTP version in `mode tcp`, `none` in `mode http`; refused in
/// haproxy's words.
fn unusable_muxes_refused(p: &mut Parser<'_>, d: &super::parser::Draft) {
    let me = &d.proxy;
    let (kind, name) = (me.kind.type_str(), &me.name);
    let tcp = me.mode == Mode::Tcp;
    let unusable = |proto: BindProto| match proto {
        BindProto::H1 if tcp => Some("h1"),
        BindProto::H2 if tcp => Some("h2"),
        BindProto::None if !tcp => Some("none"),
        _ => None,
    };
    for (spec, line, proto) in &d.muxed_binds {
        let Some(mux) = unusable(*proto) else {
            continue;
        };
        let msg = format!(
            "{kind} '{name}' : MUX protocol '{mux}' is not usable for 'bind {spec}' at [{}:{line}].",
            p.file
        );
        p.post_error(Severity::Error, msg);
    }
    for s in me.servers.iter().filter(|s| tcp && s.proto.is_some()) {
        let msg = format!(
            "{kind} '{name}' : MUX protocol '{}' is not usable for server '{}' at [{}:{}].",
            if s.speaks_h2() { "h2" } else { "h1" },
            s.name,
            p.file,
            s.line
        );
        p.post_error(Severity::Error, msg);
    }
}

/// A frontend's `log-format`, read for its mode: its lines take that
/// format, and traffic is logged as with `option httplog` (`tcplog`).
fn custom_log_format(p: &mut Parser<'_>, d: &super::parser::Draft, proxy: &mut Proxy) {
    let Some((text, line)) = d.log_format.as_ref().filter(|_| proxy.kind.is_frontend()) else {
        return;
    };
    let http = proxy.mode == Mode::Http;
    let at = (p.file.clone(), *line);
    match crate::sample::Format::parse_log(text, p.files(), http) {
        Ok(format) => {
            if http && format.names_any(&[Alias::BytesIn]) {
                p.post_not_supported(at.clone(), "log-format %U in mode http");
            }
            if format.names_any(&[Alias::Ti, Alias::Tq, Alias::Tt, Alias::Tu]) {
                p.post_not_supported(at.clone(), "log-format %Ti");
            }
            // What a log line's samples cannot see in haven.
            let blank = format.parts.iter().any(|p| {
                matches!(p, Part::Sample(e, _) if matches!(e.fetch, Fetch::Stick { .. } | Fetch::SrvId))
            });
            if blank {
                p.post_not_supported(at, "log-format sample fetch sc_*, src_* or srv_id");
            }
            proxy.log_format = Some(format);
            proxy.options.httplog = http;
            proxy.options.tcplog = !http;
        }
        Err(e) => match super::http_rule::unsupported_sample(&e) {
            Some(what) => p.post_not_supported(at, &what),
            None => {
                let msg = format!("failed to parse log-format : {e}.");
                p.post_error_in(Severity::Error, at, Form::ParsingCapitalLate, msg);
            }
        },
    }
}

/// A frontend with a log format (`option httplog` or `tcplog`) but no log
/// target: haproxy says the format is ignored.
fn log_format_needs_a_target(p: &mut Parser<'_>, proxy: &Proxy) {
    let logged_to = proxy.logs.iter().any(|l| match l {
        LogTarget::Global => !p.global.logs.is_empty(),
        LogTarget::Target { .. } => true,
    });
    let formatted = proxy.options.httplog || proxy.options.tcplog;
    if proxy.kind.is_frontend() && formatted && !logged_to {
        let msg = format!(
            "log format ignored for {} '{}' since it has no log address.",
            proxy.kind.type_str(),
            proxy.name
        );
        p.post_error(Severity::Warning, msg);
    }
}
