//! Tokens: issue (password, token, application credential), validate, revoke.
//!
//! A token id is 32 random bytes shown to the client once; the database
//! keeps only its SHA-256. Roles are recomputed at validation so a revoked
//! grant or a disabled project takes effect for tokens already issued.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::error::{IdentityError, Result};
use super::model::*;
use super::{flag, random_token, IdentityService};
use crate::db::{micros_to_time, now_micros};
use crate::secret::Secret;

/// The key a token is cached and stored under (its SHA-256, hex): what
/// an adapter keys its own per-token caches by, never the token itself.
pub fn token_key(token: &str) -> String {
    token_hash(token)
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The row a token keeps in the database.
struct TokenRow {
    user_id: String,
    scope_type: String,
    scope_id: Option<String>,
    methods: String,
    audit_id: String,
    parent_audit_id: Option<String>,
    app_cred_id: Option<String>,
    trust_id: Option<String>,
    issued_at: i64,
    expires_at: i64,
}

/// Who authenticated, and what the method restricts.
struct Authenticated {
    user_id: String,
    methods: Vec<String>,
    /// For token auth: the original's audit id and expiry (a rescoped token
    /// never outlives the one it came from).
    parent: Option<(String, i64)>,
    app_cred: Option<(String, String)>,
}

impl IdentityService {
    /// `POST /v3/auth/tokens`.
    pub async fn issue_token(
        &self,
        method: AuthMethod,
        scope: ScopeRequest,
    ) -> Result<IssuedToken> {
        let auth = self.authenticate(method).await?;
        let user = self
            .user_by_id(&auth.user_id)
            .await
            .map_err(|_| IdentityError::Unauthenticated)?;
        let domain = self
            .domain_by_id(&user.domain_id)
            .await
            .map_err(|_| IdentityError::Unauthenticated)?;
        if !user.enabled || !domain.enabled {
            return Err(IdentityError::Unauthenticated);
        }
        let mut cred_expires_at: Option<i64> = None;
        let mut token_user = user.id.clone();
        let mut trust_id = None;
        let (scope_type, scope_id) = if let ScopeRequest::Trust(id) = &scope {
            if auth.app_cred.is_some() {
                return Err(IdentityError::Forbidden(crate::msg!(
                    "error.identity.appcred_trust",
                    "An application credential cannot use a trust."
                )));
            }
            let t = self.redeem_trust(id, &user.id).await?;
            if t.impersonation {
                token_user = t.trustor_user_id.clone();
            }
            cred_expires_at = t.expires_at.map(|e| e.timestamp_micros());
            trust_id = Some(t.id.clone());
            match t.project_id {
                Some(p) => ("project".to_string(), Some(p)),
                None => ("unscoped".to_string(), None),
            }
        } else if let Some((cred_id, _)) = &auth.app_cred {
            // An application credential always scopes to its own project.
            let row =
                sqlx::query("SELECT project_id, expires_at FROM app_credentials WHERE id = ?")
                    .bind(cred_id.clone())
                    .fetch_one(&self.db.pool)
                    .await?;
            cred_expires_at = row.try_get("expires_at")?;
            (
                "project".to_string(),
                Some(row.try_get::<String, _>("project_id")?),
            )
        } else {
            self.resolve_scope(&user, scope).await?
        };
        let now = now_micros();
        let mut expires_at = now + self.cfg.token_ttl_secs * 1_000_000;
        // A token never outlives what it came from: its parent token, or
        // the application credential (Keystone does the same).
        if let Some((_, parent_exp)) = &auth.parent {
            expires_at = expires_at.min(*parent_exp);
        }
        if let Some(cred_exp) = cred_expires_at {
            expires_at = expires_at.min(cred_exp);
        }
        let row = TokenRow {
            user_id: token_user,
            scope_type,
            scope_id,
            methods: auth.methods.join(","),
            audit_id: random_token(16),
            parent_audit_id: auth.parent.map(|(a, _)| a),
            app_cred_id: auth.app_cred.map(|(id, _)| id),
            trust_id,
            issued_at: now,
            expires_at,
        };
        let info = self
            .token_info(&row)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        let id = random_token(32);
        sqlx::query("INSERT INTO tokens (id_hash, user_id, scope_type, scope_id, methods, audit_id, parent_audit_id, app_cred_id, trust_id, issued_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)")
            .bind(token_hash(&id))
            .bind(row.user_id.clone())
            .bind(row.scope_type.clone())
            .bind(row.scope_id.clone())
            .bind(row.methods.clone())
            .bind(row.audit_id.clone())
            .bind(row.parent_audit_id.clone())
            .bind(row.app_cred_id.clone())
            .bind(row.trust_id.clone())
            .bind(row.issued_at)
            .bind(row.expires_at)
            .execute(&self.db.pool)
            .await?;
        Ok(IssuedToken {
            id: Secret::new(id),
            info,
        })
    }

    async fn authenticate(&self, method: AuthMethod) -> Result<Authenticated> {
        match method {
            AuthMethod::Password { user, password } => {
                let user_id = self.check_password(&user, &password).await?;
                Ok(Authenticated {
                    user_id,
                    methods: vec!["password".into()],
                    parent: None,
                    app_cred: None,
                })
            }
            AuthMethod::Token { token } => {
                let (row, _) = self
                    .live_token_row(token.expose())
                    .await?
                    .ok_or(IdentityError::Unauthenticated)?;
                if row.app_cred_id.is_some() {
                    return Err(IdentityError::Forbidden(crate::msg!(
                        "error.identity.appcred_token_rescope",
                        "A token created with an application credential cannot be rescoped."
                    )));
                }
                if row.trust_id.is_some() {
                    return Err(IdentityError::Forbidden(crate::msg!(
                        "error.identity.trust_token_rescope",
                        "A trust-scoped token cannot be rescoped."
                    )));
                }
                let mut methods: Vec<String> = row.methods.split(',').map(str::to_string).collect();
                if !methods.iter().any(|m| m == "token") {
                    methods.push("token".into());
                }
                Ok(Authenticated {
                    user_id: row.user_id,
                    methods,
                    parent: Some((row.audit_id, row.expires_at)),
                    app_cred: None,
                })
            }
            AuthMethod::AppCredential {
                id,
                name,
                user,
                secret,
            } => {
                let (cred_id, user_id) = self.check_app_credential(id, name, user, &secret).await?;
                Ok(Authenticated {
                    user_id,
                    methods: vec!["application_credential".into()],
                    parent: None,
                    app_cred: Some((cred_id.clone(), cred_id)),
                })
            }
        }
    }

    /// Verifies a password, counting failures toward the lockout.
    pub(crate) async fn check_password(&self, user: &UserRef, password: &Secret) -> Result<String> {
        let row = match user {
            UserRef::Id(id) => sqlx::query(
                "SELECT id, password_hash, failed_auth_count, locked_until FROM users WHERE id = ?",
            )
            .bind(id.clone())
            .fetch_optional(&self.db.pool)
            .await?,
            UserRef::Name { name, domain } => {
                let domain = match self.resolve_domain(domain).await {
                    Ok(d) => Some(d),
                    Err(IdentityError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                };
                match domain {
                    Some(d) => sqlx::query("SELECT id, password_hash, failed_auth_count, locked_until FROM users WHERE domain_id = ? AND name = ?").bind(d.id).bind(name.clone()).fetch_optional(&self.db.pool).await?,
                    None => None,
                }
            }
        };
        let Some(row) = row else {
            // Same work as a real check, so timing does not tell.
            self.hasher.verify(password, None).await?;
            return Err(IdentityError::Unauthenticated);
        };
        let user_id: String = row.try_get("id")?;
        let hash: Option<String> = row.try_get("password_hash")?;
        let locked_until: Option<i64> = row.try_get("locked_until")?;
        let now = now_micros();
        if let Some(until) = locked_until.filter(|u| *u > now) {
            return Err(IdentityError::Locked {
                minutes: ((until - now) / 60_000_000).max(1),
            });
        }
        if self.hasher.verify(password, hash.as_deref()).await? {
            sqlx::query("UPDATE users SET failed_auth_count = 0, locked_until = NULL WHERE id = ? AND (failed_auth_count <> 0 OR locked_until IS NOT NULL)")
                .bind(user_id.clone())
                .execute(&self.db.pool)
                .await?;
            return Ok(user_id);
        }
        let attempts = self.cfg.lockout_failure_attempts;
        if attempts > 0 {
            // One conditional UPDATE so concurrent failures all count.
            sqlx::query("UPDATE users SET failed_auth_count = failed_auth_count + 1 WHERE id = ?")
                .bind(user_id.clone())
                .execute(&self.db.pool)
                .await?;
            let lock = sqlx::query("UPDATE users SET locked_until = ?, failed_auth_count = 0 WHERE id = ? AND failed_auth_count >= ?")
                .bind(now + self.cfg.lockout_duration_secs * 1_000_000)
                .bind(user_id.clone())
                .bind(attempts)
                .execute(&self.db.pool)
                .await?;
            if lock.rows_affected() > 0 {
                tracing::warn!(user_id, "account locked after {attempts} failed logins");
                return Err(IdentityError::Locked {
                    minutes: (self.cfg.lockout_duration_secs / 60).max(1),
                });
            }
        }
        Err(IdentityError::Unauthenticated)
    }

    async fn resolve_scope(
        &self,
        user: &User,
        scope: ScopeRequest,
    ) -> Result<(String, Option<String>)> {
        let unauthorized = |what: String| IdentityError::Unauthenticated.or_forbidden(what);
        match scope {
            ScopeRequest::Unscoped => Ok(("unscoped".into(), None)),
            ScopeRequest::Default => {
                if let Some(p) = &user.default_project_id {
                    let ok = self
                        .project_by_id(p)
                        .await
                        .map(|p| p.enabled)
                        .unwrap_or(false)
                        && !self
                            .effective_roles(&user.id, &Target::Project(p.clone()))
                            .await?
                            .is_empty();
                    if ok {
                        return Ok(("project".into(), Some(p.clone())));
                    }
                }
                Ok(("unscoped".into(), None))
            }
            ScopeRequest::Project(pref) => {
                let p = self.resolve_project(&pref).await.map_err(|_| {
                    unauthorized(
                        "The project to scope to does not exist or you have no role on it.".into(),
                    )
                })?;
                let d = self.domain_by_id(&p.domain_id).await?;
                if !p.enabled || !d.enabled {
                    return Err(unauthorized(format!("Project {} is disabled.", p.name)));
                }
                if self
                    .effective_roles(&user.id, &Target::Project(p.id.clone()))
                    .await?
                    .is_empty()
                {
                    return Err(unauthorized(format!(
                        "You have no role on project {}.",
                        p.name
                    )));
                }
                Ok(("project".into(), Some(p.id)))
            }
            ScopeRequest::Domain(dref) => {
                let d = self.resolve_domain(&dref).await.map_err(|_| {
                    unauthorized(
                        "The domain to scope to does not exist or you have no role on it.".into(),
                    )
                })?;
                if !d.enabled
                    || self
                        .effective_roles(&user.id, &Target::Domain(d.id.clone()))
                        .await?
                        .is_empty()
                {
                    return Err(unauthorized(format!(
                        "You have no role on domain {}.",
                        d.name
                    )));
                }
                Ok(("domain".into(), Some(d.id)))
            }
            ScopeRequest::System => {
                if self
                    .effective_roles(&user.id, &Target::System)
                    .await?
                    .is_empty()
                {
                    return Err(unauthorized("You have no role on the system.".into()));
                }
                Ok(("system".into(), Some("all".into())))
            }
            // `issue_token` redeems a trust before it resolves a scope.
            ScopeRequest::Trust(id) => Err(unauthorized(format!("Trust {id} is not valid."))),
        }
    }

    /// Validates a token (`GET /v3/auth/tokens`, every API call, every page).
    pub async fn validate_token(&self, token: &str) -> Result<TokenInfo> {
        let hash = token_hash(token);
        let ttl = Duration::from_secs(self.cfg.token_cache_secs);
        if let Ok(cache) = self.token_cache.read() {
            if let Some((info, at)) = cache.get(&hash) {
                if at.elapsed() < ttl && info.expires_at > chrono::Utc::now() {
                    return Ok(info.clone());
                }
            }
        }
        let (row, _) = self
            .live_token_row(token)
            .await?
            .ok_or(IdentityError::TokenNotFound)?;
        let info = self
            .token_info(&row)
            .await?
            .ok_or(IdentityError::TokenNotFound)?;
        if let Ok(mut cache) = self.token_cache.write() {
            if cache.len() > 100_000 {
                cache.retain(|_, (_, at)| at.elapsed() < ttl);
            }
            cache.insert(hash, (info.clone(), Instant::now()));
        }
        Ok(info)
    }

    /// `GET /v3/auth/tokens`: another token, validated for a caller. Its own
    /// user, an admin or a service may look (Keystone's
    /// `identity:validate_token`).
    pub async fn validate_subject_token(
        &self,
        caller: &crate::RequestContext,
        subject: &str,
    ) -> Result<TokenInfo> {
        let info = self.validate_token(subject).await?;
        crate::policy::enforce(
            caller,
            &crate::policy::identity::VALIDATE_TOKEN,
            &crate::policy::Target::user(&info.user.id),
        )?;
        Ok(info)
    }

    async fn live_token_row(&self, token: &str) -> Result<Option<(TokenRow, String)>> {
        let hash = token_hash(token);
        let row = sqlx::query("SELECT user_id, scope_type, scope_id, methods, audit_id, parent_audit_id, app_cred_id, trust_id, issued_at, expires_at FROM tokens WHERE id_hash = ? AND revoked = 0 AND expires_at > ?")
            .bind(hash.clone())
            .bind(now_micros())
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((
            TokenRow {
                user_id: r.try_get("user_id")?,
                scope_type: r.try_get("scope_type")?,
                scope_id: r.try_get("scope_id")?,
                methods: r.try_get("methods")?,
                audit_id: r.try_get("audit_id")?,
                parent_audit_id: r.try_get("parent_audit_id")?,
                app_cred_id: r.try_get("app_cred_id")?,
                trust_id: r.try_get("trust_id")?,
                issued_at: r.try_get("issued_at")?,
                expires_at: r.try_get("expires_at")?,
            },
            hash,
        )))
    }

    /// Builds the token body from current state; `None` if anything it
    /// depends on is gone, disabled or no longer grants a role.
    async fn token_info(&self, row: &TokenRow) -> Result<Option<TokenInfo>> {
        let user = match self.user_by_id(&row.user_id).await {
            Ok(u) if u.enabled => u,
            Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let udomain = self.domain_by_id(&user.domain_id).await?;
        if !udomain.enabled {
            return Ok(None);
        }
        let mut info = TokenInfo {
            user: NamedRef {
                id: user.id.clone(),
                name: user.name.clone(),
            },
            user_domain: NamedRef {
                id: udomain.id.clone(),
                name: udomain.name.clone(),
            },
            password_expires_at: None,
            project: None,
            project_domain: None,
            domain: None,
            system: false,
            roles: Vec::new(),
            methods: row.methods.split(',').map(str::to_string).collect(),
            audit_ids: std::iter::once(row.audit_id.clone())
                .chain(row.parent_audit_id.clone())
                .collect(),
            issued_at: micros_to_time(row.issued_at),
            expires_at: micros_to_time(row.expires_at),
            app_cred: None,
            trust: None,
            access_rules: Vec::new(),
        };
        let target = match (row.scope_type.as_str(), &row.scope_id) {
            ("project", Some(pid)) => {
                let p = match self.project_by_id(pid).await {
                    Ok(p) if p.enabled => p,
                    Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let pd = self.domain_by_id(&p.domain_id).await?;
                if !pd.enabled {
                    return Ok(None);
                }
                info.project = Some(NamedRef {
                    id: p.id.clone(),
                    name: p.name.clone(),
                });
                info.project_domain = Some(NamedRef {
                    id: pd.id,
                    name: pd.name,
                });
                Some(Target::Project(p.id))
            }
            ("domain", Some(did)) => {
                let d = match self.domain_by_id(did).await {
                    Ok(d) if d.enabled => d,
                    Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                };
                info.domain = Some(NamedRef {
                    id: d.id.clone(),
                    name: d.name,
                });
                Some(Target::Domain(d.id))
            }
            ("system", _) => {
                info.system = true;
                Some(Target::System)
            }
            _ => None,
        };
        if let Some(trust_id) = &row.trust_id {
            // A trust's token holds the trust's roles, while the trust lives
            // and its trustor still holds them.
            let Some((t, roles)) = self.trust_token_roles(trust_id).await? else {
                return Ok(None);
            };
            info.trust = Some(TrustRef {
                id: t.id,
                impersonation: t.impersonation,
                trustor_user_id: t.trustor_user_id,
                trustee_user_id: t.trustee_user_id,
            });
            info.roles = roles
                .into_iter()
                .map(|r| NamedRef {
                    id: r.id,
                    name: r.name,
                })
                .collect();
            return Ok(Some(info));
        }
        if let Some(target) = target {
            let mut roles = self.effective_roles(&user.id, &target).await?;
            if let Some(cred_id) = &row.app_cred_id {
                let Some(cred) = self.app_credential_row(cred_id).await? else {
                    return Ok(None);
                };
                if cred.expires_at.is_some_and(|e| e <= chrono::Utc::now()) {
                    return Ok(None);
                }
                let allowed: std::collections::BTreeSet<String> = self
                    .implied_closure(&cred.roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
                    .await?;
                roles.retain(|r| allowed.contains(&r.id));
                info.access_rules = cred.access_rules;
                info.app_cred = Some(NamedRef {
                    id: cred.id,
                    name: cred.name,
                });
            }
            if roles.is_empty() {
                return Ok(None);
            }
            info.roles = roles
                .into_iter()
                .map(|r| NamedRef {
                    id: r.id,
                    name: r.name,
                })
                .collect();
        }
        Ok(Some(info))
    }

    /// `DELETE /v3/auth/tokens`: revokes the token and every token rescoped
    /// from it. A user may revoke its own tokens; an admin any.
    pub async fn revoke_token(&self, caller: &TokenInfo, token: &str) -> Result<()> {
        let (row, _) = self
            .live_token_row(token)
            .await?
            .ok_or(IdentityError::TokenNotFound)?;
        if row.user_id != caller.user.id && !caller.roles.iter().any(|r| r.name == "admin") {
            return Err(IdentityError::Forbidden(crate::msg!(
                "error.identity.revoke_own_tokens",
                "You may only revoke your own tokens."
            )));
        }
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE audit_id = ? OR parent_audit_id = ?")
            .bind(row.audit_id.clone())
            .bind(row.audit_id)
            .execute(&self.db.pool)
            .await?;
        self.invalidate_tokens();
        Ok(())
    }

    /// Deletes expired tokens; run periodically by the server.
    pub async fn purge_expired_tokens(&self) -> Result<u64> {
        // Keep a day of history so audit chains of recent tokens stay whole.
        let cutoff = now_micros() - 86_400 * 1_000_000;
        Ok(sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
            .bind(cutoff)
            .execute(&self.db.pool)
            .await?
            .rows_affected())
    }

    /// Whether the account is locked right now (for the login page's message).
    pub async fn is_locked(&self, user_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT locked_until, enabled FROM users WHERE id = ?")
            .bind(user_id.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        Ok(match row {
            Some(r) => {
                r.try_get::<Option<i64>, _>("locked_until")?
                    .is_some_and(|u| u > now_micros())
                    && flag(&r, "enabled")?
            }
            None => false,
        })
    }

    /// The projects a token's user can scope to (`GET /v3/auth/projects`):
    /// enabled projects in enabled domains where the user has a role.
    pub async fn auth_projects(&self, info: &TokenInfo) -> Result<Vec<Project>> {
        let ids = self.user_project_ids(&info.user.id).await?;
        self.projects_by_ids(&ids, true).await
    }

    /// `GET /v3/auth/domains`.
    pub async fn auth_domains(&self, info: &TokenInfo) -> Result<Vec<Domain>> {
        let rows = sqlx::query("SELECT d.id, d.name, d.description, d.enabled FROM domains d WHERE d.enabled = 1 AND d.id IN (SELECT target_id FROM role_assignments WHERE target_type = 'domain' AND inherited = 0 AND ((actor_type = 'user' AND actor_id = ?) OR (actor_type = 'group' AND actor_id IN (SELECT group_id FROM group_members WHERE user_id = ?)))) ORDER BY d.name")
            .bind(info.user.id.clone())
            .bind(info.user.id.clone())
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .iter()
            .map(super::resources::domain_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }
}

impl IdentityError {
    /// Scope failures are 401 in Keystone; keep the reason for the log only.
    fn or_forbidden(self, why: String) -> IdentityError {
        tracing::debug!("token scope refused: {why}");
        self
    }
}
