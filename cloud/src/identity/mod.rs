//! The identity service (Keystone): domains, projects, users, groups, roles,
//! role assignments, tokens, application credentials and the catalog.

mod appcred;
mod assignments;
mod auth;
mod bootstrap;
mod catalog;
mod config;
mod error;
pub mod model;
mod password;
mod resources;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use base64::Engine;
use rand::RngCore;
use sqlx::any::AnyRow;
use sqlx::Row;

pub use bootstrap::{BootstrapReport, BootstrapRequest};
pub use catalog::{CatalogSpec, IDENTITY_CATALOG};
pub use config::IdentityConfig;
pub use error::{IdentityError, Result, KINDS as ERROR_KINDS};
pub use model::*;

use crate::Db;

/// The identity service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct IdentityService {
    db: Db,
    cfg: Arc<IdentityConfig>,
    hasher: password::Hasher,
    password_regex: Arc<regex::Regex>,
    token_cache: Arc<RwLock<HashMap<String, (TokenInfo, Instant)>>>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService")
            .field("backend", &self.db.backend)
            .finish()
    }
}

impl IdentityService {
    pub fn new(db: Db, cfg: IdentityConfig) -> Result<IdentityService> {
        let password_regex = regex::Regex::new(&cfg.password_regex)
            .map_err(|e| IdentityError::Internal(format!("password_regex: {e}")))?;
        Ok(IdentityService {
            hasher: password::Hasher::new(&cfg)?,
            db,
            cfg: Arc::new(cfg),
            password_regex: Arc::new(password_regex),
            token_cache: Arc::new(RwLock::new(HashMap::new())),
        })
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.cfg
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Forgets every cached token validation; called after any change that
    /// can alter what a token grants (roles, enabled flags, revocations).
    fn invalidate_tokens(&self) {
        if let Ok(mut cache) = self.token_cache.write() {
            cache.clear();
        }
    }
}

/// 32 hex characters, Keystone's id format for identity objects.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A random URL-safe string of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn flag(row: &AnyRow, col: &str) -> std::result::Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

fn validate_name(kind: &str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IdentityError::Validation(format!(
            "The {kind} name must not be empty."
        )));
    }
    if name.chars().count() > 255 {
        return Err(IdentityError::Validation(format!(
            "The {kind} name must be at most 255 characters."
        )));
    }
    crate::text::check_name(&format!("{kind} name"), name).map_err(IdentityError::Validation)?;
    Ok(name.to_string())
}

fn validate_description(d: &str) -> Result<String> {
    if d.chars().count() > 1024 {
        return Err(IdentityError::Validation(
            "The description must be at most 1024 characters.".into(),
        ));
    }
    crate::text::check_text("description", d).map_err(IdentityError::Validation)?;
    Ok(d.to_string())
}
