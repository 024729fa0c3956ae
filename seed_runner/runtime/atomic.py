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


def write_text_to_user_path(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """A file the user named (``-o``, ``--junit``): a regular file (or none yet) is written atomically, through a
    symbolic link to its target (the link stays); a FIFO or a device (``/dev/stdout``) is written into, since a
    rename would replace the node itself. Raises OSError."""
    import stat

    path = Path(path)
    existing = path.stat().st_mode if path.exists() else None  # through symlinks
    if existing is not None and not stat.S_ISREG(existing):
        with open(path, "w", encoding=encoding) as stream:
            stream.write(text)
    else:
        write_text_atomically(path.resolve(), text, encoding=encoding)
