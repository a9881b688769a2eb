//! The client connections of one serving thread, a slot each: the
//! deadline of its wait for a request, who to wake, and the handle that
//! ends it at a hard stop. One task per thread, with one timer, watches
//! the deadlines, and ends the waits a drain ends. A connection holds a
//! slot (a few dozen bytes) instead of a timer, a drain subscription and
//! an entry in a registry of its own (a few hundred, for every idle
//! keep-alive connection); arming a wait takes one uncontended lock.
//!
//! Deadlines are kept lazily, as tokio keeps its own: moving a slot's
//! deadline later leaves its entry in the queue, and when that entry
//! comes due it is queued again for the later deadline; so a keep-alive
//! connection's deadline is queued about once per timeout, not once per
//! request. A wait that ended before its deadline leaves the deadline
//! behind; when it passes, the connection is woken once for nothing,
//! which its task shrugs off. A slot has at most one entry, taken out
//! when its connection ends.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::{sleep_until, Instant};

/// A deadline in whole milliseconds since the table's epoch; `NEVER`
/// when there is none.
type Millis = u64;
const NEVER: Millis = Millis::MAX;

/// Slots are made this many at a time, never moved: a table that grows
/// leaves no copy of itself behind.
const CHUNK: usize = 256;

/// One serving thread's table of connections.
#[derive(Debug)]
pub(crate) struct Alarms {
    table: Mutex<Table>,
    /// What deadlines count from.
    epoch: Instant,
}

#[derive(Debug, Default)]
struct Table {
    slots: Vec<Box<[Slot]>>,
    /// Slots free for the next connection.
    free: Vec<u32>,
    /// Queued deadlines, earliest first, at most one per slot: (deadline,
    /// slot).
    due: BTreeSet<(Millis, u32)>,
    /// The watching task, and the deadline its timer is set for.
    watcher: Option<Waker>,
    watched: Millis,
    /// A drain began: the waits it ends end at once.
    draining: bool,
}

#[derive(Debug)]
struct Slot {
    /// Counts the slot's owners, so a handle meant for one never goes
    /// to the next.
    generation: u32,
    /// Ends its connection's task (a hard stop).
    abort: Option<AbortHandle>,
    /// The deadline of its owner's current (or last) wait.
    deadline: Millis,
    /// The deadline of its entry in the queue, if it has one.
    queued: Millis,
    /// Who to wake when the deadline passes or a drain ends the wait.
    waker: Option<Waker>,
    /// The current wait's deadline passed.
    late: bool,
    /// A drain ends the current wait.
    drain_ends_it: bool,
}

impl Table {
    fn slot(&mut self, slot: u32) -> &mut Slot {
        &mut self.slots[slot as usize / CHUNK][slot as usize % CHUNK]
    }
}

impl Slot {
    /// A slot no connection holds.
    fn vacant() -> Self {
        Self {
            generation: 0,
            abort: None,
            deadline: NEVER,
            queued: NEVER,
            waker: None,
            late: false,
            drain_ends_it: false,
        }
    }
}

/// Why a wait ended before what it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// Its deadline passed.
    Late,
    /// A drain began.
    Drain,
}

impl Default for Alarms {
    fn default() -> Self {
        let table = Table {
            watched: NEVER,
            ..Table::default()
        };
        Self {
            table: Mutex::new(table),
            epoch: Instant::now(),
        }
    }
}

impl Alarms {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one connection, its own until it drops.
    pub(crate) fn alarm(self: &Arc<Self>) -> Alarm {
        let mut table = self.lock();
        if table.free.is_empty() {
            let made = table.slots.len() * CHUNK;
            let made = u32::try_from(made).expect("fewer than 2^32 connections");
            table.free.extend((made..made + CHUNK as u32).rev());
            table
                .slots
                .push((0..CHUNK).map(|_| Slot::vacant()).collect());
        }
        let slot = table.free.pop().expect("a free slot");
        let generation = table.slot(slot).generation;
        Alarm {
            alarms: Arc::clone(self),
            slot,
            generation,
        }
    }

    /// Gives `abort`, which ends its task, to the connection holding the
    /// slot `key` names ([`Alarm::key`]), unless it ended already.
    pub(crate) fn registered(&self, key: (u32, u32), abort: AbortHandle) {
        let (slot, generation) = key;
        let mut table = self.lock();
        let s = table.slot(slot);
        if s.generation == generation {
            s.abort = Some(abort);
        }
    }

    /// Ends every connection of the thread (a hard stop).
    pub(crate) fn cut(&self) {
        let handles: Vec<AbortHandle> = {
            let mut table = self.lock();
            let slots = table.slots.iter_mut().flat_map(|chunk| chunk.iter_mut());
            slots.filter_map(|s| s.abort.take()).collect()
        };
        handles.iter().for_each(AbortHandle::abort);
    }

    /// `at` in the table's milliseconds, rounded up: a deadline never
    /// passes early.
    fn millis(&self, at: Instant) -> Millis {
        let since = at.saturating_duration_since(self.epoch);
        let whole = since.as_millis() + u128::from(since.subsec_nanos() % 1_000_000 != 0);
        Millis::try_from(whole).unwrap_or(NEVER - 1)
    }

    /// Watches the table for as long as the thread serves: wakes each
    /// connection whose deadline passed, and, once `draining` turns true,
    /// each whose wait a drain ends.
    pub(crate) async fn watch(self: Arc<Self>, mut draining: watch::Receiver<bool>) {
        let mut drain = std::pin::pin!(async move {
            let _ = draining.wait_for(|draining| *draining).await;
        });
        let mut drained = false;
        let mut timer = std::pin::pin!(sleep_until(self.epoch));
        std::future::poll_fn(|cx| {
            if !drained && drain.as_mut().poll(cx).is_ready() {
                drained = true;
                self.drain();
            }
            loop {
                let now = self.millis_now();
                let next = self.fire(now, cx.waker());
                if next == NEVER {
                    return Poll::Pending;
                }
                timer
                    .as_mut()
                    .reset(self.epoch + std::time::Duration::from_millis(next));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// Now in the table's milliseconds, rounded down.
    fn millis_now(&self) -> Millis {
        let since = Instant::now().saturating_duration_since(self.epoch);
        Millis::try_from(since.as_millis()).unwrap_or(NEVER - 1)
    }

    /// Wakes the connections whose deadline is `now` or before; the
    /// next deadline, which the watcher `watcher` is to wake for.
    fn fire(&self, now: Millis, watcher: &Waker) -> Millis {
        let mut woken = Vec::new();
        let next = {
            let mut table = self.lock();
            while let Some(&(at, slot)) = table.due.first() {
                if at > now {
                    break;
                }
                table.due.pop_first();
                let s = table.slot(slot);
                s.queued = NEVER;
                if s.deadline == NEVER {
                    continue;
                }
                if s.deadline > now {
                    let later = s.deadline;
                    s.queued = later;
                    table.due.insert((later, slot));
                    continue;
                }
                s.late = true;
                woken.extend(s.waker.take());
            }
            let next = table.due.first().map_or(NEVER, |(at, _)| *at);
            table.watched = next;
            if !table.watcher.as_ref().is_some_and(|w| w.will_wake(watcher)) {
                table.watcher = Some(watcher.clone());
            }
            next
        };
        woken.into_iter().for_each(Waker::wake);
        next
    }

    /// A drain began: ends the waits it ends, now and from now on.
    fn drain(&self) {
        let woken: Vec<Waker> = {
            let mut table = self.lock();
            table.draining = true;
            let slots = table.slots.iter_mut().flat_map(|chunk| chunk.iter_mut());
            let ended = slots.filter(|s| s.drain_ends_it);
            ended.filter_map(|s| s.waker.take()).collect()
        };
        woken.into_iter().for_each(Waker::wake);
    }
}

/// A connection's slot in its thread's [`Alarms`], given back when it
/// drops.
#[derive(Debug)]
pub(crate) struct Alarm {
    alarms: Arc<Alarms>,
    slot: u32,
    generation: u32,
}

impl Alarm {
    /// Its slot, as [`Alarms::registered`] takes it.
    pub(crate) fn key(&self) -> (u32, u32) {
        (self.slot, self.generation)
    }

    /// Arms the slot for a wait until `until` (none: no deadline) that a
    /// drain ends when `drain_ends_it`, waking `waker`; whether it ended
    /// already (a drain began).
    fn arm(&self, until: Option<Instant>, drain_ends_it: bool, waker: &Waker) -> Option<Waited> {
        let deadline = until.map_or(NEVER, |at| self.alarms.millis(at));
        let mut table = self.alarms.lock();
        let draining = table.draining;
        let s = table.slot(self.slot);
        s.late = false;
        s.drain_ends_it = drain_ends_it;
        s.deadline = deadline;
        set_waker(&mut s.waker, waker);
        if draining && drain_ends_it {
            return Some(Waited::Drain);
        }
        // A later deadline waits for the queued one to come due.
        if deadline >= s.queued {
            return None;
        }
        let replaced = std::mem::replace(&mut s.queued, deadline);
        if replaced != NEVER {
            table.due.remove(&(replaced, self.slot));
        }
        table.due.insert((deadline, self.slot));
        if deadline >= table.watched {
            return None;
        }
        // The watcher sleeps past it: it is to set its timer again.
        table.watched = deadline;
        let watcher = table.watcher.clone();
        drop(table);
        if let Some(watcher) = watcher {
            watcher.wake();
        }
        None
    }

    /// Whether the wait armed last ended (its deadline passed, or a drain
    /// that ends it began); if not, `waker` is woken when it does.
    fn ended(&self, waker: &Waker) -> Option<Waited> {
        let mut table = self.alarms.lock();
        let draining = table.draining;
        let s = table.slot(self.slot);
        if s.late {
            return Some(Waited::Late);
        }
        if draining && s.drain_ends_it {
            return Some(Waited::Drain);
        }
        set_waker(&mut s.waker, waker);
        None
    }

    /// Polls `work` within the wait `until` / `drain_ends_it` (see
    /// [`Alarm::arm`]): its output, or why the wait ended first. Armed
    /// on the first poll that finds `work` not ready: a wait whose work
    /// is ready at once costs no lock.
    pub(crate) fn bound<'a, F: Future + ?Sized>(
        &'a self,
        until: Option<Instant>,
        drain_ends_it: bool,
        mut work: std::pin::Pin<&'a mut F>,
    ) -> impl Future<Output = Result<F::Output, Waited>> + 'a {
        let bounded = until.is_some() || drain_ends_it;
        let mut armed = false;
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(Ok(out));
            }
            if !bounded {
                return Poll::Pending;
            }
            let ended = match armed {
                false => self.arm(until, drain_ends_it, cx.waker()),
                true => self.ended(cx.waker()),
            };
            armed = true;
            ended.map_or(Poll::Pending, |waited| Poll::Ready(Err(waited)))
        })
    }
}

/// Keeps `waker` in `slot`, unless what is there wakes the same task.
fn set_waker(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        let mut table = self.alarms.lock();
        let s = table.slot(self.slot);
        let next_owner = Slot {
            generation: s.generation.wrapping_add(1),
            ..Slot::vacant()
        };
        let queued = std::mem::replace(s, next_owner).queued;
        if queued != NEVER {
            table.due.remove(&(queued, self.slot));
        }
        table.free.push(self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A thread's alarms with their watcher running, and the drain's
    /// sender.
    fn watched() -> (Arc<Alarms>, watch::Sender<bool>) {
        let alarms = Arc::new(Alarms::default());
        let (drain, draining) = watch::channel(false);
        tokio::spawn(Arc::clone(&alarms).watch(draining));
        (alarms, drain)
    }

    /// Waits on `alarm` for what never comes, until `after` from now.
    async fn wait_for_nothing(alarm: &Alarm, after: Duration, drain_ends_it: bool) -> Waited {
        let nothing = std::pin::pin!(std::future::pending::<()>());
        let until = Instant::now() + after;
        let bounded = alarm.bound(Some(until), drain_ends_it, nothing);
        bounded.await.expect_err("nothing comes")
    }

    /// Asserts that now is `secs` seconds after `start`, give or take
    /// the timer's millisecond (never before).
    fn assert_ended_at(start: Instant, secs: u64) {
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(secs), "{took:?}");
        assert!(
            took <= Duration::from_secs(secs) + Duration::from_millis(2),
            "{took:?}"
        );
    }

    // Input: a wait of 10 s on nothing (virtual time).
    // Output: it ends late, at 10 s to the millisecond, not before.
    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_late_at_its_deadline() {
        let (alarms, _drain) = watched();
        let alarm = alarms.alarm();
        let start = Instant::now();
        let waited = wait_for_nothing(&alarm, Duration::from_secs(10), false).await;
        assert_eq!(waited, Waited::Late);
        assert_ended_at(start, 10);
    }

    // Input: a wait bounded at 5 s whose work is done at 1 s, then a wait
    // of 20 s on nothing.
    // Output: the first ends with its work; the second ends at 21 s: the
    // first one's deadline, still queued, does not end it at 5 s.
    #[tokio::test(start_paused = true)]
    async fn a_later_deadline_replaces_the_queued_one() {
        let (alarms, _drain) = watched();
        let alarm = alarms.alarm();
        let start = Instant::now();
        let work = std::pin::pin!(tokio::time::sleep(Duration::from_secs(1)));
        let until = start + Duration::from_secs(5);
        assert_eq!(alarm.bound(Some(until), false, work).await, Ok(()));
        let waited = wait_for_nothing(&alarm, Duration::from_secs(20), false).await;
        assert_eq!(waited, Waited::Late);
        assert_ended_at(start, 21);
    }

    // Input: two connections waiting, one for its next request (a drain
    // ends that wait), one within a request; a drain begins at 1 s.
    // Output: the first ends at the drain, the second at its deadline; a
    // wait for a next request armed after the drain ends at once.
    #[tokio::test(start_paused = true)]
    async fn a_drain_ends_the_waits_between_requests() {
        let (alarms, drain) = watched();
        let (idle, busy) = (alarms.alarm(), alarms.alarm());
        let start = Instant::now();
        let ten = Duration::from_secs(10);
        let idle_wait = wait_for_nothing(&idle, ten, true);
        let busy_wait = wait_for_nothing(&busy, ten, false);
        let draining = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drain.send_replace(true);
        };
        let ended_idle = async {
            let waited = idle_wait.await;
            (waited, start.elapsed())
        };
        let (idle_ended, busy_ended, ()) = tokio::join!(ended_idle, busy_wait, draining);
        assert_eq!(idle_ended.0, Waited::Drain);
        assert!(idle_ended.1 < Duration::from_secs(2), "{:?}", idle_ended.1);
        assert_eq!(busy_ended, Waited::Late);
        assert!(start.elapsed() >= ten);
        let late_comer = alarms.alarm();
        let at_once = wait_for_nothing(&late_comer, ten, true).await;
        assert_eq!(at_once, Waited::Drain);
        assert!(start.elapsed() < ten + Duration::from_secs(1));
    }

    // Input: a connection ends with its deadline queued.
    // Output: the deadline leaves the queue, and its slot serves the next
    // connection.
    #[tokio::test(start_paused = true)]
    async fn an_ended_connection_leaves_nothing_queued() {
        let (alarms, _drain) = watched();
        let alarm = alarms.alarm();
        let nothing = std::pin::pin!(std::future::pending::<()>());
        let until = Instant::now() + Duration::from_secs(60);
        let wait = alarm.bound(Some(until), false, nothing);
        let stopped = tokio::time::timeout(Duration::from_secs(1), wait).await;
        assert!(stopped.is_err(), "still waiting at 1 s");
        assert_eq!(alarms.lock().due.len(), 1);
        drop(alarm);
        assert!(alarms.lock().due.is_empty());
        let next = alarms.alarm();
        assert_eq!((next.slot, alarms.lock().slots.len()), (0, 1));
        assert_eq!(next.generation, 1);
    }
}
