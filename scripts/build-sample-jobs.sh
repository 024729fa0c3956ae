#!/usr/bin/env bash
# Build every job under sample_jobs/ (or the directories given) as a Seed image: the manifest goes into the
# com.ngageoint.seed.manifest label as compact JSON, the tag is <name>-<jobVersion>-seed:<packageVersion>.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
# Each Dockerfile's default BASE_IMAGE is a local base (scripts/build-*-base*.sh); SEED_BASE_IMAGE overrides it
# for every job (e.g. a public image on a machine that can pull).
build_args=()
[ -z "${SEED_BASE_IMAGE:-}" ] || build_args=(--build-arg "BASE_IMAGE=$SEED_BASE_IMAGE")
[ "$#" -gt 0 ] || set -- sample_jobs/*/
for dir in "$@"; do
  manifest="$dir/seed.manifest.json"
  [ -f "$manifest" ] || continue
  read -r tag label < <("$python" - "$manifest" <<'PY'
import sys
from seed_runner import load_manifest
from seed_runner.manifest.label import encode_label
m = load_manifest(sys.argv[1])
print(m.image_name, encode_label(m.data))
PY
)
  docker build -q "${build_args[@]}" --label "com.ngageoint.seed.manifest=$label" -t "$tag" "$dir" >/dev/null
  echo "built $tag from $dir" >&2
done
