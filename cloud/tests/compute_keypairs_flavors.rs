//! Compute flavors and key pairs, on SQLite and on MariaDB: Nova's
//! visibility, validation and conflict texts, private flavor access, extra
//! specs, key generation and import, and the key pair quota under
//! concurrent creates.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use cloud::compute::*;
use cloud::image::{ImageConfig, ImageService};
use cloud::quota::Resource;
use cloud::testing::ScratchDb;
use cloud::{per_backend, Backend, RequestContext, Scope};

struct Fixture {
    scratch: ScratchDb,
    svc: ComputeService,
    dir: std::path::PathBuf,
}

impl Fixture {
    async fn new(backend: Backend) -> Fixture {
        let scratch = ScratchDb::new(backend).await;
        let dir = std::env::temp_dir().join(format!(
            "gureum-compute-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let image = ImageService::new(
            scratch.db.clone(),
            ImageConfig {
                store_dir: dir.display().to_string(),
                ..ImageConfig::default()
            },
        )
        .unwrap();
        let svc = ComputeService::new(
            scratch.db.clone(),
            ComputeConfig::default(),
            image,
            Arc::new(bus::memory::MemoryBus::new()),
        );
        Fixture { scratch, svc, dir }
    }

    async fn finish(self) {
        self.scratch.finish().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ctx(user: &str, project: &str, roles: &[&str]) -> RequestContext {
    RequestContext {
        user_id: user.into(),
        user_name: user.into(),
        user_domain_id: "default".into(),
        scope: Scope::Project {
            id: project.into(),
            name: project.into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        roles: roles.iter().map(|r| r.to_string()).collect(),
        audit_id: "audit".into(),
        app_cred_id: None,
        request_id: cloud::context::new_request_id(),
    }
}

fn admin() -> RequestContext {
    ctx(
        "admin-user",
        "admin-project",
        &["admin", "member", "reader"],
    )
}

fn member(user: &str, project: &str) -> RequestContext {
    ctx(user, project, &["member", "reader"])
}

fn flavor(id: Option<&str>, name: &str, vcpus: u32, ram: u64, disk: u64) -> NewFlavor {
    NewFlavor {
        id: id.map(str::to_string),
        name: name.into(),
        vcpus,
        ram_mib: ram,
        disk_gb: disk,
        rxtx_factor: 1.0,
        is_public: true,
        ..NewFlavor::default()
    }
}

fn ids(flavors: &[Flavor]) -> Vec<&str> {
    flavors.iter().map(|f| f.id.as_str()).collect()
}

#[track_caller]
fn assert_text(e: ComputeError, kind: cloud::ErrorKind, text: &str) {
    use cloud::ServiceError;
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), text);
}

async fn flavors_follow_nova(backend: Backend) {
    let f = Fixture::new(backend).await;
    let svc = &f.svc;
    let admin = admin();
    let alice = member("alice", "project-a");
    let bob = member("bob", "project-b");
    use cloud::ErrorKind::*;

    let small = svc
        .create_flavor(&admin, flavor(Some("2"), "m1.small", 1, 2048, 20))
        .await
        .unwrap();
    assert_eq!(small.id, "2");
    assert!(small.is_public && small.extra_specs.is_empty());
    svc.create_flavor(&admin, flavor(Some("1"), "m1.tiny", 1, 512, 1))
        .await
        .unwrap();
    let mut private = flavor(Some("p1"), "private", 4, 8192, 80);
    private.is_public = false;
    private.description = Some("for project a".into());
    svc.create_flavor(&admin, private).await.unwrap();
    // `auto` and no id both make a UUID.
    let auto = svc
        .create_flavor(&admin, flavor(Some("auto"), "auto-id", 1, 64, 0))
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&auto.id).is_ok(), "{}", auto.id);
    let none = svc
        .create_flavor(&admin, flavor(None, "no-id", 1, 64, 0))
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&none.id).is_ok());

    // Nova's conflict texts: the id is checked first.
    let e = svc
        .create_flavor(&admin, flavor(Some("2"), "m1.small", 1, 1, 1))
        .await
        .unwrap_err();
    assert_text(e, Conflict, "Flavor with ID 2 already exists.");
    let e = svc
        .create_flavor(&admin, flavor(Some("9"), "m1.small", 1, 1, 1))
        .await
        .unwrap_err();
    assert_text(e, Conflict, "Flavor with name m1.small already exists.");

    // Validation as Nova's schema.
    for bad in [
        flavor(Some("x1"), "zero-cpu", 0, 1, 1),
        flavor(Some("x2"), "zero-ram", 1, 0, 1),
        flavor(Some("x3"), "huge-ram", 1, 1 << 40, 1),
        flavor(Some(" x4"), "space-id", 1, 1, 1),
        flavor(Some("a/b"), "slash-id", 1, 1, 1),
        flavor(Some("x5"), " lead", 1, 1, 1),
        flavor(Some("x6"), "", 1, 1, 1),
        NewFlavor {
            rxtx_factor: 0.0,
            ..flavor(Some("x7"), "rxtx", 1, 1, 1)
        },
    ] {
        let name = bad.name.clone();
        let e = svc.create_flavor(&admin, bad).await.unwrap_err();
        assert!(matches!(e, ComputeError::Validation(_)), "{name}: {e}");
    }
    let e = svc
        .create_flavor(&admin, flavor(Some("x1"), "zero-cpu", 0, 1, 1))
        .await
        .unwrap_err();
    assert_text(
        e,
        BadRequest,
        "Invalid input for field/attribute vcpus. Value: 0. 0 is less than the minimum of 1",
    );
    // Only admins manage flavors.
    let e = svc
        .create_flavor(&alice, flavor(Some("a"), "mine", 1, 1, 1))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "You are not authorized to perform the requested action: os_compute_api:os-flavor-manage:create."
    );

    // Non-admins see public flavors, ordered by id; the private one only
    // once their project has access.
    let all = FlavorFilter::default();
    let seen = svc.list_flavors(&alice, &all).await.unwrap();
    let mut public_ids = vec!["1", "2", auto.id.as_str(), none.id.as_str()];
    public_ids.sort();
    assert_eq!(ids(&seen), public_ids);
    let e = svc.get_flavor(&alice, "p1").await.unwrap_err();
    assert_text(e, NotFound, "Flavor p1 could not be found.");
    let access = svc
        .add_flavor_access(&admin, "p1", "project-a")
        .await
        .unwrap();
    assert_eq!(access, ["project-a"]);
    let seen = svc.list_flavors(&alice, &all).await.unwrap();
    assert!(ids(&seen).contains(&"p1"));
    assert_eq!(
        svc.get_flavor(&alice, "p1")
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("for project a")
    );
    assert!(!ids(&svc.list_flavors(&bob, &all).await.unwrap()).contains(&"p1"));
    assert!(svc.get_flavor(&bob, "p1").await.is_err());

    // Admin filters: everything, public (plus its project's), private.
    assert_eq!(svc.list_flavors(&admin, &all).await.unwrap().len(), 5);
    let public = FlavorFilter {
        is_public: Some(true),
        ..FlavorFilter::default()
    };
    assert!(!ids(&svc.list_flavors(&admin, &public).await.unwrap()).contains(&"p1"));
    let private_only = FlavorFilter {
        is_public: Some(false),
        ..FlavorFilter::default()
    };
    assert_eq!(
        ids(&svc.list_flavors(&admin, &private_only).await.unwrap()),
        ["p1"]
    );

    // min_ram / min_disk, and marker paging by id.
    let big = FlavorFilter {
        min_ram: Some(2048),
        min_disk: Some(20),
        ..FlavorFilter::default()
    };
    assert_eq!(
        ids(&svc.list_flavors(&admin, &big).await.unwrap()),
        ["2", "p1"]
    );
    // Generated ids are UUIDs, which may sort before or after "1" and "2":
    // the pages are checked against the whole list in the service's order.
    let everything = svc.list_flavors(&admin, &all).await.unwrap();
    let mut sorted = ids(&everything);
    sorted.sort();
    assert_eq!(ids(&everything), sorted, "ordered by id");
    let page1 = svc
        .list_flavors(
            &admin,
            &FlavorFilter {
                limit: Some(2),
                ..FlavorFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&page1), sorted[..2]);
    let page2 = svc
        .list_flavors(
            &admin,
            &FlavorFilter {
                limit: Some(2),
                marker: Some(sorted[1].to_string()),
                ..FlavorFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&page2), sorted[2..4]);
    let e = svc
        .list_flavors(
            &alice,
            &FlavorFilter {
                marker: Some("nope".into()),
                ..FlavorFilter::default()
            },
        )
        .await
        .unwrap_err();
    assert_text(e, BadRequest, "marker [nope] not found");

    // The description changes; a delete takes access and specs along.
    let updated = svc
        .update_flavor_description(&admin, "2", Some("two".into()))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("two"));
    assert!(svc
        .update_flavor_description(&alice, "2", None)
        .await
        .is_err());
    svc.set_extra_specs(&admin, "p1", BTreeMap::from([("k".into(), "v".into())]))
        .await
        .unwrap();
    svc.delete_flavor(&admin, "p1").await.unwrap();
    assert_text(
        svc.delete_flavor(&admin, "p1").await.unwrap_err(),
        NotFound,
        "Flavor p1 could not be found.",
    );
    // Recreated under the same id, it starts without the old access and specs.
    let mut again = flavor(Some("p1"), "private", 1, 1, 1);
    again.is_public = false;
    svc.create_flavor(&admin, again).await.unwrap();
    assert!(svc
        .list_flavor_access(&admin, "p1")
        .await
        .unwrap()
        .is_empty());
    assert!(svc.list_extra_specs(&admin, "p1").await.unwrap().is_empty());
    f.finish().await;
}

async fn flavor_access_and_extra_specs(backend: Backend) {
    let f = Fixture::new(backend).await;
    let svc = &f.svc;
    let admin = admin();
    let alice = member("alice", "project-a");
    use cloud::ErrorKind::*;

    svc.create_flavor(&admin, flavor(Some("pub"), "public", 1, 1, 1))
        .await
        .unwrap();
    let mut p = flavor(Some("priv"), "private", 1, 1, 1);
    p.is_public = false;
    svc.create_flavor(&admin, p).await.unwrap();

    // Access lists exist for private flavors only.
    assert_text(
        svc.list_flavor_access(&admin, "pub").await.unwrap_err(),
        NotFound,
        "Access list not available for public flavors.",
    );
    assert_text(
        svc.add_flavor_access(&admin, "pub", "project-a")
            .await
            .unwrap_err(),
        Conflict,
        "Can not add access to a public flavor.",
    );
    svc.add_flavor_access(&admin, "priv", "project-b")
        .await
        .unwrap();
    let list = svc
        .add_flavor_access(&admin, "priv", "project-a")
        .await
        .unwrap();
    assert_eq!(list, ["project-a", "project-b"]);
    assert_text(
        svc.add_flavor_access(&admin, "priv", "project-a")
            .await
            .unwrap_err(),
        Conflict,
        "Flavor access already exists for flavor priv and project project-a combination.",
    );
    assert!(svc.list_flavor_access(&alice, "priv").await.is_err());
    assert_eq!(
        svc.remove_flavor_access(&admin, "priv", "project-b")
            .await
            .unwrap(),
        ["project-a"]
    );
    assert_text(
        svc.remove_flavor_access(&admin, "priv", "project-b")
            .await
            .unwrap_err(),
        NotFound,
        "Flavor access not found for priv / project-b combination.",
    );
    assert_text(
        svc.add_flavor_access(&admin, "missing", "project-a")
            .await
            .unwrap_err(),
        NotFound,
        "Flavor missing could not be found.",
    );

    // Extra specs: set many, read (anyone who sees the flavor), update one.
    let specs = BTreeMap::from([
        ("hw:cpu_policy".to_string(), "dedicated".to_string()),
        ("quota:disk_read_iops_sec".to_string(), "100".to_string()),
    ]);
    assert_eq!(
        svc.set_extra_specs(&admin, "pub", specs.clone())
            .await
            .unwrap(),
        specs
    );
    assert_eq!(svc.list_extra_specs(&alice, "pub").await.unwrap(), specs);
    assert_eq!(
        svc.get_flavor(&alice, "pub").await.unwrap().extra_specs,
        specs
    );
    assert_eq!(
        svc.list_flavors(&alice, &FlavorFilter::default())
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.id == "pub")
            .unwrap()
            .extra_specs,
        specs
    );
    assert_eq!(
        svc.get_extra_spec(&alice, "pub", "hw:cpu_policy")
            .await
            .unwrap(),
        "dedicated"
    );
    assert_text(
        svc.get_extra_spec(&alice, "pub", "nope").await.unwrap_err(),
        NotFound,
        "Flavor pub has no extra specs with key nope.",
    );
    let one = BTreeMap::from([("hw:cpu_policy".to_string(), "shared".to_string())]);
    svc.update_extra_spec(&admin, "pub", "hw:cpu_policy", one.clone())
        .await
        .unwrap();
    assert_eq!(
        svc.get_extra_spec(&admin, "pub", "hw:cpu_policy")
            .await
            .unwrap(),
        "shared"
    );
    assert_text(
        svc.update_extra_spec(&admin, "pub", "other", one.clone())
            .await
            .unwrap_err(),
        BadRequest,
        "Request body and URI mismatch",
    );
    assert_text(
        svc.update_extra_spec(&admin, "pub", "hw:cpu_policy", specs.clone())
            .await
            .unwrap_err(),
        BadRequest,
        "Request body contains too many items.",
    );
    assert!(svc
        .set_extra_specs(
            &admin,
            "pub",
            BTreeMap::from([("bad/key".into(), "v".into())])
        )
        .await
        .is_err());
    assert_eq!(
        svc.set_extra_specs(&alice, "pub", one.clone())
            .await
            .unwrap_err()
            .to_string(),
        "You are not authorized to perform the requested action: os_compute_api:os-flavor-extra-specs:update."
    );
    svc.delete_extra_spec(&admin, "pub", "hw:cpu_policy")
        .await
        .unwrap();
    assert_text(
        svc.delete_extra_spec(&admin, "pub", "hw:cpu_policy")
            .await
            .unwrap_err(),
        NotFound,
        "Flavor pub has no extra specs with key hw:cpu_policy.",
    );
    assert_eq!(svc.list_extra_specs(&admin, "pub").await.unwrap().len(), 1);
    f.finish().await;
}

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHAIzEjqaeJQzlNwsju9aKK9rl+dE0DVAjk3dg0ddLwt test@gureum";
const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBILsFS/PQdxCKVExRjRNAPGu9N7ZMjaJOyBTDP2kRBkj8W5p6F9c4irTLg7CCDzygk4EeEGAiAn7wlM3n90Z+IQ= e";
const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC/SaPtj0vrugXt2AZlEKYmmH4PepbHIfqyvslqXMmpip7SDqQOapTvYkUbGrMlTcghUWy2r2igJS7n99ny5BhliKG8VUHut4UDPir13BqkwvyxiJDRv7X+S2GbliHHXiwuhR+vLyvCPoV5utflBA/LU0FSVWOEED9HxzFdi2TXzqEKeDH/A61efOsfLfodMeEnh4cqoEGLF3i3ANPmMI/kONY/Biui2ZxkzObproHQ6M4ZPZoR5E7Bmq129BtKqDF9YBclNxK0smGNL54M6OxzumqBmRDis0kLfHJbuEOU3N6mgsbxKmb8aN2FJpErDj88wQjX7Lr2xofXrJS4JtOr r";

fn import(name: &str, key: &str) -> NewKeyPair {
    NewKeyPair {
        name: name.into(),
        public_key: Some(key.into()),
        user_id: None,
    }
}

async fn keypairs_generate_import_and_belong_to_users(backend: Backend) {
    let f = Fixture::new(backend).await;
    let svc = &f.svc;
    let admin = admin();
    let alice = member("alice", "project-a");
    let bob = member("bob", "project-a");
    use cloud::ErrorKind::*;

    // Generated: an ed25519 pair, the private key answered once.
    let made = svc
        .create_keypair(
            &alice,
            NewKeyPair {
                name: "generated".into(),
                ..NewKeyPair::default()
            },
        )
        .await
        .unwrap();
    let private = made.private_key.expect("a generated private key");
    let parsed = ssh_key::PrivateKey::from_openssh(private.expose()).unwrap();
    assert_eq!(parsed.algorithm(), ssh_key::Algorithm::Ed25519);
    let public = parsed.public_key().to_openssh().unwrap();
    assert_eq!(made.keypair.public_key, public);
    assert_eq!(made.keypair.key_type, "ssh");
    assert_eq!(made.keypair.user_id, "alice");
    assert!(!format!("{private:?}").contains("PRIVATE KEY"));

    // Imported: Nova's fingerprints (what `ssh-keygen -l -E md5` prints).
    for (name, key, fp) in [
        (
            "ed",
            ED25519,
            "85:cd:31:e2:c8:4f:4b:04:7f:64:95:ea:54:95:49:2d",
        ),
        (
            "ec",
            ECDSA,
            "ed:09:b7:b1:1f:d3:d2:e9:76:5e:02:bc:81:f7:fc:e6",
        ),
        (
            "rsa key",
            RSA,
            "92:38:fc:93:22:da:f0:78:f4:ba:60:bb:15:8f:3e:4e",
        ),
    ] {
        let k = svc.create_keypair(&alice, import(name, key)).await.unwrap();
        assert!(k.private_key.is_none());
        assert_eq!(k.keypair.fingerprint, fp, "{name}");
        assert_eq!(k.keypair.public_key, key);
    }
    // A name with Nova 2.92's '@' and '.', stripped of surrounding spaces.
    let k = svc
        .create_keypair(&alice, import("  alice@laptop.local ", ED25519))
        .await
        .unwrap();
    assert_eq!(k.keypair.name, "alice@laptop.local");

    for garbage in ["garbage", "ssh-rsa AAAA", "ssh-ed25519 bm90IGEga2V5", ""] {
        let e = svc
            .create_keypair(&alice, import("bad", garbage))
            .await
            .unwrap_err();
        assert_text(
            e,
            BadRequest,
            "Keypair data is invalid: failed to generate fingerprint",
        );
    }
    for bad_name in ["", "a/b", "키", &"k".repeat(256)] {
        let e = svc
            .create_keypair(&alice, import(bad_name, ED25519))
            .await
            .unwrap_err();
        assert!(matches!(e, ComputeError::Validation(_)), "{bad_name}: {e}");
    }
    assert_text(
        svc.create_keypair(&alice, import("ed", RSA))
            .await
            .unwrap_err(),
        Conflict,
        "Key pair 'ed' already exists.",
    );

    // Key pairs are the user's: bob has his own namespace and sees none of alice's.
    let names = |v: Vec<KeyPair>| v.into_iter().map(|k| k.name).collect::<Vec<_>>();
    assert_eq!(
        names(svc.list_keypairs(&alice, None).await.unwrap()),
        ["alice@laptop.local", "ec", "ed", "generated", "rsa key"]
    );
    assert!(svc.list_keypairs(&bob, None).await.unwrap().is_empty());
    svc.create_keypair(&bob, import("ed", ED25519))
        .await
        .unwrap();
    assert_text(
        svc.get_keypair(&bob, None, "ec").await.unwrap_err(),
        NotFound,
        "Keypair ec not found for user bob",
    );
    // Another user's key pairs are an admin's business.
    assert!(matches!(
        svc.list_keypairs(&bob, Some("alice")).await.unwrap_err(),
        ComputeError::Forbidden(_)
    ));
    assert_eq!(
        svc.list_keypairs(&admin, Some("alice"))
            .await
            .unwrap()
            .len(),
        5
    );
    let for_bob = svc
        .create_keypair(
            &admin,
            NewKeyPair {
                name: "from-admin".into(),
                public_key: Some(RSA.into()),
                user_id: Some("bob".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(for_bob.keypair.user_id, "bob");
    assert!(svc.get_keypair(&bob, None, "from-admin").await.is_ok());
    assert!(svc
        .create_keypair(
            &alice,
            NewKeyPair {
                name: "sneaky".into(),
                public_key: Some(RSA.into()),
                user_id: Some("bob".into()),
            },
        )
        .await
        .is_err());

    let got = svc.get_keypair(&alice, None, "ec").await.unwrap();
    assert_eq!(got.public_key, ECDSA);
    svc.delete_keypair(&alice, None, "ec").await.unwrap();
    assert_text(
        svc.delete_keypair(&alice, None, "ec").await.unwrap_err(),
        NotFound,
        "Keypair ec not found for user alice",
    );
    assert_eq!(svc.count_keypairs("alice").await.unwrap(), 4);
    f.finish().await;
}

async fn keypair_quota_holds_under_concurrent_creates(backend: Backend) {
    let f = Fixture::new(backend).await;
    let svc = f.svc.clone();
    let admin = admin();
    svc.quota()
        .set_limit(&admin, "project-q", Resource::KEY_PAIRS, 3)
        .await
        .unwrap();
    let carol = member("carol", "project-q");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (svc, carol) = (svc.clone(), carol.clone());
            tokio::spawn(async move {
                svc.create_keypair(&carol, import(&format!("k{i}"), ED25519))
                    .await
            })
        })
        .collect();
    let mut made = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(ComputeError::OverQuota(o)) => {
                assert_eq!(o.resource, Resource::KEY_PAIRS);
                assert_eq!(o.limit, 3);
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(made, 3);
    assert_eq!(svc.count_keypairs("carol").await.unwrap(), 3);
    // Room again after a delete.
    svc.delete_keypair(
        &carol,
        None,
        &svc.list_keypairs(&carol, None).await.unwrap()[0].name,
    )
    .await
    .unwrap();
    svc.create_keypair(&carol, import("again", ED25519))
        .await
        .unwrap();
    f.finish().await;
}

per_backend!(
    flavors_follow_nova,
    flavor_access_and_extra_specs,
    keypairs_generate_import_and_belong_to_users,
);
per_backend!(multi_thread: keypair_quota_holds_under_concurrent_creates);
