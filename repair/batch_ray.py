"""``repair batch --engine ray``: the same batch as ``repair.batch``, each model one Ray task.

The task (``fix_one``) runs on a worker and does exactly what the local engine does for one model: ``Runner.run``,
i.e. the ``repair fix`` child process in its own process group, killed at ``--timeout``, classified by its exit code.
The driver (``run_batch_ray``) keeps at most ``jobs`` tasks in flight, collects them with ``ray.wait`` as they
finish and records each outcome in the same state file (``Batch.record``: replaced atomically after every model), so
resume and ``--retry-failed`` work the same whichever engine wrote the state.

Workers read ZOO and write OUT themselves: both must be on a filesystem every node sees at the same path (a local
cluster trivially does). ``ray`` is imported inside ``run_batch_ray`` only: ``repair --help`` never imports it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from repair.batch import Batch, BatchResult, Entry, Outcome, Runner, _clear, check_limits
from repair.errors import BadInput

RAY_MISSING = "--engine ray needs the ray extra: pip install 'repair[ray]'"
TIMEOUT_GRACE = 30.0  # a started task still out this long past --timeout is cancelled (the Runner should have returned)
CANCEL_WAIT = 10.0  # a cancelled task still out this long is force-cancelled (its worker killed) and given up on
POLL = 1.0  # seconds between checks on tasks in flight when none finishes
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fix_one(out: str, fix_args: Sequence[str], timeout: float | None, entry: Entry) -> Outcome:
    """The Ray task: repair one model on this worker with the local engine's Runner (paths are absolute)."""
    out_dir = Path(out)
    missing = out_dir if not out_dir.is_dir() else entry.path if not entry.path.exists() else None
    if missing is not None:
        return Outcome(entry.name, str(entry.path), "error", None, 0.0,
                       f"{missing} is not visible on Ray node {socket.gethostname()}: ZOO and OUT must be on a "
                       "filesystem every node mounts at the same path")
    return Runner(out_dir, fix_args, timeout).run(entry)


@dataclass
class _Flight:
    """A task in flight: its model, and when the driver saw it start and cancelled it (monotonic seconds)."""

    entry: Entry
    started: float | None = None
    cancelled: float | None = None


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc  # a RayTaskError carries the task's own exception
    text = _ANSI.sub("", str(cause)).strip()
    return f"{type(cause).__name__}: {text.splitlines()[0] if text else ''}"


def _connect(ray: Any, address: str | None, num_cpus: int) -> bool:
    """Connect to ``address``, or start a local cluster of ``num_cpus`` CPUs; True when this run must shut it down."""
    if ray.is_initialized():  # a caller (a test, a notebook) already connected: use that cluster, leave it running
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        try:
            with warnings.catch_warnings():  # Ray Client warns before it raises: the error line below says it all
                warnings.simplefilter("ignore")
                ray.init(address=address, **quiet)
        except Exception as exc:  # noqa: BLE001 - no cluster there, refused, wrong version: one line, exit 2
            raise BadInput(f"--ray-address {address}: cannot connect to a Ray cluster ({_one_line(exc)})") from None
        return True  # ray.shutdown() only disconnects from a cluster it did not start
    ray.init(address="local", num_cpus=num_cpus, num_gpus=0, include_dashboard=False, **quiet)
    return True


def run_batch_ray(zoo: Path, out: Path, fix_args: Sequence[str], *, jobs: int | None = None,
                  timeout: float | None = None, retry_failed: bool = False, address: str | None = None,
                  cpus_per_task: float = 1.0, on_start: Callable[[int], None] = lambda n: None,
                  on_done: Callable[[Outcome], None] = lambda o: None) -> BatchResult:
    """Repair every model of ``zoo`` into ``out``, one Ray task each, resuming from ``out``'s state file.

    ``address``: an existing cluster (``auto``, ``ray://HOST:10001``); without it a local cluster of ``jobs`` x
    ``cpus_per_task`` CPUs (default: this machine's) is started for the run and shut down after it. ``jobs``: tasks in
    flight at once (default: the cluster's CPUs / ``cpus_per_task``). Each task reserves ``cpus_per_task`` CPUs.
    ``on_start`` gets how many models will run, ``on_done`` each outcome after it was recorded (driver thread).
    """
    try:
        import ray
    except ImportError:
        raise BadInput(RAY_MISSING) from None
    check_limits(jobs, timeout)
    if cpus_per_task <= 0:
        raise BadInput(f"--ray-cpus {cpus_per_task:g}: must be more than 0")
    batch = Batch(zoo, out, fix_args, retry_failed=retry_failed)  # validated before a cluster is started
    local_cpus = math.ceil(jobs * cpus_per_task) if jobs else (os.cpu_count() or 1)
    owned = _connect(ray, address, local_cpus)
    try:
        limit = jobs or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_task))
        on_start(len(batch.start()))
        _drive(ray, batch, limit, timeout, cpus_per_task, on_done)
    finally:
        if owned:
            ray.shutdown()
    return batch.result(limit, engine="ray")


def _drive(ray: Any, batch: Batch, limit: int, timeout: float | None, cpus_per_task: float,
           on_done: Callable[[Outcome], None]) -> None:
    """Submit ``batch.todo`` keeping ``limit`` tasks in flight; record each outcome as its task finishes."""
    out, fix_args = batch.out, batch.fix_args
    task = ray.remote(fix_one).options(num_cpus=cpus_per_task, name="repair-fix")
    local = Runner(out, fix_args, timeout)  # entries that are not models: recorded here, nothing to run
    queue = list(reversed(batch.todo))
    flight: dict[Any, _Flight] = {}

    def finish(entry: Entry, outcome: Outcome) -> None:
        outcome = replace(outcome, path=str(entry.path))  # the path as discovered, as the local engine records it
        batch.record(outcome)
        on_done(outcome)

    def timed_out(f: _Flight, how: str) -> Outcome:
        _clear(out, f.entry.name, report=False)  # no half-written output or scratch; the log stays
        seconds = round(time.monotonic() - (f.started or time.monotonic()), 2)
        return Outcome(f.entry.name, str(f.entry.path), "timeout", None, seconds,
                       f"the Ray task had not returned {timeout + TIMEOUT_GRACE:g}s after it started "
                       f"(--timeout {timeout:g}): {how}")

    try:
        while queue or flight:
            while queue and len(flight) < limit:
                entry = queue.pop()
                if entry.problem:
                    finish(entry, local.run(entry))
                    continue
                _clear(out, entry.name)  # so that OUT/NAME.report appearing means the task has started
                ref = task.remote(str(out.absolute()), fix_args, timeout, Entry(entry.name, entry.path.absolute()))
                flight[ref] = _Flight(entry)
            if not flight:
                continue
            ready, _ = ray.wait(list(flight), num_returns=1, timeout=POLL)
            for ref in ready:
                f = flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - cancelled, worker or node died, task raised
                    outcome = (timed_out(f, "cancelled, its child killed") if f.cancelled is not None else
                               Outcome(f.entry.name, str(f.entry.path), "error", None, 0.0, f"ray: {_one_line(exc)}"))
                finish(f.entry, outcome)
            if timeout is not None:
                _backstop(ray, flight, out, timeout, finish, timed_out)
    except BaseException:
        for ref in flight:  # each cancelled task's Runner kills its child's process group
            ray.cancel(ref)
        if flight:
            ray.wait(list(flight), num_returns=len(flight), timeout=CANCEL_WAIT)
        raise


def _backstop(ray: Any, flight: dict[Any, _Flight], out: Path, timeout: float,
              finish: Callable[[Entry, Outcome], None], timed_out: Callable[[_Flight, str], Outcome]) -> None:
    """Cancel a task that has not returned TIMEOUT_GRACE after its Runner should have killed the child.

    The clock starts when the task's OUT/NAME.report appears (the Runner creates it first thing), not at submission:
    on a busy cluster a task may wait long for a CPU. A cancelled task gets KeyboardInterrupt, and its Runner kills
    the child's process group; one still out CANCEL_WAIT later is force-cancelled (its worker is killed).
    """
    now = time.monotonic()
    for ref, f in list(flight.items()):
        if f.started is None:
            if (out / f"{f.entry.name}.report").is_dir():
                f.started = now
        elif f.cancelled is None and now - f.started > timeout + TIMEOUT_GRACE:
            ray.cancel(ref)
            f.cancelled = now
        elif f.cancelled is not None and now - f.cancelled > CANCEL_WAIT:
            ray.cancel(ref, force=True)
            del flight[ref]
            finish(f.entry, timed_out(f, "force-cancelled, its worker killed"))
