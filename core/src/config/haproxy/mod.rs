//! haproxy.cfg in HAProxy 2.6's own syntax (spec/haproxy.md §1).
//!
//! [`parse`] reads one or more files as haproxy does with several `-f`,
//! reports every problem with haproxy's wording and location form, and
//! returns the resolved [`HaproxyConfig`] when there is no error.

mod acl;
mod cache;
mod capture;
mod ciphers;
mod compression;
mod condition;
mod cookie;
mod counter_action;
mod cpu_map;
mod dynamic;
mod errorfile;
mod http_check;
mod http_rule;
mod keywords;
mod lexer;
mod model;
mod numa;
mod parser;
mod paths;
mod proxy_kw;
mod resolve;
mod resolvers;
mod retry_on;
mod server;
mod source;
mod stick_rule;
mod stick_table;
mod tcp_check;
mod tcp_request;
mod tls;
mod userlist;
mod values;

pub use cache::CacheSection;
pub use capture::{CaptureSlot, CaptureSlots};
pub use ciphers::{select as select_ciphers, select_suites, Selection, TLS13_SUITES};
pub use compression::{CompAlgo, Compression};
pub use condition::{eval_condition, ConditionError, FEATURES, HAPROXY_VERSION};
pub use cookie::{CookieMode, CookiePersistence};
pub use counter_action::{CounterAction, GptValue};
pub use cpu_map::CpuMaps;
pub use dynamic::{dynamic_server, DynamicServer};
pub use errorfile::ErrorPage;
pub use http_check::{
    HeaderPattern, HttpCheck, HttpCheckRule, HttpExpect, HttpMatch, HttpSend, PatternMethod,
};
pub use http_rule::{
    BodyWait, HttpAction, HttpRule, LinePart, NameMatch, Normalizer, Redirect, RedirectKind, Reply,
    ReplyBody, RulePhase, TimeoutValue,
};
pub use model::*;
pub use numa::Topology;
pub use parser::{parse, Account, FileReader, LoadCertificates, ParseOptions, ZERO_WARNING_ABORT};
pub use resolvers::{Family, InitAddr, Resolvers, DEFAULT_INIT_ADDR};
pub use source::{LocalEnd, Source, UseSrc};
pub use stick_rule::{StickKind, StickRule};
pub use stick_table::{StickCounter, StickKeyType, StickTable};
#[cfg(test)]
pub(crate) use tcp_check::hex as tcp_check_hex;
pub use tcp_check::{TcpCheck, TcpCheckRule, TcpExpect, TcpPattern};
pub use tcp_request::{TcpAction, TcpLayer, TcpRequestRule};
pub use tls::{
    parse_crt_list, unoffered, BindTls, CertSource, CrtListLine, GlobalTls, IgnoredErrors,
    ServerTls, TlsOptions, TlsVersion, Verify, CURVES,
};
pub use userlist::{Password, User, Userlist};
pub use values::parse_time;
