//! The compute service (Nova v2.1): flavors, key pairs, compute nodes, the
//! scheduler, and instances, whose work the agents on the nodes do.
//!
//! The service writes all state; agents only act and report. A request to
//! an agent goes out on `compute.<node>` with a fresh request id recorded
//! on the instance (`pending_request`); the agent's result comes back on
//! the conductor queue and is applied only if it names that id, so a
//! redelivered message or a late answer from a node given up on changes
//! nothing. An unanswered request times out ([`ComputeService::sweep`]).

mod conductor;
mod config;
mod error;
mod flavors;
mod keypairs;
pub mod model;
mod nodes;
mod scheduler;
mod servers;

use std::sync::Arc;

pub use config::ComputeConfig;
pub use error::{ComputeError, Result};
pub use model::*;
pub use scheduler::{Candidate, Scheduler, SHORTLIST};

use crate::image::ImageService;
use crate::quota::QuotaService;
use crate::Db;

/// The compute service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct ComputeService {
    db: Db,
    cfg: Arc<ComputeConfig>,
    quota: QuotaService,
    image: ImageService,
    bus: Arc<dyn bus::Bus>,
    /// Every committed change to an instance's row (see [`InstanceChanged`]).
    changes: tokio::sync::broadcast::Sender<InstanceChanged>,
}

impl std::fmt::Debug for ComputeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeService")
            .field("backend", &self.db.backend)
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl ComputeService {
    pub fn new(
        db: Db,
        cfg: ComputeConfig,
        image: ImageService,
        bus: Arc<dyn bus::Bus>,
    ) -> ComputeService {
        let quota = QuotaService::new(db.clone(), cfg.quota_defaults());
        ComputeService {
            db,
            cfg: Arc::new(cfg),
            quota,
            image,
            bus,
            changes: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// The instance changes committed by this process, as they happen. The
    /// server forwards them to the bus, so every server's live views hear
    /// of them; a slow receiver is told it lagged and starts over.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<InstanceChanged> {
        self.changes.subscribe()
    }

    /// Says that `instance_id` changed; called after the commit, so whoever
    /// reads it on hearing this sees the change.
    fn changed(&self, instance_id: &str, project_id: &str) {
        // No receiver (nothing listens yet) is not an error.
        let _ = self.changes.send(InstanceChanged {
            instance_id: instance_id.to_string(),
            project_id: project_id.to_string(),
        });
    }

    pub fn config(&self) -> &ComputeConfig {
        &self.cfg
    }

    /// The quota engine with compute's defaults (for the quota forms and
    /// os-quota-sets).
    pub fn quota(&self) -> &QuotaService {
        &self.quota
    }

    pub fn bus(&self) -> &Arc<dyn bus::Bus> {
        &self.bus
    }
}

/// Whether `ctx` may boot servers in its project (Launch Instance is
/// offered): the rule `create_servers` enforces.
pub fn can_launch(ctx: &crate::RequestContext) -> bool {
    ctx.project_id().is_some_and(|p| {
        crate::policy::allows(
            ctx,
            &crate::policy::compute::SERVERS_CREATE,
            &crate::policy::Target::project(p),
        )
    })
}

/// A new dashed UUID (servers, nodes, actions).
fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}
