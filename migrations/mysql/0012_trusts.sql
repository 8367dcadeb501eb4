-- OS-TRUST: a trustor delegates some of its roles on a project to a
-- trustee, who can then get tokens scoped by the trust (as the trustor,
-- with impersonation). Trusts are never updated, only created and deleted.
CREATE TABLE trusts (
    id VARCHAR(64) PRIMARY KEY,
    trustor_user_id VARCHAR(64) NOT NULL,
    trustee_user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    impersonation BIGINT NOT NULL,
    allow_redelegation BIGINT NOT NULL DEFAULT 0,
    -- NULL: unlimited; a trust-scoped token costs one use.
    remaining_uses BIGINT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX trusts_trustor ON trusts (trustor_user_id);
CREATE INDEX trusts_trustee ON trusts (trustee_user_id);

CREATE TABLE trust_roles (
    trust_id VARCHAR(64) NOT NULL REFERENCES trusts(id) ON DELETE CASCADE,
    role_id VARCHAR(64) NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (trust_id, role_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A trust-scoped token names its trust (its roles are the trust's).
ALTER TABLE tokens ADD COLUMN trust_id VARCHAR(64);
