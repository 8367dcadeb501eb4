#![allow(clippy::unwrap_used)]
//! The agent end to end over the in-process bus and libvirt's test driver
//! (`test:///default`: real libvirt, domains kept in memory, no QEMU).
//!
//! The test driver's state is shared by every connection in the process,
//! so each test uses its own node name and instance UUIDs.

use std::sync::Arc;
use std::time::Duration;

use agent::{Agent, AgentConfig, Hypervisor};
use bus::memory::MemoryBus;
use bus::messages::{
    ActionResult, AgentEvent, ComputeAction, ComputeRequest, ConfigDrive, ConsoleOutput, ImageRef,
    NodeReport, Outcome, PowerState, SpawnSpec,
};
use bus::{compute_queue, decode, encode, Bus, Consumer, CONDUCTOR_QUEUE};

const WAIT: Duration = Duration::from_secs(20);

struct Harness {
    bus: Arc<dyn Bus>,
    node: String,
    hv: Hypervisor,
    conductor: Box<dyn Consumer>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), agent::AgentError>>>,
    _dir: tempfile::TempDir,
    seq: u32,
}

impl Harness {
    async fn start(node: &str, tune: impl FnOnce(&mut AgentConfig)) -> Harness {
        Harness::start_on(Arc::new(MemoryBus::new()), node, tune).await
    }

    async fn start_on(
        bus: Arc<dyn Bus>,
        node: &str,
        tune: impl FnOnce(&mut AgentConfig),
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = AgentConfig {
            node: node.into(),
            libvirt_uri: "test:///default".into(),
            state_dir: dir.path().to_owned(),
            host_ip: "192.0.2.10".into(),
            ..Default::default()
        };
        tune(&mut cfg);
        let hv = Hypervisor::open(&cfg.libvirt_uri).await.unwrap();
        bus.declare(CONDUCTOR_QUEUE).await.unwrap();
        let conductor = bus.consume(CONDUCTOR_QUEUE, 16).await.unwrap();
        let agent = Agent::new(cfg, bus.clone(), hv.clone());
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            agent
                .run(async move {
                    let _ = rx.await;
                })
                .await
        });
        Harness {
            bus,
            node: node.into(),
            hv,
            conductor,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
            seq: 0,
        }
    }

    /// The next event on the conductor queue (acknowledged).
    async fn event(&mut self) -> AgentEvent {
        let d = tokio::time::timeout(WAIT, self.conductor.next())
            .await
            .expect("no event from the agent")
            .unwrap();
        let ev = decode(&d.body).unwrap();
        d.ack().await.unwrap();
        ev
    }

    async fn heartbeat(&mut self) -> NodeReport {
        loop {
            if let AgentEvent::Heartbeat(r) = self.event().await {
                return r;
            }
        }
    }

    async fn publish(&self, req: &ComputeRequest) {
        self.bus
            .publish(&compute_queue(&self.node), encode(req))
            .await
            .unwrap();
    }

    async fn result_for(&mut self, request_id: &str) -> ActionResult {
        loop {
            if let AgentEvent::Result(r) = self.event().await {
                if r.request_id == request_id {
                    return r;
                }
            }
        }
    }

    fn request(&mut self, instance_id: &str, action: ComputeAction) -> ComputeRequest {
        self.seq += 1;
        ComputeRequest {
            request_id: format!("{}-req-{}", self.node, self.seq),
            instance_id: instance_id.into(),
            action,
        }
    }

    async fn send(&mut self, instance_id: &str, action: ComputeAction) -> Outcome {
        let req = self.request(instance_id, action);
        self.publish(&req).await;
        let r = self.result_for(&req.request_id).await;
        assert_eq!(r.node, self.node);
        assert_eq!(r.instance_id, instance_id);
        r.outcome
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task.take().unwrap())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

fn done(state: PowerState) -> Outcome {
    Outcome::Done { power_state: state }
}

fn spec(domain_name: &str) -> SpawnSpec {
    SpawnSpec {
        name: format!("vm <{domain_name}>"),
        domain_name: domain_name.into(),
        vcpus: 1,
        memory_mib: 128,
        root_gb: 1,
        image: ImageRef {
            id: "cirros".into(),
            download_url: "http://127.0.0.1:9/never-fetched".into(),
            disk_format: "qcow2".into(),
            size: 1,
            hash_algo: "sha512".into(),
            hash_value: "00".into(),
            download_grant: None,
        },
        kernel: None,
        ramdisk: None,
        kernel_cmdline: None,
        interfaces: vec![],
        config_drive: ConfigDrive {
            meta_data: serde_json::json!({"name": domain_name}),
            user_data: None,
        },
    }
}

fn spawn(domain_name: &str) -> ComputeAction {
    ComputeAction::Spawn(Box::new(spec(domain_name)))
}

#[tokio::test]
async fn heartbeat_reports_the_nodes_inventory() {
    let mut h = Harness::start("hb-node", |c| c.disk_gb = Some(321)).await;
    let r = h.heartbeat().await;
    assert_eq!(r.node, "hb-node");
    assert_eq!(r.host_ip, "192.0.2.10");
    assert_eq!(r.availability_zone, "nova");
    assert!(r.hypervisor_type.eq_ignore_ascii_case("test"), "{r:?}");
    // The test driver's fake host: 16 CPUs, 8 GiB (whatever it is, not zero).
    assert!(r.vcpus > 0 && r.memory_mib > 0, "{r:?}");
    assert_eq!(r.disk_gb, 321);
    assert!(r.started_at > 0);
    h.stop().await;
}

#[tokio::test]
async fn heartbeats_and_power_states_repeat() {
    let mut h = Harness::start("sync-node", |c| {
        c.heartbeat_interval_secs = 1;
        c.power_sync_interval_secs = 1;
    })
    .await;
    let id = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0001";
    assert_eq!(
        h.send(id, spawn("sync-vm")).await,
        done(PowerState::Running)
    );
    let mut heartbeats = 0;
    let mut synced = false;
    while heartbeats < 2 || !synced {
        match h.event().await {
            AgentEvent::Heartbeat(r) => {
                heartbeats += 1;
                assert!(r.running >= 1, "{r:?}");
            }
            AgentEvent::PowerStates { node, states } => {
                assert_eq!(node, "sync-node");
                synced |= states
                    .iter()
                    .any(|s| s.instance_id == id && s.power_state == PowerState::Running);
            }
            AgentEvent::Result(_) => {}
        }
    }
    assert_eq!(
        h.send(id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    h.stop().await;
}

#[tokio::test]
async fn lifecycle_of_one_instance() {
    let mut h = Harness::start("life-node", |_| {}).await;
    let id = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0002";

    assert_eq!(
        h.send(id, spawn("life-vm")).await,
        done(PowerState::Running)
    );
    assert_eq!(h.hv.state(id).await.unwrap(), PowerState::Running);

    // A redelivered spawn reports the domain and makes no second one.
    assert_eq!(
        h.send(id, spawn("life-vm")).await,
        done(PowerState::Running)
    );
    let named: Vec<_> =
        h.hv.list()
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.name == "life-vm")
            .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].uuid, id);

    let stop = ComputeAction::Stop { timeout_secs: 5 };
    assert_eq!(h.send(id, stop.clone()).await, done(PowerState::Shutdown));
    // Stopping what is stopped is done, too.
    assert_eq!(h.send(id, stop).await, done(PowerState::Shutdown));
    assert_eq!(
        h.send(id, ComputeAction::Start).await,
        done(PowerState::Running)
    );
    assert_eq!(
        h.send(id, ComputeAction::Start).await,
        done(PowerState::Running)
    );

    for hard in [false, true] {
        let r = h.send(id, ComputeAction::Reboot { hard }).await;
        assert_eq!(r, done(PowerState::Running), "hard={hard}");
    }

    assert_eq!(
        h.send(id, ComputeAction::Pause).await,
        done(PowerState::Paused)
    );
    assert_eq!(
        h.send(id, ComputeAction::Pause).await,
        done(PowerState::Paused)
    );
    assert_eq!(
        h.send(id, ComputeAction::Unpause).await,
        done(PowerState::Running)
    );

    // The test driver supports managed save: suspended is "off with a saved
    // image", and resuming boots from it.
    assert_eq!(
        h.send(id, ComputeAction::Suspend).await,
        done(PowerState::Suspended)
    );
    assert_eq!(h.hv.state(id).await.unwrap(), PowerState::Suspended);
    assert_eq!(
        h.send(id, ComputeAction::Suspend).await,
        done(PowerState::Suspended)
    );
    assert_eq!(
        h.send(id, ComputeAction::Resume).await,
        done(PowerState::Running)
    );
    assert_eq!(
        h.send(id, ComputeAction::Resume).await,
        done(PowerState::Running)
    );

    // A paused guest cannot hear ACPI: stop forces it off at once.
    assert_eq!(
        h.send(id, ComputeAction::Pause).await,
        done(PowerState::Paused)
    );
    let r = h.send(id, ComputeAction::Stop { timeout_secs: 600 }).await;
    assert_eq!(r, done(PowerState::Shutdown));

    // The console log is answered by `call`; on the test driver it is the
    // agent's note that the instance is simulated.
    let req = h.request(id, ComputeAction::ConsoleLog { lines: Some(10) });
    let reply = h
        .bus
        .call(&compute_queue(&h.node), encode(&req), WAIT)
        .await
        .unwrap();
    let out: ConsoleOutput = decode(&reply).unwrap();
    assert_eq!(out.instance_id, id);
    let text = out.output.unwrap();
    assert!(
        text.starts_with("Gureum: simulated instance") && text.contains(id),
        "{text}"
    );

    // A suspended instance can be deleted (its saved image with it).
    assert_eq!(
        h.send(id, ComputeAction::Start).await,
        done(PowerState::Running)
    );
    assert_eq!(
        h.send(id, ComputeAction::Suspend).await,
        done(PowerState::Suspended)
    );
    assert_eq!(
        h.send(id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    assert_eq!(h.hv.lookup(id).await.unwrap(), None);
    assert_eq!(
        h.send(id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );

    // Gone: actions fail without a retry elsewhere, the console is None.
    match h.send(id, ComputeAction::Start).await {
        Outcome::Failed {
            message,
            retry_elsewhere,
        } => {
            assert!(message.contains("not on node life-node"), "{message}");
            assert!(!retry_elsewhere);
        }
        o => panic!("{o:?}"),
    }
    let req = h.request(id, ComputeAction::ConsoleLog { lines: None });
    let reply = h
        .bus
        .call(&compute_queue(&h.node), encode(&req), WAIT)
        .await
        .unwrap();
    let out: ConsoleOutput = decode(&reply).unwrap();
    assert_eq!(out.output, None);
    assert_eq!(h.bus.depth(&compute_queue(&h.node)).await.unwrap(), 0);
    h.stop().await;
}

#[tokio::test]
async fn console_log_tail_reads_the_instances_log() {
    let dir_node = "console-node";
    let mut h = Harness::start(dir_node, |_| {}).await;
    let id = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0003";
    assert_eq!(
        h.send(id, spawn("console-vm")).await,
        done(PowerState::Running)
    );
    // What QEMU would have written to the serial log.
    let log = h._dir.path().join("instances").join(id).join("console.log");
    std::fs::write(&log, "boot\nlogin: \nline3\nline4\n").unwrap();
    let req = h.request(id, ComputeAction::ConsoleLog { lines: Some(2) });
    let reply = h
        .bus
        .call(&compute_queue(&h.node), encode(&req), WAIT)
        .await
        .unwrap();
    let out: ConsoleOutput = decode(&reply).unwrap();
    assert_eq!(out.output.as_deref(), Some("line3\nline4\n"));
    assert_eq!(
        h.send(id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    assert!(!log.exists());
    h.stop().await;
}

#[tokio::test]
async fn failed_spawns_clean_up_and_say_whether_to_retry() {
    let mut h = Harness::start("fail-node", |_| {}).await;
    let first = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0004";
    let second = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0005";

    // A spec no node can build: not retried elsewhere, nothing left.
    let mut bad = spec("fail-bad");
    bad.vcpus = 0;
    match h.send(first, ComputeAction::Spawn(Box::new(bad))).await {
        Outcome::Failed {
            retry_elsewhere, ..
        } => assert!(!retry_elsewhere),
        o => panic!("{o:?}"),
    }
    assert_eq!(h.hv.lookup(first).await.unwrap(), None);
    assert!(!h._dir.path().join("instances").join(first).exists());

    // libvirt refuses a second domain of the same name: another node may
    // take it, and the first instance is untouched.
    assert_eq!(
        h.send(first, spawn("fail-dup")).await,
        done(PowerState::Running)
    );
    match h.send(second, spawn("fail-dup")).await {
        Outcome::Failed {
            message,
            retry_elsewhere,
        } => {
            assert!(retry_elsewhere, "{message}");
            assert!(message.contains("hypervisor refused"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(h.hv.lookup(second).await.unwrap(), None);
    assert!(!h._dir.path().join("instances").join(second).exists());
    assert_eq!(h.hv.state(first).await.unwrap(), PowerState::Running);

    // Not a UUID: refused before it becomes a path.
    match h.send("../../etc", ComputeAction::Delete).await {
        Outcome::Failed {
            retry_elsewhere, ..
        } => assert!(!retry_elsewhere),
        o => panic!("{o:?}"),
    }
    assert_eq!(
        h.send(first, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    h.stop().await;
}

#[tokio::test]
async fn unreadable_and_newer_messages_are_dropped_not_fatal() {
    let mut h = Harness::start("junk-node", |_| {}).await;
    let q = compute_queue("junk-node");
    h.bus.publish(&q, b"not json".to_vec()).await.unwrap();
    h.bus
        .publish(
            &q,
            br#"{"v":99,"request_id":"x","instance_id":"y","action":"start"}"#.to_vec(),
        )
        .await
        .unwrap();
    h.bus
        .publish(&q, br#"{"v":1,"request_id":"x","action":"warp"}"#.to_vec())
        .await
        .unwrap();
    // The agent still serves what follows.
    let id = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0006";
    assert_eq!(
        h.send(id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    assert_eq!(h.bus.depth(&q).await.unwrap(), 0);
    h.stop().await;
}

#[tokio::test]
async fn one_instance_is_served_in_order_others_concurrently() {
    let mut h = Harness::start("order-node", |c| c.concurrency = 4).await;
    let a = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0007";
    let b = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0008";
    let reqs = [
        h.request(a, spawn("order-a")),
        h.request(b, spawn("order-b")),
        h.request(a, ComputeAction::Pause),
        h.request(a, ComputeAction::Delete),
        h.request(b, ComputeAction::Delete),
    ];
    for r in &reqs {
        h.publish(r).await;
    }
    let mut a_results = vec![];
    let mut n = 0;
    while n < reqs.len() {
        if let AgentEvent::Result(r) = h.event().await {
            n += 1;
            if r.instance_id == a {
                a_results.push((r.request_id, r.outcome));
            } else {
                assert!(matches!(r.outcome, Outcome::Done { .. }), "{r:?}");
            }
        }
    }
    let want: Vec<_> = [
        (&reqs[0], PowerState::Running),
        (&reqs[2], PowerState::Paused),
        (&reqs[3], PowerState::Shutdown),
    ]
    .into_iter()
    .map(|(r, s)| (r.request_id.clone(), done(s)))
    .collect();
    assert_eq!(a_results, want);
    h.stop().await;
}

/// The same over the real RabbitMQ on this machine (`GUREUM_TEST_AMQP_URL`
/// overrides), in queues of their own (a unique prefix). Required: it fails
/// when the broker is unreachable.
#[tokio::test]
async fn spawn_console_and_delete_over_rabbitmq() {
    let url = std::env::var("GUREUM_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let options = bus::amqp::AmqpOptions {
        prefix: format!("agent-test-{}.", uuid::Uuid::new_v4().simple()),
        ..Default::default()
    };
    let amqp = bus::amqp::AmqpBus::connect(&url, options).await.unwrap();
    let mut h = Harness::start_on(Arc::new(amqp.clone()), "amqp-node", |_| {}).await;
    assert_eq!(h.heartbeat().await.node, "amqp-node");
    let id = "5d7c1a52-0d57-4a57-9a57-1c3b9e0f0009";
    assert_eq!(
        h.send(id, spawn("amqp-vm")).await,
        done(PowerState::Running)
    );
    assert_eq!(
        h.send(id, spawn("amqp-vm")).await,
        done(PowerState::Running)
    );
    let req = h.request(id, ComputeAction::ConsoleLog { lines: None });
    let reply = h
        .bus
        .call(&compute_queue(&h.node), encode(&req), WAIT)
        .await
        .unwrap();
    let out: ConsoleOutput = decode(&reply).unwrap();
    // The test driver's console is the agent's note that nothing runs.
    assert!(out
        .output
        .as_deref()
        .is_some_and(|t| t.starts_with("Gureum: simulated instance") && t.contains(id)));
    assert_eq!(
        h.send(id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    h.stop().await;
    amqp.close().await;
}
