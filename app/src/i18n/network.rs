//! The network service's strings (see `crate::i18n`): its errors, keyed
//! at their call sites in `cloud::network` with Neutron's English.

pub(super) static TABLE: &[(&str, &str, &str)] = &[
    ("error.network.network_not_found", "Network {id} could not be found.", "네트워크 {id}을(를) 찾을 수 없습니다."),
    ("error.network.subnet_not_found", "Subnet {id} could not be found.", "서브넷 {id}을(를) 찾을 수 없습니다."),
    ("error.network.port_not_found", "Port {id} could not be found.", "포트 {id}을(를) 찾을 수 없습니다."),
    ("error.network.invalid_input", "Invalid input for operation: {reason}", "작업 입력이 잘못되었습니다: {reason}"),
    ("error.network.network_in_use", "Unable to complete operation on network {id}. There are one or more ports still in use on the network.", "네트워크 {id}에 대한 작업을 완료할 수 없습니다. 네트워크에서 아직 사용 중인 포트가 있습니다."),
    ("error.network.subnet_in_use", "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet.", "서브넷 {id}에 대한 작업을 완료할 수 없습니다. 이 서브넷에서 IP를 할당받은 포트가 있습니다."),
    ("error.network.ip_already_allocated", "IP address {ip} already allocated in subnet {subnet_id}", "IP 주소 {ip}은(는) 서브넷 {subnet_id}에서 이미 할당되었습니다."),
    ("error.network.ip_generation_failure", "No more IP addresses available on network {net_id}.", "네트워크 {net_id}에 남은 IP 주소가 없습니다."),
    ("error.network.mac_in_use", "Unable to complete operation for network {net_id}. The mac address {mac} is in use.", "네트워크 {net_id}에 대한 작업을 완료할 수 없습니다. MAC 주소 {mac}은(는) 사용 중입니다."),
    ("error.network.invalid_ip_for_subnet", "IP address {ip_address} is not a valid IP for the specified subnet.", "IP 주소 {ip_address}은(는) 지정한 서브넷에 맞는 IP가 아닙니다."),
    ("error.network.invalid_ip_for_network", "IP address {ip_address} is not a valid IP for any of the subnets on the specified network.", "IP 주소 {ip_address}은(는) 지정한 네트워크의 어느 서브넷에도 맞지 않습니다."),
    ("error.network.address_pairs_exhausted", "The number of allowed address pair exceeds the maximum {quota}.", "허용 주소 쌍의 수가 최대값 {quota}을(를) 넘습니다."),
    ("error.network.address_pairs_need_port_security", "Port Security must be enabled in order to have allowed address pairs on a port.", "포트에 허용 주소 쌍을 두려면 포트 보안이 켜져 있어야 합니다."),
    ("error.network.security_groups_need_port_security", "Port security must be enabled and port must have an IP address in order to use security groups.", "보안 그룹을 쓰려면 포트 보안이 켜져 있고 포트에 IP 주소가 있어야 합니다."),
    ("error.network.dns_exhausted", "The number of DNS nameservers exceeds the limit {quota}.", "DNS 네임서버 수가 한도 {quota}을(를) 넘습니다."),
    ("error.network.host_routes_exhausted", "The number of host routes exceeds the limit {quota}.", "호스트 경로 수가 한도 {quota}을(를) 넘습니다."),
    ("error.network.gateway_in_use", "Current gateway ip {ip_address} already in use by port {port_id}. Unable to update.", "현재 게이트웨이 IP {ip_address}을(를) 포트 {port_id}이(가) 쓰고 있어 바꿀 수 없습니다."),
    ("error.network.flat_in_use", "Unable to create the flat network. Physical network {physical_network} is in use.", "flat 네트워크를 만들 수 없습니다. 물리 네트워크 {physical_network}은(는) 사용 중입니다."),
    ("error.network.tunnel_id_in_use", "Unable to create the network. The tunnel ID {tunnel_id} is in use.", "네트워크를 만들 수 없습니다. 터널 ID {tunnel_id}은(는) 사용 중입니다."),
    ("error.network.no_network_available", "Unable to create the network. No tenant network is available for allocation.", "네트워크를 만들 수 없습니다. 할당할 수 있는 프로젝트 네트워크가 없습니다."),
    ("error.network.invalid_shared_setting", "Unable to reconfigure sharing settings for network {network}. Multiple tenants are using it.", "네트워크 {network}의 공유 설정을 바꿀 수 없습니다. 여러 프로젝트가 쓰고 있습니다."),
    ("error.network.pool_out_of_bounds", "The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}.", "할당 풀 {pool}이(가) 서브넷 CIDR {subnet_cidr}을(를) 벗어납니다."),
    ("error.network.pools_overlap", "Found overlapping allocation pools: {pool_1} and {pool_2} for subnet {subnet_cidr}.", "서브넷 {subnet_cidr}의 할당 풀 {pool_1}과(와) {pool_2}이(가) 겹칩니다."),
    ("error.network.gateway_in_pool", "Gateway ip {ip_address} conflicts with allocation pool {pool}.", "게이트웨이 IP {ip_address}이(가) 할당 풀 {pool}과(와) 겹칩니다."),
    // Neutron's quota names, where an over-quota error names one.
    ("quota.name.network", "Networks", "네트워크"),
    ("quota.name.subnet", "Subnets", "서브넷"),
    ("quota.name.port", "Ports", "포트"),
];
