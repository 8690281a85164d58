"""Whole-run failures and the documented exit codes.

Per-fix outcomes are values (see ``repair.fix.result.FixOutcome``); exceptions are only for a run that cannot go
on. Each carries the one line the CLI prints and the exit code it maps to.
"""

from __future__ import annotations

import enum
import errno
import os


class ExitCode(enum.IntEnum):
    """Documented exit codes of every ``repair`` command."""

    OK = 0  # diagnose: nothing blocks deployment; fix: repaired, verified and published
    FINDINGS_REMAIN = 1  # diagnose: blocking findings; fix: something the catalog cannot fix (refused)
    BAD_INPUT = 2  # bad input or usage: missing path, unreadable model, bad flag value
    VERIFICATION_FAILED = 3  # fix: fixes applied but the verification gate failed; nothing published
    INTERNAL_ERROR = 4  # a bug in repair itself; the message says where


class RepairError(Exception):
    """A failure that ends the run. ``str(err)`` is the single line shown to the user."""

    exit_code: ExitCode = ExitCode.INTERNAL_ERROR

    def __init__(self, message: str, *, stage: str = "") -> None:
        super().__init__(message)
        self.stage = stage


class BadInput(RepairError):
    """The model path or a flag is unusable."""

    exit_code = ExitCode.BAD_INPUT


class Refused(RepairError):
    """The model has a blocking finding the catalog cannot fix."""

    exit_code = ExitCode.FINDINGS_REMAIN


# errno values that describe the machine or the user's files, never a bug in repair: a full disk, a read-only or
# unreadable location, a quota. They end the run with exit 2 and the path, not "internal error".
ENVIRONMENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EIO,
                                errno.ENAMETOOLONG, errno.EMFILE, errno.ENFILE})


def os_problem(exc: OSError, what: str = "") -> BadInput:
    """The one line for an OSError from the environment: what was being done, the path, and the system's words."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    parts = [p for p in (what, os.fsdecode(where) if where != "" else "", reason) if p]
    return BadInput(": ".join(parts))


# TensorFlow's C++ file system reports errno as text inside its own error types (an UnknownError or a
# ResourceExhaustedError "...; No space left on device"): its message is read for these words.
_ENVIRONMENT_WORDS = tuple(os.strerror(e) for e in (errno.ENOSPC, errno.EDQUOT, errno.EROFS))


def environment_problem(exc: BaseException, what: str = "") -> BadInput | None:
    """The BadInput (exit 2) for an exception the machine caused (a full disk, a quota, a read-only location),
    or None when ``exc`` is anything else (then it stays what it was: a failed fix, or a bug)."""
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
        return os_problem(exc, what)
    text = str(exc)
    if exc.args and isinstance(exc.args[0], list):  # shutil.Error: [(src, dst, "[Errno 28] No space left ..."), ...]
        text = "\n".join(str(e[-1]) for e in exc.args[0] if isinstance(e, tuple) and e) or text
    for words in _ENVIRONMENT_WORDS:
        if words in text:
            line = next((x.strip() for x in text.splitlines() if words in x), words)[:300]
            return BadInput(": ".join(p for p in (what, line) if p))
    return None
