//! `/v2.0/extensions`: the Neutron API extensions this cloud implements.
//! Clients (the CLI, dashboards, Tempest) look here before they use an
//! attribute, so only what is really served is listed.

use axum::extract::Path;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

use super::{NeutronFault, NeutronResult};
use crate::rest::auth::Caller;
use crate::rest::table::RouteTable;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/extensions", get(index))
        .route("/extensions/{alias}", get(show))
}

/// Alias, name, description.
const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
    ("port-security", "Port Security", "Provides port security"),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
    ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
    ("sorting", "Sorting support", "Enables sorting support."),
    ("pagination", "Pagination support", "Enables pagination support."),
    ("security-group", "security-group", "The security groups extension."),
    ("stateful-security-group", "Stateful security group", "Extension adding a \"stateful\" field to security groups."),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
];

/// Neutron's extensions have carried this date since they moved in-tree.
const UPDATED: &str = "2013-01-20T00:00:00-00:00";

fn render(alias: &str, name: &str, description: &str) -> Value {
    json!({
        "alias": alias,
        "name": name,
        "description": description,
        "updated": UPDATED,
        "links": [],
    })
}

pub async fn index(_caller: Caller) -> Json<Value> {
    let list: Vec<Value> = EXTENSIONS.iter().map(|(a, n, d)| render(a, n, d)).collect();
    Json(json!({ "extensions": list }))
}

pub async fn show(_caller: Caller, Path(alias): Path<String>) -> NeutronResult<Json<Value>> {
    EXTENSIONS
        .iter()
        .find(|(a, _, _)| *a == alias)
        .map(|(a, n, d)| Json(json!({ "extension": render(a, n, d) })))
        .ok_or_else(|| {
            NeutronFault::not_found(
                "HTTPNotFound",
                format!("Extension with alias {alias} does not exist"),
            )
        })
}
