-- Domain-specific roles: a role belongs to a domain or (domain_id '') is
-- global, and names are unique within each.
ALTER TABLE roles ADD COLUMN domain_id VARCHAR(64) NOT NULL DEFAULT '',
    DROP INDEX name,
    ADD UNIQUE (domain_id, name);
