//! The RabbitMQ bus (production), over `lapin`.
//!
//! - Work queues are durable quorum queues; messages are persistent and
//!   every publish waits for the broker's confirm.
//! - Consumers ack manually, each on its own channel with its own prefetch
//!   (`basic.qos`), so a dropped consumer's unacked messages are requeued by
//!   the broker when its channel closes.
//! - `call` uses direct reply-to (`amq.rabbitmq.reply-to`) on a channel of
//!   its own, matched by correlation id.
//! - Broadcasts go through one fanout exchange per topic, each subscriber
//!   with an exclusive auto-delete queue; the exchange is auto-delete too, so
//!   a topic nobody listens to leaves nothing behind.
//!
//! One connection per [`AmqpBus`] (clones share it). When it drops (a broker
//! restart), the next operation reconnects with exponential backoff;
//! publishes retry until confirmed or [`AmqpOptions::retry_budget`] is
//! spent, and consumers and subscriptions resume on their own, so their
//! `next()` keeps yielding. Lapin's own auto-recovery is not used: resuming
//! here, per consumer, keeps the semantics explicit (re-declare, re-qos,
//! re-consume) and testable.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind,
    ExchangeKind,
};
use tokio::sync::{oneshot, watch, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{Acker, Bus, BusError, Consumer, Delivery, Subscription};

/// RabbitMQ's pseudo-queue for direct replies (no reply queue to declare).
const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";
const PERSISTENT: u8 = 2;
/// AMQP reply codes the bus acts on.
const NOT_FOUND: u16 = 404;
const PRECONDITION_FAILED: u16 = 406;

/// How an [`AmqpBus`] connects and how long it keeps trying.
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// Prepended to every queue and exchange name, so tests or deployments
    /// sharing a vhost keep apart. Empty in production.
    pub prefix: String,
    /// How long `publish` (and every other operation but consuming) keeps
    /// retrying through a broker outage before [`BusError::Unavailable`].
    pub retry_budget: Duration,
    /// How long [`AmqpBus::connect`] keeps trying to reach the broker.
    pub connect_budget: Duration,
    /// The limit of one connection attempt (a silent host would otherwise
    /// hold it for the kernel's TCP timeout).
    pub attempt_timeout: Duration,
    /// Reconnect backoff: the first wait, doubled after each failure up to
    /// `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Shown by `rabbitmqctl list_connections client_properties`.
    pub connection_name: String,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        AmqpOptions {
            prefix: String::new(),
            retry_budget: Duration::from_secs(60),
            connect_budget: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            connection_name: "gureum".to_owned(),
        }
    }
}

/// The RabbitMQ [`Bus`]. Clones share one connection.
#[derive(Clone)]
pub struct AmqpBus {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    options: AmqpOptions,
    /// The current connection; a tokio mutex because it is held across a
    /// reconnect, so concurrent operations wait for one reconnect instead of
    /// each opening a connection.
    link: Mutex<Option<Arc<Link>>>,
    generation: AtomicU64,
    closed: watch::Sender<bool>,
}

/// One connection and the channels shared by publishers.
struct Link {
    generation: u64,
    conn: Connection,
    /// Work publishes and replies (confirm mode).
    publish: Channel,
    /// Calls: direct reply-to needs the request published on the channel
    /// that consumes the replies.
    rpc: Channel,
    pending: Arc<StdMutex<HashMap<String, oneshot::Sender<Vec<u8>>>>>,
    /// Queues declared on this connection (declared again after a reconnect).
    declared: StdMutex<HashSet<String>>,
}

impl Link {
    fn healthy(&self) -> bool {
        self.conn.status().connected()
            && self.publish.status().connected()
            && self.rpc.status().connected()
    }
}

/// Why one attempt at an operation failed.
enum Failure {
    /// The connection or a channel went away: try again after reconnecting.
    Retry(String),
    /// The broker said no: retrying would not help.
    Fatal(BusError),
}

fn lock<T>(m: &StdMutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn reply_code(e: &lapin::Error) -> Option<u16> {
    match e.kind() {
        ErrorKind::ProtocolError(amqp) => Some(amqp.get_id()),
        _ => None,
    }
}

/// A channel-level (soft) AMQP error is the broker refusing this operation;
/// anything else (I/O, a closed connection or channel, a forced close) is
/// the connection going away.
fn classify(operation: &'static str, e: lapin::Error) -> Failure {
    if e.is_amqp_soft_error() {
        Failure::Fatal(BusError::Refused {
            operation,
            detail: e.to_string(),
        })
    } else {
        Failure::Retry(format!("{operation}: {e}"))
    }
}

fn short(operation: &'static str, s: &str) -> Result<ShortString, Failure> {
    ShortString::try_new(s).map_err(|e| {
        Failure::Fatal(BusError::Refused {
            operation,
            detail: format!("name {s:?}: {e}"),
        })
    })
}

/// The URL without its password, for logs and errors.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn wait(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}

fn persistent() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(PERSISTENT)
}

/// Publishes on `channel` and waits for the broker's confirm.
async fn publish_raw(
    channel: &Channel,
    exchange: ShortString,
    routing_key: ShortString,
    body: &[u8],
    properties: BasicProperties,
    mandatory: bool,
) -> Result<Confirmation, lapin::Error> {
    let options = BasicPublishOptions {
        mandatory,
        ..BasicPublishOptions::default()
    };
    channel
        .basic_publish(exchange, routing_key, options, body, properties)
        .await?
        .await
}

/// Publishes and waits for the confirm; a negative one is a refusal.
async fn publish_confirmed(
    channel: &Channel,
    operation: &'static str,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
    mandatory: bool,
) -> Result<(), Failure> {
    let (ex, rk) = (short(operation, exchange)?, short(operation, routing_key)?);
    let confirmation = publish_raw(channel, ex, rk, body, properties, mandatory)
        .await
        .map_err(|e| classify(operation, e))?;
    match confirmation {
        Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
        // Mandatory and unroutable: the queue vanished after we declared it
        // (deleted by someone else); declaring it again and retrying fixes it.
        Confirmation::Ack(Some(returned)) => Err(Failure::Retry(format!(
            "{operation}: returned by the broker: {} {}",
            returned.reply_code, returned.reply_text
        ))),
        Confirmation::Nack(_) => Err(Failure::Fatal(BusError::Refused {
            operation,
            detail: format!("the broker did not accept the message for {routing_key}"),
        })),
    }
}

impl std::fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpBus")
            .field("url", &redact(&self.inner.url))
            .field("prefix", &self.inner.options.prefix)
            .finish()
    }
}

impl AmqpBus {
    /// Connects to RabbitMQ (`amqp://user:pass@host:5672/%2f`), retrying for
    /// [`AmqpOptions::connect_budget`].
    pub async fn connect(url: &str, options: AmqpOptions) -> Result<AmqpBus, BusError> {
        let (closed, _) = watch::channel(false);
        let bus = AmqpBus {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                options,
                link: Mutex::new(None),
                generation: AtomicU64::new(0),
                closed,
            }),
        };
        let budget = bus.inner.options.connect_budget;
        bus.link(Some(Instant::now() + budget)).await?;
        Ok(bus)
    }

    /// Closes the connection for every clone: consumers and subscriptions
    /// end (`None`), further operations fail with [`BusError::Closed`].
    pub async fn close(&self) {
        self.inner.closed.send_replace(true);
        if let Some(link) = self.inner.link.lock().await.take() {
            if let Err(e) = link.conn.close(200, "closing".into()).await {
                tracing::debug!(error = %e, "closing the RabbitMQ connection");
            }
        }
    }

    /// Queue or exchange name on the broker.
    fn name(&self, name: &str) -> String {
        format!("{}{name}", self.inner.options.prefix)
    }

    fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            next: self.inner.options.backoff_initial,
            max: self.inner.options.backoff_max,
        }
    }

    /// Sleeps, or fails at once if the bus is closed meanwhile.
    async fn pause(&self, wait: Duration) -> Result<(), BusError> {
        let mut closed = self.inner.closed.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = closed.wait_for(|c| *c) => Err(BusError::Closed),
        }
    }

    /// The current connection, reconnecting (with backoff, until `deadline`)
    /// when it is gone.
    async fn link(&self, deadline: Option<Instant>) -> Result<Arc<Link>, BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        let mut guard = match deadline {
            Some(d) => tokio::time::timeout_at(d, self.inner.link.lock())
                .await
                .map_err(|_| {
                    BusError::Unavailable(format!(
                        "{}: still reconnecting",
                        redact(&self.inner.url)
                    ))
                })?,
            None => self.inner.link.lock().await,
        };
        if let Some(link) = guard.as_ref() {
            if link.healthy() {
                return Ok(link.clone());
            }
            tracing::warn!(
                generation = link.generation,
                "RabbitMQ connection lost; reconnecting"
            );
        }
        *guard = None;
        let mut backoff = self.backoff();
        loop {
            if self.is_closed() {
                return Err(BusError::Closed);
            }
            let attempt =
                tokio::time::timeout(self.inner.options.attempt_timeout, self.open_link());
            let why = match attempt.await {
                Ok(Ok(link)) => {
                    let link = Arc::new(link);
                    tracing::info!(
                        url = %redact(&self.inner.url),
                        generation = link.generation,
                        "connected to RabbitMQ"
                    );
                    *guard = Some(link.clone());
                    return Ok(link);
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => "connection attempt timed out".to_owned(),
            };
            let wait = backoff.wait();
            if deadline.is_some_and(|d| Instant::now() + wait > d) {
                return Err(BusError::Unavailable(format!(
                    "{}: {why}",
                    redact(&self.inner.url)
                )));
            }
            tracing::warn!(error = %why, retry_in = ?wait, "cannot connect to RabbitMQ");
            self.pause(wait).await?;
        }
    }

    async fn open_link(&self) -> Result<Link, lapin::Error> {
        let props = ConnectionProperties::default().with_connection_name(LongString::from(
            self.inner.options.connection_name.as_str(),
        ));
        let conn = Connection::connect(&self.inner.url, props).await?;
        let publish = conn.create_channel().await?;
        publish
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let rpc = conn.create_channel().await?;
        rpc.confirm_select(ConfirmSelectOptions::default()).await?;
        let mut replies = rpc
            .basic_consume(
                DIRECT_REPLY_TO.into(),
                format!("gureum-replies-{}", uuid::Uuid::new_v4().simple()).into(),
                // Direct reply-to requires no-ack.
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let pending: Arc<StdMutex<HashMap<String, oneshot::Sender<Vec<u8>>>>> = Arc::default();
        let waiting = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(reply)) = replies.next().await {
                let Some(id) = reply.properties.correlation_id() else {
                    continue;
                };
                if let Some(tx) = lock(&waiting).remove(id.as_str()) {
                    // The caller may have timed out meanwhile.
                    let _ = tx.send(reply.data);
                }
            }
            // The connection is gone and its replies with it: tell the
            // callers still waiting rather than let them time out.
            lock(&waiting).clear();
        });
        Ok(Link {
            generation: self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1,
            conn,
            publish,
            rpc,
            pending,
            declared: StdMutex::new(HashSet::new()),
        })
    }

    /// Runs `attempt` on the current connection until it succeeds, fails
    /// for good, or `budget` is spent (`None`: until the bus is closed).
    async fn retrying<T, F, Fut>(
        &self,
        operation: &'static str,
        budget: Option<Duration>,
        mut attempt: F,
    ) -> Result<T, BusError>
    where
        F: FnMut(Arc<Link>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let deadline = budget.map(|b| Instant::now() + b);
        let mut backoff = self.backoff();
        loop {
            let link = self.link(deadline).await?;
            let why = match attempt(link).await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(why)) => why,
            };
            let wait = backoff.wait();
            if deadline.is_some_and(|d| Instant::now() + wait > d) {
                return Err(BusError::Unavailable(why));
            }
            tracing::warn!(operation, error = %why, retry_in = ?wait, "bus operation failed; retrying");
            self.pause(wait).await?;
        }
    }

    fn budget(&self) -> Option<Duration> {
        Some(self.inner.options.retry_budget)
    }

    /// A short-lived channel for one declare, depth, delete or broadcast:
    /// their refusals (a 404 on a passive declare) close the channel, and
    /// that must not fail the other operations of the connection.
    async fn scratch(&self, link: &Link, confirms: bool) -> Result<Channel, Failure> {
        let ch = link
            .conn
            .create_channel()
            .await
            .map_err(|e| classify("open channel", e))?;
        if confirms {
            ch.confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(|e| classify("confirm select", e))?;
        }
        Ok(ch)
    }

    async fn ensure_declared(&self, link: &Link, queue: &str) -> Result<(), Failure> {
        if lock(&link.declared).contains(queue) {
            return Ok(());
        }
        let name = self.name(queue);
        let ch = self.scratch(link, false).await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        let declared = ch
            .queue_declare(
                short("declare", &name)?,
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                args,
            )
            .await;
        match declared {
            Ok(_) => {
                lock(&link.declared).insert(queue.to_owned());
                Ok(())
            }
            Err(e) if reply_code(&e) == Some(PRECONDITION_FAILED) => {
                Err(Failure::Fatal(BusError::Refused {
                    operation: "declare",
                    detail: format!(
                        "queue {name} exists with other arguments, but Gureum's work queues \
                         are durable quorum queues; delete it (rabbitmqctl delete_queue {name}) \
                         to let Gureum recreate it ({e})"
                    ),
                }))
            }
            Err(e) => Err(classify("declare", e)),
        }
    }

    /// Opens a channel consuming `queue` (declared first).
    async fn open_consumer(
        &self,
        link: Arc<Link>,
        queue: &str,
        prefetch: u16,
    ) -> Result<Feed, Failure> {
        self.ensure_declared(&link, queue).await?;
        let ch = link
            .conn
            .create_channel()
            .await
            .map_err(|e| classify("open channel", e))?;
        ch.basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| classify("qos", e))?;
        let consumer = ch
            .basic_consume(
                short("consume", &self.name(queue))?,
                format!("gureum-{}", uuid::Uuid::new_v4().simple()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| classify("consume", e))?;
        Ok(Feed {
            _link: link,
            consumer,
        })
    }

    /// Binds a fresh exclusive queue to the topic's fanout exchange.
    async fn open_subscription(&self, link: Arc<Link>, topic: &str) -> Result<Feed, Failure> {
        let exchange = short("subscribe", &self.name(topic))?;
        // The exchange may be auto-deleted between our declare and bind (the
        // last other subscriber leaving): not a refusal, just try again.
        let retry_404 = |op: &'static str| {
            move |e: lapin::Error| {
                if reply_code(&e) == Some(NOT_FOUND) {
                    Failure::Retry(format!("{op}: {e}"))
                } else {
                    classify(op, e)
                }
            }
        };
        let ch = link
            .conn
            .create_channel()
            .await
            .map_err(|e| classify("open channel", e))?;
        ch.exchange_declare(
            exchange.clone(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                auto_delete: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| classify("subscribe", e))?;
        let queue = ch
            .queue_declare(
                ShortString::default(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| classify("subscribe", e))?;
        ch.queue_bind(
            queue.name().clone(),
            exchange,
            ShortString::default(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(retry_404("bind"))?;
        let consumer = ch
            .basic_consume(
                queue.name().clone(),
                format!("gureum-{}", uuid::Uuid::new_v4().simple()).into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| classify("subscribe", e))?;
        Ok(Feed {
            _link: link,
            consumer,
        })
    }
}

#[async_trait]
impl Bus for AmqpBus {
    async fn declare(&self, queue: &str) -> Result<(), BusError> {
        self.retrying("declare", self.budget(), |link| async move {
            self.ensure_declared(&link, queue).await
        })
        .await
    }

    async fn publish(&self, queue: &str, body: Vec<u8>) -> Result<(), BusError> {
        let name = self.name(queue);
        let (name, body) = (name.as_str(), body.as_slice());
        self.retrying("publish", self.budget(), |link| async move {
            self.ensure_declared(&link, queue).await?;
            let published =
                publish_confirmed(&link.publish, "publish", "", name, body, persistent(), true)
                    .await;
            if let Err(Failure::Retry(_)) = &published {
                lock(&link.declared).remove(queue);
            }
            published
        })
        .await
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> Result<Box<dyn Consumer>, BusError> {
        // The first open is synchronous so a refusal (a queue of the wrong
        // type) reaches the caller; later reopens happen in `next`.
        let feed = self
            .retrying("consume", self.budget(), |link| {
                self.open_consumer(link, queue, prefetch)
            })
            .await?;
        Ok(Box::new(AmqpConsumer {
            stream: Resuming::new(
                self.clone(),
                Target::Queue {
                    queue: queue.to_owned(),
                    prefetch,
                },
                feed,
            ),
        }))
    }

    async fn call(
        &self,
        queue: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, BusError> {
        let deadline = Instant::now() + timeout;
        let correlation = uuid::Uuid::new_v4().simple().to_string();
        let name = self.name(queue);
        let (name, body, corr) = (name.as_str(), body.as_slice(), correlation.as_str());
        let (link, rx) = self
            .retrying("call", Some(timeout), |link| async move {
                self.ensure_declared(&link, queue).await?;
                let (tx, rx) = oneshot::channel();
                lock(&link.pending).insert(corr.to_owned(), tx);
                // The request expires with the caller's patience, so a
                // consumer that comes up later does not act on it.
                let ttl = deadline
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .max(1);
                let props = persistent()
                    .with_reply_to(DIRECT_REPLY_TO.into())
                    .with_correlation_id(short("call", corr)?)
                    .with_expiration(ttl.to_string().into());
                match publish_confirmed(&link.rpc, "call", "", name, body, props, true).await {
                    Ok(()) => Ok((link, rx)),
                    Err(f) => {
                        lock(&link.pending).remove(corr);
                        Err(f)
                    }
                }
            })
            .await?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(BusError::Unavailable(format!(
                "connection lost while waiting for the reply on {queue}"
            ))),
            Err(_) => {
                lock(&link.pending).remove(corr);
                Err(BusError::Timeout {
                    queue: queue.to_owned(),
                    timeout,
                })
            }
        }
    }

    async fn broadcast(&self, topic: &str, body: Vec<u8>) -> Result<(), BusError> {
        let exchange = self.name(topic);
        let (exchange, body) = (exchange.as_str(), body.as_slice());
        self.retrying("broadcast", self.budget(), |link| async move {
            let ch = self.scratch(&link, true).await?;
            // No exchange means no subscriber (it is auto-deleted with the
            // last one): nobody to tell, and nothing to create.
            let exists = ch
                .exchange_declare(
                    short("broadcast", exchange)?,
                    ExchangeKind::Fanout,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await;
            match exists {
                Ok(()) => {}
                Err(e) if reply_code(&e) == Some(NOT_FOUND) => return Ok(()),
                Err(e) => return Err(classify("broadcast", e)),
            }
            let (ex, rk) = (short("broadcast", exchange)?, ShortString::default());
            let props = BasicProperties::default();
            match publish_raw(&ch, ex, rk, body, props, false).await {
                Ok(Confirmation::Nack(_)) => Err(Failure::Fatal(BusError::Refused {
                    operation: "broadcast",
                    detail: format!("the broker did not accept the message for {exchange}"),
                })),
                Ok(_) => Ok(()),
                // Deleted in between: the last subscriber just left.
                Err(e) if reply_code(&e) == Some(NOT_FOUND) => Ok(()),
                Err(e) => Err(classify("broadcast", e)),
            }
        })
        .await
    }

    async fn subscribe(&self, topic: &str) -> Result<Box<dyn Subscription>, BusError> {
        let feed = self
            .retrying("subscribe", self.budget(), |link| {
                self.open_subscription(link, topic)
            })
            .await?;
        Ok(Box::new(AmqpSubscription {
            stream: Resuming::new(
                self.clone(),
                Target::Topic {
                    topic: topic.to_owned(),
                },
                feed,
            ),
        }))
    }

    async fn depth(&self, queue: &str) -> Result<u64, BusError> {
        let name = self.name(queue);
        let name = name.as_str();
        self.retrying("depth", self.budget(), |link| async move {
            let ch = self.scratch(&link, false).await?;
            let q = ch
                .queue_declare(
                    short("depth", name)?,
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await;
            match q {
                Ok(q) => Ok(u64::from(q.message_count())),
                Err(e) if reply_code(&e) == Some(NOT_FOUND) => Ok(0),
                Err(e) => Err(classify("depth", e)),
            }
        })
        .await
    }

    async fn delete(&self, queue: &str) -> Result<(), BusError> {
        let name = self.name(queue);
        let name = name.as_str();
        self.retrying("delete", self.budget(), |link| async move {
            lock(&link.declared).remove(queue);
            let ch = self.scratch(&link, false).await?;
            match ch
                .queue_delete(short("delete", name)?, QueueDeleteOptions::default())
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if reply_code(&e) == Some(NOT_FOUND) => Ok(()),
                Err(e) => Err(classify("delete", e)),
            }
        })
        .await
    }
}

/// A lapin consumer and the connection it lives on (kept so the link is
/// not dropped while the consumer uses it). Dropping it closes its channel,
/// which makes the broker requeue its unacked messages.
struct Feed {
    _link: Arc<Link>,
    consumer: lapin::Consumer,
}

enum Target {
    Queue { queue: String, prefetch: u16 },
    Topic { topic: String },
}

/// A feed that reopens itself after its connection or channel is lost.
struct Resuming {
    bus: AmqpBus,
    target: Target,
    current: Option<Feed>,
    /// A reopen under way. A task, so a caller cancelling `next` (a select
    /// or timeout) does not abandon a half-opened consumer.
    opening: Option<JoinHandle<Result<Feed, BusError>>>,
    closed: watch::Receiver<bool>,
}

impl Drop for Resuming {
    fn drop(&mut self) {
        if let Some(task) = self.opening.take() {
            task.abort();
        }
    }
}

impl Resuming {
    fn new(bus: AmqpBus, target: Target, feed: Feed) -> Resuming {
        let closed = bus.inner.closed.subscribe();
        Resuming {
            bus,
            target,
            current: Some(feed),
            opening: None,
            closed,
        }
    }

    fn describe(&self) -> &str {
        match &self.target {
            Target::Queue { queue, .. } => queue,
            Target::Topic { topic } => topic,
        }
    }

    fn reopen(&self) -> JoinHandle<Result<Feed, BusError>> {
        let bus = self.bus.clone();
        match &self.target {
            Target::Queue { queue, prefetch } => {
                let (queue, prefetch) = (queue.clone(), *prefetch);
                tokio::spawn(async move {
                    // Consumers never give up: they wait out any outage.
                    bus.retrying("consume", None, |link| {
                        bus.open_consumer(link, &queue, prefetch)
                    })
                    .await
                })
            }
            Target::Topic { topic } => {
                let topic = topic.clone();
                tokio::spawn(async move {
                    bus.retrying("subscribe", None, |link| {
                        bus.open_subscription(link, &topic)
                    })
                    .await
                })
            }
        }
    }

    async fn next(&mut self) -> Option<lapin::message::Delivery> {
        loop {
            if self.bus.is_closed() {
                return None;
            }
            let Some(feed) = self.current.as_mut() else {
                if self.opening.is_none() {
                    self.opening = Some(self.reopen());
                }
                let opening = self.opening.as_mut()?;
                let opened = tokio::select! {
                    r = opening => r,
                    _ = self.closed.wait_for(|c| *c) => return None,
                };
                self.opening = None;
                match opened {
                    Ok(Ok(feed)) => {
                        tracing::info!(target = %self.describe(), "consumer resumed");
                        self.current = Some(feed);
                    }
                    Ok(Err(BusError::Closed)) => return None,
                    Ok(Err(e)) => {
                        // Refused (e.g. the queue was recreated with other
                        // arguments): keep trying, slowly, and say why.
                        tracing::error!(target = %self.describe(), error = %e, "cannot resume consuming");
                        let wait = self.bus.inner.options.backoff_max;
                        if self.bus.pause(wait).await.is_err() {
                            return None;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "consumer reopen task failed");
                    }
                }
                continue;
            };
            let got = tokio::select! {
                d = feed.consumer.next() => d,
                _ = self.closed.wait_for(|c| *c) => return None,
            };
            match got {
                Some(Ok(delivery)) => return Some(delivery),
                Some(Err(e)) => {
                    tracing::warn!(target = %self.describe(), error = %e, "consumer lost its channel; resuming");
                }
                None => {
                    tracing::warn!(target = %self.describe(), "consumer cancelled by the broker; resuming");
                }
            }
            self.current = None;
            // Do not spin if the broker keeps cancelling us.
            let wait = self.bus.inner.options.backoff_initial;
            if self.bus.pause(wait).await.is_err() {
                return None;
            }
        }
    }
}

struct AmqpConsumer {
    stream: Resuming,
}

#[async_trait]
impl Consumer for AmqpConsumer {
    async fn next(&mut self) -> Option<Delivery> {
        let d = self.stream.next().await?;
        let acker = AmqpAcker {
            bus: self.stream.bus.clone(),
            reply_to: d.properties.reply_to().clone(),
            correlation_id: d.properties.correlation_id().clone(),
            acker: d.acker,
            settled: false,
        };
        Some(Delivery::new(d.data, d.redelivered, Box::new(acker)))
    }
}

struct AmqpAcker {
    bus: AmqpBus,
    acker: lapin::Acker,
    reply_to: Option<ShortString>,
    correlation_id: Option<ShortString>,
    settled: bool,
}

impl AmqpAcker {
    /// An ack or nack that cannot reach the broker because its channel is
    /// gone is not an error: the broker requeued the message when the
    /// channel closed, and handlers are idempotent.
    fn settle_result(
        operation: &'static str,
        r: Result<bool, lapin::Error>,
    ) -> Result<(), BusError> {
        match r {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(
                    operation,
                    "channel gone; the broker will redeliver the message"
                );
                Ok(())
            }
            Err(e) => match classify(operation, e) {
                Failure::Fatal(e) => Err(e),
                Failure::Retry(why) => {
                    tracing::warn!(operation, error = %why, "channel gone; the broker will redeliver the message");
                    Ok(())
                }
            },
        }
    }
}

impl Drop for AmqpAcker {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // Dropped unsettled: its handler died. Give it back now rather than
        // when the consumer's channel closes.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let acker = self.acker.clone();
            rt.spawn(async move {
                let requeue = BasicNackOptions {
                    requeue: true,
                    multiple: false,
                };
                if let Err(e) = acker.nack(requeue).await {
                    tracing::debug!(error = %e, "requeue of a dropped delivery");
                }
            });
        }
    }
}

#[async_trait]
impl Acker for AmqpAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), BusError> {
        self.settled = true;
        let r = self.acker.ack(BasicAckOptions::default()).await;
        Self::settle_result("ack", r)
    }

    async fn nack(mut self: Box<Self>, requeue: bool) -> Result<(), BusError> {
        self.settled = true;
        let r = self
            .acker
            .nack(BasicNackOptions {
                requeue,
                multiple: false,
            })
            .await;
        Self::settle_result("nack", r)
    }

    async fn reply(&self, body: Vec<u8>) -> Result<(), BusError> {
        let Some(reply_to) = self.reply_to.as_ref() else {
            return Ok(());
        };
        let mut props = BasicProperties::default();
        if let Some(id) = &self.correlation_id {
            props = props.with_correlation_id(id.clone());
        }
        let (to, body, props) = (reply_to.as_str(), body.as_slice(), &props);
        // Any channel may answer a direct reply-to; not mandatory, since a
        // caller that gave up has nothing left to route to.
        self.bus
            .retrying("reply", self.bus.budget(), |link| async move {
                publish_confirmed(&link.publish, "reply", "", to, body, props.clone(), false).await
            })
            .await
    }
}

struct AmqpSubscription {
    stream: Resuming,
}

#[async_trait]
impl Subscription for AmqpSubscription {
    async fn next(&mut self) -> Option<Vec<u8>> {
        self.stream.next().await.map(|d| d.data)
    }
}
