#!/bin/sh
# Conformance probe "resources": ALLOCATED_* and the engine's limits. Given DATA, a file of 1.25 MiB, with
# cpus 0.5, mem 60 + 3 x input MiB, sharedMem 80 and disk 10 + 4 x input MiB.
. /conformance/lib.sh

input_bytes() { stat -c %s "${DATA:-/nonexistent}" 2>/dev/null || echo 0; }
expected_disk() { awk -v b="$(input_bytes)" 'BEGIN { printf "%.6f", 10 + 4 * (b / 1048576) }'; }
first_readable() { for f in "$@"; do [ -r "$f" ] && { echo "$f"; return 0; }; done; return 1; }
mib_bytes() { awk -v m="${ALLOCATED_MEM-}" 'BEGIN { printf "%.0f", m * 1048576 }'; }

# cgroup v1 or v2: the memory limit, the memory+swap limit, the CPU quota and period.
memory_file="$(first_readable /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max)"
memory_limit() { cat "$memory_file"; }
memory_ok() { [ "$(memory_limit)" = "$(mib_bytes)" ]; }
# No swap beyond the limit: v1 memory+swap equals memory; v2 no swap at all.
swap_ok() {
  if [ -r /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
    [ "$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes)" = "$(memory_limit)" ]
  else
    [ "$(cat /sys/fs/cgroup/memory.swap.max)" = 0 ]
  fi
}
swap_file="$(first_readable /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes /sys/fs/cgroup/memory.swap.max)"
cpu_quota() {
  if [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  else
    cat /sys/fs/cgroup/cpu.max
  fi
}
cpu_file="$(first_readable /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max)"
# quota / period as six decimals equals ALLOCATED_CPUS
cpu_ok() { [ "$(cpu_quota | awk '$1 ~ /^[0-9]+$/ { printf "%.6f", $1 / $2 }')" = "${ALLOCATED_CPUS-}" ]; }
shm_kib() { df -k /dev/shm | awk 'NR == 2 { print $2 }'; }
shm_ok() { [ "$(shm_kib)" -ge 81920 ]; }

check resources.allocated-cpus "ALLOCATED_CPUS is 0.500000 (got ${ALLOCATED_CPUS-unset})" equals ALLOCATED_CPUS 0.500000
check resources.allocated-mem "ALLOCATED_MEM is ceil(60 + 3 x 1.25 MiB) = 64 (got ${ALLOCATED_MEM-unset})" equals ALLOCATED_MEM 64
check resources.allocated-sharedmem "ALLOCATED_SHAREDMEM is 80 (got ${ALLOCATED_SHAREDMEM-unset})" equals ALLOCATED_SHAREDMEM 80
check resources.allocated-disk "ALLOCATED_DISK is 10 + 4 x input MiB = $(expected_disk) (got ${ALLOCATED_DISK-unset})" equals ALLOCATED_DISK "$(expected_disk)"
if [ -n "$memory_file" ]; then
  check limits.memory "the memory limit ($memory_file) is ALLOCATED_MEM MiB (got $(memory_limit))" memory_ok
else
  skip limits.memory "the memory limit is ALLOCATED_MEM MiB" "no readable cgroup memory limit"
fi
if [ -n "$memory_file" ] && [ -n "$swap_file" ]; then
  check limits.no-extra-swap "no swap beyond the memory limit ($swap_file: $(cat "$swap_file"))" swap_ok
else
  skip limits.no-extra-swap "no swap beyond the memory limit" "no readable cgroup swap limit"
fi
if [ -n "$cpu_file" ]; then
  check limits.cpu "the CPU quota / period is ALLOCATED_CPUS (got $(cpu_quota))" cpu_ok
else
  skip limits.cpu "the CPU quota / period is ALLOCATED_CPUS" "no readable cgroup CPU quota"
fi
check limits.shared-memory "/dev/shm holds at least ALLOCATED_SHAREDMEM = 80 MiB (got $(shm_kib) KiB)" shm_ok
finish
