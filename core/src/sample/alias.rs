//! The `%` variables of haproxy's log format (`%ci`, `%Tt`, `%{+Q}r`):
//! their names, which need `mode http`, and which rules may use.

use serde::Serialize;

/// A `%` variable of haproxy's log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alias {
    /// `%ci`: client address.
    ClientIp,
    /// `%cp`: client port.
    ClientPort,
    /// `%fi`: the address the client connected to.
    FrontendIp,
    /// `%fp`: its port.
    FrontendPort,
    /// `%f`: frontend name.
    Frontend,
    /// `%b`: backend name.
    Backend,
    /// `%s`: server name.
    Server,
    /// `%ID`: the request's unique id.
    UniqueId,
    /// `%ft`: frontend name, `~` after it on a TLS listener.
    FrontendTransport,
    /// `%bi`: the source address of the connection to the server.
    BackendIp,
    /// `%bp`: its port.
    BackendPort,
    /// `%si`: the server's address.
    ServerIp,
    /// `%sp`: its port.
    ServerPort,
    /// `%H`: the host name.
    Hostname,
    /// `%pid`: the process id.
    Pid,
    /// `%t`: accept date, with milliseconds.
    Date,
    /// `%tr`: request date, with milliseconds.
    RequestDate,
    /// `%T`: accept date, GMT.
    DateGmt,
    /// `%trg`: request date, GMT.
    RequestDateGmt,
    /// `%Tl`: accept date, local time.
    DateLocal,
    /// `%trl`: request date, local time.
    RequestDateLocal,
    /// `%Ts`: accept date as a Unix timestamp.
    Timestamp,
    /// `%ms`: the accept date's milliseconds.
    Millis,
    /// `%Th`: handshake time.
    Th,
    /// `%Ti`: idle time before the request.
    Ti,
    /// `%TR`: time to read the request.
    TR,
    /// `%Tq`: Th + Ti + TR.
    Tq,
    /// `%Tw`: time queued.
    Tw,
    /// `%Tc`: time to connect.
    Tc,
    /// `%Tr`: time to the response head.
    Tr,
    /// `%Td`: time moving data.
    Td,
    /// `%Ta`: active time.
    Ta,
    /// `%Tt`: total time.
    Tt,
    /// `%Tu`: total time the user saw.
    Tu,
    /// `%ST`: status.
    Status,
    /// `%B`: bytes to the client.
    BytesOut,
    /// `%U`: bytes from the client.
    BytesIn,
    /// `%CC`: captured request cookie.
    ClientCookie,
    /// `%CS`: captured response cookie.
    ServerCookie,
    /// `%ts`: termination state.
    Termination,
    /// `%tsc`: termination state with the cookie flags.
    TerminationCookie,
    /// `%ac`: active connections of the process.
    ActConn,
    /// `%fc`: connections of the frontend.
    FeConn,
    /// `%bc`: connections of the backend.
    BeConn,
    /// `%sc`: connections of the server.
    SrvConn,
    /// `%rc`: retries (`+` first after a redispatch).
    Retries,
    /// `%sq`: position in the server's queue.
    SrvQueue,
    /// `%bq`: position in the backend's queue.
    BackendQueue,
    /// `%hr`: captured request headers, `{a|b}`.
    RequestHeaders,
    /// `%hrl`: captured request headers, one field each.
    RequestHeaderList,
    /// `%hs`: captured response headers, `{a|b}`.
    ResponseHeaders,
    /// `%hsl`: captured response headers, one field each.
    ResponseHeaderList,
    /// `%r`: the request line.
    Request,
    /// `%HM`: method.
    Method,
    /// `%HU`: URI.
    Uri,
    /// `%HP`: path (the URI up to `?`).
    Path,
    /// `%HPO`: path only, without scheme and authority.
    PathOnly,
    /// `%HQ`: query, with its `?`.
    Query,
    /// `%HV`: HTTP version.
    Version,
    /// `%rt`: request counter.
    RequestCounter,
    /// `%lc`: the frontend's log counter.
    LogCounter,
    /// `%sslc`: TLS cipher.
    SslCipher,
    /// `%sslv`: TLS version.
    SslVersion,
}

/// Every variable: its name, whether it needs `mode http`.
const ALIASES: &[(&str, Alias, bool)] = &[
    ("B", Alias::BytesOut, false),
    ("CC", Alias::ClientCookie, true),
    ("CS", Alias::ServerCookie, true),
    ("H", Alias::Hostname, false),
    ("ID", Alias::UniqueId, false),
    ("ST", Alias::Status, false),
    ("T", Alias::DateGmt, false),
    ("Ta", Alias::Ta, true),
    ("Tc", Alias::Tc, false),
    ("Th", Alias::Th, false),
    ("Ti", Alias::Ti, true),
    ("Tl", Alias::DateLocal, false),
    ("Tq", Alias::Tq, true),
    ("Tr", Alias::Tr, true),
    ("TR", Alias::TR, true),
    ("Td", Alias::Td, false),
    ("Ts", Alias::Timestamp, false),
    ("Tt", Alias::Tt, false),
    ("Tu", Alias::Tu, false),
    ("Tw", Alias::Tw, false),
    ("U", Alias::BytesIn, false),
    ("ac", Alias::ActConn, false),
    ("b", Alias::Backend, false),
    ("bc", Alias::BeConn, false),
    ("bi", Alias::BackendIp, false),
    ("bp", Alias::BackendPort, false),
    ("bq", Alias::BackendQueue, false),
    ("ci", Alias::ClientIp, false),
    ("cp", Alias::ClientPort, false),
    ("f", Alias::Frontend, false),
    ("fc", Alias::FeConn, false),
    ("fi", Alias::FrontendIp, false),
    ("fp", Alias::FrontendPort, false),
    ("ft", Alias::FrontendTransport, false),
    ("hr", Alias::RequestHeaders, false),
    ("hrl", Alias::RequestHeaderList, false),
    ("hs", Alias::ResponseHeaders, false),
    ("hsl", Alias::ResponseHeaderList, false),
    ("HM", Alias::Method, true),
    ("HP", Alias::Path, true),
    ("HPO", Alias::PathOnly, true),
    ("HQ", Alias::Query, true),
    ("HU", Alias::Uri, true),
    ("HV", Alias::Version, true),
    ("lc", Alias::LogCounter, false),
    ("ms", Alias::Millis, false),
    ("pid", Alias::Pid, false),
    ("r", Alias::Request, true),
    ("rc", Alias::Retries, false),
    ("rt", Alias::RequestCounter, false),
    ("s", Alias::Server, false),
    ("sc", Alias::SrvConn, false),
    ("si", Alias::ServerIp, false),
    ("sp", Alias::ServerPort, false),
    ("sq", Alias::SrvQueue, false),
    ("sslc", Alias::SslCipher, false),
    ("sslv", Alias::SslVersion, false),
    ("t", Alias::Date, false),
    ("tr", Alias::RequestDate, true),
    ("trg", Alias::RequestDateGmt, true),
    ("trl", Alias::RequestDateLocal, true),
    ("ts", Alias::Termination, false),
    ("tsc", Alias::TerminationCookie, false),
];

impl Alias {
    /// The variable named `name` (`ci`, `Tt`), if haproxy has one.
    pub fn named(name: &str) -> Option<Self> {
        ALIASES
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, a, _)| *a)
    }

    /// Only a `mode http` proxy may log it.
    pub fn needs_http(self) -> bool {
        ALIASES.iter().any(|(_, a, http)| *a == self && *http)
    }

    /// One of the captured headers' fields (`%hr`, `%hrl`, `%hs`, `%hsl`).
    pub fn is_capture_list(self) -> bool {
        matches!(
            self,
            Self::RequestHeaders
                | Self::RequestHeaderList
                | Self::ResponseHeaders
                | Self::ResponseHeaderList
        )
    }

    /// A rule's format can render it (from the request alone).
    pub fn in_rules(self) -> bool {
        matches!(
            self,
            Self::ClientIp
                | Self::ClientPort
                | Self::FrontendIp
                | Self::FrontendPort
                | Self::Frontend
                | Self::Backend
                | Self::Server
                | Self::UniqueId
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_as_its_variable_and_http_only_ones_are_marked() {
        for (name, alias, _) in ALIASES {
            assert_eq!(Alias::named(name), Some(*alias));
        }
        assert!(Alias::named("zz").is_none());
        assert!(Alias::Request.needs_http() && !Alias::ClientIp.needs_http());
    }
}
