//! `wait-for-body`: which rule makes a message wait for its body, asked
//! by the driver before it reads the body (the rules themselves then
//! find it there), and the 504 of a response whose body did not come in
//! time. The first `wait-for-body` whose condition holds on the message
//! as received applies.

use super::flow::{Flow, StreamId, Timer};
use super::rules;
use crate::config::haproxy::{BodyWait, HttpAction, HttpRule, Proxy};
use crate::http_rules::{Headers, ResponseDraft};
use crate::route::{condition, route, RequestHead};
use crate::sched::Timers;
use crate::time::{Duration, Instant};

/// The first of `rules` (of `proxy`) that waits and applies to `req`.
fn first_wait(proxy: &Proxy, rules: &[HttpRule], req: &RequestHead<'_>) -> Option<BodyWait> {
    rules.iter().find_map(|r| match &r.action {
        HttpAction::WaitForBody(wait) => {
            let holds = r.cond.as_ref().is_none_or(|c| condition(proxy, c, req));
            holds.then_some(*wait)
        }
        _ => None,
    })
}

impl Flow {
    /// How long the `http-request` rules of `frontend`, then of the
    /// backend it routes `head` to, wait for its body; `None` when none
    /// of them waits.
    pub fn request_body_wait(&self, frontend: usize, head: &RequestHead<'_>) -> Option<BodyWait> {
        let fe = self.proxies.get(frontend)?;
        let backend = route(&self.proxies, fe, head)
            .filter(|b| *b != frontend)
            .and_then(|b| self.proxies.get(b));
        let rules = first_wait(fe, &fe.http_request, head)
            .or_else(|| backend.and_then(|be| first_wait(be, &be.http_request, head)));
        // `option http-buffer-request`: the whole body, within `timeout
        // http-request` (else the client timeout).
        let buffering = |p: &Proxy| {
            p.options.http_buffer_request.then(|| BodyWait {
                time: fe
                    .timeouts
                    .http_request
                    .or(fe.timeouts.client)
                    .unwrap_or(Duration::from_secs(u64::from(u32::MAX))),
                at_least: 0,
            })
        };
        rules
            .or_else(|| buffering(fe))
            .or_else(|| backend.and_then(buffering))
    }

    /// How long the `http-response` rules (the backend's, then the
    /// frontend's) wait for the body of request `id`'s answer, whose
    /// `status` and `headers` came; `None` when none of them waits.
    pub fn response_body_wait(
        &self,
        id: StreamId,
        (status, headers): (u16, &[(&str, &str)]),
    ) -> Option<BodyWait> {
        let s = self.streams.get(&id)?;
        let txn = s.txn.as_deref()?;
        let res = ResponseDraft::received(
            status,
            Headers::of(headers.iter().copied()),
            Default::default(),
        );
        let names = rules::names(&self.proxies, s.frontend, Some(s.backend), s.server);
        rules::chain(&self.proxies, s.frontend, Some(s.backend)).find_map(|p| {
            txn.with_view(names, Some(&res), |req| {
                first_wait(p, &p.http_response, req)
            })
        })
    }

    /// The answer to request `id` came, but its body did not within its
    /// `wait-for-body` time: haproxy's 504, `sR`.
    pub fn handle_body_timeout(
        &mut self,
        now: Instant,
        id: StreamId,
        timers: &mut dyn Timers<Timer>,
    ) {
        timers.cancel(Timer::Server(id));
        self.fail_waiting(now, id, 504, "sR", timers);
    }
}
