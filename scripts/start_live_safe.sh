#!/usr/bin/env bash
# Phase 1 ($2/trade, real money): refuses unless `polyarb go-no-go --phase 1` passes, then runs
# `polyarb live` with the phase-1 profile. `polyarb live` checks its own guards again before it
# connects (mode: live profile, POLYARB_DRY_RUN=false, .env mode 600, a fresh passing
# go-no-go, --confirm): pass --confirm and the markets (TARGET..., --event, --markets-from).
# Stop it with `polyarb stop --session S` or SIGTERM (cancels all open orders).
# Overrides: POLYARB_ROOT, POLYARB, POLYARB_LIVE_CMD (see scripts/lib/gate.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/gate.sh"
profile="$root/profiles/live_safe_atomic_v1.yaml"

echo "start_live_safe: running go-no-go for phase 1 (live, \$2/trade) ..." >&2
gate start_live_safe 1 "$profile" "live trading stays OFF." docs/GO_NO_GO_CHECKLIST.md
cd "$root"
exec ${POLYARB_LIVE_CMD:-$polyarb live} --profile "$profile" --root "$root" --env "$root/.env" "$@"
