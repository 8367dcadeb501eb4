//! The network service's types, as its callers see them. Requests carry
//! addresses as the client wrote them (text): the service parses and
//! refuses them with Neutron's messages; answers carry parsed values.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::SortDir;

// --------------------------------------------------------------- networks

/// A network's provider segment type (`provider:network_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// An untagged physical network (`provider:physical_network`).
    Flat,
    /// A VXLAN overlay; `provider:segmentation_id` is its VNI.
    Vxlan,
}

impl NetworkType {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Flat => "flat",
            NetworkType::Vxlan => "vxlan",
        }
    }

    pub fn parse(s: &str) -> Option<NetworkType> {
        match s {
            "flat" => Some(NetworkType::Flat),
            "vxlan" => Some(NetworkType::Vxlan),
            _ => None,
        }
    }
}

/// Neutron's `ACTIVE`: networks have no data-plane state yet.
pub const STATUS_ACTIVE: &str = "ACTIVE";
/// Neutron's `DOWN`: no agent has bound a port yet.
pub const STATUS_DOWN: &str = "DOWN";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    pub status: String,
    pub shared: bool,
    /// `router:external`.
    pub router_external: bool,
    pub mtu: u32,
    pub network_type: NetworkType,
    pub physical_network: Option<String>,
    pub segmentation_id: Option<u32>,
    /// The ids of its subnets, oldest first.
    pub subnets: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewNetwork {
    /// The owning project: the token's unless an admin names another.
    pub project_id: Option<String>,
    pub name: String,
    pub description: String,
    /// Default true.
    pub admin_state_up: Option<bool>,
    /// Admin only.
    pub shared: bool,
    /// Admin only (`router:external`).
    pub router_external: bool,
    /// At most the segment type's (the physical MTU, less 50 for VXLAN).
    pub mtu: Option<u32>,
    /// Admin only, like the two below: the provider segment. Without them
    /// a network is VXLAN with the first free VNI of the configured range.
    pub network_type: Option<NetworkType>,
    pub physical_network: Option<String>,
    pub segmentation_id: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    /// Admin only.
    pub shared: Option<bool>,
    /// Admin only.
    pub router_external: Option<bool>,
    pub mtu: Option<u32>,
}

/// What a network list can be sorted by (the id breaks ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkSortKey {
    Id,
    Name,
    Status,
    ProjectId,
    CreatedAt,
    UpdatedAt,
    Mtu,
}

impl NetworkSortKey {
    pub fn parse(s: &str) -> Option<NetworkSortKey> {
        Some(match s {
            "id" => NetworkSortKey::Id,
            "name" => NetworkSortKey::Name,
            "status" => NetworkSortKey::Status,
            "project_id" | "tenant_id" => NetworkSortKey::ProjectId,
            "created_at" => NetworkSortKey::CreatedAt,
            "updated_at" => NetworkSortKey::UpdatedAt,
            "mtu" => NetworkSortKey::Mtu,
            _ => return None,
        })
    }
}

/// Which networks a list returns: for a non-admin, its project's own plus
/// shared and external ones; for an admin, every one. Each `Some` narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    /// Name or id contains (the portal's search box).
    pub query: Option<String>,
    pub shared: Option<bool>,
    pub router_external: Option<bool>,
    pub admin_state_up: Option<bool>,
    pub status: Option<String>,
    pub network_type: Option<NetworkType>,
    /// Sort keys in order; `id` is always the final tie-breaker. Default
    /// `created_at asc`.
    pub sort: Vec<(NetworkSortKey, SortDir)>,
    /// Keyset paging (Neutron's `marker`): rows after this network.
    pub marker: Option<String>,
    /// Offset paging (the portal).
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

// ---------------------------------------------------------------- subnets

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AllocationPool {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostRoute {
    pub destination: Ipv4Net,
    pub nexthop: Ipv4Addr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub project_id: String,
    pub network_id: String,
    pub name: String,
    pub description: String,
    /// Always 4 in this release.
    pub ip_version: u8,
    pub cidr: Ipv4Net,
    pub gateway_ip: Option<Ipv4Addr>,
    pub allocation_pools: Vec<AllocationPool>,
    pub dns_nameservers: Vec<Ipv4Addr>,
    pub host_routes: Vec<HostRoute>,
    pub enable_dhcp: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pool as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRequest {
    pub start: String,
    pub end: String,
}

/// A host route as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRequest {
    pub destination: String,
    pub nexthop: String,
}

/// `gateway_ip` as asked: left out (the CIDR's first host), `null` (no
/// gateway), or an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GatewayRequest {
    #[default]
    Default,
    None,
    Address(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSubnet {
    /// The owning project: the token's unless an admin names another.
    pub project_id: Option<String>,
    pub network_id: String,
    pub name: String,
    pub description: String,
    /// 4 (the default); 6 is refused in this release.
    pub ip_version: Option<u8>,
    pub cidr: String,
    pub gateway_ip: GatewayRequest,
    /// Default: the CIDR's hosts less the gateway.
    pub allocation_pools: Option<Vec<PoolRequest>>,
    pub dns_nameservers: Vec<String>,
    pub host_routes: Vec<RouteRequest>,
    /// Default true.
    pub enable_dhcp: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(GatewayRequest::None)` removes the gateway;
    /// `Some(GatewayRequest::Default)` is the CIDR's first host.
    pub gateway_ip: Option<GatewayRequest>,
    pub allocation_pools: Option<Vec<PoolRequest>>,
    pub dns_nameservers: Option<Vec<String>>,
    pub host_routes: Option<Vec<RouteRequest>>,
    pub enable_dhcp: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubnetSortKey {
    Id,
    Name,
    Cidr,
    NetworkId,
    ProjectId,
    CreatedAt,
    UpdatedAt,
}

impl SubnetSortKey {
    pub fn parse(s: &str) -> Option<SubnetSortKey> {
        Some(match s {
            "id" => SubnetSortKey::Id,
            "name" => SubnetSortKey::Name,
            "cidr" => SubnetSortKey::Cidr,
            "network_id" => SubnetSortKey::NetworkId,
            "project_id" | "tenant_id" => SubnetSortKey::ProjectId,
            "created_at" => SubnetSortKey::CreatedAt,
            "updated_at" => SubnetSortKey::UpdatedAt,
            _ => return None,
        })
    }
}

/// Which subnets a list returns: a non-admin's project's own plus those of
/// shared and external networks; an admin's, every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub network_id: Option<String>,
    pub name: Option<String>,
    pub query: Option<String>,
    /// Exact CIDR text (`10.0.0.0/24`).
    pub cidr: Option<String>,
    pub gateway_ip: Option<String>,
    pub enable_dhcp: Option<bool>,
    pub sort: Vec<(SubnetSortKey, SortDir)>,
    pub marker: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

// ------------------------------------------------------------------ ports

/// Device owners of ports the network service makes for itself. Ports of
/// these owners do not keep a network from being deleted: they go with it.
pub const DEVICE_OWNER_DHCP: &str = "network:dhcp";
pub const DEVICE_OWNER_ROUTER_INTERFACE: &str = "network:router_interface";
pub const DEVICE_OWNER_ROUTER_GATEWAY: &str = "network:router_gateway";
pub const DEVICE_OWNER_FLOATINGIP: &str = "network:floatingip";

/// The owners whose ports a network's deletion removes with it (Neutron's
/// `AUTO_DELETE_PORT_OWNERS`). A router's interface or gateway and a
/// floating IP keep their network: they are removed through the router
/// and floating IP APIs.
pub const AUTO_DELETE_OWNERS: [&str; 1] = [DEVICE_OWNER_DHCP];

/// The owners of ports only their own API removes (Neutron's
/// `ServicePortInUse` for a `DELETE /ports/{id}`).
pub const SERVICE_PORT_OWNERS: [&str; 3] = [
    DEVICE_OWNER_ROUTER_INTERFACE,
    DEVICE_OWNER_ROUTER_GATEWAY,
    DEVICE_OWNER_FLOATINGIP,
];

/// One address of a port: from which subnet, which address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortIp {
    pub subnet_id: String,
    pub ip_address: Ipv4Addr,
}

/// One `fixed_ips` entry as asked: a subnet (an address is chosen in it),
/// an address (its subnet is the network's one that holds it), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIpRequest {
    pub subnet_id: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddressPair {
    /// An address or a CIDR (`10.0.0.5` or `10.0.0.0/24`).
    pub ip_address: String,
    /// Default: the port's own MAC.
    pub mac_address: String,
}

/// An address pair as asked (the MAC defaults to the port's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPairRequest {
    pub ip_address: String,
    pub mac_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub id: String,
    pub project_id: String,
    pub network_id: String,
    pub name: String,
    pub description: String,
    pub mac_address: String,
    pub admin_state_up: bool,
    pub status: String,
    pub device_owner: String,
    pub device_id: String,
    pub fixed_ips: Vec<PortIp>,
    pub port_security_enabled: bool,
    pub allowed_address_pairs: Vec<AddressPair>,
    /// Its security groups' ids, in the order given.
    pub security_groups: Vec<String>,
    /// `binding:host_id`.
    pub binding_host_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPort {
    /// The owning project: the token's unless an admin names another.
    pub project_id: Option<String>,
    pub network_id: String,
    pub name: String,
    pub description: String,
    /// Default true.
    pub admin_state_up: Option<bool>,
    /// Default: generated (`fa:16:3e:…`), unique on the network. Only the
    /// network's owner or an admin chooses one.
    pub mac_address: Option<String>,
    /// `None`: one address from the network's first subnet with room
    /// (none if the network has no subnet). `Some(vec![])`: no address.
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
    pub device_owner: String,
    pub device_id: String,
    /// Default true.
    pub port_security_enabled: Option<bool>,
    pub allowed_address_pairs: Vec<AddressPairRequest>,
    /// Groups of the port's project. `None`: the project's `default`
    /// group (made on first use) when port security is on, except for the
    /// network service's own ports (`network:` owners); `Some(vec![])`:
    /// none.
    pub security_groups: Option<Vec<String>>,
    /// Admin only.
    pub binding_host_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    /// The port's whole new address list: addresses it already has are
    /// kept, the others released, the new ones allocated.
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
    pub device_owner: Option<String>,
    pub device_id: Option<String>,
    pub port_security_enabled: Option<bool>,
    pub allowed_address_pairs: Option<Vec<AddressPairRequest>>,
    pub security_groups: Option<Vec<String>>,
    /// Admin only.
    pub binding_host_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortSortKey {
    Id,
    Name,
    Status,
    NetworkId,
    ProjectId,
    DeviceId,
    DeviceOwner,
    MacAddress,
    CreatedAt,
    UpdatedAt,
}

impl PortSortKey {
    pub fn parse(s: &str) -> Option<PortSortKey> {
        Some(match s {
            "id" => PortSortKey::Id,
            "name" => PortSortKey::Name,
            "status" => PortSortKey::Status,
            "network_id" => PortSortKey::NetworkId,
            "project_id" | "tenant_id" => PortSortKey::ProjectId,
            "device_id" => PortSortKey::DeviceId,
            "device_owner" => PortSortKey::DeviceOwner,
            "mac_address" => PortSortKey::MacAddress,
            "created_at" => PortSortKey::CreatedAt,
            "updated_at" => PortSortKey::UpdatedAt,
            _ => return None,
        })
    }
}

/// Which ports a list returns: a non-admin's project's own; an admin's,
/// every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub network_id: Option<String>,
    pub name: Option<String>,
    pub query: Option<String>,
    pub device_id: Option<String>,
    pub device_owner: Option<String>,
    pub mac_address: Option<String>,
    pub status: Option<String>,
    pub admin_state_up: Option<bool>,
    pub binding_host_id: Option<String>,
    /// Ports holding an address of this subnet.
    pub fixed_ip_subnet_id: Option<String>,
    /// Ports holding this address.
    pub fixed_ip_address: Option<String>,
    pub sort: Vec<(PortSortKey, SortDir)>,
    pub marker: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

// -------------------------------------------------------- security groups

/// The name of the group every project is given on first use.
pub const DEFAULT_SECURITY_GROUP: &str = "default";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Traffic to the port.
    Ingress,
    /// Traffic from the port.
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "ingress" => Some(Direction::Ingress),
            "egress" => Some(Direction::Egress),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EtherType {
    IPv4,
    IPv6,
}

impl EtherType {
    pub fn as_str(self) -> &'static str {
        match self {
            EtherType::IPv4 => "IPv4",
            EtherType::IPv6 => "IPv6",
        }
    }

    /// Neutron's spelling, in any case (`ipv4` is accepted too).
    pub fn parse(s: &str) -> Option<EtherType> {
        match s.to_ascii_lowercase().as_str() {
            "ipv4" => Some(EtherType::IPv4),
            "ipv6" => Some(EtherType::IPv6),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    pub id: String,
    pub project_id: String,
    pub security_group_id: String,
    pub direction: Direction,
    pub ethertype: EtherType,
    /// A protocol name (`tcp`, `icmp`, …) or number as text; `None`: any.
    pub protocol: Option<String>,
    /// TCP/UDP: the first port; ICMP: the type.
    pub port_range_min: Option<u16>,
    /// TCP/UDP: the last port; ICMP: the code.
    pub port_range_max: Option<u16>,
    /// The peers' prefix, normalised (`10.0.0.0/24`).
    pub remote_ip_prefix: Option<String>,
    /// The peers are the ports of this group.
    pub remote_group_id: Option<String>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// Connection tracking on (replies to allowed traffic pass).
    pub stateful: bool,
    /// Its rules, oldest first.
    pub rules: Vec<SecurityGroupRule>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSecurityGroup {
    /// The owning project: the token's unless an admin names another.
    pub project_id: Option<String>,
    pub name: String,
    pub description: String,
    /// Default true.
    pub stateful: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub stateful: Option<bool>,
}

/// A rule as asked: values as the client wrote them, checked by the
/// service with Neutron's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSecurityGroupRule {
    /// The owning project: the group's.
    pub project_id: Option<String>,
    pub security_group_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// Default `IPv4`.
    pub ethertype: Option<String>,
    /// A name, a number (0–255), `any` or `None`.
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityGroupSortKey {
    Id,
    Name,
    ProjectId,
    CreatedAt,
    UpdatedAt,
}

impl SecurityGroupSortKey {
    pub fn parse(s: &str) -> Option<SecurityGroupSortKey> {
        Some(match s {
            "id" => SecurityGroupSortKey::Id,
            "name" => SecurityGroupSortKey::Name,
            "project_id" | "tenant_id" => SecurityGroupSortKey::ProjectId,
            "created_at" => SecurityGroupSortKey::CreatedAt,
            "updated_at" => SecurityGroupSortKey::UpdatedAt,
            _ => return None,
        })
    }
}

/// Which groups a list returns: a non-admin's project's own (its default
/// group made first if it has none); an admin's, every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroupFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub query: Option<String>,
    pub sort: Vec<(SecurityGroupSortKey, SortDir)>,
    pub marker: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityGroupRuleSortKey {
    Id,
    SecurityGroupId,
    Direction,
    Protocol,
    ProjectId,
    CreatedAt,
}

impl SecurityGroupRuleSortKey {
    pub fn parse(s: &str) -> Option<SecurityGroupRuleSortKey> {
        Some(match s {
            "id" => SecurityGroupRuleSortKey::Id,
            "security_group_id" => SecurityGroupRuleSortKey::SecurityGroupId,
            "direction" => SecurityGroupRuleSortKey::Direction,
            "protocol" => SecurityGroupRuleSortKey::Protocol,
            "project_id" | "tenant_id" => SecurityGroupRuleSortKey::ProjectId,
            "created_at" => SecurityGroupRuleSortKey::CreatedAt,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroupRuleFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub security_group_id: Option<String>,
    pub direction: Option<Direction>,
    pub ethertype: Option<EtherType>,
    pub protocol: Option<String>,
    pub remote_group_id: Option<String>,
    pub remote_ip_prefix: Option<String>,
    pub sort: Vec<(SecurityGroupRuleSortKey, SortDir)>,
    pub marker: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

// ---------------------------------------------------------------- routers

/// A router's way out: its port on an external network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalGateway {
    pub network_id: String,
    /// SNAT for the subnets behind the router (Neutron's default: on).
    pub enable_snat: bool,
    /// The gateway port's addresses on the external network.
    pub external_fixed_ips: Vec<PortIp>,
    pub port_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Router {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    pub status: String,
    pub external_gateway: Option<ExternalGateway>,
    /// Its interfaces' ports, oldest first.
    pub interface_port_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An external gateway as asked (`external_gateway_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalGatewayRequest {
    pub network_id: String,
    /// Admin only; default true.
    pub enable_snat: Option<bool>,
    /// Admin only; default: one address from the network's first subnet
    /// with room.
    pub external_fixed_ips: Option<Vec<FixedIpRequest>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRouter {
    /// The owning project: the token's unless an admin names another.
    pub project_id: Option<String>,
    pub name: String,
    pub description: String,
    /// Default true.
    pub admin_state_up: Option<bool>,
    pub external_gateway: Option<ExternalGatewayRequest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    /// `Some(None)`: clear the gateway; `Some(Some(_))`: set or change it.
    pub external_gateway: Option<Option<ExternalGatewayRequest>>,
}

/// Which interface `add_router_interface` and `remove_router_interface`
/// mean: the one on a subnet, or a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceRequest {
    /// Add: a new port taking the subnet's gateway address.
    Subnet(String),
    /// Add: an unused port of the router's project becomes the interface.
    Port(String),
}

/// What `add_router_interface` and `remove_router_interface` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterInterface {
    pub router_id: String,
    pub project_id: String,
    pub port_id: String,
    pub network_id: String,
    pub subnet_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouterSortKey {
    Id,
    Name,
    Status,
    ProjectId,
    CreatedAt,
    UpdatedAt,
}

impl RouterSortKey {
    pub fn parse(s: &str) -> Option<RouterSortKey> {
        Some(match s {
            "id" => RouterSortKey::Id,
            "name" => RouterSortKey::Name,
            "status" => RouterSortKey::Status,
            "project_id" | "tenant_id" => RouterSortKey::ProjectId,
            "created_at" => RouterSortKey::CreatedAt,
            "updated_at" => RouterSortKey::UpdatedAt,
            _ => return None,
        })
    }
}

/// Which routers a list returns: a non-admin's project's own; an admin's,
/// every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub query: Option<String>,
    pub status: Option<String>,
    pub admin_state_up: Option<bool>,
    pub sort: Vec<(RouterSortKey, SortDir)>,
    pub marker: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

// ----------------------------------------------------------- floating IPs

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIp {
    pub id: String,
    pub project_id: String,
    pub floating_network_id: String,
    pub floating_ip_address: Ipv4Addr,
    /// The port it is associated with, its fixed address and the router
    /// that NATs between them; all `None` when unassociated.
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<Ipv4Addr>,
    pub router_id: Option<String>,
    pub description: String,
    /// `ACTIVE` when associated, `DOWN` when not.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFloatingIp {
    /// The owning project: the token's unless an admin names another.
    pub project_id: Option<String>,
    /// An external network.
    pub floating_network_id: String,
    /// One of the external network's subnets to take the address from.
    pub subnet_id: Option<String>,
    /// Admin only: a chosen address.
    pub floating_ip_address: Option<String>,
    /// Associate at once with this port (of the same project).
    pub port_id: Option<String>,
    /// Which of the port's addresses (needed when it has several).
    pub fixed_ip_address: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloatingIpUpdate {
    /// `Some(None)`: disassociate; `Some(Some(port))`: associate.
    pub port_id: Option<Option<String>>,
    pub fixed_ip_address: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FloatingIpSortKey {
    Id,
    FloatingIpAddress,
    FloatingNetworkId,
    FixedIpAddress,
    PortId,
    RouterId,
    Status,
    ProjectId,
    CreatedAt,
    UpdatedAt,
}

impl FloatingIpSortKey {
    pub fn parse(s: &str) -> Option<FloatingIpSortKey> {
        Some(match s {
            "id" => FloatingIpSortKey::Id,
            "floating_ip_address" => FloatingIpSortKey::FloatingIpAddress,
            "floating_network_id" => FloatingIpSortKey::FloatingNetworkId,
            "fixed_ip_address" => FloatingIpSortKey::FixedIpAddress,
            "port_id" => FloatingIpSortKey::PortId,
            "router_id" => FloatingIpSortKey::RouterId,
            "status" => FloatingIpSortKey::Status,
            "project_id" | "tenant_id" => FloatingIpSortKey::ProjectId,
            "created_at" => FloatingIpSortKey::CreatedAt,
            "updated_at" => FloatingIpSortKey::UpdatedAt,
            _ => return None,
        })
    }
}

/// Which floating IPs a list returns: a non-admin's project's own; an
/// admin's, every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloatingIpFilter {
    pub ids: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub floating_network_id: Option<String>,
    pub floating_ip_address: Option<String>,
    /// `Some(None)`: unassociated ones only.
    pub port_id: Option<Option<String>>,
    pub fixed_ip_address: Option<String>,
    pub router_id: Option<String>,
    pub status: Option<String>,
    pub query: Option<String>,
    pub sort: Vec<(FloatingIpSortKey, SortDir)>,
    pub marker: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}
