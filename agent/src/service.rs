//! The agent loop: consume `compute.<node>`, do the work, publish the
//! result on the conductor queue, then acknowledge; heartbeats and the
//! power-state sync on their own timers.
//!
//! Delivery is at least once, so every action is idempotent: a redelivered
//! spawn finds its domain and reports it, a delete of what is gone is done.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bus::messages::{
    ActionResult, AgentEvent, ComputeAction, ComputeRequest, ConsoleOutput, InstancePower,
    NodeReport, Outcome, PowerState, SpawnSpec,
};
use bus::{compute_queue, decode, encode, Bus, BusError, Delivery, CONDUCTOR_QUEUE};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::task::JoinSet;

use crate::config::AgentConfig;
use crate::config_drive::ConfigDriveError;
use crate::domain::{self, DomainPaths, XmlError};
use crate::driver::{DriverError, Hypervisor};
use crate::images::{self, ImageCache, ImageError};

/// The most of a console log a `ConsoleLog` answer reads (Nova: 100 KB).
const CONSOLE_TAIL_BYTES: u64 = 512 * 1024;

/// A failed publish of a result is retried by giving the request back to
/// the queue; this pause keeps a broker outage from becoming a hot loop.
const REQUEUE_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("cannot create the state directory {path}: {error}")]
    StateDir {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Why an action failed, as the user will read it in the instance's fault.
#[derive(Debug)]
struct Failure {
    message: String,
    retry_elsewhere: bool,
}

impl Failure {
    fn new(message: impl Into<String>, retry_elsewhere: bool) -> Failure {
        Failure {
            message: message.into(),
            retry_elsewhere,
        }
    }
}

impl From<ImageError> for Failure {
    fn from(e: ImageError) -> Failure {
        let retry = e.retry_elsewhere();
        Failure::new(e.to_string(), retry)
    }
}

impl From<XmlError> for Failure {
    fn from(e: XmlError) -> Failure {
        Failure::new(format!("invalid instance definition: {e}"), false)
    }
}

impl From<ConfigDriveError> for Failure {
    fn from(e: ConfigDriveError) -> Failure {
        // A node without the tool, or a full disk: another node may do.
        Failure::new(e.to_string(), true)
    }
}

/// One async lock per instance: requests for one instance run one at a
/// time (in arrival order), requests for different ones concurrently.
#[derive(Default)]
struct InstanceLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl InstanceLocks {
    async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            // Entries only the map holds are idle: forget them.
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(id.to_owned()).or_default().clone()
        };
        m.lock_owned().await
    }
}

/// The instance id in libvirt's form, or `None` for one that is not a UUID
/// (which must never become a path).
fn normalise(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

struct Inner {
    cfg: AgentConfig,
    bus: Arc<dyn Bus>,
    hv: Hypervisor,
    images: ImageCache,
    locks: InstanceLocks,
    started_at: i64,
}

/// The compute agent of one node. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("node", &self.inner.cfg.node)
            .field("libvirt", &self.inner.hv.uri())
            .finish()
    }
}

impl Agent {
    pub fn new(mut cfg: AgentConfig, bus: Arc<dyn Bus>, hypervisor: Hypervisor) -> Agent {
        // The domain XML names disks, kernels and the console log by path,
        // and libvirtd opens them from its own working directory.
        if let Ok(abs) = std::path::absolute(&cfg.state_dir) {
            cfg.state_dir = abs;
        }
        let images = ImageCache::new(cfg.image_cache_dir(), cfg.identity.clone());
        let started_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Agent {
            inner: Arc::new(Inner {
                cfg,
                bus,
                hv: hypervisor,
                images,
                locks: InstanceLocks::default(),
                started_at,
            }),
        }
    }

    pub fn config(&self) -> &AgentConfig {
        &self.inner.cfg
    }

    pub fn hypervisor(&self) -> &Hypervisor {
        &self.inner.hv
    }

    /// Serves the node's queue until `shutdown` resolves (or the bus
    /// closes), then finishes the requests in hand.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) -> Result<(), AgentError> {
        let inner = &self.inner;
        for dir in [inner.cfg.instances_dir(), inner.cfg.image_cache_dir()] {
            std::fs::create_dir_all(&dir)
                .map_err(|error| AgentError::StateDir { path: dir, error })?;
        }
        let queue = compute_queue(&inner.cfg.node);
        inner.bus.declare(CONDUCTOR_QUEUE).await?;
        inner.bus.declare(&queue).await?;
        // The server learns of the node before its first request.
        inner.heartbeat().await;
        let mut consumer = inner
            .bus
            .consume(&queue, inner.cfg.concurrency.max(1))
            .await?;
        tracing::info!(node = %inner.cfg.node, %queue, libvirt = %inner.hv.uri(), "agent serving");

        let reporter = tokio::spawn(Inner::report_loop(inner.clone()));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                d = consumer.next() => match d {
                    Some(d) => {
                        tasks.spawn(Inner::handle_delivery(inner.clone(), d));
                    }
                    None => {
                        tracing::warn!("the bus closed the agent's queue");
                        break;
                    }
                },
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = done {
                        tracing::error!(error = %e, "a request handler died");
                    }
                }
            }
        }
        reporter.abort();
        // What is in hand is finished; the rest stays queued (unacked
        // messages go back to the queue when the consumer drops).
        drop(consumer);
        while tasks.join_next().await.is_some() {}
        tracing::info!(node = %inner.cfg.node, "agent stopped");
        Ok(())
    }

    /// Does one request's work (no bus involved) and says how it went.
    pub async fn handle(&self, req: &ComputeRequest) -> Outcome {
        self.inner.perform(req).await
    }

    /// What the heartbeat reports.
    pub async fn node_report(&self) -> Result<NodeReport, DriverError> {
        self.inner.node_report().await
    }

    /// What the power sync reports: every domain on the node.
    pub async fn power_states(&self) -> Result<Vec<InstancePower>, DriverError> {
        self.inner.power_states().await
    }

    /// The tail of an instance's serial console log.
    pub async fn console_output(&self, instance_id: &str, lines: Option<u32>) -> ConsoleOutput {
        self.inner.console_output(instance_id, lines).await
    }
}

impl Inner {
    fn instance_dir(&self, id: &str) -> Option<PathBuf> {
        normalise(id).map(|u| self.cfg.instances_dir().join(u))
    }

    async fn report_loop(inner: Arc<Inner>) {
        let mut heartbeat = tokio::time::interval(inner.cfg.heartbeat_interval());
        let mut sync = tokio::time::interval(inner.cfg.power_sync_interval());
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // `run` sent the first heartbeat.
        heartbeat.tick().await;
        loop {
            tokio::select! {
                _ = heartbeat.tick() => inner.heartbeat().await,
                _ = sync.tick() => inner.power_sync().await,
            }
        }
    }

    async fn publish(&self, ev: &AgentEvent) -> Result<(), BusError> {
        self.bus.publish(CONDUCTOR_QUEUE, encode(ev)).await
    }

    async fn heartbeat(&self) {
        match self.node_report().await {
            Ok(report) => {
                if let Err(e) = self.publish(&AgentEvent::Heartbeat(report)).await {
                    tracing::warn!(error = %e, "heartbeat not sent");
                }
            }
            Err(e) => tracing::warn!(error = %e, "no heartbeat: the hypervisor does not answer"),
        }
    }

    async fn power_sync(&self) {
        match self.power_states().await {
            Ok(states) => {
                let ev = AgentEvent::PowerStates {
                    node: self.cfg.node.clone(),
                    states,
                };
                if let Err(e) = self.publish(&ev).await {
                    tracing::warn!(error = %e, "power states not sent");
                }
            }
            Err(e) => tracing::warn!(error = %e, "no power sync: the hypervisor does not answer"),
        }
    }

    async fn node_report(&self) -> Result<NodeReport, DriverError> {
        let host = self.hv.host_info().await?;
        let running = self
            .hv
            .list()
            .await?
            .iter()
            .filter(|d| d.power_state == PowerState::Running)
            .count() as u32;
        Ok(NodeReport {
            node: self.cfg.node.clone(),
            host_ip: self.cfg.host_ip.clone(),
            hypervisor_type: host.hypervisor_type,
            hypervisor_version: host.hypervisor_version,
            vcpus: self.cfg.vcpus.unwrap_or(host.vcpus),
            memory_mib: self.cfg.memory_mib.unwrap_or(host.memory_mib),
            disk_gb: self
                .cfg
                .disk_gb
                .unwrap_or_else(|| disk_gb(&self.cfg.instances_dir())),
            availability_zone: self.cfg.availability_zone.clone(),
            running,
            started_at: self.started_at,
        })
    }

    async fn power_states(&self) -> Result<Vec<InstancePower>, DriverError> {
        // Only this agent's instances (those with a directory in its state
        // dir): other domains on the host (another agent's in a shared test
        // driver, the operator's own) are none of its business.
        Ok(self
            .hv
            .list()
            .await?
            .into_iter()
            .filter(|d| self.instance_dir(&d.uuid).is_some_and(|p| p.is_dir()))
            .map(|d| InstancePower {
                instance_id: d.uuid,
                power_state: d.power_state,
            })
            .collect())
    }

    async fn handle_delivery(inner: Arc<Inner>, d: Delivery) {
        let req: ComputeRequest = match decode(&d.body) {
            Ok(r) => r,
            Err(e) => {
                // Redelivering it cannot help: drop it, loudly.
                tracing::warn!(error = %e, bytes = d.body.len(), "dropping an unreadable request");
                if let Err(e) = d.ack().await {
                    tracing::warn!(error = %e, "ack failed");
                }
                return;
            }
        };
        if let ComputeAction::ConsoleLog { lines } = req.action {
            // Reading a log needs no lock: a long spawn must not hold it up.
            let out = inner.console_output(&req.instance_id, lines).await;
            if let Err(e) = d.reply(encode(&out)).await {
                tracing::warn!(error = %e, instance = %req.instance_id, "console reply failed");
            }
            if let Err(e) = d.ack().await {
                tracing::warn!(error = %e, "ack failed");
            }
            return;
        }

        let key = normalise(&req.instance_id).unwrap_or_else(|| req.instance_id.clone());
        // Held through the publish, so one instance's results leave in order.
        let _turn = inner.locks.lock(&key).await;
        tracing::info!(request = %req.request_id, instance = %req.instance_id,
            action = action_name(&req.action), redelivered = d.redelivered, "request");
        let outcome = inner.perform(&req).await;
        match &outcome {
            Outcome::Done { power_state } => {
                tracing::info!(request = %req.request_id, ?power_state, "done")
            }
            Outcome::Failed { message, .. } => {
                tracing::warn!(request = %req.request_id, %message, "failed")
            }
        }
        let ev = AgentEvent::Result(ActionResult {
            request_id: req.request_id.clone(),
            instance_id: req.instance_id.clone(),
            node: inner.cfg.node.clone(),
            outcome,
        });
        match inner.publish(&ev).await {
            Ok(()) => {
                if let Err(e) = d.ack().await {
                    tracing::warn!(error = %e, "ack failed");
                }
            }
            Err(e) => {
                // The work is idempotent: doing it again on redelivery
                // beats a result nobody hears.
                tracing::error!(error = %e, request = %req.request_id, "result not published: requeueing");
                tokio::time::sleep(REQUEUE_PAUSE).await;
                if let Err(e) = d.nack(true).await {
                    tracing::warn!(error = %e, "nack failed");
                }
            }
        }
    }

    async fn perform(&self, req: &ComputeRequest) -> Outcome {
        let r = match normalise(&req.instance_id) {
            None => Err(Failure::new(
                format!("the instance id {:?} is not a UUID", req.instance_id),
                false,
            )),
            Some(id) => self.act(&id, &req.action).await,
        };
        match r {
            Ok(power_state) => Outcome::Done { power_state },
            Err(f) => Outcome::Failed {
                message: f.message,
                retry_elsewhere: f.retry_elsewhere,
            },
        }
    }

    async fn act(&self, id: &str, action: &ComputeAction) -> Result<PowerState, Failure> {
        let hv = &self.hv;
        let r = match action {
            ComputeAction::Spawn(spec) => return self.spawn(id, spec).await,
            ComputeAction::Delete => return self.delete(id).await,
            ComputeAction::ConsoleLog { .. } => hv.state(id).await,
            ComputeAction::Start => hv.start(id).await,
            ComputeAction::Stop { timeout_secs } => {
                // Zero means the node's default.
                let t = match *timeout_secs {
                    0 => self.cfg.stop_timeout_secs,
                    t => t,
                };
                hv.shutdown(id, Duration::from_secs(u64::from(t))).await
            }
            ComputeAction::Reboot { hard } => {
                let t = Duration::from_secs(u64::from(self.cfg.stop_timeout_secs));
                hv.reboot(id, *hard, t).await
            }
            ComputeAction::Pause => hv.pause(id).await,
            ComputeAction::Unpause => hv.unpause(id).await,
            ComputeAction::Suspend => hv.suspend(id).await,
            ComputeAction::Resume => hv.resume(id).await,
        };
        r.map_err(|e| match e {
            DriverError::NotFound(_) => Failure::new(
                format!("instance {id} is not on node {}", self.cfg.node),
                false,
            ),
            e => Failure::new(format!("{} failed: {e}", action_name(action)), false),
        })
    }

    async fn delete(&self, id: &str) -> Result<PowerState, Failure> {
        self.hv
            .delete(id)
            .await
            .map_err(|e| Failure::new(format!("delete failed: {e}"), false))?;
        if let Some(dir) = self.instance_dir(id) {
            remove_dir(&dir).await.map_err(|e| {
                Failure::new(format!("cannot remove the instance's files: {e}"), false)
            })?;
        }
        Ok(PowerState::Shutdown)
    }

    async fn spawn(&self, id: &str, spec: &SpawnSpec) -> Result<PowerState, Failure> {
        // A redelivered spawn: the domain is there, report it as it is.
        match self.hv.lookup(id).await {
            Ok(Some(state)) => return Ok(state),
            Ok(None) => {}
            Err(e) => {
                return Err(Failure::new(
                    format!("the hypervisor does not answer: {e}"),
                    true,
                ))
            }
        }
        let dir = self
            .instance_dir(id)
            .ok_or_else(|| Failure::new("the instance id is not a UUID", false))?;
        // What an attempt that died half-way left behind is rebuilt.
        let prepared = async {
            remove_dir(&dir).await?;
            tokio::fs::create_dir_all(&dir).await
        };
        if let Err(e) = prepared.await {
            return Err(Failure::new(
                format!("cannot create {}: {e}", dir.display()),
                true,
            ));
        }
        let r = self.build_and_boot(id, spec, &dir).await;
        if let Err(f) = &r {
            tracing::warn!(instance = id, message = %f.message, "spawn failed: cleaning up");
            if let Err(e) = self.hv.delete(id).await {
                tracing::warn!(instance = id, error = %e, "cannot remove the failed domain");
            }
            if let Err(e) = remove_dir(&dir).await {
                tracing::warn!(instance = id, error = %e, "cannot remove the failed instance's files");
            }
        }
        r
    }

    async fn build_and_boot(
        &self,
        id: &str,
        spec: &SpawnSpec,
        dir: &Path,
    ) -> Result<PowerState, Failure> {
        let mut paths = DomainPaths::in_dir(dir);
        if self.cfg.is_test_driver() {
            // The test driver opens no files: only the XML matters.
            paths.kernel = spec.kernel.as_ref().map(|k| self.images.path_of(k));
            paths.ramdisk = spec.ramdisk.as_ref().map(|r| self.images.path_of(r));
        } else {
            let base = self.images.fetch(&spec.image).await?;
            if let Some(k) = &spec.kernel {
                paths.kernel = Some(self.images.fetch(k).await?);
            }
            if let Some(r) = &spec.ramdisk {
                paths.ramdisk = Some(self.images.fetch(r).await?);
            }
            images::create_overlay(&base, &spec.image, &paths.disk, spec.root_gb).await?;
            if let Some(iso) = &paths.config_drive {
                crate::config_drive::build(iso, &spec.config_drive).await?;
            }
        }
        let xml = domain::build(id, spec, self.cfg.domain_type, &self.cfg.host_ip, &paths)?;
        let power =
            self.hv.define_and_start(&xml).await.map_err(|e| {
                Failure::new(format!("the hypervisor refused the instance: {e}"), true)
            })?;
        if self.cfg.is_test_driver() {
            // No guest runs, so none writes a console: say so where a
            // user of `make run` (or a test) reads it.
            let text = format!(
                "Gureum: simulated instance {} ({id}) on libvirt's test driver.\n\
                 No guest runs here: {} vCPU, {} MiB, booted from image {}.\n",
                spec.name, spec.vcpus, spec.memory_mib, spec.image.id
            );
            if let Err(e) = tokio::fs::write(dir.join("console.log"), text).await {
                tracing::warn!(instance = id, error = %e, "cannot write the simulated console");
            }
        }
        Ok(power)
    }

    async fn console_output(&self, id: &str, lines: Option<u32>) -> ConsoleOutput {
        let mut out = ConsoleOutput {
            instance_id: id.to_owned(),
            output: None,
        };
        let Some(dir) = self.instance_dir(id) else {
            return out;
        };
        let Some(uuid) = normalise(id) else {
            return out;
        };
        if !matches!(self.hv.lookup(&uuid).await, Ok(Some(_))) {
            return out;
        }
        let text = match read_tail(&dir.join("console.log"), CONSOLE_TAIL_BYTES).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            // Nothing written yet (or a driver without a log): empty.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                tracing::warn!(instance = id, error = %e, "cannot read the console log");
                String::new()
            }
        };
        out.output = Some(match lines {
            Some(n) => last_lines(&text, n as usize),
            None => text,
        });
        out
    }
}

fn action_name(a: &ComputeAction) -> &'static str {
    match a {
        ComputeAction::Spawn(_) => "spawn",
        ComputeAction::Start => "start",
        ComputeAction::Stop { .. } => "stop",
        ComputeAction::Reboot { .. } => "reboot",
        ComputeAction::Pause => "pause",
        ComputeAction::Unpause => "unpause",
        ComputeAction::Suspend => "suspend",
        ComputeAction::Resume => "resume",
        ComputeAction::Delete => "delete",
        ComputeAction::ConsoleLog { .. } => "console log",
    }
}

async fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_dir_all(dir).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The last `max` bytes of a file (a console log grows without bound).
async fn read_tail(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut f = tokio::fs::File::open(path).await?;
    let len = f.metadata().await?.len();
    if len > max {
        f.seek(std::io::SeekFrom::Start(len - max)).await?;
    }
    let mut buf = Vec::with_capacity(len.min(max) as usize);
    f.read_to_end(&mut buf).await?;
    Ok(buf)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = lines[start..].join("\n");
    if !out.is_empty() && text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The size of the filesystem holding `dir` (or its nearest existing
/// ancestor), in whole GiB.
fn disk_gb(dir: &Path) -> u64 {
    let mut p = Some(dir);
    while let Some(d) = p {
        if let Ok(st) = rustix::fs::statvfs(d) {
            return st.f_blocks.saturating_mul(st.f_frsize) >> 30;
        }
        p = d.parent();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_tail_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 5), "a\nb\nc");
        assert_eq!(last_lines("", 3), "");
        assert_eq!(last_lines("a\n", 0), "");
    }

    #[test]
    fn ids_are_normalised_and_checked() {
        assert_eq!(
            normalise("0B5C4A9E4F3D4F7E9D2A5C1F0E7A8B9C").as_deref(),
            Some("0b5c4a9e-4f3d-4f7e-9d2a-5c1f0e7a8b9c")
        );
        assert_eq!(normalise("../../etc"), None);
    }

    #[test]
    fn disk_size_of_an_existing_ancestor() {
        assert!(disk_gb(Path::new("/definitely/not/there")) > 0);
    }

    #[tokio::test]
    async fn one_instance_at_a_time() {
        let locks = Arc::new(InstanceLocks::default());
        let g = locks.lock("a").await;
        // Another instance is not held up.
        let _b = locks.lock("b").await;
        let l2 = locks.clone();
        let waiter = tokio::spawn(async move {
            let _g = l2.lock("a").await;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(g);
        waiter.await.unwrap();
    }
}
