#!/usr/bin/env bash
# Build the local Python base image (nothing can be pulled here): seed-runner/python, a Debian bookworm minbase
# made with debootstrap (python3-minimal plus the stdlib modules Seed jobs use: json, hashlib, argparse, csv...)
# and `docker import`. Debian comes from the mirror this machine's apt already uses. Python sample jobs build on it
# with --build-arg BASE_IMAGE=...; elsewhere any python:3 image works.
set -euo pipefail

tag="${SEED_PYTHON_IMAGE:-seed-runner/python:1}"
suite=bookworm
packages=python3-minimal,libpython3.11-stdlib

fail() { echo "build-python-base: $*" >&2; exit 1; }

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-python-base: $tag is present" >&2
  exit 0
fi
[ "$(id -u)" -eq 0 ] || fail "must run as root (debootstrap needs it): sudo $0"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer: run scripts/ensure-engine.sh first"

# The first http(s) URI of a source that serves the plain "$suite" suite: deb822 *.sources, then one-line *.list.
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      function flush() {
        if (!off && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1] }
        uris = suites = types = ""; off = 0
      }
      /^[ \t]*$/ { flush(); next }
      /^URIs:/ { $1 = ""; uris = $0 }
      /^Suites:/ { $1 = ""; suites = $0 }
      /^Types:/ { $1 = ""; types = $0 }
      /^Enabled:[ \t]*no/ { off = 1 }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '$1 == "deb" { sub(/^[ \t]*deb[ \t]+(\[[^]]*\][ \t]+)?/, ""); if ($2 == suite) print $1 }' "$f"
  done
}
url="$(mirror | grep -E '^https?://' | head -n 1 || true)"
[ -n "$url" ] || fail "no Debian $suite source in /etc/apt/sources.list or /etc/apt/sources.list.d/"

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "build-python-base: installing debootstrap" >&2
  aptlog="$(mktemp)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } \
    >"$aptlog" 2>&1 || { tail -n 5 "$aptlog" >&2; rm -f "$aptlog"; fail "could not install debootstrap with apt-get"; }
  rm -f "$aptlog"
fi

start="$SECONDS"
root="$(mktemp -d "${TMPDIR:-/var/tmp}/seed-python-base.XXXXXX")"
log="$root.log"
cleanup() {
  # debootstrap bind-mounts /proc, /sys and device nodes into the target: unmount them before deleting anything,
  # and never let rm cross into a mount.
  awk -v root="$root" 'index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$root"
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT  # ^C or SIGTERM: stop and clean up (the EXIT trap)
trap 'exit 143' TERM

echo "build-python-base: debootstrap $suite from $url" >&2
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$url" >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  fail "debootstrap failed (its last lines are above)"
fi
chroot "$root" /usr/bin/python3 -c "import json, hashlib, os, sys, argparse, csv, statistics, datetime" \
  || fail "python3 in the new root lacks a required stdlib module"

# Smaller image: no package caches, lists, docs, manuals or locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*
tar -C "$root" --one-file-system -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["/usr/bin/python3"]' \
  -m "debootstrap --variant=minbase --include=$packages $suite" - "$tag" >/dev/null
if ! docker run --rm --network none "$tag" python3 -c "import json, hashlib, os, sys"; then
  docker image rm "$tag" >/dev/null 2>&1 || true
  fail "$tag cannot import json, hashlib, os, sys (image removed)"
fi
echo "build-python-base: built $tag in $((SECONDS - start)) s" >&2
