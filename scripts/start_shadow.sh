#!/usr/bin/env bash
# Phase 0: start shadow (live data, simulated venue, no money) only if go-no-go passes.
# go-no-go exit 0 (PASS or WARN) starts; exit 1 (any FAIL) or 2 (bad input) refuses.
# Extra arguments go to `polyarb shadow`. Overrides (for rehearsals and tests):
#   POLYARB_ROOT, POLYARB (see scripts/lib/gate.sh)
#   POLYARB_SHADOW_CMD  command started after the gate (default: "$POLYARB shadow")
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/gate.sh"
profile="$root/profiles/live_shadow_atomic_v1.yaml"

echo "start_shadow: running go-no-go for phase 0 ..." >&2
gate start_shadow 0 "$profile" "NOT starting shadow." docs/PRODUCTION_RUNBOOK.md
cd "$root"
exec ${POLYARB_SHADOW_CMD:-$polyarb shadow} --profile "$profile" "$@"
