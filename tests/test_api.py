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
