//! The network service (Neutron v2.0): networks, IPv4 subnets, ports and
//! their address management (IPAM), security groups and their rules,
//! routers (interfaces and an external gateway with SNAT) and floating
//! IPs. The portal's panels and the data plane come later.
//!
//! - **Visibility** is Neutron's: a project sees its own networks, shared
//!   and external networks, the subnets of those, and its own ports; an
//!   admin sees everything. What a caller may not see is `NotFound`; what
//!   it sees but may not change is `Forbidden`.
//! - **Locking**: every write that touches a network's subnets, ports or
//!   addresses locks the network's row first (`FOR UPDATE` on MariaDB;
//!   SQLite's `BEGIN IMMEDIATE` serialises writers anyway), then the quota
//!   rows (in project, resource order), so writes on one network queue
//!   and nothing waits in a cycle. An address is allocated (or released)
//!   in the same transaction as its port, and the `(subnet_id,
//!   ip_address)` primary key of `ip_allocations` makes a double
//!   allocation impossible whatever happens; a transaction MariaDB breaks
//!   (a deadlock) or a key another transaction took first is run again.
//!   A router's writes lock its row before any network (see `routers`).
//! - **Quotas**: `network`, `subnet`, `port`, `security_group`,
//!   `security_group_rule`, `router` and `floatingip` (Neutron's names and
//!   defaults: 100, 100, 500, 10, 100, 10, 50), taken in the transaction
//!   that inserts the row, so a create is admitted atomically, and given
//!   back in the one that deletes it.

mod config;
mod error;
mod floating_ips;
pub mod ipam;
mod lifecycle;
mod list;
pub mod model;
mod networks;
mod ports;
mod routers;
mod security_groups;
mod subnets;

use std::sync::Arc;
use std::time::Duration;

pub use config::NetworkConfig;
pub use error::{NetworkError, Result};
pub use model::*;

use crate::quota::QuotaService;
use crate::{Db, RequestContext};

/// The network service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct NetworkService {
    db: Db,
    cfg: Arc<NetworkConfig>,
    quota: QuotaService,
}

impl std::fmt::Debug for NetworkService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkService")
            .field("backend", &self.db.backend)
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl NetworkService {
    pub fn new(db: Db, cfg: NetworkConfig) -> NetworkService {
        let quota = QuotaService::new(db.clone(), cfg.quota_defaults());
        NetworkService {
            db,
            cfg: Arc::new(cfg),
            quota,
        }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    /// The quota engine with the network service's defaults (for the
    /// quota forms and Neutron's quotas API).
    pub fn quota(&self) -> &QuotaService {
        &self.quota
    }
}

/// How many times a transaction is run before its failure is answered.
const ATTEMPTS: u32 = 10;

/// A short, growing pause before running a broken transaction again.
fn backoff(attempt: u32) -> Duration {
    let jitter: u64 = rand::random::<u64>() % 5;
    Duration::from_millis(u64::from(attempt.min(6)) * 5 + jitter)
}

/// Runs `$body` (an expression awaiting one transaction) again while it
/// fails with a retryable error (see [`NetworkError::is_retryable`]).
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0u32;
        loop {
            match $body {
                Err(e) if e.is_retryable() && attempt + 1 < $crate::network::ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(error = %$crate::error::Chain(&e), attempt, "network: retrying a transaction");
                    tokio::time::sleep($crate::network::backoff(attempt)).await;
                }
                r => break r,
            }
        }
    }};
}
pub(crate) use retrying;

/// A new dashed UUID (networks, subnets, ports).
fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// The project a new resource goes in: the token's, unless an admin names
/// another (the create rule decides, with the named project as target).
fn owning_project(ctx: &RequestContext, asked: Option<&String>) -> Result<String> {
    match asked.filter(|p| !p.is_empty()) {
        Some(p) => {
            check_name("project_id", p, 64)?;
            Ok(p.clone())
        }
        None => ctx.project_id().map(str::to_string).ok_or_else(|| {
            NetworkError::invalid(
                "a project is needed: use a project-scoped token or name project_id.",
            )
        }),
    }
}

/// A name-like field: at most `max` characters, no control characters.
fn check_name(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(NetworkError::invalid(format!(
            "'{field}' is longer than {max} characters."
        )));
    }
    if let Err(c) = crate::text::check_name(value) {
        return Err(NetworkError::invalid(format!(
            "'{field}' must not contain control characters (found {c})."
        )));
    }
    Ok(())
}

/// Free text (a description): at most 255 characters, line breaks allowed.
fn check_description(value: &str) -> Result<()> {
    if value.chars().count() > 255 {
        return Err(NetworkError::invalid(
            "'description' is longer than 255 characters.",
        ));
    }
    if let Err(c) = crate::text::check_text(value) {
        return Err(NetworkError::invalid(format!(
            "'description' must not contain control characters (found {c})."
        )));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| NetworkError::Internal(format!("encoding JSON: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| NetworkError::Internal(format!("decoding JSON: {e}")))
}

/// Rows of `sql` (ending in `IN`) for `ids`, in chunks of 500.
async fn rows_in(db: &Db, sql: &str, ids: &[String]) -> Result<Vec<sqlx::any::AnyRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let full = sql.replace("IN (?)", &format!("IN ({marks})"));
        let mut q = sqlx::query(&full);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        out.extend(q.fetch_all(&db.pool).await?);
    }
    Ok(out)
}
