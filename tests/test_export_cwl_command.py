"""The CWL export's command expansion (JavaScript, run by node as a CWL engine runs it) against the runner's own
expander (itself held to Bash by tests/test_command_bash.py): generated commands and values, the same words."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed_runner.export.cwl_command import EXPRESSION_LIB, UnsupportedCommand, command_arguments
from seed_runner.runtime.command import expand_command

NODE = shutil.which("node") or shutil.which("nodejs") or "node"  # scripts/ensure-node.sh installs it (make test)

NAMES = ["A", "B", "C_D"]
LITERAL = st.text(alphabet="abc-=/._ ", min_size=1, max_size=4)
PATTERN = st.text(alphabet="ab.-", min_size=0, max_size=3)


def _expansion(name: str, draw_op: str, word: str, rep: str) -> str:
    return {"plain": f"${{{name}}}", "bare": f"${name}", ":-": f"${{{name}:-{word}}}", "-": f"${{{name}-{word}}}",
            ":+": f"${{{name}:+{word}}}", "+": f"${{{name}+{word}}}", "/#": f"${{{name}/#{word}/{rep}}}",
            "/%": f"${{{name}/%{word}/{rep}}}", "#": f"${{{name}#{word}}}", "##": f"${{{name}##{word}}}",
            "%": f"${{{name}%{word}}}", "%%": f"${{{name}%%{word}}}", "/": f"${{{name}/{word}/{rep}}}",
            "//": f"${{{name}//{word}/{rep}}}", "length": f"${{#{name}}}"}[draw_op]


@st.composite
def parts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["lit", "exp", "exp", "dq", "sq"]))
    if kind == "lit":
        return draw(st.text(alphabet="abc-=/._", min_size=1, max_size=4))
    if kind == "sq":
        return "'" + draw(LITERAL) + "'"
    op = draw(st.sampled_from(["plain", "bare", ":-", "-", ":+", "+", "/#", "/%", "#", "##", "%", "%%", "/", "//",
                               "length"]))
    word = draw(PATTERN if op not in (":-", "-", ":+", "+") else st.text(alphabet="xy z", max_size=4))
    if op in ("/", "//") and not word:
        word = "a"
    exp = _expansion(draw(st.sampled_from(NAMES)), op, word, draw(st.text(alphabet="QR ", max_size=3)))
    if op == "bare":
        exp += draw(st.sampled_from(["", "-x", "/y"]))
    return f'"{exp}"' if kind == "dq" else exp


@st.composite
def commands(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.lists(parts(), min_size=1, max_size=3).map("".join), min_size=1, max_size=4))
    return " ".join(words)


VALUES = st.dictionaries(st.sampled_from(NAMES), st.text(alphabet="ab. -\t", max_size=6), max_size=3)


def _node_words(cases: list[tuple[str, dict[str, str]]]) -> list[list[str]]:
    lines = [EXPRESSION_LIB, "var vars = {}; function seedVar(n) { return vars.hasOwnProperty(n) ? vars[n] : null; }",
             "var out = [];"]
    for command, values in cases:
        lines.append(f"vars = {json.dumps(values)};")
        pieces = [arg[2:-1] for arg in command_arguments(command)]  # $(...) as a CWL engine evaluates it
        lines.append("out.push([].concat(" + ", ".join(pieces) + "));")
    lines.append("process.stdout.write(JSON.stringify(out));")
    proc = subprocess.run([NODE, "-e", "\n".join(lines)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(commands(), VALUES), min_size=60, max_size=60))
def test_the_javascript_expansion_gives_the_runners_words(cases: list[tuple[str, dict[str, str]]]) -> None:
    exported = []
    for command, values in cases:
        try:
            command_arguments(command)
        except UnsupportedCommand:
            continue
        exported.append((command, values))
    for (command, values), words in zip(exported, _node_words(exported)):
        assert words == expand_command(command, values), (command, values)


def test_glob_patterns_and_variables_in_patterns_are_refused() -> None:
    for command in ("${A%.*}", "${A#?}", "${A/[ab]/x}", "${A/${B}/x}", "${A//a/&}"):
        with pytest.raises(UnsupportedCommand):
            command_arguments(command)
    assert command_arguments('${A/#/--opt }') and command_arguments('"${A%".*"}"')
