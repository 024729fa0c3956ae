"""The regular expressions of a case (``matches``, ``not_matches``), matched in bounded time.

A case may come from a stranger's pull request, and Python's ``re`` backtracks without end on patterns such as
``(a+)+b``, holding the interpreter's lock so that not even Ctrl-C is heard. The ``regex`` library (the same
syntax as ``re``, plus more) takes a timeout, and with ``concurrent=True`` lets go of the lock while it
matches: a match that runs out of time is a mismatch of its own ("took over 5 s"), never a pass, and `seed test`
stays stoppable meanwhile.
"""

from __future__ import annotations

from typing import Any

import regex

__all__ = ["MATCH_SECONDS", "PatternError", "PatternTimeout", "compile_pattern", "search"]

MATCH_SECONDS = 5.0
"""How long one pattern may take against one text (a sane pattern takes milliseconds on 64 MiB)."""
PatternError = regex.error


class PatternTimeout(Exception):
    """A pattern ran out of its time against a text."""


def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (multi-line: ``^`` and ``$`` at every line); raises ``PatternError``."""
    return regex.compile(pattern, regex.MULTILINE | regex.VERSION0)


def search(compiled: Any, text: str, seconds: float = MATCH_SECONDS) -> Any:
    """The first match of ``compiled`` in ``text``, or None; raises ``PatternTimeout`` after ``seconds``."""
    try:
        return compiled.search(text, concurrent=True, timeout=seconds)
    except TimeoutError:
        raise PatternTimeout(f"took over {seconds:.3g} s") from None
