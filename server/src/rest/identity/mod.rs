//! Keystone v3 at `/identity`: thin adapters over [`cloud::identity::IdentityService`].
//!
//! Handlers parse JSON, call the service with the caller's `RequestContext`
//! and render Keystone-shaped JSON; every decision (policy, validation,
//! lookups) is the service's.

mod appcreds;
mod assignments;
mod catalog;
mod credentials;
mod domain_config;
mod policies;
mod resources;
mod tokens;
mod trusts;
pub use tokens::TokenBodies;
mod version;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use chrono::{DateTime, NaiveDateTime, Utc};
use cloud::identity::ListFilter;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{method_not_allowed, not_found, ApiError};
use super::table::RouteTable;
use crate::AppState;

pub use version::versions;

/// Keystone's routes, relative to `/identity`.
pub fn table() -> RouteTable {
    let r = RouteTable::new()
        .route("/", get(version::versions))
        .route("/v3", get(version::v3))
        .route("/v3/", get(version::v3))
        // tokens and what a token can see
        .route(
            "/v3/auth/tokens",
            post(tokens::issue)
                .get(tokens::validate)
                .delete(tokens::revoke),
        )
        .route("/v3/auth/catalog", get(tokens::auth_catalog))
        .route("/v3/auth/projects", get(tokens::auth_projects))
        .route("/v3/auth/domains", get(tokens::auth_domains))
        .route("/v3/auth/system", get(tokens::auth_system))
        // domains, projects, users, groups, roles
        .route(
            "/v3/domains",
            get(resources::list_domains).post(resources::create_domain),
        )
        .route(
            "/v3/domains/{id}",
            get(resources::get_domain)
                .patch(resources::update_domain)
                .delete(resources::delete_domain),
        )
        .route(
            "/v3/projects",
            get(resources::list_projects).post(resources::create_project),
        )
        .route(
            "/v3/projects/{id}",
            get(resources::get_project)
                .patch(resources::update_project)
                .delete(resources::delete_project),
        )
        .route(
            "/v3/projects/{id}/tags",
            get(resources::list_project_tags)
                .put(resources::set_project_tags)
                .delete(resources::clear_project_tags),
        )
        .route(
            "/v3/projects/{id}/tags/{tag}",
            get(resources::check_project_tag)
                .head(resources::check_project_tag)
                .put(resources::add_project_tag)
                .delete(resources::remove_project_tag),
        )
        .route(
            "/v3/OS-TRUST/trusts",
            get(trusts::list).post(trusts::create),
        )
        // Tempest's client lists with a trailing slash.
        .route("/v3/OS-TRUST/trusts/", get(trusts::list))
        .route(
            "/v3/OS-TRUST/trusts/{id}",
            get(trusts::show).delete(trusts::delete),
        )
        .route("/v3/OS-TRUST/trusts/{id}/roles", get(trusts::roles))
        .route(
            "/v3/OS-TRUST/trusts/{id}/roles/{role_id}",
            get(trusts::role).head(trusts::check_role),
        )
        .route(
            "/v3/users",
            get(resources::list_users).post(resources::create_user),
        )
        .route(
            "/v3/users/{id}",
            get(resources::get_user)
                .patch(resources::update_user)
                .delete(resources::delete_user),
        )
        .route("/v3/users/{id}/password", post(resources::change_password))
        .route("/v3/users/{id}/groups", get(resources::user_groups))
        .route("/v3/users/{id}/projects", get(resources::user_projects))
        .route(
            "/v3/users/{id}/application_credentials",
            get(appcreds::list).post(appcreds::create),
        )
        .route("/v3/users/{id}/access_rules", get(appcreds::list_rules))
        .route(
            "/v3/users/{id}/access_rules/{rule_id}",
            get(appcreds::show_rule).delete(appcreds::delete_rule),
        )
        .route(
            "/v3/users/{id}/application_credentials/{cred_id}",
            get(appcreds::show).delete(appcreds::delete),
        )
        .route(
            "/v3/groups",
            get(resources::list_groups).post(resources::create_group),
        )
        .route(
            "/v3/groups/{id}",
            get(resources::get_group)
                .patch(resources::update_group)
                .delete(resources::delete_group),
        )
        .route("/v3/groups/{id}/users", get(resources::group_users))
        .route(
            "/v3/groups/{id}/users/{user_id}",
            put(resources::add_group_user)
                .get(resources::check_group_user)
                .head(resources::check_group_user)
                .delete(resources::remove_group_user),
        )
        .route(
            "/v3/roles",
            get(resources::list_roles).post(resources::create_role),
        )
        .route(
            "/v3/roles/{id}",
            get(resources::get_role)
                .patch(resources::update_role)
                .delete(resources::delete_role),
        )
        .route(
            "/v3/roles/{id}/implies",
            get(assignments::list_role_implies),
        )
        .route(
            "/v3/roles/{id}/implies/{implied}",
            put(assignments::create_implied)
                .get(assignments::get_implied)
                .head(assignments::check_implied)
                .delete(assignments::delete_implied),
        )
        .route("/v3/role_inferences", get(assignments::list_inferences))
        .route("/v3/role_assignments", get(assignments::list_assignments))
        // catalog
        .route(
            "/v3/services",
            get(catalog::list_services).post(catalog::create_service),
        )
        .route(
            "/v3/services/{id}",
            get(catalog::get_service)
                .patch(catalog::update_service)
                .delete(catalog::delete_service),
        )
        .route(
            "/v3/endpoints",
            get(catalog::list_endpoints).post(catalog::create_endpoint),
        )
        .route(
            "/v3/endpoints/{id}",
            get(catalog::get_endpoint)
                .patch(catalog::update_endpoint)
                .delete(catalog::delete_endpoint),
        )
        .route(
            "/v3/regions",
            get(catalog::list_regions).post(catalog::create_region),
        )
        .route(
            "/v3/regions/{id}",
            get(catalog::get_region)
                .put(catalog::put_region)
                .patch(catalog::update_region)
                .delete(catalog::delete_region),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups",
            get(catalog::list_endpoint_groups).post(catalog::create_endpoint_group),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}",
            get(catalog::get_endpoint_group)
                .patch(catalog::update_endpoint_group)
                .delete(catalog::delete_endpoint_group),
        )
        // domain-specific configuration
        .route(
            "/v3/domains/{id}/config",
            put(domain_config::create)
                .get(domain_config::show)
                .patch(domain_config::update)
                .delete(domain_config::delete),
        )
        .route(
            "/v3/domains/{id}/config/{group}",
            get(domain_config::show_group)
                .patch(domain_config::update_group)
                .delete(domain_config::delete_group),
        )
        .route(
            "/v3/domains/{id}/config/{group}/{option}",
            get(domain_config::show_option)
                .patch(domain_config::update_option)
                .delete(domain_config::delete_option),
        )
        .route(
            "/v3/domains/config/default",
            get(domain_config::default_all),
        )
        .route(
            "/v3/domains/config/{group}/default",
            get(domain_config::default_group),
        )
        .route(
            "/v3/domains/config/{group}/{option}/default",
            get(domain_config::default_option),
        )
        // credentials, and EC2 key pairs stored as credentials
        .route(
            "/v3/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/v3/credentials/{id}",
            get(credentials::show)
                .patch(credentials::update)
                .delete(credentials::delete),
        )
        .route(
            "/v3/users/{id}/credentials/OS-EC2",
            get(credentials::ec2_list).post(credentials::ec2_create),
        )
        .route(
            "/v3/users/{id}/credentials/OS-EC2/{credential_id}",
            get(credentials::ec2_show).delete(credentials::ec2_delete),
        )
        // Keystone's opaque policy blobs
        .route("/v3/policies", get(policies::list).post(policies::create))
        .route(
            "/v3/policies/{id}",
            get(policies::show)
                .patch(policies::update)
                .delete(policies::delete),
        );
    assignments::grant_routes(r).map_router(|r| {
        r.fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
    })
}

// ------------------------------------------------------------------ helpers

/// `<public_url>/identity/v3`, the base of every `links.self`.
pub(crate) fn base(state: &AppState) -> String {
    format!(
        "{}/identity/v3",
        state.config.public_url.trim_end_matches('/')
    )
}

/// Keystone's time format: ISO 8601, microseconds, `Z`.
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn ts_opt(t: &Option<DateTime<Utc>>) -> Value {
    t.as_ref()
        .map(|t| Value::String(ts(t)))
        .unwrap_or(Value::Null)
}

/// The `links` of a list body: `self` is the request's URL; Keystone
/// returns everything at once, so there is no previous or next page.
pub(crate) struct ListLinks(pub Value);

impl FromRequestParts<AppState> for ListLinks {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| &u.0)
            .unwrap_or(&parts.uri);
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_else(|| uri.path());
        let url = format!("{}{path}", state.config.public_url.trim_end_matches('/'));
        Ok(ListLinks(
            json!({"self": url, "previous": null, "next": null}),
        ))
    }
}

/// A JSON request body parsed whatever the Content-Type: malformed JSON or
/// a missing field is a 400 fault, never a 415 or a 500.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "The request body is missing: expecting a JSON object.",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
    }
}

/// Keystone's reading of a boolean query filter: `0` and `false` are false,
/// anything else (including an empty value) is true.
pub(crate) fn query_true(v: &str) -> bool {
    !(v == "0" || v.eq_ignore_ascii_case("false"))
}

/// `?name=`, `?domain_id=`, `?enabled=` as a [`ListFilter`].
pub(crate) fn list_filter(q: &HashMap<String, String>) -> ListFilter {
    ListFilter {
        name: q.get("name").cloned(),
        domain_id: q.get("domain_id").cloned(),
        enabled: q.get("enabled").map(|v| query_true(v)),
        ..Default::default()
    }
}

/// Pages through a list call until every row is read.
macro_rules! all_pages {
    ($filter:expr, |$f:ident| $call:expr) => {{
        let mut $f: cloud::identity::ListFilter = $filter;
        $f.limit = Some(cloud::page::MAX_PAGE);
        $f.offset = Some(0);
        let mut out = Vec::new();
        loop {
            let page = $call.await?;
            let n = page.items.len() as i64;
            out.extend(page.items);
            if n < cloud::page::MAX_PAGE || out.len() as i64 >= page.total {
                break;
            }
            $f.offset = Some(out.len() as i64);
        }
        out
    }};
}
pub(crate) use all_pages;

/// Times as clients send them: RFC 3339, or naive ISO 8601 taken as UTC.
pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let s2 = s.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s2, fmt) {
            return Ok(t.and_utc());
        }
    }
    Err(ApiError::bad_request(format!(
        "Invalid time {s:?}: expecting ISO 8601, e.g. 2030-01-01T00:00:00Z."
    )))
}

/// For PATCH fields where `null` (clear) differs from absent (keep).
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::rest::arbitrary::hostile_string;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_time_text_is_a_time_or_a_400(s in hostile_string()) {
            if let Err(e) = parse_time(&s) {
                prop_assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
            }
        }
    }
}
