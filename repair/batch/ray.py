"""``repair batch --engine ray``: the same batch as ``repair.batch.local``, each model one Ray task.

The task (``fix_one``) runs on a worker and does exactly what the local engine does for one model: ``Runner.run``,
i.e. the ``repair fix`` child process in its own process group, killed at ``--timeout``, classified by its exit code.
The driver (``run_batch_ray``) keeps at most ``jobs`` tasks in flight, collects them with ``ray.wait`` as they
finish and records each outcome in the same state file (``Batch.record``: replaced atomically after every model), so
resume and ``--retry-failed`` work the same whichever engine wrote the state.

Workers read ZOO and write OUT themselves: both must be on a filesystem every node sees at the same path (a local
cluster trivially does). ``ray`` is imported inside ``run_batch_ray`` only: ``repair --help`` never imports it.

A local cluster (no ``--ray-address``) is this machine's only: its node IP is 127.0.0.1, so every server of it
(GCS, raylet, workers, the driver, the runtime-env agent) listens on loopback, the dashboard is off, and it runs
with Ray's token authentication where Ray has it (2.52+). Its listening sockets are checked once it is up: one on
another address ends the run (exit 2) before any model runs. ``--ray-address`` is the user's cluster, as it is.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import math
import os
import re
import socket
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from repair.batch.local import (
    Batch,
    BatchResult,
    BatchStatus,
    ModelOutcome,
    Runner,
    ZooEntry,
    check_limits,
    clear_attempt,
    stop_on_signals,
)
from repair.core.errors import BadInput

RAY_MISSING = "--engine ray needs the ray extra: pip install 'repair[ray]'"
TIMEOUT_GRACE = 30.0  # a started task still out this long past --timeout is cancelled (the Runner should have returned)
CANCEL_WAIT = 10.0  # a cancelled task still out this long is force-cancelled (its worker killed) and given up on
POLL = 1.0  # seconds between checks on tasks in flight when none finishes
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fix_one(out: str, fix_args: Sequence[str], timeout: float | None, entry: ZooEntry) -> ModelOutcome:
    """The Ray task: repair one model on this worker with the local engine's Runner (paths are absolute)."""
    out_dir = Path(out)
    missing = out_dir if not out_dir.is_dir() else entry.path if not entry.path.exists() else None
    if missing is not None:
        return ModelOutcome(entry.name, str(entry.path), BatchStatus.ERROR, None, 0.0,
                            f"{missing} is not visible on Ray node {socket.gethostname()}: ZOO and OUT must be on a "
                            "filesystem every node mounts at the same path")
    return Runner(out_dir, fix_args, timeout).run(entry)


@dataclass
class _Flight:
    """A task in flight: its model, and when the driver saw it start and cancelled it (monotonic seconds)."""

    entry: ZooEntry
    started: float | None = None
    cancelled: float | None = None


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc  # a RayTaskError carries the task's own exception
    text = _ANSI.sub("", str(cause)).strip()
    return f"{type(cause).__name__}: {text.splitlines()[0] if text else ''}"


def token_auth_supported() -> bool:
    """Whether the installed Ray has token authentication (``RAY_AUTH_MODE=token``, Ray 2.52+)."""
    try:
        return importlib.util.find_spec("ray._private.authentication") is not None
    except (ImportError, ValueError):
        return False


def _confine_to_loopback() -> None:
    """Make the local cluster about to start a loopback-only one with token authentication.

    ``ray.init(_node_ip_address="127.0.0.1")`` alone is not enough (measured, Ray 2.60): ray.init swaps a loopback
    address for the machine's routable IP unless Ray runs as a single-machine install, which
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` says (read when Ray is imported, hence also the module constant). With
    the node IP 127.0.0.1 Ray's servers bind 127.0.0.1 instead of 0.0.0.0. Token authentication is Ray's own
    (``RAY_AUTH_MODE=token``; ray.init makes ~/.ray/auth_token if there is none); the cluster is ours, so a
    ``RAY_AUTH_MODE=disabled`` in the environment does not apply to it.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants: Any = sys.modules.get("ray._private.ray_constants")  # Ray's internal module: whatever this Ray has
    if constants is not None and hasattr(constants, "ENABLE_RAY_CLUSTER"):
        constants.ENABLE_RAY_CLUSTER = False
    if token_auth_supported() and os.environ.get("RAY_AUTH_MODE") != "token":
        os.environ["RAY_AUTH_MODE"] = "token"
        try:  # Ray's cached config of this process must see the mode too (as ray.init does when it sets it)
            from ray._raylet import Config  # type: ignore[attr-defined]

            Config.initialize("")
        except (ImportError, AttributeError):
            pass


def _listening(pids: set[int]) -> list[tuple[int, str]]:
    """(pid, address) of every listening TCP socket the processes ``pids`` hold (Linux /proc; [] elsewhere)."""
    owners: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners[target[8:-1]] = pid
        except OSError:
            continue
    found = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        try:
            rows = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10 or fields[3] != "0A" or fields[9] not in owners:  # 0A: LISTEN
                continue
            hex_ip, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_ip)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))  # each 32-bit word is host order
            found.append((owners[fields[9]], f"{ipaddress.ip_address(raw)}:{int(hex_port, 16)}"))
    return found


def _cluster_pids() -> set[int]:
    """This process and every process below it: the local cluster's servers and workers."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def exposed_sockets() -> list[tuple[int, str]]:
    """Listening sockets of this process and its descendants that are not on a loopback address."""
    exposed = []
    for pid, address in _listening(_cluster_pids()):
        host = ipaddress.ip_address(address.rsplit(":", 1)[0])
        mapped = getattr(host, "ipv4_mapped", None)
        if not (mapped or host).is_loopback:
            exposed.append((pid, address))
    return exposed


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
    _confine_to_loopback()
    ray.init(address="local", num_cpus=num_cpus, num_gpus=0, include_dashboard=False, _node_ip_address="127.0.0.1",
             **quiet)
    exposed = exposed_sockets()
    if exposed:  # an older Ray that binds 0.0.0.0 whatever the node IP: no model runs on an open cluster
        ray.shutdown()
        pid, where = exposed[0]
        raise BadInput(f"the local Ray cluster listens on {where} (pid {pid}), not on loopback only; this Ray cannot be "
                       "confined to this machine: upgrade it, or start a cluster yourself and give --ray-address")
    return True


def run_batch_ray(zoo: Path, out: Path, fix_args: Sequence[str], *, jobs: int | None = None,
                  timeout: float | None = None, retry_failed: bool = False, address: str | None = None,
                  cpus_per_task: float = 1.0, on_start: Callable[[int], None] = lambda n: None,
                  on_done: Callable[[ModelOutcome], None] = lambda o: None) -> BatchResult:
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
        with stop_on_signals():  # after ray.init, which sets a SIGTERM handler of its own (sys.exit)
            limit = jobs or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_task))
            on_start(len(batch.start()))
            _drive(ray, batch, limit, timeout, cpus_per_task, on_done)
    finally:
        if owned:
            ray.shutdown()
    return batch.result(limit, engine="ray")


def _drive(ray: Any, batch: Batch, limit: int, timeout: float | None, cpus_per_task: float,
           on_done: Callable[[ModelOutcome], None]) -> None:
    """Submit ``batch.todo`` keeping ``limit`` tasks in flight; record each outcome as its task finishes."""
    out, fix_args = batch.out, batch.fix_args
    task = ray.remote(fix_one).options(num_cpus=cpus_per_task, name="repair-fix")
    local = Runner(out, fix_args, timeout)  # entries that are not models: recorded here, nothing to run
    queue = list(reversed(batch.todo))
    flight: dict[Any, _Flight] = {}

    def finish(entry: ZooEntry, outcome: ModelOutcome) -> None:
        outcome = replace(outcome, path=str(entry.path))  # the path as discovered, as the local engine records it
        batch.record(outcome)
        on_done(outcome)

    def timed_out(f: _Flight, how: str) -> ModelOutcome:
        assert timeout is not None  # only the backstop cancels a task for time, and it runs only with --timeout
        clear_attempt(out, f.entry.name, report=False)  # no half-written output or scratch; the log stays
        seconds = round(time.monotonic() - (f.started or time.monotonic()), 2)
        return ModelOutcome(f.entry.name, str(f.entry.path), BatchStatus.TIMEOUT, None, seconds,
                            f"the Ray task had not returned {timeout + TIMEOUT_GRACE:g}s after it started "
                            f"(--timeout {timeout:g}): {how}")

    try:
        while queue or flight:
            while queue and len(flight) < limit:
                entry = queue.pop()
                if entry.problem:
                    finish(entry, local.run(entry))
                    continue
                clear_attempt(out, entry.name)  # so that OUT/NAME.report appearing means the task has started
                batch.begin(entry)
                ref = task.remote(str(out.absolute()), fix_args, timeout, ZooEntry(entry.name, entry.path.absolute()))
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
                               ModelOutcome(f.entry.name, str(f.entry.path), BatchStatus.ERROR, None, 0.0,
                                            f"ray: {_one_line(exc)}"))
                finish(f.entry, outcome)
            if timeout is not None:
                _backstop(ray, flight, out, timeout, finish, timed_out)
    except BaseException:
        _stop(ray, flight, batch, finish)
        raise


def _stop(ray: Any, flight: dict[Any, _Flight], batch: Batch, finish: Callable[[ZooEntry, ModelOutcome], None]) -> None:
    """The batch stops (a signal, an error): cancel every task in flight, record those that had finished anyway.

    A cancelled task gets KeyboardInterrupt and its Runner kills the child's process group; a task still out
    CANCEL_WAIT later is force-cancelled (its worker is killed, and the child with it: PR_SET_PDEATHSIG). The
    models whose task did not finish are forgotten (their leftovers removed) so that a resume redoes them.
    """
    for ref in flight:
        ray.cancel(ref)
    ready = ray.wait(list(flight), num_returns=len(flight), timeout=CANCEL_WAIT)[0] if flight else []
    abandoned = []
    for ref, f in flight.items():
        outcome = None
        if ref in ready:
            try:
                outcome = ray.get(ref)
            except Exception:  # noqa: BLE001 - cancelled: nothing to record
                outcome = None
        else:
            ray.cancel(ref, force=True)
        if isinstance(outcome, ModelOutcome):
            finish(f.entry, outcome)
        else:
            clear_attempt(batch.out, f.entry.name, report=False)
            abandoned.append(f.entry.name)
    batch.abandon(abandoned)


def _backstop(ray: Any, flight: dict[Any, _Flight], out: Path, timeout: float,
              finish: Callable[[ZooEntry, ModelOutcome], None], timed_out: Callable[[_Flight, str], ModelOutcome]) -> None:
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
