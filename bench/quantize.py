"""Quantization with a verified budget on real architectures: `repair fix MODEL --out OUT --quantize int8
--calibration-samples N --budget BUDGET` vs one plain int8 conversion of the same model on the same kind of data, on
MobileNetV2 and EfficientNetB0. Prints a table and writes markdown (results-quantize.md).

``quantize.py [--archs a,b] [--runs R] [--samples N] [--budget SPEC ...] [--work DIR] [--out FILE]``. Each model is built
once per work dir in its own process (``quantize.py --build ARCH DEST``); every measured command runs in a fresh
process: per run, the plain conversion (``quantize.py --plain SAVED_MODEL N OUT``) then the fix, back to back, so
their ratio is of the same machine load. After each fix of the last run a separate process (``quantize.py --check
FLOAT QUANT``) times both published .tflite files and scores the quantized one against the float one on its own
samples, trusting none of the tool's numbers. Figures, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import PY, REPAIR, Stat, machine, run  # noqa: E402

ARCHS = ("MobileNetV2", "EfficientNetB0")
SAMPLES = 32  # generated calibration samples (the plain conversion's representative dataset has as many)
# The default int8 budget (DEFAULT_BUDGET), which these untrained nets miss at full int8, so the search runs; and a
# looser one they meet at once, so the row is the cost of a budgeted run that needs no search (issue 17's tightest case).
BUDGETS = ("cosine=0.99", "cosine=0.95")
CHECK_SAMPLES = 16  # the independent check's own held-out samples (seed CHECK_SEED, not the tool's)
CHECK_SEED = 1234
BN_SEED = 100  # the batch that re-estimates the BatchNorm statistics (not a calibration or check seed)
INVOKES = 20  # latency: median of this many invokes per model, after one warm-up


def _bn_reestimate(model: Any, shape: tuple[int, ...], batch: int = 16) -> int:
    """Set every BatchNormalization's moving statistics to those of one batch of standard-normal inputs; returns how
    many layers. ``weights=None`` leaves moving mean 0 and variance 1 while the random convolutions shrink the signal
    at every block, so the logits end up near 1e-11 (MobileNetV2) and an int8 output rounds them all to zero: no budget
    means anything on that. One training-mode pass with momentum 0 makes each layer's statistics the ones it sees at
    inference (the layers before it are already normalized in that same pass). Dropout is off for the pass."""
    import keras

    bns = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    drops = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dropout)]
    saved = [(layer, layer.momentum) for layer in bns], [(layer, layer.rate) for layer in drops]
    for layer in bns:
        layer.momentum = 0.0
    for layer in drops:
        layer.rate = 0.0
    x = np.random.default_rng(BN_SEED).standard_normal((batch, *shape)).astype(np.float32)
    model([x], training=True)
    for layer, momentum in saved[0]:
        layer.momentum = momentum
    for layer, rate in saved[1]:
        layer.rate = rate
    return len(bns)


def build(arch: str, dest: Path) -> None:
    """Export ARCH with batch 1 to DEST/saved_model (BatchNorm statistics re-estimated), write DEST/meta.json."""
    import keras
    from targets import _model

    model, shape = _model(arch, 1)
    probe = np.random.default_rng(CHECK_SEED + 1).standard_normal((4, *shape)).astype(np.float32)
    raw = float(np.abs(np.asarray(model([probe], training=False))).max())
    n_bn = _bn_reestimate(model, shape)
    out = np.asarray(model([probe], training=False))
    # Keras 3 model.export traces an unknown batch unless input_signature says otherwise (bench/targets.py).
    model.export(str(dest / "saved_model"), verbose=False, input_signature=[keras.InputSpec(shape=(1, *shape), dtype="float32")])
    meta = {"arch": arch, "params": int(model.count_params()), "input": list(shape), "bn_layers": n_bn,
            "raw_logit_absmax": raw, "logit_absmax": float(np.abs(out).max()), "logit_std": float(out.std())}
    (dest / "meta.json").write_text(json.dumps(meta))


def built(arch: str, work: Path) -> tuple[Path, dict[str, Any]]:
    """The model's SavedModel and meta, built in a fresh process the first time this work dir needs it."""
    dest = work / "quantize" / arch
    if not (dest / "meta.json").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        print(f"  building {arch} ...", flush=True)
        r = run([PY, str(Path(__file__).resolve()), "--build", arch, str(dest)])
        if r.rc != 0:
            raise RuntimeError(f"build {arch} failed:\n{r.stderr[-3000:]}")
    return dest / "saved_model", json.loads((dest / "meta.json").read_text())


def plain(saved_model: Path, samples: int, out: Path) -> None:
    """One plain full-integer int8 conversion, the way the TensorFlow docs write it; prints its seconds as JSON.

    The representative data is the very samples ``--calibration-samples N`` generates (repair.quantize.calibration
    ``generated``: parity's generator, seed 0, one standard-normal batch of N split into rows of batch 1); the input
    shape comes from meta.json, so nothing loads the model twice. The I/O stays float, as the fix's default
    ``--io float`` does."""
    t0 = time.perf_counter()
    import tensorflow as tf

    imported = time.perf_counter()
    shape = tuple(json.loads((saved_model.parent / "meta.json").read_text())["input"])
    batch = np.random.default_rng(0).standard_normal((samples, *shape)).astype(np.float32)

    def representative() -> Any:
        for i in range(samples):
            yield [batch[i : i + 1]]  # the model's one input, by position

    started = time.perf_counter()
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    blob = converter.convert()
    done = time.perf_counter()
    out.write_bytes(blob)
    print(json.dumps({"import_s": imported - t0, "convert_s": done - started, "bytes": len(blob)}))


def _runner(blob: bytes) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=blob, num_threads=2)
    interp.allocate_tensors()
    runner = interp.get_signature_runner("serving_default")
    return runner, runner.get_input_details(), runner.get_output_details()


def _to_input(value: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """A float sample in the input's dtype (quantized with the input's own scale and zero point when it is integer)."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return value
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(value / scale + zero), info.min, info.max).astype(dtype)


def _to_float(value: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if np.dtype(detail["dtype"]) == np.float32:
        return value
    scale, zero = detail["quantization"]
    return (value.astype(np.float32) - zero) * scale


def check(float_path: Path, quant_path: Path) -> None:
    """Latency of both models (median of INVOKES after a warm-up, LiteRT, 2 threads) and the quantized model's
    outputs against the float model's on CHECK_SAMPLES standard-normal inputs of our own seed; prints JSON."""
    float_run, float_in, _ = _runner(float_path.read_bytes())
    quant_run, quant_in, quant_out = _runner(quant_path.read_bytes())
    rng = np.random.default_rng(CHECK_SEED)
    samples = [{k: rng.standard_normal(tuple(d["shape"])).astype(np.float32) for k, d in float_in.items()}
               for _ in range(CHECK_SAMPLES)]
    cosines: dict[str, list[float]] = {}
    max_abs: dict[str, float] = {}
    top1: dict[str, list[bool]] = {}
    for sample in samples:
        ref = float_run(**sample)
        got = quant_run(**{k: _to_input(v, quant_in[k]) for k, v in sample.items()})
        for name, r in ref.items():
            a = r.astype(np.float64).ravel()
            b = _to_float(got[name], quant_out[name]).astype(np.float64).ravel()
            norms = float(np.linalg.norm(a) * np.linalg.norm(b))
            cosines.setdefault(name, []).append(float(a @ b) / norms if norms else float("nan"))
            max_abs[name] = max(max_abs.get(name, 0.0), float(np.abs(a - b).max()))
            top1.setdefault(name, []).append(bool(a.argmax() == b.argmax()))

    def latency(runner: Any, feeds: dict[str, np.ndarray]) -> float:
        runner(**feeds)  # warm-up: the first invoke prepares the delegate
        times = []
        for _ in range(INVOKES):
            t0 = time.perf_counter()
            runner(**feeds)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    sample = samples[0]
    result = {
        "float_latency": latency(float_run, sample),
        "quant_latency": latency(quant_run, {k: _to_input(v, quant_in[k]) for k, v in sample.items()}),
        "outputs": {name: {"cosine_mean": float(np.mean(c)), "cosine_min": float(np.min(c)), "max_abs": max_abs[name],
                           "top1": float(np.mean(top1[name]))} for name, c in cosines.items()},
        "quant_io": sorted({str(np.dtype(d["dtype"])) for d in (*quant_in.values(), *quant_out.values())}),
    }
    print(json.dumps(result))


@dataclass
class QuantRow:
    arch: str
    meta: dict[str, Any]
    budget: str
    plain_s: Stat = field(default_factory=Stat)  # wall of the plain conversion's process
    plain_convert_s: Stat = field(default_factory=Stat)  # its convert() alone
    plain_bytes: int = 0
    fix_s: Stat = field(default_factory=Stat)
    ratio: Stat = field(default_factory=Stat)  # fix / plain of the same run
    steps: list[int] = field(default_factory=list)
    rcs: list[int] = field(default_factory=list)
    plain_rcs: list[int] = field(default_factory=list)
    phases: dict[str, Stat] = field(default_factory=dict)  # report.json quantization.seconds and timings_s
    report: dict[str, Any] = field(default_factory=dict)  # the last run's quantization section
    check: dict[str, Any] = field(default_factory=dict)  # the last run's independent check
    error: str = ""
    cmd: str = ""


def _json_tail(text: str) -> dict[str, Any]:
    """The last line of a helper process's stdout, which is its JSON result."""
    lines = [ln for ln in text.strip().splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _phases(report: dict[str, Any]) -> dict[str, float]:
    """The fix's seconds per phase: the quantization's own (calibrate, rank, search, measure) and the run's stages."""
    out = {f"quantize.{k}": float(v) for k, v in ((report.get("quantization") or {}).get("phases") or {}).items()}
    timings = {k: float(v) for k, v in (report.get("timings_s") or {}).items()}
    if "quantize" in timings:  # the stage's seconds the phases do not name (listing float ops, the gate's checks)
        out["quantize.other"] = timings["quantize"] - sum(out.values())
    out.update(timings)
    if "total" in timings:  # the float side of the fix: its conversion, the float gate, the reports, the publish
        out["rest (float fix, gate, publish)"] = timings["total"] - sum(v for k, v in timings.items() if k != "total")
    return out


def bench_arch(arch: str, work: Path, runs: int, samples: int, budgets: tuple[str, ...]) -> list[QuantRow]:
    """``runs`` rounds, each in fresh processes: the plain int8 conversion, then one budgeted fix per budget (each fix's
    ratio is to that same round's plain conversion), and on the last round an independent check of each fix's files."""
    src, meta = built(arch, work)
    rows = [QuantRow(arch, meta, budget) for budget in budgets]
    out = work / "out" / "quantize" / arch
    for i in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        p = run([PY, str(Path(__file__).resolve()), "--plain", str(src), str(samples), str(out / "plain.tflite")])
        facts = _json_tail(p.stdout) if p.rc == 0 else {}
        if p.rc != 0:
            print(f"  plain exit {p.rc}: {p.stderr.strip().splitlines()[-1:]}", flush=True)
        for row in rows:
            row.plain_rcs.append(p.rc)
            if facts:
                row.plain_s.values.append(p.wall)
                row.plain_convert_s.values.append(facts["convert_s"])
                row.plain_bytes = facts["bytes"]
            flags = ["--quantize", "int8", "--calibration-samples", str(samples), "--budget", row.budget]
            row.cmd = shlex.join(["repair", "fix", "MODEL", "--out", "OUT", "--report", "REPORT", *flags])
            fixed, report_dir = out / "fixed", out / "report"
            shutil.rmtree(fixed, ignore_errors=True)
            shutil.rmtree(report_dir, ignore_errors=True)
            # --report in every run: a refused budget publishes nothing, its report.json is still read.
            r = run([REPAIR, "fix", str(src), "--out", str(fixed), "--report", str(report_dir), *flags])
            row.rcs.append(r.rc)
            row.fix_s.values.append(r.wall)
            if facts:
                row.ratio.values.append(r.wall / p.wall)
            path = next((q for q in (fixed / "report.json", report_dir / "report.json") if q.exists()), None)
            report = json.loads(path.read_text()) if path else {}
            quant = report.get("quantization") or {}
            row.report = quant
            if quant:
                row.steps.append(len(quant.get("steps") or []))
                for k, v in _phases(report).items():
                    row.phases.setdefault(k, Stat()).values.append(v)
            else:
                row.error = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["no report"])[-1]
            published = fixed / "model.tflite", fixed / "model_float.tflite"
            if i == runs - 1 and r.rc == 0 and all(f.exists() for f in published):
                c = run([PY, str(Path(__file__).resolve()), "--check", str(published[1]), str(published[0])])
                if c.rc == 0:
                    row.check = _json_tail(c.stdout)
                else:
                    print(f"  check exit {c.rc}: {c.stderr.strip().splitlines()[-1:]}", flush=True)
            print(f"  {arch} {row.budget} run {i + 1}: plain {p.wall:.1f}s rc={p.rc}, fix {r.wall:.1f}s rc={r.rc}"
                  + (f", steps {row.steps[-1]}" if quant else f": {row.error}"), flush=True)
    shutil.rmtree(work / "out" / "quantize", ignore_errors=True)
    return rows


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "–"


def _num(x: Any, fmt: str = ".4f") -> str:
    return format(x, fmt) if isinstance(x, (int, float)) else "–"


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _budget_cells(quant: dict[str, Any]) -> str:
    terms = quant.get("budget") or []
    return "; ".join(f"{t.get('output') or 'all'}: {t['metric']} {_num(t.get('achieved'))} vs {t['limit']} "
                     f"({'ok' if t.get('ok') else 'OVER'})" for t in terms) or "–"


def _layers(quant: dict[str, Any]) -> list[dict[str, Any]]:
    return [x if isinstance(x, dict) else {"tensor": str(x)} for x in quant.get("float_layers") or []]


def render(argv: list[str], rows: list[QuantRow], samples: int) -> str:
    budgets = list(dict.fromkeys(r.budget for r in rows))
    archs = list(dict.fromkeys(r.arch for r in rows))
    metas = {r.arch: r.meta for r in rows}
    L: list[str] = [
        "# Quantization with a verified budget on real architectures", "",
        "Machine: " + "; ".join(machine()), "",
        f"`{shlex.join(['python', 'bench/quantize.py', *argv])}`", "",
        "Models (bench/quantize.py `--build`, Keras 3 `keras.applications.X(weights=None, input_tensor=keras.Input((224, "
        "224, 3), batch_size=1), classifier_activation=None)`, random seed 0, `model.export` with a batch-1 "
        "`input_signature`). "
        "`weights=None` alone leaves BatchNorm at moving mean 0 / variance 1 while the random convolutions shrink the "
        "signal, so the logits are tiny (largest |logit| on 4 standard-normal inputs: "
        + ", ".join(f"{a} {metas[a]['raw_logit_absmax']:.1e}" for a in archs)
        + ") and an int8 output rounds them to a few codes or to zero, so no accuracy figure would mean anything. "
        "Before the export, every BatchNorm's moving statistics are therefore set from one training-mode pass of 16 "
        "standard-normal inputs (momentum 0, dropout off): afterwards the logits' std is "
        + ", ".join(f"{a} {metas[a]['logit_std']:.2g}" for a in archs)
        + ". The weights are still random: the nets are untrained.", "",
        "Budgets, the same for both models: " + ", ".join(f"`{b}`" for b in budgets) + ". `cosine=0.99` is the int8 "
        "default (DEFAULT_BUDGET), which these nets miss at full int8, so the search runs; `cosine=0.95` they meet at "
        "once, so its row is what a budgeted run costs when no search is needed. Cosine of the logits against the "
        "float model is the honest metric for an untrained net: its top-1 class is near-chance noise and flips with "
        "any perturbation, so a top1 budget would measure nothing (the independent check shows top-1 agreement only "
        f"as a figure). Calibration: `--calibration-samples {samples}` (generated standard-normal inputs; as the "
        "report says, that proves the mechanics, not accuracy on real data).", "",
        "Per run, back to back in fresh processes: the plain conversion (`quantize.py --plain`: import tensorflow, "
        "`TFLiteConverter.from_saved_model`, `optimizations=[DEFAULT]`, a representative dataset of the very "
        f"{samples} samples `--calibration-samples {samples}` generates, `supported_ops=[TFLITE_BUILTINS_INT8]`, float "
        "I/O like the fix's default), then one `repair fix` per budget. ratio = fix wall / the same run's plain wall "
        "(median (min–max) over the runs); allowance = 1 + 0.5 × search steps (issue 17's bound; steps = report.json "
        "`quantization.steps`, step 0 = everything int8 included).", "",
        "| model | budget | plain int8 s | `repair fix --quantize` s | ratio | search steps | allowance | within "
        "| layers kept float | achieved (held out, report) | exit codes (plain / fix) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        steps = statistics.median(r.steps) if r.steps else None
        allowance = 1 + 0.5 * steps if steps is not None else None
        within = "–" if allowance is None or not r.ratio.values else ("yes" if r.ratio.median <= allowance else "NO")
        ranked = len(r.report.get("ranking") or [])
        kept = f"{len(_layers(r.report))}" + (f" of {ranked} ranked" if ranked else " (no ranking ran)") if r.report else "–"
        budget_cell = _budget_cells(r.report) if r.report else f"no report: {r.error}"
        L.append(f"| {r.arch} | `{r.budget}` | {r.plain_s} | {r.fix_s} | {r.ratio} | {','.join(map(str, r.steps)) or '–'} | "
                 f"{_num(allowance, '.1f')} | {within} | {kept} | {_esc(budget_cell)} | "
                 f"{','.join(map(str, r.plain_rcs))} / {','.join(map(str, r.rcs))} |")
    L += ["", "Size and latency of the last run's published files. Report = report.json `quantization.size` / "
          "`.latency`; ours = `quantize.py --check` on model_float.tflite and model.tflite in a fresh process "
          f"(ai_edge_litert Interpreter, num_threads=2, median of {INVOKES} invokes after a warm-up). Plain int8 B = the "
          "plain conversion's .tflite (everything int8). Both latency pairs come from one process each: on a shared "
          "machine compare float with quantized within a pair, not figures across pairs or rows.", "",
          "| model | budget | float B | quantized B | size ratio | plain int8 B | latency ms float / quantized (report) "
          "| ratio | latency ms float / quantized (ours) | ratio |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        size = r.report.get("size") or {}
        lat = r.report.get("latency") or {}
        fl, ql = lat.get("float"), lat.get("quantized")
        rep_lat = f"{1000 * fl:.1f} / {1000 * ql:.1f}" if isinstance(fl, (int, float)) and isinstance(ql, (int, float)) else "–"
        of, oq = r.check.get("float_latency"), r.check.get("quant_latency")
        ours = f"{1000 * of:.1f} / {1000 * oq:.1f}" if of and oq else "–"
        L.append(f"| {r.arch} | `{r.budget}` | {_num(size.get('float'), ',')} | {_num(size.get('quantized'), ',')} | "
                 f"{_ratio(size.get('quantized'), size.get('float'))} | {r.plain_bytes:,} | {rep_lat} | {_ratio(ql, fl)} | "
                 f"{ours} | {_ratio(oq, of)} |")
    L += ["", f"Independent check of the last run's model.tflite against its model_float.tflite on {CHECK_SAMPLES} "
          f"standard-normal inputs of seed {CHECK_SEED} (not the tool's held-out samples, not its code):", "",
          "| model | budget | output | cosine mean | cosine min | max abs | top1 agreement | quantized I/O dtypes |",
          "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for name, o in (r.check.get("outputs") or {}).items():
            L.append(f"| {r.arch} | `{r.budget}` | {_esc(name)} | {o['cosine_mean']:.4f} | {o['cosine_min']:.4f} | "
                     f"{o['max_abs']:.3g} | {o['top1']:.2f} | {', '.join(r.check.get('quant_io') or [])} |")
        if not r.check:
            L.append(f"| {r.arch} | `{r.budget}` | – | – | – | – | – | nothing published |")
    names = list(dict.fromkeys(k for r in rows for k in r.phases))
    if names:
        L += ["", "Where the fix spends its time (median s; `quantize.*` = report.json `quantization.phases`, the rest "
              "= `timings_s`, whose `quantize` is the whole quantization stage), and the plain conversion's `convert()` "
              "alone (its process also imports TensorFlow):", "",
              "| model | budget | plain convert() | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
        for r in rows:
            L.append(f"| {r.arch} | `{r.budget}` | {r.plain_convert_s} | " + " | ".join(
                f"{r.phases[k].median:.2f}" if k in r.phases else "–" for k in names) + " |")
    for r in rows:
        last_steps = r.report.get("steps") or []
        if not last_steps:
            continue
        L += ["", f"### {r.arch}, `{r.budget}`: the last run's search steps", ""]
        for s in last_steps:
            if isinstance(s, dict):
                layers = s.get("float_layers") or []
                scores = "; ".join(f"{x.get('metric')} {_num(x.get('achieved'))}" for x in s.get("scores") or [])
                L.append(f"- {_esc(str(s.get('why', '')))}: {len(layers)} float, {scores}, {_num(s.get('seconds'), '.2f')} s")
        ops = Counter(str(x.get("op", "?")) for x in _layers(r.report))
        if ops:
            L.append("- kept float, by op: " + ", ".join(f"{op} {n}" for op, n in ops.most_common()))
    cmd = rows[0].cmd if rows else ""
    L += ["", "Commands:", "", "- build: `python bench/quantize.py --build ARCH WORK/quantize/ARCH`",
          f"- plain: `python bench/quantize.py --plain WORK/quantize/ARCH/saved_model {samples} OUT/plain.tflite`",
          f"- fix: `{cmd[: cmd.rindex('--budget')]}--budget BUDGET` (MODEL = WORK/quantize/ARCH/saved_model)",
          "- check: `python bench/quantize.py --check OUT/model_float.tflite OUT/model.tflite`"]
    return "\n".join(L) + "\n"


def bench(work: Path, runs: int, archs: tuple[str, ...] = ARCHS, samples: int = SAMPLES,
          budgets: tuple[str, ...] = BUDGETS, out: Path = HERE / "results-quantize.md", argv: list[str] | None = None) -> str:
    """Every arch under every budget, rendered and written to ``out``: the entry point of bench.py's `quantize` part."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows: list[QuantRow] = []
    for arch in archs:
        print(f"{arch}/quantize", flush=True)
        rows += bench_arch(arch, work, runs, samples, budgets)
    if argv is None:  # called from bench.py: the equivalent command line of this script
        argv = ["--work", "WORK", "--runs", str(runs), *(["--archs", ",".join(archs)] if archs != ARCHS else [])]
    took = time.perf_counter() - started
    text = render(argv, rows, samples) + f"\nThis bench took {took:.0f} s (and built the models if the work dir lacked them).\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=SAMPLES)
    ap.add_argument("--budget", action="append", help=f"repeatable; default: {' and '.join(BUDGETS)}")
    ap.add_argument("--work", type=Path, default=Path("/tmp/repair-bench"))
    ap.add_argument("--out", type=Path, default=HERE / "results-quantize.md")
    ap.add_argument("--build", nargs=2, metavar=("ARCH", "DEST"), help=argparse.SUPPRESS)
    ap.add_argument("--plain", nargs=3, metavar=("SAVED_MODEL", "N", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--check", nargs=2, metavar=("FLOAT", "QUANT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build:
        build(args.build[0], Path(args.build[1]))
        return
    if args.plain:
        plain(Path(args.plain[0]), int(args.plain[1]), Path(args.plain[2]))
        return
    if args.check:
        check(Path(args.check[0]), Path(args.check[1]))
        return
    work, out = str(args.work), str(args.out)
    argv = ["WORK" if a == work else "OUT" if a == out and Path(a).is_absolute() else a for a in sys.argv[1:]]
    archs = tuple(filter(None, args.archs.split(",")))
    text = bench(args.work, args.runs, archs, args.samples, tuple(args.budget or BUDGETS), args.out, argv)
    print(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
