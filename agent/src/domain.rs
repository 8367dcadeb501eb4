//! The libvirt domain XML of an instance, from its [`SpawnSpec`] and the
//! local paths of its files.
//!
//! Every value from the request is escaped (names are the user's) and
//! characters XML 1.0 cannot carry are refused rather than dropped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bus::messages::SpawnSpec;

use crate::config::DomainType;

/// The kernel command line of a direct kernel boot without the image's own
/// (`os_command_line`), as Nova's.
pub const DEFAULT_CMDLINE: &str = "root=/dev/vda console=tty0 console=ttyS0";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum XmlError {
    #[error("the instance id {0:?} is not a UUID")]
    BadUuid(String),
    #[error("{field} contains a character XML cannot carry")]
    BadChar { field: &'static str },
    #[error("{0} must not be empty or zero")]
    Missing(&'static str),
    #[error("the path {0:?} is not UTF-8")]
    BadPath(PathBuf),
}

/// Where the instance's files are on this node.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainPaths {
    /// The root disk: a qcow2 overlay on the cached image.
    pub disk: PathBuf,
    /// The config drive ISO, when there is one.
    pub config_drive: Option<PathBuf>,
    pub kernel: Option<PathBuf>,
    pub ramdisk: Option<PathBuf>,
    /// The serial console's log (what `ConsoleLog` reads).
    pub console_log: PathBuf,
}

impl DomainPaths {
    /// The usual layout of `<instances>/<uuid>/`.
    pub fn in_dir(dir: &Path) -> DomainPaths {
        DomainPaths {
            disk: dir.join("disk"),
            config_drive: Some(dir.join("disk.config")),
            kernel: None,
            ramdisk: None,
            console_log: dir.join("console.log"),
        }
    }
}

/// Escapes text for an element or a quoted attribute; refuses what XML 1.0
/// has no way to represent (NUL and most C0 controls).
pub fn escape(field: &'static str, s: &str) -> Result<String, XmlError> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(XmlError::BadChar { field })
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn path(field: &'static str, p: &Path) -> Result<String, XmlError> {
    let s = p.to_str().ok_or_else(|| XmlError::BadPath(p.to_owned()))?;
    escape(field, s)
}

/// The domain XML for `instance_id` (which becomes the domain's UUID).
pub fn build(
    instance_id: &str,
    spec: &SpawnSpec,
    domain_type: DomainType,
    host_ip: &str,
    paths: &DomainPaths,
) -> Result<String, XmlError> {
    let uuid = uuid::Uuid::parse_str(instance_id)
        .map_err(|_| XmlError::BadUuid(instance_id.to_owned()))?
        .hyphenated()
        .to_string();
    if spec.domain_name.trim().is_empty() {
        return Err(XmlError::Missing("the domain name"));
    }
    if spec.vcpus == 0 {
        return Err(XmlError::Missing("vcpus"));
    }
    if spec.memory_mib == 0 {
        return Err(XmlError::Missing("memory"));
    }

    // `write!` to a String cannot fail; the results are ignored with `let _`.
    let mut x = String::with_capacity(2048);
    let _ = writeln!(x, "<domain type='{}'>", domain_type.as_str());
    let _ = writeln!(x, "  <name>{}</name>", escape("name", &spec.domain_name)?);
    let _ = writeln!(x, "  <uuid>{uuid}</uuid>");
    // The display name, for whoever reads `virsh dumpxml`; a title is one line.
    let title = spec.name.replace(['\n', '\r'], " ");
    if !title.trim().is_empty() {
        let _ = writeln!(x, "  <title>{}</title>", escape("name", &title)?);
    }
    let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", spec.memory_mib);
    let _ = writeln!(
        x,
        "  <currentMemory unit='MiB'>{}</currentMemory>",
        spec.memory_mib
    );
    let _ = writeln!(x, "  <vcpu placement='static'>{}</vcpu>", spec.vcpus);

    // The i440fx machine: its IDE bus carries the config drive.
    x.push_str("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    match &paths.kernel {
        Some(kernel) => {
            let _ = writeln!(x, "    <kernel>{}</kernel>", path("kernel", kernel)?);
            if let Some(initrd) = &paths.ramdisk {
                let _ = writeln!(x, "    <initrd>{}</initrd>", path("ramdisk", initrd)?);
            }
            let cmdline = spec
                .kernel_cmdline
                .as_deref()
                .filter(|c| !c.trim().is_empty())
                .unwrap_or(DEFAULT_CMDLINE);
            let _ = writeln!(
                x,
                "    <cmdline>{}</cmdline>",
                escape("kernel_cmdline", cmdline)?
            );
        }
        None => x.push_str("    <boot dev='hd'/>\n"),
    }
    x.push_str("  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    if domain_type == DomainType::Kvm {
        // Nova's default CPU mode under KVM; TCG emulates its own model.
        x.push_str("  <cpu mode='host-model'/>\n");
    }
    x.push_str("  <clock offset='utc'/>\n");
    x.push_str("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n");
    x.push_str("  <on_crash>destroy</on_crash>\n  <devices>\n");

    // No cache='none': it needs O_DIRECT, which tmpfs state dirs lack.
    let _ = write!(
        x,
        "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      \
         <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n",
        path("disk", &paths.disk)?
    );
    if let Some(cd) = &paths.config_drive {
        // IDE on the pc machine, as Nova: every x86 kernel has ata_piix,
        // while some (Debian's cloud kernel) lack AHCI for SATA.
        let _ = write!(
            x,
            "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      \
             <source file='{}'/>\n      <target dev='hdd' bus='ide'/>\n      <readonly/>\n    \
             </disk>\n",
            path("config drive", cd)?
        );
    }
    for nic in &spec.interfaces {
        let _ = write!(
            x,
            "    <interface type='bridge'>\n      <mac address='{}'/>\n      \
             <source bridge='{}'/>\n      <target dev='{}'/>\n      <model type='virtio'/>\n",
            escape("mac", &nic.mac)?,
            escape("bridge", &nic.bridge)?,
            escape("tap", &nic.tap)?,
        );
        if let Some(mtu) = nic.mtu {
            let _ = writeln!(x, "      <mtu size='{mtu}'/>");
        }
        x.push_str("    </interface>\n");
    }
    let log = path("console log", &paths.console_log)?;
    let _ = write!(
        x,
        "    <serial type='file'>\n      <source path='{log}' append='on'/>\n      <target port='0'/>\n    \
         </serial>\n    <console type='file'>\n      <source path='{log}'/>\n      \
         <target type='serial' port='0'/>\n    </console>\n"
    );
    let ip = escape("host_ip", host_ip)?;
    let _ = write!(
        x,
        "    <graphics type='vnc' autoport='yes' listen='{ip}'>\n      \
         <listen type='address' address='{ip}'/>\n    </graphics>\n"
    );
    // Guests that boot without entropy hang in early userspace.
    x.push_str(
        "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    \
         </rng>\n",
    );
    x.push_str("  </devices>\n</domain>\n");
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bus::messages::{ConfigDrive, ImageRef, Interface};

    fn image(id: &str) -> ImageRef {
        ImageRef {
            id: id.into(),
            download_url: format!("http://127.0.0.1:9292/v2/images/{id}/file"),
            disk_format: "qcow2".into(),
            size: 1,
            hash_algo: "sha512".into(),
            hash_value: "00".into(),
            download_grant: None,
        }
    }

    fn spec() -> SpawnSpec {
        SpawnSpec {
            name: "web <1> & 'two'".into(),
            domain_name: "instance-0000002a".into(),
            vcpus: 2,
            memory_mib: 512,
            root_gb: 1,
            image: image("img"),
            kernel: None,
            ramdisk: None,
            kernel_cmdline: None,
            interfaces: vec![],
            config_drive: ConfigDrive::default(),
        }
    }

    const ID: &str = "0b5c4a9e-4f3d-4f7e-9d2a-5c1f0e7a8b9c";

    #[test]
    fn disk_boot_with_config_drive_console_and_vnc() {
        let paths = DomainPaths::in_dir(Path::new("/var/lib/i/x"));
        let xml = build(ID, &spec(), DomainType::Qemu, "10.0.0.5", &paths).unwrap();
        assert!(xml.starts_with("<domain type='qemu'>"), "{xml}");
        assert!(xml.contains("<name>instance-0000002a</name>"));
        assert!(xml.contains(&format!("<uuid>{ID}</uuid>")));
        assert!(
            xml.contains("<title>web &lt;1&gt; &amp; &apos;two&apos;</title>"),
            "{xml}"
        );
        assert!(xml.contains("<memory unit='MiB'>512</memory>"));
        assert!(xml.contains("<vcpu placement='static'>2</vcpu>"));
        assert!(xml.contains("<type arch='x86_64' machine='pc'>hvm</type>"));
        assert!(xml.contains("<target dev='hdd' bus='ide'/>"));
        assert!(xml.contains("<boot dev='hd'/>"));
        assert!(!xml.contains("<kernel>") && !xml.contains("<cmdline>"));
        assert!(xml.contains("<acpi/>"));
        assert!(!xml.contains("host-model"));
        assert!(xml.contains("<source file='/var/lib/i/x/disk'/>"));
        assert!(xml.contains("<target dev='vda' bus='virtio'/>"));
        assert!(xml.contains("type='qcow2'"));
        assert!(xml.contains("device='cdrom'"));
        assert!(xml.contains("<source file='/var/lib/i/x/disk.config'/>"));
        assert!(xml.contains("<readonly/>"));
        assert!(xml.contains(
            "<serial type='file'>\n      <source path='/var/lib/i/x/console.log' append='on'/>"
        ));
        assert!(xml.contains("<console type='file'>"));
        assert!(xml.contains("<graphics type='vnc' autoport='yes' listen='10.0.0.5'>"));
        assert!(!xml.contains("<interface"));
    }

    #[test]
    fn direct_kernel_boot_interfaces_and_kvm() {
        let mut s = spec();
        s.interfaces = vec![Interface {
            port_id: "p1".into(),
            mac: "fa:16:3e:00:00:01".into(),
            bridge: "brq-net1".into(),
            tap: "tap0123456789a".into(),
            mtu: Some(1450),
        }];
        let mut paths = DomainPaths::in_dir(Path::new("/d"));
        paths.kernel = Some("/cache/k".into());
        paths.ramdisk = Some("/cache/r".into());
        paths.config_drive = None;
        let xml = build(ID, &s, DomainType::Kvm, "127.0.0.1", &paths).unwrap();
        assert!(xml.starts_with("<domain type='kvm'>"));
        assert!(xml.contains("<cpu mode='host-model'/>"));
        assert!(xml.contains("<kernel>/cache/k</kernel>"));
        assert!(xml.contains("<initrd>/cache/r</initrd>"));
        assert!(xml.contains(&format!("<cmdline>{DEFAULT_CMDLINE}</cmdline>")));
        assert!(!xml.contains("<boot dev="));
        assert!(!xml.contains("cdrom"));
        assert!(xml.contains("<interface type='bridge'>"));
        assert!(xml.contains("<mac address='fa:16:3e:00:00:01'/>"));
        assert!(xml.contains("<source bridge='brq-net1'/>"));
        assert!(xml.contains("<target dev='tap0123456789a'/>"));
        assert!(xml.contains("<model type='virtio'/>"));
        assert!(xml.contains("<mtu size='1450'/>"));

        s.kernel_cmdline = Some("console=ttyS0 quiet <x>".into());
        let xml = build(ID, &s, DomainType::Qemu, "127.0.0.1", &paths).unwrap();
        assert!(xml.contains("<cmdline>console=ttyS0 quiet &lt;x&gt;</cmdline>"));
    }

    #[test]
    fn refuses_what_xml_cannot_carry() {
        let paths = DomainPaths::in_dir(Path::new("/d"));
        assert!(matches!(
            build("not-a-uuid", &spec(), DomainType::Qemu, "127.0.0.1", &paths),
            Err(XmlError::BadUuid(_))
        ));
        let mut s = spec();
        s.domain_name = "bad\u{0}name".into();
        assert_eq!(
            build(ID, &s, DomainType::Qemu, "127.0.0.1", &paths),
            Err(XmlError::BadChar { field: "name" })
        );
        let mut s = spec();
        s.vcpus = 0;
        assert!(build(ID, &s, DomainType::Qemu, "127.0.0.1", &paths).is_err());
        // Quotes cannot break out of an attribute.
        let mut s = spec();
        s.interfaces = vec![Interface {
            port_id: "p".into(),
            mac: "x'/><evil/>".into(),
            bridge: "b".into(),
            tap: "t".into(),
            mtu: None,
        }];
        let xml = build(ID, &s, DomainType::Qemu, "127.0.0.1", &paths).unwrap();
        assert!(!xml.contains("<evil/>"));
        assert!(xml.contains("x&apos;/&gt;&lt;evil/&gt;"));
    }

    #[test]
    fn uuid_is_normalised() {
        let paths = DomainPaths::in_dir(Path::new("/d"));
        let xml = build(
            &ID.to_uppercase(),
            &spec(),
            DomainType::Qemu,
            "127.0.0.1",
            &paths,
        )
        .unwrap();
        assert!(xml.contains(&format!("<uuid>{ID}</uuid>")));
    }
}
