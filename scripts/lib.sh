# Shared by the set-up scripts (sourced, not run): logging with the script's name, and running as root.
# The caller sets `name` before sourcing.

log() { printf '%s: %s\n' "${name:-setup}" "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*  (run this script as root or install sudo)"; exit 1
  fi
}
