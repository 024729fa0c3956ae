"""What each probe run is given: its input files (made in a folder of the suite), JSON inputs, settings, mounts and
grace period, as a ``RunRequest``; the probes (``probes/<probe>/probe.sh``) and the host judges (``judges.py``)
expect exactly these values.

The suite makes the files itself, under one folder per run, so an executor whose runs happen elsewhere only
needs that folder to be seen at the same path there (``seed conformance --work-dir`` on a shared file system).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..runtime.plan import RunRequest

SECRET = "pr0be-s3cret value"
"""The env probe's secret setting: the probe checks it arrives intact; the host that no result shows it."""

INPUT_TEXT = b"conformance input\n"
MOUNT_MARKER = b"conformance mount\n"
DATA_BYTES = 1310720
"""The resources probe's input: 1.25 MiB, so that mem = 60 + 3 x 1.25 = 63.75 (ALLOCATED_MEM 64) and
disk = 10 + 4 x 1.25 = 15.000000."""

Content = bytes | int
"""A file's bytes, or a size (that many zero bytes)."""


@dataclass(frozen=True)
class Recipe:
    files: Mapping[str, tuple[tuple[str, Content], ...]] = field(default_factory=dict)
    """Input name -> (path under the run's folder, content) of each of its files; a path ending in '/' is a
    folder given whole (its files follow, under it)."""
    json: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)
    mounts: Mapping[str, tuple[tuple[str, Content], ...]] = field(default_factory=dict)
    """Mount name -> the files of its host folder (paths relative to that folder)."""
    grace_period: float | None = None


_ENV_JSON = {"GREETING": "hello  wide world", "COUNT": 42, "RATIO": 2.5, "FLAG": False,
             "OPTIONS": {"a": "x y", "b": [1, 2]}, "ITEMS": [1, "two", None, {"k": True}], "retry-Count": 3}
_MOUNT = (("marker.txt", MOUNT_MARKER),)

RECIPES: dict[tuple[str, str], Recipe] = {
    ("env", "main"): Recipe(
        files={"INPUT_FILE": (("in/input.txt", INPUT_TEXT),),
               # three folders: the executor must gather them into one flat directory
               "INPUT_FILES": (("in/one/a.txt", b"file a\n"), ("in/two/b.txt", b"file b\n"), ("in/c.txt", b"c\n"))},
        json=_ENV_JSON,
        settings={"VERSION": "1.0", "SPECIAL": 'a=b; $HOME "q" *', "DB_PASS": SECRET}),
    ("fs", "main"): Recipe(
        files={"INPUT_FILE": (("in/input.txt", INPUT_TEXT),),
               "INPUT_FILES": (("in/many/", b""), ("in/many/x.txt", b"x\n"), ("in/many/y.txt", b"y\n"))},
        mounts={"RO_MOUNT": _MOUNT, "RW_MOUNT": _MOUNT, "DEFAULT_MOUNT": _MOUNT}),
    ("resources", "main"): Recipe(files={"DATA": (("in/data.bin", DATA_BYTES),)}),
    ("oom", "main"): Recipe(),
    ("timeout", "main"): Recipe(grace_period=1.0),
    ("outputs", "main"): Recipe(),
    **{("capture", mode): Recipe(json={"MODE": mode}) for mode in ("missing", "many", "nojson", "wrongtype")},
    ("errors", "declared"): Recipe(json={"EXIT_CODE": 3, "WRITE_OUTPUT": True}),
    ("errors", "default-category"): Recipe(json={"EXIT_CODE": 4, "WRITE_OUTPUT": True}),
    ("errors", "undeclared"): Recipe(json={"EXIT_CODE": 5, "WRITE_OUTPUT": True}),
    ("errors", "precedence"): Recipe(json={"EXIT_CODE": 3, "WRITE_OUTPUT": False}),
}


def make_request(probe: str, run: str, image: str, folder: Path) -> RunRequest:
    """Make the run's files under ``folder`` (new) and return its request; the run folder is ``folder/run``."""
    recipe = RECIPES[(probe, run)]
    folder.mkdir(parents=True)
    file_inputs: dict[str, list[str]] = {}
    for name, files in recipe.files.items():
        given = [_write(folder, path, content) for path, content in files]
        folders = [g for g, (path, _) in zip(given, files) if path.endswith("/")]
        file_inputs[name] = [str(p) for p in folders or given]
    mounts = {}
    for name, files in recipe.mounts.items():
        host = folder / "mounts" / name.lower()
        host.mkdir(parents=True)
        host.chmod(0o777)  # a rw mount must be writable for whatever uid the executor runs the job as
        for path, content in files:
            _write(host, path, content).chmod(0o666)
        mounts[name] = str(host)
    options: dict[str, Any] = {} if recipe.grace_period is None else {"grace_period": recipe.grace_period}
    return RunRequest(image=image, file_inputs=file_inputs, json_inputs=dict(recipe.json),
                      settings=dict(recipe.settings), mounts=mounts, run_dir=str(folder / "run"), **options)


def _write(folder: Path, relative: str, content: Content) -> Path:
    path = folder / relative
    if relative.endswith("/"):
        path.mkdir(parents=True, exist_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        if isinstance(content, int):
            out.truncate(content)
        else:
            out.write(content)
    return path
