"""The probes' reports: TAP lines that name a test id (``probes/lib.sh`` writes them), read back by test id.

    ok - env.json-string: GREETING (string) is the raw text, without quotes (got hello  wide world)
    not ok - fs.inputs-read-only: INPUT_FILE and every file of INPUT_FILES cannot be written
    ok - limits.memory: the memory limit is ALLOCATED_MEM MiB # SKIP no readable cgroup memory limit
    1..3

A test may have several lines (one per thing it checks); it passes when it has at least one and all are ``ok``.
Lines that are not test lines (the plan, comments, anything else) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^(?P<verdict>not ok|ok)\b(?:\s+\d+)?\s*-?\s*(?P<id>[a-z0-9][a-z0-9.-]*)(?::\s*(?P<detail>.*?))?"
                   r"(?:\s+#\s*SKIP\b\s*(?P<skip>.*))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TapLine:
    ok: bool
    test_id: str
    detail: str
    skipped: str | None = None
    """Why the check was skipped (it counts as a pass), or None."""


def parse_tap(text: str) -> dict[str, list[TapLine]]:
    """The test lines of ``text``, by test id, in their order."""
    found: dict[str, list[TapLine]] = {}
    for raw in text.splitlines():
        match = _LINE.match(raw.strip())
        if not match:
            continue
        line = TapLine(ok=match["verdict"].lower() == "ok", test_id=match["id"], detail=(match["detail"] or ""),
                       skipped=match["skip"])
        found.setdefault(line.test_id, []).append(line)
    return found


def verdict(lines: list[TapLine]) -> tuple[bool, str]:
    """(passed, message) of one test's lines: the failed checks' details, else the skips' reasons."""
    if not lines:
        return False, "the probe reported nothing for this test"
    failed = [line.detail or "failed" for line in lines if not line.ok]
    if failed:
        return False, "; ".join(failed)
    skipped = [f"skipped: {line.skipped}" for line in lines if line.skipped is not None]
    return True, "; ".join(skipped)
