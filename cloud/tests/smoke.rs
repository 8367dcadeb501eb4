use cloud::identity::*;
use cloud::testing::{ScratchDb, BACKENDS};

#[tokio::test]
async fn bootstrap_then_password_token_on_each_backend() {
    for backend in BACKENDS {
        let scratch = ScratchDb::new(backend).await;
        let svc = IdentityService::new(scratch.db.clone(), IdentityConfig::default()).unwrap();
        let req = BootstrapRequest { admin_user: "admin".into(), admin_project: "admin".into(), admin_password: "s3cret-pass".into() };
        let rep = svc.bootstrap(&req).await.unwrap();
        assert!(rep.created_admin);
        assert!(!svc.bootstrap(&req).await.unwrap().created_admin, "bootstrap is idempotent");
        let tok = svc
            .issue_token(
                AuthMethod::Password { user: UserRef::Name { name: "admin".into(), domain: DomainRef::Name("Default".into()) }, password: "s3cret-pass".into() },
                ScopeRequest::Project(ProjectRef::Name { name: "admin".into(), domain: DomainRef::Id("default".into()) }),
            )
            .await
            .unwrap();
        let info = svc.validate_token(tok.id.expose()).await.unwrap();
        let names: Vec<_> = info.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["admin", "member", "reader"], "{backend:?}");
        scratch.finish().await;
    }
}
