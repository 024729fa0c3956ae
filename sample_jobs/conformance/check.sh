#!/bin/sh
# Seed executor conformance check: run by an executor with the manifest beside this file, it checks from inside
# the container every part of the runtime contract that seed-runner implements (docs/DECISIONS.md) and exits with
# the number of failed checks (0 = conforming). One line per check, TAP style: "ok - ..." / "not ok - ...",
# then the plan "1..N".
# The lines also go to $OUTPUT_DIR/result.txt; seed.outputs.json gets {"checksRun": N}.
# Usage (from the manifest's command): check.sh INPUT_FILE OUTPUT_DIR VERSION [--optional OPTIONAL_FILE]
set -u

argc=$#
arg1="${1-}"
arg2="${2-}"
arg3="${3-}"
nl='
'
run=0
failed=0
result="${OUTPUT_DIR:-/nonexistent}/result.txt"

say() {
  echo "$1"
  { echo "$1" >>"$result"; } 2>/dev/null
}

# check NAME COMMAND...: run COMMAND (stdout and stderr hidden), "ok" when it succeeds.
check() {
  name="$1"
  shift
  run=$((run + 1))
  if "$@" >/dev/null 2>&1; then
    say "ok - $name"
  else
    failed=$((failed + 1))
    say "not ok - $name"
  fi
}

# skip NAME REASON: a check that cannot be made here (counted as run, not as failed).
skip() {
  run=$((run + 1))
  say "ok - $1 # SKIP $2"
}

# --- helpers: each is a condition for check -------------------------------------------------------------------
is_unset() { eval "[ -z \"\${$1+x}\" ]"; }
# matches VALUE ERE: the whole value (newlines included) matches the extended regular expression.
matches() { V="$1" awk -v re="$2" 'BEGIN { exit !(ENVIRON["V"] ~ re) }'; }
has_no_newline() { case "$1" in *"$nl"*) return 1 ;; esac; }
# Writability is tried, never read from the mode bits: the job may run as any uid, and root ignores the bits
# (but not a read-only mount). A file that cannot be written only because of its mode is not enough for
# "read-only": the mount must be ro too (see read_only_file).
can_append() { (: >>"$1") 2>/dev/null; }
can_create_in() {
  probe="$1/.seed-conformance-probe.$$"
  (: >"$probe") 2>/dev/null || return 1
  rm -f "$probe"
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
# Read-only means both: writing fails, and the mount itself is ro (so it does not depend on the file's mode).
read_only_file() { [ -f "$1" ] && ! can_append "$1" && on_read_only_mount "$1"; }
read_only_dir() { [ -d "$1" ] && ! can_create_in "$1" && on_read_only_mount "$1"; }
regular_files_in() { find "$1" -mindepth 1 -maxdepth 1 -type f | wc -l; }
dirs_in() { find "$1" -mindepth 1 -maxdepth 1 -type d | wc -l; }
at_least_two_files() { [ -d "$1" ] && [ "$(regular_files_in "$1")" -ge 2 ]; }
no_subdirectories() { [ -d "$1" ] && [ "$(dirs_in "$1")" -eq 0 ]; }
mentions_job_and_input_file() { grep -q '"JOB"' "$1" && grep -q '"INPUT_FILE"' "$1"; }
owned_by_me() { [ "$(stat -c %u "$1")" = "$(id -u)" ]; }
dir_readable() { [ -d "$1" ] && ls "$1" >/dev/null; }

# The input size in bytes: every file of every file input that was given.
input_bytes() {
  {
    [ -f "${INPUT_FILE-}" ] && stat -c %s "$INPUT_FILE"
    [ -f "${OPTIONAL_FILE-}" ] && stat -c %s "$OPTIONAL_FILE"
    [ -d "${INPUT_FILES-}" ] && find "$INPUT_FILES" -mindepth 1 -maxdepth 1 -type f -exec stat -c %s {} +
  } | awk '{ total += $1 } END { printf "%.0f", total }'
}
# ALLOCATED_DISK: value 100 + inputMultiplier 4 * total input MiB (unrounded), six decimals.
expected_disk() { awk -v b="$(input_bytes)" 'BEGIN { printf "%.6f", 100 + 4 * (b / 1048576) }'; }
allocated_disk_ok() { [ "${ALLOCATED_DISK-}" = "$(expected_disk)" ]; }
shm_kib() { df -k /dev/shm | awk 'NR == 2 { print $2 }'; }
shm_at_least_32mib() { [ "$(shm_kib)" -ge 32768 ]; }
memory_limit_file() {
  for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max; do
    [ -r "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}
memory_limit_is_64mib() { [ "$(cat "$(memory_limit_file)")" = 67108864 ]; }
outputs_json_ok() {
  printf '{"checksRun": %d}\n' "$1" >"$OUTPUT_DIR/seed.outputs.json" &&
    [ "$(cat "$OUTPUT_DIR/seed.outputs.json")" = "{\"checksRun\": $1}" ]
}

# Start result.txt afresh (a rerun into the same directory must not append to an old report).
(: >"$result") 2>/dev/null # in a subshell: a failed redirection of ':' (a special builtin) ends the shell

# --- arguments: the command "${INPUT_FILE} ${OUTPUT_DIR} ${VERSION} ${OPTIONAL_FILE/#/--optional }" ----------
check "exactly 3 arguments (the optional one absent), got $argc" [ "$argc" -eq 3 ]
check "\$1 equals \$INPUT_FILE" [ -n "$arg1" -a "$arg1" = "${INPUT_FILE-}" ]
check "\$2 equals \$OUTPUT_DIR" [ -n "$arg2" -a "$arg2" = "${OUTPUT_DIR-}" ]
check "\$3 equals \$VERSION" [ -n "$arg3" -a "$arg3" = "${VERSION-}" ]

# --- output directory ---------------------------------------------------------------------------------------
check "OUTPUT_DIR is /seed/outputs" [ "${OUTPUT_DIR-}" = /seed/outputs ]
check "OUTPUT_DIR is a directory" [ -d "${OUTPUT_DIR-}" ]
check "OUTPUT_DIR is writable" can_create_in "${OUTPUT_DIR-}"

# --- file inputs ---------------------------------------------------------------------------------------------
check "INPUT_FILE is a readable regular file" [ -f "${INPUT_FILE-}" -a -r "${INPUT_FILE-}" ]
check "INPUT_FILE is directly under /seed/inputs/INPUT_FILE/" [ "$(dirname "${INPUT_FILE-/}")" = /seed/inputs/INPUT_FILE ]
check "INPUT_FILE is not writable (read-only mount)" read_only_file "${INPUT_FILE-}"
check "INPUT_FILES is the directory /seed/inputs/INPUT_FILES" [ "${INPUT_FILES-}" = /seed/inputs/INPUT_FILES -a -d "${INPUT_FILES-}" ]
check "INPUT_FILES holds at least 2 regular files directly" at_least_two_files "${INPUT_FILES-}"
check "INPUT_FILES holds no subdirectories (flat)" no_subdirectories "${INPUT_FILES-}"
check "INPUT_FILES is not writable (read-only mount)" read_only_dir "${INPUT_FILES-}"
check "OPTIONAL_FILE (not given) is unset, not empty" is_unset OPTIONAL_FILE

# --- JSON inputs ---------------------------------------------------------------------------------------------
check "INPUT_JSON (string) is non-empty and raw, without quotes" matches "${INPUT_JSON-}" '^[^"](.*[^"])?$'
check "COUNT (integer) is a JSON integer literal" matches "${COUNT-}" '^-?[0-9]+$'
check "OPTIONS (object) is compact JSON: {...} on one line" matches "${OPTIONS-}" '^[{].*[}]$'
check "OPTIONS has no newline" has_no_newline "${OPTIONS-}"
check "FLAG (boolean) is true or false" matches "${FLAG-}" '^(true|false)$'
check "OPTIONAL_JSON (not given) is unset, not empty" is_unset OPTIONAL_JSON

# --- settings (values never printed: DB_PASS is a secret) ----------------------------------------------------
check "VERSION is non-empty" [ -n "${VERSION-}" ]
check "DB_HOST is non-empty" [ -n "${DB_HOST-}" ]
check "DB_PASS (secret) is non-empty" [ -n "${DB_PASS-}" ]

# --- INPUT_METADATA ------------------------------------------------------------------------------------------
check "INPUT_METADATA names a readable file" [ -f "${INPUT_METADATA-}" -a -r "${INPUT_METADATA-}" ]
check "INPUT_METADATA is not writable (read-only mount)" read_only_file "${INPUT_METADATA-}"
check "INPUT_METADATA holds \"JOB\" and \"INPUT_FILE\"" mentions_job_and_input_file "${INPUT_METADATA-}"

# --- mounts --------------------------------------------------------------------------------------------------
check "mount /the/container/path is readable" dir_readable /the/container/path
check "mount /the/container/path (ro) is not writable" read_only_dir /the/container/path
check "mount /write (rw) is writable" can_create_in /write

# --- resources -----------------------------------------------------------------------------------------------
check "ALLOCATED_CPUS is 1.000000 (got ${ALLOCATED_CPUS-unset})" [ "${ALLOCATED_CPUS-}" = 1.000000 ]
check "ALLOCATED_MEM is 64 (got ${ALLOCATED_MEM-unset})" [ "${ALLOCATED_MEM-}" = 64 ]
check "ALLOCATED_SHAREDMEM is 32 (got ${ALLOCATED_SHAREDMEM-unset})" [ "${ALLOCATED_SHAREDMEM-}" = 32 ]
check "ALLOCATED_DISK is 100 + 4 x input MiB = $(expected_disk) (got ${ALLOCATED_DISK-unset})" allocated_disk_ok
check "/dev/shm is at least 32 MiB (got $(shm_kib) KiB)" shm_at_least_32mib
if limit_file="$(memory_limit_file)"; then
  check "memory limit ($limit_file) is 64 MiB (got $(cat "$limit_file"))" memory_limit_is_64mib
else
  skip "memory limit is 64 MiB" "no readable cgroup memory limit"
fi

# --- outputs -------------------------------------------------------------------------------------------------
check "OUTPUT_DIR/result.txt was written" [ -s "${OUTPUT_DIR-}/result.txt" ]
check "result.txt is owned by the job's uid ($(id -u))" owned_by_me "${OUTPUT_DIR-}/result.txt"
# The last check writes seed.outputs.json, counting itself.
check "seed.outputs.json written: {\"checksRun\": $((run + 1))}" outputs_json_ok $((run + 1))

say "1..$run"
say "# $failed of $run checks failed"
exit "$failed"
