//! `gureum-server bootstrap`, as `keystone-manage bootstrap`: idempotently
//! creates the Default domain, the admin project and user, the three
//! default roles with admin ⊃ member ⊃ reader, and the service catalog.

use super::error::{IdentityError, Result};
use super::model::*;
use super::IdentityService;
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct BootstrapRequest {
    pub admin_user: String,
    pub admin_project: String,
    /// Used only when the admin user is created.
    pub admin_password: Secret,
}

#[derive(Debug, Clone)]
pub struct BootstrapReport {
    /// True when this run created the admin user (so its password is new).
    pub created_admin: bool,
    pub admin_user_id: String,
    pub admin_project_id: String,
}

pub const DEFAULT_DOMAIN_ID: &str = "default";

impl IdentityService {
    pub async fn bootstrap(&self, req: &BootstrapRequest) -> Result<BootstrapReport> {
        if self.domain_by_id(DEFAULT_DOMAIN_ID).await.is_err() {
            self.insert_domain(DEFAULT_DOMAIN_ID, "Default", "The default domain", true)
                .await?;
        }
        let mut role_ids = Vec::new();
        for name in ["admin", "member", "reader"] {
            let id = match self.role_by_id_or_name(name).await {
                Ok(r) => r.id,
                Err(IdentityError::NotFound { .. }) => {
                    self.insert_role(&super::new_id(), name, "").await?.id
                }
                Err(e) => return Err(e),
            };
            role_ids.push(id);
        }
        self.insert_implication(&role_ids[0], &role_ids[1]).await?;
        self.insert_implication(&role_ids[1], &role_ids[2]).await?;

        let ctx = crate::RequestContext::internal();
        let project = match self
            .resolve_project(&ProjectRef::Name {
                name: req.admin_project.clone(),
                domain: DomainRef::Id(DEFAULT_DOMAIN_ID.into()),
            })
            .await
        {
            Ok(p) => p,
            Err(IdentityError::NotFound { .. }) => {
                self.create_project(
                    &ctx,
                    NewProject {
                        name: req.admin_project.clone(),
                        domain_id: Some(DEFAULT_DOMAIN_ID.into()),
                        description: Some("Bootstrap project for initializing the cloud.".into()),
                        enabled: Some(true),
                        ..Default::default()
                    },
                )
                .await?
            }
            Err(e) => return Err(e),
        };
        let existing = self
            .list_users(
                &ctx,
                &ListFilter {
                    domain_id: Some(DEFAULT_DOMAIN_ID.into()),
                    name: Some(req.admin_user.clone()),
                    ..Default::default()
                },
            )
            .await?;
        let (user, created_admin) = match existing.items.into_iter().next() {
            Some(u) => (u, false),
            None => {
                let u = self
                    .create_user(
                        &ctx,
                        NewUser {
                            name: req.admin_user.clone(),
                            domain_id: Some(DEFAULT_DOMAIN_ID.into()),
                            default_project_id: Some(project.id.clone()),
                            password: Some(req.admin_password.clone()),
                            enabled: Some(true),
                            ..Default::default()
                        },
                    )
                    .await?;
                (u, true)
            }
        };
        self.insert_grant(
            ActorType::User,
            &user.id,
            &Target::Project(project.id.clone()),
            &role_ids[0],
        )
        .await?;
        self.insert_grant(ActorType::User, &user.id, &Target::System, &role_ids[0])
            .await?;
        // The server adds the other services' entries at every start.
        self.ensure_catalog(&[super::IDENTITY_CATALOG]).await?;
        self.invalidate_tokens();
        Ok(BootstrapReport {
            created_admin,
            admin_user_id: user.id,
            admin_project_id: project.id,
        })
    }
}
