#!/usr/bin/env bash
# Phase 1 ($2/trade, real money): refuses unless `polyarb go-no-go --phase 1` passes.
# The live venue is not part of this build: after the gate passes, this script says so and
# exits 3 without trading. Overrides: POLYARB_ROOT, POLYARB (see start_shadow.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${POLYARB_ROOT:-$here}"
default_bin="polyarb"; [ -x "$here/.venv/bin/polyarb" ] && default_bin="$here/.venv/bin/polyarb"
polyarb="${POLYARB:-$default_bin}"
profile="$root/profiles/live_safe_atomic_v1.yaml"

echo "start_live_safe: running go-no-go for phase 1 (live, \$2/trade) ..." >&2
if ! $polyarb go-no-go --phase 1 --root "$root" --profile "$profile"; then
  echo "start_live_safe: go-no-go FAILED for phase 1: live trading stays OFF." >&2
  echo "start_live_safe: see $root/reports/go_no_go/latest.json and docs/GO_NO_GO_CHECKLIST.md" >&2
  exit 1
fi
echo "start_live_safe: go-no-go passed, but the live venue is not available in this build;" \
     "nothing was started and no order was sent." >&2
exit 3
