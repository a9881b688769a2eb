//! Load balancing as HAProxy does it (spec/haproxy.md §3): [`Balancer`]
//! picks a server of one backend with its configured algorithm, honouring
//! backup servers, `maxconn` and the server to avoid on a redispatch.

pub mod fwrr;
pub mod hash;
pub mod leastconn;
pub mod map;

use crate::config::haproxy::{Balance, Proxy, Server};
use fwrr::Fwrr;
use hash::{avalanche, source_key, uri_key, Ring};
use leastconn::Fwlc;
use map::WeightMap;
use std::net::IpAddr;

/// What a hash algorithm hashes, from the request.
#[derive(Debug, Clone, Copy)]
pub struct PickKey<'a> {
    /// The client's address (`balance source`).
    pub client: IpAddr,
    /// The request URI (`balance uri`).
    pub uri: &'a str,
}

/// A server as the balancer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    uweight: u32,
    backup: bool,
    usable: bool,
    /// `maxconn`, raised to `minconn` when that is larger (haproxy's rule).
    maxconn: Option<u32>,
    /// `minconn`: the limit at an idle backend (equal to `maxconn` when
    /// not set: a fixed limit).
    minconn: Option<u32>,
    /// Connections being served (or queued on it).
    inflight: u32,
}

impl Member {
    /// Server `s` as the balancer sees it, `usable` or not.
    fn of(s: &Server, usable: bool) -> Self {
        Self {
            uweight: s.weight,
            backup: s.backup,
            usable,
            maxconn: s.maxconn.max(s.minconn).filter(|m| *m > 0),
            minconn: s.minconn.filter(|m| *m > 0),
            inflight: 0,
        }
    }
}

#[derive(Debug, Clone)]
enum Algo {
    Roundrobin(Fwrr),
    StaticRr(WeightMap),
    Leastconn(Fwlc),
    First,
    Random {
        draws: u32,
        ring: Ring,
        /// xorshift state: the same config draws the same sequence.
        state: u32,
    },
    Hash {
        kind: HashKind,
        consistent: bool,
        avalanche: bool,
        map: WeightMap,
        ring: Ring,
    },
}

#[derive(Debug, Clone)]
enum HashKind {
    Source,
    Uri {
        whole: bool,
        len: Option<u32>,
        depth: Option<u32>,
        path_only: bool,
    },
    /// Algorithms haven does not hash yet (url_param, hdr, rdp-cookie): round robin over the map.
    Other,
}

/// The load balancer of one backend.
#[derive(Debug, Clone)]
pub struct Balancer {
    algo: Algo,
    members: Vec<Member>,
    allbackups: bool,
    /// `fullconn`: the backend load at which every server's limit is its
    /// `maxconn`.
    fullconn: u32,
}

impl Balancer {
    /// A balancer for `proxy`'s servers; servers start usable unless
    /// `disabled` (a checked server starts UP, as in haproxy).
    pub fn new(proxy: &Proxy) -> Self {
        let members: Vec<Member> = proxy
            .servers
            .iter()
            .map(|s| Member::of(s, !s.disabled))
            .collect();
        let allbackups = proxy.options.allbackups;
        let algo = match &proxy.balance {
            Balance::Roundrobin => {
                let servers: Vec<(u32, bool, bool)> = members
                    .iter()
                    .map(|m| (m.uweight, m.backup, m.usable))
                    .collect();
                Algo::Roundrobin(Fwrr::new(&servers, allbackups))
            }
            Balance::StaticRr => Algo::StaticRr(WeightMap::default()),
            Balance::Leastconn => Algo::Leastconn(Fwlc::default()),
            Balance::First => Algo::First,
            Balance::Random { draws } => Algo::Random {
                draws: *draws,
                ring: Ring::default(),
                state: seed_of(&proxy.name),
            },
            other => {
                let kind = match other {
                    Balance::Source => HashKind::Source,
                    Balance::Uri {
                        whole,
                        len,
                        depth,
                        path_only,
                    } => HashKind::Uri {
                        whole: *whole,
                        len: *len,
                        depth: *depth,
                        path_only: *path_only,
                    },
                    _ => HashKind::Other,
                };
                let ht = proxy.hash_type;
                Algo::Hash {
                    kind,
                    consistent: ht.consistent,
                    avalanche: ht.avalanche,
                    map: WeightMap::default(),
                    ring: Ring::default(),
                }
            }
        };
        let mut b = Self {
            algo,
            members,
            allbackups,
            fullconn: proxy.fullconn.unwrap_or(1).max(1),
        };
        b.rebuild();
        b
    }

    /// The servers of the group in use: active ones while any is usable,
    /// else the first usable backup (all of them with `allbackups`).
    fn group(&self) -> Vec<usize> {
        let usable = |backup: bool| -> Vec<usize> {
            (0..self.members.len())
                .filter(|i| {
                    self.members[*i].backup == backup
                        && self.members[*i].usable
                        && self.members[*i].uweight > 0
                })
                .collect()
        };
        let active = usable(false);
        if !active.is_empty() {
            return active;
        }
        let mut backups = usable(true);
        if !self.allbackups {
            backups.truncate(1);
        }
        backups
    }

    /// Recomputes the tables of table-based algorithms after a change.
    fn rebuild(&mut self) {
        let group = self.group();
        let weighted: Vec<(usize, u32)> = group
            .iter()
            .map(|i| (*i, self.members[*i].uweight))
            .collect();
        match &mut self.algo {
            Algo::StaticRr(map) => map.rebuild(&weighted),
            Algo::Hash { map, ring, .. } => {
                map.rebuild(&weighted);
                *ring = ring_of(&weighted);
            }
            Algo::Random { ring, .. } => *ring = ring_of(&weighted),
            Algo::Leastconn(lc) => {
                for i in 0..self.members.len() {
                    if !group.contains(&i) {
                        lc.remove(i);
                    }
                }
                for &i in &group {
                    let m = &self.members[i];
                    if !lc.contains(i) {
                        lc.reposition(i, m.inflight, m.uweight);
                    }
                }
            }
            Algo::Roundrobin(_) | Algo::First => {}
        }
    }

    /// Whether servers may be added at run time: haproxy's dynamic
    /// algorithms (`roundrobin`, `leastconn`, `random`, consistent hashing).
    pub fn is_dynamic(&self) -> bool {
        match &self.algo {
            Algo::Roundrobin(_) | Algo::Leastconn(_) | Algo::Random { .. } => true,
            Algo::Hash { consistent, .. } => *consistent,
            Algo::StaticRr(_) | Algo::First => false,
        }
    }

    /// Adds a server at run time, not usable until it leaves maintenance;
    /// its index is the next one.
    pub fn add(&mut self, server: &Server) {
        self.members.push(Member::of(server, false));
        if let Algo::Roundrobin(f) = &mut self.algo {
            f.add(server.weight, server.backup);
        }
    }

    /// True when some server can take traffic (perhaps once a slot frees).
    pub fn has_usable(&self) -> bool {
        !self.group().is_empty()
    }

    /// True when some usable server has a free connection slot.
    pub fn has_free_slot(&self) -> bool {
        let load = self.load();
        let full = |i: usize| member_full(&self.members[i], load, self.fullconn);
        self.group().iter().any(|i| !full(*i))
    }

    /// True when server `i` may take traffic: up, out of maintenance and
    /// weighted (haproxy's "currently usable").
    pub fn is_usable(&self, i: usize) -> bool {
        self.members
            .get(i)
            .is_some_and(|m| m.usable && m.uweight > 0)
    }

    /// Server `i`'s `maxconn` as the balancer applies it.
    pub fn maxconn(&self, i: usize) -> Option<u32> {
        self.members.get(i).and_then(|m| m.maxconn)
    }

    /// Sets server `i`'s `maxconn` (an agent's `maxconn:N`; 0: none).
    pub fn set_maxconn(&mut self, i: usize, maxconn: u32) {
        if let Some(m) = self.members.get_mut(i) {
            m.maxconn = (maxconn > 0).then_some(maxconn);
        }
    }

    /// True when server `i` has no free connection slot.
    pub fn is_full(&self, i: usize) -> bool {
        member_full(&self.members[i], self.load(), self.fullconn)
    }

    /// Picks a server for a request, avoiding `avoid` when another is
    /// available (a redispatch). `None`: no usable server.
    pub fn pick(&mut self, key: PickKey<'_>, avoid: Option<usize>) -> Option<usize> {
        let load = self.load();
        let fullconn = self.fullconn;
        let Self { algo, members, .. } = self;
        let full = |i: usize| member_full(&members[i], load, fullconn);
        match algo {
            Algo::Roundrobin(f) => f.pick(avoid, &full),
            Algo::StaticRr(map) => map.next_rr(avoid, &full),
            Algo::Leastconn(lc) => lc.pick(avoid, &full),
            Algo::Random { draws, ring, state } => {
                // haproxy's "power of n choices": of the servers drawn,
                // the one serving the fewest requests for its weight.
                let mut best: Option<usize> = None;
                for _ in 0..*draws {
                    *state ^= *state << 13;
                    *state ^= *state >> 17;
                    *state ^= *state << 5;
                    let Some(drawn) = ring.lookup(*state, avoid) else {
                        break;
                    };
                    let load = |i: usize| u64::from(members[i].inflight);
                    let weight = |i: usize| u64::from(members[i].uweight.max(1));
                    best = match best {
                        Some(b) if load(drawn) * weight(b) > load(b) * weight(drawn) => Some(b),
                        _ => Some(drawn),
                    };
                }
                best.filter(|b| !full(*b))
            }
            Algo::First => {
                let mut avoided = None;
                for i in (0..members.len()).filter(|i| {
                    let m = &members[*i];
                    m.usable && m.uweight > 0 && !m.backup && !full(*i)
                }) {
                    if Some(i) != avoid {
                        return Some(i);
                    }
                    avoided = Some(i);
                }
                avoided
            }
            Algo::Hash {
                kind,
                consistent,
                avalanche: aval,
                map,
                ring,
            } => {
                let h = match kind {
                    HashKind::Source => source_key(key.client),
                    HashKind::Uri {
                        whole,
                        len,
                        depth,
                        path_only,
                    } => {
                        let uri = if *path_only {
                            crate::route::path_and_query(key.uri)
                        } else {
                            key.uri
                        };
                        uri_key(uri, *whole, *len, *depth)
                    }
                    HashKind::Other => return map.next_rr(avoid, &full),
                };
                let h = if *aval { avalanche(h) } else { h };
                if *consistent {
                    ring.lookup(h, avoid)
                } else {
                    map.by_hash(h)
                }
            }
        }
    }

    /// Server `i` became usable or not (health check, maintenance).
    pub fn set_usable(&mut self, i: usize, usable: bool) {
        if self.members[i].usable == usable {
            return;
        }
        self.members[i].usable = usable;
        if let Algo::Roundrobin(f) = &mut self.algo {
            f.set_usable(i, usable);
        }
        self.rebuild();
    }

    /// Server `i`'s weight as the balancer uses it.
    pub fn weight(&self, i: usize) -> u32 {
        self.members[i].uweight
    }

    /// Server `i`'s user weight changed (`set weight`).
    pub fn set_weight(&mut self, i: usize, uweight: u32) {
        self.members[i].uweight = uweight;
        match &mut self.algo {
            Algo::Roundrobin(f) => {
                f.set_weight(i, uweight);
                // A weight back from 0 makes a healthy server usable again.
                f.set_usable(i, self.members[i].usable);
            }
            Algo::Leastconn(lc) => {
                let m = &self.members[i];
                if m.usable && uweight > 0 {
                    lc.reposition(i, m.inflight, uweight);
                }
            }
            _ => {}
        }
        self.rebuild();
    }

    /// A connection to server `i` starts (or a request queues on it).
    pub fn take(&mut self, i: usize) {
        // Not a member: the `dispatch` address of a backend without servers.
        let Some(m) = self.members.get_mut(i) else {
            return;
        };
        m.inflight += 1;
        self.reposition(i);
    }

    /// A connection to server `i` ends.
    pub fn release(&mut self, i: usize) {
        let Some(m) = self.members.get_mut(i) else {
            return;
        };
        m.inflight = m.inflight.saturating_sub(1);
        self.reposition(i);
    }

    fn reposition(&mut self, i: usize) {
        let m = &self.members[i];
        if let Algo::Leastconn(lc) = &mut self.algo {
            if lc.contains(i) {
                lc.reposition(i, m.inflight, m.uweight);
            }
        }
    }

    /// The backend's load as haproxy counts it when placing a request:
    /// the connections in flight on its servers and the request itself
    /// (haproxy also counts requests waiting in the backend queue).
    fn load(&self) -> u32 {
        self.members.iter().map(|m| m.inflight).sum::<u32>() + 1
    }

    /// Connections in flight on server `i`.
    pub fn inflight(&self, i: usize) -> u32 {
        self.members[i].inflight
    }
}

/// A server at its limit takes no more: `maxconn`, or with a smaller
/// `minconn`, haproxy's dynamic limit for a backend carrying `load`
/// connections — from `minconn` at rest up to `maxconn` at `fullconn`.
fn member_full(m: &Member, load: u32, fullconn: u32) -> bool {
    let Some(max) = m.maxconn else {
        return false;
    };
    let limit = match m.minconn {
        Some(min) if min < max && load < fullconn => {
            let scaled = u64::from(load) * u64::from(max) / u64::from(fullconn);
            min.max(u32::try_from(scaled).unwrap_or(max))
        }
        _ => max,
    };
    m.inflight >= limit
}

/// The consistent-hash ring of `weighted` (index, user weight) servers,
/// ids from 1 in config order as haproxy numbers them.
fn ring_of(weighted: &[(usize, u32)]) -> Ring {
    let ids: Vec<(usize, u32, u32)> = weighted
        .iter()
        .map(|(i, w)| (*i, *i as u32 + 1, *w))
        .collect();
    Ring::new(&ids)
}

/// A non-zero seed from a backend's name (FNV-1a).
fn seed_of(name: &str) -> u32 {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h | 1
}
