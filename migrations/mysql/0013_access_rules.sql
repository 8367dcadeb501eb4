-- Application credential access rules: a credential with rules may call
-- only the (service, method, path) they name. Rules belong to a user and
-- are shared by its credentials; deleting a credential keeps them.
CREATE TABLE access_rules (
    id VARCHAR(64) PRIMARY KEY,
    user_id VARCHAR(64) NOT NULL,
    service VARCHAR(64) NOT NULL,
    path VARCHAR(255) NOT NULL,
    method VARCHAR(16) NOT NULL,
    UNIQUE (user_id, service, path, method)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE app_credential_access_rules (
    app_cred_id VARCHAR(64) NOT NULL,
    access_rule_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (app_cred_id, access_rule_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX app_credential_access_rules_rule ON app_credential_access_rules (access_rule_id);
