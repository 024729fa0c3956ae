"""Every command against an engine that is not the local socket: a second, real ``dockerd`` that speaks only TLS
on a loopback port (certificates made here with openssl), and the same engine through docker contexts made by
the docker CLI itself (tests/test_ssh_engines.py reaches the main engine over ssh).

The second dockerd has its own data, exec root, pid file, socket and bridge (``--bridge=none`` would make it
delete docker0, the main engine's bridge); ``--iptables=false`` keeps it off the main engine's firewall chains,
and vfs storage works on any filesystem. It needs root (or passwordless sudo, else it is skipped);
scripts/ensure-engine.sh installs dockerd and openssl, so CI runs all of it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.engine.client import Engine
from seed_runner.engine.endpoint import Endpoint, resolve_endpoint
from seed_runner.engine.sdk import sdk_client
from seed_runner.errors import EngineUnavailableError

from .conftest import REPO

pytestmark = pytest.mark.engine

SEED = str(Path(sys.executable).with_name("seed"))
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
INPUT = f"INPUT_IMAGE={REPO / 'sample_jobs' / 'watermark' / 'example' / 'input.png'}"
AS_ROOT: list[str] = [] if os.geteuid() == 0 else ["sudo", "-n"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def short_tmp(prefix: str) -> Path:
    """A folder with a short path (a Unix socket path is limited to 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def clean_env(**values: str) -> dict[str, str]:
    """The test's environment without any DOCKER_* variable, plus ``values``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return {**environment, "COLUMNS": "200", **values}


def seed(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SEED, *args], capture_output=True, text=True, timeout=180, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- certificates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    folder: Path
    """ca.pem, cert.pem, key.pem (the client's), as DOCKER_CERT_PATH wants them; server-*.pem for dockerd."""
    wrong: Path
    """The same client certificate with another CA's ca.pem."""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> None:
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=folder)


def make_cert(folder: Path, name: str, subject: str, extensions: str) -> None:
    (folder / f"{name}.cnf").write_text(extensions + "keyUsage=critical,digitalSignature\n"
                                        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
                                        "basicConstraints=critical,CA:FALSE\n")
    key, cert = ("key.pem", "cert.pem") if name == "client" else (f"{name}-key.pem", f"{name}-cert.pem")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", f"{name}.csr", "-subj", f"/CN={subject}", cwd=folder)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", f"{name}.cnf", cwd=folder)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    assert shutil.which("openssl"), "openssl is not installed: run scripts/ensure-engine.sh"
    folder = tmp_path_factory.mktemp("certs")
    make_ca(folder, "seed-runner test CA")
    make_cert(folder, "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_cert(folder, "client", "seed-runner test client", "extendedKeyUsage=clientAuth\n")
    wrong = tmp_path_factory.mktemp("wrong-ca")
    make_ca(wrong, "another CA")
    for name in ("cert.pem", "key.pem"):
        shutil.copy(folder / name, wrong / name)
    return Certs(folder, wrong)


# -- a second dockerd that speaks TLS only ---------------------------------------------------------------


@dataclass(frozen=True)
class TlsEngine:
    port: int
    certs: Certs
    endpoint: Endpoint
    client: Any
    """A docker SDK client of this engine."""

    @property
    def host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def env(self, cert_path: Path | None = None, **values: str) -> dict[str, str]:
        return clean_env(DOCKER_HOST=self.host, DOCKER_TLS_VERIFY="1",
                         DOCKER_CERT_PATH=str(cert_path or self.certs.folder), **values)


def _can_be_root() -> bool:
    return not AS_ROOT or subprocess.run([*AS_ROOT, "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def tls_engine(certs: Certs, docker_client: Any, busybox_image: str) -> Iterator[TlsEngine]:
    assert shutil.which("dockerd"), "dockerd is not installed: run scripts/ensure-engine.sh"
    if not _can_be_root():
        pytest.skip("starting a second dockerd needs root or passwordless sudo")
    base = short_tmp("seed-tls-")
    main_bridge = Path("/sys/class/net/docker0").exists()
    bridge = f"seedtls{uuid.uuid4().hex[:6]}"
    process: subprocess.Popen[bytes] | None = None
    try:
        make_bridge(bridge)
        port = free_port()
        process = start_dockerd(certs, base, port, bridge)
        endpoint = resolve_endpoint({"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1",
                                     "DOCKER_CERT_PATH": str(certs.folder)})
        deadline = time.monotonic() + 90
        while True:
            try:
                Engine(endpoint=endpoint, call_timeout=5).ping()
                break
            except EngineUnavailableError:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = (base / "dockerd.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"the TLS dockerd did not start ({process.poll()}):\n{tail}")
                time.sleep(0.3)
        client = sdk_client(endpoint)
        for reference in (busybox_image, WATERMARK):  # the engine pulls nothing: copy the images over
            client.images.load(b"".join(docker_client.images.get(reference).save(named=reference)))
        yield TlsEngine(port, certs, endpoint, client)
        client.close()
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)  # sudo passes it on
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        subprocess.run([*AS_ROOT, "ip", "link", "delete", bridge], check=False, capture_output=True)
        subprocess.run([*AS_ROOT, "rm", "-rf", str(base)], check=False)
    assert not main_bridge or Path("/sys/class/net/docker0").exists(), "the second dockerd removed docker0"


def make_bridge(name: str) -> None:
    """A bridge of the second dockerd's own. Not --bridge=none: a dockerd without a bridge deletes docker0, the
    main engine's, which then cannot start a container on its default network."""
    subnet = f"10.213.{uuid.uuid4().int % 250 + 1}.1/24"
    for command in (["link", "add", "name", name, "type", "bridge"], ["addr", "add", subnet, "dev", name],
                    ["link", "set", name, "up"]):
        subprocess.run([*AS_ROOT, "ip", *command], check=True, capture_output=True)


def start_dockerd(certs: Certs, base: Path, port: int, bridge: str) -> subprocess.Popen[bytes]:
    ca, cert, key = (certs.folder / name for name in ("ca.pem", "server-cert.pem", "server-key.pem"))
    argv = [*AS_ROOT, "dockerd", "--tlsverify", f"--tlscacert={ca}", f"--tlscert={cert}", f"--tlskey={key}",
            f"--host=tcp://127.0.0.1:{port}", f"--host=unix://{base}/docker.sock", f"--data-root={base}/data",
            f"--exec-root={base}/exec", f"--pidfile={base}/docker.pid", f"--bridge={bridge}", "--iptables=false",
            "--ip6tables=false", "--ip-masq=false", "--ip-forward=false", "--storage-driver=vfs"]
    with open(base / "dockerd.log", "wb") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def write_job(folder: Path, name: str) -> Path:
    """A tiny job that writes hi.txt, built FROM the busybox base."""
    folder.mkdir(parents=True)
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Remote probe",
        "description": "Writes one file.", "maintainer": {"name": "Jane Doe", "email": "jane@example.com"},
        "timeout": 30, "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 32},
                                                {"name": "disk", "value": 1}]},
        "interface": {"command": "sh -c 'echo hi > ${OUTPUT_DIR}/hi.txt'",
                      "outputs": {"files": [{"name": "HI", "pattern": "hi.txt"}]}}}}
    (folder / "seed.manifest.json").write_text(json.dumps(manifest))
    (folder / "Dockerfile").write_text('FROM seed-runner/busybox:1\nENTRYPOINT ["/bin/sh", "-c", "exec \\"$@\\"", "--"]\n')
    return folder


def run_and_check(image: str, env: dict[str, str], out: Path, *args: str) -> dict[str, Any]:
    proc = seed("run", image, *args, "-o", str(out), "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "succeeded"
    return result


def listed(env: dict[str, str]) -> set[str]:
    proc = seed("list", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return {reference for image in json.loads(proc.stdout)["images"] for reference in image["references"]}


def assert_built_there_only(name: str, there: Any, main: Any) -> str:
    import docker.errors

    image = f"{name}-1.0.0-seed:1.0.0"
    there.images.get(image)
    with pytest.raises(docker.errors.ImageNotFound):
        main.images.get(image)
    return image


# -- DOCKER_HOST with TLS --------------------------------------------------------------------------------


def test_every_command_over_tls(tls_engine: TlsEngine, docker_client: Any, tmp_path: Path) -> None:
    env = tls_engine.env(DOCKER_CONFIG=str(tmp_path / "config"))
    assert seed("validate", WATERMARK, env=env).returncode == 0
    run_and_check(WATERMARK, env, tmp_path / "run", "-i", INPUT)
    assert (tmp_path / "run" / "outputs" / "input_watermark.png").is_file()
    name = f"tls-probe-{uuid.uuid4().hex[:8]}"
    proc = seed("build", str(write_job(tmp_path / "job", name)), env=env)
    assert proc.returncode == 0, proc.stderr
    image = assert_built_there_only(name, tls_engine.client, docker_client)
    assert {WATERMARK, image} <= listed(env)
    run_and_check(image, env, tmp_path / "built")
    assert (tmp_path / "built" / "outputs" / "hi.txt").read_text() == "hi\n"


def test_a_wrong_ca_is_exit_4_and_one_line(tls_engine: TlsEngine, tmp_path: Path) -> None:
    env = tls_engine.env(tls_engine.certs.wrong)
    expected = (f"the Docker engine at DOCKER_HOST={tls_engine.host} failed TLS verification (unable to get local "
                f"issuer certificate); check that {tls_engine.certs.wrong}/ca.pem is the CA that signed")
    for args in (["list"], ["build", str(write_job(tmp_path / "job", "never-built"))]):
        proc = seed(*args, env=env)
        assert proc.returncode == 4 and expected in one_line(proc), proc.stderr
    proc = seed("run", WATERMARK, "-i", INPUT, "-o", str(tmp_path / "run"), "-q", env=env)
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert proc.returncode == 4 and result["status"] == "error" and expected in result["message"]
    proc = seed("validate", "--json", WATERMARK, env=env)  # engine trouble is a finding of the image source
    finding = json.loads(proc.stdout)["results"][0]["findings"][0]
    assert proc.returncode == 4 and finding["code"] == "engine-unavailable" and expected in finding["message"]


def test_missing_tls_files_are_exit_4_and_one_line(tls_engine: TlsEngine, tmp_path: Path) -> None:
    env = tls_engine.env(tmp_path / "no-certs")
    for args in (["list"], ["run", WATERMARK, "-i", INPUT, "-o", str(tmp_path / "run")]):
        proc = seed(*args, env=env)
        assert proc.returncode == 4, proc.stderr
    assert one_line(seed("list", env=env)) == (
        f"seed: error: cannot use the CA certificate {tmp_path}/no-certs/ca.pem for DOCKER_HOST={tls_engine.host} "
        f"(No such file or directory); check DOCKER_CERT_PATH={tmp_path}/no-certs: it should hold ca.pem, "
        "cert.pem and key.pem")


def test_plain_http_to_a_tls_engine_says_to_use_tls(tls_engine: TlsEngine) -> None:
    proc = seed("list", env=clean_env(DOCKER_HOST=tls_engine.host))
    assert proc.returncode == 4 and "it speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH" in one_line(proc)


def test_docker_tls_alone_does_not_verify(tls_engine: TlsEngine) -> None:
    # The wrong CA is not even read; the client certificate is still presented (the engine requires it).
    env = clean_env(DOCKER_HOST=tls_engine.host, DOCKER_TLS="1", DOCKER_CERT_PATH=str(tls_engine.certs.wrong))
    assert seed("validate", WATERMARK, env=env).returncode == 0
    proc = seed("list", env=env)
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr


# -- docker contexts, made by the docker CLI ------------------------------------------------------------


def docker_cli(config: Path, *args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60,
                          env=clean_env(DOCKER_CONFIG=str(config)))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def create_context(config: Path, name: str, host: str, folder: Path | None, **extra: str) -> None:
    parts = [f"host={host}"] + ([f"ca={folder}/ca.pem", f"cert={folder}/cert.pem", f"key={folder}/key.pem"]
                                if folder else []) + [f"{k.replace('_', '-')}={v}" for k, v in extra.items()]
    docker_cli(config, "context", "create", name, "--docker", ",".join(parts))


def test_the_context_store_as_the_docker_cli_writes_it(certs: Certs, tmp_path: Path) -> None:
    """Differential: our reading of every kind of context against `docker context inspect`."""
    config = tmp_path / "config"
    create_context(config, "tls", "tcp://127.0.0.1:2376", certs.folder)
    create_context(config, "insecure", "tcp://127.0.0.1:2376", None, skip_tls_verify="true")
    create_context(config, "plain", "tcp://10.0.0.1:2375", None)
    create_context(config, "over-ssh", "ssh://me@build-host:2222", None)
    create_context(config, "socket", "unix:///run/other.sock", None)
    for name in ("tls", "insecure", "plain", "over-ssh", "socket"):
        inspected = json.loads(docker_cli(config, "context", "inspect", name))[0]
        endpoint = resolve_endpoint({"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": name})
        docker = inspected["Endpoints"]["docker"]
        assert endpoint.address == docker["Host"] and endpoint.context == name
        material = sorted(inspected.get("TLSMaterial", {}).get("docker", []))
        ours = sorted(Path(p).name for p in (endpoint.ca, endpoint.cert, endpoint.key) if p)
        assert ours == material, name
        if material:
            assert Path(str(endpoint.ca)).parent == Path(inspected["Storage"]["TLSPath"]) / "docker"
        assert endpoint.tls == (bool(material) or docker["SkipTLSVerify"]), name
        assert endpoint.verify == (endpoint.tls and not docker["SkipTLSVerify"]), name
    docker_cli(config, "context", "use", "plain")
    assert resolve_endpoint({"DOCKER_CONFIG": str(config)}).address == "tcp://10.0.0.1:2375"


def test_every_command_through_a_context(tls_engine: TlsEngine, docker_client: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    create_context(config, "ci", tls_engine.host, tls_engine.certs.folder)
    env = clean_env(DOCKER_CONFIG=str(config), DOCKER_CONTEXT="ci")
    assert seed("validate", WATERMARK, env=env).returncode == 0
    run_and_check(WATERMARK, env, tmp_path / "run", "-i", INPUT)
    name = f"ctx-probe-{uuid.uuid4().hex[:8]}"
    assert seed("build", str(write_job(tmp_path / "job", name)), env=env).returncode == 0
    image = assert_built_there_only(name, tls_engine.client, docker_client)
    # The same context as the CLI's current one (config.json), DOCKER_CONTEXT unset.
    docker_cli(config, "context", "use", "ci")
    env = clean_env(DOCKER_CONFIG=str(config))
    assert image in listed(env)
    run_and_check(image, env, tmp_path / "built")


def test_a_context_with_the_wrong_ca(tls_engine: TlsEngine, tmp_path: Path) -> None:
    config = tmp_path / "config"
    create_context(config, "bad", tls_engine.host, tls_engine.certs.wrong)
    proc = seed("list", env=clean_env(DOCKER_CONFIG=str(config), DOCKER_CONTEXT="bad"))
    line = one_line(proc)
    assert proc.returncode == 4 and f"the Docker engine at context bad ({tls_engine.host}; DOCKER_CONTEXT=bad) " \
                                   "failed TLS verification" in line, line


def test_a_context_that_skips_verification(tls_engine: TlsEngine, tmp_path: Path) -> None:
    config = tmp_path / "config"
    folder = tls_engine.certs.folder
    docker_cli(config, "context", "create", "insecure", "--docker",
               f"host={tls_engine.host},cert={folder}/cert.pem,key={folder}/key.pem,skip-tls-verify=true")
    env = clean_env(DOCKER_CONFIG=str(config), DOCKER_CONTEXT="insecure")
    assert seed("validate", WATERMARK, env=env).returncode == 0
    assert WATERMARK in listed(env)


# -- the local socket stays lean ---------------------------------------------------------------------------


def test_a_run_on_the_local_socket_imports_neither_ssl_nor_the_sdk(busybox_image: str, tmp_path: Path) -> None:
    manifest = {"seedVersion": "1.0.0", "job": {
        "name": "lean", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Lean", "description": "Lean.",
        "maintainer": {"name": "Jane Doe", "email": "jane@example.com"}, "timeout": 30,
        "interface": {"command": "true"}}}
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    probe = ("import atexit, sys\n"
             "watched = ('ssl', 'docker', 'requests', 'seed_runner.engine.ssh', 'seed_runner.engine.sdk')\n"
             "atexit.register(lambda: print('IMPORTED', [m for m in watched if m in sys.modules], file=sys.stderr))\n"
             "from seed_runner.cli.app import main\n"
             f"sys.argv = ['seed', 'run', {busybox_image!r}, '--manifest', {str(tmp_path / 'm.json')!r}, '-o', "
             f"{str(tmp_path / 'run')!r}, '-q']\n"
             "main()\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert "IMPORTED []" in proc.stderr, proc.stderr
