//! Floating IPs (Neutron's `router` extension): an address of an external
//! network held by a project, NATed 1:1 to one fixed address of one of its
//! ports through the router that joins the port's subnet to that network.
//!
//! - The address is held by a port of no project on the external network
//!   (device owner `network:floatingip`), allocated by the IPAM in the
//!   floating IP's own transaction; the project pays `floatingip` quota.
//! - Association finds the router with a gateway on the floating IP's
//!   network and an interface on the fixed address's subnet
//!   (`ExternalGatewayForFloatingIPNotFound` when none does), and is
//!   checked again under that router's lock, so removing the interface or
//!   the gateway and associating cannot cross. One fixed address has at
//!   most one floating IP per external network (a unique key).
//! - A port's deletion disassociates its floating IPs in its transaction.

use std::net::Ipv4Addr;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::list::{Arg, Listing, SortBy, Where};
use super::*;
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, enforce, network as rules, Target};
use crate::quota::Resource;
use crate::Page;

const FIP_COLS: &str = "t.id, t.project_id, t.floating_network_id, t.floating_port_id, \
     t.floating_ip_address, t.fixed_port_id, t.fixed_ip_address, t.router_id, t.description, \
     t.status, t.created_at, t.updated_at";

fn parse_ip(text: &str) -> Result<Ipv4Addr> {
    text.parse()
        .map_err(|_| NetworkError::Internal(format!("stored address {text:?}")))
}

fn fip_of(r: &AnyRow) -> Result<FloatingIp> {
    let fixed: Option<String> = r.try_get("fixed_ip_address")?;
    Ok(FloatingIp {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        floating_network_id: r.try_get("floating_network_id")?,
        floating_ip_address: parse_ip(&r.try_get::<String, _>("floating_ip_address")?)?,
        port_id: r.try_get("fixed_port_id")?,
        fixed_ip_address: fixed.as_deref().map(parse_ip).transpose()?,
        router_id: r.try_get("router_id")?,
        description: r.try_get("description")?,
        status: r.try_get("status")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn sort_expr(k: FloatingIpSortKey) -> (&'static str, bool) {
    match k {
        FloatingIpSortKey::Id => ("t.id", false),
        FloatingIpSortKey::FloatingIpAddress => ("t.floating_ip_address", false),
        FloatingIpSortKey::FloatingNetworkId => ("t.floating_network_id", false),
        FloatingIpSortKey::FixedIpAddress => ("COALESCE(t.fixed_ip_address, '')", false),
        FloatingIpSortKey::PortId => ("COALESCE(t.fixed_port_id, '')", false),
        FloatingIpSortKey::RouterId => ("COALESCE(t.router_id, '')", false),
        FloatingIpSortKey::Status => ("t.status", false),
        FloatingIpSortKey::ProjectId => ("t.project_id", false),
        FloatingIpSortKey::CreatedAt => ("t.created_at", true),
        FloatingIpSortKey::UpdatedAt => ("t.updated_at", true),
    }
}

/// An association as resolved before its transaction.
#[derive(Debug, Clone)]
struct Association {
    port_id: String,
    fixed_ip: Ipv4Addr,
    subnet_id: String,
    router_id: String,
}

impl NetworkService {
    async fn fip_row<'e, E>(&self, conn: E, id: &str) -> Result<Option<FloatingIp>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row = sqlx::query(&format!(
            "SELECT {FIP_COLS} FROM floating_ips t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(fip_of).transpose()
    }

    async fn lock_fip(&self, tx: &mut WriteTx, id: &str) -> Result<(FloatingIp, String)> {
        let sql = self.db.for_update(&format!(
            "SELECT {FIP_COLS} FROM floating_ips t WHERE t.id = ?"
        ));
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| NetworkError::floating_ip_not_found(id))?;
        Ok((fip_of(&row)?, row.try_get("floating_port_id")?))
    }

    /// A floating IP the caller may see, else `FloatingIPNotFound`.
    async fn visible_fip(&self, ctx: &RequestContext, id: &str) -> Result<FloatingIp> {
        let f = self
            .fip_row(&self.db.pool, id)
            .await?
            .ok_or_else(|| NetworkError::floating_ip_not_found(id))?;
        if !allows(
            ctx,
            &rules::GET_FLOATING_IP,
            &Target::project(&f.project_id),
        ) {
            return Err(NetworkError::floating_ip_not_found(id));
        }
        Ok(f)
    }

    pub async fn get_floating_ip(&self, ctx: &RequestContext, id: &str) -> Result<FloatingIp> {
        self.visible_fip(ctx, id).await
    }

    /// Floating IPs the caller may see (its project's; an admin's: all),
    /// filtered, sorted and paged in SQL.
    pub async fn list_floating_ips(
        &self,
        ctx: &RequestContext,
        f: &FloatingIpFilter,
    ) -> Result<Page<FloatingIp>> {
        let visible = Where::own_project_unless(ctx, &rules::GET_ALL_FLOATING_IPS);
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.floating_network_id", f.floating_network_id.as_ref());
        w.text("t.floating_ip_address", f.floating_ip_address.as_ref());
        match &f.port_id {
            None => {}
            Some(None) => w.push("t.fixed_port_id IS NULL", []),
            Some(Some(p)) => w.push("t.fixed_port_id = ?", [Arg::Text(p.clone())]),
        }
        w.text("t.fixed_ip_address", f.fixed_ip_address.as_ref());
        w.text("t.router_id", f.router_id.as_ref());
        w.text("t.status", f.status.as_ref());
        w.search("t.floating_ip_address", "t.id", f.query.as_ref())?;
        let sort = if f.sort.is_empty() {
            vec![(FloatingIpSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        Listing {
            from: "floating_ips t",
            cols: FIP_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != FloatingIpSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = sort_expr(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        }
        .run(&self.db, fip_of, NetworkError::floating_ip_not_found)
        .await
    }

    /// Resolves what associating `port_id` with a floating IP of
    /// `project` on `network_id` means: which fixed address, on which
    /// subnet, through which router.
    async fn resolve_association(
        &self,
        ctx: &RequestContext,
        project: &str,
        network_id: &str,
        port_id: &str,
        fixed_ip: Option<&str>,
    ) -> Result<Association> {
        let port = self.get_port(ctx, port_id).await?;
        let admin = allows(ctx, &rules::GET_ALL_FLOATING_IPS, &Target::none());
        if port.project_id != project && !admin {
            return Err(NetworkError::bad_request(
                "floatingip",
                format!(
                    "Cannot create floating IP and bind it to Port {port_id}, since that port is owned by a different tenant."
                ),
            ));
        }
        if port.device_owner == DEVICE_OWNER_DHCP
            || SERVICE_PORT_OWNERS.contains(&port.device_owner.as_str())
        {
            return Err(NetworkError::bad_request(
                "floatingip",
                format!(
                    "Port {port_id} belongs to the network service ({}) and cannot have a floating IP.",
                    port.device_owner
                ),
            ));
        }
        let chosen = match fixed_ip {
            Some(text) => {
                let ip: Ipv4Addr = text.trim().parse().map_err(|_| {
                    NetworkError::invalid(format!("'{text}' is not a valid IP address."))
                })?;
                port.fixed_ips
                    .iter()
                    .find(|f| f.ip_address == ip)
                    .cloned()
                    .ok_or_else(|| {
                        NetworkError::bad_request(
                            "floatingip",
                            format!("Port {port_id} does not have fixed ip {ip}"),
                        )
                    })?
            }
            None => match port.fixed_ips.as_slice() {
                [] => {
                    return Err(NetworkError::bad_request(
                        "floatingip",
                        format!(
                            "Cannot add floating IP to port {port_id} that has no fixed IPv4 addresses"
                        ),
                    ))
                }
                [one] => one.clone(),
                _ => {
                    return Err(NetworkError::bad_request(
                        "floatingip",
                        format!(
                            "Port {port_id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP"
                        ),
                    ))
                }
            },
        };
        let router = sqlx::query(
            "SELECT r.id AS id FROM routers r JOIN router_ports rp ON rp.router_id = r.id \
             JOIN ip_allocations a ON a.port_id = rp.port_id \
             WHERE r.gw_network_id = ? AND a.subnet_id = ? ORDER BY r.created_at, r.id LIMIT 1",
        )
        .bind(network_id)
        .bind(chosen.subnet_id.as_str())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| NetworkError::no_gateway_for_fip(network_id, &chosen.subnet_id, port_id))?;
        Ok(Association {
            port_id: port_id.to_string(),
            fixed_ip: chosen.ip_address,
            subnet_id: chosen.subnet_id,
            router_id: router.try_get("id")?,
        })
    }

    /// Locks the association's router and checks, under that lock, that
    /// it still joins the subnet to `network_id`, that the port still
    /// holds the address, and that no other floating IP of the network
    /// has it.
    async fn lock_association(
        &self,
        tx: &mut WriteTx,
        a: &Association,
        network_id: &str,
        fip: (&str, &str),
    ) -> Result<()> {
        self.lock_router(tx, &a.router_id).await?;
        let joins = sqlx::query(
            "SELECT 1 AS x FROM routers r JOIN router_ports rp ON rp.router_id = r.id \
             JOIN ip_allocations a ON a.port_id = rp.port_id \
             WHERE r.id = ? AND r.gw_network_id = ? AND a.subnet_id = ?",
        )
        .bind(a.router_id.as_str())
        .bind(network_id)
        .bind(a.subnet_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        if joins.is_none() {
            return Err(NetworkError::no_gateway_for_fip(
                network_id,
                &a.subnet_id,
                &a.port_id,
            ));
        }
        let port_sql = self.db.for_update("SELECT id FROM ports WHERE id = ?");
        sqlx::query(&port_sql)
            .bind(a.port_id.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| NetworkError::port_not_found(&a.port_id))?;
        let holds =
            sqlx::query("SELECT 1 AS x FROM ip_allocations WHERE port_id = ? AND ip_address = ?")
                .bind(a.port_id.as_str())
                .bind(a.fixed_ip.to_string())
                .fetch_optional(&mut **tx)
                .await?;
        if holds.is_none() {
            return Err(NetworkError::bad_request(
                "floatingip",
                format!("Port {} does not have fixed ip {}", a.port_id, a.fixed_ip),
            ));
        }
        let (fip_id, fip_address) = fip;
        let taken = sqlx::query(
            "SELECT id FROM floating_ips WHERE floating_network_id = ? AND fixed_port_id = ? \
             AND fixed_ip_address = ? AND id <> ?",
        )
        .bind(network_id)
        .bind(a.port_id.as_str())
        .bind(a.fixed_ip.to_string())
        .bind(fip_id)
        .fetch_optional(&mut **tx)
        .await?;
        if taken.is_some() {
            return Err(NetworkError::fip_port_already_associated(
                fip_address,
                fip_id,
                &a.port_id,
                &a.fixed_ip.to_string(),
                network_id,
            ));
        }
        Ok(())
    }

    pub async fn create_floating_ip(
        &self,
        ctx: &RequestContext,
        new: NewFloatingIp,
    ) -> Result<FloatingIp> {
        let project = owning_project(ctx, new.project_id.as_ref())?;
        enforce(ctx, &rules::CREATE_FLOATING_IP, &Target::project(&project))?;
        let network = self.visible_network(ctx, &new.floating_network_id).await?;
        if !network.router_external {
            return Err(NetworkError::bad_request(
                "floatingip",
                format!("Network {} is not a valid external network", network.id),
            ));
        }
        check_description(&new.description)?;
        if new.floating_ip_address.is_some() {
            enforce(
                ctx,
                &rules::CREATE_FLOATING_IP_ADDRESS,
                &Target::project(&project),
            )?;
        }
        if let Some(s) = &new.subnet_id {
            check_name("subnet_id", s, 36)?;
        }
        let assoc = match &new.port_id {
            Some(p) => Some(
                self.resolve_association(
                    ctx,
                    &project,
                    &network.id,
                    p,
                    new.fixed_ip_address.as_deref(),
                )
                .await?,
            ),
            None => None,
        };
        let id = new_uuid();
        retrying!(
            self.try_create_fip(&id, &project, &new, assoc.as_ref())
                .await
        )?;
        self.get_floating_ip(ctx, &id).await
    }

    async fn try_create_fip(
        &self,
        id: &str,
        project: &str,
        new: &NewFloatingIp,
        assoc: Option<&Association>,
    ) -> Result<()> {
        let network_id = new.floating_network_id.as_str();
        let mut tx = self.db.begin_write().await?;
        if let Some(a) = assoc {
            // The router before the network: the service's lock order.
            self.lock_router(&mut tx, &a.router_id).await?;
        }
        let n = self.lock_network(&mut tx, network_id).await?;
        if !n.router_external {
            return Err(NetworkError::bad_request(
                "floatingip",
                format!("Network {network_id} is not a valid external network"),
            ));
        }
        let subnets = self.subnets_in(&mut tx, network_id).await?;
        if let Some(sid) = &new.subnet_id {
            if !subnets.iter().any(|s| &s.id == sid) {
                return Err(NetworkError::bad_request(
                    "floatingip",
                    format!("Subnet {sid} is not a subnet of network {network_id}"),
                ));
            }
        }
        if subnets.is_empty() {
            return Err(NetworkError::Validation {
                neutron_type: "ExternalIpAddressExhausted",
                message: crate::msg!(
                    "error.network.external_ip_exhausted",
                    "Unable to find any IP address on external network {net_id}.",
                    net_id = network_id,
                ),
            });
        }
        self.quota
            .consume(&mut tx, project, &[(Resource::FLOATING_IPS, 1)])
            .await?;
        let fixed_ips = match (&new.subnet_id, &new.floating_ip_address) {
            (None, None) => None,
            (subnet_id, ip_address) => Some(vec![FixedIpRequest {
                subnet_id: subnet_id.clone(),
                ip_address: ip_address.clone(),
            }]),
        };
        let port_id = new_uuid();
        let port = NewPort {
            network_id: network_id.to_string(),
            device_owner: DEVICE_OWNER_FLOATINGIP.into(),
            device_id: id.to_string(),
            fixed_ips,
            ..Default::default()
        };
        let ips = self
            .insert_port(&mut tx, &port_id, "", &port, None, true, &[], &[])
            .await?;
        let address = ips
            .first()
            .map(|i| i.ip_address)
            .ok_or_else(|| NetworkError::ip_generation_failure(network_id))?;
        if let Some(a) = assoc {
            self.lock_association(&mut tx, a, network_id, (id, &address.to_string()))
                .await?;
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO floating_ips (id, project_id, floating_network_id, floating_port_id, \
             floating_ip_address, fixed_port_id, fixed_ip_address, router_id, description, status, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(project)
        .bind(network_id)
        .bind(port_id.as_str())
        .bind(address.to_string())
        .bind(assoc.map(|a| a.port_id.clone()))
        .bind(assoc.map(|a| a.fixed_ip.to_string()))
        .bind(assoc.map(|a| a.router_id.clone()))
        .bind(new.description.as_str())
        .bind(if assoc.is_some() {
            STATUS_ACTIVE
        } else {
            STATUS_DOWN
        })
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Associates (`port_id: Some(Some(_))`), disassociates
    /// (`Some(None)`) or describes a floating IP. A `fixed_ip_address`
    /// alone picks another address of the port it is on.
    pub async fn update_floating_ip(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: FloatingIpUpdate,
    ) -> Result<FloatingIp> {
        let f = self.visible_fip(ctx, id).await?;
        enforce(
            ctx,
            &rules::UPDATE_FLOATING_IP,
            &Target::project(&f.project_id),
        )?;
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let target = match (&u.port_id, &u.fixed_ip_address) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(_)) => match &f.port_id {
                Some(p) => Some(Some(p.clone())),
                None => {
                    return Err(NetworkError::bad_request(
                        "floatingip",
                        "fixed_ip_address cannot be specified without a port_id",
                    ))
                }
            },
            (None, None) => None,
        };
        let assoc = match &target {
            Some(Some(port_id)) => Some(Some(
                self.resolve_association(
                    ctx,
                    &f.project_id,
                    &f.floating_network_id,
                    port_id,
                    u.fixed_ip_address.as_deref(),
                )
                .await?,
            )),
            Some(None) => Some(None),
            None => None,
        };
        retrying!(self.try_update_fip(&f, &u, assoc.as_ref()).await)?;
        self.get_floating_ip(ctx, id).await
    }

    async fn try_update_fip(
        &self,
        f: &FloatingIp,
        u: &FloatingIpUpdate,
        assoc: Option<&Option<Association>>,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        if let Some(Some(a)) = assoc {
            self.lock_association(
                &mut tx,
                a,
                &f.floating_network_id,
                (&f.id, &f.floating_ip_address.to_string()),
            )
            .await?;
        }
        let (now, _) = self.lock_fip(&mut tx, &f.id).await?;
        let (port_id, fixed_ip, router_id, status) = match assoc {
            None => (
                now.port_id.clone(),
                now.fixed_ip_address.map(|i| i.to_string()),
                now.router_id.clone(),
                now.status.clone(),
            ),
            Some(None) => (None, None, None, STATUS_DOWN.to_string()),
            Some(Some(a)) => (
                Some(a.port_id.clone()),
                Some(a.fixed_ip.to_string()),
                Some(a.router_id.clone()),
                STATUS_ACTIVE.to_string(),
            ),
        };
        sqlx::query(
            "UPDATE floating_ips SET fixed_port_id = ?, fixed_ip_address = ?, router_id = ?, \
             status = ?, description = ?, updated_at = ? WHERE id = ?",
        )
        .bind(port_id)
        .bind(fixed_ip)
        .bind(router_id)
        .bind(status)
        .bind(u.description.as_deref().unwrap_or(&now.description))
        .bind(now_micros())
        .bind(f.id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Releases a floating IP: its address goes back to the external
    /// network's pool in the same transaction.
    pub async fn delete_floating_ip(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let f = self.visible_fip(ctx, id).await?;
        enforce(
            ctx,
            &rules::DELETE_FLOATING_IP,
            &Target::project(&f.project_id),
        )?;
        retrying!(self.try_delete_fip(&f).await)
    }

    async fn try_delete_fip(&self, f: &FloatingIp) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, &f.floating_network_id).await?;
        let (now, port_id) = self.lock_fip(&mut tx, &f.id).await?;
        sqlx::query("DELETE FROM floating_ips WHERE id = ?")
            .bind(f.id.as_str())
            .execute(&mut *tx)
            .await?;
        self.remove_port_in(&mut tx, "", &port_id).await?;
        self.quota
            .give_back(&mut tx, &now.project_id, &[(Resource::FLOATING_IPS, 1)])
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
