"""``repair batch``: run ``repair fix`` over a folder of models, one child process per model.

Each model runs as ``python -m repair.cli fix MODEL --out OUT/NAME --report OUT/NAME.report [flags]`` in its own
process group (so ``-j N`` means N TensorFlow processes and a timeout kills everything the child started), with
stdin closed: a batch never prompts. After each model the state file ``OUT/batch-state.json`` is replaced
atomically, so an interrupted batch resumes where it stopped. Nothing here imports TensorFlow.

No child outlives its driver: SIGINT, SIGTERM and SIGHUP kill every running child's process group, remove what
they left in OUT and end the batch with ``Interrupted`` (the state keeps only what finished); a driver killed
outright (kill -9, or a Ray worker force-killed) takes its children along through PR_SET_PDEATHSIG. The state
lists the models whose child was started and not yet recorded (``running``): a resume records such a model from
its reports when its child had published it complete and repaired, and redoes it otherwise.

Both engines share everything but the scheduling: ``Batch`` (validation, discovery, the state file, the result),
``Runner`` (the per-model command, timeout, classification by exit code) and ``write_summary``. ``run_batch`` runs
the models on a thread pool here; ``repair.batch.ray.run_batch_ray`` runs each one as a Ray task.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from repair.core.crash import ENV_DIE_WITH
from repair.core.errors import BadInput
from repair.core.publish import check_out_beside
from repair.core.text import count, markdown


class BatchStatus(enum.Enum):
    """How one model of a batch ended. The values are what the state file and the summaries hold; the order is the
    summaries' order."""

    REPAIRED = "repaired"
    NOTHING_TO_FIX = "nothing-to-fix"
    REFUSED = "refused"
    VERIFICATION_FAILED = "verification-failed"
    BAD_INPUT = "bad-input"
    ERROR = "error"
    TIMEOUT = "timeout"


STATE_FILE = "batch-state.json"
SUCCESS = frozenset({BatchStatus.REPAIRED, BatchStatus.NOTHING_TO_FIX})
TRANSIENT = frozenset({BatchStatus.ERROR, BatchStatus.TIMEOUT})  # rerun on every resume; the others only with --retry-failed
MODEL_SUFFIXES = (".keras", ".h5", ".pb")
_SUCCESS_VALUES = frozenset(s.value for s in SUCCESS)  # a child's report.json says "repaired" or "nothing-to-fix"
_BY_EXIT = {1: BatchStatus.REFUSED, 2: BatchStatus.BAD_INPUT, 3: BatchStatus.VERIFICATION_FAILED}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PUBLISHED = ("saved_model.pb", "model.tflite", "report.md", "report.json")  # what `repair fix --out` always holds
# The cluster's credentials never reach a child that runs an untrusted model (Ray workers have them).
_CHILD_ENV_DROP = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


class Interrupted(BaseException):
    """The driver got SIGINT/SIGTERM/SIGHUP: its children are dead and the state file holds what finished."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention for a process ended by signal N


class _Stopped(Exception):
    """A model's child was killed because the batch is stopping: nothing to record."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into ``Interrupted`` in the main thread while the batch runs.

    The handler then ignores those signals, so that a second ``kill`` cannot cut the cleanup (killing the children,
    waiting for their threads, writing the state) short; the previous handlers come back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():  # signal.signal works in the main thread only
        yield
        return

    def handler(signum: int, frame: object) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


@dataclass(frozen=True)
class ZooEntry:
    """One model of the zoo. ``problem`` set: not a model, recorded as bad-input without running anything."""

    name: str
    path: Path
    problem: str = ""


@dataclass
class ModelOutcome:
    """How one model ended; the row of the state file and of the summary (``row``/``from_row``)."""

    name: str
    path: str
    status: BatchStatus
    exit: int | None
    seconds: float
    message: str

    def row(self) -> dict[str, object]:
        """The JSON row: the fields in order, the status as its string."""
        return {**asdict(self), "status": self.status.value}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelOutcome:
        """A row of a state file (TypeError or ValueError when it is not one this tool wrote)."""
        return cls(**{**row, "status": BatchStatus(row["status"])})


@dataclass
class BatchResult:
    """The whole batch: every model's outcome (in zoo order) and what this invocation did."""

    outcomes: list[ModelOutcome]
    ran: int
    skipped: int
    wall_seconds: float
    jobs: int
    engine: str = "local"

    def counts(self) -> dict[BatchStatus, int]:
        return {s: sum(1 for o in self.outcomes if o.status is s) for s in BatchStatus}

    @property
    def exit_code(self) -> int:
        return 0 if all(o.status in SUCCESS for o in self.outcomes) else 1


def _is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


def discover(zoo: Path) -> list[ZooEntry]:
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
    return [ZooEntry(path.name if path.is_file() and stems.count(name) > 1 else name, path, problem)
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


def load_state(out: Path, fix_args: Sequence[str]) -> tuple[dict[str, ModelOutcome], set[str]]:
    """Outcomes of an earlier run into ``out`` and the models it had started but not recorded; none of either when
    it ran with other fix flags (its results do not apply) or the file is not a state this tool wrote."""
    try:
        data = json.loads((out / STATE_FILE).read_text())
        if data.get("fix_args") != list(fix_args):
            return {}, set()
        outcomes = {name: ModelOutcome.from_row(row) for name, row in data.get("models", {}).items()}
        running = {str(name) for name in data.get("running", [])}
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return {}, set()
    return outcomes, running


def save_state(out: Path, zoo: Path, fix_args: Sequence[str], outcomes: dict[str, ModelOutcome],
               running: set[str] | frozenset[str] = frozenset()) -> None:
    """Replace the state file atomically (write beside it, then rename)."""
    tmp = out / f".{STATE_FILE}.tmp"
    data = {"zoo": str(zoo), "fix_args": list(fix_args), "models": {n: o.row() for n, o in outcomes.items()},
            "running": sorted(running)}
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, out / STATE_FILE)


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def clear_attempt(out: Path, name: str, report: bool = True) -> None:
    """Remove what an attempt at ``name`` left: its output, any scratch folder of the child, and its report."""
    for path in (out / name, *out.glob(f".repair-{name}-*"), *([out / f"{name}.report"] if report else [])):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def adopt(out: Path, entry: ZooEntry) -> ModelOutcome | None:
    """The outcome of a model whose child published OUT/NAME before its driver died, read from its reports.

    Only a complete publish (``repair fix`` renames a finished folder into place) whose two report.json (in
    OUT/NAME and OUT/NAME.report, written by the same run) agree that this input was repaired into this OUT/NAME
    with exit 0 is adopted; anything else is None: the model is redone.
    """
    published, report_dir = out / entry.name, out / f"{entry.name}.report"
    if not all((published / name).is_file() for name in PUBLISHED):
        return None
    try:
        reports = [json.loads((d / "report.json").read_text()) for d in (published, report_dir)]
        facts = [(r["status"], r["exit_code"], r["message"], Path(r["input"]).resolve(), Path(r["out"]).resolve())
                 for r in reports]
        seconds = float(reports[1].get("timings_s", {}).get("total", 0.0))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    status, code, message, source, target = facts[0]
    if facts[0] != facts[1] or status not in _SUCCESS_VALUES or code != 0:
        return None
    if source != entry.path.resolve() or target != published.resolve():
        return None
    return ModelOutcome(entry.name, str(entry.path), BatchStatus(status), 0, round(seconds, 2), str(message))


class Runner:
    """Runs one ``repair fix`` child per model; remembers the live ones so an interrupt can kill them all."""

    def __init__(self, out: Path, fix_args: Sequence[str], timeout: float | None,
                 on_spawn: Callable[[ZooEntry], None] = lambda e: None) -> None:
        self.out, self.fix_args, self.timeout, self.on_spawn = out, list(fix_args), timeout, on_spawn
        self._live: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self.stopping = False

    def command(self, entry: ZooEntry) -> list[str]:
        return [sys.executable, "-m", "repair.cli", "fix", str(entry.path), "--out", str(self.out / entry.name),
                "--report", str(self.out / f"{entry.name}.report"), *self.fix_args]

    def run(self, entry: ZooEntry) -> ModelOutcome:
        """Repair one model; its log is OUT/NAME.report/fix.log. A timeout kills the process group, keeps nothing."""
        started = time.perf_counter()
        if entry.problem:
            return ModelOutcome(entry.name, str(entry.path), BatchStatus.BAD_INPUT, None, 0.0,
                                f"{entry.path}: {entry.problem}")
        clear_attempt(self.out, entry.name)
        report = self.out / f"{entry.name}.report"
        report.mkdir(parents=True)
        log = report / "fix.log"
        env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
        env["TF_CPP_MIN_LOG_LEVEL"] = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")
        env[ENV_DIE_WITH] = str(os.getpid())  # the child asks Linux to kill it when this driver dies (repair/core/crash.py)
        with log.open("wb") as fh:
            with self._lock:  # started under the lock: stop() kills every child, never one starting beside it
                if self.stopping:
                    raise _Stopped(entry.name)
                self.on_spawn(entry)
                proc = subprocess.Popen(self.command(entry), stdin=subprocess.DEVNULL, stdout=fh,
                                        stderr=subprocess.STDOUT, start_new_session=True, env=env)
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
        if self.stopping and (code is None or code < 0):  # killed as the batch stops: not an outcome, nothing kept
            clear_attempt(self.out, entry.name, report=False)
            raise _Stopped(entry.name)
        if code is None:
            clear_attempt(self.out, entry.name, report=False)  # no half-written output or scratch; the log stays
            return ModelOutcome(entry.name, str(entry.path), BatchStatus.TIMEOUT, None, seconds,
                                f"killed after {self.timeout:g}s")
        try:
            reported = json.loads((report / "report.json").read_text())
        except (OSError, ValueError):
            reported = {}
        if not isinstance(reported, dict) or reported.get("exit_code") != code:  # not this exit's report: unused
            reported = {}
        status = _BY_EXIT.get(code, BatchStatus.ERROR)
        if code == 0:
            said = reported.get("status")
            if said not in _SUCCESS_VALUES:  # never guessed: an exit 0 without its report is redone on the next run
                return ModelOutcome(entry.name, str(entry.path), BatchStatus.ERROR, code, seconds,
                                    f"exit 0 but no report.json saying repaired or nothing-to-fix in {report}")
            status = BatchStatus(said)
        message = str(reported.get("message") or _last_line(log))
        return ModelOutcome(entry.name, str(entry.path), status, code, seconds, message)

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def stop(self) -> None:
        """Start no more children and kill every running child's process group (they run in their own sessions,
        so a signal to the driver does not reach them); each killed model's ``run`` raises ``_Stopped``."""
        with self._lock:
            self.stopping = True
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
        self.todo: list[ZooEntry] = []
        self.state: dict[str, ModelOutcome] = {}
        self.running: set[str] = set()
        self.adopted: list[str] = []
        self._lock = threading.Lock()

    def start(self) -> list[ZooEntry]:
        """Create OUT, load its state and save it back (pruned to this zoo); the entries to run this time.

        A model an earlier driver had started and not recorded (it died) is recorded from its reports when its child
        had published it (``adopt``), and runs again otherwise.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        state, started = load_state(self.out, self.fix_args)
        redo = TRANSIENT | (set(BatchStatus) - SUCCESS if self.retry_failed else set())
        names = {e.name for e in self.entries}
        self.state = {name: o for name, o in state.items() if name in names}
        self.todo = []
        for entry in self.entries:
            if entry.name in self.state and self.state[entry.name].status not in redo:
                continue
            adopted = adopt(self.out, entry) if entry.name in started and entry.name not in self.state else None
            if adopted is not None:
                self.state[entry.name] = adopted
                self.adopted.append(entry.name)
            else:
                self.todo.append(entry)
        save_state(self.out, self.zoo, self.fix_args, self.state)
        return self.todo

    def begin(self, entry: ZooEntry) -> None:
        """Note in the state that ``entry``'s child is about to start (before it can publish anything)."""
        with self._lock:
            self.running.add(entry.name)
            save_state(self.out, self.zoo, self.fix_args, self.state, self.running)

    def record(self, outcome: ModelOutcome) -> None:
        with self._lock:
            self.state[outcome.name] = outcome
            self.running.discard(outcome.name)
            save_state(self.out, self.zoo, self.fix_args, self.state, self.running)

    def abandon(self, names: Sequence[str]) -> None:
        """Forget models whose child was killed (the batch stops): a resume redoes them."""
        with self._lock:
            self.running.difference_update(names)
            save_state(self.out, self.zoo, self.fix_args, self.state, self.running)

    def result(self, jobs: int, engine: str = "local") -> BatchResult:
        outcomes = [self.state[e.name] for e in self.entries]
        return BatchResult(outcomes, len(self.todo), len(self.entries) - len(self.todo),
                           round(time.perf_counter() - self.started, 2), jobs, engine)


def run_batch(zoo: Path, out: Path, fix_args: Sequence[str], *, jobs: int = 1, timeout: float | None = None,
              retry_failed: bool = False, on_start: Callable[[int], None] = lambda n: None,
              on_done: Callable[[ModelOutcome], None] = lambda o: None) -> BatchResult:
    """Repair every model of ``zoo`` into ``out``, ``jobs`` at a time, resuming from ``out``'s state file.

    ``on_start`` gets how many models will run; ``on_done`` each finished outcome (called from worker threads).
    SIGINT, SIGTERM or SIGHUP kill the running children, wait for their threads and raise ``Interrupted``.
    """
    check_limits(jobs, timeout)
    batch = Batch(zoo, out, fix_args, retry_failed=retry_failed)
    with stop_on_signals():
        batch.start()
        runner = Runner(out, fix_args, timeout, on_spawn=batch.begin)
        stopped: list[str] = []

        def work(entry: ZooEntry) -> None:
            try:
                outcome = runner.run(entry)
            except _Stopped:
                stopped.append(entry.name)
                return
            batch.record(outcome)
            on_done(outcome)

        on_start(len(batch.todo))
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            for future in [pool.submit(work, e) for e in batch.todo]:
                future.result()
        except BaseException:
            runner.stop()
            pool.shutdown(wait=True, cancel_futures=True)  # the children are dead: their threads return at once
            batch.abandon(stopped)
            raise
        pool.shutdown()
    return batch.result(jobs)


def write_summary(result: BatchResult, zoo: Path, out: Path) -> tuple[Path, Path]:
    """OUT/summary.json and OUT/summary.md: counts per status, one row per model, wall time and -j."""
    counts = {s.value: n for s, n in result.counts().items()}
    data = {"zoo": str(zoo), "engine": result.engine, "jobs": result.jobs, "wall_seconds": result.wall_seconds,
            "ran": result.ran, "skipped": result.skipped, "exit_code": result.exit_code, "counts": counts,
            "models": [o.row() for o in result.outcomes]}
    json_path, md_path = out / "summary.json", out / "summary.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    lines = [f"# repair batch: {markdown(zoo)}", "",
             f"{count(len(result.outcomes), 'model')}; ran {result.ran}, skipped {result.skipped} (already finished); "
             f"-j {result.jobs}{' on ray' if result.engine == 'ray' else ''}; wall time {result.wall_seconds:.1f}s; "
             f"exit {result.exit_code}", "",
             "| status | models |", "|---|---|", *(f"| {s} | {n} |" for s, n in counts.items() if n), "",
             "| model | status | exit | seconds | message |", "|---|---|---|---|---|"]
    for o in result.outcomes:  # names come from the file system, messages quote the model: escaped per cell
        lines.append(f"| {markdown(o.name)} | {o.status.value} | {'-' if o.exit is None else o.exit} | {o.seconds:.1f} "
                     f"| {markdown(o.message)} |")
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
