#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests. The project never downloads a browser
# build of its own: the system package is the only one it uses.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "chromium is missing and this user cannot install it; browser tests will be skipped." >&2
    exit 0
  fi
else
  SUDO=
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing and apt-get is not available; browser tests will be skipped." >&2
  exit 0
fi
echo "Installing Debian chromium for the report-rendering tests..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
