#!/usr/bin/env bash
# Make sure a Docker registry binary is present for the publish/pull/search tests (tests/registry_fixture.py).
#
# - Debian's docker-registry package (the CNCF distribution registry, /usr/bin/docker-registry) is installed
#   when the binary is missing. The tests start their own registries on free loopback ports with temporary
#   storage; they never use a system service.
# - The package's postinst may start a system registry (init script, listening on :5000 with storage under
#   /var/lib/docker-registry). It is stopped and disabled again right after installing, so that nothing of the
#   package is left listening. A registry this script did not just install is never touched.
# - The htpasswd files of the authentication tests are made with the bcrypt Python package (a test extra in
#   pyproject.toml), so nothing else is needed here.
#
# Idempotent: a second run finds the binary and does nothing.
set -euo pipefail

name=ensure-registry
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

binary=/usr/bin/docker-registry

if [ -x "$binary" ]; then
  log "$binary is present"
  exit 0
fi

log "installing docker-registry"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null

if [ ! -x "$binary" ]; then
  log "the docker-registry package did not install $binary"
  exit 1
fi

# Stop and disable the system service the package may have started: the tests run their own registries.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
elif [ -x /etc/init.d/docker-registry ]; then
  as_root /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
  command -v update-rc.d >/dev/null 2>&1 && as_root update-rc.d docker-registry disable >/dev/null 2>&1 || true
fi
# A registry started from the package's own configuration, whatever started it.
for pid in $(pgrep -x docker-registry 2>/dev/null || true); do
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '/etc/docker/registry/config.yml'; then
    log "stopping the system registry the package started (pid $pid)"
    as_root kill "$pid" || true
  fi
done

log "$("$binary" --version 2>/dev/null || echo "$binary") installed"
