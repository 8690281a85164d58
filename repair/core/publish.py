"""Scratch beside ``--out`` and the one rename that publishes it: nothing lost, no race, nothing left behind.

Every ``repair fix`` works in a hidden scratch directory beside ``--out`` (same filesystem, so publishing is
one rename). Two properties hold whatever else runs at the same time:

- **No silent replacement.** ``rename(2)`` of a directory onto an existing *non-empty* directory fails
  (ENOTEMPTY/EEXIST) and onto an *empty* one replaces it atomically. So a run without ``--force`` publishes
  with one plain rename: if another run published first, this one fails with exit 2 and touches nothing of
  the winner's (it never moves or deletes ``--out``); an empty ``--out`` made by the user is replaced, losing
  nothing. Only ``--force`` moves an existing ``--out`` aside (to its own trash, removed afterwards), and it
  retries if another run published in between: ``--out`` is always absent or one run's complete output.
- **Stale scratch is found, and only stale scratch.** A scratch name carries its owner (the boot, the pid and
  the process start time, from ``/proc``): ``.repair-OUT-BOOT-PID-START-XXXXXXXX``. Owner and directory are
  one atomic ``mkdir``, so there is no moment when a scratch exists without its owner. A later run into the
  same parent removes a scratch whose owner is gone (no such pid, or a pid reused by a process that started
  at another time) and says so. A scratch from another boot id (another machine on a shared filesystem, or
  before a reboot) is left alone: its owner cannot be checked from here.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from repair.core.errors import BadInput, os_problem

# .repair-<out name>-<boot id, 8 hex>-<pid>-<start ticks>-<mkdtemp suffix | old>
_OWNED = re.compile(r"^\.repair-.*-(?P<boot>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-(?P<tail>[A-Za-z0-9_]+)$")
_NAME_ROOM = 150  # bytes of --out's name kept in a scratch name (NAME_MAX is 255; the owner tag needs ~40)
FORCE_TRIES = 5  # --force: times to move a competing publish aside before giving up


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8]
    except OSError:
        return "00000000"  # no /proc: pids are still checked, start times are not


def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return 0
    # The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    if fields and fields[0] in ("Z", "X"):  # a killed process nobody has reaped yet (an init that does not reap): gone
        return None
    return int(fields[19]) if len(fields) > 19 else 0


def _owner_tag() -> str:
    pid = os.getpid()
    return f"{_boot_id()}-{pid}-{_start_ticks(pid) or 0}"


def _alive(pid: int, start: int) -> bool:
    """Whether the process that made a scratch still runs (the same pid *and* the same start time)."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    ticks = _start_ticks(pid)
    if ticks is None:
        return False
    return start == 0 or ticks == 0 or ticks == start


def _prefix(out: Path) -> str:
    name = out.name
    if len(os.fsencode(name)) > _NAME_ROOM:
        name = os.fsdecode(os.fsencode(name)[:_NAME_ROOM])
    return f".repair-{name}-{_owner_tag()}-"


def check_out_beside(src: Path, out: Path, what: str = "the input") -> None:
    """--out must be a directory (or nothing yet) that neither lies inside ``src`` nor contains it."""
    src_r, out_r = src.resolve(), out.resolve()
    if out_r == src_r or src_r in out_r.parents:
        raise BadInput(f"--out {out} is inside {what} {src}; choose a directory outside it")
    if out_r in src_r.parents:
        raise BadInput(f"--out {out} contains {what} {src}; choose another directory")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} exists and is a file")


def make_scratch(out: Path) -> Path:
    """Create this run's scratch directory beside ``out`` (its name says who owns it)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=_prefix(out), dir=out.parent))
    except OSError as exc:
        raise os_problem(exc, f"--out {out}: cannot create a working directory beside it") from None


@dataclass(frozen=True)
class Stale:
    """A scratch directory removed because the run that made it is gone."""

    path: Path
    pid: int


def clean_stale(parent: Path) -> list[Stale]:
    """Remove scratch directories in ``parent`` whose owner process is gone; never a live run's, never anything
    that is not a scratch (the name must carry an owner tag of this boot)."""
    boot = _boot_id()
    removed: list[Stale] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = _OWNED.match(entry.name)
        if not match or match["boot"] != boot or not entry.is_dir(follow_symlinks=False):
            continue
        pid, start = int(match["pid"]), int(match["start"])
        try:
            theirs = entry.stat(follow_symlinks=False).st_uid != os.getuid()
        except OSError:
            continue
        # Another user's scratch is left alone: with /proc mounted hidepid, their live process looks gone from here.
        if theirs or pid == os.getpid() or _alive(pid, start):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(Stale(Path(entry.path), pid))
    return removed


class OutTaken(BadInput):
    """Another run published ``--out`` while this one worked."""


def publish(final_dir: Path, out: Path, *, force: bool) -> None:
    """Make ``final_dir`` appear at ``out`` in one rename.

    Without ``force`` an existing non-empty ``out`` is never replaced: the rename fails and this run raises
    ``OutTaken`` (exit 2). With ``force`` the existing ``out`` is moved aside first and removed after the rename.
    """
    trash: list[Path] = []
    try:
        for attempt in range(FORCE_TRIES + 1):
            try:
                os.rename(final_dir, out)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                    raise os_problem(exc, f"--out {out}: cannot publish") from None
                if not force:
                    what = "a file" if out.is_file() else "a non-empty directory"
                    raise OutTaken(f"--out {out} became {what} while this run worked (another run published there "
                                   "first?); nothing was written: pass --force to replace it, or choose another --out") from None
                if attempt == FORCE_TRIES:
                    raise OutTaken(f"--out {out}: other runs kept publishing there; gave up after {FORCE_TRIES} tries, "
                                   "nothing was written") from None
            aside = out.parent / f"{_prefix(out)}old{attempt}"
            try:
                os.rename(out, aside)  # atomic: out is now absent, never half-replaced
                trash.append(aside)
            except FileNotFoundError:
                pass  # someone else moved it meanwhile: try the rename again
            except OSError as exc:
                raise os_problem(exc, f"--out {out}: cannot move the existing directory aside") from None
    finally:
        for path in trash:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def tf_safe(path: Path) -> Path:
    """``path``, or an alias of it TensorFlow can open: a symlink with an ASCII name when ``path`` is not UTF-8.

    A directory named with bytes that are not UTF-8 (b'caf\\xe9', a Latin-1 name) reaches Python as a str with
    surrogates; TensorFlow's C++ (the converter, the checkpoint reader, saved_model.load) encodes every path as
    UTF-8 and raises UnicodeEncodeError on it (measured, TF 2.21). The kernel follows a symlink whatever the
    bytes, so the work goes through ``$TMPDIR/repair-alias-XXXX/<ascii>``; the alias is removed at exit (and by
    the supervisor if this process dies).
    """
    try:
        os.fspath(path).encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    from repair.core.crash import note_scratch

    holder = Path(tempfile.mkdtemp(prefix="repair-alias-"))
    note_scratch(holder)
    atexit.register(shutil.rmtree, holder, True)
    alias = holder / ("model" + "".join(s for s in path.suffixes if s.isascii()))
    alias.symlink_to(path.absolute())
    return alias


def check_side_outputs(src: Path, out: Path | None, report: Path | None, plan_out: Path | None) -> None:
    """``--report`` and ``--plan-out`` never write into the input (it is never modified) nor into ``--out`` (which
    holds only the published model: written there before the publish, they would make ``--out`` non-empty and the
    publish fail; after it, they would change a published model, or create a half-written ``--out`` when nothing
    is published)."""
    src_r = src.resolve()
    out_r = out.resolve() if out is not None else None
    for flag, path in (("--report", report), ("--plan-out", plan_out)):
        if path is None:
            continue
        where = path.resolve()
        if where == src_r:
            raise BadInput(f"{flag} {path} is the input {src}; the input is never modified: choose a path outside it")
        if src_r in where.parents:
            raise BadInput(f"{flag} {path} is inside the input {src}; the input is never modified: choose a path outside it")
        if out_r is not None and (where == out_r or out_r in where.parents):
            raise BadInput(f"{flag} {path} is inside --out {out}, which holds only the published model (with its own "
                           "report.md/report.json): choose a path outside it")
