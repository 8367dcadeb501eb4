//! The image service's cleanup after a deleted project: its images (data
//! included), its memberships of other projects' images, and its image
//! quota rows.

use async_trait::async_trait;
use sqlx::Row;

use super::*;
use crate::lifecycle::{LifecycleError, ProjectLifecycle};

const IMAGE_RESOURCES: &[Resource] = &[Resource::IMAGE_COUNT_TOTAL, Resource::IMAGE_SIZE_TOTAL];

impl ImageService {
    /// Deletes everything the image service keeps for `project_id`. Every
    /// image goes, protected or public ones too: no project remains that
    /// could manage them. Idempotent.
    pub async fn purge_project(&self, project_id: &str) -> Result<usize> {
        let ids: Vec<String> = sqlx::query("SELECT id FROM images WHERE owner = ?")
            .bind(project_id)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        for id in &ids {
            self.delete_record(id).await?;
            if let Err(e) = self.store.delete(id).await {
                tracing::error!(image = %id, error = %e, "could not remove the data of a deleted project's image");
            }
        }
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM image_tasks WHERE owner = ?")
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM image_members WHERE member = ?")
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        self.quota
            .forget_project(&mut tx, project_id, IMAGE_RESOURCES)
            .await?;
        tx.commit().await?;
        if !ids.is_empty() {
            tracing::info!(project = %project_id, images = ids.len(), "deleted the images of a deleted project");
        }
        Ok(ids.len())
    }

    /// Every project the image service keeps something for.
    pub async fn image_project_owners(&self) -> Result<Vec<String>> {
        let marks = vec!["?"; IMAGE_RESOURCES.len()].join(", ");
        let sql = format!(
            "SELECT owner AS p FROM images WHERE owner IS NOT NULL \
             UNION SELECT member AS p FROM image_members \
             UNION SELECT project_id AS p FROM quota_usage WHERE resource IN ({marks}) \
             UNION SELECT project_id AS p FROM quota_limits WHERE resource IN ({marks})"
        );
        let mut q = sqlx::query(&sql);
        for _ in 0..2 {
            for r in IMAGE_RESOURCES {
                q = q.bind(r.name());
            }
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("p"))
            .collect::<std::result::Result<_, _>>()?)
    }
}

#[async_trait]
impl ProjectLifecycle for ImageService {
    fn service(&self) -> &'static str {
        "image"
    }

    async fn on_project_deleted(
        &self,
        project_id: &str,
    ) -> std::result::Result<(), LifecycleError> {
        self.purge_project(project_id)
            .await
            .map(|_| ())
            .map_err(|e| LifecycleError {
                service: "image",
                project_id: project_id.to_string(),
                source: Box::new(e),
            })
    }

    async fn project_owners(&self) -> std::result::Result<Vec<String>, LifecycleError> {
        self.image_project_owners()
            .await
            .map_err(|e| LifecycleError {
                service: "image",
                project_id: String::new(),
                source: Box::new(e),
            })
    }
}
