"""Deployment targets on real architectures: `repair diagnose MODEL --target gpu,xnnpack,micro,runtime=2.14 --json`
on MobileNetV2, MobileNetV3Small, EfficientNetB0, a small transformer encoder and an LSTM model, each built with random
weights the way users build them and saved with `model.export`. Prints a table and writes markdown.

``targets.py [--archs a,b] [--work DIR] [--out FILE]``. Each model is built once per work dir, in its own process
(``targets.py --build ARCH DEST [--dynamic]``), which also converts it once with the default converter to record its op
histogram (for checking the verdicts by hand). Every diagnose runs in a fresh process. Figures, never a test.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import PY, REPAIR, machine, run  # noqa: E402

ARCHS = ("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "transformer", "lstm")
TARGETS = "gpu,xnnpack,micro,runtime=2.14"
IMAGE = (224, 224, 3)
SEQ = (32, 64)  # transformer: 32 tokens of width 64
LSTM_IN = (20, 8)


def _model(arch: str, batch: int | None) -> tuple[Any, tuple[int, ...]]:
    """The Keras 3 model and its input shape without the batch. ``batch`` goes into keras.Input (None: unknown)."""
    import keras

    keras.utils.set_random_seed(0)
    if arch in ("MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "EfficientNetB0"):
        # A static batch reaches an application only through input_tensor: its input_shape has no batch.
        inp = keras.Input(shape=IMAGE, batch_size=batch)
        return getattr(keras.applications, arch)(weights=None, input_tensor=inp, classifier_activation=None), IMAGE
    if arch == "transformer":
        inp = keras.Input(shape=SEQ, batch_size=batch)
        x = inp
        for _ in range(2):  # post-norm encoder blocks
            att = keras.layers.MultiHeadAttention(num_heads=4, key_dim=16)(x, x)
            x = keras.layers.LayerNormalization()(x + att)
            ff = keras.layers.Dense(128, activation="relu")(x)
            x = keras.layers.LayerNormalization()(x + keras.layers.Dense(SEQ[1])(ff))
        return keras.Model(inp, keras.layers.Dense(10)(x[:, 0])), SEQ  # classification head on the first token
    if arch == "lstm":
        inp = keras.Input(shape=LSTM_IN, batch_size=batch)
        return keras.Model(inp, keras.layers.Dense(10)(keras.layers.LSTM(32)(inp))), LSTM_IN
    raise SystemExit(f"unknown arch {arch}")


def build(arch: str, dest: Path, dynamic: bool) -> None:
    """Export ARCH to DEST/saved_model (static batch 1 unless ``dynamic``), convert it once, write DEST/meta.json."""
    import keras
    import tensorflow as tf

    from repair.model.tflite import inspect_tflite

    model, shape = _model(arch, None if dynamic else 1)
    out = dest / "saved_model"
    if dynamic:
        model.export(str(out), verbose=False)
    else:
        # Keras 3 model.export traces with an unknown batch even when keras.Input has batch_size=1; the static batch
        # survives only through input_signature (what `repair codemod --pin` writes too).
        model.export(str(out), verbose=False, input_signature=[keras.InputSpec(shape=(1, *shape), dtype="float32")])
    t0 = time.perf_counter()
    blob = tf.lite.TFLiteConverter.from_saved_model(str(out)).convert()
    convert_s = time.perf_counter() - t0
    (dest / "model.tflite").write_bytes(blob)
    info = inspect_tflite(blob)
    meta = {"arch": arch, "dynamic": dynamic, "params": int(model.count_params()), "ops": dict(sorted(info.ops.items())),
            "subgraphs": info.subgraphs, "tflite_bytes": len(blob), "convert_s": round(convert_s, 2)}
    (dest / "meta.json").write_text(json.dumps(meta))


def built(arch: str, work: Path, dynamic: bool) -> tuple[Path, dict[str, Any]]:
    """The model's SavedModel and meta, built in a fresh process the first time this work dir needs it."""
    dest = work / "targets" / (arch + ("-dynamic" if dynamic else ""))
    if not (dest / "meta.json").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        print(f"  building {dest.name} ...", flush=True)
        r = run([PY, str(Path(__file__).resolve()), "--build", arch, str(dest), *(["--dynamic"] if dynamic else [])])
        if r.rc != 0:
            raise RuntimeError(f"build {dest.name} failed:\n{r.stderr[-3000:]}")
    return dest / "saved_model", json.loads((dest / "meta.json").read_text())


@dataclass
class Row:
    model: str
    meta: dict[str, Any]
    targets: str
    rc: int = 0
    wall: float = 0.0
    plain_wall: float | None = None  # the same diagnose without --target
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # by target name ("runtime=2.14")
    error: str = ""
    cmd: str = ""


def diagnose(model: str, src: Path, meta: dict[str, Any], targets: str, plain: bool) -> Row:
    """One `repair diagnose --target ... --json` in a fresh process (and, when ``plain``, one without --target)."""
    cmd = [REPAIR, "diagnose", str(src), "--target", targets, "--json"]
    row = Row(model, meta, targets, cmd=shlex.join(["repair", "diagnose", "MODEL", "--target", targets, "--json"]))
    r = run(cmd)
    row.rc, row.wall = r.rc, r.wall
    try:
        row.reports = {t["target"]: t for t in json.loads(r.stdout).get("targets", [])}
    except json.JSONDecodeError:
        row.error = (r.stderr.strip().splitlines() or ["no output"])[-1]
    if plain:
        row.plain_wall = run([REPAIR, "diagnose", str(src), "--json"]).wall
    print(f"  {model}: diagnose {row.wall:.1f}s rc={row.rc}" + (f", plain {row.plain_wall:.1f}s" if plain else ""), flush=True)
    return row


def _by_op(offenders: list[dict[str, Any]]) -> str:
    """Refused nodes grouped by op with counts; tensor-level (dynamic-shape) offenders are counted apart."""
    nodes = Counter(o["op"] for o in offenders if o["node"] is not None)
    tensors = sum(1 for o in offenders if o["node"] is None)
    parts = [f"{op}×{n}" for op, n in nodes.most_common()]
    if tensors:
        parts.append(f"{tensors} input tensor(s)")
    return ", ".join(parts)


def _cell(rep: dict[str, Any] | None) -> str:
    """One table cell per target, from its report.json/diagnose --json object."""
    if rep is None:
        return "–"
    verdict = "pass" if rep["ok"] else rep["verdict"]
    if rep.get("error"):
        return f"{verdict}: error: {rep['error']}"
    name = str(rep["target"])
    if name == "gpu":
        refused = _by_op(rep["offenders"])
        return f"{verdict} ({rep['delegated']}/{rep['total']} nodes)" + (f"; refused: {refused}" if refused else "")
    if name == "xnnpack":
        return f"{verdict}: {rep['summary']}"
    if name == "micro":
        missing = _by_op(rep["offenders"])
        arena = f"arena {rep['arena_bytes']:,} B" if rep.get("arena_bytes") else ""
        return f"{verdict}" + (f"; {arena}" if arena else "") + (f"; missing/refused: {missing}" if missing else "")
    if name.startswith("runtime"):
        return f"{verdict}: needs {rep['min_runtime']} ({'; '.join(rep['runtime_setters'])})"
    return f"{verdict}: {rep['summary']}"


_SHAPE_DETAIL = re.compile(r" \(shape_signature \[[^\]]*\]\)")


def _loop_note(arch: str, ops: dict[str, int], subgraphs: int) -> str:
    """How the LSTM converted: a WHILE loop, the fused UNIDIRECTIONAL_SEQUENCE_LSTM, or unrolled."""
    if arch != "lstm":
        return ""
    if "WHILE" in ops:
        return f"- the LSTM converts to a WHILE loop ({subgraphs} subgraphs: main, cond, body), not unrolled, not fused"
    if "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops:
        return "- the LSTM converts to the fused UNIDIRECTIONAL_SEQUENCE_LSTM op"
    return "- the LSTM converts unrolled (no WHILE, no fused LSTM op)"


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _placeholders(argv: list[str], args: argparse.Namespace) -> list[str]:
    """The command line as run, with the work dir and the output file written as WORK and OUT (no machine paths)."""
    work, out = str(args.work), str(args.out)
    return ["WORK" if a == work else "OUT" if a == out and Path(a).is_absolute() else a.replace(work, "WORK") for a in argv]


def render(args: argparse.Namespace, rows: list[Row], dynamic_rows: list[Row]) -> str:
    L: list[str] = ["# Deployment targets on real architectures", "", "Machine: " + "; ".join(machine()), "",
                    f"`{shlex.join(['python', 'bench/targets.py', *_placeholders(sys.argv[1:], args)])}`", "",
                    "Models (bench/targets.py, Keras 3, `weights=None`, random seed 0, saved with `model.export`): "
                    f"keras.applications at {IMAGE[0]}x{IMAGE[1]}x{IMAGE[2]} with `classifier_activation=None`; "
                    f"`transformer` = Input {SEQ[0]}x{SEQ[1]}, 2 post-norm blocks of MultiHeadAttention(4 heads, key_dim 16) "
                    "+ residual + LayerNormalization + Dense(128, relu) + Dense(64) + residual + LayerNormalization, "
                    f"Dense(10) head on `x[:, 0]`; `lstm` = Input {LSTM_IN[0]}x{LSTM_IN[1]}, LSTM(32), Dense(10). "
                    "Static batch: `keras.Input(..., batch_size=1)` and `model.export(dir, input_signature=[keras.InputSpec("
                    "shape=(1, ...))])` (Keras 3 exports an unknown batch without the input_signature, whatever the Input "
                    "says).", "",
                    f"Each row: one `repair diagnose MODEL --target {TARGETS} --json` in a fresh process; its wall time, "
                    "and that of the same diagnose without `--target` (fresh process too). Check seconds are each "
                    "check's own `seconds` in the JSON.", "",
                    "| model | gpu | xnnpack | micro | min runtime (ops that set it) | check s (gpu / xnnpack / micro / "
                    "runtime) | diagnose s (without --target) | exit |",
                    "|---|---|---|---|---|---|---|---|"]
    names = ("gpu", "xnnpack", "micro", "runtime=2.14")
    for r in rows:
        secs = " / ".join(f"{r.reports[n]['seconds']:.2f}" if n in r.reports else "–" for n in names)
        plain = f" ({r.plain_wall:.1f})" if r.plain_wall is not None else ""
        cells = [_cell(r.reports.get(n)) for n in names]
        if r.error:
            cells = [f"no JSON: {r.error}", *cells[1:]]
        L.append(f"| {r.model} | " + " | ".join(_esc(c) for c in cells) + f" | {secs} | {r.wall:.1f}{plain} | {r.rc} |")
    if dynamic_rows:
        L += ["", "Dynamic batch (`keras.Input` without batch_size, plain `model.export(dir)`), `--target gpu` only:", "",
              "| model | gpu | check s | diagnose s | exit |", "|---|---|---|---|---|"]
        for r in dynamic_rows:
            rep = r.reports.get("gpu")
            L.append(f"| {r.model} | {_esc(_cell(rep))} | {rep['seconds'] if rep else '–'} | {r.wall:.1f} | {r.rc} |")
    L += ["", "## Per model: the converted ops and each target's summary", "",
          "Ops: the default `TFLiteConverter.from_saved_model` conversion of the same SavedModel (all subgraphs)."]
    for r in rows + dynamic_rows:
        m = r.meta
        L += ["", f"### {r.model}", "",
              f"- params {m['params']:,}; .tflite {m['tflite_bytes']:,} B; subgraphs {m['subgraphs']}; convert "
              f"{m['convert_s']} s",
              "- ops: " + ", ".join(f"{op} {n}" for op, n in m["ops"].items())]
        L += [note for note in [_loop_note(m["arch"], m["ops"], m["subgraphs"])] if note]
        for name, rep in r.reports.items():
            L.append(f"- {name}: {rep['verdict']}: {_esc(rep['summary'])}")
            # The dynamic-shape reason ends with the tensor's shape_signature: grouped without it, one line per op.
            reasons = Counter(f"{o['op']}: {_SHAPE_DETAIL.sub('', o['reason'])}" for o in rep["offenders"])
            L += [f"  - {n}× {_esc(text)}" for text, n in reasons.most_common()]
    L += ["", "Command per row: `" + (rows or dynamic_rows)[0].cmd + "` (MODEL = WORK/targets/ARCH/saved_model)."
          if rows or dynamic_rows else ""]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--dynamic-archs", default="MobileNetV2", help="comma list for the dynamic-batch --target gpu rows")
    ap.add_argument("--work", type=Path, default=Path("/tmp/repair-bench"))
    ap.add_argument("--out", type=Path, default=HERE / "results-targets.md")
    ap.add_argument("--no-plain", action="store_true", help="skip the diagnose without --target")
    ap.add_argument("--build", nargs=2, metavar=("ARCH", "DEST"), help=argparse.SUPPRESS)
    ap.add_argument("--dynamic", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build:
        build(args.build[0], Path(args.build[1]), args.dynamic)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    rows, dynamic_rows = [], []
    for arch in filter(None, args.archs.split(",")):
        src, meta = built(arch, args.work, dynamic=False)
        rows.append(diagnose(arch, src, meta, TARGETS, plain=not args.no_plain))
    for arch in filter(None, args.dynamic_archs.split(",")):
        src, meta = built(arch, args.work, dynamic=True)
        dynamic_rows.append(diagnose(f"{arch} (dynamic batch)", src, meta, "gpu", plain=False))
    text = render(args, rows, dynamic_rows)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
