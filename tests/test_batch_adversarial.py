"""`seed batch` attacked the way users break it: hostile tables, patterns in odd folders, a batch folder claimed or
resumed twice at once, a damaged batch.json, bad caps, secrets at resume, Ctrl-C at awkward moments, and the
driver's cost at 10,000 rows. Each test here failed before its fix (see the report of issue 11's review)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import seed_runner
from seed_runner import load_manifest
from seed_runner.batches import folder as bf
from seed_runner.batches.requests import batch_requests
from seed_runner.batches.rows import Row, RowsError, each_rows, read_table
from seed_runner.batches.start import BatchError, resume_batch, run_batch
from seed_runner.executors import LocalExecutor, RunOptions
from seed_runner.executors.base import Footprint, RunFuture
from seed_runner.runtime.plan import RunRequest

from .test_batch import CHECKER, SEED, seed

JOB = {"seedVersion": "1.0.0", "job": {
    "name": "rows-job", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "interface": {
        "command": "echo ${IMAGE} ${THRESHOLD} ${MODE_NAME}",
        "inputs": {"files": [{"name": "IMAGE"}], "json": [{"name": "THRESHOLD", "type": "number"},
                                                          {"name": "OPTIONS", "type": "object", "required": False}]},
        "settings": [{"name": "MODE_NAME"}, {"name": "TOKEN", "secret": True}]}}}
SECRETIVE = {"seedVersion": "1.0.0", "job": {
    "name": "secretive", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
    "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
    "resources": {"scalar": [{"name": "cpus", "value": 0.25}, {"name": "mem", "value": 16}]},
    "interface": {"command": "sh -c 'echo token=$TOKEN; echo $TOKEN >&2; test -s \"${DATA}\"'",
                  "inputs": {"files": [{"name": "DATA"}]}, "settings": [{"name": "TOKEN", "secret": True}]},
    "errors": [{"code": 1, "name": "empty-data", "category": "data"}]}}


@pytest.fixture
def rows_job() -> Any:
    return load_manifest(JOB)


def template() -> RunRequest:
    return RunRequest(image="rows-job-1.0.0-seed:1.0.0", settings={"MODE_NAME": "fast", "TOKEN": "s3cret"})


def refused(path: Path, manifest: Any) -> list[Any]:
    """The problems of a batch of ``path`` that must be refused (nothing runs: no engine is needed)."""
    result = run_batch("rows-job-1.0.0-seed:1.0.0", table=path, template=template(),
                       options=RunOptions(manifest=manifest), folder=path.parent / "out")
    assert result.status == "refused" and not (path.parent / "out").exists()
    return result.problems


# -- hostile tables (pure) -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, text", [
    ("case.csv", "IMAGE,THRESHOLD,mode_name,MODE_NAME\na.tif,1,x,y\n"),
    ("dash.csv", "IMAGE,THRESHOLD,MODE-NAME,MODE_NAME\na.tif,1,x,y\n"),
    ("case.jsonl", '{"IMAGE": "a.tif", "THRESHOLD": 1, "mode_name": "x", "MODE-NAME": "y"}\n'),
    ("twice.jsonl", '{"IMAGE": "a.tif", "THRESHOLD": 1, "MODE_NAME": "x", "MODE_NAME": "y"}\n'),
])
def test_two_columns_for_one_name_are_a_problem_not_a_silent_choice(tmp_path: Path, rows_job: Any, name: str,
                                                                     text: str) -> None:
    (tmp_path / "a.tif").write_bytes(b"x")
    (tmp_path / name).write_text(text)
    problems = refused(tmp_path / name, rows_job)
    assert [p.code for p in problems] == ["duplicate-column"], problems
    assert "MODE" in problems[0].message and "\n" not in problems[0].message


@pytest.mark.parametrize("cell", ["@/dev/zero", "@", "@fifo"])
def test_a_json_cell_naming_a_special_file_says_so(tmp_path: Path, rows_job: Any, cell: str) -> None:
    (tmp_path / "a.tif").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "runs.csv").write_text(f"IMAGE,THRESHOLD,OPTIONS\na.tif,1,{cell}\n")
    problems = refused(tmp_path / "runs.csv", rows_job)
    assert [p.code for p in problems] == ["invalid-cell"]
    assert "not a regular file" in problems[0].message and "None" not in problems[0].message


def test_a_value_under_a_nameless_column_is_not_dropped_silently(tmp_path: Path, rows_job: Any) -> None:
    (tmp_path / "a.tif").write_bytes(b"x")
    (tmp_path / "runs.csv").write_text("IMAGE,,THRESHOLD,\na.tif,MODE?,1,\n")  # a trailing empty column is fine
    problems = refused(tmp_path / "runs.csv", rows_job)
    assert [(p.code, p.path) for p in problems] == [("unnamed-column", "$.rows[1]")]
    assert "column 2" in problems[0].message


def test_a_huge_cell_says_what_to_do_rather_than_not_valid_csv(tmp_path: Path) -> None:
    cell = json.dumps({"polygon": [[1.5, 2.5]] * 20000}).replace('"', '""')
    (tmp_path / "runs.csv").write_text(f'IMAGE,THRESHOLD,OPTIONS\na.tif,1,"{cell}"\n')
    with pytest.raises(RowsError, match=r"line 2 has a cell over 128 KiB; put a large JSON value in a file and "
                                        r"write @file.json in its cell"):
        read_table(tmp_path / "runs.csv")


@pytest.mark.parametrize("value", ["1e999", "-1e999", "9" * 400])
def test_a_setting_too_large_for_a_number_is_refused_not_infinity(tmp_path: Path, rows_job: Any, value: str) -> None:
    (tmp_path / "a.tif").write_bytes(b"x")
    (tmp_path / "runs.jsonl").write_text(f'{{"IMAGE": "a.tif", "THRESHOLD": 1, "MODE_NAME": {value}}}\n')
    problems = refused(tmp_path / "runs.jsonl", rows_job)
    assert [p.code for p in problems] == ["invalid-cell"]
    assert "$.rows[1].MODE_NAME" == problems[0].path


def test_a_shared_problem_of_every_row_is_said_once(tmp_path: Path, rows_job: Any) -> None:
    (tmp_path / "a.tif").write_bytes(b"x")
    (tmp_path / "runs.csv").write_text("IMAGE,THRESHOLD,COLOUR\n" + "a.tif,1,red\n" * 500 + "missing.tif,1,red\n")
    rows, problems = read_table(tmp_path / "runs.csv")
    runs, more = batch_requests(rows_job, rows, RunRequest("rows-job-1.0.0-seed:1.0.0", timeout=-5,
                                                            settings={"MODE_NAME": "x", "TOKEN": "t"}))
    lines = sorted(f"{p.code} {p.path} {p.message}" for p in problems + more)
    assert len(lines) == 3, lines[:5]  # not 1,002 lines
    assert lines[0].startswith("input-not-found $.rows[501].file_inputs.IMAGE row 501:")
    assert lines[1].startswith("invalid-timeout $.rows[*].timeout every row: --timeout -5")
    assert lines[2] == ("unknown-column $.rows[*].COLOUR every row: 'COLOUR' is not a file input, JSON input or "
                        "setting of rows-job")


def test_a_cap_too_small_for_every_row_is_said_once(tmp_path: Path) -> None:
    manifest = load_manifest(SECRETIVE)  # each run declares 0.25 cpus and 16 MiB
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA\n" + "a.txt\n" * 300)
    executor = LocalExecutor(cpus=0.1, mem=1024, gpus=0)  # every cap given: no engine is asked
    result = run_batch("secretive-1.0.0-seed:1.0.0", table=tmp_path / "runs.csv", executor=executor,
                       template=RunRequest("secretive-1.0.0-seed:1.0.0", settings={"TOKEN": "t"}),
                       options=RunOptions(manifest=manifest), folder=tmp_path / "out")
    assert result.status == "refused" and not (tmp_path / "out").exists()
    assert [(p.code, p.path) for p in result.problems] == [("does-not-fit", "$.rows[*]")]  # not 300 lines
    assert result.problems[0].message.startswith("every row: the run needs 0.25 cpus")


def test_saying_a_shared_problem_once_costs_the_same_per_row_at_any_size() -> None:
    from seed_runner.batches.requests import once_for_all
    from seed_runner.problems import error

    def seconds_per_row(count: int) -> float:
        problems = [error("input-not-found", f"$.rows[{n}].file_inputs.DATA", f"row {n}: input DATA: /x does not "
                          "exist") for n in range(1, count + 1)]
        started = time.perf_counter()
        assert len(once_for_all(problems, set(range(1, count + 1)))) == 1
        return (time.perf_counter() - started) / count

    # The best of three of each: a loaded machine slows single measurements, never all three; a quadratic pass
    # would make the large one about 20 times the small one a row.
    small, large = min(seconds_per_row(2000) for _ in range(3)), min(seconds_per_row(40000) for _ in range(3))
    assert large < 3 * small, (small, large)  # not a comparison of every row's set per problem


# -- --each patterns (pure) ------------------------------------------------------------------------------


def test_each_matches_in_a_folder_whose_name_looks_like_a_pattern(tmp_path: Path) -> None:
    base = tmp_path / "scans [2024] *?"
    (base / "data").mkdir(parents=True)
    (base / "data" / "a b ü.png").write_bytes(b"x")
    rows, problems = each_rows([("IMAGE", "data/*.png")], base=base)
    assert problems == [] and [r.values for r in rows] == [{"IMAGE": [str(base / "data" / "a b ü.png")]}]


def test_each_naming_one_input_twice_is_a_problem(tmp_path: Path) -> None:
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"x")
    rows, problems = each_rows([("IMAGE", "a.png"), ("image", "b.png")], base=tmp_path)
    assert rows == [] and [p.code for p in problems] == ["duplicate-each"]


def test_each_with_double_star_never_walks_a_link_back_up_the_tree(tmp_path: Path) -> None:
    (tmp_path / "a" / "b.png").mkdir(parents=True)  # a folder whose name matches
    (tmp_path / "a" / "x.png").write_bytes(b"x")
    (tmp_path / "a" / "up").symlink_to("..")  # links back up: the standard glob listed a/x.png over and over,
    (tmp_path / "dirlink").symlink_to(tmp_path / "a")  # and with two of them grew to gigabytes, never ending
    (tmp_path / ".hidden.png").write_bytes(b"x")
    (tmp_path / "top.png").write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(tmp_path / "top.png")  # a link to a file is a file
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    script = ("import json, sys; from pathlib import Path; from seed_runner.batches.rows import each_rows; "
              "rows, problems = each_rows([('IMAGE', '**/*.png')], base=Path(sys.argv[1])); "
              "print(json.dumps([r.values['IMAGE'][0] for r in rows] + [p.code for p in problems]))")
    try:  # in a process of its own: a regression must fail here, not eat the machine's memory
        found = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                               timeout=60, check=True).stdout
    except subprocess.TimeoutExpired:
        pytest.fail("--each '**/*.png' walked the links back up the tree for a minute")
    assert json.loads(found) == [str(tmp_path / n) for n in ("a/x.png", "link.png", "top.png")]
    rows, _ = each_rows([("IMAGE", "dirlink/*.png")], base=tmp_path)  # a link named in the pattern is followed
    assert [r.values["IMAGE"][0] for r in rows] == [str(tmp_path / "dirlink" / "x.png")]


# -- the batch folder (pure) -----------------------------------------------------------------------------


def test_a_folder_is_claimed_by_one_batch_only_even_at_the_same_instant(tmp_path: Path) -> None:
    for attempt in range(20):
        where = tmp_path / f"out{attempt}"
        start = threading.Barrier(4)
        outcomes: list[str] = []

        def claim() -> None:
            start.wait()
            try:
                bf.claim(where)
                outcomes.append("claimed")
            except bf.BatchFolderError as exc:
                outcomes.append(str(exc))

        threads = [threading.Thread(target=claim) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("claimed") == 1, outcomes


@pytest.mark.parametrize("change", [
    lambda d: d["runs"][0].pop("request"),
    lambda d: d.update(runs=[1]),
    lambda d: d.pop("image"),
    lambda d: d["runs"][0].update(attempts="x"),
])
def test_a_damaged_batch_json_is_one_line_not_an_internal_error(tmp_path: Path, change: Any) -> None:
    document = {"batch_version": 1, "batch_id": "abc", "image": "x:1", "job": {}, "options": {},
                "runs": [{"row": 1, "status": "failed", "request": {"image": "x:1"}, "attempts": []}]}
    change(document)
    (tmp_path / "batch.json").write_text(json.dumps(document))
    with pytest.raises(BatchError, match="batch.json"):
        resume_batch(tmp_path)


def test_a_second_runner_of_one_batch_folder_is_refused(tmp_path: Path) -> None:
    with bf.hold(tmp_path):
        with pytest.raises(bf.BatchFolderError, match=f"in use by another seed batch .pid {os.getpid()}"):
            with bf.hold(tmp_path):
                pass
    with bf.hold(tmp_path):  # released at the end of the block
        pass


@pytest.mark.parametrize("batch_id", ["../up", "a/b", "", "x" * 65, "spaces here"])
def test_a_batch_id_that_is_no_name_is_refused(tmp_path: Path, batch_id: str) -> None:
    with pytest.raises(BatchError, match="batch id"):
        run_batch("rows-job-1.0.0-seed:1.0.0", rows=[], options=RunOptions(manifest=load_manifest(JOB)),
                  folder=tmp_path / "out", batch_id=batch_id)


@pytest.mark.parametrize("option, value", [("--cpus", "-1"), ("--mem", "nan"), ("--gpus", "-1")])
def test_caps_that_are_no_amount_are_usage_errors(tmp_path: Path, option: str, value: str) -> None:
    (tmp_path / "job.json").write_text(json.dumps(CHECKER))
    proc = seed("batch", "seed-runner/busybox:1", "--manifest", "job.json", "--each", "DATA=*.json",
                "-j", "PAUSE=0", "-o", "out", option, value, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert option in proc.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_the_rows_are_checked_is_one_line_and_exit_130(tmp_path: Path, signum: int) -> None:
    (tmp_path / "job.json").write_text(json.dumps(CHECKER))
    (tmp_path / "d.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA,PAUSE\n" + "d.txt,0\n" * 100000)  # half a minute of checking
    proc = subprocess.Popen([SEED, "batch", "seed-runner/busybox:1", "--manifest", "job.json", "--table",
                             "runs.csv", "-o", "out"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "seed: interrupted; no run was started\n", err
    assert not (tmp_path / "out").exists()


# -- the driver's cost at 10,000 rows (pure: an executor that ends every run at once) ----------------------


class InstantExecutor:
    """The executor protocol with runs of a millisecond, two at a time: what remains is the driver's own cost."""

    def __init__(self) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(2)

    def check_fits(self, need: Footprint) -> None:
        pass

    def submit(self, request: RunRequest, options: RunOptions = RunOptions(), *,
               footprint: Footprint | None = None) -> RunFuture:
        future = RunFuture(request, options, footprint or Footprint())

        def end() -> None:
            time.sleep(0.001)
            future.set_running_or_notify_cancel()
            document = {"run_id": request.run_id, "status": "succeeded", "run_dir": request.run_dir, "exit_code": 0,
                        "timings": {"duration_seconds": 0.001}, "outputs": {"OUT": {"files": [{"path": "o.txt"}]}}}
            future.set_result(type("Result", (), {"document": document})())

        self.pool.submit(end)
        return future

    def as_completed(self, futures: Any, timeout: float | None = None) -> Any:
        return concurrent.futures.as_completed(futures, timeout)

    def close(self, *, cancel: bool = False, reason: str = "cancelled") -> None:
        self.pool.shutdown()


def _driver_seconds_per_row(tmp_path: Path, count: int) -> float:
    data = tmp_path / "d.txt"
    data.write_text("x")
    rows = [Row(i, {"DATA": str(data)}, tmp_path, text_cells=False)
            for i in range(1, count + 1)]
    started = time.perf_counter()
    result = run_batch("seed-runner/busybox:1", rows=rows, template=RunRequest("seed-runner/busybox:1",
                                                                               json_inputs={"PAUSE": 0}),
                       options=RunOptions(manifest=load_manifest(CHECKER)), executor=InstantExecutor(),
                       folder=tmp_path / f"out{count}")
    took = time.perf_counter() - started
    assert result.status == "succeeded" and result.document["counts"] == {"total": count, "succeeded": count}
    return took / count


def test_the_driver_costs_the_same_per_row_at_10000_rows_as_at_1000(tmp_path: Path) -> None:
    # Measured before the fix: 35 s for 10,000 rows with batch.json never rewritten (a wait on every
    # outstanding future after each run's end: quadratic), 49 s with it rewritten every second (650 ms a write).
    small = _driver_seconds_per_row(tmp_path, 1000)
    large = _driver_seconds_per_row(tmp_path, 10000)
    assert large < 2 * small, (small, large)


# -- the local executor on the real engine ---------------------------------------------------------------


def sleeper(seconds: float, cpus: float = 0.1) -> Any:
    return load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "adversary-sleeper", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t",
        "description": "d", "maintainer": {"name": "n", "email": "e"}, "timeout": 120,
        "resources": {"scalar": [{"name": "cpus", "value": cpus}, {"name": "mem", "value": 16}]},
        "interface": {"command": f"sleep {seconds}"}}})


@pytest.mark.engine
def test_in_flight_is_back_to_exactly_nothing_after_runs_of_odd_sizes(busybox_image: str, tmp_path: Path) -> None:
    with LocalExecutor(parallel=3, cpus=1, mem=1000) as executor:
        futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}"),
                                   RunOptions(manifest=sleeper(0)),
                                   footprint=Footprint(cpus=(0.1, 0.2, 0.7)[i % 3], mem=(16.7, 0.1, 3.3)[i % 3]))
                   for i in range(9)]
        assert {f.result(timeout=120).document["status"] for f in futures} == {"succeeded"}
    assert executor.in_flight == Footprint()  # not -2.2e-16 cpus: float sums do not cancel out exactly


@pytest.mark.engine
def test_ctrl_c_while_close_waits_stops_the_runs_instead_of_being_swallowed(busybox_image: str, tmp_path: Path,
                                                                            docker_client: Any) -> None:
    executor = LocalExecutor(parallel=2, cpus=2, mem=1000)
    futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}"), RunOptions(manifest=sleeper(60)))
               for i in range(3)]
    for _ in range(400):
        if sum(f.running() for f in futures) == 2 and docker_client.containers.list(
                filters={"label": "io.seed-runner.job=adversary-sleeper", "status": "running"}):
            break
        time.sleep(0.05)
    else:
        executor.close(cancel=True)
        pytest.fail("the runs never started")
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    asked = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            executor.close()  # waits for runs of 60 s: a Ctrl-C must stop them, not be swallowed
    finally:
        timer.cancel()  # never a stray Ctrl-C for the rest of the session
    assert time.monotonic() - asked < 30
    assert sorted(f.result(timeout=1).document["status"] for f in futures) == ["interrupted"] * 3
    for future in futures:
        assert docker_client.containers.list(all=True, filters={"label": f"io.seed-runner.run-id={future.run_id}"}) == []


def test_a_ctrl_c_before_the_first_run_leaves_an_interrupted_batch_not_a_running_one(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("x")

    def interrupt(folder: Path, batch_id: str) -> None:
        raise KeyboardInterrupt

    result = run_batch("seed-runner/busybox:1", rows=[Row(1, {"DATA": "d.txt"}, tmp_path, text_cells=False)],
                       template=RunRequest("seed-runner/busybox:1", json_inputs={"PAUSE": 0}),
                       options=RunOptions(manifest=load_manifest(CHECKER)), executor=InstantExecutor(),
                       folder=tmp_path / "out", on_start=interrupt)
    written = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert result.status == written["status"] == "interrupted" and written["complete"] is False


# -- seed batch on the real engine -----------------------------------------------------------------------


@pytest.mark.engine
def test_a_batch_running_in_another_process_is_not_resumed_under_it(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "job.json").write_text(json.dumps(CHECKER))
    (tmp_path / "d.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA,PAUSE\n" + "d.txt,4\n" * 3)
    first = subprocess.Popen([SEED, "batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv", "-o",
                              "out", "--parallel", "3", "-q"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if (tmp_path / "out" / "batch.json").exists():
            break
        time.sleep(0.05)
    second = seed("batch", "resume", "out", cwd=tmp_path)
    assert first.wait(120) == 0, first.stderr.read() if first.stderr else ""
    assert second.returncode == 2, second.stderr
    assert f"in use by another seed batch (pid {first.pid})" in second.stderr and second.stderr.count("\n") == 1
    assert len(list((tmp_path / "out" / "runs").iterdir())) == 3  # not 6: no row ran twice
    again = seed("batch", "resume", "out", cwd=tmp_path)  # the lock died with its process
    assert again.returncode == 0, again.stderr


@pytest.mark.engine
def test_resuming_with_the_batch_id_keeps_the_batch_s_retries(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "d.txt").write_text("x")
    common = dict(each=[("DATA", str(tmp_path / "d.txt"))], options=RunOptions(manifest=load_manifest(CHECKER)),
                  template=RunRequest(busybox_image, json_inputs={"PAUSE": 0}, network="seed-runner-no-such-network"),
                  folder=tmp_path / "out", backoff=0.05, cpus=2, mem=1000)
    first = run_batch(busybox_image, retries=1, **common)
    assert [a["error"] for a in first.document["runs"][0]["attempts"]] == ["docker-launch"] * 2
    again = run_batch(busybox_image, batch_id=first.batch_id, **common)  # the same call, resumed: retries 1
    assert [a["error"] for a in again.document["runs"][0]["attempts"]] == ["docker-launch"] * 4


@pytest.mark.engine
def test_rows_interrupted_while_waiting_for_a_retry_are_reported_too(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "d.txt").write_text("x")
    finished: list[tuple[int, str]] = []

    def interrupt_once_a_retry_waits(progress: Any) -> None:
        if not finished and any((tmp_path / "out" / "runs").glob("*/result.json")):  # its retry waits 30 s
            finished.append((0, "Ctrl-C"))
            raise KeyboardInterrupt

    result = run_batch(busybox_image, each=[("DATA", str(tmp_path / "d.txt"))],
                       options=RunOptions(manifest=load_manifest(CHECKER)), folder=tmp_path / "out",
                       template=RunRequest(busybox_image, json_inputs={"PAUSE": 0},
                                           network="seed-runner-no-such-network"),
                       retries=3, backoff=30, cpus=2, mem=1000,
                       on_finished=lambda entry: finished.append((entry.row, entry.status)),
                       on_progress=interrupt_once_a_retry_waits)
    assert result.status == "interrupted"
    assert [a["status"] for a in result.document["runs"][0]["attempts"]] == ["error", "interrupted"]
    assert finished == [(0, "Ctrl-C"), (1, "interrupted")]  # "seed: row 1 interrupted": every row has its line


@pytest.mark.engine
def test_secrets_from_options_and_tables_are_written_nowhere_and_resume_asks_in_any_case(
        tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "job.json").write_text(json.dumps(SECRETIVE))
    (tmp_path / "full.txt").write_text("x")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "runs.csv").write_text("DATA,token\nfull.txt,TABLE-SECRET-9f8e7d\nempty.txt,\n")
    home = tmp_path / "home"
    env = {**os.environ, "SEED_HOME": str(home)}
    proc = subprocess.run([SEED, "batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv", "-e",
                           "TOKEN=OPTION-SECRET-6c5b4a", "-o", "out", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # the empty file fails its row
    for secret in ("TABLE-SECRET-9f8e7d", "OPTION-SECRET-6c5b4a"):
        assert secret not in proc.stdout + proc.stderr
        for path in [*(tmp_path / "out").rglob("*"), *home.rglob("*")]:
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    assert "token=****" in next((tmp_path / "out" / "runs").glob("0001-*/logs/stdout.log")).read_text()
    asked = subprocess.run([SEED, "batch", "resume", "out"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert asked.returncode == 2
    assert asked.stderr.strip() == ("seed: error: row 2: setting TOKEN is a secret and was not stored; give it again "
                                    "(-e TOKEN or --secret TOKEN=FILE)")
    (tmp_path / "empty.txt").write_text("now full")
    resumed = subprocess.run([SEED, "batch", "resume", "out", "-e", "token=OPTION-SECRET-6c5b4a"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert b"OPTION-SECRET-6c5b4a" not in (tmp_path / "out" / "batch.json").read_bytes()


@pytest.mark.engine
def test_the_engine_s_and_the_image_s_failures_before_any_run_are_exit_4(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    missing = seed("batch", "seed-runner-test/no-such-image:1", "--each", "INPUT=*.png", "-o", "out", cwd=tmp_path)
    assert missing.returncode == 4 and "is not on the local engine" in missing.stderr
    proc = subprocess.run([SEED, "batch", "seed-runner/busybox:1", "--each", "INPUT=*.png"], cwd=tmp_path,
                          env={**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:9"}, capture_output=True, text=True)
    assert proc.returncode == 4 and "does not answer" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.engine
def test_pull_fetches_the_image_before_its_rows_are_checked(tmp_path: Path, registry: Any, seed_image: Any,
                                                            docker_client: Any) -> None:
    from .registry_fixture import push, seed_manifest, unique_name

    manifest = seed_manifest(unique_name("batchpull"))
    manifest["job"]["interface"] = {"command": "test -s ${DATA}", "inputs": {"files": [{"name": "DATA"}]}}
    local = seed_image(manifest)
    repository = local.split(":")[0]
    push(docker_client, registry, local, repository, "1.0.0")
    remote = f"{registry.host}/{repository}:1.0.0"
    (tmp_path / "a.txt").write_text("x")
    proc = seed("batch", remote, "--pull", "--each", "DATA=*.txt", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # not "is not on the local engine ... pull it" when told to pull
    assert json.loads((tmp_path / "out" / "batch.json").read_text())["counts"] == {"total": 1, "succeeded": 1}


@pytest.mark.engine
def test_sigterm_stops_a_batch_whose_jobs_ignore_sigterm(tmp_path: Path, busybox_image: str,
                                                         docker_client: Any) -> None:
    stubborn = {**CHECKER, "job": {**CHECKER["job"], "name": "adversary-stubborn", "interface": {
        "command": "sh -c 'trap \"\" TERM INT; while true; do sleep 1; done'",
        "inputs": {"files": [{"name": "DATA"}]}}}}
    (tmp_path / "job.json").write_text(json.dumps(stubborn))
    (tmp_path / "d.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA\n" + "d.txt\n" * 3)
    proc = subprocess.Popen([SEED, "batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv", "-o",
                             "out", "--parallel", "2"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    label = {"label": "io.seed-runner.job=adversary-stubborn", "status": "running"}
    for _ in range(400):
        if len(docker_client.containers.list(filters=label)) == 2:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the batch's runs never started")
    asked = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert time.monotonic() - asked < 30  # the grace, then SIGKILL: not the job's will
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert batch["status"] == "interrupted" and batch["counts"] == {"total": 3, "interrupted": 3}
    assert docker_client.containers.list(all=True, filters={"label": "io.seed-runner.job=adversary-stubborn"}) == []


@pytest.mark.engine
def test_cancel_racing_the_natural_end_resolves_every_future_once(busybox_image: str, tmp_path: Path,
                                                                   docker_client: Any) -> None:
    import random

    chance = random.Random(11)
    resolved: dict[str, int] = {}
    with LocalExecutor(parallel=2, cpus=2, mem=1000) as executor:
        futures = [executor.submit(RunRequest(busybox_image, run_dir=tmp_path / f"r{i}"),
                                   RunOptions(manifest=sleeper(0))) for i in range(24)]
        for future in futures:
            future.add_done_callback(lambda f: resolved.__setitem__(f.run_id, resolved.get(f.run_id, 0) + 1))
        for future in futures:  # each cancelled somewhere between its queueing and a little after its end
            time.sleep(chance.uniform(0, 0.35))
            future.cancel()
        statuses = [f.result(timeout=60).document["status"] for f in futures]
    assert set(statuses) <= {"succeeded", "cancelled"} and "cancelled" in statuses
    assert sorted(resolved.values()) == [1] * 24
    assert executor.in_flight == Footprint()
    assert docker_client.containers.list(all=True, filters={"label": "io.seed-runner.job=adversary-sleeper"}) == []


@pytest.mark.engine
def test_resume_after_the_run_folders_were_deleted_runs_those_rows_again(tmp_path: Path, busybox_image: str) -> None:
    import shutil

    (tmp_path / "job.json").write_text(json.dumps(CHECKER))
    (tmp_path / "d.txt").write_text("x")
    (tmp_path / "runs.csv").write_text("DATA,PAUSE\nd.txt,0\nd.txt,0\n")
    assert seed("batch", busybox_image, "--manifest", "job.json", "--table", "runs.csv", "-o", "out",
                cwd=tmp_path).returncode == 0
    shutil.rmtree(tmp_path / "out" / "runs")
    again = seed("batch", "resume", "out", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert [len(r["attempts"]) for r in batch["runs"]] == [2, 2]
    assert all((tmp_path / "out" / r["run_dir"] / "result.json").is_file() for r in batch["runs"])
