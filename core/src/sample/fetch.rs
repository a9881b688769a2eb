//! Sample fetches: what a sample expression starts from.

use super::basic_credentials;
use super::expr::Call;
use super::tls::TlsFetch;
use super::vars::VarName;
use super::{HeaderView, Value};
use crate::config::haproxy::{StickCounter, User, Userlist};
use crate::route::{path_and_query, RequestHead};
use crate::stick::StickKey;
use serde::Serialize;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// Which message a header fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The request.
    Req,
    /// The response.
    Res,
}

/// A fetch haven evaluates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fetch {
    /// `str(x)`, `int(n)`, `bool(b)`, `ipv4(a)`, `ipv6(a)`: a constant.
    Constant(Constant),
    /// `src`: the client's address.
    Src,
    /// `src_port`.
    SrcPort,
    /// `date([offset[,unit]])`: now, `offset` seconds on, in `unit`.
    Date {
        /// Seconds added.
        offset: i64,
        /// What the value counts.
        unit: TimeUnit,
    },
    /// `fc_src`, `fc_src_port`, `fc_dst`, `fc_dst_port`: the client
    /// connection's own addresses (what `tcp-request connection` rules
    /// left), not the session's or the request's.
    Fc {
        /// The destination (else the source).
        dst: bool,
        /// The port (else the address).
        port: bool,
    },
    /// `dst`: the address the client connected to.
    Dst,
    /// `dst_port`.
    DstPort,
    /// `method`.
    Method,
    /// `path`: the path, without the query.
    Path,
    /// `pathq`: path and query.
    Pathq,
    /// `query`: past the `?`.
    Query,
    /// `url`: the target as sent.
    Url,
    /// `base`: `Host` then the path.
    Base,
    /// `url_param(name[,delim])`.
    UrlParam {
        /// Parameter name.
        name: String,
        /// Delimiter between parameters (`&`).
        delim: char,
    },
    /// `hdr(name[,occ])` and friends; `full`: `fhdr`, no split on commas.
    Hdr {
        /// Request or response.
        side: Side,
        /// Header name (lower case).
        name: String,
        /// Which occurrence; `None`: all in ACLs, the last as a sample.
        occ: Option<i64>,
        /// Values are not split on commas.
        full: bool,
    },
    /// `hdr_ip(name[,occ])`: a header's value as an address.
    HdrIp {
        /// Request or response.
        side: Side,
        /// Header name (lower case).
        name: String,
        /// Which occurrence (the last when `None`).
        occ: Option<i64>,
    },
    /// `hdr_cnt(name)`: how many values.
    HdrCnt {
        /// Request or response.
        side: Side,
        /// Header name (lower case).
        name: String,
        /// Values are not split on commas.
        full: bool,
    },
    /// `cook(name)`: a cookie of the request.
    Cookie(String),
    /// `status`: the response status.
    Status,
    /// `res.cache_hit`: the response came from a cache.
    CacheHit,
    /// `res.cache_name`: the cache it came from.
    CacheName,
    /// `req.ver`.
    ReqVer,
    /// `req.body`: the request body when it was read whole.
    ReqBody,
    /// `req.body_len`.
    ReqBodyLen,
    /// `req.payload(offset,length)`: bytes of what a `mode tcp` client sent
    /// so far (to the end when `length` is 0); none until they are there.
    ReqPayload {
        /// First byte.
        offset: usize,
        /// How many bytes.
        length: usize,
    },
    /// `var(name[,default])`.
    Var(VarName, Option<String>),
    /// `fe_name`.
    FeName,
    /// `be_name`.
    BeName,
    /// `srv_name`.
    SrvName,
    /// `srv_id`.
    SrvId,
    /// `ssl_fc`, `ssl_fc_sni` and the other TLS fetches.
    Tls(TlsFetch),
    /// `http_first_req`: the request is its connection's first.
    HttpFirstReq,
    /// `internal.strm.is_htx`: the stream is HTTP.
    IsHtx,
    /// `capture.req.hdr(N)` (`request`) or `capture.res.hdr(N)`.
    Captured {
        /// The request side.
        request: bool,
        /// The slot.
        index: usize,
    },
    /// `capture.req.method`, `capture.req.uri`: the request line as the
    /// client sent it.
    SentLine(LineWord),
    /// `capture.req.ver`, `capture.res.ver`.
    CapturedVersion,
    /// `fc_pp_authority`, `fc_pp_unique_id`: a TLV of the connection's
    /// PROXY header.
    ProxyTlv(u8),
    /// `unique-id`: the request's unique id.
    UniqueId,
    /// `sc_<counter>(N[,table])`, `sc<N>_<counter>([table])`,
    /// `src_<counter>([table])`: a stick table counter.
    Stick {
        /// Whose entry.
        from: StickFrom,
        /// Which counter.
        counter: StickCounter,
        /// The table's proxy, when not the tracked one (or, for `src_`,
        /// the rule's own).
        table: Option<String>,
    },
    /// `sc_tracked(N)`, `sc<N>_tracked`: slot N tracks an entry.
    ScTracked(usize),
    /// `http_auth(L)`: the request's basic credentials are a user's of
    /// userlist L.
    HttpAuth(String),
    /// `http_auth_group(L)`: the groups of that user.
    HttpAuthGroup(String),
    /// `http_auth_user`, `http_auth_pass`: the credentials' parts.
    HttpAuthPart {
        /// The user (else the password).
        user: bool,
    },
    /// `http_auth_type`: `basic` when basic credentials are given.
    HttpAuthType,
}

/// Whose stick table entry a fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StickFrom {
    /// The entry `track-sc<N>` tracks.
    Slot(usize),
    /// The client address's.
    Src,
}

/// A word of the request line as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineWord {
    /// The method.
    Method,
    /// The URI from its first slash.
    Uri,
}

/// A constant fetch's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Constant {
    /// `str(...)`.
    Str(String),
    /// `int(...)`.
    Int(i64),
    /// `bool(...)`, `always_true`, `always_false`.
    Bool(bool),
    /// `ipv4(...)`, `ipv6(...)`.
    Ip(IpAddr),
}

/// What a time value counts: seconds, milliseconds or microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum TimeUnit {
    /// `s`.
    #[default]
    S,
    /// `ms`.
    Ms,
    /// `us`.
    Us,
}

impl TimeUnit {
    /// The unit an argument names (none: seconds), or haproxy's
    /// complaint.
    pub(crate) fn parse(arg: Option<&str>) -> Result<Self, String> {
        match arg.unwrap_or("") {
            "" | "s" => Ok(Self::S),
            "ms" => Ok(Self::Ms),
            "us" => Ok(Self::Us),
            other => Err(format!("expects 's', 'ms' or 'us', got '{other}'")),
        }
    }

    /// How many of it make a second.
    pub(crate) fn per_second(self) -> i64 {
        match self {
            Self::S => 1,
            Self::Ms => 1_000,
            Self::Us => 1_000_000,
        }
    }
}

/// The fetch named by `call`: `Ok(None)` when haven does not know it.
pub(crate) fn parse(call: &Call) -> Result<Option<Fetch>, String> {
    let name = call.name.as_str();
    let arg = |i: usize| call.args.get(i).map(String::as_str);
    let need = |i: usize| {
        arg(i)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("fetch method '{name}' : missing argument {}", i + 1))
    };
    let int = |i: usize| -> Result<Option<i64>, String> {
        arg(i)
            .map(|a| {
                a.trim()
                    .parse()
                    .map_err(|_| format!("fetch method '{name}' : expects an integer, got '{a}'"))
            })
            .transpose()
    };
    let header = |side, full| -> Result<Fetch, String> {
        Ok(Fetch::Hdr {
            side,
            name: need(0)?.to_ascii_lowercase(),
            occ: int(1)?,
            full,
        })
    };
    let count = |side, full| -> Result<Fetch, String> {
        Ok(Fetch::HdrCnt {
            side,
            name: arg(0).unwrap_or("").to_ascii_lowercase(),
            full,
        })
    };
    Ok(Some(match name {
        "str" => Fetch::Constant(Constant::Str(arg(0).unwrap_or("").to_owned())),
        "int" => Fetch::Constant(Constant::Int(int(0)?.unwrap_or(0))),
        "bool" => Fetch::Constant(Constant::Bool(
            Value::string(arg(0).unwrap_or("0")).to_int() != Some(0),
        )),
        "always_true" => Fetch::Constant(Constant::Bool(true)),
        "always_false" => Fetch::Constant(Constant::Bool(false)),
        "ipv4" | "ipv6" => {
            let a = need(0)?;
            let ip = a
                .parse::<IpAddr>()
                .ok()
                .filter(|ip| ip.is_ipv4() == (name == "ipv4"))
                .ok_or_else(|| format!("fetch method '{name}' : invalid address '{a}'"))?;
            Fetch::Constant(Constant::Ip(ip))
        }
        "src" => Fetch::Src,
        "src_port" => Fetch::SrcPort,
        "date" => Fetch::Date {
            offset: int(0)?.unwrap_or(0),
            unit: TimeUnit::parse(arg(1)).map_err(|u| format!("fetch method '{name}' : {u}"))?,
        },
        "fc_src" | "fc_src_port" | "fc_dst" | "fc_dst_port" => Fetch::Fc {
            dst: name.starts_with("fc_dst"),
            port: name.ends_with("_port"),
        },
        "dst" => Fetch::Dst,
        "dst_port" => Fetch::DstPort,
        "method" => Fetch::Method,
        "path" => Fetch::Path,
        "pathq" => Fetch::Pathq,
        "query" => Fetch::Query,
        "url" => Fetch::Url,
        "base" => Fetch::Base,
        "url_param" | "urlp" => Fetch::UrlParam {
            name: need(0)?.to_owned(),
            delim: arg(1).and_then(|d| d.chars().next()).unwrap_or('&'),
        },
        "hdr" | "req.hdr" => header(Side::Req, false)?,
        "fhdr" | "req.fhdr" => header(Side::Req, true)?,
        "res.hdr" | "shdr" => header(Side::Res, false)?,
        "res.fhdr" => header(Side::Res, true)?,
        "hdr_ip" | "req.hdr_ip" | "res.hdr_ip" | "shdr_ip" => Fetch::HdrIp {
            side: if matches!(name, "res.hdr_ip" | "shdr_ip") {
                Side::Res
            } else {
                Side::Req
            },
            name: need(0)?.to_ascii_lowercase(),
            occ: int(1)?,
        },
        "hdr_cnt" | "req.hdr_cnt" => count(Side::Req, false)?,
        "req.fhdr_cnt" => count(Side::Req, true)?,
        "res.hdr_cnt" | "shdr_cnt" => count(Side::Res, false)?,
        "res.fhdr_cnt" => count(Side::Res, true)?,
        "cook" | "req.cook" => Fetch::Cookie(arg(0).unwrap_or("").to_owned()),
        "status" => Fetch::Status,
        "res.cache_hit" => Fetch::CacheHit,
        "res.cache_name" => Fetch::CacheName,
        "req.ver" | "req_ver" => Fetch::ReqVer,
        "req.body" => Fetch::ReqBody,
        "req.body_len" => Fetch::ReqBodyLen,
        "req.payload" => {
            let size = |i: usize| -> Result<usize, String> {
                let n = int(i)?
                    .ok_or_else(|| format!("fetch method '{name}' : missing argument {}", i + 1))?;
                usize::try_from(n)
                    .map_err(|_| format!("fetch method '{name}' : negative argument {n}"))
            };
            Fetch::ReqPayload {
                offset: size(0)?,
                length: size(1)?,
            }
        }
        "var" => Fetch::Var(
            VarName::parse(need(0)?).map_err(|e| format!("fetch method 'var' : {e}"))?,
            arg(1).map(str::to_owned),
        ),
        "fe_name" => Fetch::FeName,
        "be_name" => Fetch::BeName,
        "srv_name" => Fetch::SrvName,
        "srv_id" => Fetch::SrvId,
        "http_first_req" => Fetch::HttpFirstReq,
        "internal.strm.is_htx" => Fetch::IsHtx,
        "capture.req.hdr" | "capture.res.hdr" => Fetch::Captured {
            request: name == "capture.req.hdr",
            index: int(0)?
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| format!("fetch method '{name}' : expects a capture slot index"))?,
        },
        "capture.req.method" => Fetch::SentLine(LineWord::Method),
        "capture.req.uri" => Fetch::SentLine(LineWord::Uri),
        "capture.req.ver" | "capture.res.ver" => Fetch::CapturedVersion,
        "unique-id" => Fetch::UniqueId,
        "http_auth" => Fetch::HttpAuth(need(0)?.to_owned()),
        "http_auth_group" => Fetch::HttpAuthGroup(need(0)?.to_owned()),
        "http_auth_user" => Fetch::HttpAuthPart { user: true },
        "http_auth_pass" => Fetch::HttpAuthPart { user: false },
        "http_auth_type" => Fetch::HttpAuthType,
        _ if stick_fetch(name, &call.args)?.is_some() => {
            stick_fetch(name, &call.args)?.expect("just checked")
        }
        _ if TlsFetch::parse(name, &call.args)?.is_some() => {
            Fetch::Tls(TlsFetch::parse(name, &call.args)?.expect("just checked"))
        }
        "fc_pp_authority" => Fetch::ProxyTlv(crate::proxy_protocol::PP2_TYPE_AUTHORITY),
        "fc_pp_unique_id" => Fetch::ProxyTlv(crate::proxy_protocol::PP2_TYPE_UNIQUE_ID),
        _ => return Ok(None),
    }))
}

impl Fetch {
    /// Calls `each` with every value the fetch yields (every occurrence
    /// of a header, for ACLs) until it returns true; true when it did.
    pub fn each<'a>(&self, req: &RequestHead<'a>, each: &mut dyn FnMut(Value<'a>) -> bool) -> bool {
        match self {
            Self::Hdr {
                side,
                name,
                occ,
                full,
            } => {
                let mut values = header_values(req, *side, name, *full);
                match occ {
                    None | Some(0) => values.any(|v| each(Value::Str(Cow::Borrowed(v)))),
                    Some(n) => pick(values, *n).is_some_and(|v| each(Value::Str(Cow::Borrowed(v)))),
                }
            }
            Self::UrlParam { name, delim } => params(req, *delim)
                .filter(|(n, _)| n == name)
                .any(|(_, v)| each(Value::Str(Cow::Borrowed(v)))),
            Self::HttpAuthGroup(list) => {
                let Some((ul, user)) = authenticated(req, list) else {
                    return false;
                };
                ul.groups_of(user)
                    .any(|g| each(Value::Str(Cow::Borrowed(g))))
            }
            Self::Cookie(name) => cookies(req)
                .filter(|(n, _)| name.is_empty() || n == name)
                .any(|(_, v)| each(Value::Str(Cow::Borrowed(v)))),
            other => other.eval(req).is_some_and(each),
        }
    }

    /// The fetch's one value as a sample (the last occurrence of a
    /// header); `None` when there is none.
    pub fn eval<'a>(&self, req: &RequestHead<'a>) -> Option<Value<'a>> {
        let around = &req.around;
        let text = |s: &'a str| Some(Value::Str(Cow::Borrowed(s)));
        match self {
            Self::Constant(c) => Some(match c {
                Constant::Str(s) => Value::string(s.clone()),
                Constant::Int(n) => Value::Int(*n),
                Constant::Bool(b) => Value::Bool(*b),
                Constant::Ip(ip) => Value::Ip(*ip),
            }),
            Self::Src => req.client.map(Value::Ip),
            Self::Fc { dst, port } => {
                let (src_addr, dst_addr) = around.conn.unwrap_or((None, around.dst));
                let src_addr = src_addr
                    .or_else(|| Some(SocketAddr::new(req.client?, around.src_port.unwrap_or(0))));
                let addr = if *dst { dst_addr } else { src_addr }?;
                Some(match port {
                    true => Value::Int(addr.port().into()),
                    false => Value::Ip(addr.ip()),
                })
            }
            Self::SrcPort => around.src_port.map(|p| Value::Int(p.into())),
            Self::Date { offset, unit } => Some(Value::Int(
                (around.date + offset).saturating_mul(unit.per_second()),
            )),
            Self::Dst => around.dst.map(|d| Value::Ip(d.ip())),
            Self::DstPort => around.dst.map(|d| Value::Int(d.port().into())),
            Self::Method => text(req.method),
            Self::Path => text(req.path()),
            Self::Pathq => text(path_and_query(req.uri)),
            Self::Query => req.uri.split_once('?').and_then(|(_, q)| text(q)),
            Self::Url => text(req.uri),
            Self::Base => {
                let host = header_values(req, Side::Req, "host", true)
                    .next_back()
                    .unwrap_or("");
                Some(Value::string(format!("{host}{}", req.path())))
            }
            Self::UrlParam { name, delim } => params(req, *delim)
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| text(v)),
            Self::Hdr {
                side,
                name,
                occ,
                full,
            } => {
                let values = header_values(req, *side, name, *full);
                pick(values, occ.unwrap_or(-1)).and_then(&text)
            }
            Self::HdrIp { side, name, occ } => {
                let values = header_values(req, *side, name, false);
                let v = pick(values, occ.unwrap_or(-1))?;
                v.parse().ok().map(Value::Ip)
            }
            Self::HdrCnt { side, name, full } => Some(Value::Int(
                header_values(req, *side, name, *full).count() as i64,
            )),
            Self::Cookie(name) => cookies(req)
                .find(|(n, _)| name.is_empty() || n == name)
                .and_then(|(_, v)| text(v)),
            Self::Status => around.response.map(|r| Value::Int(r.status.into())),
            Self::CacheHit => Some(Value::Bool(around.response.and_then(|r| r.cache).is_some())),
            Self::CacheName => around.response.and_then(|r| r.cache).and_then(text),
            Self::ReqVer => text("1.1"),
            Self::ReqBody => Some(Value::Bin(Cow::Borrowed(req.payload))),
            Self::ReqBodyLen => Some(Value::Int(req.payload.len() as i64)),
            Self::ReqPayload { offset, length } => {
                let end = if *length == 0 {
                    req.payload.len()
                } else {
                    offset.checked_add(*length)?
                };
                let bytes = req.payload.get(*offset..end)?;
                Some(Value::Bin(Cow::Borrowed(bytes)))
            }
            Self::Var(name, default) => match around.vars.and_then(|v| v.get(name)) {
                Some(v) => Some(v.clone()),
                None => default.as_ref().map(|d| Value::string(d.clone())),
            },
            Self::FeName => text(around.frontend),
            Self::BeName => {
                (!around.backend.is_empty()).then_some(Value::Str(Cow::Borrowed(around.backend)))
            }
            Self::SrvName => {
                (!around.server.is_empty()).then_some(Value::Str(Cow::Borrowed(around.server)))
            }
            Self::SrvId => around.server_id.map(|i| Value::Int(i.into())),
            Self::Tls(fetch) => {
                let server = around.response.and_then(|r| r.server_tls);
                fetch.eval(around.tls.map(|t| &**t), server)
            }
            Self::HttpFirstReq => Some(Value::Bool(around.first_request)),
            Self::IsHtx => Some(Value::Bool(around.htx)),
            Self::Captured { request, index } => around
                .captured
                .and_then(|c| c.get(*request, *index))
                .and_then(text),
            Self::SentLine(word) => {
                let (method, uri) = around.sent.unwrap_or((req.method, req.uri));
                match word {
                    LineWord::Method => text(method),
                    LineWord::Uri => text(uri_from_slash(uri)),
                }
            }
            Self::CapturedVersion => text("HTTP/1.1"),
            Self::UniqueId => around.unique_id.and_then(text),
            Self::Stick {
                from,
                counter,
                table,
            } => {
                let view = around.stick?;
                let (name, key) = match from {
                    StickFrom::Slot(n) => {
                        let t = view.tracked.get(*n)?.as_ref()?;
                        (table.as_deref().unwrap_or(&t.table), t.key.clone())
                    }
                    StickFrom::Src => {
                        let own = if view.current.is_empty() {
                            around.frontend
                        } else {
                            view.current
                        };
                        let name = table.as_deref().unwrap_or(own);
                        let client = Value::Ip(req.client?);
                        let key = StickKey::of(&client, view.tables.borrow().config(name)?)?;
                        (name, key)
                    }
                };
                let mut tables = view.tables.borrow_mut();
                tables.config(name)?.stores(*counter)?;
                let n = tables.read(name, &key, *counter, view.now).unwrap_or(0);
                Some(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            Self::HttpAuth(list) => Some(Value::Bool(authenticated(req, list).is_some())),
            Self::HttpAuthGroup(list) => {
                let (ul, user) = authenticated(req, list)?;
                ul.groups_of(user).next().and_then(text)
            }
            Self::HttpAuthPart { user } => {
                let creds = basic_credentials(req)?;
                let (u, p) = creds.split_once(':')?;
                Some(Value::string(if *user { u } else { p }))
            }
            Self::HttpAuthType => basic_credentials(req).map(|_| Value::string("basic")),
            Self::ScTracked(n) => {
                Some(Value::Bool(around.stick.is_some_and(|v| {
                    v.tracked.get(*n).is_some_and(Option::is_some)
                })))
            }
            Self::ProxyTlv(kind) => around
                .proxied
                .and_then(|h| h.tlv(*kind))
                .map(|v| Value::string(String::from_utf8_lossy(v).into_owned())),
        }
    }

    /// What a log line cannot read, when the fetch needs it: haproxy
    /// refuses such a fetch in `log-format` (the messages are gone by
    /// then; captures and variables are how a line shows them).
    pub fn unavailable_at_log_time(&self) -> Option<&'static str> {
        let side = |s: &Side| match s {
            Side::Req => "HTTP request headers",
            Side::Res => "HTTP response headers",
        };
        match self {
            Self::Hdr { side: s, .. }
            | Self::HdrIp { side: s, .. }
            | Self::HdrCnt { side: s, .. } => Some(side(s)),
            Self::Method
            | Self::Path
            | Self::Pathq
            | Self::Query
            | Self::Url
            | Self::Base
            | Self::UrlParam { .. }
            | Self::Cookie(_)
            | Self::ReqVer
            | Self::HttpFirstReq
            | Self::HttpAuth(_)
            | Self::HttpAuthGroup(_)
            | Self::HttpAuthPart { .. }
            | Self::HttpAuthType => Some("HTTP request headers"),
            Self::Status | Self::CacheHit | Self::CacheName => Some("HTTP response headers"),
            Self::ReqBody | Self::ReqBodyLen => Some("HTTP request body"),
            Self::ReqPayload { .. } => Some("request buffers contents"),
            _ => None,
        }
    }

    /// The part of the response the fetch reads, when it reads one (it
    /// then has nothing to read during the request).
    pub fn response_only(&self) -> Option<&'static str> {
        match self {
            Self::Hdr {
                side: Side::Res, ..
            }
            | Self::HdrIp {
                side: Side::Res, ..
            }
            | Self::HdrCnt {
                side: Side::Res, ..
            }
            | Self::Status
            | Self::CacheHit
            | Self::CacheName => Some("HTTP response headers"),
            _ => None,
        }
    }

    /// True when the fetch reads what a `mode tcp` client sent so far,
    /// which more bytes may change.
    pub fn reads_payload(&self) -> bool {
        matches!(self, Self::ReqPayload { .. })
    }

    /// The type of what the fetch yields, which sets an ACL's default
    /// match method.
    pub fn yields_int(&self) -> bool {
        if let Self::Tls(fetch) = self {
            return fetch.yields_int();
        }
        matches!(
            self,
            Self::SrcPort
                | Self::DstPort
                | Self::HdrCnt { .. }
                | Self::Status
                | Self::ReqBodyLen
                | Self::SrvId
                | Self::Stick { .. }
                | Self::Constant(Constant::Int(_))
        )
    }

    /// The fetch yields an address.
    pub fn yields_ip(&self) -> bool {
        matches!(
            self,
            Self::Src
                | Self::Dst
                | Self::Fc { port: false, .. }
                | Self::HdrIp { .. }
                | Self::Constant(Constant::Ip(_))
        )
    }

    /// The fetch yields a boolean.
    pub fn yields_bool(&self) -> bool {
        if let Self::Tls(fetch) = self {
            return fetch.yields_bool();
        }
        matches!(
            self,
            Self::HttpFirstReq
                | Self::IsHtx
                | Self::ScTracked(_)
                | Self::HttpAuth(_)
                | Self::Constant(Constant::Bool(_))
        )
    }
}

/// The userlist `list` and its user whose credentials the request gives.
fn authenticated<'a>(req: &RequestHead<'a>, list: &str) -> Option<(&'a Userlist, &'a User)> {
    let ul = req.around.userlists?.iter().find(|u| u.name == list)?;
    let creds = basic_credentials(req)?;
    let (user, password) = creds.split_once(':')?;
    Some((ul, ul.check(user, password)?))
}

/// A stick table fetch (`sc_http_req_rate(0)`, `sc1_get_gpc0`,
/// `src_conn_cur(t)`, `sc_tracked(2)`), if `name` is one.
fn stick_fetch(name: &str, args: &[String]) -> Result<Option<Fetch>, String> {
    let slot = |text: Option<&String>| {
        text.and_then(|t| t.parse::<usize>().ok())
            .filter(|n| *n < 3)
            .ok_or_else(|| format!("fetch method '{name}' : invalid stick counter"))
    };
    let (from, what, table) = if let Some(what) = name.strip_prefix("sc_") {
        (StickFrom::Slot(slot(args.first())?), what, args.get(1))
    } else if let Some(what) = name.strip_prefix("src_") {
        (StickFrom::Src, what, args.first())
    } else if let Some(rest) = name.strip_prefix("sc") {
        let Some((n, what)) = rest.split_once('_') else {
            return Ok(None);
        };
        (
            StickFrom::Slot(slot(Some(&n.to_owned()))?),
            what,
            args.first(),
        )
    } else {
        return Ok(None);
    };
    if what == "tracked" {
        return Ok(match from {
            StickFrom::Slot(n) => Some(Fetch::ScTracked(n)),
            StickFrom::Src => None,
        });
    }
    let counter = match what {
        "get_gpt0" => Some(StickCounter::Gpt0),
        "get_gpc0" => Some(StickCounter::Gpc0),
        "get_gpc1" => Some(StickCounter::Gpc1),
        other => {
            StickCounter::from_name(other).filter(|_| !matches!(other, "gpt0" | "gpc0" | "gpc1"))
        }
    };
    Ok(counter.map(|counter| Fetch::Stick {
        from,
        counter,
        table: table.filter(|t| !t.is_empty()).cloned(),
    }))
}

/// A target from its first slash: an absolute URI loses its scheme and
/// host.
fn uri_from_slash(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => uri,
    }
}

/// The `occ`-th of `values` (1 first, -1 last).
fn pick<'a>(mut values: impl DoubleEndedIterator<Item = &'a str>, occ: i64) -> Option<&'a str> {
    let nth = usize::try_from(occ.unsigned_abs()).ok()?.checked_sub(1)?;
    if occ > 0 {
        values.nth(nth)
    } else {
        values.rev().nth(nth)
    }
}

/// Values of header `name` on `side`, split on commas unless `full`,
/// read where they are.
fn header_values<'a, 'n>(
    req: &RequestHead<'a>,
    side: Side,
    name: &'n str,
    full: bool,
) -> impl DoubleEndedIterator<Item = &'a str> + 'n
where
    'a: 'n,
{
    let headers = match side {
        Side::Req => req.headers,
        Side::Res => req
            .around
            .response
            .map_or_else(HeaderView::default, |r| r.headers),
    };
    // A name it cannot have: no field is read.
    let headers = match name.is_empty() || headers.may_have(name) {
        true => headers,
        false => HeaderView::default(),
    };
    headers
        .iter()
        .filter(move |(n, _)| name.is_empty() || n.eq_ignore_ascii_case(name))
        .flat_map(move |(_, v)| match full {
            true => Elements::Whole(Some(v)),
            false => Elements::Split(v.split(',')),
        })
        .map(str::trim)
}

/// A header value's elements: all of it, or each between commas.
enum Elements<'a> {
    Whole(Option<&'a str>),
    Split(std::str::Split<'a, char>),
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Self::Whole(v) => v.take(),
            Self::Split(parts) => parts.next(),
        }
    }
}

impl DoubleEndedIterator for Elements<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Whole(v) => v.take(),
            Self::Split(parts) => parts.next_back(),
        }
    }
}

/// The query's `name=value` pairs.
fn params<'a>(req: &RequestHead<'a>, delim: char) -> impl Iterator<Item = (&'a str, &'a str)> {
    let query = req.uri.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    query
        .split(delim)
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// The request's cookies, `name=value`.
fn cookies<'a>(req: &RequestHead<'a>) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| c.split_once('=').unwrap_or((c, "")))
}
