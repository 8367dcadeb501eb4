//! The quota engine and what rests on it, on SQLite and on MariaDB:
//! concurrent requests against a limit admit exactly as many as fit,
//! reservations are released and expire, identity updates lose nothing,
//! and a deleted project leaves nothing behind.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloud::identity::*;
use cloud::image::*;
use cloud::quota::*;
use cloud::testing::{test_data, ScratchDb};
use cloud::{per_backend, Backend, RequestContext, Scope};

struct Fixture {
    scratch: ScratchDb,
    images: ImageService,
    dir: PathBuf,
}

impl Fixture {
    async fn new(backend: Backend, tweak: impl FnOnce(&mut ImageConfig)) -> Fixture {
        let scratch = ScratchDb::new(backend).await;
        let dir = std::env::temp_dir().join(format!(
            "gureum-quota-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut cfg = ImageConfig {
            store_dir: dir.display().to_string(),
            ..ImageConfig::default()
        };
        tweak(&mut cfg);
        let images = ImageService::new(scratch.db.clone(), cfg).expect("image service");
        Fixture {
            scratch,
            images,
            dir,
        }
    }

    fn stored_files(&self) -> Vec<String> {
        // Data files: `images/<id>` and `staging/<server-id>/<id>` (a
        // server's staging area itself is not data).
        fn files_under(dir: &std::path::Path, name: &str, out: &mut Vec<String>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let path = format!("{name}/{}", e.file_name().to_string_lossy());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    files_under(&e.path(), &path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        files_under(&self.dir.join("images"), "images", &mut out);
        files_under(&self.dir.join("staging"), "staging", &mut out);
        out.sort();
        out
    }

    async fn reservation_rows(&self) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM quota_reservations")
            .fetch_one(&self.scratch.db.pool)
            .await
            .expect("count reservations")
            .try_get("n")
            .expect("n")
    }

    async fn finish(self) {
        self.scratch.finish().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ctx(project: &str, roles: &[&str]) -> RequestContext {
    RequestContext {
        user_id: format!("user-of-{project}"),
        user_name: format!("user-of-{project}"),
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

fn member(project: &str) -> RequestContext {
    ctx(project, &["member", "reader"])
}

fn admin() -> RequestContext {
    ctx("admin-project", &["admin", "member", "reader"])
}

fn raw_image(name: &str) -> NewImage {
    NewImage {
        name: Some(name.into()),
        disk_format: Some(DiskFormat::Raw),
        container_format: Some(ContainerFormat::Bare),
        visibility: Some(Visibility::Private),
        ..NewImage::default()
    }
}

fn body(
    bytes: &[u8],
    chunk: usize,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static {
    let chunks: Vec<io::Result<Bytes>> = bytes
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(chunks)
}

/// A body that yields `good` bytes and then breaks off.
fn broken_body(
    good: &[u8],
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static {
    let mut chunks: Vec<io::Result<Bytes>> = good
        .chunks(1000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "client went away",
    )));
    futures_util::stream::iter(chunks)
}

const N: usize = 8;
const K: i64 = 3;
const SIZE: usize = 10_000;

fn over_quota(err: &ImageError) -> &OverQuota {
    match err {
        ImageError::OverQuota(o) => o,
        other => panic!("expected OverQuota, got {other:?}"),
    }
}

async fn concurrent_uploads_admit_exactly_k(backend: Backend) {
    let f = Fixture::new(backend, |c| {
        c.max_bytes_per_project = K * SIZE as i64;
    })
    .await;
    let a = member("project-a");
    let mut ids = Vec::new();
    for i in 0..N {
        ids.push(
            f.images
                .create_image(&a, raw_image(&format!("img-{i}")))
                .await
                .expect("create")
                .id,
        );
    }
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let svc = f.images.clone();
        let a = a.clone();
        let id = id.clone();
        let data = test_data(SIZE, i as u64);
        tasks.push(tokio::spawn(async move {
            svc.upload(&a, &id, body(&data, 1000), Some(SIZE as u64))
                .await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.expect("upload task") {
            Ok(img) => {
                assert_eq!(img.status, ImageStatus::Active);
                admitted += 1;
            }
            Err(e) => {
                let o = over_quota(&e);
                assert_eq!(o.resource, Resource::IMAGE_SIZE_TOTAL);
                assert_eq!(o.limit, K * SIZE as i64);
                assert_eq!(o.requested, SIZE as i64);
                assert_eq!(o.project_id, "project-a");
            }
        }
    }
    assert_eq!(admitted, K, "exactly K uploads fit");
    let usage = f.images.usage(&a, "project-a").await.expect("usage");
    assert_eq!(usage.bytes, K * SIZE as i64);
    assert_eq!(f.stored_files().len(), K as usize, "{:?}", f.stored_files());
    assert_eq!(
        f.reservation_rows().await,
        0,
        "every hold committed or released"
    );
    // The refused ones are still queued and take data once room is made.
    let active: Vec<_> = f
        .images
        .list_images(&a, &ImageFilter::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter(|i| i.status == ImageStatus::Active)
        .collect();
    f.images
        .delete_image(&a, &active[0].id)
        .await
        .expect("delete");
    let queued = ids
        .iter()
        .find(|id| !active.iter().any(|i| &&i.id == id))
        .expect("a queued image");
    f.images
        .upload(
            &a,
            queued,
            body(&test_data(SIZE, 99), 1000),
            Some(SIZE as u64),
        )
        .await
        .expect("fits after a delete");
    f.finish().await;
}
per_backend!(multi_thread: concurrent_uploads_admit_exactly_k);

/// Without a Content-Length the hold grows as bytes arrive: the limit is
/// never passed, refused uploads give their partial hold back, and what was
/// admitted is exactly what is stored.
async fn concurrent_chunked_uploads_never_pass_the_limit(backend: Backend) {
    let f = Fixture::new(backend, |c| {
        c.max_bytes_per_project = K * SIZE as i64;
    })
    .await;
    let a = member("project-a");
    let mut tasks = Vec::new();
    for i in 0..N {
        let id = f
            .images
            .create_image(&a, raw_image(&format!("img-{i}")))
            .await
            .expect("create")
            .id;
        let svc = f.images.clone();
        let a = a.clone();
        let data = test_data(SIZE, i as u64);
        tasks.push(tokio::spawn(async move {
            svc.upload(&a, &id, body(&data, 1000), None).await
        }));
    }
    let mut admitted = 0i64;
    for t in tasks {
        match t.await.expect("upload task") {
            Ok(_) => admitted += 1,
            Err(e) => assert_eq!(over_quota(&e).resource, Resource::IMAGE_SIZE_TOTAL),
        }
    }
    assert!((1..=K).contains(&admitted), "admitted {admitted}");
    let usage = f.images.usage(&a, "project-a").await.expect("usage");
    assert_eq!(usage.bytes, admitted * SIZE as i64);
    assert_eq!(f.stored_files().len() as i64, admitted);
    assert_eq!(f.reservation_rows().await, 0);
    f.finish().await;
}
per_backend!(multi_thread: concurrent_chunked_uploads_never_pass_the_limit);

async fn concurrent_creates_admit_exactly_k(backend: Backend) {
    let f = Fixture::new(backend, |c| c.max_images_per_project = K).await;
    let a = member("project-a");
    let mut tasks = Vec::new();
    for i in 0..N {
        let svc = f.images.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            svc.create_image(&a, raw_image(&format!("img-{i}"))).await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.expect("create task") {
            Ok(_) => admitted += 1,
            Err(e) => {
                let o = over_quota(&e);
                assert_eq!(o.resource, Resource::IMAGE_COUNT_TOTAL);
                assert_eq!((o.limit, o.requested), (K, 1));
                assert_eq!(o.in_use + o.reserved, K);
            }
        }
    }
    assert_eq!(admitted, K);
    let listed = f
        .images
        .list_images(&a, &ImageFilter::default())
        .await
        .expect("list");
    assert_eq!(listed.total, K);
    // A deleted image gives its count back.
    f.images
        .delete_image(&a, &listed.items[0].id)
        .await
        .expect("delete");
    f.images
        .create_image(&a, raw_image("again"))
        .await
        .expect("room after a delete");
    f.finish().await;
}
per_backend!(multi_thread: concurrent_creates_admit_exactly_k);

async fn failed_and_deleted_uploads_give_their_bytes_back(backend: Backend) {
    let f = Fixture::new(backend, |c| c.max_bytes_per_project = SIZE as i64).await;
    let a = member("project-a");
    let quota = f.images.quota().clone();
    let img = f
        .images
        .create_image(&a, raw_image("one"))
        .await
        .expect("create");
    // Broken off half way: the hold is released, nothing stays in use.
    let err = f
        .images
        .upload(
            &a,
            &img.id,
            broken_body(&test_data(SIZE / 2, 1)),
            Some(SIZE as u64),
        )
        .await
        .expect_err("broken");
    assert!(matches!(err, ImageError::UploadInterrupted(_)), "{err:?}");
    let u = quota
        .standing("project-a", Resource::IMAGE_SIZE_TOTAL)
        .await
        .expect("standing");
    assert_eq!((u.in_use, u.reserved), (0, 0));
    // Refused by the format check after every byte arrived: also released.
    let mut img2 = raw_image("two");
    img2.disk_format = Some(DiskFormat::Qcow2);
    let img2 = f.images.create_image(&a, img2).await.expect("create");
    let err = f
        .images
        .upload(
            &a,
            &img2.id,
            body(&test_data(SIZE, 2), 1000),
            Some(SIZE as u64),
        )
        .await
        .expect_err("not qcow2");
    assert!(matches!(err, ImageError::Format(_)), "{err:?}");
    assert_eq!(f.reservation_rows().await, 0);
    // The whole allowance is still there.
    f.images
        .upload(
            &a,
            &img.id,
            body(&test_data(SIZE, 3), 1000),
            Some(SIZE as u64),
        )
        .await
        .expect("fits");
    let u = quota
        .standing("project-a", Resource::IMAGE_SIZE_TOTAL)
        .await
        .expect("standing");
    assert_eq!((u.in_use, u.reserved), (SIZE as i64, 0));
    // Full now: the advisory check gives the upload's own error.
    let err = f.images.check_upload_fits(&a, 1).await.expect_err("full");
    assert_eq!(over_quota(&err).in_use, SIZE as i64);
    // A delete gives the bytes and the count back.
    f.images.delete_image(&a, &img.id).await.expect("delete");
    let usage = f.images.usage(&a, "project-a").await.expect("usage");
    assert_eq!((usage.images, usage.bytes), (1, 0));
    f.images
        .check_upload_fits(&a, SIZE as i64)
        .await
        .expect("fits again");
    f.finish().await;
}
per_backend!(failed_and_deleted_uploads_give_their_bytes_back);

async fn limits_are_per_project_and_admin_set(backend: Backend) {
    let f = Fixture::new(backend, |c| c.max_images_per_project = 2).await;
    let quota = f.images.quota().clone();
    let a = member("project-a");
    let err = quota
        .set_limit(&a, "project-a", Resource::IMAGE_COUNT_TOTAL, 100)
        .await
        .expect_err("members cannot raise their own limit");
    assert!(matches!(err, QuotaError::Forbidden(_)), "{err:?}");
    let err = quota
        .set_limit(&admin(), "project-a", Resource::IMAGE_COUNT_TOTAL, -2)
        .await
        .expect_err("below -1");
    assert!(
        matches!(err, QuotaError::InvalidLimit { limit: -2, .. }),
        "{err:?}"
    );
    let err = quota
        .get_limits(&member("project-b"), "project-a")
        .await
        .expect_err("another project's limits");
    assert!(matches!(err, QuotaError::Forbidden(_)), "{err:?}");

    let limits = quota.get_limits(&a, "project-a").await.expect("limits");
    let count = limits
        .iter()
        .find(|l| l.resource == Resource::IMAGE_COUNT_TOTAL)
        .expect("count limit");
    assert_eq!((count.limit, count.is_default), (2, true));

    quota
        .set_limit(&admin(), "project-a", Resource::IMAGE_COUNT_TOTAL, 3)
        .await
        .expect("set");
    quota
        .set_limit(&admin(), "project-a", Resource::IMAGE_COUNT_TOTAL, 4)
        .await
        .expect("set again (upsert)");
    for i in 0..4 {
        f.images
            .create_image(&a, raw_image(&format!("a{i}")))
            .await
            .expect("within the project's own limit");
    }
    let err = f
        .images
        .create_image(&a, raw_image("a4"))
        .await
        .expect_err("fifth");
    assert_eq!(over_quota(&err).limit, 4);
    // Project b keeps the default.
    let b = member("project-b");
    for i in 0..2 {
        f.images
            .create_image(&b, raw_image(&format!("b{i}")))
            .await
            .expect("default");
    }
    let err = f
        .images
        .create_image(&b, raw_image("b2"))
        .await
        .expect_err("third");
    assert_eq!(over_quota(&err).limit, 2);

    let usage = quota.usage(&a, "project-a").await.expect("usage");
    let count = usage
        .iter()
        .find(|u| u.resource == Resource::IMAGE_COUNT_TOTAL)
        .expect("count usage");
    assert_eq!((count.limit, count.in_use, count.reserved), (4, 4, 0));

    // Back to the default: now over it, so nothing more fits.
    quota
        .delete_limit(&admin(), "project-a", Resource::IMAGE_COUNT_TOTAL)
        .await
        .expect("delete limit");
    let limits = quota.get_limits(&a, "project-a").await.expect("limits");
    assert!(limits
        .iter()
        .any(|l| l.resource == Resource::IMAGE_COUNT_TOTAL && l.is_default && l.limit == 2));
    let err = f
        .images
        .create_image(&a, raw_image("a5"))
        .await
        .expect_err("over the default");
    assert_eq!(over_quota(&err).in_use, 4);
    assert_eq!(
        Resource::parse("image_size_total"),
        Some(Resource::IMAGE_SIZE_TOTAL)
    );
    assert_eq!(Resource::parse("cores"), Some(Resource::CORES));
    assert_eq!(Resource::parse("gigawatts"), None);
    f.finish().await;
}
per_backend!(limits_are_per_project_and_admin_set);

/// Admins' default overrides (Nova's quota class `default`): they apply to
/// every project without its own limit, on every engine sharing the
/// database, and never to a project with its own.
async fn default_overrides_apply_to_projects_without_their_own(backend: Backend) {
    let f = Fixture::new(backend, |c| c.max_images_per_project = 2).await;
    let quota = f.images.quota().clone();
    // Another server's engine on the same database: nothing is cached.
    let other = QuotaService::new(
        f.scratch.db.clone(),
        [
            (Resource::IMAGE_COUNT_TOTAL, 2),
            (Resource::IMAGE_SIZE_TOTAL, 1 << 40),
        ],
    );
    let count_default = |d: Vec<DefaultLimit>| {
        d.into_iter()
            .find(|d| d.resource == Resource::IMAGE_COUNT_TOTAL)
            .expect("count default")
    };
    let count_limit = |l: Vec<Limit>| {
        l.into_iter()
            .find(|l| l.resource == Resource::IMAGE_COUNT_TOTAL)
            .expect("count limit")
    };
    let (a, b) = (member("project-a"), member("project-b"));

    // Only admins change or list the overrides; anyone reads the defaults.
    let err = quota
        .set_default_limit(&b, Resource::IMAGE_COUNT_TOTAL, 50)
        .await
        .expect_err("a member sets a default");
    assert!(matches!(err, QuotaError::Forbidden(_)), "{err:?}");
    let err = quota.default_limits(&b).await.expect_err("a member lists");
    assert!(matches!(err, QuotaError::Forbidden(_)), "{err:?}");
    let d = count_default(quota.defaults(&b).await.expect("defaults"));
    assert_eq!((d.limit, d.configured, d.overridden), (2, 2, false));

    // Invalid values are refused with the engine's error, and a batch with
    // one is written not at all.
    let err = quota
        .set_default_limit(&admin(), Resource::IMAGE_COUNT_TOTAL, -2)
        .await
        .expect_err("below -1");
    assert!(
        matches!(err, QuotaError::InvalidLimit { limit: -2, .. }),
        "{err:?}"
    );
    let err = quota
        .set_default_limits(
            &admin(),
            &[
                (Resource::IMAGE_SIZE_TOTAL, Some(5000)),
                (Resource::IMAGE_COUNT_TOTAL, Some(-7)),
            ],
        )
        .await
        .expect_err("one invalid value");
    assert!(matches!(err, QuotaError::InvalidLimit { .. }), "{err:?}");
    assert!(quota
        .default_limits(&admin())
        .await
        .expect("defaults")
        .iter()
        .all(|d| !d.overridden));

    // Project a has its own limit; b follows the default.
    quota
        .set_limit(&admin(), "project-a", Resource::IMAGE_COUNT_TOTAL, 1)
        .await
        .expect("own limit");
    let set = quota
        .set_default_limit(&admin(), Resource::IMAGE_COUNT_TOTAL, 3)
        .await
        .expect("override");
    assert_eq!((set.limit, set.configured, set.overridden), (3, 2, true));
    let d = count_default(other.default_limits(&admin()).await.expect("other server"));
    assert_eq!((d.limit, d.configured, d.overridden), (3, 2, true));
    let l = count_limit(other.get_limits(&b, "project-b").await.expect("b limits"));
    assert_eq!((l.limit, l.is_default), (3, true));
    let l = count_limit(other.get_limits(&a, "project-a").await.expect("a limits"));
    assert_eq!((l.limit, l.is_default), (1, false));

    for i in 0..3 {
        f.images
            .create_image(&b, raw_image(&format!("b{i}")))
            .await
            .expect("within the new default");
    }
    let err = f
        .images
        .create_image(&b, raw_image("b3"))
        .await
        .expect_err("fourth");
    assert_eq!(over_quota(&err).limit, 3);
    f.images
        .create_image(&a, raw_image("a0"))
        .await
        .expect("a's own limit");
    let err = f
        .images
        .create_image(&a, raw_image("a1"))
        .await
        .expect_err("a's own limit is not the default");
    assert_eq!(over_quota(&err).limit, 1);

    // -1: unlimited by default.
    quota
        .set_default_limit(&admin(), Resource::IMAGE_COUNT_TOTAL, UNLIMITED)
        .await
        .expect("unlimited");
    f.images
        .create_image(&b, raw_image("b3"))
        .await
        .expect("no limit now");
    let u = quota.usage(&b, "project-b").await.expect("usage");
    let u = u
        .iter()
        .find(|u| u.resource == Resource::IMAGE_COUNT_TOTAL)
        .expect("count usage");
    assert_eq!((u.limit, u.in_use), (UNLIMITED, 4));

    // Dropping the override brings the configured default back.
    quota
        .set_default_limits(&admin(), &[(Resource::IMAGE_COUNT_TOTAL, None)])
        .await
        .expect("drop the override");
    let d = count_default(quota.defaults(&a).await.expect("defaults"));
    assert_eq!((d.limit, d.overridden), (2, false));
    let err = f
        .images
        .create_image(&b, raw_image("b4"))
        .await
        .expect_err("over the configured default again");
    assert_eq!(over_quota(&err).limit, 2);

    // A project's batch is all or nothing too, and None resets to the default.
    let err = quota
        .set_limits(
            &admin(),
            "project-b",
            &[
                (Resource::IMAGE_SIZE_TOTAL, Some(10)),
                (Resource::IMAGE_COUNT_TOTAL, Some(-3)),
            ],
        )
        .await
        .expect_err("one invalid value");
    assert!(matches!(err, QuotaError::InvalidLimit { .. }), "{err:?}");
    assert!(quota
        .get_limits(&b, "project-b")
        .await
        .expect("limits")
        .iter()
        .all(|l| l.is_default));
    let err = quota
        .set_limits(&b, "project-b", &[(Resource::IMAGE_COUNT_TOTAL, Some(9))])
        .await
        .expect_err("a member sets its own");
    assert!(matches!(err, QuotaError::Forbidden(_)), "{err:?}");
    quota
        .set_limits(
            &admin(),
            "project-a",
            &[(Resource::IMAGE_COUNT_TOTAL, None)],
        )
        .await
        .expect("reset a");
    let l = count_limit(quota.get_limits(&a, "project-a").await.expect("a limits"));
    assert_eq!((l.limit, l.is_default), (2, true));
    f.finish().await;
}
per_backend!(default_overrides_apply_to_projects_without_their_own);

/// A reservation that nobody commits or releases (its server crashed)
/// stops counting when it expires.
async fn expired_reservations_are_reclaimed(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    let quota = QuotaService::new(f.scratch.db.clone(), [(Resource::IMAGE_SIZE_TOTAL, 100)])
        .with_reservation_ttl(Duration::from_millis(300));
    let mut tx = f.scratch.db.begin_write().await.expect("begin");
    let held = quota
        .reserve(&mut tx, "p", &[(Resource::IMAGE_SIZE_TOTAL, 100)])
        .await
        .expect("reserve all");
    tx.commit().await.expect("commit");
    assert_eq!(held.amount(Resource::IMAGE_SIZE_TOTAL), 100);

    let mut tx = f.scratch.db.begin_write().await.expect("begin");
    let err = quota
        .reserve(&mut tx, "p", &[(Resource::IMAGE_SIZE_TOTAL, 1)])
        .await
        .expect_err("all held");
    match err {
        QuotaError::OverQuota(o) => assert_eq!((o.reserved, o.in_use), (100, 0)),
        other => panic!("{other:?}"),
    }
    drop(tx);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut tx = f.scratch.db.begin_write().await.expect("begin");
    let again = quota
        .reserve(&mut tx, "p", &[(Resource::IMAGE_SIZE_TOTAL, 60)])
        .await
        .expect("the lapsed hold no longer counts");
    quota
        .commit(&mut tx, again, &[(Resource::IMAGE_SIZE_TOTAL, 50)])
        .await
        .expect("commit less than held");
    tx.commit().await.expect("commit");
    assert!(quota.purge_expired().await.expect("purge") >= 1);
    let u = quota
        .standing("p", Resource::IMAGE_SIZE_TOTAL)
        .await
        .expect("standing");
    assert_eq!((u.in_use, u.reserved), (50, 0));

    // A negative request is refused, not counted.
    let mut tx = f.scratch.db.begin_write().await.expect("begin");
    let err = quota
        .consume(&mut tx, "p", &[(Resource::IMAGE_SIZE_TOTAL, -5)])
        .await
        .expect_err("negative");
    assert!(
        matches!(err, QuotaError::InvalidAmount { amount: -5, .. }),
        "{err:?}"
    );
    drop(tx);
    f.finish().await;
}
per_backend!(expired_reservations_are_reclaimed);

// ------------------------------------------------------------ identity

fn identity_cfg() -> IdentityConfig {
    IdentityConfig {
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..IdentityConfig::default()
    }
}

async fn identity(db: &cloud::Db) -> (IdentityService, RequestContext) {
    let svc = IdentityService::new(db.clone(), identity_cfg()).expect("identity");
    svc.bootstrap(&BootstrapRequest {
        admin_user: "admin".into(),
        admin_project: "admin".into(),
        admin_password: "admin-password-1".into(),
    })
    .await
    .expect("bootstrap");
    let admin = svc
        .issue_token(
            AuthMethod::Password {
                user: UserRef::Name {
                    name: "admin".into(),
                    domain: DomainRef::Id("default".into()),
                },
                password: "admin-password-1".into(),
            },
            ScopeRequest::Project(ProjectRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("default".into()),
            }),
        )
        .await
        .expect("admin token")
        .info
        .context();
    (svc, admin)
}

/// Concurrent updates of different fields of one record all survive: each
/// update reads and writes under the row's lock.
async fn concurrent_identity_updates_lose_nothing(backend: Backend) {
    let scratch = ScratchDb::new(backend).await;
    let (svc, admin) = identity(&scratch.db).await;
    let project = svc
        .create_project(
            &admin,
            NewProject {
                name: "p".into(),
                ..Default::default()
            },
        )
        .await
        .expect("project");
    let user = svc
        .create_user(
            &admin,
            NewUser {
                name: "u".into(),
                ..Default::default()
            },
        )
        .await
        .expect("user");
    for round in 0..3 {
        let updates = vec![
            UserUpdate {
                name: Some(format!("u-{round}")),
                ..Default::default()
            },
            UserUpdate {
                email: Some(Some(format!("u{round}@example.org"))),
                ..Default::default()
            },
            UserUpdate {
                description: Some(format!("round {round}")),
                ..Default::default()
            },
            UserUpdate {
                enabled: Some(round % 2 == 1),
                ..Default::default()
            },
            UserUpdate {
                default_project_id: Some(Some(project.id.clone())),
                ..Default::default()
            },
        ];
        let mut tasks = Vec::new();
        for u in updates {
            let svc = svc.clone();
            let admin = admin.clone();
            let id = user.id.clone();
            tasks.push(tokio::spawn(async move {
                svc.update_user(&admin, &id, u).await
            }));
        }
        let pupdates = vec![
            ProjectUpdate {
                name: Some(format!("p-{round}")),
                ..Default::default()
            },
            ProjectUpdate {
                description: Some(format!("round {round}")),
                ..Default::default()
            },
            ProjectUpdate {
                enabled: Some(round % 2 == 1),
                ..Default::default()
            },
        ];
        let mut ptasks = Vec::new();
        for u in pupdates {
            let svc = svc.clone();
            let admin = admin.clone();
            let id = project.id.clone();
            ptasks.push(tokio::spawn(async move {
                svc.update_project(&admin, &id, u).await
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("update user");
        }
        for t in ptasks {
            t.await.expect("task").expect("update project");
        }
        let got = svc.get_user(&admin, &user.id).await.expect("get user");
        assert_eq!(got.name, format!("u-{round}"));
        assert_eq!(got.email, Some(format!("u{round}@example.org")));
        assert_eq!(got.description, format!("round {round}"));
        assert_eq!(got.enabled, round % 2 == 1);
        assert_eq!(got.default_project_id.as_deref(), Some(project.id.as_str()));
        let p = svc
            .get_project(&admin, &project.id)
            .await
            .expect("get project");
        assert_eq!(p.name, format!("p-{round}"));
        assert_eq!(p.description, format!("round {round}"));
        assert_eq!(p.enabled, round % 2 == 1);
    }
    // The lock's read still reports a missing record as not found.
    let err = svc
        .update_user(&admin, "no-such-user", UserUpdate::default())
        .await
        .expect_err("missing");
    assert!(
        matches!(err, IdentityError::NotFound { kind: "user", .. }),
        "{err:?}"
    );
    scratch.finish().await;
}
per_backend!(multi_thread: concurrent_identity_updates_lose_nothing);

// ------------------------------------------------------ project lifecycle

async fn deleting_a_project_deletes_its_images(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    let (svc, admin) = identity(&f.scratch.db).await;
    svc.register_project_lifecycle(Arc::new(f.images.clone()));
    let mk = |name: &str| NewProject {
        name: name.into(),
        ..Default::default()
    };
    let doomed = svc.create_project(&admin, mk("doomed")).await.expect("p");
    let other = svc.create_project(&admin, mk("other")).await.expect("p");
    let d = member(&doomed.id);
    let o = member(&other.id);

    let mut protected = raw_image("protected");
    protected.protected = Some(true);
    let img = f.images.create_image(&d, protected).await.expect("image");
    f.images
        .upload(&d, &img.id, body(&test_data(5000, 1), 1000), Some(5000))
        .await
        .expect("upload");
    // The doomed project is a member of the other project's image.
    let mut shared = raw_image("shared");
    shared.visibility = Some(Visibility::Shared);
    let shared = f.images.create_image(&o, shared).await.expect("shared");
    f.images
        .add_member(&o, &shared.id, &doomed.id)
        .await
        .expect("member");
    f.images
        .quota()
        .set_limit(&admin, &doomed.id, Resource::IMAGE_COUNT_TOTAL, 10)
        .await
        .expect("limit");
    assert_eq!(f.stored_files().len(), 1);

    svc.delete_project(&admin, &doomed.id)
        .await
        .expect("delete project");

    let all = f
        .images
        .list_images(&admin, &ImageFilter::default())
        .await
        .expect("admin list");
    assert_eq!(
        all.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec![shared.id.as_str()]
    );
    assert!(f.stored_files().is_empty(), "{:?}", f.stored_files());
    let members = f
        .images
        .list_members(&o, &shared.id)
        .await
        .expect("members");
    assert!(members.is_empty(), "{members:?}");
    assert!(f
        .images
        .image_project_owners()
        .await
        .expect("owners")
        .iter()
        .all(|p| p != &doomed.id));
    let limits = f
        .images
        .quota()
        .get_limits(&admin, &doomed.id)
        .await
        .expect("limits");
    assert!(limits.iter().all(|l| l.is_default), "{limits:?}");
    // The other project is untouched.
    assert_eq!(
        f.images.usage(&o, &other.id).await.expect("usage").images,
        1
    );
    f.finish().await;
}
per_backend!(deleting_a_project_deletes_its_images);

/// A project deleted while no hook ran (the image service was not
/// registered, as on a server that was down) is cleaned up by the sweep.
async fn the_sweep_cleans_up_after_projects_deleted_unseen(backend: Backend) {
    let f = Fixture::new(backend, |_| {}).await;
    let (svc, admin) = identity(&f.scratch.db).await;
    let gone = svc
        .create_project(
            &admin,
            NewProject {
                name: "gone".into(),
                ..Default::default()
            },
        )
        .await
        .expect("project");
    let g = member(&gone.id);
    let img = f
        .images
        .create_image(&g, raw_image("left behind"))
        .await
        .expect("image");
    f.images
        .upload(&g, &img.id, body(&test_data(3000, 1), 1000), Some(3000))
        .await
        .expect("upload");
    // An image of a project that still exists must survive the sweep.
    let kept = f
        .images
        .create_image(&admin, raw_image("kept"))
        .await
        .expect("admin image");
    svc.delete_project(&admin, &gone.id)
        .await
        .expect("delete project");
    assert_eq!(f.stored_files().len(), 1, "no hook ran yet");

    svc.register_project_lifecycle(Arc::new(f.images.clone()));
    let report = svc.sweep_deleted_projects().await.expect("sweep");
    assert_eq!(report.cleaned, vec![("image", gone.id.clone())]);
    assert_eq!(report.failed, 0);
    assert!(f.stored_files().is_empty());
    let err = f
        .images
        .get_image(&admin, &img.id)
        .await
        .expect_err("swept");
    assert!(matches!(err, ImageError::NotFound(_)), "{err:?}");
    f.images
        .get_image(&admin, &kept.id)
        .await
        .expect("the admin project's image stays");
    // Nothing left: a second sweep does nothing.
    let again = svc.sweep_deleted_projects().await.expect("sweep");
    assert!(again.cleaned.is_empty(), "{again:?}");
    f.finish().await;
}
per_backend!(the_sweep_cleans_up_after_projects_deleted_unseen);
