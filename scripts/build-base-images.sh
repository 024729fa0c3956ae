#!/usr/bin/env bash
# Build the local base images (nothing can be pulled here): seed-runner/busybox, FROM scratch plus the static
# busybox of Debian's busybox-static. Sample and test jobs build on it with --build-arg BASE_IMAGE=...
set -euo pipefail

tag="${SEED_BUSYBOX_IMAGE:-seed-runner/busybox:1}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-base-images: $tag is present" >&2
  exit 0
fi
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp /bin/busybox "$context/busybox"
cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/bin
CMD ["/bin/sh"]
DOCKERFILE
docker build -q -t "$tag" "$context" >/dev/null
echo "build-base-images: built $tag" >&2
