//! Networks: a project's own or shared; admins make external ones and
//! choose the provider segment (flat on a physical network, or VXLAN with
//! a VNI, allocated when not given).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::config::MAX_VNI;
use super::list::{Arg, Listing, SortBy, Where};
use super::*;
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, enforce, network as rules, Target};
use crate::quota::Resource;
use crate::Page;

pub(super) const NETWORK_COLS: &str = "t.id, t.project_id, t.name, t.description, \
     t.admin_state_up, t.status, t.shared, t.router_external, t.mtu, t.network_type, \
     t.physical_network, t.segmentation_id, t.created_at, t.updated_at";

/// The smallest MTU Neutron accepts (IPv4's minimum).
const MIN_MTU: u32 = 68;

fn network_of(r: &AnyRow) -> Result<Network> {
    let kind: String = r.try_get("network_type")?;
    Ok(Network {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        admin_state_up: r.try_get::<i64, _>("admin_state_up")? != 0,
        status: r.try_get("status")?,
        shared: r.try_get::<i64, _>("shared")? != 0,
        router_external: r.try_get::<i64, _>("router_external")? != 0,
        mtu: u32::try_from(r.try_get::<i64, _>("mtu")?).unwrap_or(0),
        network_type: NetworkType::parse(&kind)
            .ok_or_else(|| NetworkError::Internal(format!("network type {kind:?}")))?,
        physical_network: r.try_get("physical_network")?,
        segmentation_id: r
            .try_get::<Option<i64>, _>("segmentation_id")?
            .and_then(|v| u32::try_from(v).ok()),
        subnets: Vec::new(),
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

/// The policy target of a network: its project, visible to all when
/// shared or external, shared with the caller when shared.
pub(super) fn network_target(n: &Network) -> Target<'_> {
    Target {
        project_id: Some(&n.project_id),
        public: n.shared || n.router_external,
        shared_with_caller: n.shared,
        ..Default::default()
    }
}

fn sort_expr(k: NetworkSortKey) -> (&'static str, bool) {
    match k {
        NetworkSortKey::Id => ("t.id", false),
        NetworkSortKey::Name => ("t.name", false),
        NetworkSortKey::Status => ("t.status", false),
        NetworkSortKey::ProjectId => ("t.project_id", false),
        NetworkSortKey::CreatedAt => ("t.created_at", true),
        NetworkSortKey::UpdatedAt => ("t.updated_at", true),
        NetworkSortKey::Mtu => ("t.mtu", true),
    }
}

fn in_use_conflict(neutron_type: &'static str, message: crate::PublicMessage) -> NetworkError {
    NetworkError::Conflict {
        neutron_type,
        message,
    }
}

impl NetworkService {
    /// The largest MTU a network of `kind` may have.
    fn max_mtu(&self, kind: NetworkType) -> u32 {
        match kind {
            NetworkType::Flat => self.cfg.global_physnet_mtu,
            NetworkType::Vxlan => self.cfg.global_physnet_mtu.saturating_sub(50),
        }
    }

    fn check_mtu(&self, kind: NetworkType, mtu: u32) -> Result<()> {
        let max = self.max_mtu(kind);
        if mtu < MIN_MTU || mtu > max {
            return Err(NetworkError::invalid(format!(
                "Requested MTU is too big, maximum is {max}; the minimum is {MIN_MTU}."
            )));
        }
        Ok(())
    }

    /// The network row, whoever owns it (no visibility check).
    pub(super) async fn network_row<'e, E>(&self, conn: E, id: &str) -> Result<Option<Network>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row = sqlx::query(&format!(
            "SELECT {NETWORK_COLS} FROM networks t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(network_of).transpose()
    }

    /// Locks the network's row for the rest of `tx` (see the module doc)
    /// and answers it.
    pub(super) async fn lock_network(&self, tx: &mut WriteTx, id: &str) -> Result<Network> {
        let sql = self.db.for_update(&format!(
            "SELECT {NETWORK_COLS} FROM networks t WHERE t.id = ?"
        ));
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| NetworkError::network_not_found(id))?;
        network_of(&row)
    }

    /// A network the caller may see, else `NetworkNotFound`.
    pub(super) async fn visible_network(&self, ctx: &RequestContext, id: &str) -> Result<Network> {
        let n = self
            .network_row(&self.db.pool, id)
            .await?
            .ok_or_else(|| NetworkError::network_not_found(id))?;
        if !allows(ctx, &rules::GET_NETWORK, &network_target(&n)) {
            return Err(NetworkError::network_not_found(id));
        }
        Ok(n)
    }

    async fn fill_subnet_ids(&self, networks: &mut [Network]) -> Result<()> {
        if networks.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = networks.iter().map(|n| n.id.clone()).collect();
        let rows = rows_in(
            &self.db,
            "SELECT id, network_id FROM subnets WHERE network_id IN (?) ORDER BY created_at, id",
            &ids,
        )
        .await?;
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows {
            by.entry(r.try_get("network_id")?)
                .or_default()
                .push(r.try_get("id")?);
        }
        for n in networks {
            n.subnets = by.remove(&n.id).unwrap_or_default();
        }
        Ok(())
    }

    pub async fn get_network(&self, ctx: &RequestContext, id: &str) -> Result<Network> {
        let mut n = self.visible_network(ctx, id).await?;
        self.fill_subnet_ids(std::slice::from_mut(&mut n)).await?;
        Ok(n)
    }

    /// Networks the caller may see, filtered, sorted and paged in SQL.
    pub async fn list_networks(
        &self,
        ctx: &RequestContext,
        f: &NetworkFilter,
    ) -> Result<Page<Network>> {
        let mut visible = Where::default();
        if !allows(ctx, &rules::GET_ALL_NETWORKS, &Target::none()) {
            // Neutron checks `get_network` per row: its own project's
            // (none without a project scope), shared and external ones.
            let project = ctx.project_id().unwrap_or_default().to_string();
            visible.push(
                "(t.project_id = ? OR t.shared = 1 OR t.router_external = 1)",
                [Arg::Text(project)],
            );
        }
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.name", f.name.as_ref());
        w.search("t.name", "t.id", f.query.as_ref())?;
        w.flag("t.shared", f.shared);
        w.flag("t.router_external", f.router_external);
        w.flag("t.admin_state_up", f.admin_state_up);
        w.text("t.status", f.status.as_ref());
        if let Some(k) = f.network_type {
            w.push("t.network_type = ?", [Arg::Text(k.as_str().into())]);
        }
        let sort = if f.sort.is_empty() {
            vec![(NetworkSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        let listing = Listing {
            from: "networks t",
            cols: NETWORK_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != NetworkSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = sort_expr(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        };
        let mut page = listing
            .run(&self.db, network_of, NetworkError::network_not_found)
            .await?;
        self.fill_subnet_ids(&mut page.items).await?;
        Ok(page)
    }

    pub async fn create_network(&self, ctx: &RequestContext, new: NewNetwork) -> Result<Network> {
        let project = owning_project(ctx, new.project_id.as_ref())?;
        enforce(ctx, &rules::CREATE_NETWORK, &Target::project(&project))?;
        if new.shared {
            enforce(
                ctx,
                &rules::CREATE_NETWORK_SHARED,
                &Target::project(&project),
            )?;
        }
        if new.router_external {
            enforce(
                ctx,
                &rules::CREATE_NETWORK_EXTERNAL,
                &Target::project(&project),
            )?;
        }
        let provider = new.network_type.is_some()
            || new.physical_network.is_some()
            || new.segmentation_id.is_some();
        if provider {
            enforce(
                ctx,
                &rules::CREATE_NETWORK_PROVIDER,
                &Target::project(&project),
            )?;
        }
        check_name("name", &new.name, 255)?;
        check_description(&new.description)?;
        let kind = match (new.network_type, provider) {
            (Some(k), _) => k,
            (None, false) => NetworkType::Vxlan,
            (None, true) => {
                return Err(NetworkError::invalid(
                    "provider:network_type required when provider:physical_network or provider:segmentation_id is given.",
                ))
            }
        };
        let physnet = match kind {
            NetworkType::Flat => {
                if new.segmentation_id.is_some() {
                    return Err(NetworkError::invalid(
                        "provider:segmentation_id specified for flat network.",
                    ));
                }
                let p = new
                    .physical_network
                    .clone()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| {
                        NetworkError::invalid(
                            "provider:physical_network required for flat provider network.",
                        )
                    })?;
                check_name("provider:physical_network", &p, 64)?;
                if !self.cfg.flat_networks.is_empty() && !self.cfg.flat_networks.contains(&p) {
                    return Err(NetworkError::invalid(format!(
                        "physical_network '{p}' unknown for flat provider network."
                    )));
                }
                Some(p)
            }
            NetworkType::Vxlan => {
                if new.physical_network.is_some() {
                    return Err(NetworkError::invalid(
                        "provider:physical_network specified for vxlan network.",
                    ));
                }
                if let Some(v) = new.segmentation_id {
                    if !(1..=MAX_VNI).contains(&v) {
                        return Err(NetworkError::invalid(format!(
                            "provider:segmentation_id out of range (1 through {MAX_VNI})."
                        )));
                    }
                }
                None
            }
        };
        let mtu = match new.mtu {
            Some(m) => {
                self.check_mtu(kind, m)?;
                m
            }
            None => self.max_mtu(kind),
        };
        let id = new_uuid();
        retrying!(
            self.try_create_network(&new, &id, &project, kind, physnet.as_deref(), mtu)
                .await
        )?;
        self.get_network(ctx, &id).await
    }

    async fn try_create_network(
        &self,
        new: &NewNetwork,
        id: &str,
        project: &str,
        kind: NetworkType,
        physnet: Option<&str>,
        mtu: u32,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.quota
            .consume(&mut tx, project, &[(Resource::NETWORKS, 1)])
            .await?;
        let segment: i64 = match (kind, new.segmentation_id) {
            (NetworkType::Flat, _) => 0,
            (NetworkType::Vxlan, Some(v)) => i64::from(v),
            (NetworkType::Vxlan, None) => self.free_vni(&mut tx).await?,
        };
        let taken = sqlx::query(
            "SELECT network_id FROM network_segments \
             WHERE network_type = ? AND physical_network = ? AND segmentation_id = ?",
        )
        .bind(kind.as_str())
        .bind(physnet.unwrap_or_default())
        .bind(segment)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(match kind {
                NetworkType::Flat => in_use_conflict(
                    "FlatNetworkInUse",
                    crate::msg!(
                        "error.network.flat_in_use",
                        "Unable to create the flat network. Physical network {physical_network} is in use.",
                        physical_network = physnet.unwrap_or_default(),
                    ),
                ),
                NetworkType::Vxlan => in_use_conflict(
                    "TunnelIdInUse",
                    crate::msg!(
                        "error.network.tunnel_id_in_use",
                        "Unable to create the network. The tunnel ID {tunnel_id} is in use.",
                        tunnel_id = segment,
                    ),
                ),
            });
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO networks (id, project_id, name, description, admin_state_up, status, \
             shared, router_external, mtu, network_type, physical_network, segmentation_id, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(project)
        .bind(new.name.as_str())
        .bind(new.description.as_str())
        .bind(i64::from(new.admin_state_up.unwrap_or(true)))
        .bind(STATUS_ACTIVE)
        .bind(i64::from(new.shared))
        .bind(i64::from(new.router_external))
        .bind(i64::from(mtu))
        .bind(kind.as_str())
        .bind(physnet)
        .bind(match kind {
            NetworkType::Flat => None,
            NetworkType::Vxlan => Some(segment),
        })
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // A VNI or physical network another create took a moment ago is a
        // unique violation here: the whole transaction runs again.
        sqlx::query(
            "INSERT INTO network_segments (network_type, physical_network, segmentation_id, network_id) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(kind.as_str())
        .bind(physnet.unwrap_or_default())
        .bind(segment)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The first VNI of the configured range no network has.
    async fn free_vni(&self, tx: &mut WriteTx) -> Result<i64> {
        let (min, max) = (
            i64::from(self.cfg.vni_min.max(1)),
            i64::from(self.cfg.vni_max.min(MAX_VNI)),
        );
        let rows = sqlx::query(
            "SELECT segmentation_id FROM network_segments WHERE network_type = 'vxlan' \
             AND segmentation_id >= ? AND segmentation_id <= ? ORDER BY segmentation_id",
        )
        .bind(min)
        .bind(max)
        .fetch_all(&mut **tx)
        .await?;
        let mut candidate = min;
        for r in rows {
            let v: i64 = r.try_get("segmentation_id")?;
            if v != candidate {
                break;
            }
            candidate += 1;
        }
        if candidate > max {
            return Err(in_use_conflict(
                "NoNetworkAvailable",
                crate::msg!(
                    "error.network.no_network_available",
                    "Unable to create the network. No tenant network is available for allocation."
                ),
            ));
        }
        Ok(candidate)
    }

    pub async fn update_network(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: NetworkUpdate,
    ) -> Result<Network> {
        let n = self.visible_network(ctx, id).await?;
        enforce(ctx, &rules::UPDATE_NETWORK, &network_target(&n))?;
        if u.shared.is_some_and(|s| s != n.shared) {
            enforce(ctx, &rules::UPDATE_NETWORK_SHARED, &network_target(&n))?;
        }
        if u.router_external.is_some_and(|s| s != n.router_external) {
            enforce(ctx, &rules::UPDATE_NETWORK_EXTERNAL, &network_target(&n))?;
        }
        if let Some(name) = &u.name {
            check_name("name", name, 255)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        if let Some(m) = u.mtu {
            self.check_mtu(n.network_type, m)?;
        }
        retrying!(self.try_update_network(id, &u).await)?;
        self.get_network(ctx, id).await
    }

    async fn try_update_network(&self, id: &str, u: &NetworkUpdate) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let n = self.lock_network(&mut tx, id).await?;
        if u.shared == Some(false) && n.shared {
            // Neutron's InvalidSharedSetting: other projects use it.
            let others = sqlx::query(
                "SELECT 1 AS x FROM ports WHERE network_id = ? AND project_id <> ? LIMIT 1",
            )
            .bind(id)
            .bind(n.project_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if others.is_some() {
                return Err(in_use_conflict(
                    "InvalidSharedSetting",
                    crate::msg!(
                        "error.network.invalid_shared_setting",
                        "Unable to reconfigure sharing settings for network {network}. Multiple tenants are using it.",
                        network = id,
                    ),
                ));
            }
        }
        if u.router_external == Some(false) && n.router_external {
            // Routers' gateways and floating IPs need it external.
            let used = sqlx::query(
                "SELECT 1 AS x FROM ports WHERE network_id = ? AND device_owner IN (?, ?) LIMIT 1",
            )
            .bind(id)
            .bind(DEVICE_OWNER_ROUTER_GATEWAY)
            .bind(DEVICE_OWNER_FLOATINGIP)
            .fetch_optional(&mut *tx)
            .await?;
            if used.is_some() {
                return Err(NetworkError::external_network_in_use(id));
            }
        }
        sqlx::query(
            "UPDATE networks SET name = ?, description = ?, admin_state_up = ?, shared = ?, \
             router_external = ?, mtu = ?, updated_at = ? WHERE id = ?",
        )
        .bind(u.name.as_deref().unwrap_or(&n.name))
        .bind(u.description.as_deref().unwrap_or(&n.description))
        .bind(i64::from(u.admin_state_up.unwrap_or(n.admin_state_up)))
        .bind(i64::from(u.shared.unwrap_or(n.shared)))
        .bind(i64::from(u.router_external.unwrap_or(n.router_external)))
        .bind(i64::from(u.mtu.unwrap_or(n.mtu)))
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a network with its subnets and its DHCP ports; any other
    /// port (a router's or floating IP's included) keeps it
    /// (`NetworkInUse`). Every project's quota
    /// gets back what went.
    pub async fn delete_network(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let n = self.visible_network(ctx, id).await?;
        enforce(ctx, &rules::DELETE_NETWORK, &network_target(&n))?;
        retrying!(self.try_delete_network(id).await)
    }

    async fn try_delete_network(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let n = self.lock_network(&mut tx, id).await?;
        let ports = sqlx::query("SELECT project_id, device_owner FROM ports WHERE network_id = ?")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        // (project, resource) → amount, in the quota engine's lock order.
        let mut back: BTreeMap<String, BTreeMap<Resource, i64>> = BTreeMap::new();
        for r in &ports {
            let owner: String = r.try_get("device_owner")?;
            if !AUTO_DELETE_OWNERS.contains(&owner.as_str()) {
                return Err(NetworkError::network_in_use(id));
            }
            *back
                .entry(r.try_get("project_id")?)
                .or_default()
                .entry(Resource::PORTS)
                .or_default() += 1;
        }
        let subnets = sqlx::query("SELECT project_id FROM subnets WHERE network_id = ?")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        for r in &subnets {
            *back
                .entry(r.try_get("project_id")?)
                .or_default()
                .entry(Resource::SUBNETS)
                .or_default() += 1;
        }
        *back
            .entry(n.project_id.clone())
            .or_default()
            .entry(Resource::NETWORKS)
            .or_default() += 1;
        for (project, items) in &back {
            let items: Vec<(Resource, i64)> = items.iter().map(|(r, n)| (*r, *n)).collect();
            self.quota.give_back(&mut tx, project, &items).await?;
        }
        for sql in [
            "DELETE FROM ip_allocations WHERE network_id = ?",
            "DELETE FROM ports WHERE network_id = ?",
            "DELETE FROM subnets WHERE network_id = ?",
            "DELETE FROM network_segments WHERE network_id = ?",
            "DELETE FROM networks WHERE id = ?",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
