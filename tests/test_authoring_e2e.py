"""The authoring loop as a new user walks it, through the `seed` command only:
init -> build -> validate the image -> publish -> search finds it -> remove the local image -> pull -> run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seed_runner.authoring.scaffold_templates import LOCAL_BASES

from .conftest import check_result

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))


def seed(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("language", ["shell", "python"])
def test_init_build_publish_search_pull_run(tmp_path: Path, registry: Any, docker_client: Any,
                                            language: str) -> None:
    name = f"e2e-{language}-{tmp_path.name[-6:].lower().replace('_', '-')}".strip("-")
    job = tmp_path / name
    created = seed("init", str(job), "--name", name, "--title", f"End to end {language}",
                   "--description", "Counts the words of a text for the authoring test.",
                   "-i", "TEXT", "-o", "REPORT:report.txt", "--language", language,
                   "--base-image", LOCAL_BASES[language])  # the default is public: this machine cannot pull
    assert created.returncode == 0, created.stderr
    assert seed("validate", "--strict", str(job)).returncode == 0

    built = seed("build", str(job))
    assert built.returncode == 0, built.stderr
    image = f"{name}-0.1.0-seed:0.1.0"
    assert f"seed run {image}" in built.stdout + built.stderr  # the line to try it
    assert seed("validate", "--strict", image).returncode == 0

    published = seed("publish", image, "--registry", registry.host)
    assert published.returncode == 0, published.stderr
    again = seed("publish", image, "--registry", registry.host)
    assert again.returncode == 1 and "--force" in again.stderr  # an existing tag is not overwritten

    found = seed("search", "authoring", "--registry", registry.host, "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    hits = hits["results"] if isinstance(hits, dict) else hits
    assert any(name in json.dumps(hit) for hit in hits), hits
    assert name not in seed("search", "no-such-word-anywhere", "--registry", registry.host, "--json").stdout

    docker_client.images.remove(image, force=True)
    assert seed("inspect", image).returncode == 2  # gone locally
    pulled = seed("pull", name, "--registry", registry.host)
    assert pulled.returncode == 0, pulled.stderr

    text = tmp_path / "words.txt"
    text.write_text("one two three\n")
    ran = seed("run", image, "-i", f"TEXT={text}", "-o", str(tmp_path / "run"), "--json")
    assert ran.returncode == 0, ran.stderr
    document = check_result(json.loads(ran.stdout))
    assert document["status"] == "succeeded"
    assert [f["path"] for f in document["outputs"]["REPORT"]["files"]] == ["report.txt"]
    docker_client.images.remove(image, force=True)
