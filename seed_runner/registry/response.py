"""One answer of a registry, as read off the wire: status, headers and body, with its JSON decoded on demand
(``RegistryError`` when it is not JSON) and the message of a Registry API error body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import RegistryError

__all__ = ["Response", "error_message"]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Any  # http.client.HTTPMessage
    body: bytes
    request: str = ""
    """``METHOD /path`` (no query) of the request this answers, for messages."""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            about = f" to {self.request}" if self.request else ""
            raise RegistryError(f"the registry's answer{about} is not JSON") from None

    def json_object(self) -> dict[str, Any]:
        document = self.json()
        if not isinstance(document, dict):
            about = f" to {self.request}" if self.request else ""
            raise RegistryError(f"the registry's answer{about} is not a JSON object")
        return document


def error_message(reply: Response) -> str:
    """The ``errors[].message`` texts of a Registry API error body, joined (at most 200 characters; "" if none)."""
    try:
        errors = json.loads(reply.body).get("errors") or []
        return "; ".join(str(e.get("message", "")) for e in errors)[:200]
    except (ValueError, AttributeError):
        return ""
