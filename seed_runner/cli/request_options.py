"""The options that make a run request, shared by `seed run` and `seed batch` (-i, -j, -e, --secret, -m,
--resource): parsed the same way, with the same one-line errors (typer.BadParameter: exit status 2)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import typer

MAX_SECRET_BYTES = 1024 * 1024


@dataclass
class RequestParts:
    file_inputs: dict[str, list[str]] = field(default_factory=dict)
    json_inputs: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)
    resources: dict[str, float] = field(default_factory=dict)


def pairs(values: list[str] | None, option: str, *, allow_bare: bool = False) -> list[tuple[str, str | None]]:
    """`NAME=VALUE` option values; with ``allow_bare`` a lone `NAME` gives (NAME, None)."""
    found = []
    for value in values or ():
        name, sep, rest = value.partition("=")
        if not name or (not sep and not allow_bare):
            raise typer.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        found.append((name, rest if sep else None))
    return found


def json_text(name: str, value: str, option: str = "--json-input") -> Any:
    """A JSON input's command-line text, or ``@file.json``'s content, as JsonText (parsed by the plan)."""
    from ..runtime.plan import JsonText

    if not value.startswith("@"):
        return JsonText(value)
    from ..manifest.jsontext import MAX_DOCUMENT_BYTES
    from ..manifest.sources import NotARegularFile, read_regular_file

    try:  # a regular file only (not /dev/zero, not a FIFO), and no more of it than a JSON input may be
        data = read_regular_file(value[1:], MAX_DOCUMENT_BYTES)
        if len(data) > MAX_DOCUMENT_BYTES:
            raise typer.BadParameter(f"{name}: {value[1:]} is larger than {MAX_DOCUMENT_BYTES // 1048576} "
                                     "MiB, too large for a JSON input", param_hint=option)
        return JsonText(data.decode("utf-8"))
    except NotARegularFile:
        raise typer.BadParameter(f"{name}: {value[1:]} is not a regular file; give a JSON file",
                                 param_hint=option) from None
    except OSError as exc:
        raise typer.BadParameter(f"{name}: cannot read {value[1:]} ({exc.strerror})", param_hint=option) from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{name}: {value[1:]} is not UTF-8 text", param_hint=option) from None


def setting_from_environment(name: str, option: str = "--setting") -> str:
    if name not in os.environ:
        raise typer.BadParameter(f"{name} is not set in this environment", param_hint=option)
    return os.environ[name]


def secret_from_file(name: str, path: str) -> str:
    try:
        # Bounded (a secret is small; /dev/zero is not), but a pipe is fine: --secret T=<(pass show t).
        with open(path, "rb") as fh:
            data = fh.read(MAX_SECRET_BYTES + 1)
        if len(data) > MAX_SECRET_BYTES:
            raise typer.BadParameter(f"{name}: {path} is larger than {MAX_SECRET_BYTES // 1024} KiB, too large "
                                     "for a secret", param_hint="--secret")
        return data.decode("utf-8").removesuffix("\n")
    except OSError as exc:
        raise typer.BadParameter(f"{name}: cannot read {path} ({exc.strerror})", param_hint="--secret") from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{name}: {path} is not UTF-8 text", param_hint="--secret") from None


def request_parts(inputs: list[str] | None, json_inputs: list[str] | None, settings: list[str] | None,
                  secret_files: list[str] | None, mounts: list[str] | None, resources: list[str] | None
                  ) -> RequestParts:
    parts = RequestParts()
    for name, value in pairs(inputs, "--input"):
        parts.file_inputs.setdefault(name, []).append(value)  # type: ignore[arg-type]
    for name, value in pairs(json_inputs, "--json-input"):
        parts.json_inputs[name] = json_text(name, value)  # type: ignore[arg-type]
    for name, value in pairs(settings, "--setting", allow_bare=True):
        parts.settings[name] = setting_from_environment(name) if value is None else value
    for name, value in pairs(secret_files, "--secret"):
        parts.settings[name] = secret_from_file(name, value)  # type: ignore[arg-type]
    parts.mounts = {name: value for name, value in pairs(mounts, "--mount")}  # type: ignore[misc]
    for name, value in pairs(resources, "--resource"):
        try:
            parts.resources[name] = float(value)  # type: ignore[arg-type]
        except ValueError:
            raise typer.BadParameter(f"{name}={value!r} is not a number", param_hint="--resource") from None
    return parts
