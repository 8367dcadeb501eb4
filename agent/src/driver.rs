//! The libvirt driver, as a single-owner actor.
//!
//! libvirt calls block (a managed save writes the guest's RAM to disk), so
//! one dedicated OS thread owns the connection and runs the jobs sent to it
//! over a channel, each answering on a tokio oneshot. [`Hypervisor`] is the
//! cheap-clone async handle; waits (a graceful shutdown's deadline) happen
//! on the async side, so other jobs run in between.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use bus::messages::PowerState;
use tokio::sync::oneshot;
use tokio::time::Instant;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::ErrorNumber;
use virt::sys;

/// How often a graceful shutdown looks whether the guest is off yet.
const SHUTDOWN_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriverError {
    #[error("no domain with UUID {0} on this node")]
    NotFound(String),
    #[error("not supported by this hypervisor: {0}")]
    Unsupported(String),
    #[error("the operation is not valid in the domain's state: {0}")]
    InvalidState(String),
    #[error("libvirt: {0}")]
    Libvirt(String),
    #[error("the hypervisor connection is closed")]
    Closed,
}

fn lv(e: virt::error::Error, uuid: &str) -> DriverError {
    match e.code() {
        ErrorNumber::NoDomain => DriverError::NotFound(uuid.to_owned()),
        ErrorNumber::NoSupport => DriverError::Unsupported(e.message().to_owned()),
        ErrorNumber::OperationInvalid => DriverError::InvalidState(e.message().to_owned()),
        _ => DriverError::Libvirt(e.message().to_owned()),
    }
}

/// What the node has, as libvirt reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostInfo {
    pub vcpus: u32,
    pub memory_mib: u64,
    /// `QEMU`, or `TEST` for the test driver.
    pub hypervisor_type: String,
    pub hypervisor_version: u64,
}

/// One domain as the power sync sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainState {
    pub uuid: String,
    pub name: String,
    pub power_state: PowerState,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// The connection, owned by the libvirt thread. It reopens one that died
/// (libvirtd restarted) before the next job.
struct Conn {
    uri: String,
    conn: Option<Connect>,
}

impl Conn {
    fn get(&mut self) -> Result<&Connect, DriverError> {
        let alive = self
            .conn
            .as_ref()
            .is_some_and(|c| c.is_alive().unwrap_or(false));
        if !alive {
            if let Some(mut dead) = self.conn.take() {
                let _ = dead.close();
            }
            let c = Connect::open(Some(&self.uri)).map_err(|e| {
                DriverError::Libvirt(format!("cannot connect to {}: {}", self.uri, e.message()))
            })?;
            self.conn = Some(c);
        }
        self.conn.as_ref().ok_or(DriverError::Closed)
    }
}

/// The async handle to the libvirt thread. Clones share the thread, which
/// ends (closing the connection) when the last clone is dropped.
#[derive(Clone)]
pub struct Hypervisor {
    tx: mpsc::Sender<Job>,
    uri: String,
}

impl std::fmt::Debug for Hypervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hypervisor")
            .field("uri", &self.uri)
            .finish()
    }
}

impl Hypervisor {
    /// Starts the libvirt thread and connects to `uri`.
    pub async fn open(uri: &str) -> Result<Hypervisor, DriverError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread_uri = uri.to_owned();
        std::thread::Builder::new()
            .name("libvirt".into())
            .spawn(move || {
                // libvirt prints every error to stderr by default; the
                // agent logs the ones that matter itself.
                virt::error::clear_error_callback();
                let mut conn = Conn {
                    uri: thread_uri,
                    conn: None,
                };
                let opened = conn.get().map(|_| ());
                let ok = opened.is_ok();
                let _ = ready_tx.send(opened);
                if ok {
                    while let Ok(job) = rx.recv() {
                        job(&mut conn);
                    }
                }
                if let Some(mut c) = conn.conn.take() {
                    let _ = c.close();
                }
            })
            .map_err(|e| DriverError::Libvirt(format!("cannot start the libvirt thread: {e}")))?;
        ready_rx.await.map_err(|_| DriverError::Closed)??;
        Ok(Hypervisor {
            tx,
            uri: uri.to_owned(),
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Runs `f` on the libvirt thread. A panic in the binding (it unwraps
    /// in places) fails this job, not the thread.
    async fn call<T, F>(&self, f: F) -> Result<T, DriverError>
    where
        T: Send + 'static,
        F: FnOnce(&Connect) -> Result<T, DriverError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: &mut Conn| {
            let out = match conn.get() {
                Ok(c) => catch_unwind(AssertUnwindSafe(|| f(c))).unwrap_or_else(|_| {
                    Err(DriverError::Libvirt("the libvirt binding panicked".into()))
                }),
                Err(e) => Err(e),
            };
            let _ = reply.send(out);
        });
        self.tx.send(job).map_err(|_| DriverError::Closed)?;
        rx.await.map_err(|_| DriverError::Closed)?
    }

    /// Runs `f` on the domain with `uuid`.
    async fn with_domain<T, F>(&self, uuid: &str, f: F) -> Result<T, DriverError>
    where
        T: Send + 'static,
        F: FnOnce(&Domain, &str) -> Result<T, DriverError> + Send + 'static,
    {
        let uuid = uuid.to_owned();
        self.call(move |c| {
            let dom = Domain::lookup_by_uuid_string(c, &uuid).map_err(|e| lv(e, &uuid))?;
            f(&dom, &uuid)
        })
        .await
    }

    pub async fn host_info(&self) -> Result<HostInfo, DriverError> {
        self.call(|c| {
            let node = c.get_node_info().map_err(|e| lv(e, ""))?;
            Ok(HostInfo {
                vcpus: node.cpus,
                memory_mib: node.memory / 1024,
                hypervisor_type: c.get_type().map_err(|e| lv(e, ""))?,
                hypervisor_version: u64::from(c.get_hyp_version().map_err(|e| lv(e, ""))?),
            })
        })
        .await
    }

    /// Defines a persistent domain and boots it.
    pub async fn define_and_start(&self, xml: &str) -> Result<PowerState, DriverError> {
        let xml = xml.to_owned();
        self.call(move |c| {
            let dom = Domain::define_xml(c, &xml).map_err(|e| lv(e, ""))?;
            let uuid = dom.get_uuid_string().unwrap_or_default();
            dom.create().map_err(|e| lv(e, &uuid))?;
            power_state(&dom, &uuid)
        })
        .await
    }

    /// The domain's power state, `None` when it is not defined here.
    pub async fn lookup(&self, uuid: &str) -> Result<Option<PowerState>, DriverError> {
        match self.state(uuid).await {
            Ok(s) => Ok(Some(s)),
            Err(DriverError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn state(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, power_state).await
    }

    /// Every domain on the node (the agent's and any other).
    pub async fn list(&self) -> Result<Vec<DomainState>, DriverError> {
        self.call(|c| {
            let doms = c.list_all_domains(0).map_err(|e| lv(e, ""))?;
            let mut out = Vec::with_capacity(doms.len());
            for d in doms {
                let uuid = d.get_uuid_string().map_err(|e| lv(e, ""))?;
                // A domain undefined between the listing and now is skipped.
                let Ok(power_state) = power_state(&d, &uuid) else {
                    continue;
                };
                out.push(DomainState {
                    name: d.get_name().unwrap_or_default(),
                    uuid,
                    power_state,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Boots a stopped domain (libvirt restores a managed save by itself);
    /// a running one is left alone.
    pub async fn start(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, |d, u| {
            if !d.is_active().map_err(|e| lv(e, u))? {
                d.create().map_err(|e| lv(e, u))?;
            }
            power_state(d, u)
        })
        .await
    }

    /// Forces the domain off (if it is on).
    pub async fn destroy(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, |d, u| {
            destroy(d, u)?;
            power_state(d, u)
        })
        .await
    }

    /// Asks the guest to shut down (ACPI) and waits up to `timeout` for it
    /// to go off: true when it is off. A paused guest cannot hear the
    /// request, and a zero timeout asks nothing: both are false at once.
    async fn ask_off(&self, uuid: &str, timeout: Duration) -> Result<bool, DriverError> {
        enum Ask {
            Off,
            Asked,
            Deaf,
        }
        let ask = self
            .with_domain(uuid, move |d, u| {
                if !d.is_active().map_err(|e| lv(e, u))? {
                    return Ok(Ask::Off);
                }
                let (state, _) = d.get_state().map_err(|e| lv(e, u))?;
                if timeout.is_zero() || state == sys::VIR_DOMAIN_PAUSED {
                    return Ok(Ask::Deaf);
                }
                match d.shutdown() {
                    Ok(_) => Ok(Ask::Asked),
                    // Went off on its own in between.
                    Err(e) if e.code() == ErrorNumber::OperationInvalid => Ok(Ask::Off),
                    Err(e) => Err(lv(e, u)),
                }
            })
            .await?;
        match ask {
            Ask::Off => return Ok(true),
            Ask::Deaf => return Ok(false),
            Ask::Asked => {}
        }
        let deadline = Instant::now() + timeout;
        loop {
            let active = self
                .with_domain(uuid, |d, u| d.is_active().map_err(|e| lv(e, u)))
                .await?;
            if !active {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(SHUTDOWN_POLL).await;
        }
    }

    /// Graceful shutdown, forced off when the guest is still on after
    /// `timeout` (at once for zero, or a paused guest).
    pub async fn shutdown(&self, uuid: &str, timeout: Duration) -> Result<PowerState, DriverError> {
        if !self.ask_off(uuid, timeout).await? {
            tracing::info!(uuid, ?timeout, "guest did not shut down: forcing it off");
            self.destroy(uuid).await?;
        }
        self.state(uuid).await
    }

    /// Soft, as Nova's: a clean shutdown (up to `timeout`) and a fresh boot,
    /// or a hard reboot when the guest ignores the request (or is not
    /// running). Hard: forced off, then booted from scratch; a managed save
    /// is discarded (booting it would resume, not reboot).
    pub async fn reboot(
        &self,
        uuid: &str,
        hard: bool,
        timeout: Duration,
    ) -> Result<PowerState, DriverError> {
        if !hard
            && self.state(uuid).await? == PowerState::Running
            && !self.ask_off(uuid, timeout).await?
        {
            tracing::info!(
                uuid,
                ?timeout,
                "guest ignored the reboot request: rebooting it hard"
            );
        }
        self.with_domain(uuid, |d, u| {
            destroy(d, u)?;
            if d.has_managed_save(0).unwrap_or(false) {
                d.managed_save_remove(0).map_err(|e| lv(e, u))?;
            }
            d.create().map_err(|e| lv(e, u))?;
            power_state(d, u)
        })
        .await
    }

    /// Freezes the guest's vCPUs (it stays in memory).
    pub async fn pause(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, |d, u| {
            let (state, _) = d.get_state().map_err(|e| lv(e, u))?;
            if state != sys::VIR_DOMAIN_PAUSED {
                d.suspend().map_err(|e| lv(e, u))?;
            }
            power_state(d, u)
        })
        .await
    }

    pub async fn unpause(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, |d, u| {
            let (state, _) = d.get_state().map_err(|e| lv(e, u))?;
            if state == sys::VIR_DOMAIN_PAUSED {
                d.resume().map_err(|e| lv(e, u))?;
            }
            power_state(d, u)
        })
        .await
    }

    /// Saves the guest's memory to disk and stops it (libvirt's managed
    /// save, as Nova's suspend); already saved is done.
    pub async fn suspend(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, |d, u| {
            if d.is_active().map_err(|e| lv(e, u))? {
                d.managed_save(0).map_err(|e| lv(e, u))?;
            } else if !d.has_managed_save(0).map_err(|e| lv(e, u))? {
                return Err(DriverError::InvalidState(
                    "the instance is stopped: nothing to suspend".into(),
                ));
            }
            power_state(d, u)
        })
        .await
    }

    /// Boots a suspended domain from its managed save (or unpauses one that
    /// is merely paused); a running one is left alone.
    pub async fn resume(&self, uuid: &str) -> Result<PowerState, DriverError> {
        self.with_domain(uuid, |d, u| {
            let (state, _) = d.get_state().map_err(|e| lv(e, u))?;
            if state == sys::VIR_DOMAIN_PAUSED {
                d.resume().map_err(|e| lv(e, u))?;
            } else if !d.is_active().map_err(|e| lv(e, u))? {
                if !d.has_managed_save(0).map_err(|e| lv(e, u))? {
                    return Err(DriverError::InvalidState(
                        "the instance is not suspended".into(),
                    ));
                }
                d.create().map_err(|e| lv(e, u))?;
            }
            power_state(d, u)
        })
        .await
    }

    /// Forces the domain off and undefines it with its managed save and
    /// NVRAM. Deleting what is not there succeeds.
    pub async fn delete(&self, uuid: &str) -> Result<(), DriverError> {
        let r = self
            .with_domain(uuid, |d, u| {
                destroy(d, u)?;
                undefine(d, u)
            })
            .await;
        match r {
            Err(DriverError::NotFound(_)) => Ok(()),
            other => other,
        }
    }
}

/// Off, whatever it was; already off is fine.
fn destroy(d: &Domain, u: &str) -> Result<(), DriverError> {
    if !d.is_active().map_err(|e| lv(e, u))? {
        return Ok(());
    }
    match d.destroy() {
        Ok(()) => Ok(()),
        Err(e) if e.code() == ErrorNumber::OperationInvalid => Ok(()),
        Err(e) => Err(lv(e, u)),
    }
}

/// Undefines with the managed save and NVRAM; drivers that refuse a flag
/// (the test driver knows no NVRAM) get the call again without it, as Nova
/// retries.
fn undefine(d: &Domain, u: &str) -> Result<(), DriverError> {
    let attempts = [
        sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | sys::VIR_DOMAIN_UNDEFINE_NVRAM,
        sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
    ];
    for flags in attempts {
        match d.undefine_flags(flags) {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == ErrorNumber::NoDomain => return Ok(()),
            Err(e) => tracing::debug!(uuid = u, flags, error = e.message(), "undefine refused"),
        }
    }
    match d.undefine() {
        Ok(()) => Ok(()),
        Err(e) if e.code() == ErrorNumber::NoDomain => Ok(()),
        Err(e) => Err(lv(e, u)),
    }
}

/// libvirt's state in Nova's terms. A stopped domain with a managed save is
/// suspended: booting it resumes the guest.
fn power_state(d: &Domain, u: &str) -> Result<PowerState, DriverError> {
    let (state, _) = d.get_state().map_err(|e| lv(e, u))?;
    let saved = || d.has_managed_save(0).unwrap_or(false);
    Ok(match state {
        sys::VIR_DOMAIN_RUNNING | sys::VIR_DOMAIN_BLOCKED => PowerState::Running,
        sys::VIR_DOMAIN_PAUSED if saved() => PowerState::Suspended,
        sys::VIR_DOMAIN_PAUSED => PowerState::Paused,
        sys::VIR_DOMAIN_SHUTOFF if saved() => PowerState::Suspended,
        sys::VIR_DOMAIN_SHUTOFF | sys::VIR_DOMAIN_SHUTDOWN => PowerState::Shutdown,
        sys::VIR_DOMAIN_CRASHED => PowerState::Crashed,
        sys::VIR_DOMAIN_PMSUSPENDED => PowerState::Suspended,
        _ => PowerState::NoState,
    })
}
