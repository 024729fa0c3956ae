#!/usr/bin/env bash
# Make sure a Docker engine answers, and that the static busybox the test and sample images use is present.
#
# - An engine that already answers `docker info` is used as it is (nothing is installed or started).
# - Otherwise Debian's docker.io is installed when dockerd is missing, and dockerd is started in the background;
#   the script waits until it answers. It never stops an engine (it does not know who else uses it).
# - busybox-static (a static /bin/busybox, copied into FROM-scratch images) is installed when missing.
# - The tools of the remote-engine tests are installed when missing: openssl (their certificates), iproute2
#   (the bridge of the second, TLS-only dockerd they start), the OpenSSH client and server (they start a private
#   sshd on a loopback port; on a machine with systemd, installing openssh-server also enables its service).
set -euo pipefail

name=ensure-engine
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

static_busybox() {
  # busybox-static puts a statically linked binary at /bin/busybox; the plain busybox package does not.
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}

static_busybox || apt_install busybox-static

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"

if docker info >/dev/null 2>&1; then
  log "the Docker engine already answers"
  exit 0
fi

command -v dockerd >/dev/null 2>&1 || apt_install docker.io
command -v docker >/dev/null 2>&1 || apt_install docker.io

logfile="${SEED_DOCKERD_LOG:-/tmp/seed-runner-dockerd.log}"
log "starting dockerd in the background (log: $logfile)"
as_root sh -c "nohup dockerd >'$logfile' 2>&1 &"

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "the Docker engine answers"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; last lines of $logfile:"
tail -n 20 "$logfile" >&2 || true
exit 1
