-- Identity (Keystone). Times are UTC microseconds; booleans are 0/1.
CREATE TABLE domains (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id VARCHAR(64) PRIMARY KEY,
    domain_id VARCHAR(64) NOT NULL REFERENCES domains(id),
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id VARCHAR(64) PRIMARY KEY,
    domain_id VARCHAR(64) NOT NULL REFERENCES domains(id),
    name VARCHAR(255) NOT NULL,
    email VARCHAR(255),
    description VARCHAR(1024) NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1,
    default_project_id VARCHAR(64),
    password_hash VARCHAR(255),
    failed_auth_count BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    language VARCHAR(16) NOT NULL DEFAULT 'en',
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT,
    UNIQUE (domain_id, name)
);
CREATE INDEX users_name ON users (name);

CREATE TABLE password_history (
    id VARCHAR(64) PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, created_at);

CREATE TABLE user_groups (
    id VARCHAR(64) PRIMARY KEY,
    domain_id VARCHAR(64) NOT NULL REFERENCES domains(id),
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE group_members (
    group_id VARCHAR(64) NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id VARCHAR(64) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE roles (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE implied_roles (
    prior_role_id VARCHAR(64) NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    implied_role_id VARCHAR(64) NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

-- actor_type: 'user' | 'group'; target_type: 'project' | 'domain' | 'system'
CREATE TABLE role_assignments (
    actor_type VARCHAR(16) NOT NULL,
    actor_id VARCHAR(64) NOT NULL,
    target_type VARCHAR(16) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id)
);
CREATE INDEX role_assignments_target ON role_assignments (target_type, target_id);

CREATE TABLE tokens (
    id_hash VARCHAR(64) PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    scope_type VARCHAR(16) NOT NULL,
    scope_id VARCHAR(64),
    methods VARCHAR(255) NOT NULL,
    audit_id VARCHAR(64) NOT NULL,
    parent_audit_id VARCHAR(64),
    app_cred_id VARCHAR(64),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE app_credentials (
    id VARCHAR(64) PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    secret_hash VARCHAR(255) NOT NULL,
    unrestricted BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE app_credential_roles (
    app_cred_id VARCHAR(64) NOT NULL REFERENCES app_credentials(id) ON DELETE CASCADE,
    role_id VARCHAR(64) NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (app_cred_id, role_id)
);

CREATE TABLE services (
    id VARCHAR(64) PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description VARCHAR(1024) NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE endpoints (
    id VARCHAR(64) PRIMARY KEY,
    service_id VARCHAR(64) NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    interface VARCHAR(16) NOT NULL,
    region_id VARCHAR(255) NOT NULL,
    url VARCHAR(1024) NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1
);
