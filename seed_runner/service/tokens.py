"""Bearer tokens from the server's token file: one token a line, ``TOKEN [execute|deploy]`` (``execute`` when
no scope is given; ``deploy`` may also execute); ``#`` starts a comment. Compared in constant time; a token is
never part of a message. Pure."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

SCOPES = ("execute", "deploy")
MIN_TOKEN_LENGTH = 16


class BadTokenFile(ValueError):
    """A token file that cannot be used (its line number is named, never its text)."""


@dataclass(frozen=True)
class Tokens:
    entries: tuple[tuple[bytes, str], ...]

    def scope(self, authorization: str | None) -> str | None:
        """The scope of the bearer token in an Authorization header; None when it is missing or unknown.
        Every entry is compared (no early exit) so the time taken says nothing about which matched."""
        if not authorization:
            return None
        kind, _, given = authorization.strip().partition(" ")
        if kind.lower() != "bearer" or not given.strip():
            return None
        offered = given.strip().encode("utf-8", "replace")
        found = None
        for token, scope in self.entries:
            if hmac.compare_digest(token, offered) and found is None:
                found = scope
        return found


def read_tokens(text: str) -> Tokens:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) > 2 or (len(fields) == 2 and fields[1] not in SCOPES):
            raise BadTokenFile(f"line {number}: write TOKEN, or TOKEN execute, or TOKEN deploy")
        if len(fields[0]) < MIN_TOKEN_LENGTH:
            raise BadTokenFile(f"line {number}: a token must be at least {MIN_TOKEN_LENGTH} characters "
                               "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
        entries.append((fields[0].encode("utf-8"), fields[1] if len(fields) == 2 else "execute"))
    if not entries:
        raise BadTokenFile("no token in it; add a line TOKEN execute")
    return Tokens(tuple(entries))


def allows(scope: str | None, needed: str) -> bool:
    return scope == "deploy" or (scope == "execute" and needed == "execute")
