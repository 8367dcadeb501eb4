//! The identity service (Keystone): domains, projects, users, groups, roles,
//! role assignments, tokens, application credentials and the catalog.

mod admins;
mod appcred;
mod assignments;
mod auth;
mod bootstrap;
mod catalog;
mod config;
mod credentials;
mod domain_config;
mod endpoint_groups;
mod error;
pub mod model;
mod password;
mod policies;
mod regions;
mod resources;
pub mod trusts;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use base64::Engine;
use rand::RngCore;
use sqlx::any::AnyRow;
use sqlx::Row;

pub use auth::token_key;
pub use bootstrap::{BootstrapReport, BootstrapRequest};
pub use catalog::{
    CatalogSpec, EndpointUpdate, NewEndpoint, NewService, ServiceUpdate, IDENTITY_CATALOG,
};
pub use config::IdentityConfig;
pub use credentials::{
    ec2_credential_id, Credential, CredentialUpdate, Ec2Credential, NewCredential,
    MAX_CREDENTIAL_BLOB,
};
pub use endpoint_groups::{EndpointGroup, EndpointGroupUpdate, NewEndpointGroup};
pub use error::{IdentityError, Result, KINDS as ERROR_KINDS};
pub use model::*;
pub use policies::{Policy, PolicyUpdate, MAX_POLICY_BLOB};
pub use regions::{NewRegion, Region, RegionUpdate};
pub use trusts::{NewTrust, Trust, TrustFilter};

use crate::lifecycle::{ProjectLifecycle, SweepReport};
use crate::Db;

/// The catalog as read, and when.
type CachedCatalog = (Vec<model::CatalogEntry>, Instant);

/// The identity service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct IdentityService {
    db: Db,
    cfg: Arc<IdentityConfig>,
    hasher: password::Hasher,
    password_regex: Arc<regex::Regex>,
    token_cache: Arc<RwLock<HashMap<String, (TokenInfo, Instant)>>>,
    /// The catalog every token response carries, read again after
    /// `token_cache_secs` (another server's changes show within that) or
    /// at once after a change made here.
    catalog_cache: Arc<RwLock<Option<CachedCatalog>>>,
    /// Bumped by every invalidation, so adapters that cache what they
    /// render from a validation (the REST token body) know when to drop it.
    cache_generation: Arc<std::sync::atomic::AtomicU64>,
    /// Told of every invalidation made here, so the server can broadcast it
    /// to the other servers (whose caches would otherwise serve a revoked
    /// token for up to `token_cache_secs`).
    changes: tokio::sync::broadcast::Sender<()>,
    /// Services to tell when a project is deleted.
    project_hooks: Arc<RwLock<Vec<Arc<dyn ProjectLifecycle>>>>,
    /// The credential keys, read (or made) at first use.
    credential_keys: Arc<tokio::sync::OnceCell<credentials::CredentialKeys>>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService")
            .field("backend", &self.db.backend)
            .finish()
    }
}

impl IdentityService {
    pub fn new(db: Db, cfg: IdentityConfig) -> Result<IdentityService> {
        let password_regex = regex::Regex::new(&cfg.password_regex)
            .map_err(|e| IdentityError::Internal(format!("password_regex: {e}")))?;
        Ok(IdentityService {
            hasher: password::Hasher::new(&cfg)?,
            db,
            cfg: Arc::new(cfg),
            password_regex: Arc::new(password_regex),
            token_cache: Arc::new(RwLock::new(HashMap::new())),
            catalog_cache: Arc::new(RwLock::new(None)),
            cache_generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            changes: tokio::sync::broadcast::channel(64).0,
            project_hooks: Arc::new(RwLock::new(Vec::new())),
            credential_keys: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.cfg
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Registers a service to clean up after deleted projects (shared by
    /// every clone of this service).
    pub fn register_project_lifecycle(&self, hook: Arc<dyn ProjectLifecycle>) {
        if let Ok(mut hooks) = self.project_hooks.write() {
            hooks.push(hook);
        }
    }

    fn project_hooks(&self) -> Vec<Arc<dyn ProjectLifecycle>> {
        self.project_hooks
            .read()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    /// Runs every hook for a deleted project. A failure is logged, not
    /// returned: the project is gone either way, and the sweep retries.
    async fn notify_project_deleted(&self, project_id: &str) {
        for hook in self.project_hooks() {
            if let Err(e) = hook.on_project_deleted(project_id).await {
                tracing::error!(error = ?e, service = hook.service(), project = %project_id, "cleanup after a deleted project failed; the sweep will retry");
            }
        }
    }

    /// Finds resources whose owning project no longer exists (deleted while
    /// this server was down, or a hook that failed) and has their service
    /// clean them up. Run at start and from time to time.
    pub async fn sweep_deleted_projects(&self) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        for hook in self.project_hooks() {
            let owners = match hook.project_owners().await {
                Ok(o) => o,
                Err(e) => {
                    tracing::error!(error = ?e, service = hook.service(), "sweep: could not list owners");
                    report.failed += 1;
                    continue;
                }
            };
            let existing = self.existing_project_ids(&owners).await?;
            for owner in owners.into_iter().filter(|o| !existing.contains(o)) {
                match hook.on_project_deleted(&owner).await {
                    Ok(()) => report.cleaned.push((hook.service(), owner)),
                    Err(e) => {
                        tracing::error!(error = ?e, service = hook.service(), project = %owner, "sweep: cleanup failed");
                        report.failed += 1;
                    }
                }
            }
        }
        if !report.cleaned.is_empty() {
            tracing::info!(
                cleaned = report.cleaned.len(),
                "swept resources of deleted projects"
            );
        }
        Ok(report)
    }

    /// Which of `ids` are projects, in batches of one query each.
    async fn existing_project_ids(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let mut found = std::collections::HashSet::new();
        for batch in ids.chunks(500) {
            let marks = vec!["?"; batch.len()].join(", ");
            let sql = format!("SELECT id FROM projects WHERE id IN ({marks})");
            let mut q = sqlx::query(&sql);
            for id in batch {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&self.db.pool).await? {
                found.insert(row.try_get::<String, _>("id")?);
            }
        }
        Ok(found)
    }

    /// Forgets every cached token validation; called after any change that
    /// can alter what a token grants (roles, enabled flags, revocations).
    fn invalidate_tokens(&self) {
        self.forget_cached_tokens();
        // No receiver (no bus, or tests): nothing to tell.
        let _ = self.changes.send(());
    }

    /// Every invalidation made by this process, as it happens (a lagged
    /// receiver should treat the lag as one more change).
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.changes.subscribe()
    }

    /// Drops the cached validations and catalog without telling anyone:
    /// for an invalidation another server broadcast.
    pub fn forget_cached_tokens(&self) {
        if let Ok(mut cache) = self.token_cache.write() {
            cache.clear();
        }
        if let Ok(mut cache) = self.catalog_cache.write() {
            *cache = None;
        }
        self.cache_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Changes whenever cached validations are dropped (see
    /// `cache_generation`); a rendering made under another value is stale.
    pub fn cache_generation(&self) -> u64 {
        self.cache_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

/// What the caller may do in the identity service's admin panels, from the
/// same rules the service enforces (`IdentityService::capabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentityCapabilities {
    pub list_users: bool,
    pub create_user: bool,
    pub update_user: bool,
    pub delete_user: bool,
    pub list_projects: bool,
    pub create_project: bool,
    pub update_project: bool,
    pub delete_project: bool,
    pub list_groups: bool,
    pub create_group: bool,
    pub update_group: bool,
    pub delete_group: bool,
    pub manage_group_members: bool,
    pub list_roles: bool,
    pub create_role: bool,
    pub delete_role: bool,
    pub grant_roles: bool,
    pub list_domains: bool,
    /// Any of the identity admin panels (and the cloud-wide image view).
    pub admin_panels: bool,
}

impl IdentityService {
    /// What `ctx` may do with users, projects, groups, roles and grants.
    pub fn capabilities(&self, ctx: &crate::RequestContext) -> IdentityCapabilities {
        use crate::policy::{allows, identity as r, Target};
        let can = |rule| allows(ctx, rule, &Target::none());
        let caps = IdentityCapabilities {
            list_users: can(&r::LIST_USERS),
            create_user: can(&r::CREATE_USER),
            update_user: can(&r::UPDATE_USER),
            delete_user: can(&r::DELETE_USER),
            list_projects: can(&r::LIST_PROJECTS),
            create_project: can(&r::CREATE_PROJECT),
            update_project: can(&r::UPDATE_PROJECT),
            delete_project: can(&r::DELETE_PROJECT),
            list_groups: can(&r::LIST_GROUPS),
            create_group: can(&r::CREATE_GROUP),
            update_group: can(&r::UPDATE_GROUP),
            delete_group: can(&r::DELETE_GROUP),
            manage_group_members: can(&r::ADD_USER_TO_GROUP) && can(&r::REMOVE_USER_FROM_GROUP),
            list_roles: can(&r::LIST_ROLES),
            create_role: can(&r::CREATE_ROLE),
            delete_role: can(&r::DELETE_ROLE),
            grant_roles: can(&r::CREATE_GRANT) && can(&r::REVOKE_GRANT),
            list_domains: can(&r::LIST_DOMAINS),
            admin_panels: false,
        };
        IdentityCapabilities {
            admin_panels: caps.list_users
                || caps.list_projects
                || caps.list_groups
                || caps.list_roles,
            ..caps
        }
    }
}

/// 32 hex characters, Keystone's id format for identity objects.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A random URL-safe string of `bytes` random bytes. It never starts with
/// `-`: tokens and secrets are pasted as command-line arguments
/// (`openstack token revoke <token>`), and argparse would read one as an option.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    loop {
        rand::rngs::OsRng.fill_bytes(&mut buf);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf);
        if !token.starts_with('-') {
            return token;
        }
    }
}

fn flag(row: &AnyRow, col: &str) -> std::result::Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

fn validate_name(kind: &str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.name_empty",
            "The {object} name must not be empty.",
            object = kind,
        )));
    }
    // Keystone's limits: 64 for projects and domains, 255 for the rest.
    let max = if matches!(kind, "project" | "domain") {
        64
    } else {
        255
    };
    if name.chars().count() > max {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.name_too_long",
            "The {object} name must be at most {max} characters.",
            object = kind,
            max = max,
        )));
    }
    crate::text::check_name(name).map_err(|code| {
        IdentityError::Validation(crate::msg!(
            "error.identity.name_control_char",
            "The {object} name must not contain control characters (found {code}).",
            object = kind,
            code = code,
        ))
    })?;
    Ok(name.to_string())
}

fn validate_description(d: &str) -> Result<String> {
    if d.chars().count() > 1024 {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.description_too_long",
            "The description must be at most 1024 characters."
        )));
    }
    crate::text::check_text(d).map_err(|code| {
        IdentityError::Validation(crate::msg!(
            "error.identity.description_control_char",
            "The description must not contain control characters (found {code}).",
            code = code,
        ))
    })?;
    Ok(d.to_string())
}

#[cfg(test)]
mod tests {
    use super::random_token;

    #[test]
    fn random_tokens_never_start_with_a_dash() {
        // One in 64 plain base64url strings starts with `-`; 5000 draws
        // would all but surely hit one.
        for _ in 0..5000 {
            let token = random_token(16);
            assert!(!token.starts_with('-'), "{token}");
            assert_eq!(token.len(), 22);
        }
    }
}
