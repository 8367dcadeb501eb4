//! The conformance suite on RabbitMQ, plus what only a real broker shows:
//! queue-type refusals and surviving a dropped connection.
//!
//! Needs the broker at amqp://guest:guest@127.0.0.1:5672/%2f (or
//! `GUREUM_TEST_AMQP_URL`); the tests fail, not skip, without it.

use std::time::Duration;

use bus::conformance::{self, expect_delivery, expect_quiet, unique, ARRIVAL};
use bus::{AmqpBus, AmqpOptions, Bus, BusError};

fn url() -> String {
    std::env::var("GUREUM_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn options() -> AmqpOptions {
    AmqpOptions {
        connect_budget: Duration::from_secs(5),
        retry_budget: Duration::from_secs(30),
        connection_name: unique("test-connection"),
        ..AmqpOptions::default()
    }
}

async fn connect(options: AmqpOptions) -> AmqpBus {
    // Captured per test: printed when it fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "bus=debug".into()),
        )
        .with_test_writer()
        .try_init();
    let url = url();
    match AmqpBus::connect(&url, options).await {
        Ok(bus) => bus,
        Err(e) => panic!(
            "RabbitMQ is unreachable at {url} (start it, or point GUREUM_TEST_AMQP_URL at one): {e}"
        ),
    }
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> Result<(), BusError> {
            let bus = connect(options()).await;
            conformance::$name(&bus).await?;
            bus.close().await;
            Ok(())
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
async fn unreachable_broker_is_unavailable() {
    let started = std::time::Instant::now();
    let opts = AmqpOptions {
        connect_budget: Duration::from_millis(500),
        ..options()
    };
    // Port 1 on loopback: nothing listens, the refusal is immediate.
    match AmqpBus::connect("amqp://guest:guest@127.0.0.1:1/%2f", opts).await {
        Err(BusError::Unavailable(msg)) => {
            assert!(!msg.contains("guest:guest"), "password in error: {msg}");
        }
        other => panic!("connect to a closed port: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_isolates_names() -> Result<(), BusError> {
    let prefix = format!("{}.", unique("prefix"));
    let plain = connect(options()).await;
    let prefixed = connect(AmqpOptions {
        prefix: prefix.clone(),
        ..options()
    })
    .await;
    let q = unique("prefixed");
    prefixed.publish(&q, b"x".to_vec()).await?;
    assert_eq!(prefixed.depth(&q).await?, 1);
    assert_eq!(plain.depth(&q).await?, 0);
    assert_eq!(plain.depth(&format!("{prefix}{q}")).await?, 1);
    prefixed.delete(&q).await?;
    plain.close().await;
    prefixed.close().await;
    Ok(())
}

/// A queue someone declared as a classic queue is refused with a clear
/// message, not silently used with the wrong guarantees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_classic_queue_is_refused() -> Result<(), BusError> {
    use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
    let q = unique("classic");
    let conn = lapin::Connection::connect(&url(), lapin::ConnectionProperties::default())
        .await
        .expect("raw lapin connection");
    let ch = conn.create_channel().await.expect("channel");
    ch.queue_declare(
        q.as_str().into(),
        QueueDeclareOptions::durable(),
        lapin::types::FieldTable::default(),
    )
    .await
    .expect("classic queue");

    let bus = connect(options()).await;
    match bus.declare(&q).await {
        Err(BusError::Refused { operation, detail }) => {
            assert_eq!(operation, "declare");
            assert!(detail.contains("quorum"), "{detail}");
        }
        other => panic!("declare over a classic queue: {other:?}"),
    }
    // Publishing declares too, and is refused the same way.
    assert!(matches!(
        bus.publish(&q, b"x".to_vec()).await,
        Err(BusError::Refused { .. })
    ));
    ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default())
        .await
        .expect("delete classic queue");
    bus.close().await;
    Ok(())
}

/// Closes this test's connection on the broker, as a RabbitMQ restart would.
async fn force_close(connection_name: &str) {
    let out = tokio::process::Command::new("rabbitmqctl")
        .args(["-q", "list_connections", "pid", "client_properties"])
        .output()
        .await
        .expect("run rabbitmqctl (on the broker's machine)");
    let listing = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains(connection_name))
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(pids.len(), 1, "our connection in:\n{listing}");
    let status = tokio::process::Command::new("rabbitmqctl")
        .args([
            "-q",
            "close_connection",
            pids[0],
            "test: simulated broker restart",
        ])
        .status()
        .await
        .expect("rabbitmqctl close_connection");
    assert!(status.success());
}

/// The connection drops under a consumer holding an unacked message: the
/// consumer resumes by itself, the unacked message comes back redelivered,
/// a publish made right after the drop is delivered, and calls and
/// broadcasts work again. Nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_connection_loss() -> Result<(), BusError> {
    let opts = options();
    let name = opts.connection_name.clone();
    let bus = connect(opts).await;
    let q = unique("reconnect");
    let topic = unique("reconnect-topic");
    let mut c = bus.consume(&q, 5).await?;
    let mut sub = bus.subscribe(&topic).await?;

    bus.publish(&q, b"before".to_vec()).await?;
    let held = expect_delivery(c.as_mut(), "before the drop").await;
    assert_eq!(held.body, b"before");

    force_close(&name).await;

    // Published through the reconnect (the first attempt finds the
    // connection dead, or dies before its confirm).
    bus.publish(&q, b"after".to_vec()).await?;
    // Acking on the dead channel is harmless: the broker requeued it.
    held.ack().await?;

    let mut got = Vec::new();
    for _ in 0..2 {
        let d = expect_delivery(c.as_mut(), "after the drop").await;
        got.push((String::from_utf8_lossy(&d.body).into_owned(), d.redelivered));
        d.ack().await?;
    }
    got.sort();
    assert_eq!(
        got,
        vec![("after".to_owned(), false), ("before".to_owned(), true)]
    );
    expect_quiet(c.as_mut(), "after the drop, all acked").await;

    // Calls: the reply consumer is re-established on the new connection.
    let mut server = bus.consume(&q, 1).await?;
    let answer = tokio::spawn(async move {
        let d = server.next().await?;
        d.reply(b"pong".to_vec()).await.ok()?;
        d.ack().await.ok()
    });
    drop(c);
    assert_eq!(bus.call(&q, b"ping".to_vec(), ARRIVAL).await?, b"pong");
    answer
        .await
        .expect("responder task")
        .expect("responder answered");

    // The subscription resumes on a new queue; broadcasts made before it
    // rebinds are (by design) lost, so keep sending until one arrives.
    let listener = tokio::spawn(async move { sub.next().await });
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    while !listener.is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "subscription never resumed"
        );
        bus.broadcast(&topic, b"hello again".to_vec()).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let heard = listener.await.expect("listener task");
    assert_eq!(heard.as_deref(), Some(&b"hello again"[..]));

    bus.delete(&q).await?;
    bus.close().await;
    Ok(())
}

/// Publishes in flight when the connection drops are retried on the new
/// one: every publish that returned Ok is delivered (duplicates allowed, at
/// least once), with a consumer running throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_in_flight_survive_connection_loss() -> Result<(), BusError> {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let opts = options();
    let name = opts.connection_name.clone();
    let bus = connect(opts).await;
    let q = unique("in-flight");
    let mut c = bus.consume(&q, 20).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (bus, q, stop) = (bus.clone(), q.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = 0usize;
            while !stop.load(Ordering::SeqCst) {
                bus.publish(&q, format!("m{sent}").into_bytes()).await?;
                sent += 1;
            }
            Ok::<_, BusError>(sent)
        })
    };
    let consumer = tokio::spawn(async move {
        let mut seen = HashSet::new();
        while let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(3), c.next()).await {
            seen.insert(String::from_utf8_lossy(&d.body).into_owned());
            d.ack().await?;
        }
        Ok::<_, BusError>(seen)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    force_close(&name).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let sent = publisher.await.expect("publisher task")?;
    let seen = consumer.await.expect("consumer task")?;
    assert!(sent > 10, "the publisher made progress ({sent})");
    let missing: Vec<usize> = (0..sent)
        .filter(|i| !seen.contains(&format!("m{i}")))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} of {sent}: {missing:?}",
        missing.len()
    );
    bus.delete(&q).await?;
    bus.close().await;
    Ok(())
}

/// `close` ends consumers and refuses further work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_consumers() -> Result<(), BusError> {
    let bus = connect(options()).await;
    let q = unique("close");
    let mut c = bus.consume(&q, 1).await?;
    let waiter = tokio::spawn(async move { c.next().await.is_none() });
    bus.delete(&q).await?;
    bus.close().await;
    let ended = tokio::time::timeout(ARRIVAL, waiter)
        .await
        .expect("consumer ended in time")
        .expect("consumer task");
    assert!(ended);
    assert!(matches!(
        bus.publish(&q, b"late".to_vec()).await,
        Err(BusError::Closed)
    ));
    Ok(())
}
