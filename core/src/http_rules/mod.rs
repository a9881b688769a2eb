//! `http-request`, `redirect`, `http-response` and `http-after-response`
//! rules, run as haproxy runs them: in order, each whose condition holds
//! doing its action, on a working copy of the message. What they change
//! comes out as [`Edit`]s for the driver; an answer they give (`deny`,
//! `return`, `redirect`) as an [`Answer`].

mod edit;
mod headers;
mod normalize;
mod reply;
mod room;

pub use edit::{apply_headers, Edit};
pub use headers::Headers;
pub use reply::Rendered;
pub use room::{head_size, Room};

use crate::cache::{CacheRequest, Hit, StoreAsk, TxnCache};
use crate::config::haproxy::{
    CounterAction, HeaderNames, HttpAction, HttpRule, LinePart, NameMatch, Proxy, TcpAction,
    TcpLayer, TimeoutValue, Userlist,
};
use crate::proxy_protocol::ProxyHeader;
use crate::route::{condition, path_and_query, RequestHead};
use crate::sample::{
    backrefs, Around, Captured, Expr, Format, HeaderView, Response, Scope, ServerTls, TlsSession,
    Value, VarName, Vars,
};
use crate::stick::{StickEvent, StickKey, StickTables, StickView, Tracked};
use crate::time::Instant;
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How a rule ended a request before any server: the status, haproxy's
/// termination state, and the reply (`None`: haproxy's page or the
/// `errorfile` for the status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status sent.
    pub status: u16,
    /// Termination state (`PR`: denied, `LR`: answered by haproxy).
    pub termination: &'static str,
    /// The reply, when not haproxy's page for the status.
    pub reply: Option<Rendered>,
    /// Headers added to haproxy's page (`auth`'s `www-authenticate`).
    pub headers: Vec<(String, String)>,
}

/// The names a rule's samples see.
#[derive(Debug, Clone, Copy, Default)]
pub struct Names<'a> {
    /// The frontend.
    pub frontend: &'a str,
    /// The backend, once chosen.
    pub backend: &'a str,
    /// The server, once chosen.
    pub server: &'a str,
    /// The server's id, once chosen.
    pub server_id: Option<u32>,
    /// The stick tables and the time, where rules may track or read them.
    pub stick: Option<(&'a RefCell<StickTables>, Instant)>,
    /// The proxy whose rule runs (`""`: the frontend).
    pub current: &'a str,
}

/// One transaction as rules see and change it.
#[derive(Debug, Clone, Default)]
pub struct Txn {
    /// The method, as rules left it.
    pub method: String,
    /// The target, as rules left it.
    pub uri: String,
    /// The request headers, as rules left them.
    pub headers: Headers,
    /// The request body when it was read whole.
    pub body: Vec<u8>,
    /// The client's address (`set-src` changes it).
    pub client: Option<IpAddr>,
    /// The client's port.
    pub src_port: Option<u16>,
    /// The address the client reached (`set-dst` changes it).
    pub dst: Option<SocketAddr>,
    /// The client connection's own addresses (`fc_src`, `fc_dst`).
    pub conn: Option<(Option<SocketAddr>, Option<SocketAddr>)>,
    /// Variables, the session's (`sess.`) among them.
    pub vars: Vars,
    /// A rule set or unset a variable of the session.
    pub session_changed: bool,
    /// A rule changed a process-wide variable.
    proc_changed: bool,
    /// The request's room for rewrites.
    pub room: Room,
    /// A rewrite did not fit in strict mode: the request fails.
    rewrite_failed: bool,
    /// A normalizer found the target invalid: the request gets a 400.
    bad_request: bool,
    /// The request is its connection's first.
    pub first_request: bool,
    /// The request came as HTTP/1.0.
    pub http10: bool,
    /// What the transaction captured into its frontend's slots.
    pub captured: Captured,
    /// The method and target as the client sent them, once a rule
    /// changed either (until then they are `method` and `uri`).
    sent: Option<Box<(String, String)>>,
    /// The PROXY protocol header the connection began with.
    pub proxied: Option<ProxyHeader>,
    /// What the connection's TLS handshake agreed on.
    pub tls: Option<Arc<TlsSession>>,
    /// What the TLS server connection agreed on, with the certificate
    /// the server presented.
    pub server_tls: Option<Arc<ServerTls>>,
    /// The request's unique id, once made.
    pub unique_id: Option<String>,
    /// What `track-sc0..2` track.
    pub tracked: [Option<Tracked>; 3],
    /// The slots of `tracked` the client's session holds (they outlive
    /// the request).
    pub session_slots: [bool; 3],
    /// The config's `userlist` sections, when it has any.
    pub userlists: Option<Arc<[Userlist]>>,
    /// Changes made to the request, in order.
    pub edits: Vec<Edit>,
    /// What `cache-use` and `cache-store` rules found and asked.
    pub cache: Option<Box<TxnCache>>,
    /// Now, in seconds since the epoch (`date`), as the flow last said.
    pub date: i64,
    /// The severity `set-log-level` gave the log line (`Some(None)`:
    /// silent).
    pub log_level: Option<Option<u8>>,
    /// A `silent-drop` rule ended the transaction: its connection closes
    /// without a word to the client.
    pub silent_drop: bool,
    /// `timeout server` and `timeout tunnel` as `set-timeout` set them.
    pub timeouts: [Option<crate::time::Duration>; 2],
    /// The headers `early-hint` rules send ahead, one `103` each.
    pub early_hints: Vec<(String, String)>,
}

/// A response as rules see and change it.
#[derive(Debug, Clone, Default)]
pub struct ResponseDraft {
    /// Its status, as rules left it.
    pub status: u16,
    /// Its headers, as rules left them.
    pub headers: Headers,
    /// Changes made, in order.
    pub edits: Vec<Edit>,
    /// Its room for rewrites.
    pub room: Room,
    /// A rewrite did not fit in strict mode: the response fails.
    pub failed: bool,
}

/// Why a list of rules stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// `allow`: the rest of this list is skipped.
    Allow,
    /// The request is answered.
    Answer(Answer),
}

impl Txn {
    /// The transaction of request `head`.
    pub fn new(head: &RequestHead<'_>) -> Self {
        Self {
            method: head.method.to_owned(),
            uri: head.uri.to_owned(),
            headers: {
                let mut headers = match head.headers {
                    HeaderView::Kept(kept) => kept.with_room(),
                    HeaderView::Parsed(fields) => Headers::of_text(fields),
                    view => Headers::of(view.iter()),
                };
                headers.lower_names();
                headers
            },
            body: head.payload.to_vec(),
            client: head.client,
            src_port: head.around.src_port,
            dst: head.around.dst,
            conn: head.around.conn,
            vars: head.around.vars.cloned().unwrap_or_default(),
            session_changed: false,
            proc_changed: false,
            room: Room::default(),
            rewrite_failed: false,
            bad_request: false,
            first_request: head.around.first_request,
            http10: head.around.http10,
            captured: Captured::default(),
            sent: None,
            proxied: head.around.proxied.cloned(),
            tls: head.around.tls.cloned(),
            server_tls: None,
            unique_id: None,
            tracked: head.around.session_tracked.cloned().unwrap_or_default(),
            session_slots: head
                .around
                .session_tracked
                .map_or([false; 3], |t| [0, 1, 2].map(|i| t[i].is_some())),
            userlists: None,
            edits: Vec::new(),
            cache: None,
            date: head.around.date,
            log_level: None,
            silent_drop: false,
            timeouts: [None; 2],
            early_hints: Vec::new(),
        }
    }

    /// Tracks in `slot`, when free, the key `key` makes in table `table`
    /// (else proxy `own`'s), counting `events` for it.
    fn track(
        &mut self,
        slot: usize,
        key: &Expr,
        (own, table): (&str, Option<&str>),
        (names, response): (Names<'_>, Option<&ResponseDraft>),
        events: &[StickEvent],
    ) {
        let Some((tables, now)) = names.stick else {
            return;
        };
        if self.tracked.get(slot).is_none_or(Option::is_some) {
            return;
        }
        let name = table.unwrap_or(own);
        let Some(config) = tables.borrow().config(name).cloned() else {
            return;
        };
        let key = self.with_view(names, response, |req| {
            key.eval(req).and_then(|v| StickKey::of(&v, &config))
        });
        if let Some(key) = key {
            let mut tables = tables.borrow_mut();
            for event in events {
                tables.count(name, &key, *event, now);
            }
            self.tracked[slot] = Some(Tracked {
                table: name.to_owned(),
                key,
            });
        }
    }

    /// `track-sc*`, `sc-inc-gpc*` and `sc-set-gpt0` in a rule of proxy
    /// `own`: the key is counted (a new HTTP request) and tracked in its
    /// slot, which a slot already tracking keeps; a tracked entry's
    /// counter goes up or its tag is set.
    fn stick_action(
        &mut self,
        own: &str,
        action: &HttpAction,
        names: Names<'_>,
        response: Option<&ResponseDraft>,
    ) {
        match action {
            HttpAction::Track { slot, key, table } => {
                let at = (own, table.as_deref());
                self.track(
                    *slot,
                    key,
                    at,
                    (names, response),
                    &[StickEvent::Connection, StickEvent::HttpRequest],
                );
            }
            HttpAction::Counter(counter) => self.counter(counter, names, response),
            _ => {}
        }
    }

    /// `add-acl`, `del-acl`, `set-map` or `del-map`: the file's entries
    /// change, for every converter and ACL reading it.
    fn edit_patterns(
        &self,
        action: &HttpAction,
        names: Names<'_>,
        response: Option<&ResponseDraft>,
    ) {
        if let HttpAction::EditPatterns {
            edit,
            key,
            value,
            files,
            ..
        } = action
        {
            let render = |f: &Format| self.with_view(names, response, |req| f.render(req));
            let value = value.as_ref().map(render);
            files.apply(*edit, &render(key), value.as_deref().unwrap_or(""));
        }
    }

    /// `sc-inc-gpc*` or `sc-set-gpt0` on the entry a slot tracks.
    fn counter(
        &mut self,
        counter: &CounterAction,
        names: Names<'_>,
        response: Option<&ResponseDraft>,
    ) {
        let Some((tables, now)) = names.stick else {
            return;
        };
        let sample = counter
            .sample()
            .and_then(|e| self.with_view(names, response, |req| e.eval(req)?.to_int()));
        tables
            .borrow_mut()
            .counter_action(counter, &self.tracked, sample, now);
    }

    /// Sets variable `name`.
    fn set_var(&mut self, name: &VarName, value: Value<'_>) {
        self.session_changed |= name.scope == Scope::Sess;
        self.proc_changed |= name.scope == Scope::Proc;
        self.vars.set(name, value);
    }

    /// Unsets variable `name`.
    fn unset_var(&mut self, name: &VarName) {
        self.session_changed |= name.scope == Scope::Sess;
        self.proc_changed |= name.scope == Scope::Proc;
        self.vars.unset(name);
    }

    /// A rule set or unset a process-wide variable (`proc.*`) since the
    /// last call.
    pub fn take_proc_change(&mut self) -> bool {
        std::mem::take(&mut self.proc_changed)
    }

    /// The session's variables as the rules left them, when they changed
    /// any.
    pub fn session_vars(&self) -> Option<Vars> {
        self.session_changed
            .then(|| self.vars.of_scope(Scope::Sess))
    }

    /// The cached object that answers this transaction, if any.
    pub fn cache_hit(&self) -> Option<&Hit> {
        self.cache.as_ref()?.hit.as_ref()
    }

    /// Calls `f` with the request as samples see it now.
    pub fn with_view<T>(
        &self,
        names: Names<'_>,
        response: Option<&ResponseDraft>,
        f: impl FnOnce(&RequestHead<'_>) -> T,
    ) -> T {
        let view = RequestHead {
            method: &self.method,
            uri: &self.uri,
            headers: HeaderView::Kept(&self.headers),
            client: self.client,
            payload: &self.body,
            around: Around {
                src_port: self.src_port,
                dst: self.dst,
                conn: self.conn,
                response: response.map(|r| Response {
                    status: r.status,
                    headers: HeaderView::Kept(&r.headers),
                    cache: self.cache_hit().map(|h| h.cache.as_str()),
                    server_tls: self.server_tls.as_deref(),
                }),
                vars: Some(&self.vars),
                frontend: names.frontend,
                backend: names.backend,
                server: names.server,
                server_id: names.server_id,
                first_request: self.first_request,
                htx: true,
                switched: false,
                http10: self.http10,
                captured: Some(&self.captured),
                sent: Some(match self.sent.as_deref() {
                    Some((method, uri)) => (method, uri),
                    None => (&self.method, &self.uri),
                }),
                proxied: self.proxied.as_ref(),
                tls: self.tls.as_ref(),
                kept_server: None,
                unique_id: self.unique_id.as_deref(),
                stick: names.stick.map(|(tables, now)| StickView {
                    tables,
                    now,
                    tracked: &self.tracked,
                    current: names.current,
                }),
                userlists: self.userlists.as_deref(),
                date: self.date,
                session_tracked: None,
            },
        };
        f(&view)
    }

    /// Runs `proxy`'s request phase: its `http-request` rules (an `allow`
    /// ends them), then its `redirect` rules. `Some`: the request is
    /// answered.
    pub fn request_phase(&mut self, proxy: &Proxy, names: Names<'_>) -> Option<Answer> {
        if let Some(Stop::Answer(a)) = self.run_request(proxy, &proxy.http_request, names) {
            return Some(a);
        }
        if let Some(a) = self.restrict_header_names(proxy.options.restrict_header_names) {
            return Some(a);
        }
        match self.run_request(proxy, &proxy.redirects, names) {
            Some(Stop::Answer(a)) => Some(a),
            _ => None,
        }
    }

    /// `option http-restrict-req-hdr-names`: request headers whose names
    /// hold more than letters, digits and `-` go, or the request is
    /// refused with haproxy's 403, as after a `deny`.
    fn restrict_header_names(&mut self, how: HeaderNames) -> Option<Answer> {
        let odd = |name: &str| !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let names: Vec<String> = match how {
            HeaderNames::Preserve => return None,
            HeaderNames::Delete | HeaderNames::Reject => self
                .headers
                .iter()
                .filter(|(n, _)| odd(n))
                .map(|(n, _)| n.to_owned())
                .collect(),
        };
        if names.is_empty() {
            return None;
        }
        if how == HeaderNames::Reject {
            return Some(Answer {
                status: 403,
                termination: "PR",
                reply: None,
                headers: Vec::new(),
            });
        }
        for n in names {
            self.header_edit(Edit::Del(n));
        }
        None
    }

    /// The first of `rules` of `proxy` that applies, and how it ends its
    /// list if it does (an answer, `allow`): its index (`rules.len()`
    /// when none does). One view of the request serves every condition
    /// up to it; `response` in the response phases.
    fn first_hit(
        &self,
        proxy: &Proxy,
        rules: &[HttpRule],
        names: Names<'_>,
        response: Option<&ResponseDraft>,
    ) -> (usize, Option<Stop>) {
        // A rule without a condition whose action never answers applies
        // without a look at the request.
        if rules
            .first()
            .is_some_and(|r| r.cond.is_none() && !may_answer(&r.action))
        {
            return (0, None);
        }
        self.with_view(names, response, |req| {
            let own = (proxy.name.as_str(), response.is_some());
            rules
                .iter()
                .position(|r| r.cond.as_ref().is_none_or(|c| condition(proxy, c, req)))
                .map_or((rules.len(), None), |i| {
                    let stop = answer_of(&rules[i].action, req, own);
                    debug_assert!(stop.is_none() || may_answer(&rules[i].action));
                    (i, stop)
                })
        })
    }

    /// Remembers whether `rule`, which ended its list, is a `silent-drop`.
    fn note_silent_drop(&mut self, rule: Option<&HttpRule>) {
        self.silent_drop = matches!(rule.map(|r| &r.action), Some(HttpAction::SilentDrop));
    }

    /// Runs `proxy`'s `rules` of the request phase.
    fn run_request(&mut self, proxy: &Proxy, rules: &[HttpRule], names: Names<'_>) -> Option<Stop> {
        let names = Names {
            current: &proxy.name,
            ..names
        };
        let mut at = 0;
        while at < rules.len() {
            let (i, stop) = self.first_hit(proxy, &rules[at..], names, None);
            if stop.is_some() {
                self.note_silent_drop(rules.get(at + i));
                return stop;
            }
            let Some(rule) = rules.get(at + i) else { break };
            self.request_action(proxy, &rule.action, names);
            if std::mem::take(&mut self.rewrite_failed) {
                return Some(Stop::Answer(rewrite_failure("PR")));
            }
            if std::mem::take(&mut self.bad_request) {
                return Some(Stop::Answer(Answer {
                    status: 400,
                    termination: "PR",
                    reply: None,
                    headers: Vec::new(),
                }));
            }
            at += i + 1;
        }
        None
    }

    /// `proxy`'s `tcp-request content` rules, run on each request of a
    /// `mode http` frontend before its `http-request` rules: they may set
    /// the request's addresses and variables, and `reject` closes the
    /// connection unanswered. `Some`: rejected.
    pub fn tcp_content(&mut self, proxy: &Proxy, names: Names<'_>) -> Option<Answer> {
        let rules = proxy
            .tcp_request
            .iter()
            .filter(|r| r.layer == TcpLayer::Content);
        for rule in rules {
            let holds = rule
                .cond
                .as_ref()
                .is_none_or(|c| self.with_view(names, None, |req| condition(proxy, c, req)));
            if !holds {
                continue;
            }
            let eval = |t: &Self, e: &Expr| {
                t.with_view(names, None, |req| e.eval(req).map(Value::into_owned))
            };
            match &rule.action {
                // An HTTP stream stays so: the switch only stops the rules.
                TcpAction::Accept | TcpAction::SwitchToHttp(_) => return None,
                TcpAction::Reject | TcpAction::SilentDrop => {
                    self.silent_drop = rule.action == TcpAction::SilentDrop;
                    return Some(Answer {
                        status: 0,
                        termination: "PR",
                        reply: None,
                        headers: Vec::new(),
                    });
                }
                TcpAction::SetSrc(e) => {
                    if let Some(ip) = eval(self, e).and_then(|v| v.to_ip()) {
                        self.client = Some(ip);
                    }
                }
                TcpAction::SetDst(e) => {
                    if let Some(ip) = eval(self, e).and_then(|v| v.to_ip()) {
                        let port = self.dst.map_or(0, |d| d.port());
                        self.dst = Some(SocketAddr::new(ip, port));
                    }
                }
                TcpAction::SetVar(name, e) => {
                    if let Some(v) = eval(self, e) {
                        self.set_var(name, v);
                    }
                }
                TcpAction::Track { slot, key, table } => {
                    let at = (proxy.name.as_str(), table.as_deref());
                    let events = [StickEvent::Connection, StickEvent::HttpRequest];
                    self.track(*slot, key, at, (names, None), &events);
                }
                TcpAction::Counter(counter) => self.counter(counter, names, None),
            }
        }
        None
    }

    /// Does what a request-phase action changes.
    fn request_action(&mut self, proxy: &Proxy, action: &HttpAction, names: Names<'_>) {
        let render = |txn: &Self, f: &Format| txn.with_view(names, None, |req| f.render(req));
        match action {
            HttpAction::SetHeader { name, value, add } => {
                let value = render(self, value);
                self.header_edit(header_step(name, value, *add));
            }
            HttpAction::DelHeader { name, how } => {
                let gone: Vec<String> = matching_names(&self.headers, name, how);
                for n in gone {
                    self.header_edit(Edit::Del(n));
                }
            }
            HttpAction::ReplaceHeader {
                name,
                pattern,
                with,
                each_value,
            } => {
                let with = backrefs(&render(self, with));
                let values = rewritten(&self.headers, name, pattern.regex(), &with, *each_value);
                if let Some(values) = values {
                    self.header_edit(Edit::Rewrite(name.clone(), values));
                }
            }
            HttpAction::SetLine(part, fmt) => {
                let value = render(self, fmt);
                self.set_line(*part, &value);
            }
            HttpAction::ReplaceLine(part, pattern, fmt) => {
                let with = backrefs(&render(self, fmt));
                // haproxy replaces the whole part with the expansion.
                let current = line_part(&self.uri, *part).to_owned();
                if let Some(c) = pattern.regex().captures(&current) {
                    let mut new = String::new();
                    c.expand(&with, &mut new);
                    self.set_line(*part, &new);
                }
            }
            HttpAction::SetVar(name, expr) => {
                let v = self.with_view(names, None, |req| expr.eval(req).map(Value::into_owned));
                if let Some(v) = v {
                    self.set_var(name, v);
                }
            }
            HttpAction::SetVarFmt(name, fmt) => {
                let v = render(self, fmt);
                self.set_var(name, Value::string(v));
            }
            HttpAction::UnsetVar(name) => self.unset_var(name),
            HttpAction::EditPatterns { .. } => self.edit_patterns(action, names, None),
            HttpAction::SetSrc(expr) => {
                if let Some(ip) = self.with_view(names, None, |req| expr.eval(req)?.to_ip()) {
                    self.client = Some(ip);
                }
            }
            HttpAction::SetDst(expr) => {
                if let Some(ip) = self.with_view(names, None, |req| expr.eval(req)?.to_ip()) {
                    let port = self.dst.map_or(0, |d| d.port());
                    self.dst = Some(SocketAddr::new(ip, port));
                }
            }
            HttpAction::SetSrcPort(expr) => {
                let port = self.with_view(names, None, |req| expr.eval(req)?.to_int());
                if let Some(p) = port.and_then(|p| u16::try_from(p).ok()) {
                    self.src_port = Some(p);
                }
            }
            HttpAction::SetDstPort(expr) => {
                let port = self.with_view(names, None, |req| expr.eval(req)?.to_int());
                if let (Some(p), Some(dst)) =
                    (port.and_then(|p| u16::try_from(p).ok()), self.dst.as_mut())
                {
                    dst.set_port(p);
                }
            }
            HttpAction::Capture { expr, slot } => {
                let v = self.with_view(names, None, |req| {
                    expr.eval(req).map(|v| v.to_text().into_owned())
                });
                if let Some(v) = v {
                    self.captured.set(true, *slot, &v);
                }
            }
            HttpAction::Track { .. } | HttpAction::Counter(_) => {
                self.stick_action(&proxy.name, action, names, None);
            }
            HttpAction::CacheUse(cache) => {
                let on_frontend = proxy.name == names.frontend;
                let headers: Vec<(&str, &str)> = self.headers.iter().collect();
                let line = (self.method.as_str(), self.uri.as_str(), &headers[..]);
                let request = CacheRequest::read(cache, on_frontend, line, !self.http10);
                let c = self.cache.get_or_insert_with(Box::default);
                c.request = Some(request);
                c.lookup = true;
            }
            HttpAction::CacheStore(_) => {}
            HttpAction::SetLogLevel(level) => self.log_level = Some(*level),
            HttpAction::SetTimeout { tunnel, value } => {
                let time = match value {
                    TimeoutValue::Fixed(d) => Some(*d),
                    TimeoutValue::Expr(e) => self
                        .with_view(names, None, |req| e.eval(req)?.to_int())
                        .and_then(|ms| u64::try_from(ms).ok())
                        .map(crate::time::Duration::from_millis),
                };
                if let Some(time) = time {
                    self.timeouts[usize::from(*tunnel)] = Some(time);
                }
            }
            HttpAction::EarlyHint { name, value } => {
                let value = render(self, value);
                self.early_hints.push((name.clone(), value));
            }
            HttpAction::NormalizeUri(normalizer) => {
                let pq = path_and_query(&self.uri);
                if pq.starts_with('/') {
                    match normalize::normalize(*normalizer, pq) {
                        Ok(new) if new != pq => self.set_line(LinePart::Pathq, &new),
                        Ok(_) => {}
                        Err(normalize::Invalid) => self.bad_request = true,
                    }
                }
            }
            HttpAction::Allow
            | HttpAction::Auth { .. }
            | HttpAction::Reject
            | HttpAction::SilentDrop
            | HttpAction::Deny(_)
            | HttpAction::Tarpit(_)
            | HttpAction::Return(_)
            | HttpAction::Redirect(_)
            | HttpAction::SetStatus { .. } => {}
            // The runtime waited for the body before the rules ran.
            HttpAction::WaitForBody(_) => {}
            HttpAction::StrictMode(on) => self.room.strict = *on,
        }
    }

    /// Applies a step to the working copy and records it, when it fits
    /// in the request's room (else, in strict mode, the request fails).
    fn header_edit(&mut self, edit: Edit) {
        if !self
            .room
            .take(&edit, &self.headers, (&self.method, &self.uri))
        {
            self.rewrite_failed |= self.room.strict;
            return;
        }
        apply_headers(&mut self.headers, std::slice::from_ref(&edit));
        self.edits.push(edit);
    }

    /// Replaces `part` of the request line with `value`.
    fn set_line(&mut self, part: LinePart, value: &str) {
        if part == LinePart::Method {
            let edit = Edit::Method(value.to_owned());
            if self
                .room
                .take(&edit, &self.headers, (&self.method, &self.uri))
            {
                self.keep_sent();
                self.method = value.to_owned();
                self.edits.push(edit);
            } else {
                self.rewrite_failed |= self.room.strict;
            }
            return;
        }
        let pq = path_and_query(&self.uri);
        let authority = &self.uri[..self.uri.len() - pq.len()];
        let (path, query) = match pq.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (pq, None),
        };
        let uri = match part {
            LinePart::Path => match query {
                Some(q) => format!("{authority}{value}?{q}"),
                None => format!("{authority}{value}"),
            },
            LinePart::Pathq => format!("{authority}{value}"),
            LinePart::Query => match value.strip_prefix('?').unwrap_or(value) {
                "" => format!("{authority}{path}"),
                q => format!("{authority}{path}?{q}"),
            },
            LinePart::Uri | LinePart::Method => value.to_owned(),
        };
        let edit = Edit::Uri(uri.clone());
        if !self
            .room
            .take(&edit, &self.headers, (&self.method, &self.uri))
        {
            self.rewrite_failed |= self.room.strict;
            return;
        }
        self.keep_sent();
        self.uri = uri;
        self.edits.push(edit);
    }

    /// Keeps the request line as the client sent it, before a rule first
    /// changes it.
    fn keep_sent(&mut self) {
        if self.sent.is_none() {
            self.sent = Some(Box::new((self.method.clone(), self.uri.clone())));
        }
    }

    /// Runs `proxy`'s response-phase `rules` (`http-response` or
    /// `http-after-response`) on `res`.
    pub fn run_response(
        &mut self,
        proxy: &Proxy,
        rules: &[HttpRule],
        names: Names<'_>,
        res: &mut ResponseDraft,
    ) -> Option<Stop> {
        let names = Names {
            current: &proxy.name,
            ..names
        };
        let mut at = 0;
        while at < rules.len() {
            let (i, stop) = self.first_hit(proxy, &rules[at..], names, Some(res));
            if stop.is_some() {
                self.note_silent_drop(rules.get(at + i));
                return stop;
            }
            let Some(rule) = rules.get(at + i) else { break };
            at += i + 1;
            let render = |txn: &Self, res: &ResponseDraft, f: &Format| {
                txn.with_view(names, Some(res), |req| f.render(req))
            };
            let edit = match &rule.action {
                HttpAction::SetHeader { name, value, add } => {
                    Some(header_step(name, render(self, res, value), *add))
                }
                HttpAction::DelHeader { name, how } => {
                    for n in matching_names(&res.headers, name, how) {
                        res.apply(Edit::Del(n));
                    }
                    None
                }
                HttpAction::ReplaceHeader {
                    name,
                    pattern,
                    with,
                    each_value,
                } => {
                    let with = backrefs(&render(self, res, with));
                    rewritten(&res.headers, name, pattern.regex(), &with, *each_value)
                        .map(|values| Edit::Rewrite(name.clone(), values))
                }
                HttpAction::SetStatus { status, reason } => {
                    res.status = *status;
                    Some(Edit::Status(*status, reason.clone()))
                }
                HttpAction::StrictMode(on) => {
                    res.room.strict = *on;
                    None
                }
                HttpAction::SetVar(name, expr) => {
                    let v = self.with_view(names, Some(res), |req| {
                        expr.eval(req).map(Value::into_owned)
                    });
                    if let Some(v) = v {
                        self.set_var(name, v);
                    }
                    None
                }
                HttpAction::SetVarFmt(name, fmt) => {
                    let v = render(self, res, fmt);
                    self.set_var(name, Value::string(v));
                    None
                }
                HttpAction::UnsetVar(name) => {
                    self.unset_var(name);
                    None
                }
                HttpAction::EditPatterns { .. } => {
                    self.edit_patterns(&rule.action, names, Some(res));
                    None
                }
                HttpAction::Track { .. } | HttpAction::Counter(_) => {
                    self.stick_action(&proxy.name, &rule.action, names, Some(res));
                    None
                }
                HttpAction::Capture { expr, slot } => {
                    let v = self.with_view(names, Some(res), |req| {
                        expr.eval(req).map(|v| v.to_text().into_owned())
                    });
                    if let Some(v) = v {
                        self.captured.set(false, *slot, &v);
                    }
                    None
                }
                HttpAction::SetLogLevel(level) => {
                    self.log_level = Some(*level);
                    None
                }
                HttpAction::CacheStore(cache) => {
                    if let Some(c) = self.cache.as_mut().filter(|c| c.hit.is_none()) {
                        c.store.get_or_insert_with(|| StoreAsk {
                            cache: cache.clone(),
                            status: res.status,
                            headers: res.headers.to_vec(),
                        });
                    }
                    None
                }
                _ => None,
            };
            if let Some(edit) = edit {
                res.apply(edit);
            }
            if std::mem::take(&mut res.failed) {
                return Some(Stop::Answer(rewrite_failure("PH")));
            }
        }
        None
    }
}

impl ResponseDraft {
    /// A response with `status` and `headers` (names lower case), not
    /// yet changed, with `room` for rewrites.
    pub fn new(status: u16, headers: Headers, room: Room) -> Self {
        Self {
            status,
            headers,
            edits: Vec::new(),
            room,
            failed: false,
        }
    }

    /// A server's response with `status` and `headers` as it sent them
    /// (names any case), not yet changed, with `room` for rewrites.
    pub fn received(status: u16, mut headers: Headers, room: Room) -> Self {
        headers.lower_names();
        Self::new(status, headers, room)
    }

    /// The values of header `name` (lower case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Makes `edit` to the response and notes it, when it fits (else
    /// the response fails in strict mode, and the edit is dropped).
    pub fn apply(&mut self, edit: Edit) {
        if !self.room.take(&edit, &self.headers, ("", "")) {
            self.failed |= self.room.strict;
            return;
        }
        apply_headers(&mut self.headers, std::slice::from_ref(&edit));
        self.edits.push(edit);
    }
}

/// haproxy's 500 for a message a rewrite failed in strict mode
/// (`termination`: `PR` for a request, `PH` for a response).
fn rewrite_failure(termination: &'static str) -> Answer {
    Answer {
        status: 500,
        termination,
        reply: None,
        headers: Vec::new(),
    }
}

/// `set-header` or `add-header` as a step.
fn header_step(name: &str, value: String, add: bool) -> Edit {
    if add {
        Edit::Add(name.to_owned(), value)
    } else {
        Edit::Set(name.to_owned(), value)
    }
}

/// The part of target `uri` a `replace-*` action matches.
fn line_part(uri: &str, part: LinePart) -> &str {
    let pq = path_and_query(uri);
    match part {
        LinePart::Path => pq.split('?').next().unwrap_or(pq),
        LinePart::Pathq => pq,
        LinePart::Query => pq.split_once('?').map_or("", |(_, q)| q),
        LinePart::Uri | LinePart::Method => uri,
    }
}

/// The distinct header names of `headers` that `del-header` removes.
fn matching_names(headers: &Headers, name: &str, how: &NameMatch) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (n, _) in headers.iter() {
        let hit = match how {
            NameMatch::Str => n.eq_ignore_ascii_case(name),
            NameMatch::Beg => n.starts_with(name),
            NameMatch::End => n.ends_with(name),
            NameMatch::Sub => n.contains(name),
            NameMatch::Reg(p) => p.regex().is_match(n),
        };
        if hit && !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    }
    out
}

/// The new values of header `name` after `replace-header` (whole values)
/// or `replace-value` (each comma-separated value); `None` when no value
/// matched.
fn rewritten(
    headers: &Headers,
    name: &str,
    re: &regex::Regex,
    with: &str,
    each_value: bool,
) -> Option<Vec<String>> {
    let mut changed = false;
    let mut replace = |v: &str| -> String {
        // As haproxy: a value the regex matches anywhere becomes the
        // expansion of the replacement.
        match re.captures(v) {
            Some(c) => {
                changed = true;
                let mut out = String::new();
                c.expand(with, &mut out);
                out
            }
            None => v.to_owned(),
        }
    };
    let values: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| {
            if each_value {
                v.split(',')
                    .map(|part| replace(part.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                replace(v)
            }
        })
        .collect();
    changed.then_some(values)
}

/// The stop an action makes when its condition holds: `allow`, or the
/// answer of `deny`, `return` or `redirect`. `response`: in a response
/// phase.
/// The termination state of a request a `tarpit` rule held.
pub const TARPIT: &str = "PT";

/// Whether `action` may end its list ([`answer_of`] may give a stop).
fn may_answer(action: &HttpAction) -> bool {
    matches!(
        action,
        HttpAction::Allow
            | HttpAction::Deny(_)
            | HttpAction::Tarpit(_)
            | HttpAction::Return(_)
            | HttpAction::Redirect(_)
            | HttpAction::SilentDrop
            | HttpAction::Reject
            | HttpAction::Auth { .. }
    )
}

fn answer_of(
    action: &HttpAction,
    req: &RequestHead<'_>,
    (own, response): (&str, bool),
) -> Option<Stop> {
    let (by_rule, local) = if response { ("PH", "LH") } else { ("PR", "LR") };
    Some(match action {
        HttpAction::Allow => Stop::Allow,
        HttpAction::Deny(reply) => Stop::Answer(Answer {
            status: reply.status,
            termination: by_rule,
            reply: reply::render(reply, req, true),
            headers: Vec::new(),
        }),
        HttpAction::Tarpit(reply) => Stop::Answer(Answer {
            status: reply.status,
            termination: TARPIT,
            reply: reply::render(reply, req, true),
            headers: Vec::new(),
        }),
        HttpAction::Return(reply) => Stop::Answer(Answer {
            status: reply.status,
            termination: local,
            reply: reply::render(reply, req, false),
            headers: Vec::new(),
        }),
        HttpAction::Redirect(r) => {
            let rendered = reply::redirect(r, req)?;
            Stop::Answer(Answer {
                status: rendered.status,
                termination: local,
                reply: Some(rendered),
                headers: Vec::new(),
            })
        }
        // No answer at all: the connection closes (status 0); haproxy
        // logs a silent drop as its rule's refusal in either phase.
        HttpAction::SilentDrop => Stop::Answer(Answer {
            status: 0,
            termination: "PR",
            reply: None,
            headers: Vec::new(),
        }),
        HttpAction::Reject => Stop::Answer(Answer {
            status: 0,
            termination: by_rule,
            reply: None,
            headers: Vec::new(),
        }),
        // haproxy's 401 page, with the realm (the rule's proxy's name by
        // default).
        HttpAction::Auth { realm } => Stop::Answer(Answer {
            status: 401,
            termination: local,
            reply: None,
            headers: vec![(
                "www-authenticate".to_owned(),
                format!("Basic realm=\"{}\"", realm.as_deref().unwrap_or(own)),
            )],
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
