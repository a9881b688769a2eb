//! Scripts against recorded answers: each protocol check's verdict and
//! words, as haproxy's own reg-tests expect them.

use super::*;
use crate::config::haproxy::TcpExpect;

/// Runs `script` against a server that sends `answers[0]` when the
/// connection opens and each next answer after each send, then closes;
/// what it was sent, and the verdict.
fn play(script: Script, answers: &[&[u8]]) -> (Vec<Vec<u8>>, Verdict) {
    let mut run = Run::new(script);
    let mut answers = answers.iter();
    let mut sent = Vec::new();
    let mut inbox: Vec<u8> = answers.next().map_or_else(Vec::new, |a| a.to_vec());
    loop {
        match run.step() {
            Next::Send(bytes) => {
                sent.push(bytes);
                inbox.extend_from_slice(answers.next().copied().unwrap_or_default());
            }
            Next::Read if inbox.is_empty() => run.closed(),
            Next::Read => run.received(&std::mem::take(&mut inbox)),
            Next::Connect(_) => inbox = answers.next().map_or_else(Vec::new, |a| a.to_vec()),
            Next::Finish(v) => return (sent, v),
        }
    }
}

fn hex(text: &str) -> Vec<u8> {
    crate::config::haproxy::tcp_check_hex(text).expect("hex")
}

fn script(check: TcpCheck) -> Script {
    Script::of(&check, &[]).expect("a script")
}

#[test]
fn redis_answers_pong_or_its_error_line() {
    let (sent, ok) = play(script(TcpCheck::Redis), &[b"", b"+PONG\r\n"]);
    assert_eq!(sent, [b"*1\r\n$4\r\nPING\r\n".to_vec()]);
    assert_eq!(
        ok,
        verdict(CheckStatus::L7Ok, None, Some("Redis server is ok".into()))
    );
    let (_, bad) = play(script(TcpCheck::Redis), &[b"", b"-Error message\r\n"]);
    assert_eq!(
        bad,
        verdict(CheckStatus::L7Sts, None, Some("-Error message".into()))
    );
}

/// The MySQL 8.0.19 greeting of haproxy's mysql-check reg-test.
const GREETING: &str = "4A0000000A382E302E3139000A0000006F3C025E6249410D00FFFFFF0200FFC715000000000000000000007C182159106E2761144322200063616368696E675F736861325F70617373776F726400";

#[test]
fn mysql_reads_the_greeting_then_the_login_answer() {
    let greeting = hex(GREETING);
    let plain = TcpCheck::Mysql {
        user: None,
        pre41: false,
    };
    let (sent, v) = play(script(plain), &[&greeting]);
    assert!(sent.is_empty());
    assert_eq!(v, verdict(CheckStatus::L7Ok, None, Some("8.0.19".into())));

    let post41 = TcpCheck::Mysql {
        user: Some("user".into()),
        pre41: false,
    };
    let ok = [greeting.clone(), hex("0700000200000002000000")].concat();
    let (sent, v) = play(script(post41), &[&ok]);
    assert_eq!(
        sent,
        [hex("2600000100820000008000012100000000000000000000000000000000000000000000007573657200000100000001")]
    );
    assert_eq!(v, verdict(CheckStatus::L7Ok, None, Some("8.0.19".into())));

    let pre41 = TcpCheck::Mysql {
        user: Some("user".into()),
        pre41: true,
    };
    let (sent, _) = play(script(pre41), &[&ok]);
    assert_eq!(sent, [hex("0B00000100800000017573657200000100000001")]);

    let refused = [greeting, hex("67000002FFE304436C69656E7420646F6573206E6F7420737570706F72742061757468656E7469636174696F6E2070726F746F636F6C20726571756573746564206279207365727665723B20636F6E736964657220757067726164696E67204D7953514C20636C69656E74")].concat();
    let pouet = TcpCheck::Mysql {
        user: Some("pouet".into()),
        pre41: false,
    };
    let (_, v) = play(script(pouet), &[&refused]);
    assert_eq!(
        v,
        verdict(
            CheckStatus::L7Sts,
            Some(1251),
            Some("Client does not support authentication protocol requested by server; consider upgrading MySQL client".into())
        )
    );
}

#[test]
fn pgsql_smtp_ldap_and_ssl_hello_speak_their_protocols() {
    let pg = TcpCheck::Pgsql { user: "u".into() };
    let (sent, v) = play(script(pg.clone()), &[&hex("520000000800000000")]);
    assert_eq!(sent, [hex("00000010000300007573657200750000")]);
    assert_eq!(
        v,
        verdict(
            CheckStatus::L7Ok,
            None,
            Some("PostgreSQL server is ok".into())
        )
    );
    let (_, v) = play(script(pg), &[b"E\0\0\0\x10SFATAL no such user"]);
    assert_eq!(v.status, CheckStatus::L7Rsp);
    assert_eq!(v.info.as_deref(), Some("FATAL no such user"));

    let smtp = TcpCheck::Smtp {
        hello: "HELO localhost".into(),
    };
    let (sent, v) = play(
        script(smtp.clone()),
        &[b"220 mx ready\r\n", b"250 mx greets you\r\n"],
    );
    assert_eq!(sent, [b"HELO localhost\r\n".to_vec()]);
    assert_eq!(
        v,
        verdict(CheckStatus::L7Ok, Some(250), Some("mx greets you".into()))
    );
    let (_, v) = play(script(smtp), &[b"554 go away\r\n"]);
    assert_eq!(
        v,
        verdict(CheckStatus::L7Sts, Some(554), Some("go away".into()))
    );

    let bound = hex("300C02010161070A010004000400");
    let (sent, v) = play(script(TcpCheck::Ldap), &[b"", &bound]);
    assert_eq!(sent, [hex("300C020101600702010304008000")]);
    assert_eq!(v, verdict(CheckStatus::L7Ok, None, Some("Success".into())));
    let (_, v) = play(script(TcpCheck::Ldap), &[b"", b"HTTP/1.1 400 Bad\r\n\r\n"]);
    assert_eq!(
        v,
        verdict(CheckStatus::L7Rsp, None, Some("Not LDAPv3 protocol".into()))
    );

    let (sent, v) = play(script(TcpCheck::SslHello), &[b"", &hex("1603030031")]);
    assert_eq!(sent[0].len(), 126, "5-byte record header and 0x79 bytes");
    assert_eq!(v, verdict(CheckStatus::L6Ok, None, None));
    let (_, v) = play(script(TcpCheck::SslHello), &[b"", b"HTTP/1.0 400"]);
    assert_eq!(v.status, CheckStatus::L6Rsp);
}

fn expect(pattern: TcpPattern, negate: bool) -> TcpCheckRule {
    TcpCheckRule::Expect(TcpExpect::new(pattern, negate))
}

#[test]
fn own_rules_get_the_generic_tcpchk_words() {
    let rules = [
        TcpCheckRule::Send {
            data: b"PING\r\n".to_vec(),
            comment: None,
        },
        expect(TcpPattern::String(b"PONG".to_vec()), false),
        TcpCheckRule::Comment("then".into()),
        TcpCheckRule::Send {
            data: b"QUIT\r\n".to_vec(),
            comment: None,
        },
        expect(TcpPattern::Rstring("^bye".into()), false),
    ];
    let own = Script::of(&TcpCheck::Rules, &rules).expect("rules");
    let (sent, v) = play(own.clone(), &[b"", b"+PONG\r\n", b"bye\r\n"]);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        v,
        verdict(CheckStatus::L7Ok, None, Some("(tcp-check)".into()))
    );
    let (_, v) = play(own.clone(), &[b"", b"+PANG\r\n"]);
    assert_eq!(
        v,
        verdict(
            CheckStatus::L7Rsp,
            None,
            Some("TCPCHK did not match content 'PONG' at step 2".into())
        )
    );
    let (_, v) = play(own, &[b"", b"+PONG\r\n", b"no\r\n"]);
    assert_eq!(
        v.info.as_deref(),
        Some("TCPCHK did not match content (regex) at step 5")
    );
    let unwanted = [expect(TcpPattern::Binary(vec![0xde, 0xad]), true)];
    let (_, v) = play(
        Script::of(&TcpCheck::Rules, &unwanted).expect("rules"),
        &[&[0x00, 0xde, 0xad]],
    );
    assert_eq!(
        v.info.as_deref(),
        Some("TCPCHK matched unwanted content (binary) at step 1")
    );
    assert_eq!(Script::of(&TcpCheck::Rules, &[]), None, "a plain connect");
}

#[test]
fn a_partial_answer_waits_for_more() {
    let mut run = Run::new(script(TcpCheck::Redis));
    assert!(matches!(run.step(), Next::Send(_)));
    assert_eq!(run.step(), Next::Read);
    run.received(b"+PO");
    assert_eq!(run.step(), Next::Read);
    run.received(b"NG\r\n");
    assert!(matches!(run.step(), Next::Finish(v) if v.status == CheckStatus::L7Ok));
}

#[test]
fn a_timeout_or_a_refused_connect_says_at_which_step() {
    let rules = [
        TcpCheckRule::Connect {
            port: Some(8080),
            comment: None,
            linger: false,
        },
        TcpCheckRule::Expect(TcpExpect {
            comment: Some("negative check".into()),
            ..TcpExpect::new(TcpPattern::Rstring("^error".into()), true)
        }),
        TcpCheckRule::Connect {
            port: Some(1),
            comment: None,
            linger: false,
        },
    ];
    let mut run = Run::new(Script::of(&TcpCheck::Rules, &rules).expect("rules"));
    assert_eq!(
        run.connect_failed("Connection refused").info.as_deref(),
        Some("Connection refused at step 1 of tcp-check (connect port 8080)")
    );
    assert_eq!(run.step(), Next::Read);
    assert_eq!(
        run.whereabouts().as_deref(),
        Some(" at step 2 of tcp-check (expect regex) comment: 'negative check'")
    );
    run.received(b"fine");
    assert_eq!(run.step(), Next::Read, "no match yet, more may come");
    run.closed();
    assert_eq!(
        run.step(),
        Next::Connect(Target {
            addr: None,
            port: Some(1),
            linger: false,
            delayed_ack: true,
        })
    );
    assert_eq!(
        run.connect_failed("Connection refused").info.as_deref(),
        Some("Connection refused at step 3 of tcp-check (connect port 1)")
    );
    let server = Target {
        delayed_ack: true,
        ..Target::default()
    };
    assert_eq!(script(TcpCheck::Redis).first_target(), server);
    assert_eq!(Run::new(script(TcpCheck::Redis)).whereabouts(), None);
}

#[test]
fn answers_split_or_with_nuls_read_as_haproxy_reads_them() {
    // A bind response in BER's long form, its result byte late.
    let mut run = Run::new(script(TcpCheck::Ldap));
    assert!(matches!(run.step(), Next::Send(_)));
    assert_eq!(run.step(), Next::Read);
    run.received(&hex("308400000010020101618400000007"));
    assert_eq!(run.step(), Next::Read);
    run.received(&hex("0A0100"));
    assert_eq!(
        run.step(),
        Next::Finish(verdict(CheckStatus::L7Ok, None, Some("Success".into())))
    );
    let pg = TcpCheck::Pgsql { user: "u".into() };
    let (_, v) = play(script(pg), &[&hex("450000000B53464154414C00")]);
    assert_eq!(v.info.as_deref(), Some("FATAL"));
}

// Input: a plain connect check, a redis check (it awaits nothing before
// it sends), a mysql check without a user (it awaits the greeting), and
// own rules: a lone connect, then a connect followed by a comment and an
// expect.
// Output: as haproxy's, the handshake's last ACK is held for the first
// bytes sent unless the step after the connect (comments aside) awaits
// an answer.
#[test]
fn a_connect_holds_its_ack_unless_an_answer_is_awaited_first() {
    assert!(crate::health::Probe::Tcp.first_target().delayed_ack);
    assert!(script(TcpCheck::Redis).first_target().delayed_ack);
    let mysql = TcpCheck::Mysql {
        user: None,
        pre41: false,
    };
    assert!(!script(mysql).first_target().delayed_ack);
    let connect = TcpCheckRule::Connect {
        port: None,
        comment: None,
        linger: false,
    };
    let lone = Script::of(&TcpCheck::Rules, std::slice::from_ref(&connect)).expect("rules");
    assert!(lone.first_target().delayed_ack);
    let awaits = [
        connect,
        TcpCheckRule::Comment("then".into()),
        expect(TcpPattern::String("+OK".into()), false),
    ];
    let awaits = Script::of(&TcpCheck::Rules, &awaits).expect("rules");
    assert!(!awaits.first_target().delayed_ack);
}
