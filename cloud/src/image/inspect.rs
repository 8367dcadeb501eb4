//! Streaming, bounded-memory disk image format inspection (Glance's
//! `format_inspector`).
//!
//! # Why
//!
//! An image's `disk_format` is whatever the uploader says it is. If the bytes
//! are really a qcow2 (or vmdk, vhd, ...) that names a *backing file*, an
//! *external data file* or a vmdk *extent* such as `/etc/nova/nova.conf`, then
//! any later `qemu-img` or hypervisor that opens the image with the real format
//! reads that host file into the guest's disk. That is CVE-2022-47951 and
//! CVE-2024-32498, and Glance's fix is to look at the bytes on upload: detect
//! what the data really is, refuse images that refer to other files, and refuse
//! data that is not what its `disk_format` claims (a qcow2 uploaded as `raw`
//! is the classic attack). [`Inspector`] is that check.
//!
//! # How
//!
//! The image service feeds the upload through [`Inspector::feed`] as it streams
//! to disk, in chunks of any size, and asks for the verdict with
//! [`Inspector::finish`]. The whole image is never held; the inspector keeps:
//!
//! * the first [`HEAD_LEN`] (256 KiB) bytes — every format's header, the qcow2
//!   header extensions, the ISO 9660 volume descriptors and the VHDX headers
//!   and region table live there;
//! * the last 1.5 KiB — a fixed VHD has its only footer in the last 512 bytes,
//!   and a streamOptimized vmdk may carry its real header in a footer 1 KiB
//!   before the end;
//! * a few regions whose offsets only become known from the head (as in
//!   Glance's "capture regions"): a vmdk's embedded descriptor when it is
//!   larger than the head (capped at 1 MiB, as qemu caps it), and a VHDX's
//!   metadata table (64 KiB) and the 8-byte items it points to. They are
//!   requested as soon as the data naming them has arrived, so a region that
//!   starts in the same chunk is not missed, and they are limited to a fixed
//!   budget (about 1.06 MiB).
//!
//! In all, never more than [`MAX_HELD_BYTES`] (about 1.3 MiB). Once the head
//! is complete and no region is pending, `feed` only counts bytes and copies
//! the chunk's last 1.5 KiB into a ring: no per-byte work.
//!
//! The data is hostile: every offset and length read from it is checked, and
//! no input makes this module panic. When more than one format's signature is
//! present (an ISO whose first sector is also a qcow2 header, say) the image
//! is refused, as Glance refuses it, because different readers would see
//! different things.

use std::fmt;

use crate::PublicMessage;

/// The disk formats Glance knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskFormat {
    Raw,
    Qcow2,
    Vmdk,
    Vdi,
    Vhd,
    Vhdx,
    Iso,
    Ami,
    Ari,
    Aki,
}

impl DiskFormat {
    pub const ALL: [DiskFormat; 10] = [
        DiskFormat::Raw,
        DiskFormat::Qcow2,
        DiskFormat::Vmdk,
        DiskFormat::Vdi,
        DiskFormat::Vhd,
        DiskFormat::Vhdx,
        DiskFormat::Iso,
        DiskFormat::Ami,
        DiskFormat::Ari,
        DiskFormat::Aki,
    ];

    /// The OpenStack name: "raw", "qcow2", ...
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Vdi => "vdi",
            DiskFormat::Vhd => "vhd",
            DiskFormat::Vhdx => "vhdx",
            DiskFormat::Iso => "iso",
            DiskFormat::Ami => "ami",
            DiskFormat::Ari => "ari",
            DiskFormat::Aki => "aki",
        }
    }

    /// Exact lowercase names only.
    pub fn parse(s: &str) -> Option<DiskFormat> {
        DiskFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the bytes turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Raw when no other format's signature matched.
    pub format: DiskFormat,
    /// For raw: the data size; otherwise from the format's header.
    pub virtual_size: u64,
}

/// Why an image was refused. The messages are shown to users verbatim; the
/// free-form parts (`detail`, `reason`) are keyed at their call site, and
/// their key's translation is the whole message ([`FormatError::public`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The data is not what the image's disk_format says.
    #[error("The image data is {found}, but its disk_format is {declared}.")]
    Mismatch {
        declared: DiskFormat,
        found: DiskFormat,
    },
    /// Several formats' signatures are present (`formats` lists them).
    #[error("The image data matches more than one format ({formats}); such images are refused.")]
    Ambiguous { formats: String },
    /// A backing file or parent disk (qcow2 backing file, vmdk
    /// parentFileNameHint, differencing vhd/vhdx/vdi).
    #[error(
        "The {format} image has a backing file; images that refer to other files are refused."
    )]
    BackingFile { format: DiskFormat },
    #[error(
        "The qcow2 image uses an external data file; images that refer to other files are refused."
    )]
    ExternalDataFile,
    /// A vmdk whose data is (or may be) in other files.
    #[error("The vmdk image has an extent outside the image file ({detail}); only monolithicSparse and streamOptimized vmdk are accepted.")]
    VmdkExtent { detail: PublicMessage },
    /// The format's structures are truncated or inconsistent.
    #[error("The {format} header is malformed: {reason}.")]
    Malformed {
        format: DiskFormat,
        reason: PublicMessage,
    },
    /// Well-formed, but uses something that is refused.
    #[error("The {format} image is refused: {reason}.")]
    Unsupported {
        format: DiskFormat,
        reason: PublicMessage,
    },
    /// A format outside [`DiskFormat`] that qemu would still open (and that
    /// can refer to other files).
    #[error("The image data is in the {name} format, which is not accepted.")]
    RefusedFormat { name: &'static str },
}

impl FormatError {
    /// What the user is told: each refusal has its own key (for a malformed
    /// or refused header and a vmdk extent, the key of the reason, whose
    /// translation is the whole sentence), so the portal explains it in the
    /// user's language. The text is the Display.
    pub fn public(&self) -> PublicMessage {
        let text = self.to_string();
        match self {
            FormatError::Mismatch { declared, found } => {
                PublicMessage::new("error.image.format.mismatch", text)
                    .arg("declared", declared.as_str())
                    .arg("found", found.as_str())
            }
            FormatError::Ambiguous { formats } => {
                PublicMessage::new("error.image.format.ambiguous", text).arg("formats", formats)
            }
            FormatError::BackingFile { format } => {
                PublicMessage::new("error.image.format.backing_file", text)
                    .arg("format", format.as_str())
            }
            FormatError::ExternalDataFile => {
                PublicMessage::new("error.image.format.external_data_file", text)
            }
            FormatError::VmdkExtent { detail } => detail.with_text(text),
            FormatError::Malformed { format, reason }
            | FormatError::Unsupported { format, reason } => {
                reason.with_text(text).arg("format", format.as_str())
            }
            FormatError::RefusedFormat { name } => {
                PublicMessage::new("error.image.format.refused_format", text).arg("name", name)
            }
        }
    }
}

/// Bytes kept from the start of the stream.
pub const HEAD_LEN: usize = 256 * 1024;
/// Bytes kept from the end of the stream: a VHD footer (last 512) and a
/// streamOptimized vmdk footer (marker, footer, end-of-stream marker).
const TAIL_LEN: usize = 1536;
/// qemu reads at most this much of a vmdk descriptor.
const VMDK_DESC_MAX: usize = (1 << 20) - 1;
/// qemu looks for `parentFileNameHint` in this much of the embedded descriptor.
const VMDK_DESC_MIN: usize = 20 * 512;
const VHDX_TABLE_LEN: usize = 64 * 1024;
/// Total length of the regions captured beyond the head.
const CAPTURE_BUDGET: usize = VMDK_DESC_MAX + VHDX_TABLE_LEN + 64;
/// The most an [`Inspector`] ever holds, whatever it is fed.
pub const MAX_HELD_BYTES: usize = HEAD_LEN + TAIL_LEN + CAPTURE_BUDGET;

/// A region of the stream to keep, known only once earlier data has arrived.
#[derive(Debug)]
struct Capture {
    offset: u64,
    want: usize,
    data: Vec<u8>,
    /// The stream had already passed the region's start when it was asked for.
    missed: bool,
}

impl Capture {
    fn new(offset: u64, want: usize) -> Capture {
        Capture {
            offset,
            want,
            data: Vec::new(),
            missed: false,
        }
    }

    fn end(&self) -> u64 {
        self.offset.saturating_add(self.want as u64)
    }

    fn done(&self) -> bool {
        self.missed || self.data.len() >= self.want
    }

    /// Takes whatever it still needs from `bytes`, which sit at `start`.
    fn take(&mut self, start: u64, bytes: &[u8]) {
        if self.done() {
            return;
        }
        let need = self.offset.saturating_add(self.data.len() as u64);
        let Some(skip) = need.checked_sub(start) else {
            self.missed = true;
            return;
        };
        let Ok(skip) = usize::try_from(skip) else {
            return;
        };
        let Some(avail) = bytes.get(skip..) else {
            return;
        };
        let n = (self.want - self.data.len()).min(avail.len());
        self.data
            .extend_from_slice(avail.get(..n).unwrap_or_default());
    }
}

/// The last [`TAIL_LEN`] bytes of the stream, as a ring.
struct Tail {
    buf: Box<[u8; TAIL_LEN]>,
    /// Next write position (< TAIL_LEN).
    pos: usize,
    filled: usize,
}

impl Tail {
    fn new() -> Tail {
        Tail {
            buf: Box::new([0; TAIL_LEN]),
            pos: 0,
            filled: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        if let Some(last) = chunk
            .len()
            .checked_sub(TAIL_LEN)
            .and_then(|s| chunk.get(s..))
        {
            self.buf.copy_from_slice(last);
            self.pos = 0;
            self.filled = TAIL_LEN;
            return;
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let n = (TAIL_LEN - self.pos).min(rest.len());
            if let (Some(dst), Some(src)) =
                (self.buf.get_mut(self.pos..self.pos + n), rest.get(..n))
            {
                dst.copy_from_slice(src);
            }
            self.pos = (self.pos + n) % TAIL_LEN;
            self.filled = (self.filled + n).min(TAIL_LEN);
            rest = rest.get(n..).unwrap_or_default();
        }
    }

    /// The kept bytes, oldest first.
    fn bytes(&self) -> Vec<u8> {
        if self.filled < TAIL_LEN {
            // Never wrapped: the bytes are buf[..filled].
            return self.buf.get(..self.filled).unwrap_or_default().to_vec();
        }
        let mut out = Vec::with_capacity(TAIL_LEN);
        out.extend_from_slice(self.buf.get(self.pos..).unwrap_or_default());
        out.extend_from_slice(self.buf.get(..self.pos).unwrap_or_default());
        out
    }
}

/// A streaming disk image inspector; see the module documentation.
pub struct Inspector {
    seen: u64,
    head: Vec<u8>,
    captures: Vec<Capture>,
    tail: Tail,
    /// Head complete and no capture pending: `feed` only counts.
    settled: bool,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector::new()
    }
}

impl fmt::Debug for Inspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inspector")
            .field("bytes_seen", &self.seen)
            .field("held_bytes", &self.held_bytes())
            .finish_non_exhaustive()
    }
}

impl Inspector {
    pub fn new() -> Inspector {
        Inspector {
            seen: 0,
            head: Vec::new(),
            captures: Vec::new(),
            tail: Tail::new(),
            settled: false,
        }
    }

    /// Feeds the next chunk (sequential; offsets implied).
    pub fn feed(&mut self, chunk: &[u8]) {
        let start = self.seen;
        self.seen = start.saturating_add(chunk.len() as u64);
        self.tail.push(chunk);
        if self.settled || chunk.is_empty() {
            return;
        }
        let mut progressed = false;
        if self.head.len() < HEAD_LEN {
            let n = (HEAD_LEN - self.head.len()).min(chunk.len());
            self.head
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
            progressed = self.head.len() == HEAD_LEN;
        }
        for capture in &mut self.captures {
            if !capture.done() {
                capture.take(start, chunk);
                progressed |= capture.done();
            }
        }
        // Something completed: it may name further regions, which may start
        // inside this very chunk.
        while progressed {
            progressed = false;
            for (offset, len) in self.wanted() {
                if len == 0 || self.covered(offset, len) {
                    continue;
                }
                let used: usize = self.captures.iter().map(|c| c.want).sum();
                if used.saturating_add(len) > CAPTURE_BUDGET {
                    continue;
                }
                let mut capture = Capture::new(offset, len);
                capture.take(0, &self.head);
                capture.take(start, chunk);
                progressed |= capture.done();
                self.captures.push(capture);
            }
        }
        self.settled = self.head.len() >= HEAD_LEN && self.captures.iter().all(Capture::done);
    }

    /// Total bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }

    /// Bytes of image data currently held (never more than [`MAX_HELD_BYTES`]).
    pub fn held_bytes(&self) -> usize {
        self.head.len() + TAIL_LEN + self.captures.iter().map(|c| c.data.len()).sum::<usize>()
    }

    /// Verdict after the last chunk: detects the format, validates its safety.
    pub fn finish(self) -> Result<Inspection, FormatError> {
        let tail = self.tail.bytes();
        let view = View {
            head: &self.head,
            captures: &self.captures,
            tail: &tail,
            len: self.seen,
        };
        let mut found = head_signatures(&self.head);
        if found.is_empty() && fixed_vhd_footer(&tail).is_some() {
            // Only a fixed VHD's footer at the end. It counts when nothing
            // matched at the start: qemu only probes offset 0, and a format
            // found there (a qcow2 whose last data cluster is a guest's VHD
            // footer) decides how the file is read.
            found.push(Sig::Vhd);
        }
        match found.as_slice() {
            [] => Ok(Inspection {
                format: DiskFormat::Raw,
                virtual_size: self.seen,
            }),
            [one] => match one {
                Sig::Qcow2 => qcow2(&view),
                Sig::Qed => Err(FormatError::RefusedFormat { name: "qed" }),
                Sig::Vmdk => vmdk(&view),
                Sig::VmdkDescriptor => Err(vmdk_descriptor_file(&self.head)),
                Sig::VmdkCowd => Err(unsupported(
                    DiskFormat::Vmdk,
                    crate::msg!(
                        "error.image.format.vmdk.cowd",
                        "it is in the legacy VMware 3 (COWD) sparse format"
                    ),
                )),
                Sig::Vhd => vhd(&view),
                Sig::Vhdx => vhdx(&view),
                Sig::Vdi => vdi(&view),
                Sig::Iso => iso(&view),
            },
            many => Err(FormatError::Ambiguous {
                formats: many.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Regions beyond the head that the format found so far needs.
    fn wanted(&self) -> Vec<(u64, usize)> {
        let mut out = Vec::new();
        let head = self.head.as_slice();
        if head.starts_with(VMDK_MAGIC) {
            if let Some(len) = vmdk_descriptor_len(head) {
                out.push((VMDK_DESC_OFFSET, len));
            }
        } else if head.starts_with(VHDX_MAGIC) {
            if let Ok(region) = vhdx_metadata_region(head) {
                out.push((region.offset, VHDX_TABLE_LEN));
                let view = View {
                    head,
                    captures: &self.captures,
                    tail: &[],
                    len: self.seen,
                };
                if let Some(Ok(items)) = view
                    .read(region.offset, VHDX_TABLE_LEN)
                    .map(vhdx_metadata_items)
                {
                    for (item_offset, _) in [items.file_parameters, items.virtual_disk_size]
                        .into_iter()
                        .flatten()
                    {
                        out.push((region.offset.saturating_add(item_offset.into()), 8));
                    }
                }
            }
        }
        out
    }

    /// Whether `[offset, offset+len)` is in the head or an asked-for capture.
    fn covered(&self, offset: u64, len: usize) -> bool {
        let Some(end) = offset.checked_add(len as u64) else {
            return true; // cannot be read; do not ask for it
        };
        end <= self.head.len() as u64
            || self
                .captures
                .iter()
                .any(|c| c.offset <= offset && end <= c.end())
    }
}

/// Read access to what was kept.
struct View<'a> {
    head: &'a [u8],
    captures: &'a [Capture],
    /// The last (up to) [`TAIL_LEN`] bytes.
    tail: &'a [u8],
    /// Bytes seen.
    len: u64,
}

impl<'a> View<'a> {
    /// Exactly `len` bytes at `offset`, if kept.
    fn read(&self, offset: u64, len: usize) -> Option<&'a [u8]> {
        let end = offset.checked_add(len as u64)?;
        if end <= self.head.len() as u64 {
            return self
                .head
                .get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?);
        }
        self.captures.iter().find_map(|c| {
            if c.offset <= offset && end <= c.offset.saturating_add(c.data.len() as u64) {
                let skip = usize::try_from(offset - c.offset).ok()?;
                c.data.get(skip..)?.get(..len)
            } else {
                None
            }
        })
    }

    /// The longest kept run of at most `max` bytes starting at `offset`.
    fn read_prefix(&self, offset: u64, max: usize) -> &'a [u8] {
        let from = |start: u64, data: &'a [u8]| -> &'a [u8] {
            offset
                .checked_sub(start)
                .and_then(|skip| usize::try_from(skip).ok())
                .and_then(|skip| data.get(skip..))
                .map(|d| d.get(..max).unwrap_or(d))
                .unwrap_or_default()
        };
        let mut best = from(0, self.head);
        for c in self.captures {
            let run = from(c.offset, &c.data);
            if run.len() > best.len() {
                best = run;
            }
        }
        best
    }

    /// Whether the whole stream is in the head (so nothing follows it).
    fn head_is_all(&self) -> bool {
        self.len <= self.head.len() as u64
    }
}

// ---------------------------------------------------------------------------
// Little helpers for hostile bytes.

fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}
fn le16(b: &[u8], off: usize) -> Option<u16> {
    array(b, off).map(u16::from_le_bytes)
}
fn le32(b: &[u8], off: usize) -> Option<u32> {
    array(b, off).map(u32::from_le_bytes)
}
fn le64(b: &[u8], off: usize) -> Option<u64> {
    array(b, off).map(u64::from_le_bytes)
}
fn be32(b: &[u8], off: usize) -> Option<u32> {
    array(b, off).map(u32::from_be_bytes)
}
fn be64(b: &[u8], off: usize) -> Option<u64> {
    array(b, off).map(u64::from_be_bytes)
}

fn malformed(format: DiskFormat, reason: PublicMessage) -> FormatError {
    FormatError::Malformed { format, reason }
}

fn unsupported(format: DiskFormat, reason: PublicMessage) -> FormatError {
    FormatError::Unsupported { format, reason }
}

fn truncated(format: DiskFormat) -> FormatError {
    malformed(
        format,
        crate::msg!(
            "error.image.format.truncated",
            "the image ends inside its header"
        ),
    )
}

/// Text from the image, safe to put in a message: printable ASCII only,
/// at most 64 characters.
fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if text.chars().count() > 64 {
        out.push_str("...");
    }
    out
}

/// CRC-32C (Castagnoli), as VHDX uses.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32c_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = CRC32C_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// CRC-32C of `buf` with its 4-byte checksum field at `field` read as zero.
fn crc32c_with_zeroed_field(buf: &[u8], field: usize) -> Option<u32> {
    let before = buf.get(..field)?;
    let after = buf.get(field.checked_add(4)?..)?;
    let crc = crc32c_update(!0, before);
    let crc = crc32c_update(crc, &[0; 4]);
    Some(!crc32c_update(crc, after))
}

// ---------------------------------------------------------------------------
// Detection.

const QCOW_MAGIC: &[u8] = b"QFI\xfb";
const QED_MAGIC: &[u8] = b"QED\0";
const VMDK_MAGIC: &[u8] = b"KDMV";
const VMDK_COWD_MAGIC: &[u8] = b"COWD";
const VHD_COOKIE: &[u8] = b"conectix";
const VHDX_MAGIC: &[u8] = b"vhdxfile";
const VDI_SIGNATURE: u32 = 0xBEDA_107F;

/// A format signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sig {
    Qcow2,
    Qed,
    Vmdk,
    VmdkDescriptor,
    VmdkCowd,
    Vhd,
    Vhdx,
    Vdi,
    Iso,
}

impl Sig {
    fn name(self) -> &'static str {
        match self {
            Sig::Qcow2 => "qcow2",
            Sig::Qed => "qed",
            Sig::Vmdk | Sig::VmdkDescriptor | Sig::VmdkCowd => "vmdk",
            Sig::Vhd => "vhd",
            Sig::Vhdx => "vhdx",
            Sig::Vdi => "vdi",
            Sig::Iso => "iso",
        }
    }
}

/// Every signature found in the head.
fn head_signatures(head: &[u8]) -> Vec<Sig> {
    let mut found = Vec::new();
    if head.starts_with(QCOW_MAGIC) {
        found.push(Sig::Qcow2);
    }
    if head.starts_with(QED_MAGIC) {
        found.push(Sig::Qed);
    }
    if head.starts_with(VMDK_MAGIC) {
        found.push(Sig::Vmdk);
    }
    if head.starts_with(VMDK_COWD_MAGIC) {
        found.push(Sig::VmdkCowd);
    }
    if is_vmdk_descriptor(head) {
        found.push(Sig::VmdkDescriptor);
    }
    if head.starts_with(VHD_COOKIE) {
        found.push(Sig::Vhd);
    }
    if head.starts_with(VHDX_MAGIC) {
        found.push(Sig::Vhdx);
    }
    if le32(head, 0x40) == Some(VDI_SIGNATURE) {
        found.push(Sig::Vdi);
    }
    if [0x8001usize, 0x8801, 0x9001]
        .iter()
        .any(|&at| head.get(at..at + 5) == Some(b"CD001"))
    {
        found.push(Sig::Iso);
    }
    found
}

/// A text vmdk descriptor (a vmdk that only points at other files). Like
/// qemu's probe: after comment and blank lines, the first line is
/// `version=1|2|3`; or the file starts with the usual comment.
fn is_vmdk_descriptor(head: &[u8]) -> bool {
    if head.starts_with(b"# Disk DescriptorFile") {
        return true;
    }
    let probe = head.get(..2048).unwrap_or(head);
    let mut rest = probe;
    loop {
        match rest.first() {
            None => return false,
            Some(b'#') => {
                let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                    return false;
                };
                rest = rest.get(nl + 1..).unwrap_or_default();
            }
            Some(b' ' | b'\t' | b'\r' | b'\n') => {
                let blank = rest
                    .iter()
                    .position(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
                    .unwrap_or(rest.len());
                if rest.get(blank) != Some(&b'\n') {
                    return false;
                }
                rest = rest.get(blank + 1..).unwrap_or_default();
            }
            Some(_) => {
                return [b"version=1", b"version=2", b"version=3"]
                    .iter()
                    .any(|v| rest.starts_with(*v))
                    && matches!(rest.get(9), Some(b'\n' | b'\r'));
            }
        }
    }
}

/// The last 512 bytes, when they are a VHD footer with a valid checksum.
fn fixed_vhd_footer(tail: &[u8]) -> Option<&[u8]> {
    let footer = tail.get(tail.len().checked_sub(512)?..)?;
    (footer.starts_with(VHD_COOKIE) && vhd_checksum_ok(footer)).then_some(footer)
}

// ---------------------------------------------------------------------------
// qcow2 (docs/interop/qcow2.txt in qemu).

const QCOW2_INCOMPAT_DATA_FILE: u64 = 1 << 2;
/// dirty, corrupt, external data file, compression type, extended L2.
const QCOW2_INCOMPAT_KNOWN: u64 = 0x1f;
const QCOW2_EXT_DATA_FILE: u32 = 0x4441_5441;

fn qcow2(view: &View<'_>) -> Result<Inspection, FormatError> {
    use DiskFormat::Qcow2;
    let h = view.head;
    let version = be32(h, 4).ok_or_else(|| truncated(Qcow2))?;
    if version != 2 && version != 3 {
        return Err(unsupported(
            Qcow2,
            crate::msg!(
                "error.image.format.qcow2.version",
                "its header version is {version}; only versions 2 and 3 are accepted",
                version = version,
            ),
        ));
    }
    if h.len() < 72 {
        return Err(truncated(Qcow2));
    }
    let backing_file_offset = be64(h, 8).ok_or_else(|| truncated(Qcow2))?;
    if backing_file_offset != 0 {
        return Err(FormatError::BackingFile { format: Qcow2 });
    }
    let cluster_bits = be32(h, 20).ok_or_else(|| truncated(Qcow2))?;
    if !(9..=21).contains(&cluster_bits) {
        return Err(malformed(
            Qcow2,
            crate::msg!(
                "error.image.format.qcow2.cluster_bits",
                "cluster_bits is {cluster_bits}, outside 9 to 21",
                cluster_bits = cluster_bits,
            ),
        ));
    }
    let cluster_size = 1usize << cluster_bits;
    let size = be64(h, 24).ok_or_else(|| truncated(Qcow2))?;
    let extensions_start = if version == 3 {
        let incompatible = be64(h, 72).ok_or_else(|| truncated(Qcow2))?;
        if incompatible & QCOW2_INCOMPAT_DATA_FILE != 0 {
            return Err(FormatError::ExternalDataFile);
        }
        let unknown = incompatible & !QCOW2_INCOMPAT_KNOWN;
        if unknown != 0 {
            return Err(unsupported(
                Qcow2,
                crate::msg!(
                    "error.image.format.qcow2.incompatible_features",
                    "it sets incompatible feature bits unknown to this service ({bits})",
                    bits = format!("{unknown:#x}"),
                ),
            ));
        }
        let header_length = be32(h, 100).ok_or_else(|| truncated(Qcow2))? as usize;
        if header_length < 104 || header_length > cluster_size {
            return Err(malformed(
                Qcow2,
                crate::msg!(
                    "error.image.format.qcow2.header_length",
                    "header_length {header_length} is not between 104 and the cluster size",
                    header_length = header_length,
                ),
            ));
        }
        header_length
    } else {
        72
    };
    // Header extensions run from the end of the header to the end of the
    // first cluster (qemu's qcow2_read_extensions, when there is no backing
    // file), ending early at an end marker.
    let end = cluster_size;
    let mut at = extensions_start;
    while at < end {
        let next = at.checked_add(8).filter(|&n| n <= end).ok_or_else(|| {
            malformed(
                Qcow2,
                crate::msg!(
                    "error.image.format.qcow2.extension_crosses_cluster",
                    "a header extension crosses the end of the first cluster"
                ),
            )
        })?;
        let (kind, len) = match (be32(h, at), be32(h, at + 4)) {
            (Some(kind), Some(len)) => (kind, len as usize),
            // Past the end of the file: qemu reads zeros, an end marker.
            _ if view.head_is_all() => break,
            _ => {
                return Err(malformed(
                    Qcow2,
                    crate::msg!(
                        "error.image.format.qcow2.extensions_too_long",
                        "its header extensions continue past the first {kib} KiB",
                        kib = HEAD_LEN / 1024,
                    ),
                ))
            }
        };
        if len > end - next {
            return Err(malformed(
                Qcow2,
                crate::msg!(
                    "error.image.format.qcow2.extension_too_large",
                    "a header extension is too large"
                ),
            ));
        }
        match kind {
            0 => break,
            QCOW2_EXT_DATA_FILE => return Err(FormatError::ExternalDataFile),
            _ => {}
        }
        // len <= end - next <= 2 MiB, so this cannot overflow.
        at = next + len.div_ceil(8) * 8;
    }
    Ok(Inspection {
        format: Qcow2,
        virtual_size: size,
    })
}

// ---------------------------------------------------------------------------
// vmdk (VMware's Virtual Disk Format 1.1; qemu's block/vmdk.c).

const VMDK_DESC_OFFSET: u64 = 512;
const VMDK_GD_AT_END: u64 = u64::MAX;

/// How much of the embedded descriptor to keep, when it is where qemu reads
/// it (sector 1).
fn vmdk_descriptor_len(head: &[u8]) -> Option<usize> {
    if le64(head, 28)? != 1 {
        return None;
    }
    let sectors = le64(head, 36)?;
    let bytes = usize::try_from(sectors.saturating_mul(512)).unwrap_or(usize::MAX);
    Some(bytes.clamp(VMDK_DESC_MIN, VMDK_DESC_MAX))
}

fn vmdk(view: &View<'_>) -> Result<Inspection, FormatError> {
    use DiskFormat::Vmdk;
    let h = view.head;
    if h.len() < 80 {
        return Err(truncated(Vmdk));
    }
    let version = le32(h, 4).ok_or_else(|| truncated(Vmdk))?;
    if !(1..=3).contains(&version) {
        return Err(unsupported(
            Vmdk,
            crate::msg!(
                "error.image.format.vmdk.version",
                "its header version is {version}; only versions 1 to 3 are accepted",
                version = version,
            ),
        ));
    }
    let mut capacity = le64(h, 12).ok_or_else(|| truncated(Vmdk))?;
    if le64(h, 56) == Some(VMDK_GD_AT_END) {
        // A stream-optimized image written front to back: the real header
        // is the footer, 1 KiB before the end (qemu takes it from there).
        capacity = vmdk_footer_capacity(view)?;
    }
    if capacity == 0 {
        // qemu then reads the embedded descriptor as a descriptor file, with
        // its extents.
        return Err(FormatError::VmdkExtent {
            detail: crate::msg!(
                "error.image.format.vmdk.zero_capacity",
                "a zero-capacity header that defers to the descriptor's extents"
            ),
        });
    }
    let Some(desc_len) = vmdk_descriptor_len(h) else {
        return Err(malformed(
            Vmdk,
            crate::msg!(
                "error.image.format.vmdk.descriptor_offset",
                "the embedded descriptor is not at sector 1, where qemu reads it"
            ),
        ));
    };
    let desc = view.read_prefix(VMDK_DESC_OFFSET, desc_len);
    // qemu reads the descriptor as a C string.
    let desc = desc
        .iter()
        .position(|&b| b == 0)
        .and_then(|nul| desc.get(..nul))
        .unwrap_or(desc);
    check_vmdk_descriptor(desc)?;
    let virtual_size = capacity.checked_mul(512).ok_or_else(|| {
        malformed(
            Vmdk,
            crate::msg!(
                "error.image.format.vmdk.capacity",
                "the capacity is too large"
            ),
        )
    })?;
    Ok(Inspection {
        format: Vmdk,
        virtual_size,
    })
}

/// The capacity from a streamOptimized footer (layout as qemu checks it:
/// footer marker, footer header, end-of-stream marker).
fn vmdk_footer_capacity(view: &View<'_>) -> Result<u64, FormatError> {
    use DiskFormat::Vmdk;
    let bad = || {
        malformed(
            Vmdk,
            crate::msg!(
                "error.image.format.vmdk.no_footer",
                "the header says the real header is in a footer, but there is no valid footer"
            ),
        )
    };
    if view.tail.len() < TAIL_LEN || view.len < (TAIL_LEN + 512) as u64 {
        return Err(bad());
    }
    let t = view.tail;
    let marker_ok = le32(t, 8) == Some(0) && le32(t, 12) == Some(3);
    let footer = t.get(512..1024).ok_or_else(bad)?;
    let eos_ok = le64(t, 1024) == Some(0) && le32(t, 1032) == Some(0) && le32(t, 1036) == Some(0);
    if !(marker_ok && eos_ok && footer.starts_with(VMDK_MAGIC)) {
        return Err(bad());
    }
    let version = le32(footer, 4).ok_or_else(bad)?;
    if !(1..=3).contains(&version) || le64(footer, 56) == Some(VMDK_GD_AT_END) {
        return Err(bad());
    }
    le64(footer, 12).ok_or_else(bad)
}

/// Checks an embedded descriptor, as Glance does, and a little more: every
/// line is understood, createType is monolithicSparse or streamOptimized,
/// there is exactly one extent, a SPARSE one naming no path, and no
/// parentFileNameHint (a backing file, which qemu follows).
fn check_vmdk_descriptor(desc: &[u8]) -> Result<(), FormatError> {
    use DiskFormat::Vmdk;
    let text = std::str::from_utf8(desc)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| {
            malformed(
                Vmdk,
                crate::msg!(
                    "error.image.format.vmdk.descriptor_not_ascii",
                    "the embedded descriptor is not ASCII text"
                ),
            )
        })?;
    if text.to_ascii_lowercase().contains("parentfilenamehint") {
        return Err(FormatError::BackingFile { format: Vmdk });
    }
    let mut create_type: Option<&str> = None;
    let mut extents: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        let lower = line.to_ascii_lowercase();
        if line.is_empty() || line.starts_with('#') || lower.starts_with("ddb") {
            continue;
        }
        let first = lower.split_whitespace().next().unwrap_or_default();
        if let Some((key, value)) = line
            .split_once('=')
            .filter(|(k, _)| !k.contains([' ', '\t']))
        {
            if key.eq_ignore_ascii_case("createType") {
                if create_type.is_some() {
                    return Err(malformed(
                        Vmdk,
                        crate::msg!(
                            "error.image.format.vmdk.create_type_twice",
                            "the descriptor has more than one createType"
                        ),
                    ));
                }
                create_type = Some(value.trim().trim_matches('"'));
            }
        } else if matches!(first, "rw" | "rdonly" | "noaccess") {
            extents.push(line);
        } else {
            return Err(malformed(
                Vmdk,
                crate::msg!(
                    "error.image.format.vmdk.descriptor_line",
                    "the descriptor has a line this service does not understand: \"{line}\"",
                    line = shown(line),
                ),
            ));
        }
    }
    let create_type = create_type.ok_or_else(|| {
        malformed(
            Vmdk,
            crate::msg!(
                "error.image.format.vmdk.no_create_type",
                "the descriptor has no createType"
            ),
        )
    })?;
    if !["monolithicSparse", "streamOptimized"]
        .iter()
        .any(|ok| create_type.eq_ignore_ascii_case(ok))
    {
        return Err(FormatError::VmdkExtent {
            detail: crate::msg!(
                "error.image.format.vmdk.create_type",
                "createType \"{create_type}\"",
                create_type = shown(create_type),
            ),
        });
    }
    let extent = match extents.as_slice() {
        [] => {
            return Err(malformed(
                Vmdk,
                crate::msg!(
                    "error.image.format.vmdk.no_extent",
                    "the descriptor lists no extent"
                ),
            ))
        }
        [one] => *one,
        many => {
            return Err(FormatError::VmdkExtent {
                detail: crate::msg!(
                    "error.image.format.vmdk.extents",
                    "{count} extents",
                    count = many.len(),
                ),
            })
        }
    };
    // RW <sectors> <type> "<file>" [<offset>]
    let kind = extent.split_whitespace().nth(2).unwrap_or_default();
    if !kind.eq_ignore_ascii_case("SPARSE") {
        return Err(FormatError::VmdkExtent {
            detail: crate::msg!(
                "error.image.format.vmdk.extent_type",
                "a {kind} extent",
                kind = shown(kind),
            ),
        });
    }
    let file = extent.split('"').nth(1).unwrap_or_default();
    if file.is_empty() || file.contains(['/', '\\']) {
        return Err(FormatError::VmdkExtent {
            detail: crate::msg!(
                "error.image.format.vmdk.extent_file",
                "extent file \"{file}\"",
                file = shown(file),
            ),
        });
    }
    Ok(())
}

/// A text descriptor file: its extents are all other files.
fn vmdk_descriptor_file(head: &[u8]) -> FormatError {
    let text = String::from_utf8_lossy(head.get(..4096).unwrap_or(head));
    let create_type = text.lines().find_map(|line| {
        let (key, value) = line.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("createType")
            .then(|| value.trim().trim_matches('"').to_string())
    });
    FormatError::VmdkExtent {
        detail: match create_type {
            Some(t) => crate::msg!(
                "error.image.format.vmdk.descriptor_file_type",
                "a descriptor-only file, createType \"{create_type}\"",
                create_type = shown(&t),
            ),
            None => crate::msg!(
                "error.image.format.vmdk.descriptor_file",
                "a descriptor-only file"
            ),
        },
    }
}

// ---------------------------------------------------------------------------
// vhd (Microsoft's Virtual Hard Disk Image Format Specification).

fn vhd_checksum_ok(footer: &[u8]) -> bool {
    let Some(stored) = be32(footer, 64) else {
        return false;
    };
    let sum = footer
        .iter()
        .enumerate()
        .filter(|(i, _)| !(64..68).contains(i))
        .fold(0u32, |sum, (_, &b)| sum.wrapping_add(u32::from(b)));
    !sum == stored
}

fn vhd(view: &View<'_>) -> Result<Inspection, FormatError> {
    use DiskFormat::Vhd;
    let footer = if view.head.starts_with(VHD_COOKIE) {
        let footer = view.head.get(..512).ok_or_else(|| truncated(Vhd))?;
        if !vhd_checksum_ok(footer) {
            return Err(malformed(
                Vhd,
                crate::msg!(
                    "error.image.format.vhd.checksum",
                    "the footer checksum is wrong"
                ),
            ));
        }
        footer
    } else {
        fixed_vhd_footer(view.tail).ok_or_else(|| truncated(Vhd))?
    };
    match be32(footer, 60) {
        Some(2 | 3) => {}
        Some(4) => return Err(FormatError::BackingFile { format: Vhd }),
        Some(other) => {
            return Err(malformed(
                Vhd,
                crate::msg!(
                    "error.image.format.vhd.disk_type",
                    "disk type {disk_type} is unknown",
                    disk_type = other,
                ),
            ))
        }
        None => return Err(truncated(Vhd)),
    }
    let size = be64(footer, 48).ok_or_else(|| truncated(Vhd))?;
    Ok(Inspection {
        format: Vhd,
        virtual_size: size,
    })
}

// ---------------------------------------------------------------------------
// vhdx ([MS-VHDX]).

/// A GUID as VHDX stores it (first three fields little-endian).
const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

const VHDX_METADATA_REGION: [u8; 16] = guid(
    0x8B7C_A206,
    0x4790,
    0x4B9A,
    [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
);
const VHDX_FILE_PARAMETERS: [u8; 16] = guid(
    0xCAA1_6737,
    0xFA36,
    0x4D43,
    [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B],
);
const VHDX_VIRTUAL_DISK_SIZE: [u8; 16] = guid(
    0x2FA5_4224,
    0xCD1B,
    0x4876,
    [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
);
const VHDX_PARENT_LOCATOR: [u8; 16] = guid(
    0xA8D3_5F2D,
    0xB30B,
    0x454D,
    [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C],
);
const VHDX_HEADERS: [usize; 2] = [64 * 1024, 128 * 1024];
const VHDX_HEADER_LEN: usize = 4096;
const VHDX_REGION_TABLE: usize = 192 * 1024;
const VHDX_REGION_TABLE_LEN: usize = 64 * 1024;
const VHDX_MAX_ENTRIES: usize = 2047;

struct VhdxRegion {
    offset: u64,
    len: u64,
}

/// The metadata region, from the region table in the head.
fn vhdx_metadata_region(head: &[u8]) -> Result<VhdxRegion, FormatError> {
    use DiskFormat::Vhdx;
    let table = head
        .get(VHDX_REGION_TABLE..VHDX_REGION_TABLE + VHDX_REGION_TABLE_LEN)
        .ok_or_else(|| truncated(Vhdx))?;
    if !table.starts_with(b"regi") {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.region_signature",
                "the region table signature is missing"
            ),
        ));
    }
    let count = le32(table, 8).ok_or_else(|| truncated(Vhdx))? as usize;
    if count > VHDX_MAX_ENTRIES {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.region_entries",
                "the region table has {count} entries",
                count = count,
            ),
        ));
    }
    let mut found = None;
    for i in 0..count {
        let entry = table
            .get(16 + i * 32..16 + i * 32 + 32)
            .ok_or_else(|| truncated(Vhdx))?;
        if entry.get(..16) == Some(&VHDX_METADATA_REGION[..]) {
            if found.is_some() {
                return Err(malformed(
                    Vhdx,
                    crate::msg!(
                        "error.image.format.vhdx.metadata_regions",
                        "it has more than one metadata region"
                    ),
                ));
            }
            found = Some(VhdxRegion {
                offset: le64(entry, 16).ok_or_else(|| truncated(Vhdx))?,
                len: le32(entry, 24).ok_or_else(|| truncated(Vhdx))?.into(),
            });
        }
    }
    found.ok_or_else(|| {
        malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.no_metadata_region",
                "it has no metadata region"
            ),
        )
    })
}

#[derive(Default)]
struct VhdxItems {
    /// (offset in the region, length)
    file_parameters: Option<(u32, u32)>,
    virtual_disk_size: Option<(u32, u32)>,
    parent_locator: bool,
}

fn vhdx_metadata_items(table: &[u8]) -> Result<VhdxItems, FormatError> {
    use DiskFormat::Vhdx;
    if !table.starts_with(b"metadata") {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.metadata_signature",
                "the metadata table signature is missing"
            ),
        ));
    }
    let count = usize::from(le16(table, 10).ok_or_else(|| truncated(Vhdx))?);
    if count > VHDX_MAX_ENTRIES {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.metadata_entries",
                "the metadata table has {count} entries",
                count = count,
            ),
        ));
    }
    let mut items = VhdxItems::default();
    for i in 0..count {
        let entry = table
            .get(32 + i * 32..64 + i * 32)
            .ok_or_else(|| truncated(Vhdx))?;
        let id = entry.get(..16).unwrap_or_default();
        let place = || -> Result<(u32, u32), FormatError> {
            Ok((
                le32(entry, 16).ok_or_else(|| truncated(Vhdx))?,
                le32(entry, 20).ok_or_else(|| truncated(Vhdx))?,
            ))
        };
        let slot = if id == VHDX_FILE_PARAMETERS {
            &mut items.file_parameters
        } else if id == VHDX_VIRTUAL_DISK_SIZE {
            &mut items.virtual_disk_size
        } else {
            if id == VHDX_PARENT_LOCATOR {
                items.parent_locator = true;
            }
            continue;
        };
        if slot.is_some() {
            return Err(malformed(
                Vhdx,
                crate::msg!(
                    "error.image.format.vhdx.metadata_item_twice",
                    "a metadata item appears twice"
                ),
            ));
        }
        *slot = Some(place()?);
    }
    Ok(items)
}

fn vhdx(view: &View<'_>) -> Result<Inspection, FormatError> {
    use DiskFormat::Vhdx;
    let h = view.head;
    // The current header: the valid copy with the higher sequence number.
    let mut current: Option<(u64, &[u8])> = None;
    for at in VHDX_HEADERS {
        let Some(header) = h.get(at..at + VHDX_HEADER_LEN) else {
            return Err(truncated(Vhdx));
        };
        let valid =
            header.starts_with(b"head") && le32(header, 4) == crc32c_with_zeroed_field(header, 4);
        let sequence = le64(header, 8).unwrap_or_default();
        if valid && current.is_none_or(|(best, _)| sequence > best) {
            current = Some((sequence, header));
        }
    }
    let (_, header) = current.ok_or_else(|| {
        malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.no_valid_header",
                "neither header copy is valid"
            ),
        )
    })?;
    if le16(header, 66) != Some(1) {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.version",
                "the header version is not 1"
            ),
        ));
    }
    if header
        .get(48..64)
        .is_none_or(|log| log.iter().any(|&b| b != 0))
    {
        return Err(unsupported(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.log",
                "its log holds changes that were never applied (replay it with `qemu-img check -r all` first)"
            ),
        ));
    }
    let table = h
        .get(VHDX_REGION_TABLE..VHDX_REGION_TABLE + VHDX_REGION_TABLE_LEN)
        .ok_or_else(|| truncated(Vhdx))?;
    if le32(table, 4) != crc32c_with_zeroed_field(table, 4) {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.region_checksum",
                "the region table checksum is wrong"
            ),
        ));
    }
    let region = vhdx_metadata_region(h)?;
    if region.len < VHDX_TABLE_LEN as u64 {
        return Err(malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.metadata_region_small",
                "the metadata region is too small"
            ),
        ));
    }
    let beyond = || {
        malformed(
            Vhdx,
            crate::msg!(
                "error.image.format.vhdx.metadata_beyond_end",
                "the metadata lies beyond the end of the file"
            ),
        )
    };
    let items = vhdx_metadata_items(
        view.read(region.offset, VHDX_TABLE_LEN)
            .ok_or_else(beyond)?,
    )?;
    if items.parent_locator {
        return Err(FormatError::BackingFile { format: Vhdx });
    }
    let item = |place: Option<(u32, u32)>, name: &str| -> Result<&[u8], FormatError> {
        let (offset, len) = place.ok_or_else(|| {
            malformed(
                Vhdx,
                crate::msg!(
                    "error.image.format.vhdx.metadata_item_missing",
                    "the {item} metadata item is missing",
                    item = name,
                ),
            )
        })?;
        if len < 8 || u64::from(offset) + 8 > region.len {
            return Err(malformed(
                Vhdx,
                crate::msg!(
                    "error.image.format.vhdx.metadata_item_misplaced",
                    "the {item} metadata item is out of place",
                    item = name,
                ),
            ));
        }
        view.read(region.offset.saturating_add(offset.into()), 8)
            .ok_or_else(beyond)
    };
    let file_parameters = item(items.file_parameters, "file parameters")?;
    if le32(file_parameters, 4).is_some_and(|flags| flags & 2 != 0) {
        return Err(FormatError::BackingFile { format: Vhdx });
    }
    let size = le64(item(items.virtual_disk_size, "virtual disk size")?, 0).ok_or_else(beyond)?;
    Ok(Inspection {
        format: Vhdx,
        virtual_size: size,
    })
}

// ---------------------------------------------------------------------------
// vdi (VirtualBox; qemu's block/vdi.c).

fn vdi(view: &View<'_>) -> Result<Inspection, FormatError> {
    use DiskFormat::Vdi;
    let h = view.head;
    if h.len() < 0x180 {
        return Err(truncated(Vdi));
    }
    let version = le32(h, 0x44).ok_or_else(|| truncated(Vdi))?;
    if version != 0x0001_0001 {
        return Err(unsupported(
            Vdi,
            crate::msg!(
                "error.image.format.vdi.version",
                "its header version is {major}.{minor}; only 1.1 is accepted",
                major = version >> 16,
                minor = version & 0xffff,
            ),
        ));
    }
    match le32(h, 0x4c) {
        // dynamic, fixed
        Some(1 | 2) => {}
        // undo, differencing: both have a parent
        Some(3 | 4) => return Err(FormatError::BackingFile { format: Vdi }),
        Some(other) => {
            return Err(malformed(
                Vdi,
                crate::msg!(
                    "error.image.format.vdi.image_type",
                    "image type {image_type} is unknown",
                    image_type = other,
                ),
            ))
        }
        None => return Err(truncated(Vdi)),
    }
    let size = le64(h, 0x170).ok_or_else(|| truncated(Vdi))?;
    Ok(Inspection {
        format: Vdi,
        virtual_size: size,
    })
}

// ---------------------------------------------------------------------------
// iso (ISO 9660).

fn iso(view: &View<'_>) -> Result<Inspection, FormatError> {
    use DiskFormat::Iso;
    // The volume descriptor set starts at sector 16 (of 2048 bytes); find
    // the primary volume descriptor before the set terminator.
    let mut primary = None;
    for k in 0..64usize {
        let at = 0x8000 + k * 2048;
        let Some(descriptor) = view.head.get(at..at + 2048) else {
            break;
        };
        if descriptor.get(1..6) == Some(b"CD001") {
            match descriptor.first() {
                Some(1) => {
                    primary = Some(descriptor);
                    break;
                }
                Some(255) => break,
                _ => {}
            }
        }
    }
    let primary = primary.ok_or_else(|| {
        malformed(
            Iso,
            crate::msg!(
                "error.image.format.iso.no_primary",
                "there is no primary volume descriptor"
            ),
        )
    })?;
    let blocks = le32(primary, 80).ok_or_else(|| truncated(Iso))?;
    let block_size = le16(primary, 128).ok_or_else(|| truncated(Iso))?;
    if block_size == 0 {
        return Err(malformed(
            Iso,
            crate::msg!(
                "error.image.format.iso.block_size",
                "the logical block size is 0"
            ),
        ));
    }
    Ok(Inspection {
        format: Iso,
        virtual_size: u64::from(blocks) * u64::from(block_size),
    })
}

// ---------------------------------------------------------------------------

/// Checks the verdict against the format the image declared; returns the
/// virtual size to record.
///
/// As Glance: qcow2, vmdk, vdi, vhd, vhdx and iso must be exactly what they
/// say. raw (and ami/ari/aki, which are not inspected further) accept raw
/// data and iso data (an iso is raw bytes), and refuse every other detected
/// format: a qcow2 uploaded as raw is the classic attack.
pub fn check_declared(declared: DiskFormat, found: &Inspection) -> Result<u64, FormatError> {
    use DiskFormat::*;
    let ok = match declared {
        Raw | Ami | Ari | Aki => matches!(found.format, Raw | Iso),
        exact => found.format == exact,
    };
    if ok {
        Ok(found.virtual_size)
    } else {
        Err(FormatError::Mismatch {
            declared,
            found: found.format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A scratch directory for qemu-img's output, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            let dir = std::env::temp_dir().join(format!(
                "gureum-inspect-{name}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("create the scratch directory");
            Scratch(dir)
        }

        fn path(&self, file: &str) -> PathBuf {
            self.0.join(file)
        }

        /// Runs qemu-img in the scratch directory. These tests need it: they
        /// fail, never skip, when it is missing.
        fn qemu_img(&self, args: &[&str]) {
            let out = Command::new("qemu-img")
                .args(args)
                .current_dir(&self.0)
                .output()
                .expect("qemu-img must be installed to run these tests (Debian: qemu-utils)");
            assert!(
                out.status.success(),
                "qemu-img {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// qemu-img's idea of the virtual size, reading the file as `format`.
        fn qemu_virtual_size(&self, file: &str, format: &str) -> u64 {
            let out = Command::new("qemu-img")
                .args(["info", "--output=json", "-f", format, file])
                .current_dir(&self.0)
                .output()
                .expect("qemu-img must be installed to run these tests (Debian: qemu-utils)");
            assert!(out.status.success(), "qemu-img info {file} failed");
            let info: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("qemu-img info prints JSON");
            info["virtual-size"]
                .as_u64()
                .expect("qemu-img info reports virtual-size")
        }

        fn read(&self, file: &str) -> Vec<u8> {
            std::fs::read(self.path(file)).expect("read the image qemu-img wrote")
        }

        fn write(&self, file: &str, data: &[u8]) {
            std::fs::write(self.path(file), data).expect("write a scratch file");
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn inspect(data: &[u8], chunk: usize) -> Result<Inspection, FormatError> {
        let mut inspector = Inspector::new();
        for piece in data.chunks(chunk.max(1)) {
            inspector.feed(piece);
            assert!(inspector.held_bytes() <= MAX_HELD_BYTES);
        }
        assert_eq!(inspector.bytes_seen(), data.len() as u64);
        inspector.finish()
    }

    /// The same verdict however the data is chunked.
    fn inspect_all_ways(data: &[u8]) -> Result<Inspection, FormatError> {
        let verdict = inspect(data, 64 * 1024);
        for chunk in [7, 4096, 1 << 20, usize::MAX] {
            assert_eq!(inspect(data, chunk), verdict, "chunks of {chunk}");
        }
        if data.len() <= 16 << 20 {
            assert_eq!(inspect(data, 1), verdict, "chunks of 1");
        }
        verdict
    }

    fn expect_format(data: &[u8], format: DiskFormat, virtual_size: u64) {
        assert_eq!(
            inspect_all_ways(data),
            Ok(Inspection {
                format,
                virtual_size
            })
        );
    }

    /// Deterministic pseudo-random bytes.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn put(data: &mut [u8], at: usize, bytes: &[u8]) {
        data.get_mut(at..at + bytes.len())
            .expect("patch inside the image")
            .copy_from_slice(bytes);
    }

    const MIB: u64 = 1024 * 1024;

    // --- qcow2 -----------------------------------------------------------

    #[test]
    fn qcow2_is_detected_with_its_virtual_size_however_chunked() {
        let s = Scratch::new("qcow2");
        s.qemu_img(&["create", "-f", "qcow2", "x.qcow2", "64M"]);
        let data = s.read("x.qcow2");
        expect_format(&data, DiskFormat::Qcow2, 64 * MIB);
        for chunk in [1, 7, 65536] {
            assert_eq!(
                inspect(&data, chunk).map(|i| (i.format, i.virtual_size)),
                Ok((DiskFormat::Qcow2, 64 * MIB))
            );
        }
    }

    #[test]
    fn qcow2_version_2_and_with_data_are_accepted() {
        let s = Scratch::new("qcow2v2");
        s.qemu_img(&[
            "create",
            "-f",
            "qcow2",
            "-o",
            "compat=0.10",
            "v2.qcow2",
            "64M",
        ]);
        expect_format(&s.read("v2.qcow2"), DiskFormat::Qcow2, 64 * MIB);

        let mut rng = Rng(7);
        s.write("data.raw", &rng.bytes(3 << 20));
        s.qemu_img(&[
            "convert",
            "-f",
            "raw",
            "-O",
            "qcow2",
            "-o",
            "cluster_size=2M",
            "data.raw",
            "d.qcow2",
        ]);
        expect_format(&s.read("d.qcow2"), DiskFormat::Qcow2, 3 * MIB);
    }

    #[test]
    fn qcow2_with_a_backing_file_is_refused() {
        let s = Scratch::new("qcow2backing");
        s.qemu_img(&["create", "-f", "raw", "base.raw", "16M"]);
        s.qemu_img(&[
            "create",
            "-f",
            "qcow2",
            "-b",
            "base.raw",
            "-F",
            "raw",
            "over.qcow2",
        ]);
        let err = inspect_all_ways(&s.read("over.qcow2")).expect_err("backing file");
        assert_eq!(
            err,
            FormatError::BackingFile {
                format: DiskFormat::Qcow2
            }
        );
        assert_eq!(
            err.to_string(),
            "The qcow2 image has a backing file; images that refer to other files are refused."
        );
    }

    #[test]
    fn qcow2_with_an_external_data_file_is_refused() {
        let s = Scratch::new("qcow2datafile");
        s.qemu_img(&[
            "create",
            "-f",
            "qcow2",
            "-o",
            "data_file=ext.raw",
            "x.qcow2",
            "16M",
        ]);
        let mut data = s.read("x.qcow2");
        let err = inspect_all_ways(&data).expect_err("data file");
        assert_eq!(err, FormatError::ExternalDataFile);
        assert_eq!(
            err.to_string(),
            "The qcow2 image uses an external data file; images that refer to other files are refused."
        );
        // The data-file name extension alone is refused too.
        put(&mut data, 72, &0u64.to_be_bytes());
        assert_eq!(inspect_all_ways(&data), Err(FormatError::ExternalDataFile));
    }

    #[test]
    fn qcow2_unknown_features_old_versions_and_bad_headers_are_refused() {
        let s = Scratch::new("qcow2bad");
        s.qemu_img(&["create", "-f", "qcow2", "x.qcow2", "64M"]);
        let good = s.read("x.qcow2");

        let mut unknown = good.clone();
        put(&mut unknown, 72, &(1u64 << 40).to_be_bytes());
        let err = inspect(&unknown, 4096).expect_err("unknown feature");
        assert!(
            matches!(
                err,
                FormatError::Unsupported {
                    format: DiskFormat::Qcow2,
                    ..
                }
            ),
            "{err}"
        );

        let mut v1 = good.clone();
        put(&mut v1, 4, &1u32.to_be_bytes());
        let err = inspect(&v1, 4096).expect_err("qcow version 1");
        assert!(err.to_string().contains("version is 1"), "{err}");

        let mut cluster = good.clone();
        put(&mut cluster, 20, &40u32.to_be_bytes());
        let err = inspect(&cluster, 4096).expect_err("cluster bits");
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: DiskFormat::Qcow2,
                    ..
                }
            ),
            "{err}"
        );

        // An extension claiming more than the cluster holds.
        let mut ext = good.clone();
        let header_length = be32(&ext, 100).expect("header_length") as usize;
        put(&mut ext, header_length, &0x1234_5678u32.to_be_bytes());
        put(&mut ext, header_length + 4, &0x00ff_ffffu32.to_be_bytes());
        let err = inspect(&ext, 4096).expect_err("huge extension");
        assert!(
            err.to_string()
                .starts_with("The qcow2 header is malformed: "),
            "{err}"
        );

        // Truncated right after the magic.
        let err = inspect(&good[..10], 1).expect_err("truncated");
        assert!(matches!(err, FormatError::Malformed { .. }), "{err}");
    }

    // --- vmdk ------------------------------------------------------------

    #[test]
    fn vmdk_monolithic_sparse_and_stream_optimized_are_accepted() {
        let s = Scratch::new("vmdk");
        s.qemu_img(&["create", "-f", "vmdk", "a.vmdk", "64M"]);
        s.qemu_img(&[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
            "s.vmdk",
            "64M",
        ]);
        expect_format(&s.read("a.vmdk"), DiskFormat::Vmdk, 64 * MIB);
        expect_format(&s.read("s.vmdk"), DiskFormat::Vmdk, 64 * MIB);
        assert_eq!(s.qemu_virtual_size("a.vmdk", "vmdk"), 64 * MIB);

        let mut rng = Rng(11);
        s.write("data.raw", &rng.bytes(1 << 20));
        s.qemu_img(&[
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
            "data.raw",
            "c.vmdk",
        ]);
        expect_format(&s.read("c.vmdk"), DiskFormat::Vmdk, MIB);
    }

    #[test]
    fn vmdk_referring_to_other_files_is_refused() {
        let s = Scratch::new("vmdkextents");
        s.qemu_img(&[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=monolithicFlat",
            "f.vmdk",
            "16M",
        ]);
        let err = inspect_all_ways(&s.read("f.vmdk")).expect_err("monolithicFlat");
        assert!(matches!(err, FormatError::VmdkExtent { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "The vmdk image has an extent outside the image file (a descriptor-only file, \
             createType \"monolithicFlat\"); only monolithicSparse and streamOptimized vmdk are accepted."
        );

        s.qemu_img(&[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=twoGbMaxExtentSparse",
            "t.vmdk",
            "5G",
        ]);
        let err = inspect_all_ways(&s.read("t.vmdk")).expect_err("twoGbMaxExtentSparse");
        assert!(matches!(err, FormatError::VmdkExtent { .. }), "{err}");
        // One of its sparse extents on its own has no descriptor where
        // qemu reads it.
        let err = inspect_all_ways(&s.read("t-s001.vmdk")).expect_err("bare extent");
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: DiskFormat::Vmdk,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn vmdk_with_a_parent_is_refused() {
        let s = Scratch::new("vmdkparent");
        s.qemu_img(&["create", "-f", "vmdk", "base.vmdk", "64M"]);
        s.qemu_img(&[
            "create",
            "-f",
            "vmdk",
            "-b",
            "base.vmdk",
            "-F",
            "vmdk",
            "child.vmdk",
        ]);
        assert_eq!(
            inspect_all_ways(&s.read("child.vmdk")),
            Err(FormatError::BackingFile {
                format: DiskFormat::Vmdk
            })
        );
    }

    /// Rewrites the embedded descriptor of a qemu-made monolithicSparse vmdk.
    fn with_descriptor(vmdk: &[u8], from: &str, to: &str) -> Vec<u8> {
        let mut data = vmdk.to_vec();
        let desc = &data[512..512 + VMDK_DESC_MIN];
        let text = String::from_utf8_lossy(desc).into_owned();
        let text = text.trim_end_matches('\0');
        assert!(text.contains(from), "descriptor has {from:?}");
        let mut new = text.replace(from, to).into_bytes();
        new.resize(VMDK_DESC_MIN, 0);
        put(&mut data, 512, &new);
        data
    }

    #[test]
    fn vmdk_embedded_descriptors_naming_other_files_are_refused() {
        let s = Scratch::new("vmdkdesc");
        s.qemu_img(&["create", "-f", "vmdk", "a.vmdk", "64M"]);
        let good = s.read("a.vmdk");
        let extent = "RW 131072 SPARSE \"a.vmdk\"";

        let flat = with_descriptor(&good, extent, "RW 131072 FLAT \"/etc/passwd\" 0");
        let err = inspect(&flat, 4096).expect_err("flat extent");
        assert!(err.to_string().contains("(a FLAT extent)"), "{err}");

        let path = with_descriptor(&good, extent, "RW 131072 SPARSE \"/var/lib/x.vmdk\"");
        let err = inspect(&path, 4096).expect_err("path");
        assert!(matches!(err, FormatError::VmdkExtent { .. }), "{err}");

        let two = with_descriptor(&good, extent, &format!("{extent}\nRW 1 SPARSE \"b.vmdk\""));
        let err = inspect(&two, 4096).expect_err("two extents");
        assert!(err.to_string().contains("(2 extents)"), "{err}");

        let create = with_descriptor(&good, "monolithicSparse", "vmfs");
        let err = inspect(&create, 4096).expect_err("createType");
        assert!(err.to_string().contains("createType \"vmfs\""), "{err}");

        let odd = with_descriptor(&good, extent, &format!("{extent}\nwhatever this is"));
        let err = inspect(&odd, 4096).expect_err("odd line");
        assert!(matches!(err, FormatError::Malformed { .. }), "{err}");

        // A zero capacity makes qemu open the descriptor's extents.
        let mut zero = good.clone();
        put(&mut zero, 12, &0u64.to_le_bytes());
        let err = inspect(&zero, 4096).expect_err("zero capacity");
        assert!(matches!(err, FormatError::VmdkExtent { .. }), "{err}");

        // The descriptor must sit at sector 1, where qemu reads it.
        let mut moved = good.clone();
        put(&mut moved, 28, &2u64.to_le_bytes());
        let err = inspect(&moved, 4096).expect_err("moved descriptor");
        assert!(matches!(err, FormatError::Malformed { .. }), "{err}");
    }

    #[test]
    fn vmdk_descriptor_larger_than_the_head_is_captured() {
        let s = Scratch::new("vmdkbigdesc");
        s.qemu_img(&["create", "-f", "vmdk", "a.vmdk", "64M"]);
        let good = s.read("a.vmdk");
        // A descriptor of 1500 sectors whose parentFileNameHint sits past
        // the head: it must be found.
        let mut data = good[..512].to_vec();
        put(&mut data, 36, &1500u64.to_le_bytes());
        let mut desc = good[512..512 + VMDK_DESC_MIN].to_vec();
        let len = desc.iter().position(|&b| b == 0).expect("NUL-terminated");
        desc.truncate(len);
        desc.resize(HEAD_LEN + 4096, b'\n');
        desc.extend_from_slice(b"parentFileNameHint=\"/etc/shadow\"\n");
        data.extend_from_slice(&desc);
        data.resize(512 + 1500 * 512 + 65536, 0);
        assert_eq!(
            inspect_all_ways(&data),
            Err(FormatError::BackingFile {
                format: DiskFormat::Vmdk
            })
        );
        // Without it, the same image is fine.
        let at = data
            .windows(18)
            .position(|w| w == b"parentFileNameHint")
            .expect("hint");
        put(&mut data, at, b"# parent hint gone");
        expect_format(&data, DiskFormat::Vmdk, 64 * MIB);
    }

    #[test]
    fn vmdk_stream_footer_supplies_the_capacity() {
        let s = Scratch::new("vmdkfooter");
        s.qemu_img(&[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
            "s.vmdk",
            "64M",
        ]);
        let mut data = s.read("s.vmdk");
        let header = data[..512].to_vec();
        put(&mut data, 56, &u64::MAX.to_le_bytes());
        // footer marker, footer (the header, capacity 128 MiB), end of stream
        let mut marker = vec![0u8; 512];
        put(&mut marker, 12, &3u32.to_le_bytes());
        let mut footer = header;
        put(&mut footer, 12, &(256u64 * 1024).to_le_bytes());
        data.extend_from_slice(&marker);
        data.extend_from_slice(&footer);
        data.extend_from_slice(&[0u8; 512]);
        expect_format(&data, DiskFormat::Vmdk, 128 * MIB);

        // No valid footer: refused.
        let cut = data.len() - 512;
        let err = inspect(&data[..cut], 4096).expect_err("no footer");
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: DiskFormat::Vmdk,
                    ..
                }
            ),
            "{err}"
        );
    }

    // --- vhd, vhdx, vdi --------------------------------------------------

    #[test]
    fn vhd_dynamic_and_fixed_are_accepted() {
        let s = Scratch::new("vhd");
        s.qemu_img(&["create", "-f", "vpc", "v.vhd", "64M"]);
        s.qemu_img(&[
            "create",
            "-f",
            "vpc",
            "-o",
            "subformat=fixed",
            "f.vhd",
            "64M",
        ]);
        let dynamic = s.qemu_virtual_size("v.vhd", "vpc");
        let fixed = s.qemu_virtual_size("f.vhd", "vpc");
        expect_format(&s.read("v.vhd"), DiskFormat::Vhd, dynamic);
        expect_format(&s.read("f.vhd"), DiskFormat::Vhd, fixed);
    }

    fn set_vhd_footer(footer: &mut [u8], disk_type: u32) {
        put(footer, 60, &disk_type.to_be_bytes());
        put(footer, 64, &[0; 4]);
        let sum = footer
            .iter()
            .fold(0u32, |a, &b| a.wrapping_add(u32::from(b)));
        put(footer, 64, &(!sum).to_be_bytes());
    }

    #[test]
    fn vhd_differencing_is_refused() {
        let s = Scratch::new("vhddiff");
        s.qemu_img(&["create", "-f", "vpc", "v.vhd", "64M"]);
        let mut data = s.read("v.vhd");
        set_vhd_footer(&mut data[..512], 4);
        assert_eq!(
            inspect_all_ways(&data),
            Err(FormatError::BackingFile {
                format: DiskFormat::Vhd
            })
        );
        // A bad checksum at the start is malformed.
        data[100] ^= 1;
        let err = inspect(&data, 4096).expect_err("checksum");
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: DiskFormat::Vhd,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn vhdx_is_accepted_with_its_virtual_size() {
        let s = Scratch::new("vhdx");
        s.qemu_img(&["create", "-f", "vhdx", "x.vhdx", "64M"]);
        expect_format(&s.read("x.vhdx"), DiskFormat::Vhdx, 64 * MIB);
        assert_eq!(s.qemu_virtual_size("x.vhdx", "vhdx"), 64 * MIB);
    }

    /// The metadata region of a qemu-made vhdx.
    fn vhdx_metadata(data: &[u8]) -> usize {
        let region = vhdx_metadata_region(data).expect("metadata region");
        usize::try_from(region.offset).expect("small offset")
    }

    #[test]
    fn vhdx_with_a_parent_is_refused() {
        let s = Scratch::new("vhdxparent");
        s.qemu_img(&["create", "-f", "vhdx", "x.vhdx", "64M"]);
        let good = s.read("x.vhdx");
        let meta = vhdx_metadata(&good);

        // A parent locator item.
        let mut locator = good.clone();
        let count = le16(&locator, meta + 10).expect("count");
        let entry = meta + 32 + usize::from(count) * 32;
        put(&mut locator, entry, &VHDX_PARENT_LOCATOR);
        put(&mut locator, entry + 16, &0x2_0000u32.to_le_bytes());
        put(&mut locator, entry + 20, &64u32.to_le_bytes());
        put(&mut locator, meta + 10, &(count + 1).to_le_bytes());
        assert_eq!(
            inspect_all_ways(&locator),
            Err(FormatError::BackingFile {
                format: DiskFormat::Vhdx
            })
        );

        // The HasParent flag in the file parameters.
        let mut flag = good.clone();
        let items = vhdx_metadata_items(&flag[meta..meta + VHDX_TABLE_LEN]).expect("items");
        let (offset, _) = items.file_parameters.expect("file parameters");
        put(&mut flag, meta + offset as usize + 4, &2u32.to_le_bytes());
        assert_eq!(
            inspect(&flag, 65536),
            Err(FormatError::BackingFile {
                format: DiskFormat::Vhdx
            })
        );
    }

    #[test]
    fn vhdx_with_a_pending_log_or_bad_checksums_is_refused() {
        let s = Scratch::new("vhdxlog");
        s.qemu_img(&["create", "-f", "vhdx", "x.vhdx", "64M"]);
        let good = s.read("x.vhdx");

        let mut log = good.clone();
        for at in VHDX_HEADERS {
            put(&mut log, at + 48, &[0x5a; 16]);
            let crc = crc32c_with_zeroed_field(&log[at..at + VHDX_HEADER_LEN], 4).expect("crc");
            put(&mut log, at + 4, &crc.to_le_bytes());
        }
        let err = inspect(&log, 65536).expect_err("log");
        assert!(
            matches!(
                err,
                FormatError::Unsupported {
                    format: DiskFormat::Vhdx,
                    ..
                }
            ),
            "{err}"
        );

        let mut headers = good.clone();
        for at in VHDX_HEADERS {
            headers[at + 100] ^= 1;
        }
        let err = inspect(&headers, 65536).expect_err("headers");
        assert!(
            err.to_string().contains("neither header copy is valid"),
            "{err}"
        );

        let mut table = good.clone();
        table[VHDX_REGION_TABLE + 100] ^= 1;
        let err = inspect(&table, 65536).expect_err("region table");
        assert!(err.to_string().contains("region table checksum"), "{err}");

        // Cut before the metadata.
        let err = inspect(&good[..2 << 20], 65536).expect_err("truncated");
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: DiskFormat::Vhdx,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn vdi_is_accepted_and_differencing_refused() {
        let s = Scratch::new("vdi");
        s.qemu_img(&["create", "-f", "vdi", "x.vdi", "64M"]);
        let data = s.read("x.vdi");
        expect_format(&data, DiskFormat::Vdi, 64 * MIB);

        let mut diff = data.clone();
        put(&mut diff, 0x4c, &4u32.to_le_bytes());
        assert_eq!(
            inspect_all_ways(&diff),
            Err(FormatError::BackingFile {
                format: DiskFormat::Vdi
            })
        );
    }

    // --- iso, raw, several ----------------------------------------------

    /// A minimal ISO 9660 image: a primary volume descriptor at sector 16
    /// and a terminator, `blocks` blocks of 2048 bytes.
    fn iso_image(blocks: u32) -> Vec<u8> {
        let mut data = vec![0u8; 0x9000 + 2048];
        put(&mut data, 0x8000, b"\x01CD001\x01");
        put(&mut data, 0x8050, &blocks.to_le_bytes());
        put(&mut data, 0x8054, &blocks.to_be_bytes());
        put(&mut data, 0x8080, &2048u16.to_le_bytes());
        put(&mut data, 0x8082, &2048u16.to_be_bytes());
        put(&mut data, 0x8800, b"\xffCD001\x01");
        data
    }

    #[test]
    fn iso_is_detected_with_its_volume_size() {
        expect_format(&iso_image(1000), DiskFormat::Iso, 1000 * 2048);
        // A boot record before the primary volume descriptor.
        let mut boot = vec![0u8; 0x8000];
        boot.extend_from_slice(b"\x00CD001\x01");
        boot.resize(0x8800, 0);
        boot.extend_from_slice(&iso_image(7)[0x8000..]);
        expect_format(&boot, DiskFormat::Iso, 7 * 2048);
        // The identifier without a primary volume descriptor.
        let mut none = iso_image(1);
        put(&mut none, 0x8000, b"\x02");
        let err = inspect(&none, 512).expect_err("no pvd");
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: DiskFormat::Iso,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn random_bytes_and_empty_input_are_raw() {
        let data = Rng(42).bytes(3 * 1024 * 1024 + 123);
        expect_format(&data, DiskFormat::Raw, data.len() as u64);
        expect_format(&[], DiskFormat::Raw, 0);
        expect_format(b"QFI", DiskFormat::Raw, 3);
    }

    #[test]
    fn an_iso_that_is_also_a_qcow2_is_refused() {
        let s = Scratch::new("isoqcow2");
        s.qemu_img(&["create", "-f", "qcow2", "x.qcow2", "64M"]);
        let qcow2 = s.read("x.qcow2");
        let mut data = iso_image(100);
        put(&mut data, 0, &qcow2[..512]);
        let err = inspect_all_ways(&data).expect_err("ambiguous");
        assert_eq!(
            err,
            FormatError::Ambiguous {
                formats: "qcow2, iso".into()
            }
        );
        assert!(err.to_string().contains("more than one format"), "{err}");
    }

    #[test]
    fn a_vhd_footer_after_a_qcow2_does_not_make_it_ambiguous() {
        let s = Scratch::new("qcow2vhd");
        s.qemu_img(&["create", "-f", "qcow2", "x.qcow2", "64M"]);
        s.qemu_img(&[
            "create",
            "-f",
            "vpc",
            "-o",
            "subformat=fixed",
            "f.vhd",
            "1M",
        ]);
        let mut data = s.read("x.qcow2");
        let vhd = s.read("f.vhd");
        data.extend_from_slice(&vhd[vhd.len() - 512..]);
        expect_format(&data, DiskFormat::Qcow2, 64 * MIB);
    }

    #[test]
    fn qed_and_text_vmdk_are_refused_whatever_they_are_called() {
        let s = Scratch::new("qed");
        s.qemu_img(&["create", "-f", "qed", "x.qed", "64M"]);
        assert_eq!(
            inspect_all_ways(&s.read("x.qed")),
            Err(FormatError::RefusedFormat { name: "qed" })
        );
        let text = b"# a comment\n\nversion=1\nRW 100 FLAT \"/etc/passwd\" 0\n";
        let err = inspect_all_ways(text).expect_err("text vmdk");
        assert!(matches!(err, FormatError::VmdkExtent { .. }), "{err}");
    }

    // --- check_declared --------------------------------------------------

    #[test]
    fn check_declared_follows_glance() {
        let found = |format, virtual_size| Inspection {
            format,
            virtual_size,
        };
        let qcow2 = found(DiskFormat::Qcow2, 64);
        let err = check_declared(DiskFormat::Raw, &qcow2).expect_err("qcow2 as raw");
        assert_eq!(
            err.to_string(),
            "The image data is qcow2, but its disk_format is raw."
        );
        assert_eq!(check_declared(DiskFormat::Qcow2, &qcow2), Ok(64));

        let raw = found(DiskFormat::Raw, 10);
        let err = check_declared(DiskFormat::Qcow2, &raw).expect_err("raw as qcow2");
        assert_eq!(
            err.to_string(),
            "The image data is raw, but its disk_format is qcow2."
        );
        assert_eq!(check_declared(DiskFormat::Raw, &raw), Ok(10));

        let iso = found(DiskFormat::Iso, 2048);
        assert_eq!(check_declared(DiskFormat::Raw, &iso), Ok(2048));
        assert_eq!(check_declared(DiskFormat::Iso, &iso), Ok(2048));
        assert!(check_declared(DiskFormat::Iso, &raw).is_err());

        for kernelish in [DiskFormat::Ami, DiskFormat::Ari, DiskFormat::Aki] {
            assert_eq!(check_declared(kernelish, &raw), Ok(10));
            assert_eq!(check_declared(kernelish, &iso), Ok(2048));
            assert!(check_declared(kernelish, &qcow2).is_err());
        }
        for declared in [
            DiskFormat::Vmdk,
            DiskFormat::Vdi,
            DiskFormat::Vhd,
            DiskFormat::Vhdx,
        ] {
            assert!(check_declared(declared, &raw).is_err());
            assert!(check_declared(declared, &qcow2).is_err());
            assert_eq!(check_declared(declared, &found(declared, 5)), Ok(5));
        }
    }

    #[test]
    fn disk_format_names_round_trip() {
        for format in DiskFormat::ALL {
            assert_eq!(DiskFormat::parse(format.as_str()), Some(format));
            let json = serde_json::to_string(&format).expect("serialize");
            assert_eq!(json, format!("\"{}\"", format.as_str()));
        }
        assert_eq!(DiskFormat::parse("QCOW2"), None);
        assert_eq!(DiskFormat::parse("qcow"), None);
    }

    // --- hostile input ---------------------------------------------------

    #[test]
    fn memory_stays_bounded() {
        // A huge raw stream holds only the head and the tail.
        let mut inspector = Inspector::new();
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..1024 {
            inspector.feed(&chunk);
        }
        assert_eq!(inspector.held_bytes(), HEAD_LEN + TAIL_LEN);
        assert_eq!(inspector.finish().map(|i| i.virtual_size), Ok(64 * MIB));

        // A vmdk claiming an enormous descriptor holds at most 1 MiB of it.
        let mut vmdk = vec![0u8; 512];
        put(&mut vmdk, 0, b"KDMV");
        put(&mut vmdk, 4, &1u32.to_le_bytes());
        put(&mut vmdk, 12, &1u64.to_le_bytes());
        put(&mut vmdk, 28, &1u64.to_le_bytes());
        put(&mut vmdk, 36, &u64::MAX.to_le_bytes());
        let mut inspector = Inspector::new();
        inspector.feed(&vmdk);
        for _ in 0..64 {
            inspector.feed(&chunk);
        }
        assert!(inspector.held_bytes() <= HEAD_LEN + TAIL_LEN + VMDK_DESC_MAX);
        assert!(inspector.finish().is_err());
    }

    #[test]
    fn corrupted_and_truncated_images_never_panic() {
        let s = Scratch::new("fuzz");
        s.qemu_img(&["create", "-f", "qcow2", "x.qcow2", "64M"]);
        s.qemu_img(&[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
            "x.vmdk",
            "64M",
        ]);
        s.qemu_img(&["create", "-f", "vpc", "x.vhd", "64M"]);
        s.qemu_img(&["create", "-f", "vdi", "x.vdi", "64M"]);
        s.qemu_img(&["create", "-f", "vhdx", "x.vhdx", "64M"]);
        let vhdx = s.read("x.vhdx");
        let meta = vhdx_metadata(&vhdx);
        // Each image with the byte ranges worth corrupting, as (start, end).
        type Ranges = Vec<(usize, usize)>;
        let seeds: Vec<(Vec<u8>, Ranges)> = vec![
            (s.read("x.qcow2"), vec![(0, 1024)]),
            (s.read("x.vmdk"), vec![(0, 1024)]),
            (s.read("x.vhd"), vec![(0, 2560)]),
            (s.read("x.vdi"), vec![(0, 512)]),
            (iso_image(10), vec![(0x8000, 0x8100)]),
            (
                vhdx,
                vec![
                    (0, 64),
                    (0x30000, 0x30100),
                    (meta, meta + 256),
                    (meta + 0x10000, meta + 0x10010),
                ],
            ),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for (image, ranges) in &seeds {
            let rounds = if image.len() > 1 << 20 { 60 } else { 400 };
            for _ in 0..rounds {
                let mut data = image.clone();
                for _ in 0..1 + rng.below(6) {
                    let (start, end) = ranges[rng.below(ranges.len())];
                    let at = start + rng.below(end - start);
                    let value = match rng.below(4) {
                        0 => vec![rng.next() as u8],
                        1 => u64::MAX.to_le_bytes().to_vec(),
                        2 => (rng.next() >> rng.below(64)).to_le_bytes().to_vec(),
                        _ => (rng.next() as u32).to_be_bytes().to_vec(),
                    };
                    let end = (at + value.len()).min(data.len());
                    data[at..end].copy_from_slice(&value[..end - at]);
                }
                if rng.below(4) == 0 {
                    data.truncate(rng.below(data.len() + 1));
                }
                let _ = inspect(&data, 1 + rng.below(100_000));
            }
        }
    }

    #[test]
    fn scratch_paths_are_inside_the_scratch_directory() {
        let s = Scratch::new("paths");
        assert!(s.path("x").starts_with(Path::new(&s.0)));
    }

    /// Property tests: hostile variations of real images (qemu-img's own
    /// output with bytes overwritten and tails cut) and random bytes behind
    /// each format's magic. Whatever the bytes, the inspector never panics,
    /// holds at most `MAX_HELD_BYTES`, and gives one verdict however the
    /// data is chunked.
    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::sync::OnceLock;

        /// Small images of every format qemu-img writes, made once.
        fn seeds() -> &'static [Vec<u8>] {
            static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
            SEEDS.get_or_init(|| {
                let s = Scratch::new("proptest-seeds");
                let mut out = Vec::new();
                for (format, opts) in [
                    ("qcow2", ""),
                    ("qcow2", "compat=0.10"),
                    ("vmdk", "subformat=monolithicSparse"),
                    ("vmdk", "subformat=streamOptimized"),
                    ("vpc", "subformat=dynamic"),
                    ("vdi", ""),
                    ("vhdx", ""),
                ] {
                    let file = format!("seed-{}.{format}", out.len());
                    let mut args = vec!["create", "-f", format];
                    if !opts.is_empty() {
                        args.extend(["-o", opts]);
                    }
                    args.extend([file.as_str(), "8M"]);
                    s.qemu_img(&args);
                    out.push(s.read(&file));
                }
                out.push(iso_image(64));
                out
            })
        }

        const MAGICS: &[&[u8]] = &[
            b"QFI\xfb",
            b"KDMV",
            b"conectix",
            b"vhdxfile",
            b"<<< Oracle VM VirtualBox Disk Image >>>\n",
            b"# Disk DescriptorFile\n",
        ];

        fn verdict(data: &[u8], chunk: usize) -> Result<Inspection, FormatError> {
            let mut inspector = Inspector::new();
            for piece in data.chunks(chunk.max(1)) {
                inspector.feed(piece);
                assert_bounded(inspector.held_bytes());
            }
            inspector.finish()
        }

        fn assert_bounded(n: usize) {
            assert!(n <= MAX_HELD_BYTES, "holds {n} bytes");
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

            #[test]
            fn overwritten_and_cut_images_get_one_verdict(
                seed in 0usize..8,
                writes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..12),
                cut in prop::option::of(any::<prop::sample::Index>()),
                chunk in 1usize..70_000,
            ) {
                let seeds = seeds();
                let mut data = seeds[seed % seeds.len()].clone();
                for (at, byte, region) in writes {
                    // Headers live in the first 4 KiB, footers in the last
                    // 512 bytes: aim most writes there.
                    let len = data.len();
                    let i = match region {
                        0 => at.index(len.min(4096)),
                        1 => len - 1 - at.index(len.min(512)),
                        _ => at.index(len),
                    };
                    data[i] = byte;
                }
                if let Some(cut) = cut {
                    data.truncate(cut.index(data.len() + 1));
                }
                let whole = verdict(&data, usize::MAX);
                prop_assert_eq!(verdict(&data, chunk), whole);
            }

            #[test]
            fn random_bytes_behind_a_magic_get_one_verdict(
                magic in 0usize..MAGICS.len(),
                at_iso in any::<bool>(),
                body in prop::collection::vec(any::<u8>(), 0..20_000),
                chunk in 1usize..5_000,
            ) {
                let mut data = Vec::with_capacity(body.len() + 0x8100);
                if at_iso {
                    // An ISO 9660 signature sits at 0x8001, past a system area.
                    data.resize(0x8001, 0);
                    data.extend_from_slice(b"CD001\x01");
                }
                data.extend_from_slice(MAGICS[magic]);
                data.extend_from_slice(&body);
                let whole = verdict(&data, usize::MAX);
                prop_assert_eq!(verdict(&data, chunk), whole);
            }
        }
    }
}
