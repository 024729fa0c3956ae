#!/bin/sh
# Conformance probe "timeout": sleeps 15 s; SIGTERM is noted in terminated.txt and otherwise ignored, so only
# SIGKILL ends it early. An executor that never stops it sees it exit 0 after 15 s.
trap 'echo terminated >"$OUTPUT_DIR/terminated.txt"' TERM
sleep 15 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
exit 0
