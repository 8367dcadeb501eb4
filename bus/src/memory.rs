//! The in-process bus: the embedded default, and the reference the RabbitMQ
//! implementation is tested against (same [`crate::conformance`] suite).
//!
//! Semantics follow RabbitMQ's: named queues with competing consumers, a
//! prefetch window per consumer, and a message that is not acknowledged
//! (nacked with requeue, or its [`Delivery`] dropped: the consumer died)
//! goes back to the front of its queue marked `redelivered`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{broadcast, oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::{Acker, Bus, BusError, Consumer, Delivery, Subscription};

/// How many broadcast messages a slow subscriber may fall behind before it
/// loses the oldest (broadcasts are cache invalidations: losing one is
/// logged, and the subscriber's caches expire anyway).
const BROADCAST_CAPACITY: usize = 1024;

/// The in-process [`Bus`]. Clones share the same queues.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

struct Inner {
    queues: Mutex<HashMap<String, Arc<Queue>>>,
    topics: Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>,
    closed: AtomicBool,
    close_tx: watch::Sender<bool>,
}

#[derive(Default)]
struct Queue {
    ready: Mutex<VecDeque<Message>>,
    /// Woken (all waiters) on every push, so no wakeup is lost when a
    /// woken consumer is cancelled before it pops.
    notify: Notify,
}

struct Message {
    body: Vec<u8>,
    redelivered: bool,
    /// Where the answer to a `call` goes; travels with the message across
    /// requeues until one consumer replies.
    reply: Option<oneshot::Sender<Vec<u8>>>,
    /// A `call`'s request is dropped once its caller stopped waiting
    /// (RabbitMQ: per-message TTL).
    expires: Option<Instant>,
}

/// Locks a mutex, shrugging off poisoning: the data under these locks is
/// always left consistent (single push/pop operations).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for MemoryBus {
    fn default() -> Self {
        MemoryBus::new()
    }
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("queues", &lock(&self.inner.queues).len())
            .finish()
    }
}

impl MemoryBus {
    pub fn new() -> MemoryBus {
        let (close_tx, _) = watch::channel(false);
        MemoryBus {
            inner: Arc::new(Inner {
                queues: Mutex::new(HashMap::new()),
                topics: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                close_tx,
            }),
        }
    }

    /// Closes the bus for every clone: consumers and subscriptions end
    /// (`None`), further operations fail with [`BusError::Closed`].
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.close_tx.send_replace(true);
        lock(&self.inner.topics).clear();
        for q in lock(&self.inner.queues).values() {
            q.notify.notify_waiters();
        }
    }

    fn check_open(&self) -> Result<(), BusError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }

    fn queue(&self, name: &str) -> Arc<Queue> {
        lock(&self.inner.queues)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    fn push(&self, queue: &str, msg: Message) -> Result<(), BusError> {
        self.check_open()?;
        let q = self.queue(queue);
        lock(&q.ready).push_back(msg);
        q.notify.notify_waiters();
        Ok(())
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn declare(&self, queue: &str) -> Result<(), BusError> {
        self.check_open()?;
        self.queue(queue);
        Ok(())
    }

    async fn publish(&self, queue: &str, body: Vec<u8>) -> Result<(), BusError> {
        self.push(
            queue,
            Message {
                body,
                redelivered: false,
                reply: None,
                expires: None,
            },
        )
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> Result<Box<dyn Consumer>, BusError> {
        self.check_open()?;
        // Prefetch 0 means unlimited, as in AMQP.
        let window = if prefetch == 0 {
            Semaphore::MAX_PERMITS
        } else {
            usize::from(prefetch)
        };
        Ok(Box::new(MemoryConsumer {
            bus: self.clone(),
            queue: self.queue(queue),
            window: Arc::new(Semaphore::new(window)),
            closed: self.inner.close_tx.subscribe(),
        }))
    }

    async fn call(
        &self,
        queue: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, BusError> {
        let (tx, rx) = oneshot::channel();
        self.push(
            queue,
            Message {
                body,
                redelivered: false,
                reply: Some(tx),
                expires: Some(Instant::now() + timeout),
            },
        )?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            // The sender went away unanswered: the request expired or the
            // bus closed; either way nobody will answer.
            Ok(Err(_)) if self.check_open().is_err() => Err(BusError::Closed),
            Ok(Err(_)) | Err(_) => Err(BusError::Timeout {
                queue: queue.to_owned(),
                timeout,
            }),
        }
    }

    async fn broadcast(&self, topic: &str, body: Vec<u8>) -> Result<(), BusError> {
        self.check_open()?;
        if let Some(tx) = lock(&self.inner.topics).get(topic) {
            // No receiver is not an error: nobody is subscribed right now.
            let _ = tx.send(body);
        }
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<Box<dyn Subscription>, BusError> {
        self.check_open()?;
        let rx = lock(&self.inner.topics)
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(BROADCAST_CAPACITY).0)
            .subscribe();
        Ok(Box::new(MemorySubscription {
            topic: topic.to_owned(),
            rx,
            closed: self.inner.close_tx.subscribe(),
        }))
    }

    async fn depth(&self, queue: &str) -> Result<u64, BusError> {
        self.check_open()?;
        let q = lock(&self.inner.queues).get(queue).cloned();
        Ok(match q {
            Some(q) => {
                let mut ready = lock(&q.ready);
                let now = Instant::now();
                ready.retain(|m| m.expires.is_none_or(|e| e > now));
                ready.len() as u64
            }
            None => 0,
        })
    }

    async fn delete(&self, queue: &str) -> Result<(), BusError> {
        self.check_open()?;
        lock(&self.inner.queues).remove(queue);
        Ok(())
    }
}

struct MemoryConsumer {
    bus: MemoryBus,
    queue: Arc<Queue>,
    window: Arc<Semaphore>,
    closed: watch::Receiver<bool>,
}

impl MemoryConsumer {
    fn pop(&self) -> Option<Message> {
        let mut ready = lock(&self.queue.ready);
        let now = Instant::now();
        while let Some(msg) = ready.pop_front() {
            if msg.expires.is_some_and(|e| e <= now) {
                continue;
            }
            return Some(msg);
        }
        None
    }
}

#[async_trait]
impl Consumer for MemoryConsumer {
    async fn next(&mut self) -> Option<Delivery> {
        let permit = tokio::select! {
            p = self.window.clone().acquire_owned() => p.ok()?,
            _ = self.closed.wait_for(|c| *c) => return None,
        };
        loop {
            if self.bus.check_open().is_err() {
                return None;
            }
            let notified = self.queue.notify.notified();
            tokio::pin!(notified);
            // Registered before looking, so a push in between still wakes us.
            notified.as_mut().enable();
            if let Some(mut msg) = self.pop() {
                let redelivered = msg.redelivered;
                let body = msg.body.clone();
                // Moved out so `reply` (which has `&self`) can use it; it
                // goes back into the message if that is requeued.
                let reply = Mutex::new(msg.reply.take());
                let acker = MemoryAcker {
                    queue: self.queue.clone(),
                    msg: Some(msg),
                    reply,
                    _permit: permit,
                };
                return Some(Delivery::new(body, redelivered, Box::new(acker)));
            }
            notified.await;
        }
    }
}

/// Holds an unsettled message; giving it back on drop is what makes a
/// crashed handler's work reappear for another consumer.
struct MemoryAcker {
    queue: Arc<Queue>,
    msg: Option<Message>,
    reply: Mutex<Option<oneshot::Sender<Vec<u8>>>>,
    /// Frees a slot in the consumer's prefetch window when settled.
    _permit: OwnedSemaphorePermit,
}

impl MemoryAcker {
    fn requeue(&mut self) {
        if let Some(mut msg) = self.msg.take() {
            msg.redelivered = true;
            msg.reply = lock(&self.reply).take();
            lock(&self.queue.ready).push_front(msg);
            self.queue.notify.notify_waiters();
        }
    }
}

impl Drop for MemoryAcker {
    fn drop(&mut self) {
        self.requeue();
    }
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), BusError> {
        self.msg = None;
        Ok(())
    }

    async fn nack(mut self: Box<Self>, requeue: bool) -> Result<(), BusError> {
        if requeue {
            self.requeue();
        } else {
            self.msg = None;
        }
        Ok(())
    }

    async fn reply(&self, body: Vec<u8>) -> Result<(), BusError> {
        if let Some(tx) = lock(&self.reply).take() {
            // The caller may have given up (timeout): nobody to tell.
            let _ = tx.send(body);
        }
        Ok(())
    }
}

struct MemorySubscription {
    topic: String,
    rx: broadcast::Receiver<Vec<u8>>,
    closed: watch::Receiver<bool>,
}

#[async_trait]
impl Subscription for MemorySubscription {
    async fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            let got = tokio::select! {
                r = self.rx.recv() => r,
                _ = self.closed.wait_for(|c| *c) => return None,
            };
            match got {
                Ok(body) => return Some(body),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(topic = %self.topic, missed = n, "broadcast subscriber fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
