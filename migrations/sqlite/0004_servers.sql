-- Server processes sharing this database, and which of them owns an upload in progress.
-- A server beats every few seconds; one whose heartbeat_at is older than the lease is dead.
CREATE TABLE servers (
    id VARCHAR(36) PRIMARY KEY,
    host VARCHAR(255) NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE INDEX servers_heartbeat ON servers (heartbeat_at);

-- The server running an image's upload while it is `saving` (NULL otherwise).
ALTER TABLE images ADD COLUMN upload_owner VARCHAR(36);
CREATE INDEX images_status_owner ON images (status, upload_owner);
