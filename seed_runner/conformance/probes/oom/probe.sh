#!/bin/sh
# Conformance probe "oom": one 64 MiB block read from /dev/zero, under a 32 MiB memory limit (dd holds the
# whole block in memory). Killed by the engine when the limit holds; exit 0 when it does not.
# The second of sleep first: the engine learns of an OOM kill from the kernel through a watch it sets up after
# the container starts (containerd on cgroup v1); a kill in the first milliseconds can come before it.
sleep 1
exec dd if=/dev/zero of=/dev/null bs=64M count=1
