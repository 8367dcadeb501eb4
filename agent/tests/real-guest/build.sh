#!/usr/bin/env bash
# Builds the guest tests/real_qemu.rs boots: Debian's cloud kernel and a
# busybox initramfs whose /init loads the virtio/IDE/ISO modules, prints the
# config drive, runs acpid (so ACPI shutdown works) and says GUREUM-INIT-DONE.
# Then: GUREUM_TEST_KERNEL=$out/vmlinuz GUREUM_TEST_INITRD=$out/initrd.gz \
#   cargo test -p gureum-agent --test real_qemu -- --nocapture
# (libvirtd running, /etc/libvirt/qemu.conf with user/group "root").
set -euo pipefail
out="${1:-/tmp/gureum-guest}"
mkdir -p "$out" && cd "$out"
for p in busybox-static cpio; do
    dpkg -s "$p" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done
pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" 2>/dev/null
rm -rf kpkg initrd && dpkg-deb -x "$pkg"_*.deb kpkg
cp kpkg/boot/vmlinuz-* vmlinuz
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
      scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs evdev button"
mkdir -p initrd/{bin,proc,sys,dev,cd,lib/mods,etc/acpi/PWRF}
cp /usr/bin/busybox initrd/bin/busybox
for m in $mods; do cp "$(find kpkg/lib/modules -name "$m.ko" | head -1)" initrd/lib/mods/; done
cat > initrd/init <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(echo $mods); do insmod /lib/mods/\$m.ko 2>/dev/null; done
sleep 2
echo "GUREUM-BOOT-OK \$(uname -r)"
echo "block devices: \$(ls /sys/block | tr '\n' ' ')"
if mount -t iso9660 -o ro /dev/sr0 /cd; then
  echo "meta_data: \$(cat /cd/openstack/latest/meta_data.json)"
  echo "user_data: \$(cat /cd/openstack/latest/user_data 2>/dev/null)"
  ls /cd/openstack
fi
printf '#!/bin/sh\necho GUREUM-ACPI-POWEROFF\nsync\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -d -c /etc/acpi > /dev/console 2>&1 &
echo GUREUM-INIT-DONE
while true; do sleep 5; done
INIT
chmod +x initrd/init
(cd initrd && find . | cpio -o -H newc 2>/dev/null | gzip > ../initrd.gz)
echo "$out/vmlinuz $out/initrd.gz"
