-- Default quota limits set by an admin (Nova's quota class `default`,
-- Horizon's Update Defaults), MariaDB flavour of migrations/sqlite/0017.
-- A row overrides the owning service's configured default for every
-- project without its own limit; no row, the config applies.
CREATE TABLE quota_defaults (
    resource VARCHAR(64) NOT NULL,
    hard_limit BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
