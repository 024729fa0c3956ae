"""The package's shape, held as tests: data flows down the wings, nothing imports the CLI, no import cycles,
no module past about 400 lines. Imports are read from the source (every import, lazy ones inside functions
included; only ``if TYPE_CHECKING:`` blocks are left out, since they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seed_runner"
MAX_LINES = 400

# The pure wings: parse, validate, plan, expand, harvest. They may not reach an engine, a registry or the CLI.
PURE = ("seed_runner.problems", "seed_runner.errors", "seed_runner.manifest", "seed_runner.validation",
        "seed_runner.runtime.plan", "seed_runner.runtime.command", "seed_runner.runtime.command_parser",
        "seed_runner.runtime.json_inputs", "seed_runner.runtime.input_files", "seed_runner.runtime.resources",
        "seed_runner.runtime.masking", "seed_runner.runtime.request", "seed_runner.runtime.folder_lock", "seed_runner.runtime.cancellation", "seed_runner.runtime.input_records",
        "seed_runner.batches.rows", "seed_runner.batches.requests",
        "seed_runner.testing.cases", "seed_runner.testing.expectations", "seed_runner.testing.junit",
        "seed_runner.testing.report", "seed_runner.testing.selection",
        "seed_runner.conformance.catalog", "seed_runner.conformance.tap", "seed_runner.conformance.judges",
        "seed_runner.conformance.recipes", "seed_runner.conformance.report",
        "seed_runner.outputs", "seed_runner.export", "seed_runner.testing.containment",
        "seed_runner.testing.regexes", "seed_runner.batches.summary_file",
        "seed_runner.executors.slurm_parse")
PURE += ("seed_runner.batches.row_check",)
# Pipelines: reading, checking, Scale recipes, filters, pictures (pipelines.manifests and checking read images).
PURE += ("seed_runner.pipelines.model", "seed_runner.pipelines.yamltext", "seed_runner.pipelines.loading",
         "seed_runner.pipelines.check", "seed_runner.pipelines.check_sources", "seed_runner.pipelines.codes",
         "seed_runner.pipelines.filters", "seed_runner.pipelines.scale", "seed_runner.pipelines.writing",
         "seed_runner.pipelines.graph", "seed_runner.pipelines.plan")
# The service's pure parts (seed serve).
PURE += ("seed_runner.service.negotiation", "seed_runner.service.documents", "seed_runner.service.execute_request",
         "seed_runner.service.tokens", "seed_runner.service.openapi", "seed_runner.service.render",
         "seed_runner.inputs.address_policy", "seed_runner.service.packages")
IMPURE = ("seed_runner.engine", "seed_runner.cli", "seed_runner.registry", "seed_runner.authoring",
          "seed_runner.runtime.runner", "seed_runner.api", "seed_runner.store", "seed_runner.executors",
          "seed_runner.testing.suite")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _under(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str) -> set[str]:
    """Every seed_runner module that ``module`` imports (a name imported from a package that is itself a
    module of the package counts as that module)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if _under(a.name, "seed_runner"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if _under(target, "seed_runner"):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    found.discard(module)
    return {name for name in found if name in MODULES}


GRAPH = {module: _imports(module) for module in MODULES}


def test_the_wings_exist() -> None:
    for wing in ("manifest", "validation", "runtime", "engine", "outputs", "authoring", "registry", "cli", "store",
                 "executors"):
        assert f"seed_runner.{wing}" in MODULES, wing
    # No module of the old flat layout is left beside the wings.
    flat = sorted(m for m in MODULES if m.count(".") == 1 and not MODULES[m].name == "__init__.py")
    assert flat == ["seed_runner.api", "seed_runner.errors", "seed_runner.problems"]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _under(m, PURE)))
def test_pure_wings_import_no_engine_registry_or_cli(module: str) -> None:
    breaches = sorted(name for name in GRAPH[module] if _under(name, IMPURE))
    assert not breaches, f"{module} imports {breaches}"


def test_nothing_outside_the_cli_imports_it() -> None:
    breaches = sorted((m, n) for m, names in GRAPH.items() if not _under(m, "seed_runner.cli")
                      for n in names if _under(n, "seed_runner.cli"))
    assert not breaches


def test_no_import_cycles() -> None:
    # The package root only re-exports lazily (module __getattr__); its TYPE_CHECKING imports are left out above.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            walk(module)
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_past_400_lines(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it along its seams"


def test_the_checks_catch_a_breach(tmp_path: Path) -> None:
    # The walker itself: a lazy import inside a function counts, a TYPE_CHECKING one does not.
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..engine import client\n"
              "def f():\n    from ..engine.images import connect\n")
    tree = ast.parse(source)
    assert any(isinstance(n, ast.If) and _is_type_checking(n) for n in ast.walk(tree))
    original = MODULES["seed_runner.manifest.names"]
    probe = tmp_path / "names.py"
    probe.write_text(source)
    MODULES["seed_runner.manifest.names"] = probe
    try:
        assert _imports("seed_runner.manifest.names") == {"seed_runner.engine.images"}
    finally:
        MODULES["seed_runner.manifest.names"] = original
