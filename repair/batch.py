"""``repair batch``: run ``repair fix`` over a folder of models, one child process per model.

Each model runs as ``python -m repair.cli fix MODEL --out OUT/NAME --report OUT/NAME.report [flags]`` in its own
process group (so ``-j N`` means N TensorFlow processes and a timeout kills everything the child started), with
stdin closed: a batch never prompts. After each model the state file ``OUT/batch-state.json`` is replaced
atomically, so an interrupted batch resumes where it stopped. Nothing here imports TensorFlow.

Both engines share everything but the scheduling: ``Batch`` (validation, discovery, the state file, the result),
``Runner`` (the per-model command, timeout, classification by exit code) and ``write_summary``. ``run_batch`` runs
the models on a thread pool here; ``repair.batch_ray.run_batch_ray`` runs each one as a Ray task.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from repair.errors import BadInput
from repair.pipeline import check_out_beside

STATE_FILE = "batch-state.json"
STATUSES = ("repaired", "nothing-to-fix", "refused", "verification-failed", "bad-input", "error", "timeout")
SUCCESS = frozenset({"repaired", "nothing-to-fix"})
TRANSIENT = frozenset({"error", "timeout"})  # rerun on every resume; the others only with --retry-failed
MODEL_SUFFIXES = (".keras", ".h5", ".pb")
_BY_EXIT = {1: "refused", 2: "bad-input", 3: "verification-failed"}


@dataclass(frozen=True)
class Entry:
    """One model of the zoo. ``problem`` set: not a model, recorded as bad-input without running anything."""

    name: str
    path: Path
    problem: str = ""


@dataclass
class Outcome:
    """How one model ended; the row of the state file and of the summary."""

    name: str
    path: str
    status: str
    exit: int | None
    seconds: float
    message: str


@dataclass
class BatchResult:
    """The whole batch: every model's outcome (in zoo order) and what this invocation did."""

    outcomes: list[Outcome]
    ran: int
    skipped: int
    wall_seconds: float
    jobs: int
    engine: str = "local"

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for o in self.outcomes if o.status == s) for s in STATUSES}

    @property
    def exit_code(self) -> int:
        return 0 if all(o.status in SUCCESS for o in self.outcomes) else 1


def _is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


def discover(zoo: Path) -> list[Entry]:
    """The models directly inside ``zoo``, sorted by name; hidden entries are ignored.

    A directory with saved_model.pb(txt) is a SavedModel; a directory NAME holding ``saved_model/`` with one is the
    SavedModel NAME/saved_model; any other directory is an entry that is not a model (bad-input). A file ending in
    .keras, .h5 or .pb is a model named by its stem (by its full file name when two entries share a stem); other
    files are ignored.
    """
    found: list[tuple[str, Path, str]] = []
    for child in sorted(zoo.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if _is_saved_model(child):
                found.append((child.name, child, ""))
            elif _is_saved_model(child / "saved_model"):
                found.append((child.name, child / "saved_model", ""))
            else:
                found.append((child.name, child, "not a model: no saved_model.pb in it or in its saved_model/ folder"))
        elif child.is_file() and child.suffix in MODEL_SUFFIXES:
            found.append((child.stem, child, ""))
    stems = [name for name, _, _ in found]
    return [Entry(path.name if path.is_file() and stems.count(name) > 1 else name, path, problem)
            for name, path, problem in found]


def check_paths(zoo: Path, out: Path) -> None:
    """Refuse a zoo that is missing or not a folder, an OUT inside it, and an OUT that is not a batch's output."""
    if not zoo.is_dir():
        raise BadInput(f"{zoo}: no such folder" if not zoo.exists() else f"{zoo}: not a folder of models")
    if _is_saved_model(zoo):
        raise BadInput(f"{zoo} is itself a SavedModel; use `repair fix`, or give the folder that holds it")
    check_out_beside(zoo, out, "the zoo")
    if out.is_dir() and any(out.iterdir()) and not (out / STATE_FILE).is_file():
        raise BadInput(f"--out {out} is not empty and holds no {STATE_FILE}; give an empty or new folder")


def load_state(out: Path, fix_args: Sequence[str]) -> dict[str, Outcome]:
    """Outcomes of an earlier run into ``out``; none when it ran with other fix flags (its results do not apply)."""
    try:
        data = json.loads((out / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if data.get("fix_args") != list(fix_args):
        return {}
    return {name: Outcome(**row) for name, row in data.get("models", {}).items()}


def save_state(out: Path, zoo: Path, fix_args: Sequence[str], outcomes: dict[str, Outcome]) -> None:
    """Replace the state file atomically (write beside it, then rename)."""
    tmp = out / f".{STATE_FILE}.tmp"
    data = {"zoo": str(zoo), "fix_args": list(fix_args), "models": {n: asdict(o) for n, o in outcomes.items()}}
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, out / STATE_FILE)


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _clear(out: Path, name: str, report: bool = True) -> None:
    """Remove what an attempt at ``name`` left: its output, any scratch folder of the child, and its report."""
    for path in (out / name, *out.glob(f".repair-{name}-*"), *([out / f"{name}.report"] if report else [])):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


class Runner:
    """Runs one ``repair fix`` child per model; remembers the live ones so an interrupt can kill them all."""

    def __init__(self, out: Path, fix_args: Sequence[str], timeout: float | None) -> None:
        self.out, self.fix_args, self.timeout = out, list(fix_args), timeout
        self._live: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def command(self, entry: Entry) -> list[str]:
        return [sys.executable, "-m", "repair.cli", "fix", str(entry.path), "--out", str(self.out / entry.name),
                "--report", str(self.out / f"{entry.name}.report"), *self.fix_args]

    def run(self, entry: Entry) -> Outcome:
        """Repair one model; its log is OUT/NAME.report/fix.log. A timeout kills the process group, keeps nothing."""
        started = time.perf_counter()
        if entry.problem:
            return Outcome(entry.name, str(entry.path), "bad-input", None, 0.0, f"{entry.path}: {entry.problem}")
        _clear(self.out, entry.name)
        report = self.out / f"{entry.name}.report"
        report.mkdir(parents=True)
        log = report / "fix.log"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
        with log.open("wb") as fh:
            proc = subprocess.Popen(self.command(entry), stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True, env=env)
            with self._lock:
                self._live.add(proc)
            try:
                code: int | None = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._kill(proc)
                code = None
            except BaseException:  # interrupted (Ctrl-C, a cancelled Ray task): the child must not outlive us
                self._kill(proc)
                raise
            finally:
                with self._lock:
                    self._live.discard(proc)
        seconds = round(time.perf_counter() - started, 2)
        if code is None:
            _clear(self.out, entry.name, report=False)  # no half-written output or scratch; the log stays
            return Outcome(entry.name, str(entry.path), "timeout", None, seconds, f"killed after {self.timeout:g}s")
        try:
            reported = json.loads((report / "report.json").read_text())
        except (OSError, ValueError):
            reported = {}
        status = _BY_EXIT.get(code, "error")
        if code == 0:
            status = reported.get("status") if reported.get("status") in SUCCESS else "repaired"
        message = str(reported.get("message") or _last_line(log))
        return Outcome(entry.name, str(entry.path), status, code, seconds, message)

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def kill_all(self) -> None:
        """Kill every running child's process group (on Ctrl-C: the children run in their own sessions)."""
        with self._lock:
            live = list(self._live)
        for proc in live:
            self._kill(proc)


def check_limits(jobs: int | None, timeout: float | None) -> None:
    """-j and --timeout must be positive (``jobs`` None: the engine's default)."""
    if jobs is not None and jobs < 1:
        raise BadInput(f"--jobs {jobs}: must be 1 or more")
    if timeout is not None and timeout <= 0:
        raise BadInput(f"--timeout {timeout:g}: must be more than 0 seconds")


class Batch:
    """What a batch is, whichever engine runs it: the zoo's models, those that run this time, and the state.

    Creating one validates ZOO and OUT and discovers the models (nothing is written yet). ``start`` creates OUT and
    loads its state: the models already finished are skipped; errors and timeouts always rerun, the other failures
    with ``retry_failed``. ``record`` stores one outcome and replaces the state file atomically (any thread).
    """

    def __init__(self, zoo: Path, out: Path, fix_args: Sequence[str], *, retry_failed: bool = False) -> None:
        check_paths(zoo, out)
        self.zoo, self.out, self.fix_args, self.retry_failed = zoo, out, list(fix_args), retry_failed
        self.entries = discover(zoo)
        if not self.entries:
            raise BadInput(f"{zoo}: no models in it (SavedModel folders, .keras/.h5 files or frozen .pb files)")
        self.started = time.perf_counter()
        self.todo: list[Entry] = []
        self.state: dict[str, Outcome] = {}
        self._lock = threading.Lock()

    def start(self) -> list[Entry]:
        """Create OUT, load its state and save it back (pruned to this zoo); the entries to run this time."""
        self.out.mkdir(parents=True, exist_ok=True)
        state = load_state(self.out, self.fix_args)
        redo = TRANSIENT | (set(STATUSES) - SUCCESS if self.retry_failed else set())
        self.todo = [e for e in self.entries if e.name not in state or state[e.name].status in redo]
        names = {e.name for e in self.entries}
        self.state = {name: o for name, o in state.items() if name in names}
        save_state(self.out, self.zoo, self.fix_args, self.state)
        return self.todo

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.state[outcome.name] = outcome
            save_state(self.out, self.zoo, self.fix_args, self.state)

    def result(self, jobs: int, engine: str = "local") -> BatchResult:
        outcomes = [self.state[e.name] for e in self.entries]
        return BatchResult(outcomes, len(self.todo), len(self.entries) - len(self.todo),
                           round(time.perf_counter() - self.started, 2), jobs, engine)


def run_batch(zoo: Path, out: Path, fix_args: Sequence[str], *, jobs: int = 1, timeout: float | None = None,
              retry_failed: bool = False, on_start: Callable[[int], None] = lambda n: None,
              on_done: Callable[[Outcome], None] = lambda o: None) -> BatchResult:
    """Repair every model of ``zoo`` into ``out``, ``jobs`` at a time, resuming from ``out``'s state file.

    ``on_start`` gets how many models will run; ``on_done`` each finished outcome (called from worker threads).
    """
    check_limits(jobs, timeout)
    batch = Batch(zoo, out, fix_args, retry_failed=retry_failed)
    batch.start()
    runner = Runner(out, fix_args, timeout)

    def work(entry: Entry) -> None:
        outcome = runner.run(entry)
        batch.record(outcome)
        on_done(outcome)

    on_start(len(batch.todo))
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        for future in [pool.submit(work, e) for e in batch.todo]:
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        runner.kill_all()
        raise
    pool.shutdown()
    return batch.result(jobs)


def write_summary(result: BatchResult, zoo: Path, out: Path) -> tuple[Path, Path]:
    """OUT/summary.json and OUT/summary.md: counts per status, one row per model, wall time and -j."""
    counts = result.counts()
    data = {"zoo": str(zoo), "engine": result.engine, "jobs": result.jobs, "wall_seconds": result.wall_seconds,
            "ran": result.ran, "skipped": result.skipped, "exit_code": result.exit_code, "counts": counts,
            "models": [asdict(o) for o in result.outcomes]}
    json_path, md_path = out / "summary.json", out / "summary.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    lines = [f"# repair batch: {zoo}", "",
             f"{len(result.outcomes)} model(s); ran {result.ran}, skipped {result.skipped} (already finished); "
             f"-j {result.jobs}{' on ray' if result.engine == 'ray' else ''}; wall time {result.wall_seconds:.1f}s; "
             f"exit {result.exit_code}", "",
             "| status | models |", "|---|---|", *(f"| {s} | {n} |" for s, n in counts.items() if n), "",
             "| model | status | exit | seconds | message |", "|---|---|---|---|---|"]
    for o in result.outcomes:
        message = o.message.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {o.name} | {o.status} | {'-' if o.exit is None else o.exit} | {o.seconds:.1f} | {message} |")
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
