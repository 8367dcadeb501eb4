-- Keystone's project hierarchy, project tags, the extra attributes Keystone
-- keeps on users, and inherited role assignments (OS-INHERIT).
-- parent_id NULL: the project's parent is its domain.
ALTER TABLE projects ADD COLUMN parent_id VARCHAR(64);
CREATE INDEX projects_parent ON projects (parent_id);

CREATE TABLE project_tags (
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    PRIMARY KEY (project_id, name),
    INDEX project_tags_name (name),
    FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A JSON object of the attributes a client sent that Gureum has no column
-- for (Keystone returns them as they were given). A VARCHAR, not TEXT: a
-- TEXT column of this binary collation reads back as bytes.
ALTER TABLE users ADD COLUMN extra VARCHAR(8000) NOT NULL DEFAULT '{}';

-- inherited = 1: the role applies to the target's projects (every project of
-- a domain, or a project's subtree), not to the target itself. A grant and
-- its inherited twin are distinct assignments.
ALTER TABLE role_assignments ADD COLUMN inherited BIGINT NOT NULL DEFAULT 0;
ALTER TABLE role_assignments DROP PRIMARY KEY,
    ADD PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited);
