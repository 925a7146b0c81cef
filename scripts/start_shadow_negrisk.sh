#!/usr/bin/env bash
# Phase 0 for neg-risk events: start_shadow.sh with profiles/live_shadow_negrisk_v1.yaml,
# gated by go-no-go on that same profile. Arguments as for start_shadow.sh, typically
#   scripts/start_shadow_negrisk.sh --event SOME-NEG-RISK-EVENT-SLUG
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/gate.sh"
exec bash "$(dirname "${BASH_SOURCE[0]}")/start_shadow.sh" \
  --profile "$root/profiles/live_shadow_negrisk_v1.yaml" "$@"
