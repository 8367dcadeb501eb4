//! Role assignments of users and groups on projects, domains and the system,
//! and the effective roles a user holds (groups joined, implied roles expanded).

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::model::*;
use super::resources::{bind_all, Arg};
use super::IdentityService;
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

impl IdentityService {
    async fn check_actor_and_target(
        &self,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
    ) -> Result<()> {
        match actor_type {
            ActorType::User => {
                self.user_by_id(actor_id).await?;
            }
            ActorType::Group => {
                self.group_by_id(actor_id).await?;
            }
        }
        match target {
            Target::Project(p) => {
                self.project_by_id(p).await?;
            }
            Target::Domain(d) => {
                self.domain_by_id(d).await?;
            }
            Target::System => {}
        }
        Ok(())
    }

    /// `PUT /v3/{projects|domains|system}/…/{users|groups}/…/roles/{role}`;
    /// `inherited` is OS-INHERIT's `…/inherited_to_projects`: the role then
    /// applies to the target's projects (a domain's, or a project's
    /// subtree) and not to the target itself.
    pub async fn grant_role(
        &self,
        ctx: &RequestContext,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
        role: &str,
        inherited: bool,
    ) -> Result<()> {
        enforce(ctx, &rules::CREATE_GRANT, &PolicyTarget::none())?;
        let role = self.role_by_id_or_name(role).await?;
        self.check_actor_and_target(actor_type, actor_id, target)
            .await?;
        if inherited && *target == Target::System {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.inherited_system",
                "Only a domain's or a project's roles can be inherited."
            )));
        }
        self.insert_grant_as(actor_type, actor_id, target, &role.id, inherited)
            .await?;
        self.invalidate_tokens();
        Ok(())
    }

    pub(crate) async fn insert_grant(
        &self,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
        role_id: &str,
    ) -> Result<()> {
        self.insert_grant_as(actor_type, actor_id, target, role_id, false)
            .await
    }

    async fn insert_grant_as(
        &self,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
        role_id: &str,
        inherited: bool,
    ) -> Result<()> {
        let exists = sqlx::query("SELECT 1 FROM role_assignments WHERE actor_type = ? AND actor_id = ? AND target_type = ? AND target_id = ? AND role_id = ? AND inherited = ?")
            .bind(actor_type.as_str())
            .bind(actor_id.to_string())
            .bind(target.type_str())
            .bind(target.id().to_string())
            .bind(role_id.to_string())
            .bind(inherited as i64)
            .fetch_optional(&self.db.pool)
            .await?
            .is_some();
        if exists {
            return Ok(());
        }
        let res = sqlx::query("INSERT INTO role_assignments (actor_type, actor_id, target_type, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(actor_type.as_str())
            .bind(actor_id.to_string())
            .bind(target.type_str())
            .bind(target.id().to_string())
            .bind(role_id.to_string())
            .bind(inherited as i64)
            .execute(&self.db.pool)
            .await;
        match res {
            Err(e) if !crate::db::is_unique_violation(&e) => Err(IdentityError::from(e)),
            _ => Ok(()),
        }
    }

    pub async fn revoke_role(
        &self,
        ctx: &RequestContext,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
        role: &str,
        inherited: bool,
    ) -> Result<()> {
        enforce(ctx, &rules::REVOKE_GRANT, &PolicyTarget::none())?;
        let role = self.role_by_id_or_name(role).await?;
        let mut change = self.begin_admin_change().await?;
        let n = sqlx::query("DELETE FROM role_assignments WHERE actor_type = ? AND actor_id = ? AND target_type = ? AND target_id = ? AND role_id = ? AND inherited = ?")
            .bind(actor_type.as_str())
            .bind(actor_id.to_string())
            .bind(target.type_str())
            .bind(target.id().to_string())
            .bind(role.id.clone())
            .bind(inherited as i64)
            .execute(&mut *change.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found(
                "role assignment",
                format!(
                    "{} {actor_id} has no role {} on {} {}",
                    actor_type.as_str(),
                    role.name,
                    target.type_str(),
                    target.id()
                ),
            ));
        }
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(())
    }

    /// `HEAD …/roles/{role}`: whether the direct grant exists.
    pub async fn check_grant(
        &self,
        ctx: &RequestContext,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
        role: &str,
        inherited: bool,
    ) -> Result<bool> {
        enforce(ctx, &rules::CHECK_GRANT, &PolicyTarget::none())?;
        let role = self.role_by_id_or_name(role).await?;
        Ok(sqlx::query("SELECT 1 FROM role_assignments WHERE actor_type = ? AND actor_id = ? AND target_type = ? AND target_id = ? AND role_id = ? AND inherited = ?")
            .bind(actor_type.as_str())
            .bind(actor_id.to_string())
            .bind(target.type_str())
            .bind(target.id().to_string())
            .bind(role.id)
            .bind(inherited as i64)
            .fetch_optional(&self.db.pool)
            .await?
            .is_some())
    }

    /// Roles granted directly to the actor on the target (`GET …/roles`).
    pub async fn list_grants(
        &self,
        ctx: &RequestContext,
        actor_type: ActorType,
        actor_id: &str,
        target: &Target,
        inherited: bool,
    ) -> Result<Vec<Role>> {
        enforce(ctx, &rules::LIST_GRANTS, &PolicyTarget::none())?;
        self.check_actor_and_target(actor_type, actor_id, target)
            .await?;
        let rows = sqlx::query(&format!("SELECT {} FROM role_assignments a JOIN roles r ON r.id = a.role_id WHERE a.actor_type = ? AND a.actor_id = ? AND a.target_type = ? AND a.target_id = ? AND a.inherited = ? ORDER BY r.name", super::resources::ROLE_COLS_R))
            .bind(actor_type.as_str())
            .bind(actor_id.to_string())
            .bind(target.type_str())
            .bind(target.id().to_string())
            .bind(inherited as i64)
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(super::resources::role_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The ids of every role implied by `roles`, the roles themselves included.
    pub(crate) async fn implied_closure(&self, roles: &[String]) -> Result<BTreeSet<String>> {
        let rows = sqlx::query("SELECT prior_role_id, implied_role_id FROM implied_roles")
            .fetch_all(&self.db.pool)
            .await?;
        let mut edges: HashMap<String, Vec<String>> = HashMap::new();
        for r in rows {
            edges
                .entry(r.try_get("prior_role_id")?)
                .or_default()
                .push(r.try_get("implied_role_id")?);
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = roles.to_vec();
        while let Some(r) = stack.pop() {
            if seen.insert(r.clone()) {
                if let Some(next) = edges.get(&r) {
                    stack.extend(next.iter().cloned());
                }
            }
        }
        Ok(seen)
    }

    /// The user's effective roles on a target: direct and group grants, with
    /// implied roles, sorted by name. On a project, the inherited grants of
    /// its domain and of its ancestors count too.
    pub(crate) async fn effective_roles(
        &self,
        user_id: &str,
        target: &Target,
    ) -> Result<Vec<Role>> {
        let mut clauses =
            vec!["(a.target_type = ? AND a.target_id = ? AND a.inherited = 0)".to_string()];
        let mut args = vec![Arg::S(target.type_str().into()), Arg::S(target.id().into())];
        if let Target::Project(p) = target {
            let (sql, more) = self.inherited_sources_sql(p).await?;
            clauses.push(sql);
            args.extend(more);
        }
        args.push(Arg::S(user_id.into()));
        args.push(Arg::S(user_id.into()));
        let sql = format!("SELECT DISTINCT a.role_id FROM role_assignments a WHERE ({}) AND ((a.actor_type = 'user' AND a.actor_id = ?) OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM group_members WHERE user_id = ?)))", clauses.join(" OR "));
        let rows = bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.db.pool)
            .await?;
        let direct = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if direct.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self.implied_closure(&direct).await?;
        let mut roles = self.roles_by_ids(&ids).await?;
        // A domain-specific role only carries the global roles it implies.
        roles.retain(|r| r.domain_id.is_none());
        Ok(roles)
    }

    /// The SQL condition (over `a`, a `role_assignments` row) for the
    /// inherited grants that reach project `p`: on its domain, or on one of
    /// its ancestors.
    async fn inherited_sources_sql(&self, p: &str) -> Result<(String, Vec<Arg>)> {
        let project = self.project_by_id(p).await?;
        let ancestors = self.project_ancestors(p).await?;
        let mut sql =
            "(a.inherited = 1 AND ((a.target_type = 'domain' AND a.target_id = ?)".to_string();
        let mut args = vec![Arg::S(project.domain_id)];
        if !ancestors.is_empty() {
            let marks = vec!["?"; ancestors.len()].join(", ");
            sql.push_str(&format!(
                " OR (a.target_type = 'project' AND a.target_id IN ({marks}))"
            ));
            args.extend(ancestors.into_iter().map(|a| Arg::S(a.id)));
        }
        sql.push_str("))");
        Ok((sql, args))
    }

    /// Every project an inherited grant reaches: a domain's projects, or a
    /// project's subtree.
    pub(crate) async fn inherited_reach(&self, target: &Target) -> Result<Vec<String>> {
        Ok(match target {
            Target::Domain(d) => sqlx::query("SELECT id FROM projects WHERE domain_id = ?")
                .bind(d.clone())
                .fetch_all(&self.db.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<std::result::Result<_, _>>()?,
            Target::Project(p) => self
                .project_subtree(p)
                .await?
                .into_iter()
                .map(|p| p.id)
                .collect(),
            Target::System => Vec::new(),
        })
    }

    pub(crate) async fn roles_by_ids(&self, ids: &BTreeSet<String>) -> Result<Vec<Role>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let args: Vec<Arg> = ids.iter().map(|i| Arg::S(i.clone())).collect();
        let sql = format!(
            "SELECT {} FROM roles WHERE id IN ({marks}) ORDER BY name",
            super::resources::ROLE_COLS
        );
        let rows = bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(super::resources::role_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// `GET /v3/role_assignments`. Non-admins may list only their own
    /// (with `user_id` set to themselves), as Keystone allows.
    pub async fn list_role_assignments(
        &self,
        ctx: &RequestContext,
        f: &AssignmentFilter,
    ) -> Result<Vec<RoleAssignment>> {
        let target = PolicyTarget {
            user_id: f.user_id.as_deref(),
            ..Default::default()
        };
        enforce(ctx, &rules::LIST_ROLE_ASSIGNMENTS, &target)?;
        let mut clauses: Vec<String> = Vec::new();
        let mut args = Vec::new();
        if let Some(p) = &f.project_id {
            if f.effective {
                // What reaches the project: its own grants and the inherited
                // ones of its domain and ancestors.
                let (inh, more) = self.inherited_sources_sql(p).await?;
                clauses.push(format!("((a.target_type = 'project' AND a.target_id = ? AND a.inherited = 0) OR {inh})"));
                args.push(Arg::S(p.clone()));
                args.extend(more);
            } else {
                clauses.push("a.target_type = 'project' AND a.target_id = ?".into());
                args.push(Arg::S(p.clone()));
            }
        }
        if let Some(d) = &f.domain_id {
            clauses.push("a.target_type = 'domain' AND a.target_id = ?".into());
            args.push(Arg::S(d.clone()));
            if f.effective {
                // Inherited grants apply to the domain's projects, not to it.
                clauses.push("a.inherited = 0".into());
            }
        }
        if f.system {
            clauses.push("a.target_type = 'system'".into());
        }
        if let Some(g) = &f.group_id {
            clauses.push("a.actor_type = 'group' AND a.actor_id = ?".into());
            args.push(Arg::S(g.clone()));
        }
        if let Some(u) = &f.user_id {
            if f.effective {
                clauses.push("((a.actor_type = 'user' AND a.actor_id = ?) OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM group_members WHERE user_id = ?)))".into());
                args.push(Arg::S(u.clone()));
                args.push(Arg::S(u.clone()));
            } else {
                clauses.push("a.actor_type = 'user' AND a.actor_id = ?".into());
                args.push(Arg::S(u.clone()));
            }
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let sql = format!("SELECT a.actor_type, a.actor_id, a.target_type, a.target_id, a.role_id, a.inherited FROM role_assignments a{where_sql} ORDER BY a.target_type, a.target_id, a.actor_type, a.actor_id, a.role_id");
        let rows = bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.db.pool)
            .await?;
        let mut found: Vec<RoleAssignment> = Vec::new();
        for r in rows {
            let actor_type = if r.try_get::<String, _>("actor_type")? == "group" {
                ActorType::Group
            } else {
                ActorType::User
            };
            let target_id: String = r.try_get("target_id")?;
            let target = match r.try_get::<String, _>("target_type")?.as_str() {
                "project" => Target::Project(target_id),
                "domain" => Target::Domain(target_id),
                _ => Target::System,
            };
            let a = RoleAssignment {
                actor_type,
                actor_id: r.try_get("actor_id")?,
                actor_name: None,
                actor_domain_id: None,
                target,
                target_name: None,
                target_domain_id: None,
                role_id: r.try_get("role_id")?,
                role_name: None,
                via_group_id: None,
                inherited: r.try_get::<i64, _>("inherited")? != 0,
            };
            if !(f.effective && a.inherited) {
                found.push(a);
                continue;
            }
            // Effective: an inherited grant is a grant on each project it reaches.
            let reach = match &f.project_id {
                Some(p) => vec![p.clone()],
                None => self.inherited_reach(&a.target).await?,
            };
            for p in reach {
                found.push(RoleAssignment {
                    target: Target::Project(p),
                    inherited: false,
                    ..a.clone()
                });
            }
        }
        let mut out: Vec<RoleAssignment> = Vec::new();
        for a in found {
            if f.effective && a.actor_type == ActorType::Group {
                // Expand the group to its members (only the asked-for user, if one was).
                let members = sqlx::query("SELECT user_id FROM group_members WHERE group_id = ?")
                    .bind(a.actor_id.clone())
                    .fetch_all(&self.db.pool)
                    .await?;
                for m in members {
                    let uid: String = m.try_get("user_id")?;
                    if f.user_id.as_ref().is_some_and(|u| *u != uid) {
                        continue;
                    }
                    out.push(RoleAssignment {
                        actor_type: ActorType::User,
                        actor_id: uid,
                        via_group_id: Some(a.actor_id.clone()),
                        ..a.clone()
                    });
                }
            } else {
                out.push(a);
            }
        }
        if f.effective {
            // Add implied roles as their own rows, as Keystone does.
            let mut expanded = Vec::new();
            for a in out {
                let implied = self
                    .implied_closure(std::slice::from_ref(&a.role_id))
                    .await?;
                for rid in implied {
                    expanded.push(RoleAssignment {
                        role_id: rid,
                        ..a.clone()
                    });
                }
            }
            expanded.dedup_by(|x, y| {
                x.actor_id == y.actor_id
                    && x.target == y.target
                    && x.role_id == y.role_id
                    && x.via_group_id == y.via_group_id
            });
            // Domain-specific roles are not effective themselves (only what
            // they imply), as in Keystone.
            let ids: BTreeSet<String> = expanded.iter().map(|a| a.role_id.clone()).collect();
            let global: BTreeSet<String> = self
                .roles_by_ids(&ids)
                .await?
                .into_iter()
                .filter(|r| r.domain_id.is_none())
                .map(|r| r.id)
                .collect();
            expanded.retain(|a| global.contains(&a.role_id));
            out = expanded;
        }
        if let Some(role) = &f.role_id {
            out.retain(|a| &a.role_id == role);
        }
        if f.include_names {
            self.fill_names(&mut out).await?;
        }
        Ok(out)
    }

    /// Names for a list of assignments: one query per kind of object (and
    /// chunk of ids), never one per row.
    async fn fill_names(&self, rows: &mut [RoleAssignment]) -> Result<()> {
        let ids = |pick: &dyn Fn(&RoleAssignment) -> Option<&str>| -> Vec<&str> {
            rows.iter().filter_map(pick).collect()
        };
        let (role_ids, user_ids, group_ids, project_ids, domain_ids) = (
            ids(&|a| Some(a.role_id.as_str())),
            ids(&|a| (a.actor_type == ActorType::User).then_some(a.actor_id.as_str())),
            ids(&|a| (a.actor_type == ActorType::Group).then_some(a.actor_id.as_str())),
            ids(&|a| match &a.target {
                Target::Project(p) => Some(p.as_str()),
                _ => None,
            }),
            ids(&|a| match &a.target {
                Target::Domain(d) => Some(d.as_str()),
                _ => None,
            }),
        );
        let roles = self.names_by_id("roles", &role_ids).await?;
        let users = self.names_by_id("users", &user_ids).await?;
        let groups = self.names_by_id("user_groups", &group_ids).await?;
        let projects = self.names_by_id("projects", &project_ids).await?;
        let domains = self.names_by_id("domains", &domain_ids).await?;
        for a in rows.iter_mut() {
            // A row whose object vanished meanwhile keeps an empty name, as
            // before.
            a.role_name = Some(
                roles
                    .get(&a.role_id)
                    .map(|r| r.0.clone())
                    .unwrap_or_default(),
            );
            let actor = match a.actor_type {
                ActorType::User => users.get(&a.actor_id),
                ActorType::Group => groups.get(&a.actor_id),
            };
            let (n, d) = actor.cloned().unwrap_or_default();
            a.actor_name = Some(n);
            a.actor_domain_id = Some(d);
            match &a.target {
                Target::Project(p) => {
                    let (n, d) = projects.get(p).cloned().unwrap_or_default();
                    a.target_name = Some(n);
                    a.target_domain_id = Some(d);
                }
                Target::Domain(d) => {
                    a.target_name = Some(domains.get(d).map(|x| x.0.clone()).unwrap_or_default());
                }
                Target::System => a.target_name = Some("all".into()),
            }
        }
        Ok(())
    }
}
