//! The server functions behind the create and edit forms: one argument a
//! form field, as the other panels' server functions take them.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;

#[cfg(feature = "ssr")]
use super::{convert, human_size, parse_properties};
#[cfg(feature = "ssr")]
use crate::server;

/// Creates the image record (`queued`); the browser then uploads the file.
/// `size` is the file's size, checked against the limits first so that a
/// file that cannot fit leaves no record behind. Returns the new id.
#[leptos::server(endpoint = "create_image")]
pub async fn create_image(
    name: String,
    description: String,
    disk_format: String,
    min_disk: String,
    min_ram: String,
    visibility: String,
    protected: bool,
    size: i64,
) -> Result<String, AppError> {
    use cloud::image::{ContainerFormat, DiskFormat, ImageError, NewImage, Visibility};
    use cloud::quota::Resource;
    let (a, image) = server::auth_image().await?;
    let min_disk = convert::parse_min(&a, &min_disk, "images.min_disk").await?;
    let min_ram = convert::parse_min(&a, &min_ram, "images.min_ram").await?;
    let Some(disk_format) = DiskFormat::parse(&disk_format) else {
        return Err(a.msg("images.err_format", &disk_format));
    };
    // The service decides whether the file fits (size cap, the project's
    // quota); this only words its answer in the user's language.
    if let Err(e) = image.check_upload_fits(&a.ctx, size).await {
        return Err(match &e {
            ImageError::OverQuota(o) if o.resource == Resource::IMAGE_SIZE_TOTAL => {
                AppError::portal("images.over_quota")
                    .with_kind("over_limit")
                    .arg("used", &human_size(o.in_use.saturating_add(o.reserved)))
                    .arg("max", &human_size(o.limit))
            }
            ImageError::LimitExceeded(_) => AppError::portal("images.too_large")
                .with_kind("over_limit")
                .arg("size", &human_size(size))
                .arg("max", &human_size(image.config().max_image_size)),
            _ => AppError::from(e),
        });
    }
    let mut properties = std::collections::BTreeMap::new();
    let description = description.trim();
    if !description.is_empty() {
        properties.insert("description".to_string(), description.to_string());
    }
    let name = name.trim();
    let created = image
        .create_image(
            &a.ctx,
            NewImage {
                name: (!name.is_empty()).then(|| name.to_string()),
                visibility: Some(Visibility::parse(&visibility).unwrap_or(Visibility::Private)),
                disk_format: Some(disk_format),
                container_format: Some(ContainerFormat::Bare),
                min_disk: Some(min_disk),
                min_ram: Some(min_ram),
                protected: Some(protected),
                properties,
                ..Default::default()
            },
        )
        .await?;
    Ok(created.id)
}

/// The edit dialog: `tags` comma-separated, `properties` one `key=value` a
/// line (properties no longer listed are removed).
#[leptos::server(endpoint = "update_image")]
pub async fn update_image(
    id: String,
    name: String,
    visibility: String,
    min_disk: String,
    min_ram: String,
    protected: Option<String>,
    tags: String,
    properties: String,
) -> Result<(), AppError> {
    use cloud::image::{ImageUpdate, Visibility};
    let (a, image) = server::auth_image().await?;
    let current = image.get_image(&a.ctx, &id).await?;
    let min_disk = convert::parse_min(&a, &min_disk, "images.min_disk").await?;
    let min_ram = convert::parse_min(&a, &min_ram, "images.min_ram").await?;
    let wanted = match parse_properties(&properties) {
        Ok(p) => p,
        Err(line) => return Err(a.msg("images.err_property", &line)),
    };
    let mut u = ImageUpdate {
        name: Some(Some(name.trim().to_string()).filter(|n| !n.is_empty())),
        visibility: Visibility::parse(&visibility),
        min_disk: Some(min_disk),
        min_ram: Some(min_ram),
        protected: Some(protected.is_some()),
        tags: Some(
            tags.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        ..Default::default()
    };
    for (k, v) in &wanted {
        if current.properties.get(k) != Some(v) {
            u.set_properties.insert(k.clone(), v.clone());
        }
    }
    u.remove_properties = current
        .properties
        .keys()
        .filter(|k| !wanted.iter().any(|(w, _)| w == *k))
        .cloned()
        .collect();
    image.update_image(&a.ctx, &id, u).await?;
    Ok(())
}
