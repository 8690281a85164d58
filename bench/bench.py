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
    rewrites: list[str] = field(default_factory=list)
    cmd: str = ""
    ratio: Stat = field(default_factory=Stat)  # fix / floor of the same run (back to back: same machine load)


def stages(report: dict) -> dict[str, float]:  # type: ignore[type-arg]
    """Where `repair fix` spent its time: diagnosis before, the rewrites, the gate's diagnosis after, the rest."""
    out: dict[str, float] = {}
    before = (report.get("before") or {}).get("timings_s") or {}
    after = (report.get("after") or {}).get("timings_s") or {}
    out.update({f"before.{k}": float(v) for k, v in before.items()})
    if after != before:  # when no fix was applied the report repeats the first diagnosis as "after"
        out.update({f"after.{k}": float(v) for k, v in after.items()})
    out["rewrites"] = sum(float(f.get("seconds") or 0) for f in report.get("fixes", []))
    out.update({k: float(v) for k, v in report["timings_s"].items() if k != "total"})  # open (TF import), export, tf_parity
    total = float(report["timings_s"]["total"])
    out["other (publish, reports)"] = total - sum(out.values())
    out["total (in-process)"] = total
    return out


def bench_model(arch: str, defect: str, work: Path, runs: int) -> ModelRow:
    src, meta = build(arch, defect, work)
    row = ModelRow(arch, defect)
    tags = ",".join(meta["tags"])  # type: ignore[arg-type]
    for i in range(runs):
        out = work / "out" / arch / defect
        shutil.rmtree(out.parent, ignore_errors=True)
        out.parent.mkdir(parents=True)
        cmd = [REPAIR, "fix", str(src), "--out", str(out / "fixed"), *fix_flags(defect, meta)]
        row.cmd = shlex.join(cmd)
        r = run(cmd)
        row.fix_rcs.append(r.rc)
        if r.rc == 0:
            row.fix_s.values.append(r.wall)
            row.fix_rss.values.append(r.rss_mb)
            report = json.loads((out / "fixed" / "report.json").read_text())
            for k, v in stages(report).items():
                row.stages.setdefault(k, Stat()).values.append(v)
            row.rewrites = [f"{f['rewrite']} ({f['outcome']})" for f in report.get("fixes", [])]
        else:
            print(f"  repair fix exit {r.rc}: {r.stderr.strip().splitlines()[-1:] }", flush=True)
        f = run([PY, str(HERE / "floor.py"), str(src), str(out / "floor"), tags])
        row.floor_rcs.append(f.rc)
        if f.rc == 0:
            row.floor_s.values.append(f.wall)
            row.floor_rss.values.append(f.rss_mb)
        else:
            print(f"  floor exit {f.rc}: {f.stderr.strip().splitlines()[-1:]}", flush=True)
        if r.rc == 0 and f.rc == 0:
            row.ratio.values.append(r.wall / f.wall)
        print(f"  {arch}/{defect} run {i + 1}: fix {r.wall:.1f}s rc={r.rc}, floor {f.wall:.1f}s rc={f.rc}", flush=True)
    shutil.rmtree(work / "out" / arch, ignore_errors=True)
    return row


def startup(n: int) -> list[tuple[str, Stat, bool]]:
    rows = []
    for args in (["--help"], ["codemod", "--help"]):
        s = Stat()
        for _ in range(n):
            r = run([REPAIR, *args])
            s.values.append(r.wall)
        imp = subprocess.run([PY, "-X", "importtime", REPAIR, *args], capture_output=True, text=True)
        tf_imported = any(ln.rsplit("|", 1)[-1].strip() == "tensorflow" for ln in imp.stderr.splitlines())
        rows.append(("repair " + " ".join(args), s, tf_imported))
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


def bench_codemod(work: Path, tree: Path, runs: int) -> list[CodemodRow]:
    cfg_dir = work  # the tree lies inside it, so LibCST can name modules
    if not (cfg_dir / ".libcst.codemod.yaml").exists():
        cfg_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, "-m", "libcst.tool", "initialize", "."], cwd=cfg_dir, check=True, capture_output=True)
    libcst_env = {"PYTHONPATH": str(HERE)}
    rows = []
    for jobs in (1, 2):
        ours = CodemodRow("repair codemod (diff mode)", jobs)
        ours.cmd = shlex.join([REPAIR, "codemod", str(tree), "-j", str(jobs)])
        lib = CodemodRow("libcst.tool codemod (no-op)", jobs)
        lib.cmd = shlex.join([PY, "-m", "libcst.tool", "codemod", "-x", "noop_codemod.NoopCommand", "--no-format",
                              "-u", "--hide-progress", "-j", str(jobs), str(tree)])
        for _ in range(runs):
            r = run(shlex.split(ours.cmd))
            ours.wall.values.append(r.wall)
            ours.rss.values.append(r.rss_mb)
            ours.rcs.append(r.rc)
            ours.note = (r.stderr.strip().splitlines() or [""])[-1]
            r = run(shlex.split(lib.cmd), env=libcst_env, cwd=cfg_dir)
            lib.wall.values.append(r.wall)
            lib.rss.values.append(r.rss_mb)
            lib.rcs.append(r.rc)
            lib.note = " ".join(ln.strip() for ln in r.stderr.strip().splitlines()[-4:])
            print(f"  codemod -j {jobs}: ours {ours.wall.values[-1]:.1f}s, libcst {lib.wall.values[-1]:.1f}s", flush=True)
        rows += [ours, lib]
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
            if not target:
                base[model] = r.wall
            elif model in base:
                row.added_s.values.append(r.wall - base[model])
                row.ratio.values.append(r.wall / base[model])
            path = next((p for p in (out / "fixed" / "report.json", out / "report" / "report.json") if p.exists()), None)
            report = json.loads(path.read_text()) if path else {}
            if report:
                for k, v in stages(report).items():
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


def render(args: argparse.Namespace, models: list[ModelRow], starts: list[tuple[str, Stat, bool]],
           codemods: list[CodemodRow], tree_facts: tuple[int, float] | None,
           batches: list[tuple[str, Stat, str]], targets: list[TargetRow] | None = None) -> str:
    L: list[str] = ["# repair benchmarks", "", "Machine: " + "; ".join(machine()), "",
                    f"`{shlex.join(['python', 'bench/bench.py', *sys.argv[1:]])}` — runs per figure: {args.runs} "
                    f"(codemod: {args.codemod_runs}); "
                    "figures are median (min–max) over the runs; RSS is peak resident set (MB) of the whole process.", ""]
    if models:
        L += ["## repair fix vs physical floor", "", MODELS_NOTE, "",
              "Floor = fresh process: `import tensorflow` + `tf.saved_model.load` + `tf.saved_model.save(loaded, out, "
              "signatures=loaded.signatures['serving_default'])` + one `TFLiteConverter.from_saved_model(out).convert()` "
              "(bench/floor.py).", "",
              "fix/floor is the median (min–max) of each run's ratio; a run is `repair fix` then the floor, back to back.", "",
              "| arch | defect | `repair fix` s | floor s | fix/floor | fix RSS MB | floor RSS MB | fix exit codes "
              "| floor exit codes |",
              "|---|---|---|---|---|---|---|---|---|"]
        for m in models:
            L.append(f"| {m.arch} | {m.defect} | {m.fix_s} | {m.floor_s} | {m.ratio} | {m.fix_rss} | {m.floor_rss} | "
                     f"{','.join(map(str, m.fix_rcs))} | {','.join(map(str, m.floor_rcs))} |")
        stages = list(dict.fromkeys(k for m in models for k in m.stages))
        if stages:
            L += ["", "`repair fix` stage times from report.json `timings_s` (median s):", "",
                  "| arch | defect | fixes | " + " | ".join(stages) + " |", "|---|---|---|" + "---|" * len(stages)]
            for m in models:
                L.append(f"| {m.arch} | {m.defect} | {', '.join(m.rewrites)} | " + " | ".join(
                    f"{m.stages[k].median:.2f}" if k in m.stages else "–" for k in stages) + " |")
        L += ["", "Commands:", ""] + [f"- `{m.cmd}`" for m in models]
        L += [f"- floor: `{PY} bench/floor.py SRC OUT TAGS` (TAGS `train` for train_tag, else `serve`)"]
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
            base = next(b for b in codemods if b.jobs == row.jobs and b.tool.startswith("libcst"))
            t = row.wall.median
            L.append(f"| {row.tool} | {row.jobs} | {row.wall} | {n / t:.0f} | {mb / t:.2f} | {row.rss} | "
                     f"{','.join(map(str, row.rcs))} | {t / base.wall.median:.2f} |")
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
              "| verdict | exit codes |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for t in targets:
            L.append(f"| {t.arch} | {t.model} | {t.target or '(none)'} | {t.fix_s} | {t.added_s} | {t.ratio} | {t.check_s} "
                     f"| {t.before_check_s} | {', '.join(t.verdicts) or '–'} | {','.join(map(str, t.rcs))} |")
        names = list(dict.fromkeys(k for t in targets for k in t.stages))
        if names:
            L += ["", "Stage times of those fixes from report.json `timings_s` (median s):", "",
                  "| arch | model | target | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
            for t in targets:
                L.append(f"| {t.arch} | {t.model} | {t.target or '(none)'} | " + " | ".join(
                    f"{t.stages[k].median:.2f}" if k in t.stages else "–" for k in names) + " |")
        L += ["", "Commands:", ""] + [f"- `{c}`" for c in dict.fromkeys(t.cmd for t in targets)]
    if batches:
        base = batches[0][1].median
        L += ["", f"## repair batch: {len(BATCH_ZOO)} models ({', '.join(f'{a}/{d}' for a, d in BATCH_ZOO)})", "",
              "| variant | wall s | speed-up vs -j 1 | last line |", "|---|---|---|---|"]
        L += [f"| `repair batch ZOO --out OUT {label}` | {wall} | {base / wall.median:.2f} | {note} |"
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
                    help="comma list of parts to skip: models,startup,codemod,batch,targets,quantize,report_html")
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
    starts = [] if "startup" in skip else startup(args.startup_runs)
    codemods: list[CodemodRow] = []
    tree_facts = None
    if "codemod" not in skip and args.codemod_packages:
        tree, n, mb = codemod_tree(args.work, args.codemod_packages.split(","))
        tree_facts = (n, mb)
        codemods = bench_codemod(args.work, tree, args.codemod_runs)
    batches = [] if "batch" in skip else bench_batch(args.work, args.batch_runs)
    targets: list[TargetRow] = []
    if "targets" not in skip:
        for arch in args.archs.split(","):
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
    text = render(args, models, starts, codemods, tree_facts, batches, targets)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
