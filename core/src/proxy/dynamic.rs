//! Servers added at run time (the runtime API's `add server`): they join
//! their backend in maintenance, as haproxy's dynamic servers do, and take
//! traffic once enabled.

use super::flow::Flow;
use crate::config::haproxy::Server;
use crate::time::Instant;

impl Flow {
    /// Whether backend `backend` may get servers at run time: its
    /// algorithm is one of haproxy's dynamic ones.
    pub fn takes_dynamic_servers(&self, backend: usize) -> bool {
        self.backends
            .get(&backend)
            .is_some_and(|b| b.balancer.is_dynamic())
    }

    /// Adds `server` to backend `backend`, in maintenance; its index.
    pub fn add_server(&mut self, now: Instant, backend: usize, server: &Server) -> Option<usize> {
        let b = self.backends.get_mut(&backend)?;
        let proxy = self.proxies.get_mut(backend)?;
        b.balancer.add(server);
        b.up.push(false);
        b.health.push(true);
        b.maint.push(true);
        b.resolving.push(false);
        b.drain.push(false);
        b.weights.push(server.weight);
        b.changed.push(now);
        b.backup.push(server.backup);
        proxy.servers.push(server.clone());
        Some(proxy.servers.len() - 1)
    }
}
