//! Application credentials: a user delegates a subset of its roles on one
//! project to a secret it can give to a script. The secret is shown once and
//! stored only as an argon2id hash.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::model::*;
use super::{flag, new_id, random_token, validate_description, validate_name, IdentityService};
use crate::db::{micros_to_time, now_micros};
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::secret::Secret;

/// The longest application-credential secret accepted.
const MAX_SECRET_BYTES: usize = 4096;
use crate::RequestContext;

impl IdentityService {
    /// Creates a credential for the caller itself, on the caller's project,
    /// with roles the caller holds there.
    pub async fn create_app_credential(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        req: NewAppCredential,
    ) -> Result<CreatedAppCredential> {
        if ctx.user_id != user_id {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.appcred.only_for_self",
                "Application credentials can only be created for yourself."
            )));
        }
        if ctx.app_cred_id.is_some() {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.appcred.no_nesting",
                "An application credential cannot create another application credential."
            )));
        }
        let project_id = ctx
            .project_id()
            .ok_or_else(|| {
                IdentityError::Validation(crate::msg!(
                    "error.identity.appcred.needs_project",
                    "Application credentials need a project-scoped token."
                ))
            })?
            .to_string();
        let name = validate_name("application credential", &req.name)?;
        let description = validate_description(req.description.as_deref().unwrap_or_default())?;
        if req.expires_at.is_some_and(|e| e <= chrono::Utc::now()) {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.appcred.expiry_past",
                "The expiry must be in the future."
            )));
        }
        let held = self
            .effective_roles(user_id, &Target::Project(project_id.clone()))
            .await?;
        let roles: Vec<Role> = if req.roles.is_empty() {
            held.clone()
        } else {
            let mut out = Vec::new();
            for key in &req.roles {
                let r = self.role_by_id_or_name(key).await?;
                if !held.iter().any(|h| h.id == r.id) {
                    return Err(IdentityError::Forbidden(crate::msg!(
                        "error.identity.appcred.role_not_held",
                        "You do not hold the role {role} on this project, so you cannot delegate it.",
                        role = r.name,
                    )));
                }
                if !out.iter().any(|o: &Role| o.id == r.id) {
                    out.push(r);
                }
            }
            out
        };
        let secret = req
            .secret
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| Secret::new(random_token(48)));
        // The same bound as a password (Keystone's max_password_length).
        if secret.expose().len() > MAX_SECRET_BYTES {
            return Err(IdentityError::Validation(crate::msg!(
                "error.identity.appcred.secret_too_long",
                "The secret must be at most {max} bytes.",
                max = MAX_SECRET_BYTES,
            )));
        }
        let secret_hash = self.hasher.hash(&secret).await?;
        let rules = self
            .resolve_access_rules(user_id, &req.access_rules)
            .await?;
        let cred = AppCredential {
            id: new_id(),
            user_id: user_id.to_string(),
            project_id,
            name,
            description,
            unrestricted: req.unrestricted,
            expires_at: req.expires_at,
            roles,
            access_rules: rules.iter().map(|(r, _)| r.clone()).collect(),
        };
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("INSERT INTO app_credentials (id, user_id, project_id, name, description, secret_hash, unrestricted, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(cred.id.clone())
            .bind(cred.user_id.clone())
            .bind(cred.project_id.clone())
            .bind(cred.name.clone())
            .bind(cred.description.clone())
            .bind(secret_hash)
            .bind(cred.unrestricted as i64)
            .bind(cred.expires_at.map(|e| e.timestamp_micros()))
            .bind(now_micros())
            .execute(&mut *tx)
            .await
            .map_err(|e| super::resources::conflict(e, "application credential", &cred.name))?;
        for r in &cred.roles {
            sqlx::query("INSERT INTO app_credential_roles (app_cred_id, role_id) VALUES (?, ?)")
                .bind(cred.id.clone())
                .bind(r.id.clone())
                .execute(&mut *tx)
                .await?;
        }
        for (rule, is_new) in &rules {
            if *is_new {
                sqlx::query("INSERT INTO access_rules (id, user_id, service, path, method) VALUES (?, ?, ?, ?, ?)")
                    .bind(rule.id.clone())
                    .bind(user_id.to_string())
                    .bind(rule.service.clone())
                    .bind(rule.path.clone())
                    .bind(rule.method.clone())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO app_credential_access_rules (app_cred_id, access_rule_id) VALUES (?, ?)")
                .bind(cred.id.clone())
                .bind(rule.id.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(CreatedAppCredential {
            credential: cred,
            secret,
        })
    }

    pub async fn list_app_credentials(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<Vec<AppCredential>> {
        enforce(
            ctx,
            &rules::LIST_APPLICATION_CREDENTIALS,
            &PolicyTarget::user(user_id),
        )?;
        // An unknown user is 404, as Keystone (not an empty list).
        self.user_by_id(user_id).await?;
        let rows = sqlx::query("SELECT id FROM app_credentials WHERE user_id = ? ORDER BY name")
            .bind(user_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let id: String = r.try_get("id")?;
            if let Some(c) = self.app_credential_row(&id).await? {
                if name.is_none_or(|n| n == c.name) {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }

    pub async fn get_app_credential(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        id: &str,
    ) -> Result<AppCredential> {
        enforce(
            ctx,
            &rules::GET_APPLICATION_CREDENTIAL,
            &PolicyTarget::user(user_id),
        )?;
        match self.app_credential_row(id).await? {
            Some(c) if c.user_id == user_id => Ok(c),
            _ => Err(IdentityError::not_found("application credential", id)),
        }
    }

    pub async fn delete_app_credential(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        id: &str,
    ) -> Result<()> {
        self.get_app_credential(ctx, user_id, id).await?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM app_credential_roles WHERE app_cred_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM app_credential_access_rules WHERE app_cred_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM app_credentials WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE app_cred_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(())
    }

    pub(crate) async fn app_credential_row(&self, id: &str) -> Result<Option<AppCredential>> {
        let Some(r) = sqlx::query("SELECT id, user_id, project_id, name, description, unrestricted, expires_at FROM app_credentials WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
        else {
            return Ok(None);
        };
        let roles = sqlx::query(&format!("SELECT {} FROM app_credential_roles a JOIN roles r ON r.id = a.role_id WHERE a.app_cred_id = ? ORDER BY r.name", super::resources::ROLE_COLS_R))
            .bind(id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        Ok(Some(AppCredential {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            project_id: r.try_get("project_id")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            unrestricted: flag(&r, "unrestricted")?,
            expires_at: r
                .try_get::<Option<i64>, _>("expires_at")?
                .map(micros_to_time),
            roles: roles
                .iter()
                .map(super::resources::role_row)
                .collect::<std::result::Result<Vec<_>, _>>()?,
            access_rules: self.credential_access_rules(id).await?,
        }))
    }

    async fn credential_access_rules(&self, cred_id: &str) -> Result<Vec<AccessRule>> {
        let rows = sqlx::query("SELECT r.id, r.service, r.path, r.method FROM app_credential_access_rules a JOIN access_rules r ON r.id = a.access_rule_id WHERE a.app_cred_id = ? ORDER BY r.service, r.path, r.method")
            .bind(cred_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(access_rule_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The rules a new credential names: existing ones by id (the user's
    /// own), or by their triple (reused when the user has it; `true` marks
    /// the ones to create).
    async fn resolve_access_rules(
        &self,
        user_id: &str,
        wanted: &[NewAccessRule],
    ) -> Result<Vec<(AccessRule, bool)>> {
        let mut out: Vec<(AccessRule, bool)> = Vec::new();
        for w in wanted {
            let rule = if let Some(id) = &w.id {
                let r = self
                    .access_rule_row(user_id, id)
                    .await?
                    .ok_or_else(|| IdentityError::not_found("access rule", id))?;
                (r, false)
            } else {
                let (service, path, method) = validate_access_rule(w)?;
                let found = sqlx::query("SELECT id, service, path, method FROM access_rules WHERE user_id = ? AND service = ? AND path = ? AND method = ?")
                    .bind(user_id.to_string())
                    .bind(service.clone())
                    .bind(path.clone())
                    .bind(method.clone())
                    .fetch_optional(&self.db.pool)
                    .await?;
                match found {
                    Some(r) => (access_rule_row(&r)?, false),
                    None => (
                        AccessRule {
                            id: new_id(),
                            service,
                            path,
                            method,
                        },
                        true,
                    ),
                }
            };
            let twin = |o: &(AccessRule, bool)| {
                o.0.id == rule.0.id
                    || (&o.0.service, &o.0.path, &o.0.method)
                        == (&rule.0.service, &rule.0.path, &rule.0.method)
            };
            if !out.iter().any(twin) {
                out.push(rule);
            }
        }
        Ok(out)
    }

    async fn access_rule_row(&self, user_id: &str, id: &str) -> Result<Option<AccessRule>> {
        Ok(sqlx::query(
            "SELECT id, service, path, method FROM access_rules WHERE id = ? AND user_id = ?",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.db.pool)
        .await?
        .as_ref()
        .map(access_rule_row)
        .transpose()?)
    }

    /// `GET /v3/users/{id}/access_rules`.
    pub async fn list_access_rules(
        &self,
        ctx: &RequestContext,
        user_id: &str,
    ) -> Result<Vec<AccessRule>> {
        enforce(ctx, &rules::LIST_ACCESS_RULES, &PolicyTarget::user(user_id))?;
        self.user_by_id(user_id).await?;
        let rows = sqlx::query("SELECT id, service, path, method FROM access_rules WHERE user_id = ? ORDER BY service, path, method")
            .bind(user_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(access_rule_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub async fn get_access_rule(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        id: &str,
    ) -> Result<AccessRule> {
        enforce(ctx, &rules::GET_ACCESS_RULE, &PolicyTarget::user(user_id))?;
        self.access_rule_row(user_id, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("access rule", id))
    }

    /// Deletes a rule no credential uses any more.
    pub async fn delete_access_rule(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        id: &str,
    ) -> Result<()> {
        enforce(
            ctx,
            &rules::DELETE_ACCESS_RULE,
            &PolicyTarget::user(user_id),
        )?;
        self.access_rule_row(user_id, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("access rule", id))?;
        let mut tx = self.db.pool.begin().await?;
        let used =
            sqlx::query("SELECT 1 FROM app_credential_access_rules WHERE access_rule_id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if used {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.access_rule_in_use",
                "Access rule {id} is still used by an application credential; delete that first.",
                id = id,
            )));
        }
        sqlx::query("DELETE FROM access_rules WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Verifies an application credential; returns (credential id, user id).
    pub(crate) async fn check_app_credential(
        &self,
        id: Option<String>,
        name: Option<String>,
        user: Option<UserRef>,
        secret: &Secret,
    ) -> Result<(String, String)> {
        let row = match (id, name, user) {
            (Some(id), _, _) => {
                sqlx::query(
                    "SELECT id, user_id, secret_hash, expires_at FROM app_credentials WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?
            }
            (None, Some(name), Some(user)) => {
                let user_id = match user {
                    UserRef::Id(id) => Some(id),
                    UserRef::Name { name, domain } => match self.resolve_domain(&domain).await {
                        Ok(d) => {
                            sqlx::query("SELECT id FROM users WHERE domain_id = ? AND name = ?")
                                .bind(d.id)
                                .bind(name)
                                .fetch_optional(&self.db.pool)
                                .await?
                                .map(|r| r.try_get::<String, _>("id"))
                                .transpose()?
                        }
                        Err(_) => None,
                    },
                };
                match user_id {
                    Some(uid) => sqlx::query("SELECT id, user_id, secret_hash, expires_at FROM app_credentials WHERE user_id = ? AND name = ?").bind(uid).bind(name).fetch_optional(&self.db.pool).await?,
                    None => None,
                }
            }
            _ => {
                return Err(IdentityError::Validation(crate::msg!(
                    "error.identity.appcred.id_or_name",
                    "An application credential is given by id, or by name with its user."
                )))
            }
        };
        let Some(row) = row else {
            self.hasher.verify(secret, None).await?;
            return Err(IdentityError::Unauthenticated);
        };
        let hash: String = row.try_get("secret_hash")?;
        if !self.hasher.verify(secret, Some(&hash)).await? {
            return Err(IdentityError::Unauthenticated);
        }
        if row
            .try_get::<Option<i64>, _>("expires_at")?
            .is_some_and(|e| e <= now_micros())
        {
            return Err(IdentityError::Unauthenticated);
        }
        Ok((row.try_get("id")?, row.try_get("user_id")?))
    }
}

fn access_rule_row(r: &sqlx::any::AnyRow) -> std::result::Result<AccessRule, sqlx::Error> {
    Ok(AccessRule {
        id: r.try_get("id")?,
        service: r.try_get("service")?,
        path: r.try_get("path")?,
        method: r.try_get("method")?,
    })
}

/// A new rule's (service, path, method), as Keystone's schema allows them.
fn validate_access_rule(w: &NewAccessRule) -> Result<(String, String, String)> {
    let bad = || {
        IdentityError::Validation(crate::msg!(
            "error.identity.bad_access_rule",
            "An access rule needs a service (up to 64 characters), a path starting with / (up to 255) and an HTTP method (GET, HEAD, POST, PUT, PATCH or DELETE)."
        ))
    };
    let service = w
        .service
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or_else(bad)?;
    let path = w
        .path
        .clone()
        .filter(|p| p.starts_with('/') && p.len() <= 255)
        .ok_or_else(bad)?;
    let method = w
        .method
        .clone()
        .map(|m| m.to_ascii_uppercase())
        .filter(|m| {
            matches!(
                m.as_str(),
                "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE"
            )
        })
        .ok_or_else(bad)?;
    Ok((service, path, method))
}
