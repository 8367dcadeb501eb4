//! Credentials (`/v3/credentials`) and EC2 credentials
//! (`/v3/users/{id}/credentials/OS-EC2`), as Keystone keeps them.
//!
//! A credential is a user's (optionally a project's) blob of a `type`;
//! Keystone seals blobs with its fernet credential keys, Gureum with the
//! server's credential key (ChaCha20-Poly1305, the credential's id as
//! associated data so a blob cannot be moved to another row). The keys live
//! in `[identity] credential_key_file`, one base64 key per line: the first
//! seals, every one opens (rotation: put a new key first, keep the old ones
//! until every blob has been rewritten). A missing file is created with a
//! fresh key at first use; servers sharing a database need the same file.
//!
//! An EC2 credential is a credential of type `ec2` whose blob is JSON with
//! `access` and `secret`; its id is the SHA-256 of the access key, so the
//! OS-EC2 API finds it by access key.

use std::io::Write;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::error::{IdentityError, Result};
use super::{new_id, IdentityService};
use crate::policy::{allows, enforce, identity as rules, Target as PolicyTarget};
use crate::secret::Secret;
use crate::RequestContext;

/// The largest blob accepted, in bytes (sealed and encoded it must fit the
/// column).
pub const MAX_CREDENTIAL_BLOB: usize = 4096;

#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub r#type: String,
    /// The blob as the client gave it (holds secrets: never logged).
    pub blob: Secret,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("type", &self.r#type)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewCredential {
    pub user_id: String,
    pub project_id: Option<String>,
    pub r#type: String,
    pub blob: Secret,
}

#[derive(Debug, Clone, Default)]
pub struct CredentialUpdate {
    pub user_id: Option<String>,
    pub project_id: Option<Option<String>>,
    pub r#type: Option<String>,
    pub blob: Option<Secret>,
}

/// An EC2 credential as the OS-EC2 API shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Ec2Credential {
    pub user_id: String,
    pub project_id: Option<String>,
    pub access: String,
    pub secret: Secret,
    pub trust_id: Option<String>,
}

impl std::fmt::Debug for Ec2Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Credential")
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("access", &self.access)
            .finish()
    }
}

/// Keystone's id of an EC2 credential: the hex SHA-256 of its access key.
pub fn ec2_credential_id(access: &str) -> String {
    hex::encode(Sha256::digest(access.as_bytes()))
}

/// The server's credential keys: the first seals, all open.
pub(crate) struct CredentialKeys {
    keys: Vec<(String, ChaCha20Poly1305)>,
}

impl CredentialKeys {
    fn parse(text: &str) -> std::result::Result<CredentialKeys, String> {
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(line)
                .map_err(|e| format!("a key is not base64: {e}"))?;
            if raw.len() != 32 {
                return Err(format!("a key is {} bytes, not 32", raw.len()));
            }
            let hash = hex::encode(Sha256::digest(&raw));
            keys.push((hash, ChaCha20Poly1305::new(Key::from_slice(&raw))));
        }
        if keys.is_empty() {
            return Err("the file holds no key".into());
        }
        Ok(CredentialKeys { keys })
    }

    /// Reads the key file, creating it with a fresh key when it is missing.
    fn load(path: &str) -> std::result::Result<CredentialKeys, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => CredentialKeys::parse(&text).map_err(|e| format!("{path}: {e}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut raw = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut raw);
                let line = base64::engine::general_purpose::STANDARD.encode(raw);
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|e| format!("{path}: {e}"))?;
                    }
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                match opts.open(path) {
                    Ok(mut f) => {
                        f.write_all(format!("{line}\n").as_bytes())
                            .map_err(|e| format!("{path}: {e}"))?;
                        tracing::warn!(path, "created a new credential key; every server on this database needs the same file");
                        CredentialKeys::parse(&line)
                    }
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text =
                            std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                        CredentialKeys::parse(&text).map_err(|e| format!("{path}: {e}"))
                    }
                    Err(e) => Err(format!("{path}: {e}")),
                }
            }
            Err(e) => Err(format!("{path}: {e}")),
        }
    }

    /// `(sealed, key_hash)`: base64 of nonce ‖ ciphertext, and which key.
    fn seal(&self, id: &str, plain: &str) -> Result<(String, String)> {
        let (hash, cipher) = self
            .keys
            .first()
            .ok_or_else(|| IdentityError::Internal("no credential key".into()))?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| IdentityError::Internal("credential encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok((
            base64::engine::general_purpose::STANDARD.encode(out),
            hash.clone(),
        ))
    }

    fn open(&self, id: &str, sealed: &str, key_hash: &str) -> Result<String> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(h, _)| h == key_hash)
            .ok_or_else(|| {
                IdentityError::Internal(format!(
                    "credential {id} was sealed with a key that is not in the key file"
                ))
            })?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|e| IdentityError::Internal(format!("credential {id}: {e}")))?;
        if raw.len() < 12 {
            return Err(IdentityError::Internal(format!(
                "credential {id}: too short"
            )));
        }
        let (nonce, body) = raw.split_at(12);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| IdentityError::Internal(format!("credential {id} does not open")))?;
        String::from_utf8(plain)
            .map_err(|_| IdentityError::Internal(format!("credential {id}: not UTF-8")))
    }
}

fn validate_type(t: &str) -> Result<String> {
    let n = t.chars().count();
    if n == 0 || n > 255 || t.chars().any(char::is_control) {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.credential.type",
            "A credential's type must be 1 to 255 characters without control characters."
        )));
    }
    Ok(t.to_string())
}

fn validate_blob(b: &Secret) -> Result<()> {
    if b.expose().len() > MAX_CREDENTIAL_BLOB {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.credential.blob_too_long",
            "A credential's blob must be at most {max} bytes.",
            max = MAX_CREDENTIAL_BLOB,
        )));
    }
    Ok(())
}

/// An `ec2` blob: JSON with a string `access`.
fn ec2_access(blob: &Secret) -> Result<String> {
    let bad = || {
        IdentityError::Validation(crate::msg!(
            "error.identity.credential.ec2_blob",
            "An ec2 credential's blob must be JSON with an access key (\"access\")."
        ))
    };
    let v: serde_json::Value = serde_json::from_str(blob.expose()).map_err(|_| bad())?;
    v.get("access")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .ok_or_else(bad)
}

fn ec2_needs_project() -> IdentityError {
    IdentityError::Validation(crate::msg!(
        "error.identity.credential.ec2_project",
        "An ec2 credential needs a project_id."
    ))
}

const COLUMNS: &str = "id, user_id, project_id, type, encrypted_blob, key_hash";

impl IdentityService {
    async fn credential_keys(&self) -> Result<&CredentialKeys> {
        let path = self.cfg.credential_key_file.clone();
        self.credential_keys
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || CredentialKeys::load(&path))
                    .await
                    .map_err(|e| IdentityError::Internal(format!("credential keys: {e}")))?
                    .map_err(|e| IdentityError::Internal(format!("credential keys: {e}")))
            })
            .await
    }

    async fn credential_from(&self, r: &sqlx::any::AnyRow) -> Result<Credential> {
        let id: String = r.try_get("id")?;
        let sealed: String = r.try_get("encrypted_blob")?;
        let key_hash: String = r.try_get("key_hash")?;
        let blob = self
            .credential_keys()
            .await?
            .open(&id, &sealed, &key_hash)?;
        Ok(Credential {
            id,
            user_id: r.try_get("user_id")?,
            project_id: r.try_get("project_id")?,
            r#type: r.try_get("type")?,
            blob: Secret::new(blob),
        })
    }

    async fn credential_row(&self, id: &str) -> Result<Credential> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM credentials WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| IdentityError::not_found("credential", id))?;
        self.credential_from(&r).await
    }

    /// The user exists, and the project if one is named (a 400 otherwise:
    /// the credential would name nothing).
    async fn check_credential_owner(&self, user_id: &str, project_id: Option<&str>) -> Result<()> {
        let invalid = |object: &'static str, id: &str| {
            IdentityError::Validation(crate::msg!(
                "error.identity.credential.no_such",
                "The credential names the {object} {id}, which does not exist.",
                object = object,
                id = id,
            ))
        };
        self.user_by_id(user_id).await.map_err(|e| match e {
            IdentityError::NotFound { .. } => invalid("user", user_id),
            other => other,
        })?;
        if let Some(p) = project_id {
            self.project_by_id(p).await.map_err(|e| match e {
                IdentityError::NotFound { .. } => invalid("project", p),
                other => other,
            })?;
        }
        Ok(())
    }

    async fn insert_credential(&self, c: &Credential) -> Result<()> {
        let (sealed, key_hash) = self.credential_keys().await?.seal(&c.id, c.blob.expose())?;
        let res = sqlx::query("INSERT INTO credentials (id, user_id, project_id, type, encrypted_blob, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(c.id.clone())
            .bind(c.user_id.clone())
            .bind(c.project_id.clone())
            .bind(c.r#type.clone())
            .bind(sealed)
            .bind(key_hash)
            .bind(crate::db::now_micros())
            .execute(&self.db.pool)
            .await;
        match res {
            Err(e) if crate::db::is_unique_violation(&e) => Err(IdentityError::Conflict {
                kind: "credential",
                detail: crate::msg!(
                    "error.identity.credential.duplicate",
                    "a credential with the id {id} already exists",
                    id = c.id.clone(),
                ),
            }),
            Err(e) => Err(IdentityError::from(e)),
            Ok(_) => Ok(()),
        }
    }

    pub async fn create_credential(
        &self,
        ctx: &RequestContext,
        req: NewCredential,
    ) -> Result<Credential> {
        enforce(
            ctx,
            &rules::CREATE_CREDENTIAL,
            &PolicyTarget::user(&req.user_id),
        )?;
        let r#type = validate_type(&req.r#type)?;
        validate_blob(&req.blob)?;
        let id = if r#type == "ec2" {
            if req.project_id.is_none() {
                return Err(ec2_needs_project());
            }
            ec2_credential_id(&ec2_access(&req.blob)?)
        } else {
            new_id()
        };
        self.check_credential_owner(&req.user_id, req.project_id.as_deref())
            .await?;
        let c = Credential {
            id,
            user_id: req.user_id,
            project_id: req.project_id,
            r#type,
            blob: req.blob,
        };
        self.insert_credential(&c).await?;
        Ok(c)
    }

    /// The credentials the caller may see (an admin: all; anyone else:
    /// its own), optionally of one user and one type.
    pub async fn list_credentials(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
        r#type: Option<&str>,
    ) -> Result<Vec<Credential>> {
        enforce(
            ctx,
            &rules::LIST_CREDENTIALS,
            &PolicyTarget::user(user_id.unwrap_or(&ctx.user_id)),
        )?;
        let mut sql = format!("SELECT {COLUMNS} FROM credentials WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(u) = user_id {
            sql.push_str(" AND user_id = ?");
            binds.push(u.to_string());
        }
        if let Some(t) = r#type {
            sql.push_str(" AND type = ?");
            binds.push(t.to_string());
        }
        sql.push_str(" ORDER BY id");
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        let mut out = Vec::new();
        for r in &rows {
            let owner: String = r.try_get("user_id")?;
            if allows(ctx, &rules::GET_CREDENTIAL, &PolicyTarget::user(&owner)) {
                out.push(self.credential_from(r).await?);
            }
        }
        Ok(out)
    }

    pub async fn get_credential(&self, ctx: &RequestContext, id: &str) -> Result<Credential> {
        let c = self.credential_row(id).await;
        // Refuse before telling whether it exists.
        let owner = c.as_ref().map(|c| c.user_id.as_str()).unwrap_or("");
        enforce(ctx, &rules::GET_CREDENTIAL, &PolicyTarget::user(owner))?;
        c
    }

    pub async fn update_credential(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: CredentialUpdate,
    ) -> Result<Credential> {
        let current = self.credential_row(id).await;
        let owner = current.as_ref().map(|c| c.user_id.as_str()).unwrap_or("");
        enforce(ctx, &rules::UPDATE_CREDENTIAL, &PolicyTarget::user(owner))?;
        let mut c = current?;
        if let Some(u) = req.user_id {
            enforce(ctx, &rules::UPDATE_CREDENTIAL, &PolicyTarget::user(&u))?;
            c.user_id = u;
        }
        if let Some(p) = req.project_id {
            c.project_id = p;
        }
        if let Some(t) = req.r#type {
            c.r#type = validate_type(&t)?;
        }
        if let Some(b) = req.blob {
            validate_blob(&b)?;
            c.blob = b;
        }
        if c.r#type == "ec2" {
            if c.project_id.is_none() {
                return Err(ec2_needs_project());
            }
            ec2_access(&c.blob)?;
        }
        self.check_credential_owner(&c.user_id, c.project_id.as_deref())
            .await?;
        let (sealed, key_hash) = self.credential_keys().await?.seal(&c.id, c.blob.expose())?;
        let n = sqlx::query("UPDATE credentials SET user_id = ?, project_id = ?, type = ?, encrypted_blob = ?, key_hash = ? WHERE id = ?")
            .bind(c.user_id.clone())
            .bind(c.project_id.clone())
            .bind(c.r#type.clone())
            .bind(sealed)
            .bind(key_hash)
            .bind(c.id.clone())
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found("credential", id));
        }
        Ok(c)
    }

    pub async fn delete_credential(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let owner: Option<String> = sqlx::query("SELECT user_id FROM credentials WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .map(|r| r.try_get("user_id"))
            .transpose()?;
        enforce(
            ctx,
            &rules::DELETE_CREDENTIAL,
            &PolicyTarget::user(owner.as_deref().unwrap_or("")),
        )?;
        let n = sqlx::query("DELETE FROM credentials WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(IdentityError::not_found("credential", id));
        }
        Ok(())
    }

    // ------------------------------------------------------------ OS-EC2

    fn ec2_from(c: &Credential) -> Result<Ec2Credential> {
        let v: serde_json::Value = serde_json::from_str(c.blob.expose())
            .map_err(|e| IdentityError::Internal(format!("ec2 credential {}: {e}", c.id)))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Ok(Ec2Credential {
            user_id: c.user_id.clone(),
            project_id: c.project_id.clone(),
            access: s("access").unwrap_or_default(),
            secret: Secret::new(s("secret").unwrap_or_default()),
            trust_id: s("trust_id"),
        })
    }

    /// A new EC2 key pair for `user_id` on `project_id`: random access and
    /// secret, stored as a credential of type `ec2`.
    pub async fn create_ec2_credential(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        project_id: &str,
    ) -> Result<Ec2Credential> {
        enforce(
            ctx,
            &rules::EC2_CREATE_CREDENTIAL,
            &PolicyTarget::user(user_id),
        )?;
        self.project_by_id(project_id).await?;
        self.user_by_id(user_id).await?;
        let access = new_id();
        let secret = new_id();
        let blob = serde_json::json!({
            "access": access,
            "secret": secret,
            "trust_id": null,
            "app_cred_id": null,
            "access_token_id": null,
        });
        let c = Credential {
            id: ec2_credential_id(&access),
            user_id: user_id.to_string(),
            project_id: Some(project_id.to_string()),
            r#type: "ec2".into(),
            blob: Secret::new(blob.to_string()),
        };
        self.insert_credential(&c).await?;
        Self::ec2_from(&c)
    }

    pub async fn list_ec2_credentials(
        &self,
        ctx: &RequestContext,
        user_id: &str,
    ) -> Result<Vec<Ec2Credential>> {
        enforce(
            ctx,
            &rules::EC2_LIST_CREDENTIALS,
            &PolicyTarget::user(user_id),
        )?;
        self.user_by_id(user_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM credentials WHERE user_id = ? AND type = 'ec2' ORDER BY id"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            out.push(Self::ec2_from(&self.credential_from(r).await?)?);
        }
        Ok(out)
    }

    /// The user's EC2 credential with this access key (404 when it is
    /// another user's).
    async fn ec2_of_user(&self, user_id: &str, access: &str) -> Result<Credential> {
        let c = self
            .credential_row(&ec2_credential_id(access))
            .await
            .map_err(|e| match e {
                IdentityError::NotFound { .. } => IdentityError::not_found("credential", access),
                other => other,
            })?;
        if c.user_id != user_id || c.r#type != "ec2" {
            return Err(IdentityError::not_found("credential", access));
        }
        Ok(c)
    }

    pub async fn get_ec2_credential(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        access: &str,
    ) -> Result<Ec2Credential> {
        enforce(
            ctx,
            &rules::EC2_GET_CREDENTIAL,
            &PolicyTarget::user(user_id),
        )?;
        Self::ec2_from(&self.ec2_of_user(user_id, access).await?)
    }

    pub async fn delete_ec2_credential(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        access: &str,
    ) -> Result<()> {
        enforce(
            ctx,
            &rules::EC2_DELETE_CREDENTIAL,
            &PolicyTarget::user(user_id),
        )?;
        let c = self.ec2_of_user(user_id, access).await?;
        sqlx::query("DELETE FROM credentials WHERE id = ?")
            .bind(c.id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_blob_opens_only_for_its_id_and_key() {
        let keys =
            CredentialKeys::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
                .expect("keys");
        let (sealed, hash) = keys.seal("cred-1", "{\"secret\":\"s3\"}").expect("seal");
        assert!(!sealed.contains("s3"));
        assert_eq!(
            keys.open("cred-1", &sealed, &hash).expect("open"),
            "{\"secret\":\"s3\"}"
        );
        assert!(
            keys.open("cred-2", &sealed, &hash).is_err(),
            "bound to its id"
        );
        assert!(keys.open("cred-1", &sealed, "other").is_err());
        assert!(CredentialKeys::parse("c2hvcnQ=").is_err(), "32 bytes");
    }

    #[test]
    fn an_ec2_id_is_the_sha256_of_its_access_key() {
        assert_eq!(
            ec2_credential_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
