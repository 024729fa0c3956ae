"""The source map (seed_runner.manifest.sourcemap) against ``json`` itself: it accepts exactly what json.loads
accepts, and every position it gives is checked by reading the text again at that offset with json's own
decoder. Then the findings of `seed validate` on a file, placed by it."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from seed_runner.manifest.sourcemap import Position, SourceMapError, locate, parse_json_path, place_findings
from seed_runner.problems import error, json_path, warning

from .conftest import CLEAN_MANIFEST

# json's own decoder, keeping every number as its text: no 4,300-digit limit, no float rounding, NaN == NaN.
DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
SPACES = ["", "", " ", "\n", "\t", "\r\n", "  \n  "]


class Obj(list):
    """An object as its (key, value) pairs in order: duplicates allowed, as JSON text allows them."""


class Raw(str):
    """A number written as this text (huge, long, with exponents)."""


def _dump_string(text: str, rnd: random.Random) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\' or code < 0x20:
            short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
            out.append(short.get(char) if char in short and rnd.random() < 0.7 else f"\\u{code:04x}")
        elif char == "/" and rnd.random() < 0.5:
            out.append("\\/")
        elif rnd.random() < 0.2 or 0xD800 <= code <= 0xDFFF and rnd.random() < 0.5:
            if code > 0xFFFF:  # a surrogate pair
                code -= 0x10000
                pair = (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
                out.append("".join(f"\\u{unit:04X}" if rnd.random() < 0.5 else f"\\u{unit:04x}" for unit in pair))
            else:
                out.append(f"\\u{code:04x}" if rnd.random() < 0.5 else f"\\u{code:04X}")
        else:
            out.append(char)  # raw, a lone surrogate included (json.loads reads a str, not bytes)
    return "".join(out) + '"'


def dump(value: Any, rnd: random.Random) -> str:
    """JSON text of ``value`` with random whitespace and escapes (iterative: any depth)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple) and item and item[0] == "text":  # an already written token
            out.append(item[1])
            continue
        out.append(rnd.choice(SPACES))
        if isinstance(item, Obj):
            parts: list[Any] = [("text", "{")]
            for i, (key, child) in enumerate(item):
                parts += [("text", ("," if i else "") + rnd.choice(SPACES) + _dump_string(key, rnd)
                           + rnd.choice(SPACES) + ":"), child]
            parts.append(("text", rnd.choice(SPACES) + "}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            parts = [("text", "[")]
            for i, child in enumerate(item):
                if i:
                    parts.append(("text", ","))
                parts.append(child)
            parts.append(("text", rnd.choice(SPACES) + "]"))
            stack.extend(reversed(parts))
        elif isinstance(item, Raw):
            out.append(str(item))
        elif isinstance(item, str):
            out.append(_dump_string(item, rnd))
        else:
            out.append(json.dumps(item))
        out.append(rnd.choice(SPACES))
    return "".join(out)


keys = st.one_of(st.text(max_size=5), st.sampled_from(["a", "job", "name", "", "0", "a b", "it's", "x.y", "[0]"]),
                 st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=()), max_size=8),
    st.from_regex(r"-?(0|[1-9][0-9]{0,400})(\.[0-9]{1,4})?([eE][-+]?[0-9]{1,4})?", fullmatch=True).map(Raw),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(Raw))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.lists(st.tuples(keys, inner), max_size=4).map(Obj), max_leaves=30)


def all_paths(value: Any) -> Iterator[tuple]:
    stack = [((), value)]
    while stack:
        path, node = stack.pop()
        yield path
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend(((*path, key), child) for key, child in children)


def value_at(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


def check_positions(text: str, value: Any) -> None:
    """Every member and element of ``value`` (json's reading of ``text``) is found exactly, and reading the text
    again at its offset gives its key (then, after the colon, its value) or its value."""
    paths = list(all_paths(value))
    found = locate(text, paths)
    lines = text.split("\n")
    for path in paths:
        where = found[path]
        assert where is not None and where.exact, path
        # The line and column say the same place as the offset.
        assert sum(len(line) + 1 for line in lines[: where.line - 1]) + where.column - 1 == where.offset
        at = where.offset
        if path and isinstance(path[-1], str):
            key, end = DECODER.raw_decode(text, at)
            assert key == path[-1]
            end = len(text) - len(text[end:].lstrip(" \t\n\r"))
            assert text[end] == ":"
            at = len(text) - len(text[end + 1:].lstrip(" \t\n\r"))
        assert DECODER.raw_decode(text, at)[0] == value_at(value, path), path


def json_accepts(text: str) -> bool:
    try:
        DECODER.decode(text)
    except RecursionError:
        assume(False)  # json cannot say; the source map has no such limit (tested below)
    except ValueError:
        return False
    return True


def map_accepts(text: str, paths: list | None = None) -> bool:
    try:
        locate(text, paths or [()])
    except SourceMapError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(documents, st.randoms(use_true_random=False))
def test_every_position_reads_back_as_its_key_or_value(document: Any, rnd: random.Random) -> None:
    text = dump(document, rnd)
    assert json_accepts(text) and map_accepts(text)
    check_positions(text, DECODER.decode(text))


@settings(max_examples=600, deadline=None)
@given(documents, st.randoms(use_true_random=False), st.lists(st.tuples(
    st.sampled_from(["delete", "insert", "replace"]), st.floats(0, 1),
    st.sampled_from(list('[]{}:,"\\ \n\x01-+.0123456789eEtfnuIN/\f\v\xa0\ufeff\u2028')
                    + ["\\u", "\\ud800", "NaN", "true", "\\x41", "\\'"])),
    min_size=1, max_size=3))
def test_it_accepts_exactly_what_json_accepts(document: Any, rnd: random.Random, edits: list) -> None:
    text = dump(document, rnd)
    for operation, where, insert in edits:
        at = int(where * len(text))
        if operation == "delete":
            text = text[:at] + text[at + 1:]
        elif operation == "insert":
            text = text[:at] + insert + text[at:]
        else:
            text = text[:at] + insert + text[at + 1:]
    accepted = json_accepts(text)
    assert map_accepts(text) == accepted, text
    # With the original document's paths asked for, the containers on them are walked here, not skipped by json.
    assert map_accepts(text, list(all_paths(DECODER.decode(dump(document, rnd))))) == accepted, text
    if accepted:
        check_positions(text, DECODER.decode(text))


@settings(max_examples=400, deadline=None)
@given(documents, st.randoms(use_true_random=False), st.data())
def test_a_few_paths_are_placed_as_when_every_path_is_asked_for(document: Any, rnd: random.Random, data: Any) -> None:
    """Values no path asked for are skipped by json's scanner: the paths asked for land where the full walk puts
    them, paths not in the document included."""
    text = dump(document, rnd)
    paths = list(all_paths(DECODER.decode(text)))
    every = locate(text, paths + [("nope",), (0, "x", 7)])
    some = data.draw(st.lists(st.sampled_from(paths + [("nope",), (0, "x", 7)]), max_size=4))
    assert locate(text, some) == {tuple(p): every[tuple(p)] for p in some}


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from('[]{}:," \\0123456789.-eEtrufalsnNI\f\x00'), max_size=20))
@example("")
@example(" ")
@example("\ufeff{}")  # a BOM is not JSON whitespace: the reader strips it before, as json.loads wants
@example('{"a":1,}')
@example("[01]")
@example("1.")
@example("-")
@example('"\\u12"')
def test_it_refuses_what_json_refuses(text: str) -> None:
    assert map_accepts(text) == json_accepts(text)


def test_duplicated_members_point_at_the_last_one_and_nothing_of_the_earlier_value_is_kept() -> None:
    text = '{"a": {"x": 1, "y": 2},\n "a": {"x": 3}}'
    found = locate(text, [("a",), ("a", "x"), ("a", "y")])
    assert found[("a",)].offset == text.rindex('"a"')
    assert found[("a", "x")].offset == text.rindex('"x"')
    # "y" was in the value that json.loads dropped: its nearest existing parent is the second "a".
    assert found[("a", "y")] == Position(text.rindex('"a"'), 2, 2, exact=False)


def test_deep_nesting_has_no_recursion_limit_and_huge_numbers_are_not_converted() -> None:
    depth = 200_000
    text = "[" * depth + "1" * 10_000 + "]" * depth
    with pytest.raises((RecursionError, ValueError)):
        json.loads(text)  # json gives up; the map does not
    where = locate(text, [(0,) * depth])[(0,) * depth]
    assert where == Position(depth, 1, depth + 1)
    objects = '{"a":' * depth + "1e999999" + "}" * depth
    assert locate(objects, [("a",) * depth])[("a",) * depth].offset == 5 * (depth - 1) + 1


def test_a_value_too_deep_for_jsons_scanner_is_walked_and_what_follows_is_still_placed() -> None:
    depth = 100_000  # json's C scanner raises RecursionError long before: the map walks this value itself
    text = '{"a": ' + "[" * depth + "]" * depth + ', "b": {"c": 1}, "d": ' + "[" * depth + "1" + "]" * depth + "}"
    found = locate(text, [("b", "c"), ("d",)])
    assert found[("b", "c")].offset == text.index('"c"') and found[("d",)].offset == text.index('"d"')
    with pytest.raises(SourceMapError):  # and a mistake deep inside it is still seen
        locate(text.replace("1]", "1,]"), [("b",)])


def test_member_names_read_as_json_reads_them() -> None:
    text = r'{"\ud83d\ude00": 1, "\u00e9t\u00E9": 2, "\ud800": 3, "a\/b": 4, "tab\t": 5}'
    paths = [("\U0001F600",), ("été",), ("\ud800",), ("a/b",), ("tab\t",)]
    found = locate(text, paths)
    assert all(found[p].exact for p in paths)
    assert [DECODER.raw_decode(text, found[p].offset)[0] for p in paths] == [p[0] for p in paths]


def test_a_path_not_in_the_document_points_at_its_nearest_existing_parent() -> None:
    text = '{\n  "job": {\n    "maintainer": {"name": "x"},\n    "tags": []\n  }\n}'
    found = locate(text, [("job", "maintainer", "email"), ("job", "tags", 3), ("nope",), ("job", "name", "x")])
    assert found[("job", "maintainer", "email")] == Position(text.index('"maintainer"'), 3, 5, exact=False)
    assert found[("job", "tags", 3)] == Position(text.index('"tags"'), 4, 5, exact=False)
    assert found[("nope",)] == Position(0, 1, 1, exact=False)
    assert not found[("job", "name", "x")].exact


def test_columns_count_characters_and_lines_count_newlines() -> None:
    text = '{"é€😀": 1,\r\n\t"b": 2}'
    assert locate(text, [("b",)])[("b",)] == Position(text.index('"b"'), 2, 2)
    # A character outside the BMP is one column (SARIF's "unicodeCodePoints"), not two UTF-16 units.
    assert locate('{"😀": {"x": 1}}', [("😀", "x")])[("😀", "x")].column == 8


@given(st.lists(st.one_of(st.text(st.characters(blacklist_categories=()), max_size=6),
                          st.integers(0, 10**6)), max_size=6))
def test_json_paths_read_back_into_their_parts(parts: list) -> None:
    assert parse_json_path(json_path(parts)) == tuple(parts)


@pytest.mark.parametrize("path", ["", "job.name", "$.", "$[x]", "$['unclosed", "INPUT/a.txt", "$..a"])
def test_what_is_not_a_json_path_is_none(path: str) -> None:
    assert parse_json_path(path) is None


def test_place_findings_keeps_placed_ones_and_leaves_text_that_is_not_json_alone() -> None:
    text = '{\n  "job": {"timeout": 0}\n}'
    placed = place_findings([warning("timeout-not-positive", "$.job.timeout", "m"),
                             error("invalid-json", "$", "m").at(7, 7), error("no-path", None, "m"),
                             error("missing-member", "$.seedVersion", "m")], text)
    assert [(p.line, p.column) for p in placed] == [(2, 11), (7, 7), (None, None), (1, 1)]
    unplaced = [warning("timeout-not-positive", "$.job.timeout", "m")]
    assert place_findings(unplaced, '{"job": ') == unplaced and place_findings(unplaced, text + "x")[0].line is None


# ------------------------------------------------------------------- findings of seed validate, in place


def _bad_manifest() -> dict:
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["interface"]["settings"][0]["name"] = "input-file"  # name-collision + name-not-normalized
    doc["job"]["timeout"] = 0
    del doc["job"]["maintainer"]["email"]  # missing: placed at "maintainer"
    doc["job"]["tags"].append(7)  # wrong-type at an array element
    doc["job"]["bogus"] = True
    return doc


@pytest.mark.parametrize("indent", [None, 2, "\t"])
def test_every_finding_of_a_file_is_placed_at_its_member(tmp_path: Path, indent: Any) -> None:
    from seed_runner import validate_all

    text = json.dumps(_bad_manifest(), indent=indent, ensure_ascii=False)
    file = tmp_path / "seed.manifest.json"
    file.write_text("\ufeff" + text, encoding="utf-8")  # a BOM shifts no column
    result = validate_all([str(tmp_path)])[0]
    assert result.file == str(file)
    codes = {f.code for f in result.findings}
    assert {"name-collision", "name-not-normalized", "timeout-not-positive", "missing-member", "wrong-type",
            "unknown-member"} <= codes
    lines = text.split("\n")
    for finding in result.findings:
        assert finding.line is not None, finding
        at = sum(len(line) + 1 for line in lines[: finding.line - 1]) + finding.column - 1
        parts = parse_json_path(finding.path)
        if finding.code == "missing-member":
            parts = parts[:-1]  # the missing member's parent
        token = json.JSONDecoder().raw_decode(text, at)[0]
        expected = parts[-1] if isinstance(parts[-1], str) else value_at(_bad_manifest(), parts)
        assert token == expected, finding


def test_syntax_errors_keep_the_readers_position_and_unreadable_files_have_none(tmp_path: Path) -> None:
    from seed_runner import validate_all

    (tmp_path / "a.json").write_text('{\n  "seedVersion": "1.0.0",\n}')
    (tmp_path / "b.json").write_bytes(b'{"job": "\xff"}')
    (tmp_path / "c.json").write_text('{"job": ' + "[" * 200 + "]" * 200 + "}")
    a, b, c, missing = validate_all([tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json",
                                     tmp_path / "d.json"])
    assert (a.findings[0].code, a.findings[0].line, a.findings[0].column) == ("invalid-json", 3, 1)
    assert (b.findings[0].code, b.findings[0].line, b.findings[0].column) == ("invalid-encoding", 1, 10)
    assert (c.findings[0].code, c.findings[0].line, c.findings[0].column) == ("too-deeply-nested", 1, 136)
    assert missing.findings[0].code == "source-not-found" and missing.findings[0].line is None


def test_a_file_changed_after_validation_is_not_placed_with_the_new_text(tmp_path: Path, monkeypatch) -> None:
    import seed_runner.validation as validation

    file = tmp_path / "seed.manifest.json"
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["timeout"] = 0
    file.write_text(json.dumps(doc, indent=2))
    real = validation.read_file

    def read_then_change(path: Path, name: str) -> Any:
        out = real(path, name)
        file.write_text("\n" * 50 + json.dumps(doc, indent=2))  # another size: the stamp differs
        return out

    monkeypatch.setattr(validation, "read_file", read_then_change)
    finding = validation.validate_sources([file])[0].findings[0]
    assert finding.code == "timeout-not-positive" and finding.line is None


def test_documents_and_images_have_no_positions() -> None:
    from seed_runner.manifest.image import ImageInfo
    from seed_runner.manifest.label import encode_label
    from seed_runner.manifest.names import LABEL
    from seed_runner.validation import validate_image_info, validate_mapping

    doc = _bad_manifest()
    assert all(f.line is None for f in validate_mapping(doc).findings)
    image = ImageInfo("clean-job-1.2.3-seed:0.1.0", "sha256:" + "0" * 64, (), {LABEL: encode_label(doc)}, {})
    result = validate_image_info(image)
    assert result.findings and result.file is None and all(f.line is None for f in result.findings)
    assert "line" not in result.findings[0].to_dict()


def test_positions_are_placed_only_when_asked_for(tmp_path: Path) -> None:
    """`seed validate`'s text output shows no positions, so it asks for none (placing them was most of its
    time on a manifest with findings); the library and the other formats get them."""
    from seed_runner import validate_all

    (tmp_path / "seed.manifest.json").write_text(json.dumps(_bad_manifest(), indent=2))
    placed, unplaced = validate_all([tmp_path])[0], validate_all([tmp_path], positions=False)[0]
    assert placed.findings == unplaced.findings  # the same findings: positions do not count in equality
    assert all(f.line is not None for f in placed.findings)
    assert all(f.line is None for f in unplaced.findings)
