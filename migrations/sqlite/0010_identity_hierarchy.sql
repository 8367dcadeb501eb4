-- Keystone's project hierarchy, project tags, the extra attributes Keystone
-- keeps on users, and inherited role assignments (OS-INHERIT).
-- parent_id NULL: the project's parent is its domain.
ALTER TABLE projects ADD COLUMN parent_id VARCHAR(64);
CREATE INDEX projects_parent ON projects (parent_id);

CREATE TABLE project_tags (
    project_id VARCHAR(64) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE INDEX project_tags_name ON project_tags (name);

-- A JSON object of the attributes a client sent that Gureum has no column
-- for (Keystone returns them as they were given).
ALTER TABLE users ADD COLUMN extra VARCHAR(8000) NOT NULL DEFAULT '{}';

-- inherited = 1: the role applies to the target's projects (every project of
-- a domain, or a project's subtree), not to the target itself. A grant and
-- its inherited twin are distinct assignments.
CREATE TABLE role_assignments_new (
    actor_type VARCHAR(16) NOT NULL,
    actor_id VARCHAR(64) NOT NULL,
    target_type VARCHAR(16) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    inherited BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited)
);
INSERT INTO role_assignments_new (actor_type, actor_id, target_type, target_id, role_id)
    SELECT actor_type, actor_id, target_type, target_id, role_id FROM role_assignments;
DROP TABLE role_assignments;
ALTER TABLE role_assignments_new RENAME TO role_assignments;
CREATE INDEX role_assignments_target ON role_assignments (target_type, target_id);
