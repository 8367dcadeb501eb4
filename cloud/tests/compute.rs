//! Compute service behaviour, on SQLite and on MariaDB: the boot flow
//! through the bus, state changes from agents' results, redeliveries,
//! retries on other nodes, timeouts, quotas under concurrency, the
//! scheduler's atomic claim, and per-project isolation.
//!
//! The agent's side is played through the service's own event API
//! (`handle_event`, what the conductor calls for each message): the real
//! agent runs against these same messages in `agent/tests` and in the
//! server's end-to-end tests.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bus::messages::{
    ActionResult, AgentEvent, ComputeAction, ComputeRequest, NodeReport, Outcome, PowerState,
};
use bus::Bus;
use bytes::Bytes;
use cloud::compute::*;
use cloud::image::{ContainerFormat, DiskFormat, ImageConfig, ImageService, NewImage, Visibility};
use cloud::quota::Resource;
use cloud::testing::ScratchDb;
use cloud::{per_backend, Backend, RequestContext, Scope};

struct Fixture {
    scratch: ScratchDb,
    compute: ComputeService,
    image: ImageService,
    bus: Arc<bus::MemoryBus>,
    image_id: String,
    flavor_id: String,
    dir: std::path::PathBuf,
}

fn ctx(project: &str, roles: &[&str]) -> RequestContext {
    RequestContext {
        user_id: format!("user-of-{project}"),
        user_name: format!("user-of-{project}"),
        user_domain_id: "default".into(),
        scope: Scope::Project {
            id: project.into(),
            name: project.into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        roles: roles.iter().map(|r| r.to_string()).collect(),
        audit_id: "audit".into(),
        app_cred_id: None,
        request_id: cloud::context::new_request_id(),
    }
}

fn member(project: &str) -> RequestContext {
    ctx(project, &["member", "reader"])
}

fn admin() -> RequestContext {
    ctx("admin", &["admin", "member", "reader"])
}

fn report(node: &str, vcpus: u32, memory_mib: u64) -> NodeReport {
    NodeReport {
        node: node.into(),
        host_ip: "127.0.0.1".into(),
        hypervisor_type: "test".into(),
        hypervisor_version: 2,
        vcpus,
        memory_mib,
        disk_gb: 1000,
        availability_zone: String::new(),
        running: 0,
        started_at: 1,
    }
}

impl Fixture {
    async fn new(backend: Backend, tweak: impl FnOnce(&mut ComputeConfig)) -> Fixture {
        let scratch = ScratchDb::new(backend).await;
        let dir = std::env::temp_dir().join(format!(
            "gureum-compute-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let image = ImageService::new(
            scratch.db.clone(),
            ImageConfig {
                store_dir: dir.display().to_string(),
                ..ImageConfig::default()
            },
        )
        .unwrap();
        let bus = Arc::new(bus::MemoryBus::new());
        let mut cfg = ComputeConfig {
            image_api_url: "http://127.0.0.1:1/image".into(),
            ..ComputeConfig::default()
        };
        tweak(&mut cfg);
        let compute = ComputeService::new(scratch.db.clone(), cfg, image.clone(), bus.clone());
        let a = admin();
        let img = image
            .create_image(
                &a,
                NewImage {
                    name: Some("tiny".into()),
                    visibility: Some(Visibility::Public),
                    disk_format: Some(DiskFormat::Raw),
                    container_format: Some(ContainerFormat::Bare),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let data = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(
            b"bootable bytes",
        ))]);
        image.upload(&a, &img.id, data, Some(14)).await.unwrap();
        let flavor = compute
            .create_flavor(
                &a,
                NewFlavor {
                    name: "m1.tiny".into(),
                    vcpus: 1,
                    ram_mib: 512,
                    disk_gb: 1,
                    rxtx_factor: 1.0,
                    is_public: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        Fixture {
            scratch,
            compute,
            image,
            bus,
            image_id: img.id,
            flavor_id: flavor.id,
            dir,
        }
    }

    /// A public, active image with these properties.
    async fn active_image(&self, name: &str, properties: &[(&str, &str)]) -> String {
        let a = admin();
        let img = self
            .image
            .create_image(
                &a,
                NewImage {
                    name: Some(name.into()),
                    visibility: Some(Visibility::Public),
                    disk_format: Some(DiskFormat::Raw),
                    container_format: Some(ContainerFormat::Bare),
                    properties: properties
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let data =
            futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"bytes"))]);
        self.image.upload(&a, &img.id, data, Some(5)).await.unwrap();
        img.id
    }

    fn new_server(&self, name: &str) -> NewServer {
        NewServer {
            name: name.into(),
            image_id: self.image_id.clone(),
            flavor_id: self.flavor_id.clone(),
            networks: Networks::None,
            min_count: 1,
            max_count: 1,
            ..Default::default()
        }
    }

    /// The next request on a node's queue (acknowledged: this test is the agent).
    async fn next_request(&self, node: &str) -> ComputeRequest {
        let mut c = self
            .bus
            .consume(&bus::compute_queue(node), 1)
            .await
            .unwrap();
        let d = tokio::time::timeout(Duration::from_secs(5), c.next())
            .await
            .unwrap()
            .unwrap();
        let req: ComputeRequest = bus::decode(&d.body).unwrap();
        d.ack().await.unwrap();
        req
    }

    async fn answer(&self, node: &str, req: &ComputeRequest, outcome: Outcome) {
        self.compute
            .handle_event(AgentEvent::Result(ActionResult {
                request_id: req.request_id.clone(),
                instance_id: req.instance_id.clone(),
                node: node.into(),
                outcome,
            }))
            .await
            .unwrap();
    }

    async fn finish(self) {
        self.scratch.finish().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn done(p: PowerState) -> Outcome {
    Outcome::Done { power_state: p }
}

async fn boot_stop_start_delete(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let m = member("project-a");
    let mut req = f.new_server("web one");
    req.metadata.insert("role".into(), "web".into());
    let s = f.compute.create_servers(&m, req).await.unwrap().remove(0);
    assert_eq!(s.status(), "BUILD");
    assert_eq!(s.task_state, Some(TaskState::Spawning));
    assert_eq!(s.node_name.as_deref(), Some("node-1"));
    assert_eq!(s.hostname, "web-one");

    let spawn = f.next_request("node-1").await;
    let ComputeAction::Spawn(spec) = &spawn.action else {
        panic!("expected a spawn: {spawn:?}")
    };
    assert_eq!(spec.vcpus, 1);
    assert_eq!(spec.memory_mib, 512);
    assert_eq!(spec.image.id, f.image_id);
    assert_eq!(
        spec.image.download_url,
        format!("http://127.0.0.1:1/image/v2/images/{}/file", f.image_id)
    );
    assert_eq!(spec.config_drive.meta_data["uuid"], s.id.as_str());
    assert_eq!(spec.config_drive.meta_data["meta"]["role"], "web");

    // The node's claim is taken.
    let node = f.compute.get_node(&admin(), "node-1").await.unwrap();
    assert_eq!((node.vcpus_used, node.memory_mib_used), (1, 512));

    f.answer("node-1", &spawn, done(PowerState::Running)).await;
    let s = f.compute.get_server(&m, &s.id).await.unwrap();
    assert_eq!(s.status(), "ACTIVE");
    assert_eq!(s.power_state, PowerState::Running);
    assert!(s.launched_at.is_some());

    // A redelivered result of the same request changes nothing.
    f.answer(
        "node-1",
        &spawn,
        Outcome::Failed {
            message: "late".into(),
            retry_elsewhere: true,
        },
    )
    .await;
    assert_eq!(
        f.compute.get_server(&m, &s.id).await.unwrap().status(),
        "ACTIVE"
    );

    // Actions the state does not allow are refused with Nova's 409 wording.
    let err = f
        .compute
        .server_action(&m, &s.id, ServerAction::Start)
        .await
        .unwrap_err();
    assert!(matches!(err, ComputeError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("Cannot 'start' instance"), "{err}");

    f.compute
        .server_action(&m, &s.id, ServerAction::Stop)
        .await
        .unwrap();
    assert_eq!(
        f.compute.get_server(&m, &s.id).await.unwrap().task_state,
        Some(TaskState::PoweringOff)
    );
    // A second action while one is in flight is refused.
    assert!(f
        .compute
        .server_action(&m, &s.id, ServerAction::Reboot { hard: true })
        .await
        .is_err());
    let stop = f.next_request("node-1").await;
    assert_eq!(stop.action, ComputeAction::Stop { timeout_secs: 60 });
    f.answer("node-1", &stop, done(PowerState::Shutdown)).await;
    assert_eq!(
        f.compute.get_server(&m, &s.id).await.unwrap().status(),
        "SHUTOFF"
    );

    f.compute
        .server_action(&m, &s.id, ServerAction::Start)
        .await
        .unwrap();
    let start = f.next_request("node-1").await;
    f.answer("node-1", &start, done(PowerState::Running)).await;
    assert_eq!(
        f.compute.get_server(&m, &s.id).await.unwrap().status(),
        "ACTIVE"
    );

    // Lock: the owner is refused actions until unlock; an admin is not.
    f.compute
        .server_action(
            &m,
            &s.id,
            ServerAction::Lock {
                reason: Some("maintenance".into()),
            },
        )
        .await
        .unwrap();
    let locked = f.compute.get_server(&m, &s.id).await.unwrap();
    assert!(locked.locked);
    assert_eq!(locked.locked_reason.as_deref(), Some("maintenance"));
    assert!(matches!(
        f.compute.delete_server(&m, &s.id).await,
        Err(ComputeError::Conflict(_))
    ));
    f.compute
        .server_action(&m, &s.id, ServerAction::Unlock)
        .await
        .unwrap();

    let used = f.compute.limits(&m, "project-a").await.unwrap();
    assert_eq!(
        (used.instances_used, used.cores_used, used.ram_mib_used),
        (1, 1, 512)
    );

    f.compute.delete_server(&m, &s.id).await.unwrap();
    assert_eq!(
        f.compute.get_server(&m, &s.id).await.unwrap().task_state,
        Some(TaskState::Deleting)
    );
    let del = f.next_request("node-1").await;
    assert_eq!(del.action, ComputeAction::Delete);
    f.answer("node-1", &del, done(PowerState::NoState)).await;
    assert!(matches!(
        f.compute.get_server(&m, &s.id).await,
        Err(ComputeError::NotFound(_))
    ));
    let used = f.compute.limits(&m, "project-a").await.unwrap();
    assert_eq!(
        (used.instances_used, used.cores_used, used.ram_mib_used),
        (0, 0, 0)
    );
    let node = f.compute.get_node(&admin(), "node-1").await.unwrap();
    assert_eq!((node.vcpus_used, node.memory_mib_used), (0, 0));

    let actions: Vec<String> = f
        .compute
        .list_servers(
            &admin(),
            &ServerFilter {
                all_projects: true,
                deleted: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|s| s.vm_state.as_str().to_string())
        .collect();
    assert_eq!(actions, ["deleted"]);
    f.finish().await;
}

async fn failed_spawn_is_retried_elsewhere_then_errors(backend: Backend) {
    let f = Fixture::new(backend, |c| c.max_attempts = 2).await;
    for n in ["node-a", "node-b", "node-c"] {
        f.compute
            .handle_event(AgentEvent::Heartbeat(report(n, 4, 4096)))
            .await
            .unwrap();
    }
    let m = member("project-a");
    let s = f
        .compute
        .create_servers(&m, f.new_server("flaky"))
        .await
        .unwrap()
        .remove(0);
    let first = s.node_name.clone().unwrap();
    let spawn = f.next_request(&first).await;
    f.answer(
        &first,
        &spawn,
        Outcome::Failed {
            message: "image fetch failed".into(),
            retry_elsewhere: true,
        },
    )
    .await;

    let s2 = f.compute.get_server(&m, &s.id).await.unwrap();
    assert_eq!(s2.status(), "BUILD");
    let second = s2.node_name.clone().unwrap();
    assert_ne!(second, first, "retried on another node");
    // The node given up on is told to clean up behind the spawn.
    assert_eq!(f.next_request(&first).await.action, ComputeAction::Delete);
    let spawn2 = f.next_request(&second).await;
    f.answer(
        &second,
        &spawn2,
        Outcome::Failed {
            message: "libvirt refused".into(),
            retry_elsewhere: true,
        },
    )
    .await;

    let s3 = f.compute.get_server(&m, &s.id).await.unwrap();
    assert_eq!(s3.status(), "ERROR");
    let fault = s3.fault.unwrap();
    assert!(fault.message.contains("libvirt refused"), "{fault:?}");
    // ERROR instances still count against the quota (as in Nova) but hold no node.
    for n in [&first, &second] {
        assert_eq!(f.compute.get_node(&admin(), n).await.unwrap().vcpus_used, 0);
    }
    assert_eq!(
        f.compute
            .limits(&m, "project-a")
            .await
            .unwrap()
            .instances_used,
        1
    );
    f.finish().await;
}

async fn no_node_or_no_answer_never_stays_in_build(backend: Backend) {
    let f = Fixture::new(backend, |c| {
        c.spawn_timeout_secs = 0;
        c.max_attempts = 2;
    })
    .await;
    let m = member("project-a");
    // No node at all: ERROR at once.
    let s = f
        .compute
        .create_servers(&m, f.new_server("lonely"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(s.status(), "ERROR");
    assert!(s.fault.unwrap().message.contains("No valid host"));

    // A node that never answers: the sweep moves on, then gives up.
    for n in ["mute-1", "mute-2"] {
        f.compute
            .handle_event(AgentEvent::Heartbeat(report(n, 4, 4096)))
            .await
            .unwrap();
    }
    let s = f
        .compute
        .create_servers(&m, f.new_server("unanswered"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(s.status(), "BUILD");
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(f.compute.sweep().await.unwrap(), 1);
    let again = f.compute.get_server(&m, &s.id).await.unwrap();
    assert_eq!(again.status(), "BUILD");
    assert_ne!(again.node_name, s.node_name);
    tokio::time::sleep(Duration::from_millis(5)).await;
    f.compute.sweep().await.unwrap();
    let last = f.compute.get_server(&m, &s.id).await.unwrap();
    assert_eq!(last.status(), "ERROR", "{last:?}");
    f.finish().await;
}

async fn quota_admits_exactly_the_limit_under_concurrency(backend: Backend) {
    let f = Fixture::new(backend, |c| {
        c.instances = 50;
        c.cores = -1;
        c.ram_mib = -1;
    })
    .await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("big", 100_000, 100_000_000)))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let compute = f.compute.clone();
        let req = f.new_server(&format!("vm-{i}"));
        tasks.push(tokio::spawn(async move {
            compute.create_servers(&member("project-q"), req).await
        }));
    }
    let (mut ok, mut over) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(ComputeError::OverQuota(o)) => {
                assert_eq!(o.resource, Resource::INSTANCES);
                over += 1
            }
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, over), (50, 150));
    assert_eq!(
        f.compute
            .limits(&member("project-q"), "project-q")
            .await
            .unwrap()
            .instances_used,
        50
    );
    f.finish().await;
}

async fn last_slot_goes_to_one_boot(backend: Backend) {
    let f = Fixture::new(backend, |c| c.cpu_allocation_ratio = 1.0).await;
    // Room for exactly one m1.tiny.
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("one-slot", 1, 4096)))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let compute = f.compute.clone();
        let req = f.new_server(&format!("race-{i}"));
        tasks.push(tokio::spawn(async move {
            compute.create_servers(&member(&format!("p{i}")), req).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().unwrap().remove(0).status());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == "BUILD").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == "ERROR").count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        f.compute
            .get_node(&admin(), "one-slot")
            .await
            .unwrap()
            .vcpus_used,
        1
    );
    f.finish().await;
}

/// An image that names a kernel and ramdisk boots them directly: the
/// instance records both at create (OS-EXT-SRV-ATTR:kernel_id / ramdisk_id)
/// and the spawn carries them. An image naming a kernel that is not there
/// is refused at create, and nothing is written.
async fn kernel_boot_images_are_fixed_at_create(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let kernel = f.active_image("vmlinuz", &[]).await;
    let ramdisk = f.active_image("initrd", &[]).await;
    let root = f
        .active_image("root", &[("kernel_id", &kernel), ("ramdisk_id", &ramdisk)])
        .await;
    let m = member("project-k");
    let mut req = f.new_server("direct");
    req.image_id = root.clone();
    let s = f.compute.create_servers(&m, req).await.unwrap().remove(0);
    assert_eq!(
        (s.kernel_id.as_deref(), s.ramdisk_id.as_deref()),
        (Some(kernel.as_str()), Some(ramdisk.as_str()))
    );
    let spawn = f.next_request("node-1").await;
    let ComputeAction::Spawn(spec) = &spawn.action else {
        panic!("expected a spawn: {spawn:?}")
    };
    assert_eq!(
        spec.kernel.as_ref().map(|k| k.id.as_str()),
        Some(kernel.as_str())
    );
    assert_eq!(
        spec.ramdisk.as_ref().map(|r| r.id.as_str()),
        Some(ramdisk.as_str())
    );
    assert!(spec.kernel.as_ref().unwrap().download_grant.is_some());

    // A plain image boots without either.
    let plain = f
        .compute
        .create_servers(&m, f.new_server("plain"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!((plain.kernel_id, plain.ramdisk_id), (None, None));

    let broken = f
        .active_image(
            "broken",
            &[("kernel_id", "00000000-0000-0000-0000-000000000000")],
        )
        .await;
    let mut req = f.new_server("never");
    req.image_id = broken;
    let err = f.compute.create_servers(&m, req).await.unwrap_err();
    assert!(matches!(err, ComputeError::Validation(_)), "{err:?}");
    let names: Vec<String> = f
        .compute
        .list_servers(&m, &ServerFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"never".to_string()), "{names:?}");
    f.finish().await;
}

/// A boot its server committed but never scheduled (the server died in
/// between) is scheduled by the sweep once it has waited a minute, and not
/// before: it goes ACTIVE like any other.
async fn a_boot_never_scheduled_is_swept(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let m = member("project-s");
    let s = f
        .compute
        .create_servers(&m, f.new_server("orphan"))
        .await
        .unwrap()
        .remove(0);
    // What a server that died after the commit leaves: the request never
    // went out, the claim was never taken.
    let _lost = f.next_request("node-1").await;
    let strand = |updated_at: i64| {
        sqlx::query(
            "UPDATE instances SET task_state = 'scheduling', pending_request = NULL, \
             pending_action = NULL, action_deadline = NULL, node_id = NULL, node_name = NULL, \
             tries = 0, tried_nodes = '', updated_at = ? WHERE id = ?",
        )
        .bind(updated_at)
        .bind(s.id.clone())
        .execute(&f.scratch.db.pool)
    };
    sqlx::query("UPDATE compute_nodes SET vcpus_used = 0, memory_mib_used = 0, disk_gb_used = 0")
        .execute(&f.scratch.db.pool)
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_micros();
    strand(now).await.unwrap();
    assert_eq!(
        f.compute.sweep().await.unwrap(),
        0,
        "a boot being scheduled is left alone"
    );
    strand(now - 61_000_000).await.unwrap();
    assert_eq!(f.compute.sweep().await.unwrap(), 1);
    let spawn = f.next_request("node-1").await;
    assert!(matches!(spawn.action, ComputeAction::Spawn(_)), "{spawn:?}");
    assert_eq!(spawn.instance_id, s.id);
    f.answer("node-1", &spawn, done(PowerState::Running)).await;
    assert_eq!(
        f.compute.get_server(&m, &s.id).await.unwrap().status(),
        "ACTIVE"
    );
    let node = f.compute.get_node(&admin(), "node-1").await.unwrap();
    assert_eq!(node.vcpus_used, 1, "claimed once");
    assert_eq!(f.compute.sweep().await.unwrap(), 0);
    f.finish().await;
}

/// The database's shortlist and the pure ranking agree: every decision
/// takes the node [`Scheduler::rank`] puts first over all nodes (filters,
/// ratios, zone, excluded nodes and the free-RAM order included).
async fn shortlist_picks_what_the_ranking_would(backend: Backend) {
    let f = Fixture::new(backend, |c| {
        c.cpu_allocation_ratio = 2.0;
        c.ram_allocation_ratio = 1.5;
    })
    .await;
    // More nodes than the shortlist, with distinct free RAM; a few that
    // cannot take anything (too small, other zone, disabled).
    let n = SHORTLIST + 8;
    for i in 0..n {
        let mut r = report(&format!("n{i:02}"), 2, 1024 + 256 * i as u64);
        if i % 5 == 0 {
            r.availability_zone = "az2".into();
        }
        f.compute
            .handle_event(AgentEvent::Heartbeat(r))
            .await
            .unwrap();
    }
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("tiny", 1, 64)))
        .await
        .unwrap();
    let a = admin();
    let off = f.compute.get_node(&a, "n22").await.unwrap();
    f.compute
        .set_node_enabled(&a, &off.id, false, Some("maintenance".into()))
        .await
        .unwrap();
    let sched = f.compute.scheduler();
    for round in 0..40 {
        let all = f.compute.list_nodes(&a).await.unwrap();
        let mut want = Candidate {
            vcpus: 1,
            ram_mib: 512,
            disk_gb: 1,
            availability_zone: (round % 3 == 0).then(|| "az2".to_string()),
            exclude: vec![],
        };
        if round % 4 == 1 {
            // A retry: the two best nodes already failed this instance.
            want.exclude = sched
                .rank(&all, &want)
                .iter()
                .take(2)
                .map(|n| n.id.clone())
                .collect();
        }
        let expected = sched.rank(&all, &want).first().map(|n| n.id.clone());
        let got = f.compute.schedule(&want).await.unwrap().map(|n| n.id);
        assert_eq!(got, expected, "round {round}: {want:?}");
    }
    f.finish().await;
}

/// More one-slot nodes than the shortlist holds, and as many concurrent
/// boots: the boots that lose every shortlisted claim fall back to the
/// other nodes, so each node ends with exactly one instance and none is
/// turned away while a slot is free.
async fn concurrent_boots_reach_past_the_shortlist(backend: Backend) {
    let f = Fixture::new(backend, |c| c.cpu_allocation_ratio = 1.0).await;
    let n = SHORTLIST + 6;
    for i in 0..n {
        f.compute
            .handle_event(AgentEvent::Heartbeat(report(
                &format!("slot-{i:02}"),
                1,
                4096,
            )))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..=n {
        let compute = f.compute.clone();
        let req = f.new_server(&format!("wave-{i}"));
        tasks.push(tokio::spawn(async move {
            compute.create_servers(&member(&format!("p{i}")), req).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().unwrap().remove(0).status());
    }
    let built = statuses.iter().filter(|s| **s == "BUILD").count();
    assert_eq!((built, statuses.len() - built), (n, 1), "{statuses:?}");
    let nodes = f.compute.list_nodes(&admin()).await.unwrap();
    assert!(nodes.iter().all(|x| x.vcpus_used == 1), "{nodes:?}");
    f.finish().await;
}

async fn another_project_cannot_see_or_touch(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let a = member("project-a");
    let b = member("project-b");
    let s = f
        .compute
        .create_servers(&a, f.new_server("mine"))
        .await
        .unwrap()
        .remove(0);
    assert!(matches!(
        f.compute.get_server(&b, &s.id).await,
        Err(ComputeError::NotFound(_))
    ));
    assert!(matches!(
        f.compute.delete_server(&b, &s.id).await,
        Err(ComputeError::NotFound(_))
    ));
    assert!(matches!(
        f.compute.server_action(&b, &s.id, ServerAction::Stop).await,
        Err(ComputeError::NotFound(_))
    ));
    assert!(matches!(
        f.compute
            .update_server(
                &b,
                &s.id,
                ServerUpdate {
                    name: Some("x".into()),
                    ..Default::default()
                },
            )
            .await,
        Err(ComputeError::NotFound(_))
    ));
    assert!(matches!(
        f.compute.server_metadata(&b, &s.id).await,
        Err(ComputeError::NotFound(_))
    ));
    assert!(matches!(
        f.compute.console_output(&b, &s.id, None).await,
        Err(ComputeError::NotFound(_))
    ));
    assert!(f
        .compute
        .list_servers(&b, &ServerFilter::default())
        .await
        .unwrap()
        .is_empty());
    // all_tenants is an admin's.
    assert!(matches!(
        f.compute
            .list_servers(
                &b,
                &ServerFilter {
                    all_projects: true,
                    ..Default::default()
                }
            )
            .await,
        Err(ComputeError::Forbidden(_))
    ));
    assert_eq!(
        f.compute
            .list_servers(&a, &ServerFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        f.compute
            .list_servers(
                &admin(),
                &ServerFilter {
                    all_projects: true,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
    // A reader sees but may not act.
    let r = ctx("project-a", &["reader"]);
    assert!(f.compute.get_server(&r, &s.id).await.is_ok());
    assert!(matches!(
        f.compute.delete_server(&r, &s.id).await,
        Err(ComputeError::Forbidden(_))
    ));
    // Hypervisors are an admin's.
    assert!(matches!(
        f.compute.list_nodes(&a).await,
        Err(ComputeError::Forbidden(_))
    ));
    f.finish().await;
}

async fn power_sync_stops_and_removes_orphans(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let m = member("project-a");
    let s = f
        .compute
        .create_servers(&m, f.new_server("sync"))
        .await
        .unwrap()
        .remove(0);
    let spawn = f.next_request("node-1").await;
    f.answer("node-1", &spawn, done(PowerState::Running)).await;
    let orphan = uuid::Uuid::new_v4().to_string();
    f.compute
        .handle_event(AgentEvent::PowerStates {
            node: "node-1".into(),
            states: vec![
                bus::messages::InstancePower {
                    instance_id: s.id.clone(),
                    power_state: PowerState::Shutdown,
                },
                bus::messages::InstancePower {
                    instance_id: orphan.clone(),
                    power_state: PowerState::Running,
                },
            ],
        })
        .await
        .unwrap();
    let s = f.compute.get_server(&m, &s.id).await.unwrap();
    assert_eq!(
        (s.status(), s.power_state),
        ("SHUTOFF", PowerState::Shutdown)
    );
    let undo = f.next_request("node-1").await;
    assert_eq!(
        (undo.instance_id.as_str(), &undo.action),
        (orphan.as_str(), &ComputeAction::Delete)
    );
    f.finish().await;
}

per_backend!(
    multi_thread: boot_stop_start_delete,
    failed_spawn_is_retried_elsewhere_then_errors,
    no_node_or_no_answer_never_stays_in_build,
    quota_admits_exactly_the_limit_under_concurrency,
    last_slot_goes_to_one_boot,
    kernel_boot_images_are_fixed_at_create,
    a_boot_never_scheduled_is_swept,
    shortlist_picks_what_the_ranking_would,
    concurrent_boots_reach_past_the_shortlist,
    another_project_cannot_see_or_touch,
    power_sync_stops_and_removes_orphans,
);

/// Every server action, in the order the capability walk tries them.
fn every_action() -> Vec<ServerAction> {
    vec![
        ServerAction::Start,
        ServerAction::Stop,
        ServerAction::Reboot { hard: false },
        ServerAction::Reboot { hard: true },
        ServerAction::Pause,
        ServerAction::Unpause,
        ServerAction::Suspend,
        ServerAction::Resume,
        ServerAction::Lock { reason: None },
        ServerAction::Unlock,
    ]
}

fn flag(c: &ServerCapabilities, a: &ServerAction) -> bool {
    match a {
        ServerAction::Start => c.start,
        ServerAction::Stop => c.stop,
        ServerAction::Reboot { hard: false } => c.reboot,
        ServerAction::Reboot { hard: true } => c.hard_reboot,
        ServerAction::Pause => c.pause,
        ServerAction::Unpause => c.unpause,
        ServerAction::Suspend => c.suspend,
        ServerAction::Resume => c.resume,
        ServerAction::Lock { .. } => c.lock,
        ServerAction::Unlock => c.unlock,
    }
}

impl Fixture {
    /// Every action the capabilities deny is refused by the call, and
    /// leaves the server as it was. Returns the capabilities.
    async fn denied_are_refused(&self, ctx: &RequestContext, id: &str) -> ServerCapabilities {
        let before = self.compute.get_server(&admin(), id).await.unwrap();
        let caps = self.compute.capabilities(ctx, &before);
        for a in every_action() {
            // Locking a locked server or unlocking an unlocked one is a
            // no-op (as in Nova), not a refusal: the button is just not shown.
            let no_op = match a {
                ServerAction::Lock { .. } => before.locked,
                ServerAction::Unlock => !before.locked,
                _ => false,
            };
            if !flag(&caps, &a) && !no_op {
                let r = self.compute.server_action(ctx, id, a.clone()).await;
                assert!(
                    r.is_err(),
                    "{a:?} was offered as impossible but went through"
                );
            }
        }
        // Deleting a server already being deleted is a no-op, not a refusal.
        if !caps.delete && before.task_state != Some(TaskState::Deleting) {
            assert!(self.compute.delete_server(ctx, id).await.is_err());
        }
        let after = self.compute.get_server(&admin(), id).await.unwrap();
        assert_eq!(
            (after.vm_state, after.task_state, after.locked),
            (before.vm_state, before.task_state, before.locked)
        );
        caps
    }

    /// `a`, which the capabilities offered, is accepted; the node's answer
    /// (if it is sent one) is `power`.
    async fn offered_is_accepted(
        &self,
        ctx: &RequestContext,
        id: &str,
        a: ServerAction,
        power: PowerState,
    ) {
        let s = self.compute.get_server(ctx, id).await.unwrap();
        assert!(
            flag(&self.compute.capabilities(ctx, &s), &a),
            "{a:?} not offered"
        );
        let sent = !matches!(a, ServerAction::Lock { .. } | ServerAction::Unlock);
        self.compute.server_action(ctx, id, a).await.unwrap();
        if sent {
            let req = self.next_request("node-1").await;
            self.answer("node-1", &req, done(power)).await;
        }
    }
}

/// The capabilities the dashboard shows are what the calls allow: walked
/// through every state a member can reach, a reader, and an admin's lock.
async fn capabilities_are_what_the_calls_allow(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let m = member("project-a");
    let s = f
        .compute
        .create_servers(&m, f.new_server("walk"))
        .await
        .unwrap()
        .remove(0);
    // Building: nothing but delete (and lock) is offered.
    let caps = f.denied_are_refused(&m, &s.id).await;
    assert!(caps.delete && !caps.stop && !caps.start);
    let spawn = f.next_request("node-1").await;
    f.answer("node-1", &spawn, done(PowerState::Running)).await;

    use PowerState::*;
    for (a, power) in [
        (ServerAction::Reboot { hard: false }, Running),
        (ServerAction::Reboot { hard: true }, Running),
        (ServerAction::Pause, Paused),
        (ServerAction::Unpause, Running),
        (ServerAction::Suspend, Suspended),
        (ServerAction::Resume, Running),
        (ServerAction::Stop, Shutdown),
        (ServerAction::Start, Running),
    ] {
        f.denied_are_refused(&m, &s.id).await;
        f.offered_is_accepted(&m, &s.id, a, power).await;
    }
    // A task under way: every action is refused until the node answers.
    f.compute
        .server_action(&m, &s.id, ServerAction::Stop)
        .await
        .unwrap();
    let caps = f.denied_are_refused(&m, &s.id).await;
    assert!(!caps.start && !caps.stop && !caps.reboot);
    let stop = f.next_request("node-1").await;
    f.answer("node-1", &stop, done(Shutdown)).await;
    f.offered_is_accepted(&m, &s.id, ServerAction::Start, Running)
        .await;

    // A reader sees it and may do nothing.
    let reader = ctx("project-a", &["reader"]);
    let caps = f.denied_are_refused(&reader, &s.id).await;
    assert_eq!(caps, ServerCapabilities::default());

    // Locked by its owner: actions, edits and delete are gone, unlock is offered.
    f.offered_is_accepted(&m, &s.id, ServerAction::Lock { reason: None }, Running)
        .await;
    let caps = f.denied_are_refused(&m, &s.id).await;
    assert!(caps.unlock && !caps.stop && !caps.delete && !caps.edit);
    // An admin may act on a locked server.
    let caps = f.compute.capabilities(
        &admin(),
        &f.compute.get_server(&admin(), &s.id).await.unwrap(),
    );
    assert!(caps.stop && caps.delete);
    f.offered_is_accepted(&m, &s.id, ServerAction::Unlock, Running)
        .await;
    // Locked by an admin of another project: the owner cannot unlock it.
    f.offered_is_accepted(
        &admin(),
        &s.id,
        ServerAction::Lock { reason: None },
        Running,
    )
    .await;
    let caps = f.denied_are_refused(&m, &s.id).await;
    assert!(!caps.unlock && !caps.lock);
    f.offered_is_accepted(&admin(), &s.id, ServerAction::Unlock, Running)
        .await;

    // Delete, offered, goes through; a deleting server offers nothing more.
    let caps = f.denied_are_refused(&m, &s.id).await;
    assert!(caps.delete);
    f.compute.delete_server(&m, &s.id).await.unwrap();
    let caps = f.denied_are_refused(&m, &s.id).await;
    assert!(!caps.delete && !caps.stop);
    f.finish().await;
}

/// The portal's pages: a window of the sorted, filtered list and the total.
async fn server_pages_have_totals_and_orders(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 64, 65536)))
        .await
        .unwrap();
    let m = member("project-a");
    for name in [
        "delta", "alpha", "echo", "charlie", "bravo", "web-1", "web-2",
    ] {
        f.compute
            .create_servers(&m, f.new_server(name))
            .await
            .unwrap();
    }
    // Another project's server is never counted.
    f.compute
        .create_servers(&member("project-b"), f.new_server("alpha"))
        .await
        .unwrap();
    let page = |sort, dir, offset, name: Option<&str>| ServerFilter {
        sort: Some((sort, dir)),
        limit: Some(3),
        offset: Some(offset),
        name: name.map(str::to_string),
        ..Default::default()
    };
    let names =
        |p: &cloud::Page<Server>| p.items.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let p = f
        .compute
        .list_servers_page(&m, &page(ServerSortKey::Name, cloud::SortDir::Asc, 0, None))
        .await
        .unwrap();
    assert_eq!(
        (p.total, names(&p)),
        (7, vec!["alpha".into(), "bravo".into(), "charlie".into()])
    );
    let p = f
        .compute
        .list_servers_page(
            &m,
            &page(ServerSortKey::Name, cloud::SortDir::Desc, 3, None),
        )
        .await
        .unwrap();
    assert_eq!(
        (p.total, names(&p)),
        (7, vec!["delta".into(), "charlie".into(), "bravo".into()])
    );
    let p = f
        .compute
        .list_servers_page(
            &m,
            &page(ServerSortKey::Name, cloud::SortDir::Asc, 0, Some("web")),
        )
        .await
        .unwrap();
    assert_eq!(
        (p.total, names(&p)),
        (2, vec!["web-1".into(), "web-2".into()])
    );
    // Admins page across projects.
    let mut all = page(
        ServerSortKey::Project,
        cloud::SortDir::Desc,
        0,
        Some("alpha"),
    );
    all.all_projects = true;
    let p = f.compute.list_servers_page(&admin(), &all).await.unwrap();
    assert_eq!(p.total, 2);
    assert_eq!(p.items[0].project_id, "project-b");
    // A member may not.
    assert!(f.compute.list_servers_page(&m, &all).await.is_err());
    f.finish().await;
}

/// Each committed change is announced with its project, after the commit
/// (what the live views show is what a read then returns).
async fn every_change_is_announced(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    f.compute
        .handle_event(AgentEvent::Heartbeat(report("node-1", 4, 4096)))
        .await
        .unwrap();
    let mut rx = f.compute.subscribe_changes();
    let m = member("project-a");
    // The next announcement, and the server's state as a read sees it then.
    async fn next(
        f: &Fixture,
        rx: &mut tokio::sync::broadcast::Receiver<InstanceChanged>,
    ) -> (InstanceChanged, String) {
        let c = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let status = match f.compute.get_server(&admin(), &c.instance_id).await {
            Ok(s) => format!(
                "{}/{}",
                s.status(),
                s.task_state.map(|t| t.as_str()).unwrap_or("-")
            ),
            Err(_) => "gone".into(),
        };
        (c, status)
    }
    let s = f
        .compute
        .create_servers(&m, f.new_server("told"))
        .await
        .unwrap()
        .remove(0);
    let (c, _) = next(&f, &mut rx).await;
    assert_eq!(
        (c.instance_id.as_str(), c.project_id.as_str()),
        (s.id.as_str(), "project-a")
    );
    let (_, st) = next(&f, &mut rx).await;
    assert_eq!(st, "BUILD/spawning");
    let spawn = f.next_request("node-1").await;
    f.answer("node-1", &spawn, done(PowerState::Running)).await;
    assert_eq!(next(&f, &mut rx).await.1, "ACTIVE/-");
    f.compute
        .server_action(&m, &s.id, ServerAction::Stop)
        .await
        .unwrap();
    assert_eq!(next(&f, &mut rx).await.1, "ACTIVE/powering-off");
    // A redelivered answer changes nothing and says nothing.
    let stop = f.next_request("node-1").await;
    f.answer("node-1", &stop, done(PowerState::Shutdown)).await;
    f.answer("node-1", &stop, done(PowerState::Shutdown)).await;
    assert_eq!(next(&f, &mut rx).await.1, "SHUTOFF/-");
    assert!(rx.try_recv().is_err(), "a redelivery was announced");
    f.compute
        .update_server(
            &m,
            &s.id,
            ServerUpdate {
                name: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(next(&f, &mut rx).await.0.instance_id, s.id);
    // A power report that changes nothing is not announced; one that does is.
    let report_power = |p: PowerState| AgentEvent::PowerStates {
        node: "node-1".into(),
        states: vec![bus::messages::InstancePower {
            instance_id: s.id.clone(),
            power_state: p,
        }],
    };
    f.compute
        .handle_event(report_power(PowerState::Shutdown))
        .await
        .unwrap();
    assert!(
        rx.try_recv().is_err(),
        "an unchanged power state was announced"
    );
    f.compute
        .handle_event(report_power(PowerState::Crashed))
        .await
        .unwrap();
    assert_eq!(next(&f, &mut rx).await.0.instance_id, s.id);
    f.compute.delete_server(&m, &s.id).await.unwrap();
    assert_eq!(next(&f, &mut rx).await.1, "SHUTOFF/deleting");
    let del = f.next_request("node-1").await;
    f.answer("node-1", &del, done(PowerState::NoState)).await;
    assert_eq!(next(&f, &mut rx).await.1, "gone");
    f.finish().await;
}

per_backend!(
    multi_thread: capabilities_are_what_the_calls_allow,
    server_pages_have_totals_and_orders,
    every_change_is_announced,
);
