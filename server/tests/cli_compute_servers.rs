//! The stock `openstack` CLI against Nova's server API: `server create
//! --wait` reaches ACTIVE through the embedded agent (libvirt's test
//! driver), then every power action, the console log and `server delete
//! --wait`. The CLI is required, never skipped (`make test` installs it).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cloud::Backend;
use common::cli::{cli_path, password_creds, Cli};
use common::{TestCloud, ADMIN_PASSWORD};
use serde_json::json;

async fn wait_for(cli: &Cli, creds: &[(&str, &str)], name: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = cli.json(creds, &["server", "show", name]).await;
        if s["status"] == status && s["OS-EXT-STS:task_state"].is_null() {
            return;
        }
        assert!(Instant::now() < deadline, "waiting for {status}: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
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
    c.user_with_role("alice", "proj-a", "member").await;
    let alice = password_creds("alice", "alice-password", "proj-a");
    let alice = alice.as_slice();
    c.user_with_role("bob", "proj-b", "member").await;
    let bob = password_creds("bob", "bob-password", "proj-b");
    let bob = bob.as_slice();

    let img = c
        .create_image(&c.admin_token, json!({"name": "tiny-img", "disk_format": "raw", "container_format": "bare", "visibility": "public"}))
        .await;
    c.upload_image(
        &c.admin_token,
        img["id"].as_str().unwrap(),
        b"bootable bytes".to_vec(),
    )
    .await
    .expect(204);
    cli.ok(
        admin,
        &[
            "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "cli.tiny",
        ],
    )
    .await;
    cli.ok(
        alice,
        &[
            "keypair",
            "create",
            "--public-key",
            &write_key(),
            "alice-key",
        ],
    )
    .await;

    let s = cli
        .json(
            alice,
            &[
                "server",
                "create",
                "--image",
                "tiny-img",
                "--flavor",
                "cli.tiny",
                "--key-name",
                "alice-key",
                "--no-network",
                "--property",
                "tier=web",
                "--wait",
                "vm-one",
            ],
        )
        .await;
    assert_eq!(s["status"], "ACTIVE", "{s}");
    assert_eq!(s["key_name"], "alice-key");

    let list = cli.json(alice, &["server", "list"]).await;
    assert_eq!(list[0]["Name"], "vm-one", "{list}");
    assert_eq!(list[0]["Status"], "ACTIVE");
    // The CLI looks the images up by `id=in:...` and shows their names.
    assert_eq!(list[0]["Image"], "tiny-img", "{list}");
    assert_eq!(list[0]["Flavor"], "cli.tiny", "{list}");
    assert_eq!(cli.json(bob, &["server", "list"]).await, json!([]));
    let err = cli.fails(bob, &["server", "show", "vm-one"]).await;
    assert!(
        err.contains("No Server found") || err.contains("could not be found"),
        "{err}"
    );

    cli.ok(alice, &["server", "stop", "vm-one"]).await;
    wait_for(&cli, alice, "vm-one", "SHUTOFF").await;
    cli.ok(alice, &["server", "start", "vm-one"]).await;
    wait_for(&cli, alice, "vm-one", "ACTIVE").await;
    cli.ok(alice, &["server", "reboot", "--wait", "vm-one"])
        .await;
    wait_for(&cli, alice, "vm-one", "ACTIVE").await;
    cli.ok(alice, &["server", "pause", "vm-one"]).await;
    wait_for(&cli, alice, "vm-one", "PAUSED").await;
    cli.ok(alice, &["server", "unpause", "vm-one"]).await;
    wait_for(&cli, alice, "vm-one", "ACTIVE").await;
    cli.ok(alice, &["server", "suspend", "vm-one"]).await;
    wait_for(&cli, alice, "vm-one", "SUSPENDED").await;
    cli.ok(alice, &["server", "resume", "vm-one"]).await;
    wait_for(&cli, alice, "vm-one", "ACTIVE").await;
    cli.ok(alice, &["server", "lock", "vm-one"]).await;
    cli.fails(alice, &["server", "delete", "vm-one"]).await;
    cli.ok(alice, &["server", "unlock", "vm-one"]).await;
    cli.ok(alice, &["console", "log", "show", "vm-one"]).await;

    let admin_list = cli
        .json(admin, &["server", "list", "--all-projects", "--long"])
        .await;
    assert_eq!(admin_list.as_array().unwrap().len(), 1, "{admin_list}");
    let hv = cli.json(admin, &["hypervisor", "list"]).await;
    assert_eq!(hv.as_array().unwrap().len(), 1, "{hv}");
    assert_eq!(
        hv[0]["Hypervisor Hostname"],
        c.state.config.agent.node.as_str()
    );

    cli.ok(alice, &["server", "delete", "--wait", "vm-one"])
        .await;
    assert_eq!(cli.json(alice, &["server", "list"]).await, json!([]));
    c.finish().await;
}

/// An ed25519 public key file for `keypair create --public-key`.
fn write_key() -> String {
    let p = std::env::temp_dir().join(format!(
        "gureum-cli-key-{}.pub",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&p, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl cli@gureum\n").unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    scenario(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    scenario(Backend::MySql).await
}
