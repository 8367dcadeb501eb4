//! The config drive: an ISO 9660 image labelled `config-2` that cloud-init
//! reads metadata and user data from, laid out as Nova's.

use std::path::{Path, PathBuf};

use bus::messages::ConfigDrive;

/// The versions written: `latest` for current cloud-init, `2012-08-10` for
/// older readers (the first OpenStack metadata version).
pub const VERSIONS: [&str; 2] = ["latest", "2012-08-10"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigDriveError {
    #[error("config drive: {0}")]
    Io(String),
    #[error("config drive: neither genisoimage nor xorriso is installed")]
    NoTool,
    #[error("config drive: {tool} failed: {stderr}")]
    Tool { tool: &'static str, stderr: String },
}

fn io(what: &str, p: &Path, e: std::io::Error) -> ConfigDriveError {
    ConfigDriveError::Io(format!("cannot {what} {}: {e}", p.display()))
}

/// Writes the drive's files under `root` (`openstack/<version>/...`).
pub fn write_tree(root: &Path, drive: &ConfigDrive) -> Result<(), ConfigDriveError> {
    let meta = serde_json::to_vec(&drive.meta_data)
        .map_err(|e| ConfigDriveError::Io(format!("cannot encode meta_data.json: {e}")))?;
    for v in VERSIONS {
        let dir = root.join("openstack").join(v);
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        let f = dir.join("meta_data.json");
        std::fs::write(&f, &meta).map_err(|e| io("write", &f, e))?;
        if let Some(ud) = &drive.user_data {
            let f = dir.join("user_data");
            std::fs::write(&f, ud).map_err(|e| io("write", &f, e))?;
        }
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// Builds `iso` from `drive`, with genisoimage's flags as Nova passes them
/// (xorriso's mkisofs emulation when only that is installed).
pub async fn build(iso: &Path, drive: &ConfigDrive) -> Result<(), ConfigDriveError> {
    let parent = iso.parent().unwrap_or(Path::new("."));
    let staging: PathBuf = parent.join(".config-drive");
    let _ = tokio::fs::remove_dir_all(&staging).await;
    let r = async {
        write_tree(&staging, drive)?;
        let (tool, pre): (&'static str, &[&str]) = if on_path("genisoimage") {
            ("genisoimage", &[])
        } else if on_path("xorriso") {
            ("xorriso", &["-as", "mkisofs"])
        } else {
            return Err(ConfigDriveError::NoTool);
        };
        let out = tokio::process::Command::new(tool)
            .args(pre)
            .arg("-o")
            .arg(iso)
            .args([
                "-ldots",
                "-allow-lowercase",
                "-allow-multidot",
                "-l",
                "-quiet",
                "-J",
                "-r",
                "-V",
                "config-2",
            ])
            .arg(&staging)
            .output()
            .await
            .map_err(|e| ConfigDriveError::Io(format!("cannot run {tool}: {e}")))?;
        if !out.status.success() {
            return Err(ConfigDriveError::Tool {
                tool,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(())
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&staging).await;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive() -> ConfigDrive {
        ConfigDrive {
            meta_data: serde_json::json!({
                "uuid": "0b5c4a9e-4f3d-4f7e-9d2a-5c1f0e7a8b9c",
                "name": "web",
                "hostname": "web",
                "availability_zone": "nova",
                "launch_index": 0,
            }),
            user_data: Some(b"#!/bin/sh\necho hi\n".to_vec()),
        }
    }

    #[test]
    fn tree_has_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &drive()).unwrap();
        for v in VERSIONS {
            let d = dir.path().join("openstack").join(v);
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(d.join("meta_data.json")).unwrap()).unwrap();
            assert_eq!(meta["uuid"], "0b5c4a9e-4f3d-4f7e-9d2a-5c1f0e7a8b9c");
            assert_eq!(
                std::fs::read(d.join("user_data")).unwrap(),
                b"#!/bin/sh\necho hi\n"
            );
        }
        // No user data: no file.
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &ConfigDrive {
                user_data: None,
                ..drive()
            },
        )
        .unwrap();
        assert!(!dir.path().join("openstack/latest/user_data").exists());
    }

    /// Builds a real ISO (genisoimage is an install-deps requirement: its
    /// absence fails this test) and reads its label and files back.
    #[tokio::test]
    async fn iso_is_labelled_config_2_with_the_files() {
        assert!(on_path("genisoimage"), "genisoimage is not installed");
        let dir = tempfile::tempdir().unwrap();
        let iso = dir.path().join("disk.config");
        build(&iso, &drive()).await.unwrap();
        let bytes = std::fs::read(&iso).unwrap();
        // The primary volume descriptor is at sector 16; its label at 40.
        assert_eq!(&bytes[0x8001..0x8006], b"CD001");
        assert_eq!(
            std::str::from_utf8(&bytes[0x8028..0x8030]).unwrap(),
            "config-2"
        );
        assert!(
            !dir.path().join(".config-drive").exists(),
            "staging left behind"
        );

        // List the ISO's Rock Ridge tree with isoinfo (genisoimage's package).
        let out = std::process::Command::new("isoinfo")
            .args(["-R", "-f", "-i"])
            .arg(&iso)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        for f in [
            "/openstack/latest/meta_data.json",
            "/openstack/latest/user_data",
            "/openstack/2012-08-10/meta_data.json",
            "/openstack/2012-08-10/user_data",
        ] {
            assert!(
                listing.lines().any(|l| l == f),
                "{f} missing from {listing}"
            );
        }
        let out = std::process::Command::new("isoinfo")
            .args(["-R", "-x", "/openstack/latest/meta_data.json", "-i"])
            .arg(&iso)
            .output()
            .unwrap();
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(meta["hostname"], "web");
    }
}
