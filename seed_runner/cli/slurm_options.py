"""The Slurm executor's command-line options, shared by every command that takes ``--executor slurm``
(`seed batch`, `seed batch resume`; `seed conformance` takes them as ``--executor-option``): the options
themselves (typer annotations) and the making of the executor, with its errors as one line and an exit status
(2 the options, 4 Slurm does not answer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

Partition = Annotated[Optional[str], typer.Option(help="Slurm: the partition of the runs' jobs (sbatch --partition).")]
Account = Annotated[Optional[str], typer.Option(help="Slurm: the account charged (sbatch --account).")]
Qos = Annotated[Optional[str], typer.Option(help="Slurm: the quality of service (sbatch --qos).")]
SbatchOptions = Annotated[Optional[list[str]], typer.Option(
    "--sbatch-option", metavar="OPTION", help="Slurm: one more sbatch option for every job (repeat it), "
                                              "e.g. --sbatch-option=--constraint=ssd.")]
SlurmPython = Annotated[Optional[str], typer.Option(
    "--slurm-python", metavar="PATH", help="Slurm: the nodes' Python with seed-runner (default: this one's path).")]


def given(partition: str | None, account: str | None, qos: str | None, sbatch_options: list[str] | None,
          python: str | None) -> bool:
    """Whether any Slurm option was given (they go with --executor slurm only)."""
    return any((partition, account, qos, sbatch_options, python))


def slurm_executor(shared_dir: Path | None, partition: str | None, account: str | None, qos: str | None,
                   sbatch_options: list[str] | None, python: str | None) -> Any:
    """A SlurmExecutor as the options say; a problem is one line on stderr and its exit status."""
    from ..executors.slurm import SlurmExecutor
    from ..errors import SeedRunnerError

    for option in sbatch_options or ():
        if not option.startswith("-") or any(option.startswith(o) for o in ("--array", "--export", "--wrap")):
            raise typer.BadParameter(f"{option!r} is not an sbatch option the executor can pass through (give "
                                     "--NAME=VALUE; --array, --export and --wrap are the executor's own)",
                                     param_hint="--sbatch-option")
    try:
        return SlurmExecutor(shared_dir=shared_dir, partition=partition, account=account, qos=qos,
                             sbatch_options=sbatch_options or (), python=python)
    except SeedRunnerError as exc:  # Slurm does not answer (4), or refuses the partition/account/QOS (2)
        typer.echo(f"seed: error: {exc}", err=True)
        raise typer.Exit(getattr(exc, "exit_status", 4)) from None
