-- Download grants: a node building an instance fetches the image's data with
-- one instead of a user's token or a service credential. A grant opens one
-- image's data, read-only, for a few minutes. The database keeps only its
-- SHA-256 (as it does for tokens).
CREATE TABLE image_download_grants (
    id_hash CHAR(64) PRIMARY KEY,
    image_id VARCHAR(36) NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX image_download_grants_expiry ON image_download_grants (expires_at);
