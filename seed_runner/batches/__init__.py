"""Batches: many runs of one job, from a table or from files matched by patterns (``seed batch``).

``rows`` reads what to run, ``requests`` turns rows into checked run requests (both pure), ``folder`` writes the
batch folder (``batch.json``, ``batch.csv``, a folder per run), ``running`` drives an executor (retries, resume,
Ctrl-C). ``seed_runner.batch`` is the Python twin of ``seed batch``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_batch", "resume_batch", "BatchResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import start

        return getattr(start, name)
    raise AttributeError(f"module 'seed_runner.batches' has no attribute {name!r}")
