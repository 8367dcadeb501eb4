//! Ports: a MAC on a network and the addresses it holds. Addresses are
//! allocated in the transaction that writes the port, under the network's
//! lock, from the first free address of the subnet's allocation pools; the
//! `(subnet_id, ip_address)` primary key guarantees no address is ever
//! handed out twice.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::ipam::{first_free, is_host, parse_addr, parse_mac, random_mac};
use super::list::{Arg, Listing, SortBy, Where};
use super::networks::network_target;
use super::*;
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, enforce, network as rules, Rule, Target};
use crate::quota::Resource;
use crate::Page;

pub(super) const PORT_COLS: &str = "t.id, t.project_id, t.network_id, t.name, t.description, \
     t.mac_address, t.admin_state_up, t.status, t.device_owner, t.device_id, \
     t.port_security_enabled, t.allowed_address_pairs, t.security_groups, t.binding_host_id, \
     t.created_at, t.updated_at";

/// How many security group ids a port may list (what the column holds).
const MAX_SECURITY_GROUPS: usize = 50;

pub(super) fn port_of(r: &AnyRow) -> Result<Port> {
    Ok(Port {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        network_id: r.try_get("network_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        mac_address: r.try_get("mac_address")?,
        admin_state_up: r.try_get::<i64, _>("admin_state_up")? != 0,
        status: r.try_get("status")?,
        device_owner: r.try_get("device_owner")?,
        device_id: r.try_get("device_id")?,
        fixed_ips: Vec::new(),
        port_security_enabled: r.try_get::<i64, _>("port_security_enabled")? != 0,
        allowed_address_pairs: from_json(&r.try_get::<String, _>("allowed_address_pairs")?)?,
        security_groups: from_json(&r.try_get::<String, _>("security_groups")?)?,
        binding_host_id: r.try_get("binding_host_id")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn sort_expr(k: PortSortKey) -> (&'static str, bool) {
    match k {
        PortSortKey::Id => ("t.id", false),
        PortSortKey::Name => ("t.name", false),
        PortSortKey::Status => ("t.status", false),
        PortSortKey::NetworkId => ("t.network_id", false),
        PortSortKey::ProjectId => ("t.project_id", false),
        PortSortKey::DeviceId => ("t.device_id", false),
        PortSortKey::DeviceOwner => ("t.device_owner", false),
        PortSortKey::MacAddress => ("t.mac_address", false),
        PortSortKey::CreatedAt => ("t.created_at", true),
        PortSortKey::UpdatedAt => ("t.updated_at", true),
    }
}

fn is_router_owner(owner: &str) -> bool {
    owner.starts_with("network:router")
}

fn mac_in_use(network_id: &str, mac: &str) -> NetworkError {
    NetworkError::Conflict {
        neutron_type: "MacAddressInUse",
        message: crate::msg!(
            "error.network.mac_in_use",
            "Unable to complete operation for network {net_id}. The mac address {mac} is in use.",
            net_id = network_id,
            mac = mac,
        ),
    }
}

fn invalid_ip_for_subnet(ip: &str) -> NetworkError {
    NetworkError::Validation {
        neutron_type: "InvalidIpForSubnet",
        message: crate::msg!(
            "error.network.invalid_ip_for_subnet",
            "IP address {ip_address} is not a valid IP for the specified subnet.",
            ip_address = ip,
        ),
    }
}

/// What a port's write validated before its transaction: the checked
/// attributes, ready to store.
struct Checked {
    pairs: Option<Vec<AddressPairRequest>>,
    security_groups: Option<Vec<String>>,
}

/// One address the allocator settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pick {
    subnet_id: String,
    ip: Ipv4Addr,
}

impl NetworkService {
    /// A port the caller may see, else `PortNotFound`.
    pub(super) async fn visible_port(&self, ctx: &RequestContext, id: &str) -> Result<Port> {
        let row = sqlx::query(&format!("SELECT {PORT_COLS} FROM ports t WHERE t.id = ?"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| NetworkError::port_not_found(id))?;
        let p = port_of(&row)?;
        if !allows(ctx, &rules::GET_PORT, &Target::project(&p.project_id)) {
            return Err(NetworkError::port_not_found(id));
        }
        Ok(p)
    }

    pub(super) async fn fill_fixed_ips(&self, ports: &mut [Port]) -> Result<()> {
        if ports.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = ports.iter().map(|p| p.id.clone()).collect();
        let rows = rows_in(
            &self.db,
            "SELECT port_id, subnet_id, ip_address FROM ip_allocations WHERE port_id IN (?) \
             ORDER BY port_id, position",
            &ids,
        )
        .await?;
        let mut by: BTreeMap<String, Vec<PortIp>> = BTreeMap::new();
        for r in rows {
            let ip: String = r.try_get("ip_address")?;
            by.entry(r.try_get("port_id")?).or_default().push(PortIp {
                subnet_id: r.try_get("subnet_id")?,
                ip_address: ip
                    .parse()
                    .map_err(|_| NetworkError::Internal(format!("stored address {ip:?}")))?,
            });
        }
        for p in ports {
            p.fixed_ips = by.remove(&p.id).unwrap_or_default();
        }
        Ok(())
    }

    pub async fn get_port(&self, ctx: &RequestContext, id: &str) -> Result<Port> {
        let mut p = self.visible_port(ctx, id).await?;
        self.fill_fixed_ips(std::slice::from_mut(&mut p)).await?;
        Ok(p)
    }

    /// Ports the caller may see (its project's; an admin's: all),
    /// filtered, sorted and paged in SQL.
    pub async fn list_ports(&self, ctx: &RequestContext, f: &PortFilter) -> Result<Page<Port>> {
        let visible = Where::own_project_unless(ctx, &rules::GET_ALL_NETWORKS);
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.network_id", f.network_id.as_ref());
        w.text("t.name", f.name.as_ref());
        w.search("t.name", "t.id", f.query.as_ref())?;
        w.text("t.device_id", f.device_id.as_ref());
        w.text("t.device_owner", f.device_owner.as_ref());
        if let Some(m) = &f.mac_address {
            let m = parse_mac(m).unwrap_or_else(|_| m.clone());
            w.push("t.mac_address = ?", [Arg::Text(m)]);
        }
        w.text("t.status", f.status.as_ref());
        w.flag("t.admin_state_up", f.admin_state_up);
        w.text("t.binding_host_id", f.binding_host_id.as_ref());
        if f.fixed_ip_subnet_id.is_some() || f.fixed_ip_address.is_some() {
            let mut cond =
                "EXISTS (SELECT 1 FROM ip_allocations a WHERE a.port_id = t.id".to_string();
            let mut args = Vec::new();
            if let Some(s) = &f.fixed_ip_subnet_id {
                cond.push_str(" AND a.subnet_id = ?");
                args.push(Arg::Text(s.clone()));
            }
            if let Some(ip) = &f.fixed_ip_address {
                cond.push_str(" AND a.ip_address = ?");
                args.push(Arg::Text(ip.trim().to_string()));
            }
            cond.push(')');
            w.push(cond, args);
        }
        let sort = if f.sort.is_empty() {
            vec![(PortSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        let mut page = Listing {
            from: "ports t",
            cols: PORT_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != PortSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = sort_expr(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        }
        .run(&self.db, port_of, NetworkError::port_not_found)
        .await?;
        self.fill_fixed_ips(&mut page.items).await?;
        Ok(page)
    }

    /// Checks what a create or update asks for against the rules that
    /// guard each attribute (the network's owner sets addresses, MACs,
    /// `network:` owners, port security and address pairs; an admin the
    /// binding host) and the attributes' own rules.
    #[allow(clippy::too_many_arguments)]
    fn check_port_attrs(
        &self,
        ctx: &RequestContext,
        network: &Network,
        creating: bool,
        fixed_ips: Option<&Vec<FixedIpRequest>>,
        device_owner: Option<&String>,
        port_security: Option<bool>,
        pairs: Option<&Vec<AddressPairRequest>>,
        security_groups: Option<&Vec<String>>,
        binding_host: Option<&String>,
    ) -> Result<Checked> {
        let owner = Target::project(&network.project_id);
        let pick = |create: Rule, update: Rule| if creating { create } else { update };
        if let Some(ips) = fixed_ips {
            if ips.len() > self.cfg.max_fixed_ips_per_port {
                return Err(NetworkError::invalid(
                    "Exceeded maximum amount of fixed ips per port.",
                ));
            }
            if ips.iter().any(|r| r.ip_address.is_some()) {
                enforce(
                    ctx,
                    &pick(rules::CREATE_PORT_IP_ADDRESS, rules::UPDATE_PORT_IP_ADDRESS),
                    &owner,
                )?;
            }
        }
        if let Some(o) = device_owner {
            check_name("device_owner", o, 255)?;
            if o.starts_with("network:") {
                enforce(
                    ctx,
                    &pick(
                        rules::CREATE_PORT_NETWORK_DEVICE,
                        rules::UPDATE_PORT_NETWORK_DEVICE,
                    ),
                    &owner,
                )?;
            }
        }
        if port_security == Some(false) {
            enforce(
                ctx,
                &pick(rules::CREATE_PORT_SECURITY, rules::UPDATE_PORT_SECURITY),
                &owner,
            )?;
        }
        let pairs = match pairs {
            None => None,
            Some(list) => {
                if !list.is_empty() {
                    enforce(
                        ctx,
                        &pick(
                            rules::CREATE_PORT_ADDRESS_PAIRS,
                            rules::UPDATE_PORT_ADDRESS_PAIRS,
                        ),
                        &owner,
                    )?;
                }
                if list.len() > self.cfg.max_allowed_address_pair {
                    return Err(NetworkError::Validation {
                        neutron_type: "AllowedAddressPairExhausted",
                        message: crate::msg!(
                            "error.network.address_pairs_exhausted",
                            "The number of allowed address pair exceeds the maximum {quota}.",
                            quota = self.cfg.max_allowed_address_pair,
                        ),
                    });
                }
                let mut out: Vec<AddressPairRequest> = Vec::with_capacity(list.len());
                for p in list {
                    let ip = p.ip_address.trim();
                    let ok = ip.parse::<Ipv4Addr>().is_ok()
                        || ip.parse::<ipnet::Ipv4Net>().is_ok_and(|n| n.trunc() == n);
                    if !ok {
                        return Err(NetworkError::invalid(format!(
                            "Invalid input for allowed_address_pairs. Reason: '{ip}' is not a valid IP address or CIDR."
                        )));
                    }
                    let mac = p.mac_address.as_deref().map(parse_mac).transpose()?;
                    let pair = AddressPairRequest {
                        ip_address: ip.to_string(),
                        mac_address: mac,
                    };
                    if out.contains(&pair) {
                        return Err(NetworkError::invalid(format!(
                            "Invalid input for allowed_address_pairs. Reason: Duplicate address pair '{ip}'."
                        )));
                    }
                    out.push(pair);
                }
                Some(out)
            }
        };
        let security_groups = match security_groups {
            None => None,
            Some(list) => {
                if list.len() > MAX_SECURITY_GROUPS {
                    return Err(NetworkError::invalid(format!(
                        "A port has at most {MAX_SECURITY_GROUPS} security groups."
                    )));
                }
                let mut out: Vec<String> = Vec::with_capacity(list.len());
                for g in list {
                    check_name("security_groups", g, 36)?;
                    if !out.contains(g) {
                        out.push(g.clone());
                    }
                }
                Some(out)
            }
        };
        if let Some(h) = binding_host {
            check_name("binding:host_id", h, 255)?;
            enforce(
                ctx,
                &pick(
                    rules::CREATE_PORT_BINDING_HOST,
                    rules::UPDATE_PORT_BINDING_HOST,
                ),
                &owner,
            )?;
        }
        Ok(Checked {
            pairs,
            security_groups,
        })
    }

    pub async fn create_port(&self, ctx: &RequestContext, new: NewPort) -> Result<Port> {
        let network = self.visible_network(ctx, &new.network_id).await?;
        let project = owning_project(ctx, new.project_id.as_ref())?;
        enforce(ctx, &rules::CREATE_PORT, &Target::project(&project))?;
        enforce(
            ctx,
            &rules::CREATE_PORT_ON_NETWORK,
            &network_target(&network),
        )?;
        check_name("name", &new.name, 255)?;
        check_description(&new.description)?;
        check_name("device_id", &new.device_id, 255)?;
        let mac = match &new.mac_address {
            Some(m) => {
                enforce(
                    ctx,
                    &rules::CREATE_PORT_MAC_ADDRESS,
                    &Target::project(&network.project_id),
                )?;
                Some(parse_mac(m)?)
            }
            None => None,
        };
        let checked = self.check_port_attrs(
            ctx,
            &network,
            true,
            new.fixed_ips.as_ref(),
            Some(&new.device_owner),
            new.port_security_enabled,
            Some(&new.allowed_address_pairs),
            new.security_groups.as_ref(),
            new.binding_host_id.as_ref(),
        )?;
        let port_security = new.port_security_enabled.unwrap_or(true);
        let pairs = checked.pairs.unwrap_or_default();
        // Neutron's default: the project's default group, on ports with
        // port security that are not the network service's own.
        let groups = match checked.security_groups {
            Some(g) => g,
            None if port_security && !new.device_owner.starts_with("network:") => {
                vec![self.default_security_group(&project).await?]
            }
            None => Vec::new(),
        };
        check_security_combination(port_security, &pairs, &groups)?;
        let id = new_uuid();
        retrying!(
            self.try_create_port(
                &id,
                &project,
                &new,
                mac.as_deref(),
                port_security,
                &pairs,
                &groups
            )
            .await
        )?;
        self.get_port(ctx, &id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn try_create_port(
        &self,
        id: &str,
        project: &str,
        new: &NewPort,
        mac: Option<&str>,
        port_security: bool,
        pairs: &[AddressPairRequest],
        groups: &[String],
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, &new.network_id).await?;
        self.insert_port(&mut tx, id, project, new, mac, port_security, pairs, groups)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes a new port and allocates its addresses inside `tx`, which
    /// holds its network's lock. A port of no project (a router's gateway,
    /// a floating IP's: the service's own) counts against no quota.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn insert_port(
        &self,
        tx: &mut WriteTx,
        id: &str,
        project: &str,
        new: &NewPort,
        mac: Option<&str>,
        port_security: bool,
        pairs: &[AddressPairRequest],
        groups: &[String],
    ) -> Result<Vec<PortIp>> {
        if !project.is_empty() {
            self.quota
                .consume(tx, project, &[(Resource::PORTS, 1)])
                .await?;
        }
        let mac = match mac {
            Some(m) => {
                if self.mac_taken(tx, &new.network_id, m).await? {
                    return Err(mac_in_use(&new.network_id, m));
                }
                m.to_string()
            }
            None => {
                let mut found = None;
                for _ in 0..16 {
                    let m = random_mac();
                    if !self.mac_taken(tx, &new.network_id, &m).await? {
                        found = Some(m);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    NetworkError::Internal("no free MAC address found in 16 tries".into())
                })?
            }
        };
        let pairs: Vec<AddressPair> = pairs
            .iter()
            .map(|p| AddressPair {
                ip_address: p.ip_address.clone(),
                mac_address: p.mac_address.clone().unwrap_or_else(|| mac.clone()),
            })
            .collect();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO ports (id, project_id, network_id, name, description, mac_address, \
             admin_state_up, status, device_owner, device_id, port_security_enabled, \
             allowed_address_pairs, security_groups, binding_host_id, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(project)
        .bind(new.network_id.as_str())
        .bind(new.name.as_str())
        .bind(new.description.as_str())
        .bind(mac.as_str())
        .bind(i64::from(new.admin_state_up.unwrap_or(true)))
        .bind(STATUS_DOWN)
        .bind(new.device_owner.as_str())
        .bind(new.device_id.as_str())
        .bind(i64::from(port_security))
        .bind(to_json(&pairs)?)
        .bind(to_json(&groups)?)
        .bind(new.binding_host_id.as_deref().unwrap_or_default())
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        self.join_groups(tx, id, project, groups).await?;
        let picks = self
            .allocate(
                tx,
                &new.network_id,
                id,
                new.fixed_ips.as_deref(),
                &new.device_owner,
                &[],
            )
            .await?;
        Ok(picks
            .into_iter()
            .map(|p| PortIp {
                subnet_id: p.subnet_id,
                ip_address: p.ip,
            })
            .collect())
    }

    async fn mac_taken(&self, tx: &mut WriteTx, network_id: &str, mac: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS x FROM ports WHERE network_id = ? AND mac_address = ?")
                .bind(network_id)
                .bind(mac)
                .fetch_optional(&mut **tx)
                .await?
                .is_some(),
        )
    }

    /// Gives port `port_id` the addresses `asked` (`None`: one from the
    /// network's first subnet with room), inside `tx`, under the network's
    /// lock. `held` are the port's current addresses: one asked for again
    /// is kept; the rest are released. Answers the port's new addresses.
    async fn allocate(
        &self,
        tx: &mut WriteTx,
        network_id: &str,
        port_id: &str,
        asked: Option<&[FixedIpRequest]>,
        device_owner: &str,
        held: &[PortIp],
    ) -> Result<Vec<Pick>> {
        let subnets = self.subnets_in(tx, network_id).await?;
        let mut used: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        let mut picks: Vec<Pick> = Vec::new();
        let mut unclaimed: Vec<PortIp> = held.to_vec();
        match asked {
            None => {
                if !subnets.is_empty() {
                    let mut found = None;
                    for s in &subnets {
                        let u = self.used_in(tx, &mut used, &s.id).await?;
                        if let Some(ip) = first_free(&s.allocation_pools, u) {
                            found = Some(Pick {
                                subnet_id: s.id.clone(),
                                ip,
                            });
                            break;
                        }
                    }
                    picks.push(
                        found.ok_or_else(|| NetworkError::ip_generation_failure(network_id))?,
                    );
                }
            }
            Some(list) => {
                for r in list {
                    let ip = r
                        .ip_address
                        .as_deref()
                        .map(|a| parse_addr("fixed_ips", a))
                        .transpose()?;
                    let subnet = match (&r.subnet_id, ip) {
                        (Some(sid), _) => subnets.iter().find(|s| &s.id == sid).ok_or_else(|| {
                            NetworkError::invalid(format!(
                                "Failed to create port on network {network_id}, because fixed_ips included invalid subnet {sid}."
                            ))
                        })?,
                        (None, Some(ip)) => subnets
                            .iter()
                            .find(|s| s.cidr.contains(&ip))
                            .ok_or_else(|| NetworkError::Validation {
                                neutron_type: "InvalidIpForNetwork",
                                message: crate::msg!(
                                    "error.network.invalid_ip_for_network",
                                    "IP address {ip_address} is not a valid IP for any of the subnets on the specified network.",
                                    ip_address = ip,
                                ),
                            })?,
                        (None, None) => {
                            return Err(NetworkError::invalid(
                                "a fixed_ips entry needs a subnet_id or an ip_address.",
                            ))
                        }
                    };
                    let taken_here = |picks: &[Pick], ip: Ipv4Addr| {
                        picks.iter().any(|p| p.subnet_id == subnet.id && p.ip == ip)
                    };
                    match ip {
                        Some(ip) => {
                            if !is_host(&subnet.cidr, ip) {
                                return Err(invalid_ip_for_subnet(&ip.to_string()));
                            }
                            if taken_here(&picks, ip) {
                                return Err(NetworkError::ip_already_allocated(
                                    &ip.to_string(),
                                    &subnet.id,
                                ));
                            }
                            if let Some(i) = unclaimed
                                .iter()
                                .position(|h| h.subnet_id == subnet.id && h.ip_address == ip)
                            {
                                unclaimed.remove(i);
                            } else {
                                let u = self.used_in(tx, &mut used, &subnet.id).await?;
                                let is_gateway = subnet.gateway_ip == Some(ip);
                                if u.contains(&u32::from(ip))
                                    || (is_gateway && !is_router_owner(device_owner))
                                {
                                    return Err(NetworkError::ip_already_allocated(
                                        &ip.to_string(),
                                        &subnet.id,
                                    ));
                                }
                            }
                            picks.push(Pick {
                                subnet_id: subnet.id.clone(),
                                ip,
                            });
                        }
                        None => {
                            // An address the port already has on this
                            // subnet satisfies the request.
                            if let Some(i) = unclaimed.iter().position(|h| h.subnet_id == subnet.id)
                            {
                                let h = unclaimed.remove(i);
                                picks.push(Pick {
                                    subnet_id: h.subnet_id,
                                    ip: h.ip_address,
                                });
                                continue;
                            }
                            let u = self.used_in(tx, &mut used, &subnet.id).await?;
                            let mut taken = u.clone();
                            taken.extend(
                                picks
                                    .iter()
                                    .filter(|p| p.subnet_id == subnet.id)
                                    .map(|p| u32::from(p.ip)),
                            );
                            let ip = first_free(&subnet.allocation_pools, &taken)
                                .ok_or_else(|| NetworkError::ip_generation_failure(network_id))?;
                            picks.push(Pick {
                                subnet_id: subnet.id.clone(),
                                ip,
                            });
                        }
                    }
                }
            }
        }
        // Write the port's whole list: what it held goes, the picks (kept
        // ones included) are inserted in order. An address some other
        // transaction took is a primary-key violation: the caller's
        // transaction is run again (see `retrying!`).
        sqlx::query("DELETE FROM ip_allocations WHERE port_id = ?")
            .bind(port_id)
            .execute(&mut **tx)
            .await?;
        let now = now_micros();
        for (position, p) in picks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id, position, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(p.subnet_id.as_str())
            .bind(p.ip.to_string())
            .bind(port_id)
            .bind(network_id)
            .bind(i64::try_from(position).unwrap_or(0))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(picks)
    }

    /// The addresses of `subnet_id` in use, read once per allocation.
    async fn used_in<'a>(
        &self,
        tx: &mut WriteTx,
        cache: &'a mut BTreeMap<String, BTreeSet<u32>>,
        subnet_id: &str,
    ) -> Result<&'a BTreeSet<u32>> {
        if !cache.contains_key(subnet_id) {
            let rows = sqlx::query("SELECT ip_address FROM ip_allocations WHERE subnet_id = ?")
                .bind(subnet_id)
                .fetch_all(&mut **tx)
                .await?;
            let mut set = BTreeSet::new();
            for r in rows {
                let text: String = r.try_get("ip_address")?;
                if let Ok(ip) = text.parse::<Ipv4Addr>() {
                    set.insert(u32::from(ip));
                }
            }
            cache.insert(subnet_id.to_string(), set);
        }
        cache
            .get(subnet_id)
            .ok_or_else(|| NetworkError::Internal("address cache".into()))
    }

    pub async fn update_port(&self, ctx: &RequestContext, id: &str, u: PortUpdate) -> Result<Port> {
        let port = self.visible_port(ctx, id).await?;
        enforce(ctx, &rules::UPDATE_PORT, &Target::project(&port.project_id))?;
        let network = self
            .network_row(&self.db.pool, &port.network_id)
            .await?
            .ok_or_else(|| NetworkError::port_not_found(id))?;
        if let Some(n) = &u.name {
            check_name("name", n, 255)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        if let Some(d) = &u.device_id {
            check_name("device_id", d, 255)?;
        }
        let checked = self.check_port_attrs(
            ctx,
            &network,
            false,
            u.fixed_ips.as_ref(),
            u.device_owner.as_ref(),
            u.port_security_enabled,
            u.allowed_address_pairs.as_ref(),
            u.security_groups.as_ref(),
            u.binding_host_id.as_ref(),
        )?;
        retrying!(
            self.try_update_port(&port.network_id, id, &u, &checked)
                .await
        )?;
        self.get_port(ctx, id).await
    }

    async fn try_update_port(
        &self,
        network_id: &str,
        id: &str,
        u: &PortUpdate,
        checked: &Checked,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, network_id).await?;
        let row = sqlx::query(&format!("SELECT {PORT_COLS} FROM ports t WHERE t.id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| NetworkError::port_not_found(id))?;
        let mut p = port_of(&row)?;
        let device_owner = u.device_owner.clone().unwrap_or(p.device_owner.clone());
        if let Some(asked) = &u.fixed_ips {
            let held_rows = sqlx::query(
                "SELECT subnet_id, ip_address FROM ip_allocations WHERE port_id = ? ORDER BY position",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let mut held = Vec::with_capacity(held_rows.len());
            for r in held_rows {
                let ip: String = r.try_get("ip_address")?;
                held.push(PortIp {
                    subnet_id: r.try_get("subnet_id")?,
                    ip_address: ip
                        .parse()
                        .map_err(|_| NetworkError::Internal(format!("stored address {ip:?}")))?,
                });
            }
            self.allocate(&mut tx, network_id, id, Some(asked), &device_owner, &held)
                .await?;
        }
        let port_security = u.port_security_enabled.unwrap_or(p.port_security_enabled);
        if let Some(pairs) = &checked.pairs {
            p.allowed_address_pairs = pairs
                .iter()
                .map(|a| AddressPair {
                    ip_address: a.ip_address.clone(),
                    mac_address: a
                        .mac_address
                        .clone()
                        .unwrap_or_else(|| p.mac_address.clone()),
                })
                .collect();
        }
        if let Some(groups) = &checked.security_groups {
            self.join_groups(&mut tx, id, &p.project_id, groups).await?;
            p.security_groups = groups.clone();
        }
        let pair_reqs: Vec<AddressPairRequest> = p
            .allowed_address_pairs
            .iter()
            .map(|a| AddressPairRequest {
                ip_address: a.ip_address.clone(),
                mac_address: Some(a.mac_address.clone()),
            })
            .collect();
        if !port_security && checked.security_groups.is_none() && !p.security_groups.is_empty() {
            return Err(NetworkError::Conflict {
                neutron_type: "PortSecurityPortHasSecurityGroup",
                message: crate::msg!(
                    "error.network.port_has_security_group",
                    "Port has security group associated. Cannot disable port security or ip address until security group is removed."
                ),
            });
        }
        check_security_combination(port_security, &pair_reqs, &p.security_groups)?;
        sqlx::query(
            "UPDATE ports SET name = ?, description = ?, admin_state_up = ?, device_owner = ?, \
             device_id = ?, port_security_enabled = ?, allowed_address_pairs = ?, \
             security_groups = ?, binding_host_id = ?, updated_at = ? WHERE id = ?",
        )
        .bind(u.name.as_deref().unwrap_or(&p.name))
        .bind(u.description.as_deref().unwrap_or(&p.description))
        .bind(i64::from(u.admin_state_up.unwrap_or(p.admin_state_up)))
        .bind(device_owner.as_str())
        .bind(u.device_id.as_deref().unwrap_or(&p.device_id))
        .bind(i64::from(port_security))
        .bind(to_json(&p.allowed_address_pairs)?)
        .bind(to_json(&p.security_groups)?)
        .bind(u.binding_host_id.as_deref().unwrap_or(&p.binding_host_id))
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a port and releases its addresses in the same transaction.
    pub async fn delete_port(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let port = self.visible_port(ctx, id).await?;
        enforce(ctx, &rules::DELETE_PORT, &Target::project(&port.project_id))?;
        retrying!(self.try_delete_port(&port, id).await)
    }

    async fn try_delete_port(&self, port: &Port, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_network(&mut tx, &port.network_id).await?;
        if let Some(owner) = self.service_of_port(&mut tx, id).await? {
            return Err(NetworkError::service_port_in_use(id, owner));
        }
        self.remove_port_in(&mut tx, &port.project_id, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The device owner of a router interface, router gateway or floating
    /// IP port that still serves its router or floating IP.
    pub(super) async fn service_of_port(
        &self,
        tx: &mut WriteTx,
        id: &str,
    ) -> Result<Option<&'static str>> {
        for (owner, sql) in [
            (
                DEVICE_OWNER_ROUTER_INTERFACE,
                "SELECT 1 AS x FROM router_ports WHERE port_id = ?",
            ),
            (
                DEVICE_OWNER_ROUTER_GATEWAY,
                "SELECT 1 AS x FROM routers WHERE gw_port_id = ?",
            ),
            (
                DEVICE_OWNER_FLOATINGIP,
                "SELECT 1 AS x FROM floating_ips WHERE floating_port_id = ?",
            ),
        ] {
            if sqlx::query(sql)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .is_some()
            {
                return Ok(Some(owner));
            }
        }
        Ok(None)
    }

    /// Deletes port `id` inside `tx` (its network locked): its addresses
    /// are released, floating IPs on it disassociated, and its project's
    /// quota given back.
    pub(super) async fn remove_port_in(
        &self,
        tx: &mut WriteTx,
        project_id: &str,
        id: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE floating_ips SET fixed_port_id = NULL, fixed_ip_address = NULL, \
             router_id = NULL, status = ?, updated_at = ? WHERE fixed_port_id = ?",
        )
        .bind(STATUS_DOWN)
        .bind(now_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM ip_allocations WHERE port_id = ?")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let done = sqlx::query("DELETE FROM ports WHERE id = ?")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(NetworkError::port_not_found(id));
        }
        if !project_id.is_empty() {
            self.quota
                .give_back(tx, project_id, &[(Resource::PORTS, 1)])
                .await?;
        }
        Ok(())
    }
}

/// Neutron's rules between port security and what depends on it: address
/// pairs (`AddressPairAndPortSecurityRequired`, 409) and security groups
/// (`PortSecurityAndIPRequiredForSecurityGroups`, 400) need it on.
fn check_security_combination(
    port_security: bool,
    pairs: &[AddressPairRequest],
    groups: &[String],
) -> Result<()> {
    if port_security {
        return Ok(());
    }
    if !pairs.is_empty() {
        return Err(NetworkError::Conflict {
            neutron_type: "AddressPairAndPortSecurityRequired",
            message: crate::msg!(
                "error.network.address_pairs_need_port_security",
                "Port Security must be enabled in order to have allowed address pairs on a port."
            ),
        });
    }
    if !groups.is_empty() {
        return Err(NetworkError::Validation {
            neutron_type: "PortSecurityAndIPRequiredForSecurityGroups",
            message: crate::msg!(
                "error.network.security_groups_need_port_security",
                "Port security must be enabled and port must have an IP address in order to use security groups."
            ),
        });
    }
    Ok(())
}
