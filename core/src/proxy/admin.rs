//! What the runtime API changes in the flow: a server's administrative
//! state (ready, maintenance, drain) and weight, a frontend paused or
//! not, and what the stats report of them.

use super::flow::{Backend, Flow, Timer};
use crate::health::http_script::ServerLoad;
use crate::sched::Timers;
use crate::time::Instant;

/// `set server B/S state ...`, `enable server`, `disable server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Out of maintenance and drain (`state ready`, `enable server`).
    Ready,
    /// Into maintenance: no traffic, checks go on.
    Maint,
    /// Draining: no new traffic, stays up.
    Drain,
}

/// `set weight B/S N` or `N%` (of the configured weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightChange {
    /// A weight, 0..=256.
    Absolute(u32),
    /// A percentage of the weight in the config.
    Percent(u32),
}

impl Flow {
    /// Applies `action` to server `server` of `backend`. The server takes
    /// traffic again when ready and healthy.
    pub fn set_admin(
        &mut self,
        now: Instant,
        backend: usize,
        server: usize,
        action: AdminAction,
        timers: &mut dyn Timers<Timer>,
    ) {
        let mut set = |flow: &mut Self, flag: fn(&mut Backend) -> &mut Vec<bool>, on: bool| {
            flow.update_server(now, backend, server, timers, flag, on);
        };
        match action {
            AdminAction::Ready => {
                set(self, |b| &mut b.maint, false);
                set(self, |b| &mut b.drain, false);
            }
            // Each of maintenance and drain ends the other, as haproxy's
            // `srv_adm_set_maint` and `srv_adm_set_drain` do.
            AdminAction::Maint => {
                set(self, |b| &mut b.drain, false);
                set(self, |b| &mut b.maint, true);
            }
            AdminAction::Drain => {
                set(self, |b| &mut b.maint, false);
                set(self, |b| &mut b.drain, true);
            }
        }
    }

    /// Server `server` of `backend` has no address (`on`: DNS gave none)
    /// or has one again: no traffic meanwhile.
    pub fn set_resolving(
        &mut self,
        now: Instant,
        (backend, server): (usize, usize),
        on: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        self.update_server(now, backend, server, timers, |b| &mut b.resolving, on);
    }

    /// Sets a server's connection limit (an agent's `maxconn:N`).
    pub fn set_maxconn(&mut self, backend: usize, server: usize, maxconn: u32) {
        if let Some(b) = self.backends.get_mut(&backend) {
            b.balancer.set_maxconn(server, maxconn);
        }
    }

    /// A server's connection limit as applied now.
    pub fn maxconn(&self, backend: usize, server: usize) -> Option<u32> {
        self.backends.get(&backend)?.balancer.maxconn(server)
    }

    /// Sets a server's user weight; a percentage is of its configured
    /// weight, rounded down, at most 256.
    pub fn set_weight(&mut self, backend: usize, server: usize, change: WeightChange) {
        let initial = self.proxies[backend].servers[server].weight;
        let Some(b) = self.backends.get_mut(&backend) else {
            return;
        };
        let weight = match change {
            WeightChange::Absolute(w) => w,
            WeightChange::Percent(p) => initial.saturating_mul(p) / 100,
        }
        .min(256);
        b.weights[server] = weight;
        if !b.drain[server] {
            b.balancer.set_weight(server, weight);
        }
    }

    /// Pauses (`enable` false) or resumes a frontend's listeners, or
    /// haproxy's answer when it already is so.
    pub fn set_frontend_enabled(
        &mut self,
        frontend: usize,
        enable: bool,
    ) -> Result<(), &'static str> {
        let paused = &mut self.paused[frontend];
        match (*paused, enable) {
            (false, true) => Err("All sockets are already enabled.\n"),
            (true, false) => Err("All sockets are already disabled.\n"),
            _ => {
                *paused = !enable;
                Ok(())
            }
        }
    }

    /// Whether a frontend's listeners are paused.
    pub fn frontend_paused(&self, frontend: usize) -> bool {
        self.paused.get(frontend).copied().unwrap_or(false)
    }

    /// Whether a server is in maintenance.
    pub fn in_maintenance(&self, backend: usize, server: usize) -> bool {
        self.flag(backend, server, |b| &b.maint)
    }

    /// Whether a server is draining.
    pub fn draining(&self, backend: usize, server: usize) -> bool {
        self.flag(backend, server, |b| &b.drain)
    }

    /// A server's current user weight.
    pub fn weight(&self, backend: usize, server: usize) -> Option<u32> {
        self.backends.get(&backend)?.weights.get(server).copied()
    }

    /// What `http-check send-state` tells server `server` of `backend`
    /// of its load: its weight against those of the usable servers, the
    /// requests it and its backend serve, and its queue (haven queues per
    /// backend: 0).
    pub fn server_load(&self, backend: usize, server: usize) -> ServerLoad {
        let Some(b) = self.backends.get(&backend) else {
            return ServerLoad::default();
        };
        let usable = |s: usize| b.up.get(s) == Some(&true) && !self.in_maintenance(backend, s);
        let total_weight = (0..b.weights.len())
            .filter(|s| usable(*s))
            .map(|s| b.weights[s])
            .sum();
        let servers = self.proxies.get(backend).map_or(0, |p| p.servers.len());
        ServerLoad {
            weight: if usable(server) {
                b.weights.get(server).copied().unwrap_or(0)
            } else {
                0
            },
            total_weight,
            sessions: self.inflight(backend, server),
            backend_sessions: (0..servers).map(|s| self.inflight(backend, s)).sum(),
            queued: 0,
        }
    }

    /// When a server last changed state (start counts as a change).
    pub fn last_change(&self, backend: usize, server: usize) -> Instant {
        self.backends
            .get(&backend)
            .and_then(|b| b.changed.get(server).copied())
            .unwrap_or(Instant::ZERO)
    }

    fn flag(&self, backend: usize, server: usize, flag: fn(&Backend) -> &Vec<bool>) -> bool {
        self.backends
            .get(&backend)
            .and_then(|b| flag(b).get(server).copied())
            .unwrap_or(false)
    }
}
