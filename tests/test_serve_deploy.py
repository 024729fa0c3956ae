"""Part 2 (Deploy, Replace, Undeploy, draft) against a real local registry: a deploy token's application
package pulls the image, reads and validates its label, and the process runs; replace and undeploy; the package
back; refusals. Bodies validated against the official schemas (the Part 2 draft's for the package)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ogc_schemas import ROOT, check, validator  # noqa: E402
from registry_fixture import push  # noqa: E402
from serve_fixture import SLEEPER_MANIFEST, Server, wait_for  # noqa: E402

pytestmark = pytest.mark.engine
EXECUTE = "execute-token-0123456789"
DEPLOY = "deploy-token-0123456789ab"


def _package(image: str, process: dict[str, Any] | None = None) -> dict[str, Any]:
    package: dict[str, Any] = {"executionUnit": {"type": "docker", "image": image}}
    if process is not None:
        package["processDescription"] = {"process": process}
    return package


def test_deploy_replace_and_undeploy_through_a_registry(tmp_path: Path, registry: Any, seed_image: Any,
                                                        docker_client: Any) -> None:
    local = seed_image(copy.deepcopy(SLEEPER_MANIFEST))
    other = copy.deepcopy(SLEEPER_MANIFEST)
    other["job"]["name"] = "serve-test-other"
    other_local = seed_image(other)
    repository = local.split(":")[0]
    push(docker_client, registry, local, repository, "1.0.0")
    push(docker_client, registry, other_local, other_local.split(":")[0], "1.0.0")
    image = f"{registry.host}/{repository}:1.0.0"
    other_image = f"{registry.host}/{other_local}"
    unlabelled = seed_image(label=False, tag="serve-test-plain-1.0.0-seed:1.0.0")
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{EXECUTE} execute\n{DEPLOY} deploy\n")
    args = ("--images", "matches-nothing", "--token-file", str(tokens))
    server = Server(tmp_path, *args).start()
    execute = {"Authorization": f"Bearer {EXECUTE}"}
    deploy = {"Authorization": f"Bearer {DEPLOY}", "Content-Type": "application/ogcapppkg+json"}
    try:
        with server.client() as client:
            assert client.post("/processes", json=_package(image), headers=execute).status_code == 403
            assert client.post("/processes", json=_package(image)).status_code == 401
            answer = client.post("/processes", json=_package(image, {"id": "serve-test-sleep", "version": "1.0.0"}),
                                 headers=deploy)
            assert answer.status_code == 201, answer.text
            assert answer.headers["location"].endswith("/processes/serve-test-sleep")
            check("processSummary", answer.json())
            listed = check("processList", client.get("/processes", headers=execute).json())
            assert [p["id"] for p in listed["processes"]] == ["serve-test-sleep"]
            package = client.get("/processes/serve-test-sleep/package", headers=execute).json()
            validator("ogcapppkg", ROOT / "part2-draft" / "schemas" / "processes-dru").validate(package)
            assert package["executionUnit"] == {"type": "docker", "image": image}
            job = client.post("/processes/serve-test-sleep/execution", json={"inputs": {"SECONDS": 0}},
                              headers={**execute, "Prefer": "respond-async"}).json()
            assert wait_for(httpx.Client(base_url=server.url, headers=execute), job["jobID"])["status"] == "successful"
            again = client.post("/processes", json=_package(image), headers=deploy)
            assert again.status_code == 409 and check("exception", again.json())
            for body, words in ((_package(image, {"id": "another"}), "names process 'another'"),
                                (_package(image, {"inputs": {"SECONDS": {}}}), "inputs"),
                                (_package(other_image), "not 'serve-test-sleep'"),
                                ({"executionUnit": {"type": "cwl", "href": "x"}}, "Seed images only"),
                                (_package("UPPER/../x"), "image reference")):
                refused = client.put("/processes/serve-test-sleep", json=body, headers=deploy)
                assert refused.status_code == 400 and words in check("exception", refused.json())["detail"], \
                    refused.text
            assert client.put("/processes/serve-test-sleep", json=_package(image), headers=deploy).status_code == 204
            plain = client.post("/processes", json=_package(unlabelled), headers=deploy)
            assert plain.status_code == 400 and "manifest" in plain.json()["detail"]
        server.stop()
        server = Server(tmp_path, *args, port=server.port).start()  # deployments outlive a restart
        with server.client() as client:
            assert client.get("/processes/serve-test-sleep", headers=execute).status_code == 200
            assert client.delete("/processes/serve-test-sleep", headers=execute).status_code == 403
            assert client.delete("/processes/serve-test-sleep", headers=deploy).status_code == 204
            assert client.get("/processes/serve-test-sleep", headers=execute).status_code == 404
            assert client.get("/processes/serve-test-sleep/package", headers=execute).status_code == 404
            assert client.delete("/processes/serve-test-sleep", headers=deploy).status_code == 404
    finally:
        server.stop()
        for reference in (image, other_image):
            try:
                docker_client.images.remove(reference, force=True)
            except Exception:  # noqa: BLE001 - best effort
                pass
