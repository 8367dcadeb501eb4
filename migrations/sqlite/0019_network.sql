-- Networking (Neutron v2.0), first slice: networks, subnets, ports, IPAM.
-- SQLite flavour of migrations/mysql/0019. Times are UTC microseconds;
-- booleans are 0/1.

-- Networks: a project's own, or `shared` with every project; admins make
-- `router_external` ones and choose the provider segment. A network's
-- segment is also a row of network_segments, whose key makes it unique
-- (one network per flat physical network, one per VXLAN id).
CREATE TABLE networks (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    admin_state_up BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    shared BIGINT NOT NULL,
    router_external BIGINT NOT NULL,
    mtu BIGINT NOT NULL,
    network_type VARCHAR(16) NOT NULL,
    physical_network VARCHAR(64),
    segmentation_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX networks_project ON networks (project_id, created_at);
CREATE INDEX networks_visible ON networks (shared, router_external);

-- physical_network is '' for VXLAN, segmentation_id 0 for flat: the key is
-- never NULL, so both engines enforce it.
CREATE TABLE network_segments (
    network_type VARCHAR(16) NOT NULL,
    physical_network VARCHAR(64) NOT NULL,
    segmentation_id BIGINT NOT NULL,
    network_id VARCHAR(36) NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    PRIMARY KEY (network_type, physical_network, segmentation_id)
);
CREATE INDEX network_segments_network ON network_segments (network_id);

-- IPv4 subnets. The lists are JSON: allocation_pools [{"start","end"}],
-- dns_nameservers ["a.b.c.d"], host_routes [{"destination","nexthop"}].
CREATE TABLE subnets (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    network_id VARCHAR(36) NOT NULL REFERENCES networks(id),
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    ip_version BIGINT NOT NULL,
    cidr VARCHAR(64) NOT NULL,
    gateway_ip VARCHAR(64),
    enable_dhcp BIGINT NOT NULL,
    allocation_pools VARCHAR(4096) NOT NULL,
    dns_nameservers VARCHAR(512) NOT NULL,
    host_routes VARCHAR(2048) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subnets_network ON subnets (network_id, created_at);
CREATE INDEX subnets_project ON subnets (project_id, created_at);

-- Ports. The MAC is unique per network. allowed_address_pairs
-- [{"ip_address","mac_address"}] and security_groups [ids] are JSON.
CREATE TABLE ports (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    network_id VARCHAR(36) NOT NULL REFERENCES networks(id),
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    mac_address VARCHAR(17) NOT NULL,
    admin_state_up BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    device_owner VARCHAR(255) NOT NULL,
    device_id VARCHAR(255) NOT NULL,
    port_security_enabled BIGINT NOT NULL,
    allowed_address_pairs VARCHAR(2048) NOT NULL,
    security_groups VARCHAR(2048) NOT NULL,
    binding_host_id VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (network_id, mac_address)
);
CREATE INDEX ports_project ON ports (project_id, created_at);
CREATE INDEX ports_device ON ports (device_id);

-- IPAM: the primary key is what makes an address impossible to hand out
-- twice, whatever the concurrency. position keeps a port's fixed_ips in
-- the order they were asked for.
CREATE TABLE ip_allocations (
    subnet_id VARCHAR(36) NOT NULL REFERENCES subnets(id),
    ip_address VARCHAR(64) NOT NULL,
    port_id VARCHAR(36) NOT NULL REFERENCES ports(id) ON DELETE CASCADE,
    network_id VARCHAR(36) NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX ip_allocations_port ON ip_allocations (port_id, position);
