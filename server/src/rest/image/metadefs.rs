//! `/v2/metadefs/*`: Glance's metadata definitions catalog (namespaces,
//! their objects, properties, tags and resource type associations), thin
//! adapters over [`cloud::image::metadefs`]. Bodies are parsed against
//! Glance's schemas (`/v2/schemas/metadefs/*`: unknown keys are 400,
//! read-only ones 403); the service validates values and decides policy.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cloud::image::metadefs::{
    MetadefObject, MetadefTag, Namespace, NamespaceDetail, NamespaceFilter, NamespaceUpdate,
    NamespaceVisibility, NewAssociation, NewNamespace, NewObject, PropertyDef,
    ResourceTypeAssociation, SortDir, TagFilter,
};
use serde_json::{json, Map, Value};

use super::ts;
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::AppState;

// ------------------------------------------------------------ rendering

fn namespace_href(ns: &str) -> String {
    format!("/v2/metadefs/namespaces/{ns}")
}

fn put_opt(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), Value::String(v.clone()));
    }
}

fn namespace_fields(ns: &Namespace) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("namespace".into(), json!(ns.namespace));
    put_opt(&mut m, "display_name", &ns.display_name);
    put_opt(&mut m, "description", &ns.description);
    m.insert("visibility".into(), json!(ns.visibility.as_str()));
    m.insert("protected".into(), json!(ns.protected));
    m.insert("owner".into(), json!(ns.owner));
    m.insert("created_at".into(), json!(ts(&ns.created_at)));
    m.insert("updated_at".into(), json!(ts(&ns.updated_at)));
    m.insert("self".into(), json!(namespace_href(&ns.namespace)));
    m.insert("schema".into(), json!("/v2/schemas/metadefs/namespace"));
    m
}

/// A namespace as Glance shows it: its contents only when it has some.
fn namespace_json(d: &NamespaceDetail) -> Value {
    let mut m = namespace_fields(&d.namespace);
    if !d.resource_type_associations.is_empty() {
        m.insert(
            "resource_type_associations".into(),
            Value::Array(
                d.resource_type_associations
                    .iter()
                    .map(association_json)
                    .collect(),
            ),
        );
    }
    if !d.properties.is_empty() {
        m.insert("properties".into(), properties_map(&d.properties));
    }
    if !d.objects.is_empty() {
        m.insert(
            "objects".into(),
            Value::Array(
                d.objects
                    .iter()
                    .map(|o| object_json(&d.namespace.namespace, o))
                    .collect(),
            ),
        );
    }
    if !d.tags.is_empty() {
        m.insert(
            "tags".into(),
            Value::Array(d.tags.iter().map(|t| json!({"name": t.name})).collect()),
        );
    }
    Value::Object(m)
}

fn association_json(a: &ResourceTypeAssociation) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    put_opt(&mut m, "prefix", &a.prefix);
    put_opt(&mut m, "properties_target", &a.properties_target);
    m.insert("created_at".into(), json!(ts(&a.created_at)));
    m.insert("updated_at".into(), json!(ts(&a.updated_at)));
    Value::Object(m)
}

fn properties_map(props: &[PropertyDef]) -> Value {
    Value::Object(
        props
            .iter()
            .map(|p| (p.name.clone(), Value::Object(p.schema.clone())))
            .collect(),
    )
}

fn property_json(p: &PropertyDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(p.name));
    m.extend(p.schema.clone());
    Value::Object(m)
}

fn object_json(ns: &str, o: &MetadefObject) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(o.name));
    put_opt(&mut m, "description", &o.description);
    if !o.required.is_empty() {
        m.insert("required".into(), json!(o.required));
    }
    m.insert("properties".into(), Value::Object(o.properties.clone()));
    m.insert("created_at".into(), json!(ts(&o.created_at)));
    m.insert("updated_at".into(), json!(ts(&o.updated_at)));
    m.insert(
        "self".into(),
        json!(format!("{}/objects/{}", namespace_href(ns), o.name)),
    );
    m.insert("schema".into(), json!("/v2/schemas/metadefs/object"));
    Value::Object(m)
}

fn tag_json(t: &MetadefTag) -> Value {
    json!({
        "name": t.name,
        "created_at": ts(&t.created_at),
        "updated_at": ts(&t.updated_at),
    })
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

// -------------------------------------------------------------- parsing

/// A JSON object body, refusing Glance's read-only attributes (403) and
/// keys its schema does not have (400).
fn object_body<'a>(
    body: &'a Value,
    read_only: &[&str],
    allowed: &[&str],
) -> ApiResult<&'a Map<String, Value>> {
    let m = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
    for key in read_only {
        if m.contains_key(*key) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("Attribute '{key}' is read-only."),
            ));
        }
    }
    for key in m.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Additional properties are not allowed ('{key}' was unexpected)"
            )));
        }
    }
    Ok(m)
}

fn opt_string(m: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ApiError::bad_request(format!(
            "{v} is not of type 'string' ({key})"
        ))),
    }
}

fn req_string(m: &Map<String, Value>, key: &str) -> ApiResult<String> {
    opt_string(m, key)?
        .ok_or_else(|| ApiError::bad_request(format!("'{key}' is a required property")))
}

fn opt_bool(m: &Map<String, Value>, key: &str) -> ApiResult<Option<bool>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(ApiError::bad_request(format!(
            "{v} is not of type 'boolean' ({key})"
        ))),
    }
}

fn visibility(m: &Map<String, Value>) -> ApiResult<Option<NamespaceVisibility>> {
    match opt_string(m, "visibility")? {
        None => Ok(None),
        Some(v) => NamespaceVisibility::parse(&v).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!("'{v}' is not one of ['public', 'private']"))
        }),
    }
}

fn array<'a>(m: &'a Map<String, Value>, key: &str) -> ApiResult<&'a [Value]> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(ApiError::bad_request(format!(
            "{v} is not of type 'array' ({key})"
        ))),
    }
}

fn string_list(m: &Map<String, Value>, key: &str) -> ApiResult<Vec<String>> {
    array(m, key)?
        .iter()
        .map(|v| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                ApiError::bad_request(format!("{v} is not of type 'string' ({key})"))
            })
        })
        .collect()
}

fn schema_map(m: &Map<String, Value>, key: &str) -> ApiResult<Map<String, Value>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(v) => Err(ApiError::bad_request(format!(
            "{v} is not of type 'object' ({key})"
        ))),
    }
}

const NAMESPACE_KEYS: &[&str] = &[
    "namespace",
    "display_name",
    "description",
    "visibility",
    "protected",
    "owner",
    "resource_type_associations",
    "properties",
    "objects",
    "tags",
];
const NAMESPACE_READ_ONLY: &[&str] = &["self", "schema", "created_at", "updated_at"];
const OBJECT_KEYS: &[&str] = &["name", "description", "required", "properties"];
const ASSOCIATION_KEYS: &[&str] = &["name", "prefix", "properties_target"];

fn association(v: &Value) -> ApiResult<NewAssociation> {
    let m = object_body(v, &["created_at", "updated_at"], ASSOCIATION_KEYS)?;
    Ok(NewAssociation {
        name: req_string(m, "name")?,
        prefix: opt_string(m, "prefix")?,
        properties_target: opt_string(m, "properties_target")?,
    })
}

fn new_object(m: &Map<String, Value>) -> ApiResult<NewObject> {
    Ok(NewObject {
        name: req_string(m, "name")?,
        description: opt_string(m, "description")?,
        required: string_list(m, "required")?,
        properties: schema_map(m, "properties")?,
    })
}

fn property_defs(m: &Map<String, Value>) -> ApiResult<Vec<PropertyDef>> {
    schema_map(m, "properties")?
        .into_iter()
        .map(|(name, v)| match v {
            Value::Object(schema) => Ok(PropertyDef { name, schema }),
            other => Err(ApiError::bad_request(format!(
                "{other} is not of type 'object' (properties.{name})"
            ))),
        })
        .collect()
}

fn query_params(query: Option<String>) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn sort_dir(params: &[(String, String)]) -> ApiResult<SortDir> {
    match param(params, "sort_dir").unwrap_or("desc") {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        other => Err(ApiError::bad_request(format!(
            "Invalid sort direction: {other}"
        ))),
    }
}

fn limit(params: &[(String, String)]) -> ApiResult<Option<i64>> {
    match param(params, "limit") {
        None | Some("") => Ok(None),
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n < 0 => Err(ApiError::bad_request("limit param must be positive")),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(ApiError::bad_request("limit param must be an integer")),
        },
    }
}

/// oslo's `bool_from_string` for a header.
fn header_true(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "t" | "true" | "on" | "y" | "yes"
            )
        })
        .unwrap_or(false)
}

// ----------------------------------------------------------- namespaces

pub async fn list_namespaces(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = query_params(query)?;
    let visibility = match param(&params, "visibility") {
        None | Some("") => None,
        Some(v) => Some(
            NamespaceVisibility::parse(v)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid visibility value: {v}")))?,
        ),
    };
    let filter = NamespaceFilter {
        visibility,
        resource_types: param(&params, "resource_types").map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        }),
        marker: param(&params, "marker").map(str::to_string),
        limit: limit(&params)?,
        sort_key: param(&params, "sort_key").map(str::to_string),
        sort_dir: sort_dir(&params)?,
    };
    let page_limit = filter
        .limit
        .unwrap_or(cloud::image::metadefs::DEFAULT_LIMIT)
        .min(cloud::image::metadefs::MAX_LIMIT);
    let list = state.image.list_namespaces(&caller.ctx, &filter).await?;
    let rest: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "marker").collect();
    let encode = |p: &[(String, String)]| serde_urlencoded::to_string(p).unwrap_or_default();
    let mut body = Map::new();
    body.insert(
        "namespaces".into(),
        Value::Array(list.iter().map(namespace_json).collect()),
    );
    let first = if rest.is_empty() {
        "/v2/metadefs/namespaces".to_string()
    } else {
        format!("/v2/metadefs/namespaces?{}", encode(&rest))
    };
    body.insert("first".into(), json!(first));
    body.insert("schema".into(), json!("/v2/schemas/metadefs/namespaces"));
    if let Some(last) = list.last().filter(|_| list.len() as i64 == page_limit) {
        let mut next = rest.clone();
        next.push(("marker".into(), last.namespace.namespace.clone()));
        body.insert(
            "next".into(),
            json!(format!("/v2/metadefs/namespaces?{}", encode(&next))),
        );
    }
    Ok(Json(Value::Object(body)))
}

pub async fn create_namespace(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let m = object_body(&body, NAMESPACE_READ_ONLY, NAMESPACE_KEYS)?;
    let objects = array(m, "objects")?
        .iter()
        .map(|o| new_object(object_body(o, NAMESPACE_READ_ONLY, OBJECT_KEYS)?))
        .collect::<ApiResult<Vec<_>>>()?;
    let tags = array(m, "tags")?
        .iter()
        .map(|t| req_string(object_body(t, &[], &["name"])?, "name"))
        .collect::<ApiResult<Vec<_>>>()?;
    let new = NewNamespace {
        namespace: req_string(m, "namespace")?,
        display_name: opt_string(m, "display_name")?,
        description: opt_string(m, "description")?,
        visibility: visibility(m)?,
        protected: opt_bool(m, "protected")?,
        owner: opt_string(m, "owner")?,
        resource_type_associations: array(m, "resource_type_associations")?
            .iter()
            .map(association)
            .collect::<ApiResult<_>>()?,
        properties: property_defs(m)?,
        objects,
        tags,
    };
    let d = state.image.create_namespace(&caller.ctx, new).await?;
    let location = namespace_href(&d.namespace.namespace);
    let mut resp = created(namespace_json(&d));
    if let Ok(v) = location.parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub async fn show_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = query_params(query)?;
    let rt = param(&params, "resource_type").filter(|s| !s.is_empty());
    let d = state.image.get_namespace(&caller.ctx, &ns, rt).await?;
    Ok(Json(namespace_json(&d)))
}

pub async fn update_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let m = object_body(&body, NAMESPACE_READ_ONLY, NAMESPACE_KEYS)?;
    let update = NamespaceUpdate {
        namespace: req_string(m, "namespace")?,
        display_name: opt_string(m, "display_name")?,
        description: opt_string(m, "description")?,
        visibility: visibility(m)?,
        protected: opt_bool(m, "protected")?,
        owner: opt_string(m, "owner")?,
    };
    let n = state
        .image
        .update_namespace(&caller.ctx, &ns, update)
        .await?;
    Ok(Json(Value::Object(namespace_fields(&n))))
}

pub async fn delete_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<StatusCode> {
    state.image.delete_namespace(&caller.ctx, &ns).await?;
    Ok(StatusCode::NO_CONTENT)
}

// -------------------------------------------------------------- objects

pub async fn list_objects(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<Json<Value>> {
    let objects = state.image.list_metadef_objects(&caller.ctx, &ns).await?;
    Ok(Json(json!({
        "objects": objects.iter().map(|o| object_json(&ns, o)).collect::<Vec<_>>(),
        // Glance's own spelling, without the leading slash.
        "schema": "v2/schemas/metadefs/objects",
    })))
}

pub async fn create_object(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let m = object_body(&body, NAMESPACE_READ_ONLY, OBJECT_KEYS)?;
    let o = state
        .image
        .create_metadef_object(&caller.ctx, &ns, new_object(m)?)
        .await?;
    Ok(created(object_json(&ns, &o)))
}

pub async fn show_object(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let o = state
        .image
        .get_metadef_object(&caller.ctx, &ns, &name)
        .await?;
    Ok(Json(object_json(&ns, &o)))
}

pub async fn update_object(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let m = object_body(&body, NAMESPACE_READ_ONLY, OBJECT_KEYS)?;
    let o = state
        .image
        .update_metadef_object(&caller.ctx, &ns, &name, new_object(m)?)
        .await?;
    Ok(Json(object_json(&ns, &o)))
}

pub async fn delete_object(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .image
        .delete_metadef_object(&caller.ctx, &ns, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_objects(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .image
        .delete_namespace_objects(&caller.ctx, &ns)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------- properties

fn property_def(body: &Value) -> ApiResult<PropertyDef> {
    let m = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
    for key in ["created_at", "updated_at"] {
        if m.contains_key(key) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("Attribute '{key}' is read-only."),
            ));
        }
    }
    Ok(PropertyDef {
        name: req_string(m, "name")?,
        schema: m.clone(),
    })
}

pub async fn list_properties(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<Json<Value>> {
    let props = state
        .image
        .list_metadef_properties(&caller.ctx, &ns)
        .await?;
    Ok(Json(json!({ "properties": properties_map(&props) })))
}

pub async fn create_property(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let def = property_def(&body)?;
    let p = state
        .image
        .create_metadef_property(&caller.ctx, &ns, def)
        .await?;
    Ok(created(property_json(&p)))
}

pub async fn show_property(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = query_params(query)?;
    let rt = param(&params, "resource_type").filter(|s| !s.is_empty());
    let p = state
        .image
        .get_metadef_property(&caller.ctx, &ns, &name, rt)
        .await?;
    Ok(Json(property_json(&p)))
}

pub async fn update_property(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let def = property_def(&body)?;
    let p = state
        .image
        .update_metadef_property(&caller.ctx, &ns, &name, def)
        .await?;
    Ok(Json(property_json(&p)))
}

pub async fn delete_property(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .image
        .delete_metadef_property(&caller.ctx, &ns, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_properties(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .image
        .delete_namespace_properties(&caller.ctx, &ns)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------------- tags

pub async fn list_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = query_params(query)?;
    let filter = TagFilter {
        marker: param(&params, "marker")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        limit: limit(&params)?.filter(|l| *l > 0),
        sort_key: param(&params, "sort_key").map(str::to_string),
        sort_dir: sort_dir(&params)?,
    };
    let tags = state
        .image
        .list_metadef_tags(&caller.ctx, &ns, &filter)
        .await?;
    // Glance lists names only.
    Ok(Json(json!({
        "tags": tags.iter().map(|t| json!({"name": t.name})).collect::<Vec<_>>(),
    })))
}

pub async fn create_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let m = object_body(&body, &["created_at", "updated_at"], &["tags"])?;
    let names = array(m, "tags")?
        .iter()
        .map(|t| req_string(object_body(t, &[], &["name"])?, "name"))
        .collect::<ApiResult<Vec<_>>>()?;
    let append = header_true(&headers, "x-openstack-append");
    let tags = state
        .image
        .create_metadef_tags(&caller.ctx, &ns, &names, append)
        .await?;
    Ok(created(json!({
        "tags": tags.iter().map(|t| json!({"name": t.name})).collect::<Vec<_>>(),
    })))
}

pub async fn delete_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<StatusCode> {
    state.image.delete_namespace_tags(&caller.ctx, &ns).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/tags/{tag}`: the name is in the path; any body is ignored.
pub async fn create_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let t = state
        .image
        .create_metadef_tag(&caller.ctx, &ns, &name)
        .await?;
    Ok(created(tag_json(&t)))
}

pub async fn show_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let t = state.image.get_metadef_tag(&caller.ctx, &ns, &name).await?;
    Ok(Json(tag_json(&t)))
}

pub async fn update_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let m = object_body(&body, &["created_at", "updated_at"], &["name"])?;
    let new_name = req_string(m, "name")?;
    let t = state
        .image
        .update_metadef_tag(&caller.ctx, &ns, &name, &new_name)
        .await?;
    Ok(Json(tag_json(&t)))
}

pub async fn delete_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .image
        .delete_metadef_tag(&caller.ctx, &ns, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------- resource types

pub async fn list_resource_types(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let types = state.image.list_resource_types(&caller.ctx).await?;
    Ok(Json(json!({
        "resource_types": types
            .iter()
            .map(|t| json!({
                "name": t.name,
                "created_at": ts(&t.created_at),
                "updated_at": ts(&t.updated_at),
            }))
            .collect::<Vec<_>>(),
    })))
}

pub async fn list_associations(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = state
        .image
        .list_resource_type_associations(&caller.ctx, &ns)
        .await?;
    Ok(Json(json!({
        "resource_type_associations": list.iter().map(association_json).collect::<Vec<_>>(),
    })))
}

pub async fn create_association(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let new = association(&body)?;
    let a = state
        .image
        .create_resource_type_association(&caller.ctx, &ns, new)
        .await?;
    Ok(created(association_json(&a)))
}

pub async fn delete_association(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .image
        .delete_resource_type_association(&caller.ctx, &ns, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
