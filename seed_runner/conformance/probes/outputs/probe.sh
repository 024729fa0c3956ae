#!/bin/sh
# Conformance probe "outputs": writes what the output patterns must capture, and what they must leave; the host
# judges the result document (seed_runner/conformance/judges.py holds the same contents and names).
set -eu
cd "$OUTPUT_DIR"
printf 'conformance report\n' >report.txt
printf '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [10, 20]}, "properties": {"name": "report"}}\n' \
  >report.txt.metadata.json
printf 'log line\n' >run.log
printf 'hidden\n' >.hidden.log
for i in 1 2 3; do printf 'part %s\n' "$i" >"part-$i.dat"; done
printf '{"type": "Point", "coordinates": [1, 2]}\n' >part-1.dat.metadata.json
mkdir part-dir sub
printf 'part 4\n' >sub/part-4.dat
printf 'bad\n' >bad.txt
printf '{"type": "Point", "coordinates": [1,\n' >bad.txt.metadata.json
printf '{"cellCount": 3, "RATIO": 0.25, "LABEL": "done", "ignored": true}\n' >seed.outputs.json
