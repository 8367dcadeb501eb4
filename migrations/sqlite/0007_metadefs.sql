-- Glance's metadata definitions catalog (metadefs), SQLite flavour of migrations/mysql/0007.
-- Namespaces are named by their unique `namespace` but keyed by an
-- internal id, so a rename touches one row. Objects, properties and tags are
-- keyed by (namespace, name); their JSON (property schemas, an object's
-- properties and required list) is stored as text. Times are UTC
-- microseconds; booleans are 0/1.
CREATE TABLE metadef_namespaces (
    id VARCHAR(36) PRIMARY KEY,
    namespace VARCHAR(80) NOT NULL UNIQUE,
    display_name VARCHAR(80),
    description VARCHAR(500),
    visibility VARCHAR(16) NOT NULL,
    protected BIGINT NOT NULL DEFAULT 0,
    owner VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX metadef_namespaces_owner ON metadef_namespaces (owner);
CREATE INDEX metadef_namespaces_created ON metadef_namespaces (created_at, id);

CREATE TABLE metadef_resource_types (
    name VARCHAR(80) PRIMARY KEY,
    protected BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE metadef_namespace_resource_types (
    namespace_id VARCHAR(36) NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    resource_type VARCHAR(80) NOT NULL REFERENCES metadef_resource_types(name),
    properties_target VARCHAR(80),
    prefix VARCHAR(80),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, resource_type)
);
CREATE INDEX metadef_ns_resource_types_type ON metadef_namespace_resource_types (resource_type);

CREATE TABLE metadef_objects (
    namespace_id VARCHAR(36) NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    name VARCHAR(80) NOT NULL,
    description VARCHAR(2048),
    required VARCHAR(2048) NOT NULL,
    json_schema VARCHAR(8192) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

CREATE TABLE metadef_properties (
    namespace_id VARCHAR(36) NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    name VARCHAR(80) NOT NULL,
    json_schema VARCHAR(8192) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

CREATE TABLE metadef_tags (
    namespace_id VARCHAR(36) NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    name VARCHAR(80) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

-- The resource types Glance's stock definitions (etc/metadefs, loaded by
-- glance-manage db_load_metadefs) associate, seeded as that loader does:
-- protected system types. Others are created on first association.
INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES
    ('OS::Glance::Image', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('OS::Cinder::Volume', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('OS::Nova::Flavor', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('OS::Nova::Aggregate', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('OS::Nova::Server', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('OS::Trove::Instance', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000);
