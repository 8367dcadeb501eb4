//! Sign-in, sign-out, the current user, project switching and the user's
//! own settings. The session holds only the token id and the language.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server;

// Every server function has an explicit endpoint (`/api/<name>`): the
// default URL carries a hash of the checkout's path, so a server and a WASM
// built from different checkouts (CI clones sharing one target directory)
// would not find each other's functions.

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// The signed-in user as the layout shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: String,
    pub user_name: String,
    pub domain_name: String,
    pub project: Option<Named>,
    pub projects: Vec<Named>,
    /// The admin panels are offered (the identity service's capabilities).
    pub is_admin: bool,
    /// Create Image is offered in this project, and public visibility in it
    /// (the image service's rules).
    pub can_create_image: bool,
    pub can_publicize_image: bool,
    /// Launch Instance is offered in this project (the compute service's rule).
    pub can_launch_instance: bool,
}

/// What a sign-in attempt came to; the page words it in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginOutcome {
    Ok,
    Invalid,
    Locked { minutes: i64 },
    Missing,
}

/// Who `info` is, as the layout shows it: the portal's page guard works it
/// out once per page load (see [`crate::page_me`]).
#[cfg(feature = "ssr")]
pub async fn me_for(
    identity: &cloud::identity::IdentityService,
    info: &cloud::identity::TokenInfo,
) -> Result<Me, cloud::identity::IdentityError> {
    let projects = identity.auth_projects(info).await?;
    let ctx = info.context();
    let new_image = cloud::image::create_capabilities(&ctx);
    Ok(Me {
        user_id: info.user.id.clone(),
        user_name: info.user.name.clone(),
        domain_name: info.user_domain.name.clone(),
        project: info.project.as_ref().map(|p| Named {
            id: p.id.clone(),
            name: p.name.clone(),
        }),
        projects: projects
            .into_iter()
            .map(|p| Named {
                id: p.id,
                name: p.name,
            })
            .collect(),
        is_admin: identity.capabilities(&ctx).admin_panels,
        can_create_image: new_image.create,
        can_publicize_image: new_image.publicize,
        can_launch_instance: cloud::compute::can_launch(&ctx),
    })
}

#[leptos::server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Me>, AppError> {
    let a = match server::auth().await {
        Ok(a) => a,
        Err(_) => return Ok(None),
    };
    me_for(&a.identity, &a.info)
        .await
        .map(Some)
        .map_err(AppError::from)
}

#[leptos::server(endpoint = "login")]
pub async fn login(
    domain: String,
    username: String,
    password: String,
) -> Result<LoginOutcome, AppError> {
    use cloud::identity::{
        AuthMethod, DomainRef, IdentityError, ProjectRef, ScopeRequest, UserRef,
    };
    use cloud::secret::Secret;
    let identity = server::identity()?;
    let session = server::session().await?;
    let domain = if domain.trim().is_empty() {
        "Default".to_string()
    } else {
        domain.trim().to_string()
    };
    if username.trim().is_empty() || password.is_empty() {
        return Ok(LoginOutcome::Missing);
    }
    let user = UserRef::Name {
        name: username.trim().to_string(),
        domain: DomainRef::Name(domain),
    };
    // The default project when the user has a role there, else unscoped.
    let first = match identity
        .issue_token(
            AuthMethod::Password {
                user,
                password: Secret::new(password),
            },
            ScopeRequest::Default,
        )
        .await
    {
        Ok(t) => t,
        Err(IdentityError::Locked { minutes }) => return Ok(LoginOutcome::Locked { minutes }),
        Err(IdentityError::Unauthenticated) => return Ok(LoginOutcome::Invalid),
        Err(e) => return Err(e.into()),
    };
    let mut retired = Vec::new();
    let mut token = first.clone();
    if first.info.project.is_none() {
        // Else the first project the user may use, else stay unscoped.
        let projects = identity.auth_projects(&first.info).await?;
        if let Some(p) = projects.first() {
            if let Ok(t) = identity
                .issue_token(
                    AuthMethod::Token {
                        token: first.id.clone(),
                    },
                    ScopeRequest::Project(ProjectRef::Id(p.id.clone())),
                )
                .await
            {
                retired.push(first.id.expose().to_string());
                token = t;
            }
        }
    }
    // A fresh session id at every sign-in (no fixation).
    let lang: Option<String> = session.get(server::KEY_LANG).await.ok().flatten();
    let _ = session.remove_value(server::KEY_OLD_TOKENS).await;
    session
        .cycle_id()
        .await
        .map_err(|e| AppError::internal(format!("session: {e}")))?;
    server::store_token(&session, token.id.expose(), &token.info, retired).await?;
    let ctx = token.info.context();
    // The account's stored choice wins; without one the choice made on the
    // login page stays, and without that the browser's language keeps
    // deciding page by page.
    let user_lang = identity
        .get_user(&ctx, &ctx.user_id)
        .await
        .ok()
        .and_then(|u| u.language)
        .filter(|l| l == "en" || l == "ko");
    if let Some(lang) = user_lang.or(lang) {
        server::set_session_lang(&session, &lang).await?;
    }
    server::redirect_if_form("/project");
    Ok(LoginOutcome::Ok)
}

#[leptos::server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let identity = server::identity()?;
    let session = server::session().await?;
    server::end_session(&identity, &session, true).await?;
    server::redirect_if_form("/login");
    Ok(())
}

#[leptos::server(endpoint = "switch_project")]
pub async fn switch_project(project_id: String) -> Result<(), AppError> {
    use cloud::identity::{AuthMethod, ProjectRef, ScopeRequest};
    use cloud::secret::Secret;
    let a = server::auth().await?;
    let t = match a
        .identity
        .issue_token(
            AuthMethod::Token {
                token: Secret::new(a.token.clone()),
            },
            ScopeRequest::Project(ProjectRef::Id(project_id)),
        )
        .await
    {
        Ok(t) => t,
        Err(cloud::identity::IdentityError::Unauthenticated) => return Err(a.msg("err.switch", "")),
        Err(e) => return Err(e.into()),
    };
    server::store_token(&a.session, t.id.expose(), &t.info, vec![a.token.clone()]).await?;
    server::redirect_if_form("/project");
    Ok(())
}

#[leptos::server(endpoint = "set_language")]
pub async fn set_language(lang: String) -> Result<(), AppError> {
    let lang = match lang.as_str() {
        "ko" => "ko",
        "en" => "en",
        _ => return Err(AppError::portal("settings.bad_language").with_kind("bad_request")),
    };
    let session = server::session().await?;
    if let Ok(a) = server::auth().await {
        a.identity.set_language(&a.ctx, lang).await?;
    }
    server::set_session_lang(&session, lang).await?;
    Ok(())
}

#[leptos::server(endpoint = "change_password")]
pub async fn change_password(
    old_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use cloud::secret::Secret;
    let a = server::auth().await?;
    if new_password != confirm_password {
        return Err(AppError::portal("pw.mismatch"));
    }
    if old_password.is_empty() || new_password.is_empty() {
        return Err(AppError::portal("pw.required"));
    }
    match a
        .identity
        .change_password(
            &a.ctx,
            &a.ctx.user_id,
            &Secret::new(old_password),
            &Secret::new(new_password),
        )
        .await
    {
        Ok(()) => {}
        Err(cloud::identity::IdentityError::Unauthenticated) => {
            return Err(AppError::portal("pw.wrong_old"))
        }
        Err(e) => return Err(e.into()),
    }
    // Every token of the user is revoked; end this session too.
    server::end_session(&a.identity, &a.session, true).await?;
    server::redirect_if_form("/login?msg=password_changed");
    Ok(())
}

/// A full page load of `path` in the browser (after sign-in, sign-out, a
/// project or language switch: every panel starts afresh).
pub fn hard_redirect(path: &str) {
    #[cfg(not(feature = "ssr"))]
    {
        let _ = leptos::prelude::window().location().set_href(path);
    }
    #[cfg(feature = "ssr")]
    {
        let _ = path;
    }
}
