//! The conformance suite on the in-process bus.

use bus::{conformance, BusError, MemoryBus};

macro_rules! checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> Result<(), BusError> {
            conformance::$name(&MemoryBus::new()).await
        }
    )*};
}

checks!(
    round_trip,
    ack_and_nack,
    dropped_delivery_and_consumer_redeliver,
    prefetch_is_honoured,
    competing_consumers,
    call_and_reply,
    broadcast_reaches_all_subscribers,
    depth_counts_ready_messages,
);

#[tokio::test]
async fn close_ends_consumers_and_refuses_publishes() -> Result<(), BusError> {
    use bus::Bus;
    let bus = MemoryBus::new();
    let mut c = bus.consume("q", 1).await?;
    let mut s = bus.subscribe("t").await?;
    let clone = bus.clone();
    let waiter = tokio::spawn(async move { c.next().await.is_none() });
    tokio::task::yield_now().await;
    clone.close();
    assert!(waiter
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))?);
    assert!(s.next().await.is_none());
    assert!(matches!(
        bus.publish("q", vec![1]).await,
        Err(BusError::Closed)
    ));
    Ok(())
}
