//! `/v2.0/security-groups` and `/v2.0/security-group-rules`: a project's
//! groups (its `default` one made on first use) and their rules, over
//! the network service, which checks each rule as Neutron does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::network::{
    Direction, EtherType, NewSecurityGroup, NewSecurityGroupRule, SecurityGroup,
    SecurityGroupFilter, SecurityGroupRule, SecurityGroupRuleFilter, SecurityGroupRuleSortKey,
    SecurityGroupSortKey, SecurityGroupUpdate,
};
use serde_json::{json, Map, Value};

use super::{
    collect, list_body, object_at, project_of, select_fields, standard, Attrs, ListQuery,
    NeutronFault, NeutronResult,
};
use crate::rest::auth::Caller;
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/security-groups", get(index).post(create))
        .route(
            "/security-groups/{id}",
            get(show).put(update).delete(delete),
        )
        .route("/security-group-rules", get(rule_index).post(rule_create))
        .route(
            "/security-group-rules/{id}",
            get(rule_show).delete(rule_delete),
        )
}

const GROUP_FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "project_id",
    "tenant_id",
    "stateful",
];

const RULE_FILTERS: &[&str] = &[
    "id",
    "security_group_id",
    "direction",
    "ethertype",
    "protocol",
    "remote_group_id",
    "remote_ip_prefix",
    "port_range_min",
    "port_range_max",
    "description",
    "project_id",
    "tenant_id",
];

pub fn render_rule(r: &SecurityGroupRule) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(r.id));
    o.insert("project_id".into(), json!(r.project_id));
    o.insert("tenant_id".into(), json!(r.project_id));
    o.insert("security_group_id".into(), json!(r.security_group_id));
    o.insert("direction".into(), json!(r.direction.as_str()));
    o.insert("ethertype".into(), json!(r.ethertype.as_str()));
    o.insert("protocol".into(), json!(r.protocol));
    o.insert("port_range_min".into(), json!(r.port_range_min));
    o.insert("port_range_max".into(), json!(r.port_range_max));
    o.insert("remote_ip_prefix".into(), json!(r.remote_ip_prefix));
    o.insert("remote_group_id".into(), json!(r.remote_group_id));
    o.insert("description".into(), json!(r.description));
    o.insert("revision_number".into(), json!(0));
    standard(&mut o, &r.created_at, &r.updated_at);
    Value::Object(o)
}

pub fn render(g: &SecurityGroup) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(g.id));
    o.insert("name".into(), json!(g.name));
    o.insert("description".into(), json!(g.description));
    o.insert("project_id".into(), json!(g.project_id));
    o.insert("tenant_id".into(), json!(g.project_id));
    o.insert("stateful".into(), json!(g.stateful));
    o.insert("shared".into(), json!(false));
    o.insert(
        "security_group_rules".into(),
        Value::Array(g.rules.iter().map(render_rule).collect()),
    );
    o.insert("tags".into(), json!([]));
    o.insert("revision_number".into(), json!(0));
    standard(&mut o, &g.created_at, &g.updated_at);
    Value::Object(o)
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(GROUP_FILTERS)?;
    let base = SecurityGroupFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        name: q.text("name"),
        sort: q.sort(SecurityGroupSortKey::parse)?,
        ..Default::default()
    };
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |g: &SecurityGroup| g.id.clone(),
        |marker, limit| {
            let f = SecurityGroupFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_security_groups(ctx, &f).await }
        },
    )
    .await?;
    if let Some(d) = q.text("description") {
        rows.retain(|g| g.description == d);
    }
    if let Some(s) = q.flag("stateful")? {
        rows.retain(|g| g.stateful == s);
    }
    let fields = q.fields();
    let last = rows.last().map(|g| g.id.clone());
    let items = rows
        .iter()
        .map(|g| select_fields(render(g), &fields))
        .collect();
    Ok(Json(list_body(
        &state,
        "security_groups",
        &q,
        items,
        last,
        more,
    )))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let g = state.network.get_security_group(&caller.ctx, &id).await?;
    Ok(Json(
        json!({ "security_group": select_fields(render(&g), &q.fields()) }),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    let mut a = Attrs::new(object_at(&body, "security_group")?);
    let new = NewSecurityGroup {
        project_id: project_of(&mut a)?,
        name: a.string("name")?.unwrap_or_default(),
        description: a.string("description")?.unwrap_or_default(),
        stateful: a.boolean("stateful")?,
    };
    a.ignore(&["tags"]);
    a.done()?;
    let g = state
        .network
        .create_security_group(&caller.ctx, new)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "security_group": render(&g) })),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let mut a = Attrs::new(object_at(&body, "security_group")?);
    let u = SecurityGroupUpdate {
        name: a.string("name")?,
        description: a.string("description")?,
        stateful: a.boolean("stateful")?,
    };
    a.ignore(&["id"]);
    a.done()?;
    let g = state
        .network
        .update_security_group(&caller.ctx, &id, u)
        .await?;
    Ok(Json(json!({ "security_group": render(&g) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state
        .network
        .delete_security_group(&caller.ctx, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------- rules

/// A port number filter: an integer.
fn port_filter(q: &ListQuery, key: &str) -> NeutronResult<Option<u16>> {
    match q.one(key) {
        None => Ok(None),
        Some(v) => v.trim().parse::<u16>().map(Some).map_err(|_| {
            NeutronFault::bad_request(format!(
                "Invalid input for operation: '{v}' is not an integer for {key}."
            ))
        }),
    }
}

pub async fn rule_index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(RULE_FILTERS)?;
    let direction = match q.one("direction") {
        None => None,
        Some(d) => Some(Direction::parse(&d).ok_or_else(|| {
            NeutronFault::bad_request(format!(
                "Invalid input for operation: '{d}' is not in ['ingress', 'egress']."
            ))
        })?),
    };
    let ethertype = match q.one("ethertype") {
        None => None,
        Some(e) => Some(EtherType::parse(&e).ok_or_else(|| {
            NeutronFault::bad_request(format!(
                "Invalid input for operation: '{e}' is not in ['IPv4', 'IPv6']."
            ))
        })?),
    };
    let base = SecurityGroupRuleFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        security_group_id: q.text("security_group_id"),
        direction,
        ethertype,
        protocol: q.text("protocol").map(|p| p.to_ascii_lowercase()),
        remote_group_id: q.text("remote_group_id"),
        remote_ip_prefix: q.text("remote_ip_prefix"),
        sort: q.sort(SecurityGroupRuleSortKey::parse)?,
        ..Default::default()
    };
    let (min, max) = (
        port_filter(&q, "port_range_min")?,
        port_filter(&q, "port_range_max")?,
    );
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |r: &SecurityGroupRule| r.id.clone(),
        |marker, limit| {
            let f = SecurityGroupRuleFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_security_group_rules(ctx, &f).await }
        },
    )
    .await?;
    if let Some(d) = q.text("description") {
        rows.retain(|r| r.description == d);
    }
    if min.is_some() {
        rows.retain(|r| r.port_range_min == min);
    }
    if max.is_some() {
        rows.retain(|r| r.port_range_max == max);
    }
    let fields = q.fields();
    let last = rows.last().map(|r| r.id.clone());
    let items = rows
        .iter()
        .map(|r| select_fields(render_rule(r), &fields))
        .collect();
    Ok(Json(list_body(
        &state,
        "security_group_rules",
        &q,
        items,
        last,
        more,
    )))
}

pub async fn rule_show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let r = state
        .network
        .get_security_group_rule(&caller.ctx, &id)
        .await?;
    Ok(Json(
        json!({ "security_group_rule": select_fields(render_rule(&r), &q.fields()) }),
    ))
}

pub async fn rule_create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    if body.get("security_group_rules").is_some() {
        return Err(NeutronFault::bad_request(
            "Bulk rule creation is not supported by this cloud: create one rule per request.",
        ));
    }
    let mut a = Attrs::new(object_at(&body, "security_group_rule")?);
    let security_group_id = a.string("security_group_id")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'security_group_id' not specified",
        )
    })?;
    let direction = a.string("direction")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'direction' not specified",
        )
    })?;
    let protocol = match a.take("protocol") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(v) => {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for protocol. Reason: '{v}' is not a valid protocol."
            )))
        }
    };
    let new = NewSecurityGroupRule {
        project_id: project_of(&mut a)?,
        security_group_id,
        direction,
        ethertype: a.string("ethertype")?,
        protocol,
        port_range_min: a.integer("port_range_min")?,
        port_range_max: a.integer("port_range_max")?,
        remote_ip_prefix: a.string_or_null("remote_ip_prefix")?,
        remote_group_id: a.string_or_null("remote_group_id")?,
        description: a.string_or_null("description")?.unwrap_or_default(),
    };
    if matches!(a.peek("remote_address_group_id"), Some(v) if !v.is_null()) {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: address groups are not supported by this cloud.",
        ));
    }
    a.ignore(&["remote_address_group_id"]);
    a.done()?;
    let r = state
        .network
        .create_security_group_rule(&caller.ctx, new)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "security_group_rule": render_rule(&r) })),
    ))
}

pub async fn rule_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state
        .network
        .delete_security_group_rule(&caller.ctx, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
