//! Security groups and their rules (Neutron's `security-group`
//! extension): a project's firewall, enforced on its ports by the data
//! plane.
//!
//! - Every project has a `default` group, made on first use (its first
//!   list of groups, group or port) with Neutron's four rules: all egress,
//!   and ingress from the group's own ports, for IPv4 and IPv6. The
//!   `default_security_groups` key makes two first uses at once give one
//!   group. The service gives it, so it counts in the project's usage but
//!   is never refused for quota.
//! - A new group starts with Neutron's two egress rules.
//! - A rule is checked as Neutron checks it (protocol, port range or ICMP
//!   type and code, ethertype against the remote prefix) and stored with a
//!   normalised key whose uniqueness makes a duplicate impossible
//!   (`SecurityGroupRuleExists`).
//! - **Locking**: a write to a group's rules, its deletion, and a port
//!   joining it lock the group's row; a port's write locks its network
//!   first, then its groups, then quota rows, so no two writes wait on
//!   each other in a cycle. `port_security_groups` (with a foreign key to
//!   the group) is what "in use" reads.

use std::collections::BTreeMap;

use ipnet::IpNet;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::list::{Arg, Listing, SortBy, Where};
use super::*;
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, enforce, network as rules, Target};
use crate::quota::Resource;
use crate::Page;

const GROUP_COLS: &str =
    "t.id, t.project_id, t.name, t.description, t.stateful, t.created_at, t.updated_at";

const RULE_COLS: &str = "t.id, t.project_id, t.security_group_id, t.direction, t.ethertype, \
     t.protocol, t.port_range_min, t.port_range_max, t.remote_ip_prefix, t.remote_group_id, \
     t.description, t.created_at, t.updated_at";

/// Protocol names Neutron accepts (lower case), with their numbers.
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// Protocols whose rules take a port range (TCP, UDP, SCTP, DCCP, UDP-Lite).
const PORT_PROTOCOLS: [u8; 5] = [6, 17, 132, 33, 136];
/// ICMP and ICMPv6: the range is a type and a code.
const ICMP_PROTOCOLS: [u8; 2] = [1, 58];
/// Protocols only IPv6 carries (a rule of them must be IPv6).
const IPV6_ONLY_PROTOCOLS: [u8; 5] = [41, 43, 44, 58, 59];

fn group_of(r: &AnyRow) -> Result<SecurityGroup> {
    Ok(SecurityGroup {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        stateful: r.try_get::<i64, _>("stateful")? != 0,
        rules: Vec::new(),
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn rule_of(r: &AnyRow) -> Result<SecurityGroupRule> {
    let direction: String = r.try_get("direction")?;
    let ethertype: String = r.try_get("ethertype")?;
    let port = |col: &str| -> Result<Option<u16>> {
        Ok(r.try_get::<Option<i64>, _>(col)?
            .and_then(|p| u16::try_from(p).ok()))
    };
    Ok(SecurityGroupRule {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        security_group_id: r.try_get("security_group_id")?,
        direction: Direction::parse(&direction)
            .ok_or_else(|| NetworkError::Internal(format!("stored direction {direction:?}")))?,
        ethertype: EtherType::parse(&ethertype)
            .ok_or_else(|| NetworkError::Internal(format!("stored ethertype {ethertype:?}")))?,
        protocol: r.try_get("protocol")?,
        port_range_min: port("port_range_min")?,
        port_range_max: port("port_range_max")?,
        remote_ip_prefix: r.try_get("remote_ip_prefix")?,
        remote_group_id: r.try_get("remote_group_id")?,
        description: r.try_get("description")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn group_sort(k: SecurityGroupSortKey) -> (&'static str, bool) {
    match k {
        SecurityGroupSortKey::Id => ("t.id", false),
        SecurityGroupSortKey::Name => ("t.name", false),
        SecurityGroupSortKey::ProjectId => ("t.project_id", false),
        SecurityGroupSortKey::CreatedAt => ("t.created_at", true),
        SecurityGroupSortKey::UpdatedAt => ("t.updated_at", true),
    }
}

fn rule_sort(k: SecurityGroupRuleSortKey) -> (&'static str, bool) {
    match k {
        SecurityGroupRuleSortKey::Id => ("t.id", false),
        SecurityGroupRuleSortKey::SecurityGroupId => ("t.security_group_id", false),
        SecurityGroupRuleSortKey::Direction => ("t.direction", false),
        SecurityGroupRuleSortKey::Protocol => ("COALESCE(t.protocol, '')", false),
        SecurityGroupRuleSortKey::ProjectId => ("t.project_id", false),
        SecurityGroupRuleSortKey::CreatedAt => ("t.created_at", true),
    }
}

/// A rule checked and normalised, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CheckedRule {
    direction: Direction,
    ethertype: EtherType,
    protocol: Option<String>,
    port_range_min: Option<u16>,
    port_range_max: Option<u16>,
    remote_ip_prefix: Option<String>,
    remote_group_id: Option<String>,
    description: String,
}

impl CheckedRule {
    fn any(direction: Direction, ethertype: EtherType, remote_group: Option<&str>) -> CheckedRule {
        CheckedRule {
            direction,
            ethertype,
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: remote_group.map(str::to_string),
            description: String::new(),
        }
    }

    /// What two rules must not share: everything but the description,
    /// with the protocol as its number (`tcp` and `6` are one rule).
    fn key(&self) -> String {
        let proto = self
            .protocol
            .as_deref()
            .map(|p| protocol_number(p).map_or_else(|| p.to_string(), |n| n.to_string()))
            .unwrap_or_default();
        let opt = |v: Option<u16>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{}|{}|{proto}|{}|{}|{}|{}",
            self.direction.as_str(),
            self.ethertype.as_str(),
            opt(self.port_range_min),
            opt(self.port_range_max),
            self.remote_ip_prefix.as_deref().unwrap_or_default(),
            self.remote_group_id.as_deref().unwrap_or_default(),
        )
    }
}

/// A protocol's number: a known name's, or the number written.
fn protocol_number(p: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(name, _)| *name == p)
        .map(|(_, n)| *n)
        .or_else(|| p.parse::<u8>().ok())
}

/// Neutron's `convert_protocol`: `None`, empty and `any` are any protocol;
/// a name is kept in lower case, a number 0–255 as its text.
fn check_protocol(p: Option<&str>) -> Result<Option<String>> {
    let Some(p) = p.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let lower = p.to_ascii_lowercase();
    if lower == "any" {
        return Ok(None);
    }
    if PROTOCOLS.iter().any(|(name, _)| *name == lower) {
        return Ok(Some(lower));
    }
    match lower.parse::<i64>() {
        Ok(n) if (0..=255).contains(&n) => Ok(Some(n.to_string())),
        _ => {
            let names: Vec<&str> = PROTOCOLS.iter().map(|(n, _)| *n).collect();
            Err(NetworkError::bad_rule(
                "SecurityGroupRuleInvalidProtocol",
                format!(
                    "protocol {p} is not supported. Only protocol values [{}] and integer representations [0 to 255] are supported.",
                    names.join(", ")
                ),
            ))
        }
    }
}

/// Checks a rule as Neutron does and gives its normalised form. The
/// remote group is checked (visible to the caller) by the caller.
pub(super) fn check_rule(new: &NewSecurityGroupRule) -> Result<CheckedRule> {
    let direction = Direction::parse(new.direction.trim()).ok_or_else(|| {
        NetworkError::invalid(format!(
            "Invalid input for direction. Reason: '{}' is not in ['ingress', 'egress'].",
            new.direction
        ))
    })?;
    let ethertype = match new.ethertype.as_deref() {
        None => EtherType::IPv4,
        Some(e) => EtherType::parse(e.trim()).ok_or_else(|| {
            NetworkError::bad_rule(
                "SecurityGroupRuleInvalidEtherType",
                format!("ethertype {e} is not supported. Supported values are ['IPv4', 'IPv6']."),
            )
        })?,
    };
    let protocol = check_protocol(new.protocol.as_deref())?;
    let number = protocol.as_deref().and_then(protocol_number);
    if ethertype == EtherType::IPv4 && number.is_some_and(|n| IPV6_ONLY_PROTOCOLS.contains(&n)) {
        return Err(NetworkError::bad_rule(
            "SecurityGroupEthertypeConflictWithProtocol",
            format!(
                "ethertype IPv4 does not carry protocol {}.",
                protocol.as_deref().unwrap_or_default()
            ),
        ));
    }
    let port = |v: Option<i64>, attr: &str| -> Result<Option<u16>> {
        match v {
            None => Ok(None),
            Some(n) => u16::try_from(n).map(Some).map_err(|_| {
                NetworkError::invalid(format!(
                    "Invalid input for {attr}. Reason: '{n}' is not a valid port number (0 to 65535)."
                ))
            }),
        }
    };
    let min = port(new.port_range_min, "port_range_min")?;
    let max = port(new.port_range_max, "port_range_max")?;
    if min.is_some() || max.is_some() {
        match number {
            None if protocol.is_none() => {
                return Err(NetworkError::bad_rule(
                    "SecurityGroupProtocolRequiredWithPorts",
                    "a protocol must be given with a port range.",
                ))
            }
            Some(n) if PORT_PROTOCOLS.contains(&n) => {
                if min == Some(0) || max == Some(0) {
                    return Err(NetworkError::bad_rule(
                        "SecurityGroupInvalidPortValue",
                        "port 0 is not a valid port.",
                    ));
                }
                match (min, max) {
                    (Some(a), Some(b)) if a <= b => {}
                    _ => {
                        return Err(NetworkError::bad_rule(
                            "SecurityGroupInvalidPortRange",
                            "for TCP/UDP protocols, port_range_min must be <= port_range_max.",
                        ))
                    }
                }
            }
            Some(n) if ICMP_PROTOCOLS.contains(&n) => {
                for (v, field, attr) in [(min, "type", "min"), (max, "code", "max")] {
                    if let Some(v) = v.filter(|v| *v > 255) {
                        return Err(NetworkError::bad_rule(
                            "SecurityGroupInvalidIcmpValue",
                            format!("ICMP {field} (port-range-{attr}) {v} must be 0 to 255."),
                        ));
                    }
                }
                if min.is_none() {
                    return Err(NetworkError::bad_rule(
                        "SecurityGroupMissingIcmpType",
                        format!(
                            "ICMP code (port-range-max) {} is given but ICMP type (port-range-min) is missing.",
                            max.unwrap_or_default()
                        ),
                    ));
                }
            }
            _ => {
                return Err(NetworkError::bad_rule(
                    "SecurityGroupInvalidProtocolForPortRange",
                    format!(
                        "protocol {} takes no port range: only TCP, UDP, SCTP, DCCP, UDP-Lite and ICMP do.",
                        protocol.as_deref().unwrap_or_default()
                    ),
                ))
            }
        }
    }
    let remote_group_id = new.remote_group_id.clone().filter(|g| !g.is_empty());
    let prefix = new
        .remote_ip_prefix
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if prefix.is_some() && remote_group_id.is_some() {
        return Err(NetworkError::bad_rule(
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            "only remote_ip_prefix or remote_group_id may be given.",
        ));
    }
    let remote_ip_prefix = match prefix {
        None => None,
        Some(p) => {
            let net: IpNet = p
                .parse::<IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    NetworkError::invalid(format!(
                        "Invalid input for remote_ip_prefix. Reason: '{p}' is not a valid IP prefix."
                    ))
                })?;
            let matches = match net {
                IpNet::V4(_) => ethertype == EtherType::IPv4,
                IpNet::V6(_) => ethertype == EtherType::IPv6,
            };
            if !matches {
                return Err(NetworkError::bad_rule(
                    "SecurityGroupRuleParameterConflict",
                    format!(
                        "conflicting value ethertype {} for CIDR {p}.",
                        ethertype.as_str()
                    ),
                ));
            }
            Some(net.trunc().to_string())
        }
    };
    if let Some(g) = &remote_group_id {
        check_name("remote_group_id", g, 36)?;
    }
    check_description(&new.description)?;
    Ok(CheckedRule {
        direction,
        ethertype,
        protocol,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix,
        remote_group_id,
        description: new.description.clone(),
    })
}

impl NetworkService {
    async fn group_row<'e, E>(&self, conn: E, id: &str) -> Result<Option<SecurityGroup>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLS} FROM security_groups t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(group_of).transpose()
    }

    /// Locks a group's row for the rest of `tx`; `None` if it is gone.
    pub(super) async fn lock_group(
        &self,
        tx: &mut WriteTx,
        id: &str,
    ) -> Result<Option<SecurityGroup>> {
        let sql = self.db.for_update(&format!(
            "SELECT {GROUP_COLS} FROM security_groups t WHERE t.id = ?"
        ));
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
        row.as_ref().map(group_of).transpose()
    }

    /// A group the caller may see, else `SecurityGroupNotFound`.
    async fn visible_group(&self, ctx: &RequestContext, id: &str) -> Result<SecurityGroup> {
        let g = self
            .group_row(&self.db.pool, id)
            .await?
            .ok_or_else(|| NetworkError::security_group_not_found(id))?;
        if !allows(
            ctx,
            &rules::GET_SECURITY_GROUP,
            &Target::project(&g.project_id),
        ) {
            return Err(NetworkError::security_group_not_found(id));
        }
        Ok(g)
    }

    async fn is_default_group(&self, id: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS x FROM default_security_groups WHERE security_group_id = ?")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?
                .is_some(),
        )
    }

    async fn fill_rules(&self, groups: &mut [SecurityGroup]) -> Result<()> {
        if groups.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        let rows = rows_in(
            &self.db,
            &format!(
                "SELECT {RULE_COLS} FROM security_group_rules t WHERE t.security_group_id IN (?) \
                 ORDER BY t.created_at, t.id"
            ),
            &ids,
        )
        .await?;
        let mut by: BTreeMap<String, Vec<SecurityGroupRule>> = BTreeMap::new();
        for r in &rows {
            let rule = rule_of(r)?;
            by.entry(rule.security_group_id.clone())
                .or_default()
                .push(rule);
        }
        for g in groups {
            g.rules = by.remove(&g.id).unwrap_or_default();
        }
        Ok(())
    }

    /// The id of `project_id`'s `default` group, made (with Neutron's four
    /// rules) if the project has none yet.
    pub async fn default_security_group(&self, project_id: &str) -> Result<String> {
        if let Some(id) = self.default_group_id(&self.db.pool, project_id).await? {
            return Ok(id);
        }
        retrying!(self.try_make_default_group(project_id).await)
    }

    async fn default_group_id<'e, E>(&self, conn: E, project_id: &str) -> Result<Option<String>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        Ok(sqlx::query(
            "SELECT security_group_id FROM default_security_groups WHERE project_id = ?",
        )
        .bind(project_id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get::<String, _>("security_group_id"))
        .transpose()?)
    }

    async fn try_make_default_group(&self, project_id: &str) -> Result<String> {
        let mut tx = self.db.begin_write().await?;
        // Another first use may have made it since the read outside.
        if let Some(id) = self.default_group_id(&mut *tx, project_id).await? {
            return Ok(id);
        }
        let id = new_uuid();
        let rules = [
            CheckedRule::any(Direction::Egress, EtherType::IPv4, None),
            CheckedRule::any(Direction::Egress, EtherType::IPv6, None),
            CheckedRule::any(Direction::Ingress, EtherType::IPv4, Some(&id)),
            CheckedRule::any(Direction::Ingress, EtherType::IPv6, Some(&id)),
        ];
        self.insert_group(
            &mut tx,
            &id,
            project_id,
            DEFAULT_SECURITY_GROUP,
            "Default security group",
            true,
        )
        .await?;
        // The key of default_security_groups: a first use at the same
        // moment fails here and is run again, finding this one.
        sqlx::query(
            "INSERT INTO default_security_groups (project_id, security_group_id) VALUES (?, ?)",
        )
        .bind(project_id)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        for r in &rules {
            self.insert_rule(&mut tx, &new_uuid(), project_id, &id, r)
                .await?;
        }
        // Given by the service, so counted but never refused.
        self.quota
            .transfer(
                &mut tx,
                None,
                Some(project_id),
                &[
                    (Resource::SECURITY_GROUPS, 1),
                    (Resource::SECURITY_GROUP_RULES, rules.len() as i64),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn insert_group(
        &self,
        tx: &mut WriteTx,
        id: &str,
        project_id: &str,
        name: &str,
        description: &str,
        stateful: bool,
    ) -> Result<()> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO security_groups (id, project_id, name, description, stateful, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(project_id)
        .bind(name)
        .bind(description)
        .bind(i64::from(stateful))
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn insert_rule(
        &self,
        tx: &mut WriteTx,
        id: &str,
        project_id: &str,
        group_id: &str,
        r: &CheckedRule,
    ) -> Result<()> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO security_group_rules (id, project_id, security_group_id, direction, \
             ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix, \
             remote_group_id, description, rule_key, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(project_id)
        .bind(group_id)
        .bind(r.direction.as_str())
        .bind(r.ethertype.as_str())
        .bind(r.protocol.as_deref())
        .bind(r.port_range_min.map(i64::from))
        .bind(r.port_range_max.map(i64::from))
        .bind(r.remote_ip_prefix.as_deref())
        .bind(r.remote_group_id.as_deref())
        .bind(r.description.as_str())
        .bind(r.key())
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Makes the caller's project's default group if it has none (a
    /// project's first look at its groups is a first use, as in Neutron).
    async fn ensure_callers_default(&self, ctx: &RequestContext) -> Result<()> {
        if let Some(p) = ctx.project_id() {
            self.default_security_group(p).await?;
        }
        Ok(())
    }

    pub async fn get_security_group(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<SecurityGroup> {
        let mut g = self.visible_group(ctx, id).await?;
        self.fill_rules(std::slice::from_mut(&mut g)).await?;
        Ok(g)
    }

    /// Groups the caller may see (its project's, the default one made
    /// first if missing; an admin's: all), filtered, sorted, paged in SQL.
    pub async fn list_security_groups(
        &self,
        ctx: &RequestContext,
        f: &SecurityGroupFilter,
    ) -> Result<Page<SecurityGroup>> {
        self.ensure_callers_default(ctx).await?;
        let visible = Where::own_project_unless(ctx, &rules::GET_ALL_SECURITY_GROUPS);
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.name", f.name.as_ref());
        w.search("t.name", "t.id", f.query.as_ref())?;
        let sort = if f.sort.is_empty() {
            vec![(SecurityGroupSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        let mut page = Listing {
            from: "security_groups t",
            cols: GROUP_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != SecurityGroupSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = group_sort(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        }
        .run(&self.db, group_of, NetworkError::security_group_not_found)
        .await?;
        self.fill_rules(&mut page.items).await?;
        Ok(page)
    }

    pub async fn create_security_group(
        &self,
        ctx: &RequestContext,
        new: NewSecurityGroup,
    ) -> Result<SecurityGroup> {
        let project = owning_project(ctx, new.project_id.as_ref())?;
        enforce(
            ctx,
            &rules::CREATE_SECURITY_GROUP,
            &Target::project(&project),
        )?;
        check_name("name", &new.name, 255)?;
        check_description(&new.description)?;
        if new.name == DEFAULT_SECURITY_GROUP {
            return Err(NetworkError::default_security_group_exists());
        }
        // A project's first group is preceded by its default one.
        self.default_security_group(&project).await?;
        let id = new_uuid();
        let stateful = new.stateful.unwrap_or(true);
        retrying!(self.try_create_group(&id, &project, &new, stateful).await)?;
        self.get_security_group(ctx, &id).await
    }

    async fn try_create_group(
        &self,
        id: &str,
        project: &str,
        new: &NewSecurityGroup,
        stateful: bool,
    ) -> Result<()> {
        let rules = [
            CheckedRule::any(Direction::Egress, EtherType::IPv4, None),
            CheckedRule::any(Direction::Egress, EtherType::IPv6, None),
        ];
        let mut tx = self.db.begin_write().await?;
        self.quota
            .consume(
                &mut tx,
                project,
                &[
                    (Resource::SECURITY_GROUPS, 1),
                    (Resource::SECURITY_GROUP_RULES, rules.len() as i64),
                ],
            )
            .await?;
        self.insert_group(&mut tx, id, project, &new.name, &new.description, stateful)
            .await?;
        for r in &rules {
            self.insert_rule(&mut tx, &new_uuid(), project, id, r)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_security_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: SecurityGroupUpdate,
    ) -> Result<SecurityGroup> {
        let g = self.visible_group(ctx, id).await?;
        enforce(
            ctx,
            &rules::UPDATE_SECURITY_GROUP,
            &Target::project(&g.project_id),
        )?;
        if let Some(n) = &u.name {
            check_name("name", n, 255)?;
            if n != &g.name && self.is_default_group(id).await? {
                return Err(NetworkError::default_security_group_update());
            }
            if n == DEFAULT_SECURITY_GROUP && g.name != DEFAULT_SECURITY_GROUP {
                return Err(NetworkError::default_security_group_exists());
            }
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let done = sqlx::query(
            "UPDATE security_groups SET name = ?, description = ?, stateful = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(u.name.as_deref().unwrap_or(&g.name))
        .bind(u.description.as_deref().unwrap_or(&g.description))
        .bind(i64::from(u.stateful.unwrap_or(g.stateful)))
        .bind(now_micros())
        .bind(id)
        .execute(&self.db.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(NetworkError::security_group_not_found(id));
        }
        self.get_security_group(ctx, id).await
    }

    /// Deletes a group no port is in, with its rules and the rules of
    /// other groups that name it as their remote group (as Neutron's
    /// cascade does). A project's default group is an admin's to delete.
    pub async fn delete_security_group(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let g = self.visible_group(ctx, id).await?;
        enforce(
            ctx,
            &rules::DELETE_SECURITY_GROUP,
            &Target::project(&g.project_id),
        )?;
        if !ctx.is_admin() && self.is_default_group(id).await? {
            return Err(NetworkError::default_security_group_delete());
        }
        retrying!(self.try_delete_group(id).await)
    }

    async fn try_delete_group(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let g = self
            .lock_group(&mut tx, id)
            .await?
            .ok_or_else(|| NetworkError::security_group_not_found(id))?;
        let in_use =
            sqlx::query("SELECT 1 AS x FROM port_security_groups WHERE security_group_id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if in_use {
            return Err(NetworkError::security_group_in_use(id));
        }
        // Rules going with it, by owning project (a remote-group rule may
        // be another project's only if an admin made it so).
        let counts = sqlx::query(
            "SELECT project_id, COUNT(*) AS n FROM security_group_rules \
             WHERE security_group_id = ? OR remote_group_id = ? GROUP BY project_id",
        )
        .bind(id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        // project → what goes back: one give-back per project keeps the
        // quota engine's lock order.
        let mut back: BTreeMap<String, Vec<(Resource, i64)>> = BTreeMap::new();
        back.entry(g.project_id.clone())
            .or_default()
            .push((Resource::SECURITY_GROUPS, 1));
        for r in &counts {
            back.entry(r.try_get("project_id")?)
                .or_default()
                .push((Resource::SECURITY_GROUP_RULES, r.try_get("n")?));
        }
        sqlx::query(
            "DELETE FROM security_group_rules WHERE security_group_id = ? OR remote_group_id = ?",
        )
        .bind(id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM default_security_groups WHERE security_group_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM security_groups WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for (project, items) in &back {
            self.quota.give_back(&mut tx, project, items).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ----------------------------------------------------------------- rules

    /// A rule the caller may see, else `SecurityGroupRuleNotFound`.
    async fn visible_rule(&self, ctx: &RequestContext, id: &str) -> Result<SecurityGroupRule> {
        let row = sqlx::query(&format!(
            "SELECT {RULE_COLS} FROM security_group_rules t WHERE t.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| NetworkError::security_group_rule_not_found(id))?;
        let r = rule_of(&row)?;
        if !allows(
            ctx,
            &rules::GET_SECURITY_GROUP_RULE,
            &Target::project(&r.project_id),
        ) {
            return Err(NetworkError::security_group_rule_not_found(id));
        }
        Ok(r)
    }

    pub async fn get_security_group_rule(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<SecurityGroupRule> {
        self.visible_rule(ctx, id).await
    }

    pub async fn list_security_group_rules(
        &self,
        ctx: &RequestContext,
        f: &SecurityGroupRuleFilter,
    ) -> Result<Page<SecurityGroupRule>> {
        self.ensure_callers_default(ctx).await?;
        let visible = Where::own_project_unless(ctx, &rules::GET_ALL_SECURITY_GROUPS);
        let mut w = visible.clone();
        w.ids("t.id", f.ids.as_ref());
        w.text("t.project_id", f.project_id.as_ref());
        w.text("t.security_group_id", f.security_group_id.as_ref());
        if let Some(d) = f.direction {
            w.push("t.direction = ?", [Arg::Text(d.as_str().into())]);
        }
        if let Some(e) = f.ethertype {
            w.push("t.ethertype = ?", [Arg::Text(e.as_str().into())]);
        }
        w.text("t.protocol", f.protocol.as_ref());
        w.text("t.remote_group_id", f.remote_group_id.as_ref());
        w.text("t.remote_ip_prefix", f.remote_ip_prefix.as_ref());
        let sort = if f.sort.is_empty() {
            vec![(SecurityGroupRuleSortKey::CreatedAt, crate::SortDir::Asc)]
        } else {
            f.sort.clone()
        };
        Listing {
            from: "security_group_rules t",
            cols: RULE_COLS,
            id: "t.id",
            visible,
            filtered: w,
            sort: sort
                .into_iter()
                .filter(|(k, _)| *k != SecurityGroupRuleSortKey::Id)
                .map(|(k, dir)| {
                    let (expr, int) = rule_sort(k);
                    SortBy { expr, int, dir }
                })
                .collect(),
            marker: f.marker.as_deref(),
            offset: f.offset,
            limit: f.limit,
        }
        .run(
            &self.db,
            rule_of,
            NetworkError::security_group_rule_not_found,
        )
        .await
    }

    /// Adds a rule to a group (the rule is the group's project's).
    pub async fn create_security_group_rule(
        &self,
        ctx: &RequestContext,
        new: NewSecurityGroupRule,
    ) -> Result<SecurityGroupRule> {
        let g = self.visible_group(ctx, &new.security_group_id).await?;
        enforce(
            ctx,
            &rules::CREATE_SECURITY_GROUP_RULE,
            &Target::project(&g.project_id),
        )?;
        if let Some(p) = new.project_id.as_ref().filter(|p| !p.is_empty()) {
            if p != &g.project_id {
                return Err(NetworkError::invalid(
                    "a security group rule belongs to its group's project.",
                ));
            }
        }
        let checked = check_rule(&new)?;
        if let Some(remote) = &checked.remote_group_id {
            self.visible_group(ctx, remote).await?;
        }
        let id = new_uuid();
        retrying!(self.try_create_rule(&id, &g, &checked).await)?;
        self.get_security_group_rule(ctx, &id).await
    }

    async fn try_create_rule(&self, id: &str, g: &SecurityGroup, r: &CheckedRule) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_group(&mut tx, &g.id)
            .await?
            .ok_or_else(|| NetworkError::security_group_not_found(&g.id))?;
        let same = sqlx::query(
            "SELECT id FROM security_group_rules WHERE security_group_id = ? AND rule_key = ?",
        )
        .bind(g.id.as_str())
        .bind(r.key())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = same {
            return Err(NetworkError::security_group_rule_exists(
                &row.try_get::<String, _>("id")?,
            ));
        }
        if let Some(remote) = &r.remote_group_id {
            if remote != &g.id && self.group_row(&mut *tx, remote).await?.is_none() {
                return Err(NetworkError::security_group_not_found(remote));
            }
        }
        self.quota
            .consume(
                &mut tx,
                &g.project_id,
                &[(Resource::SECURITY_GROUP_RULES, 1)],
            )
            .await?;
        self.insert_rule(&mut tx, id, &g.project_id, &g.id, r)
            .await?;
        sqlx::query("UPDATE security_groups SET updated_at = ? WHERE id = ?")
            .bind(now_micros())
            .bind(g.id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_security_group_rule(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let r = self.visible_rule(ctx, id).await?;
        enforce(
            ctx,
            &rules::DELETE_SECURITY_GROUP_RULE,
            &Target::project(&r.project_id),
        )?;
        retrying!(self.try_delete_rule(&r).await)
    }

    async fn try_delete_rule(&self, r: &SecurityGroupRule) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        self.lock_group(&mut tx, &r.security_group_id).await?;
        let done = sqlx::query("DELETE FROM security_group_rules WHERE id = ?")
            .bind(r.id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(NetworkError::security_group_rule_not_found(&r.id));
        }
        self.quota
            .give_back(
                &mut tx,
                &r.project_id,
                &[(Resource::SECURITY_GROUP_RULES, 1)],
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----------------------------------------------------------------- ports

    /// Inside a port's transaction (after its network's lock): locks the
    /// groups a port of `project_id` is to be in, each of which must be
    /// that project's, and records the port's membership.
    pub(super) async fn join_groups(
        &self,
        tx: &mut WriteTx,
        port_id: &str,
        project_id: &str,
        groups: &[String],
    ) -> Result<()> {
        for gid in groups {
            match self.lock_group(tx, gid).await? {
                Some(g) if g.project_id == project_id => {}
                _ => return Err(NetworkError::security_group_not_found(gid)),
            }
        }
        sqlx::query("DELETE FROM port_security_groups WHERE port_id = ?")
            .bind(port_id)
            .execute(&mut **tx)
            .await?;
        for gid in groups {
            sqlx::query(
                "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?)",
            )
            .bind(port_id)
            .bind(gid.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: &str) -> NewSecurityGroupRule {
        NewSecurityGroupRule {
            security_group_id: "g".into(),
            direction: direction.into(),
            ..Default::default()
        }
    }

    fn kind(r: Result<CheckedRule>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.neutron_type(),
        }
    }

    #[test]
    fn rules_are_checked_as_neutron_checks_them() {
        let ssh = NewSecurityGroupRule {
            protocol: Some("TCP".into()),
            port_range_min: Some(22),
            port_range_max: Some(22),
            remote_ip_prefix: Some("10.1.2.3/8".into()),
            ..rule("ingress")
        };
        let c = check_rule(&ssh).expect("a valid rule");
        assert_eq!(c.protocol.as_deref(), Some("tcp"));
        assert_eq!(c.remote_ip_prefix.as_deref(), Some("10.0.0.0/8"));
        assert_eq!(c.ethertype, EtherType::IPv4);
        // `tcp` and `6` are the same rule.
        let numbered = check_rule(&NewSecurityGroupRule {
            protocol: Some("6".into()),
            ..ssh.clone()
        })
        .expect("a valid rule");
        assert_eq!(numbered.key(), c.key());
        assert_eq!(kind(check_rule(&rule("sideways"))), "InvalidInput");
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                port_range_min: Some(30),
                port_range_max: Some(20),
                ..ssh.clone()
            })),
            "SecurityGroupInvalidPortRange"
        );
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                protocol: None,
                ..ssh.clone()
            })),
            "SecurityGroupProtocolRequiredWithPorts"
        );
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                protocol: Some("gre".into()),
                ..ssh.clone()
            })),
            "SecurityGroupInvalidProtocolForPortRange"
        );
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                protocol: Some("carrier-pigeon".into()),
                ..rule("egress")
            })),
            "SecurityGroupRuleInvalidProtocol"
        );
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                ethertype: Some("IPv6".into()),
                ..ssh.clone()
            })),
            "SecurityGroupRuleParameterConflict"
        );
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                remote_group_id: Some("g2".into()),
                ..ssh.clone()
            })),
            "SecurityGroupRemoteGroupAndRemoteIpPrefix"
        );
        let icmp = NewSecurityGroupRule {
            protocol: Some("icmp".into()),
            port_range_max: Some(0),
            ..rule("ingress")
        };
        assert_eq!(kind(check_rule(&icmp)), "SecurityGroupMissingIcmpType");
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                port_range_min: Some(8),
                ..icmp.clone()
            })),
            "ok"
        );
        assert_eq!(
            kind(check_rule(&NewSecurityGroupRule {
                protocol: Some("ipv6-icmp".into()),
                ..rule("ingress")
            })),
            "SecurityGroupEthertypeConflictWithProtocol"
        );
        let any = check_rule(&NewSecurityGroupRule {
            protocol: Some("any".into()),
            remote_ip_prefix: Some("192.0.2.7".into()),
            ..rule("egress")
        })
        .expect("a valid rule");
        assert_eq!(any.protocol, None);
        assert_eq!(any.remote_ip_prefix.as_deref(), Some("192.0.2.7/32"));
    }
}
