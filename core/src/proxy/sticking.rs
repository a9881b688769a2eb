//! `stick` rules as haproxy 2.6 runs them: during the request, `match`
//! and `on` look the key up and send the request to the server stored
//! for it (unless a cookie chose one already, or that server is down);
//! `on` and `store-request` note the key; the response adds the keys of
//! `store-response`, and every noted key is stored with the server that
//! answered. Only the first store rule of each table counts, per phase.

use crate::config::haproxy::{Proxy, StickKind};
use crate::route::{condition, RequestHead};
use crate::stick::{StickKey, StickTables};
use crate::time::Instant;
use std::cell::RefCell;

/// True when backend `be` reads keys from responses
/// (`stick store-response`).
pub(super) fn stores_responses(be: &Proxy) -> bool {
    be.stick_rules
        .iter()
        .any(|r| r.kind == StickKind::StoreResponse)
}

/// Keys a stream stores once its server answers: table and key.
pub(super) type Stores = Vec<(String, StickKey)>;

/// The request phase of backend `be`'s `stick` rules on `req` at `now`:
/// the server (index) a known key sends it to, when `usable`, and the
/// keys to store.
pub(super) fn on_request(
    be: &Proxy,
    tables: &RefCell<StickTables>,
    req: &RequestHead<'_>,
    usable: &dyn Fn(usize) -> bool,
    now: Instant,
) -> (Option<usize>, Stores) {
    let mut tables = tables.borrow_mut();
    let (mut target, mut stores): (Option<usize>, Stores) = (None, Vec::new());
    for rule in be
        .stick_rules
        .iter()
        .filter(|r| r.kind != StickKind::StoreResponse)
    {
        let table = rule.table.as_deref().unwrap_or(&be.name);
        if rule.kind.stores() && stores.iter().any(|(t, _)| t == table) {
            continue;
        }
        if !rule.cond.as_ref().is_none_or(|c| condition(be, c, req)) {
            continue;
        }
        let Some(key) = key_of(&tables, table, rule, req) else {
            continue;
        };
        if rule.kind.matches() {
            let stored = tables.server_of(table, &key, now);
            let server = stored.and_then(|id| usize::try_from(id).ok()?.checked_sub(1));
            if target.is_none() {
                target = server.filter(|s| s < &be.servers.len() && usable(*s));
            }
        }
        if rule.kind.stores() {
            stores.push((table.to_owned(), key));
        }
    }
    (target, stores)
}

/// Adds the keys backend `be`'s `store-response` rules read from the
/// response `res` sees to `stores` (one per table beside the request's),
/// then stores them all with server `server`.
pub(super) fn on_response(
    be: &Proxy,
    tables: &RefCell<StickTables>,
    (res, server): (&RequestHead<'_>, usize),
    mut stores: Stores,
    now: Instant,
) {
    let mut tables = tables.borrow_mut();
    let from_request = stores.len();
    for rule in be
        .stick_rules
        .iter()
        .filter(|r| r.kind == StickKind::StoreResponse)
    {
        let table = rule.table.as_deref().unwrap_or(&be.name);
        if stores[from_request..].iter().any(|(t, _)| t == table) {
            continue;
        }
        if !rule.cond.as_ref().is_none_or(|c| condition(be, c, res)) {
            continue;
        }
        if let Some(key) = key_of(&tables, table, rule, res) {
            stores.push((table.to_owned(), key));
        }
    }
    store(be, &mut tables, (stores, server), now);
}

/// Stores each of `stores` with server `server` of `be`.
pub(super) fn store(
    be: &Proxy,
    tables: &mut StickTables,
    (stores, server): (Stores, usize),
    now: Instant,
) {
    let Some(srv) = be.servers.get(server) else {
        return;
    };
    let id = u32::try_from(server + 1).unwrap_or(u32::MAX);
    for (table, key) in stores {
        tables.stick(&table, &key, (id, &srv.name), now);
    }
}

/// The key `rule`'s pattern makes of `req` for table `table`.
fn key_of(
    tables: &StickTables,
    table: &str,
    rule: &crate::config::haproxy::StickRule,
    req: &RequestHead<'_>,
) -> Option<StickKey> {
    let config = tables.config(table)?;
    StickKey::of(&rule.expr.eval(req)?, config)
}
