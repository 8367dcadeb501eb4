#!/usr/bin/env bash
# For the real-guest test (agent/tests/real_qemu.rs): libvirtd and virtlogd
# running with QEMU as root (no systemd here), and the guest (Debian's cloud
# kernel + a busybox initramfs) built once into ~/.cache/gureum/guest.
set -euo pipefail
cd "$(dirname "$0")/.."
guest="${GUREUM_TEST_GUEST_DIR:-$HOME/.cache/gureum/guest}"
conf=/etc/libvirt/qemu.conf
# Without user/group root every call re-probes QEMU for seconds (ENVIRONMENT.md).
if ! grep -q '^user = "root"' "$conf"; then
    [[ -f $conf.orig ]] || cp "$conf" "$conf.orig"
    printf 'user = "root"\ngroup = "root"\n' >> "$conf"
    pkill -x libvirtd 2>/dev/null || true
fi
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 50); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -c qemu:///system version >/dev/null
if [[ ! -s $guest/vmlinuz || ! -s $guest/initrd.gz ]]; then
    echo "==> building the test guest into $guest"
    ./agent/tests/real-guest/build.sh "$guest" >/dev/null
fi
