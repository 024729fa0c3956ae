"""File inputs given as URLs (``-i NAME=https://...``): fetched into the download cache before the plan is made,
so the plan only ever sees local files. I/O, kept out of the pure plan."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

DEFAULT_MAX_DOWNLOAD = 10 * 1024 ** 3
DEFAULT_TIMEOUT = 300.0


def max_download(value: int | str | None = None) -> int:
    """The download limit in bytes: ``value``, else SEED_MAX_DOWNLOAD, else 10 GiB."""
    from .urls import parse_size

    if value is None:
        value = os.environ.get("SEED_MAX_DOWNLOAD") or DEFAULT_MAX_DOWNLOAD
    return value if isinstance(value, int) else parse_size(value)


def resolve_url_inputs(request: Any, *, max_bytes: int | None = None, timeout: float | None = None,
                       progress: bool | None = None, sources: dict[str, dict[str, Any]] | None = None,
                       guard: Any = None) -> Any:
    """``request`` with every URL among its file inputs replaced by the cached file (named as the URL's last
    segment). Raises PlanError with one problem per URL that failed (``input-download-failed``,
    ``input-hash-mismatch``, ``input-download-too-large``, ``input-bad-url``), before anything starts.

    ``sources``, when given, receives for each cached file (by its absolute path) where it came from: ``url``
    (without credentials) and ``media_type`` (the server's Content-Type, or None). ``guard`` (an
    ``inputs.guarded.Guard``, `seed serve`'s): http(s) only, to the addresses its policy allows."""
    if not any("://" in str(v) for values in request.file_inputs.values() for v in values):
        return request  # no URL (``is_url`` needs "://"): nothing more imported on a run's way to its container
    from ..problems import error
    from ..runtime.input_files import request_path
    from ..runtime.plan import PlanError
    from .urls import BadUrl, is_url, parse_input_url, redact

    if not any(is_url(str(v)) for values in request.file_inputs.values() for v in values):
        return request
    from .download_cache import DownloadCache
    from .fetch import DownloadFailed, fetch

    try:
        limit = max_bytes if max_bytes is not None else max_download()
        if timeout is None:
            timeout = float(os.environ.get("SEED_DOWNLOAD_TIMEOUT") or DEFAULT_TIMEOUT)
    except ValueError as exc:
        raise PlanError([error("input-download-settings", "$.file_inputs", f"SEED_MAX_DOWNLOAD or "
                               f"SEED_DOWNLOAD_TIMEOUT: {exc}")]) from None
    cache = DownloadCache()
    problems = []
    resolved: dict[str, list[str | Path]] = {}
    for name, values in request.file_inputs.items():
        at = request_path("file_inputs", name)
        out: list[str | Path] = []
        for value in values:
            if not is_url(str(value)):
                out.append(value)
                continue
            try:
                url = parse_input_url(str(value))
                if guard is not None and url.scheme not in ("http", "https"):
                    problems.append(error("input-refused-url", at, f"input {name}: {url.shown}: only http:// and "
                                          "https:// references are taken"))
                elif url.scheme in ("http", "https") or url.scheme == "file" or _fsspec_knows(url.scheme):
                    entry = fetch(url, cache, max_bytes=limit, timeout=timeout, progress=progress, guard=guard)
                    out.append(cache.named_path(entry))
                    if sources is not None:
                        sources[str(Path(out[-1]).absolute())] = {"url": url.shown, "media_type": entry.content_type}
                else:
                    problems.append(error("input-download-failed", at, f"input {name}: {url.shown}: no "
                                          f"file system for {url.scheme}://"))
            except BadUrl as exc:
                problems.append(error("input-bad-url", at, f"input {name}: {exc}"))
            except DownloadFailed as exc:
                problems.append(error(exc.code, at, f"input {name}: {exc.message}"))
            except OSError as exc:  # the cache itself (a full disk, a folder not ours): never the URL's text
                problems.append(error("input-download-failed", at, f"input {name}: {redact(str(value))}: the "
                                      f"download cache {cache.root} cannot be written ({exc.strerror})"))
        resolved[name] = out
    if problems:
        raise PlanError(problems)
    return replace(request, file_inputs=resolved)


def _fsspec_knows(scheme: str) -> bool:
    try:
        from fsspec.registry import known_implementations, registry
    except ImportError:
        return False
    return scheme in known_implementations or scheme in registry
