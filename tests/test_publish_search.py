"""`seed publish`, `seed pull`, `seed search` from the outside, against real registries and the real engine."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seed_runner.registry.publishing import bump_version, search, semver_key
from seed_runner.registry.client import RegistryClient

from .registry_fixture import LABEL, RegistryServer, free_port, push, seed_manifest, unique_name

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))


def seed(*args: str, stdin: str | None = None, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=300, input=stdin,
                          env={**os.environ, **(env or {})})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single `seed: error: ...` line a refused command prints (and nothing else, no traceback)."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seed: error: "), proc.stderr
    return lines[0]


def remove_images(client: Any, *references: str) -> None:
    for reference in references:
        try:
            client.images.remove(reference, force=True)
        except Exception:  # noqa: BLE001 - not there
            pass


# -- versions -----------------------------------------------------------------------------------------------


def test_semver_bumps_and_precedence() -> None:
    assert bump_version("1.2.3", "patch") == "1.2.4"
    assert bump_version("1.2.3", "minor") == "1.3.0"
    assert bump_version("1.2.3", "major") == "2.0.0"
    assert bump_version("1.2.3-rc.1+build.5", "patch") == "1.2.4"
    with pytest.raises(ValueError):
        bump_version("1.2", "patch")
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.10", "2.0.0"]
    assert sorted(reversed(ordered), key=semver_key) == ordered
    assert semver_key("latest") is None


# -- search -------------------------------------------------------------------------------------------------


def test_search_matches_title_description_and_tags_only(registry: RegistryServer, seed_image: Any,
                                                        docker_client: Any) -> None:
    word = unique_name("kw")
    jobs = {
        "title": seed_manifest(unique_name(), title=f"Finds {word.upper()} in pictures"),
        "description": seed_manifest(unique_name(), description=f"Counts {word} per tile."),
        "tag": seed_manifest(unique_name(), tags=["imagery", word]),
        "none": seed_manifest(unique_name(), title="Unrelated job"),
    }
    for manifest in jobs.values():
        local = seed_image(manifest)
        push(docker_client, registry, local, local.split(":")[0], "1.0.0")
    not_seed = seed_image(seed_manifest(unique_name(), title=f"{word} but not -seed"), tag=f"{unique_name()}:1.0.0")
    push(docker_client, registry, not_seed, not_seed.split(":")[0] + "-plain", "1.0.0")

    hits = search(registry.host, word, page_size=2)
    assert sorted(h.name for h in hits) == sorted(jobs[k]["job"]["name"] for k in ("title", "description", "tag"))
    hit = next(h for h in hits if h.name == jobs["tag"]["job"]["name"])
    assert hit.reference == f"{registry.host}/{hit.name}-1.0.0-seed:1.0.0"
    assert (hit.job_version, hit.package_version, hit.tags) == ("1.0.0", "1.0.0", ("imagery", word))
    assert search(registry.host, unique_name("unrelated")) == []
    everything = {h.name for h in search(registry.host)}
    assert {m["job"]["name"] for m in jobs.values()} <= everything

    proc = seed("search", word.upper(), "--registry", registry.host, "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert len(document["results"]) == 3 and document["registry"] == registry.host
    assert {"reference", "name", "jobVersion", "packageVersion", "title", "digest"} <= set(document["results"][0])
    table = seed("search", word, "-r", registry.host)
    assert table.returncode == 0 and jobs["title"]["job"]["name"] in table.stdout and "3 Seed images" in table.stdout
    nothing = seed("search", unique_name("nothing"), "-r", registry.host)
    assert nothing.returncode == 0 and "no Seed images" in nothing.stdout


def test_search_reads_every_catalog_page_and_ignores_non_seed_repositories(
        registry: RegistryServer, seed_image: Any, docker_client: Any) -> None:
    word = unique_name("paged")
    local = seed_image(seed_manifest(unique_name(), title=f"paged {word}"))
    names = [f"{word}-{i}-1.0.0-seed" for i in range(7)]
    for name in names:
        push(docker_client, registry, local, name, "1.0.0")
    push(docker_client, registry, local, f"{word}-plain", "1.0.0")  # same label, but not a -seed repository
    push(docker_client, registry, local, f"org-{word}/{word}-x-1.0.0-seed", "1.0.0")
    mark = registry.log_mark()
    hits = search(registry.host, word, page_size=3)
    assert sorted(h.repository for h in hits) == sorted(names + [f"org-{word}/{word}-x-1.0.0-seed"])
    pages = [p for _, p, _ in registry.requests(mark) if p.startswith("/v2/_catalog")]
    assert len(pages) >= 3
    in_org = search(registry.host, word, org=f"org-{word}")
    assert [h.repository for h in in_org] == [f"org-{word}/{word}-x-1.0.0-seed"]
    proc = seed("search", word, "-r", registry.host, "--page-size", "2", "--json")
    assert len(json.loads(proc.stdout)["results"]) == 8


def test_search_reads_seed_cli_labels_and_skips_images_without_one(registry: RegistryServer, seed_image: Any,
                                                                    docker_client: Any) -> None:
    from .registry_fixture import build_labelled

    word = unique_name("cli")
    manifest = seed_manifest(f"{word}-job", title="Labelled the seed-cli way")
    # seed-cli's encoding: the compact manifest as a JSON string literal with \/ escapes
    literal = json.dumps(json.dumps(manifest, separators=(",", ":"))).replace("/", "\\/")
    tag = f"{word}-job-1.0.0-seed:1.0.0"
    build_labelled(docker_client, tag, {LABEL: literal})
    plain = seed_image(label=False, tag=f"{word}-plain-1.0.0-seed:1.0.0")
    try:
        push(docker_client, registry, tag, tag.split(":")[0], "1.0.0")
        push(docker_client, registry, plain, plain.split(":")[0], "1.0.0")
        proc = seed("search", "-r", registry.host, "--json")
        names = [hit["name"] for hit in json.loads(proc.stdout)["results"]]
        assert f"{word}-job" in names and not any("plain" in n for n in names)
        assert f"{registry.host}/{plain} skipped: no com.ngageoint.seed.manifest label" in proc.stderr
    finally:
        docker_client.images.remove(tag, force=True)


# -- publish ------------------------------------------------------------------------------------------------


def test_publish_refuses_an_existing_tag_unless_forced(registry: RegistryServer, seed_image: Any,
                                                       docker_client: Any) -> None:
    manifest = seed_manifest(unique_name())
    local = seed_image(manifest)
    repository = local.split(":")[0]
    first = seed("publish", local, "--registry", registry.host)
    assert first.returncode == 0, first.stderr
    assert f"published {registry.host}/{local}" in first.stdout
    assert "The push refers to repository" in first.stderr and "digest: sha256:" in first.stderr  # progress
    client = RegistryClient(registry.host)
    old = client.manifest_digest(repository, "1.0.0")
    assert old and old in first.stdout
    assert f"{registry.host}/{local}" not in docker_client.images.get(local).tags  # the push tag is gone again

    seed_image(manifest)  # a new image under the same name
    refused = seed("publish", local, "--registry", registry.host)
    assert refused.returncode == 1
    line = one_error_line(refused)
    assert f"{registry.host}/{local} already exists" in line and "--force" in line and "--bump-package" in line
    assert client.manifest_digest(repository, "1.0.0") == old

    forced = seed("publish", local, "--registry", registry.host, "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    result = json.loads(forced.stdout)
    assert result["overwrote"] == old and result["digest"] != old
    assert client.manifest_digest(repository, "1.0.0") == result["digest"]
    label, _ = client.seed_label(repository, "1.0.0")
    assert label == docker_client.images.get(local).labels[LABEL]


def test_publish_under_an_organization(registry: RegistryServer, seed_image: Any) -> None:
    local = seed_image()
    proc = seed("publish", local, "-r", registry.host, "--org", "team-a", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["reference"] == f"{registry.host}/team-a/{local}"
    assert RegistryClient(registry.host).manifest_digest(f"team-a/{local.split(':')[0]}", "1.0.0")


def test_publish_refuses_missing_and_unlabelled_images(registry: RegistryServer, seed_image: Any) -> None:
    missing = seed("publish", f"{unique_name()}-1.0.0-seed:1.0.0", "-r", registry.host)
    assert missing.returncode == 4 and "is not on the local engine" in one_error_line(missing)  # as seed run
    plain = seed_image(label=False, tag=f"{unique_name()}-1.0.0-seed:1.0.0")
    unlabelled = seed("publish", plain, "-r", registry.host)
    assert unlabelled.returncode == 1
    assert "has no com.ngageoint.seed.manifest label" in one_error_line(unlabelled)


def test_usage_errors(registry: RegistryServer) -> None:
    for args in (["x", "--force", "--bump-package", "patch"], ["x", "--bump-job", "huge"],
                 ["x", "--password-stdin"], ["x", "-r", "127.0.0.1:5000/org"]):
        argv = ["publish", *args] + ([] if "-r" in args else ["-r", registry.host])
        proc = seed(*argv, stdin="")
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


JOB_MANIFEST = """{
  "seedVersion": "1.0.0",
  "job": {
    "name": "%s",
    "jobVersion": "1.0.0",
    "packageVersion": "1.0.0",
    "title": "Bump test",
    "description": "Published twice.",
    "maintainer": {"name": "Test", "email": "test@example.com"},
    "timeout": 30,
    "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 64},
                             {"name": "disk", "value": 1}]},
    "interface": {"command": "echo hello"}
  }
}
"""


def test_bump_package_patch_rewrites_the_manifest_rebuilds_and_publishes(
        registry: RegistryServer, tmp_path: Path, docker_client: Any, busybox_image: str) -> None:
    from seed_runner.authoring.build import build_job

    name = unique_name("bump")
    job = tmp_path / "job"
    job.mkdir()
    (job / "Dockerfile").write_text("ARG BASE_IMAGE=seed-runner/busybox:1\nFROM ${BASE_IMAGE}\n"
                                    'ENTRYPOINT ["echo"]\n')
    (job / "seed.manifest.json").write_text(JOB_MANIFEST % name)
    built = []
    try:
        built.append(build_job(job, docker_client=docker_client).image)
        assert built == [f"{name}-1.0.0-seed:1.0.0"]
        first = seed("publish", "--dir", str(job), "-r", registry.host, "--bump-package", "patch")
        assert first.returncode == 0, first.stderr  # no conflict: published as it is, nothing bumped
        assert json.loads((job / "seed.manifest.json").read_text())["job"]["packageVersion"] == "1.0.0"

        second = seed("publish", built[0], "--dir", str(job), "-r", registry.host, "--bump-package", "patch",
                      "--json")
        built.append(f"{name}-1.0.0-seed:1.0.1")
        assert second.returncode == 0, second.stderr
        result = json.loads(second.stdout)
        assert result["reference"] == f"{registry.host}/{name}-1.0.0-seed:1.0.1"
        assert result["bumped"] == {"packageVersion": ["1.0.0", "1.0.1"]}
        text = (job / "seed.manifest.json").read_text()
        assert text == (JOB_MANIFEST % name).replace('"packageVersion": "1.0.0"', '"packageVersion": "1.0.1"')
        client = RegistryClient(registry.host)
        assert sorted(client.tags(f"{name}-1.0.0-seed")) == ["1.0.0", "1.0.1"]
        label, _ = client.seed_label(f"{name}-1.0.0-seed", "1.0.1")
        assert json.loads(label)["job"]["packageVersion"] == "1.0.1"
        assert docker_client.images.get(built[1]).labels[LABEL] == label

        job_bump = seed("publish", built[1], "--dir", str(job), "-r", registry.host, "--bump-job", "minor")
        built.append(f"{name}-1.1.0-seed:1.0.1")
        assert job_bump.returncode == 0, job_bump.stderr
        assert f"{registry.host}/{name}-1.1.0-seed:1.0.1" in job_bump.stdout
        assert json.loads((job / "seed.manifest.json").read_text())["job"]["jobVersion"] == "1.1.0"

        # the bumped version exists too: refused before the manifest is touched
        (job / "seed.manifest.json").write_text(JOB_MANIFEST % name)
        again = seed("publish", built[0], "--dir", str(job), "-r", registry.host, "--bump-package", "patch")
        assert again.returncode == 1 and "the bumped version, also exists" in one_error_line(again)
        assert (job / "seed.manifest.json").read_text() == JOB_MANIFEST % name

        # a rebuild that fails restores the manifest
        (job / "Dockerfile").write_text("ARG BASE_IMAGE=seed-runner/busybox:1\nFROM ${BASE_IMAGE}\nRUN exit 3\n")
        failed = seed("publish", built[0], "--dir", str(job), "-r", registry.host, "--bump-package", "minor")
        assert failed.returncode == 1 and "was restored" in failed.stderr.strip().splitlines()[-1], failed.stderr
        assert (job / "seed.manifest.json").read_text() == JOB_MANIFEST % name
        assert not docker_client.images.list(filters={"reference": f"{name}-1.0.0-seed:1.1.0"})
    finally:
        remove_images(docker_client, *built)


# -- pull ---------------------------------------------------------------------------------------------------


def test_pull_resolves_names_to_the_newest_version_never_latest(registry: RegistryServer, seed_image: Any,
                                                                docker_client: Any) -> None:
    name = unique_name("pull")
    versions = [("1.0.0", "1.0.0"), ("1.0.0", "1.2.0"), ("1.0.0", "1.10.0"), ("2.0.0", "0.1.0"),
                ("2.0.0", "0.2.0-rc.1"), ("10.0.0-beta", "1.0.0")]
    local = {}
    for job_version, package_version in versions:
        tag = seed_image(seed_manifest(name, job_version, package_version))
        push(docker_client, registry, tag, tag.split(":")[0], package_version)
        local[(job_version, package_version)] = tag
    push(docker_client, registry, local[("1.0.0", "1.0.0")], f"{name}-1.0.0-seed", "latest")  # a stale latest
    remove_images(docker_client, *local.values())
    pulled = []
    try:
        by_job = seed("pull", name, "--registry", registry.host, "--json")
        assert by_job.returncode == 0, by_job.stderr
        result = json.loads(by_job.stdout)
        # 10.0.0-beta sorts above 2.0.0 by SemVer precedence (a pre-release of 10.0.0)
        assert result["reference"] == f"{registry.host}/{name}-10.0.0-beta-seed:1.0.0"
        pulled += [result["reference"], result["local_name"]]
        assert result["local_name"] == f"{name}-10.0.0-beta-seed:1.0.0"
        assert result["job"]["jobVersion"] == "10.0.0-beta"
        assert docker_client.images.get(result["local_name"]).labels[LABEL]

        by_repository = seed("pull", f"{name}-1.0.0-seed", "--registry", registry.host)
        assert by_repository.returncode == 0, by_repository.stderr
        expected = f"{registry.host}/{name}-1.0.0-seed:1.10.0"
        assert f"pulled {expected}" in by_repository.stdout and "latest" not in by_repository.stdout
        assert f"seed run {name}-1.0.0-seed:1.10.0" in by_repository.stdout
        pulled += [expected, f"{name}-1.0.0-seed:1.10.0"]

        exact = seed("pull", f"{registry.host}/{name}-2.0.0-seed:0.2.0-rc.1", "-r", registry.host, "-q",
                     "--no-tag-local")
        assert exact.returncode == 0, exact.stderr
        pulled.append(f"{registry.host}/{name}-2.0.0-seed:0.2.0-rc.1")
        assert docker_client.images.get(pulled[-1])
        assert not docker_client.images.list(name=f"{name}-2.0.0-seed")

        missing = seed("pull", f"{name}-1.0.0-seed:9.9.9", "-r", registry.host)
        assert missing.returncode == 1 and "is not in the registry" in one_error_line(missing)
        unknown = seed("pull", unique_name("nojob"), "-r", registry.host)
        assert unknown.returncode == 1 and "no Seed image of job" in one_error_line(unknown)
    finally:
        remove_images(docker_client, *pulled)


# -- credentials and a registry that is down ----------------------------------------------------------------


def test_credentials_wrong_missing_and_right(auth_registry: RegistryServer, seed_image: Any, docker_client: Any,
                                             tmp_path: Path) -> None:
    user, password = auth_registry.credentials
    local = seed_image()
    wrong_password = password[::-1]
    for command in (["search"], ["publish", local], ["pull", local]):
        wrong = seed(*command, "-r", auth_registry.host, "-u", user, "--password-stdin", stdin=wrong_password + "\n")
        assert wrong.returncode == 1, (command, wrong.stderr)
        assert "rejected the credentials" in one_error_line(wrong)
        assert wrong_password not in wrong.stdout + wrong.stderr and password not in wrong.stdout + wrong.stderr
        anonymous = seed(*command, "-r", auth_registry.host, env={"DOCKER_CONFIG": str(tmp_path / "empty")})
        assert anonymous.returncode == 1 and "requires credentials" in one_error_line(anonymous)

    right = seed("publish", local, "-r", auth_registry.host, "-u", user, "--password-stdin", stdin=password)
    assert right.returncode == 0, right.stderr
    assert password not in right.stdout + right.stderr

    # the Docker config's credentials are used when no option gives any
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
    found = seed("search", local.split("-1.0.0")[0], "-r", auth_registry.host, "--json",
                 env={"DOCKER_CONFIG": str(config)})
    assert found.returncode == 0, found.stderr
    assert [h["reference"] for h in json.loads(found.stdout)["results"]] == [f"{auth_registry.host}/{local}"]
    docker_client.images.remove(local)
    pulled = seed("pull", local, "-r", auth_registry.host, env={"DOCKER_CONFIG": str(config)})
    assert pulled.returncode == 0, pulled.stderr
    assert password not in pulled.stdout + pulled.stderr
    assert docker_client.images.get(local)  # tagged with its short name again (seed_image removes it)
    remove_images(docker_client, f"{auth_registry.host}/{local}")


def test_a_registry_that_is_down_is_a_system_error(seed_image: Any) -> None:
    down = f"127.0.0.1:{free_port()}"
    local = seed_image()
    for command in (["search"], ["publish", local], ["pull", "some-job"]):
        proc = seed(*command, "--registry", down)
        assert proc.returncode == 4, (command, proc.stderr)
        assert f"the registry {down} does not answer" in one_error_line(proc)


def test_an_engine_that_does_not_answer_is_a_system_error(registry: RegistryServer, tmp_path: Path) -> None:
    proc = seed("publish", "x-1.0.0-seed:1.0.0", "-r", registry.host,
                env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert proc.returncode == 4 and "the Docker engine does not answer" in one_error_line(proc)


def test_credentials_in_the_registry_address_are_never_echoed(registry: RegistryServer) -> None:
    for argv, env in ((["search", "-r", f"http://me:hunter2@{registry.host}"], None),
                      (["pull", "x-1.0.0-seed"], {"SEED_REGISTRY": f"me:hunter2@{registry.host}"}),
                      (["publish", "x", "-r", "http://me:hun/ter2@host:5000/v2/org"], None)):
        proc = seed(*argv, stdin="", env=env)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "hunter2" not in proc.stdout + proc.stderr and "ter2" not in proc.stdout + proc.stderr
        message = " ".join(proc.stderr.replace("\u2502", " ").split())  # unwrap rich's error box
        assert "credentials in the registry address are not supported" in message, proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_bump_rebuilds_with_the_build_args_given(registry: RegistryServer, tmp_path: Path, docker_client: Any,
                                                   busybox_image: str) -> None:
    from seed_runner.authoring.build import build_job

    name = unique_name("bumpargs")
    job = tmp_path / "job"
    job.mkdir()
    (job / "Dockerfile").write_text("ARG BASE_IMAGE=seed-runner/busybox:1\nFROM ${BASE_IMAGE}\n"
                                    "ARG FLAVOUR=plain\nLABEL test.flavour=${FLAVOUR}\n"
                                    'ENTRYPOINT ["echo"]\n')
    (job / "seed.manifest.json").write_text(JOB_MANIFEST % name)
    built = []
    try:
        built.append(build_job(job, build_args={"FLAVOUR": "spicy"}, docker_client=docker_client).image)
        assert docker_client.images.get(built[0]).labels["test.flavour"] == "spicy"
        first = seed("publish", built[0], "-r", registry.host)
        assert first.returncode == 0, first.stderr
        bad = seed("publish", built[0], "--dir", str(job), "-r", registry.host, "--bump-package", "patch",
                   "--build-arg", "NOEQUALS")
        assert bad.returncode == 2 and "--build-arg" in bad.stderr, bad.stderr
        second = seed("publish", built[0], "--dir", str(job), "-r", registry.host, "--bump-package", "patch",
                      "--build-arg", "FLAVOUR=spicy", "--json")
        built.append(f"{name}-1.0.0-seed:1.0.1")
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["reference"] == f"{registry.host}/{built[1]}"
        assert docker_client.images.get(built[1]).labels["test.flavour"] == "spicy"
        config, _ = RegistryClient(registry.host).image_config(f"{name}-1.0.0-seed", "1.0.1")
        assert config["config"]["Labels"]["test.flavour"] == "spicy"
    finally:
        remove_images(docker_client, *built)
