"""Executors: where run requests run (``base`` holds the interface; ``local`` the embedded default).

``LocalExecutor`` runs on this machine's engine; ``DaskExecutor`` (``seed_runner.executors.dask``, the
``seed-runner[dask]`` extra) on the workers of a Dask cluster; ``SlurmExecutor`` (``seed_runner.executors.slurm``)
as Slurm jobs. Imported lazily: ``distributed`` is optional.
"""

from __future__ import annotations

from typing import Any

from .base import DoesNotFit, Executor, ExecutorClosed, Footprint, OutputRef, RunFuture, RunOptions, as_completed

__all__ = ["DoesNotFit", "Executor", "ExecutorClosed", "Footprint", "RunFuture", "RunOptions", "as_completed",
           "LocalExecutor", "DaskExecutor", "SlurmExecutor", "OutputRef"]


def __getattr__(name: str) -> Any:
    if name == "LocalExecutor":
        from .local import LocalExecutor

        return LocalExecutor
    if name == "DaskExecutor":
        from .dask import DaskExecutor

        return DaskExecutor
    if name == "SlurmExecutor":
        from .slurm import SlurmExecutor

        return SlurmExecutor
    raise AttributeError(f"module 'seed_runner.executors' has no attribute {name!r}")
