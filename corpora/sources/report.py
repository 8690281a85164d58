"""Run the wild source scripts as a user would and write the results table: ``python -m corpora.sources.report``.

Per script (``-j 2`` at a time), in a temporary folder: run the original (``python SCRIPT OUT``), run
``repair codemod --write`` with the case's flags on a copy (a fresh process, the installed CLI), run the copy, then
``repair diagnose --json`` on its export (the case's diagnose flags) and judge it with ``corpora.sources.judge``.
Prints the markdown table and writes corpora/sources/wild/RESULTS.md (``--out`` elsewhere, ``--only ID`` some).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from corpora.sources import SourceCase
from corpora.sources.judge import ScriptFailed, export_verdict, run_script
from corpora.sources.wild import WILD_SOURCE_CASES

ROOT = Path(__file__).resolve().parents[2]
_JUDGE_LOCK = threading.Lock()  # the judge's TensorFlow work runs one case at a time in this process


@dataclass
class Row:
    case: SourceCase
    applied: list[str] = field(default_factory=list)
    warnings: int = 0
    runs: str = "?"
    blocking: list[str] = field(default_factory=list)
    parity: str = ""
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems


def _repair() -> list[str]:
    exe = shutil.which("repair", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "repair.cli"]


def run_case(case: SourceCase, work: Path) -> Row:
    row, started = Row(case), time.perf_counter()
    try:
        original = run_script(case.script, work / "original")
    except ScriptFailed as exc:
        row.runs, row.problems = "original fails", [str(exc).splitlines()[0]]
        return row
    copy = work / "src" / case.script.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(case.script, copy)
    plan = work / "plan.json"
    codemod = subprocess.run([*_repair(), "codemod", str(copy), *case.codemod_args(), "--write", "--plan-out", str(plan)],
                             capture_output=True, text=True, cwd=ROOT)
    if codemod.returncode != 0 or not plan.is_file():
        row.problems = [f"codemod exit {codemod.returncode}: {codemod.stderr.strip()[-300:]}"]
        return row
    entries = json.loads(plan.read_text())["fixes"]
    row.applied = sorted({e["rewrite"] for e in entries if e["decision"] == "accept"})
    row.warnings = codemod.stderr.count(": warning ")
    if set(row.applied) != set(case.rewrites):
        row.problems.append(f"applied {row.applied}, expected {sorted(case.rewrites)}")
    if case.stays_broken:
        row.runs = "unchanged (warned)" if row.warnings else "unchanged, NO warning"
        if not row.warnings:
            row.problems.append("a case without a safe fix must be warned about")
        return row
    try:
        fixed = run_script(copy, work / "fixed")
    except ScriptFailed as exc:
        row.runs = "NO"
        row.problems.append(str(exc)[:400])
        return row
    row.runs = "yes"
    diagnose = subprocess.run([*_repair(), "diagnose", str(fixed / "saved_model"), "--json", *case.diagnose_args],
                              capture_output=True, text=True, cwd=ROOT)
    try:
        findings = json.loads(diagnose.stdout)["findings"]
    except (json.JSONDecodeError, KeyError):
        row.problems.append(f"diagnose exit {diagnose.returncode}: {diagnose.stderr.strip()[-200:]}")
        findings = []
    row.blocking = sorted({f["id"] for f in findings if f["severity"] == "error"})
    row.problems += [f"blocking finding {f}" for f in row.blocking]
    with _JUDGE_LOCK:
        verdict = export_verdict(case, original, fixed)
    row.problems += verdict.problems
    row.parity = ", ".join(f"{k} {v:.1e}" for k, v in verdict.max_abs.items())
    row.seconds = time.perf_counter() - started
    return row


def table(rows: list[Row]) -> str:
    lines = ["| script (thread) | rewrites applied | runs after | blocking findings | max abs diff vs original | verdict |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        verdict = "pass" if row.passed else "FAIL: " + "; ".join(row.problems)[:300].replace("|", "/")
        lines.append(f"| [{row.case.id}]({row.case.url}) | {', '.join(row.applied) or '-'}"
                     f"{f' (+{row.warnings} warnings)' if row.warnings else ''} | {row.runs} | "
                     f"{', '.join(row.blocking) or ('-' if row.case.stays_broken else 'none')} | {row.parity or '-'} | "
                     f"{verdict} |")
    passed = sum(r.passed for r in rows)
    return "\n".join(lines) + f"\n\n{passed} of {len(rows)} scripts pass.\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "wild" / "RESULTS.md")
    args = parser.parse_args()
    cases = [c for c in WILD_SOURCE_CASES if not args.only or c.id in args.only]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wild-sources-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda c: run_case(c, Path(tmp) / c.id), cases))
    text = (f"# Wild source scripts: `repair codemod` on scripts rebuilt from public threads\n\n"
            f"`python -m corpora.sources.report -j {args.jobs}` ({time.perf_counter() - started:.0f} s wall). Each "
            f"script ran, was rewritten by `repair codemod --write` with its case's flags, ran again, and its export "
            f"was judged by corpora/sources/judge.py (SavedModel and builtins-only .tflite vs the original script's "
            f"outputs) and by `repair diagnose` (blocking findings).\n\n" + table(rows))
    print(text)
    if not args.only:
        args.out.write_text(text)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
