//! The stock `openstack` CLI against the image API: what an operator types
//! must work unchanged. The CLI is required, never skipped: `make test`
//! installs it and exports `GUREUM_OPENSTACK_CLI`. `qemu-img` is required
//! too (for the qcow2 image).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use cloud::Backend;
use common::cli::{cli_path, password_creds, Cli};
use common::{qcow2_image, test_data, TestCloud, ADMIN_PASSWORD};
use md5::{Digest, Md5};
use serde_json::Value;

/// The `Name` column of a list, sorted.
fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|x| x["Name"].as_str().unwrap_or_default().to_string())
        .collect();
    n.sort();
    n
}

/// A scratch directory for image files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "gureum-cli-image-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn file(&self, name: &str, data: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p.display().to_string()
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn scenario(backend: Backend) {
    let cli_path = cli_path();
    let c = TestCloud::start(backend).await;
    let cli = Cli {
        path: cli_path,
        auth_url: c.v3(""),
    };
    let scratch = Scratch::new();
    let admin = password_creds("admin", ADMIN_PASSWORD, "admin");
    let admin = admin.as_slice();
    let (_, project_a, _) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, project_b, _) = c.user_with_role("bob", "proj-b", "member").await;
    let alice = password_creds("alice", "alice-password", "proj-a");
    let alice = alice.as_slice();
    let bob = password_creds("bob", "bob-password", "proj-b");
    let bob = bob.as_slice();

    let raw = test_data(3 * 1024 * 1024 + 123, 11);
    let raw_path = scratch.file("disk.raw", &raw);
    let qcow = qcow2_image("32M");
    let qcow_path = scratch.file("disk.qcow2", &qcow);

    // image create --file: raw, private, with a property and a tag.
    let img = cli
        .json(
            alice,
            &[
                "image",
                "create",
                "--file",
                &raw_path,
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "--private",
                "--property",
                "os_distro=cirros",
                "--tag",
                "base",
                "cli-raw",
            ],
        )
        .await;
    assert_eq!(img["status"], "active", "{img}");
    assert_eq!(img["visibility"], "private");
    assert_eq!(img["size"], serde_json::json!(raw.len()));
    assert_eq!(img["checksum"], hex::encode(Md5::digest(&raw)));
    assert_eq!(img["owner"], Value::String(project_a.clone()));
    assert_eq!(img["properties"]["os_distro"], "cirros", "{img}");
    assert_eq!(img["tags"], serde_json::json!(["base"]));
    let raw_id = img["id"].as_str().unwrap().to_string();

    // qcow2, shared; community with a property; public as admin.
    let q = cli
        .json(
            alice,
            &[
                "image",
                "create",
                "--file",
                &qcow_path,
                "--disk-format",
                "qcow2",
                "--container-format",
                "bare",
                "--shared",
                "cli-qcow2",
            ],
        )
        .await;
    assert_eq!(q["status"], "active", "{q}");
    assert_eq!(q["disk_format"], "qcow2");
    assert_eq!(q["virtual_size"], serde_json::json!(32 << 20));
    assert_eq!(q["visibility"], "shared");
    let comm = cli
        .json(
            alice,
            &[
                "image",
                "create",
                "--community",
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "--property",
                "purpose=share",
                "--tag",
                "ext",
                "cli-community",
            ],
        )
        .await;
    assert_eq!(comm["visibility"], "community");
    // Without --file the CLI uploads its stdin (empty here), as against Glance.
    assert_eq!(comm["status"], "active", "{comm}");
    assert_eq!(comm["size"], 0);
    assert_eq!(comm["properties"]["purpose"], "share", "{comm}");
    let public = cli
        .json(
            admin,
            &[
                "image",
                "create",
                "--public",
                "--file",
                &raw_path,
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "cli-public",
            ],
        )
        .await;
    assert_eq!(public["visibility"], "public");
    // Only admins publish.
    let err = cli
        .fails(
            alice,
            &[
                "image",
                "create",
                "--public",
                "--disk-format",
                "raw",
                "nope",
            ],
        )
        .await;
    assert!(err.contains("403"), "expected a 403 in: {err}");
    // A qcow2 passed off as raw is refused with the reason.
    let err = cli
        .fails(
            alice,
            &[
                "image",
                "create",
                "--file",
                &qcow_path,
                "--disk-format",
                "raw",
                "--container-format",
                "bare",
                "sneaky",
            ],
        )
        .await;
    assert!(err.contains("qcow2"), "expected the reason in: {err}");
    // (openstacksdk deletes the record of a failed upload itself.)

    // image list and its filters.
    let all = cli.json(alice, &["image", "list"]).await;
    // The owner's own community image is listed too.
    assert_eq!(
        names(&all),
        ["cli-community", "cli-public", "cli-qcow2", "cli-raw"]
    );
    assert_eq!(
        names(&cli.json(alice, &["image", "list", "--public"]).await),
        ["cli-public"]
    );
    assert_eq!(
        names(&cli.json(alice, &["image", "list", "--private"]).await),
        ["cli-raw"]
    );
    assert_eq!(
        names(&cli.json(alice, &["image", "list", "--shared"]).await),
        ["cli-qcow2"]
    );
    assert_eq!(
        names(&cli.json(alice, &["image", "list", "--tag", "base"]).await),
        ["cli-raw"]
    );
    assert_eq!(
        names(
            &cli.json(alice, &["image", "list", "--property", "os_distro=cirros"])
                .await
        ),
        ["cli-raw"]
    );
    let long = cli.json(alice, &["image", "list", "--long"]).await;
    let row = long
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Name"] == "cli-raw")
        .unwrap();
    assert_eq!(row["Disk Format"], "raw");
    assert_eq!(row["Visibility"], "private");
    assert_eq!(row["Project"], Value::String(project_a.clone()));
    assert_eq!(row["Checksum"], hex::encode(Md5::digest(&raw)));

    // image set, then show.
    cli.ok(
        alice,
        &[
            "image",
            "set",
            "--name",
            "cli-raw2",
            "--property",
            "hw_disk_bus=virtio",
            "--tag",
            "extra",
            "--protected",
            "cli-raw",
        ],
    )
    .await;
    let shown = cli.json(alice, &["image", "show", &raw_id]).await;
    assert_eq!(shown["name"], "cli-raw2");
    assert_eq!(shown["protected"], true);
    assert_eq!(shown["properties"]["hw_disk_bus"], "virtio", "{shown}");
    assert_eq!(shown["properties"]["os_distro"], "cirros");
    let mut tags: Vec<String> = shown["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["base", "extra"]);
    let err = cli.fails(alice, &["image", "delete", "cli-raw2"]).await;
    assert!(err.contains("protected") || err.contains("403"), "{err}");
    cli.ok(alice, &["image", "set", "--unprotected", "cli-raw2"])
        .await;

    // image save: byte-identical (the CLI checks Content-MD5 too).
    let saved = scratch.path("saved.raw");
    cli.ok(alice, &["image", "save", "--file", &saved, "cli-raw2"])
        .await;
    assert!(std::fs::read(&saved).unwrap() == raw, "saved bytes differ");

    // Project B does not see A's private image.
    let err = cli.fails(bob, &["image", "show", &raw_id]).await;
    assert!(
        err.contains("No Image found") || err.contains("404"),
        "{err}"
    );
    let err = cli.fails(bob, &["image", "show", "cli-raw2"]).await;
    assert!(
        err.contains("No Image found") || err.contains("404"),
        "{err}"
    );
    assert_eq!(
        names(&cli.json(bob, &["image", "list"]).await),
        ["cli-public"]
    );
    assert_eq!(
        cli.json(bob, &["image", "show", comm["id"].as_str().unwrap()])
            .await["name"],
        "cli-community"
    );

    // Sharing: A adds B, B accepts, and then lists and saves it.
    let m = cli
        .json(alice, &["image", "add", "project", "cli-qcow2", &project_b])
        .await;
    assert_eq!(m["status"], "pending", "{m}");
    let members = cli
        .json(alice, &["image", "member", "list", "cli-qcow2"])
        .await;
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0]["Member ID"], Value::String(project_b.clone()));
    assert_eq!(members[0]["Status"], "pending");
    let q_id = q["id"].as_str().unwrap();
    cli.ok(bob, &["image", "set", "--accept", q_id]).await;
    assert_eq!(
        names(&cli.json(bob, &["image", "list"]).await),
        ["cli-public", "cli-qcow2"]
    );
    let members = cli
        .json(alice, &["image", "member", "list", "cli-qcow2"])
        .await;
    assert_eq!(members[0]["Status"], "accepted");
    let saved_q = scratch.path("saved.qcow2");
    cli.ok(bob, &["image", "save", "--file", &saved_q, q_id])
        .await;
    assert!(std::fs::read(&saved_q).unwrap() == qcow);

    // Deleting.
    cli.ok(alice, &["image", "delete", "cli-raw2", "cli-community"])
        .await;

    assert_eq!(
        names(&cli.json(alice, &["image", "list"]).await),
        ["cli-public", "cli-qcow2"]
    );
    let err = cli.fails(alice, &["image", "show", &raw_id]).await;
    assert!(
        err.contains("No Image found") || err.contains("404"),
        "{err}"
    );
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_image_cli_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_image_cli_on_mariadb() {
    scenario(Backend::MySql).await;
}
