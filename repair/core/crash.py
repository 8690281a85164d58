"""The child's side of crash supervision (repair/supervise.py is the parent): breadcrumbs around dangerous stages,
the crashes earlier attempts recorded, scratch directories to clean up if the process dies, and a batch child's
tie to its driver. Standard library only: the TF-free supervisor imports the names too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

ENV_CHILD = "REPAIR_SUPERVISED"  # set in the child: it runs the command itself
ENV_DIR = "REPAIR_CRASH_DIR"  # where the child leaves its breadcrumbs
ENV_CRASHES = "REPAIR_KNOWN_CRASHES"  # JSON: conversions that crashed in earlier attempts, by ordinal
ENV_OFF = "REPAIR_NO_SUPERVISOR"  # 1: run in this process (debugging with REPAIR_DEBUG=1, profilers)

ENV_DIE_WITH = "REPAIR_DIE_WITH"  # a batch driver's pid: its `repair fix` child must not outlive it
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Have Linux SIGKILL this process when the thread that started it dies (PR_SET_PDEATHSIG), when a batch
    driver asked for it by setting ``REPAIR_DIE_WITH`` to its pid: a driver killed outright (kill -9, a Ray worker
    force-killed) then takes its children along, so no ``repair fix`` keeps writing into OUT on its own.

    Done here, after exec, not in a ``preexec_fn``: code run between fork and exec in a threaded driver can
    deadlock. A driver that died before this call is seen by the parent check, and this process ends at once."""
    parent = os.environ.pop(ENV_DIE_WITH, None)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != parent:  # the driver died before prctl took effect: nobody would kill this process
        os._exit(1)


_ordinal = 0


def known_crash(ordinal: int) -> dict[str, object] | None:
    """The crash an earlier attempt of this run had at conversion number ``ordinal``, if any."""
    try:
        crashes = json.loads(os.environ.get(ENV_CRASHES, "[]"))
    except ValueError:
        return None
    return next((c for c in crashes if isinstance(c, dict) and c.get("ordinal") == ordinal), None)


def next_conversion() -> int:
    """Number this process's conversions (1, 2, ...): the same run numbers them the same way each attempt."""
    global _ordinal
    _ordinal += 1
    return _ordinal


@contextlib.contextmanager
def breadcrumb(stage: str, ordinal: int, what: str) -> Iterator[Path | None]:
    """Mark a dangerous stage for the supervisor; yields the file the stage's fd-2 output should go to."""
    directory = os.environ.get(ENV_DIR)
    if not directory:
        yield None
        return
    crumb = Path(directory) / "current.json"
    crumb.write_text(json.dumps({"stage": stage, "ordinal": ordinal, "what": what, "pid": os.getpid()}))
    try:
        yield Path(directory) / "stderr.txt"
    finally:
        crumb.unlink(missing_ok=True)


def note_scratch(path: Path) -> None:
    """List a scratch directory this process created, so a supervisor can remove it if the process dies."""
    directory = os.environ.get(ENV_DIR)
    if directory:
        # surrogateescape: a path that is not UTF-8 (b'caf\xe9') is written back as its own bytes, and read so
        with open(Path(directory) / "scratch.txt", "a", encoding="utf-8", errors="surrogateescape") as listing:
            listing.write(f"{path}\n")
