//! What `serve --bootstrap` puts in a new cloud besides the admin, so the
//! first boot needs no setup: devstack's flavors and, when a guest kernel
//! and initramfs are at hand, a public image that boots on QEMU.
//!
//! Each part is made only when its kind is absent (no flavors at all, no
//! image of that name): an admin who deleted them keeps them deleted.

use std::path::Path;

use bytes::Bytes;
use cloud::compute::{FlavorFilter, NewFlavor};
use cloud::context::Scope;
use cloud::image::{ContainerFormat, DiskFormat, ImageFilter, NewImage, Visibility};
use cloud::RequestContext;

use crate::AppState;

/// devstack's (and Nova's old default) flavors: id, name, vCPUs, RAM MiB,
/// root disk GB.
const FLAVORS: [(&str, &str, u32, u64, u64); 5] = [
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
];

/// The bootable image's name; its kernel and ramdisk are `<name>-kernel`
/// and `<name>-initrd`.
pub const GUEST_IMAGE: &str = "busybox";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub flavors: Vec<String>,
    /// The bootable image's id, when this run made it.
    pub image: Option<String>,
}

/// Seeds flavors, and the guest image from `guest_dir` (its `vmlinuz` and
/// `initrd.gz`, as `scripts/real-guest.sh` builds them) when given.
pub async fn seed(
    state: &AppState,
    admin_project_id: &str,
    guest_dir: Option<&Path>,
) -> Result<SeedReport, Box<dyn std::error::Error>> {
    let ctx = admin_of(admin_project_id);
    let mut report = SeedReport::default();
    let existing = state
        .compute
        .list_flavors(
            &ctx,
            &FlavorFilter {
                is_public: None,
                limit: Some(1),
                ..FlavorFilter::default()
            },
        )
        .await?;
    if existing.is_empty() {
        for (id, name, vcpus, ram_mib, disk_gb) in FLAVORS {
            state
                .compute
                .create_flavor(
                    &ctx,
                    NewFlavor {
                        id: Some(id.into()),
                        name: name.into(),
                        description: None,
                        vcpus,
                        ram_mib,
                        disk_gb,
                        ephemeral_gb: 0,
                        swap_mib: 0,
                        rxtx_factor: 1.0,
                        is_public: true,
                    },
                )
                .await?;
            report.flavors.push(name.into());
        }
    }
    if let Some(dir) = guest_dir {
        report.image = seed_guest_image(state, &ctx, admin_project_id, dir).await?;
    }
    Ok(report)
}

async fn seed_guest_image(
    state: &AppState,
    ctx: &RequestContext,
    admin_project_id: &str,
    dir: &Path,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let named = state
        .image
        .list_images(
            ctx,
            &ImageFilter {
                name: Some(GUEST_IMAGE.into()),
                ..ImageFilter::default()
            },
        )
        .await?;
    if !named.items.is_empty() {
        return Ok(None);
    }
    let kernel = read(dir, "vmlinuz")?;
    let initrd = read(dir, "initrd.gz")?;
    let upload = |name: String,
                  disk: DiskFormat,
                  container: ContainerFormat,
                  properties: Vec<(&'static str, String)>,
                  data: Vec<u8>| async move {
        let new = NewImage {
            name: Some(name),
            visibility: Some(Visibility::Public),
            disk_format: Some(disk),
            container_format: Some(container),
            properties: properties
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            owner: Some(Some(admin_project_id.to_string())),
            ..NewImage::default()
        };
        let image = state.image.create_image(ctx, new).await?;
        let len = data.len() as u64;
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(data))]);
        state
            .image
            .upload(ctx, &image.id, stream, Some(len))
            .await?;
        Ok::<_, cloud::image::ImageError>(image.id)
    };
    let kernel_id = upload(
        format!("{GUEST_IMAGE}-kernel"),
        DiskFormat::Aki,
        ContainerFormat::Aki,
        vec![],
        kernel,
    )
    .await?;
    let ramdisk_id = upload(
        format!("{GUEST_IMAGE}-initrd"),
        DiskFormat::Ari,
        ContainerFormat::Ari,
        vec![],
        initrd,
    )
    .await?;
    // The guest lives in its initramfs; the root disk is a blank 1 MiB.
    let root_id = upload(
        GUEST_IMAGE.into(),
        DiskFormat::Raw,
        ContainerFormat::Bare,
        vec![
            ("kernel_id", kernel_id),
            ("ramdisk_id", ramdisk_id),
            ("os_command_line", "console=ttyS0 panic=-1".into()),
        ],
        vec![0u8; 1 << 20],
    )
    .await?;
    Ok(Some(root_id))
}

/// The internal admin, scoped to the admin project: images are made in a
/// project (and owned by it), as an admin's from the CLI would be.
fn admin_of(project_id: &str) -> RequestContext {
    RequestContext {
        scope: Scope::Project {
            id: project_id.to_string(),
            name: "admin".into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        ..RequestContext::internal()
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}
