"""``command_references``: the references of a command, read by patterns when it is simple, must be exactly the
parser's (``parse_command(...).references``), and a command the parser refuses must be refused alike."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seed_runner.runtime.command_parser import (_SIMPLE, CommandSyntaxError, VariableReference, command_references,
                                                parse_command)

# Pieces that sit on the border of the simple form: names, every operator, and what makes a command not simple
# (quotes, backslashes, nested $, ~, braces, comments, shell operators, non-ASCII letters).
PIECES = ["$", "${", "}", "{", "A", "b", "Z9", "_", "_x", "1", " ", "\t", "-", "+", ":", ":-", ":+", "#", "##", "%",
          "%%", "/", "//", "/#", "/%", "~", "'", '"', "\\", "\\\n", "(", ")", ";", "|", "&", "<", ">", "=", ".", ",",
          "@", "\n", "`", "!", "*", "?", "[", "é", "$A", "${A}", "${A:-x y}", "${A/#/-o }", "$_", "${_}", "${#A}",
          "${A:x}", "${A:=x}", "$(x)", "$((1))", "-o", "file.txt"]


def outcome(read, command: str):
    try:
        return read(command)
    except CommandSyntaxError as exc:
        return ("refused", exc.code, exc.position, str(exc))


def parsed_references(command: str) -> tuple[VariableReference, ...]:
    return parse_command(command).references


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
@example("${INPUT_FILE} ${OPTIONAL_FILE/#/-o } ${OUTPUT_DIR} ${THRESHOLD} ${ALLOCATED_CPUS}")
@example("${D///r} ${C//x/y/z} ${V/%x} ${E%%.txt} $A-x ${B:+--flag=$B}")
@example("${A##x} ${B%%y} ${C:+z} ${D:-w} ${E-v} ${F+u} ${G#t} ${H%s} ${I/p/r} ${J//p/r} ${K/#p/r} ${L/%p}")
@example("")
def test_references_are_the_parsers(command: str) -> None:
    assert outcome(command_references, command) == outcome(parsed_references, command)


@pytest.mark.parametrize("command", [
    "${INPUT_FILE} ${OPTIONAL_FILE/#/-o } ${OUTPUT_DIR} ${THRESHOLD} ${ALLOCATED_CPUS}",
    "python3 /app/run.py --in $INPUT_FILE -o ${OUTPUT_DIR}/out.txt ${LEVEL:-3}",
])
def test_common_commands_take_the_pattern_path(command: str) -> None:
    assert _SIMPLE.fullmatch(command)  # the fast reading, not the parser
    assert command_references(command) == parse_command(command).references


@pytest.mark.parametrize("command", ["a ~b", "$_", "${#A}", "'$A'", '"$A"', "a\\ b", "{a,b}", "# c", "a;b",
                                     "${A:-$B}", "${A:x}", "x\tdé"])
def test_other_commands_go_through_the_parser(command: str) -> None:
    assert not _SIMPLE.fullmatch(command)


def test_the_pattern_never_backtracks_far() -> None:
    # A long simple-looking prefix followed by what breaks it: refused by the pattern at once, then parsed.
    for command in ("a" * 100_000 + "~", "a " * 50_000 + "'", "${A:-" + "x " * 50_000):
        assert _SIMPLE.fullmatch(command) is None
