"""What ``seed_runner.run`` returns: the outcome, the result document, the run folder, and the outputs' files
as absolute paths (the document holds them relative to the output folder, as the Seed spec has them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .outcome import Outcome
    from .plan import RunPlan

__all__ = ["RunResult"]


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """A run folder's ``result.json`` (the run's own word on how it ended); None when there is none yet, or it is
    not a JSON object."""
    try:
        document = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


@dataclass(frozen=True)
class RunResult:
    """One run's result.

    ``document`` is the result document (``result.json``, schema ``seed schema result``); ``run_dir`` the run
    folder (None when the run was refused before anything started: it leaves no folder); ``plan`` what was
    decided (None when the request was refused before a plan). ``exit_status`` is `seed run`'s.

    >>> result = seed_runner.run(seed_runner.RunRequest("image-watermark-0.1.0-seed:0.1.0",
    ...                                                 file_inputs={"INPUT_IMAGE": ["input.png"]}))  # doctest: +SKIP
    >>> result.output_paths("OUTPUT_IMAGE")  # doctest: +SKIP
    [PosixPath('/home/me/seed-runs/image-watermark-20261207T053700Z-29edf0bce17e/outputs/input_watermark.png')]
    """

    outcome: "Outcome"
    document: dict[str, Any]
    run_dir: Path | None
    plan: "RunPlan | None" = None
    write_error: str | None = None
    """Why result.json could not be written (the document is still here, and printed by the CLI)."""

    @property
    def exit_status(self) -> int:
        """`seed run`'s exit status for this outcome: 0 succeeded, 1 failed, 2 rejected, 3 timed out, 4 error,
        130 interrupted or cancelled."""
        return self.outcome.exit_status

    @property
    def run_id(self) -> str | None:
        """The run's id: the suffix of a new run folder's name, and what `seed logs` and `seed show` take."""
        return self.document.get("run_id")

    @property
    def outputs_dir(self) -> Path | None:
        """The output folder, absolute (where the outputs' ``path`` members are relative to); None when the run
        has none (refused)."""
        folder = self.document.get("outputs_dir")
        return Path(folder) if folder else None

    def output_paths(self, name: str) -> list[Path]:
        """The absolute paths of the files captured for output ``name`` (its name in the manifest), in the
        document's order; ``[]`` when it captured none. Raises KeyError, naming the outputs there are, when
        the run has no output ``name``."""
        outputs = self.document.get("outputs") or {}
        if name not in outputs:
            known = ", ".join(sorted(outputs)) or "none (the run captured no outputs)"
            raise KeyError(f"the run has no output {name!r}; its outputs: {known}")
        folder = self.outputs_dir
        if folder is None:  # outputs harvested without a folder cannot happen; say so rather than guess
            raise KeyError(f"output {name!r} has no output folder to be relative to")
        return [folder / file["path"] for file in outputs[name]["files"]]

    def all_output_paths(self) -> dict[str, list[Path]]:
        """``output_paths`` of every output, by name."""
        return {name: self.output_paths(name) for name in self.document.get("outputs") or {}}
