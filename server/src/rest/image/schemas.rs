//! `/v2/schemas/*` (the JSON schemas clients validate against) and
//! `/v2/info/*` (what the deployment offers).

use std::sync::OnceLock;

use axum::extract::State;
use axum::Json;
use cloud::image::{ContainerFormat, DiskFormat};
use serde_json::{json, Value};

use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

/// Glance's image schema (base properties, the stock `schema-image.json`
/// extras, extra properties as strings) with the disk and container formats
/// this service accepts.
fn image_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut s: Value = serde_json::from_str(include_str!("image_schema.json"))
            .unwrap_or_else(|e| panic!("image_schema.json is not valid JSON: {e}"));
        let mut disk = vec![Value::Null];
        disk.extend(DiskFormat::ALL.iter().map(|f| json!(f.as_str())));
        let mut container = vec![Value::Null];
        container.extend(ContainerFormat::ALL.iter().map(|f| json!(f.as_str())));
        s["properties"]["disk_format"]["enum"] = Value::Array(disk);
        s["properties"]["container_format"]["enum"] = Value::Array(container);
        s
    })
}

/// A collection of `item`s, as Glance's `CollectionSchema`.
fn collection(name: &str, item: Value) -> Value {
    json!({
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "image_id": {
                "type": "string",
                "description": "An identifier for the image",
                "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
            },
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
            "status": {
                "type": "string",
                "description": "The status of this image member",
                "enum": ["pending", "accepted", "rejected"],
            },
            "schema": {"type": "string"},
        },
        "additionalProperties": false,
    })
}

pub async fn image(_caller: Caller) -> Json<Value> {
    Json(image_schema().clone())
}

pub async fn images(_caller: Caller) -> Json<Value> {
    Json(collection("images", image_schema().clone()))
}

pub async fn member(_caller: Caller) -> Json<Value> {
    Json(member_schema())
}

pub async fn members(_caller: Caller) -> Json<Value> {
    Json(collection("members", member_schema()))
}

/// Glance's metadefs schemas (`glance/api/v2/metadef_*.py`'s
/// `get_schema`/`get_collection_schema`, as `/v2/schemas/metadefs/*`
/// renders them), kept verbatim as JSON files.
fn metadef_schema(name: &str) -> Option<&'static str> {
    Some(match name {
        "namespace" => include_str!("metadef_namespace_schema.json"),
        "namespaces" => include_str!("metadef_namespaces_schema.json"),
        "object" => include_str!("metadef_object_schema.json"),
        "objects" => include_str!("metadef_objects_schema.json"),
        "property" => include_str!("metadef_property_schema.json"),
        "properties" => include_str!("metadef_properties_schema.json"),
        "resource_type" => include_str!("metadef_resource_type_schema.json"),
        "resource_types" => include_str!("metadef_resource_types_schema.json"),
        "tag" => include_str!("metadef_tag_schema.json"),
        "tags" => include_str!("metadef_tags_schema.json"),
        _ => return None,
    })
}

pub async fn metadef(
    _caller: Caller,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    let text = metadef_schema(&name)
        .ok_or_else(|| ApiError::not_found(format!("No schema named metadefs/{name}.")))?;
    let schema: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("bad schema: {e}"),
        )
    })?;
    Ok(Json(schema))
}

/// The interoperable import methods the service offers.
pub async fn info_import(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    Json(json!({
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": state.image.import_methods(),
        }
    }))
}

pub async fn task(_caller: Caller) -> Json<Value> {
    Json(super::tasks::task_schema())
}

pub async fn tasks(_caller: Caller) -> Json<Value> {
    Json(collection("tasks", super::tasks::task_schema()))
}

/// One store, so no multi-store discovery (Glance answers 404 too).
pub async fn info_stores(_caller: Caller) -> ApiResult<Json<Value>> {
    Err(ApiError::not_found(
        "Multi backend is not supported at this site.",
    ))
}
