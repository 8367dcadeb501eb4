//! Two servers on one MariaDB and one RabbitMQ: a token revoked on one is
//! refused by the other at once, although the other had it cached (the
//! revocation broadcast on the bus; without it the cache would serve it for
//! `token_cache_secs`, set to ten minutes here).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cloud::identity::{AuthMethod, BootstrapRequest, DomainRef, ProjectRef, ScopeRequest, UserRef};
use cloud::testing::ScratchDb;
use cloud::Backend;
use gureum_server::supervisor::Supervisor;
use gureum_server::AppState;

async fn server(scratch: &ScratchDb, prefix: &str) -> (AppState, Supervisor) {
    let mut cfg = common::test_config();
    cfg.database_url = scratch.url.clone();
    cfg.bus.url = std::env::var("GUREUM_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    cfg.bus.prefix = prefix.into();
    cfg.bus.embedded_agent = false;
    cfg.identity.token_cache_secs = 600;
    let dir = std::env::temp_dir().join(format!(
        "gureum-test-bcast-{}",
        uuid::Uuid::new_v4().simple()
    ));
    cfg.image.store_dir = dir.join("images").display().to_string();
    cfg.identity.credential_key_file = dir.join("keys").display().to_string();
    let state = AppState::new(cfg)
        .await
        .expect("RabbitMQ and MariaDB are required for this test");
    let built = gureum_server::build(state.clone()).await.unwrap();
    let mut sup = Supervisor::new(tokio_util::sync::CancellationToken::new());
    for w in built.workers {
        if w.name.starts_with("identity-revocations") {
            sup.spawn(w);
        }
    }
    (state, sup)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_server_is_refused_by_the_other_at_once() {
    let scratch = ScratchDb::new(Backend::MySql).await;
    let prefix = format!("bcast-{}.", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (a, sup_a) = server(&scratch, &prefix).await;
    let (b, sup_b) = server(&scratch, &prefix).await;
    a.identity
        .bootstrap(&BootstrapRequest {
            admin_user: "admin".into(),
            admin_project: "admin".into(),
            admin_password: common::ADMIN_PASSWORD.into(),
        })
        .await
        .unwrap();
    // Let both subscriptions settle before the first broadcast.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let issued = a
        .identity
        .issue_token(
            AuthMethod::Password {
                user: UserRef::Name {
                    name: "admin".into(),
                    domain: DomainRef::Id("default".into()),
                },
                password: common::ADMIN_PASSWORD.into(),
            },
            ScopeRequest::Project(ProjectRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("default".into()),
            }),
        )
        .await
        .unwrap();
    let token = issued.id.expose().to_string();
    // B validates (and caches) it.
    b.identity.validate_token(&token).await.unwrap();
    a.identity.revoke_token(&issued.info, &token).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.identity.validate_token(&token).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "server B still accepts the revoked token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sup_a.shutdown(Duration::from_secs(2)).await;
    sup_b.shutdown(Duration::from_secs(2)).await;
    a.db.pool.close().await;
    b.db.pool.close().await;
    scratch.finish().await;
}
