#!/bin/sh
# Usage: split.sh TEXT OUTPUT_DIR
# One part file per line of TEXT (part-0001.txt...), and seed.outputs.json {"count": N}.
set -u
input="$1"
outdir="$2"
[ -r "$input" ] || { echo "cannot read $input" >&2; exit 1; }
awk -v out="$outdir" '{ f = sprintf("%s/part-%04d.txt", out, NR); print > f; close(f) }
  END { printf "{\"count\": %d}\n", NR > (out "/seed.outputs.json") }' "$input" || exit 2
echo "split $input into $(ls "$outdir" | grep -c '^part-') parts"
