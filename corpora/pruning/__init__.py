"""Cases with tfmot pruning wrappers left in."""

from __future__ import annotations

from corpora.case import Expect


def stripped(note: str) -> Expect:
    """What every pruning case expects: it converts with resource variables, and the strip freezes them away."""
    return Expect(
        findings=frozenset({"pruning-wrappers", "resource-variables"}),
        fix_exit=0,
        absent_ops=frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}),
        rewrites=("strip_pruning_wrappers",),
        note=note,
    )
