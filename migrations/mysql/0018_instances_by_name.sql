-- The portal sorts a project's instances by name (and pages them with a
-- total): without this the database sorts every row of the project.
CREATE INDEX instances_project_name ON instances (project_id, deleted_at, name);
