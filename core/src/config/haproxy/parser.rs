//! The line-by-line driver: sections, conditional blocks, `global`, and the
//! shared helpers keyword handlers use to report problems.

use super::condition::{eval_condition, ConditionError};
use super::keywords::{self, is_skipped_section, PROXY_SECTIONS};
use super::lexer::{split_line, LexError, Vars, Word};
use super::model::*;
use super::resolve;
use super::values::atol;
use super::HttpAction;
use crate::config::support::{self, Gap, Impact, Unsupported, HAPROXY_GLOBAL, HAPROXY_PROXY};
use crate::config::{Diagnostic, Diagnostics, Form, Parsed, Severity};
use crate::sample::PatternFiles;
use std::collections::BTreeMap;

/// What the parser needs from outside core.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Environment variables for `"${NAME}"` expansion.
    pub env: BTreeMap<String, String>,
    /// Whether a `user` or `group` name exists on this host (haproxy looks
    /// them up while reading the file); `None` skips the lookup.
    pub accounts: Option<fn(Account, &str) -> bool>,
    /// Reads a file the config names (`errorfile`); `None` leaves such
    /// files unread.
    pub files: Option<FileReader>,
    /// Loads a TLS `bind` line's certificates, as haproxy does while it
    /// reads (why they cannot be used, in haproxy's words); `None`
    /// leaves them unread.
    pub certificates: Option<LoadCertificates>,
}

/// Loads a TLS `bind` line's certificates: what their `crt-list` lines
/// ask for that haven does not offer (as [`super::unoffered`] names it),
/// or why they cannot be used.
pub type LoadCertificates = fn(&super::BindTls) -> Result<Vec<String>, String>;

/// Reads a whole file by its path.
pub type FileReader = fn(&str) -> std::io::Result<Vec<u8>>;

/// The kind of name `user` and `group` give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A user name (`user`).
    User,
    /// A group name (`group`).
    Group,
}

/// Parses haproxy.cfg files, given as `(name, text)`, as one configuration.
pub fn parse(files: &[(&str, &str)], opts: &ParseOptions) -> Parsed<HaproxyConfig> {
    crate::sample::map::begin_parse();
    let mut p = Parser::new(opts);
    for (name, text) in files {
        p.parse_file(name, text);
    }
    let mut parsed = p.finish();
    let maps = crate::sample::map::end_parse();
    if let Some(cfg) = parsed.config.as_mut() {
        cfg.maps = maps;
        link_pattern_edits(cfg, &mut parsed.diagnostics);
    }
    parsed
}

/// Gives each rule that edits a pattern file (`set-map(<file>)`...) the
/// readings of that file; haven's note where an ACL compiled at start
/// would not see the edits.
fn link_pattern_edits(cfg: &mut HaproxyConfig, diags: &mut Diagnostics) {
    let (maps, acls) = (&cfg.maps, &cfg.acl_files);
    for proxy in &mut cfg.proxies {
        let rules = proxy.http_request.iter_mut();
        for rule in rules.chain(proxy.http_response.iter_mut()) {
            if let HttpAction::EditPatterns { file, files, .. } = &mut rule.action {
                *files = PatternFiles::of(file, maps, acls);
                if files.has_compiled_acl() {
                    let message = format!(
                        "Proxy '{}': the rule at line {} edits '{file}', which a regular-expression ACL compiled at start reads: that ACL will not see the edits ({})",
                        proxy.name,
                        rule.line,
                        crate::config::NOT_SUPPORTED
                    );
                    diags.push(Diagnostic {
                        severity: Severity::Warning,
                        file: String::new(),
                        line: 0,
                        col: 0,
                        message,
                        form: Form::Unplaced,
                        source_line: None,
                    });
                }
            }
        }
    }
}

/// A proxy (or the `defaults` template) while its section is being read.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) proxy: Proxy,
    /// `default-server` parameters, applied to each later server.
    pub(crate) default_server: Server,
    /// `default_backend` name and where it was written.
    pub(crate) default_backend: Option<(String, u32)>,
    /// `use_backend` rules with unresolved backend names.
    /// `use_backend` rules: the name as written, its log-format when it
    /// has one, the condition and the line.
    pub(crate) rules: Vec<(
        String,
        Option<crate::sample::Format>,
        Option<Condition>,
        u32,
    )>,
    /// Line of the first `http-check` rule, for the post-parse warning.
    pub(crate) http_check_line: Option<u32>,
    /// `option httpchk` was given (else `http-check` rules are ignored).
    pub(crate) httpchk_option: bool,
    /// The `http-check` rules are this section's own, not those it took
    /// from `defaults` (its first rule or `option httpchk` replaces those).
    pub(crate) own_http_check_rules: bool,
    /// Where `option httplog` was written, for the warning when the proxy
    /// turns out to be in `mode tcp`.
    pub(crate) httplog_at: Option<(String, u32)>,
    /// `log-format`, when it came after any `option httplog|tcplog`: its
    /// text and line, read once the proxy's mode is known.
    pub(crate) log_format: Option<(String, u32)>,
    /// The `tcp-check` rules are this section's own, not those it took
    /// from `defaults` (its first rule replaces those).
    pub(crate) own_tcp_check_rules: bool,
    /// `bind` lines with a `proto`: their address as written and line,
    /// for the error when the proxy turns out to be in `mode tcp`.
    pub(crate) muxed_binds: Vec<(String, u32, BindProto)>,
}

/// Which section lines currently belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Section {
    None,
    Global,
    Defaults,
    Proxy(usize),
    /// A proxy header failed: its lines are refused.
    Broken,
    /// A section haven skips (resolvers, peers, ...).
    Skipped,
    /// A `userlist` (its index).
    Userlist(usize),
    /// A `resolvers` section (its index).
    Resolvers(usize),
    /// A `cache` section (its index).
    Cache(usize),
}

/// One `.if` level.
#[derive(Debug, Clone, Copy)]
struct CondFrame {
    /// Lines of this branch are read.
    active: bool,
    /// Some branch of this block was already taken.
    taken: bool,
    /// The enclosing block was active.
    parent_active: bool,
}

pub(crate) struct Parser<'o> {
    pub(crate) opts: &'o ParseOptions,
    pub(crate) diags: Diagnostics,
    pub(crate) global: Global,
    pub(crate) defaults: Draft,
    named_defaults: BTreeMap<String, Draft>,
    pub(crate) drafts: Vec<Draft>,
    pub(crate) section: Section,
    conds: Vec<CondFrame>,
    pub(crate) file: String,
    pub(crate) line: u32,
    src_line: String,
    /// Keywords read but not honoured.
    unsupported: Vec<Unsupported>,
    /// `userlist` sections.
    pub(crate) userlists: Vec<super::Userlist>,
    /// `resolvers` sections.
    pub(crate) resolvers: Vec<super::Resolvers>,
    /// The `cache` sections read so far.
    pub(crate) caches: Vec<super::CacheSection>,
    /// `default-path`: where this file's relative paths lead (`None`:
    /// the working directory).
    pub(super) default_dir: Option<String>,
    /// Reads the files the config names, from there.
    pub(super) reader: Option<super::paths::Reader>,
    /// Pattern files read by `acl -f`.
    pub(crate) acl_files: Vec<crate::sample::AclFile>,
    /// Proxies' `id`s so far, each with its proxy as haproxy names it
    /// when another takes the same.
    pub(crate) proxy_ids: BTreeMap<u32, String>,
}

/// haproxy's refusal of `no` or `default` before a global keyword that
/// takes neither.
const NEGATION_ONLY: &str = "negation/default currently supported only for options, log, \
busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.";

impl<'o> Parser<'o> {
    fn new(opts: &'o ParseOptions) -> Self {
        Self {
            opts,
            diags: Diagnostics::default(),
            global: Global::default(),
            defaults: Draft::template(),
            named_defaults: BTreeMap::new(),
            drafts: Vec::new(),
            section: Section::None,
            conds: Vec::new(),
            file: String::new(),
            line: 0,
            src_line: String::new(),
            unsupported: Vec::new(),
            userlists: Vec::new(),
            resolvers: Vec::new(),
            caches: Vec::new(),
            default_dir: None,
            reader: None,
            acl_files: Vec::new(),
            proxy_ids: BTreeMap::new(),
        }
    }

    fn parse_file(&mut self, name: &str, text: &str) {
        self.file = name.to_owned();
        self.section = Section::None;
        self.reset_default_path();
        let mut lines: Vec<&str> = text.split('\n').collect();
        let missing_lf = !text.is_empty() && !text.ends_with('\n');
        if !missing_lf {
            lines.pop();
        }
        for (i, line) in lines.iter().enumerate() {
            self.line = i as u32 + 1;
            self.src_line = (*line).to_owned();
            self.parse_line(line);
        }
        if let Some(last) = lines.last().filter(|_| missing_lf) {
            let pos = last.chars().count() + 1;
            self.error(
                Form::ParsingTight,
                pos as u32,
                format!(
                    "Missing LF on last line, file might have been truncated at position {pos}."
                ),
            );
        }
        self.close_cache();
        if !self.conds.is_empty() {
            self.error(Form::Parsing, 0, "missing '.endif' at end of file".into());
            self.conds.clear();
        }
    }

    fn parse_line(&mut self, line: &str) {
        let vars = Vars {
            env: &self.opts.env,
            file: &self.file,
            line: self.line,
        };
        let words = match split_line(line, &vars) {
            Ok(w) => w,
            Err(LexError::UnmatchedQuote { col }) => {
                return self.error(
                    Form::ParsingTight,
                    col,
                    format!("unmatched quote at position {col}:"),
                );
            }
            Err(LexError::BadHex { col }) => {
                return self.error(
                    Form::ParsingTight,
                    col,
                    format!("truncated or invalid hexadecimal sequence at position {col}:"),
                );
            }
        };
        let Some(first) = words.first() else { return };
        if first.text.starts_with('.') && self.conditional(&words) {
            return;
        }
        if self.conds.last().is_some_and(|c| !c.active) {
            return;
        }
        let kw = first.text.as_str();
        let opens_section = kw == "global"
            || kw == "defaults"
            || PROXY_SECTIONS.contains(&kw)
            || kw == "userlist"
            || kw == "resolvers"
            || kw == "cache"
            || is_skipped_section(kw);
        if opens_section {
            self.file_named_defaults();
            self.close_cache();
        }
        if kw == "global" {
            self.section = Section::Global;
        } else if kw == "defaults" {
            self.open_defaults(&words);
        } else if PROXY_SECTIONS.contains(&kw) {
            self.open_proxy(&words);
        } else if kw == "userlist" {
            self.open_userlist(&words);
        } else if kw == "resolvers" {
            self.open_resolvers(&words);
        } else if kw == "cache" {
            self.open_cache(&words);
        } else if is_skipped_section(kw) {
            self.section = Section::Skipped;
            self.not_supported(first.col, &format!("section {kw}"));
        } else {
            match self.section.clone() {
                Section::None => self.error(
                    Form::ParsingTight,
                    first.col,
                    format!("unknown keyword '{kw}' out of section."),
                ),
                Section::Global => self.global_keyword(&words),
                Section::Defaults | Section::Proxy(_) => self.proxy_keyword(&words),
                Section::Broken => self.error(
                    Form::Parsing,
                    first.col,
                    "'listen' or 'defaults' expected.".into(),
                ),
                Section::Skipped => {}
                Section::Userlist(i) => self.userlist_keyword(i, &words),
                Section::Resolvers(i) => self.resolvers_keyword(i, &words),
                Section::Cache(i) => self.cache_keyword(i, &words),
            }
        }
    }

    /// Handles `.if` / `.elif` / `.else` / `.endif` and the message
    /// directives; returns false when `words` is not a directive.
    fn conditional(&mut self, words: &[Word]) -> bool {
        let kw = words[0].text.as_str();
        let parent_active = self.conds.last().is_none_or(|c| c.active);
        match kw {
            ".if" => {
                let v = parent_active && self.eval_cond(words);
                self.conds.push(CondFrame {
                    active: v,
                    taken: v,
                    parent_active,
                });
            }
            ".elif" | ".else" => match self.conds.last().copied() {
                Some(top) => {
                    let v =
                        top.parent_active && !top.taken && (kw == ".else" || self.eval_cond(words));
                    if let Some(f) = self.conds.last_mut() {
                        f.active = v;
                        f.taken |= v;
                    }
                }
                None => self.error(
                    Form::Parsing,
                    words[0].col,
                    format!("'{kw}' with no matching '.if'."),
                ),
            },
            ".endif" => {
                if self.conds.pop().is_none() {
                    self.error(
                        Form::Parsing,
                        words[0].col,
                        "'.endif' with no matching '.if'.".into(),
                    );
                }
            }
            ".diag" | ".notice" | ".warning" | ".alert" => {
                if parent_active {
                    let text: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                    let sev = if kw == ".alert" {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    self.push(sev, Form::Parsing, words[0].col, text.join(" "));
                }
            }
            _ => return false,
        }
        true
    }

    /// Evaluates a `.if` condition ([`eval_condition`]).
    fn eval_cond(&mut self, words: &[Word]) -> bool {
        let Some(term) = words.get(1) else {
            self.error(Form::Parsing, words[0].col, "missing condition".into());
            return false;
        };
        match eval_condition(&term.text, &self.opts.env) {
            Ok(v) => v,
            Err(e) => {
                let col = match e {
                    ConditionError::Missing => words[0].col,
                    _ => term.col,
                };
                self.error(Form::Parsing, col, e.to_string());
                false
            }
        }
    }

    fn open_defaults(&mut self, words: &[Word]) {
        // A `defaults` section starts from haproxy's own settings, not
        // from the one before it (unless `from` names one).
        let mut d = self.take_from(words).unwrap_or_else(Draft::template);
        d.proxy.line = self.line;
        d.own_tcp_check_rules = false;
        d.own_http_check_rules = false;
        if let Some(name) = words.get(1).filter(|w| w.text != "from") {
            d.proxy.name = name.text.clone();
        } else {
            d.proxy.name.clear();
        }
        self.defaults = d;
        self.section = Section::Defaults;
    }

    /// Keeps a named `defaults` section, once all its lines are read, for
    /// the sections that name it with `from`.
    fn file_named_defaults(&mut self) {
        if self.section == Section::Defaults && !self.defaults.proxy.name.is_empty() {
            let d = self.defaults.clone();
            self.named_defaults.insert(d.proxy.name.clone(), d);
        }
    }

    /// The `from <defaults>` template of a section header, if given.
    fn take_from(&mut self, words: &[Word]) -> Option<Draft> {
        let pos = words.iter().position(|w| w.text == "from")?;
        let Some(name) = words.get(pos + 1) else {
            self.error(
                Form::Parsing,
                words[pos].col,
                "'from' expects a defaults section name.".into(),
            );
            return None;
        };
        match self.named_defaults.get(&name.text) {
            Some(d) => Some(d.clone()),
            None => {
                self.error(
                    Form::Parsing,
                    name.col,
                    format!(
                        "defaults section '{}' not found for '{}'.",
                        name.text, words[0].text
                    ),
                );
                None
            }
        }
    }

    fn open_proxy(&mut self, words: &[Word]) {
        let kw = words[0].text.as_str();
        let kind = match kw {
            "frontend" => ProxyKind::Frontend,
            "backend" => ProxyKind::Backend,
            _ => ProxyKind::Listen,
        };
        self.section = Section::Broken;
        let Some(name) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                format!("'{kw}' expects <name> as an argument"),
            );
        };
        if let Some(extra) = words.get(2).filter(|w| w.text != "from") {
            return self.error(
                Form::Parsing,
                extra.col,
                "please use the 'bind' keyword for listening addresses.".into(),
            );
        }
        if let Some(bad) = name
            .text
            .chars()
            .find(|c| !(c.is_alphanumeric() || "-_.:".contains(*c)))
        {
            return self.error(
                Form::Parsing,
                name.col,
                format!(
                    "character '{bad}' is not permitted in '{kw}' name '{}'.",
                    name.text
                ),
            );
        }
        let clash = self.drafts.iter().find(|d| {
            d.proxy.name == name.text
                && (d.proxy.kind.is_frontend() && kind.is_frontend()
                    || d.proxy.kind.is_backend() && kind.is_backend())
        });
        if let Some(prev) = clash {
            let msg = format!(
                "{} '{}' has the same name as {} '{}' declared at {}:{}.",
                kind.type_str(),
                name.text,
                prev.proxy.kind.type_str(),
                prev.proxy.name,
                self.file,
                prev.proxy.line
            );
            self.error(Form::ParsingCapital, name.col, msg);
        }
        let mut d = self
            .take_from(words)
            .unwrap_or_else(|| self.defaults.clone());
        d.proxy.name = name.text.clone();
        d.proxy.kind = kind;
        d.proxy.line = self.line;
        d.own_tcp_check_rules = false;
        d.own_http_check_rules = false;
        if !kind.is_frontend() {
            d.default_backend = None;
        }
        self.drafts.push(d);
        self.section = Section::Proxy(self.drafts.len() - 1);
    }

    /// `stats socket ADDRESS [mode M] [level L] [other bind options]`.
    fn stats_socket(&mut self, words: &[Word]) {
        let Some(address) = words.get(2) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'stats socket' requires a path or an address.".into(),
            );
        };
        let mut socket = StatsSocket {
            address: address.text.clone(),
            mode: None,
            level: CliLevel::Operator,
        };
        let mut i = 3;
        while i < words.len() {
            let value = words.get(i + 1).map_or("", |w| w.text.as_str());
            let fail = |what: String| format!("'stats socket' : '{what}'");
            match words[i].text.as_str() {
                "mode" => match u32::from_str_radix(value, 8) {
                    Ok(m) => socket.mode = Some(m),
                    Err(_) => {
                        return self.error(
                            Form::Parsing,
                            words[i].col,
                            fail(format!(
                            "'mode' : missing or invalid mode '{value}' (octal integer expected)"
                        )),
                        )
                    }
                },
                "level" => {
                    socket.level = match value {
                        "user" => CliLevel::User,
                        "operator" => CliLevel::Operator,
                        "admin" => CliLevel::Admin,
                        "" => {
                            return self.error(
                                Form::Parsing,
                                words[i].col,
                                fail("'level' : missing level".into()),
                            )
                        }
                        other => {
                            return self.error(
                                Form::Parsing,
                                words[i].col,
                                fail(format!(
                            "'level' only supports 'user', 'operator', and 'admin' (got '{other}')"
                        )),
                            )
                        }
                    }
                }
                // Other bind options (expose-fd, user, group...) are read
                // and have no effect here.
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        self.global.stats_sockets.push(socket);
    }

    fn global_keyword(&mut self, words: &[Word]) {
        let kw = words[0].text.as_str();
        let arg = words.get(1);
        match kw {
            "maxconn" => self.global.maxconn = Some(self.count_arg(words)),
            "nbthread" => {
                if let Some(threads) = self.thread_count(words, MAX_THREADS) {
                    self.global.nbthread = Some(threads);
                }
            }
            // One group of threads, as in haproxy 2.6.
            "thread-groups" => {
                self.thread_count(words, 1);
            }
            "no" | "default" => self.global_negation(words),
            "numa-cpu-mapping" => self.global.no_numa_cpu_mapping = false,
            "cpu-map" => {
                let args: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                if let Err(msg) = self.global.cpu_map.read_line(&args) {
                    self.error(Form::Parsing, words[0].col, msg);
                }
            }
            // `haven run` always stays in the foreground, as haproxy does
            // under a service manager (`-Ws`, `-db`); the haproxy
            // personality detaches.
            "daemon" => self.global.daemon = true,
            "hard-stop-after" => self.global.hard_stop_after = self.time_arg(words, 1, kw),
            "zero-warning" => self.global.zero_warning = true,
            "expose-experimental-directives" => self.global.experimental = true,
            "default-path" => self.default_path(words),
            "nosplice" => self.global.nosplice = true,
            "maxpipes" => self.global.maxpipes = Some(self.count_arg(words)),
            "ulimit-n" => self.global.ulimit_n = Some(self.count_arg(words)),
            "tune.bufsize" | "tune.maxrewrite" => {
                let Some(value) = arg.map(|a| atol(&a.text)) else {
                    let msg = format!("'{kw}' expects an integer argument.");
                    return self.error(Form::Parsing, words[0].col, msg);
                };
                let positive = if kw == "tune.bufsize" { value > 0 } else { value >= 0 };
                if !positive {
                    let msg = format!("'{kw}' expects a positive integer argument.");
                    return self.error(Form::Parsing, words[0].col, msg);
                }
                let value = Some(value.min(i64::from(u32::MAX)) as u32);
                match kw {
                    "tune.bufsize" => self.global.bufsize = value,
                    _ => self.global.maxrewrite = value,
                }
                // Rewrites are limited as haproxy's; haven's reading and
                // streaming buffers keep their own size.
                self.not_supported(words[0].col, kw);
            }
            "tune.h2.header-table-size"
            | "tune.h2.initial-window-size"
            | "tune.h2.max-concurrent-streams"
            | "tune.h2.max-frame-size" => self.h2_tune(words),
            "node" => self.global.node = arg.map(|a| a.text.clone()),
            "description" => {
                let text: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                self.global.description = Some(text.join(" "));
            }
            "master-worker" => self.global.master_worker = true,
            "user" | "group" | "pidfile" => {
                let Some(v) = arg else {
                    return self.error(Form::Parsing, words[0].col, format!("'{kw}' expects an argument."));
                };
                let account = match kw {
                    "user" => Some(Account::User),
                    "group" => Some(Account::Group),
                    _ => None,
                };
                if let (Some(exists), Some(account)) = (self.opts.accounts, account) {
                    if !exists(account, &v.text) {
                        let msg = format!("cannot find {kw} id for '{}' (0:Success)", v.text);
                        return self.error(Form::Parsing, words[0].col, msg);
                    }
                }
                let v = Some(v.text.clone());
                match kw {
                    "user" => self.global.user = v,
                    "group" => self.global.group = v,
                    _ => self.global.pidfile = v,
                }
            }
            "log" => {
                if let Some(t) = self.log_target(words) {
                    self.global.logs.push(t);
                }
            }
            "spread-checks" => {
                let v = self.count_arg(words);
                if v > 50 {
                    self.error(Form::Parsing, words[0].col, "'spread-checks' needs a positive value in range 0..50.".into());
                }
                self.global.spread_checks = v.min(50);
            }
            "max-spread-checks" => self.global.max_spread_checks = self.time_arg(words, 1, kw),
            "setenv" => {
                if words.len() < 3 {
                    self.error(Form::Parsing, words[0].col, "'setenv' expects a name and a value.".into());
                }
            }
            "uid" | "gid" => match arg {
                Some(v) if v.text.parse::<u32>().is_err() => {
                    let msg = format!(" {kw}: string '{}' is not a number.", v.text);
                    self.warn(Form::Parsing, v.col, msg);
                }
                // A number drops privileges as `user` / `group` do.
                Some(v) if kw == "uid" => self.global.user = Some(v.text.clone()),
                Some(v) => self.global.group = Some(v.text.clone()),
                None => self.error(Form::Parsing, words[0].col, format!("'{kw}' expects an integer argument.")),
            },
            "nbproc" => self.error(Form::Parsing, words[0].col, "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.".into()),
            "stats" if arg.is_some_and(|a| a.text == "socket") => self.stats_socket(words),
            "stats" if arg.is_some_and(|a| a.text == "timeout") => {
                self.global.cli_timeout = self.time_arg(words, 2, "stats timeout");
            }
            "stats" if arg.is_some_and(|a| a.text == "maxconn") => {
                self.global.cli_maxconn = Some(self.count_arg(&words[1..]));
            }
            _ if self.global_tls(words) => {}
            _ if keywords::is_unsupported_global(kw) => self.not_supported(words[0].col, kw),
            _ => {
                let hint = self.suggest(kw, &["global", "defaults", "frontend", "backend", "listen", "maxconn", "nbthread", "daemon", "user", "group", "pidfile", "log", "stats"]);
                self.error(Form::Parsing, words[0].col, format!("unknown keyword '{kw}' in 'global' section{hint}"));
            }
        }
    }

    /// Parses a `log` line (global or proxy).
    pub(crate) fn log_target(&mut self, words: &[Word]) -> Option<LogTarget> {
        let mut args = words[1..]
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>();
        if args.first() == Some(&"global") {
            return Some(LogTarget::Global);
        }
        let env = &self.opts.env;
        let Some(address) = args.first().map(|a| super::values::env_expand(a, env)) else {
            self.error(
                Form::Parsing,
                words[0].col,
                "'log' expects either <address[:port]> and <facility> or 'global' as arguments."
                    .into(),
            );
            return None;
        };
        args.remove(0);
        let mut format = None;
        let (mut len, mut sample) = (None, None);
        // `args[0]` is `words[at]`.
        let mut at = 2;
        while let Some(opt) = args
            .first()
            .copied()
            .filter(|a| matches!(*a, "len" | "format" | "sample"))
        {
            let value = args.get(1).copied().unwrap_or("");
            match opt {
                "format" => {
                    match value {
                        "rfc3164" | "local" | "raw" | "short" | "priority" => {}
                        "rfc5424" | "timed" | "iso" => {
                            self.not_supported(words[at].col, &format!("log format {value}"));
                        }
                        _ => {
                            let msg = format!("'log' : unknown log format '{value}'");
                            self.error(Form::Parsing, words[at].col, msg);
                            return None;
                        }
                    }
                    format = Some(value.to_owned());
                }
                "len" => len = Some(atol(value).clamp(1, 65535) as u32),
                _ => {
                    match log_sample(value) {
                        Some(s) => sample = Some(s),
                        None => {
                            let msg = format!("'log sample' : invalid sample '{value}' (expects <ranges>:<size>).");
                            self.error(Form::Parsing, words[at].col, msg);
                            return None;
                        }
                    }
                }
            }
            let taken = args.len().min(2);
            args.drain(..taken);
            at += taken;
        }
        let Some(facility) = args.first().map(|s| (*s).to_owned()) else {
            self.error(
                Form::Parsing,
                words[0].col,
                "'log' expects <address> and <facility> as arguments.".into(),
            );
            return None;
        };
        Some(LogTarget::Target {
            address,
            facility,
            level: args.get(1).map(|s| (*s).to_owned()),
            format,
            len,
            sample,
        })
    }

    /// An integer argument read as haproxy does (`atol`), clamped to u32.
    pub(crate) fn count_arg(&mut self, words: &[Word]) -> u32 {
        match words.get(1) {
            Some(w) => atol(&w.text).clamp(0, i64::from(u32::MAX)) as u32,
            None => {
                let kw = &words[0].text;
                self.error(
                    Form::Parsing,
                    words[0].col,
                    format!("'{kw}' expects an integer argument."),
                );
                0
            }
        }
    }

    /// A `tune.h2.*` setting, checked as haproxy checks it.
    fn h2_tune(&mut self, words: &[Word]) {
        let kw = words[0].text.as_str();
        let col = words[0].col;
        let Some(text) = words.get(1).map(|w| w.text.as_str()) else {
            let msg = format!("'{kw}' expects an integer argument.");
            return self.error(Form::Parsing, col, msg);
        };
        // haproxy reads it with atoi(): an int.
        let value = atol(text).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        let (range, wanted) = match kw {
            "tune.h2.header-table-size" => {
                (4_096..=65_536, "a numeric value between 4096 and 65536")
            }
            "tune.h2.max-frame-size" => (
                16_384..=16_777_215,
                "a numeric value between 16384 and 16777215",
            ),
            _ => (0..=i64::from(i32::MAX), "a positive numeric value"),
        };
        if !range.contains(&value) {
            return self.error(Form::Parsing, col, format!("'{kw}' expects {wanted}."));
        }
        let value = Some(value as u32);
        let h2 = &mut self.global.h2;
        match kw {
            "tune.h2.header-table-size" => h2.header_table_size = value,
            "tune.h2.initial-window-size" => h2.initial_window_size = value,
            "tune.h2.max-concurrent-streams" => h2.max_concurrent_streams = value,
            _ => h2.max_frame_size = value,
        }
    }

    /// `no KW` and `default KW`, which haproxy allows for a few global
    /// keywords (`default KW` is `KW`); for any other it refuses the
    /// prefix, then reads the rest as it would alone.
    fn global_negation(&mut self, words: &[Word]) {
        let negated = words[0].text == "no";
        let Some(target) = words.get(1) else {
            self.error(Form::ParsingTight, words[0].col, NEGATION_ONLY.into());
            let msg = "unknown keyword '' in 'global' section".into();
            return self.error(Form::Parsing, words[0].col, msg);
        };
        match target.text.as_str() {
            "numa-cpu-mapping" => self.global.no_numa_cpu_mapping = negated,
            "log" if negated => match words.get(2) {
                Some(extra) => {
                    let msg = "log : 'no log' does not expect arguments".into();
                    self.error(Form::Parsing, extra.col, msg);
                }
                None => self.global.logs.clear(),
            },
            // What haven never does needs no `no`.
            "busy-polling" | "set-dumpable" | "strict-limits" | "insecure-fork-wanted"
                if negated => {}
            "log" | "busy-polling" | "set-dumpable" | "strict-limits" | "insecure-fork-wanted" => {
                self.global_keyword(&words[1..]);
            }
            _ => {
                self.error(Form::ParsingTight, words[0].col, NEGATION_ONLY.into());
                self.global_keyword(&words[1..]);
            }
        }
    }

    /// `nbthread`'s or `thread-groups`' count, from 1 to `max`, read and
    /// refused as haproxy does.
    fn thread_count(&mut self, words: &[Word], max: u32) -> Option<u32> {
        let kw = &words[0].text;
        let text = words.get(1).map_or("", |w| w.text.as_str());
        let Ok(n) = text.parse::<i64>() else {
            let msg = format!("'{kw}' passed a missing or unparsable integer value in '{text}'");
            self.error(Form::Parsing, words[0].col, msg);
            return None;
        };
        if !(1..=i64::from(max)).contains(&n) {
            let msg = format!("'{kw}' value must be between 1 and {max} (was {n})");
            self.error(Form::Parsing, words[0].col, msg);
            return None;
        }
        u32::try_from(n).ok()
    }

    /// A time argument at `idx`, reported as `'<what>'` on error.
    pub(crate) fn time_arg(
        &mut self,
        words: &[Word],
        idx: usize,
        what: &str,
    ) -> Option<crate::time::Duration> {
        let Some(w) = words.get(idx) else {
            self.error(
                Form::Parsing,
                words[0].col,
                format!("'{what}' expects an integer value (in milliseconds)."),
            );
            return None;
        };
        match super::values::parse_time(&w.text) {
            Ok(d) => Some(d),
            Err(c) => {
                let c = c.map(String::from).unwrap_or_default();
                self.error(
                    Form::Parsing,
                    w.col,
                    format!("unexpected character '{c}' in '{what}'"),
                );
                None
            }
        }
    }

    /// "; did you mean 'x' maybe ?" when a candidate is close enough.
    pub(crate) fn suggest(&self, word: &str, candidates: &[&str]) -> String {
        candidates
            .iter()
            .map(|c| (edit_distance(word, c), *c))
            .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
            .min()
            .map(|(_, c)| format!("; did you mean '{c}' maybe ?"))
            .unwrap_or_default()
    }

    /// Records `what`, read on this line but not honoured, and warns of it
    /// with what differs (unless nobody could see it).
    pub(crate) fn not_supported(&mut self, col: u32, what: &str) {
        let table = match self.section {
            Section::Global => HAPROXY_GLOBAL,
            _ => HAPROXY_PROXY,
        };
        let gap = *support::covering(table, what).unwrap_or(&UNLISTED);
        if gap.impact != Impact::Unseen {
            self.warn(Form::Parsing, col, unsupported_warning(what, &gap));
        }
        let at = (self.file.clone(), self.line);
        self.record_unsupported(at, what, gap);
    }

    /// Records `what`, found at `at` after parsing, not honoured in a proxy.
    pub(crate) fn post_not_supported(&mut self, at: (String, u32), what: &str) {
        let gap = *support::covering(HAPROXY_PROXY, what).unwrap_or(&UNLISTED);
        if gap.impact != Impact::Unseen {
            self.post_error_at(
                Severity::Warning,
                at.clone(),
                unsupported_warning(what, &gap),
            );
        }
        self.record_unsupported(at, what, gap);
    }

    fn record_unsupported(&mut self, (file, line): (String, u32), what: &str, gap: Gap) {
        self.unsupported.push(Unsupported {
            file,
            line,
            what: what.to_owned(),
            gap,
        });
    }

    pub(crate) fn error(&mut self, form: Form, col: u32, message: String) {
        self.push(Severity::Error, form, col, message);
    }

    pub(crate) fn warn(&mut self, form: Form, col: u32, message: String) {
        self.push(Severity::Warning, form, col, message);
    }

    pub(crate) fn push(&mut self, severity: Severity, form: Form, col: u32, message: String) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line: self.line,
            col,
            message,
            form,
            source_line: Some(self.src_line.clone()),
        });
    }

    /// The draft lines currently go to (the defaults template or a proxy).
    pub(crate) fn draft(&mut self) -> &mut Draft {
        match self.section {
            Section::Proxy(i) => &mut self.drafts[i],
            _ => &mut self.defaults,
        }
    }

    /// Reports a problem found after parsing that belongs to the line
    /// `at` (file, line) where its directive was written.
    pub(crate) fn post_error_at(&mut self, severity: Severity, at: (String, u32), message: String) {
        self.post_error_in(severity, at, Form::Parsing, message);
    }

    /// Reports a problem found after parsing at `at`, in haproxy's `form`.
    pub(crate) fn post_error_in(
        &mut self,
        severity: Severity,
        (file, line): (String, u32),
        form: Form,
        message: String,
    ) {
        self.diags.push(Diagnostic {
            severity,
            file,
            line,
            col: 0,
            message,
            form,
            source_line: None,
        });
    }

    /// Reports a problem found after parsing (no line).
    pub(crate) fn post_error(&mut self, severity: Severity, message: String) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line: 0,
            col: 0,
            message,
            form: Form::Unplaced,
            source_line: None,
        });
    }

    fn finish(mut self) -> Parsed<HaproxyConfig> {
        // haproxy runs its post-parse checks only on a file that parsed.
        if self.diags.has_errors() {
            return Parsed {
                config: None,
                diagnostics: self.diags,
            };
        }
        self.check_userlists();
        let proxies = resolve::resolve(&mut self);
        self.check_server_resolvers(&proxies);
        self.check_server_ports(&proxies);
        // haven's own notes are not haproxy's warnings: they do not count.
        let warned = self.diags.warnings().any(|d| !d.is_haven_note());
        if self.global.zero_warning && warned {
            self.post_error(Severity::Error, ZERO_WARNING_ABORT.into());
        }
        let config = (!self.diags.has_errors()).then(|| HaproxyConfig {
            global: self.global.clone(),
            proxies,
            userlists: std::mem::take(&mut self.userlists),
            resolvers: std::mem::take(&mut self.resolvers),
            caches: std::mem::take(&mut self.caches),
            maps: Vec::new(),
            acl_files: std::mem::take(&mut self.acl_files),
            unsupported: std::mem::take(&mut self.unsupported),
        });
        Parsed {
            config,
            diagnostics: self.diags,
        }
    }
}

/// haproxy's last word when `zero-warning` meets a warning (printed
/// alone: no "Fatal errors found" follows it).
pub const ZERO_WARNING_ABORT: &str =
    "Some warnings were found and 'zero-warning' is set. Aborting.";

/// `1,3-4:5`: ranges of 1-based positions, and the run length they are
/// taken from.
fn log_sample(text: &str) -> Option<LogSample> {
    let (ranges, size) = text.rsplit_once(':')?;
    let size: u32 = size.parse().ok().filter(|n| *n > 0)?;
    let ranges = ranges
        .split(',')
        .map(|r| {
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            let (lo, hi) = (lo.parse::<u32>().ok()?, hi.parse::<u32>().ok()?);
            (lo >= 1 && lo <= hi).then_some((lo, hi))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(LogSample { ranges, size })
}

/// The row for a keyword missing from the tables (a test keeps them
/// whole): taken as changing traffic.
const UNLISTED: Gap = Gap {
    keyword: "",
    impact: Impact::Traffic,
    differs: "haven does not honour it",
};

/// `'what' parsed, not supported yet: differs.`
fn unsupported_warning(what: &str, gap: &Gap) -> String {
    format!("{}: {}.", crate::config::not_supported(what), gap.differs)
}

impl Draft {
    /// The built-in defaults haproxy starts from.
    fn template() -> Self {
        Self {
            proxy: Proxy {
                id: None,
                uuid: 0,
                name: String::new(),
                description: None,
                kind: ProxyKind::Backend,
                line: 0,
                mode: Mode::Tcp,
                binds: Vec::new(),
                maxconn: None,
                fullconn: None,
                http_upgrade: false,
                source: None,
                acls: Vec::new(),
                switching_rules: Vec::new(),
                default_backend: None,
                balance: Balance::Roundrobin,
                hash_type: HashType::default(),
                servers: Vec::new(),
                retries: 3,
                retry_on: RetryOn::default(),
                options: Options::default(),
                timeouts: Timeouts::default(),
                http_check: None,
                tcp_check: None,
                tcp_check_rules: Vec::new(),
                dispatch: None,
                http_reuse: HttpReuse::default(),
                cookie: None,
                compression: None,
                captures: Default::default(),
                log_format: None,
                unique_id_format: None,
                unique_id_header: None,
                stick_table: None,
                inspect_delay: None,
                tcp_request: Vec::new(),
                stats: None,
                errorfiles: Vec::new(),
                monitor_uri: None,
                logs: Vec::new(),
                http_request: Vec::new(),
                http_response: Vec::new(),
                http_after_response: Vec::new(),
                redirects: Vec::new(),
                prometheus: Vec::new(),
                stick_rules: Vec::new(),
            },
            default_server: super::server::default_server(),
            default_backend: None,
            rules: Vec::new(),
            http_check_line: None,
            httpchk_option: false,
            httplog_at: None,
            log_format: None,
            own_http_check_rules: false,
            own_tcp_check_rules: false,
            muxed_binds: Vec::new(),
        }
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
