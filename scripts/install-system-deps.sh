#!/usr/bin/env bash
# Debian packages some tests need. Idempotent: installs only what is missing.
# Each block names the tests that need it.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }

# (blocks are added here as tests need them)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
