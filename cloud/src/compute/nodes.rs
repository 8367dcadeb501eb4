//! Compute nodes as their agents report them: registration and heartbeats
//! (from the conductor), and the admin's views (hypervisors, services,
//! availability zones).

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use bus::messages::NodeReport;

use super::{new_uuid, ComputeError, ComputeNode, ComputeService, Result};
use crate::db::{micros_to_time, now_micros};
use crate::policy::{compute as rules, enforce, Target};
use crate::RequestContext;

pub(super) const NODE_COLUMNS: &str = "id, name, host_ip, hypervisor_type, hypervisor_version, \
     availability_zone, vcpus, memory_mib, disk_gb, vcpus_used, memory_mib_used, disk_gb_used, \
     running_vms, enabled, disabled_reason, forced_down, heartbeat_at, created_at";

impl ComputeService {
    fn down_window(&self) -> i64 {
        let d = Duration::from_secs(self.cfg.node_down_after_secs);
        i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
    }

    /// Heartbeats older than this are from nodes that are down.
    pub(super) fn alive_since(&self) -> i64 {
        now_micros().saturating_sub(self.down_window())
    }

    pub(super) fn node_from_row(&self, row: &AnyRow) -> Result<ComputeNode> {
        let heartbeat: i64 = row.try_get("heartbeat_at")?;
        let forced_down = row.try_get::<i64, _>("forced_down")? != 0;
        Ok(ComputeNode {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            host_ip: row.try_get("host_ip")?,
            hypervisor_type: row.try_get("hypervisor_type")?,
            hypervisor_version: u64::try_from(row.try_get::<i64, _>("hypervisor_version")?)
                .unwrap_or(0),
            availability_zone: row.try_get("availability_zone")?,
            vcpus: to_u32(row.try_get("vcpus")?),
            memory_mib: to_u64(row.try_get("memory_mib")?),
            disk_gb: to_u64(row.try_get("disk_gb")?),
            vcpus_used: to_u32(row.try_get("vcpus_used")?),
            memory_mib_used: to_u64(row.try_get("memory_mib_used")?),
            disk_gb_used: to_u64(row.try_get("disk_gb_used")?),
            running_vms: to_u32(row.try_get("running_vms")?),
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            disabled_reason: row.try_get("disabled_reason")?,
            forced_down,
            up: !forced_down && heartbeat >= self.alive_since(),
            heartbeat_at: micros_to_time(heartbeat),
            created_at: micros_to_time(row.try_get("created_at")?),
        })
    }

    /// Records a node's heartbeat (its first registers it). Sizes are the
    /// node's own report; the claims (`*_used`) are the scheduler's and are
    /// left alone.
    pub async fn record_heartbeat(&self, report: &NodeReport) -> Result<()> {
        let now = now_micros();
        let az = if report.availability_zone.is_empty() {
            self.cfg.default_availability_zone.clone()
        } else {
            report.availability_zone.clone()
        };
        let updated = sqlx::query(
            "UPDATE compute_nodes SET host_ip = ?, hypervisor_type = ?, hypervisor_version = ?, \
             availability_zone = ?, vcpus = ?, memory_mib = ?, disk_gb = ?, running_vms = ?, \
             agent_started_at = ?, heartbeat_at = ? WHERE name = ?",
        )
        .bind(report.host_ip.clone())
        .bind(report.hypervisor_type.clone())
        .bind(i64::try_from(report.hypervisor_version).unwrap_or(0))
        .bind(az.clone())
        .bind(i64::from(report.vcpus))
        .bind(i64::try_from(report.memory_mib).unwrap_or(i64::MAX))
        .bind(i64::try_from(report.disk_gb).unwrap_or(i64::MAX))
        .bind(i64::from(report.running))
        .bind(report.started_at)
        .bind(now)
        .bind(report.node.clone())
        .execute(&self.db.pool)
        .await?;
        if updated.rows_affected() > 0 {
            return Ok(());
        }
        let inserted = sqlx::query(&format!(
            "{} INTO compute_nodes (id, name, host_ip, hypervisor_type, hypervisor_version, \
             availability_zone, vcpus, memory_mib, disk_gb, running_vms, agent_started_at, \
             heartbeat_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.db.insert_ignore()
        ))
        .bind(new_uuid())
        .bind(report.node.clone())
        .bind(report.host_ip.clone())
        .bind(report.hypervisor_type.clone())
        .bind(i64::try_from(report.hypervisor_version).unwrap_or(0))
        .bind(az)
        .bind(i64::from(report.vcpus))
        .bind(i64::try_from(report.memory_mib).unwrap_or(i64::MAX))
        .bind(i64::try_from(report.disk_gb).unwrap_or(i64::MAX))
        .bind(i64::from(report.running))
        .bind(report.started_at)
        .bind(now)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        if inserted.rows_affected() > 0 {
            tracing::info!(node = %report.node, vcpus = report.vcpus, memory_mib = report.memory_mib,
                "compute node registered");
        }
        Ok(())
    }

    /// Every node (os-hypervisors, os-services): admins only.
    pub async fn list_nodes(&self, ctx: &RequestContext) -> Result<Vec<ComputeNode>> {
        enforce(ctx, &rules::HYPERVISORS, &Target::none())?;
        self.all_nodes().await
    }

    pub(super) async fn all_nodes(&self) -> Result<Vec<ComputeNode>> {
        let rows = sqlx::query(&format!(
            "SELECT {NODE_COLUMNS} FROM compute_nodes ORDER BY name"
        ))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(|r| self.node_from_row(r)).collect()
    }

    /// One node by id (or by name, which the CLI also passes).
    pub async fn get_node(&self, ctx: &RequestContext, id: &str) -> Result<ComputeNode> {
        enforce(ctx, &rules::HYPERVISORS, &Target::none())?;
        let row = sqlx::query(&format!(
            "SELECT {NODE_COLUMNS} FROM compute_nodes WHERE id = ? OR name = ?"
        ))
        .bind(id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.db.pool)
        .await?;
        match row {
            Some(r) => self.node_from_row(&r),
            None => Err(ComputeError::NotFound(crate::msg!(
                "error.compute.node_not_found",
                "Compute host {id} could not be found.",
                id = id,
            ))),
        }
    }

    /// Enables or disables scheduling to a node (os-services PUT).
    pub async fn set_node_enabled(
        &self,
        ctx: &RequestContext,
        id: &str,
        enabled: bool,
        reason: Option<String>,
    ) -> Result<ComputeNode> {
        enforce(ctx, &rules::SERVICES_UPDATE, &Target::none())?;
        if let Some(r) = &reason {
            if r.chars().count() > 255 {
                return Err(ComputeError::Validation(crate::msg!(
                    "error.compute.reason_too_long",
                    "The disabled reason is longer than 255 characters."
                )));
            }
        }
        let node = self.get_node(ctx, id).await?;
        sqlx::query("UPDATE compute_nodes SET enabled = ?, disabled_reason = ? WHERE id = ?")
            .bind(i64::from(enabled))
            .bind(if enabled { None } else { reason })
            .bind(node.id.clone())
            .execute(&self.db.pool)
            .await?;
        self.get_node(ctx, &node.id).await
    }

    /// Marks a node down at once (os-services `forced_down`), without
    /// waiting for its heartbeats to lapse.
    pub async fn set_node_forced_down(
        &self,
        ctx: &RequestContext,
        id: &str,
        forced_down: bool,
    ) -> Result<ComputeNode> {
        enforce(ctx, &rules::SERVICES_UPDATE, &Target::none())?;
        let node = self.get_node(ctx, id).await?;
        sqlx::query("UPDATE compute_nodes SET forced_down = ? WHERE id = ?")
            .bind(i64::from(forced_down))
            .bind(node.id.clone())
            .execute(&self.db.pool)
            .await?;
        self.get_node(ctx, &node.id).await
    }

    /// The availability zones with their nodes. Anyone may list the zone
    /// names (the nodes are empty for them); admins see the nodes.
    pub async fn availability_zones(
        &self,
        ctx: &RequestContext,
    ) -> Result<Vec<(String, Vec<ComputeNode>)>> {
        enforce(ctx, &rules::AVAILABILITY_ZONES, &Target::none())?;
        let detail = crate::policy::allows(ctx, &rules::AVAILABILITY_ZONES_DETAIL, &Target::none());
        let mut zones: std::collections::BTreeMap<String, Vec<ComputeNode>> = Default::default();
        for node in self.all_nodes().await? {
            let entry = zones.entry(node.availability_zone.clone()).or_default();
            if detail {
                entry.push(node);
            }
        }
        if zones.is_empty() {
            zones.insert(self.cfg.default_availability_zone.clone(), Vec::new());
        }
        Ok(zones.into_iter().collect())
    }
}

pub(super) fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

pub(super) fn to_u64(v: i64) -> u64 {
    u64::try_from(v.max(0)).unwrap_or(0)
}
