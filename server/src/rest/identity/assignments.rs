//! Grants, `/v3/role_assignments` and implied roles.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::identity::{ActorType, AssignmentFilter, IdentityError, Role, RoleAssignment, Target};
use serde_json::{json, Value};

use super::resources::role_json;
use super::ListLinks;
use super::{base, query_true};
use crate::rest::auth::Caller;
use crate::rest::error::ApiResult;
use crate::rest::table::RouteTable;
use crate::AppState;

#[derive(Clone, Copy)]
enum TargetKind {
    Project,
    Domain,
    System,
}

impl TargetKind {
    fn target(self, p: &HashMap<String, String>) -> Target {
        let id = p.get("target_id").cloned().unwrap_or_default();
        match self {
            TargetKind::Project => Target::Project(id),
            TargetKind::Domain => Target::Domain(id),
            TargetKind::System => Target::System,
        }
    }
}

type P = Path<HashMap<String, String>>;

fn param(p: &HashMap<String, String>, k: &str) -> String {
    p.get(k).cloned().unwrap_or_default()
}

async fn list_grants(
    state: AppState,
    caller: Caller,
    links: ListLinks,
    t: TargetKind,
    a: ActorType,
    inherited: bool,
    p: HashMap<String, String>,
) -> ApiResult<Json<Value>> {
    let roles = state
        .identity
        .list_grants(
            &caller.ctx,
            a,
            &param(&p, "actor_id"),
            &t.target(&p),
            inherited,
        )
        .await?;
    Ok(Json(
        json!({"roles": roles.iter().map(|r| role_json(&state, r)).collect::<Vec<_>>(), "links": links.0.clone()}),
    ))
}

async fn grant(
    state: AppState,
    caller: Caller,
    t: TargetKind,
    a: ActorType,
    inherited: bool,
    p: HashMap<String, String>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .grant_role(
            &caller.ctx,
            a,
            &param(&p, "actor_id"),
            &t.target(&p),
            &param(&p, "role_id"),
            inherited,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check(
    state: AppState,
    caller: Caller,
    t: TargetKind,
    a: ActorType,
    inherited: bool,
    p: HashMap<String, String>,
) -> ApiResult<StatusCode> {
    let (actor, role) = (param(&p, "actor_id"), param(&p, "role_id"));
    if state
        .identity
        .check_grant(&caller.ctx, a, &actor, &t.target(&p), &role, inherited)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(IdentityError::not_found(
            "role assignment",
            format!("{} {actor} has no role {role} there", a.as_str()),
        )
        .into())
    }
}

async fn revoke(
    state: AppState,
    caller: Caller,
    t: TargetKind,
    a: ActorType,
    inherited: bool,
    p: HashMap<String, String>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .revoke_role(
            &caller.ctx,
            a,
            &param(&p, "actor_id"),
            &t.target(&p),
            &param(&p, "role_id"),
            inherited,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `…/{projects|domains}/{target_id}/{users|groups}/{actor_id}/roles[/{role_id}]`,
/// `/v3/system/{users|groups}/{actor_id}/roles[/{role_id}]`, and OS-INHERIT's
/// `/v3/OS-INHERIT/{domains|projects}/…/roles[/{role_id}]/inherited_to_projects`.
pub(super) fn grant_routes(mut r: RouteTable) -> RouteTable {
    let targets = [
        ("/v3/projects/{target_id}", TargetKind::Project, false),
        ("/v3/domains/{target_id}", TargetKind::Domain, false),
        ("/v3/system", TargetKind::System, false),
        (
            "/v3/OS-INHERIT/projects/{target_id}",
            TargetKind::Project,
            true,
        ),
        (
            "/v3/OS-INHERIT/domains/{target_id}",
            TargetKind::Domain,
            true,
        ),
    ];
    let actors = [("users", ActorType::User), ("groups", ActorType::Group)];
    for (prefix, t, inh) in targets {
        let tail = if inh { "/inherited_to_projects" } else { "" };
        for (seg, a) in actors {
            let list = format!("{prefix}/{seg}/{{actor_id}}/roles");
            let one = format!("{list}/{{role_id}}{tail}");
            // Keystone lists inherited grants on domains only.
            if !inh || matches!(t, TargetKind::Domain) {
                r = r.route(
                    &format!("{list}{tail}"),
                    get(
                        move |State(s): State<AppState>, c: Caller, l: ListLinks, Path(p): P| {
                            list_grants(s, c, l, t, a, inh, p)
                        },
                    ),
                );
            }
            r = r.route(
                &one,
                get(move |State(s): State<AppState>, c: Caller, Path(p): P| {
                    check(s, c, t, a, inh, p)
                })
                .head(move |State(s): State<AppState>, c: Caller, Path(p): P| {
                    check(s, c, t, a, inh, p)
                })
                .put(move |State(s): State<AppState>, c: Caller, Path(p): P| {
                    grant(s, c, t, a, inh, p)
                })
                .delete(
                    move |State(s): State<AppState>, c: Caller, Path(p): P| {
                        revoke(s, c, t, a, inh, p)
                    },
                ),
            );
        }
    }
    r
}

// ------------------------------------------------------- role_assignments

/// Domain names for rendering, looked up in one query per request; a
/// domain the caller may not see stays unnamed.
struct DomainNames(HashMap<String, String>);

impl DomainNames {
    fn get(&self, id: &str) -> Option<Value> {
        self.0.get(id).map(|name| json!({"id": id, "name": name}))
    }
}

fn named(id: &str, name: &Option<String>, include_names: bool) -> Value {
    match (include_names, name) {
        (true, Some(n)) => json!({"id": id, "name": n}),
        _ => json!({"id": id}),
    }
}

fn assignment_json(
    state: &AppState,
    names: &DomainNames,
    a: &RoleAssignment,
    include_names: bool,
) -> Value {
    let b = base(state);
    let mut row = json!({"role": named(&a.role_id, &a.role_name, include_names)});
    let mut actor = named(&a.actor_id, &a.actor_name, include_names);
    if include_names {
        if let Some(d) = &a.actor_domain_id {
            if let Some(dv) = names.get(d) {
                actor["domain"] = dv;
            }
        }
    }
    row[a.actor_type.as_str()] = actor;
    let (scope, target_path) = match &a.target {
        Target::Project(p) => {
            let mut v = named(p, &a.target_name, include_names);
            if include_names {
                if let Some(d) = &a.target_domain_id {
                    if let Some(dv) = names.get(d) {
                        v["domain"] = dv;
                    }
                }
            }
            (json!({"project": v}), format!("/projects/{p}"))
        }
        Target::Domain(d) => (
            json!({"domain": named(d, &a.target_name, include_names)}),
            format!("/domains/{d}"),
        ),
        Target::System => (json!({"system": {"all": true}}), "/system".to_string()),
    };
    let (scope, target_path) = if a.inherited {
        let mut scope = scope;
        scope["OS-INHERIT:inherited_to"] = json!("projects");
        (scope, format!("/OS-INHERIT{target_path}"))
    } else {
        (scope, target_path)
    };
    let tail = if a.inherited {
        "/inherited_to_projects"
    } else {
        ""
    };
    row["scope"] = scope;
    row["links"] = match &a.via_group_id {
        Some(g) => json!({
            "assignment": format!("{b}{target_path}/groups/{g}/roles/{}{tail}", a.role_id),
            "membership": format!("{b}/groups/{g}/users/{}", a.actor_id),
        }),
        None => {
            json!({"assignment": format!("{b}{target_path}/{}s/{}/roles/{}{tail}", a.actor_type.as_str(), a.actor_id, a.role_id)})
        }
    };
    row
}

/// `GET /v3/role_assignments` with Keystone's dotted filters.
pub async fn list_assignments(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let flag = |k: &str| q.get(k).is_some_and(|v| query_true(v));
    let f = AssignmentFilter {
        user_id: q.get("user.id").cloned(),
        group_id: q.get("group.id").cloned(),
        project_id: q.get("scope.project.id").cloned(),
        domain_id: q.get("scope.domain.id").cloned(),
        system: q
            .get("scope.system")
            .is_some_and(|v| !v.is_empty() && query_true(v)),
        role_id: q.get("role.id").cloned(),
        effective: flag("effective"),
        include_names: flag("include_names"),
    };
    let mut rows = state
        .identity
        .list_role_assignments(&caller.ctx, &f)
        .await?;
    if q.contains_key("scope.OS-INHERIT:inherited_to") {
        // Only the inherited grants (`projects` is the one value Keystone has).
        rows.retain(|a| a.inherited);
    }
    let names = if f.include_names {
        let ids: Vec<&str> = rows
            .iter()
            .flat_map(|a| [a.actor_domain_id.as_deref(), a.target_domain_id.as_deref()])
            .flatten()
            .collect();
        DomainNames(state.identity.domain_names(&caller.ctx, &ids).await?)
    } else {
        DomainNames(HashMap::new())
    };
    let out: Vec<Value> = rows
        .iter()
        .map(|a| assignment_json(&state, &names, a, f.include_names))
        .collect();
    Ok(Json(
        json!({"role_assignments": out, "links": links.0.clone()}),
    ))
}

// --------------------------------------------------------- implied roles

fn role_ref(state: &AppState, r: &Role) -> Value {
    json!({"id": r.id, "name": r.name, "links": {"self": format!("{}/roles/{}", base(state), r.id)}})
}

/// `GET /v3/role_inferences`: every rule, grouped by prior role.
pub async fn list_inferences(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
) -> ApiResult<Json<Value>> {
    let pairs = state.identity.list_implied_roles(&caller.ctx).await?;
    let mut by_prior: BTreeMap<String, (Role, Vec<Value>)> = BTreeMap::new();
    for (prior, implied) in &pairs {
        by_prior
            .entry(prior.id.clone())
            .or_insert_with(|| (prior.clone(), Vec::new()))
            .1
            .push(role_ref(&state, implied));
    }
    let rules: Vec<Value> = by_prior
        .values()
        .map(|(p, imp)| json!({"prior_role": role_ref(&state, p), "implies": imp}))
        .collect();
    Ok(Json(
        json!({"role_inferences": rules, "links": links.0.clone()}),
    ))
}

/// `GET /v3/roles/{id}/implies`.
pub async fn list_role_implies(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let prior = state.identity.get_role(&caller.ctx, &id).await?;
    let pairs = state.identity.list_implied_roles(&caller.ctx).await?;
    let implies: Vec<Value> = pairs
        .iter()
        .filter(|(p, _)| p.id == prior.id)
        .map(|(_, i)| role_ref(&state, i))
        .collect();
    Ok(Json(json!({
        "role_inference": {"prior_role": role_ref(&state, &prior), "implies": implies},
        "links": {"self": format!("{}/roles/{}/implies", base(&state), prior.id)},
    })))
}

fn inference_json(state: &AppState, prior: &Role, implied: &Role) -> Value {
    json!({
        "role_inference": {"prior_role": role_ref(state, prior), "implies": role_ref(state, implied)},
        "links": {"self": format!("{}/roles/{}/implies/{}", base(state), prior.id, implied.id)},
    })
}

/// `PUT /v3/roles/{prior}/implies/{implied}` → 201.
pub async fn create_implied(
    State(state): State<AppState>,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state
        .identity
        .create_implied_role(&caller.ctx, &prior, &implied)
        .await?;
    let p = state.identity.get_role(&caller.ctx, &prior).await?;
    let i = state.identity.get_role(&caller.ctx, &implied).await?;
    Ok((StatusCode::CREATED, Json(inference_json(&state, &p, &i))))
}

/// `DELETE /v3/roles/{prior}/implies/{implied}` → 204.
pub async fn delete_implied(
    State(state): State<AppState>,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .delete_implied_role(&caller.ctx, &prior, &implied)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/roles/{prior}/implies/{implied}`.
pub async fn get_implied(
    State(state): State<AppState>,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let pairs = state.identity.list_implied_roles(&caller.ctx).await?;
    let (p, i) = find_implied(&pairs, &prior, &implied)?;
    Ok(Json(inference_json(&state, p, i)))
}

/// `HEAD /v3/roles/{prior}/implies/{implied}`: Keystone's check, 204.
pub async fn check_implied(
    State(state): State<AppState>,
    caller: Caller,
    Path((prior, implied)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let pairs = state.identity.list_implied_roles(&caller.ctx).await?;
    find_implied(&pairs, &prior, &implied)?;
    Ok(StatusCode::NO_CONTENT)
}

fn find_implied<'a>(
    pairs: &'a [(cloud::identity::Role, cloud::identity::Role)],
    prior: &str,
    implied: &str,
) -> Result<(&'a cloud::identity::Role, &'a cloud::identity::Role), IdentityError> {
    pairs
        .iter()
        .find(|(p, i)| p.id == prior && i.id == implied)
        .map(|(p, i)| (p, i))
        .ok_or_else(|| {
            IdentityError::not_found("implied role", format!("{prior} implies {implied}"))
        })
}
