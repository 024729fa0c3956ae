"""``seed search``: the Seed images in a registry, found without pulling anything: every tag of every ``-seed``
repository is described by the ``com.ngageoint.seed.manifest`` label in its config blob (SEED-RULES 8)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Callable

from .address import RegistryAddress, parse_registry
from .auth import Credentials, resolve_credentials
from .client import RegistryClient
from .errors import RegistryAuthError, RegistryError, RegistryNotFoundError, RegistryUnavailableError
from .versions import semver_key

__all__ = ["SearchHit", "search", "seed_repositories"]


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
