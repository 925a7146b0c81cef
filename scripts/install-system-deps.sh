#!/usr/bin/env bash
# Debian packages some tests need. Idempotent: installs only what is missing.
# Each block names the tests that need it.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }

# (blocks are added here as tests need them)

# tests/dashboard (headless browser test of the dashboard page): Debian's chromium.
if [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi

# tests/chain, tests/ops (go-no-go RPC checks): node >= 16 and npm, for the local chain (ganache).
node_ok() { have node && have npm && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 16 ]; }
if ! node_ok; then need+=(nodejs npm); fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# tests/chain, tests/ops: ganache and the published contract artifacts (Conditional Tokens,
# OpenZeppelin ERC-20) from the project's own lock file (tools/chain), no other download.
chain_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/chain"
if ! node_ok; then echo "install-system-deps: node >= 16 with npm is required for tools/chain" >&2; exit 1; fi
if [ ! -f "$chain_dir/node_modules/ganache/dist/node/cli.js" ] \
   || [ ! -f "$chain_dir/node_modules/@gnosis.pm/conditional-tokens-contracts/build/contracts/ConditionalTokens.json" ] \
   || [ "$chain_dir/package-lock.json" -nt "$chain_dir/node_modules/.package-lock.json" ]; then
  (cd "$chain_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
