//! Download grants: how a compute node reads the image of an instance it
//! builds without holding a user's token or a service password.
//!
//! Nova sends the user's token to the node and falls back to a service
//! user; a node that is broken into then holds credentials good for
//! everything those users may do. A grant opens one image's data, read-only,
//! for a few minutes, and is worthless for anything else. The compute
//! service makes one per image when it sends a spawn, after checking that
//! the instance's owner may use the image; the database keeps only its
//! SHA-256, so grants work on every server sharing it.

use std::time::Duration;

use sqlx::Row;

use super::error::{ImageError, Result};
use super::model::{ByteRange, ImageStatus};
use super::transfer::ImageDownload;
use super::ImageService;
use crate::db::now_micros;
use crate::identity::random_token;
use crate::secret::Secret;
use crate::RequestContext;

/// Stored as tokens are: their SHA-256, hex.
fn grant_hash(grant: &str) -> String {
    crate::identity::token_key(grant)
}

impl ImageService {
    /// A grant to read `image_id`'s data for `ttl`. Expired grants are
    /// removed on the way, so the table holds only live ones.
    pub async fn grant_download(&self, image_id: &str, ttl: Duration) -> Result<Secret> {
        let now = now_micros();
        let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM image_download_grants WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.db.pool)
            .await?;
        let grant = random_token(32);
        sqlx::query(
            "INSERT INTO image_download_grants (id_hash, image_id, expires_at) VALUES (?, ?, ?)",
        )
        .bind(grant_hash(&grant))
        .bind(image_id.to_string())
        .bind(now.saturating_add(ttl))
        .execute(&self.db.pool)
        .await?;
        Ok(Secret::new(grant))
    }

    /// The data of `image_id` for the holder of `grant`, as
    /// [`ImageService::download`] gives it to a user who may see the image.
    pub async fn download_granted(
        &self,
        grant: &str,
        image_id: &str,
        range: Option<ByteRange>,
    ) -> Result<ImageDownload> {
        let row = sqlx::query(
            "SELECT image_id FROM image_download_grants WHERE id_hash = ? AND expires_at > ?",
        )
        .bind(grant_hash(grant))
        .bind(now_micros())
        .fetch_optional(&self.db.pool)
        .await?;
        let granted: Option<String> = row.map(|r| r.try_get("image_id")).transpose()?;
        if granted.as_deref() != Some(image_id) {
            return Err(ImageError::GrantRefused);
        }
        // The grant stands for the owner's right, checked when it was made;
        // a deactivated image stays closed to it, as it is to the owner.
        if self.image_by_id(image_id).await?.status == ImageStatus::Deactivated {
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.deactivated",
                "The requested image has been deactivated. Image data download is forbidden."
            )));
        }
        self.download(&RequestContext::internal(), image_id, range)
            .await
    }
}
