"""What a batch runs: one row per run, from a table (CSV or JSON Lines) or from files matched by patterns.

A row maps names to values. A table's columns are the job's file input, JSON input and setting names (any case,
``-`` for ``_``, as on the command line); an empty cell (CSV) or ``null`` (JSON Lines) is "not given". In CSV a
JSON input cell is JSON text (or plain text for a string input), ``@file.json`` reads it from a file relative to
the table's folder; a file input cell is one path (a folder for a multiple input), relative to the table's folder.
In JSON Lines a JSON input is the value itself and a file input a path or a list of paths.

``--each INPUT=PATTERN`` makes one row per matched file (sorted); several ``--each`` zip (the same count, or a
problem), ``--product`` crosses them.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..manifest.names import normalize_name
from ..problems import Problem, error

MAX_TABLE_BYTES = 64 * 1048576
"""A table is read whole (every row is checked before any run starts): 64 MiB is about a million rows."""


@dataclass(frozen=True, slots=True)  # one a row: 100,000 of them
class Row:
    number: int
    """1-based: the data row of a table (its header not counted), the line of a JSON Lines file, or the run."""
    values: dict[str, Any] = field(default_factory=dict)
    base: Path = Path(".")
    """The folder relative paths and ``@file.json`` are read from."""
    text_cells: bool = True
    """CSV: every value is text. JSON Lines: values are JSON values."""


class RowsError(ValueError):
    """A table or pattern that gives no rows at all (unreadable, not CSV/JSON Lines): one line."""


def row_path(number: int, name: str | None = None) -> str:
    return f"$.rows[{number}]" + (f".{name}" if name else "")


def read_table(path: str | Path) -> tuple[list[Row], list[Problem]]:
    """The rows of ``runs.csv`` or ``runs.jsonl`` (``.ndjson``); problems carry row numbers."""
    rows, problems = table_rows(path)
    return list(rows), problems


def table_rows(path: str | Path) -> tuple[Iterator[Row], list[Problem]]:
    """``read_table`` as a stream: the rows one at a time (a batch checks each and keeps only its record), and the
    list their problems are added to as they are read. A table that gives no rows at all (unreadable, not CSV)
    raises RowsError here, before any row is read."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".csv", ".jsonl", ".ndjson"):
        raise RowsError(f"{path}: a batch table is .csv or .jsonl (JSON Lines), not {kind or 'no extension'!r}")
    from ..manifest.sources import NotARegularFile, read_regular_file

    try:
        data = read_regular_file(path, MAX_TABLE_BYTES)
    except NotARegularFile:
        raise RowsError(f"{path} is not a regular file; give a .csv or .jsonl table") from None
    except OSError as exc:
        raise RowsError(f"cannot read {path} ({exc.strerror})") from None
    if len(data) > MAX_TABLE_BYTES:
        raise RowsError(f"{path} is larger than {MAX_TABLE_BYTES // 1048576} MiB; split the batch")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RowsError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    base = path.absolute().parent
    return _csv_rows(text, base, path) if kind == ".csv" else _jsonl_rows(text, base)


def _csv_rows(text: str, base: Path, path: Path) -> tuple[Iterator[Row], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise RowsError(f"{path} has no header row: its first line names the inputs and settings")
        for _ in reader:  # the whole table read once first (the csv module alone: fast): broken CSV is said now
            pass
    except csv.Error as exc:
        raise _csv_error(exc, path, reader.line_num) from None
    names = [h.strip() for h in header]
    problems = [error("duplicate-column", row_path(0, same[0]), f"the header names {_listed(same)}: one "
                      "input or setting (names are read in any case, '-' as '_'); keep one column")
                for same in _same_names(names)]
    return _csv_stream(text, names, base, problems), problems


def _csv_error(exc: csv.Error, path: Path, line: int) -> RowsError:
    if "field limit" in str(exc):  # the csv module's own limit (128 KiB a cell), not a broken file
        return RowsError(f"{path}: line {line} has a cell over {csv.field_size_limit() // 1024} KiB; put a large "
                         "JSON value in a file and write @file.json in its cell")
    return RowsError(f"{path}: not valid CSV at line {line} ({exc})")


def _csv_stream(text: str, names: list[str], base: Path, problems: list[Problem]) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next(reader)  # the header
    nameless = not all(names)  # a column with no name: its cells are looked at
    for number, cells in enumerate(reader, start=1):
        if not "".join(cells).strip():
            continue  # a blank line (every cell blank) is no run
        if len(cells) != len(names):
            problems.append(error("row-width", row_path(number), f"row {number} has {len(cells)} cells, the "
                                                                 f"header {len(names)}"))
            continue
        unnamed = [i for i, (n, c) in enumerate(zip(names, cells), start=1) if not n and c.strip()] \
            if nameless else None
        if unnamed:  # a value nobody would read: say so rather than drop it
            problems.append(error("unnamed-column", row_path(number), f"row {number}: column {unnamed[0]} "
                                  "has a value but no name in the header; name the column or empty it"))
        values = {n: c for n, c in zip(names, cells) if n and c != ""}
        yield Row(number, values, base)


def _jsonl_rows(text: str, base: Path) -> tuple[Iterator[Row], list[Problem]]:
    problems: list[Problem] = []
    return _jsonl_stream(text, base, problems), problems


def _jsonl_stream(text: str, base: Path, problems: list[Problem]) -> Iterator[Row]:
    from ..manifest.jsontext import parse_json_text

    for number, line in enumerate(text.split("\n"), start=1):  # JSON Lines: "\n" ends a line, nothing else
        if not line.strip():
            continue
        value, findings = parse_json_text(line, what="batch row")
        if value is None:
            why = findings[0].message if findings else "not JSON"
            problems.append(error("invalid-row", row_path(number), f"line {number}: {why}"))
            continue
        if not isinstance(value, dict):
            problems.append(error("invalid-row", row_path(number), f"line {number} is not a JSON object"))
            continue
        twice = [f.path.removeprefix("$.") for f in findings if f.code == "duplicate-key" and f.path.count(".") == 1]
        same = [[name, name] for name in twice] + _same_names(list(value))
        if same:  # JSON keeps the last of two members silently; a batch must not guess
            problems += [error("duplicate-column", row_path(number, names[0]), f"line {number} names "
                               f"{_listed(names)}: one input or setting (names are read in any case, '-' as "
                               "'_'); keep one member") for names in same]
            continue
        yield Row(number, {k: v for k, v in value.items() if v is not None}, base, text_cells=False)


def _same_names(names: list[str]) -> list[list[str]]:
    """The groups of names that mean one input or setting (the same but for case or '-' and '_')."""
    groups: dict[str, list[str]] = {}
    for name in names:
        if name:
            groups.setdefault(normalize_name(name), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def _listed(names: list[str]) -> str:
    return " and ".join(repr(n) for n in names) if len(set(names)) > 1 else f"{names[0]!r} twice"


def each_rows(patterns: list[tuple[str, str]], *, product: bool = False, base: Path | None = None
              ) -> tuple[list[Row], list[Problem]]:
    """One row per matched file of each ``(INPUT, PATTERN)``; several zip (``product``: cross)."""
    from wcmatch import glob as wcmatch_glob

    base = (base or Path.cwd()).absolute()
    matched: list[list[str]] = []
    problems: list[Problem] = [error("duplicate-each", f"$.each.{same[0]}", f"--each names {_listed(same)}: one "
                                     "input; give it one pattern") for same in _same_names([n for n, _ in patterns])]
    for name, pattern in patterns:
        # wcmatch, not glob: its ** does not go down links to folders (a link back up the tree made the standard
        # glob list a file 40 times, two such links made it run out of memory); root_dir: the folder's own name
        # is no pattern ("scans [2024]" is a folder, not a character class).
        files = sorted(str(base / p) for p in wcmatch_glob.glob(pattern, flags=wcmatch_glob.GLOBSTAR, root_dir=base)
                       if (base / p).is_file())
        if not files:
            problems.append(error("no-match", f"$.each.{name}", f"--each {name}={pattern} matches no file"))
        matched.append(files)
    if problems:
        return [], problems
    names = [name for name, _ in patterns]
    if product:
        combos = list(itertools.product(*matched))
    else:
        counts = {len(files) for files in matched}
        if len(counts) > 1:
            shown = ", ".join(f"{n}: {len(f)}" for n, f in zip(names, matched))
            return [], [error("each-counts", "$.each", f"the --each patterns match different numbers of files "
                                                       f"({shown}); give --product to cross them")]
        combos = list(zip(*matched))
    return [Row(i, {n: [v] for n, v in zip(names, combo)}, base, text_cells=False)
            for i, combo in enumerate(combos, start=1)], []
