//! HAProxy's statistics (spec/haproxy.md §5): the counters of every
//! frontend, backend and server ([`Counters`], fed with the flow's
//! outputs), the CSV of `;csv` and `show stat` ([`csv`]), and which
//! requests are stats requests and whether they may see them ([`access`]),
//! the Prometheus exposition ([`prometheus`]), and the runtime API's
//! commands ([`parse_cli`]).

mod access;
mod activity;
mod admin;
mod cli;
mod csv;
mod errors;
mod html;
mod maps;
mod prometheus;
mod servers_state;
mod ssl_cli;
mod typed;
mod vrrp;

pub use access::{access, intercept, page, Access};
pub use activity::activity;
pub use admin::{proxy_id, read_post, redirect, AdminPost, Posted};
pub use cli::{parse_cli, split_commands, unknown_reply, CliCommand, CLI_HELP, PERMISSION_DENIED};
pub use csv::{csv, Shown, Sources};
pub use errors::{BadMessage, ErrorSnapshots, ErrorsFilter};
pub use html::{html, Heading};
pub use maps::{acl_command, map_command};
pub use prometheus::{prometheus, Process};
pub use servers_state::servers_state;
pub use ssl_cli::{SslCommand, SslFile};
pub use typed::typed;

use crate::lanes::ByLane;
use crate::proxy::{Output, StreamId};

/// One row's traffic counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Sessions in progress (`scur`).
    pub current: u64,
    /// Most at once (`smax`).
    pub max: u64,
    /// Sessions in total (`stot`).
    pub total: u64,
    /// HTTP requests (`req_tot`).
    pub requests: u64,
    /// Responses by class: 1xx..5xx, other (`hrsp_*`).
    pub by_class: [u64; 6],
    /// Times picked by the balancer (`lbtot`).
    pub picked: u64,
    /// Failed connections (`econ`).
    pub connect_errors: u64,
    /// Retries (`wretr`).
    pub retries: u64,
    /// Redispatches (`wredis`).
    pub redispatches: u64,
    /// Bytes received from clients (`bin`).
    pub bytes_in: u64,
    /// Bytes sent to clients (`bout`).
    pub bytes_out: u64,
    /// Bytes this side's connections took in by `splice()`
    /// (`h1_spliced_bytes_in`): from clients on a frontend, from servers
    /// on a backend.
    pub spliced_in: u64,
    /// Bytes it sent out by `splice()` (`h1_spliced_bytes_out`).
    pub spliced_out: u64,
    /// Response bytes that went into the compressor (`comp_in`).
    pub comp_in: u64,
    /// Bytes that came out of it (`comp_out`).
    pub comp_out: u64,
    /// Responses compressed (`comp_rsp`).
    pub comp_rsp: u64,
    /// Lookups in a cache by this proxy's rules (`cache_lookups`).
    pub cache_lookups: u64,
    /// Those a cache answered (`cache_hits`).
    pub cache_hits: u64,
    /// What its ended HTTP/2 connections counted (`h2_*`).
    pub h2: crate::http2::Counters,
    /// Its HTTP/2 connections open now (`h2_open_connections`).
    pub h2_open: u64,
    /// Its HTTP/2 connections in all (`h2_total_connections`).
    pub h2_total: u64,
}

/// What one finished stream moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Bytes read from the client and sent to it.
    pub bytes: [u64; 2],
    /// Bytes that went by `splice()`, to the server and to the client.
    pub spliced: [u64; 2],
    /// A compressed response: the bytes into the compressor and out.
    pub compressed: Option<[u64; 2]>,
}

impl Tally {
    fn open(&mut self) {
        self.current += 1;
        self.total += 1;
        self.max = self.max.max(self.current);
    }

    fn answered(&mut self, status: u16) {
        self.requests += 1;
        if status > 0 {
            let class = usize::from(status / 100);
            self.by_class[if (1..=5).contains(&class) {
                class - 1
            } else {
                5
            }] += 1;
        }
    }
}

/// Whose an HTTP/2 connection is, for the `show stat typed` row it
/// counts in: a frontend's (from a client) or a backend's (to one of its
/// servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H2Owner {
    /// Frontend `n`'s.
    Frontend(usize),
    /// Backend `n`'s.
    Backend(usize),
}

/// Counters of one haproxy process, keyed by config index (proxies) and
/// (backend, server) indexes.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    frontends: Table,
    backends: Table,
    /// Servers, by backend and server index.
    servers: Grid,
    /// Listeners, by frontend and `bind` index (`option socket-stats`).
    listeners: Grid,
    /// Requests in progress: their frontend and listener.
    open: ByLane<(usize, usize)>,
    /// Finished requests whose byte counts are still to come: frontend
    /// and listener, backend, server.
    awaiting_bytes: ByLane<Rows>,
}

/// Rows by config index, each made when first counted in (a vector:
/// every request counts in a few rows, and a lookup is then an index).
#[derive(Debug, Clone, Default)]
struct Table(Vec<Tally>);

impl Table {
    /// Row `index`, made empty if it was not there.
    fn row(&mut self, index: usize) -> &mut Tally {
        if index >= self.0.len() {
            self.0.resize_with(index + 1, Tally::default);
        }
        &mut self.0[index]
    }

    /// A copy of row `index`, empty if none was made.
    fn get(&self, index: usize) -> Tally {
        self.0.get(index).cloned().unwrap_or_default()
    }
}

/// Rows by two config indexes: a backend's servers, a frontend's
/// listeners.
#[derive(Debug, Clone, Default)]
struct Grid(Vec<Table>);

impl Grid {
    /// Row `(outer, inner)`, made empty if it was not there.
    fn row(&mut self, (outer, inner): (usize, usize)) -> &mut Tally {
        if outer >= self.0.len() {
            self.0.resize_with(outer + 1, Table::default);
        }
        self.0[outer].row(inner)
    }

    /// A copy of row `(outer, inner)`, empty if none was made.
    fn get(&self, (outer, inner): (usize, usize)) -> Tally {
        self.0.get(outer).map(|t| t.get(inner)).unwrap_or_default()
    }
}

/// The rows one request counts in: its frontend and listener, its
/// backend and its server.
type Rows = ((usize, usize), Option<usize>, Option<usize>);

impl Counters {
    /// No count yet, the requests in progress kept in the lanes of
    /// `threads` serving threads (see [`crate::lanes`]).
    pub fn with_lanes(threads: usize) -> Self {
        Self {
            open: ByLane::new(threads),
            awaiting_bytes: ByLane::new(threads),
            ..Self::default()
        }
    }

    /// Request `id` arrived on `frontend`, by its listener `listener`
    /// (the index of its `bind`).
    pub fn request(&mut self, id: StreamId, frontend: usize, listener: usize) {
        self.open.insert(id, (frontend, listener));
        self.frontends.row(frontend).open();
        self.listeners.row((frontend, listener)).open();
    }

    /// The row an HTTP/2 connection of `owner` counts in.
    fn h2_row(&mut self, owner: H2Owner) -> &mut Tally {
        match owner {
            H2Owner::Frontend(fe) => self.frontends.row(fe),
            H2Owner::Backend(be) => self.backends.row(be),
        }
    }

    /// An HTTP/2 connection of `owner` opened.
    pub fn h2_opened(&mut self, owner: H2Owner) {
        let row = self.h2_row(owner);
        row.h2_open += 1;
        row.h2_total += 1;
    }

    /// An HTTP/2 connection of `owner` ended, having counted `seen`.
    pub fn h2_closed(&mut self, owner: H2Owner, seen: &crate::http2::Counters) {
        let row = self.h2_row(owner);
        row.h2_open = row.h2_open.saturating_sub(1);
        row.h2.add(seen);
    }

    /// Counts what a flow output means; call for every output, in order.
    pub fn observe(&mut self, out: &Output) {
        let Output::Finish { id, outcome, .. } = out else {
            return;
        };
        if let Some((f, l)) = self.open.remove(id) {
            let li = self.listeners.row((f, l));
            li.current = li.current.saturating_sub(1);
            let fe = self.frontends.row(f);
            fe.current = fe.current.saturating_sub(1);
            fe.answered(outcome.status);
            fe.cache_lookups += u64::from(outcome.cache[0][0]);
            fe.cache_hits += u64::from(outcome.cache[0][1]);
            let server = outcome.backend.and(outcome.tried.last().copied());
            self.awaiting_bytes
                .insert(*id, ((f, l), outcome.backend, server));
        }
        let Some(b) = outcome.backend else {
            return;
        };
        let failed_connect = outcome.termination == "SC" && !outcome.tried.is_empty();
        let be = self.backends.row(b);
        be.total += 1;
        be.max = be.max.max(1);
        be.answered(outcome.status);
        be.cache_lookups += u64::from(outcome.cache[1][0]);
        be.cache_hits += u64::from(outcome.cache[1][1]);
        be.picked += outcome.tried.len() as u64;
        be.retries += u64::from(outcome.retries);
        be.redispatches += u64::from(outcome.redispatched);
        be.connect_errors += u64::from(failed_connect);
        for s in &outcome.tried {
            self.servers.row((b, *s)).picked += 1;
        }
        if let Some(last) = outcome.tried.last() {
            let srv = self.servers.row((b, *last));
            srv.total += 1;
            srv.max = srv.max.max(1);
            srv.answered(outcome.status);
            srv.connect_errors += u64::from(failed_connect);
        }
    }

    /// Request `id` finished, having moved what `done` says.
    pub fn transferred(&mut self, id: StreamId, done: Transfer) {
        let Some(((f, l), b, s)) = self.awaiting_bytes.remove(&id) else {
            return;
        };
        let [bytes_in, bytes_out] = done.bytes;
        let [up, down] = done.spliced;
        let add = |t: &mut Tally, [spliced_in, spliced_out]: [u64; 2]| {
            t.bytes_in += bytes_in;
            t.bytes_out += bytes_out;
            t.spliced_in += spliced_in;
            t.spliced_out += spliced_out;
            if let Some([taken, encoded]) = done.compressed {
                t.comp_in += taken;
                t.comp_out += encoded;
                t.comp_rsp += 1;
            }
        };
        add(self.frontends.row(f), [up, down]);
        add(self.listeners.row((f, l)), [up, down]);
        if let Some(b) = b {
            add(self.backends.row(b), [down, up]);
            if let Some(s) = s {
                add(self.servers.row((b, s)), [down, up]);
            }
        }
    }

    /// A frontend's counters.
    pub fn frontend(&self, index: usize) -> Tally {
        self.frontends.get(index)
    }

    /// A listener's counters: frontend `frontend`'s `bind` number
    /// `listener`.
    pub fn listener(&self, frontend: usize, listener: usize) -> Tally {
        self.listeners.get((frontend, listener))
    }

    /// A backend's counters.
    pub fn backend(&self, index: usize) -> Tally {
        self.backends.get(index)
    }

    /// A server's counters.
    pub fn server(&self, backend: usize, server: usize) -> Tally {
        self.servers.get((backend, server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Outcome;

    // Input: two requests on frontend 0, one by each of its listeners,
    // the second finishing with 100 bytes each way.
    // Output: each listener counts its own request; only the second's
    // counts the bytes; both are closed once finished.
    #[test]
    fn listeners_count_their_own_requests() {
        let mut c = Counters::default();
        c.request(1, 0, 0);
        c.request(2, 0, 1);
        for id in [1, 2] {
            let outcome = Outcome::without_server(200, "--", None);
            c.observe(&Output::Finish {
                id,
                outcome,
                generated: true,
                rewrite: None,
            });
        }
        let moved = Transfer {
            bytes: [100, 100],
            ..Transfer::default()
        };
        c.transferred(2, moved);
        let (first, second) = (c.listener(0, 0), c.listener(0, 1));
        assert_eq!((first.total, first.current, first.bytes_in), (1, 0, 0));
        assert_eq!(
            (second.total, second.current, second.bytes_out),
            (1, 0, 100)
        );
        assert_eq!(c.frontend(0).total, 2);
    }
}
