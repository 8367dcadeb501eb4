//! The node's image cache and the instances' disks.
//!
//! An image is downloaded once per node into `<cache>/<image id>`, verified
//! against its Glance checksum on the way in and trusted from then on (as
//! Nova's image cache is). Concurrent spawns of one image wait for the one
//! download. An instance's root disk is a qcow2 overlay on the cached file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bus::messages::ImageRef;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use crate::config::IdentityConfig;

/// A service token is reused this long (Keystone's default lifetime is an
/// hour); a 401 before then fetches a fresh one.
const TOKEN_REUSE: Duration = Duration::from_secs(30 * 60);

const GIB: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The image could not be fetched or failed verification here; another
    /// node (or a later try) may do better.
    #[error("image {id}: {message}")]
    Fetch { id: String, message: String },
    /// The request itself is wrong: no node can build this disk.
    #[error("image {id}: {message}")]
    Invalid { id: String, message: String },
    /// The flavor's root disk is smaller than the image.
    #[error(
        "the flavor's root disk ({root_gb} GiB) is smaller than the image ({virtual_size} bytes)"
    )]
    DiskTooSmall { root_gb: u64, virtual_size: u64 },
    #[error("{0}")]
    Local(String),
}

impl ImageError {
    pub fn retry_elsewhere(&self) -> bool {
        matches!(self, ImageError::Fetch { .. } | ImageError::Local(_))
    }
}

fn fetch_err(id: &str, message: impl Into<String>) -> ImageError {
    ImageError::Fetch {
        id: id.to_owned(),
        message: message.into(),
    }
}

/// Streaming digest for Glance's `os_hash_algo` (or the MD5 `checksum`).
enum Hasher {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(algo: &str) -> Option<Hasher> {
        Some(match algo.to_ascii_lowercase().as_str() {
            "md5" => Hasher::Md5(md5::Md5::new()),
            "sha256" => Hasher::Sha256(sha2::Sha256::new()),
            "sha384" => Hasher::Sha384(sha2::Sha384::new()),
            "sha512" => Hasher::Sha512(sha2::Sha512::new()),
            _ => return None,
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        match self {
            Hasher::Md5(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha384(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// The qemu-img format of a Glance `disk_format` a root disk can back onto.
pub fn qemu_format(disk_format: &str) -> Option<&'static str> {
    Some(match disk_format {
        "qcow2" => "qcow2",
        "raw" | "ami" => "raw",
        "vmdk" => "vmdk",
        "vdi" => "vdi",
        "vhd" => "vpc",
        "vhdx" => "vhdx",
        _ => return None,
    })
}

/// An image id becomes a file name: nothing that could leave the cache dir.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What a download presents.
enum Auth<'a> {
    Grant(&'a str),
    Token(&'a str),
    None,
}

pub struct ImageCache {
    dir: PathBuf,
    http: reqwest::Client,
    identity: Option<IdentityConfig>,
    /// One async lock per image id being fetched: the second spawn waits
    /// for the first one's download instead of starting its own.
    downloads: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for ImageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageCache")
            .field("dir", &self.dir)
            .finish()
    }
}

impl ImageCache {
    pub fn new(dir: PathBuf, identity: Option<IdentityConfig>) -> ImageCache {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Between chunks, not the whole (multi-GB) download.
            .read_timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        ImageCache {
            dir,
            http,
            identity,
            downloads: Mutex::new(HashMap::new()),
            token: tokio::sync::Mutex::new(None),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `image` is (or will be) cached.
    pub fn path_of(&self, image: &ImageRef) -> PathBuf {
        self.dir.join(&image.id)
    }

    /// The cached file of `image`, downloading and verifying it first if
    /// this node does not have it yet.
    pub async fn fetch(&self, image: &ImageRef) -> Result<PathBuf, ImageError> {
        if !valid_id(&image.id) {
            return Err(ImageError::Invalid {
                id: image.id.clone(),
                message: "the image id is not a valid file name".into(),
            });
        }
        let path = self.path_of(image);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        let lock = {
            let mut map = self.downloads.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(image.id.clone()).or_default().clone()
        };
        let _held = lock.lock().await;
        // The download we waited for may have brought it.
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| ImageError::Local(format!("cannot create {}: {e}", self.dir.display())))?;
        let part = self.dir.join(format!(".{}.part", image.id));
        let r = self.download(image, &part).await;
        if r.is_err() {
            let _ = tokio::fs::remove_file(&part).await;
        }
        r?;
        tokio::fs::rename(&part, &path)
            .await
            .map_err(|e| ImageError::Local(format!("cannot move the image into the cache: {e}")))?;
        tracing::info!(image = %image.id, path = %path.display(), "image cached");
        Ok(path)
    }

    async fn download(&self, image: &ImageRef, part: &Path) -> Result<(), ImageError> {
        let id = image.id.as_str();
        let mut hasher = Hasher::new(&image.hash_algo).ok_or_else(|| ImageError::Invalid {
            id: id.to_owned(),
            message: format!("unknown checksum algorithm {:?}", image.hash_algo),
        })?;
        if image.hash_value.is_empty() {
            return Err(ImageError::Invalid {
                id: id.to_owned(),
                message: "the image has no checksum to verify".into(),
            });
        }
        let mut resp = self.get(image).await?;

        let mut file = tokio::fs::File::create(part)
            .await
            .map_err(|e| ImageError::Local(format!("cannot create {}: {e}", part.display())))?;
        let mut written: u64 = 0;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| fetch_err(id, format!("download interrupted: {e}")))?
        {
            hasher.update(&chunk);
            written += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| ImageError::Local(format!("cannot write the image: {e}")))?;
        }
        file.sync_all()
            .await
            .map_err(|e| ImageError::Local(format!("cannot write the image: {e}")))?;
        drop(file);

        if image.size > 0 && written != image.size {
            return Err(fetch_err(
                id,
                format!("got {written} bytes, expected {}", image.size),
            ));
        }
        let got = hasher.hex();
        if !got.eq_ignore_ascii_case(image.hash_value.trim()) {
            return Err(fetch_err(
                id,
                format!(
                    "{} checksum mismatch (got {got}, expected {})",
                    image.hash_algo, image.hash_value
                ),
            ));
        }
        Ok(())
    }

    /// GETs the image: with the spawn's download grant, then with the
    /// service's token (fresh after a 401), then without any when there is
    /// neither.
    async fn get(&self, image: &ImageRef) -> Result<reqwest::Response, ImageError> {
        let id = image.id.as_str();
        let mut last = String::new();
        if let Some(g) = &image.download_grant {
            match self.get_with(image, Auth::Grant(g.expose())).await? {
                Ok(r) => return Ok(r),
                Err(status) => last = format!("the download grant was refused ({status})"),
            }
        }
        if self.identity.is_some() {
            for fresh in [false, true] {
                let token = self.service_token(fresh).await.map_err(|e| match e {
                    ImageError::Fetch { message, .. } => fetch_err(id, message),
                    e => e,
                })?;
                match self.get_with(image, Auth::Token(&token)).await? {
                    Ok(r) => return Ok(r),
                    Err(status) => last = format!("the service token was refused ({status})"),
                }
            }
        } else if image.download_grant.is_none() {
            match self.get_with(image, Auth::None).await? {
                Ok(r) => return Ok(r),
                Err(status) => last = format!("refused without a credential ({status})"),
            }
        }
        Err(fetch_err(id, format!("cannot download: {last}")))
    }

    /// `Ok(Err(status))` for an authentication refusal worth another try.
    async fn get_with(
        &self,
        image: &ImageRef,
        auth: Auth<'_>,
    ) -> Result<Result<reqwest::Response, reqwest::StatusCode>, ImageError> {
        let req = self.http.get(&image.download_url);
        let req = match auth {
            Auth::Grant(g) => req.header("X-Image-Download-Grant", g),
            Auth::Token(t) => req.header("X-Auth-Token", t),
            Auth::None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| fetch_err(&image.id, format!("cannot reach the image service: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Ok(Err(status));
        }
        if !status.is_success() {
            return Err(fetch_err(
                &image.id,
                format!("the image service answered {status}"),
            ));
        }
        Ok(Ok(resp))
    }

    /// A project-scoped token for the agent's service user (Keystone v3
    /// password auth), reused until it is old or refused.
    async fn service_token(&self, fresh: bool) -> Result<String, ImageError> {
        let Some(idc) = &self.identity else {
            return Err(ImageError::Local("no service credential configured".into()));
        };
        let mut cached = self.token.lock().await;
        if let Some((t, at)) = cached.as_ref() {
            if !fresh && at.elapsed() < TOKEN_REUSE {
                return Ok(t.clone());
            }
        }
        let base = idc.auth_url.trim_end_matches('/');
        let url = if base.ends_with("/v3") {
            format!("{base}/auth/tokens")
        } else {
            format!("{base}/v3/auth/tokens")
        };
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": idc.username,
                "domain": {"name": idc.domain},
                "password": idc.password.expose(),
            }}},
            "scope": {"project": {"name": idc.project, "domain": {"name": idc.domain}}},
        }});
        let fail = |m: String| ImageError::Fetch {
            id: String::new(),
            message: format!("service authentication failed: {m}"),
        };
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(fail(format!("Keystone answered {}", resp.status())));
        }
        let token = resp
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| fail("no X-Subject-Token in the answer".into()))?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }
}

/// What `qemu-img info` says about a cached image.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskInfo {
    pub virtual_size: u64,
}

async fn qemu_img(args: &[&std::ffi::OsStr]) -> Result<String, ImageError> {
    let out = tokio::process::Command::new("qemu-img")
        .args(args)
        .output()
        .await
        .map_err(|e| ImageError::Local(format!("cannot run qemu-img: {e}")))?;
    if !out.status.success() {
        return Err(ImageError::Local(format!(
            "qemu-img {} failed: {}",
            args.first().and_then(|a| a.to_str()).unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads the image as its declared format (never probed: a "raw" image
/// that is really qcow2 must stay raw) and refuses one that points at other
/// files (a backing file or external data file could read the host's).
pub async fn inspect(path: &Path, image: &ImageRef) -> Result<DiskInfo, ImageError> {
    let invalid = |m: String| ImageError::Invalid {
        id: image.id.clone(),
        message: m,
    };
    let fmt = qemu_format(&image.disk_format).ok_or_else(|| {
        invalid(format!(
            "disk format {:?} cannot be a root disk",
            image.disk_format
        ))
    })?;
    let out = qemu_img(&[
        "info".as_ref(),
        "--output=json".as_ref(),
        "-f".as_ref(),
        fmt.as_ref(),
        path.as_os_str(),
    ])
    .await
    .map_err(|e| invalid(format!("not a valid {fmt} image: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&out)
        .map_err(|e| ImageError::Local(format!("unreadable qemu-img output: {e}")))?;
    if v.get("backing-filename").is_some() || v.pointer("/format-specific/data/data-file").is_some()
    {
        return Err(invalid(
            "the image refers to other files (backing or data file)".into(),
        ));
    }
    let virtual_size = v
        .get("virtual-size")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ImageError::Local("qemu-img reported no virtual size".into()))?;
    Ok(DiskInfo { virtual_size })
}

/// The instance's root disk: a qcow2 overlay on the cached image, grown to
/// the flavor's `root_gb` when that is bigger than the image.
pub async fn create_overlay(
    base: &Path,
    image: &ImageRef,
    disk: &Path,
    root_gb: u64,
) -> Result<(), ImageError> {
    let info = inspect(base, image).await?;
    let fmt = qemu_format(&image.disk_format).unwrap_or("raw");
    let want = root_gb.saturating_mul(GIB);
    if root_gb > 0 && want < info.virtual_size {
        return Err(ImageError::DiskTooSmall {
            root_gb,
            virtual_size: info.virtual_size,
        });
    }
    // The overlay records this path: make it absolute.
    let base = std::fs::canonicalize(base)
        .map_err(|e| ImageError::Local(format!("cannot resolve {}: {e}", base.display())))?;
    let size = want.to_string();
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "create".as_ref(),
        "-q".as_ref(),
        "-f".as_ref(),
        "qcow2".as_ref(),
        "-F".as_ref(),
        fmt.as_ref(),
        "-b".as_ref(),
        base.as_os_str(),
        disk.as_os_str(),
    ];
    if want > info.virtual_size {
        args.push(size.as_ref());
    }
    qemu_img(&args).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_formats() {
        assert!(valid_id("0b5c4a9e-4f3d-4f7e-9d2a-5c1f0e7a8b9c"));
        assert!(!valid_id("../etc"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(".hidden"));
        assert!(!valid_id(""));
        assert_eq!(qemu_format("vhd"), Some("vpc"));
        assert_eq!(qemu_format("ami"), Some("raw"));
        assert_eq!(qemu_format("iso"), None);
    }

    #[test]
    fn hashers_match_known_digests() {
        let cases = [
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (algo, want) in cases {
            let mut h = Hasher::new(algo).unwrap();
            h.update(b"ab");
            h.update(b"c");
            assert_eq!(h.hex(), want, "{algo}");
        }
        assert!(Hasher::new("SHA512").is_some());
        assert!(Hasher::new("crc32").is_none());
    }
}
