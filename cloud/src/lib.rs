//! Gureum's domain: one typed service API per OpenStack service.
//!
//! Every service call takes a [`RequestContext`] and enforces policy itself;
//! the portal's server functions and the REST handlers are thin adapters
//! over these calls. Nothing in this crate speaks HTTP.

pub mod compute;
pub mod context;
pub mod db;
pub mod error;
pub mod identity;
pub mod image;
pub mod lifecycle;
pub mod network;
pub mod page;
pub mod policy;
pub mod quota;
pub mod secret;
pub mod servers;
pub mod testing;
pub mod text;

pub use context::{RequestContext, Scope};
pub use db::{Backend, Db};
pub use error::{ErrorKind, PublicMessage, ServiceError};
pub use page::{Page, SortDir};
