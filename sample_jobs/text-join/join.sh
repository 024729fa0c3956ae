#!/bin/sh
# Usage: join.sh PARTS_DIR OUTPUT_DIR
# Every file of PARTS_DIR, in the order of their names, into OUTPUT_DIR/joined.txt.
set -u
parts="$1"
outdir="$2"
: > "$outdir/joined.txt"
for part in $(ls "$parts" | sort); do
  cat "$parts/$part" >> "$outdir/joined.txt" || exit 1
done
echo "joined $(ls "$parts" | wc -l) parts"
