"""Fetching one URL into the download cache: http(s) through urllib (bounded redirects, a deadline for the whole
transfer, Content-Length checked), every other scheme through fsspec. Messages never hold credentials."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, BinaryIO

from .address_policy import RefusedAddress
from .download_cache import DownloadCache, Entry
from .urls import InputUrl

if TYPE_CHECKING:
    from .guarded import Guard

MAX_REDIRECTS = 5
CHUNK = 1 << 16


class DownloadFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS
    max_repeats = 2

    def http_error_302(self, req, fp, code, msg, headers):  # noqa: ANN001 - urllib's signature
        location = headers.get("location") or headers.get("uri") or ""
        if urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, location)).scheme not in ("http", "https"):
            fp.close()
            raise DownloadFailed("input-download-failed", "a redirect to another scheme than http(s) is refused")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def fetch(url: InputUrl, cache: DownloadCache, *, max_bytes: int, timeout: float,
          progress: bool | None = None, guard: "Guard | None" = None) -> Entry:
    """The cache entry for ``url``: reused when present, matching its pin and still holding the bytes it was
    fetched with (read again on every use), else downloaded (a changed entry is discarded first). ``guard``
    (`seed serve`): only the addresses its policy allows are connected to, and the cache is not read (the
    server must judge every reference's addresses, even one fetched before)."""
    key = cache.key(url.fetch)
    with cache.lock(key):
        entry = None if guard is not None else cache.lookup(key)
        if entry is not None and (url.pin is None or entry.sha256 == url.pin):
            if cache.intact(entry):
                return entry
            cache.discard(entry)  # overwritten, truncated or replaced since it was fetched: fetched again
        fd, temp = cache.temp_file()
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size, content_type = _download(url, out, max_bytes=max_bytes, timeout=timeout,
                                                       progress=sys.stderr.isatty() if progress is None else progress,
                                                       guard=guard)
            if url.pin is not None and digest != url.pin:
                raise DownloadFailed("input-hash-mismatch", f"{url.shown}: its sha256 is {digest}, not the pinned "
                                                            f"{url.pin}; the file changed, or the pin is wrong")
            return cache.store(key, temp, url=url.shown, sha256=digest, size=size, name=url.name,
                               content_type=content_type)
        finally:
            temp.unlink(missing_ok=True)


def _download(url: InputUrl, out: BinaryIO, *, max_bytes: int, timeout: float, progress: bool,
              guard: "Guard | None" = None) -> tuple[str, int, str | None]:
    """Stream ``url`` into ``out``: (sha256, size, Content-Type). One deadline over all of it (``http_deadline``):
    whatever broke off once it passed is said as the timeout it is."""
    from .http_deadline import Deadline

    watch = Deadline(timeout)
    try:
        return _transfer(url, out, max_bytes=max_bytes, watch=watch, progress=progress, guard=guard)
    except DownloadFailed:
        if watch.expired:
            raise _timed_out(url, timeout) from None
        raise
    finally:
        watch.cancel()


def _timed_out(url: InputUrl, timeout: float) -> DownloadFailed:
    return DownloadFailed("input-download-failed", f"{url.shown}: timed out after {timeout:g} s "
                                                   "(SEED_DOWNLOAD_TIMEOUT)")


def _transfer(url: InputUrl, out: BinaryIO, *, max_bytes: int, watch, progress: bool,  # noqa: ANN001
              guard: "Guard | None" = None) -> tuple[str, int, str | None]:
    timeout = watch.seconds
    deadline = watch.end
    if url.scheme in ("http", "https"):
        source, expected, content_type = _open_http(url, watch, guard)
    elif guard is not None:
        raise DownloadFailed("input-refused-url", f"{url.shown}: only http:// and https:// references are taken")
    else:
        source, expected, content_type = _open_fsspec(url)
    limit = _limit_text(max_bytes)
    if expected is not None and expected > max_bytes:
        source.close()
        raise DownloadFailed("input-download-too-large", f"{url.shown}: {expected} bytes, over the download limit "
                                                         f"of {limit} (--max-download, SEED_MAX_DOWNLOAD)")
    digest = hashlib.sha256()
    size = 0
    bar = _progress_bar(url.name, expected) if progress else None
    try:
        with source:
            while True:
                if time.monotonic() > deadline:
                    raise DownloadFailed("input-download-failed",
                                         f"{url.shown}: timed out after {timeout:g} s (SEED_DOWNLOAD_TIMEOUT)")
                try:
                    chunk = source.read(CHUNK)
                except (TimeoutError, socket.timeout):
                    raise DownloadFailed("input-download-failed",
                                         f"{url.shown}: timed out after {timeout:g} s (SEED_DOWNLOAD_TIMEOUT)"
                                         ) from None
                except Exception as exc:  # noqa: BLE001 - IncompleteRead, a reset, a store's error
                    if type(exc).__name__ == "IncompleteRead":
                        break  # judged below against Content-Length
                    raise DownloadFailed("input-download-failed", f"{url.shown}: the transfer broke off "
                                                                  f"({type(exc).__name__})") from None
                if not chunk:
                    if watch.expired:  # the deadline shut the socket: an end that is no end
                        raise _timed_out(url, timeout)
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadFailed("input-download-too-large",
                                         f"{url.shown}: more than {limit}, the download limit "
                                         "(--max-download, SEED_MAX_DOWNLOAD)")
                digest.update(chunk)
                out.write(chunk)
                if bar:
                    bar[0].update(bar[1], advance=len(chunk))
    finally:
        if bar:
            bar[0].stop()
    if watch.expired or time.monotonic() > deadline:
        raise _timed_out(url, timeout)
    if expected is not None and size != expected:
        raise DownloadFailed("input-download-failed", f"{url.shown}: truncated: {size} of {expected} bytes "
                                                      "arrived (the server closed the connection)")
    return digest.hexdigest(), size, content_type


def _open_http(url: InputUrl, watch, guard: "Guard | None" = None):  # noqa: ANN001 - an http_deadline.Deadline
    from .http_deadline import handlers

    timeout = watch.seconds
    request = urllib.request.Request(url.fetch, headers={"User-Agent": "seed-runner"})
    if url.username is not None:  # sent to this host only: an unredirected header is dropped on redirects
        token = base64.b64encode(f"{url.username}:{url.password or ''}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    # The guard (seed serve) makes every connection, so it judges each address, redirects included; no proxy
    # then, which would connect on its behalf to an address nobody checked.
    chosen = handlers(watch, guard.create_connection if guard is not None else None)
    if guard is not None:
        chosen.insert(0, urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(_Redirects(), *chosen)
    try:
        response = opener.open(request, timeout=min(watch.remaining(), 60.0))
    except DownloadFailed as exc:
        raise DownloadFailed(exc.code, f"{url.shown}: {exc.message}") from None
    except RefusedAddress as exc:  # the guard's (seed serve): an address the server may not reach
        raise DownloadFailed("input-refused-url", f"{url.shown}: {exc}") from None
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise DownloadFailed("input-download-failed", f"{url.shown}: too many redirects (a redirect loop, "
                                                          f"or more than {MAX_REDIRECTS})") from None
        raise DownloadFailed("input-download-failed", f"{url.shown}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, RefusedAddress):
            raise DownloadFailed("input-refused-url", f"{url.shown}: {reason}") from None
        text = getattr(reason, "strerror", None) or type(reason).__name__ if not isinstance(reason, str) else reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            text = f"timed out after {min(timeout, 60.0):g} s (SEED_DOWNLOAD_TIMEOUT)"
        raise DownloadFailed("input-download-failed", f"{url.shown}: {text}") from None
    except (TimeoutError, socket.timeout):
        raise DownloadFailed("input-download-failed",
                             f"{url.shown}: timed out after {min(timeout, 60.0):g} s (SEED_DOWNLOAD_TIMEOUT)") from None
    except (OSError, ValueError) as exc:
        raise DownloadFailed("input-download-failed", f"{url.shown}: {type(exc).__name__}") from None
    except http.client.HTTPException as exc:  # a status line or headers that are not HTTP (too many, too long)
        raise DownloadFailed("input-download-failed", f"{url.shown}: the server's answer is not HTTP "
                                                      f"({type(exc).__name__}: {_one_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - anything else a hostile server can provoke is still one line
        raise DownloadFailed("input-download-failed", f"{url.shown}: {type(exc).__name__}") from None
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    content_type = response.headers.get_content_type() if response.headers.get("Content-Type") else None
    return response, expected, content_type


def _open_fsspec(url: InputUrl):
    try:
        import fsspec
    except ImportError:
        raise DownloadFailed("input-download-failed", f"{url.shown}: fsspec is not installed") from None
    try:
        fs, path = fsspec.core.url_to_fs(url.fetch)
    except ImportError as exc:
        raise DownloadFailed("input-download-failed", f"{url.shown}: the {url.scheme}:// scheme needs a package "
                                                      f"that is not installed ({exc.name or exc}); e.g. "
                                                      "pip install 'seed-runner[s3]'") from None
    except (ValueError, OSError) as exc:
        raise DownloadFailed("input-download-failed", f"{url.shown}: {type(exc).__name__}") from None
    try:
        info = fs.info(path)
        if info.get("type") == "directory":
            raise DownloadFailed("input-download-failed", f"{url.shown}: is a directory, not a file")
        source = fs.open(path, "rb")
    except FileNotFoundError:
        raise DownloadFailed("input-download-failed", f"{url.shown}: not found") from None
    except PermissionError:
        raise DownloadFailed("input-download-failed", f"{url.shown}: permission denied") from None
    except DownloadFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - every store has its own errors; their text may quote the URL
        raise DownloadFailed("input-download-failed", f"{url.shown}: {type(exc).__name__}") from None
    size = info.get("size")
    return source, size if isinstance(size, int) else None, None


def _limit_text(limit: int) -> str:
    for unit, factor in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if limit >= factor:
            return f"{limit / factor:g} {unit}"
    return f"{limit} bytes"


def _progress_bar(name: str, total: int | None) -> tuple[object, object] | None:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(f"downloading {name}", total=total)
    bar.start()
    return bar, task


def _one_line(exc: Exception) -> str:
    """An exception's text that a server wrote into (a bad status line): one line, printable, short."""
    text = " ".join(str(exc).split())
    return "".join(c if c.isprintable() else "?" for c in text)[:80]
