//! A bounded queue between a receiving task and its publisher, which takes
//! everything gathered so far as one batch.
//!
//! While the publisher waits for the bus to make a batch durable, records
//! gather in the queue; the next publish takes all of them (up to a maximum).
//! So batches grow with load by themselves and latency stays low when the
//! load is light. The bound is where backpressure starts: a TCP reader waits
//! for room ([`Gather::push`]), which stops it reading its socket; the UDP
//! receiver cannot wait and drops instead ([`Gather::try_push`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Gather<T> {
    state: Mutex<State<T>>,
    not_empty: Notify,
    not_full: Notify,
    capacity: usize,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> Gather<T> {
    /// A queue holding up to `capacity` items (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Gather {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            not_empty: Notify::new(),
            not_full: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds items, first waiting while the queue is full. The items are
    /// added together, so the queue may exceed its capacity by one call's
    /// worth. Returns the items back if the queue was closed.
    pub(crate) async fn push(&self, items: Vec<T>) -> Result<(), Vec<T>> {
        if items.is_empty() {
            return Ok(());
        }
        loop {
            let room = self.not_full.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut state = self.lock();
                if state.closed {
                    return Err(items);
                }
                if state.items.len() < self.capacity {
                    state.items.extend(items);
                    drop(state);
                    self.not_empty.notify_waiters();
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// Adds one item unless the queue is full or closed (then it is returned).
    pub(crate) fn try_push(&self, item: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed || state.items.len() >= self.capacity {
            return Err(item);
        }
        state.items.push_back(item);
        drop(state);
        self.not_empty.notify_waiters();
        Ok(())
    }

    /// Up to `max` items, waiting for at least one; `None` once the queue is
    /// closed and empty.
    pub(crate) async fn take(&self, max: usize) -> Option<Vec<T>> {
        loop {
            let ready = self.not_empty.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut state = self.lock();
                if !state.items.is_empty() {
                    let n = state.items.len().min(max.max(1));
                    let batch: Vec<T> = state.items.drain(..n).collect();
                    drop(state);
                    self.not_full.notify_waiters();
                    return Some(batch);
                }
                if state.closed {
                    return None;
                }
            }
            ready.await;
        }
    }

    /// No more items will be pushed; [`Gather::take`] drains what is left.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_waiters();
        self.not_full.notify_waiters();
    }

    /// Items waiting now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn batches_gather_while_the_publisher_is_busy() {
        let gather = Arc::new(Gather::new(100));
        gather.push(vec![1, 2, 3]).await.unwrap();
        gather.push(vec![4]).await.unwrap();
        assert_eq!(gather.take(10).await, Some(vec![1, 2, 3, 4]));
        gather.push((0..30).collect()).await.unwrap();
        assert_eq!(gather.take(25).await.map(|b| b.len()), Some(25));
        assert_eq!(gather.take(25).await.map(|b| b.len()), Some(5));
        gather.close();
        assert_eq!(gather.take(10).await, None);
        assert_eq!(gather.push(vec![1]).await, Err(vec![1]));
    }

    #[tokio::test]
    async fn a_full_queue_holds_the_producer_back_and_refuses_try_push() {
        let gather = Arc::new(Gather::new(2));
        gather.push(vec![1, 2]).await.unwrap();
        assert_eq!(gather.try_push(3), Err(3));
        let producer = {
            let gather = gather.clone();
            tokio::spawn(async move { gather.push(vec![5, 6]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!producer.is_finished(), "waits for room");
        assert_eq!(gather.take(1).await, Some(vec![1]));
        producer.await.unwrap().unwrap();
        assert_eq!(gather.len(), 3);
    }

    #[tokio::test]
    async fn a_waiting_publisher_wakes_on_push_and_close() {
        let gather = Arc::new(Gather::<u32>::new(10));
        let consumer = {
            let gather = gather.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while let Some(batch) = gather.take(100).await {
                    seen.extend(batch);
                }
                seen
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        gather.try_push(7).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        gather.push(vec![8, 9]).await.unwrap();
        gather.close();
        assert_eq!(consumer.await.unwrap(), vec![7, 8, 9]);
    }
}
