//! Services and endpoints: the catalog every token carries.
//!
//! The server's own entries (identity, image, …) come from its service
//! registry (`ensure_catalog` at every start) and are marked `registry = 1`:
//! the API shows them but refuses to change or delete them (409), since
//! the server would put them back at its next start and, until then, its
//! clients could not find it. Admins add, change and delete any other
//! service or endpoint, as in Keystone; the token catalog shows both.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::model::*;
use super::{flag, new_id, IdentityService};
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

/// A new service (`POST /v3/services`).
#[derive(Debug, Clone, Default)]
pub struct NewService {
    pub r#type: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A change to a service; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct ServiceUpdate {
    pub r#type: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A new endpoint (`POST /v3/endpoints`).
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub service_id: String,
    pub interface: String,
    pub url: String,
    pub region_id: Option<String>,
    /// The region came in the legacy `region` field: Keystone creates it
    /// when it does not exist (with `region_id` it must exist).
    pub create_region: bool,
    pub enabled: Option<bool>,
}

/// A change to an endpoint; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub service_id: Option<String>,
    pub interface: Option<String>,
    pub url: Option<String>,
    /// `Some(None)` clears the region.
    pub region_id: Option<Option<String>>,
    pub create_region: bool,
    pub enabled: Option<bool>,
}

fn validate_service_type(t: &str) -> Result<String> {
    let n = t.chars().count();
    if n == 0 || n > 255 {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.catalog.service_type",
            "The service type must be 1 to 255 characters."
        )));
    }
    crate::text::check_name(t).map_err(|code| {
        IdentityError::Validation(crate::msg!(
            "error.identity.name_control_char",
            "The {object} name must not contain control characters (found {code}).",
            object = "service",
            code = code,
        ))
    })?;
    Ok(t.to_string())
}

fn validate_service_name(name: &str) -> Result<String> {
    if name.chars().count() > 255 {
        return Err(IdentityError::Validation(crate::msg!(
            "error.identity.name_too_long",
            "The {object} name must be at most {max} characters.",
            object = "service",
            max = 255,
        )));
    }
    crate::text::check_name(name).map_err(|code| {
        IdentityError::Validation(crate::msg!(
            "error.identity.name_control_char",
            "The {object} name must not contain control characters (found {code}).",
            object = "service",
            code = code,
        ))
    })?;
    Ok(name.to_string())
}

fn validate_interface(i: &str) -> Result<String> {
    if INTERFACES.contains(&i) {
        Ok(i.to_string())
    } else {
        Err(IdentityError::Validation(crate::msg!(
            "error.identity.catalog.interface",
            "Invalid interface \"{interface}\": expecting public, internal or admin.",
            interface = i,
        )))
    }
}

/// Keystone's endpoint URL: `scheme:rest`, at most 225 characters, no
/// control characters.
fn validate_url(url: &str) -> Result<String> {
    let bad = || {
        IdentityError::Validation(crate::msg!(
            "error.identity.catalog.url",
            "Invalid endpoint URL \"{url}\": expecting an absolute URL of at most 225 characters.",
            url = url,
        ))
    };
    let (scheme, rest) = url.split_once(':').ok_or_else(bad)?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
        || rest.is_empty()
        || url.chars().count() > 225
        || url.chars().any(char::is_control)
    {
        return Err(bad());
    }
    Ok(url.to_string())
}

/// Keystone refuses an endpoint whose service or region does not exist with
/// a 400 (a validation error), not a 404.
fn missing_reference(what: &'static str, id: &str) -> IdentityError {
    IdentityError::Validation(crate::msg!(
        "error.identity.catalog.missing_reference",
        "Cannot find the {object} {id} that the endpoint names.",
        object = what,
        id = id,
    ))
}

fn registry_managed(what: &'static str, id: &str) -> IdentityError {
    IdentityError::Conflict {
        kind: what,
        detail: crate::msg!(
            "error.identity.catalog.registry_managed",
            "the {object} {id} is this server's own catalog entry, kept by its service registry; change public_url or region in the server's configuration instead",
            object = what,
            id = id,
        ),
    }
}

/// A service this cloud serves, as the catalog lists it: registered at
/// every start with the URL `<public_url><path>` on all three interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogSpec {
    /// OpenStack service type (`identity`, `image`, `compute`…).
    pub service_type: &'static str,
    /// The OpenStack project name clients know it by (`keystone`…).
    pub name: &'static str,
    pub description: &'static str,
    /// Where it is mounted under the public URL (`/identity`).
    pub path: &'static str,
}

/// Identity's own entry: bootstrap always registers it.
pub const IDENTITY_CATALOG: CatalogSpec = CatalogSpec {
    service_type: "identity",
    name: "keystone",
    description: "Identity service (Gureum)",
    path: "/identity",
};

impl IdentityService {
    /// The catalog: enabled services with their enabled endpoints.
    /// Cached: every token validation answers with it.
    pub async fn catalog(&self) -> Result<Vec<CatalogEntry>> {
        let ttl = std::time::Duration::from_secs(self.cfg.token_cache_secs);
        if let Ok(cache) = self.catalog_cache.read() {
            if let Some((catalog, at)) = cache.as_ref() {
                if at.elapsed() < ttl {
                    return Ok(catalog.clone());
                }
            }
        }
        let catalog = self.read_catalog().await?;
        if let Ok(mut cache) = self.catalog_cache.write() {
            *cache = Some((catalog.clone(), std::time::Instant::now()));
        }
        Ok(catalog)
    }

    async fn read_catalog(&self) -> Result<Vec<CatalogEntry>> {
        let services = self.all_services().await?;
        let endpoints = self.all_endpoints().await?;
        Ok(services
            .into_iter()
            .filter(|s| s.enabled)
            .map(|s| {
                let eps = endpoints
                    .iter()
                    .filter(|e| e.service_id == s.id && e.enabled)
                    .cloned()
                    .collect();
                CatalogEntry {
                    service: s,
                    endpoints: eps,
                }
            })
            .collect())
    }

    async fn all_services(&self) -> Result<Vec<Service>> {
        let rows = sqlx::query(
            "SELECT id, type, name, description, enabled FROM services ORDER BY type, name",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(Service {
                id: r.try_get("id")?,
                r#type: r.try_get("type")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                enabled: flag(&r, "enabled")?,
            });
        }
        Ok(out)
    }

    async fn all_endpoints(&self) -> Result<Vec<Endpoint>> {
        let rows = sqlx::query("SELECT id, service_id, interface, region_id, url, enabled FROM endpoints ORDER BY service_id, interface").fetch_all(&self.db.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(Endpoint {
                id: r.try_get("id")?,
                service_id: r.try_get("service_id")?,
                interface: r.try_get("interface")?,
                region_id: r.try_get("region_id")?,
                url: r.try_get("url")?,
                enabled: flag(&r, "enabled")?,
            });
        }
        Ok(out)
    }

    pub async fn list_services(&self, ctx: &RequestContext) -> Result<Vec<Service>> {
        enforce(ctx, &rules::LIST_SERVICES, &PolicyTarget::none())?;
        self.all_services().await
    }

    pub async fn get_service(&self, ctx: &RequestContext, id: &str) -> Result<Service> {
        enforce(ctx, &rules::GET_SERVICE, &PolicyTarget::none())?;
        self.all_services()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| IdentityError::not_found("service", id))
    }

    pub async fn list_endpoints(&self, ctx: &RequestContext) -> Result<Vec<Endpoint>> {
        enforce(ctx, &rules::LIST_ENDPOINTS, &PolicyTarget::none())?;
        self.all_endpoints().await
    }

    pub async fn get_endpoint(&self, ctx: &RequestContext, id: &str) -> Result<Endpoint> {
        enforce(ctx, &rules::GET_ENDPOINT, &PolicyTarget::none())?;
        self.all_endpoints()
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| IdentityError::not_found("endpoint", id))
    }

    pub async fn create_service(&self, ctx: &RequestContext, req: NewService) -> Result<Service> {
        enforce(ctx, &rules::CREATE_SERVICE, &PolicyTarget::none())?;
        let service = Service {
            id: new_id(),
            r#type: validate_service_type(&req.r#type)?,
            name: validate_service_name(req.name.as_deref().unwrap_or(""))?,
            description: super::validate_description(req.description.as_deref().unwrap_or(""))?,
            enabled: req.enabled.unwrap_or(true),
        };
        sqlx::query("INSERT INTO services (id, type, name, description, enabled, registry) VALUES (?, ?, ?, ?, ?, 0)")
            .bind(service.id.clone())
            .bind(service.r#type.clone())
            .bind(service.name.clone())
            .bind(service.description.clone())
            .bind(i64::from(service.enabled))
            .execute(&self.db.pool)
            .await?;
        self.invalidate_tokens();
        Ok(service)
    }

    /// The service row locked for a change, refusing the registry's own.
    async fn service_for_change(&self, tx: &mut crate::db::WriteTx, id: &str) -> Result<Service> {
        let row = sqlx::query(&self.db.for_update(
            "SELECT id, type, name, description, enabled, registry FROM services WHERE id = ?",
        ))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| IdentityError::not_found("service", id))?;
        if flag(&row, "registry")? {
            return Err(registry_managed("service", id));
        }
        Ok(Service {
            id: row.try_get("id")?,
            r#type: row.try_get("type")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            enabled: flag(&row, "enabled")?,
        })
    }

    pub async fn update_service(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: ServiceUpdate,
    ) -> Result<Service> {
        enforce(ctx, &rules::UPDATE_SERVICE, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let mut s = self.service_for_change(&mut tx, id).await?;
        if let Some(t) = req.r#type {
            s.r#type = validate_service_type(&t)?;
        }
        if let Some(n) = req.name {
            s.name = validate_service_name(&n)?;
        }
        if let Some(d) = req.description {
            s.description = super::validate_description(&d)?;
        }
        if let Some(e) = req.enabled {
            s.enabled = e;
        }
        sqlx::query(
            "UPDATE services SET type = ?, name = ?, description = ?, enabled = ? WHERE id = ?",
        )
        .bind(s.r#type.clone())
        .bind(s.name.clone())
        .bind(s.description.clone())
        .bind(i64::from(s.enabled))
        .bind(s.id.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(s)
    }

    /// Deletes a service and its endpoints (as Keystone does).
    pub async fn delete_service(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_SERVICE, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        self.service_for_change(&mut tx, id).await?;
        sqlx::query("DELETE FROM endpoints WHERE service_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM services WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(())
    }

    /// Checks that the endpoint's service exists and its region exists
    /// (creating it when it came in the legacy `region` field), inside `tx`.
    async fn check_endpoint_refs(
        &self,
        tx: &mut crate::db::WriteTx,
        service_id: &str,
        region_id: Option<&str>,
        create_region: bool,
    ) -> Result<()> {
        let service = sqlx::query(&self.db.for_update("SELECT id FROM services WHERE id = ?"))
            .bind(service_id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        if service.is_none() {
            return Err(missing_reference("service", service_id));
        }
        if let Some(region) = region_id {
            let found = sqlx::query(&self.db.for_update("SELECT id FROM regions WHERE id = ?"))
                .bind(region.to_string())
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_none() {
                if !create_region {
                    return Err(missing_reference("region", region));
                }
                super::regions::validate_region_id(region)?;
                sqlx::query(&format!(
                    "{} INTO regions (id, description) VALUES (?, '')",
                    self.db.insert_ignore()
                ))
                .bind(region.to_string())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    pub async fn create_endpoint(
        &self,
        ctx: &RequestContext,
        req: NewEndpoint,
    ) -> Result<Endpoint> {
        enforce(ctx, &rules::CREATE_ENDPOINT, &PolicyTarget::none())?;
        let e = Endpoint {
            id: new_id(),
            service_id: req.service_id,
            interface: validate_interface(&req.interface)?,
            region_id: req.region_id,
            url: validate_url(&req.url)?,
            enabled: req.enabled.unwrap_or(true),
        };
        let mut tx = self.db.begin_write().await?;
        self.check_endpoint_refs(
            &mut tx,
            &e.service_id,
            e.region_id.as_deref(),
            req.create_region,
        )
        .await?;
        sqlx::query("INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled, registry) VALUES (?, ?, ?, ?, ?, ?, 0)")
            .bind(e.id.clone())
            .bind(e.service_id.clone())
            .bind(e.interface.clone())
            .bind(e.region_id.clone())
            .bind(e.url.clone())
            .bind(i64::from(e.enabled))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(e)
    }

    async fn endpoint_for_change(&self, tx: &mut crate::db::WriteTx, id: &str) -> Result<Endpoint> {
        let r = sqlx::query(&self.db.for_update(
            "SELECT id, service_id, interface, region_id, url, enabled, registry FROM endpoints WHERE id = ?",
        ))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| IdentityError::not_found("endpoint", id))?;
        if flag(&r, "registry")? {
            return Err(registry_managed("endpoint", id));
        }
        Ok(Endpoint {
            id: r.try_get("id")?,
            service_id: r.try_get("service_id")?,
            interface: r.try_get("interface")?,
            region_id: r.try_get("region_id")?,
            url: r.try_get("url")?,
            enabled: flag(&r, "enabled")?,
        })
    }

    pub async fn update_endpoint(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: EndpointUpdate,
    ) -> Result<Endpoint> {
        enforce(ctx, &rules::UPDATE_ENDPOINT, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        let mut e = self.endpoint_for_change(&mut tx, id).await?;
        if let Some(s) = req.service_id {
            e.service_id = s;
        }
        if let Some(i) = req.interface {
            e.interface = validate_interface(&i)?;
        }
        if let Some(u) = req.url {
            e.url = validate_url(&u)?;
        }
        let region_changed = req.region_id.is_some();
        if let Some(r) = req.region_id {
            e.region_id = r;
        }
        if let Some(en) = req.enabled {
            e.enabled = en;
        }
        let region = if region_changed {
            e.region_id.as_deref()
        } else {
            None
        };
        self.check_endpoint_refs(&mut tx, &e.service_id, region, req.create_region)
            .await?;
        sqlx::query("UPDATE endpoints SET service_id = ?, interface = ?, region_id = ?, url = ?, enabled = ? WHERE id = ?")
            .bind(e.service_id.clone())
            .bind(e.interface.clone())
            .bind(e.region_id.clone())
            .bind(e.url.clone())
            .bind(i64::from(e.enabled))
            .bind(e.id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(e)
    }

    pub async fn delete_endpoint(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::DELETE_ENDPOINT, &PolicyTarget::none())?;
        let mut tx = self.db.begin_write().await?;
        self.endpoint_for_change(&mut tx, id).await?;
        sqlx::query("DELETE FROM endpoints WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.invalidate_tokens();
        Ok(())
    }

    /// Registers (or updates) the catalog entries of the services this
    /// server speaks, under its public URL.
    pub async fn ensure_catalog(&self, entries: &[CatalogSpec]) -> Result<()> {
        let base = self.cfg.public_url.trim_end_matches('/').to_string();
        sqlx::query(&format!(
            "{} INTO regions (id, description) VALUES (?, '')",
            self.db.insert_ignore()
        ))
        .bind(self.cfg.region.clone())
        .execute(&self.db.pool)
        .await?;
        for e in entries {
            self.ensure_service(
                e.service_type,
                e.name,
                e.description,
                &format!("{base}{}", e.path),
            )
            .await?;
        }
        Ok(())
    }

    /// Registers a service (by type, among the registry's own rows) with
    /// the same URL on all three interfaces, replacing the URLs if it
    /// exists: its id stays the same from start to start. Idempotent; used
    /// by bootstrap for every service Gureum serves. Services and endpoints
    /// admins made are never touched.
    async fn ensure_service(
        &self,
        r#type: &str,
        name: &str,
        description: &str,
        url: &str,
    ) -> Result<()> {
        let existing = sqlx::query("SELECT id FROM services WHERE type = ? AND registry = 1")
            .bind(r#type.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        let service_id = match existing {
            Some(r) => r.try_get::<String, _>("id")?,
            None => {
                let id = new_id();
                sqlx::query("INSERT INTO services (id, type, name, description, enabled, registry) VALUES (?, ?, ?, ?, 1, 1)")
                    .bind(id.clone())
                    .bind(r#type.to_string())
                    .bind(name.to_string())
                    .bind(description.to_string())
                    .execute(&self.db.pool)
                    .await?;
                id
            }
        };
        for iface in INTERFACES {
            let n = sqlx::query("UPDATE endpoints SET url = ?, region_id = ? WHERE service_id = ? AND interface = ? AND registry = 1")
                .bind(url.to_string())
                .bind(self.cfg.region.clone())
                .bind(service_id.clone())
                .bind(iface)
                .execute(&self.db.pool)
                .await?
                .rows_affected();
            if n == 0 {
                sqlx::query("INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled, registry) VALUES (?, ?, ?, ?, ?, 1, 1)")
                    .bind(new_id())
                    .bind(service_id.clone())
                    .bind(iface)
                    .bind(self.cfg.region.clone())
                    .bind(url.to_string())
                    .execute(&self.db.pool)
                    .await?;
            }
        }
        self.invalidate_tokens();
        Ok(())
    }
}
