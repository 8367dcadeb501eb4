//! A real virtual machine from Nova's REST API: the server's conductor and
//! its embedded agent on libvirtd + QEMU (`qemu:///system`), booting a
//! project's private kernel and initramfs images that the node downloads
//! from the server's own image API with the spawn's download grants.
//!
//! Required in `make test`, which runs `scripts/real-guest.sh` first (libvirtd
//! up, the guest built into ~/.cache/gureum/guest); it fails, never skips,
//! when libvirtd, QEMU or the guest are missing.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cloud::Backend;
use common::TestCloud;
use serde_json::{json, Value};

fn nova(c: &TestCloud, path: &str) -> String {
    format!("{}/compute/v2.1{path}", c.url)
}

fn guest_file(name: &str) -> Vec<u8> {
    let dir = std::env::var("GUREUM_TEST_GUEST_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/gureum/guest",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into())
        )
    });
    let path = PathBuf::from(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the real-guest test needs {}: run scripts/real-guest.sh (make test does): {e}",
            path.display()
        )
    })
}

/// Removes the domain if the test stops half-way.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for cmd in ["destroy", "undefine"] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", "qemu:///system", cmd, &self.0])
                .output();
        }
    }
}

async fn image(c: &TestCloud, tok: &str, body: Value, data: Vec<u8>) -> String {
    let id = c.create_image(tok, body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.upload_image(tok, &id, data).await.expect(204);
    id
}

async fn server(c: &TestCloud, tok: &str, id: &str) -> Value {
    c.get(tok, &nova(c, &format!("/servers/{id}")))
        .await
        .expect(200)
        .body["server"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn boots_a_real_guest_from_the_rest_api() {
    let kernel = guest_file("vmlinuz");
    let initrd = guest_file("initrd.gz");
    let c = TestCloud::start_with(Backend::Sqlite, |cfg| {
        cfg.agent.libvirt_uri = "qemu:///system".into();
        cfg.agent.stop_timeout_secs = 10;
    })
    .await;
    let (_, _, tok) = c.user_with_role("vera", "proj-real", "member").await;

    // The project's own (private) images: only a grant lets the node in.
    let kernel_id = image(
        &c,
        &tok,
        json!({"name": "kernel", "disk_format": "aki", "container_format": "aki"}),
        kernel,
    )
    .await;
    let ramdisk_id = image(
        &c,
        &tok,
        json!({"name": "initrd", "disk_format": "ari", "container_format": "ari"}),
        initrd,
    )
    .await;
    let root_id = image(
        &c,
        &tok,
        json!({
            "name": "busybox", "disk_format": "raw", "container_format": "bare",
            "kernel_id": kernel_id, "ramdisk_id": ramdisk_id,
            "os_command_line": "console=ttyS0 panic=-1",
        }),
        vec![0u8; 1 << 20],
    )
    .await;
    c.post(
        &c.admin_token,
        &nova(&c, "/flavors"),
        json!({"flavor": {"name": "r1.small", "vcpus": 1, "ram": 256, "disk": 1, "id": "r1"}}),
    )
    .await
    .expect(200);

    let t0 = Instant::now();
    let created = c
        .post(
            &tok,
            &nova(&c, "/servers"),
            json!({"server": {
                "name": "real", "imageRef": root_id, "flavorRef": "r1",
                "user_data": "aGVsbG8gZnJvbSB1c2VyIGRhdGE=",
            }}),
        )
        .await
        .expect(202);
    let id = created.body["server"]["id"].as_str().unwrap().to_string();
    let _cleanup = Cleanup(id.clone());

    let deadline = Instant::now() + Duration::from_secs(180);
    let active = loop {
        let s = server(&c, &tok, &id).await;
        if s["status"] == "ACTIVE" && s["OS-EXT-STS:task_state"].is_null() {
            break s;
        }
        assert_ne!(s["status"], "ERROR", "the boot failed: {s}");
        assert!(Instant::now() < deadline, "still building: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let to_active = t0.elapsed();
    assert_eq!(active["OS-EXT-STS:power_state"], 1);

    // The guest's init prints its marker and the config drive on ttyS0.
    let log = loop {
        let out = c
            .post(
                &tok,
                &nova(&c, &format!("/servers/{id}/action")),
                json!({"os-getConsoleOutput": {}}),
            )
            .await
            .expect(200)
            .body["output"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if out.contains("GUREUM-INIT-DONE") {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "no GUREUM-INIT-DONE on the console yet:\n{out}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "POST /servers -> ACTIVE in {to_active:?}, guest init done in {:?}",
        t0.elapsed()
    );
    assert!(log.contains(&format!("\"uuid\":\"{id}\"")), "{log}");
    assert!(log.contains("hello from user data"), "{log}");

    // The node cached each image once, from the grants.
    let cache = c.state.config.agent.state_dir.join("images");
    for image in [&root_id, &kernel_id, &ramdisk_id] {
        assert!(cache.join(image).is_file(), "{image} is not in the cache");
    }

    c.delete(&tok, &nova(&c, &format!("/servers/{id}")))
        .await
        .expect(204);
    let deadline = Instant::now() + Duration::from_secs(60);
    while c
        .get(&tok, &nova(&c, &format!("/servers/{id}")))
        .await
        .status
        != 404
    {
        assert!(Instant::now() < deadline, "the server was not deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = std::process::Command::new("virsh")
        .args(["-q", "-c", "qemu:///system", "list", "--all", "--uuid"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&id),
        "the domain outlived its server"
    );
    c.finish().await;
}
