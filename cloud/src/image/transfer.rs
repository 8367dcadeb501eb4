//! Image data in and out, streamed: never more than a few chunks in memory.
//!
//! Upload: the request body flows through the format inspector, two hashing
//! threads (MD5 and SHA-512 run in parallel) and the store's staging writer;
//! only when everything agrees is the data committed (atomic rename) and the
//! image made `active`. Any failure leaves the image `queued` and no data.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest, Sha512};
use tokio::sync::mpsc;

use super::inspect::{check_declared, Inspector};
use super::*;
use crate::db::now_micros;

/// A download: the image, which bytes, and the stream of them.
pub struct ImageDownload {
    pub image: Image,
    /// The image's full size.
    pub size: u64,
    /// First byte and length of what `stream` yields.
    pub start: u64,
    pub len: u64,
    /// True when a range was asked for (HTTP 206).
    pub partial: bool,
    pub stream: ByteStream,
}

impl std::fmt::Debug for ImageDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageDownload")
            .field("image", &self.image.id)
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

/// A hash computed on its own blocking thread, fed chunks by a bounded
/// channel (the chunks are shared `Bytes`, not copies).
struct DigestJob {
    tx: mpsc::Sender<Bytes>,
    job: tokio::task::JoinHandle<String>,
}

impl DigestJob {
    fn spawn<D: Digest + Send + 'static>() -> DigestJob {
        let (tx, mut rx) = mpsc::channel::<Bytes>(32);
        let job = tokio::task::spawn_blocking(move || {
            let mut d = D::new();
            while let Some(chunk) = rx.blocking_recv() {
                d.update(&chunk);
            }
            hex::encode(d.finalize())
        });
        DigestJob { tx, job }
    }

    async fn feed(&self, chunk: Bytes) -> Result<()> {
        self.tx
            .send(chunk)
            .await
            .map_err(|_| ImageError::Internal("a hashing thread stopped".into()))
    }

    async fn finish(self) -> Result<String> {
        drop(self.tx);
        self.job
            .await
            .map_err(|e| ImageError::Internal(format!("hashing thread: {e}")))
    }
}

/// Limits checked as bytes arrive.
#[derive(Debug, Clone, Copy)]
struct UploadLimits {
    max_image_size: u64,
    /// Bytes left in the owner's storage allowance.
    project_remaining: u64,
    project_max: i64,
}

impl UploadLimits {
    fn check(&self, bytes: u64) -> Result<()> {
        if bytes > self.max_image_size {
            return Err(ImageError::LimitExceeded(format!(
                "The image is larger than the largest image accepted ({} bytes).",
                self.max_image_size
            )));
        }
        if bytes > self.project_remaining {
            return Err(ImageError::LimitExceeded(format!(
                "The upload would exceed the project's image storage limit of {} bytes.",
                self.project_max
            )));
        }
        Ok(())
    }
}

struct Received {
    size: u64,
    virtual_size: u64,
    md5: String,
    sha512: String,
}

impl ImageService {
    /// Stores the image's data from `data`. `declared_len` is the request's
    /// Content-Length when known: limits are checked against it before any
    /// byte is stored, and a shorter body counts as an interrupted upload.
    pub async fn upload<S>(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        data: S,
        declared_len: Option<u64>,
    ) -> Result<Image>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    {
        let image = self
            .image_for_change(ctx, image_id, &rules::UPLOAD_IMAGE)
            .await?;
        if image.status != ImageStatus::Queued {
            return Err(ImageError::Conflict(format!(
                "Image status transition from {} to saving is not allowed: data can only be uploaded to a queued image.",
                image.status
            )));
        }
        let (Some(disk_format), Some(_)) = (image.disk_format, image.container_format) else {
            return Err(ImageError::Validation(
                "Properties disk_format, container_format must be set prior to saving data.".into(),
            ));
        };
        let owner = image.owner.clone().unwrap_or_default();
        let (_, used) = self.usage_of(&owner).await?;
        let project_max = self.cfg.max_bytes_per_project;
        let limits = UploadLimits {
            max_image_size: u64::try_from(self.cfg.max_image_size).unwrap_or(u64::MAX),
            project_remaining: if project_max < 0 {
                u64::MAX
            } else {
                u64::try_from(project_max.saturating_sub(used)).unwrap_or(0)
            },
            project_max,
        };
        if let Some(n) = declared_len {
            limits.check(n)?;
        }
        let moved = sqlx::query(
            "UPDATE images SET status = 'saving', updated_at = ? WHERE id = ? AND status = 'queued'",
        )
        .bind(now_micros())
        .bind(image.id.as_str())
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(ImageError::Conflict(format!(
                "Image {} is already receiving data.",
                image.id
            )));
        }
        // The transfer runs in its own task so that a client hanging up
        // (which drops the request handler) still ends in the cleanup below.
        let svc = self.clone();
        let id = image.id.clone();
        let task = tokio::spawn(async move {
            let outcome = svc
                .receive(&id, disk_format, data, declared_len, limits)
                .await;
            match outcome {
                Ok(r) => svc.activate(&id, r).await,
                Err(e) => {
                    svc.reset_to_queued(&id).await;
                    Err(e)
                }
            }
        });
        task.await
            .map_err(|e| ImageError::Internal(format!("upload task: {e}")))?
    }

    async fn receive<S>(
        &self,
        id: &str,
        disk_format: DiskFormat,
        mut data: S,
        declared_len: Option<u64>,
        limits: UploadLimits,
    ) -> Result<Received>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + Unpin,
    {
        let mut stage = self
            .store
            .stage(id)
            .await
            .map_err(|e| ImageError::store("staging an upload", e))?;
        let md5 = DigestJob::spawn::<Md5>();
        let sha512 = DigestJob::spawn::<Sha512>();
        let mut inspector = Inspector::new();
        let mut seen: u64 = 0;
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(|e| ImageError::UploadInterrupted(e.to_string()))?;
            if chunk.is_empty() {
                continue;
            }
            seen = seen.saturating_add(chunk.len() as u64);
            limits.check(seen)?;
            inspector.feed(&chunk);
            md5.feed(chunk.clone()).await?;
            sha512.feed(chunk.clone()).await?;
            stage
                .write(chunk)
                .await
                .map_err(|e| ImageError::store("writing image data", e))?;
        }
        if let Some(n) = declared_len {
            if seen != n {
                return Err(ImageError::UploadInterrupted(format!(
                    "received {seen} of {n} bytes"
                )));
            }
        }
        let inspection = inspector.finish()?;
        let mut virtual_size = check_declared(disk_format, &inspection)?;
        if disk_format == DiskFormat::Raw {
            // A raw disk is its bytes, even when they are also an ISO.
            virtual_size = seen;
        }
        let md5 = md5.finish().await?;
        let sha512 = sha512.finish().await?;
        stage
            .commit()
            .await
            .map_err(|e| ImageError::store("committing image data", e))?;
        Ok(Received {
            size: seen,
            virtual_size,
            md5,
            sha512,
        })
    }

    async fn activate(&self, id: &str, r: Received) -> Result<Image> {
        let done = sqlx::query(
            "UPDATE images SET status = 'active', size = ?, virtual_size = ?, checksum = ?, \
             os_hash_algo = ?, os_hash_value = ?, updated_at = ? WHERE id = ? AND status = 'saving'",
        )
        .bind(i64::try_from(r.size).unwrap_or(i64::MAX))
        .bind(i64::try_from(r.virtual_size).unwrap_or(i64::MAX))
        .bind(r.md5.as_str())
        .bind(HASH_ALGO)
        .bind(r.sha512.as_str())
        .bind(now_micros())
        .bind(id)
        .execute(&self.db.pool)
        .await;
        match done {
            Ok(d) if d.rows_affected() == 1 => self.image_by_id(id).await,
            other => {
                // Deleted meanwhile (or the database failed): the data must
                // not outlive its record.
                if let Err(e) = self.store.delete(id).await {
                    tracing::error!(image = %id, error = %e, "could not remove orphaned image data");
                }
                other?;
                Err(ImageError::Conflict(format!(
                    "Image {id} was deleted while its data was uploading."
                )))
            }
        }
    }

    async fn reset_to_queued(&self, id: &str) {
        let res = sqlx::query(
            "UPDATE images SET status = 'queued', updated_at = ? WHERE id = ? AND status = 'saving'",
        )
        .bind(now_micros())
        .bind(id)
        .execute(&self.db.pool)
        .await;
        if let Err(e) = res {
            tracing::error!(image = %id, error = %e, "could not reset a failed upload to queued");
        }
    }

    /// The image's data, whole or a range. A whole download is checked
    /// against the stored MD5 as it streams: a mismatch ends the stream with
    /// an error instead of a clean end, so the client cannot take bad data
    /// for good.
    pub async fn download(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        range: Option<ByteRange>,
    ) -> Result<ImageDownload> {
        let image = self.get_image(ctx, image_id).await?;
        match image.status {
            ImageStatus::Active => {}
            ImageStatus::Deactivated
                if allows(ctx, &rules::DOWNLOAD_DEACTIVATED, &Target::none()) => {}
            ImageStatus::Deactivated => {
                return Err(ImageError::Forbidden(
                    "The requested image has been deactivated. Image data download is forbidden."
                        .into(),
                ))
            }
            _ => return Err(ImageError::NoData(image.id.clone())),
        }
        let size = u64::try_from(image.size.unwrap_or(0)).unwrap_or(0);
        let (start, len) = match range {
            None => (0, size),
            Some(ByteRange::From { start, end }) => {
                if start >= size {
                    return Err(ImageError::RangeNotSatisfiable { size });
                }
                let end = end.unwrap_or(size - 1).min(size - 1);
                if end < start {
                    return Err(ImageError::RangeNotSatisfiable { size });
                }
                (start, end - start + 1)
            }
            Some(ByteRange::Suffix(n)) => {
                if n == 0 || size == 0 {
                    return Err(ImageError::RangeNotSatisfiable { size });
                }
                let n = n.min(size);
                (size - n, n)
            }
        };
        let stream = self
            .store
            .open(&image.id, start, len)
            .await
            .map_err(|e| ImageError::store(format!("reading image {}", image.id), e))?;
        let stream: ByteStream = match (&image.checksum, range) {
            (Some(expected), None) => Box::pin(VerifiedStream {
                inner: stream,
                md5: Some(Md5::new()),
                expected: expected.clone(),
                image_id: image.id.clone(),
            }),
            _ => stream,
        };
        Ok(ImageDownload {
            image,
            size,
            start,
            len,
            partial: range.is_some(),
            stream,
        })
    }
}

/// Passes chunks through while hashing them; fails at the end on a mismatch.
struct VerifiedStream {
    inner: ByteStream,
    md5: Option<Md5>,
    expected: String,
    image_id: String,
}

impl Stream for VerifiedStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(md5) = self.md5.as_mut() {
                    md5.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => match self.md5.take() {
                Some(md5) => {
                    let got = hex::encode(md5.finalize());
                    if got == self.expected {
                        Poll::Ready(None)
                    } else {
                        tracing::error!(image = %self.image_id, expected = %self.expected, %got, "stored image data does not match its checksum");
                        Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "image data does not match its checksum",
                        ))))
                    }
                }
                None => Poll::Ready(None),
            },
            other => other,
        }
    }
}
