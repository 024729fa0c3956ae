#!/bin/sh
# word-count: counts the words of the input TEXT and writes the count to OUTPUT_DIR/report.txt.
# seed run injects TEXT (the input file's path in the container) and OUTPUT_DIR (where outputs go).
set -u
[ -r "${TEXT:-}" ] || { echo "word-count: cannot read the input TEXT" >&2; exit 2; }   # bad-input
words=$(wc -w < "$TEXT" | tr -d ' ')
echo "$words words" > "$OUTPUT_DIR/report.txt" || exit 3                             # write-failed
echo "word-count: $words words in $(basename "$TEXT")"
