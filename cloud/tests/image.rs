//! Image service behaviour, on SQLite and on MariaDB: data round trips,
//! hostile and broken uploads, limits, and who sees what.

#![allow(clippy::unwrap_used)]

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use cloud::image::*;
use cloud::testing::{test_data, ScratchDb};
use cloud::{per_backend, Backend, RequestContext, Scope, SortDir};
use futures_util::StreamExt;
use md5::Md5;
use sha2::{Digest, Sha512};

struct Fixture {
    scratch: ScratchDb,
    svc: ImageService,
    dir: PathBuf,
}

impl Fixture {
    async fn new(backend: Backend) -> Fixture {
        Fixture::with(backend, |_| {}).await
    }

    async fn with(backend: Backend, tweak: impl FnOnce(&mut ImageConfig)) -> Fixture {
        let scratch = ScratchDb::new(backend).await;
        let dir = std::env::temp_dir().join(format!(
            "gureum-image-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut cfg = ImageConfig {
            store_dir: dir.display().to_string(),
            ..ImageConfig::default()
        };
        tweak(&mut cfg);
        let svc = ImageService::new(scratch.db.clone(), cfg).expect("image service");
        Fixture { scratch, svc, dir }
    }

    /// Files in the store (`images/` and `staging/`).
    fn files(&self) -> Vec<String> {
        cloud::testing::store_files(&self.dir)
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

fn reader(project: &str) -> RequestContext {
    ctx(project, &["reader"])
}

fn admin() -> RequestContext {
    ctx("admin-project", &["admin", "member", "reader"])
}

fn new_image(name: &str, format: DiskFormat, visibility: Visibility) -> NewImage {
    NewImage {
        name: Some(name.into()),
        disk_format: Some(format),
        container_format: Some(ContainerFormat::Bare),
        visibility: Some(visibility),
        ..NewImage::default()
    }
}

/// `bytes` as a body stream of `chunk`-sized pieces.
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

async fn read_all(d: ImageDownload) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut s = d.stream;
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn qcow2_header(virtual_size: u64, backing: bool) -> Vec<u8> {
    // A qcow2 v2 header as qemu-img writes it (the rest of the file zeros).
    let mut h = vec![0u8; 64 * 1024];
    h[0..4].copy_from_slice(b"QFI\xfb");
    h[4..8].copy_from_slice(&2u32.to_be_bytes());
    if backing {
        let name = b"/etc/passwd";
        h[8..16].copy_from_slice(&512u64.to_be_bytes());
        h[16..20].copy_from_slice(&(name.len() as u32).to_be_bytes());
        h[512..512 + name.len()].copy_from_slice(name);
    }
    h[20..24].copy_from_slice(&16u32.to_be_bytes()); // cluster_bits
    h[24..32].copy_from_slice(&virtual_size.to_be_bytes());
    h[36..40].copy_from_slice(&1u32.to_be_bytes()); // l1_size
    h[40..48].copy_from_slice(&(3u64 * 65536).to_be_bytes()); // l1_table_offset
    h[48..56].copy_from_slice(&65536u64.to_be_bytes()); // refcount_table_offset
    h[56..60].copy_from_slice(&1u32.to_be_bytes()); // refcount_table_clusters
    h
}

async fn upload_download_round_trip_is_byte_identical(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("project-a");
    let image = f
        .svc
        .create_image(
            &a,
            new_image("cirros", DiskFormat::Raw, Visibility::Private),
        )
        .await
        .expect("create");
    assert_eq!(image.status, ImageStatus::Queued);
    assert_eq!(image.owner.as_deref(), Some("project-a"));
    // No data yet: a download says so.
    assert!(matches!(
        f.svc.download(&a, &image.id, None).await,
        Err(ImageError::NoData(_))
    ));

    let bytes = test_data(3 * 1024 * 1024 + 517, 7);
    let active = f
        .svc
        .upload(
            &a,
            &image.id,
            body(&bytes, 64 * 1024 + 3),
            Some(bytes.len() as u64),
        )
        .await
        .expect("upload");
    assert_eq!(active.status, ImageStatus::Active, "{backend:?}");
    assert_eq!(active.size, Some(bytes.len() as i64));
    assert_eq!(active.virtual_size, Some(bytes.len() as i64));
    assert_eq!(
        active.checksum.as_deref(),
        Some(hex::encode(Md5::digest(&bytes)).as_str())
    );
    assert_eq!(active.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(
        active.os_hash_value.as_deref(),
        Some(hex::encode(Sha512::digest(&bytes)).as_str())
    );
    assert_eq!(f.files(), vec![format!("images/{}", image.id)]);

    let whole = f.svc.download(&a, &image.id, None).await.expect("download");
    assert!(!whole.partial);
    assert_eq!(whole.len, bytes.len() as u64);
    assert_eq!(read_all(whole).await.expect("read"), bytes);

    let part = f
        .svc
        .download(
            &a,
            &image.id,
            Some(ByteRange::From {
                start: 10,
                end: Some(99),
            }),
        )
        .await
        .expect("range");
    assert!(part.partial);
    assert_eq!(read_all(part).await.expect("read"), bytes[10..100].to_vec());
    let tail = f
        .svc
        .download(&a, &image.id, Some(ByteRange::Suffix(5)))
        .await
        .expect("suffix");
    assert_eq!(
        read_all(tail).await.expect("read"),
        bytes[bytes.len() - 5..].to_vec()
    );
    assert!(matches!(
        f.svc
            .download(
                &a,
                &image.id,
                Some(ByteRange::From {
                    start: bytes.len() as u64,
                    end: None
                })
            )
            .await,
        Err(ImageError::RangeNotSatisfiable { .. })
    ));

    // Data cannot be replaced once active.
    assert!(matches!(
        f.svc.upload(&a, &image.id, body(b"x", 1), None).await,
        Err(ImageError::Conflict(_))
    ));

    // Stored bytes that went bad are caught on the way out.
    let path = f.dir.join("images").join(&image.id);
    let mut damaged = bytes.clone();
    damaged[1000] ^= 0xff;
    std::fs::write(&path, &damaged).expect("damage the file");
    let res = read_all(f.svc.download(&a, &image.id, None).await.expect("open")).await;
    assert!(res.is_err(), "a checksum mismatch must fail the download");

    f.svc.delete_image(&a, &image.id).await.expect("delete");
    assert!(f.files().is_empty(), "{:?}", f.files());
    assert!(matches!(
        f.svc.get_image(&a, &image.id).await,
        Err(ImageError::NotFound(_))
    ));
    f.finish().await;
}
per_backend!(upload_download_round_trip_is_byte_identical);

async fn hostile_and_broken_uploads_leave_the_image_queued_and_no_data(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("project-a");
    let image = f
        .svc
        .create_image(
            &a,
            new_image("sneaky", DiskFormat::Raw, Visibility::Private),
        )
        .await
        .expect("create");

    // A qcow2 declared raw: the classic way to make a host read its files.
    let qcow = qcow2_header(1 << 30, true);
    let err = f
        .svc
        .upload(&a, &image.id, body(&qcow, 4096), None)
        .await
        .expect_err("qcow2 as raw must be refused");
    assert!(matches!(err, ImageError::Format(_)), "{err:?}");
    assert!(err.to_string().contains("qcow2"), "{err}");
    let after = f.svc.get_image(&a, &image.id).await.expect("get");
    assert_eq!(after.status, ImageStatus::Queued);
    assert_eq!(after.size, None);
    assert!(f.files().is_empty(), "{:?}", f.files());

    // A qcow2 that names a backing file is refused even when declared qcow2.
    let q = f
        .svc
        .create_image(
            &a,
            new_image("backed", DiskFormat::Qcow2, Visibility::Private),
        )
        .await
        .expect("create");
    let err = f
        .svc
        .upload(&a, &q.id, body(&qcow, 1000), None)
        .await
        .expect_err("backing file must be refused");
    assert!(matches!(err, ImageError::Format(_)), "{err:?}");
    assert!(f.files().is_empty(), "{:?}", f.files());

    // A clean qcow2 declared qcow2 is fine and records its virtual size.
    let ok = f
        .svc
        .upload(&a, &q.id, body(&qcow2_header(1 << 30, false), 1000), None)
        .await
        .expect("clean qcow2");
    assert_eq!(ok.status, ImageStatus::Active);
    assert_eq!(ok.virtual_size, Some(1 << 30));
    assert_eq!(ok.size, Some(64 * 1024));

    // The client's stream breaks off midway.
    let mut chunks: Vec<io::Result<Bytes>> = vec![Ok(Bytes::from(test_data(100_000, 1)))];
    chunks.push(Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection reset",
    )));
    let err = f
        .svc
        .upload(&a, &image.id, futures_util::stream::iter(chunks), None)
        .await
        .expect_err("broken stream");
    assert!(matches!(err, ImageError::UploadInterrupted(_)), "{err:?}");
    assert_eq!(
        f.svc.get_image(&a, &image.id).await.expect("get").status,
        ImageStatus::Queued
    );

    // Fewer bytes than the declared length is an interrupted upload too.
    let err = f
        .svc
        .upload(&a, &image.id, body(&test_data(1000, 2), 100), Some(5000))
        .await
        .expect_err("short body");
    assert!(matches!(err, ImageError::UploadInterrupted(_)), "{err:?}");
    assert_eq!(
        f.files(),
        vec![format!("images/{}", q.id)],
        "only the good qcow2 has data"
    );

    // The request handler is dropped (client hung up) while the body is
    // still arriving: the transfer task cleans up on its own.
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    let stream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let svc = f.svc.clone();
    let id = image.id.clone();
    let a2 = a.clone();
    let handler = tokio::spawn(async move { svc.upload(&a2, &id, stream, None).await });
    tx.send(Ok(Bytes::from(test_data(50_000, 3))))
        .await
        .expect("send");
    let mut saw_saving = false;
    for _ in 0..100 {
        if f.svc.get_image(&a, &image.id).await.expect("get").status == ImageStatus::Saving {
            saw_saving = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(saw_saving, "the image is saving while data arrives");
    // A second upload meanwhile is refused.
    assert!(matches!(
        f.svc.upload(&a, &image.id, body(b"x", 1), None).await,
        Err(ImageError::Conflict(_))
    ));
    handler.abort();
    let _ = handler.await;
    tx.send(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "hang-up")))
        .await
        .expect("send");
    let mut status = ImageStatus::Saving;
    for _ in 0..100 {
        status = f.svc.get_image(&a, &image.id).await.expect("get").status;
        if status == ImageStatus::Queued && f.files().len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, ImageStatus::Queued);
    assert_eq!(f.files(), vec![format!("images/{}", q.id)]);

    // A server that stopped mid-upload: recovery resets and cleans.
    std::fs::write(f.dir.join("staging").join("left-over.part"), b"junk").expect("write");
    f.svc.recover_interrupted_uploads().await.expect("recover");
    assert_eq!(f.files(), vec![format!("images/{}", q.id)]);
    f.finish().await;
}
per_backend!(hostile_and_broken_uploads_leave_the_image_queued_and_no_data);

async fn limits_refuse_before_storing(backend: Backend) {
    let f = Fixture::with(backend, |c| {
        c.max_image_size = 10_000;
        c.max_images_per_project = 3;
        c.max_bytes_per_project = 15_000;
    })
    .await;
    let a = member("project-a");
    let one = f
        .svc
        .create_image(&a, new_image("one", DiskFormat::Raw, Visibility::Private))
        .await
        .expect("create");
    // Declared too large: refused before a byte is read.
    let err = f
        .svc
        .upload(&a, &one.id, body(&test_data(20_000, 1), 1000), Some(20_000))
        .await
        .expect_err("too large");
    assert!(matches!(err, ImageError::LimitExceeded(_)), "{err:?}");
    assert!(err.to_string().contains("10000"), "{err}");
    // Undeclared (chunked) and too large: stopped as it streams.
    let err = f
        .svc
        .upload(&a, &one.id, body(&test_data(20_000, 1), 1000), None)
        .await
        .expect_err("too large");
    assert!(matches!(err, ImageError::LimitExceeded(_)), "{err:?}");
    assert!(f.files().is_empty(), "{:?}", f.files());
    assert_eq!(
        f.svc.get_image(&a, &one.id).await.expect("get").status,
        ImageStatus::Queued
    );
    // The project's bytes: 9,000 stored, 9,000 more would pass 15,000.
    f.svc
        .upload(&a, &one.id, body(&test_data(9_000, 1), 1000), Some(9_000))
        .await
        .expect("fits");
    let two = f
        .svc
        .create_image(&a, new_image("two", DiskFormat::Raw, Visibility::Private))
        .await
        .expect("create");
    let err = f
        .svc
        .upload(&a, &two.id, body(&test_data(9_000, 2), 1000), Some(9_000))
        .await
        .expect_err("over the project's bytes");
    assert!(err.to_string().contains("15000"), "{err}");
    match &err {
        ImageError::OverQuota(o) => {
            assert_eq!(o.resource, cloud::quota::Resource::IMAGE_SIZE_TOTAL);
            assert_eq!((o.limit, o.in_use, o.requested), (15_000, 9_000, 9_000));
        }
        other => panic!("expected OverQuota, got {other:?}"),
    }
    let usage = f.svc.usage(&a, "project-a").await.expect("usage");
    assert_eq!((usage.images, usage.bytes), (2, 9_000));
    let err = f
        .svc
        .usage(&member("project-b"), "project-a")
        .await
        .expect_err("another project's usage");
    assert!(matches!(err, ImageError::Forbidden(_)), "{err:?}");
    // The project's image count.
    f.svc
        .create_image(&a, new_image("three", DiskFormat::Raw, Visibility::Private))
        .await
        .expect("third");
    let err = f
        .svc
        .create_image(&a, new_image("four", DiskFormat::Raw, Visibility::Private))
        .await
        .expect_err("fourth");
    assert!(
        matches!(&err, ImageError::OverQuota(o) if o.resource == cloud::quota::Resource::IMAGE_COUNT_TOTAL && o.limit == 3),
        "{err:?}"
    );
    // Another project has its own allowance.
    f.svc
        .create_image(
            &member("project-b"),
            new_image("b", DiskFormat::Raw, Visibility::Private),
        )
        .await
        .expect("project b");
    f.finish().await;
}
per_backend!(limits_refuse_before_storing);

async fn names(svc: &ImageService, ctx: &RequestContext, f: ImageFilter) -> Vec<String> {
    let mut v: Vec<String> = svc
        .list_images(ctx, &f)
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|i| i.name)
        .collect();
    v.sort();
    v
}

async fn visibility_and_membership_across_projects_and_roles(backend: Backend) {
    let f = Fixture::new(backend).await;
    let svc = &f.svc;
    let (a, b, c) = (member("a"), member("b"), member("c"));
    let a_reader = reader("a");
    let adm = admin();

    let private = svc
        .create_image(
            &a,
            new_image("a-private", DiskFormat::Raw, Visibility::Private),
        )
        .await
        .expect("private");
    let shared = svc
        .create_image(
            &a,
            new_image("a-shared", DiskFormat::Raw, Visibility::Shared),
        )
        .await
        .expect("shared");
    let community = svc
        .create_image(
            &a,
            new_image("a-community", DiskFormat::Raw, Visibility::Community),
        )
        .await
        .expect("community");
    let public = svc
        .create_image(
            &adm,
            new_image("public", DiskFormat::Raw, Visibility::Public),
        )
        .await
        .expect("admin publishes");
    svc.upload(&a, &private.id, body(&test_data(1000, 1), 100), None)
        .await
        .expect("upload");

    // Only admins publish.
    let err = svc
        .create_image(&a, new_image("nope", DiskFormat::Raw, Visibility::Public))
        .await
        .expect_err("member cannot publish");
    assert!(matches!(err, ImageError::Forbidden(_)));
    let err = svc
        .update_image(
            &a,
            &private.id,
            ImageUpdate {
                visibility: Some(Visibility::Public),
                ..ImageUpdate::default()
            },
        )
        .await
        .expect_err("member cannot publish");
    assert!(matches!(err, ImageError::Forbidden(_)));

    // Readers read, never write.
    assert!(matches!(
        svc.create_image(
            &a_reader,
            new_image("r", DiskFormat::Raw, Visibility::Private)
        )
        .await,
        Err(ImageError::Forbidden(_))
    ));
    assert!(svc.get_image(&a_reader, &private.id).await.is_ok());
    assert!(read_all(
        svc.download(&a_reader, &private.id, None)
            .await
            .expect("dl")
    )
    .await
    .is_ok());
    assert!(matches!(
        svc.delete_image(&a_reader, &private.id).await,
        Err(ImageError::Forbidden(_))
    ));

    // Defaults: own + public (+ accepted shared); community only on request.
    assert_eq!(
        names(svc, &a, ImageFilter::default()).await,
        vec!["a-community", "a-private", "a-shared", "public"]
    );
    assert_eq!(names(svc, &b, ImageFilter::default()).await, vec!["public"]);
    assert_eq!(
        names(
            svc,
            &b,
            ImageFilter {
                visibility: Some(VisibilityFilter::Community),
                ..ImageFilter::default()
            }
        )
        .await,
        vec!["a-community"]
    );
    assert!(svc.get_image(&b, &community.id).await.is_ok());
    for id in [&private.id, &shared.id] {
        assert!(matches!(
            svc.get_image(&b, id).await,
            Err(ImageError::NotFound(_))
        ));
    }
    assert!(matches!(
        svc.download(&b, &private.id, None).await,
        Err(ImageError::NotFound(_))
    ));
    assert!(matches!(
        svc.update_image(&b, &community.id, ImageUpdate::default())
            .await,
        Err(ImageError::Forbidden(_))
    ));
    // Admins see every project's images (Glance's admin view; community
    // ones on request) unless they ask not to.
    assert_eq!(
        names(svc, &adm, ImageFilter::default()).await,
        vec!["a-private", "a-shared", "public"]
    );
    assert_eq!(
        names(
            svc,
            &adm,
            ImageFilter {
                visibility: Some(VisibilityFilter::All),
                ..ImageFilter::default()
            }
        )
        .await,
        vec!["a-community", "a-private", "a-shared", "public"]
    );
    assert_eq!(
        names(
            svc,
            &adm,
            ImageFilter {
                admin_all: Some(false),
                ..ImageFilter::default()
            }
        )
        .await,
        vec!["public"]
    );

    // Sharing: only shared images have members; only the owner adds them.
    assert!(matches!(
        svc.add_member(&a, &private.id, "b").await,
        Err(ImageError::Forbidden(_))
    ));
    let m = svc.add_member(&a, &shared.id, "b").await.expect("share");
    assert_eq!(m.status, MemberStatus::Pending);
    assert!(matches!(
        svc.add_member(&a, &shared.id, "b").await,
        Err(ImageError::Conflict(_))
    ));
    // Pending: B can look at it but it is not in B's default list.
    assert!(svc.get_image(&b, &shared.id).await.is_ok());
    assert_eq!(names(svc, &b, ImageFilter::default()).await, vec!["public"]);
    assert_eq!(
        names(
            svc,
            &b,
            ImageFilter {
                visibility: Some(VisibilityFilter::Shared),
                member_status: Some(MemberStatusFilter::Pending),
                ..ImageFilter::default()
            }
        )
        .await,
        vec!["a-shared"]
    );
    // B cannot share A's image on; the owner cannot answer for B; C sees nothing.
    assert!(matches!(
        svc.add_member(&b, &shared.id, "c").await,
        Err(ImageError::Forbidden(_))
    ));
    assert!(matches!(
        svc.update_member(&a, &shared.id, "b", MemberStatus::Accepted)
            .await,
        Err(ImageError::Forbidden(_))
    ));
    assert!(matches!(
        svc.get_image(&c, &shared.id).await,
        Err(ImageError::NotFound(_))
    ));
    // B accepts: now listed; B sees only its own membership.
    svc.update_member(&b, &shared.id, "b", MemberStatus::Accepted)
        .await
        .expect("accept");
    assert_eq!(
        names(svc, &b, ImageFilter::default()).await,
        vec!["a-shared", "public"]
    );
    svc.add_member(&a, &shared.id, "c").await.expect("share c");
    assert_eq!(
        svc.list_members(&a, &shared.id).await.expect("list").len(),
        2
    );
    let mine = svc.list_members(&b, &shared.id).await.expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].member_id, "b");
    assert_eq!(mine[0].status, MemberStatus::Accepted);
    assert!(svc.get_member(&b, &shared.id, "c").await.is_err());
    // B rejects: gone from the default list, still reachable by id.
    svc.update_member(&b, &shared.id, "b", MemberStatus::Rejected)
        .await
        .expect("reject");
    assert_eq!(names(svc, &b, ImageFilter::default()).await, vec!["public"]);
    // Removing the member ends B's access.
    assert!(matches!(
        svc.remove_member(&b, &shared.id, "b").await,
        Err(ImageError::Forbidden(_))
    ));
    svc.remove_member(&a, &shared.id, "b")
        .await
        .expect("remove");
    assert!(matches!(
        svc.get_image(&b, &shared.id).await,
        Err(ImageError::NotFound(_))
    ));

    // Protected images cannot be deleted until unprotected.
    svc.update_image(
        &a,
        &private.id,
        ImageUpdate {
            protected: Some(true),
            ..ImageUpdate::default()
        },
    )
    .await
    .expect("protect");
    assert!(matches!(
        svc.delete_image(&a, &private.id).await,
        Err(ImageError::Forbidden(_))
    ));

    // Deactivation: the owner project's members and admins (Glance's
    // default); then only admins download.
    assert!(matches!(
        svc.deactivate_image(&b, &private.id).await,
        Err(ImageError::NotFound(_))
    ));
    let d = svc
        .deactivate_image(&a, &private.id)
        .await
        .expect("deactivate");
    assert_eq!(d.status, ImageStatus::Deactivated);
    assert!(matches!(
        svc.download(&a, &private.id, None).await,
        Err(ImageError::Forbidden(_))
    ));
    assert!(svc.download(&adm, &private.id, None).await.is_ok());
    assert!(
        matches!(
            svc.deactivate_image(&adm, &public.id).await,
            Err(ImageError::Forbidden(_))
        ),
        "a queued image cannot be deactivated"
    );
    let r = svc
        .reactivate_image(&adm, &private.id)
        .await
        .expect("reactivate");
    assert_eq!(r.status, ImageStatus::Active);
    assert!(svc.download(&a, &private.id, None).await.is_ok());
    f.finish().await;
}
per_backend!(visibility_and_membership_across_projects_and_roles);

async fn list_filters_sorting_and_marker_paging(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("a");
    for (i, name) in [
        "delta", "alpha", "echo", "bravo", "golf", "charlie", "foxtrot",
    ]
    .iter()
    .enumerate()
    {
        let mut n = new_image(
            name,
            if i % 2 == 0 {
                DiskFormat::Qcow2
            } else {
                DiskFormat::Raw
            },
            Visibility::Private,
        );
        n.min_disk = Some(i as i64);
        if i < 3 {
            n.tags = vec!["small".into(), "tagged".into()];
        }
        n.properties.insert(
            "os_distro".into(),
            if i % 2 == 0 { "ubuntu" } else { "cirros" }.into(),
        );
        f.svc.create_image(&a, n).await.expect("create");
    }
    // Keyset pages by name follow each other without gaps or repeats.
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = f
            .svc
            .list_images(
                &a,
                &ImageFilter {
                    sort: vec![(ImageSortKey::Name, SortDir::Asc)],
                    limit: Some(3),
                    marker: marker.clone(),
                    ..ImageFilter::default()
                },
            )
            .await
            .expect("page");
        assert_eq!(page.total, 7);
        if page.items.is_empty() {
            break;
        }
        marker = page.items.last().map(|i| i.id.clone());
        seen.extend(page.items.into_iter().filter_map(|i| i.name));
    }
    assert_eq!(
        seen,
        vec!["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
    );
    // Two sort keys, descending, with a marker in the middle.
    let all = f
        .svc
        .list_images(
            &a,
            &ImageFilter {
                sort: vec![
                    (ImageSortKey::DiskFormat, SortDir::Desc),
                    (ImageSortKey::MinDisk, SortDir::Desc),
                ],
                ..ImageFilter::default()
            },
        )
        .await
        .expect("list")
        .items;
    let order: Vec<String> = all.iter().filter_map(|i| i.name.clone()).collect();
    assert_eq!(
        order,
        vec!["charlie", "bravo", "alpha", "foxtrot", "golf", "echo", "delta"]
    );
    let after = f
        .svc
        .list_images(
            &a,
            &ImageFilter {
                sort: vec![
                    (ImageSortKey::DiskFormat, SortDir::Desc),
                    (ImageSortKey::MinDisk, SortDir::Desc),
                ],
                marker: Some(all[2].id.clone()),
                ..ImageFilter::default()
            },
        )
        .await
        .expect("list")
        .items;
    let rest: Vec<String> = after.iter().filter_map(|i| i.name.clone()).collect();
    assert_eq!(rest, order[3..].to_vec());
    // Offset paging (the portal) and search.
    let page = f
        .svc
        .list_images(
            &a,
            &ImageFilter {
                sort: vec![(ImageSortKey::Name, SortDir::Asc)],
                offset: Some(5),
                limit: Some(50),
                ..ImageFilter::default()
            },
        )
        .await
        .expect("offset");
    assert_eq!(page.items.len(), 2);
    let q = |query: &str| ImageFilter {
        query: Some(query.into()),
        ..ImageFilter::default()
    };
    assert_eq!(names(&f.svc, &a, q("ha")).await, vec!["alpha", "charlie"]);
    assert_eq!(names(&f.svc, &a, q("%")).await, Vec::<String>::new());
    // Tags, properties, formats.
    assert_eq!(
        names(
            &f.svc,
            &a,
            ImageFilter {
                tags: vec!["small".into(), "tagged".into()],
                ..ImageFilter::default()
            }
        )
        .await,
        vec!["alpha", "delta", "echo"]
    );
    assert_eq!(
        names(
            &f.svc,
            &a,
            ImageFilter {
                properties: vec![("os_distro".into(), "cirros".into())],
                disk_format: Some(DiskFormat::Raw),
                ..ImageFilter::default()
            }
        )
        .await,
        vec!["alpha", "bravo", "charlie"]
    );
    assert!(matches!(
        f.svc
            .list_images(
                &a,
                &ImageFilter {
                    marker: Some(uuid::Uuid::new_v4().to_string()),
                    ..ImageFilter::default()
                }
            )
            .await,
        Err(ImageError::Validation(_))
    ));
    f.finish().await;
}
per_backend!(list_filters_sorting_and_marker_paging);

async fn updates_tags_and_properties(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("a");
    let mut n = new_image("base", DiskFormat::Raw, Visibility::Private);
    n.properties.insert("os_distro".into(), "cirros".into());
    n.tags = vec!["b".into(), "a".into(), "a".into()];
    let image = f.svc.create_image(&a, n).await.expect("create");
    assert_eq!(image.tags, vec!["a", "b"]);
    // Reserved names are not properties.
    let mut bad = new_image("bad", DiskFormat::Raw, Visibility::Private);
    bad.properties.insert("status".into(), "active".into());
    assert!(matches!(
        f.svc.create_image(&a, bad).await,
        Err(ImageError::Forbidden(_))
    ));
    let mut set = std::collections::BTreeMap::new();
    set.insert("hw_disk_bus".to_string(), "virtio".to_string());
    let u = f
        .svc
        .update_image(
            &a,
            &image.id,
            ImageUpdate {
                name: Some(Some("renamed".into())),
                min_ram: Some(512),
                tags: Some(vec!["z".into()]),
                set_properties: set,
                remove_properties: vec!["os_distro".into()],
                disk_format: Some(DiskFormat::Qcow2),
                ..ImageUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(u.name.as_deref(), Some("renamed"));
    assert_eq!(u.min_ram, 512);
    assert_eq!(u.tags, vec!["z"]);
    assert_eq!(u.disk_format, Some(DiskFormat::Qcow2));
    assert_eq!(
        u.properties.into_iter().collect::<Vec<_>>(),
        vec![("hw_disk_bus".to_string(), "virtio".to_string())]
    );
    assert!(matches!(
        f.svc
            .update_image(
                &a,
                &image.id,
                ImageUpdate {
                    remove_properties: vec!["missing".into()],
                    ..ImageUpdate::default()
                }
            )
            .await,
        Err(ImageError::Conflict(_))
    ));
    assert!(matches!(
        f.svc
            .update_image(
                &a,
                &image.id,
                ImageUpdate {
                    min_disk: Some(-1),
                    ..ImageUpdate::default()
                }
            )
            .await,
        Err(ImageError::Validation(_))
    ));
    f.svc.add_tag(&a, &image.id, "new").await.expect("tag");
    f.svc
        .add_tag(&a, &image.id, "new")
        .await
        .expect("tag again");
    f.svc.remove_tag(&a, &image.id, "z").await.expect("untag");
    assert!(f.svc.remove_tag(&a, &image.id, "z").await.is_err());
    let got = f.svc.get_image(&a, &image.id).await.expect("get");
    assert_eq!(got.tags, vec!["new"]);
    // Formats are fixed once data is in.
    let qcow = f
        .svc
        .upload(
            &a,
            &image.id,
            body(&qcow2_header(1 << 20, false), 4096),
            None,
        )
        .await
        .expect("upload");
    assert_eq!(qcow.status, ImageStatus::Active);
    assert!(matches!(
        f.svc
            .update_image(
                &a,
                &image.id,
                ImageUpdate {
                    disk_format: Some(DiskFormat::Raw),
                    ..ImageUpdate::default()
                }
            )
            .await,
        Err(ImageError::Forbidden(_))
    ));
    // A caller-chosen id works once.
    let id = uuid::Uuid::new_v4().to_string();
    let mut n = new_image("fixed", DiskFormat::Raw, Visibility::Private);
    n.id = Some(id.clone());
    assert_eq!(
        f.svc.create_image(&a, n.clone()).await.expect("create").id,
        id
    );
    assert!(matches!(
        f.svc.create_image(&a, n).await,
        Err(ImageError::Conflict(_))
    ));
    // An id that is no UUID names nothing.
    assert!(matches!(
        f.svc.get_image(&a, "../../etc/passwd").await,
        Err(ImageError::NotFound(_))
    ));
    f.finish().await;
}
per_backend!(updates_tags_and_properties);

/// Another project's private image is no marker (Glance: 400): paging must
/// not tell that it exists, let alone where it sorts.
async fn a_marker_must_be_an_image_the_caller_sees(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (a, b) = (member("project-a"), member("project-b"));
    let secret = f
        .svc
        .create_image(
            &a,
            new_image("a-private", DiskFormat::Raw, Visibility::Private),
        )
        .await
        .expect("create");
    let own = f
        .svc
        .create_image(&b, new_image("b-own", DiskFormat::Raw, Visibility::Private))
        .await
        .expect("create");
    let list = |ctx: RequestContext, marker: String| {
        let svc = f.svc.clone();
        async move {
            svc.list_images(
                &ctx,
                &ImageFilter {
                    marker: Some(marker),
                    ..ImageFilter::default()
                },
            )
            .await
        }
    };
    assert!(matches!(
        list(b.clone(), secret.id.clone()).await,
        Err(ImageError::Validation(_))
    ));
    // The owner, and an admin, may page after it; B after its own image.
    list(a.clone(), secret.id.clone()).await.expect("owner");
    list(admin(), secret.id.clone()).await.expect("admin");
    list(b.clone(), own.id.clone()).await.expect("own marker");
    f.finish().await;
}
per_backend!(a_marker_must_be_an_image_the_caller_sees);

/// Names, tags and property names hold no control characters; a search
/// longer than any name is refused clearly. Nothing is stored.
async fn control_characters_and_long_searches_are_refused(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("project-a");
    for name in ["nul\0", "\u{1b}[31mred"] {
        assert!(matches!(
            f.svc
                .create_image(&a, new_image(name, DiskFormat::Raw, Visibility::Private))
                .await,
            Err(ImageError::Validation(_))
        ));
    }
    let tagged = NewImage {
        tags: vec!["ok".into(), "bad\0tag".into()],
        ..new_image("tagged", DiskFormat::Raw, Visibility::Private)
    };
    assert!(matches!(
        f.svc.create_image(&a, tagged).await,
        Err(ImageError::Validation(_))
    ));
    let listed = f
        .svc
        .list_images(&a, &ImageFilter::default())
        .await
        .expect("list");
    assert_eq!(listed.total, 0, "nothing was stored");
    assert!(matches!(
        f.svc
            .list_images(
                &a,
                &ImageFilter {
                    query: Some("x".repeat(60_000)),
                    ..ImageFilter::default()
                }
            )
            .await,
        Err(ImageError::Validation(_))
    ));
    f.finish().await;
}
per_backend!(control_characters_and_long_searches_are_refused);

/// The rules the REST adapter used to keep to itself hold for every caller
/// (the portal calls the service directly): Glance's reserved names and
/// the owner rule.
async fn reserved_names_and_owner_rules_hold_for_every_caller(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("project-a");
    for key in [
        "os_glance_import_task",
        "os_glance_x",
        "locations",
        "deleted",
    ] {
        let mut new = new_image("r", DiskFormat::Raw, Visibility::Private);
        new.properties.insert(key.into(), "x".into());
        let res = f.svc.create_image(&a, new).await;
        assert!(
            matches!(&res, Err(ImageError::Forbidden(m)) if m.text.contains("reserved")),
            "{key}: {res:?}"
        );
    }
    let image = f
        .svc
        .create_image(&a, new_image("r", DiskFormat::Raw, Visibility::Private))
        .await
        .unwrap();
    // The portal's edit dialog sends properties as set_properties.
    let mut u = ImageUpdate::default();
    u.set_properties
        .insert("os_glance_import_task".into(), "x".into());
    let res = f.svc.update_image(&a, &image.id, u).await;
    assert!(
        matches!(&res, Err(ImageError::Forbidden(m)) if m.text.contains("reserved")),
        "{res:?}"
    );
    assert!(f
        .svc
        .get_image(&a, &image.id)
        .await
        .unwrap()
        .properties
        .is_empty());

    // Owners: only the token's own project, on create and on update.
    let mut new = new_image("o", DiskFormat::Raw, Visibility::Private);
    new.owner = Some(Some("project-b".into()));
    let res = f.svc.create_image(&a, new).await;
    assert!(
        matches!(&res, Err(ImageError::Forbidden(m)) if m.text.contains("owned by another project")),
        "{res:?}"
    );
    // An admin may give an image to another project (Glance's default).
    let mut new = new_image("o", DiskFormat::Raw, Visibility::Private);
    new.owner = Some(Some("project-b".into()));
    let res = f.svc.create_image(&admin(), new).await;
    assert_eq!(res.unwrap().owner.as_deref(), Some("project-b"));
    let mut new = new_image("o", DiskFormat::Raw, Visibility::Private);
    new.owner = Some(Some("project-a".into()));
    assert_eq!(
        f.svc.create_image(&a, new).await.unwrap().owner.as_deref(),
        Some("project-a")
    );
    let res = f
        .svc
        .update_image(
            &a,
            &image.id,
            ImageUpdate {
                owner: Some(Some("project-b".into())),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(&res, Err(ImageError::Forbidden(m)) if m.text.contains("non admin")),
        "{res:?}"
    );
    // Naming the current owner changes nothing and is allowed.
    f.svc
        .update_image(
            &a,
            &image.id,
            ImageUpdate {
                owner: Some(Some("project-a".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A non-member is refused by rule name.
    let res = f
        .svc
        .create_image(
            &reader("project-a"),
            new_image("n", DiskFormat::Raw, Visibility::Private),
        )
        .await;
    assert!(
        matches!(&res, Err(ImageError::Forbidden(m)) if m.text.contains("image:add_image")),
        "{res:?}"
    );
    f.finish().await;
}
per_backend!(reserved_names_and_owner_rules_hold_for_every_caller);

/// Capabilities say what the service then allows or refuses.
async fn capabilities_match_what_the_service_allows(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a = member("project-a");
    let mut new = new_image("c", DiskFormat::Raw, Visibility::Shared);
    new.protected = Some(true);
    let image = f.svc.create_image(&a, new).await.unwrap();

    let owner = f.svc.capabilities(&a, &image);
    assert!(owner.edit && owner.upload && owner.share && owner.see_members);
    assert!(!owner.delete, "protected");
    assert!(!owner.download, "no data yet");
    assert!(!owner.publicize && !owner.deactivate && !owner.answer_share);
    assert!(matches!(
        f.svc.delete_image(&a, &image.id).await,
        Err(ImageError::Forbidden(_))
    ));

    let r = reader("project-a");
    let as_reader = f.svc.capabilities(&r, &image);
    assert_eq!(
        (as_reader.edit, as_reader.upload, as_reader.delete),
        (false, false, false)
    );
    assert!(matches!(
        f.svc
            .update_image(&r, &image.id, ImageUpdate::default())
            .await,
        Err(ImageError::Forbidden(m)) if m.text.contains("image:modify_image")
    ));

    f.svc.add_member(&a, &image.id, "project-b").await.unwrap();
    let b = member("project-b");
    let seen = f.svc.get_image(&b, &image.id).await.unwrap();
    let as_member = f.svc.capabilities(&b, &seen);
    assert!(as_member.answer_share && !as_member.edit && !as_member.share);
    assert!(!as_member.see_members);

    let bytes = test_data(4096, 3);
    let active = f
        .svc
        .upload(&a, &image.id, body(&bytes, 1024), None)
        .await
        .unwrap();
    let after = f.svc.capabilities(&a, &active);
    // The owner project's member may deactivate (Glance's default).
    assert!(after.download && !after.upload && after.deactivate);
    let adm = f.svc.capabilities(&admin(), &active);
    assert!(adm.deactivate && adm.publicize && adm.edit && !adm.reactivate);
    let off = f.svc.deactivate_image(&admin(), &active.id).await.unwrap();
    assert!(!f.svc.capabilities(&a, &off).download);
    assert!(matches!(
        f.svc.download(&a, &off.id, None).await,
        Err(ImageError::Forbidden(_))
    ));
    let adm = f.svc.capabilities(&admin(), &off);
    assert!(adm.download && adm.reactivate && !adm.deactivate);
    f.finish().await;
}
per_backend!(capabilities_match_what_the_service_allows);
