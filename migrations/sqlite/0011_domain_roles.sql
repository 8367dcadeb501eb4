-- Domain-specific roles: a role belongs to a domain or (domain_id '') is
-- global, and names are unique within each. SQLite cannot change a UNIQUE
-- constraint in place, so the table is rebuilt. Its old copy cannot be
-- dropped with foreign keys off (sqlx runs every SQLite migration in a
-- transaction, where the pragma does nothing), and dropping it cascades
-- into the tables that reference roles; so those rows are kept aside and
-- put back. The row-count triggers of migration 0006 are made again.
CREATE TABLE roles_new (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    domain_id VARCHAR(64) NOT NULL DEFAULT '',
    UNIQUE (domain_id, name)
);
INSERT INTO roles_new (id, name, description, created_at)
    SELECT id, name, description, created_at FROM roles;
CREATE TEMP TABLE kept_assignments AS SELECT * FROM role_assignments;
CREATE TEMP TABLE kept_implied AS SELECT * FROM implied_roles;
CREATE TEMP TABLE kept_appcred_roles AS SELECT * FROM app_credential_roles;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
INSERT INTO role_assignments SELECT * FROM kept_assignments;
INSERT INTO implied_roles SELECT * FROM kept_implied;
INSERT INTO app_credential_roles SELECT * FROM kept_appcred_roles;
DROP TABLE kept_assignments;
DROP TABLE kept_implied;
DROP TABLE kept_appcred_roles;
CREATE TRIGGER roles_counted_insert AFTER INSERT ON roles FOR EACH ROW BEGIN UPDATE row_counts SET n = n + 1 WHERE table_name = 'roles'; END;
CREATE TRIGGER roles_counted_delete AFTER DELETE ON roles FOR EACH ROW BEGIN UPDATE row_counts SET n = n - 1 WHERE table_name = 'roles'; END;
UPDATE row_counts SET n = (SELECT COUNT(*) FROM roles) WHERE table_name = 'roles';
