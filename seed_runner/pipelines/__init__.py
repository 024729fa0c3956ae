"""Pipelines: Seed jobs composed into a graph (``seed pipeline``).

``model`` is the shape every pipeline takes; ``loading`` reads a pipeline file (YAML or JSON) into it, with
each key's line and column; ``scale`` converts a Scale recipe definition (v6/v7); ``check`` lists every problem
against the steps' manifests; ``filters`` evaluates Scale data filters (``when`` / ``unless``); ``graph`` draws
it (Mermaid, Graphviz dot, SVG). All of those are pure.
"""

from __future__ import annotations

import importlib
from typing import Any

# Name -> the module that defines it (imported on first use, so that ``import seed_runner`` stays quick).
_EXPORTS: dict[str, str] = {
    "Pipeline": "model", "Step": "model", "Connection": "model", "Condition": "model", "Filter": "model",
    "PipelineInput": "model", "Position": "model", "MISSING": "model",
    "load_pipeline": "loading", "read_pipeline": "loading", "parse_pipeline": "loading", "PipelineError": "loading",
    "check_pipeline": "checking", "PipelineCheck": "checking", "accepts": "filters",
    "FileFacts": "filters", "to_document": "writing", "dump_yaml": "writing",
    "run": "start", "run_pipeline": "start", "resume_pipeline": "start", "PipelineRunError": "start",
    "PipelineResult": "running", "RunEvent": "running",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'seed_runner.pipelines' has no attribute {name!r}")
