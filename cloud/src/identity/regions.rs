//! Regions (`/v3/regions`): Keystone's tree of places endpoints live in.
//!
//! A region's id is chosen by the client (`PUT /v3/regions/{id}`) or made
//! up; its parent must exist and the tree may not loop. A region that it or
//! a descendant still has endpoints in cannot be deleted (403, as
//! Keystone's `RegionDeletionError`); deleting one deletes its descendants.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::{new_id, IdentityService};
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewRegion {
    /// `None` or empty: a new id is made up.
    pub id: Option<String>,
    pub description: Option<String>,
    pub parent_region_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RegionUpdate {
    pub description: Option<String>,
    /// `Some(None)`: the region becomes a root.
    pub parent_region_id: Option<Option<String>>,
}

/// Keystone's `region_id`: 1 to 255 characters.
pub(crate) fn validate_region_id(id: &str) -> Result<()> {
    let n = id.chars().count();
    if n == 0 || n > 255 || id.chars().any(char::is_control) {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.region.id",
            "A region id must be 1 to 255 characters without control characters."
        )));
    }
    Ok(())
}

fn validate_region_description(d: &str) -> Result<String> {
    if d.chars().count() > 255 {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.region.description",
            "A region's description must be at most 255 characters."
        )));
    }
    super::validate_description(d)
}

fn region_from(r: &sqlx::any::AnyRow) -> std::result::Result<Region, sqlx::Error> {
    Ok(Region {
        id: r.try_get("id")?,
        description: r.try_get("description")?,
        parent_region_id: r.try_get("parent_region_id")?,
    })
}

impl IdentityService {
    /// Every region, or those whose parent is `parent`.
    pub async fn list_regions(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
    ) -> Result<Vec<Region>> {
        enforce(ctx, &rules::LIST_REGIONS, &PolicyTarget::none())?;
        let rows = match parent {
            Some(p) => {
                sqlx::query("SELECT id, description, parent_region_id FROM regions WHERE parent_region_id = ? ORDER BY id")
                    .bind(p.to_string())
                    .fetch_all(&self.db.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT id, description, parent_region_id FROM regions ORDER BY id")
                    .fetch_all(&self.db.pool)
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(region_from(r)?);
        }
        Ok(out)
    }

    pub async fn get_region(&self, ctx: &RequestContext, id: &str) -> Result<Region> {
        enforce(ctx, &rules::GET_REGION, &PolicyTarget::none())?;
        let r = sqlx::query("SELECT id, description, parent_region_id FROM regions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("region", id))?;
        Ok(region_from(&r)?)
    }

    async fn region_exists(&self, tx: &mut crate::db::WriteTx, id: &str) -> Result<bool> {
        Ok(
            sqlx::query(&self.db.for_update("SELECT id FROM regions WHERE id = ?"))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .is_some(),
        )
    }

    pub async fn create_region(&self, ctx: &RequestContext, req: NewRegion) -> Result<Region> {
        enforce(ctx, &rules::CREATE_REGION, &PolicyTarget::none())?;
        let id = match req.id.filter(|i| !i.is_empty()) {
            Some(i) => {
                validate_region_id(&i)?;
                i
            }
            None => new_id(),
        };
        let region = Region {
            id,
            description: validate_region_description(req.description.as_deref().unwrap_or(""))?,
            parent_region_id: req.parent_region_id,
        };
        let mut tx = self.db.begin_write().await?;
        if self.region_exists(&mut tx, &region.id).await? {
            return Err(IdentityError::Conflict {
                kind: "region",
                detail: crate::msg!(
                    "error.identity.region.duplicate",
                    "Duplicate ID, {id}",
                    id = region.id.clone(),
                ),
            });
        }
        if let Some(p) = &region.parent_region_id {
            if !self.region_exists(&mut tx, p).await? {
                return Err(IdentityError::not_found("region", p.clone()));
            }
        }
        sqlx::query("INSERT INTO regions (id, description, parent_region_id) VALUES (?, ?, ?)")
            .bind(region.id.clone())
            .bind(region.description.clone())
            .bind(region.parent_region_id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(region)
    }

    pub async fn update_region(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: RegionUpdate,
    ) -> Result<Region> {
        enforce(ctx, &rules::UPDATE_REGION, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(
            &self
                .db
                .for_update("SELECT id, description, parent_region_id FROM regions WHERE id = ?"),
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| IdentityError::not_found("region", id))?;
        let mut region = region_from(&row)?;
        if let Some(d) = req.description {
            region.description = validate_region_description(&d)?;
        }
        if let Some(parent) = req.parent_region_id {
            if let Some(p) = &parent {
                if !self.region_exists(&mut tx, p).await? {
                    return Err(IdentityError::not_found("region", p.clone()));
                }
                // Walk up from the new parent: meeting this region is a loop.
                let mut at = Some(p.clone());
                let mut steps = 0;
                while let Some(cur) = at {
                    if cur == region.id || steps > 10_000 {
                        return Err(IdentityError::Validation(crate::msg!(
                            "error.identity.region.circular",
                            "The specified parent region {parent} would create a circular region hierarchy.",
                            parent = p.clone(),
                        )));
                    }
                    at = sqlx::query("SELECT parent_region_id FROM regions WHERE id = ?")
                        .bind(cur)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get::<Option<String>, _>("parent_region_id"))
                        .transpose()?
                        .flatten();
                    steps += 1;
                }
            }
            region.parent_region_id = parent;
        }
        sqlx::query("UPDATE regions SET description = ?, parent_region_id = ? WHERE id = ?")
            .bind(region.description.clone())
            .bind(region.parent_region_id.clone())
            .bind(region.id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(region)
    }

    /// Deletes a region and its descendants, unless any of them still has
    /// endpoints.
    pub async fn delete_region(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_REGION, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        if !self.region_exists(&mut tx, id).await? {
            return Err(IdentityError::not_found("region", id));
        }
        // The region and every descendant, breadth first.
        let mut tree = vec![id.to_string()];
        let mut next = 0;
        while next < tree.len() {
            let children = sqlx::query("SELECT id FROM regions WHERE parent_region_id = ?")
                .bind(tree[next].clone())
                .fetch_all(&mut *tx)
                .await?;
            for c in children {
                let cid: String = c.try_get("id")?;
                if !tree.contains(&cid) {
                    tree.push(cid);
                }
            }
            next += 1;
        }
        for r in &tree {
            let used = sqlx::query("SELECT id FROM endpoints WHERE region_id = ? LIMIT 1")
                .bind(r.clone())
                .fetch_optional(&mut *tx)
                .await?;
            if used.is_some() {
                return Err(IdentityError::Forbidden(crate::msg!(
                    "error.identity.region.has_endpoints",
                    "Unable to delete region {id} because it or its child regions have associated endpoints.",
                    id = id,
                )));
            }
        }
        for r in tree.iter().rev() {
            sqlx::query("DELETE FROM regions WHERE id = ?")
                .bind(r.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
