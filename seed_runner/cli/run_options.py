"""The options the run commands share (`seed batch run`/`resume`, `seed pipeline run`/`resume`): each declared
once, as a typer annotation, so that its name and help text are the same wherever it is taken. The Slurm
executor's options are in cli/slurm_options.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

# Every run command.
Parallel = Annotated[Optional[int], typer.Option(min=1, help="Runs at once at most (default: the CPUs).")]
Scheduler = Annotated[Optional[str], typer.Option(help="The Dask scheduler, tcp://HOST:8786.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only the final line.")]

# A batch (run and resume): its caps on what the runs in flight declare, its Dask outputs, its document.
Cpus = Annotated[Optional[float], typer.Option(help="CPUs the runs in flight may declare together.")]
Mem = Annotated[Optional[float], typer.Option(help="MiB the runs in flight may declare together.")]
Gpus = Annotated[Optional[float], typer.Option(help="GPUs the runs in flight may declare together.")]
OutputsTo = Annotated[Optional[str], typer.Option(help="Dask: copy run folders to this fsspec URL.")]
BatchJson = Annotated[bool, typer.Option("--json", help="Print batch.json at the end.")]

# A pipeline (run and resume): local or Dask only.
PipelineExecutor = Annotated[str, typer.Option(help="local, or dask (with --scheduler).")]
PipelineSharedDir = Annotated[Optional[Path], typer.Option(help="Dask: a folder every worker sees.")]
PipelineJson = Annotated[bool, typer.Option("--json", help="Print pipeline.json at the end.")]
