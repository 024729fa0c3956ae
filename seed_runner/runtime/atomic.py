"""Files written whole or not at all: to a temporary file beside the target, then renamed over it.

A reader (a scheduler polling result.json, a user watching batch.json) never sees half a file, and a crash leaves
the old file or none. The temporary name carries the process and thread, so two writers never share one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_text_atomically(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding=encoding)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
