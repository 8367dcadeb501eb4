//! The identity service's records, as its API hands them out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub email: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    /// The portal language the user chose in Settings (`en` or `ko`);
    /// `None` until they choose, and the portal follows the login page's
    /// choice or the browser's `Accept-Language`.
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    pub password_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorType {
    User,
    Group,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::Group => "group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Project(String),
    Domain(String),
    /// Keystone's system scope; the only system target is `all`.
    System,
}

impl Target {
    pub fn type_str(&self) -> &'static str {
        match self {
            Target::Project(_) => "project",
            Target::Domain(_) => "domain",
            Target::System => "system",
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Target::Project(id) | Target::Domain(id) => id,
            Target::System => "all",
        }
    }
}

/// One row of `/v3/role_assignments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub actor_type: ActorType,
    pub actor_id: String,
    pub actor_name: Option<String>,
    pub actor_domain_id: Option<String>,
    pub target: Target,
    pub target_name: Option<String>,
    pub target_domain_id: Option<String>,
    pub role_id: String,
    pub role_name: Option<String>,
    /// For effective listings of a group's grant: the group it came through.
    pub via_group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCredential {
    pub id: String,
    pub user_id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub unrestricted: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub roles: Vec<Role>,
}

/// Returned once, at creation: the only time the secret is visible.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedAppCredential {
    pub credential: AppCredential,
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub r#type: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
    pub enabled: bool,
}

/// A catalog entry: a service with its endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub service: Service,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// A validated token: everything Keystone returns in a token body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub user: NamedRef,
    pub user_domain: NamedRef,
    pub password_expires_at: Option<DateTime<Utc>>,
    pub project: Option<NamedRef>,
    pub project_domain: Option<NamedRef>,
    pub domain: Option<NamedRef>,
    pub system: bool,
    pub roles: Vec<NamedRef>,
    pub methods: Vec<String>,
    pub audit_ids: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub app_cred: Option<NamedRef>,
}

impl TokenInfo {
    pub fn context(&self) -> crate::RequestContext {
        use crate::Scope;
        let scope = if let (Some(p), Some(d)) = (&self.project, &self.project_domain) {
            Scope::Project {
                id: p.id.clone(),
                name: p.name.clone(),
                domain_id: d.id.clone(),
                domain_name: d.name.clone(),
            }
        } else if let Some(d) = &self.domain {
            Scope::Domain {
                id: d.id.clone(),
                name: d.name.clone(),
            }
        } else if self.system {
            Scope::System
        } else {
            Scope::Unscoped
        };
        crate::RequestContext {
            user_id: self.user.id.clone(),
            user_name: self.user.name.clone(),
            user_domain_id: self.user_domain.id.clone(),
            scope,
            roles: self.roles.iter().map(|r| r.name.clone()).collect(),
            audit_id: self.audit_ids.first().cloned().unwrap_or_default(),
            app_cred_id: self.app_cred.as_ref().map(|a| a.id.clone()),
            request_id: crate::context::current_request_id()
                .unwrap_or_else(crate::context::new_request_id),
        }
    }
}

/// An issued token: the opaque id is shown to the caller once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: Secret,
    pub info: TokenInfo,
}

/// A user given by id, or by name within a domain given by id or name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// What a token should be scoped to when issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeRequest {
    /// Keystone's default: the user's default project if it has a role there, else unscoped.
    Default,
    Unscoped,
    Project(ProjectRef),
    Domain(DomainRef),
    System,
}

#[derive(Debug, Clone)]
pub enum AuthMethod {
    Password {
        user: UserRef,
        password: Secret,
    },
    Token {
        token: Secret,
    },
    AppCredential {
        id: Option<String>,
        name: Option<String>,
        user: Option<UserRef>,
        secret: Secret,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewProject {
    pub name: String,
    pub domain_id: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub domain_id: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears the email.
    pub email: Option<Option<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<Option<String>>,
    /// Admin reset; skips the old-password check but not the password policy.
    pub password: Option<Secret>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DomainUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewAppCredential {
    pub name: String,
    pub description: Option<String>,
    /// Role ids or names; empty means every role the user has on the project.
    pub roles: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub unrestricted: bool,
    /// Caller-chosen secret; generated when absent.
    pub secret: Option<Secret>,
}

/// Sort keys the list calls accept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    #[default]
    Name,
    Id,
    Enabled,
    Email,
    Created,
}

/// Filter for list calls over named records. Unset fields do not filter.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub domain_id: Option<String>,
    /// Exact name, as Keystone's `?name=`.
    pub name: Option<String>,
    /// Case-sensitive substring over name (and email for users), for the portal's filter box.
    pub search: Option<String>,
    pub enabled: Option<bool>,
    pub sort: SortKey,
    pub dir: crate::SortDir,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Filter for `/v3/role_assignments`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssignmentFilter {
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub system: bool,
    pub role_id: Option<String>,
    /// Expand group grants to their members and roles to implied roles.
    pub effective: bool,
    pub include_names: bool,
}
