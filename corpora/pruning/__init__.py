"""Cases with tfmot pruning wrappers left in."""

from __future__ import annotations

from corpora.case import Expect


def stripped(note: str, rewrite: str = "strip_pruning_wrappers", findings: frozenset[str] | None = None) -> Expect:
    """What every pruning case expects: it converts with resource variables, and the strip freezes them away."""
    return Expect(
        findings=frozenset({"pruning-wrappers", "resource-variables"}) if findings is None else findings,
        fix_exit=0,
        absent_ops=frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}),
        rewrites=(rewrite,),
        note=note,
    )
