//! The message bus between Gureum's servers and the agents on its nodes, and
//! the messages they exchange.
//!
//! Both sides link this crate, so it stays small: no database, no password
//! hashing. [`Bus`] has two implementations that pass one test suite:
//! RabbitMQ ([`amqp::AmqpBus`], production) and in-process
//! ([`memory::MemoryBus`], the embedded default of `make run`).
//!
//! Delivery is at least once: work queues are durable, messages persistent,
//! publishes confirmed by the broker, and a consumer acknowledges a message
//! only after its work is done and its result published. A handler must
//! therefore be idempotent: a redelivered message does no harm.

use std::time::Duration;

use async_trait::async_trait;

pub mod amqp;
pub mod conformance;
pub mod memory;
pub mod messages;

pub use amqp::{AmqpBus, AmqpOptions};
pub use memory::MemoryBus;
pub use messages::{decode, encode, MessageError};

/// The queue every server consumes agents' results and events from
/// (competing consumers: each event is handled by one server).
pub const CONDUCTOR_QUEUE: &str = "conductor";

/// The work queue of one node's compute agent.
pub fn compute_queue(node: &str) -> String {
    format!("compute.{node}")
}

/// The broadcast topic servers use to tell each other of revoked tokens
/// (and other identity changes that invalidate caches).
pub const REVOCATION_TOPIC: &str = "identity.revocations";

/// The broadcast topic servers tell each other of instance changes on
/// ([`messages::InstanceChanges`]), for the dashboard's live views.
pub const INSTANCE_TOPIC: &str = "compute.instance-changes";

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached (after the configured retries).
    #[error("message bus unavailable: {0}")]
    Unavailable(String),
    /// A `call` got no reply in time.
    #[error("no reply on {queue} within {timeout:?}")]
    Timeout { queue: String, timeout: Duration },
    /// The broker refused a publish (negative confirm) or an operation.
    #[error("message bus refused {operation}: {detail}")]
    Refused {
        operation: &'static str,
        detail: String,
    },
    /// The bus was closed by this process.
    #[error("message bus closed")]
    Closed,
}

/// A message taken from a work queue. It stays with this consumer until it
/// is acknowledged; if the consumer dies first, the broker hands it to
/// another (with `redelivered` set).
pub struct Delivery {
    pub body: Vec<u8>,
    /// True when this message was handed out before and not acknowledged.
    pub redelivered: bool,
    acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("bytes", &self.body.len())
            .field("redelivered", &self.redelivered)
            .finish()
    }
}

impl Delivery {
    pub fn new(body: Vec<u8>, redelivered: bool, acker: Box<dyn Acker>) -> Delivery {
        Delivery {
            body,
            redelivered,
            acker,
        }
    }

    /// The work is done (and its result published): drop the message.
    pub async fn ack(self) -> Result<(), BusError> {
        self.acker.ack().await
    }

    /// Give the message back: to the queue again (`requeue`), or dropped.
    pub async fn nack(self, requeue: bool) -> Result<(), BusError> {
        self.acker.nack(requeue).await
    }

    /// Answers a message sent with [`Bus::call`] (a no-op for one that was
    /// published, which has no one waiting). The caller still acks.
    pub async fn reply(&self, body: Vec<u8>) -> Result<(), BusError> {
        self.acker.reply(body).await
    }
}

/// How a delivery is settled; each bus implements it.
#[async_trait]
pub trait Acker: Send + Sync {
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), BusError>;
    async fn reply(&self, body: Vec<u8>) -> Result<(), BusError>;
}

/// A stream of deliveries from one work queue. It survives broker restarts:
/// an implementation reconnects and resumes consuming on its own.
#[async_trait]
pub trait Consumer: Send {
    /// The next delivery; `None` once the bus is closed.
    async fn next(&mut self) -> Option<Delivery>;
}

/// A stream of broadcast messages on one topic (each subscriber gets every
/// message published while it is subscribed; nothing is kept for the absent).
#[async_trait]
pub trait Subscription: Send {
    async fn next(&mut self) -> Option<Vec<u8>>;
}

/// The bus. Queue names are plain strings (`compute.<node>`, `conductor`);
/// declaring is idempotent and implied by `publish` and `consume`.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Declares a durable work queue (quorum queue on RabbitMQ) if missing.
    async fn declare(&self, queue: &str) -> Result<(), BusError>;

    /// Publishes a persistent message to a work queue and returns once the
    /// broker has confirmed it; across a broker restart it retries until
    /// confirmed or the bus's retry budget is spent.
    async fn publish(&self, queue: &str, body: Vec<u8>) -> Result<(), BusError>;

    /// Consumes a work queue with at most `prefetch` unacknowledged messages
    /// in hand.
    async fn consume(&self, queue: &str, prefetch: u16) -> Result<Box<dyn Consumer>, BusError>;

    /// Sends a request to a work queue and waits for the one reply its
    /// consumer sends with [`Delivery::reply`].
    async fn call(
        &self,
        queue: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, BusError>;

    /// Sends a message to every current subscriber of `topic`.
    async fn broadcast(&self, topic: &str, body: Vec<u8>) -> Result<(), BusError>;

    async fn subscribe(&self, topic: &str) -> Result<Box<dyn Subscription>, BusError>;

    /// Messages waiting in a queue (ready, not yet delivered): for tests,
    /// health and `make bench`. A missing queue holds 0.
    async fn depth(&self, queue: &str) -> Result<u64, BusError>;

    /// Deletes a work queue and the messages in it (a node removed for good;
    /// tests cleaning up). Deleting a missing queue succeeds.
    async fn delete(&self, queue: &str) -> Result<(), BusError> {
        let _ = queue;
        Ok(())
    }
}
