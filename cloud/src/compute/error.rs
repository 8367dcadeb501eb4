use std::panic::Location;

use crate::error::{ErrorKind, PublicMessage, ServiceError};
use crate::policy::Denied;
use crate::quota::{OverQuota, QuotaError};

/// Everything the compute service can refuse. The Display text is what
/// Nova's API sends; [`ServiceError`] gives each its kind and message key.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("{0}")]
    Forbidden(PublicMessage),
    /// A server, flavor, key pair, node or image that does not exist or that
    /// the caller may not see.
    #[error("{0}")]
    NotFound(PublicMessage),
    /// A state that does not allow the action (Nova's 409 "Cannot 'stop'
    /// instance ... while it is in vm_state stopped"), a duplicate name.
    #[error("{0}")]
    Conflict(PublicMessage),
    #[error("{0}")]
    Validation(PublicMessage),
    /// A project quota (instances, cores, ram, key pairs, metadata items):
    /// Nova answers 403 for servers and 413 elsewhere; the REST adapter
    /// decides, the portal names the quota.
    #[error(transparent)]
    OverQuota(OverQuota),
    /// The node did not answer (console output): 503/504 upstream.
    #[error("{0}")]
    Unavailable(PublicMessage),
    #[error("database error at {at}")]
    Database {
        at: &'static Location<'static>,
        #[source]
        source: sqlx::Error,
    },
    #[error("message bus error: {0}")]
    Bus(#[from] bus::BusError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = ComputeError> = std::result::Result<T, E>;

impl From<sqlx::Error> for ComputeError {
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        ComputeError::Database {
            at: Location::caller(),
            source,
        }
    }
}

impl From<Denied> for ComputeError {
    fn from(d: Denied) -> Self {
        ComputeError::Forbidden(d.public())
    }
}

impl From<QuotaError> for ComputeError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::OverQuota(o) => ComputeError::OverQuota(o),
            QuotaError::Forbidden(m) => ComputeError::Forbidden(m),
            QuotaError::UnknownResource(_)
            | QuotaError::InvalidLimit { .. }
            | QuotaError::InvalidAmount { .. } => ComputeError::Validation(e.public()),
            QuotaError::Database { op, source } => {
                tracing::error!(error = ?source, "compute quota: {op}");
                ComputeError::from(source)
            }
        }
    }
}

impl From<crate::image::ImageError> for ComputeError {
    fn from(e: crate::image::ImageError) -> Self {
        match e.kind() {
            ErrorKind::NotFound | ErrorKind::Forbidden => ComputeError::NotFound(crate::msg!(
                "error.compute.image_not_found",
                "Image {id} could not be found.",
                id = image_id_of(&e),
            )),
            _ => {
                tracing::error!(error = %crate::error::Chain(&e), "compute: image service");
                ComputeError::Internal("image service".into())
            }
        }
    }
}

fn image_id_of(e: &crate::image::ImageError) -> String {
    match e {
        crate::image::ImageError::NotFound(id) => id.clone(),
        _ => String::new(),
    }
}

impl ComputeError {
    pub fn not_found_server(id: &str) -> ComputeError {
        ComputeError::NotFound(crate::msg!(
            "error.compute.server_not_found",
            "Instance {id} could not be found.",
            id = id,
        ))
    }

    pub fn not_found_flavor(id: &str) -> ComputeError {
        ComputeError::NotFound(crate::msg!(
            "error.compute.flavor_not_found",
            "Flavor {id} could not be found.",
            id = id,
        ))
    }

    /// Nova's wording for an action the instance's state does not allow.
    pub fn invalid_state(action: &str, id: &str, attr: &str, state: &str) -> ComputeError {
        ComputeError::Conflict(crate::msg!(
            "error.compute.invalid_state",
            "Cannot '{action}' instance {id} while it is in {attr} {state}",
            action = action,
            id = id,
            attr = attr,
            state = state,
        ))
    }

    /// One value of every variant, for tests that check each message key
    /// is translated.
    pub fn examples() -> Vec<ComputeError> {
        vec![
            ComputeError::from(Denied {
                rule: "os_compute_api:servers:create",
            }),
            ComputeError::not_found_server("x"),
            ComputeError::not_found_flavor("x"),
            ComputeError::invalid_state("stop", "x", "vm_state", "stopped"),
            ComputeError::Validation(crate::msg!(
                "error.compute.name_required",
                "A server needs a name."
            )),
            ComputeError::OverQuota(OverQuota {
                project_id: "p".into(),
                resource: crate::quota::Resource::INSTANCES,
                limit: 1,
                in_use: 1,
                reserved: 0,
                requested: 1,
            }),
            ComputeError::Unavailable(crate::msg!(
                "error.compute.node_unreachable",
                "The compute node {node} did not answer.",
                node = "n",
            )),
            ComputeError::from(sqlx::Error::RowNotFound),
            ComputeError::Bus(bus::BusError::Closed),
            ComputeError::Internal("x".into()),
        ]
    }
}

impl ServiceError for ComputeError {
    fn kind(&self) -> ErrorKind {
        match self {
            ComputeError::Forbidden(_) => ErrorKind::Forbidden,
            ComputeError::NotFound(_) => ErrorKind::NotFound,
            ComputeError::Conflict(_) => ErrorKind::Conflict,
            ComputeError::Validation(_) => ErrorKind::BadRequest,
            ComputeError::OverQuota(_) => ErrorKind::OverLimit,
            ComputeError::Unavailable(_) => ErrorKind::Unavailable,
            ComputeError::Database { .. } | ComputeError::Bus(_) | ComputeError::Internal(_) => {
                ErrorKind::Internal
            }
        }
    }

    fn public(&self) -> PublicMessage {
        match self {
            ComputeError::Forbidden(m)
            | ComputeError::NotFound(m)
            | ComputeError::Conflict(m)
            | ComputeError::Validation(m)
            | ComputeError::Unavailable(m) => m.clone(),
            ComputeError::OverQuota(o) => o.public(),
            ComputeError::Database { .. } | ComputeError::Bus(_) | ComputeError::Internal(_) => {
                PublicMessage::internal()
            }
        }
    }
}
