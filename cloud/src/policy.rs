//! Policy: named, scope-aware rules in the style of OpenStack's secure-RBAC
//! defaults, checked by the services themselves (never by an adapter).
//!
//! A [`Rule`] is a name (`"identity:create_user"`) and a [`Check`], a small
//! expression over the caller ([`RequestContext`]: roles, scope, user) and
//! the object acted on ([`Target`]: owning project, user, domain, and facts
//! only the service can know, such as "shared with the caller"). Roles nest
//! as admin ⊃ member ⊃ reader (implied roles are expanded into the context
//! when a token is validated, so a check names the least role it needs).
//! Every check prints as its oslo.policy check string, so the rules read as
//! Keystone's and Glance's do.
//!
//! Services call [`enforce`] (refuse with [`Denied`], whose message names the
//! rule) or [`allows`] (decide what to show, as `capabilities` answers do).

use std::fmt;

use crate::context::Scope;
use crate::RequestContext;

/// A condition on the caller and the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `role:<name>`: the caller holds the role (implied roles included).
    Role(&'static str),
    /// `project_id:%(target.project_id)s`: the caller's token is scoped to
    /// the project that owns the target.
    OwningProject,
    /// `project_id:%(target.member_id)s`: the caller's token is scoped to
    /// the project the target names as a member (an image member record).
    MemberProject,
    /// `user_id:%(target.user_id)s`: the caller acts on itself.
    OwnUser,
    /// `domain_id:%(target.domain_id)s`: the caller's token is scoped to the
    /// target's domain.
    DomainScope,
    /// `user_domain_id:%(target.domain_id)s`: the caller's user lives in
    /// the target's domain.
    OwnDomain,
    /// `system_scope:all`.
    SystemScope,
    /// `'public':%(target.visibility)s`: the target is visible to everyone.
    Public,
    /// `project_id:%(target.shared_with)s`: the target is shared with the
    /// caller's project (the service looked it up).
    SharedWithCaller,
    /// `project_id:%(target.assigned)s`: the caller holds a role on the
    /// target project (the service looked it up).
    Assigned,
    And(&'static [Check]),
    Or(&'static [Check]),
}

/// A named rule: what services enforce and what a `Denied` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub check: Check,
}

/// The object a rule is checked against. Fields a rule does not read may
/// stay empty; the constructors fill the usual ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The owning project (an image's `owner`, a project itself).
    pub project_id: Option<&'a str>,
    /// The project a member record names.
    pub member_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub domain_id: Option<&'a str>,
    /// Visible to every project (public and community images).
    pub public: bool,
    /// Shared with the caller's project (any member status).
    pub shared_with_caller: bool,
    /// The caller holds a role on `project_id`.
    pub assigned: bool,
}

impl<'a> Target<'a> {
    /// No object: rules that depend only on the caller.
    pub fn none() -> Target<'static> {
        Target::default()
    }

    pub fn project(id: &'a str) -> Target<'a> {
        Target {
            project_id: Some(id),
            ..Default::default()
        }
    }

    /// A target that `owner` owns (`None`: owned by no project).
    pub fn owned_by(owner: Option<&'a str>) -> Target<'a> {
        Target {
            project_id: owner,
            ..Default::default()
        }
    }

    pub fn user(id: &'a str) -> Target<'a> {
        Target {
            user_id: Some(id),
            ..Default::default()
        }
    }

    pub fn domain(id: &'a str) -> Target<'a> {
        Target {
            domain_id: Some(id),
            ..Default::default()
        }
    }
}

/// A refusal; the message names the rule, as Keystone and Glance do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("You are not authorized to perform the requested action: {rule}.")]
pub struct Denied {
    pub rule: &'static str,
}

impl Denied {
    /// What the user is told: the Display text, keyed (the rule is an arg).
    pub fn public(&self) -> crate::PublicMessage {
        crate::msg!(
            "error.policy.denied",
            "You are not authorized to perform the requested action: {rule}.",
            rule = self.rule,
        )
    }
}

impl Check {
    pub fn holds(&self, ctx: &RequestContext, t: &Target) -> bool {
        let same = |a: Option<&str>, b: Option<&str>| a.is_some() && a == b;
        match *self {
            Check::Role(r) => ctx.has_role(r),
            Check::OwningProject => same(ctx.project_id(), t.project_id),
            Check::MemberProject => same(ctx.project_id(), t.member_id),
            Check::OwnUser => same(Some(&ctx.user_id), t.user_id),
            Check::DomainScope => match &ctx.scope {
                Scope::Domain { id, .. } => same(Some(id), t.domain_id),
                _ => false,
            },
            Check::OwnDomain => same(Some(&ctx.user_domain_id), t.domain_id),
            Check::SystemScope => ctx.scope == Scope::System,
            Check::Public => t.public,
            Check::SharedWithCaller => ctx.project_id().is_some() && t.shared_with_caller,
            Check::Assigned => t.assigned,
            Check::And(all) => all.iter().all(|c| c.holds(ctx, t)),
            Check::Or(any) => any.iter().any(|c| c.holds(ctx, t)),
        }
    }
}

impl fmt::Display for Check {
    /// The oslo.policy check string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, parts: &[Check], op: &str| -> fmt::Result {
            for (i, c) in parts.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                match c {
                    Check::And(_) | Check::Or(_) => write!(f, "({c})")?,
                    _ => write!(f, "{c}")?,
                }
            }
            Ok(())
        };
        match self {
            Check::Role(r) => write!(f, "role:{r}"),
            Check::OwningProject => f.write_str("project_id:%(target.project_id)s"),
            Check::MemberProject => f.write_str("project_id:%(target.member_id)s"),
            Check::OwnUser => f.write_str("user_id:%(target.user_id)s"),
            Check::DomainScope => f.write_str("domain_id:%(target.domain_id)s"),
            Check::OwnDomain => f.write_str("user_domain_id:%(target.domain_id)s"),
            Check::SystemScope => f.write_str("system_scope:all"),
            Check::Public => f.write_str("'public':%(target.visibility)s"),
            Check::SharedWithCaller => f.write_str("project_id:%(target.shared_with)s"),
            Check::Assigned => f.write_str("project_id:%(target.assigned)s"),
            Check::And(all) => join(f, all, "and"),
            Check::Or(any) => join(f, any, "or"),
        }
    }
}

/// Does `rule` let `ctx` act on `target`?
pub fn allows(ctx: &RequestContext, rule: &Rule, target: &Target) -> bool {
    rule.check.holds(ctx, target)
}

/// `Ok` when `rule` lets `ctx` act on `target`, else a [`Denied`] naming it.
pub fn enforce(ctx: &RequestContext, rule: &Rule, target: &Target) -> Result<(), Denied> {
    if allows(ctx, rule, target) {
        Ok(())
    } else {
        Err(Denied { rule: rule.name })
    }
}

// ------------------------------------------------------- shared checks

/// The cloud administrator: `admin` in any scope (as Keystone's defaults
/// treat a project-scoped admin on the admin project).
pub const ADMIN: Check = Check::Role("admin");
/// `role:admin or user_id:%(target.user_id)s`
pub const ADMIN_OR_SELF: Check = Check::Or(&[ADMIN, Check::OwnUser]);
/// `role:admin or (role:member and project_id:%(target.project_id)s)`
pub const PROJECT_MEMBER: Check = Check::Or(&[
    ADMIN,
    Check::And(&[Check::Role("member"), Check::OwningProject]),
]);
/// `role:admin or (role:reader and project_id:%(target.project_id)s)`
pub const PROJECT_READER: Check = Check::Or(&[
    ADMIN,
    Check::And(&[Check::Role("reader"), Check::OwningProject]),
]);
/// `role:admin or project_id:%(target.project_id)s` — any role on the
/// project (a token is only ever scoped where its user holds one).
pub const ADMIN_OR_PROJECT: Check = Check::Or(&[ADMIN, Check::OwningProject]);

/// `""`: any authenticated caller.
pub const ANYONE: Check = Check::And(&[]);
/// `role:reader and system_scope:all`
pub const SYSTEM_READER_ONLY: Check = Check::And(&[Check::Role("reader"), Check::SystemScope]);
/// `role:admin or (role:reader and system_scope:all)`: Keystone's
/// `ADMIN_OR_SYSTEM_READER`.
pub const SYSTEM_READER: Check = Check::Or(&[ADMIN, SYSTEM_READER_ONLY]);

const fn rule(name: &'static str, check: Check) -> Rule {
    Rule { name, check }
}

/// The quota engine's rules (Nova's `os_compute_api:os-quota-sets` and
/// Keystone's limits in spirit): admins set limits; a project reads its own.
pub mod quota {
    use super::*;

    pub const SET_LIMIT: Rule = rule("quota:set_limit", ADMIN);
    pub const DELETE_LIMIT: Rule = rule("quota:delete_limit", ADMIN);
    pub const GET_LIMITS: Rule = rule("quota:get_limits", ADMIN_OR_PROJECT);
    pub const GET_USAGE: Rule = rule("quota:get_usage", ADMIN_OR_PROJECT);
    /// The default limits' overrides (Nova's quota class `default`: its
    /// show and update are admin's).
    pub const SET_DEFAULT_LIMIT: Rule = rule("quota:set_default_limit", ADMIN);
    pub const GET_DEFAULT_LIMITS: Rule = rule("quota:get_default_limits", ADMIN);
    /// The limits a project without its own gets, as any user may read
    /// them (Nova's `os-quota-sets:defaults` is `@`).
    pub const GET_DEFAULTS: Rule = rule("quota:get_defaults", ANYONE);
}

/// Keystone's rules. Admin manages identity; a user reads itself and its
/// own projects, groups and application credentials.
pub mod identity {
    use super::*;

    pub const LIST_DOMAINS: Rule = rule("identity:list_domains", ADMIN);
    /// Any user reads its own domain.
    pub const GET_DOMAIN: Rule = rule("identity:get_domain", Check::Or(&[ADMIN, Check::OwnDomain]));
    pub const CREATE_DOMAIN: Rule = rule("identity:create_domain", ADMIN);
    pub const UPDATE_DOMAIN: Rule = rule("identity:update_domain", ADMIN);
    pub const DELETE_DOMAIN: Rule = rule("identity:delete_domain", ADMIN);

    pub const LIST_PROJECTS: Rule = rule("identity:list_projects", ADMIN);
    /// The token's own project, or one the user holds a role on.
    pub const GET_PROJECT: Rule = rule(
        "identity:get_project",
        Check::Or(&[ADMIN, Check::OwningProject, Check::Assigned]),
    );
    pub const CREATE_PROJECT: Rule = rule("identity:create_project", ADMIN);
    pub const UPDATE_PROJECT: Rule = rule("identity:update_project", ADMIN);
    pub const DELETE_PROJECT: Rule = rule("identity:delete_project", ADMIN);
    pub const LIST_USER_PROJECTS: Rule = rule("identity:list_user_projects", ADMIN_OR_SELF);

    pub const LIST_USERS: Rule = rule("identity:list_users", ADMIN);
    pub const GET_USER: Rule = rule("identity:get_user", ADMIN_OR_SELF);
    pub const CREATE_USER: Rule = rule("identity:create_user", ADMIN);
    pub const UPDATE_USER: Rule = rule("identity:update_user", ADMIN);
    pub const DELETE_USER: Rule = rule("identity:delete_user", ADMIN);

    pub const LIST_GROUPS: Rule = rule("identity:list_groups", ADMIN);
    pub const GET_GROUP: Rule = rule("identity:get_group", ADMIN);
    pub const CREATE_GROUP: Rule = rule("identity:create_group", ADMIN);
    pub const UPDATE_GROUP: Rule = rule("identity:update_group", ADMIN);
    pub const DELETE_GROUP: Rule = rule("identity:delete_group", ADMIN);
    pub const ADD_USER_TO_GROUP: Rule = rule("identity:add_user_to_group", ADMIN);
    pub const REMOVE_USER_FROM_GROUP: Rule = rule("identity:remove_user_from_group", ADMIN);
    pub const CHECK_USER_IN_GROUP: Rule = rule("identity:check_user_in_group", ADMIN);
    pub const LIST_USERS_IN_GROUP: Rule = rule("identity:list_users_in_group", ADMIN);
    pub const LIST_GROUPS_FOR_USER: Rule = rule("identity:list_groups_for_user", ADMIN_OR_SELF);

    pub const LIST_ROLES: Rule = rule("identity:list_roles", ADMIN);
    pub const GET_ROLE: Rule = rule("identity:get_role", ADMIN);
    pub const CREATE_ROLE: Rule = rule("identity:create_role", ADMIN);
    pub const UPDATE_ROLE: Rule = rule("identity:update_role", ADMIN);
    pub const DELETE_ROLE: Rule = rule("identity:delete_role", ADMIN);
    pub const CREATE_IMPLIED_ROLE: Rule = rule("identity:create_implied_role", ADMIN);
    pub const DELETE_IMPLIED_ROLE: Rule = rule("identity:delete_implied_role", ADMIN);
    pub const LIST_ROLE_INFERENCE_RULES: Rule = rule("identity:list_role_inference_rules", ADMIN);

    pub const CREATE_GRANT: Rule = rule("identity:create_grant", ADMIN);
    pub const REVOKE_GRANT: Rule = rule("identity:revoke_grant", ADMIN);
    pub const CHECK_GRANT: Rule = rule("identity:check_grant", ADMIN);
    pub const LIST_GRANTS: Rule = rule("identity:list_grants", ADMIN);
    /// Listing everyone's assignments; a user may list its own.
    pub const LIST_ROLE_ASSIGNMENTS: Rule = rule("identity:list_role_assignments", ADMIN_OR_SELF);

    /// OS-TRUST. Only the trustor makes a trust (the target's user is the
    /// trustor); the trustor, the trustee (the service checks each as the
    /// target's user) or an admin reads one; the trustor or an admin
    /// deletes it. Listing without naming oneself is an admin's.
    pub const CREATE_TRUST: Rule = rule("identity:create_trust", Check::OwnUser);
    pub const GET_TRUST: Rule = rule("identity:get_trust", ADMIN_OR_SELF);
    pub const LIST_TRUSTS: Rule = rule("identity:list_trusts", ADMIN_OR_SELF);
    pub const DELETE_TRUST: Rule = rule("identity:delete_trust", ADMIN_OR_SELF);

    /// Another token: its own user, an admin or a service may look.
    pub const VALIDATE_TOKEN: Rule = rule(
        "identity:validate_token",
        Check::Or(&[ADMIN, Check::Role("service"), Check::OwnUser]),
    );

    pub const LIST_SERVICES: Rule = rule("identity:list_services", ADMIN);
    pub const GET_SERVICE: Rule = rule("identity:get_service", ADMIN);
    pub const LIST_ENDPOINTS: Rule = rule("identity:list_endpoints", ADMIN);
    pub const GET_ENDPOINT: Rule = rule("identity:get_endpoint", ADMIN);

    pub const LIST_APPLICATION_CREDENTIALS: Rule =
        rule("identity:list_application_credentials", ADMIN_OR_SELF);
    pub const GET_APPLICATION_CREDENTIAL: Rule =
        rule("identity:get_application_credential", ADMIN_OR_SELF);
    pub const LIST_ACCESS_RULES: Rule = rule("identity:list_access_rules", ADMIN_OR_SELF);
    pub const GET_ACCESS_RULE: Rule = rule("identity:get_access_rule", ADMIN_OR_SELF);
    pub const DELETE_ACCESS_RULE: Rule = rule("identity:delete_access_rule", ADMIN_OR_SELF);

    // The writable catalog, policy blobs, credentials and domain
    // configuration (keystone/common/policies/{service,endpoint,region,
    // endpoint_group,policy,credential,ec2_credential,domain_config}.py).
    pub const CREATE_SERVICE: Rule = rule("identity:create_service", ADMIN);
    pub const UPDATE_SERVICE: Rule = rule("identity:update_service", ADMIN);
    pub const DELETE_SERVICE: Rule = rule("identity:delete_service", ADMIN);
    pub const CREATE_ENDPOINT: Rule = rule("identity:create_endpoint", ADMIN);
    pub const UPDATE_ENDPOINT: Rule = rule("identity:update_endpoint", ADMIN);
    pub const DELETE_ENDPOINT: Rule = rule("identity:delete_endpoint", ADMIN);
    /// Regions are readable by anyone with a token (`""`).
    pub const GET_REGION: Rule = rule("identity:get_region", ANYONE);
    pub const LIST_REGIONS: Rule = rule("identity:list_regions", ANYONE);
    pub const CREATE_REGION: Rule = rule("identity:create_region", ADMIN);
    pub const UPDATE_REGION: Rule = rule("identity:update_region", ADMIN);
    pub const DELETE_REGION: Rule = rule("identity:delete_region", ADMIN);
    pub const LIST_ENDPOINT_GROUPS: Rule = rule("identity:list_endpoint_groups", SYSTEM_READER);
    pub const GET_ENDPOINT_GROUP: Rule = rule("identity:get_endpoint_group", SYSTEM_READER);
    pub const CREATE_ENDPOINT_GROUP: Rule = rule("identity:create_endpoint_group", ADMIN);
    pub const UPDATE_ENDPOINT_GROUP: Rule = rule("identity:update_endpoint_group", ADMIN);
    pub const DELETE_ENDPOINT_GROUP: Rule = rule("identity:delete_endpoint_group", ADMIN);
    pub const LIST_POLICIES: Rule = rule("identity:list_policies", SYSTEM_READER);
    pub const GET_POLICY: Rule = rule("identity:get_policy", SYSTEM_READER);
    pub const CREATE_POLICY: Rule = rule("identity:create_policy", ADMIN);
    pub const UPDATE_POLICY: Rule = rule("identity:update_policy", ADMIN);
    pub const DELETE_POLICY: Rule = rule("identity:delete_policy", ADMIN);
    /// The credential's owner, or an admin (`target.credential.user_id`
    /// is the target's `user_id`).
    pub const GET_CREDENTIAL: Rule = rule(
        "identity:get_credential",
        Check::Or(&[ADMIN, SYSTEM_READER_ONLY, Check::OwnUser]),
    );
    pub const LIST_CREDENTIALS: Rule = rule(
        "identity:list_credentials",
        Check::Or(&[ADMIN, SYSTEM_READER_ONLY, Check::OwnUser]),
    );
    pub const CREATE_CREDENTIAL: Rule = rule("identity:create_credential", ADMIN_OR_SELF);
    pub const UPDATE_CREDENTIAL: Rule = rule("identity:update_credential", ADMIN_OR_SELF);
    pub const DELETE_CREDENTIAL: Rule = rule("identity:delete_credential", ADMIN_OR_SELF);
    pub const EC2_GET_CREDENTIAL: Rule = rule(
        "identity:ec2_get_credential",
        Check::Or(&[ADMIN, SYSTEM_READER_ONLY, Check::OwnUser]),
    );
    pub const EC2_LIST_CREDENTIALS: Rule = rule(
        "identity:ec2_list_credentials",
        Check::Or(&[ADMIN, SYSTEM_READER_ONLY, Check::OwnUser]),
    );
    pub const EC2_CREATE_CREDENTIAL: Rule = rule("identity:ec2_create_credential", ADMIN_OR_SELF);
    pub const EC2_DELETE_CREDENTIAL: Rule = rule("identity:ec2_delete_credential", ADMIN_OR_SELF);
    pub const CREATE_DOMAIN_CONFIG: Rule = rule("identity:create_domain_config", ADMIN);
    pub const GET_DOMAIN_CONFIG: Rule = rule("identity:get_domain_config", SYSTEM_READER);
    pub const UPDATE_DOMAIN_CONFIG: Rule = rule("identity:update_domain_config", ADMIN);
    pub const DELETE_DOMAIN_CONFIG: Rule = rule("identity:delete_domain_config", ADMIN);
    pub const GET_DOMAIN_CONFIG_DEFAULT: Rule =
        rule("identity:get_domain_config_default", SYSTEM_READER);
}

/// Glance's rules (secure RBAC): readers of a project read and download its
/// images, members change and (de)activate them, admins publish and hand
/// images to other projects.
pub mod image {
    use super::*;

    /// Creating an image in the token's project (the target is that
    /// project).
    pub const ADD_IMAGE: Rule = rule(
        "image:add_image",
        Check::And(&[
            Check::OwningProject,
            Check::Or(&[ADMIN, Check::Role("member")]),
        ]),
    );
    /// Seeing an image at all: public or community, owned by the caller's
    /// project, or shared with it.
    pub const GET_IMAGE: Rule = rule(
        "image:get_image",
        Check::Or(&[
            ADMIN,
            Check::Public,
            Check::OwningProject,
            Check::SharedWithCaller,
        ]),
    );
    /// Every image of every project (Glance's admin view of lists).
    pub const LIST_ALL_IMAGES: Rule = rule("image:list_all_images", ADMIN);
    pub const MODIFY_IMAGE: Rule = rule("image:modify_image", PROJECT_MEMBER);
    pub const DELETE_IMAGE: Rule = rule("image:delete_image", PROJECT_MEMBER);
    pub const UPLOAD_IMAGE: Rule = rule("image:upload_image", PROJECT_MEMBER);
    /// Readers download what they see; a deactivated image only an admin.
    pub const DOWNLOAD_IMAGE: Rule = rule("image:download_image", GET_IMAGE.check);
    pub const DOWNLOAD_DEACTIVATED: Rule = rule("image:download_deactivated_image", ADMIN);
    pub const PUBLICIZE_IMAGE: Rule = rule("image:publicize_image", ADMIN);
    /// The owning project's members (de)activate its images, as admins do.
    pub const DEACTIVATE: Rule = rule("image:deactivate", PROJECT_MEMBER);
    pub const REACTIVATE: Rule = rule("image:reactivate", PROJECT_MEMBER);
    /// Naming an image's owner (the target is the owner asked for): its
    /// own project for anyone, any project for an admin (Glance's
    /// `project_id:%(owner)s` in `add_image`, and its `is_admin` check on
    /// a changed owner).
    pub const SET_OWNER: Rule = rule("image:set_owner", Check::Or(&[ADMIN, Check::OwningProject]));
    pub const GET_USAGE: Rule = rule("image:get_usage", ADMIN_OR_PROJECT);

    pub const ADD_MEMBER: Rule = rule("image:add_member", PROJECT_MEMBER);
    pub const DELETE_MEMBER: Rule = rule("image:delete_member", PROJECT_MEMBER);
    /// Every member of an image: its owner and admins; a member project
    /// sees only its own record.
    pub const GET_MEMBERS: Rule = rule("image:get_members", ADMIN_OR_PROJECT);
    pub const GET_MEMBER: Rule = rule(
        "image:get_member",
        Check::Or(&[ADMIN, Check::OwningProject, Check::MemberProject]),
    );
    /// The tasks API (`/v2/tasks`): admins only (Glance's
    /// `tasks_api_access`); an image's own tasks are read with the image.
    pub const TASKS_API_ACCESS: Rule = rule("image:tasks_api_access", ADMIN);
    /// Importing staged or fetched data: whoever may change the image.
    pub const IMPORT_IMAGE: Rule = rule("image:modify_image", PROJECT_MEMBER);

    /// Only the member project answers (admins may too).
    pub const MODIFY_MEMBER: Rule = rule(
        "image:modify_member",
        Check::Or(&[ADMIN, Check::MemberProject]),
    );
}

/// Glance's metadata definitions (metadefs) rules, secure RBAC: admins
/// manage the catalog; a reader sees public namespaces and its own
/// project's private ones, with everything in them.
pub mod metadef {
    use super::*;

    /// `role:admin or (role:reader and (project_id:%(target.project_id)s
    /// or 'public':%(target.visibility)s))`
    pub const READ_NAMESPACE: Check = Check::Or(&[
        ADMIN,
        Check::And(&[
            Check::Role("reader"),
            Check::Or(&[Check::OwningProject, Check::Public]),
        ]),
    ]);

    /// Listing at all (the target is the caller's own project).
    pub const GET_NAMESPACES: Rule = rule("image:get_metadef_namespaces", PROJECT_READER);
    pub const GET_NAMESPACE: Rule = rule("image:get_metadef_namespace", READ_NAMESPACE);
    pub const ADD_NAMESPACE: Rule = rule("image:add_metadef_namespace", ADMIN);
    pub const MODIFY_NAMESPACE: Rule = rule("image:modify_metadef_namespace", ADMIN);
    pub const DELETE_NAMESPACE: Rule = rule("image:delete_metadef_namespace", ADMIN);

    pub const GET_OBJECTS: Rule = rule("image:get_metadef_objects", READ_NAMESPACE);
    pub const GET_OBJECT: Rule = rule("image:get_metadef_object", READ_NAMESPACE);
    pub const ADD_OBJECT: Rule = rule("image:add_metadef_object", ADMIN);
    pub const MODIFY_OBJECT: Rule = rule("image:modify_metadef_object", ADMIN);
    pub const DELETE_OBJECT: Rule = rule("image:delete_metadef_object", ADMIN);

    pub const GET_PROPERTIES: Rule = rule("image:get_metadef_properties", READ_NAMESPACE);
    pub const GET_PROPERTY: Rule = rule("image:get_metadef_property", READ_NAMESPACE);
    pub const ADD_PROPERTY: Rule = rule("image:add_metadef_property", ADMIN);
    pub const MODIFY_PROPERTY: Rule = rule("image:modify_metadef_property", ADMIN);
    pub const REMOVE_PROPERTY: Rule = rule("image:remove_metadef_property", ADMIN);

    pub const GET_TAGS: Rule = rule("image:get_metadef_tags", READ_NAMESPACE);
    pub const GET_TAG: Rule = rule("image:get_metadef_tag", READ_NAMESPACE);
    pub const ADD_TAG: Rule = rule("image:add_metadef_tag", ADMIN);
    pub const ADD_TAGS: Rule = rule("image:add_metadef_tags", ADMIN);
    pub const MODIFY_TAG: Rule = rule("image:modify_metadef_tag", ADMIN);
    pub const DELETE_TAG: Rule = rule("image:delete_metadef_tag", ADMIN);
    pub const DELETE_TAGS: Rule = rule("image:delete_metadef_tags", ADMIN);

    /// The catalog of resource types (the target is the caller's project)
    /// and a namespace's associations.
    pub const LIST_RESOURCE_TYPES: Rule = rule("image:list_metadef_resource_types", READ_NAMESPACE);
    pub const GET_RESOURCE_TYPE: Rule = rule("image:get_metadef_resource_type", READ_NAMESPACE);
    pub const ADD_RESOURCE_TYPE_ASSOCIATION: Rule =
        rule("image:add_metadef_resource_type_association", ADMIN);
    pub const REMOVE_RESOURCE_TYPE_ASSOCIATION: Rule =
        rule("image:remove_metadef_resource_type_association", ADMIN);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(roles: &[&str], scope: Scope) -> RequestContext {
        RequestContext {
            user_id: "u1".into(),
            user_name: "u".into(),
            user_domain_id: "default".into(),
            scope,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            audit_id: "a".into(),
            app_cred_id: None,
            request_id: crate::context::new_request_id(),
        }
    }

    fn project(id: &str) -> Scope {
        Scope::Project {
            id: id.into(),
            name: id.into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        }
    }

    #[test]
    fn check_strings_read_as_oslo_policy() {
        assert_eq!(
            PROJECT_MEMBER.to_string(),
            "role:admin or (role:member and project_id:%(target.project_id)s)"
        );
        assert_eq!(
            identity::GET_USER.check.to_string(),
            "role:admin or user_id:%(target.user_id)s"
        );
    }

    #[test]
    fn roles_nest_and_scope_matters() {
        let owned = Target::project("p1");
        let member = ctx(&["member", "reader"], project("p1"));
        let reader = ctx(&["reader"], project("p1"));
        let elsewhere = ctx(&["member", "reader"], project("p2"));
        let admin = ctx(&["admin", "member", "reader"], project("p9"));
        let rule = &image::MODIFY_IMAGE;
        assert!(allows(&member, rule, &owned));
        assert!(allows(&admin, rule, &owned));
        assert_eq!(
            enforce(&reader, rule, &owned),
            Err(Denied {
                rule: "image:modify_image"
            })
        );
        assert!(!allows(&elsewhere, rule, &owned));
        assert!(allows(&reader, &image::GET_IMAGE, &owned));
        // An unscoped token owns nothing, even when the target names no owner.
        let unscoped = ctx(&["member"], Scope::Unscoped);
        assert!(!allows(&unscoped, rule, &Target::owned_by(None)));
        // Domain and system scope.
        let domain_admin = ctx(
            &["reader"],
            Scope::Domain {
                id: "d1".into(),
                name: "d".into(),
            },
        );
        assert!(Check::DomainScope.holds(&domain_admin, &Target::domain("d1")));
        assert!(!Check::DomainScope.holds(&domain_admin, &Target::domain("d2")));
        assert!(Check::SystemScope.holds(&ctx(&[], Scope::System), &Target::none()));
        assert!(!Check::SystemScope.holds(&member, &Target::none()));
    }

    #[test]
    fn denied_names_the_rule() {
        let reader = ctx(&["reader"], project("p1"));
        let err = enforce(&reader, &identity::CREATE_USER, &Target::none()).expect_err("a reader");
        assert_eq!(
            err.to_string(),
            "You are not authorized to perform the requested action: identity:create_user."
        );
        assert!(enforce(&reader, &identity::GET_USER, &Target::user("u1")).is_ok());
    }
}

/// Compute (nova/policies/*.py, secure-RBAC defaults): project members act
/// on their project's servers, readers look; admins manage flavors, nodes
/// and every project's servers. A server's target is its project (and, for
/// key pairs, its user).
pub mod compute {
    use super::*;

    pub const SERVERS_INDEX: Rule = rule("os_compute_api:servers:index", PROJECT_READER);
    pub const SERVERS_INDEX_ALL: Rule = rule("os_compute_api:servers:index:get_all_tenants", ADMIN);
    pub const SERVERS_SHOW: Rule = rule("os_compute_api:servers:show", PROJECT_READER);
    /// Booting in the token's project (the target is that project).
    pub const SERVERS_CREATE: Rule = rule("os_compute_api:servers:create", PROJECT_MEMBER);
    pub const SERVERS_UPDATE: Rule = rule("os_compute_api:servers:update", PROJECT_MEMBER);
    pub const SERVERS_DELETE: Rule = rule("os_compute_api:servers:delete", PROJECT_MEMBER);
    /// Start, stop, reboot, pause, suspend and their reverses.
    pub const SERVERS_ACTION: Rule = rule("os_compute_api:servers:action", PROJECT_MEMBER);
    pub const SERVERS_LOCK: Rule = rule("os_compute_api:os-lock-server:lock", PROJECT_MEMBER);
    /// Unlocking what an admin locked is an admin's.
    pub const SERVERS_UNLOCK_OVERRIDE: Rule = rule(
        "os_compute_api:os-lock-server:unlock:unlock_override",
        ADMIN,
    );
    /// Acting on a locked server (Nova lets admins through).
    pub const SERVERS_LOCKED_OVERRIDE: Rule = rule("os_compute_api:servers:locked_override", ADMIN);
    pub const CONSOLE_OUTPUT: Rule = rule("os_compute_api:os-console-output", PROJECT_MEMBER);
    pub const METADATA_READ: Rule = rule("os_compute_api:server-metadata:index", PROJECT_READER);
    pub const METADATA_WRITE: Rule = rule("os_compute_api:server-metadata:update", PROJECT_MEMBER);
    pub const INSTANCE_ACTIONS: Rule =
        rule("os_compute_api:os-instance-actions:list", PROJECT_READER);
    /// Host, node and instance name on a server (OS-EXT-SRV-ATTR).
    pub const EXTENDED_ATTRIBUTES: Rule =
        rule("os_compute_api:os-extended-server-attributes", ADMIN);

    pub const FLAVOR_READ: Rule = rule("os_compute_api:os-flavor-manage:index", ANYONE);
    pub const FLAVOR_MANAGE: Rule = rule("os_compute_api:os-flavor-manage:create", ADMIN);
    pub const FLAVOR_ACCESS: Rule = rule("os_compute_api:os-flavor-access", ADMIN);
    pub const FLAVOR_EXTRA_SPECS_WRITE: Rule =
        rule("os_compute_api:os-flavor-extra-specs:update", ADMIN);

    /// A user's own key pairs; an admin's for anyone (target: the key's user).
    pub const KEYPAIRS: Rule = rule("os_compute_api:os-keypairs", ADMIN_OR_SELF);

    pub const HYPERVISORS: Rule = rule("os_compute_api:os-hypervisors:list", ADMIN);
    pub const SERVICES: Rule = rule("os_compute_api:os-services:list", ADMIN);
    pub const SERVICES_UPDATE: Rule = rule("os_compute_api:os-services:update", ADMIN);
    /// Zone names are anyone's; their hosts (detail) an admin's.
    pub const AVAILABILITY_ZONES: Rule = rule("os_compute_api:os-availability-zone:list", ANYONE);
    pub const AVAILABILITY_ZONES_DETAIL: Rule =
        rule("os_compute_api:os-availability-zone:detail", ADMIN);
    pub const USAGE_PROJECT: Rule =
        rule("os_compute_api:os-simple-tenant-usage:show", PROJECT_READER);
    pub const USAGE_ALL: Rule = rule("os_compute_api:os-simple-tenant-usage:list", ADMIN);
}

/// Networking (neutron/conf/policies/*.py, secure-RBAC defaults): readers
/// of a project read its networks, subnets and ports; members create and
/// change their own; shared and external networks (and their subnets) are
/// visible to every project (the target's `public`); admins make networks
/// shared or external and choose their provider segment. Attributes that
/// only the network's owner may set on a port (a chosen address or MAC, a
/// `network:` device owner, port security) are checked against the
/// network's project.
pub mod network {
    use super::*;

    /// `role:admin or (role:reader and project_id:%(target.project_id)s)
    /// or 'public':%(target.visibility)s` (Neutron's `rule:shared or
    /// rule:external`).
    pub const READ_VISIBLE: Check = Check::Or(&[
        ADMIN,
        Check::And(&[Check::Role("reader"), Check::OwningProject]),
        Check::Public,
    ]);
    /// `role:admin or project_id:%(target.project_id)s or
    /// project_id:%(target.shared_with)s`: ports may be made on one's own
    /// networks and on shared ones.
    pub const OWN_OR_SHARED: Check =
        Check::Or(&[ADMIN, Check::OwningProject, Check::SharedWithCaller]);
    /// The network's owner or an admin (Neutron's `rule:network_owner`).
    pub const NETWORK_OWNER: Check = Check::Or(&[ADMIN, Check::OwningProject]);

    pub const GET_NETWORK: Rule = rule("get_network", READ_VISIBLE);
    /// Every project's networks in a list.
    pub const GET_ALL_NETWORKS: Rule = rule("get_network:all_projects", ADMIN);
    pub const CREATE_NETWORK: Rule = rule("create_network", PROJECT_MEMBER);
    pub const CREATE_NETWORK_SHARED: Rule = rule("create_network:shared", ADMIN);
    pub const CREATE_NETWORK_EXTERNAL: Rule = rule("create_network:router:external", ADMIN);
    pub const CREATE_NETWORK_PROVIDER: Rule = rule("create_network:provider:network_type", ADMIN);
    pub const UPDATE_NETWORK: Rule = rule("update_network", PROJECT_MEMBER);
    pub const UPDATE_NETWORK_SHARED: Rule = rule("update_network:shared", ADMIN);
    pub const UPDATE_NETWORK_EXTERNAL: Rule = rule("update_network:router:external", ADMIN);
    pub const DELETE_NETWORK: Rule = rule("delete_network", PROJECT_MEMBER);

    pub const GET_SUBNET: Rule = rule("get_subnet", READ_VISIBLE);
    /// Subnets are made on networks the caller's project owns (the target
    /// is the network's project).
    pub const CREATE_SUBNET: Rule = rule("create_subnet", PROJECT_MEMBER);
    pub const UPDATE_SUBNET: Rule = rule("update_subnet", PROJECT_MEMBER);
    pub const DELETE_SUBNET: Rule = rule("delete_subnet", PROJECT_MEMBER);

    pub const GET_PORT: Rule = rule("get_port", PROJECT_READER);
    /// The port's project (the target is the project it is made in).
    pub const CREATE_PORT: Rule = rule("create_port", PROJECT_MEMBER);
    /// The network the port goes on (the target is the network).
    pub const CREATE_PORT_ON_NETWORK: Rule = rule("create_port:network_id", OWN_OR_SHARED);
    pub const CREATE_PORT_IP_ADDRESS: Rule =
        rule("create_port:fixed_ips:ip_address", NETWORK_OWNER);
    pub const CREATE_PORT_MAC_ADDRESS: Rule = rule("create_port:mac_address", NETWORK_OWNER);
    pub const CREATE_PORT_NETWORK_DEVICE: Rule = rule("create_port:device_owner", NETWORK_OWNER);
    pub const CREATE_PORT_SECURITY: Rule = rule("create_port:port_security_enabled", NETWORK_OWNER);
    pub const CREATE_PORT_ADDRESS_PAIRS: Rule =
        rule("create_port:allowed_address_pairs", NETWORK_OWNER);
    pub const CREATE_PORT_BINDING_HOST: Rule = rule("create_port:binding:host_id", ADMIN);
    pub const UPDATE_PORT: Rule = rule("update_port", PROJECT_MEMBER);
    pub const UPDATE_PORT_IP_ADDRESS: Rule =
        rule("update_port:fixed_ips:ip_address", NETWORK_OWNER);
    pub const UPDATE_PORT_NETWORK_DEVICE: Rule = rule("update_port:device_owner", NETWORK_OWNER);
    pub const UPDATE_PORT_SECURITY: Rule = rule("update_port:port_security_enabled", NETWORK_OWNER);
    pub const UPDATE_PORT_ADDRESS_PAIRS: Rule =
        rule("update_port:allowed_address_pairs", NETWORK_OWNER);
    pub const UPDATE_PORT_BINDING_HOST: Rule = rule("update_port:binding:host_id", ADMIN);
    pub const DELETE_PORT: Rule = rule("delete_port", PROJECT_MEMBER);

    /// Security groups and rules are their project's (the target), as in
    /// neutron/conf/policies/security_group.py.
    pub const GET_SECURITY_GROUP: Rule = rule("get_security_group", PROJECT_READER);
    pub const GET_ALL_SECURITY_GROUPS: Rule = rule("get_security_group:all_projects", ADMIN);
    pub const CREATE_SECURITY_GROUP: Rule = rule("create_security_group", PROJECT_MEMBER);
    pub const UPDATE_SECURITY_GROUP: Rule = rule("update_security_group", PROJECT_MEMBER);
    pub const DELETE_SECURITY_GROUP: Rule = rule("delete_security_group", PROJECT_MEMBER);
    pub const GET_SECURITY_GROUP_RULE: Rule = rule("get_security_group_rule", PROJECT_READER);
    pub const CREATE_SECURITY_GROUP_RULE: Rule = rule("create_security_group_rule", PROJECT_MEMBER);
    pub const DELETE_SECURITY_GROUP_RULE: Rule = rule("delete_security_group_rule", PROJECT_MEMBER);

    /// Routers and floating IPs are their project's (the target), as in
    /// neutron/conf/policies/router.py and floatingip.py; SNAT and chosen
    /// external addresses are the admin's.
    pub const GET_ROUTER: Rule = rule("get_router", PROJECT_READER);
    pub const GET_ALL_ROUTERS: Rule = rule("get_router:all_projects", ADMIN);
    pub const CREATE_ROUTER: Rule = rule("create_router", PROJECT_MEMBER);
    pub const UPDATE_ROUTER: Rule = rule("update_router", PROJECT_MEMBER);
    pub const DELETE_ROUTER: Rule = rule("delete_router", PROJECT_MEMBER);
    pub const ROUTER_GATEWAY_SNAT: Rule =
        rule("create_router:external_gateway_info:enable_snat", ADMIN);
    pub const ROUTER_GATEWAY_FIXED_IPS: Rule = rule(
        "create_router:external_gateway_info:external_fixed_ips",
        ADMIN,
    );
    pub const ADD_ROUTER_INTERFACE: Rule = rule("add_router_interface", PROJECT_MEMBER);
    pub const REMOVE_ROUTER_INTERFACE: Rule = rule("remove_router_interface", PROJECT_MEMBER);
    pub const GET_FLOATING_IP: Rule = rule("get_floatingip", PROJECT_READER);
    pub const GET_ALL_FLOATING_IPS: Rule = rule("get_floatingip:all_projects", ADMIN);
    pub const CREATE_FLOATING_IP: Rule = rule("create_floatingip", PROJECT_MEMBER);
    pub const CREATE_FLOATING_IP_ADDRESS: Rule =
        rule("create_floatingip:floating_ip_address", ADMIN);
    pub const UPDATE_FLOATING_IP: Rule = rule("update_floatingip", PROJECT_MEMBER);
    pub const DELETE_FLOATING_IP: Rule = rule("delete_floatingip", PROJECT_MEMBER);
}
