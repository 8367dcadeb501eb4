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
use super::records::check_max_image_size;
use super::*;
use crate::db::now_micros;
use crate::quota::Reservation;

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

/// Bytes reserved at a time for an upload without a Content-Length: the
/// hold grows by this much (or what the next chunk needs) as bytes arrive.
const RESERVE_STEP: u64 = 64 << 20;

/// How long the oldest of several growing uploads waits for younger ones
/// to give their holds back before it, too, is refused.
const YIELD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often a running upload renews its reservation (well inside the
/// reservation's time to live).
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

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
        self.receive_into(
            ctx,
            image_id,
            data,
            declared_len,
            ImageStatus::Queued,
            ImageStatus::Active,
        )
        .await
    }

    /// Glance's `PUT /v2/images/{id}/stage`: the same pipeline as
    /// [`ImageService::upload`] (limits, quota, hashes, format inspection,
    /// atomic commit into the store), but the image ends `uploading`, its
    /// data waiting for [`ImageService::import_image`] to make it active.
    pub async fn stage<S>(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        data: S,
        declared_len: Option<u64>,
    ) -> Result<Image>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    {
        self.receive_into(
            ctx,
            image_id,
            data,
            declared_len,
            ImageStatus::Queued,
            ImageStatus::Uploading,
        )
        .await
    }

    /// The one pipeline: the image moves from `from` (`queued`, or
    /// `importing` for a web-download) to `saving`, then to `done`.
    pub(super) async fn receive_into<S>(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        data: S,
        declared_len: Option<u64>,
        from: ImageStatus,
        done: ImageStatus,
    ) -> Result<Image>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    {
        let image = self
            .image_for_change(ctx, image_id, &rules::UPLOAD_IMAGE)
            .await?;
        if image.status != from {
            return Err(ImageError::Conflict(crate::msg!(
                "error.image.upload_not_queued",
                "Image status transition from {status} to saving is not allowed: data can only be uploaded to a queued image.",
                status = image.status,
            )));
        }
        let (Some(disk_format), Some(_)) = (image.disk_format, image.container_format) else {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.formats_unset",
                "Properties disk_format, container_format must be set prior to saving data."
            )));
        };
        let owner = image.owner.clone().unwrap_or_default();
        if let Some(n) = declared_len {
            check_max_image_size(&self.cfg, n)?;
        }
        // The declared length (else a first step) is reserved before any
        // byte is stored, in the transaction that moves the image to
        // `saving`: concurrent uploads cannot both count the same room.
        let first_hold = declared_len.unwrap_or(0);
        let mut tx = self.db.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE images SET status = 'saving', upload_owner = ?, updated_at = ? WHERE id = ? AND status = ?",
        )
        .bind(self.owner.server_id.as_str())
        .bind(now_micros())
        .bind(image.id.as_str())
        .bind(from.as_str())
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
        let reservation = self
            .quota
            .reserve(
                &mut tx,
                &owner,
                &[(Resource::IMAGE_SIZE_TOTAL, to_i64(first_hold))],
            )
            .await?;
        tx.commit().await?;
        // The transfer runs in its own task so that a client hanging up
        // (which drops the request handler) still ends in the cleanup below.
        let svc = self.clone();
        let id = image.id.clone();
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            let mut reservation = reservation;
            let outcome = svc
                .receive(&id, disk_format, data, declared_len, &mut reservation)
                .await;
            match outcome {
                Ok(r) => svc.activate(&id, r, reservation, done).await,
                Err(e) => {
                    svc.reset_to_queued(&id, reservation).await;
                    Err(e)
                }
            }
        }));
        task.await
            .map_err(|e| ImageError::Internal(format!("upload task: {e}")))?
    }

    async fn receive<S>(
        &self,
        id: &str,
        disk_format: DiskFormat,
        mut data: S,
        declared_len: Option<u64>,
        reservation: &mut Reservation,
    ) -> Result<Received>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + Unpin,
    {
        let mut stage = self
            .store
            .stage(&self.owner.server_id, id)
            .await
            .map_err(|e| ImageError::store("staging an upload", e))?;
        let md5 = DigestJob::spawn::<Md5>();
        let sha512 = DigestJob::spawn::<Sha512>();
        let mut inspector = Inspector::new();
        let mut seen: u64 = 0;
        let mut renewed = std::time::Instant::now();
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(|e| ImageError::UploadInterrupted(e.to_string()))?;
            if chunk.is_empty() {
                continue;
            }
            seen = seen.saturating_add(chunk.len() as u64);
            check_max_image_size(&self.cfg, seen)?;
            if let Some(n) = declared_len {
                if seen > n {
                    return Err(ImageError::Validation(crate::msg!(
                        "error.image.upload_too_long",
                        "The upload is longer than its declared {size} bytes.",
                        size = n,
                    )));
                }
            }
            let held = u64::try_from(reservation.amount(Resource::IMAGE_SIZE_TOTAL)).unwrap_or(0);
            if seen > held {
                self.grow_hold(reservation, held, seen).await?;
                renewed = std::time::Instant::now();
            } else if renewed.elapsed() >= RENEW_EVERY {
                let mut tx = self.db.begin_write().await?;
                self.quota.renew(&mut tx, reservation).await?;
                tx.commit().await?;
                renewed = std::time::Instant::now();
            }
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
        let mut virtual_size = match check_declared(disk_format, &inspection) {
            Ok(v) => v,
            // Off, the declared format stands; what the data is was still
            // checked (no backing files, no unsafe headers) by `finish`.
            Err(FormatError::Mismatch { .. }) if !self.cfg.require_format_match => {
                inspection.virtual_size
            }
            Err(e) => return Err(e.into()),
        };
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

    /// Flips the image to `active` and turns the reservation into usage of
    /// the bytes actually stored, in one transaction; if the image was
    /// deleted meanwhile (or taken over by another server) the reservation
    /// is released instead.
    async fn activate(
        &self,
        id: &str,
        r: Received,
        reservation: Reservation,
        status: ImageStatus,
    ) -> Result<Image> {
        let done = self.activate_record(id, &r, reservation, status).await;
        match done {
            Ok(true) => self.image_by_id(id).await,
            other => {
                // Deleted meanwhile (or the database failed): the data must
                // not outlive its record.
                if let Err(e) = self.store.delete(id).await {
                    tracing::error!(image = %id, error = %e, "could not remove orphaned image data");
                }
                other?;
                Err(ImageError::Conflict(crate::msg!(
                    "error.image.deleted_during_upload",
                    "Image {id} was deleted while its data was uploading.",
                    id = id,
                )))
            }
        }
    }

    /// True when the image was still `saving` under this server and is now
    /// `status` (`active`, or `uploading` for staged data).
    async fn activate_record(
        &self,
        id: &str,
        r: &Received,
        reservation: Reservation,
        status: ImageStatus,
    ) -> Result<bool> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE images SET status = ?, size = ?, virtual_size = ?, checksum = ?, \
             os_hash_algo = ?, os_hash_value = ?, upload_owner = NULL, updated_at = ? \
             WHERE id = ? AND status = 'saving' AND upload_owner = ?",
        )
        .bind(status.as_str())
        .bind(i64::try_from(r.size).unwrap_or(i64::MAX))
        .bind(i64::try_from(r.virtual_size).unwrap_or(i64::MAX))
        .bind(r.md5.as_str())
        .bind(HASH_ALGO)
        .bind(r.sha512.as_str())
        .bind(now_micros())
        .bind(id)
        .bind(self.owner.server_id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            self.quota
                .commit(
                    &mut tx,
                    reservation,
                    &[(Resource::IMAGE_SIZE_TOTAL, to_i64(r.size))],
                )
                .await?;
        } else {
            self.quota.release(&mut tx, reservation).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// A failed upload: the image goes back to `queued` (if this server
    /// still owns it) and its reservation is released, together. Should this
    /// fail too, the image is recovered once this server's lease expires and
    /// the reservation lapses.
    async fn reset_to_queued(&self, id: &str, reservation: Reservation) {
        let res: Result<()> = async {
            let mut tx = self.db.begin_write().await?;
            sqlx::query(
                "UPDATE images SET status = 'queued', upload_owner = NULL, updated_at = ? \
                 WHERE id = ? AND status = 'saving' AND upload_owner = ?",
            )
            .bind(now_micros())
            .bind(id)
            .bind(self.owner.server_id.as_str())
            .execute(&mut *tx)
            .await?;
            self.quota.release(&mut tx, reservation).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = res {
            tracing::error!(image = %id, error = ?e, "could not reset a failed upload to queued");
        }
    }

    /// An upload without a declared length has stored `held` bytes' worth
    /// and needs `seen`: hold the next step (or, near the quota, exactly
    /// what is needed) before storing more.
    async fn grow_hold(&self, reservation: &mut Reservation, held: u64, seen: u64) -> Result<()> {
        let need = seen - held;
        let step = need
            .max(RESERVE_STEP)
            .min(self.max_image_size().saturating_sub(held))
            .max(need);
        let deadline = std::time::Instant::now() + YIELD_WAIT;
        loop {
            for amount in [step, need] {
                let mut tx = self.db.begin_write().await?;
                match self
                    .quota
                    .extend(
                        &mut tx,
                        reservation,
                        Resource::IMAGE_SIZE_TOTAL,
                        to_i64(amount),
                    )
                    .await
                {
                    Ok(()) => {
                        tx.commit().await?;
                        return Ok(());
                    }
                    // The step does not fit: try for exactly what is needed.
                    Err(crate::quota::QuotaError::OverQuota(_)) if amount > need => continue,
                    Err(crate::quota::QuotaError::OverQuota(over)) => {
                        drop(tx);
                        // The oldest upload waits for younger ones to yield;
                        // a younger one fails now and gives its hold back.
                        if std::time::Instant::now() < deadline
                            && self
                                .quota
                                .is_oldest_hold(reservation, Resource::IMAGE_SIZE_TOTAL)
                                .await?
                        {
                            break;
                        }
                        return Err(crate::quota::QuotaError::OverQuota(over).into());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn max_image_size(&self) -> u64 {
        u64::try_from(self.cfg.max_image_size).unwrap_or(u64::MAX)
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
                return Err(ImageError::Forbidden(crate::msg!(
                    "error.image.deactivated",
                    "The requested image has been deactivated. Image data download is forbidden."
                )))
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

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
