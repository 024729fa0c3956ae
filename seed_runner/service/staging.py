"""A job's file inputs as the server keeps them: inline values written under names the server makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def stage_inputs(execute: Any, inputs: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(local files, references) of a request's file inputs: inline values written into ``inputs`` (new, 0700)
    under names the server makes (never one the request chose), references kept for the fetch."""
    inputs.mkdir(parents=True, mode=0o700)
    local: dict[str, list[str]] = {}
    references: dict[str, list[str]] = {}
    for name, values in execute.file_inputs.items():
        for index, value in enumerate(values):
            if hasattr(value, "href"):
                references.setdefault(name, []).append(value.href)
                continue
            path = inputs / f"{name.lower()}-{index}"
            path.write_bytes(value.data)
            local.setdefault(name, []).append(str(path))
    return local, references
