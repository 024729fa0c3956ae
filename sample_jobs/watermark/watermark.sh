#!/bin/sh
# Usage: watermark.sh INPUT_IMAGE OUTPUT_DIR
# Checks that the input is a PNG, then writes <name>_watermark.png: the image with a PNG tEXt-style trailer
# naming the watermark (busybox has no image library; the point is the Seed contract, not the pixels).
set -u
input="$1"
outdir="$2"
[ -r "$input" ] || { echo "cannot read $input" >&2; exit 1; }
signature="$(head -c 8 "$input" | od -An -tx1 | tr -d ' \n')"
[ "$signature" = "89504e470d0a1a0a" ] || { echo "$input is not a PNG image" >&2; exit 1; }
name="$(basename "$input" .png)"
out="$outdir/${name}_watermark.png"
{ cat "$input"; printf 'seed-runner watermark'; } > "$out" || exit 2
echo "wrote $out"
