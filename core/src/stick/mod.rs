//! Stick tables at run time: per key, the counters a `stick-table`
//! stores, fed by `track-sc*` rules and read by `sc_*` / `src_*` fetches.
//! Rates are haproxy's frequency counters: the current period's count
//! plus the previous one's, weighted by what is left of the period.

use crate::config::haproxy::{
    CounterAction, GptValue, Proxy, StickCounter, StickKeyType, StickTable,
};
use crate::sample::Value;
use crate::time::{Duration, Instant};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

mod cli;

/// A table's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StickKey {
    /// An address (IPv4 ones mapped in IPv6 tables).
    Ip(IpAddr),
    /// An integer.
    Int(i64),
    /// A string, cut to the table's `len`.
    Str(String),
}

impl StickKey {
    /// The key `value` makes in a table of `table`'s type.
    pub fn of(value: &Value<'_>, table: &StickTable) -> Option<Self> {
        Some(match table.key {
            StickKeyType::Ip => match value.to_ip()? {
                IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped()?),
                v4 => v4,
            }
            .into(),
            StickKeyType::Ipv6 => match value.to_ip()? {
                IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
                v6 => v6,
            }
            .into(),
            StickKeyType::Integer => Self::Int(value.to_int()?),
            StickKeyType::String => {
                let text = value.to_text();
                let mut end = text.len().min(table.len);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Self::Str(text[..end].to_owned())
            }
        })
    }
}

impl From<IpAddr> for StickKey {
    fn from(ip: IpAddr) -> Self {
        Self::Ip(ip)
    }
}

/// haproxy's frequency counter over a period (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FreqCtr {
    /// Start of the current period.
    tick: u64,
    curr: u64,
    prev: u64,
}

impl FreqCtr {
    fn add(&mut self, now: u64, period: u64, n: u64) {
        if now.saturating_sub(self.tick) >= period {
            self.prev = self.curr;
            self.curr = 0;
            self.tick += period;
            if now.saturating_sub(self.tick) >= period {
                self.prev = 0;
                self.tick = now;
            }
        }
        self.curr += n;
    }

    fn read(&self, now: u64, period: u64) -> u64 {
        let (mut curr, mut past) = (self.curr, self.prev);
        let mut remain = (self.tick + period) as i128 - now as i128;
        if remain < 0 {
            remain += period as i128;
            past = if remain >= 0 { curr } else { 0 };
            curr = 0;
        }
        let remain = remain.max(0) as u64;
        (curr * period + past * remain) / period.max(1)
    }
}

/// One key's counters.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// A number naming the entry in `show table` (haproxy prints its
    /// address).
    serial: u64,
    touched: Instant,
    counts: BTreeMap<StickCounter, u64>,
    rates: BTreeMap<StickCounter, FreqCtr>,
    /// The server a `stick` rule stored: its id and its name.
    server: Option<(u32, String)>,
}

/// One proxy's table.
#[derive(Debug, Clone)]
struct Table {
    config: StickTable,
    /// `stick` rules use it: its entries keep a server.
    sticky: bool,
    entries: BTreeMap<StickKey, Entry>,
    /// The entries by last touch, stalest first.
    by_age: BTreeSet<(Instant, StickKey)>,
    /// Entries made so far.
    made: u64,
}

impl Table {
    fn new(config: StickTable) -> Self {
        Self {
            config,
            sticky: false,
            entries: BTreeMap::new(),
            by_age: BTreeSet::new(),
            made: 0,
        }
    }

    /// Drops the entries untouched for `expire`.
    fn purge(&mut self, now: Instant) {
        let Some(expire) = self.config.expire else {
            return;
        };
        while let Some((touched, _)) = self.by_age.first() {
            if now.saturating_duration_since(*touched) < expire {
                break;
            }
            if let Some((_, key)) = self.by_age.pop_first() {
                self.entries.remove(&key);
            }
        }
    }

    /// The line `show table` starts with.
    fn header(&self, name: &str) -> String {
        let kind = match self.config.key {
            StickKeyType::Ip => "ip",
            StickKeyType::Ipv6 => "ipv6",
            StickKeyType::Integer => "integer",
            StickKeyType::String => "string",
        };
        format!(
            "# table: {name}, type: {kind}, size:{}, used:{}\n",
            self.config.size,
            self.entries.len()
        )
    }

    /// The value `counter` (stored over `period` for a rate) has in `e`.
    fn value(e: &Entry, counter: StickCounter, period: Duration, now: Instant) -> u64 {
        match counter.is_rate() {
            true => e
                .rates
                .get(&counter)
                .map_or(0, |f| f.read(ms(now), ms_of(period))),
            false => e.counts.get(&counter).copied().unwrap_or(0),
        }
    }

    /// Entry `e` of `key` as `show table` prints it.
    fn line(&self, key: &StickKey, e: &Entry, now: Instant) -> String {
        let key = match key {
            StickKey::Ip(ip) => ip.to_string(),
            StickKey::Int(n) => n.to_string(),
            StickKey::Str(s) => s.clone(),
        };
        let exp = self.config.expire.map_or(0, |x| {
            x.saturating_sub(now.saturating_duration_since(e.touched))
                .as_millis()
        });
        let mut out = format!(
            "0x{:012x}: key={key} use=0 exp={exp}",
            0x5500_0000_0000 + e.serial * 0x80
        );
        if self.sticky {
            let id = e.server.as_ref().map_or(0, |(id, _)| *id);
            out.push_str(&format!(" server_id={id}"));
        }
        let mut stored = self.config.store.clone();
        stored.sort();
        for (counter, period) in stored {
            let label = counter_name(counter);
            let v = Self::value(e, counter, period, now);
            match counter.is_rate() {
                true => out.push_str(&format!(" {label}({})={v}", period.as_millis())),
                false => out.push_str(&format!(" {label}={v}")),
            }
        }
        if let Some((_, name)) = e.server.as_ref().filter(|_| self.sticky) {
            out.push_str(&format!(" server_key={name}"));
        }
        out.push('\n');
        out
    }

    /// Removes the entry of `key`.
    fn remove(&mut self, key: &StickKey) {
        if let Some(e) = self.entries.remove(key) {
            self.by_age.remove(&(e.touched, key.clone()));
        }
    }

    /// The live entry of `key`.
    fn live(&mut self, key: &StickKey, now: Instant) -> Option<&mut Entry> {
        self.purge(now);
        self.entries.get_mut(key)
    }

    /// The entry of `key`, made when missing (the stalest one goes when
    /// the table is full), touched `now`.
    fn entry(&mut self, key: &StickKey, now: Instant) -> &mut Entry {
        self.purge(now);
        match self.entries.get(key) {
            Some(e) => {
                self.by_age.remove(&(e.touched, key.clone()));
            }
            None => {
                if self.entries.len() >= self.config.size {
                    if let Some((_, stalest)) = self.by_age.pop_first() {
                        self.entries.remove(&stalest);
                    }
                }
                self.made += 1;
                let entry = Entry {
                    serial: self.made,
                    ..Entry::default()
                };
                self.entries.insert(key.clone(), entry);
            }
        }
        self.by_age.insert((now, key.clone()));
        let e = self.entries.get_mut(key).expect("just made");
        e.touched = now;
        e
    }
}

/// The counters an event adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickEvent {
    /// A stream starts tracking the entry (`conn_cnt`, `conn_rate`, and
    /// `conn_cur` until [`StickTables::release`]).
    Connection,
    /// An HTTP request (`http_req_cnt`, `http_req_rate`).
    HttpRequest,
    /// An HTTP error, a 4xx answer (`http_err_cnt`, `http_err_rate`).
    HttpError,
    /// `sc-inc-gpc0` / `sc_inc_gpc0`.
    Gpc0,
    /// `sc-inc-gpc1`.
    Gpc1,
}

impl StickEvent {
    fn counters(self) -> (StickCounter, StickCounter) {
        match self {
            Self::Connection => (StickCounter::ConnCnt, StickCounter::ConnRate),
            Self::HttpRequest => (StickCounter::HttpReqCnt, StickCounter::HttpReqRate),
            Self::HttpError => (StickCounter::HttpErrCnt, StickCounter::HttpErrRate),
            Self::Gpc0 => (StickCounter::Gpc0, StickCounter::Gpc0Rate),
            Self::Gpc1 => (StickCounter::Gpc1, StickCounter::Gpc1Rate),
        }
    }
}

/// Every proxy's stick table, by proxy name.
#[derive(Debug, Clone, Default)]
pub struct StickTables {
    tables: BTreeMap<String, Table>,
}

impl StickTables {
    /// Empty tables for the proxies that declare one; those `stick`
    /// rules name keep servers.
    pub fn new(proxies: &[Proxy]) -> Self {
        let mut tables: BTreeMap<String, Table> = proxies
            .iter()
            .filter_map(|p| {
                let config = p.stick_table.clone()?;
                Some((p.name.clone(), Table::new(config)))
            })
            .collect();
        for p in proxies {
            for rule in &p.stick_rules {
                let name = rule.table.as_deref().unwrap_or(&p.name);
                if let Some(t) = tables.get_mut(name) {
                    t.sticky = true;
                }
            }
        }
        Self { tables }
    }

    /// The server id `key` names in table `name`, if any (the entry is
    /// touched).
    pub fn server_of(&mut self, name: &str, key: &StickKey, now: Instant) -> Option<u32> {
        let t = self.tables.get_mut(name)?;
        t.live(key, now)?;
        let e = t.entry(key, now);
        e.server.as_ref().map(|(id, _)| *id)
    }

    /// Stores in table `name` that `key` goes to server `id` (`server`
    /// by name), touching its entry.
    pub fn stick(&mut self, name: &str, key: &StickKey, (id, server): (u32, &str), now: Instant) {
        if let Some(t) = self.tables.get_mut(name) {
            t.entry(key, now).server = Some((id, server.to_owned()));
        }
    }

    /// The configuration of table `name`.
    pub fn config(&self, name: &str) -> Option<&StickTable> {
        self.tables.get(name).map(|t| &t.config)
    }

    /// Counts `event` for `key` in table `name` (the entry is made when
    /// missing, and touched).
    pub fn count(&mut self, name: &str, key: &StickKey, event: StickEvent, now: Instant) {
        let Some(t) = self.tables.get_mut(name) else {
            return;
        };
        let (cnt, rate) = event.counters();
        let period = t.config.stores(rate);
        let stores_cnt = t.config.stores(cnt).is_some();
        let stores_cur = t.config.stores(StickCounter::ConnCur).is_some();
        let e = t.entry(key, now);
        if stores_cnt {
            *e.counts.entry(cnt).or_default() += 1;
        }
        if event == StickEvent::Connection && stores_cur {
            *e.counts.entry(StickCounter::ConnCur).or_default() += 1;
        }
        if let Some(p) = period {
            e.rates.entry(rate).or_default().add(ms(now), ms_of(p), 1);
        }
    }

    /// Does `action` on the entry its slot tracks in `tracked` (nothing
    /// when the slot tracks none, or the table does not keep the
    /// counter); `sample` is `sc-set-gpt0`'s sample read as an integer
    /// beforehand (it may read these tables).
    pub fn counter_action(
        &mut self,
        action: &CounterAction,
        tracked: &[Option<Tracked>; 3],
        sample: Option<i64>,
        now: Instant,
    ) {
        let Some(Some(t)) = tracked.get(action.slot()) else {
            return;
        };
        match action {
            CounterAction::IncGpc { counter: 0, .. } => {
                self.count(&t.table, &t.key, StickEvent::Gpc0, now);
            }
            CounterAction::IncGpc { .. } => self.count(&t.table, &t.key, StickEvent::Gpc1, now),
            CounterAction::SetGpt0 { value, .. } => {
                let Some(table) = self.tables.get_mut(&t.table) else {
                    return;
                };
                if table.config.stores(StickCounter::Gpt0).is_none() {
                    return;
                }
                let value = match value {
                    GptValue::Int(n) => Some(*n),
                    GptValue::Expr(_) => sample,
                };
                // haproxy keeps the tag as an unsigned 32-bit number.
                if let Some(v) = value {
                    let tag = u64::from(v as u32);
                    table
                        .entry(&t.key, now)
                        .counts
                        .insert(StickCounter::Gpt0, tag);
                }
            }
        }
    }

    /// A stream that tracked `key` in table `name` ends: `conn_cur` goes
    /// down.
    pub fn release(&mut self, name: &str, key: &StickKey) {
        let Some(e) = self
            .tables
            .get_mut(name)
            .and_then(|t| t.entries.get_mut(key))
        else {
            return;
        };
        if let Some(cur) = e.counts.get_mut(&StickCounter::ConnCur) {
            *cur = cur.saturating_sub(1);
        }
    }

    /// `show table`: each table's line, or table `name`'s line and its
    /// entries as haproxy prints them; `None` for an unknown table.
    pub fn dump(&mut self, name: Option<&str>, now: Instant) -> Option<String> {
        let Some(name) = name else {
            let mut out = String::new();
            for (name, t) in &mut self.tables {
                t.purge(now);
                out.push_str(&t.header(name));
            }
            return Some(out);
        };
        let t = self.tables.get_mut(name)?;
        t.purge(now);
        let mut out = t.header(name);
        for (key, e) in &t.entries {
            out.push_str(&t.line(key, e, now));
        }
        Some(out)
    }

    /// The value of `counter` for `key` in table `name`: `None` when the
    /// table does not store it or has no such entry.
    pub fn read(
        &mut self,
        name: &str,
        key: &StickKey,
        counter: StickCounter,
        now: Instant,
    ) -> Option<u64> {
        let t = self.tables.get_mut(name)?;
        let period = t.config.stores(counter)?;
        let e = t.live(key, now)?;
        Some(if counter.is_rate() {
            e.rates
                .get(&counter)
                .map_or(0, |f| f.read(ms(now), ms_of(period)))
        } else {
            e.counts.get(&counter).copied().unwrap_or(0)
        })
    }
}

/// A counter's name in `show table`.
fn counter_name(c: StickCounter) -> &'static str {
    match c {
        StickCounter::ConnCnt => "conn_cnt",
        StickCounter::ConnCur => "conn_cur",
        StickCounter::ConnRate => "conn_rate",
        StickCounter::SessCnt => "sess_cnt",
        StickCounter::SessRate => "sess_rate",
        StickCounter::HttpReqCnt => "http_req_cnt",
        StickCounter::HttpReqRate => "http_req_rate",
        StickCounter::HttpErrCnt => "http_err_cnt",
        StickCounter::HttpErrRate => "http_err_rate",
        StickCounter::Gpt0 => "gpt0",
        StickCounter::Gpc0 => "gpc0",
        StickCounter::Gpc0Rate => "gpc0_rate",
        StickCounter::Gpc1 => "gpc1",
        StickCounter::Gpc1Rate => "gpc1_rate",
    }
}

fn ms(now: Instant) -> u64 {
    now.since_origin().as_millis()
}

fn ms_of(d: Duration) -> u64 {
    d.as_millis().max(1)
}

/// One `track-sc<N>` slot: the table and the key it tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The table's proxy name.
    pub table: String,
    /// The key.
    pub key: StickKey,
}

/// What samples see of the stick tables: the tables, the time, and the
/// transaction's tracked slots.
#[derive(Debug, Clone, Copy)]
pub struct StickView<'a> {
    /// Every table.
    pub tables: &'a RefCell<StickTables>,
    /// Now, for rates and expiry.
    pub now: Instant,
    /// `track-sc0..2`.
    pub tracked: &'a [Option<Tracked>; 3],
    /// The proxy whose rule reads them (its table is the default one;
    /// `""`: the frontend).
    pub current: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_weighs_the_previous_period_by_what_is_left() {
        let mut f = FreqCtr::default();
        for _ in 0..10 {
            f.add(10_000, 1000, 1);
        }
        assert_eq!(f.read(10_000, 1000), 10);
        // Half-way through the next period: half of the last one counts.
        assert_eq!(f.read(11_500, 1000), 5);
        f.add(11_500, 1000, 2);
        assert_eq!(f.read(11_500, 1000), 7);
        // Two periods later, nothing is left.
        assert_eq!(f.read(14_000, 1000), 0);
    }

    #[test]
    fn entries_expire_and_the_stalest_goes_when_full() {
        let table = StickTable {
            key: StickKeyType::Ip,
            len: 32,
            size: 2,
            expire: Some(Duration::from_secs(10)),
            store: vec![
                (StickCounter::HttpReqCnt, Duration::ZERO),
                (StickCounter::HttpReqRate, Duration::from_secs(10)),
            ],
        };
        let mut tables = StickTables::default();
        tables.tables.insert("t".into(), Table::new(table));
        let at = |s: u64| Instant::ZERO + Duration::from_secs(s);
        let a = StickKey::Ip("10.0.0.1".parse().expect("ip"));
        let b = StickKey::Ip("10.0.0.2".parse().expect("ip"));
        let c = StickKey::Ip("10.0.0.3".parse().expect("ip"));
        for _ in 0..3 {
            tables.count("t", &a, StickEvent::HttpRequest, at(1));
        }
        let cnt = StickCounter::HttpReqCnt;
        assert_eq!(tables.read("t", &a, cnt, at(2)), Some(3));
        assert_eq!(
            tables.read("t", &a, StickCounter::HttpReqRate, at(2)),
            Some(3)
        );
        assert_eq!(
            tables.read("t", &a, StickCounter::Gpc0, at(2)),
            None,
            "not stored"
        );
        tables.count("t", &b, StickEvent::HttpRequest, at(2));
        tables.count("t", &c, StickEvent::HttpRequest, at(3));
        assert_eq!(
            tables.read("t", &a, cnt, at(3)),
            None,
            "evicted, the stalest"
        );
        assert_eq!(tables.read("t", &b, cnt, at(12)), None, "expired");
        assert_eq!(tables.read("t", &c, cnt, at(12)), Some(1));
    }
}
