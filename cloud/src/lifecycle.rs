//! What happens to a project's resources when the project goes.
//!
//! Keystone only deletes the project; Gureum's services clean up after it so
//! nothing is left owned by a project that no longer exists. A service
//! implements [`ProjectLifecycle`] and is registered on the
//! `IdentityService`, which calls every hook after a project's delete
//! commits. A hook that fails (or a server that was down) is caught later by
//! the sweep (`IdentityService::sweep_deleted_projects`), which asks each
//! hook for the owners it holds resources for and cleans up those that are
//! no longer projects.

use async_trait::async_trait;

/// A service's cleanup when a project is deleted.
#[async_trait]
pub trait ProjectLifecycle: Send + Sync {
    /// The service's name, for logs.
    fn service(&self) -> &'static str;

    /// Deletes everything the service keeps for `project_id`. Runs after
    /// the project is gone; must be idempotent (the sweep may repeat it).
    async fn on_project_deleted(&self, project_id: &str) -> Result<(), LifecycleError>;

    /// Every project id the service holds resources for, for the sweep.
    async fn project_owners(&self) -> Result<Vec<String>, LifecycleError>;
}

#[derive(Debug, thiserror::Error)]
#[error("the {service} service could not clean up after project {project_id}")]
pub struct LifecycleError {
    pub service: &'static str,
    pub project_id: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// What a sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// (service, project id) pairs cleaned up.
    pub cleaned: Vec<(&'static str, String)>,
    /// How many cleanups failed (logged; the next sweep tries again).
    pub failed: usize,
}
