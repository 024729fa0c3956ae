"""`seed export kubernetes` (registered on `seed export` by cli/export.py): one run as a batch/v1 Job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .export_common import OutputOption, SourceArgument, _fail, _manifest_and_image, _write


def export_kubernetes(
    source: SourceArgument,
    inputs: Annotated[Optional[list[str]], typer.Option(
        "--input", "-i", metavar="NAME=URL|PATH", help="A file input: an http(s) URL the init container downloads, "
        "or a path inside --input-claim (repeat it for a multiple input).")] = None,
    json_inputs: Annotated[Optional[list[str]], typer.Option(
        "--json-input", "-j", metavar="NAME=VALUE", help="A JSON input, as for seed run.")] = None,
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="NAME=VALUE", help="A setting that is not secret (NAME alone: from your "
        "environment). Secret settings are read from --settings-secret by the cluster.")] = None,
    mounts: Annotated[Optional[list[str]], typer.Option(
        "--mount", "-m", metavar="NAME=CLAIM[:SUBPATH]", help="The PersistentVolumeClaim of a declared mount.")
    ] = None,
    output: OutputOption = None,
    image: Annotated[Optional[str], typer.Option(help="The image the Job runs (default: the image given, or the "
                                                      "manifest's name-version-seed:version).")] = None,
    name: Annotated[Optional[str], typer.Option(help="The Job's name (default: job name and version).")] = None,
    namespace: Annotated[Optional[str], typer.Option(help="The Job's namespace (default: none written).")] = None,
    input_claim: Annotated[Optional[str], typer.Option(
        help="A PersistentVolumeClaim holding the input files that -i names by path.")] = None,
    output_claim: Annotated[Optional[str], typer.Option(
        help="A PersistentVolumeClaim for OUTPUT_DIR (default: an emptyDir, gone with the pod).")] = None,
    output_subpath: Annotated[Optional[str], typer.Option(
        help="The folder inside --output-claim for this run's outputs.")] = None,
    settings_secret: Annotated[Optional[str], typer.Option(
        help="The Secret holding the secret settings, one key each (default: JOBNAME-settings).")] = None,
    stager_image: Annotated[Optional[str], typer.Option(
        help="The init container's image; it needs sh, wc, sed, tr and curl or wget (default: curlimages/curl).")
    ] = None,
) -> None:
    """A Kubernetes batch/v1 Job that runs the job once, with the Seed runtime contract (kubectl apply -f)."""
    from ..export.kubernetes import DEFAULT_STAGER_IMAGE, ExportProblem, KubernetesRequest, kubernetes_job
    from ..export.yaml_text import to_yaml
    from .request_options import pairs, setting_from_environment

    manifest, reference, _ = _manifest_and_image(source)
    files: dict[str, list[str]] = {}
    for key, value in pairs(inputs, "--input"):
        files.setdefault(key, []).append(value or "")
    jsons = {key: parse_json_value(manifest, key, value or "") for key, value in pairs(json_inputs, "--json-input")}
    given = {key: setting_from_environment(key) if value is None else value
             for key, value in pairs(settings, "--setting", allow_bare=True)}
    request = KubernetesRequest(
        image=image or reference or manifest.image_name, file_inputs=files, json_inputs=jsons, settings=given,
        mounts={key: value or "" for key, value in pairs(mounts, "--mount")}, name=name, namespace=namespace,
        input_claim=input_claim, output_claim=output_claim, output_subpath=output_subpath,
        settings_secret=settings_secret, stager_image=stager_image or DEFAULT_STAGER_IMAGE)
    try:
        document = kubernetes_job(manifest, request)
    except ExportProblem as exc:
        lines = str(exc).splitlines()
        _fail(f"cannot export the run ({len(lines)} problem{'s' * (len(lines) != 1)}): " + "; ".join(lines), 2)
    _write(to_yaml(document), output)


def parse_json_value(manifest: object, name: str, text: str) -> object:
    """``-j NAME=VALUE`` (or ``@file.json``) read as seed run reads it, checked against the input's type."""
    from ..manifest.names import normalize_name
    from ..runtime.json_inputs import json_type_problem, parse_json_input
    from .request_options import json_text

    spec = next((j for j in manifest.job.interface.json_inputs  # type: ignore[attr-defined]
                 if j.variable == normalize_name(name)), None)
    if spec is None:
        raise typer.BadParameter(f"{name}: the manifest declares no such JSON input", param_hint="--json-input")
    try:
        value = parse_json_input(str(json_text(name, text)), spec.type)
    except ValueError as exc:
        raise typer.BadParameter(f"{name}: {exc}; give a JSON {spec.type}", param_hint="--json-input") from None
    if why := json_type_problem(value, spec.type):
        raise typer.BadParameter(f"{name} {why}", param_hint="--json-input")
    return value


__all__ = ["export_kubernetes", "parse_json_value", "Path"]
