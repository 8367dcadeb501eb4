//! Who is asking: built from a validated token, passed to every service call.

use serde::{Deserialize, Serialize};

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Unscoped,
    Project {
        id: String,
        name: String,
        domain_id: String,
        domain_name: String,
    },
    Domain {
        id: String,
        name: String,
    },
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub user_id: String,
    pub user_name: String,
    pub user_domain_id: String,
    pub scope: Scope,
    /// Effective role names (implied roles expanded).
    pub roles: Vec<String>,
    pub audit_id: String,
    pub app_cred_id: Option<String>,
    /// `req-<uuid>`: the request this call serves (the
    /// `x-openstack-request-id` of its response), or a fresh id for an
    /// internal job.
    pub request_id: String,
}

tokio::task_local! {
    /// The id of the HTTP request being served on this task, set by the
    /// server's request-id layer.
    static REQUEST_ID: String;
}

/// A new request id in the OpenStack form, `req-<uuid>`.
pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4().hyphenated())
}

/// The id of the request served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` as serving request `id`: contexts built inside it
/// ([`crate::identity::TokenInfo::context`]) carry the id.
pub async fn with_request_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

impl RequestContext {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Cloud administrator: the `admin` role in any scope (as Keystone's
    /// default policy treats project-scoped admin on the admin project).
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Project { id, .. } => Some(id),
            _ => None,
        }
    }

    /// A context for internal jobs (bootstrap, schedulers): acts as admin.
    pub fn internal() -> RequestContext {
        RequestContext {
            user_id: "internal".into(),
            user_name: "internal".into(),
            user_domain_id: "default".into(),
            scope: Scope::System,
            roles: vec!["admin".into(), "member".into(), "reader".into()],
            audit_id: "internal".into(),
            app_cred_id: None,
            request_id: current_request_id().unwrap_or_else(new_request_id),
        }
    }
}
