//! Identity service behaviour, on SQLite and on MariaDB.

#![allow(clippy::unwrap_used)]

use cloud::identity::*;
use cloud::secret::Secret;
use cloud::testing::ScratchDb;
use cloud::{per_backend, Backend, RequestContext};

const ADMIN_PW: &str = "admin-password-1";

struct Fixture {
    scratch: ScratchDb,
    svc: IdentityService,
    admin: RequestContext,
}

fn cfg() -> IdentityConfig {
    IdentityConfig {
        lockout_failure_attempts: 3,
        lockout_duration_secs: 600,
        unique_last_password_count: 2,
        // Cheaper hashing keeps the suite quick; production uses OWASP's parameters.
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..IdentityConfig::default()
    }
}

async fn fixture(backend: Backend) -> Fixture {
    let scratch = ScratchDb::new(backend).await;
    let svc = IdentityService::new(scratch.db.clone(), cfg()).unwrap();
    svc.bootstrap(&BootstrapRequest {
        admin_user: "admin".into(),
        admin_project: "admin".into(),
        admin_password: ADMIN_PW.into(),
    })
    .await
    .unwrap();
    let admin = login(&svc, "admin", ADMIN_PW, Some("admin"))
        .await
        .unwrap()
        .info
        .context();
    Fixture {
        scratch,
        svc,
        admin,
    }
}

fn by_name(name: &str) -> UserRef {
    UserRef::Name {
        name: name.into(),
        domain: DomainRef::Name("Default".into()),
    }
}

async fn login(
    svc: &IdentityService,
    user: &str,
    pw: &str,
    project: Option<&str>,
) -> Result<IssuedToken> {
    let scope = match project {
        Some(p) => ScopeRequest::Project(ProjectRef::Name {
            name: p.into(),
            domain: DomainRef::Id("default".into()),
        }),
        None => ScopeRequest::Unscoped,
    };
    svc.issue_token(
        AuthMethod::Password {
            user: by_name(user),
            password: pw.into(),
        },
        scope,
    )
    .await
}

/// The project called `name`, if there is one.
async fn project_named(f: &Fixture, name: &str) -> Option<Project> {
    f.svc
        .list_projects(
            &f.admin,
            &ListFilter {
                name: Some(name.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .pop()
}

/// A project with a user holding `role` on it.
async fn user_with_role(f: &Fixture, user: &str, project: &str, role: &str) -> (User, Project) {
    let p = match project_named(f, project).await {
        Some(p) => p,
        None => f
            .svc
            .create_project(
                &f.admin,
                NewProject {
                    name: project.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
    };
    let u = f
        .svc
        .create_user(
            &f.admin,
            NewUser {
                name: user.into(),
                password: Some(format!("{user}-password").into()),
                default_project_id: Some(p.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.svc
        .grant_role(
            &f.admin,
            ActorType::User,
            &u.id,
            &Target::Project(p.id.clone()),
            role,
            false,
        )
        .await
        .unwrap();
    (u, p)
}

/// One test per backend (`name::sqlite`, `name::mysql`), each on a fresh fixture.
macro_rules! each_backend {
    ($name:ident, |$f:ident| $body:block) => {
        async fn $name(backend: Backend) {
            let $f = fixture(backend).await;
            $body
            $f.scratch.finish().await;
        }
        per_backend!($name);
    };
}

each_backend!(
    bootstrap_is_idempotent_and_admin_implies_member_and_reader,
    |f| {
        let again = f
            .svc
            .bootstrap(&BootstrapRequest {
                admin_user: "admin".into(),
                admin_project: "admin".into(),
                admin_password: "other-password".into(),
            })
            .await
            .unwrap();
        assert!(!again.created_admin);
        assert!(
            login(&f.svc, "admin", "other-password", None)
                .await
                .is_err(),
            "bootstrap never resets a password"
        );
        let mut roles = f.admin.roles.clone();
        roles.sort();
        assert_eq!(roles, ["admin", "member", "reader"]);
        let catalog = f.svc.catalog().await.unwrap();
        assert!(catalog
            .iter()
            .any(|c| c.service.r#type == "identity" && c.endpoints.len() == 3));
    }
);

each_backend!(wrong_password_and_unknown_user_fail_the_same_way, |f| {
    let wrong = login(&f.svc, "admin", "nope-nope-nope", None)
        .await
        .unwrap_err();
    let unknown = login(&f.svc, "nobody", "nope-nope-nope", None)
        .await
        .unwrap_err();
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert!(matches!(wrong, IdentityError::Unauthenticated));
});

each_backend!(lockout_after_failures_then_correct_password_refused, |f| {
    let (_u, _p) = user_with_role(&f, "alice", "proj-a", "member").await;
    for _ in 0..2 {
        assert!(matches!(
            login(&f.svc, "alice", "bad-password", None).await,
            Err(IdentityError::Unauthenticated)
        ));
    }
    assert!(matches!(
        login(&f.svc, "alice", "bad-password", None).await,
        Err(IdentityError::Locked { .. })
    ));
    let locked = login(&f.svc, "alice", "alice-password", None)
        .await
        .unwrap_err();
    assert!(matches!(locked, IdentityError::Locked { .. }), "{locked}");
    assert!(locked.to_string().contains("locked"));
});

each_backend!(member_and_reader_cannot_manage_identity, |f| {
    for role in ["member", "reader"] {
        let (_u, _p) = user_with_role(&f, &format!("u-{role}"), "proj-rbac", role).await;
        let ctx = login(
            &f.svc,
            &format!("u-{role}"),
            &format!("u-{role}-password"),
            Some("proj-rbac"),
        )
        .await
        .unwrap()
        .info
        .context();
        assert!(matches!(
            f.svc.list_users(&ctx, &ListFilter::default()).await,
            Err(IdentityError::Forbidden(_))
        ));
        assert!(matches!(
            f.svc
                .create_project(
                    &ctx,
                    NewProject {
                        name: "x".into(),
                        ..Default::default()
                    }
                )
                .await,
            Err(IdentityError::Forbidden(_))
        ));
        assert!(matches!(
            f.svc
                .grant_role(
                    &ctx,
                    ActorType::User,
                    &ctx.user_id,
                    &Target::System,
                    "admin",
                    false
                )
                .await,
            Err(IdentityError::Forbidden(_))
        ));
        assert!(matches!(
            f.svc
                .list_role_assignments(&ctx, &AssignmentFilter::default())
                .await,
            Err(IdentityError::Forbidden(_))
        ));
        // …but reads itself and its own projects.
        assert_eq!(
            f.svc.get_user(&ctx, &ctx.user_id).await.unwrap().name,
            format!("u-{role}")
        );
        assert_eq!(
            f.svc
                .list_user_projects(&ctx, &ctx.user_id)
                .await
                .unwrap()
                .len(),
            1
        );
    }
});

each_backend!(user_of_project_b_cannot_see_or_scope_to_project_a, |f| {
    let (_ua, pa) = user_with_role(&f, "ua", "proj-a", "member").await;
    let (ub, _pb) = user_with_role(&f, "ub", "proj-b", "member").await;
    let ctx_b = login(&f.svc, "ub", "ub-password", Some("proj-b"))
        .await
        .unwrap()
        .info
        .context();
    assert!(matches!(
        f.svc.get_project(&ctx_b, &pa.id).await,
        Err(IdentityError::Forbidden(_))
    ));
    assert!(matches!(
        login(&f.svc, "ub", "ub-password", Some("proj-a")).await,
        Err(IdentityError::Unauthenticated)
    ));
    assert!(matches!(
        f.svc.get_user(&ctx_b, &_ua.id).await,
        Err(IdentityError::Forbidden(_))
    ));
    let mine = f.svc.list_user_projects(&ctx_b, &ub.id).await.unwrap();
    assert_eq!(
        mine.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["proj-b"]
    );
});

each_backend!(group_grants_and_implied_roles_are_effective, |f| {
    let p = f
        .svc
        .create_project(
            &f.admin,
            NewProject {
                name: "proj-g".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let u = f
        .svc
        .create_user(
            &f.admin,
            NewUser {
                name: "gu".into(),
                password: Some("gu-password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let g = f
        .svc
        .create_group(&f.admin, "devs", None, None)
        .await
        .unwrap();
    f.svc
        .add_user_to_group(&f.admin, &g.id, &u.id)
        .await
        .unwrap();
    f.svc
        .grant_role(
            &f.admin,
            ActorType::Group,
            &g.id,
            &Target::Project(p.id.clone()),
            "member",
            false,
        )
        .await
        .unwrap();
    let tok = login(&f.svc, "gu", "gu-password", Some("proj-g"))
        .await
        .unwrap();
    let mut roles: Vec<_> = tok.info.roles.iter().map(|r| r.name.clone()).collect();
    roles.sort();
    assert_eq!(roles, ["member", "reader"]);
    let eff = f
        .svc
        .list_role_assignments(
            &f.admin,
            &AssignmentFilter {
                user_id: Some(u.id.clone()),
                effective: true,
                include_names: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(eff.len(), 2, "{eff:?}");
    assert!(eff
        .iter()
        .all(|a| a.via_group_id.as_deref() == Some(g.id.as_str())
            && a.target_name.as_deref() == Some("proj-g")));
    // Leaving the group removes the roles, even from tokens already issued.
    f.svc
        .remove_user_from_group(&f.admin, &g.id, &u.id)
        .await
        .unwrap();
    assert!(matches!(
        f.svc.validate_token(tok.id.expose()).await,
        Err(IdentityError::TokenNotFound)
    ));
});

each_backend!(revocation_disable_and_delete_end_tokens, |f| {
    let (u, p) = user_with_role(&f, "rv", "proj-r", "member").await;
    let t1 = login(&f.svc, "rv", "rv-password", Some("proj-r"))
        .await
        .unwrap();
    // A rescoped token is revoked with its parent.
    let t2 = f
        .svc
        .issue_token(
            AuthMethod::Token {
                token: t1.id.clone(),
            },
            ScopeRequest::Project(ProjectRef::Id(p.id.clone())),
        )
        .await
        .unwrap();
    assert_eq!(t2.info.audit_ids.len(), 2);
    f.svc.revoke_token(&t1.info, t1.id.expose()).await.unwrap();
    assert!(f.svc.validate_token(t1.id.expose()).await.is_err());
    assert!(f.svc.validate_token(t2.id.expose()).await.is_err());

    let t3 = login(&f.svc, "rv", "rv-password", Some("proj-r"))
        .await
        .unwrap();
    f.svc
        .update_project(
            &f.admin,
            &p.id,
            ProjectUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        f.svc.validate_token(t3.id.expose()).await.is_err(),
        "disabled project ends its tokens"
    );
    assert!(login(&f.svc, "rv", "rv-password", Some("proj-r"))
        .await
        .is_err());
    f.svc
        .update_project(
            &f.admin,
            &p.id,
            ProjectUpdate {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    f.svc
        .update_user(
            &f.admin,
            &u.id,
            UserUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        login(&f.svc, "rv", "rv-password", None).await,
        Err(IdentityError::Unauthenticated)
    ));
    f.svc.delete_user(&f.admin, &u.id).await.unwrap();
    assert!(matches!(
        f.svc.get_user(&f.admin, &u.id).await,
        Err(IdentityError::NotFound { .. })
    ));
});

each_backend!(own_password_change_checks_old_policy_and_history, |f| {
    let (u, _p) = user_with_role(&f, "pw", "proj-p", "member").await;
    let tok = login(&f.svc, "pw", "pw-password", Some("proj-p"))
        .await
        .unwrap();
    let ctx = tok.info.context();
    let old = Secret::new("pw-password");
    assert!(matches!(
        f.svc
            .change_password(&ctx, &u.id, &"wrong-old-pw".into(), &"brand-new-pw".into())
            .await,
        Err(IdentityError::Unauthenticated)
    ));
    assert!(matches!(
        f.svc
            .change_password(&ctx, &u.id, &old, &"short".into())
            .await,
        Err(IdentityError::PasswordPolicy(_))
    ));
    assert!(
        matches!(
            f.svc.change_password(&ctx, &u.id, &old, &old).await,
            Err(IdentityError::PasswordPolicy(_))
        ),
        "reuse refused"
    );
    f.svc
        .change_password(&ctx, &u.id, &old, &"brand-new-pw".into())
        .await
        .unwrap();
    assert!(
        f.svc.validate_token(tok.id.expose()).await.is_err(),
        "change revokes the user's tokens"
    );
    assert!(login(&f.svc, "pw", "pw-password", None).await.is_err());
    let tok2 = login(&f.svc, "pw", "brand-new-pw", Some("proj-p"))
        .await
        .unwrap();
    // Another caller needs the original password, as with Keystone: a wrong
    // one is refused; the right one is the authority.
    assert!(matches!(
        f.svc
            .change_password(
                &f.admin,
                &u.id,
                &"not-the-password".into(),
                &"another-new-pw".into()
            )
            .await,
        Err(IdentityError::Unauthenticated)
    ));
    f.svc
        .change_password(
            &f.admin,
            &u.id,
            &"brand-new-pw".into(),
            &"another-new-pw".into(),
        )
        .await
        .unwrap();
    assert!(login(&f.svc, "pw", "another-new-pw", None).await.is_ok());
    // Wrong originals count toward the lockout, as failed logins do.
    for _ in 0..2 {
        let r = f
            .svc
            .change_password(&f.admin, &u.id, &"guess".into(), &"guessed-new-pw".into())
            .await;
        assert!(matches!(r, Err(IdentityError::Unauthenticated)), "{r:?}");
    }
    let r = f
        .svc
        .change_password(&f.admin, &u.id, &"guess".into(), &"guessed-new-pw".into())
        .await;
    assert!(matches!(r, Err(IdentityError::Locked { .. })), "{r:?}");
    drop(tok2);
});

each_backend!(app_credentials_delegate_a_subset_once, |f| {
    let (u, p) = user_with_role(&f, "ac", "proj-ac", "member").await;
    let ctx = login(&f.svc, "ac", "ac-password", Some("proj-ac"))
        .await
        .unwrap()
        .info
        .context();
    assert!(matches!(
        f.svc
            .create_app_credential(
                &ctx,
                &u.id,
                NewAppCredential {
                    name: "bad".into(),
                    roles: vec!["admin".into()],
                    ..Default::default()
                }
            )
            .await,
        Err(IdentityError::Forbidden(_))
    ));
    let created = f
        .svc
        .create_app_credential(
            &ctx,
            &u.id,
            NewAppCredential {
                name: "ci".into(),
                roles: vec!["reader".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(created.secret.expose().len() >= 32);
    let tok = f
        .svc
        .issue_token(
            AuthMethod::AppCredential {
                id: Some(created.credential.id.clone()),
                name: None,
                user: None,
                secret: created.secret.clone(),
            },
            ScopeRequest::Default,
        )
        .await
        .unwrap();
    assert_eq!(
        tok.info.project.as_ref().map(|x| x.id.as_str()),
        Some(p.id.as_str())
    );
    assert_eq!(
        tok.info
            .roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["reader"]
    );
    assert!(f
        .svc
        .issue_token(
            AuthMethod::AppCredential {
                id: Some(created.credential.id.clone()),
                name: None,
                user: None,
                secret: "wrong".into()
            },
            ScopeRequest::Default
        )
        .await
        .is_err());
    // A token never outlives its credential: one that ends in 5 minutes
    // gives a token that ends then, not after the hour of the token TTL.
    let ends = chrono::Utc::now() + chrono::Duration::minutes(5);
    let short = f
        .svc
        .create_app_credential(
            &ctx,
            &u.id,
            NewAppCredential {
                name: "short".into(),
                expires_at: Some(ends),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let short_tok = f
        .svc
        .issue_token(
            AuthMethod::AppCredential {
                id: Some(short.credential.id.clone()),
                name: None,
                user: None,
                secret: short.secret.clone(),
            },
            ScopeRequest::Default,
        )
        .await
        .unwrap();
    assert!(
        (short_tok.info.expires_at - ends).num_seconds().abs() <= 1,
        "token ends {} but the credential {}",
        short_tok.info.expires_at,
        ends
    );
    f.svc
        .delete_app_credential(&ctx, &u.id, &short.credential.id)
        .await
        .unwrap();
    // A caller-chosen secret has the bound of a password.
    assert!(matches!(
        f.svc
            .create_app_credential(
                &ctx,
                &u.id,
                NewAppCredential {
                    name: "huge".into(),
                    secret: Some(Secret::new("s".repeat(1 << 20))),
                    ..Default::default()
                },
            )
            .await,
        Err(IdentityError::Validation(_))
    ));
    // By name and user, too.
    f.svc
        .issue_token(
            AuthMethod::AppCredential {
                id: None,
                name: Some("ci".into()),
                user: Some(by_name("ac")),
                secret: created.secret.clone(),
            },
            ScopeRequest::Default,
        )
        .await
        .unwrap();
    assert_eq!(
        f.svc
            .list_app_credentials(&ctx, &u.id, None)
            .await
            .unwrap()
            .len(),
        1
    );
    f.svc
        .delete_app_credential(&ctx, &u.id, &created.credential.id)
        .await
        .unwrap();
    assert!(
        f.svc.validate_token(tok.id.expose()).await.is_err(),
        "deleting the credential ends its tokens"
    );
});

each_backend!(validation_and_conflicts_change_nothing, |f| {
    // Control characters in a name or description are refused, not stored.
    for (name, description) in [
        ("nul\0name", ""),
        ("\u{1b}[2Jclear", ""),
        ("ok", "bell\u{7}"),
    ] {
        assert!(matches!(
            f.svc
                .create_project(
                    &f.admin,
                    NewProject {
                        name: name.into(),
                        description: Some(description.into()),
                        ..Default::default()
                    }
                )
                .await,
            Err(IdentityError::Validation(_))
        ));
    }
    // A search longer than any name is a clear refusal, not a database error.
    assert!(matches!(
        f.svc
            .list_projects(
                &f.admin,
                &ListFilter {
                    search: Some("x".repeat(60_000)),
                    ..Default::default()
                }
            )
            .await,
        Err(IdentityError::Validation(_))
    ));
    assert!(matches!(
        f.svc
            .create_project(
                &f.admin,
                NewProject {
                    name: "  ".into(),
                    ..Default::default()
                }
            )
            .await,
        Err(IdentityError::Validation(_))
    ));
    f.svc
        .create_project(
            &f.admin,
            NewProject {
                name: "dup".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        f.svc
            .create_project(
                &f.admin,
                NewProject {
                    name: "dup".into(),
                    ..Default::default()
                }
            )
            .await,
        Err(IdentityError::Conflict { .. })
    ));
    assert!(matches!(
        f.svc
            .create_user(
                &f.admin,
                NewUser {
                    name: "weak".into(),
                    password: Some("short".into()),
                    ..Default::default()
                }
            )
            .await,
        Err(IdentityError::PasswordPolicy(_))
    ));
    assert!(
        f.svc
            .list_users(
                &f.admin,
                &ListFilter {
                    name: Some("weak".into()),
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .is_empty(),
        "no half-written user"
    );
    assert!(matches!(
        f.svc
            .create_user(
                &f.admin,
                NewUser {
                    name: "mail".into(),
                    email: Some("not-an-email".into()),
                    ..Default::default()
                }
            )
            .await,
        Err(IdentityError::Validation(_))
    ));
    assert!(matches!(
        f.svc
            .delete_role(
                &f.admin,
                &f.svc
                    .list_roles(
                        &f.admin,
                        &ListFilter {
                            name: Some("admin".into()),
                            ..Default::default()
                        }
                    )
                    .await
                    .unwrap()
                    .items[0]
                    .id
            )
            .await,
        Err(IdentityError::Forbidden(_))
    ));
    let d = f
        .svc
        .create_domain(&f.admin, "other", None, None)
        .await
        .unwrap();
    assert!(
        matches!(
            f.svc.delete_domain(&f.admin, &d.id).await,
            Err(IdentityError::Forbidden(_))
        ),
        "enabled domains are not deleted"
    );
});

each_backend!(lists_filter_sort_and_page, |f| {
    for i in 0..30 {
        f.svc
            .create_user(
                &f.admin,
                NewUser {
                    name: format!("user-{i:02}"),
                    email: Some(format!("u{i}@example.org")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let page = f
        .svc
        .list_users(
            &f.admin,
            &ListFilter {
                search: Some("user-1".into()),
                limit: Some(5),
                offset: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 10);
    assert_eq!(
        page.items
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["user-15", "user-16", "user-17", "user-18", "user-19"]
    );
    let desc = f
        .svc
        .list_users(
            &f.admin,
            &ListFilter {
                sort: SortKey::Name,
                dir: cloud::SortDir::Desc,
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(desc.items[0].name, "user-29");
    // LIKE wildcards in the filter are literal.
    assert_eq!(
        f.svc
            .list_users(
                &f.admin,
                &ListFilter {
                    search: Some("%".into()),
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .total,
        0
    );
});

// Totals come from the page itself, the triggers' `row_counts` or a
// COUNT(*), depending on the page and filter; whichever answers, it is the
// number of matching rows, after creates and deletes alike.
each_backend!(list_totals_follow_creates_and_deletes, |f| {
    let users = |offset: i64, limit: i64| {
        let f = &f;
        async move {
            f.svc
                .list_users(
                    &f.admin,
                    &ListFilter {
                        limit: Some(limit),
                        offset: Some(offset),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
        }
    };
    let start = users(0, 1000).await.total;
    assert_eq!(start, users(0, 1000).await.items.len() as i64);
    let mut ids = Vec::new();
    for i in 0..7 {
        let u = f
            .svc
            .create_user(
                &f.admin,
                NewUser {
                    name: format!("counted-{i}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        ids.push(u.id);
    }
    let n = start + 7;
    // Full pages (the count), a short last page, and a page past the end.
    for (offset, limit) in [(0, 2), (2, 2), (n - 1, 2), (n + 5, 2), (0, 1000)] {
        let page = users(offset, limit).await;
        assert_eq!(page.total, n, "offset {offset}, limit {limit}");
        assert_eq!(
            page.items.len() as i64,
            (n - offset).clamp(0, limit),
            "offset {offset}"
        );
    }
    for id in &ids[..3] {
        f.svc.delete_user(&f.admin, id).await.unwrap();
    }
    assert_eq!(users(0, 2).await.total, n - 3);
    assert_eq!(users(n + 5, 2).await.total, n - 3);
    // A filtered list counts its matches, not the table.
    let counted = f
        .svc
        .list_users(
            &f.admin,
            &ListFilter {
                search: Some("counted-".into()),
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(counted.total, 4);
    // The other counted tables too.
    for i in 0..3 {
        f.svc
            .create_group(&f.admin, &format!("counted-group-{i}"), None, None)
            .await
            .unwrap();
    }
    let groups = f
        .svc
        .list_groups(
            &f.admin,
            &ListFilter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(groups.total, 3);
    let projects = f
        .svc
        .list_projects(
            &f.admin,
            &ListFilter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let all_projects = f
        .svc
        .list_projects(&f.admin, &ListFilter::default())
        .await
        .unwrap();
    assert_eq!(projects.total, all_projects.items.len() as i64);
});

each_backend!(create_user_with_grant_is_one_transaction, |f| {
    let (_, project) = user_with_role(&f, "someone", "grant-target", "member").await;
    let new = |name: &str| NewUser {
        name: name.into(),
        password: Some(format!("{name}-password").into()),
        ..Default::default()
    };
    let users_named = |name: &'static str| {
        let f = &f;
        async move {
            f.svc
                .list_users(
                    &f.admin,
                    &ListFilter {
                        name: Some(name.into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .total
        }
    };
    // A missing role or project refuses the whole call and leaves no user.
    let missing_role = f
        .svc
        .create_user_with_grant(&f.admin, new("orphan-a"), &project.id, "no-such-role")
        .await;
    assert!(
        matches!(
            missing_role,
            Err(IdentityError::NotFound { kind: "role", .. })
        ),
        "{missing_role:?}"
    );
    assert_eq!(users_named("orphan-a").await, 0);
    let missing_project = f
        .svc
        .create_user_with_grant(&f.admin, new("orphan-b"), "no-such-project", "member")
        .await;
    assert!(
        matches!(
            missing_project,
            Err(IdentityError::NotFound {
                kind: "project",
                ..
            })
        ),
        "{missing_project:?}"
    );
    assert_eq!(users_named("orphan-b").await, 0);
    // A non-admin is refused by name, and nothing is written.
    let member = login(&f.svc, "someone", "someone-password", Some("grant-target"))
        .await
        .unwrap()
        .info
        .context();
    let refused = f
        .svc
        .create_user_with_grant(&member, new("orphan-c"), &project.id, "member")
        .await;
    assert!(
        matches!(&refused, Err(IdentityError::Forbidden(m)) if m.text.contains("identity:create_grant")),
        "{refused:?}"
    );
    assert_eq!(users_named("orphan-c").await, 0);
    // Success: the user can sign in to the project with the role.
    let u = f
        .svc
        .create_user_with_grant(&f.admin, new("granted"), &project.id, "member")
        .await
        .unwrap();
    let ctx = login(&f.svc, "granted", "granted-password", Some("grant-target"))
        .await
        .unwrap()
        .info
        .context();
    assert_eq!(ctx.user_id, u.id);
    assert!(ctx.has_role("member") && ctx.has_role("reader") && !ctx.is_admin());
});

each_backend!(identity_capabilities_follow_the_rules, |f| {
    let admin = f.svc.capabilities(&f.admin);
    assert!(admin.admin_panels && admin.create_user && admin.grant_roles && admin.delete_role);
    user_with_role(&f, "plain", "caps-project", "member").await;
    let member = login(&f.svc, "plain", "plain-password", Some("caps-project"))
        .await
        .unwrap()
        .info
        .context();
    assert_eq!(
        f.svc.capabilities(&member),
        IdentityCapabilities::default(),
        "a member manages nothing in identity"
    );
});

fn disable() -> UserUpdate {
    UserUpdate {
        enabled: Some(false),
        ..Default::default()
    }
}

fn is_last_admin<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(IdentityError::LastAdmin))
}

each_backend!(the_last_administrator_cannot_be_removed, |f| {
    let me = f.admin.user_id.clone();
    // Alone: no disabling, deleting or demoting oneself.
    assert!(is_last_admin(
        f.svc.update_user(&f.admin, &me, disable()).await
    ));
    assert!(is_last_admin(f.svc.delete_user(&f.admin, &me).await));
    let admin_project = project_named(&f, "admin").await.unwrap();
    let on_admin = Target::Project(admin_project.id.clone());
    // Bootstrap grants admin on the system and on the admin project: one of
    // the two may go, not both.
    f.svc
        .revoke_role(
            &f.admin,
            ActorType::User,
            &me,
            &Target::System,
            "admin",
            false,
        )
        .await
        .unwrap();
    assert!(is_last_admin(
        f.svc
            .revoke_role(&f.admin, ActorType::User, &me, &on_admin, "admin", false)
            .await
    ));
    let disable_project = ProjectUpdate {
        enabled: Some(false),
        ..Default::default()
    };
    assert!(is_last_admin(
        f.svc
            .update_project(&f.admin, &admin_project.id, disable_project.clone())
            .await
    ));
    assert!(is_last_admin(
        f.svc.delete_project(&f.admin, &admin_project.id).await
    ));
    // Nothing of it happened.
    assert!(f.svc.get_user(&f.admin, &me).await.unwrap().enabled);
    assert!(
        f.svc
            .get_project(&f.admin, &admin_project.id)
            .await
            .unwrap()
            .enabled
    );
    assert!(login(&f.svc, "admin", ADMIN_PW, Some("admin"))
        .await
        .is_ok());

    // With a second administrator the first may go; then the second is last.
    let (second, ops) = user_with_role(&f, "second", "ops", "admin").await;
    f.svc.update_user(&f.admin, &me, disable()).await.unwrap();
    let ops_target = Target::Project(ops.id.clone());
    assert!(is_last_admin(
        f.svc
            .update_project(&f.admin, &ops.id, disable_project.clone())
            .await
    ));
    assert!(is_last_admin(
        f.svc
            .revoke_role(
                &f.admin,
                ActorType::User,
                &second.id,
                &ops_target,
                "admin",
                false
            )
            .await
    ));

    // Through a group: the grant can go while the group carries the role,
    // the membership and the group cannot.
    let g = f
        .svc
        .create_group(&f.admin, "operators", None, None)
        .await
        .unwrap();
    f.svc
        .grant_role(
            &f.admin,
            ActorType::Group,
            &g.id,
            &Target::System,
            "admin",
            false,
        )
        .await
        .unwrap();
    f.svc
        .add_user_to_group(&f.admin, &g.id, &second.id)
        .await
        .unwrap();
    f.svc
        .revoke_role(
            &f.admin,
            ActorType::User,
            &second.id,
            &ops_target,
            "admin",
            false,
        )
        .await
        .unwrap();
    assert!(is_last_admin(
        f.svc
            .remove_user_from_group(&f.admin, &g.id, &second.id)
            .await
    ));
    assert!(is_last_admin(f.svc.delete_group(&f.admin, &g.id).await));
    assert!(f.svc.get_user(&f.admin, &second.id).await.unwrap().enabled);
});

each_backend!(two_admins_disabling_each_other_leave_one, |f| {
    let (a, _) = user_with_role(&f, "alpha", "ops", "admin").await;
    let (b, _) = user_with_role(&f, "beta", "ops", "admin").await;
    // Only alpha and beta remain administrators.
    f.svc
        .update_user(&f.admin, &f.admin.user_id, disable())
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(
        f.svc.update_user(&f.admin, &b.id, disable()),
        f.svc.update_user(&f.admin, &a.id, disable()),
    );
    let refused = [is_last_admin(ra), is_last_admin(rb)];
    assert_eq!(
        refused.iter().filter(|r| **r).count(),
        1,
        "exactly one of the two goes through: {refused:?}"
    );
});
