//! haproxy's HTTP cache (`cache` sections, `http-request cache-use`,
//! `http-response cache-store`), decided here and nowhere else.
//!
//! A rule reads the request ([`CacheRequest`]) or the response
//! ([`read_response`]); the store ([`Caches`]) keeps the objects, each
//! under its absolute URI and, for responses that vary, a secondary key.
//! An object is reserved when its response head passes, filled when the
//! driver has its whole body ([`Caches::fill`]), and until then answers
//! nobody. Objects leave when they expire, when a newer response
//! replaces them, when an unsafe method succeeds on their URI, or, least
//! recently used first, to make room.

mod headers;
mod request;
mod response;
mod vary;

pub use request::{CacheRequest, Conditions};
pub use response::{read_response, CacheLimits, NotStored, Storable};
pub use vary::SecondaryKey;

use crate::config::haproxy::CacheSection;
use crate::time::{Duration, Instant};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How long a reserved object waits for its body before it is dropped.
const FILL_WAIT: Duration = Duration::from_secs(2);

/// One kept response.
#[derive(Debug, Clone)]
pub struct CachedObject {
    /// Its headers as kept.
    pub headers: Vec<(String, String)>,
    /// Its body, without framing.
    pub body: Arc<[u8]>,
    /// Its `Age` when it came.
    pub age: u32,
    /// When it was kept.
    pub stored_at: Instant,
    /// What a conditional request is compared with.
    pub etag: Option<String>,
    /// See [`Storable::last_modified`].
    pub last_modified: i64,
}

impl CachedObject {
    /// Its `Age` at `now`, in seconds.
    pub fn age_at(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.stored_at).as_secs() + u64::from(self.age)
    }
}

/// A cache's answer to a request: the object, and whether it goes as a
/// `304 Not Modified`.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The cache's name.
    pub cache: String,
    /// The object.
    pub object: Arc<CachedObject>,
    /// The request's conditions hold: the answer is a 304.
    pub not_modified: bool,
}

/// What a transaction's cache rules found and asked.
#[derive(Debug, Clone, Default)]
pub struct TxnCache {
    /// The request as the last `cache-use` read it.
    pub request: Option<CacheRequest>,
    /// A `cache-use` ran since the cache was last looked in.
    pub lookup: bool,
    /// The object that answers the request.
    pub hit: Option<Hit>,
    /// The first `cache-store` that ran.
    pub store: Option<StoreAsk>,
    /// Lookups and hits on the frontend (`[0]`) and the backend (`[1]`).
    pub counts: [[u8; 2]; 2],
}

/// A response a cache gave, as rules and compression left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedReply {
    /// Its status (200, or 304 for a conditional request).
    pub status: u16,
    /// The reason a `set-status` gave it.
    pub reason: Option<String>,
    /// Its headers, in order.
    pub headers: Vec<(String, String)>,
    /// Its body, unframed (`None` for a 304).
    pub body: Option<Arc<[u8]>>,
}

/// A `cache-store` rule ran on a response: the cache, and the response
/// as it was then.
#[derive(Debug, Clone)]
pub struct StoreAsk {
    /// The cache the rule names.
    pub cache: String,
    /// The status then.
    pub status: u16,
    /// The headers then (names lower case).
    pub headers: Vec<(String, String)>,
}

/// A reserved object waiting for its body: what the driver hands back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// The cache.
    pub cache: usize,
    /// The object's number.
    pub entry: u64,
    /// The most body it may have (the object size less its head).
    pub limit: u64,
}

#[derive(Debug)]
struct Entry {
    key: String,
    /// The headers its response varies on.
    signature: u8,
    secondary: Option<SecondaryKey>,
    expire: Instant,
    /// `None` while it waits for its body.
    object: Option<Arc<CachedObject>>,
    /// Until then, what it will hold.
    pending: Option<Box<Storable>>,
    size: u64,
    /// Its place in the use order.
    used: u64,
}

/// One `cache` section's objects.
#[derive(Debug)]
struct Cache {
    conf: CacheSection,
    entries: FxHashMap<u64, Entry>,
    /// Objects by primary key, oldest variant first.
    by_key: FxHashMap<String, Vec<u64>>,
    /// Filled objects by last use, least recent first.
    lru: BTreeMap<u64, u64>,
    bytes: u64,
}

/// Every cache of a process.
#[derive(Debug, Default)]
pub struct Caches {
    caches: Vec<Cache>,
    next: u64,
}

impl Caches {
    /// The caches of a config's `cache` sections.
    pub fn new(sections: &[CacheSection]) -> Self {
        Self {
            caches: sections
                .iter()
                .map(|conf| Cache {
                    conf: conf.clone(),
                    entries: FxHashMap::default(),
                    by_key: FxHashMap::default(),
                    lru: BTreeMap::new(),
                    bytes: 0,
                })
                .collect(),
            next: 0,
        }
    }

    /// The index of cache `name`.
    fn index(&self, name: &str) -> Option<usize> {
        self.caches.iter().position(|c| c.conf.name == name)
    }

    /// The settings response reads use for cache `name`.
    pub fn limits(&self, name: &str, max_head: usize) -> Option<CacheLimits> {
        let conf = &self.caches[self.index(name)?].conf;
        Some(CacheLimits {
            max_age: conf.max_age,
            max_object: conf.max_object,
            process_vary: conf.process_vary,
            max_head,
        })
    }

    /// The fresh object that answers `req` at `now`, if any.
    pub fn lookup(&mut self, req: &CacheRequest, now: Instant) -> Option<Hit> {
        let key = req.key.as_deref().filter(|_| !req.ignore)?;
        let seq = self.tick();
        let index = self.index(&req.cache)?;
        let cache = &mut self.caches[index];
        cache.expire(key, now);
        let first = *cache.by_key.get(key)?.first()?;
        let entry = &cache.entries[&first];
        entry.object.as_ref()?;
        let id = match entry.signature {
            0 => first,
            sig => {
                let wanted = req.secondary?.reduced(sig);
                *cache.by_key[key].iter().find(|id| {
                    let e = &cache.entries[*id];
                    e.object.is_some() && e.secondary.is_some_and(|k| k.serves(&wanted))
                })?
            }
        };
        let entry = cache.entries.get_mut(&id)?;
        let object = Arc::clone(entry.object.as_ref()?);
        cache.lru.remove(&entry.used);
        entry.used = seq;
        cache.lru.insert(seq, id);
        Some(Hit {
            cache: cache.conf.name.clone(),
            not_modified: req
                .conditions
                .not_modified(object.etag.as_deref(), object.last_modified),
            object,
        })
    }

    /// A successful unsafe request (`POST`, `PUT`...) on `req`'s URI: its
    /// first object in cache `name` goes, as RFC 9111 §4.4 asks.
    pub fn invalidate(&mut self, name: &str, req: &CacheRequest) {
        let Some(key) = req.key.as_deref() else {
            return;
        };
        let Some(i) = self.index(name) else { return };
        let cache = &mut self.caches[i];
        if let Some(&first) = cache.by_key.get(key).and_then(|ids| ids.first()) {
            cache.remove(first);
        }
    }

    /// Reserves an object in cache `name` for `storable`, the response
    /// to `req`, at `now`: the ticket its body comes back with, or `None`
    /// when the same object is already on its way or too many variants
    /// are kept.
    pub fn reserve(
        &mut self,
        name: &str,
        req: &CacheRequest,
        storable: Storable,
        now: Instant,
    ) -> Option<Ticket> {
        let key = req.key.clone()?;
        let entry = self.tick();
        let index = self.index(name)?;
        let cache = &mut self.caches[index];
        cache.expire(&key, now);
        let (signature, secondary) = storable.vary;
        let same = cache.by_key.get(&key).and_then(|ids| {
            ids.iter()
                .copied()
                .find(|id| secondary.is_none() || cache.entries[id].secondary == secondary)
        });
        if let Some(old) = same {
            // An object on its way is not raced.
            cache.entries[&old].object.as_ref()?;
            cache.remove(old);
        }
        let variants = cache.by_key.get(&key).map_or(0, Vec::len);
        if secondary.is_some() && variants >= cache.conf.max_secondary as usize {
            return None;
        }
        let head: u64 = storable
            .headers
            .iter()
            .map(|(n, v)| (n.len() + v.len() + 8) as u64)
            .sum();
        let limit = cache.conf.max_object.checked_sub(head)?;
        cache.by_key.entry(key.clone()).or_default().push(entry);
        cache.entries.insert(
            entry,
            Entry {
                key,
                signature,
                secondary,
                expire: now + FILL_WAIT,
                object: None,
                pending: Some(Box::new(storable)),
                size: head,
                used: entry,
            },
        );
        Some(Ticket {
            cache: index,
            entry,
            limit,
        })
    }

    /// The body of `ticket`'s object came whole at `now`: it is kept,
    /// making room by dropping the least recently used objects.
    pub fn fill(&mut self, ticket: Ticket, body: Arc<[u8]>, now: Instant) {
        let seq = self.tick();
        let Some(cache) = self.caches.get_mut(ticket.cache) else {
            return;
        };
        let Some(entry) = cache.entries.get_mut(&ticket.entry) else {
            return;
        };
        let Some(s) = entry
            .pending
            .take()
            .filter(|_| body.len() as u64 <= ticket.limit)
        else {
            cache.remove(ticket.entry);
            return;
        };
        let size = entry.size + body.len() as u64;
        entry.size = size;
        entry.expire = now + Duration::from_secs(u64::from(s.max_age));
        entry.used = seq;
        entry.object = Some(Arc::new(CachedObject {
            headers: s.headers,
            body,
            age: s.age,
            stored_at: now,
            etag: s.etag,
            last_modified: s.last_modified,
        }));
        while cache.bytes + size > cache.conf.total {
            let Some((_, oldest)) = cache.lru.pop_first() else {
                break;
            };
            cache.remove(oldest);
        }
        cache.bytes += size;
        cache.lru.insert(seq, ticket.entry);
    }

    /// The body of `ticket`'s object will not come (too large, cut
    /// short): the reservation goes.
    pub fn abandon(&mut self, ticket: Ticket) {
        if let Some(cache) = self.caches.get_mut(ticket.cache) {
            if cache
                .entries
                .get(&ticket.entry)
                .is_some_and(|e| e.object.is_none())
            {
                cache.remove(ticket.entry);
            }
        }
    }

    /// The runtime API's `show cache` at `now`: each cache with its free
    /// room, then each fresh object (expired ones go).
    pub fn show(&mut self, now: Instant) -> String {
        let mut out = String::new();
        for (i, cache) in self.caches.iter_mut().enumerate() {
            let free = cache.conf.total.saturating_sub(cache.bytes) / 1024;
            out.push_str(&format!(
                "{i}: {} (blocks available: {free})\n",
                cache.conf.name
            ));
            let mut ids: Vec<u64> = cache.entries.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let e = &cache.entries[&id];
                if e.expire <= now {
                    cache.remove(id);
                    continue;
                }
                let Some(object) = &e.object else { continue };
                let vary = e.secondary.map_or_else(|| "0".repeat(16), |k| k.hex());
                out.push_str(&format!(
                    "{id} uri:{} vary:0x{vary} size:{} (body {}), expire:{}\n",
                    e.key,
                    e.size,
                    object.body.len(),
                    e.expire.saturating_duration_since(now).as_secs()
                ));
            }
        }
        out
    }

    fn tick(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

impl Cache {
    /// Drops the expired objects of `key`.
    fn expire(&mut self, key: &str, now: Instant) {
        let Some(ids) = self.by_key.get(key) else {
            return;
        };
        let stale: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|id| self.entries[id].expire <= now)
            .collect();
        for id in stale {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: u64) {
        let Some(e) = self.entries.remove(&id) else {
            return;
        };
        if let Some(ids) = self.by_key.get_mut(&e.key) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_key.remove(&e.key);
            }
        }
        if e.object.is_some() {
            self.lru.remove(&e.used);
            self.bytes -= e.size;
        }
    }
}
