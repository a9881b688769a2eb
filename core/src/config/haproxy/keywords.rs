//! Which keywords haproxy 2.6 knows that haven does not act on (their
//! rows are in [`crate::config::support`]: a warning, never silence), and
//! what 2.6 removed (an error, in haproxy's own words).

use crate::config::support::{self, HAPROXY_GLOBAL, HAPROXY_PROXY};

/// Section keywords haven reads (the rest of a section is parsed line by line).
pub(crate) const PROXY_SECTIONS: [&str; 3] = ["frontend", "backend", "listen"];

/// True when `kw` opens a section haproxy knows whose content haven skips
/// (its row in the table of unsupported keywords says what differs).
pub(crate) fn is_skipped_section(kw: &str) -> bool {
    support::listed(HAPROXY_PROXY, &format!("section {kw}")).is_some()
}

/// True when `kw` is a `global` keyword haven reads without honouring it.
pub(crate) fn is_unsupported_global(kw: &str) -> bool {
    support::listed(HAPROXY_GLOBAL, kw).is_some()
}

/// True when `kw` is a proxy keyword haven reads without honouring it.
pub(crate) fn is_unsupported_proxy(kw: &str) -> bool {
    support::listed(HAPROXY_PROXY, kw).is_some()
}

/// True when `name` is an `option` haven reads without honouring it.
pub(crate) fn is_unsupported_option(name: &str) -> bool {
    support::listed(HAPROXY_PROXY, &format!("option {name}")).is_some()
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
    "res.ver",
    "wait_end",
    "stopping",
    "int",
    "str",
];

/// Converters haproxy 2.6 has that haven does not apply.
const CONVERTERS_UNSUPPORTED: &[&str] = &[
    "aes_gcm_dec",
    "be2dec",
    "be2hex",
    "crc32c",
    "cut_crlf",
    "da-csv-conv",
    "debug",
    "digest",
    "djb2",
    "fix_is_valid",
    "fix_tag_value",
    "hmac",
    "host_only",
    "htonl",
    "http_date",
    "in_table",
    "json_query",
    "language",
    "ltime",
    "mqtt_field_value",
    "mqtt_is_valid",
    "ms_ltime",
    "ms_utime",
    "nbsrv",
    "port_only",
    "protobuf",
    "sdbm",
    "secure_memcmp",
    "set-var",
    "srv_queue",
    "table_conn_cnt",
    "table_conn_cur",
    "table_gpc0",
    "table_http_req_rate",
    "ungrpc",
    "unset-var",
    "us_ltime",
    "us_utime",
    "utime",
    "wt6",
    "xxh3",
    "xxh32",
    "xxh64",
];

/// True when `name` is a converter haproxy has that haven does not apply.
pub(crate) fn is_haproxy_converter(name: &str) -> bool {
    CONVERTERS_UNSUPPORTED.contains(&name) || name.starts_with("sc_") || name.starts_with("table_")
}

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
