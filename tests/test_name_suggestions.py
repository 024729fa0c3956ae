"""Issue 17.5: every fix `seed validate` suggests for a name passes every rule about that name, and two findings
about one name suggest one fix (a job named ``Broken_Job`` got ``Broken-Job``, still invalid, and ``broken_job``)."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from seed_runner.manifest.names import PATH_COMPONENT, image_repository
from seed_runner.validation import validate_document

from .conftest import CLEAN_MANIFEST

SUGGESTION = re.compile(r"(?:for example|use|write it as) '([^']*)'")
NAME_CODES = {"invalid-name", "name-not-normalized", "image-name-uppercase"}

names = st.one_of(
    st.text(st.sampled_from("aZ09_-. /éİﬁǅK\t"), min_size=1, max_size=12),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8))


def _suggestions(document: dict[str, Any], path: str) -> set[str]:
    found = [f for f in validate_document(document) if f.path == path and f.code in NAME_CODES]
    out = set()
    for finding in found:
        match = SUGGESTION.search(finding.message)
        assert match, finding.message  # every finding about a name says what to write instead
        out.add(match.group(1))
    return out


@settings(max_examples=300, deadline=None)
@given(names)
@example("Broken_Job")
@example("-Job-")
@example("My Job.v2")
def test_a_job_names_one_suggestion_passes_every_rule(name: str) -> None:
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["name"] = name
    suggestions = _suggestions(doc, "$.job.name")
    assert len(suggestions) <= 1, suggestions
    for suggestion in suggestions:
        doc["job"]["name"] = suggestion
        assert [f for f in validate_document(doc) if f.path == "$.job.name"] == []
        assert PATH_COMPONENT.fullmatch(image_repository(suggestion, "1.2.3"))  # and Docker takes its image name


def test_broken_job_gets_one_fix() -> None:
    doc = copy.deepcopy(CLEAN_MANIFEST)
    doc["job"]["name"] = "Broken_Job"
    assert _suggestions(doc, "$.job.name") == {"broken-job"}


@settings(max_examples=300, deadline=None)
@given(names, st.sampled_from([("inputs", "files"), ("inputs", "json"), ("outputs", "files"), ("outputs", "json"),
                               ("mounts",), ("settings",)]))
@example("input file", ("inputs", "files"))
@example("db-host", ("settings",))
def test_an_interface_names_one_suggestion_passes_every_rule_about_it(name: str, group: tuple[str, ...]) -> None:
    doc = copy.deepcopy(CLEAN_MANIFEST)
    holder: Any = doc["job"]["interface"]
    for part in group:
        holder = holder[part]
    holder[0]["name"] = name
    path = "$.job.interface." + ".".join(group) + "[0].name"
    suggestions = _suggestions(doc, path)
    assert len(suggestions) <= 1, suggestions
    for suggestion in suggestions:
        holder[0]["name"] = suggestion
        assert not [f for f in validate_document(doc) if f.path == path and f.code in NAME_CODES]
