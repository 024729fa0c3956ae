#!/bin/sh
# Usage: upper.sh PART OUTPUT_DIR   (DELAY, a JSON input, comes as an environment variable)
# Writes PART in capitals as OUTPUT_DIR/<same name>; exit 3 (quiet-text) when PART holds the word "quiet".
set -u
input="$1"
outdir="$2"
delay="${DELAY:-0}"
[ "$delay" -gt 0 ] 2>/dev/null && sleep "$delay"
[ -r "$input" ] || { echo "cannot read $input" >&2; exit 1; }
if grep -qw quiet "$input"; then
  echo "$(basename "$input") holds the word 'quiet': it cannot be shouted" >&2
  exit 3
fi
tr 'a-z' 'A-Z' < "$input" > "$outdir/$(basename "$input")" || exit 1
echo "shouted $(basename "$input")"
