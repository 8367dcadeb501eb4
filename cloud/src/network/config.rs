use serde::{Deserialize, Serialize};

use crate::quota::Resource;

/// Network service settings (`[network]` in gureum.toml).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkConfig {
    /// The MTU of the physical networks (Neutron's `global_physnet_mtu`):
    /// a flat network's at most; a VXLAN network's is 50 less.
    pub global_physnet_mtu: u32,
    /// The VNIs project networks are given (Neutron's `vni_ranges`), the
    /// first free one first. An admin may name any VNI.
    pub vni_min: u32,
    pub vni_max: u32,
    /// The physical networks flat networks may use (Neutron's
    /// `flat_networks`); empty: any.
    pub flat_networks: Vec<String>,
    /// Neutron's `max_dns_nameservers`, `max_subnet_host_routes`,
    /// `max_fixed_ips_per_port` and `max_allowed_address_pair`.
    pub max_dns_nameservers: usize,
    pub max_subnet_host_routes: usize,
    pub max_fixed_ips_per_port: usize,
    pub max_allowed_address_pair: usize,
    /// Default quota limits of a project without its own (Neutron's).
    pub networks: i64,
    pub subnets: i64,
    pub ports: i64,
    pub security_groups: i64,
    pub security_group_rules: i64,
    pub routers: i64,
    pub floating_ips: i64,
}

/// The largest VXLAN network identifier (24 bits).
pub const MAX_VNI: u32 = 16_777_215;

impl NetworkConfig {
    /// The defaults the quota engine applies to network resources.
    pub fn quota_defaults(&self) -> [(Resource, i64); 7] {
        [
            (Resource::NETWORKS, self.networks),
            (Resource::SUBNETS, self.subnets),
            (Resource::PORTS, self.ports),
            (Resource::SECURITY_GROUPS, self.security_groups),
            (Resource::SECURITY_GROUP_RULES, self.security_group_rules),
            (Resource::ROUTERS, self.routers),
            (Resource::FLOATING_IPS, self.floating_ips),
        ]
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            global_physnet_mtu: 1500,
            vni_min: 1,
            vni_max: MAX_VNI,
            flat_networks: Vec::new(),
            max_dns_nameservers: 5,
            max_subnet_host_routes: 20,
            max_fixed_ips_per_port: 5,
            max_allowed_address_pair: 10,
            networks: 100,
            subnets: 100,
            ports: 500,
            security_groups: 10,
            security_group_rules: 100,
            routers: 10,
            floating_ips: 50,
        }
    }
}
