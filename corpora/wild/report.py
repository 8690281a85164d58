"""Run every wild case end to end and write the results table: ``python -m corpora.wild.report``.

For each case (``-j 2`` at a time): build it in a fresh process, run ``repair fix`` as a user would (a fresh
process, the case's flags), judge the result with ``corpora.wild.judge`` (independently of the tool), and record
exit code, outcome, the tool's one-line message and wall times. Prints the markdown table and writes it to
corpora/wild/RESULTS.md (``--out`` to write elsewhere, ``--only NAME`` to run some cases).

``--quantize MODE`` (with ``--calibration-samples N``, default 32): every case expected to be repaired is run
with ``--quantize MODE --calibration-samples N`` added to its own flags (the default budget), judged as above on
its float side and by ``corpora.wild.judge.judge_quantized`` on the published quantized model.tflite (our own
cosine on rows the tool never saw); the table goes to corpora/wild/QUANTIZE.md.
"""

from __future__ import annotations

import argparse
import json
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
from corpora.wild.judge import QuantVerdict, fix_args, judge, judge_quantized, outcome_message, tree_digest

ROOT = Path(__file__).resolve().parents[2]
_JUDGE_LOCK = threading.Lock()  # TensorFlow work of the judge runs one case at a time in this process
DEFAULT_COSINE = {"int8": 0.99, "int16x8": 0.999, "dynamic": 0.999, "float16": 0.9999}  # the tool's default budgets


@dataclass
class Result:
    case: WildCase
    exit_code: int | None
    passed: bool
    problems: list[str]
    message: str
    build_s: float
    fix_s: float
    quant: QuantVerdict | None = None  # --quantize: what the judge measured on the quantized model
    tool_quant: dict | None = None  # --quantize: report.json's "quantization" (the tool's own figures)


def _repair_cmd() -> list[str]:
    exe = shutil.which("repair", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "repair.cli"]


def _quant_args(quantize: str | None, samples: int) -> list[str]:
    return ["--quantize", quantize, "--calibration-samples", str(samples)] if quantize else []


def run_case(case: WildCase, work: Path, quantize: str | None = None, samples: int = 32) -> Result:
    """Build, repair and judge one case in ``work`` (``quantize``: also quantized, and that judged too)."""
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
                          *fix_args(case, case_dir), *_quant_args(quantize, samples)],
                         capture_output=True, text=True, cwd=ROOT)
    fix_s = time.perf_counter() - t0
    text = fix.stdout + fix.stderr
    with _JUDGE_LOCK:
        problems = judge(case, artifact, case_dir, out, report_dir, fix.returncode, text, before)
        verdict = None
        if quantize and fix.returncode == 0:
            try:
                verdict = judge_quantized(case, case_dir, out, quantize, DEFAULT_COSINE[quantize])
            except Exception as exc:  # noqa: BLE001 - a crash of the quantized model is a verdict too
                verdict = QuantVerdict(problems=[f"quantized model fails the check: {type(exc).__name__}: "
                                                 f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"])
            problems += verdict.problems
    report_path = report_dir / "report.json"
    tool_quant = json.loads(report_path.read_text()).get("quantization") if report_path.is_file() else None
    result = Result(case, fix.returncode, not problems, problems, outcome_message(report_dir, text), build_s, fix_s,
                    verdict, tool_quant)
    print(f"{case.name}: exit {fix.returncode}, {'pass' if result.passed else 'FAIL'} {fix_s:.0f} s "
          f"{'; '.join(problems) or result.message}", file=sys.stderr, flush=True)  # progress, as cases finish
    return result


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


def _tool_cosine(quant: dict | None) -> str:
    terms = [t for t in (quant or {}).get("budget", []) if t.get("metric") == "cosine"]
    return ", ".join(f"{t['output']} {t['achieved']:.4f}" for t in terms) or "-"


def _float_layers(quant: dict | None) -> str:
    layers = (quant or {}).get("float_layers", [])
    if not layers:
        return "0"
    return f"{len(layers)}: " + ", ".join(f"{x['op']} {x['tensor']}" for x in layers)


def quant_table(results: list[Result], total_s: float, jobs: int, mode: str, samples: int) -> str:
    """The markdown table of a ``--quantize`` run."""
    passed = sum(r.passed for r in results)
    lines = [
        f"# Wild corpus, quantized ({mode})",
        "",
        f"`python -m corpora.wild.report -j {jobs} --quantize {mode} --calibration-samples {samples}`: "
        f"{passed}/{len(results)} cases published a quantized model that passes the independent check "
        f"(default budget cosine={DEFAULT_COSINE[mode]}); whole run {total_s:.0f} s wall on this machine "
        f"(builds + `repair fix` + judging, {jobs} at a time).",
        "",
        "| case | source | result | exit | float layers kept | cosine (tool) | cosine (judge) | size float -> quantized | "
        "fix wall s | tool's message / what the judge found |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        q = r.quant
        judged = ", ".join(f"{k} {v:.4f}" for k, v in q.cosine.items()) + f" ({q.rows} rows)" if q and q.cosine else "-"
        size = f"{q.float_bytes:,} -> {q.quant_bytes:,}" if q and q.quant_bytes else "-"
        detail = r.message if r.passed else "; ".join(r.problems)
        lines.append(f"| {r.case.name} | {r.case.url} | {'pass' if r.passed else 'FAIL'} | {r.exit_code} | "
                     f"{_cell(_float_layers(r.tool_quant))} | {_tool_cosine(r.tool_quant)} | {judged} | {size} | "
                     f"{r.fix_s:.1f} | {_cell(detail)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corpora.wild.report", description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], help="case name (repeatable)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "RESULTS.md")
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep (default: a temp dir)")
    parser.add_argument("--quantize", choices=sorted(DEFAULT_COSINE), default=None,
                        help="also quantize every case expected to be repaired, and judge the quantized model")
    parser.add_argument("--calibration-samples", type=int, default=32)
    args = parser.parse_args(argv)
    if args.quantize and args.out == parser.get_default("out"):
        args.out = Path(__file__).parent / "QUANTIZE.md"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cases = [c for c in wild_cases() if (not args.only or c.name in args.only)
             and (not args.quantize or c.expect == "repaired")]
    work = args.keep or Path(tempfile.mkdtemp(prefix="wild-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda c: run_case(c, work, args.quantize, args.calibration_samples), cases))
    if args.quantize:
        text = quant_table(results, time.perf_counter() - t0, args.jobs, args.quantize, args.calibration_samples)
    else:
        text = table(results, time.perf_counter() - t0, args.jobs)
    print(text)
    args.out.write_text(text)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
