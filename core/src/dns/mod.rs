//! Server names re-resolved at run time through `resolvers` sections, as
//! haproxy 2.6 does it: each server that names a section is asked for
//! again every `hold valid`, in its preferred family first and the other
//! when that has nothing; a query unanswered after `timeout retry` is
//! sent again, up to `resolve_retries` times. A new address replaces the
//! old one unless the old one is still in the answer; a failure keeps the
//! last good address for the `hold` of its kind, then puts the server in
//! maintenance until a good answer comes back.
//!
//! Sans-IO: the runtime sends the [`Query`]s [`Resolution::poll`] returns
//! and hands every datagram it receives to [`Resolution::receive`]; what
//! changes for the servers comes back as [`Change`]s.

pub mod wire;

use crate::config::haproxy::{Family, HaproxyConfig, Resolvers, ServerAddr};
use crate::time::Instant;
use std::net::{IpAddr, SocketAddr};
use wire::Status;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The nameserver.
    pub to: SocketAddr,
    /// The DNS message.
    pub bytes: Vec<u8>,
}

/// What a resolution changed for a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Its address is now `to` (it had `from`), as nameserver `by`
    /// (`section/name`) said.
    Address {
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
        /// The address before (`None`: it had none).
        from: Option<IpAddr>,
        /// The new address.
        to: IpAddr,
        /// `resolvers-section/nameserver`.
        by: String,
    },
    /// A good answer ends its maintenance.
    Resolves {
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
        /// The name resolved.
        host: String,
    },
    /// No good answer for longer than the hold of `status`: into
    /// maintenance.
    Lost {
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
        /// haproxy's words for why (`DNS NX status`).
        status: &'static str,
    },
}

/// One server resolved at run time.
#[derive(Debug, Clone)]
struct Tracked {
    backend: usize,
    server: usize,
    host: String,
    /// Index of its `resolvers` section.
    section: usize,
    prefer: Family,
    addr: Option<IpAddr>,
    /// In maintenance for want of an address.
    lost: bool,
    /// When an answer last gave it an address (or the start gave one).
    last_valid: Option<Instant>,
    /// When the next resolution starts.
    next_at: Instant,
    pending: Option<Pending>,
}

/// A query in flight.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u16,
    family: Family,
    /// The preferred family had nothing: this asks for the other.
    second: bool,
    /// Times it was sent.
    sent: u32,
    /// When it is sent again (or given up).
    deadline: Instant,
}

/// Every run-time resolution of a configuration.
#[derive(Debug, Clone)]
pub struct Resolution {
    sections: Vec<Section>,
    tracked: Vec<Tracked>,
    /// State of the query id sequence (xorshift: ids are hard to guess,
    /// and the same seed gives the same ids).
    ids: u32,
}

/// A `resolvers` section with its nameservers.
#[derive(Debug, Clone)]
struct Section {
    config: Resolvers,
    nameservers: Vec<(String, SocketAddr)>,
}

impl Resolution {
    /// Resolutions for every server of `cfg` that names a `resolvers`
    /// section; `system` are the system's nameservers (for
    /// `parse-resolv-conf`); `initial` gives each server's address at
    /// start; `seed` starts the query ids. The first queries are due at
    /// `now`.
    pub fn new(
        cfg: &HaproxyConfig,
        system: &[SocketAddr],
        initial: &dyn Fn(usize, usize) -> Option<IpAddr>,
        now: Instant,
        seed: u32,
    ) -> Self {
        let sections: Vec<Section> = cfg
            .resolvers
            .iter()
            .map(|r| {
                let mut nameservers = r.nameservers.clone();
                if r.parse_resolv_conf {
                    nameservers.extend(
                        system
                            .iter()
                            .enumerate()
                            .map(|(i, a)| (format!("resolv.conf{}", i + 1), *a)),
                    );
                }
                Section {
                    config: r.clone(),
                    nameservers,
                }
            })
            .collect();
        let mut tracked = Vec::new();
        for (b, p) in cfg.proxies.iter().enumerate() {
            for (i, s) in p.servers.iter().enumerate() {
                let (Some(name), ServerAddr::Host(host)) = (&s.resolvers, &s.addr) else {
                    continue;
                };
                let Some(section) = sections.iter().position(|r| &r.config.name == name) else {
                    continue;
                };
                let addr = initial(b, i);
                tracked.push(Tracked {
                    backend: b,
                    server: i,
                    host: host.clone(),
                    section,
                    prefer: s.resolve_prefer,
                    addr,
                    lost: addr.is_none(),
                    last_valid: addr.map(|_| now),
                    next_at: now,
                    pending: None,
                });
            }
        }
        Self {
            sections,
            tracked,
            ids: seed | 1,
        }
    }

    /// Whether any server is resolved at run time.
    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// When [`Resolution::poll`] has something to do next.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.tracked
            .iter()
            .map(|t| t.pending.map_or(t.next_at, |p| p.deadline))
            .min()
    }

    /// The queries due at `now`, and the changes of resolutions that gave
    /// up waiting.
    pub fn poll(&mut self, now: Instant) -> (Vec<Query>, Vec<Change>) {
        let (mut queries, mut changes) = (Vec::new(), Vec::new());
        for i in 0..self.tracked.len() {
            let t = &self.tracked[i];
            let section = &self.sections[t.section];
            match t.pending {
                Some(p) if now >= p.deadline => {
                    if p.sent < section.config.retries.max(1) {
                        let retry = section.config.timeout_retry;
                        let t = &mut self.tracked[i];
                        if let Some(p) = t.pending.as_mut() {
                            p.sent += 1;
                            p.deadline = now + retry;
                        }
                        queries.extend(self.send(i, p.id, p.family));
                    } else {
                        changes.extend(self.fail(i, now, Status::Timeout));
                    }
                }
                None if now >= t.next_at => {
                    let family = t.prefer;
                    queries.extend(self.start(i, now, family, false));
                }
                _ => {}
            }
        }
        (queries, changes)
    }

    /// An answer from `from` arrived at `now`: the changes it makes, and
    /// the queries it calls for (the other family when the preferred one
    /// had nothing).
    pub fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &[u8],
    ) -> (Vec<Query>, Vec<Change>) {
        let found = self.tracked.iter().position(|t| {
            t.pending.is_some_and(|p| {
                // Only the nameservers it asked may answer it.
                let asked = &self.sections[t.section].nameservers;
                asked.iter().any(|(_, a)| *a == from)
                    && wire::reply(bytes, p.family).is_some_and(|r| r.id == p.id)
            })
        });
        let Some(i) = found else {
            return (Vec::new(), Vec::new());
        };
        let Some(p) = self.tracked[i].pending else {
            return (Vec::new(), Vec::new());
        };
        let Some(reply) = wire::reply(bytes, p.family) else {
            return (Vec::new(), Vec::new());
        };
        match reply.status {
            Status::Valid(addrs) if !addrs.is_empty() => {
                let section = &self.sections[self.tracked[i].section];
                let name = section
                    .nameservers
                    .iter()
                    .find(|(_, a)| *a == from)
                    .map_or("", |(n, _)| n.as_str());
                let by = format!("{}/{name}", section.config.name);
                (Vec::new(), self.succeed(i, now, &addrs, by))
            }
            Status::Valid(_) | Status::Nx if !p.second => {
                let other = match p.family {
                    Family::Ipv4 => Family::Ipv6,
                    Family::Ipv6 => Family::Ipv4,
                };
                (self.start(i, now, other, true), Vec::new())
            }
            Status::Valid(_) => (Vec::new(), self.fail(i, now, Status::Other)),
            status => (Vec::new(), self.fail(i, now, status)),
        }
    }

    /// Starts a resolution of server `i` in `family`.
    fn start(&mut self, i: usize, now: Instant, family: Family, second: bool) -> Vec<Query> {
        let id = self.next_id();
        let retry = self.sections[self.tracked[i].section].config.timeout_retry;
        self.tracked[i].pending = Some(Pending {
            id,
            family,
            second,
            sent: 1,
            deadline: now + retry,
        });
        self.send(i, id, family)
    }

    /// Query `id` for server `i`, to each nameserver of its section.
    fn send(&self, i: usize, id: u16, family: Family) -> Vec<Query> {
        let t = &self.tracked[i];
        let Some(bytes) = wire::query(id, &t.host, family) else {
            return Vec::new();
        };
        self.sections[t.section]
            .nameservers
            .iter()
            .map(|(_, to)| Query {
                to: *to,
                bytes: bytes.clone(),
            })
            .collect()
    }

    fn next_id(&mut self) -> u16 {
        let mut x = self.ids;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.ids = x;
        (x >> 8) as u16
    }

    /// Server `i` got `addrs`: it keeps its address when listed, else
    /// takes the first that no other server of its backend resolving the
    /// same name holds (haproxy's `prevent-dup-ip`: the servers of a
    /// `server-template` spread over the answer); out of maintenance if it
    /// was in. With no address free, nothing changes.
    fn succeed(&mut self, i: usize, now: Instant, addrs: &[IpAddr], by: String) -> Vec<Change> {
        let hold = self.sections[self.tracked[i].section].config.hold_valid;
        let (backend, host) = (self.tracked[i].backend, self.tracked[i].host.clone());
        let taken: Vec<IpAddr> = self
            .tracked
            .iter()
            .enumerate()
            .filter(|(k, t)| *k != i && t.backend == backend && t.host == host)
            .filter_map(|(_, t)| t.addr)
            .collect();
        let t = &mut self.tracked[i];
        t.pending = None;
        t.next_at = now + hold;
        let mut changes = Vec::new();
        if !t.addr.is_some_and(|a| addrs.contains(&a)) {
            let Some(free) = addrs.iter().find(|a| !taken.contains(a)).copied() else {
                return changes;
            };
            changes.push(Change::Address {
                backend: t.backend,
                server: t.server,
                from: t.addr,
                to: free,
                by,
            });
            t.addr = Some(free);
        }
        t.last_valid = Some(now);
        if t.lost {
            t.lost = false;
            changes.push(Change::Resolves {
                backend: t.backend,
                server: t.server,
                host: t.host.clone(),
            });
        }
        changes
    }

    /// Server `i`'s resolution failed with `status`: into maintenance
    /// once its last good answer is older than that status's hold.
    fn fail(&mut self, i: usize, now: Instant, status: Status) -> Vec<Change> {
        let r = &self.sections[self.tracked[i].section].config;
        let (hold, words) = match status {
            Status::Nx => (r.hold_nx, "DNS NX status"),
            Status::Refused => (r.hold_refused, "DNS refused status"),
            Status::Timeout => (r.hold_timeout, "DNS timeout status"),
            Status::Other | Status::Valid(_) => (r.hold_other, "unspecified DNS error"),
        };
        let next = now + r.hold_valid;
        let t = &mut self.tracked[i];
        t.pending = None;
        t.next_at = next;
        let expired = t
            .last_valid
            .is_none_or(|v| now.saturating_duration_since(v) >= hold);
        if t.lost || !expired {
            return Vec::new();
        }
        t.lost = true;
        vec![Change::Lost {
            backend: t.backend,
            server: t.server,
            status: words,
        }]
    }
}

#[cfg(test)]
mod tests;
