"""``seed pull``: a Seed image from a registry onto the local engine. A job or repository name resolves to its
newest version by SemVer precedence (``resolve_image``): nothing is ever pulled as ``latest``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..manifest.names import LABEL, image_repository
from .address import RegistryAddress, check_repository, parse_registry
from .auth import Credentials, resolve_credentials, scrub
from .client import RegistryClient
from .errors import RegistryNotFoundError
from .search import seed_repositories
from .transfer import Progress, engine_failure, follow_stream
from .versions import semver_key

__all__ = ["PullResult", "pull", "resolve_image"]


@dataclass(frozen=True, slots=True)
class PullResult:
    reference: str
    """What was pulled: ``registry/[org/]repository:tag``."""
    image_id: str
    digest: str | None
    local_name: str | None
    """The short ``<name>-<jobVersion>-seed:<packageVersion>`` tag added locally (None if not added)."""
    job: dict[str, str] | None
    """name, jobVersion, packageVersion, title from the pulled image's label (None: no Seed label)."""
    resolved_from: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["warnings"] = list(self.warnings)
        return doc


def _split_org(name: str, org: str | None) -> tuple[str, str | None]:
    if "/" in name:
        prefix, name = name.rsplit("/", 1)
        if org and org.strip("/") != prefix:
            raise ValueError(f"{prefix + '/' + name!r} names organization {prefix!r} but --org says {org!r}")
        org = prefix
    return name, (org.strip("/") or None) if org else None


def resolve_image(client: RegistryClient, name: str, org: str | None = None) -> tuple[str, str]:
    """(repository, tag) of NAME in the registry:

    - ``<name>-<jobVersion>-seed:<tag>`` (or ``@sha256:...``): exactly that;
    - ``<name>-<jobVersion>-seed``: its newest SemVer tag;
    - a job name ``<name>``: the newest job version among ``<name>-<jobVersion>-seed`` repositories, then its
      newest SemVer tag. Tags that are not SemVer (``latest``) are never chosen.
    """
    prefix = f"{org}/" if org else ""
    if "@" in name:
        repository, reference = name.split("@", 1)
        return check_repository(prefix + repository), reference
    if ":" in name:
        repository, tag = name.rsplit(":", 1)
        return check_repository(prefix + repository), tag
    if name.endswith("-seed"):
        repositories = [check_repository(prefix + name)]
    else:
        start = f"{prefix}{name.lower()}-"
        by_version = {}
        for repository in seed_repositories(client, org):
            version = repository[len(start):-len("-seed")] if repository.startswith(start) else ""
            if semver_key(version):
                by_version[repository] = semver_key(version)
        if not by_version:
            raise RegistryNotFoundError(f"no Seed image of job {name!r} is in the registry {client.address}"
                                        f"{' under ' + org if org else ''}; seed search --registry "
                                        f"{client.address} lists what is there")
        repositories = sorted(by_version, key=by_version.__getitem__, reverse=True)
    for repository in repositories:
        versions = [t for t in client.tags(repository) if semver_key(t)]
        if versions:
            return repository, max(versions, key=semver_key)
    raise RegistryNotFoundError(f"{repositories[0]} has no version tag (MAJOR.MINOR.PATCH) in the registry "
                                f"{client.address}; name the tag you want: {repositories[0]}:TAG")


def pull(name: str, registry: str | RegistryAddress, *, org: str | None = None,
         credentials: Credentials | tuple[str, str] | None = None, tag_local: bool = True,
         progress: Progress | None = None, docker_client: Any = None) -> PullResult:
    """Pull a Seed image from ``registry/[org/]`` onto the local engine (see ``resolve_image`` for NAME).

    With ``tag_local`` the image is also tagged ``<name>-<jobVersion>-seed:<packageVersion>`` from its label,
    so ``seed run`` takes the short name (as seed-cli does). Raises RegistryUnavailableError,
    EngineUnavailableError, RegistryAuthError, RegistryNotFoundError, PublishError.
    """
    from ..manifest.label import decode_label

    address = parse_registry(registry) if isinstance(registry, str) else registry
    creds = resolve_credentials(address, credentials)
    name = name.strip()
    if name.startswith(f"{address.host}/"):
        name = name[len(address.host) + 1:]
    name, org = _split_org(name, org)
    if org:
        check_repository(org)
    with RegistryClient(address, creds) as client:
        client.ping()
        repository, reference = resolve_image(client, name, org)
        resolved = f"{address.host}/{repository}{'@' if ':' in reference else ':'}{reference}"
        if client.manifest_digest(repository, reference) is None:
            raise RegistryNotFoundError(f"{resolved} is not in the registry; seed search --registry {address} "
                                        "lists what is there")
        from ..authoring.build import connect_docker

        engine = connect_docker(docker_client)
        import docker.errors

        if progress:
            progress(f"pulling {resolved}")
        try:
            error, digest = follow_stream(engine.api.pull(f"{address.host}/{repository}", tag=reference, stream=True,
                                                    decode=True, auth_config=creds.auth_config() if creds else None),
                                    progress)
        except docker.errors.NotFound as exc:
            raise RegistryNotFoundError(scrub(f"{resolved} is not in the registry ({exc.explanation})", creds)
                                        ) from None
        except docker.errors.APIError as exc:
            raise engine_failure(str(exc.explanation or exc), f"pulling {resolved}", address, creds) from None
        if error:
            raise engine_failure(error, f"pulling {resolved}", address, creds)
        image = engine.images.get(resolved)
        label = (image.attrs.get("Config") or {}).get("Labels", {}) or {}
        job, local_name, warnings = None, None, []
        document, _ = decode_label(label[LABEL]) if LABEL in label else (None, [])
        if isinstance(document, dict) and isinstance(document.get("job"), dict):
            j = document["job"]
            job = {k: str(j.get(k, "")) for k in ("name", "jobVersion", "packageVersion", "title")}
            short = f"{image_repository(job['name'], job['jobVersion'])}:{job['packageVersion']}"
            if tag_local and short != resolved:
                try:
                    image.tag(short.rsplit(":", 1)[0], short.rsplit(":", 1)[1])
                    local_name = short
                except docker.errors.APIError as exc:
                    warnings.append(f"could not tag it {short}: {exc.explanation}")
        else:
            warnings.append(f"{resolved} has no Seed manifest label: it is not a Seed image")
        return PullResult(reference=resolved, image_id=image.id, digest=digest or client.manifest_digest(
            repository, reference), local_name=local_name, job=job, resolved_from=name, warnings=tuple(warnings))
