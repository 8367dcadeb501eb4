//! Where image bytes live: a small trait, and the local filesystem backend.
//!
//! An upload goes to a staging file and becomes visible under the image id
//! only by [`StagedImage::commit`], an atomic rename; dropping an uncommitted
//! stage removes its file, so a failed or cancelled upload leaves nothing.

use std::fmt::Debug;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Image data on its way out: chunks, never the whole image.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[async_trait]
pub trait ImageStore: Send + Sync + Debug {
    /// Starts writing the data of `image_id` in the staging area of server
    /// `owner`; invisible until committed.
    async fn stage(&self, owner: &str, image_id: &str) -> io::Result<Box<dyn StagedImage>>;
    /// `len` bytes of the image's data from `offset`.
    async fn open(&self, image_id: &str, offset: u64, len: u64) -> io::Result<ByteStream>;
    /// Removes the image's data; no error when there is none.
    async fn delete(&self, image_id: &str) -> io::Result<()>;
    /// The servers that have a staging area.
    async fn staging_owners(&self) -> io::Result<Vec<String>>;
    /// Removes the staging areas of `owners` (servers that stopped
    /// mid-upload) and any staging file no server owns.
    async fn clean_staging(&self, owners: &[String]) -> io::Result<usize>;
}

#[async_trait]
pub trait StagedImage: Send {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()>;
    /// Makes the data durable, then visible under the image id.
    async fn commit(self: Box<Self>) -> io::Result<()>;
}

/// Images as files in `<dir>/images/<id>`, staged in
/// `<dir>/staging/<server-id>/`, so each server's leftovers are its own.
#[derive(Debug, Clone)]
pub struct LocalStore {
    images: PathBuf,
    staging: PathBuf,
}

const READ_CHUNK: usize = 256 * 1024;
/// Bytes written between background flushes of an upload.
const FLUSH_EVERY: u64 = 64 << 20;

impl LocalStore {
    pub fn new(dir: impl AsRef<Path>) -> io::Result<LocalStore> {
        let dir = dir.as_ref();
        let store = LocalStore {
            images: dir.join("images"),
            staging: dir.join("staging"),
        };
        std::fs::create_dir_all(&store.images)?;
        std::fs::create_dir_all(&store.staging)?;
        Ok(store)
    }

    /// The file holding an image's data (ids are validated UUIDs, so they
    /// cannot climb out of the directory).
    pub fn path_of(&self, image_id: &str) -> PathBuf {
        self.images.join(image_id)
    }

    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// `staging/<owner>`; an owner is a server id, never a path.
    fn staging_area(&self, owner: &str) -> io::Result<PathBuf> {
        let plain = !owner.is_empty()
            && owner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid staging owner {owner:?}"),
            ));
        }
        Ok(self.staging.join(owner))
    }
}

#[async_trait]
impl ImageStore for LocalStore {
    async fn stage(&self, owner: &str, image_id: &str) -> io::Result<Box<dyn StagedImage>> {
        let area = self.staging_area(owner)?;
        tokio::fs::create_dir_all(&area).await?;
        let tmp = area.join(format!("{image_id}.{}.part", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::File::create(&tmp).await?.into_std().await;
        // Writes run on one blocking thread fed by a bounded channel: the
        // async side never waits on the disk per chunk, and memory stays at
        // a few chunks however large the image.
        let (tx, mut rx) = mpsc::channel::<Bytes>(16);
        // A second thread flushes what is written every FLUSH_EVERY bytes,
        // while the upload goes on, so the fsync at commit has little left
        // to write (for a 1 GiB image it would otherwise write it all then,
        // half a second on a fast disk, after the last byte arrived).
        let flusher_file = file.try_clone()?;
        let (flush_tx, flush_rx) = std::sync::mpsc::sync_channel::<()>(1);
        tokio::task::spawn_blocking(move || {
            while flush_rx.recv().is_ok() {
                // A failure shows again, and is reported, at the final sync.
                let _ = flusher_file.sync_data();
            }
        });
        let writer = tokio::task::spawn_blocking(move || -> io::Result<()> {
            // Chunks from a fast client (hundreds of KiB) bypass the buffer
            // rather than being copied through it; small ones are gathered.
            let mut file = io::BufWriter::with_capacity(64 * 1024, file);
            let mut unflushed: u64 = 0;
            while let Some(chunk) = rx.blocking_recv() {
                file.write_all(&chunk)?;
                unflushed += chunk.len() as u64;
                if unflushed >= FLUSH_EVERY {
                    unflushed = 0;
                    // Busy flushing still: the next request covers this.
                    let _ = flush_tx.try_send(());
                }
            }
            drop(flush_tx);
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()
        });
        Ok(Box::new(LocalStaged {
            tx: Some(tx),
            writer: Some(writer),
            tmp,
            dest: self.path_of(image_id),
            committed: false,
        }))
    }

    async fn open(&self, image_id: &str, offset: u64, len: u64) -> io::Result<ByteStream> {
        let mut file = tokio::fs::File::open(self.path_of(image_id)).await?;
        if offset > 0 {
            file.seek(io::SeekFrom::Start(offset)).await?;
        }
        let reader = file.take(len);
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
            reader, READ_CHUNK,
        )))
    }

    async fn delete(&self, image_id: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path_of(image_id)).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn staging_owners(&self) -> io::Result<Vec<String>> {
        let mut owners = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.staging).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_dir() {
                owners.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        owners.sort();
        Ok(owners)
    }

    async fn clean_staging(&self, owners: &[String]) -> io::Result<usize> {
        let mut removed = 0;
        for owner in owners {
            let area = self.staging_area(owner)?;
            match tokio::fs::remove_dir_all(&area).await {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        // Loose files are from before staging areas had owners.
        let mut entries = tokio::fs::read_dir(&self.staging).await?;
        while let Some(entry) = entries.next_entry().await? {
            if !entry.file_type().await?.is_dir()
                && tokio::fs::remove_file(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

struct LocalStaged {
    tx: Option<mpsc::Sender<Bytes>>,
    writer: Option<JoinHandle<io::Result<()>>>,
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl LocalStaged {
    /// The writer thread's error once it has stopped.
    async fn writer_result(&mut self) -> io::Result<()> {
        self.tx = None;
        match self.writer.take() {
            Some(handle) => handle
                .await
                .map_err(|e| io::Error::other(format!("image writer stopped: {e}")))?,
            None => Err(io::Error::other("image writer already stopped")),
        }
    }
}

#[async_trait]
impl StagedImage for LocalStaged {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let sent = match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The writer hung up: it failed; report why.
            self.writer_result().await?;
            Err(io::Error::other("image writer stopped"))
        }
    }

    async fn commit(mut self: Box<Self>) -> io::Result<()> {
        self.writer_result().await?;
        tokio::fs::rename(&self.tmp, &self.dest).await?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for LocalStaged {
    fn drop(&mut self) {
        if !self.committed {
            // Unlinking an open file is fine on Unix; the writer thread
            // finishes on the closed channel and its data goes with it.
            self.tx = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
