//! The resolved haproxy.cfg model: what haven runs, with every reference
//! checked (backends exist, ACLs are defined, addresses parse).

use super::http_check::HttpCheck;
use super::tcp_check::{TcpCheck, TcpCheckRule};
use super::tcp_request::TcpRequestRule;
use super::tls::{BindTls, GlobalTls, ServerTls};
use crate::time::Duration;
use serde::Serialize;

pub use crate::sample::StrMatch;
use std::net::IpAddr;

/// A whole haproxy.cfg (or several files read as one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HaproxyConfig {
    /// The `global` section.
    pub global: Global,
    /// Frontends, backends and listens in config order.
    pub proxies: Vec<Proxy>,
    /// `userlist` sections.
    pub userlists: Vec<super::Userlist>,
    /// `resolvers` sections.
    pub resolvers: Vec<super::Resolvers>,
    /// The `cache` sections.
    pub caches: Vec<super::CacheSection>,
    /// Every map file the converters read, with its lines (a file read
    /// both as text and as regular expressions appears twice).
    pub maps: Vec<(String, crate::sample::MapLines)>,
    /// Every pattern file `acl -f` read, with the ACL lines holding it.
    pub acl_files: Vec<crate::sample::AclFile>,
    /// Keywords read but not honoured, in file order.
    pub unsupported: Vec<crate::config::support::Unsupported>,
}

impl HaproxyConfig {
    /// Whether anything listens: a `bind`, or a `stats socket` (which
    /// `haproxy -c` counts too).
    pub fn has_listener(&self) -> bool {
        !self.global.stats_sockets.is_empty() || self.proxies.iter().any(|p| !p.binds.is_empty())
    }

    /// The proxy named `name` that has backend capability.
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.kind.is_backend() && p.name == name)
    }
    /// The proxy named `name` that has frontend capability.
    pub fn frontend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.kind.is_frontend() && p.name == name)
    }

    /// Some server connection leaves from a foreign address (`source ...
    /// usesrc`), which needs CAP_NET_ADMIN.
    pub fn transparent(&self) -> bool {
        let foreign = |s: &Option<super::Source>| s.as_ref().is_some_and(|s| s.usesrc.is_some());
        self.proxies
            .iter()
            .any(|p| foreign(&p.source) || p.servers.iter().any(|s| foreign(&s.source)))
    }
}

/// haproxy's buffer size and rewrite reserve when `tune.*` leave them.
const BUFSIZE: u32 = 16_384;
const MAXREWRITE: u32 = 1_024;

/// The most threads haproxy 2.6 runs (`MAX_THREADS`).
pub const MAX_THREADS: u32 = 64;

impl Global {
    /// How many threads serve traffic: `nbthread`, else, as haproxy 2.6
    /// chooses, one per CPU the process may run on (`available`), at most
    /// [`MAX_THREADS`].
    pub fn threads(&self, available: usize) -> u32 {
        self.nbthread.unwrap_or_else(|| {
            u32::try_from(available)
                .unwrap_or(MAX_THREADS)
                .clamp(1, MAX_THREADS)
        })
    }

    /// A message's buffer and the part of it kept for rewrites, as
    /// haproxy sizes them (the reserve at most half the buffer).
    pub fn buffers(&self) -> (usize, usize) {
        let size = self.bufsize.unwrap_or(BUFSIZE);
        let reserve = self.maxrewrite.unwrap_or(MAXREWRITE).min(size / 2);
        (size as usize, reserve as usize)
    }
}

/// Process-wide settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Global {
    /// `maxconn`: most concurrent connections of the process.
    pub maxconn: Option<u32>,
    /// `nbthread`: threads serving traffic (see [`Global::threads`]).
    pub nbthread: Option<u32>,
    /// `cpu-map`: the CPUs the process and its threads run on.
    pub cpu_map: super::CpuMaps,
    /// `no numa-cpu-mapping`: on a machine of several NUMA nodes, the
    /// threads are not kept to one node's CPUs.
    pub no_numa_cpu_mapping: bool,
    /// `log` targets.
    pub logs: Vec<LogTarget>,
    /// `spread-checks` percentage (0..50).
    pub spread_checks: u32,
    /// `max-spread-checks`.
    pub max_spread_checks: Option<Duration>,
    /// `user` (or `uid`, a number) to drop to after binding.
    pub user: Option<String>,
    /// `group` (or `gid`, a number) to drop to after binding.
    pub group: Option<String>,
    /// `daemon`.
    pub daemon: bool,
    /// `master-worker`: run as `-W` does.
    pub master_worker: bool,
    /// `pidfile`.
    pub pidfile: Option<String>,
    /// `stats socket` lines (runtime API).
    pub stats_sockets: Vec<StatsSocket>,
    /// `stats timeout`: how long a runtime API connection may stay idle
    /// (haproxy's default: 10 s).
    pub cli_timeout: Option<Duration>,
    /// `stats maxconn`: most runtime API connections at once (default 10).
    pub cli_maxconn: Option<u32>,
    /// `ulimit-n`: the file descriptors the process asks for.
    pub ulimit_n: Option<u32>,
    /// `nosplice`: no `option splice-*` is obeyed.
    pub nosplice: bool,
    /// `maxpipes`: most kernel pipes splicing holds at once (default: a
    /// quarter of `maxconn`); past it, bytes are copied.
    pub maxpipes: Option<u32>,
    /// `tune.bufsize`: the size of a message's buffer.
    pub bufsize: Option<u32>,
    /// `tune.maxrewrite`: the part of it kept free for rewrites.
    pub maxrewrite: Option<u32>,
    /// `tune.h2.*`: the HTTP/2 settings.
    pub h2: H2Tune,
    /// `hard-stop-after`: how long a soft stop waits for connections.
    pub hard_stop_after: Option<Duration>,
    /// `zero-warning`: any warning stops the start, as an error would.
    pub zero_warning: bool,
    /// `expose-experimental-directives`: experimental keywords are
    /// allowed (`normalize-uri`).
    pub experimental: bool,
    /// `node`: the name the stats page shows (default: the host name).
    pub node: Option<String>,
    /// `description`: the text the stats page shows with `show-desc`.
    pub description: Option<String>,
    /// `crt-base`, `ca-base`, `ssl-default-bind-*`.
    pub tls: GlobalTls,
}

/// haproxy's `tune.h2.*` settings, as given (haproxy's defaults apply to
/// those that are not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct H2Tune {
    /// `tune.h2.header-table-size`: the HPACK table a peer may use.
    pub header_table_size: Option<u32>,
    /// `tune.h2.initial-window-size`: each stream's receive window.
    pub initial_window_size: Option<u32>,
    /// `tune.h2.max-concurrent-streams` (0: no limit).
    pub max_concurrent_streams: Option<u32>,
    /// `tune.h2.max-frame-size`: the largest frame a peer may send.
    pub max_frame_size: Option<u32>,
}

/// A `stats socket`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSocket {
    /// A unix path, `unix@`, `ipv4@ADDR:PORT` or `fd@N`.
    pub address: String,
    /// `mode`: the unix socket's permissions.
    pub mode: Option<u32>,
    /// `level`: what its commands may do.
    pub level: CliLevel,
}

/// A runtime API access level, least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum CliLevel {
    /// Read-only commands.
    User,
    /// Also commands that do not change the configuration (haproxy's
    /// default).
    Operator,
    /// Every command.
    Admin,
}

/// A `log` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LogTarget {
    /// `log global`: use the global targets.
    Global,
    /// `log <address> [len N] [format F] <facility> [level [minlevel]]`.
    Target {
        /// `127.0.0.1:514`, `/dev/log`, `stdout`...
        address: String,
        /// Syslog facility name.
        facility: String,
        /// Most verbose level sent.
        level: Option<String>,
        /// `format` (rfc3164 by default).
        format: Option<String>,
        /// `len`: the longest line sent (1024 by default).
        len: Option<u32>,
        /// `sample <ranges>:<size>`.
        sample: Option<LogSample>,
    },
}

/// `log ... sample <ranges>:<size>`: which lines of each run of `size` go
/// to a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogSample {
    /// 1-based positions in a run, as inclusive ranges.
    pub ranges: Vec<(u32, u32)>,
    /// The run length.
    pub size: u32,
}

impl LogSample {
    /// Whether the line after `seen` others goes to the target.
    pub fn takes(&self, seen: u32) -> bool {
        let position = seen % self.size + 1;
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&position))
    }
}

/// What a proxy section was declared as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    /// `frontend`: accepts clients.
    Frontend,
    /// `backend`: holds servers.
    Backend,
    /// `listen`: both at once.
    Listen,
}

impl ProxyKind {
    /// Accepts clients (frontend or listen).
    pub fn is_frontend(self) -> bool {
        matches!(self, Self::Frontend | Self::Listen)
    }
    /// Holds servers (backend or listen).
    pub fn is_backend(self) -> bool {
        matches!(self, Self::Backend | Self::Listen)
    }
    /// The section keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Frontend => "frontend",
            Self::Backend => "backend",
            Self::Listen => "listen",
        }
    }

    /// What haproxy's messages call it: a `listen` is a "proxy".
    pub fn type_str(self) -> &'static str {
        match self {
            Self::Listen => "proxy",
            other => other.keyword(),
        }
    }
}

/// `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Layer 4 (the default).
    #[default]
    Tcp,
    /// Layer 7.
    Http,
}

impl Mode {
    /// The keyword, as in the config and the stats CSV `mode` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Http => "http",
        }
    }
}

/// One frontend, backend or listen section, with `defaults` applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proxy {
    /// Section name.
    pub name: String,
    /// `id`: the number the stats and the runtime API know it by, as
    /// written.
    pub id: Option<u32>,
    /// Its number: `id`, else the first free one, as haproxy counts.
    pub uuid: u32,
    /// `description`: shown on the stats page.
    pub description: Option<String>,
    /// Section keyword.
    pub kind: ProxyKind,
    /// Line of the section keyword.
    pub line: u32,
    /// `mode`.
    pub mode: Mode,
    /// `bind` lines.
    pub binds: Vec<Bind>,
    /// `maxconn` (frontend side).
    pub maxconn: Option<u32>,
    /// `source` (backend side): where server connections leave from.
    pub source: Option<super::Source>,
    /// A `mode tcp` frontend whose every connection goes to a `mode http`
    /// backend: served as HTTP from the first byte, as haproxy upgrades
    /// such connections.
    pub http_upgrade: bool,
    /// `fullconn` (backend side): the backend load at which servers reach
    /// their `maxconn`; by default a tenth of the `maxconn`s of the
    /// frontends that use the backend, as haproxy computes it.
    pub fullconn: Option<u32>,
    /// Named and anonymous ACLs, in declaration order.
    pub acls: Vec<Acl>,
    /// `use_backend` rules in order.
    pub switching_rules: Vec<SwitchingRule>,
    /// `default_backend`, resolved.
    pub default_backend: Option<BackendRef>,
    /// `balance`.
    pub balance: Balance,
    /// `hash-type`.
    pub hash_type: HashType,
    /// Servers in config order.
    pub servers: Vec<Server>,
    /// `retries` (default 3).
    pub retries: u32,
    /// `retry-on`: which failures are retried.
    pub retry_on: RetryOn,
    /// `option ...` switches.
    pub options: Options,
    /// `timeout ...` values.
    pub timeouts: Timeouts,
    /// `option httpchk` + `http-check` rules; `None` means TCP checks.
    pub http_check: Option<HttpCheck>,
    /// `option tcp-check` or a protocol check (`option redis-check`...).
    pub tcp_check: Option<TcpCheck>,
    /// `tcp-check` rules, run under `option tcp-check`.
    pub tcp_check_rules: Vec<TcpCheckRule>,
    /// `dispatch <addr>:<port>`: where a backend without servers sends
    /// every connection.
    pub dispatch: Option<std::net::SocketAddr>,
    /// `http-reuse`: which idle server connections a request may take.
    pub http_reuse: HttpReuse,
    /// `cookie`: persistence by cookie.
    pub cookie: Option<super::CookiePersistence>,
    /// `compression` lines, when there are some.
    pub compression: Option<super::Compression>,
    /// Capture slots (frontend side).
    pub captures: super::CaptureSlots,
    /// `log-format`: the traffic lines' format, when it replaces `option
    /// httplog` / `tcplog` (which then only say that traffic is logged).
    pub log_format: Option<crate::sample::Format>,
    /// `unique-id-format`: how each request's unique id is built.
    pub unique_id_format: Option<crate::sample::Format>,
    /// `unique-id-header`: the request header that carries the id.
    pub unique_id_header: Option<String>,
    /// `stick-table`.
    pub stick_table: Option<super::StickTable>,
    /// `tcp-request inspect-delay`: how long content rules may wait for
    /// the first bytes.
    pub inspect_delay: Option<Duration>,
    /// `tcp-request connection|content accept|reject` rules, in order.
    pub tcp_request: Vec<TcpRequestRule>,
    /// `stats ...` settings when stats are enabled here.
    pub stats: Option<Stats>,
    /// `monitor-uri`: requests for it are answered 200 by haproxy itself.
    pub monitor_uri: Option<String>,
    /// `errorfile` pages, one per status at most.
    pub errorfiles: Vec<super::ErrorPage>,
    /// `log` lines.
    pub logs: Vec<LogTarget>,
    /// `http-request` rules, in order.
    pub http_request: Vec<super::HttpRule>,
    /// `http-response` rules, in order.
    pub http_response: Vec<super::HttpRule>,
    /// `http-after-response` rules, in order.
    pub http_after_response: Vec<super::HttpRule>,
    /// `redirect` rules, run after the `http-request` rules.
    pub redirects: Vec<super::HttpRule>,
    /// `http-request use-service prometheus-exporter [if|unless <cond>]`
    /// rules, in order.
    pub prometheus: Vec<ExporterRule>,
    /// `stick` rules, in order.
    pub stick_rules: Vec<super::StickRule>,
}

/// A rule that answers matching requests with the Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExporterRule {
    /// The condition; `None` means always.
    pub cond: Option<Condition>,
    /// Line of the rule.
    pub line: u32,
}

/// A resolved reference to a backend-capable proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendRef {
    /// Its name.
    pub name: String,
    /// Its index in [`HaproxyConfig::proxies`].
    pub index: usize,
}

/// One listening address of a `bind` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bind {
    /// Address; `None` means every IPv4 address (`*`, empty, `0.0.0.0`).
    pub addr: Option<IpAddr>,
    /// First port.
    pub port: u16,
    /// Last port (equal to `port` unless a range was given).
    pub port_end: u16,
    /// `fd@N`: a listening socket the process inherits (the address and
    /// ports are then unused).
    pub fd: Option<i32>,
    /// A unix socket to listen on (the address and ports are then
    /// unused).
    pub unix: Option<UnixAddr>,
    /// `mode`: the permissions of the unix socket's file (octal).
    pub mode: Option<u32>,
    /// Line of the `bind`.
    pub line: u32,
    /// `accept-proxy`: each connection starts with a PROXY protocol
    /// header naming the real client.
    pub accept_proxy: bool,
    /// `name`: the listener's name in per-listener statistics.
    pub name: Option<String>,
    /// `ssl`: connections are TLS, with these certificates and settings.
    pub tls: Option<Box<BindTls>>,
    /// `proto`: the HTTP version its connections speak, whatever they
    /// announce.
    pub proto: BindProto,
}

impl Bind {
    /// A listener of the `bind` line `line` with no address yet and
    /// every setting at its default.
    pub fn unbound(line: u32) -> Self {
        Self {
            addr: None,
            port: 0,
            port_end: 0,
            fd: None,
            unix: None,
            mode: None,
            line,
            accept_proxy: false,
            name: None,
            tls: None,
            proto: BindProto::Auto,
        }
    }
}

/// `server ... proto` and `check-proto`: the HTTP version spoken to a
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerProto {
    /// `h1`: HTTP/1.1.
    H1,
    /// `h2`: HTTP/2, with prior knowledge.
    H2,
}

impl Server {
    /// Requests go to it in HTTP/2.
    pub fn speaks_h2(&self) -> bool {
        self.proto == Some(ServerProto::H2)
    }

    /// Its HTTP checks speak HTTP/2.
    pub fn checks_h2(&self) -> bool {
        self.check_proto.or(self.proto) == Some(ServerProto::H2)
    }
}

/// `bind ... proto`: how a listener's HTTP connections are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BindProto {
    /// HTTP/1.1, or HTTP/2 when ALPN chose it or the connection opens
    /// with the HTTP/2 preface.
    #[default]
    Auto,
    /// `proto h1`: HTTP/1.1 only, the preface is not looked for.
    H1,
    /// `proto h2`: HTTP/2 from the first byte.
    H2,
    /// `proto none` (`mode tcp` only): bytes as they come, never
    /// switched to HTTP.
    None,
}

/// `balance`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    /// Dynamic weighted round robin (the default).
    #[default]
    Roundrobin,
    /// Static weighted round robin.
    StaticRr,
    /// Fewest connections.
    Leastconn,
    /// First server with a free slot.
    First,
    /// Hash of the client address.
    Source,
    /// Hash of the URI.
    Uri {
        /// `whole`: include the query string.
        whole: bool,
        /// `len N`.
        len: Option<u32>,
        /// `depth N`.
        depth: Option<u32>,
        /// `path-only`: an absolute-form target hashes as its path.
        path_only: bool,
    },
    /// Hash of a URL parameter.
    UrlParam(String),
    /// Hash of a header.
    Hdr(String),
    /// `random[(draws)]`: the least loaded of `draws` servers picked at
    /// random on the consistent-hash ring (default 2).
    Random {
        /// How many servers are drawn.
        draws: u32,
    },
    /// RDP cookie hash.
    RdpCookie(String),
}

impl Balance {
    /// The algorithm's keyword, as in the stats CSV `algo` column.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Roundrobin => "roundrobin",
            Self::StaticRr => "static-rr",
            Self::Leastconn => "leastconn",
            Self::First => "first",
            Self::Source => "source",
            Self::Uri { .. } => "uri",
            Self::UrlParam(_) => "url_param",
            Self::Hdr(_) => "hdr",
            Self::Random { .. } => "random",
            Self::RdpCookie(_) => "rdp-cookie",
        }
    }
}

/// A PROXY protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyVersion {
    /// The text header.
    V1,
    /// The binary header.
    V2,
}

/// `http-reuse`: when a request may go over an idle server connection
/// another client's requests left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpReuse {
    /// Never: a connection serves one client session only.
    Never,
    /// A session's first request gets a connection of its own; later ones
    /// may take any idle connection (the default).
    #[default]
    Safe,
    /// Like `safe`, but a first request may take a connection that has
    /// already been reused.
    Aggressive,
    /// Any request may take any idle connection.
    Always,
}

/// `hash-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct HashType {
    /// `consistent` rather than `map-based`.
    pub consistent: bool,
    /// Apply the avalanche mix.
    pub avalanche: bool,
}

/// Where a server is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerAddr {
    /// A literal address.
    Ip(IpAddr),
    /// A name the driver resolves at start.
    Host(String),
    /// A unix socket (`/path`, `unix@path`, `abns@name`).
    Unix(UnixAddr),
}

/// A unix stream socket's address, as haproxy writes it in `bind` and
/// `server` lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum UnixAddr {
    /// A file in the file system (`/path`, `unix@path`).
    Path(String),
    /// A name in Linux's abstract namespace (`abns@name`).
    Abstract(String),
}

impl UnixAddr {
    /// The unix address `text` names, if it names one.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(name) = text.strip_prefix("abns@") {
            return Some(Self::Abstract(name.to_owned()));
        }
        let path = text.strip_prefix("unix@").unwrap_or(text);
        (path.starts_with('/') || text.starts_with("unix@")).then(|| Self::Path(path.to_owned()))
    }
}

impl std::fmt::Display for UnixAddr {
    /// As haproxy shows it: the path, or `abns@name`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) => f.write_str(path),
            Self::Abstract(name) => write!(f, "abns@{name}"),
        }
    }
}

/// A server's agent check settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentCheck {
    /// `agent-check`: on.
    pub enabled: bool,
    /// `agent-port`: required for the check to run.
    pub port: Option<u16>,
    /// `agent-addr`: the agent's address (default: the server's).
    pub addr: Option<IpAddr>,
    /// `agent-send`: what is sent once connected.
    pub send: Option<String>,
    /// `agent-inter`: how often (default: the server's `inter`).
    pub inter: Option<Duration>,
}

/// A server's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerPort {
    /// No port: the port the client connected to.
    Same,
    /// A fixed port.
    Fixed(u16),
    /// `+N` / `-N`: the client's port shifted.
    Offset(i32),
}

impl ServerPort {
    /// The port a connection goes to for a client that reached port
    /// `reached`; `None` when the shift leaves the ports.
    pub fn toward(self, reached: u16) -> Option<u16> {
        let shift = match self {
            Self::Fixed(port) => return Some(port),
            Self::Same => 0,
            Self::Offset(by) => by,
        };
        u16::try_from(i32::from(reached) + shift).ok()
    }
}

/// One `server` line with `default-server` applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    /// Name, unique in its backend among those not deleted.
    pub name: String,
    /// Deleted at run time (`del server`): it keeps its place (indexes
    /// stay), takes no traffic, and is gone from the statistics and
    /// the runtime API.
    pub deleted: bool,
    /// Address.
    pub addr: ServerAddr,
    /// Port.
    pub port: ServerPort,
    /// `weight` 0..256 (default 1).
    pub weight: u32,
    /// `check`: health checks on.
    pub check: bool,
    /// The agent check (`agent-check`, `agent-port`, `agent-addr`,
    /// `agent-send`, `agent-inter`).
    pub agent: AgentCheck,
    /// `inter` (default 2 s).
    pub inter: Duration,
    /// `fastinter` (defaults to `inter`).
    pub fastinter: Option<Duration>,
    /// `downinter` (defaults to `inter`).
    pub downinter: Option<Duration>,
    /// `rise` (default 2).
    pub rise: u32,
    /// `fall` (default 3).
    pub fall: u32,
    /// `backup`.
    pub backup: bool,
    /// `disabled`: starts in maintenance.
    pub disabled: bool,
    /// `maxconn`.
    pub maxconn: Option<u32>,
    /// `source`: where its connections leave from (over the backend's).
    pub source: Option<super::Source>,
    /// `resolvers`: the section whose nameservers re-resolve its name.
    pub resolvers: Option<String>,
    /// `resolve-prefer`: the family asked for first.
    pub resolve_prefer: super::Family,
    /// `init-addr`: how its address is found at start, in order.
    pub init_addr: Vec<super::InitAddr>,
    /// `minconn`: with a smaller `maxconn`, the server's limit grows from
    /// it to `maxconn` as the backend's load nears `fullconn`.
    pub minconn: Option<u32>,
    /// `maxqueue`.
    pub maxqueue: Option<u32>,
    /// `slowstart`.
    pub slowstart: Option<Duration>,
    /// `port`: the port health checks use.
    pub check_port: Option<u16>,
    /// `addr`: the address health checks use.
    pub check_addr: Option<IpAddr>,
    /// `cookie`: the value naming this server in the persistence cookie.
    pub cookie: Option<String>,
    /// `send-proxy` / `send-proxy-v2`: each connection to the server
    /// starts with a PROXY protocol header naming the client.
    pub send_proxy: Option<ProxyVersion>,
    /// `proxy-v2-options unique-id`: the v2 header carries the request's
    /// unique id.
    pub proxy_v2_unique_id: bool,
    /// `socks4 <addr>:<port>`: connections to the server go through this
    /// SOCKS4 proxy.
    pub socks4: Option<std::net::SocketAddr>,
    /// `check-via-socks4`: health checks go through it too.
    pub check_via_socks4: bool,
    /// `proto`: the HTTP version spoken to it (HTTP/1.1 when unset).
    pub proto: Option<ServerProto>,
    /// `check-proto`: the HTTP version its checks speak (its `proto`
    /// when unset).
    pub check_proto: Option<ServerProto>,
    /// `ssl` and what goes with it: TLS to the server.
    pub tls: ServerTls,
    /// `pool-max-conn`: idle connections kept for later requests (`None`:
    /// no limit, haproxy's -1).
    pub pool_max_conn: Option<u32>,
    /// `pool-purge-delay`: how often idle connections beyond the need
    /// close (5 s; zero keeps none idle).
    pub pool_purge_delay: Duration,
    /// `pool-low-conn`: idle connections kept beyond the need.
    pub pool_low_conn: u32,
    /// Line of the `server`.
    pub line: u32,
}

/// `option` switches that change behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Options {
    /// `option redispatch [interval]`: `Some(interval)` when on (default -1).
    pub redispatch: Option<i32>,
    /// `option abortonclose`.
    pub abortonclose: bool,
    /// `option forwardfor`.
    pub forwardfor: Option<Forwardfor>,
    /// `option originalto`: the address the client reached, in
    /// `X-Original-To` (its `if-none` is never set).
    pub originalto: Option<Forwardfor>,
    /// `option httplog` (or `httpslog`).
    pub httplog: bool,
    /// `option httpslog`: httplog lines end with the connection's TLS.
    pub httpslog: bool,
    /// `option tcplog`.
    pub tcplog: bool,
    /// `option log-health-checks`.
    pub log_health_checks: bool,
    /// `http-check send-state`: HTTP checks tell the server its state in
    /// an `X-Haproxy-Server-State` header.
    pub http_check_send_state: bool,
    /// `option allbackups`.
    pub allbackups: bool,
    /// `option dontlognull`: a connection that sent nothing is not logged.
    pub dontlognull: bool,
    /// `option nolinger`: its connections (to clients on a frontend, to
    /// servers on a backend) end with a reset, not a graceful close.
    pub nolinger: bool,
    /// `option http-buffer-request`: the request's rules wait for its
    /// body (to the buffer's end), within `timeout http-request`.
    pub http_buffer_request: bool,
    /// `option http-ignore-probes`: a connection that sends nothing before
    /// it closes or times out gets no 408 and is not logged.
    pub ignore_probes: bool,
    /// `option socket-stats`: the statistics have a row per listener.
    pub socket_stats: bool,
    /// `option disable-h2-upgrade`: a clear connection that opens with
    /// the HTTP/2 preface is not served as HTTP/2.
    pub disable_h2_upgrade: bool,
    /// Connection handling of HTTP exchanges.
    pub http_conn: HttpConnMode,
    /// `option transparent`: a backend without servers sends each request
    /// to the address its client connected to (after `set-dst`).
    pub transparent: bool,
    /// `option prefer-last-server`: a request goes to the server of the
    /// connection its client session keeps, when that server is usable.
    pub prefer_last_server: bool,
    /// `option http-restrict-req-hdr-names`: what becomes of request
    /// headers whose names hold more than letters, digits and `-`.
    pub restrict_header_names: HeaderNames,
    /// `option splice-request|splice-response|splice-auto`.
    pub splice: Splice,
    /// `option tcp-smart-accept`, or its `no` form; unset, it is on in
    /// HTTP mode and on TLS binds (see [`Options::delays_accept_ack`]).
    pub tcp_smart_accept: Option<bool>,
    /// `option tcp-smart-connect`: a server connection's handshake ends
    /// with the request rather than a bare ACK.
    pub tcp_smart_connect: bool,
}

impl Options {
    /// `tcp-smart-accept` as haproxy applies it to a listener of `bind`
    /// in a proxy of `mode`: the ACK of what a client sends is held
    /// (`TCP_QUICKACK` off) to leave with the answer. Unless set either
    /// way, it is on in HTTP mode and on TLS binds.
    pub fn delays_accept_ack(&self, mode: Mode, bind: &Bind) -> bool {
        self.tcp_smart_accept
            .unwrap_or(mode == Mode::Http || bind.tls.is_some())
    }
}

/// `option splice-*`: which way bodies and tunnels move from socket to
/// socket through a kernel pipe (`splice()`), never copied through haven.
/// A stream splices a way when its frontend or its backend says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Splice {
    /// `splice-request`: from the client to the server.
    pub request: bool,
    /// `splice-response`: from the server to the client.
    pub response: bool,
    /// `splice-auto`: either way, once what is left is more than a
    /// buffer holds (haproxy splices a stream it sees streaming fast).
    pub auto: bool,
}

impl Splice {
    /// What a stream of frontend `self` and backend `other` splices.
    pub fn or(self, other: Self) -> Self {
        Self {
            request: self.request || other.request,
            response: self.response || other.response,
            auto: self.auto || other.auto,
        }
    }

    /// True when a transfer the client (`upward`) or the server sends,
    /// with `left` bytes to go (`None`: until a close), is spliced with
    /// buffers of `bufsize`.
    pub fn applies(self, upward: bool, left: Option<u64>, bufsize: u64) -> bool {
        let asked = if upward { self.request } else { self.response };
        asked || (self.auto && left.is_none_or(|n| n > bufsize))
    }
}

/// `option http-restrict-req-hdr-names preserve|delete|reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderNames {
    /// Passed as they are (the default).
    #[default]
    Preserve,
    /// Removed from the request.
    Delete,
    /// The request is refused with 403.
    Reject,
}

/// `retry-on`: the failures that count against `retries` and are tried
/// again (default `conn-failure`). Beyond a failed connection, a retry
/// sends the request again: haproxy's "L7 retries".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryOn {
    /// `conn-failure`: the connection could not be made.
    pub conn_failure: bool,
    /// `empty-response`: the server closed without a byte of an answer.
    pub empty_response: bool,
    /// `junk-response`: the answer was not HTTP.
    pub junk_response: bool,
    /// `response-timeout`: `timeout server` struck before the answer.
    pub response_timeout: bool,
    /// Answers with these statuses are retried.
    pub statuses: Vec<u16>,
}

impl Default for RetryOn {
    fn default() -> Self {
        Self {
            conn_failure: true,
            empty_response: false,
            junk_response: false,
            response_timeout: false,
            statuses: Vec::new(),
        }
    }
}

/// `option forwardfor [except NET] [header NAME] [if-none]`, and
/// `option originalto [except NET] [header NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forwardfor {
    /// Header name (default `X-Forwarded-For`).
    pub header: String,
    /// `except` network, as written.
    pub except: Option<String>,
    /// `if-none`: only add when absent.
    pub if_none: bool,
}

/// `option http-keep-alive` / `http-server-close` / `httpclose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpConnMode {
    /// Keep-alive on both sides (the 2.x default).
    #[default]
    KeepAlive,
    /// Close the server side after each response.
    ServerClose,
    /// Close both sides after each exchange.
    Close,
}

/// `timeout ...` values; `None` when not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Timeouts {
    /// `timeout connect`.
    pub connect: Option<Duration>,
    /// `timeout client`.
    pub client: Option<Duration>,
    /// `timeout server`.
    pub server: Option<Duration>,
    /// `timeout check`.
    pub check: Option<Duration>,
    /// `timeout queue`.
    pub queue: Option<Duration>,
    /// `timeout http-request`.
    pub http_request: Option<Duration>,
    /// `timeout http-keep-alive`.
    pub http_keep_alive: Option<Duration>,
    /// `timeout tunnel`.
    pub tunnel: Option<Duration>,
    /// `timeout tarpit`: how long `tarpit` holds a request (`timeout
    /// connect` when unset).
    pub tarpit: Option<Duration>,
}

/// `stats ...` of a proxy where `stats enable` (or any stats keyword) is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `stats uri` (default `/haproxy?stats`).
    pub uri: String,
    /// `stats auth user:pass` pairs.
    pub auth: Vec<(String, String)>,
    /// `stats refresh`.
    pub refresh: Option<Duration>,
    /// `stats realm`.
    pub realm: Option<String>,
    /// `stats hide-version`.
    pub hide_version: bool,
    /// `stats admin if|unless <cond>`.
    pub admin: Option<Condition>,
    /// `stats show-node [NAME]`: the node named in the title (empty: the
    /// global `node`, else the host name).
    pub show_node: Option<String>,
    /// `stats show-desc [TEXT]`: the description in the title (empty: the
    /// global `description`).
    pub show_desc: Option<String>,
    /// `stats show-legends`.
    pub show_legends: bool,
    /// `stats show-modules`.
    pub show_modules: bool,
    /// `stats scope NAME` lines: the proxies shown (`.`: this one); none,
    /// all of them.
    pub scope: Vec<String>,
}

/// A named ACL (all its lines) or an anonymous `{ ... }` one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acl {
    /// Name; empty for an anonymous ACL.
    pub name: String,
    /// Each declaration line; the ACL matches when any does.
    pub patterns: Vec<AclPattern>,
}

/// One ACL declaration: a criterion and values, any of which may match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclPattern {
    /// What is fetched and how it is compared.
    pub criterion: Criterion,
    /// `-i`: compare case-insensitively.
    pub ignore_case: bool,
    /// Values (any may match).
    pub values: crate::sample::AclValues,
    /// Line of the declaration.
    pub line: u32,
}

/// What an ACL looks at (spec/haproxy.md §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// `hdr(name)`: whole value.
    Hdr(String),
    /// `hdr_beg(name)`: prefix.
    HdrBeg(String),
    /// `hdr_end(name)`: suffix.
    HdrEnd(String),
    /// `hdr_dom(name)`: dot/colon-bounded domain.
    HdrDom(String),
    /// `hdr_sub(name)`: substring.
    HdrSub(String),
    /// `path`: exact path.
    Path,
    /// `path_beg`: path prefix.
    PathBeg,
    /// `path_end`: path suffix.
    PathEnd,
    /// `path_sub`: path substring.
    PathSub,
    /// `url_beg`: URI prefix, query included.
    UrlBeg,
    /// `method`.
    Method,
    /// `src`: the client address, against addresses and networks.
    Src,
    /// `req.ssl_sni`: the server name of a TLS client hello, compared as
    /// `-m` says.
    SslSni(StrMatch),
    /// `req.ssl_hello_type`: 1 for a TLS client hello, 2 for a server
    /// hello; integer comparisons.
    SslHelloType,
    /// `req.len`: bytes received so far; integer comparisons.
    ReqLen,
    /// `req.payload(offset,length)`: those bytes, as a string (`-m str`)
    /// or hex (`-m bin`).
    Payload {
        /// First byte.
        offset: usize,
        /// How many bytes (0: to the end).
        length: usize,
        /// Values are hex (`-m bin`).
        binary: bool,
    },
    /// A predefined ACL that always (`TRUE`) or never (`FALSE`) matches.
    Constant(bool),
    /// `req.proto_http` (the predefined `HTTP`): the stream is HTTP, or a
    /// `mode tcp` client's first bytes are an HTTP request head.
    ProtoHttp,
    /// Any other sample expression haven evaluates, compared as `how` says.
    Sample {
        /// The fetch and its converters.
        expr: crate::sample::Expr,
        /// The match method.
        how: crate::sample::Match,
    },
    /// A fetch haproxy knows that haven does not evaluate yet; never matches.
    Unsupported(String),
}

/// `if|unless <terms>`: OR of AND-groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `unless` rather than `if`.
    pub unless: bool,
    /// Alternatives (`||` / `or`), each a list of ANDed terms.
    pub any_of: Vec<Vec<Term>>,
}

/// One ACL use in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Term {
    /// `!`: negated.
    pub negate: bool,
    /// Index into the proxy's [`Proxy::acls`].
    pub acl: usize,
}

/// `use_backend <name> [if|unless <cond>]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchingRule {
    /// The backend, resolved, when the rule names it plainly.
    pub backend: Option<BackendRef>,
    /// `use_backend %[...]`: the backend's name as a log-format string,
    /// rendered for each request (a name no backend has sends the
    /// request to the default backend, as haproxy does).
    pub dynamic: Option<crate::sample::Format>,
    /// The condition; `None` means always.
    pub cond: Option<Condition>,
    /// Line of the rule.
    pub line: u32,
}
