//! argon2id hashing in PHC form, off the async runtime.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

use super::error::{IdentityError, Result};
use super::IdentityConfig;
use crate::secret::Secret;

#[derive(Clone, Debug)]
pub struct Hasher {
    params: Params,
    /// A real hash of a random password, verified against when the user
    /// does not exist so timing does not reveal that.
    dummy: String,
}

impl Hasher {
    pub fn new(cfg: &IdentityConfig) -> Result<Hasher> {
        let params = Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| IdentityError::Internal(format!("argon2 parameters: {e}")))?;
        let mut h = Hasher {
            params,
            dummy: String::new(),
        };
        h.dummy = h.hash_sync(&super::random_token(24))?;
        Ok(h)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_sync(&self, password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| IdentityError::Internal(format!("argon2: {e}")))
    }

    pub async fn hash(&self, password: &Secret) -> Result<String> {
        let this = self.clone();
        let pw = password.clone();
        tokio::task::spawn_blocking(move || this.hash_sync(pw.expose()))
            .await
            .map_err(|e| IdentityError::Internal(e.to_string()))?
    }

    /// Verifies against `hash`, or against a dummy when there is none.
    pub async fn verify(&self, password: &Secret, hash: Option<&str>) -> bool {
        let this = self.clone();
        let pw = password.clone();
        let known = hash.is_some();
        let hash = hash
            .map(str::to_string)
            .unwrap_or_else(|| self.dummy.clone());
        let ok = tokio::task::spawn_blocking(move || {
            // Parameters come from the stored PHC string, so old hashes keep verifying.
            PasswordHash::new(&hash)
                .map(|parsed| {
                    this.argon()
                        .verify_password(pw.expose().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && known
    }
}
