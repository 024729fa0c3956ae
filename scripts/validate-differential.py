#!/usr/bin/env python3
"""A differential check of `seed validate` (not a test): two checkouts' CLIs run on the same hostile trees of
manifests, with every report format, and every difference in exit status, stdout or stderr printed.

    git worktree add /tmp/base <commit>          # the reference
    .venv/bin/python scripts/validate-differential.py /tmp/base . [--manifests 300] [--seed 1]

Each checkout's own `seed_runner` is imported (PYTHONPATH, ``python -P``) by this interpreter. The trees hold
mutated sample manifests (wrong types, junk members, odd commands, duplicated names spelt with escapes),
hostile documents (BOM, bad UTF-8, NaN, 1e999, nesting past the limit, lone surrogates) and odd folders
(hidden and skipped ones, a symbolic link loop, a link to a folder, a dangling link, a FIFO, names with a
newline or a byte that is not UTF-8, a folder that cannot be listed). Exit status: 0 identical, 1 some differ.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

CMDS = ["${INPUT_FILE} ${OUTPUT_DIR}", "$1 $$ ${#V}", "${V:-$W} \\$V '$V' \"$V\"", "$V_x ${V/#/p} `x` $(x) $((1+2)) $",
        "${UNDECLARED} $OUTPUT_DIR", "${INPUT_FILE:-a b} ${OUTPUT_DIR//x/y}", "é$VÉ ${Ä}", "${INPUT_FILE", "a ~b {a,b} # c",
        "${OUTPUT_DIR%%.*}", "${OUTPUT_DIR:=x}", "$_ ${_} $__", "${OUTPUT_DIR}x${INPUT_FILE}y$OUTPUT_DIR-z",
        "${MOUNT_PATH} ${RESULT} ${WRITE_PATH} $CHECKS ${OPTIONAL_FILE} $OPTIONAL_JSON",
        "${ALLOCATED_CPUS} ${ALLOCATED_MEM} $ALLOCATED_GPUS ${INPUT_METADATA}", "${OPTIONAL_FILE:+-o ${OPTIONAL_FILE}}"]
JUNK = [None, 0, -1, 1.5, "", "x", [], {}, True, "a:b", "\"q\"", "\\", 10**30, "1.0", "UPPER_NAME", "bad name!"]
HOSTILE = [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf{}", b'{"a":1,"a":2}', b'{"a":1,"\\u0061":2}', b'{"":1,"":2}',
           b'[{"a":1,"a":1},{"b":{"c":1,"c":2}}]', b'{"a\\"":":","a\\"":"\\\\"}', b'{"\\u0022":1,"\\"":2}',
           b'{"\\u003a":1,":":2}', b"\xff\xfe{}", b'{"a":NaN}', b'{"a":1e999}', b"[" * 5000 + b"]" * 5000,
           b'{"a":' * 99 + b'{"b":1,"b":2}' + b"}" * 99, b'{"seedVersion":"1.0.0","seedVersion":"1.0.0","job":{}}',
           b'{"a":"\\ud800"}', b"nul\x00l", b'{"a":1,}', b"   \n\t ", b'{"a": "x:y", "b": "\\\\", "a": 1}']
FOLDERS = ["", "sub", ".hidden", "node_modules", ".git", "a/b/c", "x y", "new\nline", "__pycache__", "venv"]


def _paths(node, where=()):
    yield where
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*where, key))


def _mutated(manifest: dict, rng: random.Random) -> dict:
    for _ in range(rng.randint(0, 4)):
        found = [p for p in _paths(manifest) if p]
        if not found:
            break
        where = rng.choice(found)
        parent = manifest
        for key in where[:-1]:
            parent = parent[key]
        chance = rng.random()
        if chance < 0.3:
            del parent[where[-1]]
        elif chance < 0.8:
            parent[where[-1]] = copy.deepcopy(rng.choice(JUNK))
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "name", "a:b", '"', ""])] = rng.choice(JUNK)
    if rng.random() < 0.5 and isinstance(manifest.get("job"), dict) \
            and isinstance(manifest["job"].get("interface"), dict):
        manifest["job"]["interface"]["command"] = rng.choice(CMDS)
    return manifest


def _with_duplicate(text: str, rng: random.Random) -> str:
    plain, spelt = rng.choice([('"name"', '"n\\u0061me"'), ('"job"', '"\\u006aob"'), ('"command"', '"comm\\u0061nd"')])
    at = text.find(plain + ":")
    if at < 0:
        return text
    opening = text.rfind("{", 0, at)
    return text[:opening + 1] + f'{spelt}: "dup\\"q:\\\\", ' + text[opening + 1:]


def build_tree(root: Path, samples: list[dict], count: int, rng: random.Random) -> None:
    for i in range(count):
        folder = root / rng.choice(FOLDERS) / f"j{i}"
        folder.mkdir(parents=True, exist_ok=True)
        if rng.random() < 0.25:
            data = rng.choice(HOSTILE)
        else:
            text = json.dumps(_mutated(copy.deepcopy(rng.choice(samples)), rng), indent=rng.choice([None, 2]),
                              ensure_ascii=rng.random() < 0.5)
            text = _with_duplicate(text, rng) if rng.random() < 0.4 else text
            data = (b"\xef\xbb\xbf" if rng.random() < 0.1 else b"") + text.encode()
        (folder / "seed.manifest.json").write_bytes(data)
    (root / "loop").mkdir()
    (root / "loop" / "up").symlink_to("..")
    (root / "linked").symlink_to(root / "sub")
    (root / "dangling").symlink_to(root / "missing")
    (root / "dirnamed" / "seed.manifest.json").mkdir(parents=True)
    (root / "fifo").mkdir()
    os.mkfifo(root / "fifo" / "seed.manifest.json")
    odd = os.path.join(os.fsencode(root), b"bad\xffname")
    os.makedirs(odd)
    with open(os.path.join(odd, b"seed.manifest.json"), "wb") as file:
        file.write(b"{}")
    (root / "locked" / "inner").mkdir(parents=True)
    (root / "locked" / "inner" / "seed.manifest.json").write_text("{}")
    (root / "locked").chmod(0o311)  # searchable, not listable (root lists it anyway)


def run(checkout: Path, args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    env = dict(os.environ, PYTHONPATH=str(checkout), COLUMNS="120", NO_COLOR="1")
    done = subprocess.run([sys.executable, "-P", "-c", "import sys; from seed_runner.cli.app import main; "
                           "sys.argv[0] = 'seed'; sys.exit(main())", "validate", *args],
                          cwd=cwd, env=env, capture_output=True, timeout=1800)
    return done.returncode, done.stdout, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--manifests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    samples = [json.loads(p.read_text()) for p in sorted((options.new / "sample_jobs").glob("*/seed.manifest.json"))]
    differ = 0
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "tree"
        build_tree(root, samples, options.manifests, random.Random(options.seed))
        files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
                       if f == "seed.manifest.json")
        calls = [["-q", "-r", "."], ["-r", "nonexistent"], ["-r", "fifo"], ["-r", "dirnamed"], ["-r", "loop/up"]]
        for fmt in (["--format", "text"], ["--json"], ["--format", "sarif"], ["--format", "github"]):
            calls += [fmt + ["-r", "."], fmt + ["--strict", "-r", "./"], fmt + ["-r", "sub", "a//b", "linked"],
                      fmt + files]
        for args in calls:
            base, new = run(options.base, args, root), run(options.new, args, root)
            shown = " ".join(args)[:90].replace("\n", "\\n")
            if base == new:
                print(f"same  {new[0]}  {shown}")
                continue
            differ += 1
            print(f"DIFF  {shown}\n  exit status: {base[0]} -> {new[0]}")
            for index, stream in ((1, "stdout"), (2, "stderr")):
                old_lines, new_lines = base[index].splitlines(), new[index].splitlines()
                pairs = [(a, b) for a, b in zip(old_lines, new_lines) if a != b][:4]
                for a, b in pairs:
                    print(f"  {stream} base: {a[:200]!r}\n  {stream} new:  {b[:200]!r}")
                if len(old_lines) != len(new_lines):
                    print(f"  {stream}: {len(old_lines)} lines -> {len(new_lines)}")
        (root / "locked").chmod(0o700)  # so that the temporary folder can be removed
    print(f"{differ} of {len(calls)} calls differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
