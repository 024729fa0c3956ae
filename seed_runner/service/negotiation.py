"""Which representation a request gets: ``?f=`` beats ``Accept``; JSON for none or ``*/*``; None (406) only when
the client named types and none of them is offered. Pure."""

from __future__ import annotations

FORMATS = {"json": "application/json", "html": "text/html"}


def _parse_accept(accept: str) -> list[tuple[float, int, str]]:
    """(quality, position, media type) of each range, best first; a range that cannot be read is skipped."""
    ranges = []
    for position, part in enumerate(accept.split(",")[:50]):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if "/" not in media:
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # NaN, negative, above 1: not a quality
                    quality = 0.0
        if quality > 0:
            ranges.append((quality, position, media))
    return sorted(ranges, key=lambda r: (-r[0], r[1]))


def negotiate(accept: str | None, f: str | None, offered: tuple[str, ...] = ("application/json", "text/html")
              ) -> str | None:
    """The media type to answer with, among ``offered`` (the first is the default); None: 406.

    >>> negotiate("text/html,application/xhtml+xml,*/*;q=0.8", None)
    'text/html'
    >>> negotiate(None, "json")
    'application/json'
    """
    default = offered[0]
    if f is not None:
        wanted = FORMATS.get(f.strip().lower(), f.strip().lower())
        return wanted if wanted in offered else None
    if not accept or not accept.strip():
        return default
    ranges = _parse_accept(accept)
    if not ranges:
        return default  # an Accept we cannot read is no Accept at all
    for _, _, media in ranges:
        if media in ("*/*", "application/*") and default.startswith(media[:-1]):
            return default
        if media == "*/*":
            return default
        if media in offered:
            return media
        if media.endswith("/*"):
            for candidate in offered:
                if candidate.startswith(media[:-1]):
                    return candidate
        if media == "application/problem+json" or media.endswith("+json") and "application/json" in offered:
            return "application/json"
    return None
