//! The threads that serve traffic (`nbthread`): the runtime that starts
//! real mode is the first, and each other one is an OS thread running a
//! single-threaded tokio runtime of its own. Every thread accepts from
//! each listener; a connection accepted goes to the thread serving the
//! fewest, as haproxy's accept queues send it, and stays there to its
//! end. Every decision still goes through the one driver
//! (`driver::Core`), whichever thread asks.

use crate::affinity;
use crate::alarms::Alarms;
use crate::lanes;
use crate::stream::Stream;
use haven_core::config::haproxy::CpuMaps;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The serving threads; dropping it ends those it started, and with them
/// every task they still run.
#[derive(Debug)]
pub(crate) struct Workers {
    threads: Arc<Threads>,
    /// Dropped to end the threads (nothing is ever sent).
    _stops: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `threads` − 1 threads beside the calling runtime, in the
    /// process kept to a NUMA `node`'s CPUs if one was chosen, each (the
    /// caller too) bound to the CPUs `cpu_map` gives it.
    pub(crate) fn start(
        threads: u32,
        cpu_map: &CpuMaps,
        node: Option<&[u16]>,
    ) -> std::io::Result<Self> {
        let mut handles = vec![Handle::current()];
        let mut stops = Vec::new();
        affinity::bind_process(cpu_map, node);
        for number in 2..=threads {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            handles.push(runtime.handle().clone());
            let cpu_map = cpu_map.clone();
            std::thread::Builder::new()
                .name(format!("haven-{number}"))
                .spawn(move || {
                    affinity::bind_thread(&cpu_map, number);
                    lanes::enter(number as usize - 1);
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                })?;
            stops.push(stop);
        }
        // Last, so the threads above did not inherit its own map.
        affinity::bind_thread(cpu_map, 1);
        lanes::enter(0);
        let counters = || handles.iter().map(|_| AtomicU64::new(0)).collect();
        let threads = Threads {
            accepted: counters(),
            pushed: counters(),
            serving: handles.iter().map(|_| AtomicUsize::new(0)).collect(),
            alarms: handles.iter().map(|_| Arc::default()).collect(),
            handles,
        };
        Ok(Self {
            threads: Arc::new(threads),
            _stops: stops,
        })
    }

    /// The threads, for the accept loops and `show activity`.
    pub(crate) fn threads(&self) -> &Arc<Threads> {
        &self.threads
    }
}

/// The serving threads as the accept loops use them, and what each did.
#[derive(Debug)]
pub(crate) struct Threads {
    /// Each thread's runtime, the first the caller's.
    handles: Vec<Handle>,
    /// Connections each thread accepted.
    accepted: Box<[AtomicU64]>,
    /// Connections each thread was handed to serve (with several).
    pushed: Box<[AtomicU64]>,
    /// Connections each thread serves now.
    serving: Box<[AtomicUsize]>,
    /// Each thread's table of client connections.
    alarms: Box<[Arc<Alarms>]>,
}

impl Threads {
    /// How many threads serve.
    pub(crate) fn count(&self) -> usize {
        self.handles.len()
    }

    /// Runs `task` on thread `index`.
    pub(crate) fn spawn<F>(&self, index: usize, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.handles.get(index) {
            Some(handle) => handle.spawn(task),
            None => tokio::spawn(task),
        }
    }

    /// Thread `from` accepted `stream`: the thread to serve it (the one
    /// serving the fewest, `from` among equals), the stream ready for that
    /// thread's runtime, and its place in that thread's load.
    pub(crate) fn hand_over(
        self: &Arc<Self>,
        from: usize,
        stream: Stream,
    ) -> std::io::Result<(usize, Stream, Load)> {
        self.count_accepted(from);
        let load = |t: usize| {
            self.serving
                .get(t)
                .map_or(usize::MAX, |n| n.load(Ordering::Relaxed))
        };
        let to = (0..self.count())
            .min_by_key(|&t| (load(t), t != from))
            .unwrap_or(from);
        let stream = match self.handles.get(to).filter(|_| to != from) {
            Some(handle) => {
                let _target = handle.enter();
                stream.watched_here()?
            }
            None => stream,
        };
        Ok((to, stream, self.serve(to)))
    }

    /// Thread `thread` accepted a connection it serves itself (the
    /// runtime API's, on the first thread).
    pub(crate) fn served_where_accepted(self: &Arc<Self>, thread: usize) -> Load {
        self.count_accepted(thread);
        self.serve(thread)
    }

    fn count_accepted(&self, thread: usize) {
        if let Some(n) = self.accepted.get(thread) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Thread `thread` takes a connection to serve (handed over when
    /// there are several threads).
    fn serve(self: &Arc<Self>, thread: usize) -> Load {
        if let Some(n) = self.pushed.get(thread).filter(|_| self.count() > 1) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(n) = self.serving.get(thread) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        Load {
            threads: Arc::clone(self),
            thread,
        }
    }

    /// Thread `index`'s table of connections.
    pub(crate) fn alarms(&self, index: usize) -> &Arc<Alarms> {
        &self.alarms[index]
    }

    /// Ends every client connection of every thread (a hard stop).
    pub(crate) fn cut(&self) {
        self.alarms.iter().for_each(|alarms| alarms.cut());
    }

    /// Each thread's connections accepted and given to serve so far.
    pub(crate) fn activity(&self) -> (Vec<u64>, Vec<u64>) {
        let read = |c: &[AtomicU64]| c.iter().map(|n| n.load(Ordering::Relaxed)).collect();
        (read(&self.accepted), read(&self.pushed))
    }
}

/// A connection's place in its thread's load, given back when dropped.
#[derive(Debug)]
pub(crate) struct Load {
    threads: Arc<Threads>,
    thread: usize,
}

impl Drop for Load {
    fn drop(&mut self) {
        if let Some(n) = self.threads.serving.get(self.thread) {
            n.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
