#!/usr/bin/env bash
# Installs what `make run` (build) or `make test` (test) needs and is missing.
# Idempotent: a second run only checks.
set -euo pipefail
mode="${1:-build}"
cd "$(dirname "$0")/.."
say() { echo "==> $*"; }
apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then
        say "apt-get install ${missing[*]}"
        local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Build: a C compiler for bundled SQLite; npm for Tailwind and wasm-opt.
apt_install gcc pkg-config
command -v npm >/dev/null || apt_install nodejs npm

# The compute agent links libvirt (the server embeds the agent, so `make run`
# needs it); real guests need the daemon, QEMU and genisoimage for config
# drives. These come from bookworm-backports: Debian 12's own qemu-system-x86
# conflicts with the backported qemu-utils 10 already installed.
# libvirt-dev too, so its libvirt0 matches the daemon's.
virt_pkgs=(libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils genisoimage)
virt_missing=()
for p in "${virt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || virt_missing+=("$p"); done
if ((${#virt_missing[@]})); then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    bpo=/etc/apt/sources.list.d/bookworm-backports.sources
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        # The same mirror as the main Debian source.
        mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        say "apt source bookworm-backports (${mirror:=http://deb.debian.org/debian})"
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$mirror" | $sudo tee "$bpo" >/dev/null
    fi
    say "apt-get install -t bookworm-backports ${virt_missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports "${virt_missing[@]}" >/dev/null
    # virt-sys finds libvirt through pkg-config when its build script runs
    # and is not rerun when libvirt arrives later: a cached build from
    # before would link without it.
    if [[ " ${virt_missing[*]} " == *" libvirt-dev "* ]]; then
        cargo clean -p virt-sys -p virt >/dev/null 2>&1 || true
    fi
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# `make test` checks formatting and lints.
for c in clippy rustfmt; do
    if ! rustup component list --installed | grep -q "^$c"; then
        say "rustup component add $c"
        rustup component add "$c"
    fi
done

want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
    say "cargo install wasm-bindgen-cli $want (matches Cargo.lock; a few minutes, once)"
    # Without --locked: the tool's own lock file wants a crate this index lacks.
    # Built at opt-level 1 without debug info: it runs for a second per
    # build and writes the same bytes as at opt-level 3, for less compiling.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
        cargo install wasm-bindgen-cli --version "$want" --force
fi

stamp=node_modules/.gureum-stamp
if [[ ! -f $stamp || package.json -nt $stamp || package-lock.json -nt $stamp ]]; then
    say "npm install (Tailwind, binaryen's wasm-opt, Playwright)"
    # `npm ci` refuses this lock file (npm 11 omits other platforms' optional
    # packages from it), so install, which still honours the locked versions.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
    touch $stamp
fi

if [[ "$mode" == bench ]]; then
    # Load from a separate process, as users meet the server.
    apt_install wrk curl
    exit 0
fi

if [[ "$mode" == tempest ]]; then
    # OpenStack's API suite, pinned, in the venv the CLI tests use.
    venv="${VENV:-$HOME/.cache/gureum/venv}"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    if [[ "$("$venv/bin/tempest" --version 2>/dev/null | awk '{print $2}')" != 47.0.0 ]]; then
        say "pip install tempest==47.0.0 into $venv"
        "$venv/bin/pip" install -q tempest==47.0.0
    fi
    exit 0
fi

if [[ "$mode" == test ]]; then
    # Browser tests drive Debian's Chromium; CLI tests the stock openstack client.
    apt_install chromium
    # Image tests build real qcow2/vmdk/vhd/vhdx/vdi files with qemu-img.
    command -v qemu-img >/dev/null || apt_install qemu-utils
    venv="${VENV:-$HOME/.cache/gureum/venv}"
    if [[ ! -x "$venv/bin/openstack" ]]; then
        say "python venv with python-openstackclient at $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q python-openstackclient
    fi
fi
