//! The flow's side of the HTTP cache: looking in it after a proxy's
//! request rules, answering from it through the response rules as
//! haproxy's cache applet does, and reserving what `cache-store` keeps.

use super::compress;
use super::flow::{keep_proc_vars, logged_vars, release_tracked, Applet, Flow, Output, StreamId};
use super::rules::{self, Rewrite};
use super::Outcome;
use crate::cache::{read_response, CachedReply, Caches, Ticket};
use crate::http_rules::{apply_headers, Edit, Headers, ResponseDraft, Room, Txn};
use crate::time::Instant;
use std::sync::Arc;

/// Looks in the cache a `cache-use` rule of the last proxy named, if
/// one ran: true when an object answers the request.
pub(super) fn cache_lookup(caches: &mut Caches, now: Instant, t: &mut Txn) -> bool {
    let Some(c) = t.cache.as_mut().filter(|c| c.lookup && c.hit.is_none()) else {
        return false;
    };
    c.lookup = false;
    let Some(req) = c.request.as_ref().filter(|r| r.looks_up()) else {
        return false;
    };
    let side = usize::from(!req.on_frontend);
    c.counts[side][0] += 1;
    c.hit = caches.lookup(req, now);
    if c.hit.is_some() {
        c.counts[side][1] += 1;
    }
    c.hit.is_some()
}

/// What the `cache-store` rule of a response with final `status`
/// asks, once its rules ran: an unsafe method that succeeded drops
/// the URI's object; a storable response reserves one, whose ticket
/// the driver fills with the body.
pub(super) fn cache_store(
    caches: &mut Caches,
    (now, unix): (Instant, i64),
    (size, reserve): (usize, usize),
    t: &mut Txn,
) -> Option<Ticket> {
    let c = t.cache.as_mut()?;
    let ask = c.store.take()?;
    let req = c.request.as_ref()?;
    let safe = matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
    if !safe && (200..400).contains(&ask.status) {
        caches.invalidate(&ask.cache, req);
        return None;
    }
    let limits = caches.limits(&ask.cache, size.saturating_sub(reserve))?;
    let pairs: Vec<(&str, &str)> = ask
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let storable = read_response(req, (ask.status, &pairs), limits, unix).ok()?;
    caches.reserve(&ask.cache, req, storable, now)
}

impl Flow {
    /// Tells the flow the calendar: at `now` it is `unix` seconds since
    /// the epoch (for `Expires`, `Last-Modified` and their kin).
    pub fn set_calendar(&mut self, now: Instant, unix: i64) {
        self.calendar = (now, unix);
    }

    /// Seconds since the epoch at `now`.
    pub(super) fn unix_now(&self, now: Instant) -> i64 {
        let (at, unix) = self.calendar;
        unix + now.saturating_duration_since(at).as_secs() as i64
    }

    /// Answers request `id` with the object its transaction found, as
    /// haproxy's cache does: the stored head with its `Age`, as a 304
    /// when the request's conditions hold, through the `http-response`
    /// and `http-after-response` rules and the compression of `backend`
    /// (the frontend when the frontend's rule found it).
    pub(super) fn serve_from_cache(
        &mut self,
        now: Instant,
        id: StreamId,
        (frontend, backend): (usize, Option<usize>),
        mut t: Box<Txn>,
    ) {
        let Some(hit) = t.cache_hit().cloned() else {
            return;
        };
        t.date = self.unix_now(now);
        let object = &hit.object;
        let status = if hit.not_modified { 304 } else { 200 };
        let mut headers: Headers = object.headers.iter().map(|(n, v)| (&**n, &**v)).collect();
        headers.push("age", &object.age_at(now).to_string());
        let mut res = ResponseDraft::new(status, headers, Room::default());
        let at = (frontend, backend, None);
        let stick = Some((&self.stick, now));
        let counts = super::flow::cache_counts(&t);
        if let Err(answer) = rules::http_response(&self.proxies, at, (&mut t, stick), &mut res) {
            return self.answer(now, id, frontend, backend, Some(t), answer);
        }
        rules::after_response(&self.proxies, at, (&mut t, stick), &mut res);
        let (fe, be) = (
            &self.proxies[frontend],
            &self.proxies[backend.unwrap_or(frontend)],
        );
        let algo = t.with_view(
            rules::names(&self.proxies, frontend, backend, None),
            None,
            |req| compress::for_request(fe, be, req).0,
        );
        let compress = algo.and_then(|algo| {
            let edits = compress::for_response((fe, be), algo, &res)?;
            apply_headers(&mut res.headers, &edits);
            Some(algo)
        });
        let reason = res.edits.iter().rev().find_map(|e| match e {
            Edit::Status(_, reason) => Some(reason.clone()),
            _ => None,
        });
        let reply = CachedReply {
            status: res.status,
            reason: reason.flatten(),
            headers: res.headers.to_vec(),
            body: (!hit.not_modified).then(|| Arc::clone(&object.body)),
        };
        let session = t.session_vars();
        // The transaction ends here, as a server's would.
        release_tracked(&self.stick, &t);
        keep_proc_vars(&mut self.proc_vars, &mut t);
        let outcome = Outcome {
            applet: Some(Applet::Cache),
            cache: counts,
            log_level: t.log_level,
            captured: (!t.captured.is_empty()).then(|| Box::new(t.captured.clone())),
            vars: logged_vars(&t).filter(|_| self.log_vars(frontend)),
            ..Outcome::without_server(reply.status, "LR", backend)
        };
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated: true,
            rewrite: Some(Box::new(Rewrite {
                cached: Some(Box::new(reply)),
                session,
                compress,
                ..Rewrite::default()
            })),
        });
    }

    /// The driver has the whole body of `ticket`'s object (`None`: it
    /// will not come whole).
    pub fn cache_fill(&mut self, now: Instant, ticket: Ticket, body: Option<Arc<[u8]>>) {
        match body {
            Some(body) => self.caches.fill(ticket, body, now),
            None => self.caches.abandon(ticket),
        }
    }

    /// The runtime API's `show cache`.
    pub fn show_cache(&mut self, now: Instant) -> String {
        self.caches.show(now)
    }
}
