"""`seed cache ls|prune`: the download cache of URL inputs (seed_runner.inputs.download_cache).

Exit status: 0 done, 2 usage (a bad --older-than)."""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Optional

import typer

cache_app = typer.Typer(name="cache", help="The download cache of URL inputs (-i NAME=https://...).",
                        no_args_is_help=True, add_completion=False)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 30d, 12h, 90m)", param_hint="--older-than")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} B"


@cache_app.command("ls")
def list_entries(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List the cached downloads: hash, size, last use and the URL (without credentials)."""
    from ..inputs.download_cache import DownloadCache

    cache = DownloadCache()
    entries = cache.entries()
    if as_json:
        typer.echo(json.dumps({"cache_dir": str(cache.root), "entries": [e.to_dict() for e in entries]}, indent=2))
        return
    if not entries:
        typer.echo(f"the download cache is empty ({cache.root})")
        return
    for entry in entries:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
        typer.echo(f"{entry.sha256[:12]}  {_size(entry.size):>10}  {used}  {entry.url}")
    total = sum(e.size for e in {e.sha256: e for e in entries}.values())
    typer.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {_size(total)} in {cache.root}")


@cache_app.command("prune")
def prune(
    older_than: Annotated[Optional[str], typer.Option(
        "--older-than", help="Remove entries not used for this long (e.g. 30d, 12h); default 30d.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Remove every entry.")] = False,
) -> None:
    """Remove cached downloads not used for a while (default 30 days), or all of them."""
    from ..inputs.download_cache import DownloadCache

    seconds = parse_duration(older_than or "30d")
    removed, freed = DownloadCache().prune(older_than=seconds, everything=everything)
    typer.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'}, freed {_size(freed)}")


def register(app: typer.Typer) -> None:
    """Add the `cache` group to the `seed` app."""
    app.add_typer(cache_app, name="cache")


def apply_max_download(value: str | None) -> None:
    """`seed run --max-download SIZE`: the limit seed_runner.inputs reads (as SEED_MAX_DOWNLOAD)."""
    if value is None:
        return
    import os

    from ..inputs.urls import parse_size

    try:
        os.environ["SEED_MAX_DOWNLOAD"] = str(parse_size(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-download") from None
