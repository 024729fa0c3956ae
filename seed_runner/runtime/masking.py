"""Secret masking: the value of a ``secret`` setting replaced by ``****`` in text, bytes and JSON values.

A secret is looked for in every form in which it is likely to be written down: as it is (UTF-8), and as JSON,
Python (``repr``), a JSON path or Go's ``%q`` escape it (``\\"``, ``\\\\``, ``\\u00e9`` or ``\\u00E9``,
``\\/``), so that a message or document quoting an escaped secret is masked too. Longer forms are replaced
first. What no masking can catch (a secret split across two streams, or encoded, e.g. base64) is said in the
docs/how-to/secrets.md.

``SecretMask`` is the working object (the forms are computed once); ``mask_text`` masks one string.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping

MASK = "****"
MASK_BYTES = MASK.encode()
# A secret shorter than this is found inside almost any word, path or hash: it is masked in values that come
# from the user or the job, never inside what seed-runner writes as structure (``structural``).
SAFE_LENGTH = 8


def secret_forms(secret: str) -> set[str]:
    """The secret and its escaped spellings (empty forms left out)."""
    forms = {secret, repr(secret)[1:-1], secret.replace("\\", "\\\\").replace("'", "\\'")}
    for ascii_only in (False, True):
        inner = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        upper = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), inner)
        forms |= {inner, upper, inner.replace("/", "\\/"), upper.replace("/", "\\/")}
    return {form for form in forms if form}


def _utf8(text: str) -> bytes:
    """A form as the bytes a job would write: bytes smuggled in as surrogates (``surrogateescape``) come back."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


class SecretMask:
    """Masks a set of secrets (no secrets: every method gives its argument back, and the mask is false)."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets: frozenset[str] = frozenset(secret for secret in secrets if secret)
        forms = {form for secret in self.secrets for form in secret_forms(secret)}
        self.forms: tuple[str, ...] = tuple(sorted(forms, key=lambda f: (-len(f), f)))
        self.byte_forms: tuple[bytes, ...] = tuple(sorted({_utf8(f) for f in forms}, key=lambda f: (-len(f), f)))

    def __bool__(self) -> bool:
        return bool(self.forms)

    def text(self, text: str) -> str:
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def data(self, data: bytes) -> bytes:
        for form in self.byte_forms:
            if form in data:
                data = data.replace(form, MASK_BYTES)
        return data

    def found_in(self, data: bytes) -> bool:
        """Whether ``data`` holds a secret in one of its forms."""
        return any(form in data for form in self.byte_forms)

    def structural(self) -> "SecretMask":
        """The mask for what seed-runner writes as structure (ids, paths, hashes, names from the manifest):
        only the secrets of SAFE_LENGTH characters or more, which cannot stand inside such a value by chance."""
        return as_mask(secret for secret in self.secrets if len(secret) >= SAFE_LENGTH)

    def value(self, value: Any, *, names: bool = True) -> Any:
        """A copy of a JSON value with every string masked, and (``names``) every member name too: a document
        the job wrote has its own names; one seed-runner writes keeps its own (mappings become dicts, tuples
        lists); numbers and the rest are kept. Iterative: a document nested 1,000 deep is fine."""
        if not self:
            return value
        root: list[Any] = [None]
        pending: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (source, target container, key in it)
        while pending:
            source, target, key = pending.pop()
            if isinstance(source, str):
                target[key] = self.text(source)
            elif isinstance(source, Mapping):
                copy: dict[str, Any] = {}
                target[key] = copy
                for name, item in source.items():
                    name = self.text(name) if names and isinstance(name, str) else name
                    copy[name] = None
                    pending.append((item, copy, name))
            elif isinstance(source, (list, tuple)):
                items: list[Any] = [None] * len(source)
                target[key] = items
                pending.extend((item, items, index) for index, item in enumerate(source))
            else:
                target[key] = source
        return root[0]


NO_SECRETS = SecretMask()


@lru_cache(maxsize=32)
def _mask_of(secrets: frozenset[str]) -> SecretMask:
    return SecretMask(secrets)


def as_mask(secrets: SecretMask | Iterable[str]) -> SecretMask:
    """A SecretMask for secrets given as a mask or as strings (the masks of small sets are kept)."""
    if isinstance(secrets, SecretMask):
        return secrets
    return _mask_of(frozenset(secrets))


def mask_text(text: str, secrets: SecretMask | Iterable[str]) -> str:
    """``text`` with every secret, in every form, replaced by ``****``."""
    return as_mask(secrets).text(text)


# What the job wrote (JSON outputs, input-metadata updates, side-car properties) is masked whole, its member
# names too; of our own structure only the free text (messages) is, whatever a secret's length. The rest
# (member names, codes, paths, hashes, ids, media types) is ours: a short secret never rewrites it, a long one
# only in values (``masking.SAFE_LENGTH``). The command and environment are masked when they are built.
_JOBS = ("json_outputs", "input_metadata")
_OURS = ("problems", "warnings", "capture_failures")


def mask_result(document: dict[str, Any], secrets: Iterable[str]) -> None:
    """Mask a result document in place: what the job wrote whole, our own structure only where it is free
    text (``_JOBS``, ``_OURS``)."""
    if not secrets:
        return
    mask = as_mask(secrets)  # iterative: a side-car nested 1,000 deep is fine
    structural = mask.structural()
    document["message"] = mask.value(document["message"])
    for member in _JOBS:  # {a name from the manifest: what the job wrote}
        if isinstance(document[member], dict):
            document[member] = {name: mask.value(item) for name, item in document[member].items()}
    for member in _OURS:
        document[member] = [{key: mask.value(item, names=False) if key == "message" else
                             structural.value(item, names=False) for key, item in problem.items()}
                            for problem in document[member] or ()]
    for output in (document.get("outputs") or {}).values():
        for file in output["files"]:
            file["metadata"] = mask.value(file["metadata"])
