//! Domains, projects, users, groups and roles.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::identity::{
    Domain, DomainUpdate, Group, GroupUpdate, NewProject, NewUser, Project, ProjectUpdate, Role,
    User, UserUpdate,
};
use cloud::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ListLinks;
use super::{all_pages, base, double_option, list_filter, ts_opt, JsonBody};
use crate::rest::auth::Caller;
use crate::rest::error::ApiResult;
use crate::AppState;

type Q = Query<HashMap<String, String>>;

pub(crate) fn domain_json(state: &AppState, d: &Domain) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "enabled": d.enabled,
        "tags": [],
        "options": {},
        "links": {"self": format!("{}/domains/{}", base(state), d.id)},
    })
}

pub(crate) fn project_json(state: &AppState, p: &Project) -> Value {
    // A domain seen as a project has neither domain nor parent, as in Keystone.
    let (domain_id, parent_id) = if p.is_domain {
        (Value::Null, Value::Null)
    } else {
        (
            json!(p.domain_id),
            json!(p.parent_id.as_deref().unwrap_or(&p.domain_id)),
        )
    };
    json!({
        "id": p.id,
        "name": p.name,
        "domain_id": domain_id,
        "description": p.description,
        "enabled": p.enabled,
        "parent_id": parent_id,
        "is_domain": p.is_domain,
        "tags": p.tags,
        "options": {},
        "links": {"self": format!("{}/projects/{}", base(state), p.id)},
    })
}

pub(crate) fn user_json(state: &AppState, u: &User) -> Value {
    // Extras first, so Keystone's own attributes always win.
    let mut v = Value::Object(u.extra.clone());
    let own = json!({
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "description": u.description,
        "password_expires_at": ts_opt(&u.password_expires_at),
        "options": {},
        "links": {"self": format!("{}/users/{}", base(state), u.id)},
    });
    if let (Value::Object(v), Value::Object(own)) = (&mut v, own) {
        v.extend(own);
    }
    if let Some(e) = &u.email {
        v["email"] = json!(e);
    }
    if let Some(p) = &u.default_project_id {
        v["default_project_id"] = json!(p);
    }
    v
}

pub(crate) fn group_json(state: &AppState, g: &Group) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description,
        "links": {"self": format!("{}/groups/{}", base(state), g.id)},
    })
}

pub(crate) fn role_json(state: &AppState, r: &Role) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": {},
        "links": {"self": format!("{}/roles/{}", base(state), r.id)},
    })
}

// ---------------------------------------------------------------- domains

#[derive(Deserialize)]
pub struct DomainBody {
    domain: DomainFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DomainFields {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

fn require(v: Option<String>, what: &str) -> ApiResult<String> {
    v.ok_or_else(|| {
        crate::rest::error::ApiError::bad_request(format!(
            "Expecting to find {what} in the request body."
        ))
    })
}

pub async fn list_domains(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    let items = all_pages!(list_filter(&q), |f| state
        .identity
        .list_domains(&caller.ctx, &f));
    Ok(Json(
        json!({"domains": items.iter().map(|d| domain_json(&state, d)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn create_domain(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<DomainBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = require(b.domain.name, "domain.name")?;
    let d = state
        .identity
        .create_domain(
            &caller.ctx,
            &name,
            b.domain.description.as_deref(),
            b.domain.enabled,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"domain": domain_json(&state, &d)})),
    ))
}

pub async fn get_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = state.identity.get_domain(&caller.ctx, &id).await?;
    Ok(Json(json!({"domain": domain_json(&state, &d)})))
}

pub async fn update_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<DomainBody>,
) -> ApiResult<Json<Value>> {
    let u = DomainUpdate {
        name: b.domain.name,
        description: b.domain.description,
        enabled: b.domain.enabled,
    };
    let d = state.identity.update_domain(&caller.ctx, &id, u).await?;
    Ok(Json(json!({"domain": domain_json(&state, &d)})))
}

pub async fn delete_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_domain(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --------------------------------------------------------------- projects

#[derive(Deserialize)]
pub struct ProjectBody {
    project: ProjectFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProjectFields {
    name: Option<String>,
    domain_id: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    parent_id: Option<String>,
    is_domain: Option<bool>,
    tags: Option<Vec<String>>,
}

/// `?parent_id=`, `?is_domain=` and the tag filters on top of the common ones.
fn project_filter(q: &HashMap<String, String>) -> cloud::identity::ListFilter {
    let tags = |k: &str| -> Vec<String> {
        q.get(k)
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    cloud::identity::ListFilter {
        parent_id: q.get("parent_id").cloned(),
        is_domain: q.get("is_domain").map(|v| super::query_true(v)),
        tags: tags("tags"),
        tags_any: tags("tags-any"),
        not_tags: tags("not-tags"),
        not_tags_any: tags("not-tags-any"),
        ..list_filter(q)
    }
}

pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    let items = all_pages!(project_filter(&q), |f| state
        .identity
        .list_projects(&caller.ctx, &f));
    Ok(Json(
        json!({"projects": items.iter().map(|p| project_json(&state, p)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<ProjectBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p = b.project;
    let new = NewProject {
        name: require(p.name, "project.name")?,
        domain_id: p.domain_id,
        description: p.description,
        enabled: p.enabled,
        parent_id: p.parent_id,
        is_domain: p.is_domain.unwrap_or(false),
        tags: p.tags.unwrap_or_default(),
    };
    let p = state.identity.create_project(&caller.ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"project": project_json(&state, &p)})),
    ))
}

pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let p = state.identity.get_project(&caller.ctx, &id).await?;
    Ok(Json(json!({"project": project_json(&state, &p)})))
}

pub async fn update_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ProjectBody>,
) -> ApiResult<Json<Value>> {
    let u = ProjectUpdate {
        name: b.project.name,
        description: b.project.description,
        enabled: b.project.enabled,
        tags: b.project.tags,
        parent_id: b.project.parent_id,
        domain_id: b.project.domain_id,
    };
    let p = state.identity.update_project(&caller.ctx, &id, u).await?;
    Ok(Json(json!({"project": project_json(&state, &p)})))
}

pub async fn delete_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_project(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ users

#[derive(Deserialize)]
pub struct UserBody {
    user: UserFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserFields {
    name: Option<String>,
    domain_id: Option<String>,
    #[serde(deserialize_with = "double_option")]
    email: Option<Option<String>>,
    description: Option<String>,
    enabled: Option<bool>,
    #[serde(deserialize_with = "double_option")]
    default_project_id: Option<Option<String>>,
    password: Option<String>,
    /// Whatever else the client sent: Keystone keeps it as extra attributes.
    #[serde(flatten)]
    extra: serde_json::Map<String, Value>,
}

pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    let items = all_pages!(list_filter(&q), |f| state
        .identity
        .list_users(&caller.ctx, &f));
    Ok(Json(
        json!({"users": items.iter().map(|u| user_json(&state, u)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<UserBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let u = b.user;
    let new = NewUser {
        name: require(u.name, "user.name")?,
        domain_id: u.domain_id,
        email: u.email.flatten(),
        description: u.description,
        enabled: u.enabled,
        default_project_id: u.default_project_id.flatten(),
        password: u.password.map(Secret::new),
        extra: u.extra,
    };
    let u = state.identity.create_user(&caller.ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": user_json(&state, &u)})),
    ))
}

pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let u = state.identity.get_user(&caller.ctx, &id).await?;
    Ok(Json(json!({"user": user_json(&state, &u)})))
}

pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UserBody>,
) -> ApiResult<Json<Value>> {
    let u = b.user;
    let upd = UserUpdate {
        name: u.name,
        email: u.email,
        description: u.description,
        enabled: u.enabled,
        default_project_id: u.default_project_id,
        password: u.password.map(Secret::new),
        extra: u.extra,
    };
    let u = state.identity.update_user(&caller.ctx, &id, upd).await?;
    Ok(Json(json!({"user": user_json(&state, &u)})))
}

pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_user(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct PasswordBody {
    user: PasswordFields,
}

#[derive(Deserialize)]
struct PasswordFields {
    password: String,
    original_password: String,
}

/// `POST /v3/users/{id}/password` → 204.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PasswordBody>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .change_password(
            &caller.ctx,
            &id,
            &Secret::new(b.user.original_password),
            &Secret::new(b.user.password),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn user_groups(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let groups = state.identity.list_user_groups(&caller.ctx, &id).await?;
    Ok(Json(
        json!({"groups": groups.iter().map(|g| group_json(&state, g)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn user_projects(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let projects = state.identity.list_user_projects(&caller.ctx, &id).await?;
    Ok(Json(
        json!({"projects": projects.iter().map(|p| project_json(&state, p)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

// ----------------------------------------------------------------- groups

#[derive(Deserialize)]
pub struct GroupBody {
    group: GroupFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GroupFields {
    name: Option<String>,
    domain_id: Option<String>,
    description: Option<String>,
}

pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    let items = all_pages!(list_filter(&q), |f| state
        .identity
        .list_groups(&caller.ctx, &f));
    Ok(Json(
        json!({"groups": items.iter().map(|g| group_json(&state, g)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<GroupBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = require(b.group.name, "group.name")?;
    let g = state
        .identity
        .create_group(&caller.ctx, &name, b.group.domain_id, b.group.description)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"group": group_json(&state, &g)})),
    ))
}

pub async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let g = state.identity.get_group(&caller.ctx, &id).await?;
    Ok(Json(json!({"group": group_json(&state, &g)})))
}

pub async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<GroupBody>,
) -> ApiResult<Json<Value>> {
    let g = state
        .identity
        .update_group(
            &caller.ctx,
            &id,
            GroupUpdate {
                name: b.group.name,
                description: b.group.description,
            },
        )
        .await?;
    Ok(Json(json!({"group": group_json(&state, &g)})))
}

pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_group(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn group_users(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let users = state.identity.list_group_users(&caller.ctx, &id).await?;
    Ok(Json(
        json!({"users": users.iter().map(|u| user_json(&state, u)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn add_group_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .add_user_to_group(&caller.ctx, &id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `HEAD`/`GET /v3/groups/{id}/users/{user_id}`: 204 if a member, else 404.
pub async fn check_group_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state
        .identity
        .check_user_in_group(&caller.ctx, &id, &user_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(cloud::identity::IdentityError::not_found(
            "membership",
            format!("user {user_id} in group {id}"),
        )
        .into())
    }
}

pub async fn remove_group_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .remove_user_from_group(&caller.ctx, &id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ roles

#[derive(Deserialize)]
pub struct RoleBody {
    role: RoleFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RoleFields {
    name: Option<String>,
    description: Option<String>,
    domain_id: Option<String>,
}

pub async fn list_roles(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Q,
) -> ApiResult<Json<Value>> {
    // `?domain_id=` lists that domain's roles; without it, the global ones.
    let f = list_filter(&q);
    let items = all_pages!(f, |f| state.identity.list_roles(&caller.ctx, &f));
    Ok(Json(
        json!({"roles": items.iter().map(|r| role_json(&state, r)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

pub async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<RoleBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = require(b.role.name, "role.name")?;
    let r = state
        .identity
        .create_role(&caller.ctx, &name, b.role.description, b.role.domain_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"role": role_json(&state, &r)})),
    ))
}

pub async fn get_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = state.identity.get_role(&caller.ctx, &id).await?;
    Ok(Json(json!({"role": role_json(&state, &r)})))
}

pub async fn update_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RoleBody>,
) -> ApiResult<Json<Value>> {
    if let Some(d) = &b.role.domain_id {
        let r = state.identity.get_role(&caller.ctx, &id).await?;
        if r.domain_id.as_deref().unwrap_or_default() != d {
            return Err(crate::rest::error::ApiError::bad_request(
                "A role's domain_id cannot change.",
            ));
        }
    }
    let r = state
        .identity
        .update_role(&caller.ctx, &id, b.role.name, b.role.description)
        .await?;
    Ok(Json(json!({"role": role_json(&state, &r)})))
}

pub async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_role(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------- project tags

#[derive(Deserialize)]
pub struct TagsBody {
    tags: Vec<String>,
}

/// `GET /v3/projects/{id}/tags`.
pub async fn list_project_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let tags = state.identity.list_project_tags(&caller.ctx, &id).await?;
    Ok(Json(json!({ "tags": tags })))
}

/// `PUT /v3/projects/{id}/tags`: replaces them all.
pub async fn set_project_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TagsBody>,
) -> ApiResult<Json<Value>> {
    let tags = state
        .identity
        .set_project_tags(&caller.ctx, &id, b.tags)
        .await?;
    Ok(Json(json!({ "tags": tags })))
}

/// `DELETE /v3/projects/{id}/tags` → 204.
pub async fn clear_project_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .set_project_tags(&caller.ctx, &id, Vec::new())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/projects/{id}/tags/{tag}` → 204, or 404.
pub async fn check_project_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .check_project_tag(&caller.ctx, &id, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v3/projects/{id}/tags/{tag}` → 201.
pub async fn add_project_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .add_project_tag(&caller.ctx, &id, &tag)
        .await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /v3/projects/{id}/tags/{tag}` → 204.
pub async fn remove_project_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .remove_project_tag(&caller.ctx, &id, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
