-- MariaDB flavour of migrations/sqlite/0009. A writable catalog (regions, admin-made services and endpoints, endpoint
-- groups), Keystone's policy blobs, credentials (EC2 and others; blobs
-- encrypted with the server's credential key) and domain-specific
-- configuration.

-- Regions: Keystone's adjacency list. Every region an endpoint already
-- names becomes a row.
CREATE TABLE regions (
    id VARCHAR(255) PRIMARY KEY,
    description VARCHAR(255) NOT NULL DEFAULT '',
    parent_region_id VARCHAR(255)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX regions_parent ON regions (parent_region_id);
INSERT INTO regions (id, description) SELECT DISTINCT region_id, '' FROM endpoints;

-- `registry` = 1: the row is kept by the server's service registry
-- (`ensure_catalog` at every start); the API refuses to change those.
-- Every row so far came from the registry.
ALTER TABLE services ADD COLUMN registry BIGINT NOT NULL DEFAULT 0;
UPDATE services SET registry = 1;

-- Endpoints may have no region (Keystone's region_id is nullable).
ALTER TABLE endpoints MODIFY region_id VARCHAR(255) NULL;
ALTER TABLE endpoints ADD COLUMN registry BIGINT NOT NULL DEFAULT 0;
UPDATE endpoints SET registry = 1;
CREATE INDEX endpoints_region ON endpoints (region_id);

-- OS-EP-FILTER endpoint groups: `filters` is the JSON object of endpoint
-- attributes an endpoint must match.
CREATE TABLE endpoint_groups (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024),
    filters VARCHAR(4096) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE project_endpoint_groups (
    endpoint_group_id VARCHAR(64) NOT NULL REFERENCES endpoint_groups(id) ON DELETE CASCADE,
    project_id VARCHAR(64) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    PRIMARY KEY (endpoint_group_id, project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Keystone's opaque policy blobs (`/v3/policies`).
CREATE TABLE policies (
    id VARCHAR(64) PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    blob_data VARCHAR(8192) NOT NULL,
    extra VARCHAR(4096) NOT NULL DEFAULT '{}'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- `/v3/credentials`: `encrypted_blob` is the blob sealed with the server's
-- credential key (`key_hash` names which key); an EC2 credential's id is
-- the SHA-256 of its access key, as in Keystone.
CREATE TABLE credentials (
    id VARCHAR(64) PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id VARCHAR(64) REFERENCES projects(id) ON DELETE CASCADE,
    type VARCHAR(255) NOT NULL,
    encrypted_blob VARCHAR(8192) NOT NULL,
    key_hash VARCHAR(64) NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX credentials_user ON credentials (user_id);
CREATE INDEX credentials_project ON credentials (project_id);

-- Domain-specific configuration: one row per option, its value as JSON.
CREATE TABLE domain_config (
    domain_id VARCHAR(64) NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    config_group VARCHAR(255) NOT NULL,
    config_option VARCHAR(255) NOT NULL,
    config_value VARCHAR(4096) NOT NULL,
    PRIMARY KEY (domain_id, config_group, config_option)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
