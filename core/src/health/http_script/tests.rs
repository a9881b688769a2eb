use super::*;
use crate::config::haproxy::{parse, ParseOptions};

/// The HTTP check of backend `b` written with `lines`.
fn probe(lines: &str) -> HttpProbe {
    let text = format!("defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nbackend b\n  option httpchk\n{lines}  server srv 127.0.0.1:1 check\n");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    let cfg = parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
    HttpProbe {
        rules: cfg.proxies[0].http_check.clone().expect("http check").rules,
        backend: "b".into(),
        server: "srv".into(),
        send_state: false,
        state: None,
    }
}

/// The request the run sends first.
fn first_request(run: &mut HttpRun) -> String {
    match run.step() {
        Next::Send(bytes) => String::from_utf8(bytes).expect("text"),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Runs `p` against one answer per request; the verdict.
fn verdict_of(p: HttpProbe, answers: &[&str]) -> Verdict {
    let mut run = HttpRun::new(p);
    let mut answers = answers.iter();
    loop {
        match run.step() {
            Next::Finish(v) => return v,
            Next::Send(_) => {
                run.received(answers.next().expect("an answer").as_bytes());
                run.closed();
            }
            Next::Read | Next::Connect(_) => {}
        }
    }
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

// Input: bare `option httpchk`; a POST without body; headers from
// formats, one empty; send-state.
// Output: haproxy's defaults and header order: the check's headers, the
// state, `connection: close` from HTTP/1.1 on (HTTP/1.0 closes without
// it), a content-length only where haproxy puts one; an empty header is
// left out.
#[test]
fn requests_are_written_as_haproxy_writes_them() {
    let mut run = HttpRun::new(probe(""));
    assert_eq!(first_request(&mut run), "OPTIONS / HTTP/1.0\r\n\r\n");
    let mut p = probe("  http-check send meth POST uri /p ver HTTP/1.1 hdr x-a \"%[srv_name]-%[be_name]\" hdr x-empty \"%[var(check.none)]\"\n");
    p.state = Some("UP; name=b/srv".into());
    assert_eq!(
        first_request(&mut HttpRun::new(p)),
        "POST /p HTTP/1.1\r\nx-a: srv-b\r\nx-haproxy-server-state: UP; name=b/srv\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
    );
    let p = probe("  http-check send uri-lf \"%[var(check.none)]\" hdr connection keep-alive body-lf \"on %[be_name]\"\n");
    assert_eq!(
        first_request(&mut HttpRun::new(p)),
        "OPTIONS / HTTP/1.0\r\nconnection: keep-alive\r\ncontent-length: 4\r\n\r\non b"
    );
}

// Input: one answer with a list-valued header, judged by `hdr` (values
// split at commas) and `fhdr` (whole), names in any case, values exact.
// Output: pass and fail as haproxy's expect rules decide.
#[test]
fn header_expects_split_values_unless_full() {
    let answer = "HTTP/1.1 200 OK\r\nX-List: one, Two-value\r\ncontent-length: 0\r\n\r\n";
    let passes = |rule: &str| {
        let p = probe(&format!("  http-check expect {rule}\n"));
        verdict_of(p, &[answer]).status == CheckStatus::L7Ok
    };
    assert!(passes("hdr name x-list"));
    assert!(passes("hdr name -m beg X-L value Two-value"));
    assert!(passes("hdr name -m reg ^x-l[a-z]+$ value -m end -value"));
    assert!(passes("fhdr name x-list value \"one, Two-value\""));
    assert!(!passes("hdr name x-list value \"one, Two-value\""));
    assert!(!passes("fhdr name x-list value one"));
    assert!(!passes("hdr name x-list value -m str two-value"));
    assert!(!passes("hdr name -m sub nothere"));
    assert!(passes("! hdr name -m sub nothere"));
}

// Input: answers failing a status, a body string, a negated body string;
// an empty body; garbage.
// Output: haproxy's status, code and words for each.
#[test]
fn failures_carry_haproxys_status_and_words() {
    let v = verdict_of(
        probe(""),
        &["HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n"],
    );
    assert_eq!(
        (v.status, v.code, v.info.as_deref()),
        (CheckStatus::L7Sts, Some(503), Some("Busy"))
    );
    let body = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    let v = verdict_of(
        probe("  http-check expect string bye comment why\n"),
        &[body],
    );
    assert_eq!(
        (v.status, v.info.as_deref()),
        (
            CheckStatus::L7Rsp,
            Some("HTTP content check did not match comment: why")
        )
    );
    let v = verdict_of(probe("  http-check expect ! rstring ^hel\n"), &[body]);
    assert_eq!(
        v.info.as_deref(),
        Some("HTTP check matched unwanted content")
    );
    let v = verdict_of(probe("  http-check expect string x\n"), &[OK]);
    assert_eq!(
        v.info.as_deref(),
        Some("HTTP content check could not find a response body")
    );
    let v = verdict_of(probe(""), &["SSH-2.0-OpenSSH\r\n"]);
    assert_eq!((v.status, v.info), (CheckStatus::L7Rsp, None));
    let v = verdict_of(probe(""), &[OK]);
    assert_eq!(
        (v.status, v.code, v.info),
        (CheckStatus::L7Ok, Some(200), None)
    );
}

// Input: two exchanges on two connections, a variable set from the first
// answer's header and used in the second request and expect.
// Output: the run connects where the rule says, sends what the variable
// holds, and passes on the second answer's header.
#[test]
fn steps_carry_variables_from_one_answer_to_the_next() {
    let p = probe("  http-check send uri /one\n  http-check expect status 200\n  http-check set-var(check.next) res.fhdr(x-next)\n  http-check connect addr 127.0.0.2 port 82\n  http-check send uri-lf /%[var(check.next)]\n  http-check expect hdr name-lf %[var(check.next)]\n");
    let mut run = HttpRun::new(p);
    assert_eq!(first_request(&mut run), "OPTIONS /one HTTP/1.0\r\n\r\n");
    assert_eq!(run.step(), Next::Read);
    run.received(b"HTTP/1.1 200 OK\r\nx-next: two\r\ncontent-length: 0\r\n\r\n");
    let aim = Target {
        addr: Some("127.0.0.2".parse().expect("ip")),
        port: Some(82),
        linger: false,
        delayed_ack: true,
    };
    assert_eq!(run.step(), Next::Connect(aim));
    assert_eq!(first_request(&mut run), "OPTIONS /two HTTP/1.0\r\n\r\n");
    assert_eq!(run.step(), Next::Read);
    run.received(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nTwo: y\r\n\r\n");
    // The body is not whole yet, but a header expect decides on the head.
    assert!(matches!(run.step(), Next::Finish(v) if v.status == CheckStatus::L7Ok));
}

// Input: an answer cut in two reads, then a chunked one.
// Output: the run waits for the head, and reads a chunked body whole.
#[test]
fn answers_are_read_until_they_can_be_judged() {
    let mut run = HttpRun::new(probe("  http-check expect string abc\n"));
    first_request(&mut run);
    assert_eq!(run.step(), Next::Read);
    run.received(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab");
    assert_eq!(run.step(), Next::Read);
    run.received(b"\r\n1\r\nc\r\n0\r\n\r\n");
    assert!(matches!(run.step(), Next::Finish(v) if v.status == CheckStatus::L7Ok));
}

// Input: the simulator's whole answer for a check with the default rules.
// Output: the same verdicts a real run gives.
#[test]
fn judging_a_whole_answer_is_running_the_rules() {
    let p = probe("");
    assert_eq!(p.judge(OK.as_bytes()).status, CheckStatus::L7Ok);
    let down = "HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n";
    assert_eq!(p.judge(down.as_bytes()).status, CheckStatus::L7Sts);
    assert_eq!(p.first_uri(), Some("/"));
}

// Input: a send-state header's fields.
// Output: haproxy's layout.
#[test]
fn state_header_reads_as_haproxys() {
    let load = ServerLoad {
        weight: 1,
        total_weight: 2,
        sessions: 0,
        backend_sessions: 3,
        queued: 0,
    };
    let at = "127.0.0.1:8080".parse().expect("addr");
    assert_eq!(
        format_state("UP 2/3", at, ("be", "s1"), "lb1", load),
        "UP 2/3; address=127.0.0.1; port=8080; name=be/s1; node=lb1; weight=1/2; scur=0/3; qcur=0"
    );
}
