"""Whole-run failures and the documented exit codes.

Per-fix outcomes are values (see ``plan.Outcome``); exceptions are only for a run that cannot go
on. Each carries the one line the CLI prints and the exit code it maps to.
"""

from __future__ import annotations

import enum


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


class UsageError(BadInput):
    """Flags contradict each other or the model."""


class Refused(RepairError):
    """The model has a blocking finding the catalog cannot fix."""

    exit_code = ExitCode.FINDINGS_REMAIN


class VerificationFailed(RepairError):
    """The repaired model did not pass the gate."""

    exit_code = ExitCode.VERIFICATION_FAILED
