"""`seed export cwl` on a hostile manifest that still validates: lower-case names with '-', optional everything,
a command with empty words, quotes, Unicode, lengths and defaults. cwltool runs the export and seed run runs the
job, on the same BusyBox image: the job prints its arguments, and both give the same bytes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from seed_runner.api import load_manifest
from seed_runner.runtime.plan import RunRequest
from tests.test_export_cwl import CWLTOOL, run_both

pytestmark = pytest.mark.engine

PRINT_ARGS = "sh -c 'for a; do printf \"[%s]\\n\" \"$a\"; done > \"$OUTPUT_DIR/args.txt\"' argv"
HOSTILE = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "odd-job", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Ödd — jöb",
        "description": "Hostile but valid: \"quotes\", 'apostrophes', $(not a command), ünïcødé.",
        "maintainer": {"name": "Ünï", "email": "u@example.com"}, "timeout": 120,
        "interface": {
            "command": PRINT_ARGS + ' "" ${IN_PUT} "${NOTE}" ${DB_HOST:-é✓} \'q"uote\' "a\'b" ${#NOTE} '
                                    '${NOTE:+--note=$NOTE} x""y "${MISSING-}" ${NOTE%"ö"} \'\'',
            "inputs": {"files": [{"name": "in-put", "required": False}],
                       "json": [{"name": "note", "type": "string", "required": False}]},
            "outputs": {"files": [{"name": "args", "pattern": "args.txt"}]},
            "settings": [{"name": "db-host"}],
        },
    },
}


@pytest.mark.parametrize("given", [{"db-host": ""}, {"note": "  two  wörds ö ", "db-host": "$(id) `id` 'q'"}],
                         ids=["optional-inputs-empty-setting", "hostile-values"])
def test_cwltool_and_seed_run_give_the_same_arguments(given: dict, tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "seed.manifest.json").write_text(json.dumps(HOSTILE, ensure_ascii=False))
    manifest = load_manifest(tmp_path / "job" / "seed.manifest.json")
    request = RunRequest(image=busybox_image, run_dir=str(tmp_path / "seed-run"),
                         json_inputs={k: v for k, v in given.items() if k == "note"},
                         settings={k: v for k, v in given.items() if k == "db-host"})
    seed_view, cwl_view = run_both(manifest, request, busybox_image, tmp_path)
    assert seed_view["status"] == "succeeded" and cwl_view["status"] == "succeeded", cwl_view["stderr"][-3000:]
    assert cwl_view["files"] == seed_view["files"] and seed_view["files"]["args"]
    check = subprocess.run([CWLTOOL, "--validate", str(tmp_path / "tool.cwl")], capture_output=True, text=True,
                           timeout=300)
    assert check.returncode == 0, check.stderr[-2000:]
