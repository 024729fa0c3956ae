"""The pure layers of `seed serve`: negotiation (a table), tokens, the execute request (hostile bytes), the
documents (valid against the official schemas), without an engine or a server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from seed_runner.service import documents
from seed_runner.service.execute_request import BadExecute, InlineFile, Reference, read_execute
from seed_runner.service.negotiation import negotiate
from seed_runner.service.tokens import BadTokenFile, allows, read_tokens

sys.path.insert(0, str(Path(__file__).parent))
from conftest import CLEAN_MANIFEST  # noqa: E402
from ogc_schemas import check  # noqa: E402

J, H = "application/json", "text/html"


@pytest.mark.parametrize("accept, f, expected", [
    (None, None, J),                                   # no Accept: JSON (crawlers and curl alike)
    ("", None, J),
    ("*/*", None, J),                                  # curl's default
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, H),   # a browser
    ("application/json", None, J),
    ("text/html", "json", J),                          # f= beats Accept
    ("application/json", "html", H),
    (None, "xml", None),                               # an f= nobody offers: 406
    ("image/png", None, None),                         # explicit and not offered: 406
    ("image/png, */*;q=0.1", None, J),
    ("text/*", None, H),
    ("application/json;q=0.5, text/html", None, H),    # quality decides
    ("text/html;q=0, application/json", None, J),      # q=0 is "not this"
    ("application/geo+json", None, J),
    ("garbage", None, J),                              # an Accept that cannot be read is none
    ("text/html;q=nan", None, J),
])
def test_negotiate(accept: str | None, f: str | None, expected: str | None) -> None:
    assert negotiate(accept, f) == expected


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=20)))
def test_negotiate_takes_any_header(accept: str, f: str | None) -> None:
    assert negotiate(accept, f) in (J, H, None)


def test_tokens() -> None:
    tokens = read_tokens("# comment\nexec-token-0123456789\ndeploy-token-0123456789 deploy  # ops\n")
    assert tokens.scope("Bearer exec-token-0123456789") == "execute"
    assert tokens.scope("bearer  deploy-token-0123456789 ") == "deploy"
    for header in (None, "", "Bearer", "Bearer exec-token-012345678", "Basic exec-token-0123456789",
                   "Bearer exec-token-0123456789x"):
        assert tokens.scope(header) is None
    assert allows("deploy", "deploy") and allows("deploy", "execute") and not allows("execute", "deploy")
    for text, words in (("", "no token"), ("short execute", "at least 16"), ("a-long-token-0123456 admin", "line 1"),
                        ("x" * 20 + " execute extra", "line 1")):
        with pytest.raises(BadTokenFile, match=words):
            read_tokens(text)
    with pytest.raises(BadTokenFile) as caught:
        read_tokens("a-secret-token-value-123 root")
    assert "a-secret-token-value-123" not in str(caught.value)


@given(st.text(max_size=500))
def test_a_token_file_of_any_text_reads_or_says_why(text: str) -> None:
    try:
        read_tokens(text)
    except BadTokenFile as exc:
        assert "\n" not in str(exc)


_LOADED: list[Any] = []


def _manifest() -> Any:
    from seed_runner.api import load_manifest

    if not _LOADED:
        _LOADED.append(load_manifest(CLEAN_MANIFEST))
    return _LOADED[0]


def test_an_execute_request_is_read_against_the_manifest() -> None:
    manifest = _manifest()
    wanted = read_execute({"inputs": {"INPUT_FILE": {"value": "aGk=", "encoding": "base64", "mediaType": "text/plain"},
                                      "OPTIONAL_FILE": {"href": "https://example.org/a.txt"}, "THRESHOLD": 2.5},
                           "outputs": {"RESULT": {}}, "response": "raw"}, manifest)
    assert wanted.file_inputs["INPUT_FILE"] == (InlineFile(b"hi", "text/plain"),)
    assert wanted.file_inputs["OPTIONAL_FILE"] == (Reference("https://example.org/a.txt", None),)
    assert wanted.json_inputs == {"THRESHOLD": 2.5} and wanted.outputs == {"RESULT"} and wanted.raw
    for body, words in (({"inputs": {"INPUT_FILE": "x"}}, "missing required input: THRESHOLD"),
                        ({"inputs": {"INPUT_FILE": ["a", "b"], "THRESHOLD": 1}}, "takes one file"),
                        ({"inputs": {"INPUT_FILE": "x", "THRESHOLD": True}}, "JSON number"),
                        ({"inputs": {"INPUT_FILE": {"href": "gopher://x"}, "THRESHOLD": 1}}, "http:// or https://"),
                        ({"inputs": {"INPUT_FILE": "x", "THRESHOLD": 1}, "outputs": {"NOPE": {}}}, "unknown output"),
                        ({"inputs": {"DB_PASS": "x"}}, "unknown input 'DB_PASS'")):  # settings are never inputs
        with pytest.raises(BadExecute, match=words):
            read_execute(body, manifest)


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                     max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_JSONISH, st.fixed_dictionaries({"inputs": st.dictionaries(
    st.sampled_from(["INPUT_FILE", "OPTIONAL_FILE", "THRESHOLD", "X"]), _JSONISH, max_size=4)}, optional={
        "outputs": _JSONISH, "response": _JSONISH})))
def test_hostile_execute_requests_are_read_or_refused_in_one_line(body: Any) -> None:
    try:
        read_execute(body, _manifest())
    except BadExecute as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400


def test_the_documents_are_valid_against_the_official_schemas() -> None:
    manifest = _manifest()
    base = "http://127.0.0.1:5000"
    check("landingPage", documents.landing_page(base))
    check("confClasses", documents.conformance())
    described = check("process", documents.process_description(manifest, base))
    assert "DB_PASS" not in json.dumps(described) and "REFERENCE" not in described["inputs"]
    assert described["inputs"]["OPTIONAL_FILE"]["minOccurs"] == 0
    assert described["inputs"]["INPUT_FILE"]["schema"]["contentMediaType"] == "text/plain"
    check("processList", documents.process_list([manifest], base))
    record = {"id": "0123456789abcdef", "job_name": "x", "status": "succeeded", "recorded_at": 1.5e9,
              "started": "2026-01-01T00:00:00.123Z", "finished": "2026-01-01T00:00:01Z"}
    for status in documents.STATUS:
        info = check("statusInfo", documents.status_info({**record, "status": status}, base, message="m"))
        assert info["status"] == documents.STATUS[status]
    check("jobList", documents.job_list([documents.status_info(record, base)], base, "?offset=0", "?offset=10"))
    check("exception", documents.exception(404, "no-such-job", "no such job", "no job 'x'"))
    for link in documents.landing_page(base)["links"]:
        assert link["href"].endswith({J: "?f=json", H: "?f=html"}.get(link["type"], link["href"][-8:]))


@given(st.one_of(st.binary(max_size=300).map(lambda b: b.decode("latin-1")), _JSONISH.map(json.dumps)))
def test_a_config_file_of_any_bytes_reads_or_says_why(tmp_path_factory: Any, text: str) -> None:
    from seed_runner.serve import read_config

    path = tmp_path_factory.mktemp("config") / "serve.json"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        read_config(path)
    except ValueError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_JSONISH, st.fixed_dictionaries({"executionUnit": st.one_of(_JSONISH, st.fixed_dictionaries(
    {"type": st.sampled_from(["docker", "oci", "cwl"]), "image": st.one_of(st.text(max_size=80), _JSONISH)}))},
    optional={"processDescription": st.one_of(_JSONISH, st.fixed_dictionaries({"process": _JSONISH}))})))
def test_hostile_application_packages_are_read_or_refused_in_one_line(body: Any) -> None:
    from seed_runner.service.packages import BadPackage, check_agrees, read_package

    try:
        check_agrees(read_package(body), _manifest())
    except BadPackage as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600


def test_a_package_that_repeats_the_manifest_is_taken() -> None:
    from seed_runner.service.packages import check_agrees, read_package

    manifest = _manifest()
    described = documents.process_description(manifest, "http://x")
    package = read_package({"executionUnit": {"type": "docker", "image": "registry.example.org:5000/org/a-1.0.0-seed:1"},
                            "processDescription": {"process": described}})
    check_agrees(package, manifest)
    assert package.image == "registry.example.org:5000/org/a-1.0.0-seed:1"


def test_the_datetime_filter() -> None:
    assert documents.interval("") == (None, None)
    assert documents.interval("2026-01-01T00:00:00Z/..") == (1767225600.0, None)
    assert documents.interval("../2026-01-01T00:00:00Z") == (None, 1767225600.0)
    assert documents.interval("2026-01-01T00:00:00Z") == (1767225600.0, 1767225601.0)
    with pytest.raises(ValueError, match="RFC 3339"):
        documents.interval("yesterday/..")


@given(st.text(max_size=60))
def test_any_datetime_text_is_read_or_refused(text: str) -> None:
    try:
        documents.interval(text)
    except ValueError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("secured", [False, True])
def test_the_openapi_document_is_valid_openapi_3_0(secured: bool) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV30SpecValidator

    from seed_runner.service.openapi import openapi_document

    document = openapi_document(["python-stats", "x"], secured=secured)
    validate(document, cls=OpenAPIV30SpecValidator)
    assert ("security" in document) is secured
    assert {"post", "get"} <= set(document["paths"]["/processes"])


def test_every_page_escapes_what_it_shows() -> None:
    from seed_runner.service.render import PAGES, render

    evil = "<script>alert(1)</script>"
    manifest = _manifest()
    description = documents.process_description(manifest, "http://x")
    description.update(title=evil, description=evil, keywords=[evil])
    status = {**documents.status_info({"id": "ab", "job_name": evil, "status": "failed"}, "http://x"),
              "message": evil}
    pages = {"landing": {**documents.landing_page("http://x"), "title": evil, "description": evil},
             "conformance": {"conformsTo": [evil]}, "processes": {"processes": [description], "links": []},
             "process": description, "jobs": {"jobs": [status], "links": []}, "job": status, "generic": {"a": evil}}
    assert set(pages) == set(PAGES)
    for page, document in pages.items():
        context = {"base": "http://x", "logs": [("stdout", evil)], "tail": 10,
                   "outputs": {"A": {"href": "http://x/a", "title": evil}, "B": evil}}
        html = render(document, documents.HTML, evil, page, context).decode()
        assert evil not in html and "&lt;script&gt;" in html, page
