#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages FCL Workbench builds and runs with. Idempotent: installs only
# what is missing, so rerunning it is cheap and safe. Needs root (re-runs itself with sudo if it can).
set -euo pipefail

packages=(
    build-essential cmake pkg-config zlib1g-dev
    qt6-base-dev libqt6sql6-sqlite qt6-qpa-plugins libqcustomplot-dev
    libtorch-dev libopenblas0-pthread
    dataset-fashion-mnist
    fonts-dejavu-core xvfb xauth poppler-utils
    dpkg-dev desktop-file-utils appstream
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-debian: all ${#packages[@]} packages already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        echo "setup-debian: installing ${missing[*]} (needs root, using sudo)"
        exec sudo --preserve-env=DEBIAN_FRONTEND bash "$0" "$@"
    fi
    echo "setup-debian: these packages are missing: ${missing[*]}" >&2
    echo "setup-debian: run this script as root (e.g. 'su -c \"bash $0\"') to install them" >&2
    exit 1
fi

echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Without the pthread OpenBLAS, LibTorch falls back to the reference BLAS (10x slower).
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
    *openblas*) echo "setup-debian: BLAS is OpenBLAS ($blas)" ;;
    *) echo "setup-debian: warning: libblas.so.3 resolves to '$blas', not OpenBLAS; training will be slow" >&2 ;;
esac
echo "setup-debian: done"
