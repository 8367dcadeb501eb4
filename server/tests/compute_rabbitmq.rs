//! One server and two agents over the real RabbitMQ on this machine: boots
//! spread across both nodes; an agent that dies leaves no instance stuck
//! (its boots time out and are retried on the other node). The agents run
//! in this process, each with its own connection to the broker (as a
//! separate `gureum-agent` would have) and its own node and state dir.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud::Backend;
use common::TestCloud;
use serde_json::{json, Value};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn amqp_url() -> String {
    std::env::var("GUREUM_TEST_AMQP_URL").unwrap_or_else(|_| AMQP.into())
}

struct RunningAgent {
    bus: bus::AmqpBus,
    task: tokio::task::JoinHandle<()>,
    dir: std::path::PathBuf,
}

async fn start_agent(prefix: &str, node: &str) -> RunningAgent {
    let options = bus::AmqpOptions {
        prefix: prefix.into(),
        connection_name: format!("gureum-test-agent {node}"),
        ..Default::default()
    };
    let bus = bus::AmqpBus::connect(&amqp_url(), options)
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ is required for this test ({}): {e}", amqp_url()));
    let dir = std::env::temp_dir().join(format!(
        "gureum-test-agent-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let cfg = agent::AgentConfig {
        node: node.into(),
        libvirt_uri: "test:///default".into(),
        state_dir: dir.clone(),
        heartbeat_interval_secs: 1,
        vcpus: Some(8),
        memory_mib: Some(8192),
        disk_gb: Some(100),
        ..Default::default()
    };
    let hv = agent::Hypervisor::open("test:///default").await.unwrap();
    let agent = agent::Agent::new(cfg, Arc::new(bus.clone()), hv);
    let task = tokio::spawn(async move {
        let _ = agent.run(std::future::pending()).await;
    });
    RunningAgent { bus, task, dir }
}

async fn boot(c: &TestCloud, tok: &str, image: &str, name: &str) -> String {
    let res = c
        .post(
            tok,
            &format!("{}/compute/v2.1/servers", c.url),
            json!({"server": {"name": name, "imageRef": image, "flavorRef": "tiny", "networks": "none"}}),
        )
        .await
        .expect(202);
    res.body["server"]["id"].as_str().unwrap().to_string()
}

/// Waits until every server is ACTIVE; returns each one's host.
async fn hosts_when_active(c: &TestCloud, ids: &[String]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    for id in ids {
        loop {
            let s: Value = c
                .get(
                    &c.admin_token,
                    &format!("{}/compute/v2.1/servers/{id}", c.url),
                )
                .await
                .expect(200)
                .body["server"]
                .clone();
            if s["status"] == "ACTIVE" {
                out.push(s["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string());
                break;
            }
            assert_ne!(s["status"], "ERROR", "{s}");
            assert!(Instant::now() < deadline, "never ACTIVE: {s}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_the_work_and_a_dead_agent_strands_nothing() {
    let prefix = format!("test-{}.", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let c = TestCloud::start_with(Backend::MySql, |cfg| {
        cfg.bus.url = amqp_url();
        cfg.bus.prefix = prefix.clone();
        cfg.bus.embedded_agent = false;
        cfg.compute.spawn_timeout_secs = 3;
    })
    .await;
    let a = start_agent(&prefix, "node-a").await;
    let b = start_agent(&prefix, "node-b").await;

    let img = c
        .create_image(&c.admin_token, json!({"name": "tiny", "disk_format": "raw", "container_format": "bare", "visibility": "public"}))
        .await;
    let image = img["id"].as_str().unwrap().to_string();
    c.upload_image(&c.admin_token, &image, b"bootable bytes".to_vec())
        .await
        .expect(204);
    c.post(
        &c.admin_token,
        &format!("{}/compute/v2.1/flavors", c.url),
        json!({"flavor": {"name": "tiny", "vcpus": 1, "ram": 512, "disk": 1, "id": "tiny"}}),
    )
    .await
    .expect(200);
    // Both nodes registered.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hv = c
            .get(
                &c.admin_token,
                &format!("{}/compute/v2.1/os-hypervisors", c.url),
            )
            .await
            .expect(200);
        if hv.body["hypervisors"].as_array().map_or(0, Vec::len) == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "agents never registered: {}",
            hv.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(boot(&c, &tok, &image, &format!("spread-{i}")).await);
    }
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for h in hosts_when_active(&c, &ids).await {
        *per_node.entry(h).or_default() += 1;
    }
    assert_eq!(per_node.get("node-a"), Some(&3), "{per_node:?}");
    assert_eq!(per_node.get("node-b"), Some(&3), "{per_node:?}");

    // node-b's agent dies; the scheduler still counts it up for a while.
    b.task.abort();
    b.bus.close().await;
    let mut more = Vec::new();
    for i in 0..4 {
        more.push(boot(&c, &tok, &image, &format!("after-{i}")).await);
    }
    let hosts = hosts_when_active(&c, &more).await;
    assert!(hosts.iter().all(|h| h == "node-a"), "{hosts:?}");

    a.task.abort();
    a.bus.close().await;
    for d in [&a.dir, &b.dir] {
        let _ = std::fs::remove_dir_all(d);
    }
    c.finish().await;
}
