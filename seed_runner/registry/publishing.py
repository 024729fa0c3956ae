"""Seed images in a registry: ``search`` (no pulling: labels are read from config blobs), ``pull`` and ``publish``.

Names (SEED-RULES 2): an image is published as ``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>``,
always from the manifest in its label. Nothing is ever tagged or pulled as ``latest``: a Seed image's tag is its
package version, so ``pull`` resolves a job or repository name to the newest version by SemVer precedence.

``publish`` refuses to overwrite a tag the registry already has unless ``force``; with ``bump_package`` or
``bump_job`` (seed-cli's "deconfliction") a conflict instead bumps the version in the job folder's
``seed.manifest.json``, rebuilds with ``seed_runner.build.build_job`` and publishes the new version. Without a
conflict the image is published as it is and the manifest is not touched.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import EngineUnavailableError, ImageNotFoundError, SeedRunnerError
from ..manifest.names import LABEL, MAX_TAG_LENGTH, image_repository
from .client import (Credentials, RegistryAddress, RegistryAuthError, RegistryClient, RegistryError,
                       RegistryNotFoundError, RegistryUnavailableError, check_repository, parse_registry,
                       resolve_credentials, scrub)

Progress = Callable[[str], None]

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                     r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
BUMP_PARTS = ("major", "minor", "patch")


class PublishError(SeedRunnerError):
    """Publishing or pulling was refused or failed (exit status 1 in the CLI)."""


class TagExistsError(PublishError):
    """The registry already has the tag and neither ``force`` nor a bump was asked for."""


# -- SemVer --------------------------------------------------------------------------------------------


def semver_key(version: str) -> tuple | None:
    """A sort key by SemVer 2.0.0 precedence (a pre-release sorts before its release); None if not SemVer."""
    match = _SEMVER.match(version)
    if not match:
        return None
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


def bump_version(version: str, part: str) -> str:
    """``1.2.3-rc.1`` bumped: major ``2.0.0``, minor ``1.3.0``, patch ``1.2.4`` (pre-release and build dropped)."""
    match = _SEMVER.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a SemVer version (MAJOR.MINOR.PATCH)")
    if part not in BUMP_PARTS:
        raise ValueError(f"{part!r} is not one of {', '.join(BUMP_PARTS)}")
    major, minor, patch = int(match[1]), int(match[2]), int(match[3])
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


# -- search --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One Seed image (repository and tag) in a registry, described by the manifest in its label."""

    reference: str
    """``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>``: what ``docker pull`` takes."""
    registry: str
    repository: str
    tag: str
    digest: str
    name: str
    job_version: str
    package_version: str
    title: str
    description: str
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["tags"] = list(self.tags)
        doc["jobVersion"] = doc.pop("job_version")
        doc["packageVersion"] = doc.pop("package_version")
        return doc


def seed_repositories(client: RegistryClient, org: str | None = None, page_size: int = 100,
                      on_skip: Callable[[str, str], None] | None = None) -> list[str]:
    """The catalog's repositories ending in ``-seed`` (directly under ``org/`` when given); catalog entries
    that are not valid repository names are left out (``on_skip(entry, reason)`` hears about them)."""
    prefix = f"{org.strip('/')}/" if org else ""
    found = []
    for repository in client.catalog(page_size=page_size, on_skip=on_skip):
        if not repository.endswith("-seed") or not repository.startswith(prefix):
            continue
        if org and "/" in repository[len(prefix):]:
            continue
        found.append(repository)
    return found


def _hit(client: RegistryClient, repository: str, tag: str) -> SearchHit | str:
    """A hit, or the reason this image is not one."""
    from ..manifest.label import decode_label

    label, digest = client.seed_label(repository, tag)
    if label is None:
        return "no com.ngageoint.seed.manifest label"
    document, _ = decode_label(label)
    job = document.get("job") if isinstance(document, dict) else None
    if not isinstance(job, dict) or not all(isinstance(job.get(k), str) for k in ("name", "jobVersion",
                                                                                  "packageVersion")):
        return "the label holds no Seed manifest with job name and versions"
    tags = job.get("tags")
    return SearchHit(reference=f"{client.address.host}/{repository}:{tag}", registry=client.address.host,
                     repository=repository, tag=tag, digest=digest, name=job["name"],
                     job_version=job["jobVersion"], package_version=job["packageVersion"],
                     title=str(job.get("title") or ""), description=str(job.get("description") or ""),
                     tags=tuple(str(t) for t in tags) if isinstance(tags, list) else ())


def _matches(hit: SearchHit, keyword: str | None) -> bool:
    if not keyword:
        return True
    needle = keyword.casefold()
    return any(needle in text.casefold() for text in (hit.name, hit.title, hit.description, *hit.tags))


def search(registry: str | RegistryAddress, keyword: str | None = None, *, org: str | None = None,
           credentials: Credentials | tuple[str, str] | None = None, page_size: int = 100,
           on_skip: Callable[[str, str], None] | None = None, client: RegistryClient | None = None,
           workers: int = 8) -> list[SearchHit]:
    """Seed images in a registry whose job name, title, description or tags contain ``keyword``
    (case-insensitive; None or empty: all), sorted by name, job version and package version.

    Every tag of every ``-seed`` repository is described by the label in its config blob (no layer is
    fetched). ``on_skip(reference, reason)`` hears about images that are not Seed images, and about whatever
    the registry answers in a shape that cannot be read (a catalog entry or tag that is not a valid name, a
    repository whose tag list or an image whose manifest or config is malformed): those are left out, the rest
    is still searched. Raises RegistryUnavailableError, RegistryAuthError, or RegistryError (the catalog
    itself cannot be read).
    """
    from contextlib import nullcontext

    address = parse_registry(registry) if isinstance(registry, str) else registry
    owned = client is None
    client = client or RegistryClient(address, resolve_credentials(address, credentials))
    with client if owned else nullcontext(client):
        return _search(client, address, keyword, org, page_size, on_skip, workers)


def _search(client: RegistryClient, address: RegistryAddress, keyword: str | None, org: str | None,
            page_size: int, on_skip: Callable[[str, str], None] | None, workers: int) -> list[SearchHit]:
    import threading

    lock = threading.Lock()
    skipped: list[tuple[str, str]] = []

    def skip(reference: str, reason: str) -> None:
        with lock:
            skipped.append((reference, reason))

    repositories = seed_repositories(client, org, page_size, on_skip=skip)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        tag_lists = list(pool.map(lambda r: _tags_or_none(client, r, skip), repositories))
        pairs = [(r, t) for r, tags in zip(repositories, tag_lists) for t in tags]
        results = list(pool.map(lambda pair: _hit_or_skip(client, *pair), pairs))
    if on_skip:
        for reference, reason in skipped:
            on_skip(reference, reason)
    hits = []
    for (repository, tag), result in zip(pairs, results):
        if isinstance(result, SearchHit):
            if _matches(result, keyword):
                hits.append(result)
        elif on_skip:
            on_skip(f"{address.host}/{repository}:{tag}", result)
    return sorted(hits, key=lambda h: (h.name, h.repository, semver_key(h.job_version) or (), h.job_version,
                                       semver_key(h.tag) or (), h.tag))


def _tags_or_none(client: RegistryClient, repository: str, on_skip: Callable[[str, str], None]) -> list[str]:
    try:
        return client.tags(repository, on_skip=on_skip)
    except RegistryNotFoundError:  # deleted since the catalog was read
        return []
    except (RegistryUnavailableError, RegistryAuthError):
        raise
    except RegistryError as exc:  # a tag list of the wrong shape: this repository only
        on_skip(f"{client.address.host}/{repository}", str(exc))
        return []


def _hit_or_skip(client: RegistryClient, repository: str, tag: str) -> SearchHit | str:
    try:
        return _hit(client, repository, tag)
    except (RegistryUnavailableError, RegistryAuthError):
        raise
    except RegistryError as exc:  # deleted while we looked, no image for linux/amd64, or a malformed document
        return str(exc)


# -- the engine ----------------------------------------------------------------------------------------


def _stream(lines: Iterable[dict[str, Any]], progress: Progress | None) -> tuple[str | None, str | None]:
    """Follow a push or pull stream: (error message or None, digest or None); progress gets one line per
    layer state change."""
    error = digest = None
    last: dict[str, str] = {}
    for line in lines:
        if not isinstance(line, dict):
            continue
        if line.get("error") or line.get("errorDetail"):
            error = line.get("error") or (line.get("errorDetail") or {}).get("message") or "unknown error"
            continue
        aux = line.get("aux") or {}
        digest = aux.get("Digest") or digest
        status = line.get("status")
        if not status:
            continue
        match = re.search(r"digest: (sha256:[0-9a-f]{64})", status)
        digest = match.group(1) if match else digest
        if not progress:
            continue
        key = line.get("id") or ""
        if last.get(key) != status:
            last[key] = status
            progress(f"{key}: {status}" if key else status)
    return error, digest


def _engine_failure(message: str, what: str, address: RegistryAddress, credentials: Credentials | None
                    ) -> SeedRunnerError:
    message = scrub(message, credentials)
    lowered = message.lower()
    if any(s in lowered for s in ("unauthorized", "authentication required", "no basic auth credentials",
                                  "denied")):
        return RegistryAuthError(f"{what} failed: the registry {address} refused the credentials "
                                 f"({message})")
    if any(s in lowered for s in ("connection refused", "no such host", "i/o timeout", "connection reset")):
        return RegistryUnavailableError(f"{what} failed: the engine cannot reach the registry {address} "
                                        f"({message})")
    if "server gave http response to https client" in lowered:
        return RegistryUnavailableError(f"{what} failed: the engine speaks HTTPS to {address}; add it to the "
                                        f"daemon's insecure-registries ({message})")
    return PublishError(f"{what} failed: {message}")


# -- pull ----------------------------------------------------------------------------------------------


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
            error, digest = _stream(engine.api.pull(f"{address.host}/{repository}", tag=reference, stream=True,
                                                    decode=True, auth_config=creds.auth_config() if creds else None),
                                    progress)
        except docker.errors.NotFound as exc:
            raise RegistryNotFoundError(scrub(f"{resolved} is not in the registry ({exc.explanation})", creds)
                                        ) from None
        except docker.errors.APIError as exc:
            raise _engine_failure(str(exc.explanation or exc), f"pulling {resolved}", address, creds) from None
        if error:
            raise _engine_failure(error, f"pulling {resolved}", address, creds)
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


# -- publish -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishResult:
    reference: str
    """The published reference ``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>``."""
    digest: str | None
    image: str
    """The local image that was pushed (after a bump: the rebuilt one)."""
    image_id: str
    job: dict[str, str]
    overwrote: str | None = None
    """The digest of the manifest that --force replaced, if any."""
    bumped: dict[str, list[str]] | None = None
    """After a bump: {"packageVersion": [old, new]} and/or {"jobVersion": [old, new]}."""
    manifest_file: str | None = None
    """The seed.manifest.json a bump rewrote."""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["warnings"] = list(self.warnings)
        return doc


def _job_info(manifest: Any) -> dict[str, str]:
    job = manifest.job
    return {"name": job.name, "jobVersion": job.job_version, "packageVersion": job.package_version,
            "title": job.title}


def _local_seed_image(engine: Any, image: str) -> tuple[Any, Any]:
    """(docker Image, typed Manifest from its label); raises for a missing image, label or bad manifest."""
    import docker.errors

    from ..manifest.label import decode_label
    from ..validation.loading import manifest_from_text

    try:
        found = engine.images.get(image)
    except docker.errors.ImageNotFound:
        raise ImageNotFoundError(f"image {image!r} is not on the local engine; build it first (seed build)"
                                 ) from None
    except docker.errors.APIError as exc:
        raise EngineUnavailableError(f"the engine could not inspect {image!r}: {exc.explanation}") from None
    label = ((found.attrs.get("Config") or {}).get("Labels") or {}).get(LABEL)
    if label is None:
        raise PublishError(f"image {image!r} has no {LABEL} label: it is not a Seed image; build it with "
                           "seed build (which embeds seed.manifest.json)")
    return found, manifest_from_text(label, source=f"the label of {image}", decode=decode_label)


def _check_docker_name(repository: str, tag: str) -> None:
    if repository != repository.lower() or "+" in repository + tag or len(tag) > MAX_TAG_LENGTH:
        raise PublishError(f"{repository}:{tag} cannot be a Docker image name (uppercase, '+' or a tag over "
                           f"{MAX_TAG_LENGTH} characters); fix the job's name or versions in the manifest")


def _bumped_manifest_text(text: str, document: dict[str, Any], changes: dict[str, str]) -> str:
    """The manifest text with new versions: the value edited in place when it occurs once (formatting kept),
    else the document written anew."""
    new_text = text
    for key, new in changes.items():
        pattern = re.compile(r'("%s"\s*:\s*")%s(")' % (key, re.escape(document["job"][key])))
        if len(pattern.findall(new_text)) != 1:
            new_text = None
            break
        new_text = pattern.sub(lambda m: m.group(1) + new + m.group(2), new_text)
    if new_text is not None:
        try:
            check = json.loads(new_text)["job"]
            if all(check.get(k) == v for k, v in changes.items()):
                return new_text
        except (ValueError, KeyError, TypeError):
            pass
    rewritten = json.loads(text)
    rewritten["job"].update(changes)
    return json.dumps(rewritten, indent=2, ensure_ascii=False) + "\n"


def publish(image: str | None, registry: str | RegistryAddress, *, org: str | None = None, force: bool = False,
            bump_package: str | None = None, bump_job: str | None = None, directory: str | Path = ".",
            credentials: Credentials | tuple[str, str] | None = None, progress: Progress | None = None,
            docker_client: Any = None, build_args: dict[str, str] | None = None) -> PublishResult:
    """Tag a local Seed image ``registry/[org/]<name>-<jobVersion>-seed:<packageVersion>`` (from its label)
    and push it; ``image`` None means the one ``directory/seed.manifest.json`` names.

    An existing tag in the registry is refused (TagExistsError) unless ``force`` (overwrite) or a bump
    (``bump_package`` / ``bump_job``: ``major``, ``minor`` or ``patch``), which rewrites the versions in
    ``directory/seed.manifest.json``, rebuilds with ``build_job(directory, build_args=build_args)`` and
    publishes the new version (the file is restored if the build fails). The rebuild uses exactly
    ``build_args`` (the Dockerfile's ``ARG`` defaults for any not given), not the arguments the original
    image was built with, which the image does not record: pass the same ones, or the bumped version may be
    a different image (another base, say). The temporary registry tag is removed from the local engine
    afterwards. Raises ValueError for bad arguments, and ImageNotFoundError, InvalidManifestError,
    TagExistsError, PublishError, RegistryAuthError, RegistryUnavailableError, EngineUnavailableError.
    """
    for part in (bump_package, bump_job):
        if part is not None and part not in BUMP_PARTS:
            raise ValueError(f"{part!r} is not one of {', '.join(BUMP_PARTS)}")
    if force and (bump_package or bump_job):
        raise ValueError("--force overwrites the existing tag and a bump publishes a new one: choose one")
    address = parse_registry(registry) if isinstance(registry, str) else registry
    org = org.strip("/") or None if org else None
    if org:
        check_repository(org)
    creds = resolve_credentials(address, credentials)
    directory = Path(directory)
    from ..authoring.build import connect_docker

    engine = connect_docker(docker_client)
    if image is None:
        from ..api import load_manifest

        if not (directory / "seed.manifest.json").is_file():
            raise PublishError(f"no IMAGE given and {directory} has no seed.manifest.json to name it; give the "
                               "image, or the job folder with --dir")
        image = load_manifest(directory / "seed.manifest.json").image_name
    local, manifest = _local_seed_image(engine, image)
    job = manifest.job
    prefix = f"{org}/" if org else ""
    repository, tag = prefix + image_repository(job.name, job.job_version), job.package_version
    _check_docker_name(repository, tag)

    with RegistryClient(address, creds) as client:
        client.ping()
        existing = client.manifest_digest(repository, tag)
        bumped = manifest_file = None
        if existing is not None and not force:
            if not (bump_package or bump_job):
                raise TagExistsError(
                    f"{address.host}/{repository}:{tag} already exists in the registry ({existing}); use --force to "
                    "overwrite it, or --bump-package/--bump-job major|minor|patch to publish a new version")
            local, manifest, bumped, manifest_file = _bump_and_build(
                engine, client, directory, job.name, prefix, bump_package, bump_job, progress, build_args)
            job = manifest.job
            repository, tag = prefix + image_repository(job.name, job.job_version), job.package_version
            _check_docker_name(repository, tag)
            image = next(iter(local.tags), local.id)

        target = f"{address.host}/{repository}"
        had_tag = f"{target}:{tag}" in (local.tags or ())
        import docker.errors

        try:
            local.tag(target, tag)
            if progress:
                progress(f"pushing {target}:{tag}")
            error, digest = _stream(engine.api.push(target, tag=tag, stream=True, decode=True,
                                                    auth_config=creds.auth_config() if creds else None), progress)
        except docker.errors.APIError as exc:
            raise _engine_failure(str(exc.explanation or exc), f"pushing {target}:{tag}", address, creds) from None
        finally:
            if not had_tag:
                _untag(engine, local.id, f"{target}:{tag}")
        if error:
            raise _engine_failure(error, f"pushing {target}:{tag}", address, creds)
        return PublishResult(reference=f"{target}:{tag}", digest=digest or client.manifest_digest(repository, tag),
                             image=image, image_id=local.id, job=_job_info(manifest),
                             overwrote=existing if force else None, bumped=bumped,
                             manifest_file=str(manifest_file) if manifest_file else None)


def _untag(engine: Any, image_id: str, reference: str) -> None:
    """Remove the tag ``reference`` made for the push, unless it is the image's only name."""
    import docker.errors

    try:
        if any(t != reference for t in engine.images.get(image_id).tags):
            engine.images.remove(reference)
    except docker.errors.DockerException:
        pass


def _bump_and_build(engine: Any, client: RegistryClient, directory: Path, job_name: str, prefix: str,
                    bump_package: str | None, bump_job: str | None, progress: Progress | None,
                    build_args: dict[str, str] | None = None) -> tuple[Any, Any, dict[str, list[str]], Path]:
    file = directory / "seed.manifest.json"
    try:
        text = file.read_text(encoding="utf-8")
        document = json.loads(text)
        versions = {k: document["job"][k] for k in ("jobVersion", "packageVersion")}
        name = document["job"]["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not a Seed manifest"
        raise PublishError(f"cannot bump the version in {file}: {reason}; --dir must be the image's job folder"
                           ) from None
    if name != job_name:
        raise PublishError(f"{file} is the manifest of job {name!r}, not {job_name!r}: --dir must be the "
                           "image's job folder")
    changes = {}
    try:
        if bump_job:
            changes["jobVersion"] = bump_version(versions["jobVersion"], bump_job)
        if bump_package:
            changes["packageVersion"] = bump_version(versions["packageVersion"], bump_package)
    except ValueError as exc:
        raise PublishError(f"cannot bump the version in {file}: {exc}") from None
    new = {**versions, **changes}
    repository = prefix + image_repository(name, new["jobVersion"])
    existing = client.manifest_digest(repository, new["packageVersion"])
    if existing is not None:
        raise TagExistsError(f"{client.address.host}/{repository}:{new['packageVersion']}, the bumped version, "
                             f"also exists in the registry ({existing}); bump another part, or use --force")
    file.write_text(_bumped_manifest_text(text, document, changes), encoding="utf-8")
    if progress:
        progress(f"{file}: " + ", ".join(f"{k} {versions[k]} -> {v}" for k, v in changes.items()))
    try:
        from ..authoring.build import BuildError, build_job
    except ImportError:
        file.write_text(text, encoding="utf-8")
        raise PublishError("rebuilding after a bump needs seed build (seed_runner.build), which this "
                           "installation lacks; the manifest was left unchanged") from None
    import docker.errors

    try:
        built = build_job(str(directory), build_args=build_args or None, progress=progress, docker_client=engine)
    except (BuildError, SeedRunnerError, docker.errors.DockerException) as exc:
        file.write_text(text, encoding="utf-8")
        if getattr(exc, "exit_status", None) == 4:  # the engine stopped answering
            raise EngineUnavailableError(f"rebuilding {directory} after the bump failed: {exc}; {file} was "
                                         "restored") from None
        raise PublishError(f"rebuilding {directory} after the bump failed: {exc}; {file} was restored") from None
    except BaseException:
        file.write_text(text, encoding="utf-8")
        raise
    local, manifest = _local_seed_image(engine, built.image)
    return local, manifest, {k: [versions[k], v] for k, v in changes.items()}, file
