"""Unit tests for seed_runner.runtime.command, written as a manual of what a command may contain.

Every expected word list here was checked against Bash 5.2 (``set -f; set -- <command>``);
tests/test_command_bash.py compares against Bash directly on generated commands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from seed_runner.runtime.command import CommandSyntaxError, ParsedCommand, VariableReference, expand_command, parse_command

ENV = {
    "INPUT_FILE": "/seed/inputs/INPUT_FILE/in put.tif",
    "OUTPUT_DIR": "/seed/outputs",
    "VERSION": "1.0.0",
    "EMPTY": "",
    "SPACED": "  a  b\tc\n ",
    "GLOB": "*.tif",
    "PATH_VAL": "/data/dir/file.tar.gz",
    "AMP": "&",
}


def words(command: str, env: dict[str, str] | None = None) -> list[str]:
    return expand_command(command, ENV if env is None else env)


def error(command: str) -> CommandSyntaxError:
    with pytest.raises(CommandSyntaxError) as caught:
        parse_command(command)
    return caught.value


# ---- the Seed examples ------------------------------------------------------------------

SEED_FIXTURE_COMMANDS = {  # the commands of the Seed and Scale fixtures (grep '"command"' in shared/)
    "${INPUT_FILE} ${OUTPUT_DIR} ${VERSION}": ["/in/a.tif", "/out", "1.0.0"],
    "${INPUT_FILE} ${OUTPUT_DIR}": ["/in/a.tif", "/out"],
    "${INPUT_IMAGE} ${OUTPUT_DIR}": ["/in/img.png", "/out"],
    "${INPUT_TEXT} ${INPUT_FILES} ${READ_LENGTH}": ["/in/t.txt", "/in/files", "10"],
    "1024 ${INPUT_FILE} ${OUTPUT_DIR}": ["1024", "/in/a.tif", "/out"],
    "${ZIP} -d ${OUTPUT_DIR} ${MULTIPLE}": ["/in/z.zip", "-d", "/out", "true"],
    "sh image_rotate.sh ${INPUT_FILE} ${DEGREES} ${OUTPUT_DIR}": ["sh", "image_rotate.sh", "/in/a.tif", "90", "/out"],
    "sh /generate-metadata.sh": ["sh", "/generate-metadata.sh"],
    "sh /wrapper.sh": ["sh", "/wrapper.sh"],
    "app/job.sh ${INPUT_IMAGE} ${JOB_OUTPUT_DIR}": ["app/job.sh", "/in/img.png", "/job/out"],
    "scale_ingest -i ${INGEST_ID} -m ${MOUNT}": ["scale_ingest", "-i", "7", "-m", "/mnt"],
    "scale_ingest -i ${INGEST_ID}": ["scale_ingest", "-i", "7"],
    "scale_strike -i ${STRIKE_ID}": ["scale_strike", "-i", "3"],
    "scale_scan -i ${SCAN_ID} -d ${DRY_RUN}": ["scale_scan", "-i", "5", "-d", "false"],
    "scale_hello": ["scale_hello"],
    "scale_count": ["scale_count"],
    "scale_roulette": ["scale_roulette"],
}
FIXTURE_ENV = {
    "INPUT_FILE": "/in/a.tif", "OUTPUT_DIR": "/out", "VERSION": "1.0.0", "INPUT_IMAGE": "/in/img.png",
    "INPUT_TEXT": "/in/t.txt", "INPUT_FILES": "/in/files", "READ_LENGTH": "10", "ZIP": "/in/z.zip",
    "MULTIPLE": "true", "DEGREES": "90", "JOB_OUTPUT_DIR": "/job/out", "INGEST_ID": "7", "MOUNT": "/mnt",
    "STRIKE_ID": "3", "SCAN_ID": "5", "DRY_RUN": "false",
}


@pytest.mark.parametrize("command", sorted(SEED_FIXTURE_COMMANDS))
def test_seed_fixture_commands(command: str) -> None:
    assert words(command, FIXTURE_ENV) == SEED_FIXTURE_COMMANDS[command]


def test_fixture_command_with_a_path_containing_a_space_is_split_as_bash_does() -> None:
    assert words("${INPUT_FILE} ${OUTPUT_DIR} ${VERSION}") == [
        "/seed/inputs/INPUT_FILE/in", "put.tif", "/seed/outputs", "1.0.0"]
    assert words('"${INPUT_FILE}" "${OUTPUT_DIR}"') == ["/seed/inputs/INPUT_FILE/in put.tif", "/seed/outputs"]


def test_the_spec_example_adds_a_flag_only_when_the_input_is_set() -> None:
    assert words("${MY_INPUT/#/-d }", {"MY_INPUT": "/in/x"}) == ["-d", "/in/x"]
    assert words("${MY_INPUT/#/-d }", {}) == []  # an unset optional input: the flag disappears
    assert words("run ${MY_INPUT/#/-d } --fast", {}) == ["run", "--fast"]
    assert words("${MY_INPUT/#/-d }", {"MY_INPUT": ""}) == ["-d"]  # why optional inputs must be unset, not empty


def test_legacy_scale_syntax_is_a_bad_substitution() -> None:
    exc = error("scale_ingest ${-i :ingest_id}")
    assert exc.code == "bad-substitution"
    assert exc.position == 13
    assert "column 14" in str(exc) and "${-i :ingest_id}" in str(exc)


# ---- words, quotes and splitting ----------------------------------------------------------

@pytest.mark.parametrize("command, expected", [
    ("a b\tc", ["a", "b", "c"]),
    ("  a   b  ", ["a", "b"]),
    ("", []),
    ("'a b' \"c d\"", ["a b", "c d"]),
    ("'$OUTPUT_DIR' \"$OUTPUT_DIR\"", ["$OUTPUT_DIR", "/seed/outputs"]),
    ("a\\ b \\$V \\\\ \\'", ["a b", "$V", "\\", "'"]),
    ('"a\\$b \\" \\\\ \\x"', ['a$b " \\ \\x']),  # inside "...", \ escapes only $ ` " \ and newline
    ("'a\\b'", ["a\\b"]),  # nothing is special inside single quotes
    ("'' \"\" x", ["", "", "x"]),
    ('a""b', ["ab"]),
    ("a\\\nb c", ["ab", "c"]),  # a line continuation is removed
    ("* ? [a] x*", ["*", "?", "[a]", "x*"]),  # no pathname expansion
    ("a #comment $(ignored)", ["a"]),
    ("a#b", ["a#b"]),  # # starts a comment only at the start of a word
    ("x\\", ["x\\"]),  # a final backslash stays
])
def test_words_and_quoting(command: str, expected: list[str]) -> None:
    assert words(command) == expected


@pytest.mark.parametrize("command, expected", [
    ("$SPACED", ["a", "b", "c"]),  # leading, trailing and repeated blanks are dropped
    ('"$SPACED"', ["  a  b\tc\n "]),
    ("x${SPACED}y", ["x", "a", "b", "c", "y"]),
    ('x"$SPACED"y', ["x  a  b\tc\n y"]),
    ("$EMPTY", []),  # an unquoted expansion that yields nothing makes no word
    ("$UNSET", []),
    ('"$UNSET"', [""]),  # ... but a quoted one makes an empty word
    ("a\"$UNSET\"b", ["ab"]),
    ('""$SPACED', ["", "a", "b", "c"]),  # a quoted empty string anchors a word
    ("$GLOB", ["*.tif"]),
    ("$OUTPUT_DIR/$VERSION", ["/seed/outputs/1.0.0"]),
])
def test_word_splitting(command: str, expected: list[str]) -> None:
    assert words(command) == expected


@pytest.mark.parametrize("command, expected", [
    ("$ a", ["$", "a"]),
    ("a$", ["a$"]),
    ("$% $= $, $/ $: $} $]", ["$%", "$=", "$,", "$/", "$:", "$}", "$]"]),
    ('"$"', ["$"]),
    ("\"$'x'\"", ["$'x'"]),  # $'...' is only special outside double quotes
    # Bash quirk: a $ left alone after the last expansion of a word turns splitting off.
    ("$SPACED$%", ["  a  b\tc\n $%"]),
    ("$SPACED$%$SPACED", ["a", "b", "c", "$%", "a", "b", "c"]),
])
def test_dollar_left_alone(command: str, expected: list[str]) -> None:
    assert words(command) == expected


# ---- parameter expansion --------------------------------------------------------------------

@pytest.mark.parametrize("command, expected", [
    ("$VERSION ${VERSION} ${VERSION}x $VERSION.x", ["1.0.0", "1.0.0", "1.0.0x", "1.0.0.x"]),
    ("${UNSET:-def} ${EMPTY:-def} ${VERSION:-def}", ["def", "def", "1.0.0"]),
    ("${UNSET-def} ${EMPTY-def}x", ["def", "x"]),  # - only replaces an unset variable
    ("${UNSET:+alt} ${EMPTY:+alt} ${VERSION:+alt}", ["alt"]),
    ("${UNSET+alt} ${EMPTY+alt}", ["alt"]),
    ("${UNSET:-a b} ${UNSET:-\"a b\"}", ["a", "b", "a b"]),  # an unquoted word is split
    ('"${UNSET:-a  b}"', ["a  b"]),
    ("${UNSET:-$VERSION} ${UNSET:-${EMPTY:-x}}", ["1.0.0", "x"]),
    ("${VERSION:+--version=$VERSION}", ["--version=1.0.0"]),
    ("${UNSET:-'$x'} ${UNSET:-\\}}", ["$x", "}"]),
    ('"${UNSET:-\\"q\\}}"', ['"q}']),  # in double quotes, \} escapes too
    ("${#VERSION} ${#EMPTY} ${#UNSET}", ["5", "0", "0"]),
    ("${UNSET:-a;b|c&d(e)}", ["a;b|c&d(e)"]),  # operators are plain text inside ${...}
    # In a double-quoted ${V:-w}, Bash strips w's own quotes first; between them a backslash escapes anything.
    ('"${UNSET:-"a  b"}" "${UNSET:-"\\~"\\~}" "${UNSET:-x${VERSION}"y"}"', ["a  b", "~\\~", "x1.0.0y"]),
])
def test_default_alternative_and_length(command: str, expected: list[str]) -> None:
    assert words(command) == expected


@pytest.mark.parametrize("command, expected", [
    ("${PATH_VAL#*/}", ["data/dir/file.tar.gz"]),
    ("${PATH_VAL##*/}", ["file.tar.gz"]),
    ("${PATH_VAL%.*}", ["/data/dir/file.tar"]),
    ("${PATH_VAL%%.*}", ["/data/dir/file"]),
    ("${PATH_VAL#/data}", ["/dir/file.tar.gz"]),
    ("${PATH_VAL#nomatch}", ["/data/dir/file.tar.gz"]),
    ("${PATH_VAL##*/[a-f]?le}", [".tar.gz"]),
    ("${PATH_VAL##*[!a-z.]}", ["file.tar.gz"]),
    ("${PATH_VAL##*[^a-z.]}", ["file.tar.gz"]),
    ("${GLOB#\\*} ${GLOB#'*'} ${GLOB#\"*\"}", [".tif", ".tif", ".tif"]),  # quoted pattern characters are literal
    ("${GLOB#*}", ["*.tif"]),  # the shortest match of * is empty
    ('"${GLOB##*}"', [""]),
    ("${PATH_VAL#$UNSET}", ["/data/dir/file.tar.gz"]),
    ("${UNSET#*}", []),
])
def test_pattern_removal(command: str, expected: list[str]) -> None:
    assert words(command) == expected


@pytest.mark.parametrize("command, expected", [
    ("${PATH_VAL/dir/DIR}", ["/data/DIR/file.tar.gz"]),
    ("${PATH_VAL//a/A}", ["/dAtA/dir/file.tAr.gz"]),
    ("${PATH_VAL/\\/}", ["data/dir/file.tar.gz"]),  # no replacement: the match is removed
    ("${PATH_VAL/#\\/data/x}", ["x/dir/file.tar.gz"]),
    ("${PATH_VAL/%gz/bz2}", ["/data/dir/file.tar.bz2"]),
    ("${VERSION/#/v} ${VERSION/%/-rc}", ["v1.0.0", "1.0.0-rc"]),
    ("${PATH_VAL/*\\//}", ["file.tar.gz"]),  # the longest match at the leftmost position
    ("${VERSION//./ }", ["1", "0", "0"]),  # the result is split
    ('"${VERSION//./ }"', ["1 0 0"]),
    ("${VERSION//[0-9]/<&>}", ["<1>.<0>.<0>"]),  # & is the matched text (patsub_replacement)
    ("${VERSION//[0-9]/\\&} ${VERSION//[0-9]/'&'} ${VERSION/1/\"&\"}", ["&.&.&", "&.&.&", "&.0.0"]),
    ("${VERSION/1/$AMP}", ["1.0.0"]),  # an unquoted & from a variable is the match too
    ("${VERSION/1/\"$AMP\"}", ["&.0.0"]),
    ("${VERSION/./ \"x\" }", ["1", "x", "0.0"]),  # quotes in the replacement do not stop splitting
    ("${UNSET/#/x} ${EMPTY/#/x}", ["x"]),
])
def test_pattern_substitution(command: str, expected: list[str]) -> None:
    assert words(command) == expected


def test_bash_corners_of_pattern_substitution() -> None:
    env = {"V": "a/b/c", "P": "#a", "B": "bab"}
    assert words("${V////_} ${V///_}", env) == ["a_b_c", "a/b/c"]  # after //, a first / belongs to the pattern
    assert words("${V/$P/x}", env) == ["x/b/c"]  # the # anchor is looked for after expansion
    assert words("${V/\"#a\"/x} ${V//#a/x}", env) == ["a/b/c", "a/b/c"]
    assert words("${B/[!]]/x}", env) == ["bab"]  # Bash's fixed-length shortcut counts [!]] as 2 characters
    assert words("${B#[!]]}", env) == ["ab"]


# ---- rejected syntax ------------------------------------------------------------------------

@pytest.mark.parametrize("command, code, position", [
    ("run $(id)", "command-substitution", 4),
    ("run `id`", "command-substitution", 4),
    ('"$(id)"', "command-substitution", 1),
    ("${UNSET:-$(id)}", "command-substitution", 9),
    ("x $((1+2))", "arithmetic-expansion", 2),
    ("$[1+2]", "arithmetic-expansion", 0),
    ("diff <(a) >(b)", "process-substitution", 5),
    ("${V:=w}", "unsupported-expansion", 0),
    ("${V=w}", "unsupported-expansion", 0),
    ("${V:?w}", "unsupported-expansion", 0),
    ("${V?w}", "unsupported-expansion", 0),
    ("${V:1:2}", "unsupported-expansion", 0),
    ("${!V}", "unsupported-expansion", 0),
    ("${V^^} ${V,}", "unsupported-expansion", 0),
    ("${V@Q}", "unsupported-expansion", 0),
    ("${V[0]}", "unsupported-expansion", 0),
    ("$'\\n'", "unsupported-expansion", 0),
    ('$"x"', "unsupported-expansion", 0),
    ("a {b,c}", "unsupported-expansion", 2),
    ("x{1..3}", "unsupported-expansion", 1),
    ("~/bin", "unsupported-expansion", 0),
    ("PREFIX=~/x", "unsupported-expansion", 7),
    ("${UNSET:-~}", "unsupported-expansion", 9),
    ('"${UNSET:-\'x\'}"', "unsupported-expansion", 10),  # Bash would keep those quotes
    ('"${UNSET:-$V"x"}"', "unsupported-expansion", 10),  # Bash would read $Vx
    ("${-i :x}", "bad-substitution", 0),
    ("${}", "bad-substitution", 0),
    ("a ${V", "bad-substitution", 2),
    ("${V }", "bad-substitution", 0),
    ("${ V}", "bad-substitution", 0),
    ("${#V:-x}", "bad-substitution", 0),
    ("'abc", "unterminated-quote", 0),
    ('a "abc', "unterminated-quote", 2),
    ('${V:-"a}', "unterminated-quote", 5),
    ("a; b", "shell-operator", 1),
    ("a | b", "shell-operator", 2),
    ("a && b", "shell-operator", 2),
    ("a > out", "shell-operator", 2),
    ("a < in", "shell-operator", 2),
    ("(a)", "shell-operator", 0),
    ("a\nb", "shell-operator", 1),
    ("a # comment\nb", "shell-operator", 11),
    ("$0 x", "special-parameter", 0),
    ("x $1", "special-parameter", 2),
    ("${10}", "special-parameter", 0),
    ("$@", "special-parameter", 0),
    ('"$*"', "special-parameter", 1),
    ("$#", "special-parameter", 0),
    ("$?", "special-parameter", 0),
    ("$$", "special-parameter", 0),
    ("$!", "special-parameter", 0),
    ("$-", "special-parameter", 0),
    ("$_ ${_}", "special-parameter", 0),
    ("${#}", "special-parameter", 0),
    ("${@:-x}", "special-parameter", 0),
])
def test_rejected_syntax(command: str, code: str, position: int) -> None:
    exc = error(command)
    assert (exc.code, exc.position) == (code, position)
    message = str(exc)
    assert "\n" not in message and f"at column {position + 1} " in message


def test_messages_say_what_where_and_how_to_fix() -> None:
    assert str(error("echo hello $(whoami) x")) == (
        "command substitution $(...) at column 12 is not allowed: the command is not run by a shell; "
        "pass the value as an input or setting")
    assert str(error("a | b")) == (
        "shell operator '|' at column 3 is not allowed: the command is not run by a shell; "
        "wrap it in sh -c '...' if you need one")
    assert "${V:=w} assignment" in str(error("${V:=w}")) and "${V:-w}" in str(error("${V:=w}"))
    assert isinstance(error("${}"), ValueError)


def test_quoting_makes_rejected_characters_plain() -> None:
    assert words("'$(id) `id` ; | & < > ( ) ~ {a,b} $1' \"; | & < > ( ) ~ {a,b}\"") == [
        "$(id) `id` ; | & < > ( ) ~ {a,b} $1", "; | & < > ( ) ~ {a,b}"]
    assert words("\\; \\| \\~ \\{a,b} a\\#b x~ {a} {} a=b:c") == [
        ";", "|", "~", "{a,b}", "a#b", "x~", "{a}", "{}", "a=b:c"]


# ---- references ----------------------------------------------------------------------------

def test_references_in_source_order_with_operators_and_quoting() -> None:
    parsed = parse_command('$A "${B:-$C}" ${#D} ${E/#/-e } "x${F//a/$G}" ${H##*/}')
    assert parsed.references == (
        VariableReference("A", None, False, 0),
        VariableReference("B", ":-", True, 4),
        VariableReference("C", None, True, 9),
        VariableReference("D", "length", False, 14),
        VariableReference("E", "/#", False, 20),
        VariableReference("F", "//", True, 33),
        VariableReference("G", None, True, 40),
        VariableReference("H", "##", False, 45),
    )


@pytest.mark.parametrize("command, operators", [
    ("${V-x}${V:+x}${V+x}${V#x}${V%x}${V%%x}", ["-", ":+", "+", "#", "%", "%%"]),
    ("${V/a/b}${V/%a/b}${V//a}${V/#}", ["/", "/%", "//", "/#"]),
])
def test_reference_operators(command: str, operators: list[str]) -> None:
    assert [r.operator for r in parse_command(command).references] == operators


def test_single_quoted_and_escaped_dollars_are_not_references() -> None:
    assert parse_command("'$A' \\$B \"\\$C\" $ $%").references == ()


def test_a_parsed_command_is_reusable() -> None:
    parsed = parse_command('"${INPUT_FILE##*/}" ${OUTPUT_DIR}')
    assert isinstance(parsed, ParsedCommand) and parsed.source == '"${INPUT_FILE##*/}" ${OUTPUT_DIR}'
    assert expand_command(parsed, ENV) == ["in put.tif", "/seed/outputs"]
    assert expand_command(parsed, {"OUTPUT_DIR": "/o"}) == ["", "/o"]


# ---- the module itself ---------------------------------------------------------------------

def test_modules_import_only_the_standard_library() -> None:
    # command.py (expansion) and command_parser.py: the only import between them is expansion -> parser.
    sources = sorted((Path(__file__).resolve().parents[1] / "seed_runner" / "runtime").glob("command*.py"))
    assert [s.name for s in sources] == ["command.py", "command_parser.py"]
    for source in sources:
        tree = ast.parse(source.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {("." if node.level else "") + (node.module or "").split(".")[0]
                     for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        sibling = {".command_parser"} if source.name == "command.py" else set()
        assert imported <= {"__future__", "functools", "re", "dataclasses", "typing"} | sibling, source.name
