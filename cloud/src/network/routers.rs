//! Routers (Neutron's `router` and `ext-gw-mode` extensions): a project's
//! subnets joined to each other and, through a gateway port on an
//! external network, to the outside, with SNAT unless an admin turns it
//! off.
//!
//! - An **interface** is a port of the router's project on the subnet's
//!   network holding the subnet's gateway address (or a port the project
//!   gives it); `router_ports` says which ports are whose. A router has
//!   one interface per subnet, and its subnets never overlap.
//! - The **gateway** port belongs to no project (as in Neutron): the
//!   project neither sees it among its ports nor pays port quota for it.
//! - Ports of routers (and of floating IPs) are removed through their own
//!   API, never `DELETE /ports` (`ServicePortInUse`), and they keep their
//!   networks and subnets in use.
//! - **Locking**: a write to a router locks its row first, then the
//!   networks it touches, then quota rows, so router writes queue behind
//!   each other and never wait in a cycle with port writes (which lock
//!   their network only).

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::list::{Listing, SortBy, Where};
use super::subnets::overlaps;
use super::*;
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, enforce, network as rules, Target};
use crate::quota::Resource;
use crate::Page;

const ROUTER_COLS: &str = "t.id, t.project_id, t.name, t.description, t.admin_state_up, \
     t.status, t.gw_port_id, t.gw_network_id, t.enable_snat, t.created_at, t.updated_at";

/// A router's row: the router without its interfaces and gateway
/// addresses.
pub(super) struct RouterRow {
    router: Router,
    gw_port_id: Option<String>,
    gw_network_id: Option<String>,
    enable_snat: bool,
}

fn row_of(r: &AnyRow) -> Result<RouterRow> {
    Ok(RouterRow {
        router: Router {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            admin_state_up: r.try_get::<i64, _>("admin_state_up")? != 0,
            status: r.try_get("status")?,
            external_gateway: None,
            interface_port_ids: Vec::new(),
            created_at: micros_to_time(r.try_get("created_at")?),
            updated_at: micros_to_time(r.try_get("updated_at")?),
        },
        gw_port_id: r.try_get("gw_port_id")?,
        gw_network_id: r.try_get("gw_network_id")?,
        enable_snat: r.try_get::<i64, _>("enable_snat")? != 0,
    })
}

fn sort_expr(k: RouterSortKey) -> (&'static str, bool) {
    match k {
        RouterSortKey::Id => ("t.id", false),
        RouterSortKey::Name => ("t.name", false),
        RouterSortKey::Status => ("t.status", false),
        RouterSortKey::ProjectId => ("t.project_id", false),
        RouterSortKey::CreatedAt => ("t.created_at", true),
        RouterSortKey::UpdatedAt => ("t.updated_at", true),
    }
}

/// A gateway as checked before its transaction.
struct CheckedGateway {
    network_id: String,
    enable_snat: bool,
    fixed_ips: Option<Vec<FixedIpRequest>>,
}

/// One subnet a router has an interface on.
struct Attached {
    subnet_id: String,
    cidr: Ipv4Net,
}

fn is_admin(ctx: &RequestContext) -> bool {
    allows(ctx, &rules::GET_ALL_ROUTERS, &Target::none())
}

impl NetworkService {
    async fn router_row<'e, E>(&self, conn: E, id: &str) -> Result<Option<RouterRow>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row = sqlx::query(&format!(
            "SELECT {ROUTER_COLS} FROM routers t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(row_of).transpose()
    }

    /// Locks a router's row for the rest of `tx`; `RouterNotFound` if it
    /// is gone.
    pub(super) async fn lock_router(&self, tx: &mut WriteTx, id: &str) -> Result<RouterRow> {
        let sql = self.db.for_update(&format!(
            "SELECT {ROUTER_COLS} FROM routers t WHERE t.id = ?"
        ));
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| NetworkError::router_not_found(id))?;
        row_of(&row)
    }

    /// A router the caller may see, else `RouterNotFound`.
    async fn visible_router(&self, ctx: &RequestContext, id: &str) -> Result<RouterRow> {
        let r = self
            .router_row(&self.db.pool, id)
            .await?
            .ok_or_else(|| NetworkError::router_not_found(id))?;
        if !allows(
            ctx,
            &rules::GET_ROUTER,
            &Target::project(&r.router.project_id),
        ) {
            return Err(NetworkError::router_not_found(id));
        }
        Ok(r)
    }

    /// Fills in the routers' interfaces and gateways (two queries for the
    /// whole page).
    async fn complete_routers(&self, rows: Vec<RouterRow>) -> Result<Vec<Router>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.router.id.clone()).collect();
        let mut interfaces: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows_in(
            &self.db,
            "SELECT router_id, port_id FROM router_ports WHERE router_id IN (?) \
             ORDER BY created_at, port_id",
            &ids,
        )
        .await?
        {
            interfaces
                .entry(r.try_get("router_id")?)
                .or_default()
                .push(r.try_get("port_id")?);
        }
        let gw_ports: Vec<String> = rows.iter().filter_map(|r| r.gw_port_id.clone()).collect();
        let mut addresses: BTreeMap<String, Vec<PortIp>> = BTreeMap::new();
        if !gw_ports.is_empty() {
            for r in rows_in(
                &self.db,
                "SELECT port_id, subnet_id, ip_address FROM ip_allocations WHERE port_id IN (?) \
                 ORDER BY port_id, position",
                &gw_ports,
            )
            .await?
            {
                let ip: String = r.try_get("ip_address")?;
                addresses
                    .entry(r.try_get("port_id")?)
                    .or_default()
                    .push(PortIp {
                        subnet_id: r.try_get("subnet_id")?,
                        ip_address: ip.parse().map_err(|_| {
                            NetworkError::Internal(format!("stored address {ip:?}"))
                        })?,
                    });
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut r = row.router;
                r.interface_port_ids = interfaces.remove(&r.id).unwrap_or_default();
                if let (Some(port_id), Some(network_id)) = (row.gw_port_id, row.gw_network_id) {
                    r.external_gateway = Some(ExternalGateway {
                        external_fixed_ips: addresses.remove(&port_id).unwrap_or_default(),
                        network_id,
                        enable_snat: row.enable_snat,
                        port_id,
                    });
                }
                r
            })
            .collect())
    }

    pub async fn get_router(&self, ctx: &RequestContext, id: &str) -> Result<Router> {
        let row = self.visible_router(ctx, id).await?;
        let mut out = self.complete_routers(vec![row]).await?;
        out.pop().ok_or_else(|| NetworkError::router_not_found(id))
    }

    /// Routers the caller may see (its project's; an admin's: all),
    /// filtered, sorted and paged in SQL.
    pub async fn list_routers(
        &self,
        ctx: &RequestContext,
        f: &RouterFilter,
    ) -> Result<Page<Router>> {
        let visible = Where::own_project_unless(ctx, &rules::GET_ALL_ROUTERS);
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.name", f.name.as_ref());
        w.search("t.name", "t.id", f.query.as_ref())?;
        w.text("t.status", f.status.as_ref());
        w.flag("t.admin_state_up", f.admin_state_up);
        let sort = if f.sort.is_empty() {
            vec![(RouterSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        let page = Listing {
            from: "routers t",
            cols: ROUTER_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != RouterSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = sort_expr(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        }
        .run(&self.db, row_of, NetworkError::router_not_found)
        .await?;
        Ok(Page {
            items: self.complete_routers(page.items).await?,
            total: page.total,
        })
    }

    /// Checks a gateway request: a network the caller sees that is
    /// external; SNAT and chosen addresses only from an admin.
    async fn check_gateway(
        &self,
        ctx: &RequestContext,
        project: &str,
        g: &ExternalGatewayRequest,
    ) -> Result<CheckedGateway> {
        let n = self.visible_network(ctx, &g.network_id).await?;
        if !n.router_external {
            return Err(NetworkError::bad_request(
                "router",
                format!("Network {} is not an external network", n.id),
            ));
        }
        if g.enable_snat.is_some() {
            enforce(ctx, &rules::ROUTER_GATEWAY_SNAT, &Target::project(project))?;
        }
        if g.external_fixed_ips.is_some() {
            enforce(
                ctx,
                &rules::ROUTER_GATEWAY_FIXED_IPS,
                &Target::project(project),
            )?;
        }
        Ok(CheckedGateway {
            network_id: n.id,
            enable_snat: g.enable_snat.unwrap_or(true),
            fixed_ips: g.external_fixed_ips.clone(),
        })
    }

    pub async fn create_router(&self, ctx: &RequestContext, new: NewRouter) -> Result<Router> {
        let project = owning_project(ctx, new.project_id.as_ref())?;
        enforce(ctx, &rules::CREATE_ROUTER, &Target::project(&project))?;
        check_name("name", &new.name, 255)?;
        check_description(&new.description)?;
        let gateway = match &new.external_gateway {
            Some(g) => Some(self.check_gateway(ctx, &project, g).await?),
            None => None,
        };
        let id = new_uuid();
        retrying!(
            self.try_create_router(&id, &project, &new, gateway.as_ref())
                .await
        )?;
        self.get_router(ctx, &id).await
    }

    async fn try_create_router(
        &self,
        id: &str,
        project: &str,
        new: &NewRouter,
        gateway: Option<&CheckedGateway>,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let now = now_micros();
        // The new row is this transaction's alone: it is "locked" first.
        sqlx::query(
            "INSERT INTO routers (id, project_id, name, description, admin_state_up, status, \
             gw_port_id, gw_network_id, enable_snat, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
        )
        .bind(id)
        .bind(project)
        .bind(new.name.as_str())
        .bind(new.description.as_str())
        .bind(i64::from(new.admin_state_up.unwrap_or(true)))
        .bind(STATUS_ACTIVE)
        .bind(i64::from(gateway.is_none_or(|g| g.enable_snat)))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(g) = gateway {
            self.attach_gateway(&mut tx, id, g).await?;
        }
        self.quota
            .consume(&mut tx, project, &[(Resource::ROUTERS, 1)])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives router `id` (locked in `tx`) a gateway port on the external
    /// network, which is locked here and must still be external.
    async fn attach_gateway(&self, tx: &mut WriteTx, id: &str, g: &CheckedGateway) -> Result<()> {
        let n = self.lock_network(tx, &g.network_id).await?;
        if !n.router_external {
            return Err(NetworkError::bad_request(
                "router",
                format!("Network {} is not an external network", n.id),
            ));
        }
        let port_id = new_uuid();
        let port = NewPort {
            network_id: n.id.clone(),
            device_owner: DEVICE_OWNER_ROUTER_GATEWAY.into(),
            device_id: id.to_string(),
            fixed_ips: g.fixed_ips.clone(),
            ..Default::default()
        };
        self.insert_port(tx, &port_id, "", &port, None, true, &[], &[])
            .await?;
        sqlx::query(
            "UPDATE routers SET gw_port_id = ?, gw_network_id = ?, enable_snat = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(port_id.as_str())
        .bind(n.id.as_str())
        .bind(i64::from(g.enable_snat))
        .bind(now_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Takes router `r`'s gateway away (the router locked in `tx`),
    /// unless floating IPs still go through it.
    async fn detach_gateway(&self, tx: &mut WriteTx, r: &RouterRow) -> Result<()> {
        let (Some(port_id), Some(network_id)) = (&r.gw_port_id, &r.gw_network_id) else {
            return Ok(());
        };
        if sqlx::query("SELECT 1 AS x FROM floating_ips WHERE router_id = ? LIMIT 1")
            .bind(r.router.id.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .is_some()
        {
            return Err(NetworkError::gateway_in_use_by_fip(
                &r.router.id,
                network_id,
            ));
        }
        self.lock_network(tx, network_id).await?;
        sqlx::query(
            "UPDATE routers SET gw_port_id = NULL, gw_network_id = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(now_micros())
        .bind(r.router.id.as_str())
        .execute(&mut **tx)
        .await?;
        self.remove_port_in(tx, "", port_id).await
    }

    pub async fn update_router(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: RouterUpdate,
    ) -> Result<Router> {
        let r = self.visible_router(ctx, id).await?;
        let project = r.router.project_id.clone();
        enforce(ctx, &rules::UPDATE_ROUTER, &Target::project(&project))?;
        if let Some(n) = &u.name {
            check_name("name", n, 255)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let gateway = match &u.external_gateway {
            Some(Some(g)) => Some(Some(self.check_gateway(ctx, &project, g).await?)),
            Some(None) => Some(None),
            None => None,
        };
        retrying!(self.try_update_router(id, &u, gateway.as_ref()).await)?;
        self.get_router(ctx, id).await
    }

    async fn try_update_router(
        &self,
        id: &str,
        u: &RouterUpdate,
        gateway: Option<&Option<CheckedGateway>>,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let r = self.lock_router(&mut tx, id).await?;
        match gateway {
            None => {}
            Some(None) => self.detach_gateway(&mut tx, &r).await?,
            Some(Some(g)) => {
                let same_network = r.gw_network_id.as_deref() == Some(g.network_id.as_str());
                if same_network && g.fixed_ips.is_none() {
                    // Only SNAT changes: the port and its address stay.
                    sqlx::query("UPDATE routers SET enable_snat = ? WHERE id = ?")
                        .bind(i64::from(g.enable_snat))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    self.detach_gateway(&mut tx, &r).await?;
                    self.attach_gateway(&mut tx, id, g).await?;
                }
            }
        }
        sqlx::query(
            "UPDATE routers SET name = ?, description = ?, admin_state_up = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(u.name.as_deref().unwrap_or(&r.router.name))
        .bind(u.description.as_deref().unwrap_or(&r.router.description))
        .bind(i64::from(
            u.admin_state_up.unwrap_or(r.router.admin_state_up),
        ))
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a router without interfaces (`RouterInUse` otherwise), its
    /// gateway port with it.
    pub async fn delete_router(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let r = self.visible_router(ctx, id).await?;
        enforce(
            ctx,
            &rules::DELETE_ROUTER,
            &Target::project(&r.router.project_id),
        )?;
        retrying!(self.try_delete_router(id).await)
    }

    async fn try_delete_router(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let r = self.lock_router(&mut tx, id).await?;
        if sqlx::query("SELECT 1 AS x FROM router_ports WHERE router_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some()
        {
            return Err(NetworkError::router_in_use(id));
        }
        self.detach_gateway(&mut tx, &r).await?;
        sqlx::query("DELETE FROM routers WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.quota
            .give_back(&mut tx, &r.router.project_id, &[(Resource::ROUTERS, 1)])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ------------------------------------------------------- interfaces

    /// The subnets router `id` has interfaces on, read inside `tx`.
    async fn attached_subnets(&self, tx: &mut WriteTx, id: &str) -> Result<Vec<Attached>> {
        let rows = sqlx::query(
            "SELECT s.id AS subnet_id, s.cidr AS cidr FROM router_ports rp \
             JOIN ip_allocations a ON a.port_id = rp.port_id \
             JOIN subnets s ON s.id = a.subnet_id WHERE rp.router_id = ?",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(|r| {
                let cidr: String = r.try_get("cidr")?;
                Ok(Attached {
                    subnet_id: r.try_get("subnet_id")?,
                    cidr: cidr
                        .parse()
                        .map_err(|_| NetworkError::Internal(format!("stored CIDR {cidr:?}")))?,
                })
            })
            .collect()
    }

    /// Neutron's `_check_for_dup_router_subnets`: one interface per
    /// subnet, and no two of a router's subnets overlap.
    async fn check_new_subnets(
        &self,
        tx: &mut WriteTx,
        router_id: &str,
        new: &[Attached],
    ) -> Result<()> {
        let have = self.attached_subnets(tx, router_id).await?;
        for n in new {
            for h in &have {
                if h.subnet_id == n.subnet_id {
                    return Err(NetworkError::bad_request(
                        "router",
                        format!("Router already has a port on subnet {}", n.subnet_id),
                    ));
                }
                if overlaps(&h.cidr, &n.cidr) {
                    return Err(NetworkError::bad_request(
                        "router",
                        format!(
                            "Cidr {} of subnet {} overlaps with cidr {} of subnet {}",
                            n.cidr, n.subnet_id, h.cidr, h.subnet_id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `add_router_interface`: a new port on the subnet with its gateway
    /// address, or an unused port of the router's project.
    pub async fn add_router_interface(
        &self,
        ctx: &RequestContext,
        router_id: &str,
        what: InterfaceRequest,
    ) -> Result<RouterInterface> {
        let r = self.visible_router(ctx, router_id).await?;
        let project = r.router.project_id.clone();
        enforce(
            ctx,
            &rules::ADD_ROUTER_INTERFACE,
            &Target::project(&project),
        )?;
        let port_id = match what {
            InterfaceRequest::Subnet(subnet_id) => {
                let (s, _) = self.visible_subnet(ctx, &subnet_id).await?;
                let Some(gateway) = s.gateway_ip else {
                    return Err(NetworkError::bad_request(
                        "router",
                        "Subnet for router interface must have a gateway IP",
                    ));
                };
                if s.project_id != project && !is_admin(ctx) {
                    return Err(NetworkError::bad_request(
                        "router",
                        format!(
                            "Cannot add interface to router {router_id} on subnet {subnet_id}: the subnet belongs to another project"
                        ),
                    ));
                }
                let port_id = new_uuid();
                retrying!(
                    self.try_add_subnet_interface(router_id, &project, &port_id, &s, gateway)
                        .await
                )?;
                port_id
            }
            InterfaceRequest::Port(port_id) => {
                let p = self.visible_port(ctx, &port_id).await?;
                if p.project_id != project && !is_admin(ctx) {
                    return Err(NetworkError::bad_request(
                        "router",
                        format!(
                            "Cannot add interface to router {router_id} with port {port_id}: the port belongs to another project"
                        ),
                    ));
                }
                retrying!(
                    self.try_add_port_interface(router_id, &p.network_id, &port_id)
                        .await
                )?;
                port_id
            }
        };
        self.interface_of(router_id, &project, &port_id).await
    }

    async fn try_add_subnet_interface(
        &self,
        router_id: &str,
        project: &str,
        port_id: &str,
        s: &Subnet,
        gateway: std::net::Ipv4Addr,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_router(&mut tx, router_id).await?;
        self.lock_network(&mut tx, &s.network_id).await?;
        if self.subnet_in(&mut tx, &s.id).await?.is_none() {
            return Err(NetworkError::subnet_not_found(&s.id));
        }
        self.check_new_subnets(
            &mut tx,
            router_id,
            &[Attached {
                subnet_id: s.id.clone(),
                cidr: s.cidr,
            }],
        )
        .await?;
        let port = NewPort {
            network_id: s.network_id.clone(),
            device_owner: DEVICE_OWNER_ROUTER_INTERFACE.into(),
            device_id: router_id.to_string(),
            fixed_ips: Some(vec![FixedIpRequest {
                subnet_id: Some(s.id.clone()),
                ip_address: Some(gateway.to_string()),
            }]),
            ..Default::default()
        };
        self.insert_port(&mut tx, port_id, project, &port, None, true, &[], &[])
            .await?;
        self.insert_router_port(&mut tx, router_id, port_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_add_port_interface(
        &self,
        router_id: &str,
        network_id: &str,
        port_id: &str,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_router(&mut tx, router_id).await?;
        self.lock_network(&mut tx, network_id).await?;
        let row = sqlx::query(&format!(
            "SELECT {} FROM ports t WHERE t.id = ?",
            super::ports::PORT_COLS
        ))
        .bind(port_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| NetworkError::port_not_found(port_id))?;
        let p = super::ports::port_of(&row)?;
        if !p.device_id.is_empty() || !p.device_owner.is_empty() {
            let device = if p.device_id.is_empty() {
                &p.device_owner
            } else {
                &p.device_id
            };
            return Err(NetworkError::port_in_use(&p.network_id, port_id, device));
        }
        let subnets = sqlx::query(
            "SELECT s.id AS subnet_id, s.cidr AS cidr FROM ip_allocations a \
             JOIN subnets s ON s.id = a.subnet_id WHERE a.port_id = ?",
        )
        .bind(port_id)
        .fetch_all(&mut *tx)
        .await?;
        if subnets.is_empty() {
            return Err(NetworkError::bad_request(
                "router",
                "Router port must have at least one fixed IP",
            ));
        }
        let mut new = Vec::with_capacity(subnets.len());
        for r in &subnets {
            let cidr: String = r.try_get("cidr")?;
            new.push(Attached {
                subnet_id: r.try_get("subnet_id")?,
                cidr: cidr
                    .parse()
                    .map_err(|_| NetworkError::Internal(format!("stored CIDR {cidr:?}")))?,
            });
        }
        self.check_new_subnets(&mut tx, router_id, &new).await?;
        // A router's port is the network service's own: it leaves its
        // security groups, as Neutron's does.
        sqlx::query("DELETE FROM port_security_groups WHERE port_id = ?")
            .bind(port_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE ports SET device_owner = ?, device_id = ?, security_groups = '[]', \
             updated_at = ? WHERE id = ?",
        )
        .bind(DEVICE_OWNER_ROUTER_INTERFACE)
        .bind(router_id)
        .bind(now_micros())
        .bind(port_id)
        .execute(&mut *tx)
        .await?;
        self.insert_router_port(&mut tx, router_id, port_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_router_port(
        &self,
        tx: &mut WriteTx,
        router_id: &str,
        port_id: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO router_ports (port_id, router_id, created_at) VALUES (?, ?, ?)")
            .bind(port_id)
            .bind(router_id)
            .bind(now_micros())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// What the interface APIs answer for `port_id` (read after commit).
    async fn interface_of(
        &self,
        router_id: &str,
        project: &str,
        port_id: &str,
    ) -> Result<RouterInterface> {
        let p = self.get_port(&RequestContext::internal(), port_id).await?;
        Ok(RouterInterface {
            router_id: router_id.to_string(),
            project_id: project.to_string(),
            port_id: port_id.to_string(),
            network_id: p.network_id,
            subnet_ids: p.fixed_ips.into_iter().map(|i| i.subnet_id).collect(),
        })
    }

    /// `remove_router_interface`: by port (the whole interface), by
    /// subnet (its address; the port goes when it has no other), or both
    /// (they must agree). Refused while floating IPs reach the subnet
    /// through this router.
    pub async fn remove_router_interface(
        &self,
        ctx: &RequestContext,
        router_id: &str,
        subnet_id: Option<&str>,
        port_id: Option<&str>,
    ) -> Result<RouterInterface> {
        let r = self.visible_router(ctx, router_id).await?;
        let project = r.router.project_id.clone();
        enforce(
            ctx,
            &rules::REMOVE_ROUTER_INTERFACE,
            &Target::project(&project),
        )?;
        if subnet_id.is_none() && port_id.is_none() {
            return Err(NetworkError::bad_request(
                "router",
                "Either subnet_id or port_id must be specified",
            ));
        }
        retrying!(
            self.try_remove_interface(router_id, &project, subnet_id, port_id)
                .await
        )
    }

    async fn try_remove_interface(
        &self,
        router_id: &str,
        project: &str,
        subnet_id: Option<&str>,
        port_id: Option<&str>,
    ) -> Result<RouterInterface> {
        let mut tx = self.db.begin_write().await?;
        self.lock_router(&mut tx, router_id).await?;
        // The router's interfaces with their addresses.
        let rows = sqlx::query(
            "SELECT rp.port_id AS port_id, p.network_id AS network_id, p.project_id AS project_id, \
             a.subnet_id AS subnet_id, s.cidr AS cidr \
             FROM router_ports rp JOIN ports p ON p.id = rp.port_id \
             LEFT JOIN ip_allocations a ON a.port_id = rp.port_id \
             LEFT JOIN subnets s ON s.id = a.subnet_id \
             WHERE rp.router_id = ? ORDER BY rp.created_at, a.position",
        )
        .bind(router_id)
        .fetch_all(&mut *tx)
        .await?;
        struct Iface {
            port_id: String,
            network_id: String,
            project_id: String,
            subnets: Vec<Attached>,
        }
        let mut ifaces: Vec<Iface> = Vec::new();
        for r in &rows {
            let pid: String = r.try_get("port_id")?;
            if ifaces.last().is_none_or(|i| i.port_id != pid) {
                ifaces.push(Iface {
                    port_id: pid,
                    network_id: r.try_get("network_id")?,
                    project_id: r.try_get("project_id")?,
                    subnets: Vec::new(),
                });
            }
            if let Some(sid) = r.try_get::<Option<String>, _>("subnet_id")? {
                let cidr: String = r.try_get::<Option<String>, _>("cidr")?.unwrap_or_default();
                let cidr = cidr
                    .parse()
                    .map_err(|_| NetworkError::Internal(format!("stored CIDR {cidr:?}")))?;
                if let Some(i) = ifaces.last_mut() {
                    i.subnets.push(Attached {
                        subnet_id: sid,
                        cidr,
                    });
                }
            }
        }
        let iface = match (port_id, subnet_id) {
            (Some(pid), _) => {
                let i = ifaces
                    .iter()
                    .find(|i| i.port_id == pid)
                    .ok_or_else(|| NetworkError::router_interface_not_found(router_id, pid))?;
                if let Some(sid) = subnet_id {
                    if !i.subnets.iter().any(|s| s.subnet_id == sid) {
                        return Err(NetworkError::Validation {
                            neutron_type: "SubnetMismatchForPort",
                            message: crate::msg!(
                                "error.network.subnet_mismatch_for_port",
                                "Subnet on port {port_id} does not match the requested subnet {subnet_id}.",
                                port_id = pid,
                                subnet_id = sid,
                            ),
                        });
                    }
                }
                i
            }
            (None, Some(sid)) => ifaces
                .iter()
                .find(|i| i.subnets.iter().any(|s| s.subnet_id == sid))
                .ok_or_else(|| {
                    NetworkError::router_interface_not_found_for_subnet(router_id, sid)
                })?,
            (None, None) => unreachable!("checked by the caller"),
        };
        // By port, the whole interface goes; by subnet only, its address
        // (and the port when that was its only one).
        let leaving: Vec<&Attached> = match (port_id, subnet_id) {
            (None, Some(sid)) => iface
                .subnets
                .iter()
                .filter(|s| s.subnet_id == sid)
                .collect(),
            _ => iface.subnets.iter().collect(),
        };
        let fips = sqlx::query("SELECT fixed_ip_address FROM floating_ips WHERE router_id = ?")
            .bind(router_id)
            .fetch_all(&mut *tx)
            .await?;
        for f in &fips {
            let ip: Option<String> = f.try_get("fixed_ip_address")?;
            let Some(ip) = ip.and_then(|i| i.parse::<std::net::Ipv4Addr>().ok()) else {
                continue;
            };
            if let Some(s) = leaving.iter().find(|s| s.cidr.contains(&ip)) {
                return Err(NetworkError::router_interface_in_use_by_fip(
                    router_id,
                    &s.subnet_id,
                ));
            }
        }
        self.lock_network(&mut tx, &iface.network_id).await?;
        let answer = RouterInterface {
            router_id: router_id.to_string(),
            project_id: project.to_string(),
            port_id: iface.port_id.clone(),
            network_id: iface.network_id.clone(),
            subnet_ids: leaving.iter().map(|s| s.subnet_id.clone()).collect(),
        };
        if leaving.len() < iface.subnets.len() {
            for s in &leaving {
                sqlx::query("DELETE FROM ip_allocations WHERE port_id = ? AND subnet_id = ?")
                    .bind(iface.port_id.as_str())
                    .bind(s.subnet_id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        } else {
            sqlx::query("DELETE FROM router_ports WHERE port_id = ?")
                .bind(iface.port_id.as_str())
                .execute(&mut *tx)
                .await?;
            self.remove_port_in(&mut tx, &iface.project_id, &iface.port_id)
                .await?;
        }
        tx.commit().await?;
        Ok(answer)
    }

    /// Every interface of router `id`, removed (for a project's cleanup).
    pub(super) async fn remove_all_interfaces(&self, id: &str) -> Result<()> {
        let ctx = RequestContext::internal();
        let r = self.get_router(&ctx, id).await?;
        for port_id in &r.interface_port_ids {
            match self
                .remove_router_interface(&ctx, id, None, Some(port_id))
                .await
            {
                Ok(_) | Err(NetworkError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
