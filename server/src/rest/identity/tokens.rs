//! `/v3/auth/*`: issue, validate, check and revoke tokens; what a token can see.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cloud::identity::{
    AssignmentFilter, AuthMethod, CatalogEntry, DomainRef, ProjectRef, ScopeRequest, TokenInfo,
    UserRef,
};
use cloud::secret::Secret;
use serde_json::{json, Value};

use super::resources::{domain_json, project_json};
use super::ListLinks;
use super::{ts, ts_opt, JsonBody};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

fn missing(what: &str) -> ApiError {
    ApiError::bad_request(format!("Expecting to find {what} in the request body."))
}

fn str_field(v: &Value, key: &str, what: &str) -> ApiResult<Option<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!(
            "{what}.{key} must be a string."
        ))),
    }
}

fn domain_ref(v: &Value, what: &str) -> ApiResult<DomainRef> {
    if !v.is_object() {
        return Err(missing(what));
    }
    if let Some(id) = str_field(v, "id", what)? {
        Ok(DomainRef::Id(id))
    } else if let Some(name) = str_field(v, "name", what)? {
        Ok(DomainRef::Name(name))
    } else {
        Err(ApiError::bad_request(format!(
            "{what} needs an id or a name."
        )))
    }
}

fn user_ref(v: &Value, what: &str) -> ApiResult<UserRef> {
    if !v.is_object() {
        return Err(missing(what));
    }
    if let Some(id) = str_field(v, "id", what)? {
        return Ok(UserRef::Id(id));
    }
    let name = str_field(v, "name", what)?.ok_or_else(|| {
        ApiError::bad_request(format!("{what} needs an id, or a name and a domain."))
    })?;
    let domain = v
        .get("domain")
        .ok_or_else(|| ApiError::bad_request(format!("{what} given by name needs a domain.")))?;
    Ok(UserRef::Name {
        name,
        domain: domain_ref(domain, &format!("{what}.domain"))?,
    })
}

fn scope_request(scope: Option<&Value>) -> ApiResult<ScopeRequest> {
    let Some(scope) = scope.filter(|s| !s.is_null()) else {
        return Ok(ScopeRequest::Default);
    };
    if scope.as_str() == Some("unscoped") {
        return Ok(ScopeRequest::Unscoped);
    }
    if !scope.is_object() {
        return Err(ApiError::bad_request(
            "auth.scope must be an object or \"unscoped\".",
        ));
    }
    if let Some(p) = scope.get("project") {
        if !p.is_object() {
            return Err(missing("auth.scope.project"));
        }
        if let Some(id) = str_field(p, "id", "auth.scope.project")? {
            return Ok(ScopeRequest::Project(ProjectRef::Id(id)));
        }
        let name = str_field(p, "name", "auth.scope.project")?.ok_or_else(|| {
            ApiError::bad_request("auth.scope.project needs an id, or a name and a domain.")
        })?;
        let domain = p.get("domain").ok_or_else(|| {
            ApiError::bad_request("auth.scope.project given by name needs a domain.")
        })?;
        return Ok(ScopeRequest::Project(ProjectRef::Name {
            name,
            domain: domain_ref(domain, "auth.scope.project.domain")?,
        }));
    }
    if let Some(d) = scope.get("domain") {
        return Ok(ScopeRequest::Domain(domain_ref(d, "auth.scope.domain")?));
    }
    if let Some(t) = scope.get("OS-TRUST:trust") {
        let id = str_field(t, "id", "auth.scope.OS-TRUST:trust")?
            .ok_or_else(|| missing("auth.scope.OS-TRUST:trust.id"))?;
        return Ok(ScopeRequest::Trust(id));
    }
    if let Some(s) = scope.get("system") {
        if s.get("all").and_then(Value::as_bool) == Some(true) {
            return Ok(ScopeRequest::System);
        }
        return Err(ApiError::bad_request(
            "auth.scope.system must be {\"all\": true}.",
        ));
    }
    Err(ApiError::bad_request(
        "auth.scope must name a project, a domain or the system.",
    ))
}

/// Parses Keystone's `{"auth": {"identity": …, "scope": …}}`.
fn parse_auth(body: &Value) -> ApiResult<(AuthMethod, ScopeRequest)> {
    let auth = body
        .get("auth")
        .filter(|a| a.is_object())
        .ok_or_else(|| missing("auth"))?;
    let identity = auth
        .get("identity")
        .filter(|a| a.is_object())
        .ok_or_else(|| missing("auth.identity"))?;
    let methods: Vec<&str> = identity
        .get("methods")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("auth.identity.methods"))?
        .iter()
        .map(|m| {
            m.as_str().ok_or_else(|| {
                ApiError::bad_request("auth.identity.methods must be a list of strings.")
            })
        })
        .collect::<ApiResult<_>>()?;
    if methods.is_empty() {
        return Err(missing("at least one method in auth.identity.methods"));
    }
    let scope = scope_request(auth.get("scope"))?;
    let method = if methods.contains(&"application_credential") {
        let ac = identity
            .get("application_credential")
            .filter(|a| a.is_object())
            .ok_or_else(|| missing("auth.identity.application_credential"))?;
        let what = "auth.identity.application_credential";
        let secret = str_field(ac, "secret", what)?
            .ok_or_else(|| missing("auth.identity.application_credential.secret"))?;
        let user = match ac.get("user") {
            Some(u) if !u.is_null() => {
                Some(user_ref(u, "auth.identity.application_credential.user")?)
            }
            _ => None,
        };
        AuthMethod::AppCredential {
            id: str_field(ac, "id", what)?,
            name: str_field(ac, "name", what)?,
            user,
            secret: Secret::new(secret),
        }
    } else if methods.contains(&"password") {
        let pw = identity
            .get("password")
            .filter(|a| a.is_object())
            .ok_or_else(|| missing("auth.identity.password"))?;
        let user = pw
            .get("user")
            .ok_or_else(|| missing("auth.identity.password.user"))?;
        let password = str_field(user, "password", "auth.identity.password.user")?
            .ok_or_else(|| missing("auth.identity.password.user.password"))?;
        AuthMethod::Password {
            user: user_ref(user, "auth.identity.password.user")?,
            password: Secret::new(password),
        }
    } else if methods.contains(&"token") {
        let t = identity
            .get("token")
            .filter(|a| a.is_object())
            .ok_or_else(|| missing("auth.identity.token"))?;
        let id = str_field(t, "id", "auth.identity.token")?
            .ok_or_else(|| missing("auth.identity.token.id"))?;
        AuthMethod::Token {
            token: Secret::new(id),
        }
    } else {
        return Err(ApiError::unauthorized());
    };
    Ok((method, scope))
}

pub(crate) fn catalog_json(catalog: &[CatalogEntry]) -> Value {
    Value::Array(
        catalog
            .iter()
            .map(|c| {
                json!({
                    "endpoints": c.endpoints.iter().map(|e| json!({
                        "id": e.id,
                        "interface": e.interface,
                        "region": e.region_id,
                        "region_id": e.region_id,
                        "url": e.url,
                    })).collect::<Vec<_>>(),
                    "id": c.service.id,
                    "type": c.service.r#type,
                    "name": c.service.name,
                })
            })
            .collect(),
    )
}

/// The `{"token": …}` body of a token.
async fn token_json(state: &AppState, info: &TokenInfo, with_catalog: bool) -> ApiResult<Value> {
    let mut t = json!({
        "methods": info.methods,
        "user": {
            "id": info.user.id,
            "name": info.user.name,
            "domain": {"id": info.user_domain.id, "name": info.user_domain.name},
            "password_expires_at": ts_opt(&info.password_expires_at),
        },
        "audit_ids": info.audit_ids,
        "expires_at": ts(&info.expires_at),
        "issued_at": ts(&info.issued_at),
    });
    let scoped = info.project.is_some() || info.domain.is_some() || info.system;
    if let (Some(p), Some(d)) = (&info.project, &info.project_domain) {
        t["project"] = json!({"id": p.id, "name": p.name, "domain": {"id": d.id, "name": d.name}});
        t["is_domain"] = json!(false);
    } else if let Some(d) = &info.domain {
        t["domain"] = json!({"id": d.id, "name": d.name});
    } else if info.system {
        t["system"] = json!({"all": true});
    }
    if scoped {
        t["roles"] = json!(info
            .roles
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name}))
            .collect::<Vec<_>>());
        if with_catalog {
            t["catalog"] = catalog_json(&state.identity.catalog().await?);
        }
    }
    if let Some(tr) = &info.trust {
        t["OS-TRUST:trust"] = json!({
            "id": tr.id,
            "impersonation": tr.impersonation,
            "trustor_user": {"id": tr.trustor_user_id},
            "trustee_user": {"id": tr.trustee_user_id},
            "links": {"self": format!("{}/OS-TRUST/trusts/{}", super::base(state), tr.id)},
        });
    }
    if let Some(ac) = &info.app_cred {
        let cred = state
            .identity
            .get_app_credential(&info.context(), &info.user.id, &ac.id)
            .await?;
        t["application_credential"] =
            json!({"id": ac.id, "name": ac.name, "restricted": !cred.unrestricted});
    }
    Ok(json!({"token": t}))
}

fn subject_token(headers: &HeaderMap) -> ApiResult<String> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_request("Expecting the token to check in the X-Subject-Token header.")
        })
}

/// `POST /v3/auth/tokens` → 201, `X-Subject-Token` and the token body.
pub async fn issue(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let (method, scope) = parse_auth(&body)?;
    let issued = state.identity.issue_token(method, scope).await?;
    let body = token_json(&state, &issued.info, !q.contains_key("nocatalog")).await?;
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    let header = HeaderValue::from_str(issued.id.expose())
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "invalid token id"))?;
    res.headers_mut().insert("x-subject-token", header);
    Ok(res)
}

/// `GET` (and `HEAD`) `/v3/auth/tokens`: 200 with the subject token's body, 404 if it is not valid.
pub async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let subject = subject_token(&headers)?;
    let info = state
        .identity
        .validate_subject_token(&caller.ctx, &subject)
        .await?;
    let with_catalog = !q.contains_key("nocatalog");
    let body = match state.token_bodies.get(&state, &subject, with_catalog) {
        Some(body) => body,
        None => {
            let generation = state.identity.cache_generation();
            let body = Bytes::from(
                serde_json::to_vec(&token_json(&state, &info, with_catalog).await?)
                    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
            );
            state
                .token_bodies
                .put(&subject, with_catalog, generation, body.clone());
            body
        }
    };
    let mut res = (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&subject) {
        res.headers_mut().insert("x-subject-token", v);
    }
    Ok(res)
}

/// Rendered `GET /v3/auth/tokens` bodies by subject token (its key, never
/// the token) and catalog flag: a validation is answered without building
/// JSON again. An entry serves only while the identity service's cache
/// generation is the one it was rendered under (any change that could alter
/// a token drops it) and for at most `token_cache_secs`, like the
/// validation it was made from. The caller's right to see the subject is
/// still checked on every request.
#[derive(Default)]
pub struct TokenBodies {
    map: RwLock<HashMap<(String, bool), RenderedBody>>,
}

/// A body, the cache generation it was rendered under, and when.
type RenderedBody = (Bytes, u64, Instant);

impl TokenBodies {
    const MAX_ENTRIES: usize = 100_000;

    fn get(&self, state: &AppState, subject: &str, with_catalog: bool) -> Option<Bytes> {
        let ttl = Duration::from_secs(state.identity.config().token_cache_secs);
        let generation = state.identity.cache_generation();
        let map = self.map.read().ok()?;
        let (body, made_under, at) =
            map.get(&(cloud::identity::token_key(subject), with_catalog))?;
        (*made_under == generation && at.elapsed() < ttl).then(|| body.clone())
    }

    fn put(&self, subject: &str, with_catalog: bool, generation: u64, body: Bytes) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= Self::MAX_ENTRIES {
                map.clear();
            }
            map.insert(
                (cloud::identity::token_key(subject), with_catalog),
                (body, generation, Instant::now()),
            );
        }
    }
}

/// `DELETE /v3/auth/tokens` → 204.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let subject = subject_token(&headers)?;
    state.identity.revoke_token(&caller.info, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn auth_catalog(
    State(state): State<AppState>,
    _caller: Caller,
    links: ListLinks,
) -> ApiResult<Json<Value>> {
    let catalog = state.identity.catalog().await?;
    Ok(Json(
        json!({"catalog": catalog_json(&catalog), "links": links.0.clone()}),
    ))
}

pub async fn auth_projects(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
) -> ApiResult<Json<Value>> {
    let projects = state.identity.auth_projects(&caller.info).await?;
    Ok(Json(json!({
        "projects": projects.iter().map(|p| project_json(&state, p)).collect::<Vec<_>>(),
        "links": links.0.clone(),
    })))
}

pub async fn auth_domains(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
) -> ApiResult<Json<Value>> {
    let domains = state.identity.auth_domains(&caller.info).await?;
    Ok(Json(json!({
        "domains": domains.iter().map(|d| domain_json(&state, d)).collect::<Vec<_>>(),
        "links": links.0.clone(),
    })))
}

pub async fn auth_system(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
) -> ApiResult<Json<Value>> {
    let f = AssignmentFilter {
        user_id: Some(caller.ctx.user_id.clone()),
        system: true,
        effective: true,
        ..Default::default()
    };
    let has_system = !state
        .identity
        .list_role_assignments(&caller.ctx, &f)
        .await?
        .is_empty();
    let system: Vec<Value> = if has_system {
        vec![json!({"all": true})]
    } else {
        vec![]
    };
    Ok(Json(json!({"system": system, "links": links.0.clone()})))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_password_by_name_with_project_scope() {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "u", "domain": {"name": "Default"}, "password": "p"}}}, "scope": {"project": {"name": "x", "domain": {"id": "default"}}}}});
        let (m, s) = parse_auth(&body).unwrap();
        assert!(matches!(
            m,
            AuthMethod::Password {
                user: UserRef::Name { .. },
                ..
            }
        ));
        assert_eq!(
            s,
            ScopeRequest::Project(ProjectRef::Name {
                name: "x".into(),
                domain: DomainRef::Id("default".into())
            })
        );
    }

    #[test]
    fn bad_shapes_are_400() {
        for body in [
            json!({}),
            json!({"auth": 1}),
            json!({"auth": {"identity": {"methods": "password"}}}),
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "u", "password": "p"}}}}}),
        ] {
            assert_eq!(
                parse_auth(&body).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{body}"
            );
        }
    }
}

/// Any body, however near to a real one, is parsed or refused with a 4xx.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::rest::arbitrary::json_value;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_auth_body_is_parsed_or_refused_as_a_client_error(v in json_value()) {
            for body in [
                v.clone(),
                json!({"auth": v.clone()}),
                json!({"auth": {"identity": v.clone()}}),
                json!({"auth": {"identity": {"methods": ["password"], "password": v.clone()}}}),
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": v.clone()}}}}),
                json!({"auth": {"identity": {"methods": ["token"], "token": v.clone()}}}),
                json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": v.clone()}}}),
                json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "t"}}, "scope": v.clone()}}),
            ] {
                if let Err(e) = parse_auth(&body) {
                    prop_assert!(e.status.is_client_error(), "{} for {}", e.status, body);
                }
            }
        }
    }
}
