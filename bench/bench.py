"""`make bench`: wall time and peak RSS of `repair fix` on real architectures vs the physical floor,
CLI start-up, and codemod throughput vs LibCST's own codemod CLI. Prints a table and writes markdown.

Every measured command runs in a fresh process under /usr/bin/time (peak RSS, KiB); wall time is taken
around the subprocess. Figures, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
REPAIR = str(VENV_BIN / "repair")
PY = sys.executable
sys.path.insert(0, str(HERE))
from build_model import ARCHS, DEFECTS  # noqa: E402


@dataclass
class Run:
    wall: float
    rss_mb: float
    rc: int
    stdout: str
    stderr: str


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """One fresh process; peak RSS from /usr/bin/time -f %M written to a side file."""
    rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-rss-{os.getpid()}"
    full = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd]
    t0 = time.perf_counter()
    p = subprocess.run(full, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    wall = time.perf_counter() - t0
    rss_lines = [ln for ln in rss_file.read_text().splitlines() if ln.strip().isdigit()]
    return Run(wall, int(rss_lines[-1]) / 1024 if rss_lines else float("nan"), p.returncode, p.stdout, p.stderr)


@dataclass
class Stat:
    values: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.values:
            return "–"
        med = statistics.median(self.values)
        if len(self.values) == 1:
            return f"{med:.2f}"
        return f"{med:.2f} ({min(self.values):.2f}–{max(self.values):.2f})"

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")


def build(arch: str, defect: str, work: Path) -> tuple[Path, dict[str, object]]:
    dest = work / "models" / arch / defect
    if not (dest / "meta.json").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        env = {"TF_USE_LEGACY_KERAS": "1"} if defect == "pruning" else None
        print(f"  building {arch}/{defect} ...", flush=True)
        r = run([PY, str(HERE / "build_model.py"), arch, defect, str(dest)], env=env)
        if r.rc != 0:
            raise RuntimeError(f"build {arch}/{defect} failed:\n{r.stderr[-2000:]}")
    return dest / "saved_model", json.loads((dest / "meta.json").read_text())


def fix_flags(defect: str, meta: dict[str, object]) -> list[str]:
    return ["--pin", f"{meta['input']}=1,224,224,3"] if defect == "dynamic_hw" else []


@dataclass
class ModelRow:
    arch: str
    defect: str
    fix_s: Stat = field(default_factory=Stat)
    floor_s: Stat = field(default_factory=Stat)
    fix_rss: Stat = field(default_factory=Stat)
    floor_rss: Stat = field(default_factory=Stat)
    fix_rcs: list[int] = field(default_factory=list)
    floor_rcs: list[int] = field(default_factory=list)
    stages: dict[str, Stat] = field(default_factory=dict)
    floor_stages: dict[str, Stat] = field(default_factory=dict)  # bench/floor.py's own stage times
    rewrites: list[str] = field(default_factory=list)
    cmd: str = ""
    ratio: Stat = field(default_factory=Stat)  # fix / floor of the same run (back to back: same machine load)
    rss_ratio: Stat = field(default_factory=Stat)  # fix peak RSS / floor peak RSS of the same run


def stages(report: dict) -> dict[str, float]:  # type: ignore[type-arg]
    """Where `repair fix` spent its time: diagnosis before, the rewrites, the gate's diagnosis after, the rest."""
    out: dict[str, float] = {}
    before = (report.get("before") or {}).get("timings_s") or {}
    after = (report.get("after") or {}).get("timings_s") or {}
    out.update({f"before.{k}": float(v) for k, v in before.items()})
    if after != before:  # when no fix was applied the report repeats the first diagnosis as "after"
        out.update({f"after.{k}": float(v) for k, v in after.items()})
    # A fix's "seconds" include the export that wrote it (timings_s.export): only its own apply time counts here.
    out["rewrites"] = sum(float(f.get("apply_seconds", f.get("seconds")) or 0) for f in report.get("fixes", []))
    out.update({k: float(v) for k, v in report["timings_s"].items() if k != "total"})  # open (TF import), export, tf_parity
    total = float(report["timings_s"]["total"])
    out["other (publish, reports)"] = total - sum(out.values())
    out["total (in-process)"] = total
    # The gate's re-check of the output (every fixed defect detected again from scratch: protos, conversion, .tflite,
    # parity) and its TensorFlow parity of the published SavedModel, as one figure beside the parts above.
    out["gate re-check (after.* + tf_parity)"] = sum(v for k, v in out.items() if k.startswith("after.")) + out.get(
        "tf_parity", 0.0)
    return out


def placeholder(cmd: list[str], work: Path) -> str:
    """A command as a reader can run it: `repair`/`python` by name, the work dir as $WORK, no machine paths."""
    words = []
    for w in cmd:
        if w == REPAIR:
            w = "repair"
        elif w == PY:
            w = "python"
        elif w.startswith(str(HERE)):
            w = "bench/" + w[len(str(HERE)) + 1:]
        elif w.startswith(str(work)):
            w = "$WORK" + w[len(str(work)):]
        words.append(w)
    return " ".join(shlex.quote(w) if not w.startswith("$WORK") else w for w in words)


def json_line(text: str) -> dict[str, object]:
    """The last line of a bench script's stdout that is a JSON object ({} when there is none)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            return value if isinstance(value, dict) else {}
    return {}


FLOOR_STAGES = ("import", "load", "save", "convert")


def bench_model(arch: str, defect: str, work: Path, runs: int) -> ModelRow:
    src, meta = build(arch, defect, work)
    row = ModelRow(arch, defect)
    tags = ",".join(meta["tags"])  # type: ignore[arg-type]
    for i in range(runs):
        out = work / "out" / arch / defect
        shutil.rmtree(out.parent, ignore_errors=True)
        out.parent.mkdir(parents=True)
        cmd = [REPAIR, "fix", str(src), "--out", str(out / "fixed"), *fix_flags(defect, meta)]
        row.cmd = placeholder(cmd, work)
        r = run(cmd)
        row.fix_rcs.append(r.rc)
        if r.rc == 0:
            row.fix_s.values.append(r.wall)
            row.fix_rss.values.append(r.rss_mb)
            report = json.loads((out / "fixed" / "report.json").read_text())
            st = stages(report)
            # What the converter-crash isolation costs: the supervising parent process and the child's interpreter
            # start, i.e. everything the child's own clock (timings_s.total) does not see.
            st["outside the process (supervisor, start-up)"] = r.wall - st["total (in-process)"]
            for k, v in st.items():
                row.stages.setdefault(k, Stat()).values.append(v)
            row.rewrites = [f"{f['rewrite']} ({f['outcome']})" for f in report.get("fixes", [])]
        else:
            print(f"  repair fix exit {r.rc}: {r.stderr.strip().splitlines()[-1:] }", flush=True)
        f = run([PY, str(HERE / "floor.py"), str(src), str(out / "floor"), tags])
        row.floor_rcs.append(f.rc)
        if f.rc == 0:
            row.floor_s.values.append(f.wall)
            row.floor_rss.values.append(f.rss_mb)
            inside = {k: float(v) for k, v in json_line(f.stdout).items() if k in FLOOR_STAGES}  # type: ignore[arg-type]
            inside["outside the process (start-up)"] = f.wall - sum(inside.values())
            for k, v in inside.items():
                row.floor_stages.setdefault(k, Stat()).values.append(v)
        else:
            print(f"  floor exit {f.rc}: {f.stderr.strip().splitlines()[-1:]}", flush=True)
        if r.rc == 0 and f.rc == 0:
            row.ratio.values.append(r.wall / f.wall)
            row.rss_ratio.values.append(r.rss_mb / f.rss_mb)
        print(f"  {arch}/{defect} run {i + 1}: fix {r.wall:.1f}s rc={r.rc}, floor {f.wall:.1f}s rc={f.rc}", flush=True)
    shutil.rmtree(work / "out" / arch, ignore_errors=True)
    return row


@dataclass
class DiagRow:
    arch: str
    defect: str
    diag_s: Stat = field(default_factory=Stat)
    conv_s: Stat = field(default_factory=Stat)
    ratio: Stat = field(default_factory=Stat)  # diagnose / plain conversion of the same run (back to back)
    diag_rss: Stat = field(default_factory=Stat)
    conv_rss: Stat = field(default_factory=Stat)
    rss_ratio: Stat = field(default_factory=Stat)
    stages: dict[str, Stat] = field(default_factory=dict)  # diagnose --json timings_s, + outside the process
    conv_stages: dict[str, Stat] = field(default_factory=dict)  # bench/convert_once.py's own stage times
    rcs: list[int] = field(default_factory=list)
    blocking: list[int] = field(default_factory=list)
    conv_error: str = ""
    cmd: str = ""


def bench_diagnose(arch: str, defect: str, work: Path, runs: int) -> DiagRow:
    """`repair diagnose MODEL --json` against one plain conversion of the same model, each in a fresh process, back
    to back per run (the issue's target: diagnose <= 1.1x the conversion)."""
    src, meta = build(arch, defect, work)
    tags = ",".join(meta["tags"])  # type: ignore[arg-type]
    row = DiagRow(arch, defect)
    cmd = [REPAIR, "diagnose", str(src), "--json", "-q"]
    row.cmd = placeholder(cmd, work)
    for i in range(runs):
        r = run(cmd)
        row.rcs.append(r.rc)
        try:
            report = json.loads(r.stdout)  # diagnose --json prints one indented object (exit 1 when findings block)
        except ValueError:
            report = {}
        timings = report.get("timings_s") or {}
        if isinstance(timings, dict) and timings:
            inside = {k: float(v) for k, v in timings.items() if k != "total"}
            inside["outside the process (supervisor, start-up)"] = r.wall - float(timings.get("total", 0.0))
            for k, v in inside.items():
                row.stages.setdefault(k, Stat()).values.append(v)
        if "blocking" in report:
            row.blocking.append(int(report["blocking"]))
        c = run([PY, str(HERE / "convert_once.py"), str(src), tags])
        conv = json_line(c.stdout)
        row.conv_error = str(conv.get("error") or "")
        inside = {k: float(v) for k, v in conv.items() if k in ("import", "convert")}  # type: ignore[arg-type]
        inside["outside the process (start-up)"] = c.wall - sum(inside.values())
        for k, v in inside.items():
            row.conv_stages.setdefault(k, Stat()).values.append(v)
        row.diag_s.values.append(r.wall)
        row.conv_s.values.append(c.wall)
        row.diag_rss.values.append(r.rss_mb)
        row.conv_rss.values.append(c.rss_mb)
        row.ratio.values.append(r.wall / c.wall)
        row.rss_ratio.values.append(r.rss_mb / c.rss_mb)
        print(f"  {arch}/{defect} diagnose run {i + 1}: {r.wall:.1f}s rc={r.rc}, conversion {c.wall:.1f}s", flush=True)
    return row


ONE_FILE = """\
import tensorflow as tf
import tensorflow.experimental.numpy as tnp


@tf.function
def preprocess(x):
    return tnp.clip(tnp.log1p(tnp.abs(x)), 0.0, 6.0)


model = tf.keras.Sequential([tf.keras.layers.Dense(4)])
"""


def startup(n: int, work: Path) -> list[tuple[str, Stat, bool]]:
    one = work / "one_file" / "train.py"  # a script the codemod changes (the tnp swap): the whole path, LibCST too
    one.parent.mkdir(parents=True, exist_ok=True)
    one.write_text(ONE_FILE)
    rows = []
    for args in (["--help"], ["codemod", "--help"], ["codemod", str(one)]):
        s = Stat()
        for _ in range(n):
            r = run([REPAIR, *args])
            s.values.append(r.wall)
        imp = subprocess.run([PY, "-X", "importtime", REPAIR, *args], capture_output=True, text=True)
        tf_imported = any(ln.rsplit("|", 1)[-1].strip() == "tensorflow" for ln in imp.stderr.splitlines())
        label = "repair " + " ".join(args)
        rows.append((label.replace(str(one), "ONE_FILE.py (bench.py ONE_FILE: tnp calls the codemod swaps)"), s,
                     tf_imported))
    # The supervisor (repair/supervise.py) that survives converter crashes: the same diagnose run with and without
    # it, paired, on a path that ends at once (bad input), so the difference is the parent process alone.
    for label, env in (("repair diagnose MISSING (supervised)", None),
                       ("repair diagnose MISSING (REPAIR_NO_SUPERVISOR=1)", dict(os.environ, REPAIR_NO_SUPERVISOR="1"))):
        s = Stat()
        for _ in range(n):
            s.values.append(run([REPAIR, "diagnose", "/nonexistent/model"], env=env).wall)
        rows.append((label, s, False))
    return rows


@dataclass
class CodemodRow:
    tool: str
    jobs: int
    wall: Stat = field(default_factory=Stat)
    rss: Stat = field(default_factory=Stat)
    rcs: list[int] = field(default_factory=list)
    note: str = ""
    cmd: str = ""


def codemod_tree(work: Path, packages: list[str]) -> tuple[Path, int, float]:
    """Copy the installed packages' .py files (located without importing them) into WORK/codemod-tree."""
    tree = work / "codemod-tree"
    shutil.rmtree(tree, ignore_errors=True)
    n, size = 0, 0
    for pkg in packages:
        spec = importlib.util.find_spec(pkg)
        assert spec and spec.origin, pkg
        root = Path(spec.origin).parent
        for f in root.rglob("*.py"):
            dst = tree / pkg / f.relative_to(root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dst)
            n += 1
            size += f.stat().st_size
    return tree, n, size / 1e6


def bench_codemod(work: Path, tree: Path, runs: int, with_libcst: bool = True) -> list[CodemodRow]:
    cfg_dir = work  # the tree lies inside it, so LibCST can name modules
    if not (cfg_dir / ".libcst.codemod.yaml").exists():
        cfg_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, "-m", "libcst.tool", "initialize", "."], cwd=cfg_dir, check=True, capture_output=True)
    libcst_env = {"PYTHONPATH": str(HERE)}
    rows = []
    for jobs in (1, 2):
        ours = CodemodRow("repair codemod (diff mode)", jobs)
        ours_cmd = [REPAIR, "codemod", str(tree), "-j", str(jobs)]
        ours.cmd = placeholder(ours_cmd, work)
        lib = CodemodRow("libcst.tool codemod (no-op)", jobs)
        lib_cmd = [PY, "-m", "libcst.tool", "codemod", "-x", "noop_codemod.NoopCommand", "--no-format",
                   "-u", "--hide-progress", "-j", str(jobs), str(tree)]
        lib.cmd = placeholder(lib_cmd, work)
        for _ in range(runs):
            r = run(ours_cmd)
            ours.wall.values.append(r.wall)
            ours.rss.values.append(r.rss_mb)
            ours.rcs.append(r.rc)
            ours.note = (r.stderr.strip().splitlines() or [""])[-1]
            if not with_libcst:
                print(f"  codemod -j {jobs}: ours {ours.wall.values[-1]:.1f}s", flush=True)
                continue
            r = run(lib_cmd, env=libcst_env, cwd=cfg_dir)
            lib.wall.values.append(r.wall)
            lib.rss.values.append(r.rss_mb)
            lib.rcs.append(r.rc)
            lib.note = " ".join(ln.strip() for ln in r.stderr.strip().splitlines()[-4:])
            print(f"  codemod -j {jobs}: ours {ours.wall.values[-1]:.1f}s, libcst {lib.wall.values[-1]:.1f}s", flush=True)
        rows += [ours, lib] if with_libcst else [ours]
    return rows


BATCH_ZOO = [(arch, defect) for arch in ARCHS for defect in ("keras3_tf_save", "train_tag")]


def bench_batch(work: Path, runs: int) -> list[tuple[str, Stat, str]]:
    """`repair batch` over six real models (3 architectures x 2 defects) with -j 1, -j 2, and -j 2 on a local Ray
    cluster (when ray is installed): the scaling on this machine."""
    zoo = work / "batch-zoo"
    shutil.rmtree(zoo, ignore_errors=True)
    zoo.mkdir(parents=True)
    for arch, defect in BATCH_ZOO:
        src, _ = build(arch, defect, work)
        (zoo / f"{arch}_{defect}").symlink_to(src, target_is_directory=True)
    variants = [("-j 1", ["-j", "1"]), ("-j 2", ["-j", "2"])]
    if importlib.util.find_spec("ray") is not None:
        variants.append(("-j 2 --engine ray (local cluster)", ["-j", "2", "--engine", "ray"]))
    rows = []
    for label, flags in variants:
        wall = Stat()
        note = ""
        for _ in range(runs):
            out = work / "batch-out"
            shutil.rmtree(out, ignore_errors=True)
            r = run([REPAIR, "batch", str(zoo), "--out", str(out), *flags])
            wall.values.append(r.wall)
            note = ([ln for ln in (r.stdout + r.stderr).splitlines() if "model(s):" in ln] or [""])[-1].strip()
            print(f"  batch {label}: {r.wall:.1f}s rc={r.rc}", flush=True)
        rows.append((label, wall, note))
    return rows


TARGETS = ("gpu", "xnnpack", "micro", "runtime=2.14")


@dataclass
class TargetRow:
    arch: str
    model: str  # the bench model (build_model.py defect) the fixes ran on
    target: str  # "" for the fix without --target that the others are paired with
    fix_s: Stat = field(default_factory=Stat)
    added_s: Stat = field(default_factory=Stat)  # this run's fix minus the same run's fix without --target
    ratio: Stat = field(default_factory=Stat)
    check_s: Stat = field(default_factory=Stat)  # the target's own seconds in report.json after.targets (the gate)
    before_check_s: Stat = field(default_factory=Stat)  # and in before.targets, when the first diagnosis ran it
    rcs: list[int] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    stages: dict[str, Stat] = field(default_factory=dict)  # report.json stage times, as for the models part
    rss: Stat = field(default_factory=Stat)
    cmd: str = ""


def _target_seconds(report: dict, side: str, target: str) -> float | None:  # type: ignore[type-arg]
    found = [t for t in (report.get(side) or {}).get("targets") or [] if t.get("target") == target]
    return float(found[0]["seconds"]) if found else None


def bench_targets(arch: str, work: Path, runs: int) -> list[TargetRow]:
    """What each deployment target adds to `repair fix`: per run, the fix without --target, then one fix per target,
    back to back on the same model. The static-shape targets need a static batch, so the model is the train_tag
    defect exported with batch 1 (the same retag fix in every run, no pin); one more pair measures --target gpu on
    the dynamic-batch train_tag, where the target itself pins the batch (what a user of such a model pays)."""
    static, _ = build(arch, "train_tag_static", work)
    dynamic, _ = build(arch, "train_tag", work)
    variants = [(static, "train_tag_static", t) for t in ("", *TARGETS)] + [(dynamic, "train_tag", t) for t in ("", "gpu")]
    rows = [TargetRow(arch, model, target) for _, model, target in variants]
    for i in range(runs):
        base: dict[str, float] = {}
        for (src, model, target), row in zip(variants, rows):
            out = work / "out" / arch / "targets"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            flags = ["--target", target] if target else []
            # --report in every run alike: a target that fails publishes nothing, its report.json is still read.
            cmd = [REPAIR, "fix", str(src), "--out", str(out / "fixed"), "--report", str(out / "report"), *flags]
            row.cmd = shlex.join(["repair", "fix", f"MODEL({model})", "--out", "OUT", "--report", "REPORT", *flags])
            r = run(cmd)
            row.rcs.append(r.rc)
            row.fix_s.values.append(r.wall)
            row.rss.values.append(r.rss_mb)
            if not target:
                base[model] = r.wall
            elif model in base:
                row.added_s.values.append(r.wall - base[model])
                row.ratio.values.append(r.wall / base[model])
            path = next((p for p in (out / "fixed" / "report.json", out / "report" / "report.json") if p.exists()), None)
            report = json.loads(path.read_text()) if path else {}
            if report:
                st = stages(report)
                st["outside the process (supervisor, start-up)"] = r.wall - st["total (in-process)"]
                for k, v in st.items():
                    row.stages.setdefault(k, Stat()).values.append(v)
            if target and report:
                for side, stat in (("after", row.check_s), ("before", row.before_check_s)):
                    seconds = _target_seconds(report, side, target)
                    if seconds is not None:
                        stat.values.append(seconds)
                verdict = [t["verdict"] for t in (report.get("after") or {}).get("targets") or [] if t["target"] == target]
                row.verdicts = sorted(set(row.verdicts) | set(verdict))
            print(f"  {arch}/{model} {target or 'no target'} run {i + 1}: {r.wall:.1f}s rc={r.rc}", flush=True)
    shutil.rmtree(work / "out" / arch, ignore_errors=True)
    return rows


def machine() -> list[str]:
    versions = "import importlib.metadata as m; print(m.version('tensorflow'), m.version('keras'), m.version('libcst'))"
    tf_ver = subprocess.run([PY, "-c", versions], capture_output=True, text=True).stdout.split()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "?")
    return [f"nproc {os.cpu_count()} ({cpu}), {int(mem) / 1e6:.1f} GB RAM, {platform.platform()}",
            f"Python {platform.python_version()}, tensorflow {tf_ver[0]}, keras {tf_ver[1]}, libcst {tf_ver[2]}",
            f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"]


MODELS_NOTE = (
    "Models (bench/build_model.py, random weights, built once per work dir): `keras3_tf_save` = Keras 3 app saved with "
    "`tf.saved_model.save`; `train_tag` = `model.export` then the meta graph retagged {'train'} in saved_model.pb; "
    "`dynamic_hw` = `include_top=False, pooling='avg', input_shape=(None,None,3)` + Dense(1000) head (include_top refuses "
    "unknown H/W), `model.export`, fixed with `--pin`; `pruning` = tf_keras (TF_USE_LEGACY_KERAS=1) app with tfmot "
    "`prune_low_magnitude` on every Conv2D/DepthwiseConv2D/Dense via `clone_model`, saved with `model.save` without "
    "`strip_pruning`."
)


def _worst(values: list[tuple[str, float]], high_is_bad: bool = True) -> tuple[str, float]:
    return (max if high_is_bad else min)(values, key=lambda v: v[1])


def summary(models: list[ModelRow], diags: list[DiagRow], targets: list[TargetRow], starts: list[tuple[str, Stat, bool]],
            codemods: list[CodemodRow], tree_facts: tuple[int, float] | None) -> list[str]:
    """The performance targets, each with its worst measured row (medians), so a miss is seen first."""
    rows: list[tuple[str, str, str, bool]] = []  # target, worst row, figure, met

    def add(target: str, figures: list[tuple[str, float]], limit: float, fmt: str, high_is_bad: bool = True) -> None:
        figures = [(k, v) for k, v in figures if v == v]  # NaN: no successful run
        if not figures:
            return
        name, value = _worst(figures, high_is_bad)
        rows.append((target, name, fmt.format(value), value <= limit if high_is_bad else value >= limit))

    add("`repair fix` ≤ 1.15× the floor", [(f"{m.arch}/{m.defect}", m.ratio.median) for m in models], 1.15, "{:.2f}×")
    add("`repair diagnose` ≤ 1.1× one plain conversion", [(f"{d.arch}/{d.defect}", d.ratio.median) for d in diags], 1.1,
        "{:.2f}×")
    for name in sorted({t.target for t in targets if t.target}):
        add(f"`--target {name}` adds ≤ 10% to a fix",
            [(f"{t.arch}/{t.model}", t.ratio.median - 1) for t in targets if t.target == name], 0.10, "{:+.1%}")
    add("peak RSS ≤ 1.5× the floor's (fix)", [(f"{m.arch}/{m.defect}", m.rss_ratio.median) for m in models], 1.5, "{:.2f}×")
    add("peak RSS ≤ 1.5× the conversion's (diagnose)", [(f"{d.arch}/{d.defect}", d.rss_ratio.median) for d in diags], 1.5,
        "{:.2f}×")
    add("one-file `repair codemod` ≤ 0.3 s", [(c, s.median) for c, s, _ in starts if c.startswith("repair codemod ONE")],
        0.3, "{:.2f} s")
    if tree_facts:
        add("codemod ≥ 250 files/s at -j 2", [("keras + tensorflow", tree_facts[0] / c.wall.median) for c in codemods
                                              if c.jobs == 2 and c.tool.startswith("repair")], 250, "{:.0f} files/s",
            high_is_bad=False)
    if not rows:
        return []
    out = ["## Targets (worst row of each)", "", "| target | worst row | figure | met |", "|---|---|---|---|"]
    out += [f"| {t} | {w} | {f} | {'yes' if ok else '**no**'} |" for t, w, f, ok in rows]
    out += ["", "The budgeted quantization target (≤ (1 + 0.5 · search steps) × one plain int8 conversion) is measured by "
            "bench/quantize.py into bench/results-quantize.md.", ""]
    return out


def _stage_table(title: str, rows: list[tuple[str, dict[str, Stat]]], head: str) -> list[str]:
    """A markdown table of stage medians, one row per measured row (so a regression points at its stage)."""
    names = list(dict.fromkeys(k for _, st in rows for k in st))
    if not names:
        return []
    cols = head.count("|") + 1
    out = ["", title, "", f"| {head} | " + " | ".join(names) + " |", "|" + "---|" * (cols + len(names))]
    for label, st in rows:
        out.append(f"| {label} | " + " | ".join(f"{st[k].median:.2f}" if k in st else "–" for k in names) + " |")
    return out


def render(args: argparse.Namespace, models: list[ModelRow], starts: list[tuple[str, Stat, bool]],
           codemods: list[CodemodRow], tree_facts: tuple[int, float] | None,
           batches: list[tuple[str, Stat, str]], targets: list[TargetRow] | None = None,
           diags: list[DiagRow] | None = None) -> str:
    L: list[str] = ["# repair benchmarks", "", "Machine: " + "; ".join(machine()), "",
                    f"`{shlex.join(['python', 'bench/bench.py', *sys.argv[1:]])}` — runs per figure: {args.runs} "
                    f"(codemod: {args.codemod_runs}); "
                    "figures are median (min–max) over the runs; RSS is peak resident set (MB) of the whole process.", ""]
    L += summary(models, diags or [], targets or [], starts, codemods, tree_facts)
    if models:
        L += ["## repair fix vs physical floor", "", MODELS_NOTE, "",
              "Floor = fresh process: `import tensorflow` + `tf.saved_model.load` + `tf.saved_model.save(loaded, out, "
              "signatures=loaded.signatures['serving_default'])` + one `TFLiteConverter.from_saved_model(out).convert()` "
              "(bench/floor.py).", "",
              "fix/floor is the median (min–max) of each run's ratio; a run is `repair fix` then the floor, back to back.", "",
              "| arch | defect | `repair fix` s | floor s | fix/floor | fix RSS MB | floor RSS MB | RSS fix/floor "
              "| fix exit codes | floor exit codes |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for m in models:
            L.append(f"| {m.arch} | {m.defect} | {m.fix_s} | {m.floor_s} | {m.ratio} | {m.fix_rss} | {m.floor_rss} | "
                     f"{m.rss_ratio} | {','.join(map(str, m.fix_rcs))} | {','.join(map(str, m.floor_rcs))} |")
        L += _stage_table("`repair fix` stage times from report.json `timings_s`, plus what the child's clock does not see "
                          "(the supervisor that isolates converter crashes, and interpreter start-up); "
                          "`gate re-check` sums the after.* stages and tf_parity (median s):",
                          [(f"{m.arch} | {m.defect} | {', '.join(m.rewrites)}", m.stages) for m in models],
                          "arch | defect | fixes")
        L += _stage_table("Floor stage times (bench/floor.py's own clock; median s):",
                          [(f"{m.arch} | {m.defect}", m.floor_stages) for m in models], "arch | defect")
        L += ["", "Commands (`$WORK` is `--work`, default /tmp/repair-bench):", ""] + [f"- `{m.cmd}`" for m in models]
        L += ["- floor: `python bench/floor.py $WORK/models/ARCH/DEFECT/saved_model OUT TAGS` (TAGS `train` for "
              "train_tag, else `serve`)"]
    if diags:
        L += ["", "## repair diagnose vs one plain conversion", "",
              "Per run, `repair diagnose MODEL --json -q` then `python bench/convert_once.py MODEL TAGS` (import "
              "tensorflow + one default `TFLiteConverter.from_saved_model(MODEL, tags=TAGS).convert()`), back to back, "
              "each a fresh process. diagnose/conversion is the median (min–max) of each run's ratio.", "",
              "| arch | defect | `repair diagnose` s | conversion s | diagnose/conversion | diagnose RSS MB | conversion RSS MB "
              "| RSS ratio | diagnose exit codes | blocking findings | conversion |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for d in diags:
            L.append(f"| {d.arch} | {d.defect} | {d.diag_s} | {d.conv_s} | {d.ratio} | {d.diag_rss} | {d.conv_rss} | "
                     f"{d.rss_ratio} | {','.join(map(str, d.rcs))} | {','.join(map(str, sorted(set(d.blocking))))} | "
                     f"{'fails: ' + d.conv_error if d.conv_error else 'converts'} |")
        L += _stage_table("`repair diagnose` stage times from `--json` `timings_s` (median s):",
                          [(f"{d.arch} | {d.defect}", d.stages) for d in diags], "arch | defect")
        L += _stage_table("Plain conversion stage times (bench/convert_once.py's own clock; median s):",
                          [(f"{d.arch} | {d.defect}", d.conv_stages) for d in diags], "arch | defect")
        L += ["", "Command: `" + (diags[0].cmd.replace(f"{diags[0].arch}/{diags[0].defect}", "ARCH/DEFECT")) + "`"]
    if starts:
        L += ["", "## CLI start-up (median (min–max) of " + str(args.startup_runs) + ")", "",
              "| command | wall s | imports tensorflow |", "|---|---|---|"]
        L += [f"| `{c}` | {s} | {'yes' if tf else 'no'} |" for c, s, tf in starts]
        L += ["", "TensorFlow import checked with `python -X importtime .venv/bin/repair ...`."]
    if codemods and tree_facts:
        n, mb = tree_facts
        L += ["", f"## Codemod throughput: installed keras + tensorflow .py files ({n} files, {mb:.1f} MB, copied to the "
              "work dir)", "",
              "| tool | -j | wall s | files/s | MB/s | RSS MB | exit codes | ours/LibCST time |",
              "|---|---|---|---|---|---|---|---|"]
        for row in codemods:
            base = next((b for b in codemods if b.jobs == row.jobs and b.tool.startswith("libcst")), None)
            secs = row.wall.median
            vs = f"{secs / base.wall.median:.2f}" if base is not None else "not run (--skip codemod_libcst)"
            L.append(f"| {row.tool} | {row.jobs} | {row.wall} | {n / secs:.0f} | {mb / secs:.2f} | {row.rss} | "
                     f"{','.join(map(str, row.rcs))} | {vs} |")
        L += ["", "Last stderr lines:", ""] + [f"- {r.tool} -j {r.jobs}: `{r.note}`" for r in codemods]
        L += ["", "Commands:", ""] + [f"- `{r.cmd}`" for r in codemods]
        L += ["", "`repair codemod` skips files by a text pre-filter before parsing; LibCST's CLI parses, visits and "
              "prints every file (it skips files marked `@generated`). The ratio compares the two tools as used, not parsers."]
    if targets:
        L += ["", "## Deployment targets: what each adds to `repair fix`", "",
              "Per run, `repair fix` without `--target`, then with each target, back to back on the same model (medians "
              "(min–max) over the runs). `train_tag_static` = the train_tag defect exported with batch 1 "
              "(`model.export(dir, input_signature=[keras.InputSpec(shape=(1, 224, 224, 3))])`): the static-shape "
              "targets (gpu, micro) need a static batch, so every run does the same retag fix and no pin, and the "
              "difference is the target's work. The `train_tag` rows are the dynamic-batch model, where `--target gpu` "
              "also pins the batch to 1 (its consent), as a user of such a model pays it. `check s` is the target's own "
              "`seconds` in report.json (after = the gate's re-check; before = the first diagnosis, when it ran one).", "",
              "| arch | model | target | `repair fix` s | added s | ratio to no target | check s (after) | check s (before) "
              "| RSS MB | verdict | exit codes |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for t in targets:
            L.append(f"| {t.arch} | {t.model} | {t.target or '(none)'} | {t.fix_s} | {t.added_s} | {t.ratio} | {t.check_s} "
                     f"| {t.before_check_s} | {t.rss} | {', '.join(t.verdicts) or '–'} | {','.join(map(str, t.rcs))} |")
        L += _stage_table("Stage times of those fixes from report.json `timings_s` (median s):",
                          [(f"{t.arch} | {t.model} | {t.target or '(none)'}", t.stages) for t in targets],
                          "arch | model | target")
        L += ["", "Commands:", ""] + [f"- `{c}`" for c in dict.fromkeys(t.cmd for t in targets)]
    if batches:
        first = batches[0][1].median
        L += ["", f"## repair batch: {len(BATCH_ZOO)} models ({', '.join(f'{a}/{d}' for a, d in BATCH_ZOO)})", "",
              "| variant | wall s | speed-up vs -j 1 | last line |", "|---|---|---|---|"]
        L += [f"| `repair batch ZOO --out OUT {label}` | {wall} | {first / wall.median:.2f} | {note} |"
              for label, wall, note in batches]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/repair-bench"))
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--defects", default=",".join(DEFECTS))
    ap.add_argument("--startup-runs", type=int, default=10)
    ap.add_argument("--codemod-runs", type=int, default=1, help="LibCST's CLI takes ~9 min per -j 1 run on this tree")
    ap.add_argument("--codemod-packages", default="keras,tensorflow", help="comma list; empty skips the codemod part")
    ap.add_argument("--skip", default="",
                    help="comma list of parts to skip: models,diagnose,startup,codemod,codemod_libcst,batch,targets,"
                         "quantize,report_html (codemod_libcst: LibCST's own CLI, ~13 min per run)")
    ap.add_argument("--target-archs", default="", help="comma list of architectures for the targets part (default: --archs)")
    ap.add_argument("--batch-runs", type=int, default=1)
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    args.work.mkdir(parents=True, exist_ok=True)

    models: list[ModelRow] = []
    if "models" not in skip:
        for arch in args.archs.split(","):
            for defect in args.defects.split(","):
                print(f"{arch}/{defect}", flush=True)
                models.append(bench_model(arch, defect, args.work, args.runs))
    diags: list[DiagRow] = []
    if "diagnose" not in skip:
        for arch in args.archs.split(","):
            for defect in args.defects.split(","):
                print(f"{arch}/{defect} diagnose", flush=True)
                diags.append(bench_diagnose(arch, defect, args.work, args.runs))
    starts = [] if "startup" in skip else startup(args.startup_runs, args.work)
    codemods: list[CodemodRow] = []
    tree_facts = None
    if "codemod" not in skip and args.codemod_packages:
        tree, n, mb = codemod_tree(args.work, args.codemod_packages.split(","))
        tree_facts = (n, mb)
        codemods = bench_codemod(args.work, tree, args.codemod_runs, with_libcst="codemod_libcst" not in skip)
    batches = [] if "batch" in skip else bench_batch(args.work, args.batch_runs)
    targets: list[TargetRow] = []
    if "targets" not in skip:
        for arch in (args.target_archs or args.archs).split(","):
            print(f"{arch}/targets", flush=True)
            targets += bench_targets(arch, args.work, args.runs)
    if "quantize" not in skip:  # bench/quantize.py: MobileNetV2 and EfficientNetB0, written to results-quantize.md
        import quantize

        archs = tuple(a for a in args.archs.split(",") if a in quantize.ARCHS)
        if archs:
            quantize.bench(args.work, args.runs, archs, out=args.out.parent / "results-quantize.md")
    if "report_html" not in skip:  # bench/report_html.py: what report.html costs (graph change, render, layout)
        subprocess.run([sys.executable, str(Path(__file__).with_name("report_html.py")), "--work",
                        str(args.work / "report-html")], check=False)
    text = render(args, models, starts, codemods, tree_facts, batches, targets, diags)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
