-- Routers and floating IPs (Neutron's router extension).
-- SQLite flavour of migrations/mysql/0021. Times are UTC microseconds;
-- booleans are 0/1.

-- A router: its external gateway is a port on an external network
-- (gw_port_id, gw_network_id; both NULL without one), with SNAT for the
-- subnets behind it unless enable_snat is 0.
CREATE TABLE routers (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    admin_state_up BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    gw_port_id VARCHAR(36) REFERENCES ports(id),
    gw_network_id VARCHAR(36),
    enable_snat BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX routers_project ON routers (project_id, created_at);
CREATE INDEX routers_gw_network ON routers (gw_network_id);

-- A router's interfaces: which ports are its (the truth; a port's
-- device_owner and device_id only describe it).
CREATE TABLE router_ports (
    port_id VARCHAR(36) PRIMARY KEY REFERENCES ports(id),
    router_id VARCHAR(36) NOT NULL REFERENCES routers(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX router_ports_router ON router_ports (router_id);

-- Floating IPs: an address of an external network (held by the port
-- floating_port_id), and the fixed address of a project port it is NATed
-- to through router_id. The unique key is Neutron's: one floating IP per
-- fixed address per external network (NULLs, unassociated, repeat).
CREATE TABLE floating_ips (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    floating_network_id VARCHAR(36) NOT NULL REFERENCES networks(id),
    floating_port_id VARCHAR(36) NOT NULL REFERENCES ports(id),
    floating_ip_address VARCHAR(64) NOT NULL,
    fixed_port_id VARCHAR(36) REFERENCES ports(id),
    fixed_ip_address VARCHAR(64),
    router_id VARCHAR(36) REFERENCES routers(id),
    description VARCHAR(255) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (floating_network_id, fixed_port_id, fixed_ip_address)
);
CREATE INDEX floating_ips_project ON floating_ips (project_id, created_at);
CREATE INDEX floating_ips_fixed_port ON floating_ips (fixed_port_id);
CREATE INDEX floating_ips_router ON floating_ips (router_id);
