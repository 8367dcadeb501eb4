use std::panic::Location;

use crate::error::{ErrorKind, PublicMessage, ServiceError};
use crate::policy::Denied;
use crate::quota::{OverQuota, QuotaError};

/// Everything the network service can refuse. The Display text is what
/// Neutron's API sends; [`NetworkError::neutron_type`] is the fault `type`
/// Neutron names it with (`IpAddressGenerationFailure`, …), and
/// [`ServiceError`] gives each its kind and message key.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("{0}")]
    Forbidden(PublicMessage),
    /// A resource that does not exist or that the caller may not see
    /// (`NetworkNotFound`, `PortNotFound`, `SecurityGroupNotFound`, …).
    #[error("{message}")]
    NotFound {
        neutron_type: &'static str,
        message: PublicMessage,
    },
    /// Invalid input (`InvalidInput`, `InvalidIpForSubnet`, …): 400.
    #[error("{message}")]
    Validation {
        neutron_type: &'static str,
        message: PublicMessage,
    },
    /// A state or value that conflicts with what exists (overlapping
    /// allocation pools, a segment in use, a MAC in use): 409.
    #[error("{message}")]
    Conflict {
        neutron_type: &'static str,
        message: PublicMessage,
    },
    /// Neutron's `NetworkInUse` (409): ports other than DHCP and router
    /// ports are on it.
    #[error("{0}")]
    NetworkInUse(PublicMessage),
    /// Neutron's `SubnetInUse` (409): addresses of it are allocated.
    #[error("{0}")]
    SubnetInUse(PublicMessage),
    /// Neutron's `IpAddressAlreadyAllocated` (409).
    #[error("{0}")]
    IpAddressAlreadyAllocated(PublicMessage),
    /// Neutron's `IpAddressGenerationFailure` (409): no free address is
    /// left in the network's allocation pools.
    #[error("{0}")]
    IpAddressGenerationFailure(PublicMessage),
    /// A project quota (network, subnet, port): Neutron's `OverQuota`, 409.
    #[error(transparent)]
    OverQuota(OverQuota),
    #[error("database error at {at}")]
    Database {
        at: &'static Location<'static>,
        #[source]
        source: sqlx::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = NetworkError> = std::result::Result<T, E>;

impl From<sqlx::Error> for NetworkError {
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        NetworkError::Database {
            at: Location::caller(),
            source,
        }
    }
}

impl From<Denied> for NetworkError {
    fn from(d: Denied) -> Self {
        NetworkError::Forbidden(d.public())
    }
}

impl From<QuotaError> for NetworkError {
    #[track_caller]
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::OverQuota(o) => NetworkError::OverQuota(o),
            QuotaError::Forbidden(m) => NetworkError::Forbidden(m),
            QuotaError::UnknownResource(_)
            | QuotaError::InvalidLimit { .. }
            | QuotaError::InvalidAmount { .. } => NetworkError::Validation {
                neutron_type: "InvalidInput",
                message: e.public(),
            },
            QuotaError::Database { op, source } => {
                tracing::debug!(error = ?source, "network quota: {op}");
                NetworkError::from(source)
            }
        }
    }
}

impl NetworkError {
    pub fn network_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "NetworkNotFound",
            message: crate::msg!(
                "error.network.network_not_found",
                "Network {id} could not be found.",
                id = id,
            ),
        }
    }

    pub fn subnet_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "SubnetNotFound",
            message: crate::msg!(
                "error.network.subnet_not_found",
                "Subnet {id} could not be found.",
                id = id,
            ),
        }
    }

    pub fn port_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "PortNotFound",
            message: crate::msg!(
                "error.network.port_not_found",
                "Port {id} could not be found.",
                id = id,
            ),
        }
    }

    pub fn security_group_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "SecurityGroupNotFound",
            message: crate::msg!(
                "error.network.security_group_not_found",
                "Security group {id} does not exist",
                id = id,
            ),
        }
    }

    pub fn security_group_rule_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "SecurityGroupRuleNotFound",
            message: crate::msg!(
                "error.network.security_group_rule_not_found",
                "Security group rule {id} does not exist",
                id = id,
            ),
        }
    }

    /// Neutron's `SecurityGroupInUse` (409): ports are in the group.
    pub fn security_group_in_use(id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "SecurityGroupInUse",
            message: crate::msg!(
                "error.network.security_group_in_use",
                "Security Group {id} in use.",
                id = id,
            ),
        }
    }

    /// Neutron's `SecurityGroupRuleExists` (409).
    pub fn security_group_rule_exists(rule_id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "SecurityGroupRuleExists",
            message: crate::msg!(
                "error.network.security_group_rule_exists",
                "Security group rule already exists. Rule id is {rule_id}.",
                rule_id = rule_id,
            ),
        }
    }

    /// Neutron's `SecurityGroupCannotRemoveDefault` (409): only an admin
    /// deletes a project's default group.
    pub fn default_security_group_delete() -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "SecurityGroupCannotRemoveDefault",
            message: crate::msg!(
                "error.network.default_security_group_delete",
                "Insufficient rights for removing default security group."
            ),
        }
    }

    /// Neutron's `SecurityGroupCannotUpdateDefault` (409): the default
    /// group keeps its name.
    pub fn default_security_group_update() -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "SecurityGroupCannotUpdateDefault",
            message: crate::msg!(
                "error.network.default_security_group_update",
                "Updating default security group not allowed."
            ),
        }
    }

    /// Neutron's `SecurityGroupDefaultAlreadyExists` (409): `default` is
    /// the name of the group every project is given.
    pub fn default_security_group_exists() -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "SecurityGroupDefaultAlreadyExists",
            message: crate::msg!(
                "error.network.default_security_group_exists",
                "Default security group already exists."
            ),
        }
    }

    /// A rule that does not hold together (Neutron's `SecurityGroup…`
    /// validation errors, 400): `neutron_type` names which.
    pub fn bad_rule(neutron_type: &'static str, reason: impl Into<String>) -> NetworkError {
        NetworkError::Validation {
            neutron_type,
            message: crate::msg!(
                "error.network.bad_security_group_rule",
                "Invalid security group rule: {reason}",
                reason = reason.into(),
            ),
        }
    }

    pub fn router_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "RouterNotFound",
            message: crate::msg!(
                "error.network.router_not_found",
                "Router {router_id} could not be found",
                router_id = id,
            ),
        }
    }

    pub fn floating_ip_not_found(id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "FloatingIPNotFound",
            message: crate::msg!(
                "error.network.floating_ip_not_found",
                "Floating IP {floatingip_id} could not be found",
                floatingip_id = id,
            ),
        }
    }

    /// Neutron's `BadRequest` (400) for a router or floating IP request
    /// that does not hold together: "Bad router request: {reason}".
    pub fn bad_request(resource: &'static str, reason: impl Into<String>) -> NetworkError {
        NetworkError::Validation {
            neutron_type: "BadRequest",
            message: crate::msg!(
                "error.network.bad_request",
                "Bad {resource} request: {reason}",
                resource = resource,
                reason = reason.into(),
            ),
        }
    }

    /// Neutron's `RouterInUse` (409): it still has interfaces.
    pub fn router_in_use(id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "RouterInUse",
            message: crate::msg!(
                "error.network.router_in_use",
                "Router {router_id} still has ports",
                router_id = id,
            ),
        }
    }

    /// Neutron's `RouterInterfaceNotFound` (404).
    pub fn router_interface_not_found(router_id: &str, port_id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "RouterInterfaceNotFound",
            message: crate::msg!(
                "error.network.router_interface_not_found",
                "Router {router_id} does not have an interface with id {port_id}",
                router_id = router_id,
                port_id = port_id,
            ),
        }
    }

    /// Neutron's `RouterInterfaceNotFoundForSubnet` (404).
    pub fn router_interface_not_found_for_subnet(router_id: &str, subnet_id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "RouterInterfaceNotFoundForSubnet",
            message: crate::msg!(
                "error.network.router_interface_not_found_for_subnet",
                "Router {router_id} has no interface on subnet {subnet_id}",
                router_id = router_id,
                subnet_id = subnet_id,
            ),
        }
    }

    /// Neutron's `RouterInterfaceInUseByFloatingIP` (409).
    pub fn router_interface_in_use_by_fip(router_id: &str, subnet_id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "RouterInterfaceInUseByFloatingIP",
            message: crate::msg!(
                "error.network.router_interface_in_use_by_fip",
                "Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, as it is required by one or more floating IPs.",
                subnet_id = subnet_id,
                router_id = router_id,
            ),
        }
    }

    /// Neutron's `RouterExternalGatewayInUseByFloatingIp` (409).
    pub fn gateway_in_use_by_fip(router_id: &str, network_id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "RouterExternalGatewayInUseByFloatingIp",
            message: crate::msg!(
                "error.network.gateway_in_use_by_fip",
                "Gateway cannot be updated for router {router_id}, since a gateway to external network {net_id} is required by one or more floating IPs.",
                router_id = router_id,
                net_id = network_id,
            ),
        }
    }

    /// Neutron's `ExternalGatewayForFloatingIPNotFound` (404): no router
    /// joins the port's subnet to the floating IP's network.
    pub fn no_gateway_for_fip(network_id: &str, subnet_id: &str, port_id: &str) -> NetworkError {
        NetworkError::NotFound {
            neutron_type: "ExternalGatewayForFloatingIPNotFound",
            message: crate::msg!(
                "error.network.no_gateway_for_fip",
                "External network {external_network_id} is not reachable from subnet {subnet_id}. Therefore, cannot associate Port {port_id} with a Floating IP.",
                external_network_id = network_id,
                subnet_id = subnet_id,
                port_id = port_id,
            ),
        }
    }

    /// Neutron's `FloatingIPPortAlreadyAssociated` (409).
    pub fn fip_port_already_associated(
        address: &str,
        fip_id: &str,
        port_id: &str,
        fixed_ip: &str,
        network_id: &str,
    ) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "FloatingIPPortAlreadyAssociated",
            message: crate::msg!(
                "error.network.fip_port_already_associated",
                "Cannot associate floating IP {floating_ip_address} ({fip_id}) with port {port_id} using fixed IP {fixed_ip}, as that fixed IP already has a floating IP on external network {net_id}.",
                floating_ip_address = address,
                fip_id = fip_id,
                port_id = port_id,
                fixed_ip = fixed_ip,
                net_id = network_id,
            ),
        }
    }

    /// Neutron's `ServicePortInUse` (409): a router's or floating IP's
    /// port goes through the router or floating IP API.
    pub fn service_port_in_use(port_id: &str, owner: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "ServicePortInUse",
            message: crate::msg!(
                "error.network.service_port_in_use",
                "Port {port_id} cannot be deleted directly via the port API: has device owner {device_owner}.",
                port_id = port_id,
                device_owner = owner,
            ),
        }
    }

    /// Neutron's `ExternalNetworkInUse` (409).
    pub fn external_network_in_use(network_id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "ExternalNetworkInUse",
            message: crate::msg!(
                "error.network.external_network_in_use",
                "External network {net_id} cannot be updated to be made non-external, since it has existing gateway ports.",
                net_id = network_id,
            ),
        }
    }

    /// Neutron's `PortInUse` (409): the port already serves a device.
    pub fn port_in_use(network_id: &str, port_id: &str, device_id: &str) -> NetworkError {
        NetworkError::Conflict {
            neutron_type: "PortInUse",
            message: crate::msg!(
                "error.network.port_in_use",
                "Unable to complete operation on port {port_id} for network {net_id}. Port already has an attached device {device_id}.",
                port_id = port_id,
                net_id = network_id,
                device_id = device_id,
            ),
        }
    }

    /// Neutron's `InvalidInput`: "Invalid input for operation: {reason}."
    pub fn invalid(reason: impl Into<String>) -> NetworkError {
        let reason = reason.into();
        NetworkError::Validation {
            neutron_type: "InvalidInput",
            message: crate::msg!(
                "error.network.invalid_input",
                "Invalid input for operation: {reason}",
                reason = reason,
            ),
        }
    }

    pub fn network_in_use(id: &str) -> NetworkError {
        NetworkError::NetworkInUse(crate::msg!(
            "error.network.network_in_use",
            "Unable to complete operation on network {id}. There are one or more ports still in use on the network.",
            id = id,
        ))
    }

    pub fn subnet_in_use(id: &str) -> NetworkError {
        NetworkError::SubnetInUse(crate::msg!(
            "error.network.subnet_in_use",
            "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet.",
            id = id,
        ))
    }

    pub fn ip_already_allocated(ip: &str, subnet_id: &str) -> NetworkError {
        NetworkError::IpAddressAlreadyAllocated(crate::msg!(
            "error.network.ip_already_allocated",
            "IP address {ip} already allocated in subnet {subnet_id}",
            ip = ip,
            subnet_id = subnet_id,
        ))
    }

    pub fn ip_generation_failure(network_id: &str) -> NetworkError {
        NetworkError::IpAddressGenerationFailure(crate::msg!(
            "error.network.ip_generation_failure",
            "No more IP addresses available on network {net_id}.",
            net_id = network_id,
        ))
    }

    /// The fault `type` Neutron's API names this error with.
    pub fn neutron_type(&self) -> &'static str {
        match self {
            NetworkError::Forbidden(_) => "PolicyNotAuthorized",
            NetworkError::NotFound { neutron_type, .. }
            | NetworkError::Validation { neutron_type, .. }
            | NetworkError::Conflict { neutron_type, .. } => neutron_type,
            NetworkError::NetworkInUse(_) => "NetworkInUse",
            NetworkError::SubnetInUse(_) => "SubnetInUse",
            NetworkError::IpAddressAlreadyAllocated(_) => "IpAddressAlreadyAllocated",
            NetworkError::IpAddressGenerationFailure(_) => "IpAddressGenerationFailure",
            NetworkError::OverQuota(_) => "OverQuota",
            NetworkError::Database { .. } | NetworkError::Internal(_) => "HTTPInternalServerError",
        }
    }

    /// A failure worth running the whole transaction again for: a
    /// deadlock or lock wait MariaDB broke, or a key another transaction
    /// took first (a VXLAN id or MAC chosen at the same moment).
    pub(super) fn is_retryable(&self) -> bool {
        match self {
            NetworkError::Database { source, .. } => is_transient(source),
            _ => false,
        }
    }

    /// One value of every variant, for tests that check each message key
    /// is translated.
    pub fn examples() -> Vec<NetworkError> {
        vec![
            NetworkError::from(Denied {
                rule: "create_network:shared",
            }),
            NetworkError::network_not_found("x"),
            NetworkError::subnet_not_found("x"),
            NetworkError::port_not_found("x"),
            NetworkError::security_group_not_found("x"),
            NetworkError::security_group_rule_not_found("x"),
            NetworkError::security_group_in_use("x"),
            NetworkError::security_group_rule_exists("x"),
            NetworkError::default_security_group_delete(),
            NetworkError::default_security_group_update(),
            NetworkError::default_security_group_exists(),
            NetworkError::bad_rule("SecurityGroupInvalidPortRange", "x"),
            NetworkError::router_not_found("x"),
            NetworkError::floating_ip_not_found("x"),
            NetworkError::bad_request("router", "x"),
            NetworkError::router_in_use("x"),
            NetworkError::router_interface_not_found("r", "p"),
            NetworkError::router_interface_not_found_for_subnet("r", "s"),
            NetworkError::router_interface_in_use_by_fip("r", "s"),
            NetworkError::gateway_in_use_by_fip("r", "n"),
            NetworkError::no_gateway_for_fip("n", "s", "p"),
            NetworkError::fip_port_already_associated("203.0.113.5", "f", "p", "10.0.0.5", "n"),
            NetworkError::service_port_in_use("p", "network:router_interface"),
            NetworkError::external_network_in_use("n"),
            NetworkError::port_in_use("n", "p", "d"),
            NetworkError::invalid("x"),
            NetworkError::network_in_use("x"),
            NetworkError::subnet_in_use("x"),
            NetworkError::ip_already_allocated("10.0.0.2", "x"),
            NetworkError::ip_generation_failure("x"),
            NetworkError::OverQuota(OverQuota {
                project_id: "p".into(),
                resource: crate::quota::Resource::NETWORKS,
                limit: 1,
                in_use: 1,
                reserved: 0,
                requested: 1,
            }),
            NetworkError::from(sqlx::Error::RowNotFound),
            NetworkError::Internal("x".into()),
        ]
    }
}

/// Deadlocks (MariaDB 1213, SQLSTATE 40001), lock wait timeouts (1205)
/// and unique violations of keys chosen by the service.
pub(super) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code();
            matches!(code.as_deref(), Some("40001") | Some("1213") | Some("1205"))
                || db.message().contains("Deadlock found")
                || db.message().contains("Lock wait timeout")
                || db.message().contains("database is locked")
                || crate::db::is_unique_violation(e)
        }
        _ => false,
    }
}

impl ServiceError for NetworkError {
    fn kind(&self) -> ErrorKind {
        match self {
            NetworkError::Forbidden(_) => ErrorKind::Forbidden,
            NetworkError::NotFound { .. } => ErrorKind::NotFound,
            NetworkError::Validation { .. } => ErrorKind::BadRequest,
            // Neutron answers 409 for all of these, OverQuota included.
            NetworkError::Conflict { .. }
            | NetworkError::NetworkInUse(_)
            | NetworkError::SubnetInUse(_)
            | NetworkError::IpAddressAlreadyAllocated(_)
            | NetworkError::IpAddressGenerationFailure(_)
            | NetworkError::OverQuota(_) => ErrorKind::Conflict,
            NetworkError::Database { .. } | NetworkError::Internal(_) => ErrorKind::Internal,
        }
    }

    fn public(&self) -> PublicMessage {
        match self {
            NetworkError::Forbidden(m)
            | NetworkError::NotFound { message: m, .. }
            | NetworkError::Validation { message: m, .. }
            | NetworkError::Conflict { message: m, .. }
            | NetworkError::NetworkInUse(m)
            | NetworkError::SubnetInUse(m)
            | NetworkError::IpAddressAlreadyAllocated(m)
            | NetworkError::IpAddressGenerationFailure(m) => m.clone(),
            NetworkError::OverQuota(o) => o.public(),
            NetworkError::Database { .. } | NetworkError::Internal(_) => PublicMessage::internal(),
        }
    }
}
