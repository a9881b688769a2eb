//! `sess.` variables over HTTP/2: the session is the connection, so what
//! one stream's rules set, the streams after it read, as with haproxy.

use crate::common::{config, free_port, DEFAULTS};
use crate::{exchange, h2_connect};

// Input: rules that set `sess.first` on a request for /set, and answer
// every request with `sess.first` and `sess.n`; a connection-level rule
// sets `sess.n`. One HTTP/2 connection sends /set, then /read; a second
// connection sends /read.
// Output: /read on the first connection sees what /set's stream set (and
// the connection's `sess.n`); the second connection's stream sees only
// its own connection's `sess.n`.
#[tokio::test]
async fn streams_of_one_connection_share_its_session_variables() {
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} proto h2\n    tcp-request session set-var(sess.n) str(conn)\n    http-request set-var(sess.first) path if {{ path /set }}\n    http-request return status 200 content-type text/plain lf-string \"%[var(sess.first)]/%[var(sess.n)]\"\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let get = |path: &str| {
        http::Request::get(format!("http://a.test{path}"))
            .body(())
            .expect("request")
    };
    let one = h2_connect(fe).await;
    let set = exchange(&one, get("/set"), None).await;
    let read = exchange(&one, get("/read"), None).await;
    let other = h2_connect(fe).await;
    let elsewhere = exchange(&other, get("/read"), None).await;
    running.stop();
    assert_eq!((set.0, set.1.as_slice()), (200, &b"/set/conn"[..]));
    assert_eq!((read.0, read.1.as_slice()), (200, &b"/set/conn"[..]));
    assert_eq!((elsewhere.0, elsewhere.1.as_slice()), (200, &b"/conn"[..]));
}
