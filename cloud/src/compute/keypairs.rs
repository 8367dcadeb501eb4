//! Key pairs (Nova's os-keypairs): OpenSSH public keys a user keeps to
//! inject into instances. They belong to a user, not a project; a user's
//! count is checked against its project's `key_pairs` limit.

use md5::{Digest, Md5};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::*;
use crate::db::{is_unique_violation, micros_to_time, now_micros};
use crate::policy::{compute as rules, enforce, Target};
use crate::quota::{OverQuota, Resource, UNLIMITED};
use crate::secret::Secret;
use crate::RequestContext;

/// The comment of a key Gureum generates (Nova writes `Generated-by-Nova`).
const GENERATED_COMMENT: &str = "Generated-by-Gureum";

fn keypair_of(r: &AnyRow) -> Result<KeyPair> {
    Ok(KeyPair {
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        key_type: r.try_get("key_type")?,
        fingerprint: r.try_get("fingerprint")?,
        public_key: r.try_get("public_key")?,
        created_at: micros_to_time(r.try_get("created_at")?),
    })
}

fn invalid_keypair(reason: &str) -> ComputeError {
    ComputeError::Validation(crate::msg!(
        "error.compute.keypair_invalid",
        "Keypair data is invalid: {reason}",
        reason = reason,
    ))
}

fn keypair_not_found(name: &str, user_id: &str) -> ComputeError {
    ComputeError::NotFound(crate::msg!(
        "error.compute.keypair_not_found",
        "Keypair {name} not found for user {user_id}",
        name = name,
        user_id = user_id,
    ))
}

fn keypair_exists(name: &str) -> ComputeError {
    ComputeError::Conflict(crate::msg!(
        "error.compute.keypair_exists",
        "Key pair '{name}' already exists.",
        name = name,
    ))
}

/// Nova 2.92's name rule: 1 to 255 of letters, digits, spaces, `_ - @ .`
/// (older microversions refuse `@` and `.`; the REST adapter checks that).
pub fn valid_keypair_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name.trim() == name
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '@' | '.'))
}

/// Nova's fingerprint of an OpenSSH public key: the MD5 of the key blob in
/// colon hex (`aa:bb:…`). The key must parse; anything else is Nova's
/// "Keypair data is invalid".
pub fn fingerprint(public_key: &str) -> Result<String> {
    let line = public_key.trim();
    ssh_key::PublicKey::from_openssh(line)
        .map_err(|_| invalid_keypair("failed to generate fingerprint"))?;
    let blob = line
        .split_whitespace()
        .nth(1)
        .and_then(|b| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        })
        .ok_or_else(|| invalid_keypair("failed to generate fingerprint"))?;
    let digest = Md5::digest(&blob);
    Ok(digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

impl ComputeService {
    /// A user's key pairs, by name (`user_id`: an admin names another user).
    pub async fn list_keypairs(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
    ) -> Result<Vec<KeyPair>> {
        let user = user_id.unwrap_or(&ctx.user_id);
        enforce(ctx, &rules::KEYPAIRS, &Target::user(user))?;
        let rows = sqlx::query(
            "SELECT user_id, name, key_type, fingerprint, public_key, created_at \
             FROM keypairs WHERE user_id = ? ORDER BY name",
        )
        .bind(user)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(keypair_of).collect()
    }

    pub async fn get_keypair(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
        name: &str,
    ) -> Result<KeyPair> {
        let user = user_id.unwrap_or(&ctx.user_id);
        enforce(ctx, &rules::KEYPAIRS, &Target::user(user))?;
        let row = sqlx::query(
            "SELECT user_id, name, key_type, fingerprint, public_key, created_at \
             FROM keypairs WHERE user_id = ? AND name = ?",
        )
        .bind(user)
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| keypair_not_found(name, user))?;
        keypair_of(&row)
    }

    /// Imports `public_key` or generates an ed25519 pair (whose private
    /// key is answered this once and never stored). The user's key pairs
    /// are counted against the project's `key_pairs` limit under the
    /// project's quota row lock, so concurrent creates cannot pass it.
    pub async fn create_keypair(
        &self,
        ctx: &RequestContext,
        new: NewKeyPair,
    ) -> Result<CreatedKeyPair> {
        let user = new.user_id.clone().unwrap_or_else(|| ctx.user_id.clone());
        enforce(ctx, &rules::KEYPAIRS, &Target::user(&user))?;
        // Nova strips the name before it checks it.
        let name = new.name.trim().to_string();
        if !valid_keypair_name(&name) {
            return Err(ComputeError::Validation(crate::msg!(
                "error.compute.keypair_name_invalid",
                "Invalid input for field/attribute name. Value: {name}. A key pair name is 1 to 255 letters, digits, spaces, '_', '-', '@' or '.'.",
                name = name,
            )));
        }
        let (public_key, private_key) = match new.public_key {
            Some(pk) => {
                let pk = pk.trim().to_string();
                if pk.len() > 4096 {
                    return Err(invalid_keypair(
                        "the public key is longer than 4096 characters",
                    ));
                }
                (pk, None)
            }
            None => {
                let (public, private) = generate()?;
                (public, Some(private))
            }
        };
        let fingerprint = fingerprint(&public_key)?;
        let project = ctx.project_id().map(str::to_string);
        let limit = match &project {
            Some(p) => self.quota.standing(p, Resource::KEY_PAIRS).await?.limit,
            None => self.quota.default_limit(Resource::KEY_PAIRS),
        };
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if let Some(p) = &project {
            // Taking nothing locks the project's key_pairs row: creates of
            // the project queue here, so the count below stays true.
            self.quota
                .consume(&mut tx, p, &[(Resource::KEY_PAIRS, 0)])
                .await?;
        }
        let existing = sqlx::query("SELECT name FROM keypairs WHERE user_id = ?")
            .bind(user.as_str())
            .fetch_all(&mut *tx)
            .await?;
        for r in &existing {
            if r.try_get::<String, _>("name")? == name {
                return Err(keypair_exists(&name));
            }
        }
        let count = i64::try_from(existing.len()).unwrap_or(i64::MAX);
        if limit != UNLIMITED && count >= limit {
            return Err(ComputeError::OverQuota(OverQuota {
                project_id: project.unwrap_or_default(),
                resource: Resource::KEY_PAIRS,
                limit,
                in_use: count,
                reserved: 0,
                requested: 1,
            }));
        }
        let inserted = sqlx::query(
            "INSERT INTO keypairs (user_id, name, key_type, fingerprint, public_key, created_at) \
             VALUES (?, ?, 'ssh', ?, ?, ?)",
        )
        .bind(user.as_str())
        .bind(name.as_str())
        .bind(fingerprint.as_str())
        .bind(public_key.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(keypair_exists(&name)),
            Err(e) => return Err(ComputeError::from(e)),
        }
        tx.commit().await?;
        Ok(CreatedKeyPair {
            keypair: KeyPair {
                user_id: user,
                name,
                key_type: "ssh".into(),
                fingerprint,
                public_key,
                created_at: micros_to_time(now),
            },
            private_key,
        })
    }

    pub async fn delete_keypair(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
        name: &str,
    ) -> Result<()> {
        let user = user_id.unwrap_or(&ctx.user_id);
        enforce(ctx, &rules::KEYPAIRS, &Target::user(user))?;
        let done = sqlx::query("DELETE FROM keypairs WHERE user_id = ? AND name = ?")
            .bind(user)
            .bind(name)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(keypair_not_found(name, user));
        }
        Ok(())
    }

    /// How many key pairs `user_id` has (os-quota-sets' `in_use`).
    pub async fn count_keypairs(&self, user_id: &str) -> Result<i64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM keypairs WHERE user_id = ?")
            .bind(user_id)
            .fetch_one(&self.db.pool)
            .await?
            .try_get("n")?;
        Ok(n)
    }
}

/// A new ed25519 pair: the OpenSSH public line and the OpenSSH private key.
fn generate() -> Result<(String, Secret)> {
    let mut key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(|e| ComputeError::Internal(format!("generating a key pair: {e}")))?;
    key.set_comment(GENERATED_COMMENT);
    let private = key
        .to_openssh(ssh_key::LineEnding::LF)
        .map_err(|e| ComputeError::Internal(format!("encoding a private key: {e}")))?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| ComputeError::Internal(format!("encoding a public key: {e}")))?;
    Ok((public, Secret::new(private.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_nova_s() {
        // `ssh-keygen -l -E md5` of this key prints the same colon hex.
        let (public, private) = generate().expect("generate");
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        assert!(public.ends_with(GENERATED_COMMENT));
        assert!(private
            .expose()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let fp = fingerprint(&public).expect("fingerprint");
        assert_eq!(fp.len(), 47, "{fp}");
        assert_eq!(fp.matches(':').count(), 15);
        assert!(fingerprint("ssh-rsa not-base64!").is_err());
        assert!(fingerprint("garbage").is_err());
        assert!(fingerprint("").is_err());
    }

    #[test]
    fn names_follow_nova_2_92() {
        assert!(valid_keypair_name("my key_1-a"));
        assert!(valid_keypair_name("alice@laptop.local"));
        assert!(!valid_keypair_name(""));
        assert!(!valid_keypair_name("a/b"));
        assert!(!valid_keypair_name("키"));
        assert!(!valid_keypair_name(&"k".repeat(256)));
    }
}
