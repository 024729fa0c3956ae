"""`seed export kubernetes` against hostile requests that still fit the manifest: values the kubelet would
expand, secrets under operators, paths and names the API server would refuse, output files that are not regular
files, and a hypothesis drive of ``kubernetes_job`` (the Job always validates, never holds a secret's value, and
its values reach the container and the init script unchanged)."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed_runner.api import load_manifest
from seed_runner.export.kubernetes import ExportProblem, KubernetesRequest, kubernetes_job
from seed_runner.runtime.command import expand_command
from tests.conftest import CLEAN_MANIFEST
from tests.kubelet_expansion import kubelet_expand
from tests.loopback import serving_folder

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
K8S_VERSION = kubernetes_validate.latest_version()
BASE = dict(file_inputs={"INPUT_FILE": ["https://data.example/x.txt"]}, json_inputs={"THRESHOLD": 1.5},
            settings={"DB_HOST": "db"}, mounts={"REFERENCE": "reference"})


def _container_view(document: dict, secrets: dict[str, str]) -> tuple[dict[str, str], list[str] | None]:
    """The environment and arguments the job's container gets once the kubelet has expanded them."""
    container = document["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for entry in container["env"]:  # in order: a value sees only the variables defined before it
        env[entry["name"]] = (secrets[entry["valueFrom"]["secretKeyRef"]["key"]] if "valueFrom" in entry
                              else kubelet_expand(entry["value"], env))
    args = container.get("args")
    return env, None if args is None else [kubelet_expand(a, env) for a in args]


def _manifest(tmp_path: Path, change: Any = None) -> Any:
    document = copy.deepcopy(CLEAN_MANIFEST)
    if change:
        change(document)
    path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(document))
    return load_manifest(path)


def _job(manifest: Any, **request: Any) -> dict:
    return kubernetes_job(manifest, KubernetesRequest(**{"image": "x:1", **BASE, **request}))


def _command(command: str) -> Any:
    return lambda m: m["job"]["interface"].__setitem__("command", command)


@pytest.mark.parametrize("value", ["a$$b", "$$(HOME)", "$(DB_PASS)", "$(OUTPUT_DIR)", "$", "$$", "x$", "$((1))"])
def test_a_value_reaches_the_container_as_given(tmp_path: Path, value: str) -> None:
    """The kubelet expands $(NAME) and reduces $$ in args and in env values: a value must come through as is."""
    manifest = _manifest(tmp_path, _command("${DB_HOST} ${THRESHOLD}"))
    document = _job(manifest, settings={"DB_HOST": value}, json_inputs={"THRESHOLD": 2})
    env, args = _container_view(document, {"DB_PASS": "hunter2-secret"})
    assert env["DB_HOST"] == value
    assert args == [value, "2"]


@pytest.mark.parametrize("use", ["${DB_PASS/a/b}", "${#DB_PASS}", "${DB_PASS%x}", "x${DB_PASS##*}"])
def test_an_operator_on_a_secret_is_refused(tmp_path: Path, use: str) -> None:
    """The kubelet can only pass a secret whole: an operator on its value would be applied to a placeholder."""
    with pytest.raises(ExportProblem, match="DB_PASS"):
        _job(_manifest(tmp_path, _command(f"--pass {use}")))


def test_a_secret_passed_whole_still_works(tmp_path: Path) -> None:
    document = _job(_manifest(tmp_path, _command('--pass=${DB_PASS} "${DB_PASS:-none}" ${DB_PASS:+--auth}')))
    _, args = _container_view(document, {"DB_PASS": "s3 cret$x"})
    assert args == ["--pass=s3 cret$x", "s3 cret$x", "--auth"]


@pytest.mark.parametrize("request_change, fragment", [
    (dict(input_claim="inputs", file_inputs={"INPUT_FILE": [".."]}), "INPUT_FILE"),
    (dict(input_claim="inputs", file_inputs={"INPUT_FILE": ["a/../../etc/passwd"]}), "'..'"),
    (dict(input_claim="inputs", file_inputs={"INPUT_FILE": [""]}), "INPUT_FILE"),
    (dict(file_inputs={"INPUT_FILE": ["https://data.example/a/.."]}), "names no file"),
    (dict(file_inputs={"INPUT_FILE": ["https://data.example/a b.txt"]}), "percent-encode"),
    (dict(file_inputs={"INPUT_FILE": ["https://data.example/a\nb.txt"]}), "percent-encode"),
    (dict(mounts={"REFERENCE": "reference:../other"}), "'..'"),
    (dict(mounts={"REFERENCE": "reference:/etc"}), "relative"),
    (dict(mounts={"REFERENCE": "Bad Claim"}), "not a Kubernetes name"),
    (dict(output_claim="results", output_subpath="../x"), "'..'"),
    (dict(output_claim="Results!"), "not a Kubernetes name"),
    (dict(input_claim="in_puts", file_inputs={"INPUT_FILE": ["x.txt"]}), "not a Kubernetes name"),
    (dict(name="My Job"), "not a Kubernetes name"),
    (dict(name="a" * 64), "not a Kubernetes name"),
    (dict(namespace="Team A"), "not a Kubernetes name"),
    (dict(settings_secret="db secrets"), "not a Kubernetes name"),
    (dict(image=""), "image"),
    (dict(image="bad image"), "image"),
])
def test_what_the_api_server_would_refuse_is_refused_here(tmp_path: Path, request_change: dict,
                                                          fragment: str) -> None:
    with pytest.raises(ExportProblem) as caught:
        _job(_manifest(tmp_path), **request_change)
    assert fragment in str(caught.value)


def test_two_files_of_the_same_name_are_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, lambda m: m["job"]["interface"]["inputs"]["files"].__setitem__(
        0, {"name": "INPUT_FILE", "multiple": True}))
    with pytest.raises(ExportProblem, match="x.txt"):
        _job(manifest, file_inputs={"INPUT_FILE": ["https://a.example/x.txt", "https://b.example/x.txt"]})


def test_output_to_a_fifo_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    """-o on a FIFO (or /dev/stdout, a device) writes into it: an atomic rename would replace the node."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = subprocess.run([SEED, "export", "kubernetes", str(REPO / "sample_jobs" / "watermark"), "-i",
                           "INPUT_IMAGE=https://data.example/x.png", "-o", str(fifo)], capture_output=True,
                          text=True, timeout=60)
    reader.join(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO was replaced by a regular file"
    assert received and yaml.safe_load(received[0])["kind"] == "Job"


def test_output_through_a_symlink_writes_the_target(tmp_path: Path) -> None:
    target = tmp_path / "real.cwl"
    target.write_text("old")
    link = tmp_path / "link.cwl"
    link.symlink_to(target)
    proc = subprocess.run([SEED, "export", "cwl", str(REPO / "sample_jobs" / "watermark"), "-o", str(link)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and "CommandLineTool" in target.read_text()


def test_a_cli_refusal_is_one_line_with_status_2(tmp_path: Path) -> None:
    proc = subprocess.run([SEED, "export", "kubernetes", str(REPO / "sample_jobs" / "watermark"), "-i",
                           "INPUT_IMAGE=https://data.example/x.png", "--name", "Not A Name"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Not A Name" in proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stdout


HOSTILE_NAMES = ["q'uote.txt", 'd"q.txt', "sub$(echo${IFS}PWNED1>&2).txt", "tick`echo${IFS}PWNED2>&2`.txt",
                 "semi;echo${IFS}PWNED3>&2;x&y|z.txt", "dollar$$HOME$1$(.txt", "uni-é✓.txt", "-n.txt"]


@pytest.fixture
def hostile_server(tmp_path: Path) -> Any:
    served = tmp_path / "served"
    served.mkdir()
    for index, name in enumerate(HOSTILE_NAMES):
        (served / name).write_text("x" * (index + 1))
    with serving_folder(served) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.engine
def test_the_init_script_takes_hostile_urls_and_values_literally(hostile_server: str, tmp_path: Path,
                                                                 busybox_image: str) -> None:
    """URLs and JSON values full of shell syntax reach the init container's script: nothing runs, every file lands
    under its own name, and INPUT_METADATA holds the values as given (run as the kubelet hands it over)."""
    from urllib.parse import quote

    manifest = _manifest(tmp_path, lambda m: (
        m["job"]["interface"]["inputs"]["files"].__setitem__(0, {"name": "INPUT_FILE", "multiple": True}),
        m["job"]["interface"]["inputs"]["json"].append({"name": "NOTE", "type": "object"})))
    urls = [f"{hostile_server}/{quote(name, safe=chr(39) + '$()`;&|${}')}" for name in HOSTILE_NAMES]
    note = {"text": "it's $(id) `id` $$ ${HOME} \"q\" \n é", "none": None}
    document = _job(manifest, file_inputs={"INPUT_FILE": urls}, json_inputs={"THRESHOLD": 1, "NOTE": note})
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    stager = document["spec"]["template"]["spec"]["initContainers"][0]
    script = [kubelet_expand(word, {}) for word in stager["command"]]
    inputs, meta = tmp_path / "inputs", tmp_path / "meta"
    inputs.mkdir()
    meta.mkdir()
    proc = subprocess.run(["docker", "run", "--rm", "--network", "host", "-v", f"{inputs}:/seed/inputs",
                           "-v", f"{meta}:/seed/meta", busybox_image, *script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    staged = sorted(p.name for p in (inputs / "INPUT_FILE").iterdir())
    expected = sorted(u.rpartition("/")[2] for u in urls)
    assert staged == expected and "PWNED" not in proc.stderr + proc.stdout
    metadata = json.loads((meta / "input-metadata.json").read_text())
    assert metadata["JOB"]["NOTE"] == note
    assert [r["file_name"] for r in metadata["JOB"]["INPUT_FILE"]] == [u.rpartition("/")[2] for u in urls]
    assert [r["file_size"] for r in metadata["JOB"]["INPUT_FILE"]] == list(range(1, len(urls) + 1))


SECRET = "hunter2-SECRET-VALUE"
# Values with what the kubelet, the shell and YAML read specially, and anything else text can hold.
NASTY = st.one_of(st.text(max_size=30), st.sampled_from(["yes", "null", "*anchor", "&a", "!!python/object", "~", "",
                                                          "$(DB_PASS)", "$$", "'", '"', "`id`", "a\nb", "- x", "{}",
                                                          "0x1F", "1e3", "on", "#c", "%x"]))
URL_PATH = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/?#"),
            max_size=20),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), max_size=20))
DNS_LABEL = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
SUBPATH = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
                           min_size=1, max_size=8), min_size=1, max_size=3).map("/".join)
CALLS = {"jobs": 0, "refused": 0}


def _manifest_once() -> Any:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="seed-k8s-fuzz-"))
    document = copy.deepcopy(CLEAN_MANIFEST)
    face = document["job"]["interface"]
    face["command"] = '${INPUT_FILE} "${NOTE}" ${DB_HOST} --pass=${DB_PASS} ${THRESHOLD:+-t $THRESHOLD}'
    face["inputs"]["files"][0]["multiple"] = True
    face["inputs"]["json"].append({"name": "NOTE", "type": "string", "required": False})
    (folder / "seed.manifest.json").write_text(json.dumps(document))
    return load_manifest(folder / "seed.manifest.json")


FUZZ_MANIFEST = _manifest_once()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=NASTY, note=NASTY, threshold=st.floats(allow_nan=False, allow_infinity=False, width=32),
       paths=st.lists(URL_PATH, min_size=1, max_size=3, unique=True), give_secret=st.sampled_from([False] * 5 + [True]),
       name=st.one_of(st.none(), DNS_LABEL, DNS_LABEL, NASTY), namespace=st.one_of(st.none(), DNS_LABEL, NASTY),
       subpath=st.one_of(st.none(), SUBPATH, SUBPATH, NASTY))
def test_any_request_gives_a_valid_job_or_a_refusal(host: str, note: str, threshold: float, paths: list[str],
                                                    give_secret: bool, name: str | None, namespace: str | None,
                                                    subpath: str | None) -> None:
    from urllib.parse import urlsplit

    from seed_runner.export.yaml_text import to_yaml

    urls = [f"https://data.example/in/{p}" for p in paths]
    given_settings = {"DB_HOST": host, **({"DB_PASS": SECRET} if give_secret else {})}
    try:
        document = _job(FUZZ_MANIFEST, file_inputs={"INPUT_FILE": urls}, settings=given_settings,
                        json_inputs={"THRESHOLD": threshold, "NOTE": note}, name=name, namespace=namespace,
                        output_claim="results", output_subpath=subpath)
    except ExportProblem as exc:
        assert str(exc) and all(line.strip() for line in str(exc).splitlines())
        assert SECRET not in str(exc)
        CALLS["refused"] += 1
        return
    CALLS["jobs"] += 1
    assert not give_secret, "a secret's value was accepted"
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    text = to_yaml(document)
    assert SECRET not in text and yaml.safe_load(text) == document
    # the container gets exactly the runner's expansion of the values (a secret filled in by the kubelet)
    env, args = _container_view(document, {"DB_PASS": SECRET})
    values = {k: v for k, v in env.items()}
    assert env["DB_HOST"] == host and env.get("NOTE") == note
    assert args == expand_command(FUZZ_MANIFEST.job.interface.command, values)
    # the init script: each value is one shell word, read back as given
    script = kubelet_expand(document["spec"]["template"]["spec"]["initContainers"][0]["command"][2], {})
    fetched = [shlex_words(line) for line in script.splitlines() if line.startswith("fetch ")]
    assert [(w[0], w[1]) for w in fetched] == [("fetch", u) for u in urls]
    assert all(len(w) == 3 and w[2] == "/seed/inputs/INPUT_FILE/" + (
        urlsplit(u).path.rstrip("/").rpartition("/")[2] or "input") for w, u in zip(fetched, urls))
    # (shlex cannot read the line's "$(wc -c < '...')": the record is checked as the one quoted word it must be)
    import shlex

    assert f"printf '%s' {shlex.quote(chr(34) + 'NOTE' + chr(34) + ':' + json.dumps(note))}" in script


def test_the_fuzz_reached_both_sides() -> None:
    """The drive above made Jobs and refusals both (run after it, in file order)."""
    if CALLS["jobs"] + CALLS["refused"]:
        assert CALLS["jobs"] >= 10 and CALLS["refused"] >= 5, CALLS


def shlex_words(line: str) -> list[str]:
    import shlex

    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)  # ; & | < > ( ) are words of their own
    lexer.whitespace_split = True
    return list(lexer)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(), st.lists(st.text(), max_size=3)), max_size=4))
def test_the_yaml_reads_back_as_written(document: dict) -> None:
    """NEL and the Unicode line separators are line breaks to YAML: such a value must be written escaped."""
    from seed_runner.export.yaml_text import to_yaml, to_yaml_stream

    assert yaml.safe_load(to_yaml(document)) == document
    assert list(yaml.safe_load_all(to_yaml_stream([document, document]))) == [document, document]
    assert not any(c in to_yaml(document) for c in "\x85\u2028\u2029")


def test_a_next_line_character_survives_the_yaml() -> None:
    from seed_runner.export.yaml_text import to_yaml

    for value in ["\x85", "a\x85\nb\n", "x\u2028y", "p\u2029"]:
        assert yaml.safe_load(to_yaml({"v": value})) == {"v": value}


@pytest.mark.engine
def test_a_claim_folders_metadata_is_json_with_seed_runs_records(tmp_path: Path, busybox_image: str) -> None:
    """A multiple input from a claim's folder: the records are listed at pod start, as seed run writes them (a
    quote or backslash in a file name escaped, the media type guessed by the runner's table)."""
    from seed_runner.manifest.media_types import guess_media_type

    manifest = _manifest(tmp_path, lambda m: m["job"]["interface"]["inputs"]["files"].__setitem__(
        0, {"name": "INPUT_FILE", "multiple": True}))
    document = _job(manifest, input_claim="inputs", file_inputs={"INPUT_FILE": ["runs/7"]})
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    stager = document["spec"]["template"]["spec"]["initContainers"][0]
    claim, inputs, meta = tmp_path / "claim", tmp_path / "inputs", tmp_path / "meta"
    names = ['a"b.csv', "back\\slash.TXT", "$(x).json", "plain", "arch.tar.gz", "q'.png"]
    claim.mkdir()
    for index, name in enumerate(names):
        (claim / name).write_text("y" * index)
    (claim / "a-folder").mkdir()
    inputs.mkdir()
    meta.mkdir()
    script = [kubelet_expand(word, {}) for word in stager["command"]]
    proc = subprocess.run(["docker", "run", "--rm", "-v", f"{inputs}:/seed/inputs",
                           "-v", f"{claim}:/seed/inputs/INPUT_FILE:ro", "-v", f"{meta}:/seed/meta", busybox_image,
                           *script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    records = json.loads((meta / "input-metadata.json").read_text())["JOB"]["INPUT_FILE"]
    assert sorted(records, key=lambda r: r["file_name"]) == sorted((
        {"file_name": name, "path": f"/seed/inputs/INPUT_FILE/{name}", "media_type": guess_media_type(name),
         "file_size": index} for index, name in enumerate(names)), key=lambda r: r["file_name"])


def test_a_huge_manifest_keeps_the_annotations_under_the_api_servers_limit(tmp_path: Path) -> None:
    """The API server refuses a Job whose annotations pass 256 KiB: a manifest too big to carry is named by its
    digest instead."""
    import hashlib

    manifest = _manifest(tmp_path, lambda m: m["job"]["interface"]["inputs"]["json"].extend(
        {"name": f"EXTRA_{i}", "type": "string", "required": False} for i in range(6000)))
    annotations = _job(manifest)["metadata"]["annotations"]
    assert sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items()) <= 256 * 1024
    digest = hashlib.sha256(json.dumps(dict(manifest.data), separators=(",", ":")).encode()).hexdigest()
    assert annotations["seed-runner.io/manifest-sha256"] == digest and "seed-runner.io/manifest" not in annotations
    small = _job(_manifest(tmp_path))["metadata"]["annotations"]
    assert json.loads(small["seed-runner.io/manifest"])["job"]["name"] == "clean-job"


@pytest.mark.parametrize("source", ["ftp://user:pw-SECRET@data.example/x.txt", "https://user:pw-SECRET@data.example/..",
                                    "s3://key:pw-SECRET@bucket/x", "ftp://u:pw-SECRET@host/../x"])
def test_a_refused_source_never_shows_its_credentials(tmp_path: Path, source: str) -> None:
    with pytest.raises(ExportProblem) as caught:
        _job(_manifest(tmp_path), file_inputs={"INPUT_FILE": [source]})
    assert "pw-SECRET" not in str(caught.value) and "INPUT_FILE" in str(caught.value)


@pytest.mark.parametrize("path", ["/seed/outputs", "/seed/inputs/", "/dev/shm", "/seed/input-metadata.json"])
def test_a_mount_on_a_contract_path_is_refused(tmp_path: Path, path: str) -> None:
    manifest = _manifest(tmp_path, lambda m: (
        m["job"]["interface"]["mounts"].__setitem__(0, {"name": "REFERENCE", "path": path, "mode": "ro"}),
        m["job"]["resources"]["scalar"].append({"name": "sharedMem", "value": 64})))
    with pytest.raises(ExportProblem, match="two volumes are mounted at"):
        _job(manifest)


def test_an_output_subpath_without_a_claim_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportProblem, match="--output-claim"):
        _job(_manifest(tmp_path), output_subpath="run-1")


def test_every_problem_is_one_line_whatever_the_names(tmp_path: Path) -> None:
    with pytest.raises(ExportProblem) as caught:
        _job(_manifest(tmp_path), file_inputs={"INPUT_FILE": ["x\ny"], "bo\ngus": ["1"]}, settings={"DB_HOST": "a",
                                                                                                  "x\ry": "1"})
    assert len(str(caught.value).splitlines()) == 3
