//! Keyword tables: what haproxy 2.6 knows but haven does not act on yet
//! (a warning, never silence), and what 2.6 removed (an error, in haproxy's
//! own words).

/// Section keywords haven reads (the rest of a section is parsed line by line).
pub(crate) const PROXY_SECTIONS: [&str; 3] = ["frontend", "backend", "listen"];

/// Sections haproxy knows whose content haven skips with one warning.
pub(crate) const SKIPPED_SECTIONS: &[&str] = &[
    "resolvers",
    "peers",
    "userlist",
    "program",
    "cache",
    "ring",
    "mailers",
    "http-errors",
    "fcgi-app",
];

/// `global` keywords haven accepts without acting on them yet.
const GLOBAL_UNSUPPORTED: &[&str] = &[
    "chroot",
    "uid",
    "gid",
    "quiet",
    "ulimit-n",
    "lua-load",
    "hard-stop-after",
    "node",
    "description",
    "log-send-hostname",
    "log-tag",
    "external-check",
    "insecure-fork-wanted",
    "ca-base",
    "crt-base",
    "debug",
    "noepoll",
    "nopoll",
    "nosplice",
    "localpeer",
    "cpu-map",
    "server-state-file",
    "server-state-base",
    "h1-case-adjust",
    "zero-warning",
    "expose-experimental-directives",
    "maxsslconn",
    "maxconnrate",
    "maxsessrate",
    "maxpipes",
    "busy-polling",
    "set-dumpable",
    "strict-limits",
    "grace",
    "mworker-max-reloads",
    "numa-cpu-mapping",
    "default-path",
    "presetenv",
    "unsetenv",
    "resetenv",
    "ssl-server-verify",
    "ssl-dh-param-file",
    "stats",
    "unix-bind",
    "pp2-never-send-local",
];

/// `global` keyword prefixes accepted the same way (`tune.bufsize`...).
const GLOBAL_UNSUPPORTED_PREFIXES: &[&str] =
    &["tune.", "ssl-default-", "httpclient.", "profiling."];

/// Proxy keywords haven accepts without acting on them yet.
const PROXY_UNSUPPORTED: &[&str] = &[
    "cookie",
    "http-request",
    "http-response",
    "http-after-response",
    "tcp-response",
    "capture",
    "compression",
    "errorfile",
    "errorloc",
    "errorloc302",
    "errorloc303",
    "fullconn",
    "monitor-uri",
    "monitor",
    "rate-limit",
    "redirect",
    "source",
    "stick-table",
    "stick",
    "unique-id-format",
    "unique-id-header",
    "log-format",
    "log-tag",
    "description",
    "id",
    "disabled",
    "enabled",
    "grace",
    "hash-balance-factor",
    "http-reuse",
    "ignore-persist",
    "force-persist",
    "persist",
    "filter",
    "email-alert",
    "server-template",
    "use-server",
    "dynamic-cookie-key",
    "http-send-name-header",
    "max-keep-alive-queue",
    "backlog",
    "declare",
    "external-check",
    "load-server-state-from-file",
    "server-state-file-name",
    "http-error",
    "default-path",
    "log-format-sd",
    "error-log-format",
    "minconn",
    "bind-process",
];

/// `option` names haven accepts without acting on them yet.
const OPTION_UNSUPPORTED: &[&str] = &[
    "dontlognull",
    "dontlog-normal",
    "http-buffer-request",
    "tcpka",
    "clitcpka",
    "srvtcpka",
    "spop-check",
    "external-check",
    "log-separate-errors",
    "logasap",
    "nolinger",
    "originalto",
    "persist",
    "prefer-last-server",
    "socket-stats",
    "splice-auto",
    "splice-request",
    "splice-response",
    "transparent",
    "http-use-proxy-header",
    "http-pretend-keepalive",
    "http-ignore-probes",
    "http-no-delay",
    "accept-invalid-http-request",
    "accept-invalid-http-response",
    "independent-streams",
    "checkcache",
    "contstats",
    "disable-h2-upgrade",
    "h1-case-adjust-bogus-client",
    "h1-case-adjust-bogus-server",
    "httpslog",
    "http-restrict-req-hdr-names",
    "idle-close-on-response",
    "forwarded",
    "http-drop-request-trailers",
    "http-drop-response-trailers",
];

/// True when `kw` is a `global` keyword accepted with a "not supported yet" warning.
pub(crate) fn is_unsupported_global(kw: &str) -> bool {
    GLOBAL_UNSUPPORTED.contains(&kw)
        || GLOBAL_UNSUPPORTED_PREFIXES
            .iter()
            .any(|p| kw.starts_with(p))
}

/// True when `kw` is a proxy keyword accepted with a "not supported yet" warning.
pub(crate) fn is_unsupported_proxy(kw: &str) -> bool {
    PROXY_UNSUPPORTED.contains(&kw)
}

/// True when `name` is an `option` accepted with a "not supported yet" warning.
pub(crate) fn is_unsupported_option(name: &str) -> bool {
    OPTION_UNSUPPORTED.contains(&name)
}

/// haproxy 2.6's error for a proxy keyword it removed, if `kw` is one.
pub(crate) fn removed_proxy_keyword(kw: &str) -> Option<String> {
    let timeout = match kw {
        "contimeout" => Some("connect"),
        "clitimeout" => Some("client"),
        "srvtimeout" => Some("server"),
        _ => None,
    };
    if let Some(t) = timeout {
        return Some(format!(
            "the '{kw}' directive is not supported anymore since HAProxy 2.1. Use 'timeout {t}'."
        ));
    }
    if kw == "redispatch" {
        return Some(
            "keyword 'redispatch' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'."
                .to_owned(),
        );
    }
    if kw == "block" {
        return Some("The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' which uses the exact same syntax.".to_owned());
    }
    let (side, rest) = if let Some(r) = kw.strip_prefix("req") {
        ("http-request", r)
    } else {
        ("http-response", kw.strip_prefix("rsp")?)
    };
    let action = match rest.strip_prefix('i').unwrap_or(rest) {
        "add" => "add-header",
        "rep" => "replace-header",
        "del" => "del-header",
        "deny" => "deny",
        "allow" => "allow",
        "tarpit" => "tarpit",
        "pass" => "allow",
        _ => return None,
    };
    if rest == "iadd" {
        return None;
    }
    Some(format!(
        "The '{kw}' directive is not supported anymore since HAProxy 2.1. Use '{side} {action}' instead."
    ))
}

/// haproxy 2.6's error for an `option` it removed, if `name` is one.
pub(crate) fn removed_option(name: &str) -> Option<&'static str> {
    match name {
        "http_proxy" => Some("option 'http_proxy' is not supported any more since HAProxy 2.5. This option stopped working in HAProxy 1.9 and usually had nasty side effects. It can be more reliably implemented with combinations of 'http-request set-dst' and 'http-request set-uri', and even 'http-request do-resolve' if DNS resolution is desired."),
        _ => None,
    }
}

/// Sample fetches haproxy knows that haven's ACLs do not evaluate yet.
const FETCH_UNSUPPORTED: &[&str] = &[
    "src",
    "dst",
    "src_port",
    "dst_port",
    "ssl_fc",
    "ssl_fc_sni",
    "ssl_fc_has_sni",
    "req.ssl_hello_type",
    "req_ssl_hello_type",
    "req.ssl_sni",
    "req_ssl_sni",
    "req.len",
    "req_len",
    "req.payload",
    "req.proto_http",
    "hdr_cnt",
    "hdr_reg",
    "hdr_len",
    "hdr_ip",
    "hdr_val",
    "hdr_str",
    "hdr_found",
    "path_reg",
    "path_dir",
    "path_dom",
    "path_len",
    "url",
    "url_reg",
    "url_sub",
    "url_end",
    "url_dir",
    "url_dom",
    "url_param",
    "urlp",
    "query",
    "base",
    "base_beg",
    "base_end",
    "base_sub",
    "base_reg",
    "cook",
    "req.cook",
    "req.hdr",
    "res.hdr",
    "status",
    "nbsrv",
    "connslots",
    "be_conn",
    "fe_conn",
    "srv_is_up",
    "http_auth",
    "http_auth_group",
    "always_true",
    "always_false",
    "env",
    "var",
    "req.fhdr",
    "req.body",
    "req.ver",
    "req_ver",
    "ssl_c_used",
    "ssl_c_verify",
    "dst_conn",
    "so_id",
    "fe_id",
    "be_id",
    "queue",
    "avg_queue",
    "sc_http_req_rate",
    "sc0_http_req_rate",
    "sc1_http_req_rate",
    "src_conn_cur",
    "src_http_req_rate",
    "http_first_req",
    "capture.req.hdr",
    "res.ver",
    "wait_end",
    "stopping",
    "int",
    "str",
];

/// True when `fetch` is a fetch haproxy knows but haven does not evaluate.
pub(crate) fn is_unsupported_fetch(fetch: &str) -> bool {
    FETCH_UNSUPPORTED.contains(&fetch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_keywords_use_haproxys_words() {
        assert_eq!(
            removed_proxy_keyword("reqirep").as_deref(),
            Some("The 'reqirep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-header' instead.")
        );
        assert_eq!(
            removed_proxy_keyword("rspadd").as_deref(),
            Some("The 'rspadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response add-header' instead.")
        );
        assert!(removed_proxy_keyword("retries").is_none());
        assert!(removed_proxy_keyword("req").is_none());
    }
}
