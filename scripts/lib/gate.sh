# Sourced by the start scripts: where polyarb is, and the go/no-go gate they share.
# Overrides (for rehearsals and tests):
#   POLYARB_ROOT  project folder (default: this checkout)
#   POLYARB       polyarb command (default: ROOT/.venv/bin/polyarb, else polyarb)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${POLYARB_ROOT:-$here}"
default_bin="polyarb"; [ -x "$here/.venv/bin/polyarb" ] && default_bin="$here/.venv/bin/polyarb"
polyarb="${POLYARB:-$default_bin}"

# gate NAME PHASE PROFILE REFUSAL DOC [GO-NO-GO ARGS...]: exit 1 with REFUSAL unless
# go-no-go passes (exit 0) for PROFILE, the very profile the script then starts.
gate() {
  local name="$1" phase="$2" profile="$3" refusal="$4" doc="$5"
  shift 5
  if ! $polyarb go-no-go --phase "$phase" --root "$root" --profile "$profile" "$@"; then
    echo "$name: go-no-go FAILED for phase $phase: $refusal (profile $profile)" >&2
    echo "$name: see $root/reports/go_no_go/phase$phase.json and $doc" >&2
    exit 1
  fi
}

# abs_path PATH: PATH made absolute against the caller's folder (the scripts cd to ROOT).
abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}
