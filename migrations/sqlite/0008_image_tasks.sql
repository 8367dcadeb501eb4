-- Glance's tasks: a record of each interoperable import (type
-- api_image_import) with the request that started it, for
-- GET /v2/tasks and /v2/images/{id}/tasks. Tasks outlive their image, as
-- Glance's do (no foreign key). input and result are JSON text; times are UTC
-- microseconds. VARCHAR, not TEXT: a binary collation makes TEXT a blob.
CREATE TABLE image_tasks (
    id VARCHAR(36) PRIMARY KEY,
    task_type VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    owner VARCHAR(64),
    image_id VARCHAR(36),
    user_id VARCHAR(64),
    request_id VARCHAR(64),
    input VARCHAR(8192) NOT NULL,
    result VARCHAR(2048),
    message VARCHAR(2048) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX image_tasks_image ON image_tasks (image_id, created_at);
CREATE INDEX image_tasks_created ON image_tasks (created_at, id);
