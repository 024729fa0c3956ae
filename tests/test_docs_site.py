"""The documentation site builds with `mkdocs build --strict` (every link, anchor and nav entry resolves, every
API page's docstrings load), the README is a front page, and no page sends a reader outside the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
PAGES = sorted(DOCS.rglob("*.md"))
OUTSIDE = re.compile(r"\.\./shared|\bDECISIONS\.md|\bSEED-RULES\.md|\bDESIGN\.md|\bsee DECISIONS\b|\(DECISIONS ")


def test_the_site_builds_strict(tmp_path: Path) -> None:
    proc = subprocess.run([MKDOCS, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site/reference/cli/index.html").read_text().count("seed batch resume") >= 1
    python_page = (tmp_path / "site/reference/python/index.html").read_text()
    assert "Run one job and return its result" in python_page  # run()'s docstring, through mkdocstrings


def _nav_pages(entries: list) -> list[str]:
    found = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += _nav_pages(value) if isinstance(value, list) else [value]
    return found


def test_every_page_is_in_the_nav_and_the_nav_has_the_five_sections() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)  # no !!python tags here
    nav = config["nav"]
    assert [next(iter(entry)) for entry in nav] == ["Home", "Getting started", "Tutorials", "How-to", "Reference",
                                                   "Explanation"]
    listed = set(_nav_pages(nav))
    assert {str(p.relative_to(DOCS)) for p in PAGES} <= listed | _pages_of_other_branches(listed)
    assert "reference/cli.md" in _nav_pages([entry for entry in nav if "Reference" in entry])


def _pages_of_other_branches(listed: set[str]) -> set[str]:
    """Pages other branches add: in the nav once merged, until then allowed (none now)."""
    return set() - listed


def test_the_readme_is_a_front_page() -> None:
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for heading in ("## Install", "## The two commands", "## A five-minute tour", "## Documentation"):
        assert heading in text, heading
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not re.match(r"[a-z]+://", target):
            assert (REPO / target).exists(), f"the README links to {target}, which is not in the repository"


def test_no_page_points_outside_the_repository() -> None:
    for path in [*PAGES, REPO / "README.md"]:
        text = path.read_text()
        assert not OUTSIDE.search(text), f"{path.relative_to(REPO)}: {OUTSIDE.search(text).group(0)!r}"
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (path.parent / target).resolve().is_relative_to(REPO), f"{path.relative_to(REPO)}: {target}"


def test_shell_completion_is_documented() -> None:
    assert "seed --install-completion" in (DOCS / "getting-started.md").read_text()
