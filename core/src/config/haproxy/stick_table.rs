//! `stick-table type <t> size <n> [expire <t>] [store <data>,...]`: a
//! proxy's table of counters per key, with haproxy 2.6's error texts.

use super::lexer::Word;
use super::parser::Parser;
use super::values::{parse_size, parse_time};
use crate::config::Form;
use crate::time::Duration;
use serde::Serialize;

/// What a table's keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StickKeyType {
    /// IPv4 addresses.
    Ip,
    /// IPv6 addresses (IPv4 ones are mapped).
    Ipv6,
    /// Integers.
    Integer,
    /// Strings, cut to `len`.
    String,
}

/// A counter a table stores, in haproxy's order (`show table` prints
/// them so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StickCounter {
    /// General purpose tag 0 (`sc-set-gpt0`).
    Gpt0,
    /// General purpose counter 0.
    Gpc0,
    /// Its increment rate.
    Gpc0Rate,
    /// Connections counted.
    ConnCnt,
    /// Connection rate.
    ConnRate,
    /// Connections open now.
    ConnCur,
    /// Sessions counted.
    SessCnt,
    /// Session rate.
    SessRate,
    /// HTTP requests counted.
    HttpReqCnt,
    /// HTTP request rate.
    HttpReqRate,
    /// HTTP errors (4xx) counted.
    HttpErrCnt,
    /// HTTP error rate.
    HttpErrRate,
    /// General purpose counter 1.
    Gpc1,
    /// Its increment rate.
    Gpc1Rate,
}

impl StickCounter {
    /// The counter of a `store` name (`http_req_rate`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "conn_cnt" => Self::ConnCnt,
            "conn_cur" => Self::ConnCur,
            "conn_rate" => Self::ConnRate,
            "sess_cnt" => Self::SessCnt,
            "sess_rate" => Self::SessRate,
            "http_req_cnt" => Self::HttpReqCnt,
            "http_req_rate" => Self::HttpReqRate,
            "http_err_cnt" => Self::HttpErrCnt,
            "http_err_rate" => Self::HttpErrRate,
            "gpt0" => Self::Gpt0,
            "gpc0" => Self::Gpc0,
            "gpc0_rate" => Self::Gpc0Rate,
            "gpc1" => Self::Gpc1,
            "gpc1_rate" => Self::Gpc1Rate,
            _ => return None,
        })
    }

    /// A rate: stored with its period.
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Self::ConnRate
                | Self::SessRate
                | Self::HttpReqRate
                | Self::HttpErrRate
                | Self::Gpc0Rate
                | Self::Gpc1Rate
        )
    }
}

/// Stored types haproxy knows that haven does not keep.
const NOT_KEPT: &[&str] = &[
    "server_id",
    "server_key",
    "server_name",
    "gpt",
    "gpc",
    "gpc_rate",
    "bytes_in_cnt",
    "bytes_in_rate",
    "bytes_out_cnt",
    "bytes_out_rate",
    "http_fail_cnt",
    "http_fail_rate",
    "glitch_cnt",
];

/// A proxy's `stick-table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StickTable {
    /// The keys' type.
    pub key: StickKeyType,
    /// The longest string key kept (`len`, default 32).
    pub len: usize,
    /// Entries kept at most.
    pub size: usize,
    /// How long an entry lives untouched; `None`: until evicted.
    pub expire: Option<Duration>,
    /// The counters stored, each rate with its period.
    pub store: Vec<(StickCounter, Duration)>,
}

impl StickTable {
    /// The period of `counter` when the table stores it.
    pub fn stores(&self, counter: StickCounter) -> Option<Duration> {
        self.store
            .iter()
            .find(|(c, _)| *c == counter)
            .map(|(_, p)| *p)
    }
}

impl Parser<'_> {
    /// Reads a `stick-table` line; `None` after an error (reported).
    pub(super) fn stick_table(&mut self, words: &[Word]) -> Option<StickTable> {
        let col = words[0].col;
        let mut t = StickTable {
            key: StickKeyType::Ip,
            len: 32,
            size: 0,
            expire: None,
            store: Vec::new(),
        };
        let mut typed = false;
        let mut rest = words[1..].iter();
        let fail = |p: &mut Self, msg: String| {
            p.error(Form::Parsing, col, format!("stick-table: {msg}"));
            None
        };
        while let Some(w) = rest.next() {
            let mut value = || rest.next().map(|v| v.text.clone());
            match w.text.as_str() {
                "type" => {
                    let Some(kind) = value() else {
                        return fail(self, "missing type.".into());
                    };
                    t.key = match kind.as_str() {
                        "ip" => StickKeyType::Ip,
                        "ipv6" => StickKeyType::Ipv6,
                        "integer" => StickKeyType::Integer,
                        "string" => StickKeyType::String,
                        "binary" => {
                            self.not_supported(w.col, "stick-table type binary");
                            StickKeyType::String
                        }
                        other => return fail(self, format!("unknown type '{other}'.")),
                    };
                    typed = true;
                }
                "len" => {
                    let n = value().and_then(|v| v.parse::<usize>().ok());
                    let Some(n) = n.filter(|n| *n > 0) else {
                        return fail(self, "'len' expects a positive integer.".into());
                    };
                    t.len = n;
                }
                "size" => {
                    let Some(n) = value().and_then(|v| parse_size(&v)) else {
                        return fail(self, "'size' expects a size.".into());
                    };
                    t.size = n;
                }
                "expire" => match value().map(|v| parse_time(&v)) {
                    Some(Ok(d)) => t.expire = Some(d),
                    _ => return fail(self, "'expire' expects a delay.".into()),
                },
                "nopurge" | "srvkey" | "write-to" | "recv-only" | "peers" => {
                    self.not_supported(w.col, &format!("stick-table {}", w.text));
                    if w.text != "nopurge" {
                        value();
                    }
                }
                "store" => {
                    let Some(list) = value() else {
                        return fail(self, "'store' expects a data type.".into());
                    };
                    for item in list.split(',') {
                        let (name, period) = match item.split_once('(') {
                            Some((n, p)) => (n, p.strip_suffix(')')),
                            None => (item, None),
                        };
                        match StickCounter::from_name(name) {
                            Some(c) if c.is_rate() => match period.map(parse_time) {
                                Some(Ok(p)) if !p.is_zero() => t.store.push((c, p)),
                                _ => {
                                    let msg = format!("store data type '{name}' expects a period.");
                                    return fail(self, msg);
                                }
                            },
                            Some(c) => t.store.push((c, Duration::ZERO)),
                            None if NOT_KEPT.contains(&name) => {
                                self.not_supported(w.col, &format!("stick-table store {name}"));
                            }
                            None => {
                                let msg = format!("unknown data type '{name}' in 'store'.");
                                return fail(self, msg);
                            }
                        }
                    }
                }
                other => return fail(self, format!("unknown argument '{other}'.")),
            }
        }
        if !typed {
            return fail(self, "missing type.".into());
        }
        if t.size == 0 {
            return fail(self, "missing size.".into());
        }
        Some(t)
    }
}
