//! Retries (spec/haproxy.md §4.1–4.2). A failed connection is tried again
//! after the turn-around delay, or redispatched at once. With `retry-on`,
//! a request its server failed (closed without a byte of answer, answered
//! junk, let `timeout server` strike, answered a listed status) is sent
//! again at once, to the same server or redispatched: haproxy's L7
//! retries. Both kinds count against `retries`.

use super::flow::{connect_to, stream_and_backend, Backend, Flow, Phase, StreamId, Timer};
use crate::sched::Timers;
use crate::time::{Duration, Instant};

/// How a server failed a request it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFailure {
    /// Closed or reset before any byte of an answer (`empty-response`).
    Empty,
    /// An answer that is not HTTP (`junk-response`).
    Junk,
    /// Broken after part of an answer.
    Broken,
}

impl Flow {
    /// The connection for `id` failed (refused, reset...). Also after
    /// [`Flow::handle_connected`] when the connection was an idle one the
    /// server had let go and its replacement failed: the request was
    /// never sent.
    pub fn handle_connect_failed(
        &mut self,
        now: Instant,
        id: StreamId,
        timers: &mut dyn Timers<Timer>,
    ) {
        if self
            .streams
            .get(&id)
            .is_some_and(|s| matches!(s.phase, Phase::Connecting | Phase::Waiting))
        {
            timers.cancel(Timer::Connect(id));
            timers.cancel(Timer::Server(id));
            self.connect_failed(now, id, false, timers);
        }
    }

    /// The server of `id` failed it after it was sent: sent again when
    /// `retry-on` names the failure and retries are left, else a 502
    /// (`SH`, or `PH` for junk).
    pub fn handle_server_failed(
        &mut self,
        now: Instant,
        id: StreamId,
        failure: ServerFailure,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self.streams.get(&id).filter(|s| s.phase == Phase::Waiting) else {
            return;
        };
        let on = &self.backends[&s.backend].retry_on;
        let retried = match failure {
            ServerFailure::Empty => on.empty_response,
            ServerFailure::Junk => on.junk_response,
            ServerFailure::Broken => false,
        };
        if retried && self.l7_retry(now, id, timers) {
            return;
        }
        let termination = match failure {
            ServerFailure::Junk => "PH",
            ServerFailure::Empty | ServerFailure::Broken => "SH",
        };
        self.fail_waiting(now, id, 502, termination, timers);
    }

    /// Retry the same server after the turn-around delay, or redispatch
    /// to another at once, or give up with 503. `timed_out`: the attempt
    /// hit `timeout connect` (a final failure then logs `sC` rather than
    /// `SC`).
    pub(super) fn connect_failed(
        &mut self,
        now: Instant,
        id: StreamId,
        timed_out: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some((s, b)) = stream_and_backend(&mut self.streams, &mut self.backends, id) else {
            return;
        };
        let failed = s.server.take().expect("a connecting stream has a server");
        b.balancer.release(failed);
        if s.client_gone && b.abortonclose {
            return self.abort(id, "CC", timers);
        }
        if s.retries >= b.retries || !b.retry_on.conn_failure {
            let backend = s.backend;
            self.give_up(id, 503, if timed_out { "sC" } else { "SC" });
            self.dequeue(now, backend, timers);
            return;
        }
        s.retries += 1;
        let redispatch = redispatches(b, s.retries, failed);
        if redispatch {
            s.redispatched = true;
            if active_servers(b) > 1 {
                return self.assign(now, id, Some(failed), timers);
            }
        }
        s.server = (!redispatch).then_some(failed);
        s.phase = Phase::TurnAround;
        let delay = b.timeout_connect.min(Duration::from_secs(1));
        timers.arm(Timer::TurnAround(id), now + delay);
    }

    /// Sends `id`, which its server failed, again at once when retries
    /// are left: redispatched as after a failed connection, else to the
    /// same server. False when no retry is left, or the request cannot be
    /// sent again.
    pub(super) fn l7_retry(
        &mut self,
        now: Instant,
        id: StreamId,
        timers: &mut dyn Timers<Timer>,
    ) -> bool {
        let Some((s, b)) = stream_and_backend(&mut self.streams, &mut self.backends, id) else {
            return false;
        };
        if s.retries >= b.retries || !s.replayable {
            return false;
        }
        timers.cancel(Timer::Server(id));
        let failed = s.server.take().expect("a waiting stream has a server");
        b.balancer.release(failed);
        s.retries += 1;
        if redispatches(b, s.retries, failed) {
            s.redispatched = true;
            self.assign(now, id, Some(failed), timers);
        } else {
            connect_to(&mut self.out, b, s, id, failed, now, timers);
        }
        true
    }
}

/// Active (not backup) servers that are up.
fn active_servers(b: &Backend) -> usize {
    b.up.iter()
        .zip(&b.backup)
        .filter(|(up, backup)| **up && !**backup)
        .count()
}

/// spec §4.2: whether retry number `retry` after `failed` failed goes
/// through the balancer again rather than to the same server.
fn redispatches(b: &Backend, retry: u32, failed: usize) -> bool {
    b.redispatch.is_some_and(|p| {
        let nth_from_end = p < 0 && retry == b.retries.saturating_sub(p.unsigned_abs() - 1);
        let every_p = p > 0 && retry % p as u32 == 0;
        !b.up[failed] || every_p || nth_from_end || (!b.hashed && active_servers(b) > 1)
    })
}
