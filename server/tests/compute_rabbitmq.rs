//! One server and two agents over the real RabbitMQ on this machine: boots
//! spread across both nodes; an agent that dies leaves no instance stuck
//! (its boots time out and are retried on the other node). Most agents run
//! in this process, each with its own connection to the broker (as a
//! separate `gureum-agent` would have) and its own node and state dir; the
//! one killed in the middle of a spawn is a real `gureum-agent` process.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cloud::Backend;
use common::TestCloud;
use serde_json::{json, Value};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const TEST_DRIVER: &str = "test:///default";

fn amqp_url() -> String {
    std::env::var("GUREUM_TEST_AMQP_URL").unwrap_or_else(|_| AMQP.into())
}

struct RunningAgent {
    bus: bus::AmqpBus,
    task: tokio::task::JoinHandle<()>,
    dir: std::path::PathBuf,
}

impl RunningAgent {
    async fn stop(self) {
        self.task.abort();
        self.bus.close().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_agent(prefix: &str, node: &str) -> RunningAgent {
    start_agent_on(&amqp_url(), prefix, node).await
}

async fn start_agent_on(url: &str, prefix: &str, node: &str) -> RunningAgent {
    let options = bus::AmqpOptions {
        prefix: prefix.into(),
        connection_name: format!("gureum-test-agent {node}"),
        ..Default::default()
    };
    let bus = bus::AmqpBus::connect(url, options)
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ is required for this test ({url}): {e}"));
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

/// A public image and the flavor `tiny` (1 vCPU, 512 MiB); the image's id.
async fn tiny_image_and_flavor(c: &TestCloud) -> String {
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
    image
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

    let image = tiny_image_and_flavor(&c).await;
    wait_for_hypervisors(&c, &["node-a", "node-b"]).await;

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
    b.stop().await;
    let mut more = Vec::new();
    for i in 0..4 {
        more.push(boot(&c, &tok, &image, &format!("after-{i}")).await);
    }
    let hosts = hosts_when_active(&c, &more).await;
    assert!(hosts.iter().all(|h| h == "node-a"), "{hosts:?}");

    a.stop().await;
    c.finish().await;
}

/// The `gureum-agent` binary `cargo test --workspace` built next to this
/// test (the agent crate's own tests need it).
fn agent_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("gureum-agent");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p gureum-agent` (make test does)",
        bin.display()
    );
    bin
}

/// A `gureum-agent` process on `libvirt_uri`.
fn agent_process(
    prefix: &str,
    node: &str,
    libvirt_uri: &str,
    memory_mib: u64,
    dir: &std::path::Path,
) -> tokio::process::Child {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("agent.toml");
    let cfg = agent::AgentConfig {
        node: node.into(),
        bus_url: Some(amqp_url()),
        bus_prefix: prefix.into(),
        libvirt_uri: libvirt_uri.into(),
        state_dir: dir.to_path_buf(),
        heartbeat_interval_secs: 1,
        vcpus: Some(8),
        memory_mib: Some(memory_mib),
        disk_gb: Some(100),
        // One request at a time: its queue is worked in order.
        concurrency: 1,
        ..Default::default()
    };
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    tokio::process::Command::new(agent_binary())
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// An HTTP hop in front of the server's image API that, while `stall` is
/// set, accepts a download and never answers: the agent that made it is
/// held in the middle of its spawn.
struct StallingProxy {
    addr: SocketAddr,
    target: Arc<OnceLock<SocketAddr>>,
    stall: Arc<AtomicBool>,
    stalled: Arc<AtomicUsize>,
}

impl StallingProxy {
    async fn start() -> StallingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = StallingProxy {
            addr: listener.local_addr().unwrap(),
            target: Arc::new(OnceLock::new()),
            stall: Arc::new(AtomicBool::new(false)),
            stalled: Arc::new(AtomicUsize::new(0)),
        };
        let (target, stall, stalled) = (
            proxy.target.clone(),
            proxy.stall.clone(),
            proxy.stalled.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = *target.get().unwrap();
                let stall = stall.load(Ordering::SeqCst);
                let stalled = stalled.clone();
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    if stall {
                        stalled.fetch_add(1, Ordering::SeqCst);
                        // Read (and ignore) until the caller goes away.
                        let mut buf = [0u8; 4096];
                        while matches!(inbound.read(&mut buf).await, Ok(n) if n > 0) {}
                        return;
                    }
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        proxy
    }
}

async fn server_json(c: &TestCloud, id: &str) -> Value {
    c.get(
        &c.admin_token,
        &format!("{}/compute/v2.1/servers/{id}", c.url),
    )
    .await
    .expect(200)
    .body["server"]
        .clone()
}

async fn wait_for_hypervisors(c: &TestCloud, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hv = c
            .get(
                &c.admin_token,
                &format!("{}/compute/v2.1/os-hypervisors/detail", c.url),
            )
            .await
            .expect(200);
        let up: Vec<&str> = hv.body["hypervisors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["state"] == "up")
            .filter_map(|h| h["hypervisor_hostname"].as_str())
            .collect();
        if want.iter().all(|w| up.contains(w)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never up: {want:?} in {}",
            hv.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn vcpus_used(c: &TestCloud, node: &str) -> u64 {
    let hv = c
        .get(
            &c.admin_token,
            &format!("{}/compute/v2.1/os-hypervisors/detail", c.url),
        )
        .await
        .expect(200);
    hv.body["hypervisors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hypervisor_hostname"] == node)
        .and_then(|h| h["vcpus_used"].as_u64())
        .unwrap()
}

/// A `gureum-agent` process is killed (SIGKILL) while it is fetching the
/// image of a spawn. The boot times out on that node and is retried on the
/// other one, where it goes ACTIVE; the dead node's claim is given back.
/// When the killed agent comes back, RabbitMQ hands it the spawn it never
/// acknowledged; that stale request changes nothing, and the node takes
/// new work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_killed_mid_spawn_strands_nothing() {
    let prefix = format!("test-{}.", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let proxy = StallingProxy::start().await;
    let image_api = format!("http://{}/image", proxy.addr);
    let c = TestCloud::start_with(Backend::MySql, |cfg| {
        cfg.bus.url = amqp_url();
        cfg.bus.prefix = prefix.clone();
        cfg.bus.embedded_agent = false;
        cfg.compute.spawn_timeout_secs = 3;
        cfg.compute.image_api_url = image_api;
    })
    .await;
    let server_addr: SocketAddr = c.url.trim_start_matches("http://").parse().unwrap();
    proxy.target.set(server_addr).unwrap();
    let image = tiny_image_and_flavor(&c).await;

    let scratch = std::env::temp_dir().join(format!(
        "gureum-test-agents-{}",
        uuid::Uuid::new_v4().simple()
    ));
    // node-b has more free memory, so the scheduler sends it the boot. It
    // drives QEMU (libvirtd, which make test starts): the test driver
    // fetches no image, and so would have no middle to be killed in.
    let _a = agent_process(&prefix, "node-a", TEST_DRIVER, 4096, &scratch.join("a"));
    let mut b = agent_process(
        &prefix,
        "node-b",
        "qemu:///system",
        8192,
        &scratch.join("b"),
    );
    wait_for_hypervisors(&c, &["node-a", "node-b"]).await;

    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    proxy.stall.store(true, Ordering::SeqCst);
    let id = boot(&c, &tok, &image, "interrupted").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.stalled.load(Ordering::SeqCst) == 0 {
        if Instant::now() > deadline {
            panic!(
                "node-b never fetched the image: {}",
                server_json(&c, &id).await
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = server_json(&c, &id).await;
    assert_eq!(
        (
            &s["status"],
            &s["OS-EXT-SRV-ATTR:host"],
            &s["OS-EXT-STS:task_state"]
        ),
        (&json!("BUILD"), &json!("node-b"), &json!("spawning")),
        "{s}"
    );
    b.kill().await.unwrap();
    proxy.stall.store(false, Ordering::SeqCst);

    let hosts = hosts_when_active(&c, std::slice::from_ref(&id)).await;
    assert_eq!(hosts, ["node-a"]);
    assert_eq!(
        vcpus_used(&c, "node-b").await,
        0,
        "node-b's claim is given back"
    );
    let launched = server_json(&c, &id).await["OS-SRV-USG:launched_at"].clone();

    // node-b comes back (on the test driver, so the new boot needs no real
    // guest): first the spawn it never acknowledged, then a new boot (it
    // still has the most free memory), in that order on its queue.
    let _b = agent_process(&prefix, "node-b", TEST_DRIVER, 8192, &scratch.join("b"));
    let next = boot(&c, &tok, &image, "after-restart").await;
    assert_eq!(
        hosts_when_active(&c, std::slice::from_ref(&next)).await,
        ["node-b"]
    );
    let s = server_json(&c, &id).await;
    assert_eq!(
        (
            &s["status"],
            &s["OS-EXT-SRV-ATTR:host"],
            &s["OS-SRV-USG:launched_at"]
        ),
        (&json!("ACTIVE"), &json!("node-a"), &launched),
        "the stale spawn changed nothing: {s}"
    );
    assert_eq!(
        (
            vcpus_used(&c, "node-a").await,
            vcpus_used(&c, "node-b").await
        ),
        (1, 1)
    );
    assert!(s.get("fault").is_none(), "{s}");

    c.finish().await;
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A RabbitMQ node of this test's own (its own ports, data and logs), so
/// restarting it disturbs no other test on the machine's broker.
struct PrivateBroker {
    name: String,
    port: u16,
    dist_port: u16,
    dir: std::path::PathBuf,
    process: Option<tokio::process::Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// RabbitMQ's own scripts, run as this user (the /usr/sbin wrappers switch
/// to the `rabbitmq` user, whose Erlang cookie differs).
const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";

impl PrivateBroker {
    async fn start() -> PrivateBroker {
        let host = String::from_utf8(
            std::process::Command::new("hostname")
                .arg("-s")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let dir = std::env::temp_dir().join(format!("gureum-test-rabbit-{tag}"));
        for d in ["mnesia", "log"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let mut b = PrivateBroker {
            name: format!("gureum-test-{tag}@{}", host.trim()),
            port: free_port(),
            dist_port: free_port(),
            dir,
            process: None,
        };
        b.boot().await;
        b
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Starts the node on its existing data (durable queues and persistent
    /// messages survive) and waits until it takes connections.
    async fn boot(&mut self) {
        let process = tokio::process::Command::new(format!("{RABBITMQ_BIN}/rabbitmq-server"))
            .env("RABBITMQ_NODENAME", &self.name)
            // Its crash dumps (MnesiaCore.*, when the test kills it) land
            // in its own directory, not the crate's.
            .current_dir(&self.dir)
            // Loopback only: this broker is the test's own.
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_CONFIG_FILE", self.dir.join("rabbitmq"))
            .stdout(std::fs::File::create(self.dir.join("stdout")).unwrap())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start rabbitmq-server (RabbitMQ is installed on this machine)");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(90);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the private RabbitMQ never listened; see {}",
                self.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the node as `systemctl stop` would (`rabbitmqctl stop`).
    async fn stop(&mut self) {
        let status = tokio::process::Command::new(format!("{RABBITMQ_BIN}/rabbitmqctl"))
            .args(["-q", "-n", &self.name, "stop"])
            .status()
            .await
            .unwrap();
        assert!(status.success(), "rabbitmqctl stop");
        if let Some(mut p) = self.process.take() {
            let _ = p.wait().await;
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(p) = self.process.as_mut() {
            let _ = p.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// RabbitMQ restarts while six clients keep booting servers over two
/// agents. Every boot the API accepted goes ACTIVE exactly once: none is
/// lost in the outage (publishes wait for the broker; unacknowledged
/// requests and results are redelivered after it) and none is done twice
/// (the nodes' claims add up to exactly one flavor per server).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rabbitmq_restart_under_load_loses_and_repeats_no_boot() {
    let mut broker = PrivateBroker::start().await;
    let url = broker.url();
    let c = TestCloud::start_with(Backend::MySql, |cfg| {
        cfg.bus.url = url.clone();
        cfg.bus.embedded_agent = false;
        // Long enough that the outage itself times no boot out.
        cfg.compute.spawn_timeout_secs = 120;
        // Room for every boot: no quota, and 128 tiny servers per node.
        cfg.compute.instances = -1;
        cfg.compute.cores = -1;
        cfg.compute.ram_mib = -1;
        cfg.compute.cpu_allocation_ratio = 16.0;
        cfg.compute.ram_allocation_ratio = 8.0;
    })
    .await;
    let a = start_agent_on(&url, "", "node-a").await;
    let b = start_agent_on(&url, "", "node-b").await;
    let image = tiny_image_and_flavor(&c).await;
    wait_for_hypervisors(&c, &["node-a", "node-b"]).await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;

    const MAX_BOOTS: usize = 200;
    let started = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let c = Arc::new(c);
    let mut clients = Vec::new();
    for client in 0..6 {
        let (c, tok, image) = (c.clone(), tok.clone(), image.clone());
        let (started, accepted, stop) = (started.clone(), accepted.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            // (id, when the POST began, when it was answered)
            let mut boots = Vec::new();
            while !stop.load(Ordering::SeqCst) && started.fetch_add(1, Ordering::SeqCst) < MAX_BOOTS
            {
                let t0 = Instant::now();
                let id = boot(&c, &tok, &image, &format!("load-{client}-{}", boots.len())).await;
                boots.push((id, t0, Instant::now()));
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            boots
        }));
    }
    while accepted.load(Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    broker.stop().await;
    let down = Instant::now();
    broker.boot().await;
    let up = Instant::now();
    // Load goes on after the broker is back, then stops.
    let back = accepted.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(60);
    while accepted.load(Ordering::SeqCst) < back + 12 {
        assert!(Instant::now() < deadline, "boots stopped after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);

    let mut boots = Vec::new();
    for t in clients {
        boots.extend(t.await.unwrap());
    }
    assert!(
        boots.len() < MAX_BOOTS,
        "the load ran out before the restart"
    );
    let waited_out = boots
        .iter()
        .filter(|(_, began, answered)| *began < down && *answered > up)
        .count();
    assert!(
        waited_out > 0,
        "no boot was in flight while the broker was down"
    );
    println!(
        "{} boots, {waited_out} answered only after the broker was back (down {:.1} s)",
        boots.len(),
        (up - down).as_secs_f64()
    );
    let ids: Vec<String> = boots.into_iter().map(|(id, _, _)| id).collect();
    let hosts = hosts_when_active(&c, &ids).await;
    assert_eq!(hosts.len(), ids.len());
    let claimed = vcpus_used(&c, "node-a").await + vcpus_used(&c, "node-b").await;
    assert_eq!(claimed, ids.len() as u64, "one claim per server");

    a.stop().await;
    b.stop().await;
    Arc::into_inner(c).unwrap().finish().await;
}
