//! Domain-specific configuration (`/v3/domains/{id}/config`), stored as
//! Keystone stores it: one row per option, only the groups `identity` and
//! `ldap` and their whitelisted options (and `ldap.password`, which is
//! kept but never shown). Gureum serves every domain from its own SQL
//! backend, so these settings are recorded for clients, not applied (as
//! with Keystone's `domain_specific_drivers_enabled = false`).

use serde_json::{Map, Value};
use sqlx::Row;

use super::error::{IdentityError, Result};
use super::IdentityService;
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

/// Keystone's `whitelisted_options['identity']`, with their defaults (JSON).
const IDENTITY_OPTIONS: &[(&str, &str)] = &[("driver", "\"sql\""), ("list_limit", "null")];

/// Keystone's `whitelisted_options['ldap']`, with keystone.conf's defaults.
const LDAP_OPTIONS: &[(&str, &str)] = &[
    ("url", "\"ldap://localhost\""),
    ("user", "null"),
    ("suffix", "\"cn=example,cn=com\""),
    ("query_scope", "\"one\""),
    ("page_size", "0"),
    ("alias_dereferencing", "\"default\""),
    ("debug_level", "null"),
    ("chase_referrals", "null"),
    ("user_tree_dn", "null"),
    ("user_filter", "null"),
    ("user_objectclass", "\"inetOrgPerson\""),
    ("user_id_attribute", "\"cn\""),
    ("user_name_attribute", "\"sn\""),
    ("user_mail_attribute", "\"mail\""),
    ("user_description_attribute", "\"description\""),
    ("user_pass_attribute", "\"userPassword\""),
    ("user_enabled_attribute", "\"enabled\""),
    ("user_enabled_invert", "false"),
    ("user_enabled_mask", "0"),
    ("user_enabled_default", "\"True\""),
    ("user_attribute_ignore", "[\"default_project_id\"]"),
    ("user_default_project_id_attribute", "null"),
    ("user_enabled_emulation", "false"),
    ("user_enabled_emulation_dn", "null"),
    ("user_enabled_emulation_use_group_config", "false"),
    ("user_additional_attribute_mapping", "[]"),
    ("group_tree_dn", "null"),
    ("group_filter", "null"),
    ("group_objectclass", "\"groupOfNames\""),
    ("group_id_attribute", "\"cn\""),
    ("group_name_attribute", "\"ou\""),
    ("group_members_are_ids", "false"),
    ("group_member_attribute", "\"member\""),
    ("group_desc_attribute", "\"description\""),
    ("group_attribute_ignore", "[]"),
    ("group_additional_attribute_mapping", "[]"),
    ("tls_cacertfile", "null"),
    ("tls_cacertdir", "null"),
    ("use_tls", "false"),
    ("tls_req_cert", "\"demand\""),
    ("use_pool", "true"),
    ("pool_size", "10"),
    ("pool_retry_max", "3"),
    ("pool_retry_delay", "0.1"),
    ("pool_connection_timeout", "-1"),
    ("pool_connection_lifetime", "600"),
    ("use_auth_pool", "true"),
    ("auth_pool_size", "100"),
    ("auth_pool_connection_lifetime", "60"),
];

/// Options kept but never returned.
const SENSITIVE: &[(&str, &str)] = &[("ldap", "password")];

fn group_options(group: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match group {
        "identity" => Some(IDENTITY_OPTIONS),
        "ldap" => Some(LDAP_OPTIONS),
        _ => None,
    }
}

fn is_sensitive(group: &str, option: &str) -> bool {
    SENSITIVE.contains(&(group, option))
}

fn invalid(reason: crate::PublicMessage) -> IdentityError {
    IdentityError::Validation(reason)
}

/// The group (and option) may be stored in a domain's configuration.
fn check_group_option(group: &str, option: Option<&str>) -> Result<()> {
    let Some(options) = group_options(group) else {
        return Err(invalid(crate::msg!(
            "error.identity.domain_config.group",
            "Invalid domain specific configuration: group {group} is not supported for domain specific configurations.",
            group = group,
        )));
    };
    if let Some(o) = option {
        if !options.iter().any(|(n, _)| *n == o) && !is_sensitive(group, o) {
            return Err(invalid(crate::msg!(
                "error.identity.domain_config.option",
                "Invalid domain specific configuration: option {option} in group {group} is not supported for domain specific configurations.",
                group = group,
                option = o,
            )));
        }
    }
    Ok(())
}

/// `{group: {option: value}}` with known groups and options, none empty.
fn check_config(config: &Map<String, Value>) -> Result<Vec<(String, String, String)>> {
    if config.is_empty() {
        return Err(invalid(crate::msg!(
            "error.identity.domain_config.empty",
            "Invalid domain specific configuration: no options specified."
        )));
    }
    let mut out = Vec::new();
    for (group, options) in config {
        let Some(options) = options.as_object().filter(|o| !o.is_empty()) else {
            return Err(invalid(crate::msg!(
                "error.identity.domain_config.group_value",
                "Invalid domain specific configuration: the value of group {group} should be an object of options.",
                group = group.clone(),
            )));
        };
        for (option, value) in options {
            check_group_option(group, Some(option))?;
            let json = value.to_string();
            if json.len() > 4096 {
                return Err(invalid(crate::msg!(
                    "error.identity.domain_config.too_long",
                    "Invalid domain specific configuration: the value of {option} is longer than 4096 characters of JSON.",
                    option = option.clone(),
                )));
            }
            out.push((group.clone(), option.clone(), json));
        }
    }
    Ok(out)
}

fn not_found(domain_id: &str, group: Option<&str>, option: Option<&str>) -> IdentityError {
    let what = match (group, option) {
        (Some(g), Some(o)) => format!("{domain_id} (option {o} in group {g})"),
        (Some(g), None) => format!("{domain_id} (group {g})"),
        _ => format!("{domain_id} (any options)"),
    };
    IdentityError::not_found("domain config", what)
}

/// Rows as Keystone renders them: `{option: value}` for one option, else
/// `{group: {option: value}}`.
fn render(rows: Vec<(String, String, Value)>, option: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    for (g, o, v) in rows {
        if option.is_some() {
            out.insert(o, v);
        } else if let Value::Object(m) = out.entry(g).or_insert_with(|| Value::Object(Map::new())) {
            m.insert(o, v);
        }
    }
    out
}

impl IdentityService {
    async fn config_rows(
        &self,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
        with_sensitive: bool,
    ) -> Result<Vec<(String, String, Value)>> {
        let rows = sqlx::query("SELECT config_group, config_option, config_value FROM domain_config WHERE domain_id = ? ORDER BY config_group, config_option")
            .bind(domain_id.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let g: String = r.try_get("config_group")?;
            let o: String = r.try_get("config_option")?;
            if group.is_some_and(|x| x != g) || option.is_some_and(|x| x != o) {
                continue;
            }
            if !with_sensitive && is_sensitive(&g, &o) {
                continue;
            }
            let v: String = r.try_get("config_value")?;
            out.push((g, o, serde_json::from_str(&v).unwrap_or(Value::Null)));
        }
        Ok(out)
    }

    async fn upsert_config(
        &self,
        domain_id: &str,
        rows: &[(String, String, String)],
        replace: bool,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        if replace {
            sqlx::query("DELETE FROM domain_config WHERE domain_id = ?")
                .bind(domain_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        for (g, o, v) in rows {
            sqlx::query("DELETE FROM domain_config WHERE domain_id = ? AND config_group = ? AND config_option = ?")
                .bind(domain_id.to_string())
                .bind(g.clone())
                .bind(o.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO domain_config (domain_id, config_group, config_option, config_value) VALUES (?, ?, ?, ?)")
                .bind(domain_id.to_string())
                .bind(g.clone())
                .bind(o.clone())
                .bind(v.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the domain's configuration; `true` when it had none.
    pub async fn create_domain_config(
        &self,
        ctx: &RequestContext,
        domain_id: &str,
        config: &Map<String, Value>,
    ) -> Result<(Map<String, Value>, bool)> {
        enforce(ctx, &rules::CREATE_DOMAIN_CONFIG, &PolicyTarget::none())?;
        self.domain_by_id(domain_id).await?;
        let rows = check_config(config)?;
        let had = !self
            .config_rows(domain_id, None, None, true)
            .await?
            .is_empty();
        self.upsert_config(domain_id, &rows, true).await?;
        Ok((
            render(self.config_rows(domain_id, None, None, false).await?, None),
            !had,
        ))
    }

    pub async fn get_domain_config(
        &self,
        ctx: &RequestContext,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<Map<String, Value>> {
        enforce(ctx, &rules::GET_DOMAIN_CONFIG, &PolicyTarget::none())?;
        self.domain_by_id(domain_id).await?;
        if let Some(g) = group {
            check_group_option(g, option)?;
        }
        let rows = self.config_rows(domain_id, group, option, false).await?;
        if rows.is_empty() {
            return Err(not_found(domain_id, group, option));
        }
        Ok(render(rows, option))
    }

    /// Merges `config` into the domain's; with a group (and option) only
    /// that one, which must already exist. For one option `config` is
    /// `{option: value}`. Answers the whole configuration.
    pub async fn update_domain_config(
        &self,
        ctx: &RequestContext,
        domain_id: &str,
        config: Map<String, Value>,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<Map<String, Value>> {
        enforce(ctx, &rules::UPDATE_DOMAIN_CONFIG, &PolicyTarget::none())?;
        self.domain_by_id(domain_id).await?;
        let config = match (group, option) {
            (Some(g), Some(_)) => {
                let mut m = Map::new();
                m.insert(g.to_string(), Value::Object(config));
                m
            }
            _ => config,
        };
        let rows = check_config(&config)?;
        if let Some(g) = group {
            check_group_option(g, option)?;
            let only = config.len() == 1
                && config.contains_key(g)
                && option.is_none_or(|o| rows.len() == 1 && rows[0].1 == o);
            if !only {
                return Err(invalid(crate::msg!(
                    "error.identity.domain_config.update_scope",
                    "Invalid domain specific configuration: an update of {what} must name that, and only that, in the config.",
                    what = match option { Some(o) => format!("option {o} in group {g}"), None => format!("group {g}") },
                )));
            }
            if self
                .config_rows(domain_id, Some(g), option, true)
                .await?
                .is_empty()
            {
                return Err(not_found(domain_id, group, option));
            }
        }
        self.upsert_config(domain_id, &rows, false).await?;
        Ok(render(
            self.config_rows(domain_id, None, None, false).await?,
            None,
        ))
    }

    pub async fn delete_domain_config(
        &self,
        ctx: &RequestContext,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<()> {
        enforce(ctx, &rules::DELETE_DOMAIN_CONFIG, &PolicyTarget::none())?;
        self.domain_by_id(domain_id).await?;
        if let Some(g) = group {
            check_group_option(g, option)?;
        }
        let mut sql = String::from("DELETE FROM domain_config WHERE domain_id = ?");
        if group.is_some() {
            sql.push_str(" AND config_group = ?");
        }
        if option.is_some() {
            sql.push_str(" AND config_option = ?");
        }
        let mut q = sqlx::query(&sql).bind(domain_id.to_string());
        if let Some(g) = group {
            q = q.bind(g.to_string());
        }
        if let Some(o) = option {
            q = q.bind(o.to_string());
        }
        if q.execute(&self.db.pool).await?.rows_affected() == 0 && group.is_some() {
            return Err(not_found(domain_id, group, option));
        }
        Ok(())
    }

    /// Keystone's defaults for the options a domain may set.
    pub fn domain_config_default(
        &self,
        ctx: &RequestContext,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<Map<String, Value>> {
        enforce(
            ctx,
            &rules::GET_DOMAIN_CONFIG_DEFAULT,
            &PolicyTarget::none(),
        )?;
        if let Some(g) = group {
            check_group_option(g, option)?;
            if option.is_some_and(|o| is_sensitive(g, o)) {
                return Err(not_found("default", group, option));
            }
        }
        let mut rows = Vec::new();
        for (g, options) in [("identity", IDENTITY_OPTIONS), ("ldap", LDAP_OPTIONS)] {
            if group.is_some_and(|x| x != g) {
                continue;
            }
            for (o, v) in options {
                if option.is_some_and(|x| x != *o) {
                    continue;
                }
                rows.push((
                    g.to_string(),
                    o.to_string(),
                    serde_json::from_str(v).unwrap_or(Value::Null),
                ));
            }
        }
        Ok(render(rows, option))
    }
}
