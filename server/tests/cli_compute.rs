//! The stock `openstack` CLI against Nova's admin and account APIs:
//! flavors (private with project access, properties), key pairs (made by
//! the CLI and imported), limits, quotas, hypervisors, services, zones and
//! usage. The CLI is required, never skipped (`make test` installs it).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cloud::Backend;
use common::cli::{cli_path, password_creds, Cli};
use common::{TestCloud, ADMIN_PASSWORD};
use serde_json::Value;

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHAIzEjqaeJQzlNwsju9aKK9rl+dE0DVAjk3dg0ddLwt test@gureum";

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

/// A quota's value in `quota show`/`limits show` output, whichever shape
/// this CLI prints (a list of rows or one object).
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

    // ------------------------------------------------------------ flavors
    let small = cli
        .json(
            admin,
            &[
                "flavor",
                "create",
                "--id",
                "f1",
                "--ram",
                "256",
                "--disk",
                "1",
                "--vcpus",
                "1",
                "--description",
                "the small one",
                "cli-small",
            ],
        )
        .await;
    assert_eq!(small["id"], "f1", "{small}");
    assert_eq!(small["ram"], 256);
    assert_eq!(small["vcpus"], 1);
    assert_eq!(small["os-flavor-access:is_public"], true);
    let private = cli
        .json(
            admin,
            &[
                "flavor",
                "create",
                "--private",
                "--project",
                "proj-a",
                "--ram",
                "1024",
                "--disk",
                "10",
                "--vcpus",
                "2",
                "--property",
                "hw:cpu_policy=dedicated",
                "cli-private",
            ],
        )
        .await;
    assert_eq!(private["os-flavor-access:is_public"], false, "{private}");
    let private_id = private["id"].as_str().unwrap().to_string();
    assert!(
        private["properties"].to_string().contains("dedicated"),
        "{private}"
    );
    let err = cli
        .fails(
            alice,
            &[
                "flavor", "create", "--ram", "1", "--disk", "1", "--vcpus", "1", "mine",
            ],
        )
        .await;
    assert!(
        err.contains("403") || err.contains("not authorized"),
        "{err}"
    );
    let err = cli
        .fails(
            admin,
            &[
                "flavor",
                "create",
                "--ram",
                "1",
                "--disk",
                "1",
                "--vcpus",
                "1",
                "cli-small",
            ],
        )
        .await;
    assert!(err.contains("already exists"), "{err}");

    // Alice's project was given the private flavor; bob's was not.
    let mut seen = column(&cli.json(alice, &["flavor", "list"]).await, "Name");
    seen.sort();
    assert_eq!(seen, ["cli-private", "cli-small"]);
    assert_eq!(
        column(&cli.json(bob, &["flavor", "list"]).await, "Name"),
        ["cli-small"]
    );
    assert!(cli
        .fails(bob, &["flavor", "show", &private_id])
        .await
        .contains("No Flavor found"));
    let all = cli.json(admin, &["flavor", "list", "--all"]).await;
    assert_eq!(column(&all, "Name").len(), 2);
    cli.ok(
        admin,
        &["flavor", "set", "--project", "proj-b", &private_id],
    )
    .await;
    assert_eq!(
        column(&cli.json(bob, &["flavor", "list"]).await, "Name").len(),
        2
    );

    cli.ok(
        admin,
        &[
            "flavor",
            "set",
            "--property",
            "k1=v1",
            "--property",
            "k2=v2",
            "cli-small",
        ],
    )
    .await;
    cli.ok(admin, &["flavor", "unset", "--property", "k2", "cli-small"])
        .await;
    cli.ok(
        admin,
        &["flavor", "set", "--description", "smaller", "cli-small"],
    )
    .await;
    let shown = cli.json(alice, &["flavor", "show", "cli-small"]).await;
    let props = shown["properties"].to_string();
    assert!(props.contains("k1") && !props.contains("k2"), "{shown}");
    assert_eq!(shown["description"], "smaller", "{shown}");
    cli.ok(admin, &["flavor", "delete", "cli-small"]).await;
    assert_eq!(
        column(&cli.json(bob, &["flavor", "list"]).await, "Name"),
        ["cli-private"]
    );

    // ------------------------------------------------------------ key pairs
    // Without --public-key the CLI makes the key itself and imports it.
    let out = cli.ok(alice, &["keypair", "create", "cli-gen"]).await;
    assert!(out.contains("PRIVATE KEY"), "{out}");
    let dir = std::env::temp_dir().join(format!("gureum-cli-kp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let pub_file = dir.join("id.pub");
    std::fs::write(&pub_file, format!("{ED25519}\n")).unwrap();
    let imported = cli
        .json(
            alice,
            &[
                "keypair",
                "create",
                "--public-key",
                pub_file.to_str().unwrap(),
                "cli-imp",
            ],
        )
        .await;
    assert_eq!(
        imported["fingerprint"], "85:cd:31:e2:c8:4f:4b:04:7f:64:95:ea:54:95:49:2d",
        "{imported}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let mut names = column(&cli.json(alice, &["keypair", "list"]).await, "Name");
    names.sort();
    assert_eq!(names, ["cli-gen", "cli-imp"]);
    assert!(column(&cli.json(bob, &["keypair", "list"]).await, "Name").is_empty());
    let shown = cli.json(alice, &["keypair", "show", "cli-imp"]).await;
    assert_eq!(shown["name"], "cli-imp", "{shown}");
    assert_eq!(shown["type"], "ssh");
    let bare = cli
        .ok(alice, &["keypair", "show", "--public-key", "cli-imp"])
        .await;
    assert_eq!(bare.trim(), ED25519);
    cli.ok(alice, &["keypair", "delete", "cli-gen"]).await;
    assert_eq!(
        column(&cli.json(alice, &["keypair", "list"]).await, "Name"),
        ["cli-imp"]
    );

    // ------------------------------------------------------------ limits, quotas
    let limits = cli.json(alice, &["limits", "show", "--absolute"]).await;
    assert_eq!(
        quota_value(&limits, "max_total_instances"),
        Some(10),
        "{limits}"
    );
    assert_eq!(quota_value(&limits, "max_total_keypairs"), Some(100));
    let q = cli.json(admin, &["quota", "show", "proj-a"]).await;
    assert_eq!(quota_value(&q, "instances"), Some(10), "{q}");
    assert_eq!(quota_value(&q, "cores"), Some(20), "{q}");
    cli.ok(
        admin,
        &[
            "quota",
            "set",
            "--instances",
            "7",
            "--cores",
            "30",
            "proj-a",
        ],
    )
    .await;
    let q = cli.json(admin, &["quota", "show", &project_a]).await;
    assert_eq!(quota_value(&q, "instances"), Some(7), "{q}");
    assert_eq!(quota_value(&q, "cores"), Some(30), "{q}");
    let limits = cli.json(alice, &["limits", "show", "--absolute"]).await;
    assert_eq!(
        quota_value(&limits, "max_total_instances"),
        Some(7),
        "{limits}"
    );
    let err = cli
        .fails(alice, &["quota", "set", "--instances", "99", "proj-a"])
        .await;
    assert!(
        err.contains("403") || err.contains("not authorized"),
        "{err}"
    );

    // ------------------------------------------------------------ nodes
    let deadline = Instant::now() + Duration::from_secs(30);
    let hypervisors = loop {
        let list = cli.json(admin, &["hypervisor", "list"]).await;
        if !list.as_array().unwrap().is_empty() {
            break list;
        }
        assert!(Instant::now() < deadline, "no hypervisor registered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let host = column(&hypervisors, "Hypervisor Hostname")[0].clone();
    assert_eq!(column(&hypervisors, "State"), ["up"], "{hypervisors}");
    let hv = cli.json(admin, &["hypervisor", "show", &host]).await;
    assert_eq!(hv["hypervisor_hostname"], host.as_str(), "{hv}");
    assert!(cli
        .fails(alice, &["hypervisor", "list"])
        .await
        .contains("403"));

    let services = cli.json(admin, &["compute", "service", "list"]).await;
    assert_eq!(column(&services, "Binary"), ["nova-compute"], "{services}");
    assert_eq!(column(&services, "Host"), [host.as_str()]);
    assert_eq!(column(&services, "Status"), ["enabled"]);
    cli.ok(
        admin,
        &[
            "compute",
            "service",
            "set",
            "--disable",
            "--disable-reason",
            "maintenance",
            &host,
            "nova-compute",
        ],
    )
    .await;
    let services = cli
        .json(admin, &["compute", "service", "list", "--long"])
        .await;
    assert_eq!(column(&services, "Status"), ["disabled"], "{services}");
    assert_eq!(column(&services, "Disabled Reason"), ["maintenance"]);
    cli.ok(
        admin,
        &[
            "compute",
            "service",
            "set",
            "--enable",
            &host,
            "nova-compute",
        ],
    )
    .await;

    let zones = cli
        .json(alice, &["availability", "zone", "list", "--compute"])
        .await;
    assert_eq!(column(&zones, "Zone Name"), ["nova"], "{zones}");
    let zones = cli
        .json(
            admin,
            &["availability", "zone", "list", "--compute", "--long"],
        )
        .await;
    assert!(column(&zones, "Host Name").contains(&host), "{zones}");

    let usage = cli
        .json(admin, &["usage", "list", "--start", "2020-01-01"])
        .await;
    assert!(usage.is_array(), "{usage}");
    let usage = cli
        .json(alice, &["usage", "show", "--start", "2020-01-01"])
        .await;
    assert!(usage.is_object(), "{usage}");
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_compute_cli_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_compute_cli_on_mariadb() {
    scenario(Backend::MySql).await;
}
