# The reporting side of every conformance probe (sourced by probe.sh): one TAP line per check, each naming its
# test id ("ok - env.json-string: ..."), printed, then written to OUTPUT_DIR/conformance.tap and, as the JSON
# output TAP, to OUTPUT_DIR/seed.outputs.json, so the host reads the verdicts from the result document even
# when it cannot see the run's folder. A probe always exits 0: its checks are its report, not its exit code.
set -u

nl='
'
tap=""
tap_count=0

# say LINE: one TAP line (control characters, newlines included, become spaces).
say() {
  line="$(printf '%s' "$1" | tr '\001-\037' ' ')"
  echo "$line"
  tap="$tap$line$nl"
}

# check ID DETAIL COMMAND...: run COMMAND (its output hidden); "ok" when it succeeds.
check() {
  id="$1"
  detail="$2"
  shift 2
  tap_count=$((tap_count + 1))
  if "$@" >/dev/null 2>&1; then
    say "ok - $id: $detail"
  else
    say "not ok - $id: $detail"
  fi
}

# skip ID DETAIL REASON: a check that cannot be made here (a pass, marked SKIP).
skip() {
  tap_count=$((tap_count + 1))
  say "ok - $1: $2 # SKIP $3"
}

# finish: the plan line, then conformance.tap and seed.outputs.json ({"TAP": "<the lines>"}); exit 0.
finish() {
  say "1..$tap_count"
  dir="${OUTPUT_DIR:-/nonexistent}"
  printf '%s' "$tap" >"$dir/conformance.tap" 2>/dev/null
  # the lines as one JSON string: backslashes and quotes escaped, lines joined by \n
  text="$(printf '%s' "$tap" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }')"
  printf '{"TAP": "%s"}\n' "$text" >"$dir/seed.outputs.json" 2>/dev/null
  exit 0
}

# --- conditions for check ----------------------------------------------------------------------------------
is_unset() { eval "[ -z \"\${$1+x}\" ]"; }
# equals NAME VALUE: the variable is set to exactly VALUE.
equals() { eval "[ \"\${$1+x}\" = x ] && [ \"\${$1}\" = \"\$2\" ]"; }
# Writability is tried, never read from the mode bits: the job may run as any uid, and root ignores the bits
# (but not a read-only mount). Read-only means both: writing fails, and the mount itself is ro.
can_append() { (: >>"$1") 2>/dev/null; }
can_create_in() {
  probe_file="$1/.seed-conformance.$$"
  (: >"$probe_file") 2>/dev/null || return 1
  rm -f "$probe_file"
}
# The options of the mount that holds PATH (the last /proc/mounts entry of its closest mount point).
mount_options() {
  p="$1"
  while :; do
    opts="$(awk -v mp="$p" '$2 == mp { o = $4 } END { print o }' /proc/mounts)"
    [ -n "$opts" ] && { echo "$opts"; return 0; }
    [ "$p" = / ] && return 1
    p="$(dirname "$p")"
  done
}
on_read_only_mount() { case ",$(mount_options "$1")," in *,ro,*) return 0 ;; esac; return 1; }
read_only_file() { [ -f "$1" ] && ! can_append "$1" && on_read_only_mount "$1"; }
read_only_dir() { [ -d "$1" ] && ! can_create_in "$1" && on_read_only_mount "$1"; }
