//! The driver's commands to each request in progress, kept until its
//! exchange takes them: one entry per request in the driver's own map,
//! no channel to allocate per request.

use haven_core::proxy::StreamId;
use std::collections::{BTreeMap, VecDeque};
use std::task::{Context, Poll, Waker};

/// The commands of one request.
#[derive(Debug)]
struct Mailbox<C> {
    commands: VecDeque<C>,
    waker: Option<Waker>,
    /// Answered: the last command is in; no longer in progress.
    finished: bool,
}

/// Every request's mailbox, by request id.
#[derive(Debug)]
pub(crate) struct Mailboxes<C> {
    boxes: BTreeMap<StreamId, Mailbox<C>>,
}

impl<C> Default for Mailboxes<C> {
    fn default() -> Self {
        Self {
            boxes: BTreeMap::new(),
        }
    }
}

impl<C> Mailboxes<C> {
    /// Opens the mailbox of request `id`.
    pub(crate) fn open(&mut self, id: StreamId) {
        self.boxes.insert(
            id,
            Mailbox {
                commands: VecDeque::new(),
                waker: None,
                finished: false,
            },
        );
    }

    /// True when request `id` is open and not finished.
    pub(crate) fn in_progress(&self, id: StreamId) -> bool {
        self.boxes.get(&id).is_some_and(|m| !m.finished)
    }

    /// How many requests are in progress.
    pub(crate) fn count_in_progress(&self) -> usize {
        self.boxes.values().filter(|m| !m.finished).count()
    }

    /// Posts `command` to request `id`; `last`: it finishes the request.
    /// Nothing happens when its exchange is gone.
    pub(crate) fn post(&mut self, id: StreamId, command: C, last: bool) {
        if let Some(m) = self.boxes.get_mut(&id).filter(|m| !m.finished) {
            m.commands.push_back(command);
            m.finished = last;
            if let Some(w) = m.waker.take() {
                w.wake();
            }
        }
    }

    /// The next command for request `id`; `Ready(None)` once the last was
    /// taken (the mailbox is closed then) or when there is no mailbox.
    pub(crate) fn poll(&mut self, id: StreamId, cx: &mut Context<'_>) -> Poll<Option<C>> {
        let Some(m) = self.boxes.get_mut(&id) else {
            return Poll::Ready(None);
        };
        match m.commands.pop_front() {
            Some(c) => {
                if m.finished && m.commands.is_empty() {
                    self.boxes.remove(&id);
                }
                Poll::Ready(Some(c))
            }
            None => {
                if !m.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    m.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// Closes the mailbox of request `id`, whose exchange is gone; false
    /// when it was closed already.
    pub(crate) fn close(&mut self, id: StreamId) -> bool {
        self.boxes.remove(&id).is_some()
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
    fn commands_come_in_order_and_the_last_closes_the_mailbox() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        let mut boxes = Mailboxes::default();
        boxes.open(7);
        assert_eq!(boxes.poll(7, &mut cx), Poll::Pending);
        boxes.post(7, "connect", false);
        assert_eq!(
            count.0.load(Ordering::Relaxed),
            1,
            "the waiting exchange is woken"
        );
        boxes.post(7, "finish", true);
        boxes.post(7, "late", false);
        assert!(!boxes.in_progress(7));
        assert_eq!(boxes.poll(7, &mut cx), Poll::Ready(Some("connect")));
        assert_eq!(boxes.poll(7, &mut cx), Poll::Ready(Some("finish")));
        assert_eq!(boxes.poll(7, &mut cx), Poll::Ready(None));
        assert_eq!(boxes.count_in_progress(), 0);
    }

    #[test]
    fn a_closed_mailbox_takes_nothing() {
        let mut boxes = Mailboxes::default();
        boxes.open(1);
        boxes.open(2);
        assert_eq!(boxes.count_in_progress(), 2);
        assert!(boxes.close(1));
        assert!(!boxes.close(1));
        boxes.post(1, "connect", false);
        assert!(!boxes.in_progress(1));
        assert_eq!(boxes.count_in_progress(), 1);
    }
}
