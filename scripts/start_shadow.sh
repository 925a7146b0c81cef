#!/usr/bin/env bash
# Phase 0: start shadow (live data, simulated venue, no money) only if go-no-go passes.
# go-no-go exit 0 (PASS or WARN) starts; exit 1 (any FAIL) or 2 (bad input) refuses.
# Extra arguments go to `polyarb shadow`. Overrides (for rehearsals and tests):
#   POLYARB_ROOT        project folder (default: this checkout)
#   POLYARB             polyarb command (default: ROOT/.venv/bin/polyarb, else polyarb)
#   POLYARB_SHADOW_CMD  command started after the gate (default: "$POLYARB shadow")
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${POLYARB_ROOT:-$here}"
default_bin="polyarb"; [ -x "$here/.venv/bin/polyarb" ] && default_bin="$here/.venv/bin/polyarb"
polyarb="${POLYARB:-$default_bin}"
profile="$root/profiles/live_shadow_atomic_v1.yaml"

echo "start_shadow: running go-no-go for phase 0 ..." >&2
if ! $polyarb go-no-go --phase 0 --root "$root" --profile "$profile"; then
  echo "start_shadow: go-no-go FAILED for phase 0: NOT starting shadow." >&2
  echo "start_shadow: see $root/reports/go_no_go/latest.json and docs/PRODUCTION_RUNBOOK.md" >&2
  exit 1
fi
cd "$root"
exec ${POLYARB_SHADOW_CMD:-$polyarb shadow} --profile "$profile" "$@"
