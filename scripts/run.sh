#!/usr/bin/env bash
# `make run`: starts the server on the embedded default. Where libvirtd and
# QEMU work (scripts/real-guest.sh starts them and builds the small guest
# once), the embedded agent boots real guests and the first start seeds a
# public image that boots; elsewhere libvirt's test driver simulates
# instances, and the server says so. GUREUM_AGENT__LIBVIRT_URI, when set,
# chooses instead.
set -uo pipefail
cd "$(dirname "$0")/.."
server="$1"
shift
guest="${GUREUM_TEST_GUEST_DIR:-$HOME/.cache/gureum/guest}"
if [[ -z "${GUREUM_AGENT__LIBVIRT_URI:-}" ]]; then
    if ./scripts/real-guest.sh; then
        export GUREUM_AGENT__LIBVIRT_URI=qemu:///system
        export GUREUM_SEED_GUEST_DIR="$guest"
    else
        echo "==> libvirtd or QEMU is not usable here: instances will be simulated (libvirt's test driver)"
    fi
fi
exec "$server" "$@"
