-- Compute (Nova v2.1): flavors, key pairs, nodes, instances. MariaDB flavour of
-- migrations/sqlite/0014. Times are UTC microseconds; booleans are 0/1.

-- Flavors. An instance keeps a copy of its flavor's sizes (as Nova embeds the
-- flavor), so a flavor can be deleted while instances of it run.
CREATE TABLE flavors (
    id VARCHAR(255) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024),
    vcpus BIGINT NOT NULL,
    ram_mib BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    ephemeral_gb BIGINT NOT NULL DEFAULT 0,
    swap_mib BIGINT NOT NULL DEFAULT 0,
    rxtx_factor DOUBLE NOT NULL DEFAULT 1,
    is_public BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Which projects may use a private flavor.
CREATE TABLE flavor_projects (
    flavor_id VARCHAR(255) NOT NULL REFERENCES flavors(id) ON DELETE CASCADE,
    project_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX flavor_projects_project ON flavor_projects (project_id);

CREATE TABLE flavor_extra_specs (
    flavor_id VARCHAR(255) NOT NULL REFERENCES flavors(id) ON DELETE CASCADE,
    spec_key VARCHAR(255) NOT NULL,
    spec_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (flavor_id, spec_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Key pairs belong to a user (as in Nova), not a project.
CREATE TABLE keypairs (
    user_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    key_type VARCHAR(8) NOT NULL,
    fingerprint VARCHAR(128) NOT NULL,
    public_key VARCHAR(4096) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Compute nodes, as their agents report them. The *_used columns are the
-- scheduler's claims, changed only by conditional UPDATEs so that two boots
-- never take the same last slot. A node whose heartbeat_at is older than the
-- configured window is down.
CREATE TABLE compute_nodes (
    id VARCHAR(36) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    host_ip VARCHAR(64) NOT NULL,
    hypervisor_type VARCHAR(32) NOT NULL,
    hypervisor_version BIGINT NOT NULL,
    availability_zone VARCHAR(255) NOT NULL,
    vcpus BIGINT NOT NULL,
    memory_mib BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    vcpus_used BIGINT NOT NULL DEFAULT 0,
    memory_mib_used BIGINT NOT NULL DEFAULT 0,
    disk_gb_used BIGINT NOT NULL DEFAULT 0,
    running_vms BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 1,
    disabled_reason VARCHAR(255),
    forced_down BIGINT NOT NULL DEFAULT 0,
    agent_started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Instances (Nova's servers). vm_state/task_state/power_state are Nova's.
-- pending_request/pending_action name the one request an agent is working
-- on: a result for any other request id is stale (a redelivery) and ignored.
-- action_deadline is when an unanswered request times out.
CREATE TABLE instances (
    id VARCHAR(36) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(255),
    project_id VARCHAR(64) NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    image_id VARCHAR(36) NOT NULL,
    flavor_id VARCHAR(255) NOT NULL,
    flavor_name VARCHAR(255) NOT NULL,
    vcpus BIGINT NOT NULL,
    ram_mib BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    ephemeral_gb BIGINT NOT NULL,
    swap_mib BIGINT NOT NULL,
    flavor_extra_specs VARCHAR(4096) NOT NULL,
    key_name VARCHAR(255),
    key_data VARCHAR(4096),
    user_data MEDIUMBLOB,
    availability_zone VARCHAR(255),
    hostname VARCHAR(255) NOT NULL,
    node_id VARCHAR(36),
    node_name VARCHAR(255),
    vm_state VARCHAR(16) NOT NULL,
    task_state VARCHAR(32),
    power_state BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    locked_by VARCHAR(16),
    locked_reason VARCHAR(255),
    tries BIGINT NOT NULL DEFAULT 0,
    tried_nodes VARCHAR(512) NOT NULL DEFAULT '',
    pending_request VARCHAR(64),
    pending_action VARCHAR(32),
    action_deadline BIGINT,
    fault_code BIGINT,
    fault_message VARCHAR(255),
    fault_details VARCHAR(1024),
    fault_at BIGINT,
    reservation_id VARCHAR(32) NOT NULL,
    launch_index BIGINT NOT NULL DEFAULT 0,
    launched_at BIGINT,
    terminated_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX instances_project ON instances (project_id, deleted_at, created_at);
CREATE INDEX instances_created ON instances (deleted_at, created_at, id);
CREATE INDEX instances_node ON instances (node_id, deleted_at);
CREATE INDEX instances_pending ON instances (action_deadline);

CREATE TABLE instance_metadata (
    instance_id VARCHAR(36) NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    meta_key VARCHAR(255) NOT NULL,
    meta_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (instance_id, meta_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- os-instance-actions: what was asked of an instance, by whom, and how it ended.
CREATE TABLE instance_actions (
    id VARCHAR(36) PRIMARY KEY,
    instance_id VARCHAR(36) NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    action VARCHAR(32) NOT NULL,
    request_id VARCHAR(64) NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    message VARCHAR(255),
    start_time BIGINT NOT NULL,
    finish_time BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX instance_actions_instance ON instance_actions (instance_id, start_time);
