-- Security groups and their rules (Neutron's securitygroup extension).
-- MariaDB flavour of migrations/sqlite/0020. Times are UTC microseconds;
-- booleans are 0/1.

CREATE TABLE security_groups (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    stateful BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX security_groups_project ON security_groups (project_id, created_at);

-- A project's `default` group, made on first use. The key is what makes
-- two first uses at once give the project one default group.
CREATE TABLE default_security_groups (
    project_id VARCHAR(64) PRIMARY KEY,
    security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Rules. protocol is Neutron's text (a name or a number, NULL for any);
-- a rule is either a remote prefix or a remote group, or neither (any).
-- rule_key is the rule's normalised content: the unique key that makes a
-- duplicate rule impossible (Neutron's SecurityGroupRuleExists).
CREATE TABLE security_group_rules (
    id VARCHAR(36) PRIMARY KEY,
    project_id VARCHAR(64) NOT NULL,
    security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
    direction VARCHAR(8) NOT NULL,
    ethertype VARCHAR(8) NOT NULL,
    protocol VARCHAR(16),
    port_range_min BIGINT,
    port_range_max BIGINT,
    remote_ip_prefix VARCHAR(64),
    remote_group_id VARCHAR(36),
    description VARCHAR(255) NOT NULL,
    rule_key VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (security_group_id, rule_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX security_group_rules_project ON security_group_rules (project_id, created_at);
CREATE INDEX security_group_rules_remote ON security_group_rules (remote_group_id);

-- Which ports are in which groups: the reverse of ports.security_groups
-- (the port's ordered list, as shown), for "is this group in use" and for
-- the data plane's remote-group rules (every address of a group's ports).
CREATE TABLE port_security_groups (
    port_id VARCHAR(36) NOT NULL REFERENCES ports(id) ON DELETE CASCADE,
    security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups(id),
    PRIMARY KEY (port_id, security_group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX port_security_groups_group ON port_security_groups (security_group_id);
