"""A document as bytes of the negotiated type: JSON as is; HTML as a plain page (its links as links, the document
below), every value escaped. Pure."""

from __future__ import annotations

import html
import json
from typing import Any

from .documents import HTML


def render(document: Any, media: str, title: str = "seed-runner") -> bytes:
    if media != HTML:
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    links = document.get("links", []) if isinstance(document, dict) else []
    items = "".join(f'<li><a href="{html.escape(str(link.get("href", "")), quote=True)}">'
                    f'{html.escape(str(link.get("title") or link.get("rel") or link.get("href")))}</a></li>'
                    for link in links if isinstance(link, dict))
    body = html.escape(json.dumps(document, indent=2, ensure_ascii=False))
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><ul>{items}</ul><pre>{body}</pre></body></html>")
    return page.encode("utf-8")
