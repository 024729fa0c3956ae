"""Rule 12 and DECISIONS "Command": `interface.command` parsed with the runner's own Bash-compatible expander.

Syntax the runner will not expand (command substitution, arithmetic, ``${V:=w}``, shell operators)
is an error: the run would fail or, worse, do something else than Bash would. Variables nothing
injects and optional inputs used bare are warnings.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..runtime.command_parser import CommandSyntaxError, command_references
from ..problems import Finding, error, warning
from ..manifest.names import INPUT_METADATA, OUTPUT_DIR, allocated_variable, normalize_name
from .rules import FILE_INPUTS, FILE_OUTPUTS, JSON_INPUTS, MOUNTS, SCALARS, SETTINGS, Document

PATH = "$.job.interface.command"


def command_findings(doc: Document | dict, image_env: Iterable[str] = ()) -> list[Finding]:
    if not isinstance(doc, Document):
        doc = Document(doc)
    command = doc.value(("job", "interface", "command"))
    if not isinstance(command, str):
        return []
    try:
        references = command_references(command)
    except CommandSyntaxError as exc:
        code = exc.code if exc.code.startswith("command-") else f"command-{exc.code}"
        return [error(code, PATH, str(exc))]
    return list(_reference_findings(doc, references, set(image_env)))


def _reference_findings(doc: Document, references, image_env: set[str]) -> Iterator[Finding]:
    if not references:
        return
    injected = {OUTPUT_DIR, INPUT_METADATA}
    injected.update(allocated_variable(name) for _, name in doc.named(SCALARS))
    for group in (FILE_INPUTS, JSON_INPUTS, SETTINGS):
        injected.update(normalize_name(name) for _, name in doc.named(group))
    optional = {normalize_name(element["name"])
                for group in (FILE_INPUTS, JSON_INPUTS) for _, element in doc.items(group)
                if element.get("required") is False and isinstance(element.get("name"), str)}

    reported: set[str] = set()
    for ref in references:
        column = ref.position + 1
        if ref.name not in injected and ref.name not in image_env:
            if ref.name in reported:
                continue
            reported.add(ref.name)
            named = _no_variable(doc, ref.name)
            why = f"it names {named}" if named else "no input, setting or resource of the manifest injects it"
            yield warning("command-unknown-variable", PATH,
                          f"${{{ref.name}}} at column {column} expands to nothing: {why}; the command is expanded "
                          "by the runner, not by a shell in the container")
        elif ref.name in optional and ref.operator is None and ref.name not in reported:
            reported.add(ref.name)
            effect = "one empty argument" if ref.quoted else "nothing"
            yield warning("command-optional-input-bare", PATH,
                          f"optional input {ref.name} is used bare at column {column}: when it is not given this "
                          f"becomes {effect}; write ${{{ref.name}/#/-flag }} or ${{{ref.name}:+...}} to make the "
                          "argument conditional")


def _no_variable(doc: Document, variable: str) -> str | None:
    """The mount or output whose name becomes ``variable``, said so that the user sees why it injects nothing
    (the last of them when several do), or None. Looked for only for a reference nothing injects."""
    found = None
    for _, element in doc.items(MOUNTS):
        if isinstance(name := element.get("name"), str) and normalize_name(name) == variable:
            found = f"mount '{name}' (mounts inject no variable; use its container path {element.get('path')!r})"
    for _, name in doc.named(FILE_OUTPUTS):
        if normalize_name(name) == variable:
            found = f"output '{name}' (outputs inject no variable; write under ${{OUTPUT_DIR}})"
    return found
