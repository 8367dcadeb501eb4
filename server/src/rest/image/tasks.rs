//! Interoperable import (`POST /v2/images/{id}/import`), an image's tasks
//! and the tasks API (`/v2/tasks`). Staging data is streamed, in `file`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::image::{ImageTask, TaskFilter, TaskStatus};
use serde_json::{json, Value};

use super::ts;
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::AppState;

/// A task as Glance renders it (the image-task fields of v2.12 included).
pub(crate) fn task_json(t: &ImageTask) -> Value {
    json!({
        "id": t.id,
        "type": t.task_type,
        "status": t.status.as_str(),
        "owner": t.owner,
        "image_id": t.image_id,
        "user_id": t.user_id,
        "request_id": t.request_id,
        "input": t.input,
        "result": t.result,
        "message": t.message,
        "created_at": ts(&t.created_at),
        "updated_at": ts(&t.updated_at),
        "expires_at": t.expires_at.as_ref().map(ts),
        "self": format!("/v2/tasks/{}", t.id),
        "schema": "/v2/schemas/task",
    })
}

/// 202 with no body, as Glance.
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "The import request must be an object.",
        ));
    }
    state.image.import_image(&caller.ctx, &id, body).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn image_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let tasks = state.image.image_tasks(&caller.ctx, &id).await?;
    Ok(Json(json!({
        "tasks": tasks.iter().map(task_json).collect::<Vec<_>>(),
    })))
}

/// 201 with the task; `{"type": "import", "input": {…}}`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Some(task_type) = body.get("type").and_then(Value::as_str) else {
        return Err(ApiError::bad_request("'type' is a required property"));
    };
    let input = match body.get("input") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(ApiError::bad_request("'input' is a required property")),
    };
    let task = state
        .image
        .create_task(&caller.ctx, task_type, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(task_json(&task))))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let task = state.image.get_task(&caller.ctx, &id).await?;
    Ok(Json(task_json(&task)))
}

/// Glance's list renders tasks without `input` and `result`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
            .map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?;
    let mut f = TaskFilter::default();
    for (k, v) in &params {
        match k.as_str() {
            "status" => {
                f.status =
                    Some(TaskStatus::parse(v).ok_or_else(|| {
                        ApiError::bad_request(format!("Invalid status value: {v}"))
                    })?)
            }
            "type" => f.task_type = Some(v.clone()),
            "limit" => {
                f.limit = Some(
                    v.parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| ApiError::bad_request("limit param must be an integer"))?,
                )
            }
            "marker" => f.marker = Some(v.clone()),
            "sort_key" if v == "created_at" => {}
            "sort_dir" if v == "desc" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unsupported parameter or value: {other}={v}"
                )))
            }
        }
    }
    let tasks = state.image.list_tasks(&caller.ctx, &f).await?;
    let items: Vec<Value> = tasks
        .iter()
        .map(|t| {
            let mut v = task_json(t);
            if let Value::Object(m) = &mut v {
                m.remove("input");
                m.remove("result");
            }
            v
        })
        .collect();
    let mut body = json!({
        "tasks": items,
        "first": "/v2/tasks",
        "schema": "/v2/schemas/tasks",
    });
    let full = f.limit.is_some_and(|n| n > 0 && tasks.len() as i64 == n)
        || (f.limit.is_none() && tasks.len() == 25);
    if let (true, Some(last)) = (full, tasks.last()) {
        body["next"] = json!(format!("/v2/tasks?marker={}", last.id));
    }
    Ok(Json(body))
}

/// Glance's task schema.
pub(crate) fn task_schema() -> Value {
    json!({
        "name": "task",
        "properties": {
            "id": {
                "type": "string",
                "description": "An identifier for the task",
                "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
            },
            "type": {
                "type": "string",
                "description": "The type of task represented by this content",
                "enum": ["import", "api_image_import", "location_import"],
            },
            "status": {
                "type": "string",
                "description": "The current status of this task",
                "enum": ["pending", "processing", "success", "failure"],
            },
            "input": {"type": ["null", "object"], "description": "The parameters required by task, JSON blob"},
            "result": {"type": ["null", "object"], "description": "The result of current task, JSON blob"},
            "owner": {"type": "string", "description": "An identifier for the owner of this task"},
            "message": {"type": "string", "description": "Human-readable informative message only included when appropriate (usually on failure)"},
            "image_id": {"type": "string", "description": "Image associated with the task"},
            "request_id": {"type": "string", "description": "Human-readable informative request-id"},
            "user_id": {"type": "string", "description": "User associated with the task"},
            "expires_at": {"type": ["null", "string"], "description": "Datetime when this resource would be subject to removal"},
            "created_at": {"type": "string", "description": "Datetime when this resource was created"},
            "updated_at": {"type": "string", "description": "Datetime when this resource was updated"},
            "self": {"type": "string"},
            "schema": {"type": "string"},
        },
        "required": ["type", "input"],
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}
