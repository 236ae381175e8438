#!/usr/bin/env bash
# Makes sure Node can get a WebGPU adapter (Dawn, via the `webgpu` package) before
# tests, the demo or CI start. A machine with a real GPU driver passes the probe and
# nothing is installed. Without one, on Debian or Ubuntu as root, it installs Mesa's
# lavapipe (software Vulkan); elsewhere it says what to install and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d -t mugraph-xdg-XXXXXX)}"

probe() {
  node --input-type=module -e "
    import { create, globals } from 'webgpu';
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) process.exit(3);
    const info = adapter.info;
    console.log('WebGPU adapter:', [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unnamed');
    process.exit(0);
  " 2>/dev/null
}

if [ ! -d node_modules/webgpu ]; then
  # A devDependency here (the tests need it); users of the package install it only for the GPU commands.
  echo "ensure-webgpu: node_modules/webgpu is missing; run 'npm install' first." >&2
  exit 1
fi

if probe; then exit 0; fi

echo "ensure-webgpu: no WebGPU adapter; trying to install a software Vulkan driver (Mesa lavapipe)." >&2

. /etc/os-release 2>/dev/null || true
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || { [ "${ID:-}" != debian ] && [ "${ID:-}" != ubuntu ]; }; then
  cat >&2 <<MSG
ensure-webgpu: cannot install it here (needs root on Debian or Ubuntu; this is ${PRETTY_NAME:-an unknown system}, uid $(id -u)).
Install one of:
  - a GPU driver with Vulkan support (NVIDIA, AMD, Intel), or
  - Mesa >= 24 lavapipe (software Vulkan) and the Vulkan loader:
      Debian 12:  add bookworm-backports, then: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1
      Debian 13 / Ubuntu 24.04+:  apt-get install mesa-vulkan-drivers libvulkan1
      Fedora:  dnf install mesa-vulkan-drivers vulkan-loader
Then re-run this command.
MSG
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  # Mesa 22 in bookworm lacks a Vulkan feature Dawn requires (the adapter comes back null).
  list=/etc/apt/sources.list.d/mugraph-bookworm-backports.sources
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$list"
  fi
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi

if probe; then exit 0; fi
echo "ensure-webgpu: installed Mesa's Vulkan driver but still no WebGPU adapter; check 'vulkaninfo --summary' (package vulkan-tools)." >&2
exit 1
