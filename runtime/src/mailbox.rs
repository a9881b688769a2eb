//! The driver's commands to each request in progress, kept until its
//! exchange takes them: one entry per request in the driver's own map,
//! no channel to allocate per request (the queues of closed mailboxes are
//! kept for the next ones). A request is in progress until its exchange
//! is gone (its answer may stream long after the last command). Each
//! request's mailbox sits in its lane ([`haven_core::lanes`]): the
//! thread serving it is the one that writes there.

use haven_core::lanes::{lane_of, per_lane, Padded};
use haven_core::proxy::StreamId;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// How many emptied queues wait for the next requests, in each lane.
const SPARE_QUEUES: usize = 256;

/// How many counters of posts each lane has (two cache lines' worth): a
/// request's is chosen by its id, so a post to one rarely changes the
/// counter another looks at.
const POST_COUNTERS: usize = 16;

/// Commands posted so far, counted apart for requests of different ids
/// (in the request's lane, by id): readable without the driver's lock.
#[derive(Debug)]
pub(crate) struct PostCounts(Box<[Padded<[AtomicU64; POST_COUNTERS]>]>);

impl PostCounts {
    /// Counters for the lanes of `threads` threads.
    fn new(threads: usize) -> Self {
        Self(per_lane(threads))
    }

    /// The count of commands posted so far to request `id` and the few
    /// that share its counter.
    pub(crate) fn to(&self, id: StreamId) -> u64 {
        self.counter(id).load(Ordering::Acquire)
    }

    fn counter(&self, id: StreamId) -> &AtomicU64 {
        let lanes = self.0.len();
        let within = (id >> lanes.trailing_zeros()) % POST_COUNTERS as u64;
        // The remainder is below POST_COUNTERS: the cast loses nothing.
        &self.0[lane_of(id, lanes)].0[within as usize]
    }
}

/// The commands of one request.
#[derive(Debug)]
struct Mailbox<C> {
    commands: VecDeque<C>,
    waker: Option<Waker>,
}

/// The mailboxes of one lane's requests.
#[derive(Debug)]
struct Lane<C> {
    boxes: FxHashMap<StreamId, Mailbox<C>>,
    /// Emptied queues of closed mailboxes, to open the next ones with.
    spare: Vec<VecDeque<C>>,
}

impl<C> Default for Lane<C> {
    fn default() -> Self {
        Self {
            boxes: FxHashMap::default(),
            spare: Vec::new(),
        }
    }
}

/// Every request's mailbox, by request id, in its lane.
#[derive(Debug)]
pub(crate) struct Mailboxes<C> {
    lanes: Box<[Padded<Lane<C>>]>,
    /// Commands posted so far, readable without the driver's lock.
    posted: Arc<PostCounts>,
}

impl<C> Mailboxes<C> {
    /// No mailbox yet, in the lanes of `threads` threads.
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            lanes: per_lane(threads),
            posted: Arc::new(PostCounts::new(threads)),
        }
    }

    fn lane(&self, id: StreamId) -> &Lane<C> {
        &self.lanes[lane_of(id, self.lanes.len())].0
    }

    fn lane_mut(&mut self, id: StreamId) -> &mut Lane<C> {
        let lane = lane_of(id, self.lanes.len());
        &mut self.lanes[lane].0
    }

    /// Opens the mailbox of request `id`.
    pub(crate) fn open(&mut self, id: StreamId) {
        let lane = self.lane_mut(id);
        let commands = lane.spare.pop().unwrap_or_default();
        lane.boxes.insert(
            id,
            Mailbox {
                commands,
                waker: None,
            },
        );
    }

    /// True when request `id` is open: its exchange is still there.
    pub(crate) fn in_progress(&self, id: StreamId) -> bool {
        self.lane(id).boxes.contains_key(&id)
    }

    /// How many requests are in progress.
    pub(crate) fn count_in_progress(&self) -> usize {
        self.lanes.iter().map(|l| l.0.boxes.len()).sum()
    }

    /// The counts of commands posted so far, shared: an exchange that
    /// found its mailbox empty, its waker left there, need not look again
    /// until its count changes.
    pub(crate) fn posted(&self) -> Arc<PostCounts> {
        Arc::clone(&self.posted)
    }

    /// Posts `command` to request `id`. Nothing happens when its exchange
    /// is gone.
    pub(crate) fn post(&mut self, id: StreamId, command: C) {
        let lane = lane_of(id, self.lanes.len());
        if let Some(m) = self.lanes[lane].0.boxes.get_mut(&id) {
            m.commands.push_back(command);
            self.posted.counter(id).fetch_add(1, Ordering::Release);
            if let Some(w) = m.waker.take() {
                w.wake();
            }
        }
    }

    /// The next command for request `id`; `Ready(None)` when there is no
    /// mailbox (closed, or never opened).
    pub(crate) fn poll(&mut self, id: StreamId, cx: &mut Context<'_>) -> Poll<Option<C>> {
        let Some(m) = self.lane_mut(id).boxes.get_mut(&id) else {
            return Poll::Ready(None);
        };
        match m.commands.pop_front() {
            Some(c) => Poll::Ready(Some(c)),
            None => {
                if !m.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    m.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// The next command for request `id` when one is there, taken by the
    /// one that caused it, without waiting.
    pub(crate) fn take(&mut self, id: StreamId) -> Option<C> {
        self.lane_mut(id).boxes.get_mut(&id)?.commands.pop_front()
    }

    /// Closes the mailbox of request `id`, whose exchange is gone; false
    /// when it was closed already.
    pub(crate) fn close(&mut self, id: StreamId) -> bool {
        let lane = self.lane_mut(id);
        let Some(mut closed) = lane.boxes.remove(&id) else {
            return false;
        };
        if lane.spare.len() < SPARE_QUEUES {
            closed.commands.clear();
            lane.spare.push(closed.commands);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn commands_come_in_order_until_the_mailbox_closes() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        // Two lanes: 7 in the second, 8 in the first, 9 in the second.
        let mut boxes = Mailboxes::new(2);
        let posted = boxes.posted();
        boxes.open(7);
        assert_eq!(boxes.poll(7, &mut cx), Poll::Pending);
        boxes.post(7, "connect");
        assert_eq!(posted.to(7), 1, "the post is counted");
        assert_eq!(posted.to(8), 0, "apart from another lane's request");
        assert_eq!(posted.to(9), 0, "apart from its lane's next request");
        assert_eq!(
            count.0.load(Ordering::Relaxed),
            1,
            "the waiting exchange is woken"
        );
        boxes.post(7, "finish");
        boxes.post(7, "log");
        assert_eq!(boxes.poll(7, &mut cx), Poll::Ready(Some("connect")));
        assert_eq!(boxes.take(7), Some("finish"), "taken in order");
        assert_eq!(boxes.poll(7, &mut cx), Poll::Ready(Some("log")));
        assert_eq!(boxes.take(7), None);
        assert!(
            boxes.in_progress(7),
            "in progress until the exchange is gone"
        );
        assert_eq!(boxes.poll(7, &mut cx), Poll::Pending);
        assert!(boxes.close(7));
        assert_eq!(boxes.poll(7, &mut cx), Poll::Ready(None));
        assert_eq!(boxes.count_in_progress(), 0);
    }

    #[test]
    fn a_closed_mailbox_takes_nothing() {
        let mut boxes = Mailboxes::new(3);
        boxes.open(1);
        boxes.open(2);
        assert_eq!(boxes.count_in_progress(), 2);
        assert!(boxes.close(1));
        assert!(!boxes.close(1));
        boxes.post(1, "connect");
        assert!(!boxes.in_progress(1));
        assert_eq!(boxes.count_in_progress(), 1);
    }
}
