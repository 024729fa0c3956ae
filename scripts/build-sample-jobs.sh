#!/usr/bin/env bash
# Build every job under sample_jobs/ (or the directories given) as a Seed image: the manifest goes into the
# com.ngageoint.seed.manifest label as compact JSON, the tag is <name>-<jobVersion>-seed:<packageVersion>.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
base="${SEED_BUSYBOX_IMAGE:-seed-runner/busybox:1}"
[ "$#" -gt 0 ] || set -- sample_jobs/*/
for dir in "$@"; do
  manifest="$dir/seed.manifest.json"
  [ -f "$manifest" ] || continue
  read -r tag label < <("$python" - "$manifest" <<'PY'
import sys
from seed_runner import load_manifest
from seed_runner.label import encode_label
m = load_manifest(sys.argv[1])
print(m.image_name, encode_label(m.data))
PY
)
  docker build -q --build-arg "BASE_IMAGE=$base" --label "com.ngageoint.seed.manifest=$label" -t "$tag" "$dir" >/dev/null
  echo "built $tag from $dir" >&2
done
