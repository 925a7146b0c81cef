#!/usr/bin/env bash
# Phase 1 ($2/trade, real money): refuses unless `polyarb go-no-go --phase 1` passes.
# The live venue is not part of this build: after the gate passes, this script says so and
# exits 3 without trading. Overrides: POLYARB_ROOT, POLYARB (see scripts/lib/gate.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/gate.sh"
profile="$root/profiles/live_safe_atomic_v1.yaml"

echo "start_live_safe: running go-no-go for phase 1 (live, \$2/trade) ..." >&2
gate start_live_safe 1 "$profile" "live trading stays OFF." docs/GO_NO_GO_CHECKLIST.md
echo "start_live_safe: go-no-go passed, but the live venue is not available in this build;" \
     "nothing was started and no order was sent." >&2
exit 3
