//! Services and endpoints: the catalog every token carries.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::model::*;
use super::{flag, new_id, IdentityService};
use crate::policy::{enforce, identity as rules, Target as PolicyTarget};
use crate::RequestContext;

const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

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

    /// Registers (or updates) the catalog entries of the services this
    /// server speaks, under its public URL.
    pub async fn ensure_catalog(&self, entries: &[CatalogSpec]) -> Result<()> {
        let base = self.cfg.public_url.trim_end_matches('/').to_string();
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

    /// Registers a service (by type) with the same URL on all three
    /// interfaces, replacing the URLs if it exists. Idempotent; used by
    /// bootstrap for every service Gureum serves.
    async fn ensure_service(
        &self,
        r#type: &str,
        name: &str,
        description: &str,
        url: &str,
    ) -> Result<()> {
        let existing = sqlx::query("SELECT id FROM services WHERE type = ?")
            .bind(r#type.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        let service_id = match existing {
            Some(r) => r.try_get::<String, _>("id")?,
            None => {
                let id = new_id();
                sqlx::query("INSERT INTO services (id, type, name, description, enabled) VALUES (?, ?, ?, ?, 1)")
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
            let n = sqlx::query("UPDATE endpoints SET url = ?, region_id = ? WHERE service_id = ? AND interface = ?")
                .bind(url.to_string())
                .bind(self.cfg.region.clone())
                .bind(service_id.clone())
                .bind(iface)
                .execute(&self.db.pool)
                .await?
                .rows_affected();
            if n == 0 {
                sqlx::query("INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled) VALUES (?, ?, ?, ?, ?, 1)")
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
