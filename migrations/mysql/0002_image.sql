-- Images (Glance v2), MariaDB flavour of migrations/sqlite/0002. Times are UTC microseconds; booleans are 0/1.
CREATE TABLE images (
    id VARCHAR(36) PRIMARY KEY,
    name VARCHAR(255),
    owner VARCHAR(64),
    visibility VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    disk_format VARCHAR(16),
    container_format VARCHAR(16),
    min_disk BIGINT NOT NULL DEFAULT 0,
    min_ram BIGINT NOT NULL DEFAULT 0,
    protected BIGINT NOT NULL DEFAULT 0,
    os_hidden BIGINT NOT NULL DEFAULT 0,
    size BIGINT,
    virtual_size BIGINT,
    checksum VARCHAR(32),
    os_hash_algo VARCHAR(64),
    os_hash_value VARCHAR(128),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX images_owner ON images (owner, created_at);
CREATE INDEX images_visibility ON images (visibility, created_at);
CREATE INDEX images_created ON images (created_at, id);

CREATE TABLE image_tags (
    image_id VARCHAR(36) NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    tag VARCHAR(255) NOT NULL,
    PRIMARY KEY (image_id, tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX image_tags_tag ON image_tags (tag);

CREATE TABLE image_properties (
    image_id VARCHAR(36) NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    value VARCHAR(4096) NOT NULL,
    PRIMARY KEY (image_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE image_members (
    image_id VARCHAR(36) NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    member VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX image_members_member ON image_members (member, status);
