//! What `serve --bootstrap` seeds (`gureum_server::seed`), on SQLite and on
//! MariaDB: devstack's flavors and the bootable busybox image, once; an
//! ordinary project member sees both and boots from them.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cloud::{per_backend, Backend};
use common::TestCloud;
use gureum_server::seed::{seed, SeedReport, GUEST_IMAGE};
use serde_json::{json, Value};

fn nova(c: &TestCloud, path: &str) -> String {
    format!("{}/compute/v2.1{path}", c.url)
}

fn by_name<'a>(images: &'a [Value], name: &str) -> &'a Value {
    images
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no image {name} in {images:?}"))
}

async fn seeds_flavors_and_a_bootable_image_once(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let guest = tempfile::tempdir().unwrap();
    std::fs::write(guest.path().join("vmlinuz"), b"a kernel").unwrap();
    std::fs::write(guest.path().join("initrd.gz"), b"an initramfs").unwrap();

    let report = seed(&c.state, &c.admin_project_id, Some(guest.path()))
        .await
        .unwrap();
    assert_eq!(
        report.flavors,
        ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    );
    let root_id = report.image.clone().expect("the guest image");

    // A second start (or one after an admin tidied up) adds nothing.
    let again = seed(&c.state, &c.admin_project_id, Some(guest.path()))
        .await
        .unwrap();
    assert_eq!(again, SeedReport::default());

    let (_, _, tok) = c.user_with_role("mia", "proj-seed", "member").await;
    let images = c.get(&tok, &c.image_url("/images")).await.expect(200).body["images"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(images.len(), 3, "{images:?}");
    let root = by_name(&images, GUEST_IMAGE);
    let kernel = by_name(&images, &format!("{GUEST_IMAGE}-kernel"));
    let initrd = by_name(&images, &format!("{GUEST_IMAGE}-initrd"));
    assert_eq!(root["id"], root_id.as_str());
    assert_eq!(root["kernel_id"], kernel["id"]);
    assert_eq!(root["ramdisk_id"], initrd["id"]);
    assert_eq!(root["os_command_line"], "console=ttyS0 panic=-1");
    for (image, format, size) in [
        (root, "raw", 1 << 20),
        (kernel, "aki", 8),
        (initrd, "ari", 12),
    ] {
        assert_eq!(image["visibility"], "public");
        assert_eq!(image["status"], "active");
        assert_eq!(image["disk_format"], format);
        assert_eq!(image["size"], size);
        assert_eq!(image["owner"], c.admin_project_id.as_str());
    }

    let flavors = c.get(&tok, &nova(&c, "/flavors/detail")).await.expect(200);
    let tiny = flavors.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "m1.tiny")
        .unwrap()
        .clone();
    assert_eq!(
        (&tiny["id"], &tiny["vcpus"], &tiny["ram"], &tiny["disk"]),
        (&json!("1"), &json!(1), &json!(512), &json!(1))
    );

    // The member boots from them (the embedded agent on the test driver).
    let created = c
        .post(
            &tok,
            &nova(&c, "/servers"),
            json!({"server": {"name": "first", "imageRef": root_id, "flavorRef": "1"}}),
        )
        .await
        .expect(202);
    let id = created.body["server"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = c
            .get(&tok, &nova(&c, &format!("/servers/{id}")))
            .await
            .expect(200);
        if s.body["server"]["status"] == "ACTIVE" {
            break;
        }
        assert!(Instant::now() < deadline, "{}", s.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.finish().await;
}
per_backend!(multi_thread: seeds_flavors_and_a_bootable_image_once);

/// Without a guest, flavors only; an existing flavor means none are added.
async fn no_guest_no_image_and_existing_flavors_stay(backend: Backend) {
    let c = TestCloud::start(backend).await;
    c.post(
        &c.admin_token,
        &nova(&c, "/flavors"),
        json!({"flavor": {"name": "mine", "vcpus": 1, "ram": 64, "disk": 0, "id": "mine"}}),
    )
    .await
    .expect(200);
    let report = seed(&c.state, &c.admin_project_id, None).await.unwrap();
    assert_eq!(report, SeedReport::default());
    let images = c
        .get(&c.admin_token, &c.image_url("/images"))
        .await
        .expect(200);
    assert_eq!(images.body["images"], json!([]));

    // A guest directory without its files is a clear error, not a half seed.
    let empty = tempfile::tempdir().unwrap();
    let e = seed(&c.state, &c.admin_project_id, Some(empty.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("vmlinuz"), "{e}");
    let images = c
        .get(&c.admin_token, &c.image_url("/images"))
        .await
        .expect(200);
    assert_eq!(images.body["images"], json!([]));
    c.finish().await;
}
per_backend!(multi_thread: no_guest_no_image_and_existing_flavors_stay);
