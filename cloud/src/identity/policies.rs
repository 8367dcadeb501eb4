//! Keystone's policy blobs (`/v3/policies`): opaque documents with a MIME
//! `type`, stored and served back as given. Gureum's own policy is code
//! (`cloud::policy`); these records do not change it, as Keystone's do
//! not change Keystone's.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::{new_id, IdentityService};
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

/// The largest blob stored, in characters.
pub const MAX_POLICY_BLOB: usize = 8192;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub id: String,
    pub r#type: String,
    pub blob: String,
    /// Other attributes the client sent, kept and returned (Keystone's
    /// `extra`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct PolicyUpdate {
    pub r#type: Option<String>,
    pub blob: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn validate_type(t: &str) -> Result<String> {
    let n = t.chars().count();
    if n == 0 || n > 255 || t.chars().any(char::is_control) {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.policy.type",
            "A policy's type must be 1 to 255 characters without control characters."
        )));
    }
    Ok(t.to_string())
}

fn validate_blob(b: &str) -> Result<String> {
    if b.chars().count() > MAX_POLICY_BLOB {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.policy.blob_too_long",
            "A policy's blob must be at most {max} characters.",
            max = MAX_POLICY_BLOB,
        )));
    }
    Ok(b.to_string())
}

fn extra_json(extra: &serde_json::Map<String, serde_json::Value>) -> Result<String> {
    let s = serde_json::to_string(extra)
        .map_err(|e| IdentityError::Internal(format!("policy extra: {e}")))?;
    if s.len() > 4096 {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.policy.extra_too_long",
            "A policy's other attributes must be at most 4096 characters of JSON."
        )));
    }
    Ok(s)
}

fn policy_from(r: &sqlx::any::AnyRow) -> Result<Policy> {
    let extra: String = r.try_get("extra")?;
    Ok(Policy {
        id: r.try_get("id")?,
        r#type: r.try_get("type")?,
        blob: r.try_get("blob_data")?,
        extra: serde_json::from_str(&extra).unwrap_or_default(),
    })
}

impl IdentityService {
    pub async fn list_policies(
        &self,
        ctx: &RequestContext,
        r#type: Option<&str>,
    ) -> Result<Vec<Policy>> {
        enforce(ctx, &rules::LIST_POLICIES, &PolicyTarget::none())?;
        let rows =
            match r#type {
                Some(t) => sqlx::query(
                    "SELECT id, type, blob_data, extra FROM policies WHERE type = ? ORDER BY id",
                )
                .bind(t.to_string())
                .fetch_all(&self.db.pool)
                .await?,
                None => {
                    sqlx::query("SELECT id, type, blob_data, extra FROM policies ORDER BY id")
                        .fetch_all(&self.db.pool)
                        .await?
                }
            };
        rows.iter().map(policy_from).collect()
    }

    pub async fn get_policy(&self, ctx: &RequestContext, id: &str) -> Result<Policy> {
        enforce(ctx, &rules::GET_POLICY, &PolicyTarget::none())?;
        let r = sqlx::query("SELECT id, type, blob_data, extra FROM policies WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("policy", id))?;
        policy_from(&r)
    }

    pub async fn create_policy(
        &self,
        ctx: &RequestContext,
        r#type: &str,
        blob: &str,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Policy> {
        enforce(ctx, &rules::CREATE_POLICY, &PolicyTarget::none())?;
        let p = Policy {
            id: new_id(),
            r#type: validate_type(r#type)?,
            blob: validate_blob(blob)?,
            extra,
        };
        sqlx::query("INSERT INTO policies (id, type, blob_data, extra) VALUES (?, ?, ?, ?)")
            .bind(p.id.clone())
            .bind(p.r#type.clone())
            .bind(p.blob.clone())
            .bind(extra_json(&p.extra)?)
            .execute(&self.db.pool)
            .await?;
        Ok(p)
    }

    pub async fn update_policy(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: PolicyUpdate,
    ) -> Result<Policy> {
        enforce(ctx, &rules::UPDATE_POLICY, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let r = sqlx::query(
            &self
                .db
                .for_update("SELECT id, type, blob_data, extra FROM policies WHERE id = ?"),
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| IdentityError::not_found("policy", id))?;
        let mut p = policy_from(&r)?;
        if let Some(t) = req.r#type {
            p.r#type = validate_type(&t)?;
        }
        if let Some(b) = req.blob {
            p.blob = validate_blob(&b)?;
        }
        p.extra.extend(req.extra);
        sqlx::query("UPDATE policies SET type = ?, blob_data = ?, extra = ? WHERE id = ?")
            .bind(p.r#type.clone())
            .bind(p.blob.clone())
            .bind(extra_json(&p.extra)?)
            .bind(p.id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn delete_policy(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_POLICY, &PolicyTarget::none())?;
        let n = sqlx::query("DELETE FROM policies WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found("policy", id));
        }
        Ok(())
    }
}
