"""The client's view of a Dask cluster for ``DaskExecutor``: connecting, what the workers declare (the packing
and the refusal of runs that fit no worker), and the probe of the shared folder.

Resources: a run asks Dask for ``CPU`` (its cpus), ``MEM`` (its mem, MiB) and ``GPU`` (its gpus), each only
when the run declares it (> 0). ``CPU`` and ``MEM`` are asked for only when some worker declares them (a
cluster whose workers declare nothing is packed by their thread counts alone); ``GPU`` always is, since a run
that needs a GPU must land where there is one. A run is refused (``DoesNotFit``) when no worker declares at
least everything it asks for.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

from ..errors import SeedRunnerError
from .base import DoesNotFit, Footprint

RESOURCE_NAMES = {"cpus": "CPU", "mem": "MEM", "gpus": "GPU"}
"""The Dask resource each declared allocation is asked for as (``dask worker --resources "CPU=8,MEM=32768"``)."""
_ALWAYS_ASKED = ("gpus",)
_INFO_SECONDS = 1.0  # the workers' declarations are read at most once a second (a batch submits thousands)


class DaskClusterError(SeedRunnerError):
    """The cluster cannot take runs: no scheduler or worker answers, or the shared folder is not shared."""

    exit_status = 4


class Workers:
    """The workers' declared resources, as the scheduler reports them (refreshed at most once a second)."""

    def __init__(self, client: Any, names: Mapping[str, str] = RESOURCE_NAMES) -> None:
        self._client = client
        self._names = dict(names)
        self._read_at = -1e9
        self._declared: dict[str, dict[str, float]] = {}
        self._most = 0  # the most workers seen at once

    def declared(self) -> dict[str, dict[str, float]]:
        """{worker address: {resource: amount}} for every worker."""
        if time.monotonic() - self._read_at > _INFO_SECONDS:
            self._declared = {address: {str(k): float(v) for k, v in (worker.get("resources") or {}).items()}
                              for address, worker in _scheduler_info(self._client).get("workers", {}).items()}
            self._read_at = time.monotonic()
            self._most = max(self._most, len(self._declared))
        return self._declared

    def wait_for_all(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until as many workers are connected as were seen at once before: a
        worker killed mid-run comes back when its nanny restarts it."""
        try:
            self._client.wait_for_workers(max(1, self._most), timeout=timeout)
        except TimeoutError:
            pass

    def ask(self, need: Footprint) -> dict[str, float]:
        """The Dask resources a run of this footprint asks for (see the module's doc)."""
        declared = self.declared()
        known = {name for resources in declared.values() for name in resources}
        asked = {}
        for field, resource in self._names.items():
            amount = float(getattr(need, field))
            if amount > 0 and (field in _ALWAYS_ASKED or resource in known):
                asked[resource] = amount
        return asked

    def check_fits(self, need: Footprint) -> dict[str, float]:
        """The resources to ask for; raises DoesNotFit when no worker has them all."""
        asked = self.ask(need)
        declared = self.declared()
        if not declared:
            raise DoesNotFit("no Dask worker is connected to the scheduler; start one (`dask worker "
                             "tcp://SCHEDULER:8786 --resources \"CPU=8,MEM=32768\"`)")
        if any(all(resources.get(k, 0.0) + 1e-9 >= v for k, v in asked.items()) for resources in declared.values()):
            return asked
        order = [*asked, *self._names.values()]  # what it lacks first, then the rest of what workers declare
        biggest = max(sorted(declared), key=lambda a: tuple(declared[a].get(k, 0.0) for k in order))
        has = ", ".join(f"{k}={v:g}" for k, v in sorted(declared[biggest].items())) or "no resources declared"
        wants = ", ".join(f"{k}={v:g}" for k, v in asked.items())
        raise DoesNotFit(f"the run needs {need.describe()} ({wants}), more than any Dask worker has (the biggest: "
                         f"{biggest} with {has}); lower the job's resources (--resource) or start a worker with "
                         "more (dask worker --resources)")


def _scheduler_info(client: Any) -> dict[str, Any]:
    """The scheduler's identity with every worker, asked for now. Not ``client.scheduler_info()``: that returns
    the client's cached copy, which its own periodic refresh overwrites with a copy listing no worker at all, so
    a call racing the refresh saw an empty cluster."""
    try:
        return dict(client.sync(client.scheduler.identity, n_workers=-1))  # newer versions list 5 by default
    except TypeError:  # older distributed: no n_workers, and every worker is listed
        return dict(client.sync(client.scheduler.identity))


def connect(client_or_address: Any, *, timeout: float) -> tuple[Any, bool]:
    """(the client, whether this executor made it and so closes it)."""
    if not isinstance(client_or_address, str):
        return client_or_address, False
    from distributed import Client

    try:
        return Client(client_or_address, timeout=timeout, set_as_default=False), True
    except (OSError, TimeoutError) as exc:
        raise DaskClusterError(f"no Dask scheduler answers at {client_or_address} ({exc}); start one with "
                               "`dask scheduler`, or check the address (tcp://HOST:8786)") from None


def wait_for_workers(client: Any, timeout: float) -> None:
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise DaskClusterError(f"no Dask worker joined the scheduler at {client.scheduler.address} within "
                               f"{timeout:g} s; start one with `dask worker {client.scheduler.address}`") from None


class SharedDirMissing(DaskClusterError):
    """The --shared-dir given does not exist on this machine: the user's to fix (usage), not the cluster's."""

    exit_status = 2


def probe_shared_dir(client: Any, shared_dir: Path) -> None:
    """Check that every worker and this machine see the same ``shared_dir``: each worker writes a file in a
    probe folder this machine makes there, this machine reads them all, every worker reads the others'.
    Raises DaskClusterError naming the first worker that does not see it."""
    from .dask_task import probe_read, probe_write

    if not shared_dir.is_dir():
        raise SharedDirMissing(f"the shared folder {shared_dir} does not exist here; create it on a file system "
                               "every worker mounts at the same path")
    probe = shared_dir / f".seed-runner-probe-{os.urandom(6).hex()}"
    try:
        probe.mkdir()
    except OSError as exc:
        raise DaskClusterError(f"cannot write in the shared folder {shared_dir} ({exc.strerror})") from None
    try:
        written = client.run(probe_write, str(probe), probe.name)  # {address: (file name, text) or why not}
        expected: dict[str, str] = {}
        for address, (name, text, why) in sorted(written.items()):
            if why:
                raise DaskClusterError(f"Dask worker {address} cannot use the shared folder: {why}; mount "
                                       f"{shared_dir} on it at the same path")
            try:
                seen = (probe / name).read_text(encoding="utf-8") == text
            except OSError:
                seen = False
            if not seen:
                raise DaskClusterError(f"Dask worker {address} does not see the shared folder {shared_dir} (what "
                                       "it wrote there is not here); mount the same folder on it at the same path")
            expected[name] = text
        writers = {name: address for address, (name, _, _) in written.items()}
        for address, names in sorted(client.run(probe_read, str(probe), expected).items()):
            if names:
                raise DaskClusterError(f"Dask worker {address} does not see the shared folder {shared_dir} as the "
                                       f"others do (what {writers[names[0]]} wrote there is not there); mount the "
                                       "same folder on it at the same path")
    finally:
        for path in probe.glob("*"):
            path.unlink(missing_ok=True)
        try:
            probe.rmdir()
        except OSError:
            pass


SHARE_MARKER_PREFIX = ".seed-runner-share-"


def share_marker(shared_dir: Path) -> tuple[str, str]:
    """(path, text) of a file this machine writes in ``shared_dir`` for the executor's life: a task reads it
    before its run starts (``dask_task.sees_share``), so that a worker that joined after the probe, and does not
    see the folder, never runs anything in it. Removed at ``close``."""
    token = os.urandom(12).hex()
    path = shared_dir / f"{SHARE_MARKER_PREFIX}{token[:12]}"
    try:
        path.write_text(token, encoding="utf-8")
    except OSError as exc:
        raise DaskClusterError(f"cannot write in the shared folder {shared_dir} ({exc.strerror})") from None
    return str(path), token
