"""Refusals before a pipeline starts, for what its executor and its limits cannot take: a step whose runs could
never fit where the executor runs things (``unfit``), told with the step's ``resources:`` in the pipeline file."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import SeedRunnerError
from ..problems import Problem, error
from .model import Pipeline


def unfit(pipeline: Pipeline, manifests: Mapping[str, Any], executor: Any) -> list[Problem]:
    """A problem for each step whose runs could never fit where the executor runs things (their declared
    resources): refused before anything starts, not failed halfway."""
    from ..executors.base import Footprint

    problems = []
    for name, step in pipeline.steps.items():
        if name not in manifests:
            continue
        # The least a run of the step holds: its declared values (an input multiplier only adds), overridden
        # by the step's resources.
        least = {s.name: s.value for s in manifests[name].job.resources or ()}
        least.update({k: float(v) for k, v in step.resources.items()})
        try:
            executor.check_fits(Footprint.of(least))
        except SeedRunnerError as exc:
            where = step.places.get("resources") or step.position
            problem = error("does-not-fit", f"$.steps.{name}.resources",
                            f"step {name}: {_step_hint(exc, pipeline, name)}")
            problems.append(problem.at(where.line, where.column) if where else problem)
    return problems


SINGLE_RUN_HINT = "lower the job's resources (--resource)"


def _step_hint(exc: Exception, pipeline: Pipeline, name: str) -> str:
    """The executor's refusal, its fix for a single run (``--resource``) told as a pipeline's: the step's
    ``resources:`` in the pipeline file, at FILE:LINE:COLUMN when the file is known."""
    step = pipeline.steps[name]
    written = step.places.get("resources")
    where = written or step.position
    place = f"{pipeline.source}:{where}" if pipeline.source and where else f"steps.{name}.resources"
    fix = f"lower the step's resources: ({place})" if written else \
        f"give the step resources: below what its manifest asks ({place})"
    # A pipeline's executor has the host's capacity, not caps given on the command line (`seed pipeline run` has no
    # --cpus): the step's resources are what to change.
    return str(exc).replace(SINGLE_RUN_HINT, fix).replace(" or raise the caps (--cpus, --mem, --gpus)", "")
