//! `server` and `default-server` lines (spec/haproxy.md §1.6), with
//! haproxy's defaults and its exact complaints.

use super::lexer::Word;
use super::model::*;
use super::parser::{Parser, Section};
use super::proxy_kw::addr_message;
use super::tls::ServerTls;
use super::values::{atol, parse_host_port, parse_time, AddrError, Host, PortSpec};
use crate::config::Form;
use crate::time::Duration;

/// Server parameters haven reads, for "did you mean" hints.
const SERVER_PARAMS: &[&str] = &[
    "weight",
    "check",
    "no-check",
    "inter",
    "fastinter",
    "downinter",
    "rise",
    "fall",
    "backup",
    "disabled",
    "enabled",
    "maxconn",
    "maxqueue",
    "slowstart",
    "port",
    "addr",
    "pool-max-conn",
    "cookie",
    "proxy-v2-options",
    "agent-check",
    "agent-port",
    "agent-addr",
    "agent-send",
    "agent-inter",
    "socks4",
    "check-via-socks4",
];

/// Server parameters haproxy knows that take no argument.
const SERVER_FLAGS: &[&str] = &[
    "ssl",
    "no-ssl",
    "check-ssl",
    "no-check-ssl",
    "send-proxy",
    "send-proxy-v2",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "no-send-proxy",
    "no-agent-check",
    "non-stick",
    "stick",
    "no-backup",
    "tfo",
    "allow-0rtt",
    "no-tls-tickets",
    "check-send-proxy",
    "no-verifyhost",
    "force-tlsv12",
    "force-tlsv13",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "ws",
];

/// Server parameters haproxy knows that take one argument.
const SERVER_WITH_ARG: &[&str] = &[
    "verify",
    "sni",
    "resolvers",
    "resolve-prefer",
    "resolve-opts",
    "resolve-net",
    "init-addr",
    "observe",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "error-limit",
    "id",
    "track",
    "redir",
    "source",
    "alpn",
    "check-alpn",
    "proto",
    "check-proto",
    "namespace",
    "ca-file",
    "crt",
    "crl-file",
    "verifyhost",
    "ciphers",
    "ciphersuites",
    "ssl-min-ver",
    "ssl-max-ver",
    "check-sni",
    "max-reuse",
    "tcp-ut",
    "usesrc",
    "log-proto",
    "curves",
    "sigalgs",
    "client-sigalgs",
    "set-proxy-v2-tlv-fmt",
    "npn",
    "shard",
    "hash-key",
];

/// haproxy's built-in server defaults: weight 1, inter 2 s, rise 2, fall 3.
pub(crate) fn default_server() -> Server {
    Server {
        name: String::new(),
        deleted: false,
        addr: ServerAddr::Host(String::new()),
        port: ServerPort::Same,
        weight: 1,
        check: false,
        inter: Duration::from_millis(2000),
        fastinter: None,
        downinter: None,
        rise: 2,
        fall: 3,
        backup: false,
        disabled: false,
        maxconn: None,
        minconn: None,
        source: None,
        resolvers: None,
        resolve_prefer: super::Family::default(),
        init_addr: super::DEFAULT_INIT_ADDR.to_vec(),
        maxqueue: None,
        slowstart: None,
        check_port: None,
        check_addr: None,
        agent: AgentCheck::default(),
        pool_max_conn: None,
        pool_purge_delay: crate::proxy::POOL_PURGE_DELAY,
        pool_low_conn: 0,
        cookie: None,
        send_proxy: None,
        proxy_v2_unique_id: false,
        socks4: None,
        check_via_socks4: false,
        proto: None,
        check_proto: None,
        tls: ServerTls::default(),
        line: 0,
    }
}

impl Parser<'_> {
    pub(crate) fn server_keyword(&mut self, words: &[Word]) {
        let col = words[0].col;
        let proxy = match self.section {
            Section::Proxy(i) => self.drafts[i].proxy.clone(),
            _ => {
                return self.error(
                    Form::Bracket,
                    col,
                    "'server' not allowed in 'defaults' section.".into(),
                )
            }
        };
        if !proxy.kind.is_backend() {
            let msg = format!(
                "parsing [{}:{}] : 'server' not allowed because frontend '{}' has no backend capability.",
                self.file, self.line, proxy.name
            );
            return self.error(Form::Bracket, col, msg);
        }
        let (Some(name), Some(addr)) = (words.get(1), words.get(2)) else {
            return self.error(
                Form::Bracket,
                col,
                "'server' expects <name> and <addr>[:<port>] as arguments.".into(),
            );
        };
        let who = format!("'server {}/{}' : ", proxy.name, name.text);
        let mut server = match self.section {
            Section::Proxy(i) => self.drafts[i].default_server.clone(),
            _ => default_server(),
        };
        server.name = name.text.clone();
        server.line = self.line;
        match server_addr(&super::values::env_expand(&addr.text, &self.opts.env)) {
            Ok((a, p)) => {
                server.addr = a;
                server.port = p;
            }
            Err(e) => {
                return self.error(
                    Form::Bracket,
                    addr.col,
                    format!("{who}{}", addr_message(&e, &addr.text)),
                )
            }
        }
        if !self.server_params(&mut server, &words[3..], &who) {
            return;
        }
        if server.tls.used() {
            self.server_tls_finish(&mut server.tls, &who, col);
        }
        if server.agent.enabled && server.agent.port.is_none() {
            let msg = format!(
                "{who}server {} does not have agent port. Agent check has been disabled.",
                server.name
            );
            return self.error(Form::Bracket, col, msg);
        }
        if let Some(prev) = proxy.servers.iter().find(|s| s.name == server.name) {
            let msg = format!(
                "backend '{}', another server named '{}' was already defined at line {}, please use distinct names.",
                proxy.name, server.name, prev.line
            );
            return self.error(Form::Parsing, name.col, msg);
        }
        if let Section::Proxy(i) = self.section {
            self.drafts[i].proxy.servers.push(server);
        }
    }

    /// `server-template <prefix> <nb | first-last> <addr>[:<port>]
    /// [params]`: servers `<prefix>N` for each N, as `server` lines.
    pub(crate) fn server_template(&mut self, words: &[Word]) {
        let usage = "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.";
        let (Some(prefix), Some(count), Some(_)) = (words.get(1), words.get(2), words.get(3))
        else {
            return self.error(Form::Bracket, words[0].col, usage.into());
        };
        let range = match count.text.split_once('-') {
            Some((a, b)) => a.parse::<u32>().ok().zip(b.parse::<u32>().ok()),
            None => count.text.parse::<u32>().ok().map(|n| (1, n)),
        };
        let Some((first, last)) = range.filter(|(a, b)| *a >= 1 && a <= b) else {
            let msg = format!("'server-template' : invalid range '{}'.", count.text);
            return self.error(Form::Bracket, count.col, msg);
        };
        for n in first..=last {
            let mut line = words.to_vec();
            line.remove(2);
            line[0].text = "server".to_owned();
            line[1].text = format!("{}{n}", prefix.text);
            self.server_keyword(&line);
        }
    }

    pub(crate) fn default_server_keyword(&mut self, words: &[Word]) {
        let mut template = match self.section {
            Section::Proxy(i) => self.drafts[i].default_server.clone(),
            _ => self.defaults.default_server.clone(),
        };
        if !self.server_params(&mut template, &words[1..], "'default-server' : ") {
            return;
        }
        match self.section {
            Section::Proxy(i) => self.drafts[i].default_server = template,
            _ => self.defaults.default_server = template,
        }
    }

    /// Applies server parameters; false when one was refused.
    fn server_params(&mut self, s: &mut Server, params: &[Word], who: &str) -> bool {
        let mut ok = true;
        let mut i = 0;
        while let Some(p) = params.get(i) {
            let name = p.text.as_str();
            let arg = params.get(i + 1);
            let takes_arg = matches!(
                name,
                "weight"
                    | "inter"
                    | "fastinter"
                    | "downinter"
                    | "rise"
                    | "fall"
                    | "maxconn"
                    | "minconn"
                    | "maxqueue"
                    | "slowstart"
                    | "port"
                    | "addr"
                    | "pool-max-conn"
                    | "pool-purge-delay"
                    | "pool-low-conn"
                    | "cookie"
                    | "proxy-v2-options"
                    | "agent-port"
                    | "agent-addr"
                    | "agent-send"
                    | "agent-inter"
                    | "socks4"
            ) || SERVER_WITH_ARG.contains(&name);
            if takes_arg && arg.is_none() {
                self.error(
                    Form::Bracket,
                    p.col,
                    format!("{who}'{name}' expects an argument.."),
                );
                return false;
            }
            let texts: Vec<&str> = params[i..].iter().map(|w| w.text.as_str()).collect();
            match self.server_tls_word(&mut s.tls, &texts) {
                Ok(0) => {}
                Ok(taken) => {
                    i += taken;
                    continue;
                }
                Err(m) => {
                    self.error(Form::Bracket, p.col, format!("{who}{m}"));
                    return false;
                }
            }
            if name == "source" {
                let args: Vec<&str> = params[i + 1..].iter().map(|w| w.text.as_str()).collect();
                match super::source::parse_source(&args, true) {
                    Ok(source) => s.source = Some(source),
                    Err(m) => {
                        self.error(Form::Bracket, p.col, format!("{who}{m}."));
                        return false;
                    }
                }
                i += 1 + super::source::source_len(&args);
                continue;
            }
            let v = arg.map(|a| a.text.as_str()).unwrap_or("");
            let mut fail = |p: &mut Self, m: String| {
                p.error(Form::Bracket, arg.map_or(0, |a| a.col), format!("{who}{m}"));
                ok = false;
            };
            match name {
                "weight" => {
                    let w = atol(v);
                    if !(0..=256).contains(&w) {
                        fail(
                            self,
                            format!(
                                "weight of server {} is not within 0 and 256 ({w})..",
                                s.name
                            ),
                        );
                    }
                    s.weight = w.clamp(0, 256) as u32;
                }
                "check" => s.check = true,
                "agent-check" => s.agent.enabled = true,
                "no-agent-check" => s.agent.enabled = false,
                "agent-port" => match v.parse::<u16>() {
                    Ok(n) if n > 0 => s.agent.port = Some(n),
                    _ => fail(self, format!("invalid port '{v}'")),
                },
                "agent-addr" => match v.parse() {
                    Ok(ip) => s.agent.addr = Some(ip),
                    Err(_) => fail(self, format!("could not resolve address '{v}'.")),
                },
                "agent-send" => s.agent.send = Some(v.to_owned()),
                "agent-inter" => match parse_time(v) {
                    Ok(d) if d > Duration::ZERO => s.agent.inter = Some(d),
                    _ => fail(
                        self,
                        format!(
                            "invalid value '{v}' for argument 'agent-inter' of server {}.",
                            s.name
                        ),
                    ),
                },
                "no-check" => s.check = false,
                "backup" => s.backup = true,
                "no-backup" => s.backup = false,
                "disabled" => s.disabled = true,
                "enabled" => s.disabled = false,
                "inter" | "fastinter" | "downinter" | "slowstart" => match parse_time(v) {
                    Ok(d) if d > Duration::ZERO || name == "slowstart" => match name {
                        "inter" => s.inter = d,
                        "fastinter" => s.fastinter = Some(d),
                        "downinter" => s.downinter = Some(d),
                        _ => s.slowstart = Some(d),
                    },
                    Ok(_) => fail(
                        self,
                        format!(
                            "invalid value 0 for argument '{name}' of server {}.",
                            s.name
                        ),
                    ),
                    Err(c) => {
                        let c = c.map(String::from).unwrap_or_default();
                        // haproxy 2.6 really names every one of these 'agent-inter'.
                        fail(self, format!("unexpected character '{c}' in 'agent-inter' argument of server {}..", s.name));
                    }
                },
                "rise" | "fall" => {
                    let n = atol(v);
                    if n <= 0 {
                        fail(self, format!("'{name}' has to be > 0.."));
                    } else if name == "rise" {
                        s.rise = n.min(i64::from(u32::MAX)) as u32;
                    } else {
                        s.fall = n.min(i64::from(u32::MAX)) as u32;
                    }
                }
                "maxconn" => s.maxconn = Some(atol(v).clamp(0, i64::from(u32::MAX)) as u32),
                "resolvers" => s.resolvers = Some(v.to_owned()),
                "resolve-prefer" => match super::resolvers::parse_family(v) {
                    Ok(f) => s.resolve_prefer = f,
                    Err(m) => fail(self, format!("{m}.")),
                },
                "init-addr" => match super::resolvers::parse_init_addr(v) {
                    Ok(list) => s.init_addr = list,
                    Err(m) => fail(self, format!("{m}.")),
                },
                "minconn" => s.minconn = Some(atol(v).clamp(0, i64::from(u32::MAX)) as u32),
                "maxqueue" => s.maxqueue = Some(atol(v).clamp(0, i64::from(u32::MAX)) as u32),
                "cookie" => s.cookie = Some(v.to_owned()),
                "socks4" => match v.parse::<std::net::SocketAddr>() {
                    Ok(a) => s.socks4 = Some(a),
                    Err(_) => fail(self, format!("'socks4' : invalid address: '{v}'")),
                },
                "check-via-socks4" => s.check_via_socks4 = true,
                "proto" | "check-proto" => {
                    let proto = match v {
                        "h1" => Some(ServerProto::H1),
                        "h2" => Some(ServerProto::H2),
                        _ => None,
                    };
                    match proto {
                        Some(_) if name == "proto" => s.proto = proto,
                        Some(_) => s.check_proto = proto,
                        None if matches!(v, "fcgi" | "none") => {
                            self.not_supported(p.col, &format!("server {name} {v}"));
                        }
                        None => fail(self, format!("'{name}' :  unknown MUX protocol '{v}'")),
                    }
                }
                "send-proxy" => s.send_proxy = Some(ProxyVersion::V1),
                "send-proxy-v2" => s.send_proxy = Some(ProxyVersion::V2),
                "no-send-proxy" | "no-send-proxy-v2" => s.send_proxy = None,
                "proxy-v2-options" => {
                    for option in v.split(',') {
                        match option {
                            "unique-id" => s.proxy_v2_unique_id = true,
                            other => self
                                .not_supported(p.col, &format!("server proxy-v2-options {other}")),
                        }
                    }
                }
                "pool-max-conn" => match v.parse::<i64>() {
                    Ok(-1) => s.pool_max_conn = None,
                    Ok(n) if n >= 0 => s.pool_max_conn = Some(n.min(i64::from(u32::MAX)) as u32),
                    Ok(_) => fail(self, format!("'{name}' must be >= -1.")),
                    Err(_) => fail(self, format!("'{name}' expects <value> as argument.")),
                },
                "pool-purge-delay" => match parse_time(v) {
                    Ok(d) => s.pool_purge_delay = d,
                    Err(c) => {
                        let c = c.map(String::from).unwrap_or_default();
                        // haproxy's own message ends with a dot, and it adds one.
                        fail(
                            self,
                            format!("unexpected character '{c}' in argument to <{name}>.."),
                        )
                    }
                },
                // haproxy reads it with atoi: leading digits, else 0.
                "pool-low-conn" => {
                    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
                    s.pool_low_conn = v[..digits].parse().unwrap_or(0);
                }
                "port" => match v.parse::<u16>() {
                    Ok(n) if n > 0 => s.check_port = Some(n),
                    _ => fail(self, format!("invalid port '{v}'")),
                },
                "addr" => match v.parse() {
                    Ok(ip) => s.check_addr = Some(ip),
                    Err(_) => fail(self, format!("could not resolve address '{v}'.")),
                },
                _ if SERVER_FLAGS.contains(&name) || SERVER_WITH_ARG.contains(&name) => {
                    self.not_supported(p.col, &format!("server {name}"));
                }
                _ => {
                    let hint = self.suggest(name, SERVER_PARAMS);
                    let msg = if hint.is_empty() {
                        format!("{who}unknown keyword '{name}'.")
                    } else {
                        format!("{who}unknown keyword '{name}'{hint}")
                    };
                    self.error(Form::Bracket, p.col, msg);
                    return false;
                }
            }
            i += if takes_arg { 2 } else { 1 };
        }
        ok
    }
}

/// A server's `addr[:port]`.
fn server_addr(text: &str) -> Result<(ServerAddr, ServerPort), AddrError> {
    if let Some(unix) = UnixAddr::parse(text) {
        return Ok((ServerAddr::Unix(unix), ServerPort::Fixed(0)));
    }
    let hp = parse_host_port(text)?;
    let addr = match hp.host {
        Host::Any => ServerAddr::Ip(std::net::Ipv4Addr::UNSPECIFIED.into()),
        Host::Ip(ip) => ServerAddr::Ip(ip),
        Host::Name(n) => ServerAddr::Host(n),
    };
    let port = match hp.port {
        None => ServerPort::Same,
        Some(PortSpec::Range(a, b)) if a == b => ServerPort::Fixed(a),
        Some(PortSpec::Range(..)) => return Err(AddrError::RangeNotPermitted),
        Some(PortSpec::Offset(o)) => ServerPort::Offset(o),
    };
    Ok((addr, port))
}

impl Parser<'_> {
    /// haproxy's refusal of a checked server with no port to check: no
    /// service port, no `port`, no first `connect` rule naming one.
    pub(super) fn check_server_ports(&mut self, proxies: &[super::Proxy]) {
        use super::{HttpCheckRule, TcpCheckRule};
        let mut problems = Vec::new();
        for p in proxies {
            let first_connect_port = match (&p.http_check, &p.tcp_check) {
                (Some(http), _) => match http.rules.first() {
                    Some(HttpCheckRule::Connect { port, .. }) => Some(port.is_some()),
                    other => other.map(|_| false),
                },
                (None, Some(_)) => match p.tcp_check_rules.first() {
                    Some(TcpCheckRule::Connect { port, .. }) => Some(port.is_some()),
                    other => other.map(|_| false),
                },
                (None, None) => None,
            };
            let kind = p.kind.type_str();
            for s in &p.servers {
                let portless = !matches!(s.port, ServerPort::Fixed(_));
                let inet = !matches!(s.addr, ServerAddr::Unix(_));
                if !(s.check && portless && inet && s.check_port.is_none()) {
                    continue;
                }
                let why = match first_connect_port {
                    Some(true) => continue,
                    None => "",
                    Some(false) => " nor tcp_check rule 'connect' with port information",
                };
                problems.push(format!(
                    "config: {kind} '{}': server '{}' has neither service port nor check port{why}.",
                    p.name, s.name
                ));
            }
        }
        for m in problems {
            self.post_error(crate::config::Severity::Error, m);
        }
    }
}
