-- Quotas (cloud::quota), MariaDB flavour of migrations/sqlite/0003. Per-project limits
-- (defaults come from config), usage and expiring reservations per (project, resource).
CREATE TABLE quota_limits (
    project_id VARCHAR(64) NOT NULL,
    resource VARCHAR(64) NOT NULL,
    hard_limit BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE quota_usage (
    project_id VARCHAR(64) NOT NULL,
    resource VARCHAR(64) NOT NULL,
    in_use BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE quota_reservations (
    id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    resource VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX quota_reservations_project ON quota_reservations (project_id, resource, expires_at);
CREATE INDEX quota_reservations_expires ON quota_reservations (expires_at);

-- Usage of the images that exist already (bytes of images with data).
INSERT INTO quota_usage (project_id, resource, in_use, updated_at)
    SELECT owner, 'image_count_total', COUNT(*), 0 FROM images WHERE owner IS NOT NULL GROUP BY owner;
INSERT INTO quota_usage (project_id, resource, in_use, updated_at)
    SELECT owner, 'image_size_total', CAST(SUM(size) AS SIGNED), 0 FROM images WHERE owner IS NOT NULL AND size IS NOT NULL GROUP BY owner;
