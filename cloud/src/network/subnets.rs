//! IPv4 subnets: a CIDR on a network, its gateway, the pools addresses are
//! allocated from, and what DHCP hands out (name servers, host routes).
//! A network's subnets never overlap one another; subnets of different
//! networks may (every project may use 10.0.0.0/24).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::ipam::{self, check_pools, default_gateway, default_pools, parse_addr, parse_cidr};
use super::list::{Arg, Listing, SortBy, Where};
use super::networks::network_target;
use super::*;
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, enforce, network as rules, Target};
use crate::quota::Resource;
use crate::Page;

pub(super) const SUBNET_COLS: &str = "t.id, t.project_id, t.network_id, t.name, t.description, \
     t.ip_version, t.cidr, t.gateway_ip, t.enable_dhcp, t.allocation_pools, t.dns_nameservers, \
     t.host_routes, t.created_at, t.updated_at";

/// A subnet is visible to its project, and with its network when that is
/// shared or external.
const SUBNET_VISIBLE: &str = "(t.project_id = ? OR EXISTS (SELECT 1 FROM networks n \
     WHERE n.id = t.network_id AND (n.shared = 1 OR n.router_external = 1)))";

pub(super) fn subnet_of(r: &AnyRow) -> Result<Subnet> {
    let cidr: String = r.try_get("cidr")?;
    let gateway: Option<String> = r.try_get("gateway_ip")?;
    Ok(Subnet {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        network_id: r.try_get("network_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        ip_version: u8::try_from(r.try_get::<i64, _>("ip_version")?).unwrap_or(4),
        cidr: cidr
            .parse()
            .map_err(|_| NetworkError::Internal(format!("stored cidr {cidr:?}")))?,
        gateway_ip: gateway
            .map(|g| {
                g.parse()
                    .map_err(|_| NetworkError::Internal(format!("stored gateway {g:?}")))
            })
            .transpose()?,
        allocation_pools: from_json(&r.try_get::<String, _>("allocation_pools")?)?,
        dns_nameservers: from_json(&r.try_get::<String, _>("dns_nameservers")?)?,
        host_routes: from_json(&r.try_get::<String, _>("host_routes")?)?,
        enable_dhcp: r.try_get::<i64, _>("enable_dhcp")? != 0,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn sort_expr(k: SubnetSortKey) -> (&'static str, bool) {
    match k {
        SubnetSortKey::Id => ("t.id", false),
        SubnetSortKey::Name => ("t.name", false),
        SubnetSortKey::Cidr => ("t.cidr", false),
        SubnetSortKey::NetworkId => ("t.network_id", false),
        SubnetSortKey::ProjectId => ("t.project_id", false),
        SubnetSortKey::CreatedAt => ("t.created_at", true),
        SubnetSortKey::UpdatedAt => ("t.updated_at", true),
    }
}

pub(super) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn pools_of(asked: &[PoolRequest]) -> Vec<(String, String)> {
    asked
        .iter()
        .map(|p| (p.start.clone(), p.end.clone()))
        .collect()
}

impl NetworkService {
    fn check_dns(&self, asked: &[String]) -> Result<Vec<Ipv4Addr>> {
        if asked.len() > self.cfg.max_dns_nameservers {
            return Err(NetworkError::Validation {
                neutron_type: "DNSNameServersExhausted",
                message: crate::msg!(
                    "error.network.dns_exhausted",
                    "The number of DNS nameservers exceeds the limit {quota}.",
                    quota = self.cfg.max_dns_nameservers,
                ),
            });
        }
        let mut out = Vec::with_capacity(asked.len());
        for a in asked {
            let ip = parse_addr("dns_nameservers", a)?;
            if out.contains(&ip) {
                return Err(NetworkError::invalid(format!(
                    "Invalid input for dns_nameservers. Reason: Duplicate nameserver '{ip}'."
                )));
            }
            out.push(ip);
        }
        Ok(out)
    }

    fn check_routes(&self, asked: &[RouteRequest]) -> Result<Vec<HostRoute>> {
        if asked.len() > self.cfg.max_subnet_host_routes {
            return Err(NetworkError::Validation {
                neutron_type: "HostRoutesExhausted",
                message: crate::msg!(
                    "error.network.host_routes_exhausted",
                    "The number of host routes exceeds the limit {quota}.",
                    quota = self.cfg.max_subnet_host_routes,
                ),
            });
        }
        let mut out: Vec<HostRoute> = Vec::with_capacity(asked.len());
        for r in asked {
            let destination = parse_cidr_any(&r.destination)?;
            let nexthop = parse_addr("host_routes", &r.nexthop)?;
            let route = HostRoute {
                destination,
                nexthop,
            };
            if out.contains(&route) {
                return Err(NetworkError::invalid(format!(
                    "Invalid input for host_routes. Reason: Duplicate hostroute '{destination} via {nexthop}'."
                )));
            }
            out.push(route);
        }
        Ok(out)
    }

    /// A subnet the caller may see, else `SubnetNotFound`.
    pub(super) async fn visible_subnet(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<(Subnet, Network)> {
        let row = sqlx::query(&format!(
            "SELECT {SUBNET_COLS} FROM subnets t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| NetworkError::subnet_not_found(id))?;
        let s = subnet_of(&row)?;
        let n = self
            .network_row(&self.db.pool, &s.network_id)
            .await?
            .ok_or_else(|| NetworkError::subnet_not_found(id))?;
        let target = Target {
            project_id: Some(&s.project_id),
            public: n.shared || n.router_external,
            ..Default::default()
        };
        if !allows(ctx, &rules::GET_SUBNET, &target) {
            return Err(NetworkError::subnet_not_found(id));
        }
        Ok((s, n))
    }

    pub async fn get_subnet(&self, ctx: &RequestContext, id: &str) -> Result<Subnet> {
        Ok(self.visible_subnet(ctx, id).await?.0)
    }

    /// Subnets the caller may see, filtered, sorted and paged in SQL.
    pub async fn list_subnets(
        &self,
        ctx: &RequestContext,
        f: &SubnetFilter,
    ) -> Result<Page<Subnet>> {
        let mut visible = Where::default();
        if !allows(ctx, &rules::GET_ALL_NETWORKS, &Target::none()) {
            let project = ctx.project_id().unwrap_or_default().to_string();
            visible.push(SUBNET_VISIBLE, [Arg::Text(project)]);
        }
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.network_id", f.network_id.as_ref());
        w.text("t.name", f.name.as_ref());
        w.search("t.name", "t.id", f.query.as_ref())?;
        w.text("t.cidr", f.cidr.as_ref());
        w.text("t.gateway_ip", f.gateway_ip.as_ref());
        w.flag("t.enable_dhcp", f.enable_dhcp);
        let sort = if f.sort.is_empty() {
            vec![(SubnetSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        Listing {
            from: "subnets t",
            cols: SUBNET_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != SubnetSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = sort_expr(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        }
        .run(&self.db, subnet_of, NetworkError::subnet_not_found)
        .await
    }

    /// A subnet on a network of the caller's project (an admin's: any).
    pub async fn create_subnet(&self, ctx: &RequestContext, new: NewSubnet) -> Result<Subnet> {
        let network = self.visible_network(ctx, &new.network_id).await?;
        let project = owning_project(ctx, new.project_id.as_ref())?;
        enforce(ctx, &rules::CREATE_SUBNET, &Target::project(&project))?;
        // Subnets go on networks the project owns (Neutron's network_owner).
        enforce(ctx, &rules::CREATE_SUBNET, &network_target(&network))?;
        check_name("name", &new.name, 255)?;
        check_description(&new.description)?;
        match new.ip_version {
            None | Some(4) => {}
            Some(6) => return Err(ipam::ipv6_unsupported()),
            Some(v) => {
                return Err(NetworkError::invalid(format!(
                    "Invalid input for ip_version. Reason: '{v}' is not in [4, 6]."
                )))
            }
        }
        let cidr = parse_cidr(&new.cidr)?;
        let gateway = match &new.gateway_ip {
            GatewayRequest::Default => Some(default_gateway(&cidr)),
            GatewayRequest::None => None,
            GatewayRequest::Address(a) => {
                let g = parse_addr("gateway_ip", a)?;
                ipam::check_gateway(&cidr, g)?;
                Some(g)
            }
        };
        let pools = match &new.allocation_pools {
            Some(asked) => check_pools(&cidr, &pools_of(asked), gateway)?,
            None => default_pools(&cidr, gateway),
        };
        let dns = self.check_dns(&new.dns_nameservers)?;
        let routes = self.check_routes(&new.host_routes)?;
        let subnet = Subnet {
            id: new_uuid(),
            project_id: project,
            network_id: network.id.clone(),
            name: new.name,
            description: new.description,
            ip_version: 4,
            cidr,
            gateway_ip: gateway,
            allocation_pools: pools,
            dns_nameservers: dns,
            host_routes: routes,
            enable_dhcp: new.enable_dhcp.unwrap_or(true),
            created_at: micros_to_time(0),
            updated_at: micros_to_time(0),
        };
        retrying!(self.try_create_subnet(&subnet).await)?;
        self.get_subnet(ctx, &subnet.id).await
    }

    async fn try_create_subnet(&self, s: &Subnet) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, &s.network_id).await?;
        self.quota
            .consume(&mut tx, &s.project_id, &[(Resource::SUBNETS, 1)])
            .await?;
        let others = sqlx::query("SELECT cidr FROM subnets WHERE network_id = ?")
            .bind(s.network_id.as_str())
            .fetch_all(&mut *tx)
            .await?;
        for r in others {
            let text: String = r.try_get("cidr")?;
            if let Ok(other) = text.parse::<Ipv4Net>() {
                if overlaps(&other, &s.cidr) {
                    return Err(NetworkError::invalid(format!(
                        "Requested subnet with cidr: {} for network: {} overlaps with another subnet.",
                        s.cidr, s.network_id
                    )));
                }
            }
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO subnets (id, project_id, network_id, name, description, ip_version, cidr, \
             gateway_ip, enable_dhcp, allocation_pools, dns_nameservers, host_routes, created_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, 4, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.as_str())
        .bind(s.project_id.as_str())
        .bind(s.network_id.as_str())
        .bind(s.name.as_str())
        .bind(s.description.as_str())
        .bind(s.cidr.to_string())
        .bind(s.gateway_ip.map(|g| g.to_string()))
        .bind(i64::from(s.enable_dhcp))
        .bind(to_json(&s.allocation_pools)?)
        .bind(to_json(&s.dns_nameservers)?)
        .bind(to_json(&s.host_routes)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_subnet(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: SubnetUpdate,
    ) -> Result<Subnet> {
        let (s, _) = self.visible_subnet(ctx, id).await?;
        enforce(ctx, &rules::UPDATE_SUBNET, &Target::project(&s.project_id))?;
        if let Some(name) = &u.name {
            check_name("name", name, 255)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let dns = u
            .dns_nameservers
            .as_deref()
            .map(|d| self.check_dns(d))
            .transpose()?;
        let routes = u
            .host_routes
            .as_deref()
            .map(|r| self.check_routes(r))
            .transpose()?;
        retrying!(
            self.try_update_subnet(&s.network_id, id, &u, dns.as_ref(), routes.as_ref())
                .await
        )?;
        self.get_subnet(ctx, id).await
    }

    async fn try_update_subnet(
        &self,
        network_id: &str,
        id: &str,
        u: &SubnetUpdate,
        dns: Option<&Vec<Ipv4Addr>>,
        routes: Option<&Vec<HostRoute>>,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, network_id).await?;
        let s = self
            .subnet_in(&mut tx, id)
            .await?
            .ok_or_else(|| NetworkError::subnet_not_found(id))?;
        let gateway = match &u.gateway_ip {
            None => s.gateway_ip,
            Some(GatewayRequest::None) => None,
            Some(GatewayRequest::Default) => Some(default_gateway(&s.cidr)),
            Some(GatewayRequest::Address(a)) => {
                let g = parse_addr("gateway_ip", a)?;
                ipam::check_gateway(&s.cidr, g)?;
                Some(g)
            }
        };
        if let Some(g) = gateway.filter(|g| Some(*g) != s.gateway_ip) {
            let user = sqlx::query(
                "SELECT port_id FROM ip_allocations WHERE subnet_id = ? AND ip_address = ?",
            )
            .bind(id)
            .bind(g.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(r) = user {
                let port: String = r.try_get("port_id")?;
                return Err(NetworkError::Conflict {
                    neutron_type: "GatewayIpInUse",
                    message: crate::msg!(
                        "error.network.gateway_in_use",
                        "Current gateway ip {ip_address} already in use by port {port_id}. Unable to update.",
                        ip_address = g,
                        port_id = port,
                    ),
                });
            }
        }
        let pools = match &u.allocation_pools {
            Some(asked) => check_pools(&s.cidr, &pools_of(asked), gateway)?,
            None => {
                if let Some(g) = gateway {
                    if let Some(p) = s
                        .allocation_pools
                        .iter()
                        .find(|p| ipam::pool_contains(p, g))
                    {
                        return Err(ipam::gateway_conflict(g, p));
                    }
                }
                s.allocation_pools.clone()
            }
        };
        sqlx::query(
            "UPDATE subnets SET name = ?, description = ?, gateway_ip = ?, enable_dhcp = ?, \
             allocation_pools = ?, dns_nameservers = ?, host_routes = ?, updated_at = ? WHERE id = ?",
        )
        .bind(u.name.as_deref().unwrap_or(&s.name))
        .bind(u.description.as_deref().unwrap_or(&s.description))
        .bind(gateway.map(|g| g.to_string()))
        .bind(i64::from(u.enable_dhcp.unwrap_or(s.enable_dhcp)))
        .bind(to_json(&pools)?)
        .bind(to_json(dns.unwrap_or(&s.dns_nameservers))?)
        .bind(to_json(routes.unwrap_or(&s.host_routes))?)
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a subnet no port holds an address of (`SubnetInUse`); a
    /// DHCP port's address of it goes with it.
    pub async fn delete_subnet(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let (s, _) = self.visible_subnet(ctx, id).await?;
        enforce(ctx, &rules::DELETE_SUBNET, &Target::project(&s.project_id))?;
        retrying!(self.try_delete_subnet(&s.network_id, id).await)
    }

    async fn try_delete_subnet(&self, network_id: &str, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, network_id).await?;
        let s = self
            .subnet_in(&mut tx, id)
            .await?
            .ok_or_else(|| NetworkError::subnet_not_found(id))?;
        let users = sqlx::query(
            "SELECT p.device_owner FROM ip_allocations a JOIN ports p ON p.id = a.port_id \
             WHERE a.subnet_id = ?",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let owners: HashSet<String> = users
            .iter()
            .map(|r| r.try_get::<String, _>("device_owner"))
            .collect::<Result<_, _>>()?;
        if owners.iter().any(|o| o != DEVICE_OWNER_DHCP) {
            return Err(NetworkError::subnet_in_use(id));
        }
        self.quota
            .give_back(&mut tx, &s.project_id, &[(Resource::SUBNETS, 1)])
            .await?;
        sqlx::query("DELETE FROM ip_allocations WHERE subnet_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM subnets WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A subnet's row read inside `tx` (after its network's lock).
    pub(super) async fn subnet_in(&self, tx: &mut WriteTx, id: &str) -> Result<Option<Subnet>> {
        let row = sqlx::query(&format!(
            "SELECT {SUBNET_COLS} FROM subnets t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        row.as_ref().map(subnet_of).transpose()
    }

    /// A network's subnets read inside `tx`, oldest first.
    pub(super) async fn subnets_in(
        &self,
        tx: &mut WriteTx,
        network_id: &str,
    ) -> Result<Vec<Subnet>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUBNET_COLS} FROM subnets t WHERE t.network_id = ? ORDER BY t.created_at, t.id"
        ))
        .bind(network_id)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(subnet_of).collect()
    }
}

/// A route destination: any IPv4 CIDR without host bits (0.0.0.0/0 too).
fn parse_cidr_any(text: &str) -> Result<Ipv4Net> {
    let text = text.trim();
    let invalid = || {
        NetworkError::invalid(format!(
            "Invalid input for host_routes. Reason: '{text}' is not a valid IP subnet."
        ))
    };
    match text.parse::<ipnet::IpNet>().map_err(|_| invalid())? {
        ipnet::IpNet::V4(n) if n.trunc() == n => Ok(n),
        ipnet::IpNet::V4(_) => Err(invalid()),
        ipnet::IpNet::V6(_) => Err(ipam::ipv6_unsupported()),
    }
}
