#!/bin/sh
# Conformance probe "fs": what the job may write and what it may not. Given INPUT_FILE (one file),
# INPUT_FILES (a folder of plain files), and the mounts RO_MOUNT, RW_MOUNT and DEFAULT_MOUNT (no mode: ro), each a
# host folder holding marker.txt ("conformance mount").
. /conformance/lib.sh

output_dir_ok() {
  d="${OUTPUT_DIR-}"
  [ -d "$d" ] && echo written >"$d/fs-probe.txt" && [ "$(cat "$d/fs-probe.txt")" = written ] &&
    mkdir -p "$d/fs-probe-dir/sub" && echo nested >"$d/fs-probe-dir/sub/file.txt" && rm -r "$d/fs-probe-dir" &&
    rm "$d/fs-probe.txt"
}
inputs_read_only() {
  read_only_file "${INPUT_FILE-}" || return 1
  for f in "${INPUT_FILES:-/nonexistent}"/*; do read_only_file "$f" || return 1; done
}
input_folders_read_only() {
  [ -n "${INPUT_FILE-}" ] && read_only_dir "$(dirname "$INPUT_FILE")" && read_only_dir "${INPUT_FILES-}"
}
marker_ok() { [ "$(cat "$1/marker.txt")" = "conformance mount" ]; }
ro_mount_ok() { marker_ok "$1" && read_only_dir "$1" && ! can_append "$1/marker.txt"; }
rw_mount_ok() {
  marker_ok "$1" && can_create_in "$1" && echo written >"$1/rw-probe.txt" && rm "$1/rw-probe.txt"
}

check fs.output-dir-writable "files and folders can be created in OUTPUT_DIR" output_dir_ok
check fs.inputs-read-only "INPUT_FILE and every file of INPUT_FILES cannot be written (read-only mounts)" inputs_read_only
check fs.input-folders-read-only "nothing can be created in INPUT_FILE's folder nor in INPUT_FILES" input_folders_read_only
check fs.input-metadata-read-only "INPUT_METADATA cannot be written (read-only mount)" read_only_file "${INPUT_METADATA-}"
check fs.mount-ro "mount /mnt/conformance/ro (ro) shows its files and cannot be written" ro_mount_ok /mnt/conformance/ro
check fs.mount-rw "mount /mnt/conformance/rw (rw) shows its files and can be written" rw_mount_ok /mnt/conformance/rw
check fs.mount-default-ro "mount /mnt/conformance/default (no mode) is read-only" ro_mount_ok /mnt/conformance/default
finish
