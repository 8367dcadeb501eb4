//! Server leases and upload ownership, on SQLite and on MariaDB: recovery
//! takes over only the uploads (and staging areas) of dead or unknown
//! servers.

use std::time::Duration;

use cloud::image::*;
use cloud::servers::ServerRegistry;
use cloud::testing::ScratchDb;
use cloud::{per_backend, Backend, RequestContext, Scope};
use sqlx::Row;

fn member() -> RequestContext {
    RequestContext {
        user_id: "u".into(),
        user_name: "u".into(),
        user_domain_id: "default".into(),
        scope: Scope::Project {
            id: "p".into(),
            name: "p".into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        roles: vec!["member".into(), "reader".into()],
        audit_id: "audit".into(),
        app_cred_id: None,
        request_id: cloud::context::new_request_id(),
    }
}

/// An image left `saving` by server `owner` (as a crash would leave it),
/// with a staging file in that server's area.
async fn saving_image(
    svc: &ImageService,
    db: &cloud::Db,
    dir: &std::path::Path,
    owner: &str,
) -> String {
    let image = svc
        .create_image(
            &member(),
            NewImage {
                name: Some(format!("of-{owner}")),
                disk_format: Some(DiskFormat::Raw),
                container_format: Some(ContainerFormat::Bare),
                ..NewImage::default()
            },
        )
        .await
        .expect("create");
    sqlx::query("UPDATE images SET status = 'saving', upload_owner = ? WHERE id = ?")
        .bind(owner)
        .bind(image.id.as_str())
        .execute(&db.pool)
        .await
        .expect("mark saving");
    let area = dir.join("staging").join(owner);
    std::fs::create_dir_all(&area).expect("staging area");
    std::fs::write(area.join(format!("{}.x.part", image.id)), b"partial").expect("write");
    image.id
}

async fn status_and_owner(db: &cloud::Db, id: &str) -> (String, Option<String>) {
    let r = sqlx::query("SELECT status, upload_owner FROM images WHERE id = ?")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("row");
    (
        r.try_get("status").expect("status"),
        r.try_get("upload_owner").expect("owner"),
    )
}

fn areas(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir.join("staging"))
        .expect("staging")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

async fn recovery_takes_over_only_dead_or_unknown_owners(backend: Backend) {
    let scratch = ScratchDb::new(backend).await;
    let db = scratch.db.clone();
    let dir =
        std::env::temp_dir().join(format!("gureum-servers-{}", uuid::Uuid::new_v4().simple()));
    let lease = Duration::from_secs(30);
    let me = ServerRegistry::register(db.clone(), lease)
        .await
        .expect("register me");
    let other = ServerRegistry::register(db.clone(), lease)
        .await
        .expect("register other");
    let cfg = ImageConfig {
        store_dir: dir.display().to_string(),
        ..ImageConfig::default()
    };
    let svc = ImageService::new(db.clone(), cfg)
        .expect("service")
        .owned_by(me.id(), lease);
    assert_eq!(svc.server_id(), me.id());

    let mine = saving_image(&svc, &db, &dir, me.id()).await;
    let others = saving_image(&svc, &db, &dir, other.id()).await;
    let unknown_owner = "0badc0de-0000-4000-8000-000000000000";
    let orphan = saving_image(&svc, &db, &dir, unknown_owner).await;

    // Only the unknown server's upload is taken over while the other lives.
    assert_eq!(svc.recover_interrupted_uploads().await.expect("recover"), 1);
    assert_eq!(
        status_and_owner(&db, &orphan).await,
        ("queued".into(), None)
    );
    assert_eq!(status_and_owner(&db, &mine).await.0, "saving");
    assert_eq!(status_and_owner(&db, &others).await.0, "saving");
    let mut live = vec![me.id().to_string(), other.id().to_string()];
    live.sort();
    assert_eq!(areas(&dir), live);
    assert_eq!(other.live_servers().await.expect("live"), {
        let mut l = live.clone();
        l.sort();
        l
    });

    // The other server falls silent past its lease.
    sqlx::query("UPDATE servers SET heartbeat_at = ? WHERE id = ?")
        .bind(cloud::db::now_micros() - 31_000_000)
        .bind(other.id())
        .execute(&db.pool)
        .await
        .expect("age the heartbeat");
    assert_eq!(svc.recover_interrupted_uploads().await.expect("recover"), 1);
    assert_eq!(
        status_and_owner(&db, &others).await,
        ("queued".into(), None)
    );
    assert_eq!(
        status_and_owner(&db, &mine).await.0,
        "saving",
        "never its own"
    );
    assert_eq!(areas(&dir), vec![me.id().to_string()]);

    // A heartbeat after being taken for dead brings the row back.
    sqlx::query("DELETE FROM servers WHERE id = ?")
        .bind(other.id())
        .execute(&db.pool)
        .await
        .expect("reap");
    other.heartbeat().await.expect("heartbeat");
    assert!(other
        .live_servers()
        .await
        .expect("live")
        .contains(&other.id().to_string()));

    // Shutdown: its own uploads go back to queued, its area goes, its row goes.
    assert_eq!(svc.hand_back_uploads().await.expect("hand back"), 1);
    assert_eq!(status_and_owner(&db, &mine).await, ("queued".into(), None));
    assert!(areas(&dir).is_empty());
    me.deregister().await.expect("deregister");
    let ids: Vec<String> = ServerRegistry::all(&db)
        .await
        .expect("all")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![other.id().to_string()]);
    scratch.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}
per_backend!(recovery_takes_over_only_dead_or_unknown_owners);
