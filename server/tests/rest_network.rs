//! Neutron's REST API at `/network`, against the real server on SQLite
//! and MariaDB: the version documents and extensions, networks, subnets
//! and ports (create, show, list with filters, fields, sorting and marker
//! paging, update, delete), security groups and their rules, Neutron's
//! fault bodies, per-project isolation, a subnet that runs out of
//! addresses, and quotas.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::{Res, TestCloud};
use reqwest::Method;
use serde_json::{json, Value};

fn neutron(c: &TestCloud, path: &str) -> String {
    format!("{}/network/v2.0{path}", c.url)
}

async fn call(c: &TestCloud, method: Method, token: &str, path: &str, body: Option<Value>) -> Res {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        neutron(c, path)
    };
    c.call_compute(method, token, &url, None, body).await
}

async fn get(c: &TestCloud, token: &str, path: &str) -> Res {
    call(c, Method::GET, token, path, None).await
}

async fn post(c: &TestCloud, token: &str, path: &str, body: Value) -> Res {
    call(c, Method::POST, token, path, Some(body)).await
}

async fn put(c: &TestCloud, token: &str, path: &str, body: Value) -> Res {
    call(c, Method::PUT, token, path, Some(body)).await
}

async fn delete(c: &TestCloud, token: &str, path: &str) -> Res {
    call(c, Method::DELETE, token, path, None).await
}

/// Asserts the status, and for an error Neutron's fault body with `kind`.
#[track_caller]
fn fault(r: &Res, status: u16, kind: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    let e = &r.body["NeutronError"];
    assert_eq!(e["type"], kind, "body: {}", r.body);
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "body: {}",
        r.body
    );
    assert_eq!(e["detail"], "", "body: {}", r.body);
}

#[track_caller]
fn ok(r: Res, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    r.body
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

async fn documents_and_faults(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();

    // Discovery: the catalog names /network, the version document v2.0.
    let versions = c
        .call_compute(
            Method::GET,
            &admin,
            &format!("{}/network/", c.url),
            None,
            None,
        )
        .await;
    let versions = ok(versions, 200);
    assert_eq!(versions["versions"][0]["id"], "v2.0", "{versions}");
    let href = versions["versions"][0]["links"][0]["href"]
        .as_str()
        .unwrap();
    assert!(href.ends_with("/network/v2.0/"), "{href}");
    let res = ok(get(&c, &admin, "/").await, 200);
    let names: Vec<_> = res["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["collection"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"networks".to_string()), "{res}");
    let token = c
        .auth(TestCloud::password_body(
            "admin",
            common::ADMIN_PASSWORD,
            Some("admin"),
        ))
        .await;
    let catalog = token.body["token"]["catalog"].as_array().unwrap();
    let network = catalog
        .iter()
        .find(|s| s["type"] == "network")
        .unwrap_or_else(|| panic!("no network in the catalog: {}", token.body));
    assert_eq!(network["name"], "neutron");
    assert!(network["endpoints"][0]["url"]
        .as_str()
        .is_some_and(|u| u.ends_with("/network")));

    // Extensions: what the CLI looks for.
    let ext = ok(get(&c, &admin, "/extensions").await, 200);
    let aliases: Vec<_> = ext["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["alias"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "external-net",
        "provider",
        "quotas",
        "quota_details",
        "port-security",
        "binding",
    ] {
        assert!(aliases.contains(&a.to_string()), "{a} missing from {ext}");
    }
    let one = ok(get(&c, &admin, "/extensions/quotas").await, 200);
    assert_eq!(one["extension"]["alias"], "quotas");
    fault(
        &get(&c, &admin, "/extensions/dvr").await,
        404,
        "HTTPNotFound",
    );

    // Faults: Neutron's shape for every kind of refusal; 401 stays Keystone's.
    fault(
        &get(&c, &admin, "/networks/no-such-network").await,
        404,
        "NetworkNotFound",
    );
    fault(
        &get(&c, &admin, "/no-such-collection").await,
        404,
        "HTTPNotFound",
    );
    fault(
        &call(&c, Method::PATCH, &admin, "/networks", None).await,
        405,
        "HTTPMethodNotAllowed",
    );
    fault(
        &get(&c, &admin, "/networks?colour=red").await,
        400,
        "HTTPBadRequest",
    );
    let r = post(
        &c,
        &admin,
        "/networks",
        json!({"network": {"name": "n", "colour": "red"}}),
    )
    .await;
    fault(&r, 400, "HTTPBadRequest");
    assert!(r.message_neutron().contains("colour"), "{}", r.body);
    fault(
        &post(&c, &admin, "/networks", json!({"net": {}})).await,
        400,
        "HTTPBadRequest",
    );
    let r = c
        .call_compute(Method::POST, &admin, &neutron(&c, "/networks"), None, None)
        .await;
    fault(&r, 400, "HTTPBadRequest");
    let r = c
        .call_compute(
            Method::GET,
            "not-a-token",
            &neutron(&c, "/networks"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.body);
    assert!(r.body.get("error").is_some(), "{}", r.body);
    c.finish().await;
}
per_backend!(multi_thread: documents_and_faults);

trait NeutronMessage {
    fn message_neutron(&self) -> String;
}

impl NeutronMessage for Res {
    fn message_neutron(&self) -> String {
        self.body["NeutronError"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn networks_subnets_and_ports(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, bob) = c.user_with_role("bob", "proj-b", "member").await;
    let (_, _, reader) = c.user_with_role("rita", "proj-a", "reader").await;

    // A member's network: VXLAN, provider attributes hidden from her.
    let net = ok(
        post(
            &c,
            &alice,
            "/networks",
            json!({"network": {"name": "net-a", "description": "mine"}}),
        )
        .await,
        201,
    );
    let net = &net["network"];
    let net_id = net["id"].as_str().unwrap().to_string();
    assert_eq!(net["project_id"], project_a.as_str());
    assert_eq!(net["tenant_id"], project_a.as_str());
    assert_eq!(net["status"], "ACTIVE");
    assert_eq!(net["admin_state_up"], true);
    assert_eq!(net["shared"], false);
    assert_eq!(net["router:external"], false);
    assert_eq!(net["mtu"], 1450, "VXLAN takes 50 bytes: {net}");
    assert_eq!(net["subnets"], json!([]));
    assert!(net.get("provider:network_type").is_none(), "{net}");
    assert!(net["created_at"].as_str().unwrap().ends_with('Z'));
    let seen = ok(get(&c, &admin, &format!("/networks/{net_id}")).await, 200);
    assert_eq!(seen["network"]["provider:network_type"], "vxlan");
    assert!(seen["network"]["provider:segmentation_id"].is_u64());

    // Only admins share a network or make one external.
    fault(
        &post(
            &c,
            &alice,
            "/networks",
            json!({"network": {"name": "s", "shared": true}}),
        )
        .await,
        403,
        "PolicyNotAuthorized",
    );
    fault(
        &post(&c, &reader, "/networks", json!({"network": {"name": "r"}})).await,
        403,
        "PolicyNotAuthorized",
    );
    let shared = ok(
        post(&c, &admin, "/networks", json!({"network": {"name": "public", "shared": true, "router:external": true, "provider:network_type": "flat", "provider:physical_network": "public"}})).await,
        201,
    );
    let shared_id = shared["network"]["id"].as_str().unwrap().to_string();
    assert_eq!(shared["network"]["provider:network_type"], "flat");
    assert_eq!(shared["network"]["mtu"], 1500);

    // Subnets: the gateway, pools, DNS servers and routes as asked.
    let sub = ok(
        post(
            &c,
            &alice,
            "/subnets",
            json!({"subnet": {
                "network_id": net_id, "name": "sub-a", "ip_version": 4, "cidr": "10.0.0.0/29",
                "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.4"}],
                "dns_nameservers": ["192.0.2.53"],
                "host_routes": [{"destination": "192.0.2.0/24", "nexthop": "10.0.0.5"}],
            }}),
        )
        .await,
        201,
    );
    let sub = &sub["subnet"];
    let sub_id = sub["id"].as_str().unwrap().to_string();
    assert_eq!(sub["gateway_ip"], "10.0.0.1");
    assert_eq!(sub["cidr"], "10.0.0.0/29");
    assert_eq!(sub["ip_version"], 4);
    assert_eq!(sub["enable_dhcp"], true);
    assert_eq!(
        sub["allocation_pools"],
        json!([{"start": "10.0.0.2", "end": "10.0.0.4"}])
    );
    assert_eq!(sub["dns_nameservers"], json!(["192.0.2.53"]));
    assert_eq!(
        sub["host_routes"],
        json!([{"destination": "192.0.2.0/24", "nexthop": "10.0.0.5"}])
    );
    assert_eq!(sub["ipv6_ra_mode"], Value::Null);
    let net = ok(get(&c, &alice, &format!("/networks/{net_id}")).await, 200);
    assert_eq!(net["network"]["subnets"], json!([sub_id]));
    // No gateway (null), and a CIDR that overlaps in another project is fine.
    let bob_net = ok(
        post(&c, &bob, "/networks", json!({"network": {"name": "net-b"}})).await,
        201,
    );
    let bob_net_id = bob_net["network"]["id"].as_str().unwrap().to_string();
    let bob_sub = ok(
        post(&c, &bob, "/subnets", json!({"subnet": {"network_id": bob_net_id, "cidr": "10.0.0.0/29", "ip_version": 4, "gateway_ip": null}})).await,
        201,
    );
    assert_eq!(bob_sub["subnet"]["gateway_ip"], Value::Null);
    assert_eq!(
        bob_sub["subnet"]["allocation_pools"],
        json!([{"start": "10.0.0.1", "end": "10.0.0.6"}])
    );
    // Bad subnets: refused with Neutron's reasons.
    let r = post(
        &c,
        &alice,
        "/subnets",
        json!({"subnet": {"network_id": net_id, "cidr": "10.0.0.0/33", "ip_version": 4}}),
    )
    .await;
    fault(&r, 400, "InvalidInput");
    let r = post(
        &c,
        &alice,
        "/subnets",
        json!({"subnet": {"network_id": net_id, "cidr": "fd00::/64", "ip_version": 6}}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    let r = post(
        &c,
        &alice,
        "/subnets",
        json!({"subnet": {"network_id": net_id, "ip_version": 4}}),
    )
    .await;
    fault(&r, 400, "HTTPBadRequest");

    // Ports: addresses from the pool, in order; a chosen one; exhaustion is 409.
    let p1 = ok(
        post(
            &c,
            &alice,
            "/ports",
            json!({"port": {"network_id": net_id, "name": "p1"}}),
        )
        .await,
        201,
    );
    let p1 = &p1["port"];
    let p1_id = p1["id"].as_str().unwrap().to_string();
    assert_eq!(
        p1["fixed_ips"],
        json!([{"subnet_id": sub_id, "ip_address": "10.0.0.2"}])
    );
    assert!(p1["mac_address"].as_str().unwrap().starts_with("fa:16:3e:"));
    assert_eq!(p1["status"], "DOWN");
    assert_eq!(p1["port_security_enabled"], true);
    assert_eq!(p1["binding:vnic_type"], "normal");
    assert!(p1.get("binding:host_id").is_none(), "admins only: {p1}");
    let p2 = ok(
        post(&c, &alice, "/ports", json!({"port": {"network_id": net_id, "name": "p2", "device_owner": "compute:nova", "device_id": "vm-1", "fixed_ips": [{"subnet_id": sub_id, "ip_address": "10.0.0.4"}]}})).await,
        201,
    );
    let p2_id = p2["port"]["id"].as_str().unwrap().to_string();
    assert_eq!(p2["port"]["fixed_ips"][0]["ip_address"], "10.0.0.4");
    let r = post(
        &c,
        &alice,
        "/ports",
        json!({"port": {"network_id": net_id, "fixed_ips": [{"ip_address": "10.0.0.4"}]}}),
    )
    .await;
    fault(&r, 409, "IpAddressAlreadyAllocated");
    let p3 = ok(
        post(
            &c,
            &alice,
            "/ports",
            json!({"port": {"network_id": net_id, "name": "p3"}}),
        )
        .await,
        201,
    );
    assert_eq!(p3["port"]["fixed_ips"][0]["ip_address"], "10.0.0.3");
    let r = post(
        &c,
        &alice,
        "/ports",
        json!({"port": {"network_id": net_id, "name": "p4"}}),
    )
    .await;
    fault(&r, 409, "IpAddressGenerationFailure");
    // A port with no address at all, and one on the shared network.
    let bare = ok(
        post(
            &c,
            &alice,
            "/ports",
            json!({"port": {"network_id": net_id, "fixed_ips": []}}),
        )
        .await,
        201,
    );
    assert_eq!(bare["port"]["fixed_ips"], json!([]));
    let bare_id = bare["port"]["id"].as_str().unwrap().to_string();

    // Lists: filters (repeated keys are an OR), fields, sort, marker paging.
    let by_device = ok(get(&c, &alice, "/ports?device_id=vm-1").await, 200);
    assert_eq!(ids(&by_device, "ports"), [p2_id.as_str()]);
    let by_ip = ok(
        get(&c, &alice, "/ports?fixed_ips=ip_address%3D10.0.0.2").await,
        200,
    );
    assert_eq!(ids(&by_ip, "ports"), [p1_id.as_str()]);
    let two = ok(
        get(
            &c,
            &alice,
            &format!("/ports?id={p1_id}&id={p2_id}&sort_key=name&sort_dir=desc"),
        )
        .await,
        200,
    );
    assert_eq!(ids(&two, "ports"), [p2_id.clone(), p1_id.clone()]);
    let fields = ok(
        get(&c, &alice, "/ports?name=p1&fields=id&fields=name").await,
        200,
    );
    assert_eq!(fields["ports"], json!([{"id": p1_id, "name": "p1"}]));
    let page = ok(
        get(&c, &alice, "/ports?limit=2&sort_key=name&sort_dir=asc").await,
        200,
    );
    assert_eq!(page["ports"].as_array().unwrap().len(), 2, "{page}");
    let next = page["ports_links"][0]["href"].as_str().unwrap().to_string();
    assert!(next.contains("marker="), "{next}");
    let rest = ok(get(&c, &alice, &next).await, 200);
    let mut all = ids(&page, "ports");
    all.extend(ids(&rest, "ports"));
    assert_eq!(
        all.len(),
        4,
        "every port once over the pages: {page} {rest}"
    );
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 4);
    let nets = ok(get(&c, &alice, "/networks?router:external=true").await, 200);
    assert_eq!(ids(&nets, "networks"), [shared_id.as_str()]);
    let subnets = ok(
        get(&c, &alice, &format!("/subnets?network_id={net_id}")).await,
        200,
    );
    assert_eq!(ids(&subnets, "subnets"), [sub_id.as_str()]);
    let v6 = ok(get(&c, &alice, "/subnets?ip_version=6").await, 200);
    assert_eq!(v6["subnets"], json!([]));
    fault(
        &get(&c, &alice, "/ports?sort_key=colour").await,
        400,
        "HTTPBadRequest",
    );
    fault(
        &get(&c, &alice, "/ports?limit=-1").await,
        400,
        "HTTPBadRequest",
    );

    // Isolation: Bob neither sees nor changes Alice's resources.
    let bobs = ok(get(&c, &bob, "/networks").await, 200);
    let bob_ids = ids(&bobs, "networks");
    assert!(
        bob_ids.contains(&bob_net_id) && bob_ids.contains(&shared_id),
        "{bobs}"
    );
    assert!(!bob_ids.contains(&net_id), "{bobs}");
    fault(
        &get(&c, &bob, &format!("/networks/{net_id}")).await,
        404,
        "NetworkNotFound",
    );
    fault(
        &get(&c, &bob, &format!("/subnets/{sub_id}")).await,
        404,
        "SubnetNotFound",
    );
    fault(
        &get(&c, &bob, &format!("/ports/{p1_id}")).await,
        404,
        "PortNotFound",
    );
    fault(
        &put(
            &c,
            &bob,
            &format!("/ports/{p1_id}"),
            json!({"port": {"name": "x"}}),
        )
        .await,
        404,
        "PortNotFound",
    );
    fault(
        &delete(&c, &bob, &format!("/networks/{net_id}")).await,
        404,
        "NetworkNotFound",
    );
    assert!(ids(&ok(get(&c, &bob, "/ports").await, 200), "ports").is_empty());
    let r = post(&c, &bob, "/ports", json!({"port": {"network_id": net_id}})).await;
    fault(&r, 404, "NetworkNotFound");
    // The reader sees but does not change.
    ok(get(&c, &reader, &format!("/ports/{p1_id}")).await, 200);
    fault(
        &put(
            &c,
            &reader,
            &format!("/ports/{p1_id}"),
            json!({"port": {"name": "x"}}),
        )
        .await,
        403,
        "PolicyNotAuthorized",
    );

    // Updates.
    let up = ok(
        put(
            &c,
            &alice,
            &format!("/networks/{net_id}"),
            json!({"network": {"name": "net-a2", "mtu": 1400}}),
        )
        .await,
        200,
    );
    assert_eq!(up["network"]["name"], "net-a2");
    assert_eq!(up["network"]["mtu"], 1400);
    let r = put(
        &c,
        &alice,
        &format!("/networks/{net_id}"),
        json!({"network": {"provider:segmentation_id": 7}}),
    )
    .await;
    fault(&r, 400, "HTTPBadRequest");
    let up = ok(
        put(
            &c,
            &alice,
            &format!("/subnets/{sub_id}"),
            json!({"subnet": {"name": "sub-a2", "dns_nameservers": []}}),
        )
        .await,
        200,
    );
    assert_eq!(up["subnet"]["dns_nameservers"], json!([]));
    // The pool is full: an address for the bare port is refused, and the
    // port is as it was.
    let r = put(
        &c,
        &alice,
        &format!("/ports/{bare_id}"),
        json!({"port": {"name": "addressed", "fixed_ips": [{"subnet_id": sub_id}]}}),
    )
    .await;
    fault(&r, 409, "IpAddressGenerationFailure");
    let still = ok(get(&c, &alice, &format!("/ports/{bare_id}")).await, 200);
    assert_eq!(still["port"]["fixed_ips"], json!([]));
    assert_eq!(still["port"]["name"], "");
    // p3's address released, the bare port takes it.
    let p3_id = p3["port"]["id"].as_str().unwrap().to_string();
    ok(
        put(
            &c,
            &alice,
            &format!("/ports/{p3_id}"),
            json!({"port": {"fixed_ips": []}}),
        )
        .await,
        200,
    );
    // Port security goes off only with the port's groups.
    fault(
        &put(
            &c,
            &alice,
            &format!("/ports/{bare_id}"),
            json!({"port": {"port_security_enabled": false}}),
        )
        .await,
        409,
        "PortSecurityPortHasSecurityGroup",
    );
    let up = ok(
        put(&c, &alice, &format!("/ports/{bare_id}"), json!({"port": {"name": "addressed", "fixed_ips": [{"subnet_id": sub_id}], "port_security_enabled": false, "security_groups": []}})).await,
        200,
    );
    assert_eq!(up["port"]["security_groups"], json!([]));
    assert_eq!(up["port"]["fixed_ips"][0]["ip_address"], "10.0.0.3", "{up}");
    assert_eq!(up["port"]["port_security_enabled"], false);

    // Deletes: a subnet with addresses and a network with ports refuse.
    fault(
        &delete(&c, &alice, &format!("/subnets/{sub_id}")).await,
        409,
        "SubnetInUse",
    );
    fault(
        &delete(&c, &alice, &format!("/networks/{net_id}")).await,
        409,
        "NetworkInUse",
    );
    for p in [
        p1_id.as_str(),
        p2_id.as_str(),
        p3_id.as_str(),
        bare_id.as_str(),
    ] {
        ok(delete(&c, &alice, &format!("/ports/{p}")).await, 204);
    }
    fault(
        &get(&c, &alice, &format!("/ports/{p1_id}")).await,
        404,
        "PortNotFound",
    );
    ok(delete(&c, &alice, &format!("/subnets/{sub_id}")).await, 204);
    ok(
        delete(&c, &alice, &format!("/networks/{net_id}")).await,
        204,
    );
    fault(
        &get(&c, &alice, &format!("/networks/{net_id}")).await,
        404,
        "NetworkNotFound",
    );
    c.finish().await;
}
per_backend!(multi_thread: networks_subnets_and_ports);

async fn quotas(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, project_b, _) = c.user_with_role("bob", "proj-b", "member").await;

    let q = ok(get(&c, &alice, &format!("/quotas/{project_a}")).await, 200);
    assert_eq!(q["quota"]["network"], 100, "{q}");
    assert_eq!(q["quota"]["subnet"], 100);
    assert_eq!(q["quota"]["port"], 500);
    assert_eq!(q["quota"]["router"], 10, "{q}");
    assert_eq!(q["quota"]["floatingip"], 50);
    assert_eq!(q["quota"]["rbac_policy"], 10, "shown at Neutron's default");
    let d = ok(
        get(&c, &alice, &format!("/quotas/{project_a}/default")).await,
        200,
    );
    assert_eq!(d["quota"]["network"], 100);
    fault(
        &get(&c, &alice, &format!("/quotas/{project_b}")).await,
        403,
        "PolicyNotAuthorized",
    );
    fault(
        &put(
            &c,
            &alice,
            &format!("/quotas/{project_a}"),
            json!({"quota": {"network": 5}}),
        )
        .await,
        403,
        "PolicyNotAuthorized",
    );

    let set = ok(
        put(
            &c,
            &admin,
            &format!("/quotas/{project_a}"),
            json!({"quota": {"network": 1, "port": "3"}}),
        )
        .await,
        200,
    );
    assert_eq!(set["quota"]["network"], 1, "{set}");
    assert_eq!(set["quota"]["port"], 3);
    fault(
        &put(
            &c,
            &admin,
            &format!("/quotas/{project_a}"),
            json!({"quota": {"network": 2, "subnet": -2}}),
        )
        .await,
        400,
        "HTTPBadRequest",
    );
    fault(
        &put(
            &c,
            &admin,
            &format!("/quotas/{project_a}"),
            json!({"quota": {"rbac_policy": 2}}),
        )
        .await,
        400,
        "HTTPBadRequest",
    );
    fault(
        &put(
            &c,
            &admin,
            &format!("/quotas/{project_a}"),
            json!({"quota": {"colour": 2}}),
        )
        .await,
        400,
        "HTTPBadRequest",
    );
    let q = ok(get(&c, &alice, &format!("/quotas/{project_a}")).await, 200);
    assert_eq!(
        q["quota"]["network"], 1,
        "a refused update changes nothing: {q}"
    );
    let listed = ok(get(&c, &admin, "/quotas").await, 200);
    let projects: Vec<_> = listed["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["project_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(projects, [project_a.as_str()], "{listed}");

    ok(
        post(&c, &alice, "/networks", json!({"network": {"name": "one"}})).await,
        201,
    );
    let r = post(&c, &alice, "/networks", json!({"network": {"name": "two"}})).await;
    fault(&r, 409, "OverQuota");
    assert_eq!(
        r.message_neutron(),
        "Quota exceeded for resources: ['network']."
    );
    let details = ok(
        get(&c, &alice, &format!("/quotas/{project_a}/details")).await,
        200,
    );
    assert_eq!(
        details["quota"]["network"],
        json!({"limit": 1, "used": 1, "reserved": 0})
    );
    let r = put(
        &c,
        &admin,
        &format!("/quotas/{project_a}"),
        json!({"quota": {"network": 0, "check_limit": true}}),
    )
    .await;
    fault(&r, 400, "HTTPBadRequest");

    ok(
        delete(&c, &admin, &format!("/quotas/{project_a}")).await,
        204,
    );
    let q = ok(get(&c, &alice, &format!("/quotas/{project_a}")).await, 200);
    assert_eq!(q["quota"]["network"], 100);
    c.finish().await;
}
per_backend!(multi_thread: quotas);

async fn security_groups(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, bob) = c.user_with_role("bob", "proj-b", "member").await;

    let ext = ok(get(&c, &alice, "/extensions/security-group").await, 200);
    assert_eq!(ext["extension"]["alias"], "security-group");

    // A project's first list holds its default group and Neutron's rules.
    let listed = ok(get(&c, &alice, "/security-groups").await, 200);
    let groups = listed["security_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{listed}");
    let default = &groups[0];
    let default_id = default["id"].as_str().unwrap().to_string();
    assert_eq!(default["name"], "default");
    assert_eq!(default["description"], "Default security group");
    assert_eq!(default["project_id"], project_a.as_str());
    assert_eq!(default["tenant_id"], project_a.as_str());
    assert_eq!(default["stateful"], true);
    let rules = default["security_group_rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4, "{default}");
    let ingress: Vec<_> = rules
        .iter()
        .filter(|r| r["direction"] == "ingress")
        .collect();
    assert_eq!(ingress.len(), 2);
    assert!(ingress
        .iter()
        .all(|r| r["remote_group_id"] == default_id.as_str()
            && r["protocol"].is_null()
            && r["remote_ip_prefix"].is_null()));

    // A group and a rule, in Neutron's shapes.
    let web = ok(
        post(
            &c,
            &alice,
            "/security-groups",
            json!({"security_group": {"name": "web", "description": "the web tier"}}),
        )
        .await,
        201,
    );
    let web = &web["security_group"];
    let web_id = web["id"].as_str().unwrap().to_string();
    assert_eq!(web["security_group_rules"].as_array().unwrap().len(), 2);
    fault(
        &post(
            &c,
            &alice,
            "/security-groups",
            json!({"security_group": {"name": "default"}}),
        )
        .await,
        409,
        "SecurityGroupDefaultAlreadyExists",
    );
    let ssh = ok(
        post(
            &c,
            &alice,
            "/security-group-rules",
            json!({"security_group_rule": {
                "security_group_id": web_id, "direction": "ingress", "ethertype": "IPv4",
                "protocol": "tcp", "port_range_min": 22, "port_range_max": "22",
                "remote_ip_prefix": "192.0.2.0/24", "description": "ssh",
            }}),
        )
        .await,
        201,
    );
    let ssh = &ssh["security_group_rule"];
    let ssh_id = ssh["id"].as_str().unwrap().to_string();
    assert_eq!(ssh["port_range_min"], 22);
    assert_eq!(ssh["port_range_max"], 22);
    assert_eq!(ssh["protocol"], "tcp");
    assert_eq!(ssh["remote_ip_prefix"], "192.0.2.0/24");
    assert_eq!(ssh["security_group_id"], web_id.as_str());
    assert_eq!(ssh["project_id"], project_a.as_str());
    let dup = post(
        &c,
        &alice,
        "/security-group-rules",
        json!({"security_group_rule": {
            "security_group_id": web_id, "direction": "ingress",
            "protocol": 6, "port_range_min": 22, "port_range_max": 22,
            "remote_ip_prefix": "192.0.2.0/24",
        }}),
    )
    .await;
    fault(&dup, 409, "SecurityGroupRuleExists");
    assert!(dup.message_neutron().contains(&ssh_id), "{}", dup.body);
    for (body, kind) in [
        (
            json!({"security_group_id": web_id, "direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80}),
            "SecurityGroupInvalidPortRange",
        ),
        (
            json!({"security_group_id": web_id, "direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}),
            "SecurityGroupRuleParameterConflict",
        ),
        (
            json!({"security_group_id": web_id, "direction": "ingress", "protocol": "teleport"}),
            "SecurityGroupRuleInvalidProtocol",
        ),
        (
            json!({"security_group_id": web_id, "direction": "up"}),
            "InvalidInput",
        ),
        (json!({"security_group_id": web_id}), "HTTPBadRequest"),
        (
            json!({"security_group_id": web_id, "direction": "egress", "colour": "red"}),
            "HTTPBadRequest",
        ),
    ] {
        fault(
            &post(
                &c,
                &alice,
                "/security-group-rules",
                json!({ "security_group_rule": body }),
            )
            .await,
            400,
            kind,
        );
    }
    let found = ok(
        get(
            &c,
            &alice,
            &format!("/security-group-rules?security_group_id={web_id}&direction=ingress&fields=id&fields=protocol"),
        )
        .await,
        200,
    );
    assert_eq!(
        found["security_group_rules"],
        json!([{"id": ssh_id, "protocol": "tcp"}])
    );
    let first = ok(get(&c, &alice, "/security-groups?limit=1").await, 200);
    let next = first["security_groups_links"][0]["href"].as_str().unwrap();
    assert!(next.contains("/v2.0/security-groups?"), "{next}");
    let second = ok(get(&c, &alice, next).await, 200);
    assert_eq!(
        ids(&second, "security_groups"),
        std::slice::from_ref(&web_id)
    );
    fault(
        &get(&c, &alice, "/security-groups?colour=red").await,
        400,
        "HTTPBadRequest",
    );
    let renamed = ok(
        put(
            &c,
            &alice,
            &format!("/security-groups/{web_id}"),
            json!({"security_group": {"name": "www"}}),
        )
        .await,
        200,
    );
    assert_eq!(renamed["security_group"]["name"], "www");
    fault(
        &put(
            &c,
            &alice,
            &format!("/security-groups/{default_id}"),
            json!({"security_group": {"name": "mine"}}),
        )
        .await,
        409,
        "SecurityGroupCannotUpdateDefault",
    );

    // Isolation: bob sees and changes none of it.
    let his = ok(get(&c, &bob, "/security-groups").await, 200);
    let his_ids = ids(&his, "security_groups");
    assert_eq!(his_ids.len(), 1);
    assert!(!his_ids.contains(&web_id) && !his_ids.contains(&default_id));
    for r in [
        get(&c, &bob, &format!("/security-groups/{web_id}")).await,
        put(
            &c,
            &bob,
            &format!("/security-groups/{web_id}"),
            json!({"security_group": {"name": "x"}}),
        )
        .await,
        delete(&c, &bob, &format!("/security-groups/{web_id}")).await,
    ] {
        fault(&r, 404, "SecurityGroupNotFound");
    }
    fault(
        &delete(&c, &bob, &format!("/security-group-rules/{ssh_id}")).await,
        404,
        "SecurityGroupRuleNotFound",
    );
    let all = ok(get(&c, &admin, "/security-groups").await, 200);
    assert!(ids(&all, "security_groups").contains(&web_id));

    // Ports: the default group unless named; a group in use stays.
    let net = ok(
        post(&c, &alice, "/networks", json!({"network": {"name": "n"}})).await,
        201,
    );
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    let p = ok(
        post(
            &c,
            &alice,
            "/ports",
            json!({"port": {"network_id": net_id}}),
        )
        .await,
        201,
    );
    assert_eq!(p["port"]["security_groups"], json!([default_id]));
    let q = ok(
        post(
            &c,
            &alice,
            "/ports",
            json!({"port": {"network_id": net_id, "security_groups": [web_id]}}),
        )
        .await,
        201,
    );
    let q_id = q["port"]["id"].as_str().unwrap().to_string();
    assert_eq!(q["port"]["security_groups"], json!([web_id]));
    fault(
        &delete(&c, &alice, &format!("/security-groups/{web_id}")).await,
        409,
        "SecurityGroupInUse",
    );
    fault(
        &delete(&c, &alice, &format!("/security-groups/{default_id}")).await,
        409,
        "SecurityGroupCannotRemoveDefault",
    );
    ok(delete(&c, &alice, &format!("/ports/{q_id}")).await, 204);
    ok(
        delete(&c, &alice, &format!("/security-group-rules/{ssh_id}")).await,
        204,
    );
    ok(
        delete(&c, &alice, &format!("/security-groups/{web_id}")).await,
        204,
    );
    fault(
        &get(&c, &alice, &format!("/security-group-rules/{ssh_id}")).await,
        404,
        "SecurityGroupRuleNotFound",
    );

    // Quotas: Neutron's names and defaults, the default group counted.
    let quota = ok(get(&c, &alice, &format!("/quotas/{project_a}")).await, 200);
    assert_eq!(quota["quota"]["security_group"], 10, "{quota}");
    assert_eq!(quota["quota"]["security_group_rule"], 100);
    ok(
        put(
            &c,
            &admin,
            &format!("/quotas/{project_a}"),
            json!({"quota": {"security_group": 1}}),
        )
        .await,
        200,
    );
    let r = post(
        &c,
        &alice,
        "/security-groups",
        json!({"security_group": {"name": "more"}}),
    )
    .await;
    fault(&r, 409, "OverQuota");
    assert_eq!(
        r.message_neutron(),
        "Quota exceeded for resources: ['security_group']."
    );
    let details = ok(
        get(&c, &alice, &format!("/quotas/{project_a}/details")).await,
        200,
    );
    assert_eq!(
        details["quota"]["security_group"],
        json!({"limit": 1, "used": 1, "reserved": 0})
    );
    c.finish().await;
}
per_backend!(multi_thread: security_groups);

async fn routers_and_floating_ips(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, bob) = c.user_with_role("bob", "proj-b", "member").await;

    for alias in ["router", "ext-gw-mode"] {
        let ext = ok(get(&c, &alice, &format!("/extensions/{alias}")).await, 200);
        assert_eq!(ext["extension"]["alias"], alias);
    }
    // The admin's external network; alice's private network.
    let public = ok(
        post(
            &c,
            &admin,
            "/networks",
            json!({"network": {"name": "public", "router:external": true}}),
        )
        .await,
        201,
    )["network"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        post(
            &c,
            &admin,
            "/subnets",
            json!({"subnet": {"network_id": public, "cidr": "203.0.113.0/24", "ip_version": 4}}),
        )
        .await,
        201,
    );
    let private = ok(
        post(
            &c,
            &alice,
            "/networks",
            json!({"network": {"name": "private"}}),
        )
        .await,
        201,
    )["network"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let subnet = ok(
        post(
            &c,
            &alice,
            "/subnets",
            json!({"subnet": {"network_id": private, "cidr": "10.0.0.0/24", "ip_version": 4}}),
        )
        .await,
        201,
    )["subnet"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A router in Neutron's shape, its gateway on the external network.
    let r = ok(
        post(
            &c,
            &alice,
            "/routers",
            json!({"router": {"name": "r1", "external_gateway_info": {"network_id": public}}}),
        )
        .await,
        201,
    );
    let r = &r["router"];
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["name"], "r1");
    assert_eq!(r["project_id"], project_a.as_str());
    assert_eq!(r["tenant_id"], project_a.as_str());
    assert_eq!(r["status"], "ACTIVE");
    assert_eq!(r["admin_state_up"], true);
    assert_eq!(r["routes"], json!([]));
    let gw = &r["external_gateway_info"];
    assert_eq!(gw["network_id"], public.as_str(), "{r}");
    assert_eq!(gw["enable_snat"], true);
    let gw_ip = gw["external_fixed_ips"][0]["ip_address"].as_str().unwrap();
    assert!(gw_ip.starts_with("203.0.113."), "{gw}");
    for key in ["created_at", "updated_at", "revision_number", "tags"] {
        assert!(r.get(key).is_some(), "{key} in {r}");
    }
    // Faults in Neutron's shapes.
    fault(
        &post(
            &c,
            &alice,
            "/routers",
            json!({"router": {"external_gateway_info": {"network_id": private}}}),
        )
        .await,
        400,
        "BadRequest",
    );
    fault(
        &put(
            &c,
            &alice,
            &format!("/routers/{rid}"),
            json!({"router": {"external_gateway_info": {"network_id": public, "enable_snat": false}}}),
        )
        .await,
        403,
        "PolicyNotAuthorized",
    );
    fault(
        &put(
            &c,
            &alice,
            &format!("/routers/{rid}"),
            json!({"router": {"routes": [{"destination": "10.1.0.0/24", "nexthop": "10.0.0.9"}]}}),
        )
        .await,
        400,
        "HTTPBadRequest",
    );
    fault(
        &get(&c, &bob, &format!("/routers/{rid}")).await,
        404,
        "RouterNotFound",
    );
    let renamed = ok(
        put(
            &c,
            &alice,
            &format!("/routers/{rid}"),
            json!({"router": {"name": "edge", "description": "the way out"}}),
        )
        .await,
        200,
    );
    assert_eq!(renamed["router"]["name"], "edge");
    assert_eq!(
        renamed["router"]["external_gateway_info"]["network_id"],
        public.as_str(),
        "the gateway stays when it is not named"
    );

    // Interfaces.
    let path = |op: &str| format!("/routers/{rid}/{op}");
    fault(
        &put(&c, &alice, &path("add_router_interface"), json!({})).await,
        400,
        "HTTPBadRequest",
    );
    let i = ok(
        put(
            &c,
            &alice,
            &path("add_router_interface"),
            json!({"subnet_id": subnet}),
        )
        .await,
        200,
    );
    assert_eq!(i["id"], rid.as_str(), "{i}");
    assert_eq!(i["subnet_id"], subnet.as_str());
    assert_eq!(i["subnet_ids"], json!([subnet]));
    assert_eq!(i["network_id"], private.as_str());
    assert_eq!(i["project_id"], project_a.as_str());
    let iface_port = i["port_id"].as_str().unwrap().to_string();
    let p = ok(get(&c, &alice, &format!("/ports/{iface_port}")).await, 200);
    assert_eq!(p["port"]["device_owner"], "network:router_interface");
    assert_eq!(p["port"]["device_id"], rid.as_str());
    assert_eq!(p["port"]["fixed_ips"][0]["ip_address"], "10.0.0.1");
    let mine = ok(
        get(
            &c,
            &alice,
            &format!("/ports?device_id={rid}&device_owner=network:router_interface"),
        )
        .await,
        200,
    );
    assert_eq!(ids(&mine, "ports"), vec![iface_port.clone()]);
    fault(
        &put(
            &c,
            &alice,
            &path("add_router_interface"),
            json!({"subnet_id": subnet}),
        )
        .await,
        400,
        "BadRequest",
    );
    fault(
        &delete(&c, &alice, &format!("/ports/{iface_port}")).await,
        409,
        "ServicePortInUse",
    );
    fault(
        &delete(&c, &alice, &format!("/routers/{rid}")).await,
        409,
        "RouterInUse",
    );

    // Floating IPs.
    let vm = ok(
        post(
            &c,
            &alice,
            "/ports",
            json!({"port": {"network_id": private}}),
        )
        .await,
        201,
    );
    let vm_id = vm["port"]["id"].as_str().unwrap().to_string();
    let vm_ip = vm["port"]["fixed_ips"][0]["ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    let f = ok(
        post(
            &c,
            &alice,
            "/floatingips",
            json!({"floatingip": {"floating_network_id": public}}),
        )
        .await,
        201,
    );
    let f = &f["floatingip"];
    let fid = f["id"].as_str().unwrap().to_string();
    assert_eq!(f["status"], "DOWN");
    assert!(f["port_id"].is_null() && f["fixed_ip_address"].is_null() && f["router_id"].is_null());
    assert_eq!(f["project_id"], project_a.as_str());
    let address = f["floating_ip_address"].as_str().unwrap().to_string();
    assert!(address.starts_with("203.0.113.") && address != gw_ip, "{f}");
    fault(
        &post(&c, &alice, "/floatingips", json!({"floatingip": {}})).await,
        400,
        "HTTPBadRequest",
    );
    fault(
        &post(
            &c,
            &alice,
            "/floatingips",
            json!({"floatingip": {"floating_network_id": private}}),
        )
        .await,
        400,
        "BadRequest",
    );
    let associated = ok(
        put(
            &c,
            &alice,
            &format!("/floatingips/{fid}"),
            json!({"floatingip": {"port_id": vm_id}}),
        )
        .await,
        200,
    );
    let a = &associated["floatingip"];
    assert_eq!(a["status"], "ACTIVE");
    assert_eq!(a["port_id"], vm_id.as_str());
    assert_eq!(a["fixed_ip_address"], vm_ip.as_str());
    assert_eq!(a["router_id"], rid.as_str());
    fault(
        &put(
            &c,
            &alice,
            &path("remove_router_interface"),
            json!({"subnet_id": subnet}),
        )
        .await,
        409,
        "RouterInterfaceInUseByFloatingIP",
    );
    fault(
        &put(
            &c,
            &alice,
            &format!("/routers/{rid}"),
            json!({"router": {"external_gateway_info": {}}}),
        )
        .await,
        409,
        "RouterExternalGatewayInUseByFloatingIp",
    );
    // Filters, fields and isolation.
    let by_port = ok(
        get(
            &c,
            &alice,
            &format!("/floatingips?port_id={vm_id}&fields=id&fields=status"),
        )
        .await,
        200,
    );
    assert_eq!(
        by_port["floatingips"],
        json!([{"id": fid, "status": "ACTIVE"}])
    );
    let by_address = ok(
        get(
            &c,
            &alice,
            &format!("/floatingips?floating_ip_address={address}"),
        )
        .await,
        200,
    );
    assert_eq!(ids(&by_address, "floatingips"), vec![fid.clone()]);
    let theirs = ok(get(&c, &bob, "/floatingips").await, 200);
    assert_eq!(theirs["floatingips"], json!([]));
    fault(
        &get(&c, &bob, &format!("/floatingips/{fid}")).await,
        404,
        "FloatingIPNotFound",
    );
    fault(
        &put(
            &c,
            &bob,
            &format!("/floatingips/{fid}"),
            json!({"floatingip": {"port_id": null}}),
        )
        .await,
        404,
        "FloatingIPNotFound",
    );
    fault(
        &get(&c, &alice, "/floatingips?colour=red").await,
        400,
        "HTTPBadRequest",
    );
    let routers = ok(get(&c, &alice, "/routers?name=edge").await, 200);
    assert_eq!(ids(&routers, "routers"), vec![rid.clone()]);
    assert_eq!(
        ok(get(&c, &bob, "/routers").await, 200)["routers"],
        json!([])
    );
    // Quota usage in the details.
    let details = ok(
        get(&c, &alice, &format!("/quotas/{project_a}/details")).await,
        200,
    );
    assert_eq!(details["quota"]["router"]["used"], 1, "{details}");
    assert_eq!(details["quota"]["floatingip"]["used"], 1);

    // Disassociate, release, and take the router apart.
    let down = ok(
        put(
            &c,
            &alice,
            &format!("/floatingips/{fid}"),
            json!({"floatingip": {"port_id": null}}),
        )
        .await,
        200,
    );
    assert_eq!(down["floatingip"]["status"], "DOWN");
    assert!(down["floatingip"]["port_id"].is_null());
    assert_eq!(
        delete(&c, &alice, &format!("/floatingips/{fid}"))
            .await
            .status
            .as_u16(),
        204
    );
    let removed = ok(
        put(
            &c,
            &alice,
            &path("remove_router_interface"),
            json!({"port_id": iface_port}),
        )
        .await,
        200,
    );
    assert_eq!(removed["subnet_ids"], json!([subnet]));
    fault(
        &put(
            &c,
            &alice,
            &path("remove_router_interface"),
            json!({"subnet_id": subnet}),
        )
        .await,
        404,
        "RouterInterfaceNotFoundForSubnet",
    );
    let cleared = ok(
        put(
            &c,
            &alice,
            &format!("/routers/{rid}"),
            json!({"router": {"external_gateway_info": {}}}),
        )
        .await,
        200,
    );
    assert!(
        cleared["router"]["external_gateway_info"].is_null(),
        "{cleared}"
    );
    assert_eq!(
        delete(&c, &alice, &format!("/routers/{rid}"))
            .await
            .status
            .as_u16(),
        204
    );
    fault(
        &get(&c, &alice, &format!("/routers/{rid}")).await,
        404,
        "RouterNotFound",
    );
    // With its gateway and floating IPs gone, the external network goes.
    assert_eq!(
        delete(&c, &admin, &format!("/networks/{public}"))
            .await
            .status
            .as_u16(),
        204
    );
    c.finish().await;
}
per_backend!(multi_thread: routers_and_floating_ips);
