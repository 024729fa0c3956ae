"""`seed list` (and every command that reaches the engine through the docker SDK: build, publish, pull) gives a
trickling or hanging engine up within the whole-call deadline `seed run` has (client.CALL_TIMEOUT), never the
SDK's timeout per read: `seed list` against a trickling engine was still running at 180 s, against a hanging
one it took 102 s.

Each test here failed before its fix (issue 16, item 14)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from seed_runner.engine import client as engine_api
from seed_runner.errors import EngineUnavailableError

from .test_engine_faults import trickle
from .test_engine_robustness import (  # noqa: F401 - fake_engine is a fixture
    PING, FakeEngine, Handler, Request, answer, fake_engine, in_thread)

SEED = str(Path(sys.executable).with_name("seed"))
TRICKLING = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n")


def hold(conn: Any, request: Request) -> None:
    time.sleep(3600)  # never answers (the fake engine closes it at the end)


@pytest.fixture
def quick_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_api, "CALL_TIMEOUT", 1.0)


@pytest.mark.parametrize("handler", [TRICKLING, hold], ids=["trickling", "hanging"])
def test_listing_the_images_is_given_up_within_the_call_timeout(fake_engine: Callable[..., FakeEngine],
                                                                quick_calls: None, handler: Handler) -> None:
    from seed_runner.authoring.describe import list_seed_images

    fake_engine(PING, ("GET", "/images/json", handler), ("GET", "/version", handler))
    started = time.monotonic()
    with pytest.raises(EngineUnavailableError, match="did not finish answering|does not answer"):
        in_thread(list_seed_images, 20)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("handler", [TRICKLING, hold], ids=["trickling", "hanging"])
def test_the_sdk_is_reached_only_through_a_bounded_ping(fake_engine: Callable[..., FakeEngine], quick_calls: None,
                                                        handler: Handler) -> None:
    from seed_runner.engine.sdk import connect_sdk

    fake_engine(("GET", "/_ping", handler), ("GET", "/version", handler))
    started = time.monotonic()
    with pytest.raises(EngineUnavailableError):
        in_thread(connect_sdk, 20)
    assert time.monotonic() - started < 5


def test_seed_list_of_a_trickling_engine_is_exit_4_in_one_line_within_the_deadline(
        fake_engine: Callable[..., FakeEngine]) -> None:
    fake = fake_engine(PING, ("GET", "/images/json", TRICKLING))
    started = time.monotonic()
    proc = subprocess.run([SEED, "list"], capture_output=True, text=True, timeout=150,
                          env={**os.environ, "DOCKER_HOST": fake.host})
    took = time.monotonic() - started
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "did not finish answering GET /images/json within 60 s" in proc.stderr
    assert took < engine_api.CALL_TIMEOUT + 30
