#!/usr/bin/env bash
# Phase 0: start shadow (live data, simulated venue, no money) only if go-no-go passes.
# go-no-go exit 0 (PASS or WARN) starts; exit 1 (any FAIL) or 2 (bad input) refuses.
#
#   scripts/start_shadow.sh [--profile FILE] [--rollback] WHAT-TO-WATCH [shadow options]
#
# --profile FILE  the dry_run profile to gate on AND run (default live_shadow_atomic_v1)
# --rollback      emergency rollback from a live phase: go-no-go --phase 0 --rollback
#                 accepts the live opt-in still in .env (a WARN), so .env is not edited
# Everything else goes to `polyarb shadow` (targets, --event, --markets-from, --duration…).
# Overrides (for rehearsals and tests):
#   POLYARB_ROOT, POLYARB (see scripts/lib/gate.sh)
#   POLYARB_SHADOW_CMD  command started after the gate (default: "$POLYARB shadow")
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/gate.sh"
profile="$root/profiles/live_shadow_atomic_v1.yaml"
gate_args=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || { echo "start_shadow: --profile needs a file" >&2; exit 2; }
               profile="$(abs_path "$2")"; shift 2 ;;
    --profile=*) profile="$(abs_path "${1#--profile=}")"; shift ;;
    --rollback) gate_args+=(--rollback); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ ${#args[@]} -eq 0 ]; then
  cat >&2 <<'USAGE'
start_shadow: say what to watch. Shadow subscribes to markets you name:
  scripts/start_shadow.sh --event SOME-EVENT-SLUG          every market of one event
  scripts/start_shadow.sh TOKEN_ID|0xCONDITION|MARKET-SLUG  single markets
  scripts/start_shadow.sh --markets-from SESSION            the markets a recorded session had
Options: --profile FILE (default profiles/live_shadow_atomic_v1.yaml), --rollback,
and any `polyarb shadow` option (--duration S, --session ID). Neg-risk events:
scripts/start_shadow_negrisk.sh --event SLUG. See docs/PRODUCTION_RUNBOOK.md.
USAGE
  exit 2
fi

echo "start_shadow: running go-no-go for phase 0 on $profile ..." >&2
gate start_shadow 0 "$profile" "NOT starting shadow." docs/PRODUCTION_RUNBOOK.md \
  ${gate_args[@]+"${gate_args[@]}"}
cd "$root"
exec ${POLYARB_SHADOW_CMD:-$polyarb shadow} --profile "$profile" "${args[@]}"
