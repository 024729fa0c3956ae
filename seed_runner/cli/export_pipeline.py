"""`seed export cwl PIPELINE.yaml`: a pipeline file (or a Scale recipe) as a CWL Workflow (export.cwl_workflow).

Each step's manifest is read as `seed pipeline check` reads it (its `manifest:` file, else its image's label).
Exit status: 0 written; 1 the pipeline has errors (`seed pipeline check` lists them), or uses what a CWL Workflow
cannot express (one line naming it); 2 usage; 4 the engine does not answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .export_common import _fail, _write

_MAX_SNIFF = 8 * 1024 * 1024


def is_pipeline_file(source: str) -> bool:
    """Whether ``source`` is a pipeline file (``seedPipeline:``) or a Scale recipe (``nodes`` and no ``job``),
    rather than a manifest, its folder or an image. Unreadable or hostile bytes are simply not a pipeline: the
    manifest reader then says what is wrong with them."""
    from ..pipelines.yamltext import YamlError, parse_yaml

    path = Path(source)
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SNIFF:
            return False
        document = parse_yaml(path.read_bytes()).data
    except (OSError, YamlError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and ("seedPipeline" in document or
                                           ("nodes" in document and "job" not in document))


def export_pipeline_cwl(source: str, job_types: dict[str, str], output: Path | None) -> None:
    """Check the pipeline, read its steps' manifests (and images' ENV), write the Workflow."""
    from ..export.cwl_workflow import UnsupportedPipeline, cwl_workflow
    from ..export.cwl_command import UnsupportedCommand
    from ..export.yaml_text import to_yaml
    from ..pipelines.checking import check_pipeline
    from ..pipelines.manifests import step_manifests

    infos: dict[str, Any] = {}
    reader: Any = None

    def read_image(reference: str) -> Any:
        nonlocal reader
        if reference not in infos:
            if reader is None:
                from ..engine.images import image_reader

                reader = image_reader()
            infos[reference] = reader(reference)
        return infos[reference]

    result = check_pipeline(source, job_types=job_types, read_image=read_image)
    if result.engine_unavailable:
        first = next(p for p in result.problems if p.code == "engine-unavailable")
        _fail(first.message, 4)
    errors = [p for p in result.problems if p.is_error]
    if errors or result.pipeline is None:
        first = errors[0] if errors else None
        where = f"{source}:{first.line}:{first.column}" if first and first.line else source
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        _fail(f"{where}: {first.message if first else 'not a pipeline'}{more}; `seed pipeline check {source}` "
              "lists every problem", 1)
    manifests, _ = step_manifests(result.pipeline, read_image=read_image)  # read once: the cache answers
    envs = {ref: dict(getattr(info, "env", {}) or {}) for ref, info in infos.items()}
    try:
        document = cwl_workflow(result.pipeline, manifests, envs)
    except (UnsupportedPipeline, UnsupportedCommand) as exc:
        _fail(f"{source}: {exc}", 1)
    _write("#!/usr/bin/env cwl-runner\n" + to_yaml(document), output)
