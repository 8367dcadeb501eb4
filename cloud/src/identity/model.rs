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
    /// Empty for a domain seen as a project (`is_domain`).
    pub domain_id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// The parent project; `None` when the parent is the domain itself.
    pub parent_id: Option<String>,
    /// Keystone's "project acting as a domain": a domain seen through the
    /// projects API (Gureum keeps domains in their own table).
    pub is_domain: bool,
    pub tags: Vec<String>,
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
    /// Attributes a client set that Gureum has no column for; Keystone keeps
    /// and returns them (`project_id` is a common one).
    pub extra: Extra,
}

/// A record's extra attributes: a JSON object.
pub type Extra = serde_json::Map<String, serde_json::Value>;

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
    /// A domain-specific role's domain; `None` for a global role. Domain
    /// roles never appear in tokens themselves, only the global roles they
    /// imply.
    pub domain_id: Option<String>,
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
    /// OS-INHERIT: the grant applies to the target's projects, not to it.
    pub inherited: bool,
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
    /// Empty: the credential may call anything its roles allow.
    pub access_rules: Vec<AccessRule>,
}

/// What an application credential may call: a service type, an HTTP
/// method and a path under the service's endpoint, where `*` stands for
/// one path segment and `**` for any number of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRule {
    pub id: String,
    pub service: String,
    pub path: String,
    pub method: String,
}

impl AccessRule {
    /// Whether a request matches the rule.
    pub fn allows(&self, service: &str, method: &str, path: &str) -> bool {
        fn matches(rule: &[&str], path: &[&str]) -> bool {
            match (rule.first(), path.first()) {
                (None, None) => true,
                (Some(&"**"), _) => (0..=path.len()).any(|k| matches(&rule[1..], &path[k..])),
                (Some(r), Some(p)) => (*r == "*" || r == p) && matches(&rule[1..], &path[1..]),
                _ => false,
            }
        }
        let split = |s: &'_ str| -> Vec<String> {
            s.trim_end_matches('/')
                .split('/')
                .map(str::to_string)
                .collect()
        };
        let (rule, path) = (split(&self.path), split(path));
        let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        self.service == service && self.method.eq_ignore_ascii_case(method) && matches(&rule, &path)
    }
}

/// An access rule for a new credential: an existing rule's id, or a new
/// (service, path, method).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewAccessRule {
    pub id: Option<String>,
    pub service: Option<String>,
    pub path: Option<String>,
    pub method: Option<String>,
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
    /// A trust-scoped token's trust (`OS-TRUST:trust`).
    pub trust: Option<TrustRef>,
    /// An application credential's access rules: when any, the token may
    /// make only the requests they allow.
    pub access_rules: Vec<AccessRule>,
}

/// What a trust-scoped token says of its trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRef {
    pub id: String,
    pub impersonation: bool,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
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
    /// OS-TRUST: a token under a trust the authenticated user is trustee of.
    Trust(String),
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
    /// A project (or the domain's id, meaning top level).
    pub parent_id: Option<String>,
    /// Create a domain instead (Keystone's `is_domain: true`).
    pub is_domain: bool,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
    /// Neither can change (Keystone refuses a move); given, they must match.
    pub parent_id: Option<String>,
    pub domain_id: Option<String>,
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
    pub extra: Extra,
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
    /// Merged into the user's extra attributes.
    pub extra: Extra,
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
    pub access_rules: Vec<NewAccessRule>,
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
    /// Projects only: Keystone's `?parent_id=`, `?is_domain=` and the tag
    /// filters (`tags` all of, `tags-any`, `not-tags`, `not-tags-any`).
    pub parent_id: Option<String>,
    pub is_domain: Option<bool>,
    pub tags: Vec<String>,
    pub tags_any: Vec<String>,
    pub not_tags: Vec<String>,
    pub not_tags_any: Vec<String>,
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
