//! The runtime API's interactive mode and limits, and what the stats page
//! says of the process, against a running haven on loopback.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Reads from `s` until `end` ends what was read; all of it.
async fn read_until(s: &mut UnixStream, end: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !out.ends_with(end.as_bytes()) {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("an answer within 5 s");
    String::from_utf8(out).expect("text")
}

// Input: `stats timeout 300ms` and `stats maxconn 1`; a connection that
// says `prompt`, then two commands, then `quit`; a second connection
// opened while the first is alive; a third left idle.
// Output: haproxy's prompt after each answer; the second connection is
// answered only once the first has quit; the idle one is closed by the
// timeout.
#[tokio::test]
async fn prompt_mode_answers_line_after_line_within_the_limits() {
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n    stats timeout 300ms\n    stats maxconn 1\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        sock.display(),
        a.addr,
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut first = UnixStream::connect(&sock).await.expect("connect");
    first.write_all(b"prompt\n").await.expect("send");
    assert_eq!(read_until(&mut first, "> ").await, "\n> ");
    first.write_all(b"set weight be/a 7\n").await.expect("send");
    assert_eq!(read_until(&mut first, "> ").await, "\n> ");
    // Over `stats maxconn`: not served while the first is open.
    let mut second = UnixStream::connect(&sock).await.expect("connect");
    second.write_all(b"get weight be/a\n").await.expect("send");
    first.write_all(b"get weight be/a\n").await.expect("send");
    assert_eq!(read_until(&mut first, "> ").await, "7 (initial 1)\n\n> ");
    first.write_all(b"quit\n").await.expect("send");
    assert_eq!(read_until(&mut first, "never").await, "");
    assert_eq!(read_until(&mut second, "never").await, "7 (initial 1)\n\n");
    let mut idle = UnixStream::connect(&sock).await.expect("connect");
    assert_eq!(read_until(&mut idle, "never").await, "", "closed when idle");
    running.stop();
}

// Input: global `node` and `description`, a stats page with `show-node`,
// `show-desc`, `show-legends` and `show-modules`, a proxy with a
// `description`.
// Output: the page's title names the node and the description, the proxy
// shows its description and its legend, and each row its stats modules'
// counters (TLS, HTTP/2 and HTTP/1 on the frontend; TLS alone on a
// server).
#[tokio::test]
async fn the_stats_page_shows_node_description_and_legends() {
    let port = free_port();
    let text = format!(
        "global\n    node lb-east-1\n    description edge pair\n{DEFAULTS}listen stats\n    bind 127.0.0.1:{port}\n    description the stats page\n    stats enable\n    stats uri /\n    stats show-node\n    stats show-desc\n    stats show-legends\n    stats show-modules\n    server s 127.0.0.1:1 disabled\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (status, page) = get(running.listeners[0].1, "x", "/").await;
    assert_eq!(status, 200);
    let pid = std::process::id();
    assert!(
        page.contains(&format!(
            "<h2>Statistics Report for pid {pid} on lb-east-1: edge pair</h2>"
        )),
        "{page}"
    );
    assert!(
        page.contains("<p class=\"desc\">the stats page</p>"),
        "{page}"
    );
    assert!(
        page.contains("<p class=\"tips\">cap: proxy, mode: http, id: 1</p>"),
        "{page}"
    );
    assert!(
        page.contains("<th>ssl</th><th>h2</th><th>h1</th></tr>"),
        "{page}"
    );
    let frontend = page
        .lines()
        .find(|l| l.starts_with("<tr><td>FRONTEND</td>"))
        .expect("the frontend's row");
    assert!(
        frontend.contains("<tr><th>ssl_sess</th><td>0</td></tr>"),
        "{frontend}"
    );
    assert!(
        frontend.contains("<th>h1_spliced_bytes_out</th>"),
        "{frontend}"
    );
    let server = page
        .lines()
        .find(|l| l.starts_with("<tr><td>s</td>"))
        .expect("the server's row");
    assert!(
        server.contains("ssl_failed_handshake") && !server.contains("h2_"),
        "{server}"
    );
    running.stop();
}

// Input: a frontend routing by `map_beg` of a map file and denying by an
// `acl -f` pattern file; `add map`, `set map`, `del map`, `add acl` and
// `del acl` on the stats socket (one with a `<<` payload, one with an
// escaped space).
// Output: each change reaches the rules at once; `show map` and `show
// acl` list the entries as haproxy prints them.
#[tokio::test]
async fn map_and_acl_files_change_at_run_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("paths.map");
    let acl = dir.path().join("agents.acl");
    std::fs::write(&map, "/a first\n").expect("map file");
    std::fs::write(&acl, "# blocked agents\nbadbot\n").expect("acl file");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request deny if {{ req.hdr(user-agent) -m str -f {} }}\n    http-request return status 200 content-type text/plain lf-string \"%[path,map_beg({},none)]\"\n",
        sock.display(),
        acl.display(),
        map.display(),
    );
    let parsed = haven_core::config::haproxy::parse(
        &[("test.cfg", &text)],
        &haven_core::config::haproxy::ParseOptions {
            files: Some(|p| std::fs::read(p)),
            ..Default::default()
        },
    );
    let running = haven_runtime::start(parsed.config.expect("valid"))
        .await
        .expect("starts");
    let fe = running.listeners[0].1;
    let ask = |line: String| {
        let sock = sock.clone();
        async move {
            let mut s = UnixStream::connect(&sock).await.expect("connect");
            s.write_all(line.as_bytes()).await.expect("send");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("read");
            out
        }
    };
    let as_agent = |agent: &'static str, path: &'static str| async move {
        let raw = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: {agent}\r\nConnection: close\r\n\r\n"
        );
        let reply = send_raw(fe, raw.as_bytes()).await;
        let status = reply.split(' ').nth(1).unwrap_or("").to_owned();
        let body = reply
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        (status, body)
    };
    let (m, a) = (map.display(), acl.display());
    assert_eq!(
        as_agent("curl", "/b/x").await,
        ("200".into(), "none".into())
    );
    assert_eq!(
        ask(format!("add map {m} <<\n/b second\n/c third\n\n")).await,
        "\n"
    );
    assert_eq!(
        as_agent("curl", "/b/x").await,
        ("200".into(), "second".into())
    );
    assert_eq!(
        ask(format!("set map {m} /a changed; del map {m} /c\n")).await,
        "\n\n"
    );
    assert_eq!(
        as_agent("curl", "/a").await,
        ("200".into(), "changed".into())
    );
    assert_eq!(
        ask(format!("show map {m}\n")).await,
        "0x1 /a changed\n0x2 /b second\n\n"
    );
    assert_eq!(as_agent("Evil Bot", "/a").await.0, "200");
    assert_eq!(ask(format!("add acl {a} Evil\\ Bot\n")).await, "\n");
    assert_eq!(as_agent("Evil Bot", "/a").await.0, "403");
    assert_eq!(
        ask(format!("show acl {a}\n")).await,
        "0x1 badbot\n0x2 Evil Bot\n\n"
    );
    assert_eq!(ask(format!("del acl {a} badbot\n")).await, "\n");
    assert_eq!(as_agent("badbot", "/a").await.0, "200");
    assert_eq!(
        ask("show map /nowhere\n".to_owned()).await,
        "Unknown map identifier. Please use #<id> or <file>.\n\n"
    );
    running.stop();
}

// Input: a stats frontend with `http-request deny` for every client but
// 10.0.0.0/8, and a frontend whose backend holds `stats uri /stats`.
// Output: as in haproxy, the frontend's rules run before its stats page
// (loopback gets 403), and a backend's stats page answers requests
// routed to it without reaching its server.
#[tokio::test]
async fn stats_pages_come_after_rules_and_live_in_backends_too() {
    let a = Backend::start("a").await;
    let (guarded, routed) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}listen guarded\n    bind 127.0.0.1:{guarded}\n    http-request deny if !{{ src 10.0.0.0/8 }}\n    stats enable\n    stats uri /\nfrontend fe\n    bind 127.0.0.1:{routed}\n    default_backend be\nbackend be\n    stats enable\n    stats uri /stats\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let by_name = |name: &str| listener(&running, name);
    assert_eq!(get(by_name("guarded"), "x", "/").await.0, 403);
    let (status, page) = get(by_name("fe"), "x", "/stats;csv").await;
    assert_eq!(status, 200);
    assert!(page.starts_with("# pxname,svname,"), "{page}");
    assert_eq!(
        get(by_name("fe"), "x", "/other").await,
        (200, "a".to_owned())
    );
    assert_eq!(
        a.connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "only /other reached the server"
    );
    running.stop();
}

// Input: `set var` without and with `experimental-mode on`, with `expr`
// and `fmt` values, a wrong kind, a non-proc scope and an unknown fetch,
// each followed by `get var`; then a request whose rule prints
// `%[var(proc.n)]`.
// Output: every answer byte for byte as haproxy 2.6.12 gives it on the
// same commands, and the request sees the variable the API set.
#[tokio::test]
async fn process_variables_are_set_and_read_through_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request return status 200 content-type text/plain lf-string \"n=%[var(proc.n)]\"\n",
        sock.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let on = "experimental-mode on; ";
    let cases = [
        (
            "get var".to_owned(),
            "Missing process-wide variable identifier.\n\n",
        ),
        ("get var proc.n".to_owned(), "Variable not found.\n\n"),
        (
            "set var proc.n int(5)".to_owned(),
            "This command is restricted to experimental mode only.\n\n",
        ),
        (
            format!("{on}set var proc.n"),
            "\nMissing either 'expr', 'fmt' or expression.\n\n",
        ),
        (format!("{on}set var proc.n int(5)"), "\n\n"),
        ("get var proc.n".to_owned(), "proc.n: type=sint value=<5>\n"),
        (format!("{on}set var proc.s fmt %[str(a)]-b"), "\n\n"),
        (
            "get var proc.s".to_owned(),
            "proc.s: type=str value=<a-b>\n",
        ),
        (
            format!("{on}set var proc.s foo bar"),
            "\n'set var': arg type must be either 'expr' or 'fmt' but got 'foo'.\n",
        ),
        (
            format!("{on}set var txn.x int(1)"),
            "\n'set var': cannot set variable 'txn.x', only scope 'proc' is permitted here.\n",
        ),
        (format!("{on}set var proc.ip ipv4(1.2.3.4)"), "\n\n"),
        (
            "get var proc.ip".to_owned(),
            "proc.ip: type=ipv4 value=<1.2.3.4>\n",
        ),
        (
            format!("{on}set var proc.e nosuch(1)"),
            "\nunknown fetch method 'nosuch'\n",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(ask_once(&sock, &line).await, want, "{line}");
    }
    let fe = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(get(fe, "x", "/").await, (200, "n=5".to_owned()));
    running.stop();
}

/// The answer to `line` on a new connection to the runtime API at `sock`.
async fn ask_once(sock: &std::path::Path, line: &str) -> String {
    let mut s = UnixStream::connect(sock).await.expect("connect");
    s.write_all(format!("{line}\n").as_bytes())
        .await
        .expect("send");
    read_until(&mut s, "never").await
}

/// `text` with what changes from run to run masked: entry addresses and
/// expiry times.
fn masked(text: &str) -> String {
    text.split(' ')
        .map(|w| match w {
            w if w.starts_with("0x") => "0xADDR:",
            w if w.starts_with("exp=") => "exp=N",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// Input: a table tracking sources, with gpc0 raised for 127.0.0.1 (from
// 127.0.0.1 and 127.0.0.2); `show table` by key and by data filter,
// malformed filters, then `clear table` by key, by filter and whole.
// Output: each answer as haproxy 2.6.12 gives it to the same commands
// (entry addresses and expiry times aside), and the entries cleared.
#[tokio::test]
async fn table_entries_are_shown_and_cleared_by_key_and_by_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend f\n    bind 127.0.0.1:{port}\n    stick-table type ip size 100 expire 1m store http_req_cnt,gpc0\n    http-request track-sc0 src\n    http-request sc-inc-gpc0(0) if {{ path /inc }}\n    http-request return status 200\n",
        sock.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    for (from, path) in [([127, 0, 0, 1], "/inc"), ([127, 0, 0, 2], "/")] {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::from((from, 0)))
            .expect("bind");
        let mut c = socket
            .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        c.write_all(request.as_bytes()).await.expect("send");
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.expect("answer");
    }
    let header = |used: u32| format!("# table: f, type: ip, size:100, used:{used}\n");
    let one = "0xADDR: key=127.0.0.1 use=0 exp=N gpc0=1 http_req_cnt=1\n";
    let two = "0xADDR: key=127.0.0.2 use=0 exp=N gpc0=0 http_req_cnt=1\n";
    let filter = "Filter entry #1: ";
    let cases = [
        ("show table f".to_owned(), format!("{}{one}{two}\n", header(2))),
        ("show table nosuch".to_owned(), "No such table\n\n".to_owned()),
        ("show table f key 127.0.0.1".to_owned(), format!("{}{one}\n", header(2))),
        ("show table f key 127.0.0.5".to_owned(), "\n".to_owned()),
        ("show table f data.gpc0 gt 0".to_owned(), format!("{}{one}\n", header(2))),
        ("show table f data.gpc0".to_owned(), format!("{filter}Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n\n")),
        ("show table f data.gpc0 gt x".to_owned(), format!("{filter}Require a valid integer value to compare against\n\n")),
        ("show table f data.conn_cnt gt 1".to_owned(), format!("{filter}Data type not stored in this table\n\n")),
        ("show table f data.gpc0 gt 0 extra".to_owned(), "Filter entry #2: Unknown data type\n\n".to_owned()),
        ("show table f foo".to_owned(), "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n\n".to_owned()),
        ("clear table".to_owned(), "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n\n".to_owned()),
        ("clear table f key".to_owned(), "Key value expected\n\n".to_owned()),
        ("clear table f data.gpc0 gt 0".to_owned(), "\n".to_owned()),
        ("show table f".to_owned(), format!("{}{two}\n", header(1))),
        ("clear table f".to_owned(), "\n".to_owned()),
        ("show table f".to_owned(), format!("{}\n", header(0))),
    ];
    for (line, want) in cases {
        let got = ask_once(&sock, &line).await;
        let got: Vec<String> = got.split('\n').map(masked).collect();
        assert_eq!(got.join("\n"), want, "{line}");
    }
    running.stop();
}

// Input: a `listen` with `id 10` and `cookie SRV insert`, a backend with
// no `id` balancing `leastconn`; `show stat typed` at `level admin`, then
// `show stat` at `level user`.
// Output: haproxy's numbering (its runtime API proxy takes 1, `id 10`
// stands, the next proxy takes the first number left after the count of
// those before it: 3); each cell on its own line with its tags and type;
// the legends (server address and cookie, backend algorithm and cookie)
// for an admin, not for a user; after each row's base cells, the TLS
// module's counters, then HTTP/2's and HTTP/1's on frontends and backends;
// with `option socket-stats`, the listener's row (`sock-1`, type 3, TLS
// counters only) between the frontend's and the servers'.
#[tokio::test]
async fn show_stat_typed_numbers_and_types_every_cell_as_haproxy() {
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (admin, user) = (dir.path().join("admin.sock"), dir.path().join("user.sock"));
    let text = format!(
        "global\n    stats socket {} level admin\n    stats socket {} level user\n{DEFAULTS}listen li\n    bind 127.0.0.1:{}\n    id 10\n    option socket-stats\n    cookie SRV insert\n    server a {} cookie x\nbackend be\n    balance leastconn\n    server b {}\n",
        admin.display(),
        user.display(),
        free_port(),
        a.addr,
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let typed = cli(&admin, "show stat typed").await;
    let lines: Vec<&str> = typed.lines().collect();
    assert_eq!(lines[0], "F.10.0.0.pxname.1:KNS:str:li");
    for expected in [
        "F.10.0.1.svname.1:KNS:str:FRONTEND".to_owned(),
        "F.10.0.17.status.1:SGP:str:OPEN".to_owned(),
        format!("S.10.1.73.addr.1:CGS:str:{}", a.addr),
        "S.10.1.74.cookie.1:CNS:str:x".to_owned(),
        "S.10.1.105.ssl_failed_handshake.1:MCP:u64:0".to_owned(),
        "L.10.1.1.svname.1:KNS:str:sock-1".to_owned(),
        "L.10.1.32.type.1:CGS:u32:3".to_owned(),
        "L.10.1.7.stot.1:MCP:u64:0".to_owned(),
        "L.10.1.105.ssl_failed_handshake.1:MCP:u64:0".to_owned(),
        "B.10.0.74.cookie.1:CNS:str:SRV".to_owned(),
        "B.10.0.19.act.1:MGP:u32:1".to_owned(),
        "B.3.0.76.algo.1:CGS:str:leastconn".to_owned(),
        "B.3.0.126.h1_spliced_bytes_out.1:MCP:u64:0".to_owned(),
    ] {
        assert!(lines.contains(&expected.as_str()), "{expected} in {typed}");
    }
    assert!(
        !typed.contains("S.10.1.106.") && !typed.contains("L.10.1.106."),
        "servers and listeners have no HTTP/2 counters"
    );
    let listener = typed.find("L.10.1.0.").expect("a listener row");
    assert!(
        typed.find("F.10.0.").expect("the frontend") < listener
            && listener < typed.find("S.10.1.").expect("the server"),
        "the listener comes between its frontend and the servers"
    );
    let csv = cli(&user, "show stat").await;
    assert!(!csv.contains("leastconn"), "no legends for a user: {csv}");
    running.stop();
}

// Input: backend be with servers a and b (both answering their name);
// `del server be/a` while a runs, then after `set server be/a state
// maint`, then again; `add server be/a` with b's address.
// Output: haproxy's answers in order (only a server in maintenance can
// go; "Server deleted."; then "No such server."); once deleted, a is gone
// from `show stat` and `show servers state` and every request reaches
// b; the name can be added again, and shows again.
#[tokio::test]
async fn a_server_in_maintenance_is_deleted_and_its_name_freed() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    balance roundrobin\n    server a {}\n    server b {}\n",
        sock.display(),
        a.addr,
        b.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    assert_eq!(
        cli(&sock, "del server be/a").await,
        "Only servers in maintenance mode can be deleted.\n\n"
    );
    cli(&sock, "set server be/a state maint").await;
    assert_eq!(cli(&sock, "del server be/a").await, "Server deleted.\n\n");
    assert_eq!(cli(&sock, "del server be/a").await, "No such server.\n\n");
    let csv = cli(&sock, "show stat").await;
    assert!(!csv.contains("\nbe,a,") && csv.contains("\nbe,b,"), "{csv}");
    let state = cli(&sock, "show servers state be").await;
    assert!(!state.contains(" a "), "{state}");
    for _ in 0..4 {
        assert_eq!(get(fe, "x", "/").await, (200, "b".to_owned()));
    }
    let added = cli(&sock, &format!("add server be/a {}", b.addr)).await;
    assert_eq!(added, "New server registered.\n\n");
    assert!(cli(&sock, "show stat").await.contains("\nbe,a,"));
    running.stop();
}

// Input: a request whose second line has a space in the header name,
// then `show errors`, `show errors f response` and `show errors nosuch`.
// Output: the 400; then the kept request as haproxy 2.6.12 dumps it
// (dates and the client's port aside; its H1 flag lines left out), the
// bare heading when only responses are asked for, and haproxy's refusal
// of an unknown proxy.
#[tokio::test]
async fn a_malformed_request_is_kept_for_show_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend f\n    bind 127.0.0.1:{port}\n    http-request return status 200\n",
        sock.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (answer, src) = exchange(port, b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n").await;
    assert!(answer.starts_with(b"HTTP/1.1 400 "), "{answer:?}");
    // Dates change from run to run.
    let undated = |text: String| -> String {
        text.lines()
            .map(|l| match l.find('[').zip(l.find(']')) {
                Some((a, b)) if a < b => format!("{}[DATE]{}", &l[..a], &l[b + 1..]),
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let want = format!("Total events captured on [DATE] : 1\n \n[DATE] frontend f (#2): invalid request\n  backend <NONE> (#-1), server <NONE> (#-1), event #0, {src}\n  buffer starts at 0 (including 0 out), 16356 free,\n  len 28, wraps at 16384, error at position 18\n  \n  00000  GET / HTTP/1.1\\r\\n\n  00016  Ho st: x\\r\\n\n  00026  \\r\\n\n");
    assert_eq!(undated(ask_once(&sock, "show errors").await), want);
    let responses = undated(ask_once(&sock, "show errors f response").await);
    assert_eq!(responses, "Total events captured on [DATE] : 1\n");
    let unknown = ask_once(&sock, "show errors nosuch").await;
    assert_eq!(unknown, "No such proxy.\n\n");
    running.stop();
}

// Input: a server whose answer has a space in a header name; a request
// through haven, then `show errors be response`.
// Output: the client gets a 502, and the answer is kept on the backend
// with its frontend and server, as haproxy 2.6.12 keeps it.
#[tokio::test]
async fn a_malformed_response_is_kept_on_its_backend() {
    let server = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server_addr = server.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut c, _)) = server.accept().await {
            let mut ask = [0u8; 1024];
            let _ = c.read(&mut ask).await;
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nA b: c\r\n\r\n").await;
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend f\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s {server_addr}\n",
        sock.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let ask = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (answer, src) = exchange(port, ask).await;
    assert!(answer.starts_with(b"HTTP/1.1 502 "), "{answer:?}");
    let shown = ask_once(&sock, "show errors be response").await;
    let heading = format!("] backend be (#3): invalid response\n  frontend f (#2), server s (#1), event #0, {src}\n  buffer starts at 0 (including 0 out), 16357 free,\n  len 27, wraps at 16384, error at position 18\n  \n  00000  HTTP/1.1 200 OK\\r\\n\n  00017  A b: c\\r\\n\n  00025  \\r\\n\n\n");
    assert!(shown.ends_with(&heading), "{shown}");
    running.stop();
}

/// Sends `ask` to haven on `port` and reads to the end: the answer, and
/// `src <client address>` as `show errors` names the client.
async fn exchange(port: u16, ask: &[u8]) -> (Vec<u8>, String) {
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    c.write_all(ask).await.expect("send");
    let mut answer = Vec::new();
    c.read_to_end(&mut answer).await.expect("answer");
    (answer, format!("src {}", c.local_addr().expect("address")))
}
