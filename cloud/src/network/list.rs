//! Filters become SQL, and lists are sorted and paged in SQL: keyset paging
//! after a `marker` (Neutron's) or by offset (the portal), with a total.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::{NetworkError, Result};
use crate::page::{check_search, clamp_limit, like_contains};
use crate::{Db, Page, SortDir};

/// A value bound into a built query.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(String),
    Int(i64),
}

pub(super) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s.as_str()),
            Arg::Int(i) => q.bind(*i),
        };
    }
    q
}

/// The conditions of a `WHERE`, with their arguments in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Where {
    conds: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    /// What a list shows a caller without `all_projects` (an admin's
    /// rule): rows of its own project only (none without a project scope).
    pub fn own_project_unless(
        ctx: &crate::RequestContext,
        all_projects: &crate::policy::Rule,
    ) -> Where {
        let mut w = Where::default();
        if !crate::policy::allows(ctx, all_projects, &crate::policy::Target::none()) {
            let project = ctx.project_id().unwrap_or_default().to_string();
            w.push("t.project_id = ?", [Arg::Text(project)]);
        }
        w
    }

    pub fn push(&mut self, cond: impl Into<String>, args: impl IntoIterator<Item = Arg>) {
        self.conds.push(cond.into());
        self.args.extend(args);
    }

    pub fn text(&mut self, col: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.push(format!("{col} = ?"), [Arg::Text(v.clone())]);
        }
    }

    pub fn flag(&mut self, col: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.push(format!("{col} = ?"), [Arg::Int(i64::from(v))]);
        }
    }

    /// `col IN (…)`; an empty list matches nothing.
    pub fn ids(&mut self, col: &str, ids: Option<&Vec<String>>) {
        if let Some(ids) = ids {
            if ids.is_empty() {
                self.push("1 = 0", []);
            } else {
                let marks = vec!["?"; ids.len()].join(", ");
                self.push(
                    format!("{col} IN ({marks})"),
                    ids.iter().map(|i| Arg::Text(i.clone())),
                );
            }
        }
    }

    /// Name or id contains `query` (the portal's search box).
    pub fn search(&mut self, name_col: &str, id_col: &str, query: Option<&String>) -> Result<()> {
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            check_search(q).map_err(|message| NetworkError::Validation {
                neutron_type: "InvalidInput",
                message,
            })?;
            let pat = like_contains(q);
            self.push(
                format!("({name_col} LIKE ? ESCAPE '!' OR {id_col} LIKE ? ESCAPE '!')"),
                [Arg::Text(pat.clone()), Arg::Text(pat)],
            );
        }
        Ok(())
    }

    pub fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }
}

/// One sort key: a never-NULL expression, whether it is an integer, and
/// the direction.
#[derive(Debug, Clone, Copy)]
pub(super) struct SortBy {
    pub expr: &'static str,
    pub int: bool,
    pub dir: SortDir,
}

/// How to page one table.
pub(super) struct Listing<'a> {
    /// `networks t`: the table and its alias.
    pub from: &'a str,
    pub cols: &'a str,
    /// The id column (`t.id`), the final tie-breaker.
    pub id: &'static str,
    /// What the caller may see: a marker must be one of these.
    pub visible: Where,
    /// `visible` and the filter's own conditions.
    pub filtered: Where,
    /// Sort keys in order, the id not among them.
    pub sort: Vec<SortBy>,
    pub marker: Option<&'a str>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

impl Listing<'_> {
    /// The page and the number of rows matching the filter.
    /// `marker_missing` is the error for a marker the caller cannot see.
    pub async fn run<T>(
        mut self,
        db: &Db,
        row: impl Fn(&AnyRow) -> Result<T>,
        marker_missing: impl Fn(&str) -> NetworkError,
    ) -> Result<Page<T>> {
        let dir = self.sort.last().map(|s| s.dir).unwrap_or_default();
        self.sort.push(SortBy {
            expr: self.id,
            int: false,
            dir,
        });
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM {}{}",
            self.from,
            self.filtered.sql()
        );
        let total: i64 = bind_all(sqlx::query(&count_sql), &self.filtered.args)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
        let mut page = self.filtered.clone();
        if let Some(marker) = self.marker {
            let exprs: Vec<String> = self
                .sort
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{} AS k{i}", s.expr))
                .collect();
            let mut at = self.visible.clone();
            at.push(format!("{} = ?", self.id), [Arg::Text(marker.to_string())]);
            let sql = format!("SELECT {} FROM {}{}", exprs.join(", "), self.from, at.sql());
            let found = bind_all(sqlx::query(&sql), &at.args)
                .fetch_optional(&db.pool)
                .await?
                .ok_or_else(|| marker_missing(marker))?;
            let mut values = Vec::with_capacity(self.sort.len());
            for (i, s) in self.sort.iter().enumerate() {
                let col = format!("k{i}");
                values.push(if s.int {
                    Arg::Int(found.try_get::<i64, _>(col.as_str())?)
                } else {
                    Arg::Text(found.try_get::<String, _>(col.as_str())?)
                });
            }
            let mut ors = Vec::new();
            let mut args = Vec::new();
            for i in 0..self.sort.len() {
                let mut ands = Vec::new();
                for (j, s) in self.sort.iter().enumerate().take(i) {
                    ands.push(format!("{} = ?", s.expr));
                    args.push(values[j].clone());
                }
                let s = self.sort[i];
                let op = if s.dir == SortDir::Asc { ">" } else { "<" };
                ands.push(format!("{} {op} ?", s.expr));
                args.push(values[i].clone());
                ors.push(format!("({})", ands.join(" AND ")));
            }
            page.push(format!("({})", ors.join(" OR ")), args);
        }
        let order = self
            .sort
            .iter()
            .map(|s| format!("{} {}", s.expr, s.dir.sql()))
            .collect::<Vec<_>>()
            .join(", ");
        let limit = clamp_limit(self.limit);
        let offset = self.offset.unwrap_or(0).max(0);
        let sql = format!(
            "SELECT {} FROM {}{} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            self.cols,
            self.from,
            page.sql()
        );
        let rows = bind_all(sqlx::query(&sql), &page.args)
            .fetch_all(&db.pool)
            .await?;
        let items = rows.iter().map(row).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total })
    }
}
