#!/bin/sh
# Conformance probe "errors": writes its output report.txt when $2 (WRITE_OUTPUT) is true, then exits with $1
# (EXIT_CODE).
if [ "$2" = true ]; then echo report >"$OUTPUT_DIR/report.txt"; fi
exit "$1"
