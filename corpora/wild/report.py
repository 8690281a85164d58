"""Run every wild case end to end and write the results table: ``python -m corpora.wild.report``.

For each case (``-j 2`` at a time): build it in a fresh process, run ``repair fix`` as a user would (a fresh
process, the case's flags), judge the result with ``corpora.wild.judge`` (independently of the tool), and record
exit code, outcome, the tool's one-line message and wall times. Prints the markdown table and writes it to
corpora/wild/RESULTS.md (``--out`` to write elsewhere, ``--only NAME`` to run some cases).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from corpora.wild import WildCase, wild_cases
from corpora.wild.judge import fix_args, judge, outcome_message, tree_digest

ROOT = Path(__file__).resolve().parents[2]
_JUDGE_LOCK = threading.Lock()  # TensorFlow work of the judge runs one case at a time in this process


@dataclass
class Result:
    case: WildCase
    exit_code: int | None
    passed: bool
    problems: list[str]
    message: str
    build_s: float
    fix_s: float


def _repair_cmd() -> list[str]:
    exe = shutil.which("repair", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "repair.cli"]


def run_case(case: WildCase, work: Path) -> Result:
    """Build, repair and judge one case in ``work``."""
    case_dir = work / case.name
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "corpora", "build", case.id, str(case_dir)],
                          capture_output=True, text=True, cwd=ROOT)
    build_s = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        return Result(case, None, False, [f"build failed: {tail[0]}"], "", build_s, 0.0)
    artifact = Path(proc.stdout.strip().splitlines()[-1])
    before = tree_digest(artifact)
    out, report_dir = work / f"{case.name}.fixed", work / f"{case.name}.report"
    t0 = time.perf_counter()
    fix = subprocess.run([*_repair_cmd(), "fix", str(artifact), "--out", str(out), "--report", str(report_dir),
                          *fix_args(case, case_dir)], capture_output=True, text=True, cwd=ROOT)
    fix_s = time.perf_counter() - t0
    text = fix.stdout + fix.stderr
    with _JUDGE_LOCK:
        problems = judge(case, artifact, case_dir, out, report_dir, fix.returncode, text, before)
    return Result(case, fix.returncode, not problems, problems, outcome_message(report_dir, text), build_s, fix_s)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:220]


def table(results: list[Result], total_s: float, jobs: int) -> str:
    """The markdown results table."""
    passed = sum(r.passed for r in results)
    lines = [
        "# Wild corpus results",
        "",
        f"`python -m corpora.wild.report -j {jobs}`: {passed}/{len(results)} cases pass the independent check; "
        f"whole run {total_s:.0f} s wall on this machine (builds + `repair fix` + judging, {jobs} at a time).",
        "",
        "| case | source | expected | result | exit | fix wall s | build s | tool's message / what the judge found |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = ("XPASS: remove its xfail" if r.case.xfail else "pass") if r.passed else "xfail" if r.case.xfail else "FAIL"
        detail = r.message if r.passed else "; ".join(r.problems)
        lines.append(f"| {r.case.name} | {r.case.url} | {r.case.expect} | {verdict} | {r.exit_code} | "
                     f"{r.fix_s:.1f} | {r.build_s:.1f} | {_cell(detail)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corpora.wild.report", description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], help="case name (repeatable)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "RESULTS.md")
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep (default: a temp dir)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cases = [c for c in wild_cases() if not args.only or c.name in args.only]
    work = args.keep or Path(tempfile.mkdtemp(prefix="wild-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda c: run_case(c, work), cases))
    text = table(results, time.perf_counter() - t0, args.jobs)
    print(text)
    args.out.write_text(text)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
