"""What the Slurm executor says to Slurm and reads back (seed_runner.executors.slurm_parse): pure, no Slurm.
Hostile text through every parser: it is understood, or a one-line SlurmParseError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seed_runner.executors.slurm_parse import (SlurmParseError, exported, job_id, node_sizes_of, sbatch_resources,
                                               scontrol_fields, squeue_states, time_limit, verdict)


@pytest.mark.parametrize("timeout, margin, expected", [
    (None, None, None), (0, None, None), (float("inf"), None, None),
    (30, None, "3"),         # 30 s + 2 min of margin: 2.5 min, rounded up
    (3600, None, "66"),      # a tenth of an hour of margin
    (60, 0, "1"), (61, 0, "2"), (1, 0, "1"),
])
def test_time_limits_are_whole_minutes_with_a_margin(timeout: float | None, margin: float | None,
                                                     expected: str | None) -> None:
    assert time_limit(timeout, margin) == expected


def test_resources_become_sbatch_options() -> None:
    assert sbatch_resources(0, 0, 0, None) == ["--cpus-per-task=1"]
    assert sbatch_resources(1.5, 100.2, 1, 30) == ["--cpus-per-task=2", "--mem=101M", "--gres=gpu:1", "--time=3"]
    assert sbatch_resources(2, 64, 0, 0) == ["--cpus-per-task=2", "--mem=64M"]


def test_squeue_lines_and_folded_arrays() -> None:
    text = "12_0|COMPLETED|None\n12_1|RUNNING|None\n12_[2-9]|PENDING|Resources\n13|TIMEOUT|TimeLimit\n\n"
    assert squeue_states(text) == {"12_0": ("COMPLETED", "None"), "12_1": ("RUNNING", "None"),
                                   "12": ("PENDING", "Resources"), "13": ("TIMEOUT", "TimeLimit")}


def test_scontrol_values_may_hold_spaces() -> None:
    fields = scontrol_fields("JobId=5 JobName=a b JobState=RUNNING Reason=None Command=/bin/x y z\n")
    assert fields == {"JobId": "5", "JobName": "a b", "JobState": "RUNNING", "Reason": "None",
                      "Command": "/bin/x y z"}
    with pytest.raises(SlurmParseError, match="no job state"):
        scontrol_fields("JobId=5")


def test_the_job_id_sbatch_prints() -> None:
    assert job_id("123\n") == "123" and job_id("77;cluster\n") == "77"
    with pytest.raises(SlurmParseError, match="no job id"):
        job_id("sbatch: error: Batch job submission failed")


def test_node_sizes_with_gpus() -> None:
    assert node_sizes_of("vm|2|24105|(null)\ngpu1|64|512000+|gpu:tesla:4(S:0-1),gpu:2\n") == {
        "vm": (2.0, 24105.0, 0.0), "gpu1": (64.0, 512000.0, 6.0)}


def test_verdicts_name_slurms_state_and_reason() -> None:
    assert verdict("5_1", "TIMEOUT", "TimeLimit") == ("Slurm ended job 5_1 (TIMEOUT, TimeLimit): its time limit ran "
                                                      "out; the run did not finish")
    assert "NODE_FAIL" in str(verdict("5", "NODE_FAIL", "None"))
    assert verdict("5", "COMPLETED") is None and verdict("5", "CANCELLED") is None and verdict("5", "") is None


def test_only_names_are_exported_and_never_all() -> None:
    assert exported(["PATH", "DOCKER_HOST", "NOPE", "BAD NAME"], {"PATH": "/bin", "DOCKER_HOST": "unix://x",
                                                                 "BAD NAME": "1"}) == "PATH,DOCKER_HOST"
    assert exported([], {}) == "NONE"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_hostile_output_is_understood_or_one_line(text: str) -> None:
    for parse in (job_id, squeue_states, scontrol_fields, node_sizes_of):
        try:
            parse(text)
        except SlurmParseError as exc:
            assert "\n" not in str(exc) and str(exc)


def test_each_task_takes_its_own_request_and_blanks_it(tmp_path) -> None:
    from seed_runner.executors.slurm_job import take_request, write_requests

    path = tmp_path / "requests"
    write_requests(path, [b"first-secret", b"", b"third"])
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert take_request(path, 2) == b"third" and take_request(path, 0) == b"first-secret"
    assert b"first-secret" not in path.read_bytes() and b"third" not in path.read_bytes()
    assert take_request(path, 1) == b""
    with pytest.raises(IndexError):
        take_request(path, 3)
