//! Glance v2 at `/image`: thin adapters over [`cloud::image::ImageService`].
//!
//! Handlers parse Glance's requests (JSON bodies, JSON-patch, list query
//! strings), call the service with the caller's `RequestContext` and render
//! Glance-shaped JSON; policy, validation and the data pipeline are the
//! service's. Image data (`/v2/images/{id}/file`) is routed separately, by
//! [`streaming_routes`], outside the server's request body limit.

mod file;
mod images;
mod members;
mod metadefs;
mod schemas;
mod tags;
mod tasks;
mod version;

use axum::routing::{get, post, put};

use chrono::{DateTime, Utc};
use cloud::image::{Image, ImageMember};
use metadefs as md;
use serde_json::{json, Map, Value};

use super::error::{method_not_allowed, not_found};
use super::table::RouteTable;
use crate::AppState;

pub use version::versions;

/// Glance's routes, relative to `/image` (image data: [`streaming_table`]).
pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/", get(version::versions))
        .route("/versions", get(version::versions_explicit))
        .route("/v2", get(version::versions))
        .route("/v2/", get(version::versions))
        .route("/v2/images", get(images::list).post(images::create))
        .route(
            "/v2/images/{id}",
            get(images::show)
                .patch(images::update)
                .delete(images::delete),
        )
        .route(
            "/v2/images/{id}/actions/deactivate",
            post(images::deactivate),
        )
        .route(
            "/v2/images/{id}/actions/reactivate",
            post(images::reactivate),
        )
        .route(
            "/v2/images/{id}/tags/{tag}",
            put(tags::add).delete(tags::remove),
        )
        .route(
            "/v2/images/{id}/members",
            get(members::list).post(members::create),
        )
        .route(
            "/v2/images/{id}/members/{member_id}",
            get(members::show)
                .put(members::update)
                .delete(members::delete),
        )
        .route("/v2/images/{id}/import", post(tasks::import))
        .route("/v2/images/{id}/tasks", get(tasks::image_tasks))
        .route("/v2/tasks", get(tasks::list).post(tasks::create))
        .route("/v2/tasks/{id}", get(tasks::show))
        .route("/v2/schemas/task", get(schemas::task))
        .route("/v2/schemas/tasks", get(schemas::tasks))
        .route("/v2/schemas/image", get(schemas::image))
        .route("/v2/schemas/images", get(schemas::images))
        .route("/v2/schemas/member", get(schemas::member))
        .route("/v2/schemas/members", get(schemas::members))
        .route("/v2/schemas/metadefs/{name}", get(schemas::metadef))
        .route(
            "/v2/metadefs/namespaces",
            get(md::list_namespaces).post(md::create_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}",
            get(md::show_namespace)
                .put(md::update_namespace)
                .delete(md::delete_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/objects",
            get(md::list_objects)
                .post(md::create_object)
                .delete(md::delete_objects),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/objects/{name}",
            get(md::show_object)
                .put(md::update_object)
                .delete(md::delete_object),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/properties",
            get(md::list_properties)
                .post(md::create_property)
                .delete(md::delete_properties),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/properties/{name}",
            get(md::show_property)
                .put(md::update_property)
                .delete(md::delete_property),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/tags",
            get(md::list_tags)
                .post(md::create_tags)
                .delete(md::delete_tags),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            get(md::show_tag)
                .post(md::create_tag)
                .put(md::update_tag)
                .delete(md::delete_tag),
        )
        .route("/v2/metadefs/resource_types", get(md::list_resource_types))
        .route(
            "/v2/metadefs/namespaces/{ns}/resource_types",
            get(md::list_associations).post(md::create_association),
        )
        .route(
            "/v2/metadefs/namespaces/{ns}/resource_types/{name}",
            axum::routing::delete(md::delete_association),
        )
        .route("/v2/info/import", get(schemas::info_import))
        .route("/v2/info/stores", get(schemas::info_stores))
        .map_router(|r| {
            r.fallback(not_found)
                .method_not_allowed_fallback(method_not_allowed)
        })
}

/// Image data up and down, with full paths: mounted by
/// `rest::streaming_routes`, outside the body limit (the service enforces
/// the image size limits as bytes arrive).
pub fn streaming_table() -> RouteTable {
    RouteTable::new()
        .route(
            "/image/v2/images/{id}/file",
            put(file::upload).get(file::download),
        )
        .route("/image/v2/images/{id}/stage", put(file::stage))
        .map_router(|r| r.method_not_allowed_fallback(method_not_allowed))
}

// ------------------------------------------------------------------ helpers

/// `<public_url>/image`, the base of version links and Location headers.
pub(crate) fn base(state: &AppState) -> String {
    format!("{}/image", state.config.public_url.trim_end_matches('/'))
}

/// Glance's time format: ISO 8601 to the second, `Z`.
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An image as Glance renders it: the extra properties flattened at the top
/// level, then the core attributes (nulls included), tags and links.
pub(crate) fn image_json(im: &Image) -> Value {
    let mut m = Map::new();
    for (k, v) in &im.properties {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    let core = json!({
        "id": im.id,
        "name": im.name,
        "status": im.status.as_str(),
        "visibility": im.visibility.as_str(),
        "protected": im.protected,
        "os_hidden": im.os_hidden,
        "checksum": im.checksum,
        "os_hash_algo": im.os_hash_algo,
        "os_hash_value": im.os_hash_value,
        "owner": im.owner,
        "size": im.size,
        "virtual_size": im.virtual_size,
        "min_disk": im.min_disk,
        "min_ram": im.min_ram,
        "disk_format": im.disk_format.map(|f| f.as_str()),
        "container_format": im.container_format.map(|f| f.as_str()),
        "tags": im.tags,
        "created_at": ts(&im.created_at),
        "updated_at": ts(&im.updated_at),
        "self": format!("/v2/images/{}", im.id),
        "file": format!("/v2/images/{}/file", im.id),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(core) = core {
        m.extend(core);
    }
    Value::Object(m)
}

pub(crate) fn member_json(m: &ImageMember) -> Value {
    json!({
        "image_id": m.image_id,
        "member_id": m.member_id,
        "status": m.status.as_str(),
        "created_at": ts(&m.created_at),
        "updated_at": ts(&m.updated_at),
        "schema": "/v2/schemas/member",
    })
}
