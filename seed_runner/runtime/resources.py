"""Resources of a run: each scalar's allocation (``value + inputMultiplier * input MiB``, or an override), the
``ALLOCATED_*`` text the job sees, and the limits the engine is given.

The engine takes its limits as 64-bit integers (nano-CPUs, bytes of memory and /dev/shm, a GPU count); an
allocation past what those hold, or one that overflows a float, is a problem of the plan, not a crash or an
engine error with a 300-digit number in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from ..manifest.model import Manifest
from ..manifest.names import KNOWN_RESOURCES, allocated_variable
from ..problems import Problem, error, warning
from .input_files import request_path

# Docker refuses memory limits below 6 MiB.
DOCKER_MIN_MEMORY_MIB = 6
_INT64_MAX = 2 ** 63 - 1
_MIB = 1048576

ENGINE_MAX = {"cpus": _INT64_MAX // 10 ** 9, "mem": _INT64_MAX // _MIB, "sharedMem": _INT64_MAX // _MIB,
              "gpus": _INT64_MAX}
"""The largest allocation of each resource the engine's 64-bit limits hold (cpus in CPUs, mem and sharedMem in
MiB, gpus a count)."""


@dataclass
class Resources:
    allocations: dict[str, float] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    """``ALLOCATED_<NAME>`` of every allocation."""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    nano_cpus: int | None = None
    memory_bytes: int | None = None
    shm_bytes: int | None = None
    gpus: int | None = None


def format_allocation(name: str, value: float) -> str:
    """``mem`` and ``sharedMem`` as integers (ceil), every other scalar with six decimals."""
    if name in ("mem", "sharedMem"):
        return str(math.ceil(value))
    return f"{value:.6f}"


def plan_resources(manifest: Manifest, overrides: Mapping[str, float], input_mib: float) -> Resources:
    """The allocations of a run and the engine's limits; every problem with them (request paths
    ``$.resources.<NAME>``)."""
    out = Resources()
    wanted: dict[str, float] = {}
    for scalar in manifest.job.resources or ():
        wanted[scalar.name] = scalar.value + scalar.input_multiplier * input_mib
    for name, value in overrides.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or not math.isfinite(value):
            out.problems.append(error("invalid-resource", request_path("resources", name),
                                      f"--resource {name}={value!r}: give a number of 0 or more"))
            continue
        wanted[name] = float(value)
    for name, value in wanted.items():
        if name not in KNOWN_RESOURCES and name not in overrides:
            out.problems.append(error("unknown-resource", request_path("resources", name),
                                      f"resource {name} is not one seed-runner can allocate "
                                      f"({', '.join(KNOWN_RESOURCES)}); give it explicitly with "
                                      f"--resource {name}=VALUE to run anyway"))
        if not math.isfinite(value):
            out.problems.append(error("invalid-resource", request_path("resources", name),
                                      f"resource {name}: value + inputMultiplier x input MiB overflows a 64-bit "
                                      f"float; lower them in the manifest, or give --resource {name}=VALUE"))
        elif name in ENGINE_MAX and value > ENGINE_MAX[name]:
            out.problems.append(error("resource-too-large", request_path("resources", name),
                                      f"resource {name} allocates {value:g}, more than the engine can take (at most "
                                      f"{ENGINE_MAX[name]}); lower it in the manifest, or give "
                                      f"--resource {name}=VALUE"))
        else:
            out.allocations[name] = value
            out.environment[allocated_variable(name)] = format_allocation(name, value)
    memory = out.allocations.get("mem")
    if memory is not None and memory < DOCKER_MIN_MEMORY_MIB:
        out.warnings.append(warning("memory-raised", request_path("resources", "mem"),
                                    f"mem {memory:g} MiB is below Docker's minimum; the limit is "
                                    f"{DOCKER_MIN_MEMORY_MIB} MiB"))
        memory = DOCKER_MIN_MEMORY_MIB
        out.environment[allocated_variable("mem")] = format_allocation("mem", memory)
    allocated = out.allocations
    out.nano_cpus = int(allocated["cpus"] * 1e9) if allocated.get("cpus") else None
    out.memory_bytes = math.ceil(memory) * _MIB if memory is not None else None
    out.shm_bytes = math.ceil(allocated["sharedMem"]) * _MIB if allocated.get("sharedMem") else None
    out.gpus = math.ceil(allocated["gpus"]) if allocated.get("gpus") else None
    return out
