//! The behaviour every [`Bus`] must have, as checks that run against any
//! implementation (this crate's tests run them on [`crate::MemoryBus`] and
//! [`crate::AmqpBus`]; other crates may run them on what they wire up).
//!
//! Each check uses fresh, uniquely named queues and topics, deletes its
//! queues at the end, and panics (an assertion) when the bus misbehaves;
//! a bus error is returned as is.

use std::collections::HashSet;
use std::time::Duration;

use crate::{Bus, BusError, Consumer, Delivery, Subscription};

/// How long a message that should arrive may take (a broker on a busy CI
/// machine is slow; a message that never comes fails the check after this).
pub const ARRIVAL: Duration = Duration::from_secs(10);

/// How long to watch for a message that must not arrive.
pub const QUIET: Duration = Duration::from_millis(500);

/// A queue or topic name no other test (or test run) uses.
pub fn unique(what: &str) -> String {
    format!("conformance.{what}.{}", uuid::Uuid::new_v4().simple())
}

/// The next delivery, failing the check if none comes in time.
pub async fn expect_delivery(consumer: &mut dyn Consumer, what: &str) -> Delivery {
    match tokio::time::timeout(ARRIVAL, consumer.next()).await {
        Ok(Some(d)) => d,
        Ok(None) => panic!("{what}: consumer ended"),
        Err(_) => panic!("{what}: no delivery within {ARRIVAL:?}"),
    }
}

/// Fails the check if a delivery arrives within [`QUIET`].
pub async fn expect_quiet(consumer: &mut dyn Consumer, what: &str) {
    if let Ok(Some(d)) = tokio::time::timeout(QUIET, consumer.next()).await {
        panic!(
            "{what}: unexpected delivery {:?}",
            String::from_utf8_lossy(&d.body)
        );
    }
}

async fn expect_broadcast(sub: &mut dyn Subscription, what: &str) -> Vec<u8> {
    match tokio::time::timeout(ARRIVAL, sub.next()).await {
        Ok(Some(b)) => b,
        Ok(None) => panic!("{what}: subscription ended"),
        Err(_) => panic!("{what}: no broadcast within {ARRIVAL:?}"),
    }
}

/// Waits until `queue` holds `want` ready messages (a broker's counts may
/// trail its confirms a little).
async fn expect_depth(bus: &dyn Bus, queue: &str, want: u64) -> Result<(), BusError> {
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    loop {
        let got = bus.depth(queue).await?;
        if got == want {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            panic!("depth of {queue}: {got}, expected {want}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs every check in turn.
pub async fn all(bus: &dyn Bus) -> Result<(), BusError> {
    round_trip(bus).await?;
    ack_and_nack(bus).await?;
    dropped_delivery_and_consumer_redeliver(bus).await?;
    prefetch_is_honoured(bus).await?;
    competing_consumers(bus).await?;
    call_and_reply(bus).await?;
    broadcast_reaches_all_subscribers(bus).await?;
    depth_counts_ready_messages(bus).await?;
    Ok(())
}

/// A published message reaches a consumer once, unmarked.
pub async fn round_trip(bus: &dyn Bus) -> Result<(), BusError> {
    let q = unique("round-trip");
    bus.publish(&q, b"hello".to_vec()).await?;
    let mut c = bus.consume(&q, 1).await?;
    let d = expect_delivery(c.as_mut(), "round trip").await;
    assert_eq!(d.body, b"hello");
    assert!(!d.redelivered, "a first delivery is not marked redelivered");
    // Replying to a published (not called) message does nothing.
    d.reply(b"nobody".to_vec()).await?;
    d.ack().await?;
    expect_quiet(c.as_mut(), "after ack").await;
    drop(c);
    bus.delete(&q).await
}

/// Ack removes; nack with requeue redelivers marked; nack without drops.
pub async fn ack_and_nack(bus: &dyn Bus) -> Result<(), BusError> {
    let q = unique("nack");
    bus.declare(&q).await?;
    let mut c = bus.consume(&q, 5).await?;

    bus.publish(&q, b"a".to_vec()).await?;
    let d = expect_delivery(c.as_mut(), "first").await;
    assert_eq!(d.body, b"a");
    d.nack(true).await?;
    let d = expect_delivery(c.as_mut(), "requeued").await;
    assert_eq!(d.body, b"a");
    assert!(d.redelivered, "a requeued message is marked redelivered");
    d.ack().await?;
    expect_quiet(c.as_mut(), "after ack").await;

    bus.publish(&q, b"b".to_vec()).await?;
    let d = expect_delivery(c.as_mut(), "second").await;
    assert_eq!(d.body, b"b");
    d.nack(false).await?;
    expect_quiet(c.as_mut(), "after nack without requeue").await;
    drop(c);
    expect_depth(bus, &q, 0).await?;
    bus.delete(&q).await
}

/// A delivery dropped unsettled (its handler died) comes back; so do all
/// of a dropped consumer's unacked messages, to another consumer.
pub async fn dropped_delivery_and_consumer_redeliver(bus: &dyn Bus) -> Result<(), BusError> {
    let q = unique("dropped");
    bus.declare(&q).await?;
    let mut a = bus.consume(&q, 10).await?;
    for m in ["m1", "m2", "m3"] {
        bus.publish(&q, m.as_bytes().to_vec()).await?;
    }
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(expect_delivery(a.as_mut(), "consumer a").await);
    }
    let dropped = held.remove(0);
    let body = dropped.body.clone();
    drop(dropped);
    let again = expect_delivery(a.as_mut(), "dropped delivery").await;
    assert_eq!(again.body, body);
    assert!(again.redelivered, "a dropped delivery comes back marked");
    held.push(again);

    // Consumer a dies with three unacked messages in hand.
    drop(held);
    drop(a);
    let mut b = bus.consume(&q, 10).await?;
    let mut got = HashSet::new();
    for _ in 0..3 {
        let d = expect_delivery(b.as_mut(), "consumer b").await;
        assert!(d.redelivered, "a dead consumer's messages come back marked");
        got.insert(String::from_utf8_lossy(&d.body).into_owned());
        d.ack().await?;
    }
    let want: HashSet<String> = ["m1", "m2", "m3"].map(String::from).into();
    assert_eq!(got, want);
    expect_quiet(b.as_mut(), "after all acked").await;
    drop(b);
    bus.delete(&q).await
}

/// A consumer never has more than `prefetch` unsettled messages.
pub async fn prefetch_is_honoured(bus: &dyn Bus) -> Result<(), BusError> {
    let q = unique("prefetch");
    bus.declare(&q).await?;
    for i in 0..5 {
        bus.publish(&q, format!("p{i}").into_bytes()).await?;
    }
    let mut c = bus.consume(&q, 2).await?;
    let first = expect_delivery(c.as_mut(), "first of window").await;
    let second = expect_delivery(c.as_mut(), "second of window").await;
    expect_quiet(c.as_mut(), "window full").await;
    first.ack().await?;
    let third = expect_delivery(c.as_mut(), "after one ack").await;
    expect_quiet(c.as_mut(), "window full again").await;
    second.ack().await?;
    third.ack().await?;
    for _ in 0..2 {
        expect_delivery(c.as_mut(), "rest").await.ack().await?;
    }
    drop(c);
    expect_depth(bus, &q, 0).await?;
    bus.delete(&q).await
}

/// Two consumers of one queue share its messages: each message goes to
/// exactly one of them, and none is lost.
pub async fn competing_consumers(bus: &dyn Bus) -> Result<(), BusError> {
    const N: usize = 200;
    let q = unique("competing");
    bus.declare(&q).await?;
    let a = bus.consume(&q, 10).await?;
    let b = bus.consume(&q, 10).await?;
    let drain = |mut c: Box<dyn Consumer>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            // Ends when the queue stays idle: all messages were handed out.
            while let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(2), c.next()).await {
                got.push(String::from_utf8_lossy(&d.body).into_owned());
                d.ack().await?;
                // Some "work", so one consumer cannot drain everything
                // before the other is polled.
                tokio::task::yield_now().await;
            }
            Ok::<_, BusError>(got)
        })
    };
    let (ta, tb) = (drain(a), drain(b));
    for i in 0..N {
        bus.publish(&q, format!("c{i}").into_bytes()).await?;
    }
    let got_a = ta
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))??;
    let got_b = tb
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))??;
    let mut all: Vec<&String> = got_a.iter().chain(&got_b).collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "a message was delivered twice");
    assert_eq!(all.len(), N, "messages lost");
    assert!(
        !got_a.is_empty() && !got_b.is_empty(),
        "both consumers got work ({} / {})",
        got_a.len(),
        got_b.len()
    );
    bus.delete(&q).await
}

/// `call` gets the consumer's reply; with nobody answering it times out.
pub async fn call_and_reply(bus: &dyn Bus) -> Result<(), BusError> {
    let q = unique("call");
    bus.declare(&q).await?;
    let mut c = bus.consume(&q, 1).await?;
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let Some(d) = c.next().await else { break };
            let mut answer = d.body.clone();
            answer.reverse();
            d.reply(answer).await?;
            d.ack().await?;
        }
        Ok::<_, BusError>(())
    });
    let reply = bus.call(&q, b"ping".to_vec(), ARRIVAL).await?;
    assert_eq!(reply, b"gnip");
    let reply = bus.call(&q, b"abc".to_vec(), ARRIVAL).await?;
    assert_eq!(reply, b"cba");
    server
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))??;

    let silent = unique("call-silent");
    let started = std::time::Instant::now();
    match bus.call(&silent, b"hello?".to_vec(), QUIET).await {
        Err(BusError::Timeout { queue, timeout }) => {
            assert_eq!(queue, silent);
            assert_eq!(timeout, QUIET);
        }
        other => panic!("call with no consumer: {other:?}"),
    }
    assert!(started.elapsed() >= QUIET, "timed out early");
    bus.delete(&q).await?;
    bus.delete(&silent).await
}

/// Every current subscriber gets every broadcast; a later one gets only
/// what is broadcast after it subscribed.
pub async fn broadcast_reaches_all_subscribers(bus: &dyn Bus) -> Result<(), BusError> {
    let topic = unique("topic");
    let mut s1 = bus.subscribe(&topic).await?;
    let mut s2 = bus.subscribe(&topic).await?;
    bus.broadcast(&topic, b"one".to_vec()).await?;
    assert_eq!(expect_broadcast(s1.as_mut(), "s1").await, b"one");
    assert_eq!(expect_broadcast(s2.as_mut(), "s2").await, b"one");

    let mut s3 = bus.subscribe(&topic).await?;
    bus.broadcast(&topic, b"two".to_vec()).await?;
    for (s, name) in [(&mut s1, "s1"), (&mut s2, "s2"), (&mut s3, "s3")] {
        assert_eq!(expect_broadcast(s.as_mut(), name).await, b"two");
    }
    // Broadcasting to a topic nobody listens to is fine.
    bus.broadcast(&unique("topic-empty"), b"void".to_vec())
        .await
}

/// `depth` counts messages waiting, not those handed out.
pub async fn depth_counts_ready_messages(bus: &dyn Bus) -> Result<(), BusError> {
    let q = unique("depth");
    assert_eq!(bus.depth(&q).await?, 0, "a missing queue holds nothing");
    bus.declare(&q).await?;
    expect_depth(bus, &q, 0).await?;
    for i in 0..3 {
        bus.publish(&q, format!("d{i}").into_bytes()).await?;
    }
    expect_depth(bus, &q, 3).await?;
    let mut c = bus.consume(&q, 1).await?;
    let d = expect_delivery(c.as_mut(), "depth").await;
    expect_depth(bus, &q, 2).await?;
    d.ack().await?;
    drop(c);
    bus.delete(&q).await?;
    assert_eq!(bus.depth(&q).await?, 0, "a deleted queue holds nothing");
    Ok(())
}
