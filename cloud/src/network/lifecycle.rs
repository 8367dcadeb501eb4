//! The network service's cleanup after a deleted project: its floating
//! IPs, its routers (interfaces removed, gateway released), its ports
//! (their addresses released), its subnets and networks, its security
//! groups and rules, and its network quota rows. A network of the project that other
//! projects still have ports on (a shared one) stays, with a warning: its
//! ports are theirs, and an admin decides.

use async_trait::async_trait;
use sqlx::Row;

use super::*;
use crate::lifecycle::{LifecycleError, ProjectLifecycle};
use crate::quota::Resource;

const NETWORK_RESOURCES: &[Resource] = &[
    Resource::NETWORKS,
    Resource::SUBNETS,
    Resource::PORTS,
    Resource::SECURITY_GROUPS,
    Resource::SECURITY_GROUP_RULES,
    Resource::ROUTERS,
    Resource::FLOATING_IPS,
];

/// How many rows each pass of the cleanup reads.
const BATCH: i64 = 500;

/// A result where "already gone" is as good as done (the sweep repeats).
fn gone_is_fine(r: Result<()>) -> Result<()> {
    match r {
        Err(NetworkError::NotFound { .. }) => Ok(()),
        r => r,
    }
}

impl NetworkService {
    /// Deletes everything the network service keeps for `project_id`.
    /// Idempotent. Answers how many resources went.
    pub async fn purge_project(&self, project_id: &str) -> Result<usize> {
        let ctx = RequestContext::internal();
        let mut deleted = 0usize;
        let only = Some(project_id.to_string());
        // Floating IPs first, then routers (their interfaces hold ports
        // and subnets), then ports, networks, subnets and groups.
        loop {
            let f = FloatingIpFilter {
                project_id: only.clone(),
                limit: Some(BATCH),
                ..Default::default()
            };
            let fips = self.list_floating_ips(&ctx, &f).await?.items;
            for fip in &fips {
                gone_is_fine(self.delete_floating_ip(&ctx, &fip.id).await)?;
            }
            deleted += fips.len();
            if (fips.len() as i64) < BATCH {
                break;
            }
        }
        let routers = self
            .list_routers(
                &ctx,
                &RouterFilter {
                    project_id: only.clone(),
                    ..Default::default()
                },
            )
            .await?
            .items;
        for r in &routers {
            let removed = match self.remove_all_interfaces(&r.id).await {
                Err(NetworkError::NotFound { .. }) => continue,
                r => r,
            };
            match removed.and(self.delete_router(&ctx, &r.id).await) {
                Ok(()) => deleted += 1,
                Err(NetworkError::Conflict { .. }) => {
                    tracing::warn!(project = %project_id, router = %r.id, "a deleted project's router stays: other projects' floating IPs go through it");
                }
                r => gone_is_fine(r)?,
            }
        }
        loop {
            let f = PortFilter {
                project_id: only.clone(),
                limit: Some(BATCH),
                ..Default::default()
            };
            let ports = self.list_ports(&ctx, &f).await?.items;
            for p in &ports {
                gone_is_fine(self.delete_port(&ctx, &p.id).await)?;
            }
            deleted += ports.len();
            if (ports.len() as i64) < BATCH {
                break;
            }
        }
        let f = NetworkFilter {
            project_id: only.clone(),
            ..Default::default()
        };
        let mut marker = None;
        loop {
            let page = self
                .list_networks(
                    &ctx,
                    &NetworkFilter {
                        marker: marker.clone(),
                        limit: Some(BATCH),
                        ..f.clone()
                    },
                )
                .await?;
            for n in &page.items {
                match self.delete_network(&ctx, &n.id).await {
                    Ok(()) => deleted += 1,
                    Err(NetworkError::NetworkInUse(_)) => {
                        tracing::warn!(project = %project_id, network = %n.id, "a deleted project's network stays: other projects have ports on it");
                    }
                    r => gone_is_fine(r)?,
                }
            }
            if (page.items.len() as i64) < BATCH {
                break;
            }
            marker = page.items.last().map(|n| n.id.clone());
        }
        // Subnets the project had on others' networks.
        let subnets = self
            .list_subnets(
                &ctx,
                &SubnetFilter {
                    project_id: only.clone(),
                    ..Default::default()
                },
            )
            .await?
            .items;
        for s in &subnets {
            match self.delete_subnet(&ctx, &s.id).await {
                Ok(()) => deleted += 1,
                Err(NetworkError::SubnetInUse(_)) => {
                    tracing::warn!(project = %project_id, subnet = %s.id, "a deleted project's subnet stays: other projects' ports hold its addresses");
                }
                r => gone_is_fine(r)?,
            }
        }
        let rules = self
            .list_security_group_rules(
                &ctx,
                &SecurityGroupRuleFilter {
                    project_id: only.clone(),
                    ..Default::default()
                },
            )
            .await?
            .items;
        let groups = self
            .list_security_groups(
                &ctx,
                &SecurityGroupFilter {
                    project_id: only.clone(),
                    ..Default::default()
                },
            )
            .await?
            .items;
        for g in &groups {
            gone_is_fine(self.delete_security_group(&ctx, &g.id).await)?;
        }
        // Rules an admin gave the project in other projects' groups.
        for r in rules
            .iter()
            .filter(|r| !groups.iter().any(|g| g.id == r.security_group_id))
        {
            gone_is_fine(self.delete_security_group_rule(&ctx, &r.id).await)?;
        }
        deleted += groups.len();
        let mut tx = self.db.begin_write().await?;
        self.quota
            .forget_project(&mut tx, project_id, NETWORK_RESOURCES)
            .await?;
        tx.commit().await?;
        if deleted > 0 {
            tracing::info!(project = %project_id, resources = deleted, "deleted the network resources of a deleted project");
        }
        Ok(deleted)
    }

    /// Every project the network service keeps something for.
    pub async fn network_project_owners(&self) -> Result<Vec<String>> {
        let marks = vec!["?"; NETWORK_RESOURCES.len()].join(", ");
        let sql = format!(
            "SELECT project_id AS p FROM networks \
             UNION SELECT project_id AS p FROM subnets \
             UNION SELECT project_id AS p FROM ports WHERE project_id <> '' \
             UNION SELECT project_id AS p FROM routers \
             UNION SELECT project_id AS p FROM floating_ips \
             UNION SELECT project_id AS p FROM security_groups \
             UNION SELECT project_id AS p FROM security_group_rules \
             UNION SELECT project_id AS p FROM quota_usage WHERE resource IN ({marks}) AND in_use > 0 \
             UNION SELECT project_id AS p FROM quota_limits WHERE resource IN ({marks})"
        );
        let mut q = sqlx::query(&sql);
        for _ in 0..2 {
            for r in NETWORK_RESOURCES {
                q = q.bind(r.name());
            }
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("p"))
            .collect::<std::result::Result<_, _>>()?)
    }
}

#[async_trait]
impl ProjectLifecycle for NetworkService {
    fn service(&self) -> &'static str {
        "network"
    }

    async fn on_project_deleted(
        &self,
        project_id: &str,
    ) -> std::result::Result<(), LifecycleError> {
        self.purge_project(project_id)
            .await
            .map(|_| ())
            .map_err(|e| LifecycleError {
                service: "network",
                project_id: project_id.to_string(),
                source: Box::new(e),
            })
    }

    async fn project_owners(&self) -> std::result::Result<Vec<String>, LifecycleError> {
        self.network_project_owners()
            .await
            .map_err(|e| LifecycleError {
                service: "network",
                project_id: String::new(),
                source: Box::new(e),
            })
    }
}
