//! The quota engine the services share: per-project limits, usage, and
//! reservations taken inside the caller's transaction.
//!
//! A limit is a default unless a project has its own row in `quota_limits`.
//! The default is an admin's override in `quota_defaults` (Nova's quota
//! class `default`) if there is one, else the owning service's config. Both
//! are read from the database when a limit is needed, so every server
//! sharing it applies a change at once. Usage (`quota_usage.in_use`) is kept
//! per (project, resource) by the services as they create and delete.
//! Every check-and-take happens under the (project, resource) usage row's
//! lock, inside a transaction begun with [`Db::begin_write`], so two
//! requests can never both see the same headroom:
//!
//! - [`QuotaService::consume`] takes an amount into use at once (an image
//!   record counts the moment it is inserted, in the same transaction);
//! - [`QuotaService::reserve`] holds an amount for work that runs longer
//!   than one transaction (an upload); [`QuotaService::commit`] turns it
//!   into usage, [`QuotaService::release`] gives it back. Reservations
//!   expire (`reservation_ttl`), so a crashed server's holds lapse on their
//!   own; the holder renews them while it works.
//!
//! Locks are always taken usage row first, in resource-name order, so two
//! transactions never wait on each other in a cycle.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;

use crate::db::{now_micros, WriteTx};
use crate::error::{ErrorKind, PublicMessage, ServiceError};
use crate::policy::{quota as rules, Rule, Target};
use crate::{Backend, Db, RequestContext};

/// A limit of -1 means unlimited, as in Keystone's unified limits.
pub const UNLIMITED: i64 = -1;

/// A quota-limited resource, named as in Keystone's unified limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource(&'static str);

impl Resource {
    /// Images a project owns (Glance's `image_count_total`).
    pub const IMAGE_COUNT_TOTAL: Resource = Resource("image_count_total");
    /// Bytes of image data a project stores. Glance's `image_size_total`
    /// counts MiB; Gureum counts bytes (a unified-limits REST API would
    /// convert at its edge).
    pub const IMAGE_SIZE_TOTAL: Resource = Resource("image_size_total");

    /// Instances a project has (Nova's `instances`; ERROR ones count too).
    pub const INSTANCES: Resource = Resource("instances");
    /// vCPUs of a project's instances (Nova's `cores`).
    pub const CORES: Resource = Resource("cores");
    /// MiB of RAM of a project's instances (Nova's `ram`).
    pub const RAM: Resource = Resource("ram");
    /// Key pairs per user (Nova counts them per user against the
    /// project's limit; the compute service counts, the engine keeps the limit).
    pub const KEY_PAIRS: Resource = Resource("key_pairs");
    /// Metadata items per instance (a limit, never in use).
    pub const METADATA_ITEMS: Resource = Resource("metadata_items");

    /// Networks a project owns (Neutron's `network`).
    pub const NETWORKS: Resource = Resource("network");
    /// Subnets a project owns (Neutron's `subnet`).
    pub const SUBNETS: Resource = Resource("subnet");
    /// Ports a project owns (Neutron's `port`).
    pub const PORTS: Resource = Resource("port");
    /// Security groups a project owns, its default one included
    /// (Neutron's `security_group`).
    pub const SECURITY_GROUPS: Resource = Resource("security_group");
    /// Rules of a project's security groups (Neutron's
    /// `security_group_rule`).
    pub const SECURITY_GROUP_RULES: Resource = Resource("security_group_rule");
    /// Routers a project owns (Neutron's `router`).
    pub const ROUTERS: Resource = Resource("router");
    /// Floating IPs a project holds (Neutron's `floatingip`).
    pub const FLOATING_IPS: Resource = Resource("floatingip");

    /// Every resource the engine knows; a new service adds its own here.
    pub const ALL: &'static [Resource] = &[
        Self::IMAGE_COUNT_TOTAL,
        Self::IMAGE_SIZE_TOTAL,
        Self::INSTANCES,
        Self::CORES,
        Self::RAM,
        Self::KEY_PAIRS,
        Self::METADATA_ITEMS,
        Self::NETWORKS,
        Self::SUBNETS,
        Self::PORTS,
        Self::SECURITY_GROUPS,
        Self::SECURITY_GROUP_RULES,
        Self::ROUTERS,
        Self::FLOATING_IPS,
    ];

    pub fn name(self) -> &'static str {
        self.0
    }

    pub fn parse(name: &str) -> Option<Resource> {
        Self::ALL.iter().copied().find(|r| r.0 == name)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A request that does not fit: which resource, its limit, what is in use
/// and reserved, and how much more was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Quota exceeded for {resource}: the limit is {limit}, {in_use} in use and {reserved} reserved; {requested} more requested."
)]
pub struct OverQuota {
    pub project_id: String,
    pub resource: Resource,
    pub limit: i64,
    pub in_use: i64,
    pub reserved: i64,
    pub requested: i64,
}

impl OverQuota {
    /// What the user is told: the resource, its limit, what is taken
    /// (in use and reserved) and the request; the text is the Display.
    pub fn public(&self) -> PublicMessage {
        PublicMessage::new("error.quota.over", self.to_string())
            .arg("resource", self.resource.name())
            .arg("limit", self.limit)
            .arg("used", self.in_use.saturating_add(self.reserved))
            .arg("requested", self.requested)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(transparent)]
    OverQuota(OverQuota),
    /// A policy refusal (its message names the rule).
    #[error("{0}")]
    Forbidden(PublicMessage),
    #[error("Unknown quota resource {0:?}.")]
    UnknownResource(String),
    #[error("The limit for {resource} must be -1 (unlimited) or more, not {limit}.")]
    InvalidLimit { resource: Resource, limit: i64 },
    #[error("A quota request must be 0 or more, not {amount} of {resource}.")]
    InvalidAmount { resource: Resource, amount: i64 },
    #[error("quota database error while {op}")]
    Database {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

pub type Result<T, E = QuotaError> = std::result::Result<T, E>;

impl QuotaError {
    /// One value of every variant, for tests that check each message key
    /// is translated.
    pub fn examples() -> Vec<QuotaError> {
        vec![
            QuotaError::OverQuota(OverQuota {
                project_id: "p".into(),
                resource: Resource::IMAGE_SIZE_TOTAL,
                limit: 10,
                in_use: 8,
                reserved: 1,
                requested: 2,
            }),
            QuotaError::from(crate::policy::Denied {
                rule: "quota:set_limit",
            }),
            QuotaError::UnknownResource("cores".into()),
            QuotaError::InvalidLimit {
                resource: Resource::IMAGE_COUNT_TOTAL,
                limit: -2,
            },
            QuotaError::InvalidAmount {
                resource: Resource::IMAGE_COUNT_TOTAL,
                amount: -1,
            },
            QuotaError::Database {
                op: "reading usage",
                source: sqlx::Error::RowNotFound,
            },
        ]
    }
}

impl From<crate::policy::Denied> for QuotaError {
    fn from(d: crate::policy::Denied) -> Self {
        QuotaError::Forbidden(d.public())
    }
}

impl ServiceError for QuotaError {
    fn kind(&self) -> ErrorKind {
        match self {
            QuotaError::OverQuota(_) => ErrorKind::OverLimit,
            QuotaError::Forbidden(_) => ErrorKind::Forbidden,
            QuotaError::UnknownResource(_)
            | QuotaError::InvalidLimit { .. }
            | QuotaError::InvalidAmount { .. } => ErrorKind::BadRequest,
            QuotaError::Database { .. } => ErrorKind::Internal,
        }
    }

    fn public(&self) -> PublicMessage {
        let text = self.to_string();
        match self {
            QuotaError::OverQuota(o) => o.public(),
            QuotaError::Forbidden(m) => m.clone(),
            QuotaError::UnknownResource(name) => {
                PublicMessage::new("error.quota.unknown_resource", text).arg("resource", name)
            }
            QuotaError::InvalidLimit { resource, limit } => {
                PublicMessage::new("error.quota.invalid_limit", text)
                    .arg("resource", resource)
                    .arg("limit", limit)
            }
            QuotaError::InvalidAmount { resource, amount } => {
                PublicMessage::new("error.quota.invalid_amount", text)
                    .arg("resource", resource)
                    .arg("amount", amount)
            }
            QuotaError::Database { .. } => PublicMessage::internal(),
        }
    }
}

fn db_err(op: &'static str) -> impl FnOnce(sqlx::Error) -> QuotaError {
    move |source| QuotaError::Database { op, source }
}

/// A project's limit for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub resource: Resource,
    /// -1 is unlimited.
    pub limit: i64,
    /// True when no per-project limit is set and the default applies.
    pub is_default: bool,
}

/// The limit of projects without their own for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultLimit {
    pub resource: Resource,
    /// What applies: the override if set, else `configured`. -1 is unlimited.
    pub limit: i64,
    /// The owning service's configured default.
    pub configured: i64,
    /// True when an admin's override (not the config) gives `limit`.
    pub overridden: bool,
}

/// A project's standing for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub resource: Resource,
    pub limit: i64,
    pub in_use: i64,
    /// Held by unexpired reservations.
    pub reserved: i64,
}

/// Amounts held for a project until committed, released or expired.
/// Dropping it does not release it (that needs a transaction): the holder
/// releases it on failure, and expiry covers a crash. Not `Clone`: commit
/// and release consume it, so it cannot be settled twice.
#[derive(Debug)]
pub struct Reservation {
    id: String,
    project_id: String,
    items: Vec<(Resource, i64)>,
}

impl Reservation {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// How much of `resource` is held.
    pub fn amount(&self, resource: Resource) -> i64 {
        self.items
            .iter()
            .filter(|(r, _)| *r == resource)
            .map(|(_, n)| *n)
            .sum()
    }
}

/// The quota service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct QuotaService {
    db: Db,
    defaults: Arc<HashMap<Resource, i64>>,
    /// The resources this service's limits and usage views list (those it
    /// was given defaults for, in that order).
    resources: Arc<[Resource]>,
    reservation_ttl: Duration,
}

impl fmt::Debug for QuotaService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaService")
            .field("defaults", &self.defaults)
            .field("reservation_ttl", &self.reservation_ttl)
            .finish()
    }
}

/// Ten minutes: long enough between two renewals of a running upload,
/// short enough that a crashed server's holds lapse soon.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::from_secs(600);

impl QuotaService {
    /// `defaults` are the limits of projects without their own; a resource
    /// without a default is unlimited.
    pub fn new(db: Db, defaults: impl IntoIterator<Item = (Resource, i64)>) -> QuotaService {
        let defaults: Vec<(Resource, i64)> = defaults.into_iter().collect();
        QuotaService {
            db,
            resources: defaults.iter().map(|(r, _)| *r).collect(),
            defaults: Arc::new(defaults.into_iter().collect()),
            reservation_ttl: DEFAULT_RESERVATION_TTL,
        }
    }

    pub fn with_reservation_ttl(mut self, ttl: Duration) -> QuotaService {
        self.reservation_ttl = ttl;
        self
    }

    pub fn reservation_ttl(&self) -> Duration {
        self.reservation_ttl
    }

    /// The configured default (from the owning service's config). What
    /// applies may be an admin's override: see [`QuotaService::defaults`].
    pub fn default_limit(&self, resource: Resource) -> i64 {
        self.defaults.get(&resource).copied().unwrap_or(UNLIMITED)
    }

    /// The resources this service's views list, in order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    fn expiry(&self) -> i64 {
        let ttl = i64::try_from(self.reservation_ttl.as_micros()).unwrap_or(i64::MAX);
        now_micros().saturating_add(ttl)
    }

    // ------------------------------------------------------------ admin API

    /// Admin only: `project_id`'s own limit for `resource`.
    pub async fn set_limit(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        resource: Resource,
        limit: i64,
    ) -> Result<Limit> {
        enforce(ctx, &rules::SET_LIMIT, &Target::none())?;
        if limit < UNLIMITED {
            return Err(QuotaError::InvalidLimit { resource, limit });
        }
        let upsert = match self.db.backend {
            Backend::MySql => "INSERT INTO quota_limits (project_id, resource, hard_limit, updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE hard_limit = VALUES(hard_limit), updated_at = VALUES(updated_at)",
            Backend::Sqlite => "INSERT INTO quota_limits (project_id, resource, hard_limit, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit, updated_at = excluded.updated_at",
        };
        sqlx::query(upsert)
            .bind(project_id)
            .bind(resource.name())
            .bind(limit)
            .bind(now_micros())
            .execute(&self.db.pool)
            .await
            .map_err(db_err("setting a limit"))?;
        Ok(Limit {
            resource,
            limit,
            is_default: false,
        })
    }

    /// Admin only: `project_id` goes back to the default for `resource`.
    pub async fn delete_limit(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        resource: Resource,
    ) -> Result<()> {
        enforce(ctx, &rules::DELETE_LIMIT, &Target::none())?;
        sqlx::query("DELETE FROM quota_limits WHERE project_id = ? AND resource = ?")
            .bind(project_id)
            .bind(resource.name())
            .execute(&self.db.pool)
            .await
            .map_err(db_err("deleting a limit"))?;
        Ok(())
    }

    /// Admin only: several of `project_id`'s limits in one transaction, all
    /// or nothing (a form's save): `Some(limit)` sets the project's own,
    /// `None` goes back to the default. Every value is checked first.
    pub async fn set_limits(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        items: &[(Resource, Option<i64>)],
    ) -> Result<()> {
        enforce(ctx, &rules::SET_LIMIT, &Target::none())?;
        if items.iter().any(|(_, l)| l.is_none()) {
            enforce(ctx, &rules::DELETE_LIMIT, &Target::none())?;
        }
        validate_limits(items)?;
        let upsert = match self.db.backend {
            Backend::MySql => "INSERT INTO quota_limits (project_id, resource, hard_limit, updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE hard_limit = VALUES(hard_limit), updated_at = VALUES(updated_at)",
            Backend::Sqlite => "INSERT INTO quota_limits (project_id, resource, hard_limit, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit, updated_at = excluded.updated_at",
        };
        let mut tx = self
            .db
            .begin_write()
            .await
            .map_err(db_err("setting limits"))?;
        for &(resource, limit) in items {
            let q = match limit {
                Some(limit) => sqlx::query(upsert)
                    .bind(project_id)
                    .bind(resource.name())
                    .bind(limit)
                    .bind(now_micros()),
                None => {
                    sqlx::query("DELETE FROM quota_limits WHERE project_id = ? AND resource = ?")
                        .bind(project_id)
                        .bind(resource.name())
                }
            };
            q.execute(&mut *tx)
                .await
                .map_err(db_err("setting limits"))?;
        }
        tx.commit().await.map_err(db_err("setting limits"))?;
        Ok(())
    }

    /// Admin only: the default limit of every project without its own
    /// `resource` limit (Nova's `PUT os-quota-class-sets/default`).
    pub async fn set_default_limit(
        &self,
        ctx: &RequestContext,
        resource: Resource,
        limit: i64,
    ) -> Result<DefaultLimit> {
        self.set_default_limits(ctx, &[(resource, Some(limit))])
            .await?;
        Ok(DefaultLimit {
            resource,
            limit,
            configured: self.default_limit(resource),
            overridden: true,
        })
    }

    /// Admin only: several defaults in one transaction, all or nothing;
    /// `None` drops the override, so the configured default applies again.
    /// The table is shared: any service's engine writes any resource's row.
    pub async fn set_default_limits(
        &self,
        ctx: &RequestContext,
        items: &[(Resource, Option<i64>)],
    ) -> Result<()> {
        enforce(ctx, &rules::SET_DEFAULT_LIMIT, &Target::none())?;
        validate_limits(items)?;
        let upsert = match self.db.backend {
            Backend::MySql => "INSERT INTO quota_defaults (resource, hard_limit, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE hard_limit = VALUES(hard_limit), updated_at = VALUES(updated_at)",
            Backend::Sqlite => "INSERT INTO quota_defaults (resource, hard_limit, updated_at) VALUES (?, ?, ?) ON CONFLICT (resource) DO UPDATE SET hard_limit = excluded.hard_limit, updated_at = excluded.updated_at",
        };
        let mut tx = self
            .db
            .begin_write()
            .await
            .map_err(db_err("setting defaults"))?;
        for &(resource, limit) in items {
            let q = match limit {
                Some(limit) => sqlx::query(upsert)
                    .bind(resource.name())
                    .bind(limit)
                    .bind(now_micros()),
                None => sqlx::query("DELETE FROM quota_defaults WHERE resource = ?")
                    .bind(resource.name()),
            };
            q.execute(&mut *tx)
                .await
                .map_err(db_err("setting defaults"))?;
        }
        tx.commit().await.map_err(db_err("setting defaults"))?;
        Ok(())
    }

    /// Admin only: the default limits of this service's resources with
    /// where each comes from (Nova's `GET os-quota-class-sets/default`).
    pub async fn default_limits(&self, ctx: &RequestContext) -> Result<Vec<DefaultLimit>> {
        enforce(ctx, &rules::GET_DEFAULT_LIMITS, &Target::none())?;
        self.current_defaults().await
    }

    /// The default limits as any user may read them (Nova's
    /// `os-quota-sets/{project}/defaults`).
    pub async fn defaults(&self, ctx: &RequestContext) -> Result<Vec<DefaultLimit>> {
        enforce(ctx, &rules::GET_DEFAULTS, &Target::none())?;
        self.current_defaults().await
    }

    async fn current_defaults(&self) -> Result<Vec<DefaultLimit>> {
        let overrides = self.default_overrides().await?;
        Ok(self
            .resources
            .iter()
            .map(|&resource| self.default_of(resource, &overrides))
            .collect())
    }

    fn default_of(&self, resource: Resource, overrides: &HashMap<Resource, i64>) -> DefaultLimit {
        let configured = self.default_limit(resource);
        match overrides.get(&resource) {
            Some(&limit) => DefaultLimit {
                resource,
                limit,
                configured,
                overridden: true,
            },
            None => DefaultLimit {
                resource,
                limit: configured,
                configured,
                overridden: false,
            },
        }
    }

    /// The project's limits for each of this service's resources (admins, or the
    /// project's own members).
    pub async fn get_limits(&self, ctx: &RequestContext, project_id: &str) -> Result<Vec<Limit>> {
        enforce(ctx, &rules::GET_LIMITS, &Target::project(project_id))?;
        let own = self.own_limits(project_id).await?;
        let overrides = self.default_overrides().await?;
        Ok(self
            .resources
            .iter()
            .map(|&resource| match own.get(&resource) {
                Some(&limit) => Limit {
                    resource,
                    limit,
                    is_default: false,
                },
                None => Limit {
                    resource,
                    limit: self.default_of(resource, &overrides).limit,
                    is_default: true,
                },
            })
            .collect())
    }

    /// The project's limit, use and reservations for each of this service's resources.
    pub async fn usage(&self, ctx: &RequestContext, project_id: &str) -> Result<Vec<Usage>> {
        enforce(ctx, &rules::GET_USAGE, &Target::project(project_id))?;
        let mut out = Vec::with_capacity(self.resources.len());
        for &resource in self.resources.iter() {
            out.push(self.standing(project_id, resource).await?);
        }
        Ok(out)
    }

    /// One resource's standing, read without locks (for display and for
    /// advisory checks; [`QuotaService::reserve`] decides for real).
    pub async fn standing(&self, project_id: &str, resource: Resource) -> Result<Usage> {
        let mut conn = self
            .db
            .pool
            .acquire()
            .await
            .map_err(db_err("reading usage"))?;
        let limit = self.limit_on(&mut *conn, project_id, resource).await?;
        let in_use =
            sqlx::query("SELECT in_use FROM quota_usage WHERE project_id = ? AND resource = ?")
                .bind(project_id)
                .bind(resource.name())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err("reading usage"))?
                .map(|r| r.try_get::<i64, _>("in_use"))
                .transpose()
                .map_err(db_err("reading usage"))?
                .unwrap_or(0);
        let reserved = self.reserved_on(&mut *conn, project_id, resource).await?;
        Ok(Usage {
            resource,
            limit,
            in_use,
            reserved,
        })
    }

    /// Would `amount` more of `resource` fit now? Advisory (no lock): for
    /// a form to refuse early with the same error the real request gives.
    pub async fn check(&self, project_id: &str, resource: Resource, amount: i64) -> Result<()> {
        validate_amount(resource, amount)?;
        let u = self.standing(project_id, resource).await?;
        fits(project_id, &u, amount)
    }

    // ------------------------------------------- inside the caller's transaction

    /// Checks every item and takes it into use at once, all or nothing.
    pub async fn consume(
        &self,
        tx: &mut WriteTx,
        project_id: &str,
        items: &[(Resource, i64)],
    ) -> Result<()> {
        for (resource, amount) in sorted(items)? {
            let u = self.lock(tx, project_id, resource).await?;
            fits(project_id, &u, amount)?;
            self.add_in_use(tx, project_id, resource, amount).await?;
        }
        Ok(())
    }

    /// Checks every item and holds it (limit − in use − reserved ≥ amount),
    /// all or nothing. The hold lapses after `reservation_ttl` unless
    /// renewed, committed or released.
    pub async fn reserve(
        &self,
        tx: &mut WriteTx,
        project_id: &str,
        items: &[(Resource, i64)],
    ) -> Result<Reservation> {
        let mut reservation = Reservation {
            // Time-ordered, so "which hold is older" is a comparison of ids
            // (see `QuotaService::is_oldest_hold`).
            id: uuid::Uuid::now_v7().simple().to_string(),
            project_id: project_id.to_string(),
            items: Vec::new(),
        };
        for (resource, amount) in sorted(items)? {
            self.hold(tx, &mut reservation, resource, amount).await?;
        }
        Ok(reservation)
    }

    /// Holds `amount` more of `resource` under an existing reservation
    /// (an upload of unknown length grows its hold as bytes arrive) and
    /// renews its expiry.
    pub async fn extend(
        &self,
        tx: &mut WriteTx,
        reservation: &mut Reservation,
        resource: Resource,
        amount: i64,
    ) -> Result<()> {
        validate_amount(resource, amount)?;
        self.hold(tx, reservation, resource, amount).await?;
        self.renew(tx, reservation).await
    }

    /// Pushes the reservation's expiry out by another `reservation_ttl`.
    pub async fn renew(&self, tx: &mut WriteTx, reservation: &Reservation) -> Result<()> {
        sqlx::query("UPDATE quota_reservations SET expires_at = ? WHERE id = ?")
            .bind(self.expiry())
            .bind(reservation.id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db_err("renewing a reservation"))?;
        Ok(())
    }

    /// Turns the reservation into usage: `used` of each resource (at most
    /// what was reserved; an upload's final size may be less than its
    /// hold) goes into use, the rest is given back.
    pub async fn commit(
        &self,
        tx: &mut WriteTx,
        reservation: Reservation,
        used: &[(Resource, i64)],
    ) -> Result<()> {
        for (resource, held) in sorted(&reservation.items)? {
            let want: i64 = used
                .iter()
                .filter(|(r, _)| *r == resource)
                .map(|(_, n)| *n)
                .sum();
            self.lock(tx, &reservation.project_id, resource).await?;
            self.add_in_use(tx, &reservation.project_id, resource, want.clamp(0, held))
                .await?;
        }
        self.drop_reservation(tx, &reservation).await
    }

    /// Gives the whole reservation back.
    pub async fn release(&self, tx: &mut WriteTx, reservation: Reservation) -> Result<()> {
        for (resource, _) in sorted(&reservation.items)? {
            self.lock(tx, &reservation.project_id, resource).await?;
        }
        self.drop_reservation(tx, &reservation).await
    }

    /// Takes amounts out of use (a deleted image gives back its count and
    /// bytes). Never goes below zero.
    pub async fn give_back(
        &self,
        tx: &mut WriteTx,
        project_id: &str,
        items: &[(Resource, i64)],
    ) -> Result<()> {
        for (resource, amount) in sorted(items)? {
            self.lock(tx, project_id, resource).await?;
            sqlx::query("UPDATE quota_usage SET in_use = CASE WHEN in_use > ? THEN in_use - ? ELSE 0 END, updated_at = ? WHERE project_id = ? AND resource = ?")
                .bind(amount)
                .bind(amount)
                .bind(now_micros())
                .bind(project_id)
                .bind(resource.name())
                .execute(&mut **tx)
                .await
                .map_err(db_err("giving back usage"))?;
        }
        Ok(())
    }

    /// Moves amounts in use from project `from` to project `to` (an image
    /// handed to another project takes its count and bytes along). Not a
    /// new consumption, so `to`'s limit is not checked, as Glance checks
    /// quotas only when an image is created or receives data. `None` is no
    /// project (nothing to take or give). Rows are locked in one order
    /// (project, then resource), so opposite moves cannot deadlock.
    pub async fn transfer(
        &self,
        tx: &mut WriteTx,
        from: Option<&str>,
        to: Option<&str>,
        items: &[(Resource, i64)],
    ) -> Result<()> {
        let items = sorted(items)?;
        let mut projects: Vec<&str> = from.into_iter().chain(to).collect();
        projects.sort_unstable();
        projects.dedup();
        for p in &projects {
            for (resource, _) in &items {
                self.lock(tx, p, *resource).await?;
            }
        }
        if from == to {
            return Ok(());
        }
        if let Some(from) = from {
            self.give_back(tx, from, &items).await?;
        }
        if let Some(to) = to {
            for (resource, amount) in &items {
                self.add_in_use(tx, to, *resource, *amount).await?;
            }
        }
        Ok(())
    }

    /// Removes every limit, usage and reservation row of `project_id` for
    /// `resources` (its project was deleted).
    pub async fn forget_project(
        &self,
        tx: &mut WriteTx,
        project_id: &str,
        resources: &[Resource],
    ) -> Result<()> {
        for table in ["quota_limits", "quota_usage", "quota_reservations"] {
            for resource in resources {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE project_id = ? AND resource = ?"
                ))
                .bind(project_id)
                .bind(resource.name())
                .execute(&mut **tx)
                .await
                .map_err(db_err("forgetting a project"))?;
            }
        }
        Ok(())
    }

    /// Deletes lapsed reservations (they already count for nothing; this
    /// only keeps the table small). Returns how many went.
    pub async fn purge_expired(&self) -> Result<u64> {
        let n = sqlx::query("DELETE FROM quota_reservations WHERE expires_at <= ?")
            .bind(now_micros())
            .execute(&self.db.pool)
            .await
            .map_err(db_err("purging expired reservations"))?
            .rows_affected();
        Ok(n)
    }

    // --------------------------------------------------------------- inner

    /// Locks the (project, resource) usage row — creating it if need be —
    /// and reads the standing under that lock.
    async fn lock(&self, tx: &mut WriteTx, project_id: &str, resource: Resource) -> Result<Usage> {
        // On MariaDB an upsert takes the row's exclusive lock even when the
        // row exists, so concurrent first uses queue instead of deadlocking
        // (INSERT IGNORE would take shared locks and then need to upgrade).
        let ensure = match self.db.backend {
            Backend::MySql => "INSERT INTO quota_usage (project_id, resource, in_use, updated_at) VALUES (?, ?, 0, ?) ON DUPLICATE KEY UPDATE in_use = in_use",
            Backend::Sqlite => "INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use, updated_at) VALUES (?, ?, 0, ?)",
        };
        sqlx::query(ensure)
            .bind(project_id)
            .bind(resource.name())
            .bind(now_micros())
            .execute(&mut **tx)
            .await
            .map_err(db_err("locking usage"))?;
        // A locking read sees the latest committed value, not the
        // transaction's snapshot.
        let sql = self
            .db
            .for_update("SELECT in_use FROM quota_usage WHERE project_id = ? AND resource = ?");
        let in_use: i64 = sqlx::query(&sql)
            .bind(project_id)
            .bind(resource.name())
            .fetch_one(&mut **tx)
            .await
            .and_then(|r| r.try_get("in_use"))
            .map_err(db_err("locking usage"))?;
        let limit = self.limit_on(&mut **tx, project_id, resource).await?;
        // Every change to the reservations of this (project, resource)
        // happens under the lock we now hold, so a plain read is exact.
        let reserved = self.reserved_on(&mut **tx, project_id, resource).await?;
        Ok(Usage {
            resource,
            limit,
            in_use,
            reserved,
        })
    }

    async fn hold(
        &self,
        tx: &mut WriteTx,
        reservation: &mut Reservation,
        resource: Resource,
        amount: i64,
    ) -> Result<()> {
        let u = self.lock(tx, &reservation.project_id, resource).await?;
        fits(&reservation.project_id, &u, amount)?;
        let upsert = match self.db.backend {
            Backend::MySql => "INSERT INTO quota_reservations (id, project_id, resource, amount, expires_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE amount = amount + VALUES(amount), expires_at = VALUES(expires_at)",
            Backend::Sqlite => "INSERT INTO quota_reservations (id, project_id, resource, amount, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id, resource) DO UPDATE SET amount = amount + excluded.amount, expires_at = excluded.expires_at",
        };
        sqlx::query(upsert)
            .bind(reservation.id.as_str())
            .bind(reservation.project_id.as_str())
            .bind(resource.name())
            .bind(amount)
            .bind(self.expiry())
            .execute(&mut **tx)
            .await
            .map_err(db_err("reserving"))?;
        match reservation.items.iter_mut().find(|(r, _)| *r == resource) {
            Some((_, n)) => *n += amount,
            None => reservation.items.push((resource, amount)),
        }
        Ok(())
    }

    async fn add_in_use(
        &self,
        tx: &mut WriteTx,
        project_id: &str,
        resource: Resource,
        amount: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE quota_usage SET in_use = in_use + ?, updated_at = ? WHERE project_id = ? AND resource = ?")
            .bind(amount)
            .bind(now_micros())
            .bind(project_id)
            .bind(resource.name())
            .execute(&mut **tx)
            .await
            .map_err(db_err("recording usage"))?;
        Ok(())
    }

    async fn drop_reservation(&self, tx: &mut WriteTx, reservation: &Reservation) -> Result<()> {
        sqlx::query("DELETE FROM quota_reservations WHERE id = ?")
            .bind(reservation.id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db_err("dropping a reservation"))?;
        Ok(())
    }

    async fn own_limits(&self, project_id: &str) -> Result<HashMap<Resource, i64>> {
        let rows =
            sqlx::query("SELECT resource, hard_limit FROM quota_limits WHERE project_id = ?")
                .bind(project_id)
                .fetch_all(&self.db.pool)
                .await
                .map_err(db_err("reading limits"))?;
        let mut out = HashMap::new();
        for r in rows {
            let name: String = r.try_get("resource").map_err(db_err("reading limits"))?;
            let limit: i64 = r.try_get("hard_limit").map_err(db_err("reading limits"))?;
            // A resource this build no longer knows limits nothing.
            if let Some(resource) = Resource::parse(&name) {
                out.insert(resource, limit);
            }
        }
        Ok(out)
    }

    /// The admins' default overrides (a few rows, read each time: a cache
    /// would let one server apply an old default after another changed it).
    async fn default_overrides(&self) -> Result<HashMap<Resource, i64>> {
        let rows = sqlx::query("SELECT resource, hard_limit FROM quota_defaults")
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err("reading defaults"))?;
        let mut out = HashMap::new();
        for r in rows {
            let name: String = r.try_get("resource").map_err(db_err("reading defaults"))?;
            let limit: i64 = r
                .try_get("hard_limit")
                .map_err(db_err("reading defaults"))?;
            if let Some(resource) = Resource::parse(&name) {
                out.insert(resource, limit);
            }
        }
        Ok(out)
    }

    /// The project's own limit, else the default override, else the
    /// configured default: one query, the project's row first.
    async fn limit_on<'e, E>(&self, conn: E, project_id: &str, resource: Resource) -> Result<i64>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let own = sqlx::query(
            "SELECT hard_limit, 0 AS pick FROM quota_limits WHERE project_id = ? AND resource = ? \
             UNION ALL SELECT hard_limit, 1 AS pick FROM quota_defaults WHERE resource = ? \
             ORDER BY pick LIMIT 1",
        )
        .bind(project_id)
        .bind(resource.name())
        .bind(resource.name())
        .fetch_optional(conn)
        .await
        .map_err(db_err("reading a limit"))?;
        match own {
            Some(r) => r.try_get("hard_limit").map_err(db_err("reading a limit")),
            None => Ok(self.default_limit(resource)),
        }
    }

    /// Is `reservation` the oldest live hold on `resource` in its project,
    /// with younger holds beside it? Then a growing upload refused for room
    /// those younger holds take waits for them instead of failing: younger
    /// uploads yield (they fail and give their holds back), so concurrent
    /// uploads of unknown length cannot starve each other to nothing.
    pub async fn is_oldest_hold(
        &self,
        reservation: &Reservation,
        resource: Resource,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT MIN(id) AS oldest, COUNT(*) AS n FROM quota_reservations \
             WHERE project_id = ? AND resource = ? AND expires_at > ? AND id <> ?",
        )
        .bind(reservation.project_id.as_str())
        .bind(resource.name())
        .bind(now_micros())
        .bind(reservation.id.as_str())
        .fetch_one(&self.db.pool)
        .await
        .map_err(db_err("reading reservations"))?;
        let others: i64 = row.try_get("n").map_err(db_err("reading reservations"))?;
        let oldest: Option<String> = row
            .try_get("oldest")
            .map_err(db_err("reading reservations"))?;
        Ok(others > 0 && oldest.is_some_and(|o| o > reservation.id))
    }

    async fn reserved_on<'e, E>(&self, conn: E, project_id: &str, resource: Resource) -> Result<i64>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let sql = format!(
            "SELECT {} AS n FROM quota_reservations WHERE project_id = ? AND resource = ? AND expires_at > ?",
            self.db.sum_bigint("amount")
        );
        sqlx::query(&sql)
            .bind(project_id)
            .bind(resource.name())
            .bind(now_micros())
            .fetch_one(conn)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(db_err("reading reservations"))
    }
}

fn fits(project_id: &str, u: &Usage, amount: i64) -> Result<()> {
    if u.limit < 0 || amount == 0 {
        return Ok(());
    }
    let taken = u.in_use.saturating_add(u.reserved);
    if taken.saturating_add(amount) > u.limit {
        return Err(QuotaError::OverQuota(OverQuota {
            project_id: project_id.to_string(),
            resource: u.resource,
            limit: u.limit,
            in_use: u.in_use,
            reserved: u.reserved,
            requested: amount,
        }));
    }
    Ok(())
}

/// Every limit is -1 (unlimited) or more, checked before anything is written.
fn validate_limits(items: &[(Resource, Option<i64>)]) -> Result<()> {
    for &(resource, limit) in items {
        if let Some(limit) = limit.filter(|l| *l < UNLIMITED) {
            return Err(QuotaError::InvalidLimit { resource, limit });
        }
    }
    Ok(())
}

fn validate_amount(resource: Resource, amount: i64) -> Result<()> {
    if amount < 0 {
        return Err(QuotaError::InvalidAmount { resource, amount });
    }
    Ok(())
}

/// The items merged per resource and in lock order.
fn sorted(items: &[(Resource, i64)]) -> Result<Vec<(Resource, i64)>> {
    let mut merged: std::collections::BTreeMap<Resource, i64> = Default::default();
    for &(resource, amount) in items {
        validate_amount(resource, amount)?;
        *merged.entry(resource).or_default() += amount;
    }
    Ok(merged.into_iter().collect())
}

/// A policy check with the quota error (the rule is named in its text).
fn enforce(ctx: &RequestContext, rule: &Rule, target: &Target) -> Result<()> {
    crate::policy::enforce(ctx, rule, target).map_err(QuotaError::from)
}
