# Sourced by the start scripts: where polyarb is, and the go/no-go gate they share.
# Overrides (for rehearsals and tests):
#   POLYARB_ROOT  project folder (default: this checkout)
#   POLYARB       polyarb command (default: ROOT/.venv/bin/polyarb, else polyarb)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${POLYARB_ROOT:-$here}"
default_bin="polyarb"; [ -x "$here/.venv/bin/polyarb" ] && default_bin="$here/.venv/bin/polyarb"
polyarb="${POLYARB:-$default_bin}"

# gate NAME PHASE PROFILE REFUSAL DOC: exit 1 with REFUSAL unless go-no-go passes (exit 0).
gate() {
  local name="$1" phase="$2" profile="$3" refusal="$4" doc="$5"
  if ! $polyarb go-no-go --phase "$phase" --root "$root" --profile "$profile"; then
    echo "$name: go-no-go FAILED for phase $phase: $refusal" >&2
    echo "$name: see $root/reports/go_no_go/latest.json and $doc" >&2
    exit 1
  fi
}
