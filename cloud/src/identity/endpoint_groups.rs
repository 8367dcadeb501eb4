//! OS-EP-FILTER endpoint groups (`/v3/OS-EP-FILTER/endpoint_groups`): a
//! named filter over endpoint attributes (`interface`, `service_id`,
//! `region_id`, `enabled`). Stored and served as Keystone does; associating
//! groups with projects (and so filtering a project's catalog) is not
//! offered yet.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::{new_id, IdentityService};
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EndpointGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// A JSON object of endpoint attributes.
    pub filters: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct NewEndpointGroup {
    pub name: String,
    pub description: Option<String>,
    pub filters: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointGroupUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub filters: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The attributes a filter may name, and the JSON type each needs.
fn validate_filters(
    f: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    for (k, v) in &f {
        let ok = match k.as_str() {
            "interface" => matches!(v.as_str(), Some("public" | "internal" | "admin")),
            "service_id" => v.is_string(),
            "region_id" => v.is_string() || v.is_null(),
            "enabled" => v.is_boolean(),
            _ => false,
        };
        if !ok {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.endpoint_group.filter",
                "Invalid endpoint group filter {filter}: filters name interface (public, internal or admin), service_id, region_id or enabled (a boolean).",
                filter = format!("{k}={}", match v { Value::String(s) => s.clone(), other => other.to_string() }),
            )));
        }
    }
    if serde_json::to_string(&f).map(|s| s.len()).unwrap_or(0) > 4096 {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.endpoint_group.filters_too_long",
            "The endpoint group's filters must be at most 4096 characters of JSON."
        )));
    }
    Ok(f)
}

fn group_from(r: &sqlx::any::AnyRow) -> Result<EndpointGroup> {
    let filters: String = r.try_get("filters")?;
    Ok(EndpointGroup {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        filters: serde_json::from_str(&filters)
            .map_err(|e| IdentityError::Internal(format!("endpoint group filters: {e}")))?,
    })
}

fn filters_json(f: &serde_json::Map<String, serde_json::Value>) -> Result<String> {
    serde_json::to_string(f).map_err(|e| IdentityError::Internal(format!("filters: {e}")))
}

impl IdentityService {
    pub async fn list_endpoint_groups(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> Result<Vec<EndpointGroup>> {
        enforce(ctx, &rules::LIST_ENDPOINT_GROUPS, &PolicyTarget::none())?;
        let rows = sqlx::query(
            "SELECT id, name, description, filters FROM endpoint_groups ORDER BY name, id",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let g = group_from(r)?;
            if name.is_none_or(|n| n == g.name) {
                out.push(g);
            }
        }
        Ok(out)
    }

    pub async fn get_endpoint_group(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<EndpointGroup> {
        enforce(ctx, &rules::GET_ENDPOINT_GROUP, &PolicyTarget::none())?;
        self.endpoint_group_by_id(id).await
    }

    async fn endpoint_group_by_id(&self, id: &str) -> Result<EndpointGroup> {
        let r =
            sqlx::query("SELECT id, name, description, filters FROM endpoint_groups WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or_else(|| IdentityError::not_found("endpoint group", id))?;
        group_from(&r)
    }

    pub async fn create_endpoint_group(
        &self,
        ctx: &RequestContext,
        req: NewEndpointGroup,
    ) -> Result<EndpointGroup> {
        enforce(ctx, &rules::CREATE_ENDPOINT_GROUP, &PolicyTarget::none())?;
        let g = EndpointGroup {
            id: new_id(),
            name: super::validate_name("endpoint group", &req.name)?,
            description: req
                .description
                .map(|d| super::validate_description(&d))
                .transpose()?,
            filters: validate_filters(req.filters)?,
        };
        sqlx::query(
            "INSERT INTO endpoint_groups (id, name, description, filters) VALUES (?, ?, ?, ?)",
        )
        .bind(g.id.clone())
        .bind(g.name.clone())
        .bind(g.description.clone())
        .bind(filters_json(&g.filters)?)
        .execute(&self.db.pool)
        .await?;
        Ok(g)
    }

    pub async fn update_endpoint_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: EndpointGroupUpdate,
    ) -> Result<EndpointGroup> {
        enforce(ctx, &rules::UPDATE_ENDPOINT_GROUP, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let r =
            sqlx::query(&self.db.for_update(
                "SELECT id, name, description, filters FROM endpoint_groups WHERE id = ?",
            ))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| IdentityError::not_found("endpoint group", id))?;
        let mut g = group_from(&r)?;
        if let Some(n) = req.name {
            g.name = super::validate_name("endpoint group", &n)?;
        }
        if let Some(d) = req.description {
            g.description = d.map(|d| super::validate_description(&d)).transpose()?;
        }
        if let Some(f) = req.filters {
            g.filters = validate_filters(f)?;
        }
        sqlx::query(
            "UPDATE endpoint_groups SET name = ?, description = ?, filters = ? WHERE id = ?",
        )
        .bind(g.name.clone())
        .bind(g.description.clone())
        .bind(filters_json(&g.filters)?)
        .bind(g.id.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn delete_endpoint_group(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_ENDPOINT_GROUP, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM project_endpoint_groups WHERE endpoint_group_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM endpoint_groups WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found("endpoint group", id));
        }
        tx.commit().await?;
        Ok(())
    }
}
