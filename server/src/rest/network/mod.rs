//! Neutron v2.0 at `/network`: thin adapters over
//! [`cloud::network::NetworkService`].
//!
//! Every request under `/network` passes [`neutron_layer`], which renders
//! each fault in Neutron's shape (`{"NeutronError": {"type", "message",
//! "detail"}}`); a 401 keeps keystonemiddleware's (Keystone's) shape, as
//! in Neutron. Lists read Neutron's query language: repeated keys are an
//! OR (`?id=a&id=b`), unknown filters are refused (the `filter-validation`
//! extension), `fields` picks attributes, `sort_key`/`sort_dir` sort, and
//! `limit`/`marker` page by keyset with a `next` link.

mod extensions;
mod floating_ips;
mod networks;
mod ports;
mod quotas;
mod routers;
mod security_groups;
mod subnets;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, Utc};
use cloud::network::NetworkError;
use cloud::quota::{QuotaError, Resource};
use cloud::{Page, ServiceError, SortDir};
use serde_json::{json, Map, Value};

use super::error::{method_not_allowed, not_found, ApiError, Fault};
use super::table::RouteTable;
use crate::AppState;

/// Neutron's routes, relative to `/network` (`/network/` itself is
/// [`versions`], mounted beside the nest).
pub fn table() -> RouteTable {
    let v20 = RouteTable::new()
        .route("/", get(resources))
        .merge(extensions::table())
        .merge(networks::table())
        .merge(subnets::table())
        .merge(ports::table())
        .merge(security_groups::table())
        .merge(routers::table())
        .merge(floating_ips::table())
        .merge(quotas::table());
    RouteTable::new()
        .route("/", get(versions))
        .route("/v2.0/", get(resources))
        .nest("/v2.0", v20)
        .map_router(|r| {
            r.fallback(not_found)
                .method_not_allowed_fallback(method_not_allowed)
                .layer(axum::middleware::from_fn(neutron_layer))
        })
}

// ------------------------------------------------------------------ faults

/// A fault as Neutron names it: its HTTP status, its exception's name
/// (`NetworkNotFound`, `IpAddressGenerationFailure`) and message.
#[derive(Debug)]
pub struct NeutronFault {
    pub status: StatusCode,
    pub kind: String,
    pub message: String,
}

pub type NeutronResult<T> = Result<T, NeutronFault>;

impl NeutronFault {
    pub fn bad_request(message: impl Into<String>) -> NeutronFault {
        NeutronFault {
            status: StatusCode::BAD_REQUEST,
            kind: "HTTPBadRequest".into(),
            message: message.into(),
        }
    }

    pub fn not_found(kind: &str, message: impl Into<String>) -> NeutronFault {
        NeutronFault {
            status: StatusCode::NOT_FOUND,
            kind: kind.into(),
            message: message.into(),
        }
    }
}

/// Neutron's exception name for a status it answers without one.
fn http_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "HTTPBadRequest",
        401 => "HTTPUnauthorized",
        403 => "HTTPForbidden",
        404 => "HTTPNotFound",
        405 => "HTTPMethodNotAllowed",
        409 => "HTTPConflict",
        413 => "HTTPRequestEntityTooLarge",
        415 => "HTTPUnsupportedMediaType",
        503 => "HTTPServiceUnavailable",
        _ => "HTTPInternalServerError",
    }
}

impl From<NetworkError> for NeutronFault {
    fn from(e: NetworkError) -> NeutronFault {
        let kind = e.neutron_type().to_string();
        let message = match &e {
            // Neutron's words: "Quota exceeded for resources: ['network']."
            NetworkError::OverQuota(o) => {
                format!("Quota exceeded for resources: ['{}'].", o.resource)
            }
            _ => ApiError::service(&e).message,
        };
        NeutronFault {
            status: super::error::status_of(e.kind()),
            kind,
            message,
        }
    }
}

impl From<QuotaError> for NeutronFault {
    fn from(e: QuotaError) -> NeutronFault {
        NeutronFault::from(NetworkError::from(e))
    }
}

impl From<cloud::identity::IdentityError> for NeutronFault {
    fn from(e: cloud::identity::IdentityError) -> NeutronFault {
        NeutronFault::from(ApiError::from(e))
    }
}

impl From<ApiError> for NeutronFault {
    fn from(e: ApiError) -> NeutronFault {
        NeutronFault {
            status: e.status,
            kind: http_kind(e.status).into(),
            message: e.message,
        }
    }
}

/// Neutron's fault body, left on the response as a [`Fault`] too so the
/// layer knows it is already shaped.
fn fault_body(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"NeutronError": {"type": kind, "message": message, "detail": ""}});
    let mut res = (status, Json(body)).into_response();
    res.extensions_mut().insert(Shaped);
    res
}

/// Marks a response whose body is already a `NeutronError`.
#[derive(Debug, Clone, Copy)]
struct Shaped;

impl IntoResponse for NeutronFault {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            return ApiError::unauthorized().into_response();
        }
        fault_body(self.status, &self.kind, &self.message)
    }
}

/// The network API's layer: every fault not already Neutron-shaped (the
/// caller's token, a path that did not parse, an unknown route) is given
/// Neutron's body; a 401 stays Keystone's.
pub async fn neutron_layer(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || status == StatusCode::UNAUTHORIZED
        || res.extensions().get::<Shaped>().is_some()
    {
        return res;
    }
    let message = match res.extensions_mut().remove::<Fault>() {
        Some(f) => Some(f.0),
        None => super::compute::plain_text(&mut res).await,
    };
    let Some(message) = message else {
        return res;
    };
    let mut out = fault_body(status, http_kind(status), &message);
    for (k, v) in res.headers_mut().drain().filter_map(|(k, v)| Some((k?, v))) {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(k, v);
        }
    }
    out
}

// ---------------------------------------------------------------- versions

fn root(state: &AppState) -> String {
    format!("{}/network", state.config.public_url.trim_end_matches('/'))
}

/// `<public_url>/network/v2.0`, the base of every link.
fn base(state: &AppState) -> String {
    format!("{}/v2.0", root(state))
}

/// `GET /network/`: the one version Neutron offers.
pub async fn versions(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"versions": [{
        "id": "v2.0",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{}/", base(&state))}],
    }]}))
}

/// `GET /network/v2.0/`: the resources of the version.
async fn resources(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = [
        "network",
        "subnet",
        "port",
        "security_group",
        "security_group_rule",
        "router",
        "floatingip",
        "quota",
        "extension",
    ]
    .iter()
    .map(|name| {
        let collection = format!("{name}s").replace('_', "-");
        json!({
            "name": name,
            "collection": collection,
            "links": [{"rel": "self", "href": format!("{}/{collection}", base(&state))}],
        })
    })
    .collect();
    Json(json!({ "resources": list }))
}

// ------------------------------------------------------------------- lists

/// A list's query as Neutron reads it: every key may repeat.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

/// Query keys every list takes besides its filters.
const CONTROL_KEYS: [&str; 6] = [
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
];

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = NeutronFault;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| NeutronFault::bad_request(format!("Invalid query string: {e}")))?;
        Ok(ListQuery { pairs })
    }
}

impl ListQuery {
    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The first value of `key`.
    pub fn one(&self, key: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Refuses a key that is neither a control key nor one of `filters`
    /// (Neutron's filter validation).
    pub fn check_filters(&self, filters: &[&str]) -> NeutronResult<()> {
        for (k, _) in &self.pairs {
            if !CONTROL_KEYS.contains(&k.as_str()) && !filters.contains(&k.as_str()) {
                return Err(NeutronFault::bad_request(format!(
                    "[{k}] is invalid attribute for filtering"
                )));
            }
        }
        Ok(())
    }

    /// A filter on a string attribute: `None` when absent; a key given
    /// several times matches any of them (see [`ListQuery::any_of`]).
    pub fn text(&self, key: &str) -> Option<String> {
        self.one(key)
    }

    /// The values of a filter that may repeat; `None` when absent.
    pub fn any_of(&self, key: &str) -> Option<Vec<String>> {
        let v = self.all(key);
        (!v.is_empty()).then_some(v)
    }

    /// A boolean filter, as Neutron converts it.
    pub fn flag(&self, key: &str) -> NeutronResult<Option<bool>> {
        match self.one(key) {
            None => Ok(None),
            Some(v) => parse_bool(&Value::String(v.clone()))
                .map(Some)
                .ok_or_else(|| {
                    NeutronFault::bad_request(format!(
                        "Invalid input for operation: '{v}' cannot be converted to boolean."
                    ))
                }),
        }
    }

    /// `project_id` or its old name `tenant_id`.
    pub fn project(&self) -> Option<String> {
        self.one("project_id").or_else(|| self.one("tenant_id"))
    }

    /// `limit` (None: every row) and `marker`.
    pub fn paging(&self) -> NeutronResult<(Option<usize>, Option<String>)> {
        if let Some(v) = self.one("page_reverse") {
            if parse_bool(&Value::String(v)) == Some(true) {
                return Err(NeutronFault::bad_request(
                    "page_reverse is not supported by this cloud.",
                ));
            }
        }
        let limit = match self.one("limit") {
            None => None,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n > 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                // Neutron treats 0 as "no limit".
                Ok(0) => None,
                _ => {
                    return Err(NeutronFault::bad_request(format!(
                        "Bad limit request: Limit must be an integer 0 or greater and not '{v}'."
                    )))
                }
            },
        };
        Ok((limit, self.one("marker").filter(|m| !m.is_empty())))
    }

    /// `sort_key`/`sort_dir` pairs, each key read by `parse`.
    pub fn sort<K>(&self, parse: impl Fn(&str) -> Option<K>) -> NeutronResult<Vec<(K, SortDir)>> {
        let keys = self.all("sort_key");
        let dirs = self.all("sort_dir");
        if !dirs.is_empty() && dirs.len() != keys.len() {
            return Err(NeutronFault::bad_request(
                "The number of sort_keys and sort_dirs must be same",
            ));
        }
        let mut out = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let key = parse(k).ok_or_else(|| {
                NeutronFault::bad_request(format!("{k} is an invalid attribute for sort_key"))
            })?;
            let dir = match dirs.get(i).map(String::as_str) {
                None | Some("asc") => SortDir::Asc,
                Some("desc") => SortDir::Desc,
                Some(d) => {
                    return Err(NeutronFault::bad_request(format!(
                        "{d} is an invalid value for sort_dir, valid value is 'asc' and 'desc'"
                    )))
                }
            };
            out.push((key, dir));
        }
        Ok(out)
    }

    /// The attributes `fields` asks for (empty: all).
    pub fn fields(&self) -> Vec<String> {
        self.all("fields")
            .iter()
            .flat_map(|f| f.split(','))
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The query without `marker`, for a `next` link.
    fn without_marker(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(k, _)| k != "marker")
            .cloned()
            .collect()
    }
}

/// An object with only the asked `fields` (all when none are asked).
pub fn select_fields(mut obj: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return obj;
    }
    if let Some(map) = obj.as_object_mut() {
        map.retain(|k, _| fields.iter().any(|f| f == k));
    }
    obj
}

/// Rows read from the service by keyset: with a limit, one page (and
/// whether more follow); without, every row in pages of 500.
pub async fn collect<T, F, Fut>(
    limit: Option<usize>,
    marker: Option<String>,
    id: impl Fn(&T) -> String,
    fetch: F,
) -> NeutronResult<(Vec<T>, bool)>
where
    F: Fn(Option<String>, i64) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, NetworkError>>,
{
    const CHUNK: usize = 500;
    if let Some(limit) = limit {
        let want = limit.min(cloud::page::MAX_PAGE as usize - 1);
        let mut page = fetch(marker, (want + 1) as i64).await?;
        let more = page.items.len() > want;
        page.items.truncate(want);
        return Ok((page.items, more));
    }
    let mut out: Vec<T> = Vec::new();
    let mut marker = marker;
    loop {
        let page = fetch(marker.clone(), CHUNK as i64).await?;
        let n = page.items.len();
        marker = page.items.last().map(&id);
        out.extend(page.items);
        if n < CHUNK {
            return Ok((out, false));
        }
    }
}

/// A list's body: `{collection: [...]}` with `{collection}_links` holding
/// a `next` link when more rows follow.
pub fn list_body(
    state: &AppState,
    collection: &str,
    q: &ListQuery,
    items: Vec<Value>,
    last_id: Option<String>,
    more: bool,
) -> Value {
    let mut body = Map::new();
    body.insert(collection.into(), Value::Array(items));
    if let (true, Some(last)) = (more, last_id) {
        let mut params = q.without_marker();
        params.push(("marker".into(), last));
        let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
        body.insert(
            format!("{collection}_links"),
            // The body says `security_groups`, the path `security-groups`.
            json!([{"rel": "next", "href": format!("{}/{}?{qs}", base(state), collection.replace('_', "-"))}]),
        );
    }
    Value::Object(body)
}

// ----------------------------------------------------------------- bodies

/// Neutron's `convert_to_boolean` for bodies and query strings.
pub fn parse_bool(v: &Value) -> Option<bool> {
    super::compute::parse_bool(v)
}

/// Neutron's timestamps: `2024-01-01T00:00:00Z`.
pub fn iso(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The body's object under `key` (`{"network": {...}}`).
pub fn object_at(body: &Value, key: &str) -> NeutronResult<Map<String, Value>> {
    body.get(key)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            NeutronFault::bad_request(format!("Resource body required: '{key}' is missing."))
        })
}

/// A request body's attributes, taken one by one; what is left over is
/// refused ([`Attrs::done`]).
pub struct Attrs {
    map: Map<String, Value>,
}

fn invalid_attr(what: &str, key: &str, v: &Value) -> NeutronFault {
    NeutronFault::bad_request(format!(
        "Invalid input for {key}. Reason: '{}' is not {what}.",
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    ))
}

impl Attrs {
    pub fn new(map: Map<String, Value>) -> Attrs {
        Attrs { map }
    }

    pub fn peek(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    pub fn string(&mut self, key: &str) -> NeutronResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(invalid_attr("a valid string", key, &v)),
        }
    }

    /// A string that may be `null` (read as empty).
    pub fn string_or_null(&mut self, key: &str) -> NeutronResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(String::new())),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(invalid_attr("a valid string", key, &v)),
        }
    }

    pub fn boolean(&mut self, key: &str) -> NeutronResult<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => parse_bool(&v)
                .map(Some)
                .ok_or_else(|| invalid_attr("a valid boolean", key, &v)),
        }
    }

    pub fn integer(&mut self, key: &str) -> NeutronResult<Option<i64>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Ok(s.trim().parse::<i64>().ok())
            }
            Some(v) => Err(invalid_attr("an integer", key, &v)),
        }
    }

    /// A list of strings.
    pub fn strings(&mut self, key: &str) -> NeutronResult<Option<Vec<String>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(invalid_attr("a valid string", key, &other)),
                })
                .collect::<NeutronResult<Vec<_>>>()
                .map(Some),
            Some(v) => Err(invalid_attr("a list", key, &v)),
        }
    }

    /// A list of objects.
    pub fn objects(&mut self, key: &str) -> NeutronResult<Option<Vec<Map<String, Value>>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(o) => Ok(o),
                    other => Err(invalid_attr("a dictionary", key, &other)),
                })
                .collect::<NeutronResult<Vec<_>>>()
                .map(Some),
            Some(v) => Err(invalid_attr("a list", key, &v)),
        }
    }

    /// Attributes clients send that mean nothing here (read-only ones a
    /// client echoes back, extensions not kept).
    pub fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            self.map.remove(*k);
        }
    }

    /// Refuses whatever is left.
    pub fn done(self) -> NeutronResult<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = self.map.keys().map(|k| format!("'{k}'")).collect();
        Err(NeutronFault::bad_request(format!(
            "Unrecognized attribute(s) {}",
            keys.join(", ")
        )))
    }
}

/// `project_id`, or its old name `tenant_id`, from a create body.
pub fn project_of(a: &mut Attrs) -> NeutronResult<Option<String>> {
    let project = a.string("project_id")?;
    let tenant = a.string("tenant_id")?;
    match (project, tenant) {
        (Some(p), Some(t)) if p != t => Err(NeutronFault::bad_request(
            "'project_id' and 'tenant_id' do not match",
        )),
        (p, t) => Ok(p.or(t)),
    }
}

/// Only admins see provider and binding attributes.
pub fn is_admin(caller: &super::auth::Caller) -> bool {
    caller.ctx.is_admin()
}

/// The quota resources of the network service, by Neutron's names.
pub const QUOTA_RESOURCES: [Resource; 7] = [
    Resource::NETWORKS,
    Resource::SUBNETS,
    Resource::PORTS,
    Resource::SECURITY_GROUPS,
    Resource::SECURITY_GROUP_RULES,
    Resource::ROUTERS,
    Resource::FLOATING_IPS,
];

/// The standard attributes kept for every resource (`standard-attr-
/// timestamp`; revisions and tags are not kept, so not shown).
pub fn standard(obj: &mut Map<String, Value>, created: &DateTime<Utc>, updated: &DateTime<Utc>) {
    obj.insert("created_at".into(), json!(iso(created)));
    obj.insert("updated_at".into(), json!(iso(updated)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(s: &str) -> ListQuery {
        ListQuery {
            pairs: serde_urlencoded::from_str(s).unwrap_or_default(),
        }
    }

    #[test]
    fn lists_read_neutrons_query_language() {
        let q = query("id=a&id=b&fields=id&fields=name,status&limit=2&marker=m");
        assert_eq!(q.any_of("id"), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(q.fields(), ["id", "name", "status"]);
        assert_eq!(q.paging().ok(), Some((Some(2), Some("m".to_string()))));
        assert!(q.check_filters(&["id"]).is_ok());
        let e = query("colour=red").check_filters(&["id"]).err();
        assert_eq!(
            e.map(|e| e.message),
            Some("[colour] is invalid attribute for filtering".to_string())
        );
        assert!(query("limit=x").paging().is_err());
        assert_eq!(query("limit=0").paging().ok(), Some((None, None)));
        assert!(query("sort_key=name&sort_dir=up")
            .sort(|k| (k == "name").then_some(()))
            .is_err());
        assert!(query("sort_key=nope").sort(|_| None::<()>).is_err());
    }

    #[test]
    fn leftover_attributes_are_refused() {
        let mut a = Attrs::new(
            json!({"name": "n", "colour": 1})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert_eq!(a.string("name").ok().flatten().as_deref(), Some("n"));
        let e = a.done().err().map(|e| e.message);
        assert_eq!(e.as_deref(), Some("Unrecognized attribute(s) 'colour'"));
        let mut b = Attrs::new(
            json!({"admin_state_up": "maybe"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert!(b.boolean("admin_state_up").is_err());
    }
}
