"""The package's public names are what the README says, whatever has been imported before."""

from __future__ import annotations

import importlib

import seed_runner


def test_public_names_resolve_to_their_objects_even_after_every_module_is_imported() -> None:
    # A submodule named like a function would replace it on the package once imported (run, harvest, ...).
    import pkgutil

    for module in pkgutil.walk_packages(seed_runner.__path__, "seed_runner."):
        importlib.import_module(module.name)
    for name in seed_runner.__all__:
        value = getattr(seed_runner, name)
        assert not isinstance(value, type(seed_runner)), f"seed_runner.{name} is a module"
    assert callable(seed_runner.run) and callable(seed_runner.harvest) and callable(seed_runner.publish)
    assert seed_runner.harvest.__module__ == "seed_runner.outputs.harvesting"


# ------------------------------------------------------- issue 17.9: what an IDE and mkdocstrings see


def test_dir_lists_every_public_name_though_they_are_imported_lazily() -> None:
    import subprocess
    import sys

    # A fresh interpreter: nothing has been imported yet, so the names are not in the module's globals.
    code = "import seed_runner, json; print(json.dumps([dir(seed_runner), seed_runner.__all__]))"
    listed, public = __import__("json").loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                                             text=True, check=True, timeout=60).stdout)
    assert {"run", "RunRequest", "RunResult", "validate", "load_manifest"} <= set(public)
    assert set(public) <= set(listed) and listed == sorted(listed)


# Other wings document these two themselves (their dataclasses' docstrings are still the generated signature).
_UNDOCUMENTED_ELSEWHERE = {"BatchResult", "TestReport", "__version__"}


def test_every_public_name_has_a_docstring_of_its_own() -> None:
    import inspect

    for name in sorted(set(seed_runner.__all__) - _UNDOCUMENTED_ELSEWHERE):
        value = getattr(seed_runner, name)
        doc = inspect.getdoc(value) or ""
        assert doc and not doc.startswith(f"{name}("), f"seed_runner.{name} has no docstring of its own"
        if inspect.isclass(value) and issubclass(value, str):
            assert not doc.startswith("str(object"), name  # an Enum of str inherits str's


def test_the_default_run_folder_is_said_by_none() -> None:
    request = seed_runner.RunRequest("job-1.0.0-seed:1.0.0")
    assert request.run_dir is None
    source = __import__("inspect").getsource(seed_runner.RunRequest)
    assert "None (default) for a new one" in source


def _result(document: dict) -> "seed_runner.RunResult":
    from seed_runner.runtime.outcome import Outcome

    return seed_runner.RunResult(Outcome("succeeded"), document, None)


def test_output_paths_are_absolute_and_joined_with_the_output_folder(tmp_path) -> None:
    outputs = tmp_path / "run" / "outputs"
    document = {"run_id": "29edf0bce17e", "outputs_dir": str(outputs), "outputs": {
        "TILES": {"files": [{"path": "a/1.png"}, {"path": "a/2.png"}]}, "EMPTY": {"files": []}}}
    result = _result(document)
    assert result.output_paths("TILES") == [outputs / "a" / "1.png", outputs / "a" / "2.png"]
    assert all(p.is_absolute() for p in result.output_paths("TILES"))
    assert result.output_paths("EMPTY") == [] and result.outputs_dir == outputs and result.run_id == "29edf0bce17e"
    assert result.all_output_paths() == {"TILES": result.output_paths("TILES"), "EMPTY": []}
    import pytest

    with pytest.raises(KeyError, match="no output 'NOPE'; its outputs: EMPTY, TILES"):
        result.output_paths("NOPE")
    refused = _result({"run_id": "x", "outputs_dir": None, "outputs": None})
    with pytest.raises(KeyError, match="captured no outputs"):
        refused.output_paths("TILES")
    assert refused.outputs_dir is None and refused.all_output_paths() == {}


def test_a_new_run_folder_is_named_by_the_run_id_and_never_leaves_its_base() -> None:
    from pathlib import Path

    from hypothesis import given
    from hypothesis import strategies as st

    from seed_runner.runtime.run_folder import default_run_dir

    assert default_run_dir("job", "base", run_id="29edf0bce17e").name.endswith("-29edf0bce17e")

    @given(st.one_of(st.none(), st.text(), st.sampled_from(["..", ".", "../x", "a/b", "a\0b", "-x", "x" * 65])))
    def check(run_id: "str | None") -> None:
        folder = default_run_dir("job", "base", run_id=run_id)
        assert folder.parent == Path("base") and "\0" not in folder.name and folder.name.startswith("job-")
        suffix = folder.name.rsplit("-", 1)[1]
        named = run_id is not None and folder.name.endswith("-" + run_id) and "/" not in run_id
        assert named or (len(suffix) == 12 and int(suffix, 16) >= 0)  # else a random one

    check()
    assert default_run_dir("job", "base", run_id="a-b.c_d").name.endswith("-a-b.c_d")
