"""`seed build` as a library: validate a job folder, then build its image with the manifest as the label.

``build_job(directory)`` checks everything that can be checked without the engine first (the folder, its
``seed.manifest.json`` and ``Dockerfile``, the manifest's validity, an image name Docker can accept), then
that every base image the Dockerfile names is already on the local engine (the classic builder pulls a missing
``FROM`` image on its own, whatever ``pull`` says: we refuse before it can), and only then builds. Success is
the engine's verdict: an ``error`` in the build stream, or no image id, is a failure; whatever the Dockerfile's
steps print on stderr is only progress.

Exit status of a failure (``BuildError.exit_status``), as `seed build` uses them:
  1  the manifest is invalid, Docker cannot name the image it describes, or the build failed
  2  usage: no such folder, no seed.manifest.json, no Dockerfile, an invalid --tag
  4  the engine does not answer, a base image is not on the local engine (never pulled unless asked), or
     (``pull``) the engine cannot reach the registry of a base image: the network's fault, not the job's
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..errors import EngineUnavailableError, SeedRunnerError
from ..problems import Finding, warning
from ..manifest.names import LABEL, image_repository, split_reference
from ..manifest.sources import MANIFEST_FILE
from .docker_names import docker_name_problems, reference_problems
from .dockerfile import BaseImage, base_images

if TYPE_CHECKING:  # annotations only: the validator is imported when a build starts
    from ..manifest.model import Manifest
    from ..validation import ValidationResult

__all__ = ["BuildResult", "BuildError", "BaseImage", "build_job", "base_images", "connect_docker",
           "docker_name_problems", "reference_problems", "DOCKERFILE"]

DOCKERFILE = "Dockerfile"

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_SYSTEM = 4

# The colour codes the classic builder wraps around a step's stderr, and any other terminal control sequence.
_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


@dataclass(frozen=True)
class BuildResult:
    """A built Seed image."""

    image: str
    """The tag: ``<name>-<jobVersion>-seed:<packageVersion>``, or the ``tag`` asked for (``:latest`` added)."""
    image_id: str
    """The engine's id of the image (``sha256:...``)."""
    manifest: "Manifest"
    warnings: tuple[Finding, ...]
    """Validation warnings of the manifest, and a warning when ``tag`` does not follow the Seed naming."""


class BuildError(SeedRunnerError):
    """A build that did not happen or failed; the message is one line naming the problem and the fix.

    ``exit_status`` is the `seed build` exit status for it (see the module docstring); ``validation`` holds
    every finding when the manifest is invalid.
    """

    def __init__(self, message: str, *, exit_status: int = EXIT_INVALID,
                 validation: "ValidationResult | None" = None):
        super().__init__(message)
        self.exit_status = exit_status
        self.validation = validation


# -- the public entry point ------------------------------------------------------------------------------


def build_job(directory: str | Path = ".", *, build_args: Mapping[str, str] | None = None, tag: str | None = None,
              progress: Callable[[str], None] | None = None, pull: bool = False,
              docker_client: Any = None) -> BuildResult:
    """Validate the job in ``directory`` and build its image on the local engine.

    ``directory`` is the job folder (its ``seed.manifest.json`` and ``Dockerfile``; the folder is the build
    context), or the manifest file itself (its folder is then the context). ``build_args`` are the Dockerfile's
    ``ARG`` values. ``tag`` replaces the Seed name ``<name>-<jobVersion>-seed:<packageVersion>`` (any valid Docker
    reference; a warning says when it does not follow the Seed naming). ``progress`` receives the engine's build
    output, one line at a time, without the newline and terminal escape sequences (the label step is shortened
    to its size). ``pull`` lets the engine pull the base images: the classic builder then asks the registry for
    every one, so a base that exists only locally fails; without it nothing is ever pulled and a base image that
    is not local is refused before the build starts.
    ``docker_client`` is a ``docker.DockerClient`` (default: ``connect_docker()``, the engine that DOCKER_HOST or
    the docker context names).

    The manifest is validated first: errors stop the build (``BuildError`` with ``validation``), warnings are
    returned in ``BuildResult.warnings``. Raises ``BuildError`` with an ``exit_status`` for every failure.
    """
    from ..manifest.label import encode_label
    from ..api import validate

    folder, manifest_file = _locate(directory)
    dockerfile = folder / DOCKERFILE
    if not dockerfile.is_file():
        raise BuildError(f"{_shown(folder)} has no {DOCKERFILE}; write one (an exec-form ENTRYPOINT that runs the "
                         "job; `seed init` scaffolds a job with one)", exit_status=EXIT_USAGE)
    result = validate(manifest_file)
    if result.manifest is None:
        errors = result.errors
        first = f"{errors[0].path}: {errors[0].message}" if errors else "it cannot be read"
        more = f" (and {len(errors) - 1} more error{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
        raise BuildError(f"{_shown(manifest_file)} is not a valid Seed manifest: {first}{more}; fix it and build "
                         "again (`seed validate` lists every finding)", validation=result)
    manifest = result.manifest
    warnings = list(result.warnings)
    reference = _reference(manifest, tag, warnings)
    try:
        dockerfile_text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BuildError(f"cannot read {_shown(dockerfile)} ({exc.strerror}); check its permissions",
                         exit_status=EXIT_USAGE) from None
    args = dict(build_args or {})

    client = connect_docker(docker_client, error=BuildError)
    if not pull:
        _require_local_bases(client, base_images(dockerfile_text, args), dockerfile)
    image_id = _run_build(client, folder, reference=reference, label=encode_label(result.document), args=args,
                          pull=pull, progress=progress)
    return BuildResult(image=reference, image_id=image_id, manifest=manifest, warnings=tuple(warnings))


# -- checks before the engine -----------------------------------------------------------------------------


def _shown(path: Path) -> str:
    return str(path) if str(path) not in ("", ".") else "the current folder"


def _locate(directory: str | Path) -> tuple[Path, Path]:
    """The build context folder and the manifest file, or a usage error saying which is missing."""
    path = Path(directory)
    if path.is_file():
        if path.suffix != ".json":
            raise BuildError(f"{path} is a file; name the job folder (or its {MANIFEST_FILE})",
                             exit_status=EXIT_USAGE)
        return path.parent, path
    if not path.exists():
        raise BuildError(f"{path}: no such folder; name the job folder (the one with {MANIFEST_FILE} and "
                         f"{DOCKERFILE})", exit_status=EXIT_USAGE)
    if not path.is_dir():
        raise BuildError(f"{path} is not a folder; name the job folder", exit_status=EXIT_USAGE)
    manifest_file = path / MANIFEST_FILE
    if not manifest_file.is_file():
        raise BuildError(f"{_shown(path)} has no {MANIFEST_FILE}; name the job folder, or create a job with "
                         "`seed init`", exit_status=EXIT_USAGE)
    return path, manifest_file


def _reference(manifest: "Manifest", tag: str | None, warnings: list[Finding]) -> str:
    """The reference to tag the image with, refused (before building) when Docker could not hold it."""
    job = manifest.job
    if tag is None:
        problems = docker_name_problems(job.name, job.job_version, job.package_version)
        if problems:
            raise BuildError(f"Docker cannot name the image {manifest.image_name!r}: {'; '.join(problems)} "
                             "(or give another name with --tag)")
        return manifest.image_name
    problems = reference_problems(tag)
    if problems:
        raise BuildError(f"--tag {tag!r} is not a Docker image reference: {'; '.join(problems)}",
                         exit_status=EXIT_USAGE)
    repository, tag_part, _digest = split_reference(tag)
    reference = tag if tag_part is not None else f"{tag}:latest"
    if (repository, tag_part) != (image_repository(job.name, job.job_version), job.package_version):
        warnings.append(warning(
            "image-name-mismatch", "$",
            f"the tag {reference!r} does not follow the Seed naming {manifest.image_name!r} (a registry prefix is "
            "fine): registries find Seed images by the '-seed' suffix and `seed validate` reports the mismatch"))
    return reference


# -- base images: the classic builder pulls a missing FROM image by itself ---------------------------------


def _require_local_bases(client: Any, bases: list[BaseImage], dockerfile: Path) -> None:
    """Refuse before the engine tries the network for a base image that is not local."""
    from docker.errors import APIError, ImageNotFound

    for base in bases:
        try:
            client.images.get(base.reference)
        except ImageNotFound:
            via = f" (from the build argument {base.variables[0]})" if base.variables else ""
            arg = f", or --build-arg {base.variables[0]}=<a local image>" if base.variables else ""
            raise BuildError(
                f"the base image {base.reference!r}{via} of {base.instruction} at {_shown(dockerfile)}:{base.line} "
                f"is not on the local engine, and seed build never pulls unless asked: build it or `docker pull` "
                f"it, add --pull{arg}", exit_status=EXIT_SYSTEM) from None
        except APIError:
            continue  # e.g. a reference the engine cannot parse: the build itself reports it, in its words


# -- the engine ---------------------------------------------------------------------------------------------


def connect_docker(docker_client: Any = None, *, error: type[SeedRunnerError] = EngineUnavailableError) -> Any:
    """A ``docker.DockerClient`` that answers: the one given, else one for the engine `seed run` uses (the
    docker CLI's choice: DOCKER_HOST with its TLS variables, docker contexts, the local socket), after a ping.

    Raises ``error`` (with ``exit_status=4`` for ``BuildError``) naming the engine, where it came from and the fix.
    """
    if docker_client is not None:
        return docker_client
    from ..engine.sdk import connect_sdk

    try:
        return connect_sdk()
    except EngineUnavailableError as exc:
        if error is BuildError:
            raise BuildError(str(exc), exit_status=EXIT_SYSTEM) from None
        if error is EngineUnavailableError:
            raise
        raise error(str(exc)) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class _Lines:
    """Reassembles the engine's stream chunks ("Step 1/2 : ...", then "\\n") into clean lines."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.progress = progress
        self.pending = ""

    def feed(self, text: str) -> None:
        self.pending += text
        *complete, self.pending = self.pending.split("\n")
        for line in complete:
            self._emit(line)

    def flush(self) -> None:
        if self.pending:
            self._emit(self.pending)
            self.pending = ""

    def _emit(self, line: str) -> None:
        if self.progress is None:
            return
        line = _TERMINAL_ESCAPE.sub("", line).rstrip("\r")
        # The label step would repeat the whole manifest on one line: say what it is instead.
        step, sep, value = line.partition(f" : LABEL {LABEL}=")
        if sep:
            line = f"{step} : LABEL {LABEL}=<the manifest, {len(value.encode())} bytes of JSON>"
        self.progress(line)


def _run_build(client: Any, folder: Path, *, reference: str, label: str, args: Mapping[str, str], pull: bool,
               progress: Callable[[str], None] | None) -> str:
    """Stream one build; returns the image id, or raises BuildError with the engine's own message."""
    import requests
    from docker.errors import APIError, DockerException

    lines = _Lines(progress)
    step = ""
    failure: str | None = None
    image_id: str | None = None
    short_id: str | None = None
    try:
        # timeout=None: a quiet RUN step may take longer than the client's default read timeout.
        stream = client.api.build(path=str(folder), dockerfile=DOCKERFILE, tag=reference, labels={LABEL: label},
                                  buildargs=dict(args), pull=pull, rm=True, forcerm=True, decode=True, timeout=None)
        for message in stream:
            if not isinstance(message, dict):
                continue
            if "stream" in message:
                text = str(message["stream"])
                if text.startswith("Step "):
                    step = text.strip()
                built = re.match(r"Successfully built ([0-9a-f]+)", text)
                if built:
                    short_id = built.group(1)
                lines.feed(text)
            elif "status" in message:
                lines.flush()
                lines.feed(" ".join(str(message[k]) for k in ("id", "status") if message.get(k)) + "\n")
            if "error" in message or "errorDetail" in message:
                detail = message.get("errorDetail") or {}
                failure = str(detail.get("message") or message.get("error") or "unknown error")
            aux = message.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                image_id = aux["ID"]
        lines.flush()
    except APIError as exc:
        raise BuildError(f"the engine refused the build: {_short(exc.explanation or exc)}") from None
    except (requests.exceptions.RequestException, DockerException) as exc:
        raise BuildError(f"the build was cut off: the engine stopped answering ({_short(exc)})",
                         exit_status=EXIT_SYSTEM) from None
    if failure is not None:
        where = f" at {_short_step(step)}" if step else ""
        if unreachable(failure):  # the network's fault, not the job's: exit 4, as for an engine that does not answer
            raise BuildError(f"the build could not pull a base image{where}: the engine cannot reach the registry "
                             f"({_short(failure)}); check the engine's network, or build on a base that is "
                             "already local (--build-arg BASE_IMAGE=<a local image>)", exit_status=EXIT_SYSTEM)
        raise BuildError(f"the build failed{where}: {' '.join(failure.split())}")
    if image_id is None and short_id is not None:
        try:
            image_id = client.api.inspect_image(reference)["Id"]
        except (APIError, requests.exceptions.RequestException):
            image_id = None
    if not image_id:
        raise BuildError("the engine ended the build without reporting an image; run it again with its output "
                         "(without --quiet) to see why")
    return image_id


# What the engine says when a registry cannot be reached at all (DNS, TCP, TLS, a gateway or a rate limit), as
# opposed to a registry that answered "no such image" (the Dockerfile's fault: exit 1).
_UNREACHABLE = ("no such host", "connection refused", "i/o timeout", "connection reset", "network is unreachable",
                "no route to host", "tls handshake timeout", "temporary failure in name resolution",
                "server misbehaving", "context deadline exceeded", "toomanyrequests", "502 bad gateway",
                "503 service unavailable", "504 gateway time")


def unreachable(message: str) -> bool:
    """Whether an engine's error ``message`` says that a registry could not be reached (a system failure)."""
    lowered = message.lower()
    return any(marker in lowered for marker in _UNREACHABLE)


def _short_step(step: str) -> str:
    """'Step 3/5 : RUN make' for a message; long instructions are cut."""
    step = " ".join(step.split())
    return repr(step if len(step) <= 80 else step[:77] + "...")
