//! Interoperable image import (Glance's `/v2/images/{id}/import`) and the
//! task records that report on it (`/v2/tasks`, `/v2/images/{id}/tasks`).
//!
//! Staging (`PUT …/stage`) runs the one upload pipeline of `transfer`
//! (limits, quota, hashes, format inspection, atomic commit) and leaves the
//! image `uploading`; `glance-direct` then makes it `active` and records a
//! successful `api_image_import` task in one transaction. `web-download`
//! fetches the data itself (`web_download`). The legacy `import` task type
//! (`POST /v2/tasks`, deprecated in Glance in favour of interoperable
//! import) is not run: its URI is refused as Glance's import filter refuses
//! one outside its allowed hosts.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::*;
use crate::db::now_micros;

/// The task type of an interoperable import.
pub const API_IMAGE_IMPORT: &str = "api_image_import";

/// Glance's `limit_param_default` and `api_limit_max` for task lists.
const TASK_LIMIT_DEFAULT: i64 = 25;
const TASK_LIMIT_MAX: i64 = 1000;

/// The stored task input (`image_tasks.input`); the client's request is
/// most of it.
const MAX_TASK_INPUT: usize = 8192;

const TASK_COLS: &str = "id, task_type, status, owner, image_id, user_id, request_id, input, \
     result, message, created_at, updated_at, expires_at";

fn task_row(r: &AnyRow) -> Result<ImageTask> {
    let status: String = r.try_get("status")?;
    let input: String = r.try_get("input")?;
    let result: Option<String> = r.try_get("result")?;
    let expires: Option<i64> = r.try_get("expires_at")?;
    Ok(ImageTask {
        id: r.try_get("id")?,
        task_type: r.try_get("task_type")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| ImageError::Internal(format!("bad task status {status}")))?,
        owner: r.try_get("owner")?,
        image_id: r.try_get("image_id")?,
        user_id: r.try_get("user_id")?,
        request_id: r.try_get("request_id")?,
        input: serde_json::from_str(&input)
            .map_err(|e| ImageError::Internal(format!("bad task input: {e}")))?,
        result: result
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| ImageError::Internal(format!("bad task result: {e}")))?,
        message: r.try_get("message")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
        expires_at: expires.map(micros_to_time),
    })
}

/// A new import task's id and its stored input (the client's request is
/// most of it).
fn import_task_input(image: &Image, request: &serde_json::Value) -> Result<(String, String)> {
    let task_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let input = serde_json::json!({
        "image_id": image.id,
        "import_req": request,
        "backend": serde_json::Value::Null,
    })
    .to_string();
    if input.chars().count() > MAX_TASK_INPUT {
        return Err(ImageError::Validation(crate::msg!(
            "error.image.import_request_too_long",
            "The import request must be at most {max} characters.",
            max = MAX_TASK_INPUT - 200,
        )));
    }
    Ok((task_id, input))
}

/// An `api_image_import` task about to be recorded.
pub(super) struct NewImportTask<'a> {
    pub id: &'a str,
    pub status: TaskStatus,
    pub input: &'a str,
    pub result: Option<String>,
    pub at: i64,
}

impl NewImportTask<'_> {
    /// Inserts the task, in the transaction that moves its image.
    pub(super) async fn insert(
        self,
        tx: &mut crate::db::WriteTx,
        ctx: &RequestContext,
        image: &Image,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO image_tasks (id, task_type, status, owner, image_id, user_id, request_id, \
             input, result, message, created_at, updated_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, NULL)",
        )
        .bind(self.id)
        .bind(API_IMAGE_IMPORT)
        .bind(self.status.as_str())
        .bind(image.owner.as_deref())
        .bind(image.id.as_str())
        .bind(ctx.user_id.as_str())
        .bind(ctx.request_id.as_str())
        .bind(self.input)
        .bind(self.result)
        .bind(self.at)
        .bind(self.at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

fn task_not_found(id: &str) -> ImageError {
    ImageError::MemberNotFound(crate::msg!(
        "error.image.task_not_found",
        "Task with the given ID {id} was not found.",
        id = id,
    ))
}

/// The refusal of a legacy import task's URI: Glance accepts only http(s),
/// then applies its import filter; no legacy task is run here.
fn refuse_import_uri(uri: Option<&str>) -> ImageError {
    let uri = uri.unwrap_or_default();
    if !(uri.starts_with("http://") || uri.starts_with("https://")) {
        return ImageError::Validation(crate::msg!(
            "error.image.import_uri_scheme",
            "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http', 'https']."
        ));
    }
    ImageError::Validation(crate::msg!(
        "error.image.import_uri_filtered",
        "URI for import does not pass filtering: {uri}",
        uri = uri,
    ))
}

impl ImageService {
    /// `POST /v2/images/{id}/import`. `request` is the client's body
    /// (`{"method": {"name": …}, "all_stores": …}`), kept as the task's
    /// `import_req`. `glance-direct` needs staged data (`uploading`); the
    /// image becomes `active` and a successful task is recorded, together.
    pub async fn import_image(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        request: serde_json::Value,
    ) -> Result<ImageTask> {
        let image = self
            .image_for_change(ctx, image_id, &rules::IMPORT_IMAGE)
            .await?;
        let method = request
            .get("method")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string();
        if request.get("stores").is_some_and(|s| !s.is_null()) {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.import_stores",
                "Multi backend is not supported at this site: stores cannot be named."
            )));
        }
        match method.as_str() {
            "glance-direct" => {}
            "web-download" => {}
            _ => {
                return Err(ImageError::Validation(crate::msg!(
                    "error.image.import_method",
                    "Import method {method} is not valid; this site offers: {offered}.",
                    method = method,
                    offered = self.import_methods().join(", "),
                )))
            }
        }
        if method == "web-download" {
            let uri = request
                .get("method")
                .and_then(|m| m.get("uri"))
                .and_then(|u| u.as_str())
                .unwrap_or_default()
                .to_string();
            let (task_id, input) = import_task_input(&image, &request)?;
            self.start_web_download(ctx, &image, &uri, &task_id, &input)
                .await?;
            return self.task_by_id(&task_id).await;
        }
        if image.status != ImageStatus::Uploading {
            return Err(ImageError::Conflict(crate::msg!(
                "error.image.import_not_staged",
                "Image needs to be staged before 'glance-direct' method can be used (its status is {status}).",
                status = image.status,
            )));
        }
        let now = now_micros();
        let (task_id, input) = import_task_input(&image, &request)?;
        let result = serde_json::json!({"image_id": image.id});
        let mut tx = self.db.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE images SET status = 'active', updated_at = ? WHERE id = ? AND status = 'uploading'",
        )
        .bind(now)
        .bind(image.id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(ImageError::Conflict(crate::msg!(
                "error.image.import_busy",
                "Image {id} is no longer waiting for its import.",
                id = image.id,
            )));
        }
        let task = NewImportTask {
            id: &task_id,
            status: TaskStatus::Success,
            input: &input,
            result: Some(result.to_string()),
            at: now,
        };
        task.insert(&mut tx, ctx, &image).await?;
        tx.commit().await?;
        self.task_by_id(&task_id).await
    }

    /// `POST /v2/tasks` (admins): Glance's legacy `import` task, which
    /// fetches `input.import_from`. Not offered (see the module note): its
    /// URI is refused before anything is created, as newer Glance refuses
    /// a bad one.
    pub async fn create_task(
        &self,
        ctx: &RequestContext,
        task_type: &str,
        input: &serde_json::Value,
    ) -> Result<ImageTask> {
        enforce(ctx, &rules::TASKS_API_ACCESS, &Target::none())?;
        if task_type != "import" {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.task_type",
                "Invalid type value: {task_type}",
                task_type = task_type,
            )));
        }
        Err(refuse_import_uri(
            input.get("import_from").and_then(|u| u.as_str()),
        ))
    }

    /// `GET /v2/tasks/{id}` (admins).
    pub async fn get_task(&self, ctx: &RequestContext, id: &str) -> Result<ImageTask> {
        enforce(ctx, &rules::TASKS_API_ACCESS, &Target::none())?;
        self.task_by_id(id).await
    }

    async fn task_by_id(&self, id: &str) -> Result<ImageTask> {
        let row = sqlx::query(&format!("SELECT {TASK_COLS} FROM image_tasks WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| task_not_found(id))?;
        task_row(&row)
    }

    /// `GET /v2/tasks` (admins): every project's tasks, newest first;
    /// `marker` is the last task of the previous page.
    pub async fn list_tasks(&self, ctx: &RequestContext, f: &TaskFilter) -> Result<Vec<ImageTask>> {
        enforce(ctx, &rules::TASKS_API_ACCESS, &Target::none())?;
        let limit = f
            .limit
            .unwrap_or(TASK_LIMIT_DEFAULT)
            .clamp(0, TASK_LIMIT_MAX);
        let mut conds: Vec<&str> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut marker: Option<(i64, String)> = None;
        if let Some(s) = f.status {
            conds.push("status = ?");
            texts.push(s.as_str().to_string());
        }
        if let Some(t) = &f.task_type {
            conds.push("task_type = ?");
            texts.push(t.clone());
        }
        if let Some(m) = &f.marker {
            let t = self.task_by_id(m).await?;
            marker = Some((t.created_at.timestamp_micros(), t.id));
            conds.push("(created_at < ? OR (created_at = ? AND id < ?))");
        }
        let where_sql = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT {TASK_COLS} FROM image_tasks{where_sql} ORDER BY created_at DESC, id DESC LIMIT {limit}"
        );
        let mut q = sqlx::query(&sql);
        for t in &texts {
            q = q.bind(t.as_str());
        }
        if let Some((at, id)) = &marker {
            q = q.bind(*at).bind(*at).bind(id.as_str());
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        rows.iter().map(task_row).collect()
    }

    /// `GET /v2/images/{id}/tasks`: the import tasks of an image the
    /// caller sees, newest first.
    pub async fn image_tasks(
        &self,
        ctx: &RequestContext,
        image_id: &str,
    ) -> Result<Vec<ImageTask>> {
        let image = self.get_image(ctx, image_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLS} FROM image_tasks WHERE image_id = ? ORDER BY created_at DESC, id DESC"
        ))
        .bind(image.id.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(task_row).collect()
    }
}
