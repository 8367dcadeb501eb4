//! Domains, projects, users, groups and roles: create, read, update, delete, list.

use std::collections::HashMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::error::{IdentityError, Result};
use super::model::*;
use super::{flag, new_id, validate_description, validate_name, IdentityService};
use crate::db::{is_unique_violation, micros_to_time, now_micros, WriteTx};
use crate::page::{clamp_limit, like_contains, Page};
use crate::policy::{self, enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

/// Ids per `WHERE id IN (…)` of a name lookup: far below every backend's
/// bound-parameter limit (SQLite's is 32766, MariaDB's 65535).
const NAME_CHUNK: usize = 500;

/// A bound value for dynamically built SQL.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    S(String),
    I(i64),
}

pub(crate) fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    args: &[Arg],
) -> Query<'q, Any, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::S(s) => q.bind(s.clone()),
            Arg::I(i) => q.bind(*i),
        };
    }
    q
}

/// Turns a [`ListFilter`] into a WHERE clause over `table`'s columns.
fn filter_sql(f: &ListFilter, search_cols: &[&str], has_enabled: bool) -> (String, Vec<Arg>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if let Some(d) = &f.domain_id {
        clauses.push("domain_id = ?".to_string());
        args.push(Arg::S(d.clone()));
    }
    if let Some(n) = &f.name {
        clauses.push("name = ?".to_string());
        args.push(Arg::S(n.clone()));
    }
    if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
        let ors: Vec<String> = search_cols
            .iter()
            .map(|c| format!("{c} LIKE ? ESCAPE '!'"))
            .collect();
        clauses.push(format!("({})", ors.join(" OR ")));
        for _ in search_cols {
            args.push(Arg::S(like_contains(s)));
        }
    }
    if let (Some(e), true) = (f.enabled, has_enabled) {
        clauses.push("enabled = ?".to_string());
        args.push(Arg::I(e as i64));
    }
    if let Some(p) = &f.parent_id {
        // A top-level project's parent is its domain (stored as NULL).
        clauses.push("(parent_id = ? OR (parent_id IS NULL AND domain_id = ?))".to_string());
        args.push(Arg::S(p.clone()));
        args.push(Arg::S(p.clone()));
    }
    // Tag filters (projects only): "all of" counts the matching tags.
    for (tags, all, negate) in [
        (&f.tags, true, false),
        (&f.tags_any, false, false),
        (&f.not_tags, true, true),
        (&f.not_tags_any, false, true),
    ] {
        if tags.is_empty() {
            continue;
        }
        let marks = vec!["?"; tags.len()].join(", ");
        let having = if all {
            format!(" GROUP BY project_id HAVING COUNT(*) = {}", tags.len())
        } else {
            String::new()
        };
        let not = if negate { "NOT " } else { "" };
        clauses.push(format!(
            "id {not}IN (SELECT project_id FROM project_tags WHERE name IN ({marks}){having})"
        ));
        args.extend(tags.iter().cloned().map(Arg::S));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

/// The tables whose rows `row_counts` counts (migration 0006).
const COUNTED_TABLES: [&str; 5] = ["domains", "projects", "users", "user_groups", "roles"];

fn order_sql(f: &ListFilter, allowed: &[(SortKey, &str)]) -> String {
    let col = allowed
        .iter()
        .find(|(k, _)| *k == f.sort)
        .map(|(_, c)| *c)
        .unwrap_or("name");
    // id breaks ties so pages are stable.
    format!(" ORDER BY {col} {dir}, id {dir}", dir = f.dir.sql())
}

impl IdentityService {
    /// Runs a filtered, sorted, paged list over one table.
    // One call site per table; a struct for these would only restate them.
    #[allow(clippy::too_many_arguments)]
    async fn list_rows<T>(
        &self,
        table: &str,
        cols: &str,
        f: &ListFilter,
        search_cols: &[&str],
        sorts: &[(SortKey, &str)],
        has_enabled: bool,
        map: fn(&AnyRow) -> std::result::Result<T, sqlx::Error>,
    ) -> Result<Page<T>> {
        if let Some(q) = &f.search {
            crate::page::check_search(q).map_err(IdentityError::Validation)?;
        }
        let (where_sql, args) = filter_sql(f, search_cols, has_enabled);
        let limit = clamp_limit(f.limit);
        let offset = f.offset.unwrap_or(0).max(0);
        // A deferred join: the page's ids are found on the sort column's
        // index alone (InnoDB's secondary indexes hold the primary key),
        // and only those rows are read. Reading whole rows for everything
        // skipped made page 200 of 10,000 users cost 28 ms on MariaDB
        // instead of 1.7.
        let order = order_sql(f, sorts);
        let sql = format!(
            "SELECT {cols} FROM {table} JOIN (SELECT id FROM {table}{where_sql}{order} LIMIT ? OFFSET ?) AS page USING (id){order}"
        );
        let mut page_args = args.clone();
        page_args.push(Arg::I(limit));
        page_args.push(Arg::I(offset));
        // Not kept prepared: MariaDB fixes some of a prepared statement's
        // plan at its first execution, and a connection that first served
        // page 1 then sorted the whole table for page 100 (18 ms instead
        // of 1). Planned afresh for its offset, every page takes the index.
        let rows = bind_all(sqlx::query(&sql), &page_args)
            .persistent(false)
            .fetch_all(&self.db.pool)
            .await?;
        let items = rows
            .iter()
            .map(map)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let total = self
            .count_rows(table, &where_sql, &args, offset, limit, items.len())
            .await?;
        Ok(Page { items, total })
    }

    /// How many rows of `table` match a list's filter. A page that is not
    /// full and not past the end tells it by itself; an unfiltered list
    /// reads the triggers' count (`row_counts`) instead of counting the
    /// whole table for every page.
    async fn count_rows(
        &self,
        table: &str,
        where_sql: &str,
        args: &[Arg],
        offset: i64,
        limit: i64,
        found: usize,
    ) -> Result<i64> {
        let found = found as i64;
        if found < limit && (found > 0 || offset == 0) {
            return Ok(offset + found);
        }
        if where_sql.is_empty() && COUNTED_TABLES.contains(&table) {
            let n: i64 = sqlx::query("SELECT n FROM row_counts WHERE table_name = ?")
                .bind(table.to_string())
                .fetch_one(&self.db.pool)
                .await?
                .try_get("n")?;
            return Ok(n);
        }
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table}{where_sql}");
        Ok(bind_all(sqlx::query(&count_sql), args)
            .fetch_one(&self.db.pool)
            .await?
            .try_get("n")?)
    }

    /// One row by id, locked until `tx` ends (the read of a read-modify-write).
    async fn locked_row<T>(
        &self,
        tx: &mut WriteTx,
        table: &str,
        cols: &str,
        kind: &'static str,
        id: &str,
        map: fn(&AnyRow) -> std::result::Result<T, sqlx::Error>,
    ) -> Result<T> {
        let sql = self
            .db
            .for_update(&format!("SELECT {cols} FROM {table} WHERE id = ?"));
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| IdentityError::not_found(kind, id))?;
        Ok(map(&row)?)
    }

    // ------------------------------------------------------------ name lookups

    /// `id → (name, domain_id)` of the rows of `table` among `ids`, in one
    /// query per chunk of [`NAME_CHUNK`] ids (never one query per id). The
    /// domain is empty for tables without one.
    pub(crate) async fn names_by_id(
        &self,
        table: &'static str,
        ids: &[&str],
    ) -> Result<HashMap<String, (String, String)>> {
        let domain = match table {
            "users" | "user_groups" | "projects" => "domain_id",
            _ => "''",
        };
        let mut out = HashMap::new();
        let mut wanted: Vec<&str> = ids.iter().copied().filter(|i| !i.is_empty()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(NAME_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT id, name, {domain} AS d FROM {table} WHERE id IN ({marks})");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.db.pool).await? {
                out.insert(r.try_get("id")?, (r.try_get("name")?, r.try_get("d")?));
            }
        }
        Ok(out)
    }

    async fn names_only(
        &self,
        table: &'static str,
        ids: &[&str],
    ) -> Result<HashMap<String, String>> {
        Ok(self
            .names_by_id(table, ids)
            .await?
            .into_iter()
            .map(|(id, (name, _))| (id, name))
            .collect())
    }

    /// Names of the domains among `ids` that `ctx` may read
    /// (`identity:get_domain`); others are left out.
    pub async fn domain_names(
        &self,
        ctx: &RequestContext,
        ids: &[&str],
    ) -> Result<HashMap<String, String>> {
        let readable: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| policy::allows(ctx, &rules::GET_DOMAIN, &PolicyTarget::domain(id)))
            .collect();
        self.names_only("domains", &readable).await
    }

    /// Names of the projects among `ids` that `ctx` may read
    /// (`identity:get_project`); others are left out.
    pub async fn project_names(
        &self,
        ctx: &RequestContext,
        ids: &[&str],
    ) -> Result<HashMap<String, String>> {
        let mine = if policy::allows(ctx, &rules::GET_PROJECT, &PolicyTarget::none()) {
            Vec::new()
        } else {
            self.user_project_ids(&ctx.user_id).await?
        };
        let readable: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| {
                let target = PolicyTarget {
                    assigned: mine.iter().any(|m| m == id),
                    ..PolicyTarget::project(id)
                };
                policy::allows(ctx, &rules::GET_PROJECT, &target)
            })
            .collect();
        self.names_only("projects", &readable).await
    }

    // ---------------------------------------------------------------- domains

    pub async fn list_domains(&self, ctx: &RequestContext, f: &ListFilter) -> Result<Page<Domain>> {
        enforce(ctx, &rules::LIST_DOMAINS, &PolicyTarget::none())?;
        let mut f = f.clone();
        f.domain_id = None;
        self.list_rows(
            "domains",
            DOMAIN_COLS,
            &f,
            &["name"],
            &[
                (SortKey::Name, "name"),
                (SortKey::Id, "id"),
                (SortKey::Enabled, "enabled"),
            ],
            true,
            domain_row,
        )
        .await
    }

    pub async fn get_domain(&self, ctx: &RequestContext, id: &str) -> Result<Domain> {
        enforce(ctx, &rules::GET_DOMAIN, &PolicyTarget::domain(id))?;
        self.domain_by_id(id).await
    }

    pub(crate) async fn domain_by_id(&self, id: &str) -> Result<Domain> {
        let row = sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM domains WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("domain", id))?;
        Ok(domain_row(&row)?)
    }

    pub(crate) async fn domain_by_name(&self, name: &str) -> Result<Domain> {
        let row = sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM domains WHERE name = ?"))
            .bind(name.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("domain", name))?;
        Ok(domain_row(&row)?)
    }

    pub(crate) async fn resolve_domain(&self, d: &DomainRef) -> Result<Domain> {
        match d {
            DomainRef::Id(id) => self.domain_by_id(id).await,
            DomainRef::Name(n) => self.domain_by_name(n).await,
        }
    }

    pub async fn create_domain(
        &self,
        ctx: &RequestContext,
        name: &str,
        description: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<Domain> {
        enforce(ctx, &rules::CREATE_DOMAIN, &PolicyTarget::none())?;
        self.insert_domain(
            &new_id(),
            name,
            description.unwrap_or_default(),
            enabled.unwrap_or(true),
        )
        .await
    }

    pub(crate) async fn insert_domain(
        &self,
        id: &str,
        name: &str,
        description: &str,
        enabled: bool,
    ) -> Result<Domain> {
        let name = validate_name("domain", name)?;
        let description = validate_description(description)?;
        sqlx::query("INSERT INTO domains (id, name, description, enabled, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(id.to_string())
            .bind(name.clone())
            .bind(description.clone())
            .bind(enabled as i64)
            .bind(now_micros())
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict(e, "domain", &name))?;
        Ok(Domain {
            id: id.to_string(),
            name,
            description,
            enabled,
        })
    }

    pub async fn update_domain(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: DomainUpdate,
    ) -> Result<Domain> {
        enforce(ctx, &rules::UPDATE_DOMAIN, &PolicyTarget::none())?;
        let mut change = self.begin_admin_change().await?;
        let mut d = self
            .locked_row(
                &mut change.tx,
                "domains",
                DOMAIN_COLS,
                "domain",
                id,
                domain_row,
            )
            .await?;
        if let Some(n) = &u.name {
            d.name = validate_name("domain", n)?;
        }
        if let Some(desc) = &u.description {
            d.description = validate_description(desc)?;
        }
        if let Some(e) = u.enabled {
            d.enabled = e;
        }
        sqlx::query("UPDATE domains SET name = ?, description = ?, enabled = ? WHERE id = ?")
            .bind(d.name.clone())
            .bind(d.description.clone())
            .bind(d.enabled as i64)
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await
            .map_err(|e| conflict(e, "domain", &d.name))?;
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(d)
    }

    pub async fn delete_domain(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_DOMAIN, &PolicyTarget::none())?;
        let d = self.domain_by_id(id).await?;
        if d.enabled {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.domain_enabled",
                "Cannot delete a domain that is enabled, please disable it first."
            )));
        }
        // Keystone deletes what the domain holds with it, in one change.
        let mut change = self.begin_admin_change().await?;
        let mut projects = Vec::new();
        for table in ["projects", "users", "user_groups"] {
            let ids: Vec<String> =
                sqlx::query(&format!("SELECT id FROM {table} WHERE domain_id = ?"))
                    .bind(id.to_string())
                    .fetch_all(&mut *change.tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String, _>("id"))
                    .collect::<std::result::Result<_, _>>()?;
            for member in &ids {
                match table {
                    "projects" => purge_project(&mut change.tx, member).await?,
                    "users" => purge_user(&mut change.tx, member).await?,
                    _ => purge_group(&mut change.tx, member).await?,
                }
            }
            if table == "projects" {
                projects = ids;
            }
        }
        sqlx::query("DELETE FROM role_assignments WHERE target_type = 'domain' AND target_id = ?")
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE scope_type = 'domain' AND scope_id = ?")
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        sqlx::query("DELETE FROM domains WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        for p in &projects {
            self.notify_project_deleted(p).await;
        }
        Ok(())
    }

    // --------------------------------------------------------------- projects

    pub async fn list_projects(
        &self,
        ctx: &RequestContext,
        f: &ListFilter,
    ) -> Result<Page<Project>> {
        enforce(ctx, &rules::LIST_PROJECTS, &PolicyTarget::none())?;
        for t in f
            .tags
            .iter()
            .chain(&f.tags_any)
            .chain(&f.not_tags)
            .chain(&f.not_tags_any)
        {
            validate_tag(t)?;
        }
        if f.is_domain == Some(true) {
            // Keystone's projects acting as domains: the domains.
            let mut df = f.clone();
            df.domain_id = None;
            let page = self
                .list_rows(
                    "domains",
                    DOMAIN_COLS,
                    &df,
                    &["name"],
                    &[(SortKey::Name, "name"), (SortKey::Id, "id")],
                    true,
                    domain_row,
                )
                .await?;
            return Ok(Page {
                items: page.items.into_iter().map(domain_as_project).collect(),
                total: page.total,
            });
        }
        let mut page = self
            .list_rows(
                "projects",
                PROJECT_COLS,
                f,
                &["name", "description"],
                &[
                    (SortKey::Name, "name"),
                    (SortKey::Id, "id"),
                    (SortKey::Enabled, "enabled"),
                    (SortKey::Created, "created_at"),
                ],
                true,
                project_row,
            )
            .await?;
        self.attach_tags(&mut page.items).await?;
        Ok(page)
    }

    pub async fn get_project(&self, ctx: &RequestContext, id: &str) -> Result<Project> {
        // The target is loaded before the policy check, as Keystone does, so
        // an unknown id is a 404 (the CLI then falls back to a name lookup).
        let project = self.project_or_domain(id).await?;
        let target = PolicyTarget::project(id);
        if !policy::allows(ctx, &rules::GET_PROJECT, &target) {
            // Only now is the caller's own assignment worth a query.
            let assigned = self
                .user_project_ids(&ctx.user_id)
                .await?
                .iter()
                .any(|p| p == id);
            enforce(
                ctx,
                &rules::GET_PROJECT,
                &PolicyTarget { assigned, ..target },
            )?;
        }
        Ok(project)
    }

    /// A project with its tags, or a domain seen as a project.
    async fn project_or_domain(&self, id: &str) -> Result<Project> {
        match self.project_by_id(id).await {
            Ok(mut p) => {
                self.attach_tags(std::slice::from_mut(&mut p)).await?;
                Ok(p)
            }
            Err(IdentityError::NotFound { .. }) => match self.domain_by_id(id).await {
                Ok(d) => Ok(domain_as_project(d)),
                Err(IdentityError::NotFound { .. }) => Err(IdentityError::not_found("project", id)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn project_by_id(&self, id: &str) -> Result<Project> {
        let row = sqlx::query(&format!("SELECT {PROJECT_COLS} FROM projects WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("project", id))?;
        Ok(project_row(&row)?)
    }

    /// Fills in the tags of `projects`, in one query per chunk.
    async fn attach_tags(&self, projects: &mut [Project]) -> Result<()> {
        let mut by_id: HashMap<String, Vec<String>> = HashMap::new();
        let ids: Vec<&str> = projects.iter().map(|p| p.id.as_str()).collect();
        for chunk in ids.chunks(NAME_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT project_id, name FROM project_tags WHERE project_id IN ({marks}) ORDER BY name"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.db.pool).await? {
                by_id
                    .entry(r.try_get("project_id")?)
                    .or_default()
                    .push(r.try_get("name")?);
            }
        }
        for p in projects {
            p.tags = by_id.remove(&p.id).unwrap_or_default();
        }
        Ok(())
    }

    pub(crate) async fn resolve_project(&self, p: &ProjectRef) -> Result<Project> {
        match p {
            ProjectRef::Id(id) => self.project_by_id(id).await,
            ProjectRef::Name { name, domain } => {
                let d = self.resolve_domain(domain).await?;
                let row = sqlx::query(&format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE domain_id = ? AND name = ?"
                ))
                .bind(d.id)
                .bind(name.clone())
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or_else(|| IdentityError::not_found("project", name.clone()))?;
                Ok(project_row(&row)?)
            }
        }
    }

    /// The ancestors of `id`, nearest first (the domain not included).
    pub(crate) async fn project_ancestors(&self, id: &str) -> Result<Vec<Project>> {
        let mut out: Vec<Project> = Vec::new();
        let mut next = self.project_by_id(id).await?.parent_id;
        while let Some(pid) = next {
            // A cycle cannot be made through the API; this bounds a broken row.
            if out.len() > MAX_PROJECT_DEPTH || out.iter().any(|p| p.id == pid) {
                break;
            }
            let p = self.project_by_id(&pid).await?;
            next = p.parent_id.clone();
            out.push(p);
        }
        Ok(out)
    }

    /// Every project below `id`, breadth first.
    pub(crate) async fn project_subtree(&self, id: &str) -> Result<Vec<Project>> {
        let mut out: Vec<Project> = Vec::new();
        let mut level = vec![id.to_string()];
        while !level.is_empty() && out.len() < 100_000 {
            let marks = vec!["?"; level.len()].join(", ");
            let sql = format!("SELECT {PROJECT_COLS} FROM projects WHERE parent_id IN ({marks}) ORDER BY name, id");
            let mut q = sqlx::query(&sql);
            for id in &level {
                q = q.bind(id.clone());
            }
            let children = q
                .fetch_all(&self.db.pool)
                .await?
                .iter()
                .map(project_row)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            level = children.iter().map(|c| c.id.clone()).collect();
            out.extend(children);
        }
        Ok(out)
    }

    pub async fn create_project(&self, ctx: &RequestContext, p: NewProject) -> Result<Project> {
        enforce(ctx, &rules::CREATE_PROJECT, &PolicyTarget::none())?;
        let tags = validate_tags(&p.tags)?;
        if p.is_domain {
            // Keystone makes a domain of it; Gureum's domains have no tags.
            enforce(ctx, &rules::CREATE_DOMAIN, &PolicyTarget::none())?;
            let d = self
                .insert_domain(
                    &new_id(),
                    &p.name,
                    p.description.as_deref().unwrap_or_default(),
                    p.enabled.unwrap_or(true),
                )
                .await?;
            return Ok(domain_as_project(d));
        }
        let name = validate_name("project", &p.name)?;
        let description = validate_description(p.description.as_deref().unwrap_or_default())?;
        // The parent decides the domain when none is given; a parent that
        // is a domain means "top level in that domain", as in Keystone.
        let (domain_id, parent_id) = match p.parent_id.as_deref().filter(|s| !s.is_empty()) {
            None => (
                p.domain_id.unwrap_or_else(|| ctx.user_domain_id.clone()),
                None,
            ),
            Some(pid) => match self.project_by_id(pid).await {
                Ok(parent) => {
                    if p.domain_id
                        .as_deref()
                        .is_some_and(|d| d != parent.domain_id)
                    {
                        return Err(IdentityError::Validation(crate::msg!(
                            "error.identity.parent_other_domain",
                            "The parent project {parent} is in another domain.",
                            parent = pid,
                        )));
                    }
                    if self.project_ancestors(pid).await?.len() + 2 > MAX_PROJECT_DEPTH {
                        return Err(IdentityError::Forbidden(crate::msg!(
                            "error.identity.project_too_deep",
                            "Projects nest at most {depth} deep.",
                            depth = MAX_PROJECT_DEPTH,
                        )));
                    }
                    (parent.domain_id, Some(parent.id))
                }
                Err(IdentityError::NotFound { .. }) => {
                    let d = self.domain_by_id(pid).await.map_err(|e| match e {
                        IdentityError::NotFound { .. } => IdentityError::Validation(crate::msg!(
                            "error.identity.no_parent",
                            "There is no project or domain {parent} to be the parent.",
                            parent = pid,
                        )),
                        e => e,
                    })?;
                    if p.domain_id.as_deref().is_some_and(|x| x != d.id) {
                        return Err(IdentityError::Validation(crate::msg!(
                            "error.identity.parent_other_domain",
                            "The parent project {parent} is in another domain.",
                            parent = pid,
                        )));
                    }
                    (d.id, None)
                }
                Err(e) => return Err(e),
            },
        };
        self.domain_by_id(&domain_id).await?;
        let project = Project {
            id: new_id(),
            domain_id,
            name,
            description,
            enabled: p.enabled.unwrap_or(true),
            parent_id,
            is_domain: false,
            tags,
        };
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("INSERT INTO projects (id, domain_id, name, description, enabled, parent_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(project.id.clone())
            .bind(project.domain_id.clone())
            .bind(project.name.clone())
            .bind(project.description.clone())
            .bind(project.enabled as i64)
            .bind(project.parent_id.clone())
            .bind(now_micros())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "project", &project.name))?;
        insert_tags(&mut tx, &project.id, &project.tags).await?;
        tx.commit().await?;
        Ok(project)
    }

    pub async fn update_project(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: ProjectUpdate,
    ) -> Result<Project> {
        enforce(ctx, &rules::UPDATE_PROJECT, &PolicyTarget::none())?;
        let tags = u.tags.as_deref().map(validate_tags).transpose()?;
        if self.project_by_id(id).await.is_err() && self.domain_by_id(id).await.is_ok() {
            // A project acting as a domain: the domain is what changes.
            let d = self
                .update_domain(
                    ctx,
                    id,
                    DomainUpdate {
                        name: u.name,
                        description: u.description,
                        enabled: u.enabled,
                    },
                )
                .await?;
            return Ok(domain_as_project(d));
        }
        let mut change = self.begin_admin_change().await?;
        let mut p = self
            .locked_row(
                &mut change.tx,
                "projects",
                PROJECT_COLS,
                "project",
                id,
                project_row,
            )
            .await?;
        let parent = p.parent_id.as_deref().unwrap_or(&p.domain_id);
        if u.parent_id.as_deref().is_some_and(|x| x != parent)
            || u.domain_id.as_deref().is_some_and(|x| x != p.domain_id)
        {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.project_move",
                "A project cannot move: its parent_id and domain_id cannot change."
            )));
        }
        if let Some(n) = &u.name {
            p.name = validate_name("project", n)?;
        }
        if let Some(d) = &u.description {
            p.description = validate_description(d)?;
        }
        if let Some(e) = u.enabled {
            p.enabled = e;
        }
        sqlx::query("UPDATE projects SET name = ?, description = ?, enabled = ? WHERE id = ?")
            .bind(p.name.clone())
            .bind(p.description.clone())
            .bind(p.enabled as i64)
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await
            .map_err(|e| conflict(e, "project", &p.name))?;
        if let Some(tags) = tags {
            sqlx::query("DELETE FROM project_tags WHERE project_id = ?")
                .bind(id.to_string())
                .execute(&mut *change.tx)
                .await?;
            insert_tags(&mut change.tx, id, &tags).await?;
        }
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        self.attach_tags(std::slice::from_mut(&mut p)).await?;
        Ok(p)
    }

    pub async fn delete_project(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_PROJECT, &PolicyTarget::none())?;
        match self.project_by_id(id).await {
            Ok(_) => {}
            Err(IdentityError::NotFound { .. }) if self.domain_by_id(id).await.is_ok() => {
                return self.delete_domain(ctx, id).await;
            }
            Err(e) => return Err(e),
        }
        let mut change = self.begin_admin_change().await?;
        let children: i64 = sqlx::query("SELECT COUNT(*) AS n FROM projects WHERE parent_id = ?")
            .bind(id.to_string())
            .fetch_one(&mut *change.tx)
            .await?
            .try_get("n")?;
        if children > 0 {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.project_has_children",
                "Cannot delete project {id}: it has child projects; delete them first.",
                id = id,
            )));
        }
        purge_project(&mut change.tx, id).await?;
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        // After the commit: a hook never cleans up after a project that
        // still exists (the delete could have failed).
        self.notify_project_deleted(id).await;
        Ok(())
    }

    // ----------------------------------------------------------- project tags

    /// A project's tags (`identity:get_project` decides who may read them).
    pub async fn list_project_tags(&self, ctx: &RequestContext, id: &str) -> Result<Vec<String>> {
        Ok(self.get_project(ctx, id).await?.tags)
    }

    /// Whether a project has `tag`: `NotFound` when it does not.
    pub async fn check_project_tag(&self, ctx: &RequestContext, id: &str, tag: &str) -> Result<()> {
        if self
            .list_project_tags(ctx, id)
            .await?
            .iter()
            .any(|t| t == tag)
        {
            Ok(())
        } else {
            Err(IdentityError::not_found("project tag", tag))
        }
    }

    /// Replaces a project's tags.
    pub async fn set_project_tags(
        &self,
        ctx: &RequestContext,
        id: &str,
        tags: Vec<String>,
    ) -> Result<Vec<String>> {
        let u = ProjectUpdate {
            tags: Some(tags),
            ..Default::default()
        };
        Ok(self.update_project(ctx, id, u).await?.tags)
    }

    /// Adds one tag (adding one it has is no change).
    pub async fn add_project_tag(&self, ctx: &RequestContext, id: &str, tag: &str) -> Result<()> {
        enforce(ctx, &rules::UPDATE_PROJECT, &PolicyTarget::none())?;
        let mut tags = self.project_or_domain(id).await?.tags;
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
            self.set_project_tags(ctx, id, tags).await?;
        }
        Ok(())
    }

    pub async fn remove_project_tag(
        &self,
        ctx: &RequestContext,
        id: &str,
        tag: &str,
    ) -> Result<()> {
        enforce(ctx, &rules::UPDATE_PROJECT, &PolicyTarget::none())?;
        let mut tags = self.project_or_domain(id).await?.tags;
        let before = tags.len();
        tags.retain(|t| t != tag);
        if tags.len() == before {
            return Err(IdentityError::not_found("project tag", tag));
        }
        self.set_project_tags(ctx, id, tags).await?;
        Ok(())
    }

    /// Projects the user has any role on, directly or through a group.
    pub async fn list_user_projects(
        &self,
        ctx: &RequestContext,
        user_id: &str,
    ) -> Result<Vec<Project>> {
        enforce(
            ctx,
            &rules::LIST_USER_PROJECTS,
            &PolicyTarget::user(user_id),
        )?;
        // An unknown user is 404, as Keystone (not an empty list).
        self.user_by_id(user_id).await?;
        let ids = self.user_project_ids(user_id).await?;
        self.projects_by_ids(&ids, false).await
    }

    /// The projects the user has a role on, directly, through a group, or
    /// through an inherited grant (on a domain, or an ancestor project).
    pub(crate) async fn user_project_ids(&self, user_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(USER_GRANT_TARGETS_SQL)
            .bind(user_id.to_string())
            .bind(user_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        let mut ids = Vec::new();
        for r in rows {
            let id: String = r.try_get("target_id")?;
            let target = match r.try_get::<String, _>("target_type")?.as_str() {
                "domain" => Target::Domain(id),
                _ => Target::Project(id),
            };
            match (flag(&r, "inherited")?, target) {
                (false, Target::Project(p)) => ids.push(p),
                (false, _) => {}
                (true, t) => ids.extend(self.inherited_reach(&t).await?),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The projects among `ids`, by name; `usable`: only enabled projects
    /// in enabled domains.
    pub(crate) async fn projects_by_ids(
        &self,
        ids: &[String],
        usable: bool,
    ) -> Result<Vec<Project>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(NAME_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let only = if usable {
                " AND p.enabled = 1 AND d.enabled = 1"
            } else {
                ""
            };
            let sql = format!("SELECT {PROJECT_COLS_P} FROM projects p JOIN domains d ON d.id = p.domain_id WHERE p.id IN ({marks}){only}");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(&self.db.pool).await? {
                out.push(project_row(&r)?);
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    // ------------------------------------------------------------------ users

    pub async fn list_users(&self, ctx: &RequestContext, f: &ListFilter) -> Result<Page<User>> {
        enforce(ctx, &rules::LIST_USERS, &PolicyTarget::none())?;
        self.list_rows(
            "users",
            USER_COLS,
            f,
            &["name", "email"],
            &[
                (SortKey::Name, "name"),
                (SortKey::Id, "id"),
                (SortKey::Enabled, "enabled"),
                (SortKey::Email, "email"),
                (SortKey::Created, "created_at"),
            ],
            true,
            user_row,
        )
        .await
    }

    pub async fn get_user(&self, ctx: &RequestContext, id: &str) -> Result<User> {
        enforce(ctx, &rules::GET_USER, &PolicyTarget::user(id))?;
        self.user_by_id(id).await
    }

    pub(crate) async fn user_by_id(&self, id: &str) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("user", id))?;
        Ok(user_row(&row)?)
    }

    pub async fn create_user(&self, ctx: &RequestContext, u: NewUser) -> Result<User> {
        self.insert_user(ctx, u, None).await
    }

    /// A new user with its first role on a project, in one transaction: an
    /// unknown project or role, or a failed grant, leaves no user behind.
    /// `role` is a role id or name.
    pub async fn create_user_with_grant(
        &self,
        ctx: &RequestContext,
        u: NewUser,
        project_id: &str,
        role: &str,
    ) -> Result<User> {
        enforce(
            ctx,
            &rules::CREATE_GRANT,
            &PolicyTarget::project(project_id),
        )?;
        let user = self.insert_user(ctx, u, Some((project_id, role))).await?;
        self.invalidate_tokens();
        Ok(user)
    }

    async fn insert_user(
        &self,
        ctx: &RequestContext,
        u: NewUser,
        grant: Option<(&str, &str)>,
    ) -> Result<User> {
        enforce(ctx, &rules::CREATE_USER, &PolicyTarget::none())?;
        let grant = match grant {
            Some((project_id, role)) => Some((
                self.project_by_id(project_id).await?.id,
                self.role_by_id_or_name(role).await?.id,
            )),
            None => None,
        };
        let name = validate_name("user", &u.name)?;
        let domain_id = u.domain_id.unwrap_or_else(|| ctx.user_domain_id.clone());
        self.domain_by_id(&domain_id).await?;
        let email = normalize_email(u.email)?;
        if let Some(p) = &u.default_project_id {
            self.project_by_id(p).await?;
        }
        let hash = match &u.password {
            Some(pw) => {
                self.check_password_policy(pw)?;
                Some(self.hasher.hash(pw).await?)
            }
            None => None,
        };
        let now = now_micros();
        let user = User {
            id: new_id(),
            domain_id,
            name,
            email,
            description: validate_description(u.description.as_deref().unwrap_or_default())?,
            enabled: u.enabled.unwrap_or(true),
            default_project_id: u.default_project_id,
            language: None,
            created_at: micros_to_time(now),
            password_expires_at: None,
            extra: validate_extra(u.extra)?,
        };
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("INSERT INTO users (id, domain_id, name, email, description, enabled, default_project_id, password_hash, language, created_at, password_changed_at, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(user.id.clone())
            .bind(user.domain_id.clone())
            .bind(user.name.clone())
            .bind(user.email.clone())
            .bind(user.description.clone())
            .bind(user.enabled as i64)
            .bind(user.default_project_id.clone())
            .bind(hash.clone())
            .bind(user.language.clone().unwrap_or_default())
            .bind(now)
            .bind(hash.as_ref().map(|_| now))
            .bind(serde_json::Value::Object(user.extra.clone()).to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "user", &user.name))?;
        if let Some(h) = &hash {
            sqlx::query("INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES (?, ?, ?, ?)")
                .bind(new_id()).bind(user.id.clone()).bind(h.clone()).bind(now)
                .execute(&mut *tx).await?;
        }
        if let Some((project_id, role_id)) = &grant {
            sqlx::query("INSERT INTO role_assignments (actor_type, actor_id, target_type, target_id, role_id) VALUES ('user', ?, 'project', ?, ?)")
                .bind(user.id.clone())
                .bind(project_id.clone())
                .bind(role_id.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    pub async fn update_user(&self, ctx: &RequestContext, id: &str, u: UserUpdate) -> Result<User> {
        enforce(ctx, &rules::UPDATE_USER, &PolicyTarget::none())?;
        if let Some(Some(p)) = &u.default_project_id {
            self.project_by_id(p).await?;
        }
        // Hash before the transaction (it is slow) so a policy failure
        // changes nothing and the row lock is held only for the write.
        let new_hash = match &u.password {
            Some(pw) => {
                self.check_password_policy(pw)?;
                Some(self.hasher.hash(pw).await?)
            }
            None => None,
        };
        let mut change = self.begin_admin_change().await?;
        let mut user = self
            .locked_row(&mut change.tx, "users", USER_COLS, "user", id, user_row)
            .await?;
        if let Some(n) = &u.name {
            user.name = validate_name("user", n)?;
        }
        if let Some(e) = u.email {
            user.email = normalize_email(e)?;
        }
        if let Some(d) = &u.description {
            user.description = validate_description(d)?;
        }
        if let Some(e) = u.enabled {
            user.enabled = e;
        }
        if let Some(p) = u.default_project_id {
            user.default_project_id = p;
        }
        if !u.extra.is_empty() {
            let mut merged = user.extra.clone();
            merged.extend(u.extra);
            user.extra = validate_extra(merged)?;
        }
        sqlx::query("UPDATE users SET name = ?, email = ?, description = ?, enabled = ?, default_project_id = ?, extra = ? WHERE id = ?")
            .bind(user.name.clone())
            .bind(user.email.clone())
            .bind(user.description.clone())
            .bind(user.enabled as i64)
            .bind(user.default_project_id.clone())
            .bind(serde_json::Value::Object(user.extra.clone()).to_string())
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await
            .map_err(|e| conflict(e, "user", &user.name))?;
        if let Some(h) = new_hash {
            self.store_password(&mut change.tx, id, &h).await?;
        }
        if !user.enabled || u.password.is_some() {
            sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = ?")
                .bind(id.to_string())
                .execute(&mut *change.tx)
                .await?;
        }
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(user)
    }

    pub async fn delete_user(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_USER, &PolicyTarget::none())?;
        self.user_by_id(id).await?;
        let mut change = self.begin_admin_change().await?;
        purge_user(&mut change.tx, id).await?;
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(())
    }

    /// The portal's language choice, remembered per user.
    pub async fn set_language(&self, ctx: &RequestContext, language: &str) -> Result<()> {
        if !matches!(language, "en" | "ko") {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.unsupported_language",
                "Unsupported language {language:?}: choose en or ko.",
                language = language,
            )));
        }
        sqlx::query("UPDATE users SET language = ? WHERE id = ?")
            .bind(language.to_string())
            .bind(ctx.user_id.clone())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    // ----------------------------------------------------------------- groups

    pub async fn list_groups(&self, ctx: &RequestContext, f: &ListFilter) -> Result<Page<Group>> {
        enforce(ctx, &rules::LIST_GROUPS, &PolicyTarget::none())?;
        self.list_rows(
            "user_groups",
            GROUP_COLS,
            f,
            &["name", "description"],
            &[(SortKey::Name, "name"), (SortKey::Id, "id")],
            false,
            group_row,
        )
        .await
    }

    pub async fn get_group(&self, ctx: &RequestContext, id: &str) -> Result<Group> {
        enforce(ctx, &rules::GET_GROUP, &PolicyTarget::none())?;
        self.group_by_id(id).await
    }

    pub(crate) async fn group_by_id(&self, id: &str) -> Result<Group> {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLS} FROM user_groups WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| IdentityError::not_found("group", id))?;
        Ok(group_row(&row)?)
    }

    pub async fn create_group(
        &self,
        ctx: &RequestContext,
        name: &str,
        domain_id: Option<String>,
        description: Option<String>,
    ) -> Result<Group> {
        enforce(ctx, &rules::CREATE_GROUP, &PolicyTarget::none())?;
        let name = validate_name("group", name)?;
        let domain_id = domain_id.unwrap_or_else(|| ctx.user_domain_id.clone());
        self.domain_by_id(&domain_id).await?;
        let g = Group {
            id: new_id(),
            domain_id,
            name,
            description: validate_description(description.as_deref().unwrap_or_default())?,
        };
        sqlx::query("INSERT INTO user_groups (id, domain_id, name, description, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(g.id.clone())
            .bind(g.domain_id.clone())
            .bind(g.name.clone())
            .bind(g.description.clone())
            .bind(now_micros())
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict(e, "group", &g.name))?;
        Ok(g)
    }

    pub async fn update_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: GroupUpdate,
    ) -> Result<Group> {
        enforce(ctx, &rules::UPDATE_GROUP, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let mut g = self
            .locked_row(&mut tx, "user_groups", GROUP_COLS, "group", id, group_row)
            .await?;
        if let Some(n) = &u.name {
            g.name = validate_name("group", n)?;
        }
        if let Some(d) = &u.description {
            g.description = validate_description(d)?;
        }
        sqlx::query("UPDATE user_groups SET name = ?, description = ? WHERE id = ?")
            .bind(g.name.clone())
            .bind(g.description.clone())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "group", &g.name))?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn delete_group(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_GROUP, &PolicyTarget::none())?;
        self.group_by_id(id).await?;
        let mut change = self.begin_admin_change().await?;
        purge_group(&mut change.tx, id).await?;
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(())
    }

    pub async fn add_user_to_group(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        user_id: &str,
    ) -> Result<()> {
        enforce(ctx, &rules::ADD_USER_TO_GROUP, &PolicyTarget::none())?;
        self.group_by_id(group_id).await?;
        self.user_by_id(user_id).await?;
        if self.is_user_in_group(group_id, user_id).await? {
            return Ok(());
        }
        let res = sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)")
            .bind(group_id.to_string())
            .bind(user_id.to_string())
            .execute(&self.db.pool)
            .await;
        match res {
            Err(e) if !is_unique_violation(&e) => return Err(IdentityError::from(e)),
            _ => {}
        }
        self.invalidate_tokens();
        Ok(())
    }

    pub async fn remove_user_from_group(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        user_id: &str,
    ) -> Result<()> {
        enforce(ctx, &rules::REMOVE_USER_FROM_GROUP, &PolicyTarget::none())?;
        let mut change = self.begin_admin_change().await?;
        let n = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *change.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found(
                "membership",
                format!("user {user_id} in group {group_id}"),
            ));
        }
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(())
    }

    pub async fn check_user_in_group(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        user_id: &str,
    ) -> Result<bool> {
        enforce(ctx, &rules::CHECK_USER_IN_GROUP, &PolicyTarget::none())?;
        self.is_user_in_group(group_id, user_id).await
    }

    async fn is_user_in_group(&self, group_id: &str, user_id: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?")
                .bind(group_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&self.db.pool)
                .await?
                .is_some(),
        )
    }

    pub async fn list_group_users(
        &self,
        ctx: &RequestContext,
        group_id: &str,
    ) -> Result<Vec<User>> {
        enforce(ctx, &rules::LIST_USERS_IN_GROUP, &PolicyTarget::none())?;
        self.group_by_id(group_id).await?;
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id IN (SELECT user_id FROM group_members WHERE group_id = ?) ORDER BY name, id"))
            .bind(group_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(user_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub async fn list_user_groups(
        &self,
        ctx: &RequestContext,
        user_id: &str,
    ) -> Result<Vec<Group>> {
        enforce(
            ctx,
            &rules::LIST_GROUPS_FOR_USER,
            &PolicyTarget::user(user_id),
        )?;
        // An unknown user is 404, as Keystone (not an empty list).
        self.user_by_id(user_id).await?;
        let rows = sqlx::query(&format!("SELECT {GROUP_COLS} FROM user_groups WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?) ORDER BY name, id"))
            .bind(user_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(group_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    // ------------------------------------------------------------------ roles

    pub async fn list_roles(&self, ctx: &RequestContext, f: &ListFilter) -> Result<Page<Role>> {
        enforce(ctx, &rules::LIST_ROLES, &PolicyTarget::none())?;
        // Without a domain, the global roles (Keystone's `domain_id` null).
        let mut f = f.clone();
        f.domain_id.get_or_insert_with(String::new);
        self.list_rows(
            "roles",
            ROLE_COLS,
            &f,
            &["name", "description"],
            &[(SortKey::Name, "name"), (SortKey::Id, "id")],
            false,
            role_row,
        )
        .await
    }

    pub async fn get_role(&self, ctx: &RequestContext, id: &str) -> Result<Role> {
        enforce(ctx, &rules::GET_ROLE, &PolicyTarget::none())?;
        self.role_by_id(id).await
    }

    pub(crate) async fn role_by_id(&self, id: &str) -> Result<Role> {
        let row = sqlx::query(&format!("SELECT {ROLE_COLS} FROM roles WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("role", id))?;
        Ok(role_row(&row)?)
    }

    /// A role by id, or else by name (the CLI sends either).
    pub(crate) async fn role_by_id_or_name(&self, key: &str) -> Result<Role> {
        let row = sqlx::query(&format!("SELECT {ROLE_COLS} FROM roles WHERE id = ? OR (name = ? AND domain_id = '') ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END"))
            .bind(key.to_string())
            .bind(key.to_string())
            .bind(key.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("role", key))?;
        Ok(role_row(&row)?)
    }

    pub async fn create_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        description: Option<String>,
        domain_id: Option<String>,
    ) -> Result<Role> {
        enforce(ctx, &rules::CREATE_ROLE, &PolicyTarget::none())?;
        let domain_id = domain_id.filter(|d| !d.is_empty());
        if let Some(d) = &domain_id {
            self.domain_by_id(d).await?;
        }
        let r = Role {
            id: new_id(),
            name: validate_name("role", name)?,
            description: validate_description(description.as_deref().unwrap_or_default())?,
            domain_id,
        };
        sqlx::query("INSERT INTO roles (id, name, description, domain_id, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(r.id.clone())
            .bind(r.name.clone())
            .bind(r.description.clone())
            .bind(r.domain_id.clone().unwrap_or_default())
            .bind(now_micros())
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict(e, "role", &r.name))?;
        Ok(r)
    }

    pub(crate) async fn insert_role(
        &self,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<Role> {
        let r = Role {
            id: id.to_string(),
            name: validate_name("role", name)?,
            description: validate_description(description)?,
            domain_id: None,
        };
        sqlx::query("INSERT INTO roles (id, name, description, created_at) VALUES (?, ?, ?, ?)")
            .bind(r.id.clone())
            .bind(r.name.clone())
            .bind(r.description.clone())
            .bind(now_micros())
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict(e, "role", &r.name))?;
        Ok(r)
    }

    pub async fn update_role(
        &self,
        ctx: &RequestContext,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<Role> {
        enforce(ctx, &rules::UPDATE_ROLE, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let mut r = self
            .locked_row(&mut tx, "roles", ROLE_COLS, "role", id, role_row)
            .await?;
        if let Some(n) = name {
            r.name = validate_name("role", &n)?;
        }
        if let Some(d) = description {
            r.description = validate_description(&d)?;
        }
        sqlx::query("UPDATE roles SET name = ?, description = ? WHERE id = ?")
            .bind(r.name.clone())
            .bind(r.description.clone())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "role", &r.name))?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(r)
    }

    pub async fn delete_role(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_ROLE, &PolicyTarget::none())?;
        let r = self.role_by_id(id).await?;
        if r.domain_id.is_none() && matches!(r.name.as_str(), "admin" | "member" | "reader") {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.builtin_role",
                "The built-in role {role} cannot be deleted.",
                role = r.name,
            )));
        }
        let mut change = self.begin_admin_change().await?;
        sqlx::query("DELETE FROM role_assignments WHERE role_id = ?")
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        sqlx::query("DELETE FROM implied_roles WHERE prior_role_id = ? OR implied_role_id = ?")
            .bind(id.to_string())
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        sqlx::query("DELETE FROM app_credential_roles WHERE role_id = ?")
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        sqlx::query("DELETE FROM roles WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *change.tx)
            .await?;
        self.commit_admin_change(change).await?;
        self.invalidate_tokens();
        Ok(())
    }

    pub async fn create_implied_role(
        &self,
        ctx: &RequestContext,
        prior: &str,
        implied: &str,
    ) -> Result<()> {
        enforce(ctx, &rules::CREATE_IMPLIED_ROLE, &PolicyTarget::none())?;
        let prior_role = self.role_by_id(prior).await?;
        let implied_role = self.role_by_id(implied).await?;
        if prior_role.domain_id.is_none() && implied_role.domain_id.is_some() {
            // Keystone's rule: a global role would hand a domain's role to
            // every domain.
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.global_implies_domain_role",
                "A global role cannot imply a domain-specific role."
            )));
        }
        if prior == implied
            || self
                .implied_closure(&[implied.to_string()])
                .await?
                .iter()
                .any(|r| r == prior)
        {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.role_cycle",
                "That implication would make a cycle of roles."
            )));
        }
        self.insert_implication(prior, implied).await?;
        self.invalidate_tokens();
        Ok(())
    }

    pub(crate) async fn insert_implication(&self, prior: &str, implied: &str) -> Result<()> {
        let res =
            sqlx::query("INSERT INTO implied_roles (prior_role_id, implied_role_id) VALUES (?, ?)")
                .bind(prior.to_string())
                .bind(implied.to_string())
                .execute(&self.db.pool)
                .await;
        match res {
            Err(e) if !is_unique_violation(&e) => Err(IdentityError::from(e)),
            _ => Ok(()),
        }
    }

    pub async fn delete_implied_role(
        &self,
        ctx: &RequestContext,
        prior: &str,
        implied: &str,
    ) -> Result<()> {
        enforce(ctx, &rules::DELETE_IMPLIED_ROLE, &PolicyTarget::none())?;
        let n = sqlx::query(
            "DELETE FROM implied_roles WHERE prior_role_id = ? AND implied_role_id = ?",
        )
        .bind(prior.to_string())
        .bind(implied.to_string())
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found(
                "implied role",
                format!("{prior} implies {implied}"),
            ));
        }
        self.invalidate_tokens();
        Ok(())
    }

    /// (prior, implied) pairs, for the Roles panel and `/v3/role_inferences`.
    pub async fn list_implied_roles(&self, ctx: &RequestContext) -> Result<Vec<(Role, Role)>> {
        enforce(
            ctx,
            &rules::LIST_ROLE_INFERENCE_RULES,
            &PolicyTarget::none(),
        )?;
        let rows = sqlx::query("SELECT p.id AS pid, p.name AS pname, p.description AS pdesc, p.domain_id AS pdom, i.id AS iid, i.name AS iname, i.description AS idesc, i.domain_id AS idom FROM implied_roles ir JOIN roles p ON p.id = ir.prior_role_id JOIN roles i ON i.id = ir.implied_role_id ORDER BY p.name, i.name")
            .fetch_all(&self.db.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push((
                Role {
                    id: r.try_get("pid")?,
                    name: r.try_get("pname")?,
                    description: r.try_get("pdesc")?,
                    domain_id: Some(r.try_get::<String, _>("pdom")?).filter(|d| !d.is_empty()),
                },
                Role {
                    id: r.try_get("iid")?,
                    name: r.try_get("iname")?,
                    description: r.try_get("idesc")?,
                    domain_id: Some(r.try_get::<String, _>("idom")?).filter(|d| !d.is_empty()),
                },
            ));
        }
        Ok(out)
    }

    // -------------------------------------------------------------- passwords

    pub(crate) fn check_password_policy(&self, pw: &crate::secret::Secret) -> Result<()> {
        if pw.expose().len() > 4096 {
            return Err(IdentityError::PasswordPolicy(crate::msg!(
                "error.identity.password.too_long",
                "at most 4096 bytes"
            )));
        }
        if !self.password_regex.is_match(pw.expose()) {
            // The operator's own wording, shown as configured.
            return Err(IdentityError::PasswordPolicy(crate::msg!(
                "error.identity.password.regex",
                "{description}",
                description = self.cfg.password_regex_description,
            )));
        }
        Ok(())
    }

    /// Sets the hash, records it in the history and trims the history.
    pub(crate) async fn store_password(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        user_id: &str,
        hash: &str,
    ) -> Result<()> {
        let now = now_micros();
        sqlx::query("UPDATE users SET password_hash = ?, password_changed_at = ?, failed_auth_count = 0, locked_until = NULL WHERE id = ?")
            .bind(hash.to_string())
            .bind(now)
            .bind(user_id.to_string())
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(new_id())
            .bind(user_id.to_string())
            .bind(hash.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Changes a user's password, as Keystone's `POST /v3/users/{id}/password`:
    /// the original password is the authority (no policy rule, so an admin
    /// who knows it may change it too, and a wrong one counts toward the
    /// lockout like a failed login); the new one must meet the policy and
    /// differ from the last N; every token of the user (and so every portal
    /// session) is revoked.
    pub async fn change_password(
        &self,
        _ctx: &RequestContext,
        user_id: &str,
        old: &crate::secret::Secret,
        new: &crate::secret::Secret,
    ) -> Result<()> {
        self.user_by_id(user_id).await?;
        self.check_password(&UserRef::Id(user_id.to_string()), old)
            .await?;
        self.check_password_policy(new)?;
        let k = self.cfg.unique_last_password_count.max(0);
        if k > 0 {
            let recent = sqlx::query("SELECT password_hash FROM password_history WHERE user_id = ? ORDER BY created_at DESC LIMIT ?")
                .bind(user_id.to_string())
                .bind(k)
                .fetch_all(&self.db.pool)
                .await?;
            for r in recent {
                let h: String = r.try_get("password_hash")?;
                if self.hasher.verify(new, Some(&h)).await? {
                    return Err(IdentityError::PasswordPolicy(crate::msg!(
                        "error.identity.password.reused",
                        "it must differ from your last {count} passwords",
                        count = k,
                    )));
                }
            }
        }
        let new_hash = self.hasher.hash(new).await?;
        let mut tx = self.db.pool.begin().await?;
        self.store_password(&mut tx, user_id, &new_hash).await?;
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(())
    }
}

/// The projects and domains the user (or one of its groups) has grants on.
const USER_GRANT_TARGETS_SQL: &str = "SELECT DISTINCT a.target_type, a.target_id, a.inherited FROM role_assignments a WHERE a.target_type IN ('project', 'domain') AND ((a.actor_type = 'user' AND a.actor_id = ?) OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM group_members WHERE user_id = ?)))";

pub(crate) const DOMAIN_COLS: &str = "id, name, description, enabled";
pub(crate) const PROJECT_COLS: &str = "id, domain_id, name, description, enabled, parent_id";
/// [`PROJECT_COLS`] of a `projects` table joined as `p`.
const PROJECT_COLS_P: &str = "p.id, p.domain_id, p.name, p.description, p.enabled, p.parent_id";

/// Keystone's default `max_project_tree_depth`: a domain's projects nest at
/// most this deep (a top-level project is depth 1).
pub const MAX_PROJECT_DEPTH: usize = 5;
/// Keystone's limit on a project's tags.
const MAX_TAGS: usize = 80;
pub(crate) const USER_COLS: &str = "id, domain_id, name, email, description, enabled, default_project_id, language, created_at, password_changed_at, extra";

/// The most a record's extra attributes may take, as JSON (the column's size).
const MAX_EXTRA_BYTES: usize = 8000;

/// Attribute names a client cannot set as extras: Keystone's own, which
/// Gureum computes or keeps in columns.
const RESERVED_EXTRA: [&str; 9] = [
    "id",
    "links",
    "name",
    "domain_id",
    "enabled",
    "description",
    "email",
    "default_project_id",
    "password",
];

fn validate_extra(mut extra: Extra) -> Result<Extra> {
    extra.retain(|k, _| {
        !RESERVED_EXTRA.contains(&k.as_str()) && k != "options" && k != "password_expires_at"
    });
    if serde_json::Value::Object(extra.clone()).to_string().len() > MAX_EXTRA_BYTES {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.extra_too_large",
            "Extra attributes take at most {max} bytes.",
            max = MAX_EXTRA_BYTES,
        )));
    }
    Ok(extra)
}
pub(crate) const GROUP_COLS: &str = "id, domain_id, name, description";
pub(crate) const ROLE_COLS: &str = "id, name, description, domain_id";
/// [`ROLE_COLS`] of a `roles` table joined as `r`.
pub(crate) const ROLE_COLS_R: &str = "r.id, r.name, r.description, r.domain_id";

pub(crate) fn domain_row(r: &AnyRow) -> std::result::Result<Domain, sqlx::Error> {
    Ok(Domain {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        enabled: flag(r, "enabled")?,
    })
}
pub(crate) fn project_row(r: &AnyRow) -> std::result::Result<Project, sqlx::Error> {
    Ok(Project {
        id: r.try_get("id")?,
        domain_id: r.try_get("domain_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        enabled: flag(r, "enabled")?,
        parent_id: r.try_get("parent_id")?,
        is_domain: false,
        tags: Vec::new(),
    })
}

/// A domain as Keystone's projects API shows it (`is_domain: true`).
pub(crate) fn domain_as_project(d: Domain) -> Project {
    Project {
        id: d.id,
        domain_id: String::new(),
        name: d.name,
        description: d.description,
        enabled: d.enabled,
        parent_id: None,
        is_domain: true,
        tags: Vec::new(),
    }
}

/// Keystone's rule for a tag: 1–255 characters, no `/` or `,`.
fn validate_tag(t: &str) -> Result<()> {
    if t.is_empty() || t.chars().count() > 255 || t.contains('/') || t.contains(',') {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.bad_tag",
            "Tag {tag:?} is not valid: tags have 1 to 255 characters and no '/' or ','.",
            tag = t,
        )));
    }
    Ok(())
}

fn validate_tags(tags: &[String]) -> Result<Vec<String>> {
    if tags.len() > MAX_TAGS {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.too_many_tags",
            "A project has at most {max} tags.",
            max = MAX_TAGS,
        )));
    }
    for (i, t) in tags.iter().enumerate() {
        validate_tag(t)?;
        if tags[..i].contains(t) {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.duplicate_tag",
                "Tag {tag:?} is given twice.",
                tag = t,
            )));
        }
    }
    Ok(tags.to_vec())
}

async fn insert_tags(tx: &mut WriteTx, project_id: &str, tags: &[String]) -> Result<()> {
    for t in tags {
        sqlx::query("INSERT INTO project_tags (project_id, name) VALUES (?, ?)")
            .bind(project_id.to_string())
            .bind(t.clone())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Removes a project and what hangs off it (assignments on it, application
/// credentials for it, its tags), revoking tokens scoped to it.
async fn purge_project(tx: &mut WriteTx, id: &str) -> Result<()> {
    purge_trusts_where(tx, "project_id = ?", &[id]).await?;
    for sql in [
        "DELETE FROM role_assignments WHERE target_type = 'project' AND target_id = ?",
        "DELETE FROM app_credential_roles WHERE app_cred_id IN (SELECT id FROM app_credentials WHERE project_id = ?)",
        "DELETE FROM app_credential_access_rules WHERE app_cred_id IN (SELECT id FROM app_credentials WHERE project_id = ?)",
        "DELETE FROM app_credentials WHERE project_id = ?",
        "UPDATE tokens SET revoked = 1 WHERE scope_type = 'project' AND scope_id = ?",
        "DELETE FROM project_tags WHERE project_id = ?",
        "DELETE FROM projects WHERE id = ?",
    ] {
        sqlx::query(sql).bind(id.to_string()).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Removes a user with its assignments, memberships, application
/// credentials and password history, revoking its tokens.
async fn purge_user(tx: &mut WriteTx, id: &str) -> Result<()> {
    purge_trusts_where(tx, "trustor_user_id = ? OR trustee_user_id = ?", &[id, id]).await?;
    for sql in [
        "DELETE FROM role_assignments WHERE actor_type = 'user' AND actor_id = ?",
        "DELETE FROM group_members WHERE user_id = ?",
        "DELETE FROM app_credential_roles WHERE app_cred_id IN (SELECT id FROM app_credentials WHERE user_id = ?)",
        "DELETE FROM app_credential_access_rules WHERE app_cred_id IN (SELECT id FROM app_credentials WHERE user_id = ?)",
        "DELETE FROM access_rules WHERE user_id = ?",
        "DELETE FROM app_credentials WHERE user_id = ?",
        "DELETE FROM password_history WHERE user_id = ?",
        "UPDATE tokens SET revoked = 1 WHERE user_id = ?",
        "DELETE FROM users WHERE id = ?",
    ] {
        sqlx::query(sql).bind(id.to_string()).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Removes the trusts matching `cond` (a trust is void without its trustor,
/// trustee or project).
async fn purge_trusts_where(tx: &mut WriteTx, cond: &str, args: &[&str]) -> Result<()> {
    let sql = format!("SELECT id FROM trusts WHERE {cond}");
    let mut q = sqlx::query_scalar::<_, String>(&sql);
    for a in args {
        q = q.bind(a.to_string());
    }
    let ids = q.fetch_all(&mut **tx).await?;
    for t in ids {
        super::trusts::purge_trust(tx, &t).await?;
    }
    Ok(())
}

/// Removes a group with its assignments and memberships.
async fn purge_group(tx: &mut WriteTx, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM role_assignments WHERE actor_type = 'group' AND actor_id = ?",
        "DELETE FROM group_members WHERE group_id = ?",
        "DELETE FROM user_groups WHERE id = ?",
    ] {
        sqlx::query(sql)
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
pub(crate) fn user_row(r: &AnyRow) -> std::result::Result<User, sqlx::Error> {
    Ok(User {
        id: r.try_get("id")?,
        domain_id: r.try_get("domain_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        description: r.try_get("description")?,
        enabled: flag(r, "enabled")?,
        default_project_id: r.try_get("default_project_id")?,
        // Stored as '' while unchosen (the column is NOT NULL).
        language: Some(r.try_get::<String, _>("language")?).filter(|l| !l.is_empty()),
        created_at: micros_to_time(r.try_get("created_at")?),
        password_expires_at: None,
        // Written only by this service, always an object.
        extra: serde_json::from_str(&r.try_get::<String, _>("extra")?).unwrap_or_default(),
    })
}
pub(crate) fn group_row(r: &AnyRow) -> std::result::Result<Group, sqlx::Error> {
    Ok(Group {
        id: r.try_get("id")?,
        domain_id: r.try_get("domain_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
    })
}
pub(crate) fn role_row(r: &AnyRow) -> std::result::Result<Role, sqlx::Error> {
    Ok(Role {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        domain_id: Some(r.try_get::<String, _>("domain_id")?).filter(|d| !d.is_empty()),
    })
}

/// A unique violation becomes a 409 naming the record; anything else stays a
/// database error located at the caller's query.
#[track_caller]
pub(crate) fn conflict(e: sqlx::Error, kind: &'static str, name: &str) -> IdentityError {
    if is_unique_violation(&e) {
        IdentityError::duplicate(kind, name)
    } else {
        IdentityError::from(e)
    }
}

pub(super) fn normalize_email(e: Option<String>) -> Result<Option<String>> {
    match e.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s)
            if s.len() <= 255 && s.contains('@') && !s.starts_with('@') && !s.ends_with('@') =>
        {
            Ok(Some(s))
        }
        Some(s) => Err(IdentityError::Validation(crate::msg!(
            "error.identity.invalid_email",
            "{email:?} is not a valid email address.",
            email = s,
        ))),
    }
}
