//! OS-TRUST: a trustor delegates some of its roles on a project to a
//! trustee. The trustee then gets tokens scoped by the trust: as the
//! trustor with `impersonation`, else as itself, holding only the trust's
//! roles (and only while the trustor still holds them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::{IdentityError, Result};
use super::model::{Role, Target};
use super::{flag, new_id, IdentityService};
use crate::db::{micros_to_time, now_micros};
use crate::policy::{self, enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    pub id: String,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: Option<String>,
    pub impersonation: bool,
    pub allow_redelegation: bool,
    /// `None`: unlimited.
    pub remaining_uses: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewTrust {
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: Option<String>,
    pub impersonation: bool,
    pub allow_redelegation: bool,
    pub remaining_uses: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Role ids or names.
    pub roles: Vec<String>,
}

/// `GET /v3/OS-TRUST/trusts` filters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrustFilter {
    pub trustor_user_id: Option<String>,
    pub trustee_user_id: Option<String>,
}

const TRUST_COLS: &str = "id, trustor_user_id, trustee_user_id, project_id, impersonation, allow_redelegation, remaining_uses, expires_at";

fn trust_row(r: &AnyRow) -> std::result::Result<Trust, sqlx::Error> {
    Ok(Trust {
        id: r.try_get("id")?,
        trustor_user_id: r.try_get("trustor_user_id")?,
        trustee_user_id: r.try_get("trustee_user_id")?,
        project_id: r.try_get("project_id")?,
        impersonation: flag(r, "impersonation")?,
        allow_redelegation: flag(r, "allow_redelegation")?,
        remaining_uses: r.try_get("remaining_uses")?,
        expires_at: r
            .try_get::<Option<i64>, _>("expires_at")?
            .map(micros_to_time),
        roles: Vec::new(),
    })
}

impl IdentityService {
    pub async fn create_trust(&self, ctx: &RequestContext, t: NewTrust) -> Result<Trust> {
        enforce(
            ctx,
            &rules::CREATE_TRUST,
            &PolicyTarget::user(&t.trustor_user_id),
        )?;
        self.user_by_id(&t.trustee_user_id).await?;
        if t.expires_at.is_some_and(|e| e <= Utc::now()) {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.trust_expired",
                "A trust cannot expire in the past."
            )));
        }
        if t.remaining_uses.is_some_and(|n| n <= 0) {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.trust_uses",
                "remaining_uses must be a positive number, or absent for unlimited uses."
            )));
        }
        let mut roles = Vec::new();
        for key in &t.roles {
            let r = self.role_by_id_or_name(key).await?;
            if !roles.iter().any(|x: &Role| x.id == r.id) {
                roles.push(r);
            }
        }
        if let Some(p) = &t.project_id {
            self.project_by_id(p).await?;
            if roles.is_empty() {
                return Err(IdentityError::Validation(crate::msg!(
                    "error.identity.trust_no_roles",
                    "A trust on a project delegates at least one role."
                )));
            }
            // A trustor can delegate only what it holds there.
            let held = self
                .effective_roles(&t.trustor_user_id, &Target::Project(p.clone()))
                .await?;
            if let Some(missing) = roles.iter().find(|r| !held.iter().any(|h| h.id == r.id)) {
                return Err(IdentityError::Forbidden(crate::msg!(
                    "error.identity.trust_role_not_held",
                    "You cannot delegate role {role}: you do not hold it on project {project}.",
                    role = missing.name,
                    project = p,
                )));
            }
        } else if !roles.is_empty() {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.trust_roles_need_project",
                "Roles can be delegated only on a project."
            )));
        }
        let trust = Trust {
            id: new_id(),
            trustor_user_id: t.trustor_user_id,
            trustee_user_id: t.trustee_user_id,
            project_id: t.project_id,
            impersonation: t.impersonation,
            allow_redelegation: t.allow_redelegation,
            remaining_uses: t.remaining_uses,
            expires_at: t.expires_at,
            roles,
        };
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("INSERT INTO trusts (id, trustor_user_id, trustee_user_id, project_id, impersonation, allow_redelegation, remaining_uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(trust.id.clone())
            .bind(trust.trustor_user_id.clone())
            .bind(trust.trustee_user_id.clone())
            .bind(trust.project_id.clone())
            .bind(trust.impersonation as i64)
            .bind(trust.allow_redelegation as i64)
            .bind(trust.remaining_uses)
            .bind(trust.expires_at.map(|e| e.timestamp_micros()))
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        for r in &trust.roles {
            sqlx::query("INSERT INTO trust_roles (trust_id, role_id) VALUES (?, ?)")
                .bind(trust.id.clone())
                .bind(r.id.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(trust)
    }

    /// A live trust (an expired or used-up one is gone, as in Keystone).
    pub(crate) async fn trust_by_id(&self, id: &str) -> Result<Trust> {
        let row = sqlx::query(&format!("SELECT {TRUST_COLS} FROM trusts WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("trust", id))?;
        let mut t = trust_row(&row)?;
        if t.expires_at.is_some_and(|e| e <= Utc::now()) || t.remaining_uses == Some(0) {
            return Err(IdentityError::not_found("trust", id));
        }
        t.roles = self.trust_roles(id).await?;
        Ok(t)
    }

    async fn trust_roles(&self, id: &str) -> Result<Vec<Role>> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM trust_roles t JOIN roles r ON r.id = t.role_id WHERE t.trust_id = ? ORDER BY r.name",
            super::resources::ROLE_COLS_R
        ))
        .bind(id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .iter()
            .map(super::resources::role_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Whether the caller is the trust's trustor or trustee, or may read
    /// any trust.
    fn may_read_trust(ctx: &RequestContext, t: &Trust) -> bool {
        policy::allows(
            ctx,
            &rules::GET_TRUST,
            &PolicyTarget::user(&t.trustor_user_id),
        ) || policy::allows(
            ctx,
            &rules::GET_TRUST,
            &PolicyTarget::user(&t.trustee_user_id),
        )
    }

    pub async fn get_trust(&self, ctx: &RequestContext, id: &str) -> Result<Trust> {
        let t = self.trust_by_id(id).await?;
        if !Self::may_read_trust(ctx, &t) {
            enforce(
                ctx,
                &rules::GET_TRUST,
                &PolicyTarget::user(&t.trustor_user_id),
            )?;
        }
        Ok(t)
    }

    /// One of a trust's roles: `NotFound` when it does not delegate it.
    pub async fn get_trust_role(
        &self,
        ctx: &RequestContext,
        id: &str,
        role_id: &str,
    ) -> Result<Role> {
        self.get_trust(ctx, id)
            .await?
            .roles
            .into_iter()
            .find(|r| r.id == role_id)
            .ok_or_else(|| IdentityError::not_found("role", role_id))
    }

    /// Live trusts; without a filter naming the caller, an admin's call.
    pub async fn list_trusts(&self, ctx: &RequestContext, f: &TrustFilter) -> Result<Vec<Trust>> {
        let me = Some(ctx.user_id.as_str());
        let own = f.trustor_user_id.as_deref() == me || f.trustee_user_id.as_deref() == me;
        if !own {
            enforce(ctx, &rules::LIST_TRUSTS, &PolicyTarget::none())?;
        }
        let mut sql = format!("SELECT {TRUST_COLS} FROM trusts WHERE (expires_at IS NULL OR expires_at > ?) AND (remaining_uses IS NULL OR remaining_uses > 0)");
        let mut args = vec![super::resources::Arg::I(now_micros())];
        if let Some(u) = &f.trustor_user_id {
            sql.push_str(" AND trustor_user_id = ?");
            args.push(super::resources::Arg::S(u.clone()));
        }
        if let Some(u) = &f.trustee_user_id {
            sql.push_str(" AND trustee_user_id = ?");
            args.push(super::resources::Arg::S(u.clone()));
        }
        sql.push_str(" ORDER BY created_at, id");
        let rows = super::resources::bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(trust_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Deletes a trust (its trustor or an admin) and revokes its tokens.
    pub async fn delete_trust(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let t = self.trust_by_id(id).await?;
        enforce(
            ctx,
            &rules::DELETE_TRUST,
            &PolicyTarget::user(&t.trustor_user_id),
        )?;
        let mut tx = self.db.pool.begin().await?;
        purge_trust(&mut tx, id).await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(())
    }

    /// Spends one use of a trust for a token its trustee asked for; the
    /// trust as it stands then.
    pub(crate) async fn redeem_trust(&self, id: &str, trustee_user_id: &str) -> Result<Trust> {
        // Keystone answers 401 without saying which check failed.
        let unauthorized = |why: String| {
            tracing::debug!("trust refused: {why}");
            IdentityError::Unauthenticated
        };
        let t = self
            .trust_by_id(id)
            .await
            .map_err(|_| unauthorized(format!("Trust {id} is not valid.")))?;
        if t.trustee_user_id != trustee_user_id {
            return Err(unauthorized(format!(
                "You are not the trustee of trust {id}."
            )));
        }
        if t.remaining_uses.is_some() {
            // One conditional UPDATE, so two racing redemptions of the last
            // use cannot both win.
            let n = sqlx::query("UPDATE trusts SET remaining_uses = remaining_uses - 1 WHERE id = ? AND remaining_uses > 0")
                .bind(id.to_string())
                .execute(&self.db.pool)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(unauthorized(format!("Trust {id} has no uses left.")));
            }
        }
        Ok(t)
    }

    /// The roles a trust-scoped token holds now: the trust's, and only
    /// while the trustor still holds them on the project (implied roles
    /// follow). `None` when the trust is gone or nothing is left.
    pub(crate) async fn trust_token_roles(
        &self,
        trust_id: &str,
    ) -> Result<Option<(Trust, Vec<Role>)>> {
        let t = match self.trust_by_id(trust_id).await {
            Ok(t) => t,
            Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(p) = &t.project_id else {
            return Ok(None);
        };
        let held = self
            .effective_roles(&t.trustor_user_id, &Target::Project(p.clone()))
            .await?;
        let delegated: Vec<String> = t.roles.iter().map(|r| r.id.clone()).collect();
        let allowed = self.implied_closure(&delegated).await?;
        let roles: Vec<Role> = held
            .into_iter()
            .filter(|r| allowed.contains(&r.id))
            .collect();
        if roles.is_empty() {
            return Ok(None);
        }
        Ok(Some((t, roles)))
    }
}

/// Removes a trust and revokes the tokens it scoped.
pub(crate) async fn purge_trust(tx: &mut crate::db::WriteTx, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM trust_roles WHERE trust_id = ?",
        "DELETE FROM trusts WHERE id = ?",
        "UPDATE tokens SET revoked = 1 WHERE trust_id = ?",
    ] {
        sqlx::query(sql)
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
