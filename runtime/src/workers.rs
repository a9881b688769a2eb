//! The threads that serve traffic (`nbthread`): the runtime that starts
//! real mode is the first, and each other one is an OS thread running a
//! single-threaded tokio runtime of its own. Every thread accepts on its
//! own copy of each listener and serves the connections it accepted to
//! their end, as haproxy's threads do; every decision still goes through
//! the one driver (`driver::Core`), whichever thread asks.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The serving threads beyond the first; dropping it ends them, and with
/// them every task they still run.
#[derive(Debug)]
pub(crate) struct Workers {
    handles: Vec<Handle>,
    accepted: Arc<Accepted>,
    /// Dropped to end the threads (nothing is ever sent).
    _stops: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `threads` − 1 threads beside the calling runtime.
    pub(crate) fn start(threads: u32) -> std::io::Result<Self> {
        let mut handles = Vec::new();
        let mut stops = Vec::new();
        for number in 2..=threads {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            handles.push(runtime.handle().clone());
            std::thread::Builder::new()
                .name(format!("haven-{number}"))
                .spawn(move || {
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                })?;
            stops.push(stop);
        }
        Ok(Self {
            accepted: Arc::new(Accepted(
                (0..=handles.len()).map(|_| AtomicU64::new(0)).collect(),
            )),
            handles,
            _stops: stops,
        })
    }

    /// How many threads serve, the calling runtime's included.
    pub(crate) fn count(&self) -> usize {
        self.accepted.threads()
    }

    /// The count of connections each thread accepted.
    pub(crate) fn accepted(&self) -> &Arc<Accepted> {
        &self.accepted
    }

    /// Runs `task` on thread `index` (0 is the calling runtime's).
    pub(crate) fn spawn<F>(&self, index: usize, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match index.checked_sub(1).and_then(|i| self.handles.get(i)) {
            Some(handle) => handle.spawn(task),
            None => tokio::spawn(task),
        }
    }
}

/// Connections each serving thread accepted, by thread (0 is the first),
/// for `show activity`.
#[derive(Debug)]
pub(crate) struct Accepted(Box<[AtomicU64]>);

impl Accepted {
    /// Thread `thread` accepted a connection.
    pub(crate) fn count(&self, thread: usize) {
        if let Some(n) = self.0.get(thread) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many threads serve.
    pub(crate) fn threads(&self) -> usize {
        self.0.len()
    }

    /// Each thread's count so far.
    pub(crate) fn counts(&self) -> Vec<u64> {
        self.0.iter().map(|n| n.load(Ordering::Relaxed)).collect()
    }
}
