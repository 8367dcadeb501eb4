//! The stock `openstack` CLI against Neutron's API: networks (shared,
//! external, provider), subnets with ranges, pools, gateways and DNS
//! servers, ports with fixed IPs and security groups, security groups and
//! their rules, and the network quotas. The CLI is required, never
//! skipped (`make test` installs it).

#![allow(clippy::unwrap_used)]

mod common;

use cloud::Backend;
use common::cli::{cli_path, password_creds, Cli};
use common::{TestCloud, ADMIN_PASSWORD};
use serde_json::Value;

/// A column of a list, in order.
fn column(list: &Value, name: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|x| match &x[name] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// A quota's value in `quota show` output, whichever shape this CLI
/// prints (a list of rows or one object).
fn quota_value(out: &Value, name: &str) -> Option<i64> {
    match out {
        Value::Array(rows) => rows.iter().find_map(|r| {
            let key = r.get("Resource").or_else(|| r.get("Name"))?;
            (key == name)
                .then(|| r.get("Limit").or_else(|| r.get("Value"))?.as_i64())
                .flatten()
        }),
        Value::Object(o) => o.get(name).and_then(Value::as_i64),
        _ => None,
    }
}

/// The addresses of a port's `fixed_ips` as the CLI prints them.
fn addresses(port: &Value) -> String {
    port["fixed_ips"].to_string()
}

async fn scenario(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let cli = Cli {
        path: cli_path(),
        auth_url: c.v3(""),
    };
    let admin = password_creds("admin", ADMIN_PASSWORD, "admin");
    let admin = admin.as_slice();
    let (_, project_a, _) = c.user_with_role("alice", "proj-a", "member").await;
    let alice = password_creds("alice", "alice-password", "proj-a");
    let alice = alice.as_slice();
    c.user_with_role("bob", "proj-b", "member").await;
    let bob = password_creds("bob", "bob-password", "proj-b");
    let bob = bob.as_slice();

    // ------------------------------------------------------------ networks
    let net = cli.json(alice, &["network", "create", "cli-net"]).await;
    let net_id = net["id"].as_str().unwrap().to_string();
    assert_eq!(net["name"], "cli-net", "{net}");
    assert_eq!(net["project_id"], project_a.as_str(), "{net}");
    assert_eq!(net["mtu"], 1450, "{net}");
    let public = cli
        .json(
            admin,
            &[
                "network",
                "create",
                "--share",
                "--external",
                "--provider-network-type",
                "flat",
                "--provider-physical-network",
                "public",
                "cli-public",
            ],
        )
        .await;
    assert_eq!(public["shared"], true, "{public}");
    assert_eq!(public["router:external"], true, "{public}");
    assert_eq!(public["provider:network_type"], "flat", "{public}");
    let err = cli
        .fails(
            alice,
            &["network", "create", "--share", "not-mine-to-share"],
        )
        .await;
    assert!(
        err.contains("403") || err.contains("not authorized") || err.contains("disallowed"),
        "{err}"
    );

    let list = cli.json(alice, &["network", "list"]).await;
    let names = column(&list, "Name");
    assert!(names.contains(&"cli-net".to_string()), "{list}");
    assert!(names.contains(&"cli-public".to_string()), "{list}");
    let external = cli.json(alice, &["network", "list", "--external"]).await;
    assert_eq!(column(&external, "Name"), ["cli-public"], "{external}");
    let bobs = cli.json(bob, &["network", "list"]).await;
    assert!(
        !column(&bobs, "Name").contains(&"cli-net".to_string()),
        "{bobs}"
    );
    cli.fails(bob, &["network", "show", &net_id]).await;

    cli.ok(
        alice,
        &[
            "network",
            "set",
            "--name",
            "cli-net-2",
            "--description",
            "renamed",
            "cli-net",
        ],
    )
    .await;
    let shown = cli.json(alice, &["network", "show", "cli-net-2"]).await;
    assert_eq!(shown["id"], net_id.as_str(), "{shown}");
    assert_eq!(shown["description"], "renamed", "{shown}");

    // ------------------------------------------------------------ subnets
    let sub = cli
        .json(
            alice,
            &[
                "subnet",
                "create",
                "--network",
                "cli-net-2",
                "--subnet-range",
                "10.1.0.0/24",
                "--allocation-pool",
                "start=10.1.0.10,end=10.1.0.20",
                "--gateway",
                "10.1.0.1",
                "--dns-nameserver",
                "192.0.2.53",
                "cli-sub",
            ],
        )
        .await;
    let sub_id = sub["id"].as_str().unwrap().to_string();
    assert_eq!(sub["cidr"], "10.1.0.0/24", "{sub}");
    assert_eq!(sub["gateway_ip"], "10.1.0.1", "{sub}");
    assert!(
        sub["allocation_pools"].to_string().contains("10.1.0.10"),
        "{sub}"
    );
    assert!(
        sub["dns_nameservers"].to_string().contains("192.0.2.53"),
        "{sub}"
    );
    let nogw = cli
        .json(
            alice,
            &[
                "subnet",
                "create",
                "--network",
                "cli-net-2",
                "--subnet-range",
                "10.2.0.0/28",
                "--gateway",
                "none",
                "--no-dhcp",
                "cli-sub-nogw",
            ],
        )
        .await;
    assert_eq!(nogw["gateway_ip"], Value::Null, "{nogw}");
    assert_eq!(nogw["enable_dhcp"], false, "{nogw}");
    let err = cli
        .fails(
            alice,
            &[
                "subnet",
                "create",
                "--network",
                "cli-net-2",
                "--subnet-range",
                "10.3.0.0/24",
                "--gateway",
                "10.9.9.9",
                "bad",
            ],
        )
        .await;
    assert!(err.contains("10.9.9.9") || err.contains("gateway"), "{err}");
    let subs = cli
        .json(alice, &["subnet", "list", "--network", "cli-net-2"])
        .await;
    let mut names = column(&subs, "Name");
    names.sort();
    assert_eq!(names, ["cli-sub", "cli-sub-nogw"], "{subs}");
    cli.ok(alice, &["subnet", "set", "--name", "cli-sub-1", "cli-sub"])
        .await;
    let shown = cli.json(alice, &["subnet", "show", &sub_id]).await;
    assert_eq!(shown["name"], "cli-sub-1", "{shown}");

    // ------------------------------------------------------------ ports
    let port = cli
        .json(
            alice,
            &[
                "port",
                "create",
                "--network",
                "cli-net-2",
                "--fixed-ip",
                "subnet=cli-sub-1,ip-address=10.1.0.15",
                "cli-port",
            ],
        )
        .await;
    let port_id = port["id"].as_str().unwrap().to_string();
    assert!(addresses(&port).contains("10.1.0.15"), "{port}");
    let auto = cli
        .json(
            alice,
            &[
                "port",
                "create",
                "--network",
                "cli-net-2",
                "--fixed-ip",
                "subnet=cli-sub-1",
                "cli-port-auto",
            ],
        )
        .await;
    assert!(
        addresses(&auto).contains("10.1.0.10"),
        "the pool's first: {auto}"
    );
    let err = cli
        .fails(
            alice,
            &[
                "port",
                "create",
                "--network",
                "cli-net-2",
                "--fixed-ip",
                "subnet=cli-sub-1,ip-address=10.1.0.15",
                "dup",
            ],
        )
        .await;
    assert!(err.contains("10.1.0.15"), "{err}");
    let ports = cli
        .json(alice, &["port", "list", "--network", "cli-net-2"])
        .await;
    let mut names = column(&ports, "Name");
    names.sort();
    assert_eq!(names, ["cli-port", "cli-port-auto"], "{ports}");
    cli.ok(alice, &["port", "set", "--name", "cli-port-2", "cli-port"])
        .await;
    let shown = cli.json(alice, &["port", "show", &port_id]).await;
    assert_eq!(shown["name"], "cli-port-2", "{shown}");
    assert_eq!(shown["network_id"], net_id.as_str(), "{shown}");
    let bobs = cli.json(bob, &["port", "list"]).await;
    assert!(column(&bobs, "ID").is_empty(), "{bobs}");

    // A network with ports is not deleted; emptied, it is.
    let err = cli.fails(alice, &["network", "delete", "cli-net-2"]).await;
    assert!(err.contains("in use") || err.contains("ports"), "{err}");
    cli.ok(alice, &["port", "delete", "cli-port-2", "cli-port-auto"])
        .await;
    cli.ok(alice, &["subnet", "delete", "cli-sub-1", "cli-sub-nogw"])
        .await;
    cli.ok(alice, &["network", "delete", "cli-net-2"]).await;
    let list = cli.json(alice, &["network", "list"]).await;
    assert!(!column(&list, "ID").contains(&net_id), "{list}");

    // ---------------------------------------------------- security groups
    let web = cli
        .json(
            alice,
            &[
                "security",
                "group",
                "create",
                "--description",
                "the web tier",
                "cli-web",
            ],
        )
        .await;
    let web_id = web["id"].as_str().unwrap().to_string();
    assert_eq!(web["description"], "the web tier", "{web}");
    let ssh = cli
        .json(
            alice,
            &[
                "security",
                "group",
                "rule",
                "create",
                "--protocol",
                "tcp",
                "--dst-port",
                "22",
                "--remote-ip",
                "192.0.2.0/24",
                "cli-web",
            ],
        )
        .await;
    assert_eq!(ssh["port_range_min"], 22, "{ssh}");
    assert_eq!(ssh["port_range_max"], 22, "{ssh}");
    assert_eq!(ssh["remote_ip_prefix"], "192.0.2.0/24", "{ssh}");
    assert_eq!(ssh["direction"], "ingress", "{ssh}");
    let ssh_id = ssh["id"].as_str().unwrap().to_string();
    cli.ok(
        alice,
        &[
            "security",
            "group",
            "rule",
            "create",
            "--protocol",
            "icmp",
            "--egress",
            "cli-web",
        ],
    )
    .await;
    let err = cli
        .fails(
            alice,
            &[
                "security",
                "group",
                "rule",
                "create",
                "--protocol",
                "tcp",
                "--dst-port",
                "22",
                "--remote-ip",
                "192.0.2.0/24",
                "cli-web",
            ],
        )
        .await;
    assert!(err.contains("already exists"), "{err}");
    let err = cli
        .fails(
            alice,
            &[
                "security",
                "group",
                "rule",
                "create",
                "--protocol",
                "gre",
                "--dst-port",
                "80",
                "cli-web",
            ],
        )
        .await;
    assert!(err.contains("port range"), "{err}");
    let rules = cli
        .json(alice, &["security", "group", "rule", "list", "cli-web"])
        .await;
    assert_eq!(
        column(&rules, "ID").len(),
        4,
        "two egress, ssh, icmp: {rules}"
    );
    assert!(column(&rules, "ID").contains(&ssh_id), "{rules}");
    let groups = cli.json(alice, &["security", "group", "list"]).await;
    let mut names = column(&groups, "Name");
    names.sort();
    assert_eq!(names, ["cli-web", "default"], "{groups}");
    let bobs = cli.json(bob, &["security", "group", "list"]).await;
    assert_eq!(column(&bobs, "Name"), ["default"], "{bobs}");
    cli.fails(bob, &["security", "group", "show", &web_id])
        .await;
    cli.fails(bob, &["security", "group", "rule", "delete", &ssh_id])
        .await;
    cli.ok(
        alice,
        &["security", "group", "set", "--name", "cli-web-2", "cli-web"],
    )
    .await;
    let shown = cli
        .json(alice, &["security", "group", "show", &web_id])
        .await;
    assert_eq!(shown["name"], "cli-web-2", "{shown}");
    cli.ok(alice, &["network", "create", "sg-net"]).await;
    let guarded = cli
        .json(
            alice,
            &[
                "port",
                "create",
                "--network",
                "sg-net",
                "--security-group",
                "cli-web-2",
                "sg-port",
            ],
        )
        .await;
    assert!(
        guarded["security_group_ids"].to_string().contains(&web_id),
        "{guarded}"
    );
    let err = cli
        .fails(alice, &["security", "group", "delete", "cli-web-2"])
        .await;
    assert!(err.contains("in use"), "{err}");
    cli.ok(alice, &["port", "delete", "sg-port"]).await;
    cli.ok(alice, &["security", "group", "rule", "delete", &ssh_id])
        .await;
    cli.ok(alice, &["security", "group", "delete", "cli-web-2"])
        .await;
    cli.ok(alice, &["network", "delete", "sg-net"]).await;

    // ------------------------------------------------- routers, floating IPs
    cli.ok(
        admin,
        &[
            "subnet",
            "create",
            "--network",
            "cli-public",
            "--subnet-range",
            "198.51.100.0/24",
            "--no-dhcp",
            "cli-public-sub",
        ],
    )
    .await;
    cli.ok(alice, &["network", "create", "rt-net"]).await;
    cli.ok(
        alice,
        &[
            "subnet",
            "create",
            "--network",
            "rt-net",
            "--subnet-range",
            "10.20.0.0/24",
            "rt-sub",
        ],
    )
    .await;
    let router = cli.json(alice, &["router", "create", "cli-router"]).await;
    let router_id = router["id"].as_str().unwrap().to_string();
    assert_eq!(router["status"], "ACTIVE", "{router}");
    assert_eq!(router["project_id"], project_a.as_str(), "{router}");
    cli.ok(alice, &["router", "add", "subnet", "cli-router", "rt-sub"])
        .await;
    cli.ok(
        alice,
        &[
            "router",
            "set",
            "--external-gateway",
            "cli-public",
            "cli-router",
        ],
    )
    .await;
    let shown = cli.json(alice, &["router", "show", "cli-router"]).await;
    let gw = shown["external_gateway_info"].to_string();
    assert!(gw.contains(public["id"].as_str().unwrap()), "{shown}");
    assert!(gw.contains("198.51.100."), "{shown}");
    assert!(
        shown["interfaces_info"].to_string().contains("10.20.0.1"),
        "{shown}"
    );
    let err = cli
        .fails(
            alice,
            &[
                "router",
                "set",
                "--external-gateway",
                "cli-public",
                "--disable-snat",
                "cli-router",
            ],
        )
        .await;
    assert!(
        err.contains("403") || err.contains("not authorized") || err.contains("disallowed"),
        "{err}"
    );
    cli.ok(
        admin,
        &[
            "router",
            "set",
            "--external-gateway",
            "cli-public",
            "--disable-snat",
            &router_id,
        ],
    )
    .await;
    let shown = cli.json(alice, &["router", "show", "cli-router"]).await;
    assert_eq!(
        shown["external_gateway_info"]["enable_snat"], false,
        "{shown}"
    );
    let routers = cli.json(alice, &["router", "list"]).await;
    assert_eq!(column(&routers, "Name"), ["cli-router"], "{routers}");
    let bobs = cli.json(bob, &["router", "list"]).await;
    assert_eq!(bobs, serde_json::json!([]), "{bobs}");
    cli.fails(bob, &["router", "show", &router_id]).await;

    let vm = cli
        .json(alice, &["port", "create", "--network", "rt-net", "vm-port"])
        .await;
    let vm_ip = vm["fixed_ips"][0]["ip_address"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| addresses(&vm));
    let fip = cli
        .json(alice, &["floating", "ip", "create", "cli-public"])
        .await;
    let fip_id = fip["id"].as_str().unwrap().to_string();
    let fip_address = fip["floating_ip_address"].as_str().unwrap().to_string();
    assert!(fip_address.starts_with("198.51.100."), "{fip}");
    assert_eq!(fip["status"], "DOWN", "{fip}");
    cli.ok(
        alice,
        &["floating", "ip", "set", "--port", "vm-port", &fip_address],
    )
    .await;
    let shown = cli.json(alice, &["floating", "ip", "show", &fip_id]).await;
    assert_eq!(shown["port_id"], vm["id"], "{shown}");
    assert!(
        vm_ip.contains(shown["fixed_ip_address"].as_str().unwrap()),
        "{shown} {vm}"
    );
    assert_eq!(shown["router_id"], router_id.as_str(), "{shown}");
    let listed = cli.json(alice, &["floating", "ip", "list"]).await;
    assert_eq!(
        column(&listed, "Floating IP Address"),
        [fip_address.as_str()],
        "{listed}"
    );
    let bobs = cli.json(bob, &["floating", "ip", "list"]).await;
    assert_eq!(bobs, serde_json::json!([]), "{bobs}");
    let err = cli
        .fails(
            alice,
            &["router", "remove", "subnet", "cli-router", "rt-sub"],
        )
        .await;
    assert!(err.contains("floating IP"), "{err}");
    cli.ok(alice, &["floating", "ip", "unset", "--port", &fip_id])
        .await;
    let shown = cli.json(alice, &["floating", "ip", "show", &fip_id]).await;
    assert!(shown["port_id"].is_null(), "{shown}");
    cli.ok(alice, &["floating", "ip", "delete", &fip_id]).await;
    cli.ok(alice, &["port", "delete", "vm-port"]).await;
    let err = cli.fails(alice, &["router", "delete", "cli-router"]).await;
    assert!(err.contains("still has ports"), "{err}");
    cli.ok(
        alice,
        &["router", "remove", "subnet", "cli-router", "rt-sub"],
    )
    .await;
    cli.ok(
        alice,
        &["router", "unset", "--external-gateway", "cli-router"],
    )
    .await;
    let shown = cli.json(alice, &["router", "show", "cli-router"]).await;
    assert!(shown["external_gateway_info"].is_null(), "{shown}");
    cli.ok(alice, &["router", "delete", "cli-router"]).await;
    cli.ok(alice, &["network", "delete", "rt-net"]).await;

    // ------------------------------------------------------------ quotas
    let q = cli.json(admin, &["quota", "show", "proj-a"]).await;
    assert_eq!(quota_value(&q, "networks"), Some(100), "{q}");
    assert_eq!(quota_value(&q, "ports"), Some(500), "{q}");
    assert_eq!(quota_value(&q, "security_groups"), Some(10), "{q}");
    assert_eq!(quota_value(&q, "security_group_rules"), Some(100), "{q}");
    assert_eq!(quota_value(&q, "routers"), Some(10), "{q}");
    assert_eq!(quota_value(&q, "floating_ips"), Some(50), "{q}");
    cli.ok(
        admin,
        &[
            "quota",
            "set",
            "--networks",
            "1",
            "--subnets",
            "4",
            "--secgroups",
            "5",
            "--routers",
            "3",
            "--floating-ips",
            "7",
            "proj-a",
        ],
    )
    .await;
    let q = cli.json(admin, &["quota", "show", "proj-a"]).await;
    assert_eq!(quota_value(&q, "networks"), Some(1), "{q}");
    assert_eq!(quota_value(&q, "subnets"), Some(4), "{q}");
    assert_eq!(quota_value(&q, "security_groups"), Some(5), "{q}");
    assert_eq!(quota_value(&q, "routers"), Some(3), "{q}");
    assert_eq!(quota_value(&q, "floating_ips"), Some(7), "{q}");
    cli.ok(alice, &["network", "create", "one"]).await;
    let err = cli.fails(alice, &["network", "create", "two"]).await;
    assert!(
        err.contains("Quota exceeded") && err.contains("network"),
        "{err}"
    );
    let err = cli
        .fails(alice, &["quota", "set", "--networks", "9", "proj-a"])
        .await;
    assert!(!err.is_empty());
    cli.ok(admin, &["network", "delete", "cli-public"]).await;
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_network_cli_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_network_cli_on_mariadb() {
    scenario(Backend::MySql).await;
}
