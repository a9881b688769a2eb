use super::*;

const TABLES: [&[Gap]; 6] = [
    HAPROXY_GLOBAL,
    HAPROXY_PROXY,
    KEEPALIVED_TOP,
    KEEPALIVED_GLOBAL,
    KEEPALIVED_INSTANCE,
    KEEPALIVED_SYNC_GROUP,
];

#[test]
fn each_keyword_has_one_row_per_table() {
    for table in TABLES {
        for (i, g) in table.iter().enumerate() {
            assert!(!g.differs.is_empty(), "{}", g.keyword);
            let twin = table[i + 1..].iter().find(|o| o.keyword == g.keyword);
            assert!(twin.is_none(), "{} twice", g.keyword);
        }
    }
}

#[test]
fn the_most_precise_row_covers_a_use() {
    let row = |table, what| covering(table, what).map(|g| g.keyword);
    assert_eq!(row(HAPROXY_PROXY, "option logasap"), Some("option logasap"));
    assert_eq!(
        row(HAPROXY_PROXY, "bind ciphers DHE-RSA-AES128-GCM-SHA256"),
        Some("bind ciphers")
    );
    assert_eq!(
        row(HAPROXY_PROXY, "bind ciphers none"),
        Some("bind ciphers none")
    );
    assert_eq!(row(HAPROXY_PROXY, "bind v6only"), Some("bind"));
    assert_eq!(
        row(HAPROXY_PROXY, "bind address /run/haproxy.sock"),
        Some("bind address")
    );
    assert_eq!(row(HAPROXY_PROXY, "server agent-check"), Some("server"));
    assert_eq!(row(HAPROXY_PROXY, "acl fetch req.hdr"), Some("acl fetch"));
    assert_eq!(row(HAPROXY_PROXY, "timeout client-fin"), Some("timeout"));
    assert_eq!(row(HAPROXY_GLOBAL, "tune.bufsize"), Some("tune.bufsize"));
    assert_eq!(row(HAPROXY_GLOBAL, "tune.http.maxhdr"), Some("tune."));
    assert_eq!(
        row(HAPROXY_GLOBAL, "ssl-default-bind-ciphers"),
        Some("ssl-default-")
    );
    assert_eq!(row(HAPROXY_GLOBAL, "busy-polling"), Some("busy-polling"));
    // A keyword is not covered by another that merely begins it.
    assert_eq!(row(HAPROXY_PROXY, "option logasapx"), None);
    assert_eq!(row(HAPROXY_PROXY, "stickiness"), None);
    assert_eq!(
        listed(HAPROXY_PROXY, "bind ssl-min-ver").map(|g| g.impact),
        Some(Impact::Traffic)
    );
}

#[test]
fn the_markdown_has_a_line_per_row() {
    let rows: usize = TABLES.iter().map(|t| t.len()).sum();
    let text = markdown();
    assert_eq!(text.lines().filter(|l| l.starts_with("| `")).count(), rows);
    assert!(text.contains("| `http-request` | traffic | this action is not run"));
}
