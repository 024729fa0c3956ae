#!/usr/bin/env bash
# Make sure Node.js is present: cwltool evaluates the JavaScript of `seed export cwl` tools with it
# (tests/test_export_cwl*.py). Debian's nodejs package when `node` is missing; an existing node is used as it is.
set -euo pipefail

name=ensure-node
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1; then
  log "node is present"
  exit 0
fi
log "installing nodejs"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || { log "nodejs did not install"; exit 1; }
