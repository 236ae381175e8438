#!/usr/bin/env bash
# Makes sure a Chromium is available for the playground's browser test
# (test/e2e/playground.test.ts), which drives it headless with playwright-core on WebGPU.
# The browser is $MUGRAPH_CHROMIUM if set, else /usr/bin/chromium. If it is missing, on
# Debian or Ubuntu as root this installs the distribution's `chromium` package; elsewhere
# it says what to install and fails. Never downloads a browser any other way.
set -euo pipefail

browser="${MUGRAPH_CHROMIUM:-/usr/bin/chromium}"

probe() {
  [ -x "$browser" ] && "$browser" --headless=new --no-sandbox --version 2>/dev/null
}

if probe >/dev/null; then exit 0; fi

if [ -n "${MUGRAPH_CHROMIUM:-}" ]; then
  echo "ensure-chromium: MUGRAPH_CHROMIUM=$MUGRAPH_CHROMIUM is not a runnable Chromium; fix the path or unset it." >&2
  exit 1
fi

echo "ensure-chromium: $browser not found; trying to install Chromium." >&2

. /etc/os-release 2>/dev/null || true
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || { [ "${ID:-}" != debian ] && [ "${ID:-}" != ubuntu ]; }; then
  cat >&2 <<MSG
ensure-chromium: cannot install it here (needs root on Debian or Ubuntu; this is ${PRETTY_NAME:-an unknown system}, uid $(id -u)).
The playground test needs a Chromium with WebGPU (version 113 or later). Either
  - install it:  Debian: apt-get install chromium    Ubuntu: apt-get install chromium-browser (or the snap)
                 Fedora: dnf install chromium         macOS: install Google Chrome or Chromium
  - or point MUGRAPH_CHROMIUM at an existing Chrome/Chromium executable, e.g.
      MUGRAPH_CHROMIUM="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
Then re-run this command.
MSG
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ "${ID:-}" = ubuntu ]; then
  apt-get install -y -qq chromium-browser >/dev/null
  [ -x "$browser" ] || ln -sf "$(command -v chromium-browser)" "$browser"
else
  apt-get install -y -qq chromium >/dev/null
fi

if version="$(probe)"; then
  echo "ensure-chromium: installed $version" >&2
  exit 0
fi
echo "ensure-chromium: installed the chromium package but $browser still does not run; try '$browser --headless=new --no-sandbox --version'." >&2
exit 1
