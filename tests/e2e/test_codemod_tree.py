"""The codemod over a large real tree nobody here wrote: the installed keras and tensorflow packages' Python.

It must not crash, every file it changes must still parse, and the summary must account for every file.
It runs on a copy of the .py files (``--write`` there), so what it changed can be read back and parsed.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import libcst as cst
import pytest

from repair.source.codemod import discover
from tests.cli_helpers import repair

pytestmark = pytest.mark.slow

SUMMARY = re.compile(r"(\d+) files scanned: (\d+) changed, (\d+) unchanged, (\d+) skipped by the pre-filter, (\d+) failed")


def _package(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # located, not imported
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def test_installed_packages(tmp_path: Path) -> None:
    originals: dict[Path, str] = {}
    roots = []
    for name in ("keras", "tensorflow"):
        source, copy = _package(name), tmp_path / name
        roots.append(copy)
        for path in discover([source]):
            target = copy / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            originals[target] = path.read_text(encoding="utf-8", errors="replace")
    assert len(originals) > 2000

    run = repair("codemod", *map(str, roots), "--write", "--unsafe-fixes", "-j", "2")
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
    match = SUMMARY.search(run.stderr)
    assert match, run.stderr[-2000:]
    scanned, changed, unchanged, skipped, failed = map(int, match.groups())
    assert scanned == len(originals) == changed + unchanged + skipped + failed
    assert run.exit_code == (1 if failed else 0)
    assert failed == len(re.findall(r": failed: ", run.stderr))
    assert skipped > scanned // 2, "the text pre-filter should skip most of a tree that is not model code"

    rewritten = [p for p, text in originals.items() if p.read_text(encoding="utf-8", errors="replace") != text]
    assert len(rewritten) == changed
    for path in rewritten:
        text = path.read_text(encoding="utf-8")
        cst.parse_module(text)  # still Python to libcst ...
        # ... and to CPython, which also rejects what parses but cannot compile (e.g. a misplaced return)
        compile(text, str(path), "exec", dont_inherit=True)
    fixed_lines = re.findall(r"^(\S+): fixed \(", run.stderr, re.MULTILINE)
    assert sorted(fixed_lines) == sorted(str(p) for p in rewritten)
