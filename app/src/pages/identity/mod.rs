//! Identity panels: projects, users, groups, roles, application credentials.

pub mod app_creds;
pub mod groups;
pub mod projects;
pub mod roles;
pub mod users;
