"""The run folder: chosen (``-o DIR``, else a new one under ./seed-runs), claimed atomically so that two runs
never share one, and given back when a run was refused before anything started (nothing is left behind).

A new folder is named ``JOB-STAMP-RUNID``: its suffix is the run's id, so that what a user sees in the folder's
name is what ``seed logs``, ``seed show`` and the run store take."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from ..errors import SeedRunnerError

__all__ = ["RunFolderError", "claim_run_dir", "default_run_dir", "is_new_folder", "name_hint", "release_run_dir",
           "shown_path"]


class RunFolderError(SeedRunnerError):
    """The run folder is not ours to write in: a file, not empty, taken by another run, or not creatable."""


# A run id fit to end a folder's name (ours are 12 hex digits; a caller's own is used when it is this tame).
_FOLDER_SAFE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}")


def default_run_dir(job_name: str, base: str | Path = "seed-runs", run_id: str | None = None) -> Path:
    """``BASE/JOB-STAMP-RUNID``: ``run_id`` is the folder's suffix (a new random one when None, or when it could
    not be part of a file name: a slash, say). 48 random bits: runs of one job in one second never meet."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    suffix = run_id if run_id and _FOLDER_SAFE_ID.fullmatch(run_id) else os.urandom(6).hex()
    return Path(base) / f"{job_name}-{stamp}-{suffix}"


def is_new_folder(given_dir: str | Path | None) -> bool:
    """Whether ``given_dir`` asks for a new folder under ./seed-runs: None (``RunRequest``'s default), or the
    empty string and ``"."``, which meant that before None did (kept so that older callers still work)."""
    return given_dir is None or str(given_dir) in ("", ".")


def name_hint(image: str) -> str:
    """A folder-friendly name for a run whose manifest is not known yet: the image's repository."""
    repository = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in repository) or "run"


def claim_run_dir(given_dir: str | Path | None, name: str, run_id: str | None = None) -> tuple[Path, bool]:
    """Create (or take, when new and empty) the run folder, atomically: two runs never share one.

    ``given_dir`` None (or ``""``, ``"."``): a new folder ``./seed-runs/NAME-STAMP-RUN_ID``.
    Returns the folder and whether this call created it (else it was there, empty).
    """
    run_dir = (default_run_dir(name, run_id=run_id) if is_new_folder(given_dir) else Path(given_dir)).absolute()
    if "\0" in str(run_dir):
        raise RunFolderError(f"the run folder {str(run_dir)!r} holds a NUL byte, which no path can; give another "
                             "with -o")
    try:
        is_file = run_dir.exists() and not run_dir.is_dir()
    except OSError as exc:  # a name too long for the file system (ENAMETOOLONG), a loop of links: not a folder
        raise RunFolderError(f"cannot use the run folder {shown_path(run_dir)} ({exc.strerror}); give another "
                             "with -o") from None
    if is_file:
        raise RunFolderError(f"the run folder {run_dir} is a file; give a new folder with -o")
    try:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        created = True
        try:
            run_dir.mkdir()
        except FileExistsError:
            created = False
            if any(run_dir.iterdir()):
                raise RunFolderError(f"the run folder {run_dir} is not empty; give a new one with -o, or leave "
                                      "-o out for a fresh folder") from None
        # The claim: whoever creates outputs/ first owns the folder.
        (run_dir / "outputs").mkdir()
    except FileExistsError:
        raise RunFolderError(f"the run folder {run_dir} was just taken by another run; give a new one with -o"
                              ) from None
    except OSError as exc:
        raise RunFolderError(f"cannot create the run folder {shown_path(run_dir)} ({exc.strerror}); give another "
                             "with -o") from None
    return run_dir, created


def shown_path(path: Path, width: int = 120) -> str:
    """A path for a one-line message: whole when short, else its start and end around "..." (a 300-character
    name would bury the message)."""
    text = str(path)
    return text if len(text) <= width else f"{text[:width // 2 - 2]}...{text[-(width // 2 - 1):]}"


def release_run_dir(run_dir: Path, created: bool) -> None:
    """Undo a claim: what the claim and a refused run wrote (``outputs/``, ``result.json``) goes, and the folder
    itself when the claim created it, so that ``-o DIR`` can be used again."""
    for name in ("result.json", "outputs"):
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if created:
        try:
            run_dir.rmdir()
        except OSError:  # someone put something there meanwhile: leave it
            pass
