//! Glance's `web-download` import: the server fetches the image data from
//! an http(s) URI and runs it through the one upload pipeline (limits,
//! quota, hashes, format inspection, atomic commit).
//!
//! The URI passes Glance's import filter first (scheme http/https, a port
//! from `import_allowed_ports`), and so does every redirect. Hosts that
//! resolve to loopback, private, link-local or otherwise internal addresses
//! are refused unless named in `import_allowed_hosts`: a user must not be
//! able to make the server fetch from its own network (the metadata
//! service, the database, other hosts' admin ports). The check is made on
//! the addresses the connection uses (a resolver of our own), so neither a
//! redirect nor a name that changes its answer gets around it.
//!
//! The request returns once the import is recorded (image `importing`, its
//! task `processing`); the fetch runs in the background and ends the task in
//! `success` or `failure` (the image back to `queued`, as Glance leaves it).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::*;
use crate::db::now_micros;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A source that sends nothing for this long fails the import.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_REDIRECTS: usize = 5;

fn filtered(uri: &str) -> ImageError {
    ImageError::Validation(crate::msg!(
        "error.image.import_uri_filtered",
        "URI for import does not pass filtering: {uri}",
        uri = uri,
    ))
}

/// Glance's scheme check, then its port filter; the host check on names
/// waits for the resolver (see [`Resolver`]), literal addresses are judged
/// here.
pub(super) fn check_uri(cfg: &ImageConfig, uri: &str) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let Some(url) = url else {
        return Err(ImageError::Validation(crate::msg!(
            "error.image.import_uri_scheme",
            "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http', 'https']."
        )));
    };
    let Some(host) = url.host_str().map(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    }) else {
        return Err(filtered(uri));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(filtered(uri));
    }
    let port = url.port_or_known_default().unwrap_or(0);
    if !cfg.import_allowed_ports.contains(&port) {
        return Err(filtered(uri));
    }
    let trusted = cfg
        .import_allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host));
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !trusted && is_internal(ip) {
            return Err(filtered(uri));
        }
    }
    Ok(url)
}

/// Addresses a web-download may not reach unless its host is trusted.
pub(super) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT (shared address space).
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
        }
    }
}

/// Resolves names for the download client and drops internal addresses of
/// hosts that are not trusted; a name left with none fails to connect.
struct Resolver {
    trusted_hosts: Vec<String>,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let trusted = self
            .trusted_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| trusted || !is_internal(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address imports may reach").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

impl ImageService {
    /// The import methods offered (Glance's `enabled_import_methods`).
    pub fn import_methods(&self) -> Vec<&'static str> {
        let mut methods = vec!["glance-direct"];
        if self.cfg.web_download {
            methods.push("web-download");
        }
        methods
    }

    /// The download client: every redirect passes the filter again, and
    /// names are resolved by [`Resolver`].
    fn download_client(&self) -> Result<reqwest::Client> {
        let cfg = self.cfg.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if check_uri(&cfg, attempt.url().as_str()).is_err() {
                let to = attempt.url().to_string();
                attempt.error(format!("a redirect to {to} does not pass filtering"))
            } else {
                attempt.follow()
            }
        });
        reqwest::Client::builder()
            .redirect(policy)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .dns_resolver(Arc::new(Resolver {
                trusted_hosts: self.cfg.import_allowed_hosts.clone(),
            }))
            .user_agent(concat!("gureum/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ImageError::Internal(format!("download client: {e}")))
    }

    /// Records the import (image `importing`, task `processing`) and starts
    /// the fetch; returns the task.
    pub(super) async fn start_web_download(
        &self,
        ctx: &RequestContext,
        image: &Image,
        uri: &str,
        task_id: &str,
        input: &str,
    ) -> Result<()> {
        if !self.cfg.web_download {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.import_method",
                "Import method {method} is not valid; this site offers: {offered}.",
                method = "web-download",
                offered = self.import_methods().join(", "),
            )));
        }
        let source = check_uri(&self.cfg, uri)?;
        if image.disk_format.is_none() || image.container_format.is_none() {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.formats_unset",
                "Properties disk_format, container_format must be set prior to saving data."
            )));
        }
        if image.status != ImageStatus::Queued {
            return Err(ImageError::Conflict(crate::msg!(
                "error.image.import_not_queued",
                "Image needs to be in 'queued' state to use 'web-download' method (its status is {status}).",
                status = image.status,
            )));
        }
        let client = self.download_client()?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE images SET status = 'importing', upload_owner = ?, updated_at = ? \
             WHERE id = ? AND status = 'queued'",
        )
        .bind(self.owner.server_id.as_str())
        .bind(now)
        .bind(image.id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(ImageError::Conflict(crate::msg!(
                "error.image.upload_busy",
                "Image {id} is already receiving data.",
                id = image.id,
            )));
        }
        let task = super::tasks::NewImportTask {
            id: task_id,
            status: TaskStatus::Processing,
            input,
            result: None,
            at: now,
        };
        task.insert(&mut tx, ctx, image).await?;
        tx.commit().await?;

        let svc = self.clone();
        let ctx = ctx.clone();
        let image_id = image.id.clone();
        let task_id = task_id.to_string();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            let outcome = svc.web_download(&ctx, &image_id, client, source).await;
            svc.finish_web_download(&image_id, &task_id, outcome).await;
        }));
        Ok(())
    }

    async fn web_download(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        client: reqwest::Client,
        source: reqwest::Url,
    ) -> Result<Image> {
        let response = client
            .get(source.clone())
            .send()
            .await
            .map_err(|e| ImageError::UploadInterrupted(format!("fetching {}: {e}", source)))?;
        if !response.status().is_success() {
            return Err(ImageError::UploadInterrupted(format!(
                "{} answered {}",
                source,
                response.status()
            )));
        }
        let declared_len = response.content_length();
        let body = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other))
            .boxed();
        self.receive_into(
            ctx,
            image_id,
            body,
            declared_len,
            ImageStatus::Importing,
            ImageStatus::Active,
        )
        .await
    }

    /// Ends the task; a failed import leaves the image `queued` (the
    /// pipeline resets one that reached `saving`; this resets one that
    /// failed before it).
    async fn finish_web_download(&self, image_id: &str, task_id: &str, outcome: Result<Image>) {
        let res: Result<()> = async {
            let now = now_micros();
            let mut tx = self.db.begin_write().await?;
            match &outcome {
                Ok(_) => {
                    sqlx::query(
                        "UPDATE image_tasks SET status = 'success', result = ?, updated_at = ? WHERE id = ?",
                    )
                    .bind(serde_json::json!({"image_id": image_id}).to_string())
                    .bind(now)
                    .bind(task_id)
                    .execute(&mut *tx)
                    .await?;
                }
                Err(e) => {
                    tracing::warn!(image = %image_id, error = ?e, "web-download import failed");
                    let message: String = e.to_string().chars().take(1000).collect();
                    sqlx::query(
                        "UPDATE image_tasks SET status = 'failure', message = ?, updated_at = ? WHERE id = ?",
                    )
                    .bind(message)
                    .bind(now)
                    .bind(task_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE images SET status = 'queued', upload_owner = NULL, updated_at = ? \
                         WHERE id = ? AND status = 'importing' AND upload_owner = ?",
                    )
                    .bind(now)
                    .bind(image_id)
                    .bind(self.owner.server_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = res {
            tracing::error!(image = %image_id, task = %task_id, error = ?e, "could not record the end of a web-download");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ImageConfig {
        ImageConfig {
            import_allowed_ports: vec![80, 443, 8080],
            import_allowed_hosts: vec!["127.0.0.1".into(), "mirror.internal".into()],
            ..ImageConfig::default()
        }
    }

    #[test]
    fn the_filter_follows_scheme_port_and_address() {
        let c = cfg();
        assert!(check_uri(&c, "http://example.com/x.img").is_ok());
        assert!(check_uri(&c, "https://example.com:443/x.img").is_ok());
        assert!(check_uri(&c, "http://example.com:8080/x").is_ok());
        // Scheme, port, credentials in the URI.
        assert!(check_uri(&c, "ftp://example.com/x").is_err());
        assert!(check_uri(&c, "file:///etc/passwd").is_err());
        assert!(check_uri(&c, "http://example.com:22/x").is_err());
        assert!(check_uri(&c, "http://u:p@example.com/x").is_err());
        assert!(check_uri(&c, "not a uri").is_err());
        // Internal literals, unless trusted.
        for uri in [
            "http://127.0.0.2/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[fd00::1]/x",
            "http://0.0.0.0/x",
            "http://100.64.1.1/x",
        ] {
            assert!(check_uri(&c, uri).is_err(), "{uri} passed");
        }
        assert!(check_uri(&c, "http://127.0.0.1:8080/x").is_ok());
        assert!(check_uri(&c, "http://MIRROR.internal/x").is_ok());
    }

    #[test]
    fn only_public_addresses_are_external() {
        for ip in ["8.8.8.8", "2001:4860:4860::8888", "1.1.1.1"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "fe80::1",
            "::",
            "224.0.0.1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }
}
