//! Sample expressions (spec/haproxy.md §1.5; haproxy's configuration
//! manual §7.3): a fetch and its converters, evaluated on a request (and,
//! in the response phase, its response), and the log-format strings that
//! embed them. Rules, ACLs and checks read samples through this module.

mod alias;
mod auth;
mod captured;
mod conv;
mod expr;
mod fetch;
mod format;
mod header_view;
pub(crate) mod map;
mod matching;
mod pattern;
mod pattern_files;
mod tls;
mod value;
mod vars;

pub use auth::basic_credentials;
pub use captured::Captured;
pub use conv::{Arith, Conv, Operand};
pub use fetch::{Constant, Fetch, Side};
pub use format::{put_text, Alias, Flags, Format, Part};
pub use header_view::{FieldIter, HeaderView};
pub use map::{AclFile, AclValues, Map, MapEntry, MapLines, MapOutput};
pub use matching::{eq, hex_eq, in_network, int_match, str_match, Match, StrMatch};
pub use pattern::Pattern;
pub use pattern_files::{PatternEdit, PatternFiles};
pub use tls::{CertFacts, DnPart, ServerTls, TlsFetch, TlsSession};
pub use value::Value;
pub use vars::{Scope, VarName, Vars};

pub(crate) use conv::backrefs;
pub(crate) use expr::split as split_calls;

use crate::route::RequestHead;
use serde::Serialize;

/// Reads a file a sample expression names (a map), given by the caller:
/// core reads no files.
pub type ReadFile<'a> = &'a dyn Fn(&str) -> std::io::Result<Vec<u8>>;
use std::net::SocketAddr;

/// What samples see beside the request head: the connection's addresses,
/// the names of the proxies and server, the variables, and the response
/// once there is one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Around<'a> {
    /// The client's port.
    pub src_port: Option<u16>,
    /// The address the client connected to.
    pub dst: Option<SocketAddr>,
    /// The client connection's own source and destination (`fc_src`,
    /// `fc_dst`), when they differ from the request's (`None`: they are
    /// `src` and `dst`).
    pub conn: Option<(Option<SocketAddr>, Option<SocketAddr>)>,
    /// The response, in the response phase.
    pub response: Option<Response<'a>>,
    /// Variables set so far.
    pub vars: Option<&'a Vars>,
    /// The frontend's name.
    pub frontend: &'a str,
    /// The backend's name, once chosen.
    pub backend: &'a str,
    /// The server's name, once chosen.
    pub server: &'a str,
    /// The server's id (its position in the backend, from 1), once chosen.
    pub server_id: Option<u32>,
    /// The request is the first of its client connection.
    pub first_request: bool,
    /// The stream is HTTP (`internal.strm.is_htx`): a request, not the
    /// bytes of a `mode tcp` connection.
    pub htx: bool,
    /// The request is the first of a connection that its `tcp-request
    /// content` rules switched to HTTP (`switch-mode http`): they ran on
    /// its bytes already, and do not run on it again.
    pub switched: bool,
    /// What the transaction captured.
    pub captured: Option<&'a Captured>,
    /// The request came as HTTP/1.0.
    pub http10: bool,
    /// The request's method and target as the client sent them, when
    /// rules may have changed the request.
    pub sent: Option<(&'a str, &'a str)>,
    /// The server (backend and server index) of the connection the client
    /// session keeps idle for itself, for `option prefer-last-server`.
    pub kept_server: Option<(usize, usize)>,
    /// The PROXY protocol header the connection began with.
    pub proxied: Option<&'a crate::proxy_protocol::ProxyHeader>,
    /// What the connection's TLS handshake agreed on (clear text: `None`).
    pub tls: Option<&'a std::sync::Arc<TlsSession>>,
    /// The request's unique id (`unique-id-format`), once made.
    pub unique_id: Option<&'a str>,
    /// The stick tables and what the transaction tracks.
    pub stick: Option<crate::stick::StickView<'a>>,
    /// The config's `userlist` sections.
    pub userlists: Option<&'a [crate::config::haproxy::Userlist]>,
    /// Now, in seconds since the epoch (`date`).
    pub date: i64,
    /// The entries the client's session tracks (`tcp-request connection|
    /// session track-sc*`), which its requests track too.
    pub session_tracked: Option<&'a [Option<crate::stick::Tracked>; 3]>,
}

/// A response as samples see it.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// Its status.
    pub status: u16,
    /// Its headers in order.
    pub headers: HeaderView<'a>,
    /// The cache it came from (`None`: a server's).
    pub cache: Option<&'a str>,
    /// What its TLS server connection agreed on, and the certificate
    /// the server presented.
    pub server_tls: Option<&'a ServerTls>,
}

/// Why a sample expression or format was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A fetch haven does not know (haproxy may).
    UnknownFetch(String),
    /// A converter haven does not know (haproxy may).
    UnknownConverter(String),
    /// A `%` variable haven does not know in a format.
    UnknownAlias(String),
    /// Malformed: haproxy's message.
    Bad(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownFetch(n) => write!(f, "unknown fetch method '{n}'"),
            Self::UnknownConverter(n) => write!(f, "unknown converter '{n}'"),
            Self::UnknownAlias(n) => write!(f, "no such format variable '{n}'. If you wanted to emit the '%' character verbatim, you need to use '%%'"),
            Self::Bad(m) => f.write_str(m),
        }
    }
}

/// A sample expression: a fetch, then converters in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expr {
    /// The fetch.
    pub fetch: Fetch,
    /// The converters.
    pub convs: Vec<Conv>,
}

impl Expr {
    /// Reads `fetch(args),conv(args),...`; maps are left empty.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_with(text, None)
    }

    /// Reads `fetch(args),conv(args),...`, with `files` to read the map
    /// files it names.
    pub fn parse_with(text: &str, files: Option<ReadFile<'_>>) -> Result<Self, ParseError> {
        let calls = expr::split(text).map_err(ParseError::Bad)?;
        let (first, rest) = calls
            .split_first()
            .ok_or_else(|| ParseError::Bad(String::new()))?;
        let fetch = fetch::parse(first)
            .map_err(ParseError::Bad)?
            .ok_or_else(|| ParseError::UnknownFetch(first.name.clone()))?;
        let convs = rest
            .iter()
            .map(|c| {
                conv::parse(c, files)
                    .map_err(ParseError::Bad)?
                    .ok_or_else(|| ParseError::UnknownConverter(c.name.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { fetch, convs })
    }

    /// The expression's value on `req`, `None` when absent.
    pub fn eval<'a>(&self, req: &RequestHead<'a>) -> Option<Value<'a>> {
        let v = self.fetch.eval(req)?;
        self.convert(v, req)
    }

    /// True when `hit` holds for any value the expression yields (every
    /// occurrence of a header, as ACLs see them).
    pub fn any(&self, req: &RequestHead<'_>, hit: &mut dyn FnMut(&Value<'_>) -> bool) -> bool {
        self.fetch
            .each(req, &mut |v| self.convert(v, req).is_some_and(|v| hit(&v)))
    }

    fn convert<'a>(&self, v: Value<'a>, req: &RequestHead<'_>) -> Option<Value<'a>> {
        self.convs.iter().try_fold(v, |v, c| c.apply(v, req))
    }

    /// The match method an ACL uses on this expression when it names none.
    pub fn default_match(&self) -> Match {
        if !self.convs.is_empty() {
            return match self.convs.last() {
                Some(Conv::Len | Conv::Arith(..) | Conv::Neg | Conv::Strcmp(_) | Conv::Hex2i) => {
                    Match::Int
                }
                Some(Conv::Bool | Conv::Not | Conv::Odd | Conv::Even) => Match::Bool,
                Some(Conv::Ipmask { .. }) => Match::Ip,
                _ => Match::Str,
            };
        }
        if self.fetch.yields_int() {
            Match::Int
        } else if self.fetch.yields_ip() {
            Match::Ip
        } else if self.fetch.yields_bool() {
            Match::Bool
        } else {
            Match::Str
        }
    }
}

#[cfg(test)]
mod tests;
