#!/bin/sh
# Conformance probe "capture": exits 0 with outputs that break one capture rule, chosen by $1 (MODE).
set -eu
cd "$OUTPUT_DIR"
case "$1" in
  missing) echo '{"COUNT": 1}' >seed.outputs.json ;;
  many) echo one >report-1.txt; echo two >report-2.txt; echo '{"COUNT": 2}' >seed.outputs.json ;;
  nojson) echo report >report.txt ;;
  wrongtype) echo report >report.txt; echo '{"COUNT": "three"}' >seed.outputs.json ;;
  *) echo "unknown mode $1" >&2; exit 9 ;;
esac
