"""A document as bytes of the negotiated type: JSON as is; HTML through the page's Jinja2 template (every value
escaped by Jinja2's autoescape; ``generic`` shows any document). Pure: the templates ship with the package."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .documents import HTML

PAGES = ("landing", "conformance", "processes", "process", "jobs", "job", "generic")


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("seed_runner.service", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def render(document: Any, media: str, title: str = "seed-runner", page: str = "generic",
           context: dict[str, Any] | None = None) -> bytes:
    if media != HTML:
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    template = _environment().get_template(f"{page if page in PAGES else 'generic'}.html")
    values = {"base": "", "live": False, **(context or {}), "document": document, "title": title}
    return template.render(**values).encode("utf-8")
