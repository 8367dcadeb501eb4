//! `/v2/images`: list, create, show, update (JSON patch), delete, and the
//! deactivate/reactivate actions.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cloud::image::{
    ContainerFormat, DiskFormat, Image, ImageFilter, ImageSortKey, ImageStatus, ImageUpdate,
    MemberStatusFilter, NewImage, Visibility, VisibilityFilter,
};
use cloud::SortDir;
use serde_json::{json, Map, Value};

use super::{base, image_json};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::AppState;

/// Glance's `limit_param_default`.
const DEFAULT_LIMIT: i64 = 25;
/// Glance's `api_limit_max`.
const MAX_LIMIT: i64 = 1000;

/// Attributes the server sets; a client naming them is refused (403).
const READ_ONLY: &[&str] = &[
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "stores",
];

fn read_only(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("Attribute '{key}' is read-only."),
    )
}

fn reserved(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("Attribute '{key}' is reserved."),
    )
}

/// A value the image schema refuses (400, Glance's wording).
fn invalid(reason: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "Provided object does not match schema 'image': {reason}"
    ))
}

fn names<T: Copy>(all: &[T], f: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|v| f(*v)).collect::<Vec<_>>().join(", ")
}

fn want_string(key: &str, v: &Value) -> ApiResult<String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("{v} is not of type 'string' (in '{key}')")))
}

fn want_name(v: &Value) -> ApiResult<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() > 255 => {
            Err(invalid("'name' is longer than 255 characters"))
        }
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(invalid(format!(
            "{other} is not of type 'null', 'string' (in 'name')"
        ))),
    }
}

fn want_bool(key: &str, v: &Value) -> ApiResult<bool> {
    v.as_bool()
        .ok_or_else(|| invalid(format!("{v} is not of type 'boolean' (in '{key}')")))
}

fn want_int(key: &str, v: &Value) -> ApiResult<i64> {
    v.as_i64()
        .ok_or_else(|| invalid(format!("{v} is not of type 'integer' (in '{key}')")))
}

fn want_visibility(v: &Value) -> ApiResult<Visibility> {
    v.as_str().and_then(Visibility::parse).ok_or_else(|| {
        invalid(format!(
            "{v} is not one of [{}] (in 'visibility')",
            names(Visibility::ALL, Visibility::as_str)
        ))
    })
}

fn want_disk_format(v: &Value) -> ApiResult<Option<DiskFormat>> {
    match v {
        Value::Null => Ok(None),
        other => other
            .as_str()
            .and_then(DiskFormat::parse)
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "{other} is not one of [None, {}] (in 'disk_format')",
                    names(&DiskFormat::ALL, DiskFormat::as_str)
                ))
            }),
    }
}

fn want_container_format(v: &Value) -> ApiResult<Option<ContainerFormat>> {
    match v {
        Value::Null => Ok(None),
        other => other
            .as_str()
            .and_then(ContainerFormat::parse)
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "{other} is not one of [None, {}] (in 'container_format')",
                    names(ContainerFormat::ALL, ContainerFormat::as_str)
                ))
            }),
    }
}

fn want_tags(v: &Value) -> ApiResult<Vec<String>> {
    let arr = v
        .as_array()
        .ok_or_else(|| invalid(format!("{v} is not of type 'array' (in 'tags')")))?;
    arr.iter().map(want_tag).collect()
}

fn want_property(key: &str, v: &Value) -> ApiResult<String> {
    if key.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "Custom property should not be greater than 255 characters.",
        ));
    }
    want_string(key, v)
}

/// `owner` as the schema allows it (a string or null); which owners are
/// accepted is the image service's rule.
fn want_owner(v: &Value) -> ApiResult<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(invalid(format!(
            "{other} is not of type 'null', 'string' (in 'owner')"
        ))),
    }
}

// ------------------------------------------------------------------- create

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let Value::Object(body) = body else {
        return Err(invalid("the request body must be a JSON object"));
    };
    // Refusals first, as Glance: attributes the server owns, reserved names.
    for key in body.keys() {
        if READ_ONLY.contains(&key.as_str()) {
            return Err(read_only(key));
        }
        if cloud::image::is_reserved_name(key) {
            return Err(reserved(key));
        }
    }
    let mut new = NewImage::default();
    for (key, v) in &body {
        match key.as_str() {
            "id" => new.id = Some(want_string("id", v)?),
            "name" => new.name = want_name(v)?,
            "visibility" => new.visibility = Some(want_visibility(v)?),
            "protected" => new.protected = Some(want_bool("protected", v)?),
            "os_hidden" => new.os_hidden = Some(want_bool("os_hidden", v)?),
            "min_disk" => new.min_disk = Some(want_int("min_disk", v)?),
            "min_ram" => new.min_ram = Some(want_int("min_ram", v)?),
            "disk_format" => new.disk_format = want_disk_format(v)?,
            "container_format" => new.container_format = want_container_format(v)?,
            "tags" => new.tags = want_tags(v)?,
            "owner" => new.owner = Some(want_owner(v)?),
            _ => {
                new.properties.insert(key.clone(), want_property(key, v)?);
            }
        }
    }
    let image = state.image.create_image(&caller.ctx, new).await?;
    let location = format!("{}/v2/images/{}", base(&state), image.id);
    let mut res = (StatusCode::CREATED, Json(image_json(&image))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

// --------------------------------------------------------------------- show

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let image = state.image.get_image(&caller.ctx, &id).await?;
    Ok(Json(image_json(&image)))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.image.delete_image(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.image.deactivate_image(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.image.reactivate_image(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --------------------------------------------------------------------- list

/// Core attributes that are not list filters here (Glance's operator
/// filters such as `created_at=gt:…` are not supported).
const UNFILTERABLE: &[&str] = &[
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "min_disk",
    "min_ram",
    "created_at",
    "updated_at",
    "changes-since",
];

fn bool_param(key: &str, v: &str) -> ApiResult<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "Invalid value '{v}' for '{key}' filter. Valid values are 'true' or 'false'."
        ))),
    }
}

fn int_param(key: &str, v: &str) -> ApiResult<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::bad_request(format!("{key} param must be an integer")))
}

fn sort_key(s: &str) -> ApiResult<ImageSortKey> {
    ImageSortKey::parse(s.trim()).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid sort key: {s}. It must be one of the following: name, status, \
             container_format, disk_format, size, id, created_at, updated_at, visibility, \
             owner, min_disk, min_ram."
        ))
    })
}

fn sort_dir(s: &str) -> ApiResult<SortDir> {
    match s.trim() {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        other => Err(ApiError::bad_request(format!(
            "Invalid sort direction: {other}"
        ))),
    }
}

/// Glance's two sort syntaxes: `sort=name:asc,size` or repeated
/// `sort_key`/`sort_dir` (one direction applies to every key).
fn parse_sort(params: &[(String, String)]) -> ApiResult<Vec<(ImageSortKey, SortDir)>> {
    let get_all = |k: &str| -> Vec<&str> {
        params
            .iter()
            .filter(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let sort = get_all("sort");
    let keys = get_all("sort_key");
    let dirs = get_all("sort_dir");
    if !sort.is_empty() {
        if !keys.is_empty() || !dirs.is_empty() {
            return Err(ApiError::bad_request(
                "Old and new sorting syntax cannot be combined",
            ));
        }
        let mut out = Vec::new();
        for part in sort.iter().flat_map(|s| s.split(',')) {
            let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
            let d = if d.trim().is_empty() { "desc" } else { d };
            out.push((sort_key(k)?, sort_dir(d)?));
        }
        return Ok(out);
    }
    let keys = keys
        .iter()
        .map(|k| sort_key(k))
        .collect::<ApiResult<Vec<_>>>()?;
    let dirs = dirs
        .iter()
        .map(|d| sort_dir(d))
        .collect::<ApiResult<Vec<_>>>()?;
    if dirs.len() > 1 && dirs.len() != keys.len() {
        return Err(ApiError::bad_request(
            "Number of sort dirs does not match the number of sort keys",
        ));
    }
    let keys = if keys.is_empty() {
        vec![ImageSortKey::CreatedAt]
    } else {
        keys
    };
    Ok(keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let d = match dirs.len() {
                0 => SortDir::Desc,
                1 => dirs[0],
                _ => dirs[i],
            };
            (*k, d)
        })
        .collect())
}

/// The list query as an [`ImageFilter`]; `None` when a filter names a value
/// no image can have (an unknown status or format): the list is empty.
fn parse_filter(params: &[(String, String)]) -> ApiResult<Option<ImageFilter>> {
    let mut f = ImageFilter::default();
    let mut impossible = false;
    for (k, v) in params {
        match k.as_str() {
            "limit" => {
                let n = v
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request("limit param must be an integer"))?;
                if n < 0 {
                    return Err(ApiError::bad_request("limit param must be positive"));
                }
                f.limit = Some(n.min(MAX_LIMIT));
            }
            "marker" => f.marker = Some(v.clone()),
            "visibility" => {
                f.visibility = Some(VisibilityFilter::parse(v).ok_or_else(|| {
                    ApiError::bad_request(format!("Invalid visibility value: {v}"))
                })?)
            }
            "member_status" => {
                f.member_status = Some(
                    MemberStatusFilter::parse(v)
                        .ok_or_else(|| ApiError::bad_request(format!("Invalid status: {v}")))?,
                )
            }
            "owner" => f.owner = Some(v.clone()),
            // `id=<id>` or Glance's `id=in:<id>,<id>` (the CLI's server
            // list names the images of the servers it shows this way).
            "id" => {
                let ids = v.strip_prefix("in:").unwrap_or(v);
                f.ids = Some(
                    ids.split(',')
                        .map(|i| i.trim().trim_matches('"').to_string())
                        .filter(|i| !i.is_empty())
                        .collect(),
                );
            }
            "name" => f.name = Some(v.clone()),
            "status" => match ImageStatus::parse(v) {
                Some(s) => f.status = Some(s),
                None => impossible = true,
            },
            "disk_format" => match DiskFormat::parse(v) {
                Some(d) => f.disk_format = Some(d),
                None => impossible = true,
            },
            "container_format" => match ContainerFormat::parse(v) {
                Some(c) => f.container_format = Some(c),
                None => impossible = true,
            },
            "tag" => f.tags.push(v.trim().to_string()),
            "protected" => f.protected = Some(bool_param("protected", v)?),
            "os_hidden" => f.os_hidden = Some(bool_param("os_hidden", v)?),
            "size_min" => f.size_min = Some(int_param("size_min", v)?),
            "size_max" => f.size_max = Some(int_param("size_max", v)?),
            // Glance filters core columns by equality: `size` is both bounds.
            "size" => {
                let n = int_param("size", v)?;
                f.size_min = Some(f.size_min.map_or(n, |m| m.max(n)));
                f.size_max = Some(f.size_max.map_or(n, |m| m.min(n)));
            }
            "changes-since" => {
                return Err(ApiError::bad_request(
                    "The \"changes-since\" filter is no longer available on v2.",
                ))
            }
            "sort" | "sort_key" | "sort_dir" => {}
            key if UNFILTERABLE.contains(&key) => {
                return Err(ApiError::bad_request(format!(
                    "Filtering images on '{key}' is not supported."
                )))
            }
            key => f.properties.push((key.to_string(), v.clone())),
        }
    }
    f.sort = parse_sort(params)?;
    if f.limit.is_none() {
        f.limit = Some(DEFAULT_LIMIT);
    }
    if let (Some(a), Some(b)) = (f.size_min, f.size_max) {
        if a > b {
            impossible = true;
        }
    }
    Ok(if impossible { None } else { Some(f) })
}

fn encode_query(params: &[(String, String)]) -> String {
    serde_urlencoded::to_string(params).unwrap_or_default()
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
            .map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?;
    let filter = parse_filter(&params)?;
    let images: Vec<Image> = match &filter {
        Some(f) => state.image.list_images(&caller.ctx, f).await?.items,
        None => Vec::new(),
    };
    let rest: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "marker")
        .cloned()
        .collect();
    let query = encode_query(&rest);
    let mut body = Map::new();
    body.insert(
        "images".into(),
        Value::Array(images.iter().map(image_json).collect()),
    );
    body.insert(
        "first".into(),
        json!(if query.is_empty() {
            "/v2/images".to_string()
        } else {
            format!("/v2/images?{query}")
        }),
    );
    body.insert("schema".into(), json!("/v2/schemas/images"));
    let limit = filter
        .as_ref()
        .and_then(|f| f.limit)
        .unwrap_or(DEFAULT_LIMIT);
    if let Some(last) = images.last().filter(|_| images.len() as i64 >= limit) {
        let mut next = rest;
        next.push(("marker".into(), last.id.clone()));
        body.insert(
            "next".into(),
            json!(format!("/v2/images?{}", encode_query(&next))),
        );
    }
    Ok(Json(Value::Object(body)))
}

// ------------------------------------------------------------------- update

const PATCH_TYPES: &[(&str, PatchDialect)] = &[
    (
        "application/openstack-images-v2.1-json-patch",
        PatchDialect::V21,
    ),
    (
        "application/openstack-images-v2.0-json-patch",
        PatchDialect::V20,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchDialect {
    /// RFC 6902 style: `{"op": "replace", "path": "/name", "value": …}`.
    V21,
    /// Glance's draft-4 style: `{"replace": "/name", "value": …}`; `add` of
    /// an existing attribute is a conflict.
    V20,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
    /// Only within `/tags` (openstacksdk's patches reorder tag lists).
    Move,
}

/// A position in the tag list: an index, or `-` (the end, for `add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagPos {
    At(usize),
    End,
}

/// One change of a patch body.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    op: Op,
    /// The attribute: `name`, `tags`, a property name…
    attr: String,
    /// For `/tags/<n>`: an element of the tag list rather than the list.
    tag: Option<TagPos>,
    /// For `move`: the tag moved.
    from: Option<usize>,
    value: Option<Value>,
}

/// The editable part of an image, changed op by op before one update.
#[derive(Debug, Clone, PartialEq)]
struct Editable {
    name: Option<String>,
    visibility: Visibility,
    min_disk: i64,
    min_ram: i64,
    protected: bool,
    os_hidden: bool,
    tags: Vec<String>,
    disk_format: Option<DiskFormat>,
    container_format: Option<ContainerFormat>,
    properties: BTreeMap<String, String>,
    owner: Option<String>,
}

impl Editable {
    fn of(im: &Image) -> Editable {
        Editable {
            name: im.name.clone(),
            visibility: im.visibility,
            min_disk: im.min_disk,
            min_ram: im.min_ram,
            protected: im.protected,
            os_hidden: im.os_hidden,
            tags: im.tags.clone(),
            disk_format: im.disk_format,
            container_format: im.container_format,
            properties: im.properties.clone(),
            owner: im.owner.clone(),
        }
    }

    /// The difference from `orig` as one [`ImageUpdate`].
    fn diff(&self, orig: &Editable) -> ApiResult<ImageUpdate> {
        let mut u = ImageUpdate::default();
        if self.name != orig.name {
            u.name = Some(self.name.clone());
        }
        if self.visibility != orig.visibility {
            u.visibility = Some(self.visibility);
        }
        if self.min_disk != orig.min_disk {
            u.min_disk = Some(self.min_disk);
        }
        if self.min_ram != orig.min_ram {
            u.min_ram = Some(self.min_ram);
        }
        if self.protected != orig.protected {
            u.protected = Some(self.protected);
        }
        if self.os_hidden != orig.os_hidden {
            u.os_hidden = Some(self.os_hidden);
        }
        if self.owner != orig.owner {
            u.owner = Some(self.owner.clone());
        }
        let mut a = self.tags.clone();
        let mut b = orig.tags.clone();
        a.sort();
        a.dedup();
        b.sort();
        b.dedup();
        if a != b {
            u.tags = Some(a);
        }
        if self.disk_format != orig.disk_format {
            u.disk_format = Some(
                self.disk_format
                    .ok_or_else(|| ApiError::bad_request("disk_format cannot be unset."))?,
            );
        }
        if self.container_format != orig.container_format {
            u.container_format = Some(
                self.container_format
                    .ok_or_else(|| ApiError::bad_request("container_format cannot be unset."))?,
            );
        }
        for (k, v) in &self.properties {
            if orig.properties.get(k) != Some(v) {
                u.set_properties.insert(k.clone(), v.clone());
            }
        }
        for k in orig.properties.keys() {
            if !self.properties.contains_key(k) {
                u.remove_properties.push(k.clone());
            }
        }
        Ok(u)
    }
}

/// Decodes a JSON pointer into its segments (`/name` → `["name"]`),
/// refusing the malformed pointers Glance refuses.
fn decode_pointer(pointer: &str) -> ApiResult<Vec<String>> {
    let bad = |why: &str| ApiError::bad_request(format!("Pointer `{pointer}` {why}"));
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(bad("does not start with \"/\"."));
    };
    if rest.trim().is_empty() {
        return Err(bad("does not contains valid token."));
    }
    if rest.ends_with('/') {
        return Err(bad("end with \"/\"."));
    }
    if rest.split('/').any(|seg| seg.trim().is_empty()) {
        return Err(bad("contains adjacent \"/\"."));
    }
    let bytes = rest.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'~' && !matches!(bytes.get(i + 1), Some(b'0') | Some(b'1')) {
            return Err(bad(
                "contains \"~\" not part of a recognized escape sequence.",
            ));
        }
    }
    Ok(rest
        .split('/')
        .map(|seg| seg.replace("~1", "/").replace("~0", "~").trim().to_string())
        .collect())
}

fn invalid_pointer(segs: &[String]) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid JSON pointer for this resource: '/{}'",
        segs.join("/")
    ))
}

/// `/tags/<n>` (or `/tags/-` where `end` is allowed) as a tag position.
fn tag_pos(segs: &[String], end_ok: bool) -> ApiResult<TagPos> {
    match segs.get(1).map(String::as_str) {
        Some("-") if end_ok => Ok(TagPos::End),
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n
            .parse::<usize>()
            .map(TagPos::At)
            .map_err(|_| invalid_pointer(segs)),
        _ => Err(invalid_pointer(segs)),
    }
}

/// One change of a patch body, checked as Glance checks it before applying
/// anything: the operation, the path, read-only and reserved attributes.
fn parse_change(raw: &Value, dialect: PatchDialect) -> ApiResult<Change> {
    let Value::Object(obj) = raw else {
        return Err(ApiError::bad_request("Operations must be JSON objects."));
    };
    let op_of = |s: &str| match s {
        "add" => Some(Op::Add),
        "replace" => Some(Op::Replace),
        "remove" => Some(Op::Remove),
        "move" => Some(Op::Move),
        _ => None,
    };
    let (op, path) = match dialect {
        PatchDialect::V21 => {
            let op = match obj.get("op") {
                None => {
                    return Err(ApiError::bad_request(
                        "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.",
                    ))
                }
                Some(v) => v.as_str().and_then(op_of).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid operation: `{}`. It must be one of the following: add, remove, replace.",
                        v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                    ))
                })?,
            };
            let path = obj.get("path").and_then(Value::as_str).ok_or_else(|| {
                ApiError::bad_request("Unable to find 'path' in JSON Schema change")
            })?;
            (op, path)
        }
        PatchDialect::V20 => {
            let found: Vec<&str> = ["add", "replace", "remove"]
                .into_iter()
                .filter(|k| obj.contains_key(*k))
                .collect();
            if found.len() != 1 {
                return Err(ApiError::bad_request(
                    "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".",
                ));
            }
            let op = op_of(found[0]).unwrap_or(Op::Add);
            let path = obj
                .get(found[0])
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::bad_request("The path of a change must be a string."))?;
            (op, path)
        }
    };
    let segs = decode_pointer(path)?;
    let attr = segs[0].clone();
    if READ_ONLY.contains(&attr.as_str()) || attr == "id" {
        return Err(read_only(&attr));
    }
    if attr == "locations" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "It's not allowed to update locations if locations are invisible.",
        ));
    }
    if cloud::image::is_reserved_name(&attr) {
        return Err(reserved(&attr));
    }
    // Whole attributes, except single tags (`/tags/1`, `/tags/-`), which
    // openstacksdk's computed patches use.
    let tag = match (attr.as_str(), segs.len()) {
        (_, 1) => None,
        ("tags", 2) => Some(tag_pos(&segs, op == Op::Add)?),
        _ => return Err(invalid_pointer(&segs)),
    };
    let from = if op == Op::Move {
        let from = obj.get("from").and_then(Value::as_str).ok_or_else(|| {
            ApiError::bad_request("Operation \"move\" requires a member named \"from\".")
        })?;
        let from_segs = decode_pointer(from)?;
        match (tag, from_segs.first().map(String::as_str), from_segs.len()) {
            (Some(_), Some("tags"), 2) => match tag_pos(&from_segs, false)? {
                TagPos::At(i) => Some(i),
                TagPos::End => None,
            },
            _ => return Err(ApiError::bad_request(
                "Invalid operation: `move`. It must be one of the following: add, remove, replace.",
            )),
        }
    } else {
        None
    };
    let value = match op {
        Op::Remove | Op::Move => None,
        Op::Add | Op::Replace => Some(obj.get("value").cloned().ok_or_else(|| {
            let name = if op == Op::Add { "add" } else { "replace" };
            ApiError::bad_request(format!(
                "Operation \"{name}\" requires a member named \"value\"."
            ))
        })?),
    };
    Ok(Change {
        op,
        attr,
        tag,
        from,
        value,
    })
}

fn want_tag(v: &Value) -> ApiResult<String> {
    match v.as_str() {
        Some(s) if s.chars().count() <= 255 => Ok(s.to_string()),
        Some(_) => Err(invalid("a tag is longer than 255 characters")),
        None => Err(invalid(format!("{v} is not of type 'string' (in 'tags')"))),
    }
}

/// An operation on one element of the tag list.
fn apply_tag(tags: &mut Vec<String>, c: &Change, pos: TagPos) -> ApiResult<()> {
    let out_of_range =
        || ApiError::bad_request(format!("Tag index out of range in '/tags/{pos:?}'."));
    match (c.op, pos) {
        (Op::Add, TagPos::End) => tags.push(want_tag(c.value.as_ref().unwrap_or(&Value::Null))?),
        (Op::Add, TagPos::At(i)) if i <= tags.len() => {
            tags.insert(i, want_tag(c.value.as_ref().unwrap_or(&Value::Null))?)
        }
        (Op::Replace, TagPos::At(i)) if i < tags.len() => {
            tags[i] = want_tag(c.value.as_ref().unwrap_or(&Value::Null))?
        }
        (Op::Remove, TagPos::At(i)) if i < tags.len() => {
            tags.remove(i);
        }
        (Op::Move, TagPos::At(i)) => match c.from {
            Some(from) if from < tags.len() => {
                let t = tags.remove(from);
                if i > tags.len() {
                    return Err(out_of_range());
                }
                tags.insert(i, t);
            }
            _ => return Err(out_of_range()),
        },
        _ => return Err(out_of_range()),
    }
    Ok(())
}

/// Applies one change to the local copy, as Glance's `_do_add`,
/// `_do_replace` and `_do_remove`.
fn apply(e: &mut Editable, dialect: PatchDialect, c: Change) -> ApiResult<()> {
    const CORE: &[&str] = &[
        "name",
        "visibility",
        "min_disk",
        "min_ram",
        "protected",
        "os_hidden",
        "tags",
        "disk_format",
        "container_format",
        "owner",
    ];
    if let Some(pos) = c.tag {
        return apply_tag(&mut e.tags, &c, pos);
    }
    let attr = c.attr.as_str();
    let core = CORE.contains(&attr);
    match c.op {
        Op::Remove => {
            if core {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("Property {attr} may not be removed."),
                ));
            }
            if e.properties.remove(attr).is_none() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("Property {attr} does not exist."),
                ));
            }
            return Ok(());
        }
        Op::Move => {
            return Err(ApiError::bad_request(
                "Invalid operation: `move`. It must be one of the following: add, remove, replace.",
            ))
        }
        Op::Add if dialect == PatchDialect::V20 && (core || e.properties.contains_key(attr)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Property {attr} already present."),
            ));
        }
        Op::Replace if !core && !e.properties.contains_key(attr) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Property {attr} does not exist."),
            ));
        }
        Op::Add | Op::Replace => {}
    }
    let v = c.value.unwrap_or(Value::Null);
    match attr {
        "name" => e.name = want_name(&v)?,
        "visibility" => e.visibility = want_visibility(&v)?,
        "min_disk" => e.min_disk = want_int("min_disk", &v)?,
        "min_ram" => e.min_ram = want_int("min_ram", &v)?,
        "protected" => e.protected = want_bool("protected", &v)?,
        "os_hidden" => e.os_hidden = want_bool("os_hidden", &v)?,
        "tags" => e.tags = want_tags(&v)?,
        "disk_format" => e.disk_format = want_disk_format(&v)?,
        "container_format" => e.container_format = want_container_format(&v)?,
        "owner" => e.owner = want_owner(&v)?,
        _ => {
            let s = want_property(attr, &v)?;
            e.properties.insert(attr.to_string(), s);
        }
    }
    Ok(())
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let Some(dialect) = PATCH_TYPES
        .iter()
        .find(|(t, _)| *t == content_type)
        .map(|(_, d)| *d)
    else {
        let mut res = ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Unsupported Content-Type {content_type:?}: expecting one of {}.",
                PATCH_TYPES
                    .iter()
                    .map(|(t, _)| *t)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into_response();
        res.headers_mut().insert(
            "accept-patch",
            HeaderValue::from_static(
                "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch",
            ),
        );
        return Ok(res);
    };
    if body.is_empty() {
        return Err(ApiError::bad_request("Body expected in request."));
    }
    let changes: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Malformed JSON in request body: {e}")))?;
    let Value::Array(changes) = changes else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON array of operation objects.",
        ));
    };
    let changes = changes
        .iter()
        .map(|c| parse_change(c, dialect))
        .collect::<ApiResult<Vec<_>>>()?;
    let image = state.image.get_image(&caller.ctx, &id).await?;
    if changes.is_empty() {
        return Ok(Json(image_json(&image)).into_response());
    }
    let orig = Editable::of(&image);
    let mut edited = orig.clone();
    for change in changes {
        apply(&mut edited, dialect, change)?;
    }
    let update = edited.diff(&orig)?;
    // Always through the service, even when nothing changed, so that its
    // policy decides who may patch.
    let image = state
        .image
        .update_image(&caller.ctx, &image.id, update)
        .await?;
    Ok(Json(image_json(&image)).into_response())
}

/// The patch, sort and filter parsers take anything and answer with a
/// change or a 4xx, never a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::rest::arbitrary::{json_value, query_params};
    use proptest::prelude::*;

    const QUERY: &[&str] = &[
        "name",
        "visibility",
        "member_status",
        "owner",
        "status",
        "tag",
        "size_min",
        "size_max",
        "os_hidden",
        "protected",
        "disk_format",
        "container_format",
        "id",
        "created_at",
        "updated_at",
        "sort",
        "sort_key",
        "sort_dir",
        "limit",
        "marker",
    ];

    proptest! {
        #[test]
        fn any_patch_operation_is_a_change_or_a_client_error(v in json_value(), op in json_value()) {
            let mut with_op = json!({"op": "replace", "path": "/name"});
            with_op["value"] = v.clone();
            let mut draft = json!({"replace": "/tags"});
            draft["value"] = v.clone();
            for raw in [v.clone(), with_op, draft, json!({"op": op, "path": v.clone()})] {
                for dialect in [PatchDialect::V21, PatchDialect::V20] {
                    if let Err(e) = parse_change(&raw, dialect) {
                        prop_assert!(e.status.is_client_error(), "{} for {}", e.status, raw);
                    }
                }
            }
        }

        #[test]
        fn any_query_is_a_filter_or_a_client_error(params in query_params(QUERY)) {
            if let Err(e) = parse_sort(&params) {
                prop_assert!(e.status.is_client_error(), "{}", e.status);
            }
            if let Err(e) = parse_filter(&params) {
                prop_assert!(e.status.is_client_error(), "{}", e.status);
            }
        }
    }
}
