//! The scheduler: filters (node up and enabled, vCPU, RAM and disk under
//! the allocation ratios, availability zone, not already tried) and weighers
//! (free RAM, then spread), as Nova's filter scheduler does. Ranking is a
//! pure function over the nodes ([`Scheduler::rank`]); the claim that
//! decides is a conditional UPDATE ([`ComputeService::claim`]), so two
//! concurrent boots never both take a node's last slot: the loser moves on
//! to its next-ranked node.
//!
//! The database does the first cut: it returns only the best
//! [`SHORTLIST`] nodes that fit (the same predicates as the claim, the same
//! order as the ranking), so a decision among a thousand nodes decodes a
//! handful of rows instead of all of them. Only when concurrent boots took
//! every shortlisted node does the scheduler read and rank them all.

use super::{ComputeNode, ComputeService, Result};

/// How many of the best-fitting nodes the database hands the ranking.
/// Enough that a burst of concurrent boots rarely exhausts it.
pub const SHORTLIST: usize = 16;

/// A node that is up and enabled and has room for the candidate under the
/// allocation ratios: what the shortlist filters on and what the claim
/// checks again as it takes the resources ([`ComputeService::bind_fits`]
/// binds its parameters).
const FITS: &str = "enabled = 1 AND forced_down = 0 AND heartbeat_at >= ? \
     AND vcpus_used + ? <= vcpus * ? AND memory_mib_used + ? <= memory_mib * ? \
     AND disk_gb_used + ? <= disk_gb * ?";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// What one boot needs.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
    pub availability_zone: Option<String>,
    /// Nodes this instance already failed on.
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Scheduler {
    pub cpu_ratio: f64,
    pub ram_ratio: f64,
    pub disk_ratio: f64,
}

impl Scheduler {
    fn fits(&self, n: &ComputeNode, c: &Candidate) -> bool {
        n.up && n.enabled
            && !c.exclude.contains(&n.id)
            && c.availability_zone
                .as_ref()
                .is_none_or(|az| *az == n.availability_zone)
            && (f64::from(n.vcpus_used) + f64::from(c.vcpus)) <= f64::from(n.vcpus) * self.cpu_ratio
            && (n.memory_mib_used + c.ram_mib) as f64 <= n.memory_mib as f64 * self.ram_ratio
            && (n.disk_gb_used + c.disk_gb) as f64 <= n.disk_gb as f64 * self.disk_ratio
    }

    /// The nodes that can take `c`, best first: most free RAM (after the
    /// ratio), then fewest instances (spread), then name for a stable order.
    pub fn rank<'a>(&self, nodes: &'a [ComputeNode], c: &Candidate) -> Vec<&'a ComputeNode> {
        let mut fit: Vec<(&ComputeNode, f64)> = nodes
            .iter()
            .filter(|n| self.fits(n, c))
            .map(|n| {
                let free_ram = n.memory_mib as f64 * self.ram_ratio - n.memory_mib_used as f64;
                (n, free_ram)
            })
            .collect();
        fit.sort_by(|(a, fa), (b, fb)| {
            fb.total_cmp(fa)
                .then(a.running_vms.cmp(&b.running_vms))
                .then(a.name.cmp(&b.name))
        });
        fit.into_iter().map(|(n, _)| n).collect()
    }
}

impl ComputeService {
    pub fn scheduler(&self) -> Scheduler {
        Scheduler {
            cpu_ratio: self.cfg.cpu_allocation_ratio,
            ram_ratio: self.cfg.ram_allocation_ratio,
            disk_ratio: self.cfg.disk_allocation_ratio,
        }
    }

    /// Picks a node for `c` and claims its resources; `None` when no node
    /// can take it ("No valid host was found").
    pub async fn schedule(&self, c: &Candidate) -> Result<Option<ComputeNode>> {
        let sched = self.scheduler();
        let shortlist = self.shortlist(c, SHORTLIST).await?;
        for node in sched.rank(&shortlist, c) {
            if self.claim(node, c).await? {
                return Ok(Some(node.clone()));
            }
        }
        if shortlist.len() < SHORTLIST {
            // Every node that fit was tried.
            return Ok(None);
        }
        // Concurrent boots took the whole shortlist: rank every node.
        let nodes = self.all_nodes().await?;
        for node in sched.rank(&nodes, c) {
            if shortlist.iter().any(|s| s.id == node.id) {
                continue;
            }
            if self.claim(node, c).await? {
                return Ok(Some(node.clone()));
            }
        }
        Ok(None)
    }

    /// The best `limit` nodes that can take `c`, as the database sees them
    /// now: [`Scheduler::rank`]'s filters and order in SQL.
    async fn shortlist(&self, c: &Candidate, limit: usize) -> Result<Vec<ComputeNode>> {
        let mut sql = format!(
            "SELECT {} FROM compute_nodes WHERE {FITS}",
            super::nodes::NODE_COLUMNS
        );
        if c.availability_zone.is_some() {
            sql.push_str(" AND availability_zone = ?");
        }
        if !c.exclude.is_empty() {
            sql.push_str(" AND id NOT IN (");
            sql.push_str(&vec!["?"; c.exclude.len()].join(", "));
            sql.push(')');
        }
        sql.push_str(" ORDER BY memory_mib * ? - memory_mib_used DESC, running_vms, name LIMIT ?");
        let mut q = self.bind_fits(sqlx::query(&sql), c);
        if let Some(az) = &c.availability_zone {
            q = q.bind(az.clone());
        }
        for id in &c.exclude {
            q = q.bind(id.clone());
        }
        let rows = q
            .bind(self.cfg.ram_allocation_ratio)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(|r| self.node_from_row(r)).collect()
    }

    /// Binds [`FITS`]'s parameters for `c`.
    fn bind_fits<'q>(&self, q: AnyQuery<'q>, c: &Candidate) -> AnyQuery<'q> {
        q.bind(self.alive_since())
            .bind(i64::from(c.vcpus))
            .bind(self.cfg.cpu_allocation_ratio)
            .bind(to_i64(c.ram_mib))
            .bind(self.cfg.ram_allocation_ratio)
            .bind(to_i64(c.disk_gb))
            .bind(self.cfg.disk_allocation_ratio)
    }

    /// Takes `c`'s resources on `node` if they still fit (another boot may
    /// have taken them since the ranking was read).
    async fn claim(&self, node: &ComputeNode, c: &Candidate) -> Result<bool> {
        let sql = format!(
            "UPDATE compute_nodes SET vcpus_used = vcpus_used + ?, \
             memory_mib_used = memory_mib_used + ?, disk_gb_used = disk_gb_used + ? \
             WHERE id = ? AND {FITS}"
        );
        let q = sqlx::query(&sql)
            .bind(i64::from(c.vcpus))
            .bind(to_i64(c.ram_mib))
            .bind(to_i64(c.disk_gb))
            .bind(node.id.clone());
        let done = self.bind_fits(q, c).execute(&self.db.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back the claim an instance of `flavor` held on `node_id` (it
    /// left the node, or never started there).
    pub(super) async fn unclaim(
        &self,
        conn: &mut sqlx::AnyConnection,
        node_id: &str,
        flavor: &super::InstanceFlavor,
    ) -> Result<()> {
        let (vcpus, ram_mib, disk_gb) = (
            i64::from(flavor.vcpus),
            to_i64(flavor.ram_mib),
            to_i64(flavor.disk_gb),
        );
        sqlx::query(
            "UPDATE compute_nodes SET \
             vcpus_used = CASE WHEN vcpus_used > ? THEN vcpus_used - ? ELSE 0 END, \
             memory_mib_used = CASE WHEN memory_mib_used > ? THEN memory_mib_used - ? ELSE 0 END, \
             disk_gb_used = CASE WHEN disk_gb_used > ? THEN disk_gb_used - ? ELSE 0 END \
             WHERE id = ?",
        )
        .bind(vcpus)
        .bind(vcpus)
        .bind(ram_mib)
        .bind(ram_mib)
        .bind(disk_gb)
        .bind(disk_gb)
        .bind(node_id.to_string())
        .execute(conn)
        .await?;
        Ok(())
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn node(name: &str, vcpus: u32, mem: u64, used_mem: u64) -> ComputeNode {
        ComputeNode {
            id: name.into(),
            name: name.into(),
            host_ip: "127.0.0.1".into(),
            hypervisor_type: "QEMU".into(),
            hypervisor_version: 1,
            availability_zone: "nova".into(),
            vcpus,
            memory_mib: mem,
            disk_gb: 100,
            vcpus_used: 0,
            memory_mib_used: used_mem,
            disk_gb_used: 0,
            running_vms: 0,
            enabled: true,
            disabled_reason: None,
            forced_down: false,
            up: true,
            heartbeat_at: Utc::now(),
            created_at: Utc::now(),
        }
    }

    const S: Scheduler = Scheduler {
        cpu_ratio: 1.0,
        ram_ratio: 1.0,
        disk_ratio: 1.0,
    };

    #[test]
    fn filters_and_weighs() {
        let mut down = node("down", 8, 8192, 0);
        down.up = false;
        let mut disabled = node("disabled", 8, 8192, 0);
        disabled.enabled = false;
        let mut other_az = node("elsewhere", 8, 8192, 0);
        other_az.availability_zone = "az2".into();
        let nodes = vec![
            node("small", 1, 512, 0),
            node("busy", 8, 8192, 6144),
            node("roomy", 8, 8192, 1024),
            down,
            disabled,
            other_az,
        ];
        let c = Candidate {
            vcpus: 2,
            ram_mib: 1024,
            disk_gb: 1,
            availability_zone: Some("nova".into()),
            exclude: vec![],
        };
        let names: Vec<&str> = S.rank(&nodes, &c).iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["roomy", "busy"]);

        let c2 = Candidate {
            exclude: vec!["roomy".into()],
            ..c.clone()
        };
        let names: Vec<&str> = S
            .rank(&nodes, &c2)
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["busy"]);

        let too_big = Candidate {
            ram_mib: 1 << 20,
            ..c
        };
        assert!(S.rank(&nodes, &too_big).is_empty());
    }

    #[test]
    fn ratios_overcommit_cpu() {
        let nodes = vec![node("n", 2, 8192, 0)];
        let c = Candidate {
            vcpus: 4,
            ram_mib: 1,
            ..Default::default()
        };
        assert!(S.rank(&nodes, &c).is_empty());
        let s = Scheduler {
            cpu_ratio: 4.0,
            ..S
        };
        assert_eq!(s.rank(&nodes, &c).len(), 1);
    }

    #[test]
    fn spread_breaks_ties() {
        let mut a = node("a", 8, 8192, 0);
        a.running_vms = 3;
        let b = node("b", 8, 8192, 0);
        let nodes = vec![a, b];
        let names: Vec<&str> = S
            .rank(&nodes, &Candidate::default())
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["b", "a"]);
    }
}
