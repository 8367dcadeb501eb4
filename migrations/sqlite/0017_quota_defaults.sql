-- Default quota limits set by an admin (Nova's quota class `default`,
-- Horizon's Update Defaults), SQLite flavour of migrations/mysql/0017.
-- A row overrides the owning service's configured default for every
-- project without its own limit; no row, the config applies.
CREATE TABLE quota_defaults (
    resource VARCHAR(64) NOT NULL,
    hard_limit BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (resource)
);
