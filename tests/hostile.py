"""The hostile-input harness: run the installed ``repair`` as a user would and check what it must never do.

Every probe of the hostile suites (tests/test_hostile_*.py) runs the real entry point (the supervisor parent
and its TensorFlow child) in a fresh process and asserts, beside its own expectation:

- the documented exit code, and one clear ``repair:`` line on stderr (no traceback, ever);
- the input is byte-identical afterwards (a digest of every file's path and bytes);
- ``--out`` is absent or complete (a SavedModel with model.tflite and both reports), never half-written;
- no scratch directory is left beside ``--out``;
- no marker file written by a payload inside the model;
- no process of the run is left behind (each run gets a unique token in its environment; the harness looks
  for any live process whose environment carries it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import tree_digest

REPAIR = [sys.executable, "-c", "import sys; from repair.supervise import main; sys.argv[0] = 'repair'; main()"]
TOKEN_VAR = "REPAIR_HOSTILE_PROBE"


@dataclass
class Probe:
    """What one run did."""

    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    token: str
    seconds: float
    leftovers: list[int] = field(default_factory=list)  # pids still alive that carry the run's token

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("repair:")]

    def one_line(self) -> str:
        """The single ``repair: ...`` line the run ended with (asserts there is exactly one)."""
        lines = self.error_lines
        assert len(lines) == 1, f"expected one 'repair:' line, got {len(lines)}:\n{self.stderr[-3000:]}"
        return lines[0]

    def show(self) -> str:
        return (f"$ repair {' '.join(self.args)}\nexit {self.exit_code}\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}")


def processes_with(token: str) -> list[int]:
    """Live processes whose environment carries ``TOKEN_VAR=token`` (Linux /proc)."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_gone(token: str, seconds: float = 10.0) -> list[int]:
    """Give a run's processes up to ``seconds`` to exit; return those still alive (and kill them)."""
    deadline = time.monotonic() + seconds
    alive = processes_with(token)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = processes_with(token)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return alive


def environment(token: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, **{TOKEN_VAR: token, "TF_CPP_MIN_LOG_LEVEL": "3"})
    env.pop("REPAIR_DEBUG", None)
    env.pop("REPAIR_NO_SUPERVISOR", None)
    env.update(extra or {})
    return env


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600,
        stdin: str | None = None) -> Probe:
    """Run ``repair ARGS`` to completion in a fresh process; record leftovers."""
    token = uuid.uuid4().hex
    argv = [os.fsdecode(a) if isinstance(a, Path) else a for a in args]
    started = time.monotonic()
    proc = subprocess.run([*REPAIR, *argv], capture_output=True, text=True, errors="replace", timeout=timeout,
                          cwd=cwd, env=environment(token, env), input=stdin if stdin is not None else "")
    probe = Probe(argv, proc.returncode, proc.stdout, proc.stderr, token, time.monotonic() - started)
    probe.leftovers = wait_gone(token)
    return probe


def start(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``repair ARGS`` in the background (its own session, so a test can signal it like a shell would)."""
    token = uuid.uuid4().hex
    argv = [os.fsdecode(a) if isinstance(a, Path) else a for a in args]
    proc = subprocess.Popen([*REPAIR, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, errors="replace", cwd=cwd, env=environment(token, env), start_new_session=True)
    return proc, token


# Exit codes that end a run with an error and its one 'repair:' line. Exit 1 (diagnose: blocking findings; fix:
# refused) and 3 (fix: verification failed) are results: their report is stdout, and a probe that expects a line
# there asks for it with ``probe.one_line()``.
ERROR_EXITS = frozenset({2, 4})


def assert_clean(probe: Probe, *, code: int | Sequence[int], input_path: Path | None = None, digest: str | None = None,
                 out: Path | None = None, markers: Sequence[Path] = ()) -> None:
    """The invariants every probe keeps, whatever it probes."""
    codes = (code,) if isinstance(code, int) else tuple(code)
    assert probe.exit_code in codes, probe.show()
    assert "Traceback (most recent call last)" not in probe.stderr + probe.stdout, probe.show()
    if probe.exit_code in ERROR_EXITS:
        probe.one_line()
    if input_path is not None and digest is not None:
        assert tree_digest(input_path) == digest, f"the input changed\n{probe.show()}"
    if out is not None:
        assert_out_absent_or_complete(out)
    for marker in markers:
        assert not marker.exists(), f"a payload ran: {marker} exists\n{probe.show()}"
    assert not probe.leftovers, f"processes left running: {probe.leftovers}\n{probe.show()}"


def assert_out_absent_or_complete(out: Path) -> None:
    if out.exists():
        names = {p.name for p in out.iterdir()}
        missing = {"saved_model.pb", "model.tflite", "report.md", "report.json"} - names
        assert not missing, f"{out} is half-written: missing {sorted(missing)}"
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".repair-{out.name}")] if out.parent.exists() else []
    assert not leftovers, f"scratch left beside --out: {leftovers}"
