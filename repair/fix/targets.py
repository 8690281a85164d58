"""The deployment-target stage: run each requested target's check on a diagnosis's .tflite, turn failures into findings.

The checks themselves live in ``repair.targets`` (one module per target); this stage decides which run, gives them
the parity inputs the diagnosis already has, compares the microcontroller interpreter's outputs with the original's,
and words what failed. The same stage runs on the original (``repair diagnose``) and on the output (the gate), so a
target that fails on the output refuses the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options, Target
from repair.model.parity import Feeds, compare
from repair.model.working import Port
from repair.targets import TargetReport

# The targets that have a check of their own here, in the order the table lists them (tflite, tflite-strict and
# serving are judged by the conversion, the .tflite findings and the session loader).
CHECKED = (Target.GPU, Target.XNNPACK, Target.MICRO, Target.RUNTIME)
_KIND = {Target.GPU: FindingKind.GPU_INCOMPATIBLE, Target.XNNPACK: FindingKind.XNNPACK_FALLBACK,
         Target.MICRO: FindingKind.MICRO_INCOMPATIBLE, Target.RUNTIME: FindingKind.RUNTIME_TOO_OLD}
_LISTED = 6  # offenders named in a finding's title line; the evidence and report.json have all of them


def requested(options: Options) -> list[Target]:
    return [t for t in CHECKED if options.wants(t)]


def run_checks(blob: bytes, options: Options, signature_key: str, feeds: Feeds | None, expected: Feeds | None,
               outputs: tuple[Port, ...]) -> list[TargetReport]:
    """Every requested target's report on one .tflite. ``feeds`` (by signature input name) and ``expected`` (the
    original's outputs on them, by origin) come from the diagnosis's parity stage; without them the devices only load
    and run the model on zeros, and micro parity is not judged."""
    reports = []
    for target in requested(options):
        start = time.perf_counter()
        report = _check(target, blob, options, signature_key, feeds)
        if target is Target.MICRO and report.outputs is not None and expected is not None:
            parity = compare(expected, report.outputs, outputs, options.tolerance)
            report = replace(report, parity_worst=parity.worst, ok=report.ok and parity.ok,
                             summary=report.summary + f"; outputs vs original: max abs diff {parity.worst:.3g}")
        if not report.ok and target in options.accept_fallback:
            report = replace(report, accepted=True)
        reports.append(replace(report, seconds=time.perf_counter() - start))
    return reports


def _check(target: Target, blob: bytes, options: Options, key: str, feeds: Feeds | None) -> TargetReport:
    """One target's check; imported here so a run without --target never loads the TFLM interpreter."""
    try:
        if target is Target.GPU:
            from repair.targets.gpu import check_gpu

            return check_gpu(blob)
        if target is Target.XNNPACK:
            from repair.targets.xnnpack import check_xnnpack

            return check_xnnpack(blob, feeds, key)
        if target is Target.MICRO:
            from repair.targets.micro import check_micro

            return check_micro(blob, feeds, key)
        from repair.targets.runtime import check_runtime

        assert options.runtime is not None  # parse_targets gives runtime=X.Y its version
        return check_runtime(blob, options.runtime)
    except Exception as exc:  # a check that cannot run proves nothing: the target fails, saying why
        return TargetReport(target, False, f"the check could not run: {type(exc).__name__}: {exc}"[:300],
                            error=f"{type(exc).__name__}: {exc}"[:2000])


def not_checked(options: Options, why: str) -> list[TargetReport]:
    """Reports for targets that could not be checked (the model did not convert): each fails, saying why."""
    return [TargetReport(t, False, f"not checked: {why}", error=f"not checked: {why}",
                         wanted=_wanted(options) if t is Target.RUNTIME else None) for t in requested(options)]


def _wanted(options: Options) -> str | None:
    return f"{options.runtime[0]}.{options.runtime[1]}" if options.runtime else None


def findings(reports: list[TargetReport]) -> list[Finding]:
    """One finding per failing target: blocking, or a warning when the user accepted the CPU fallback."""
    found = []
    for r in reports:
        if r.ok or r.error.startswith("not checked"):
            continue
        severity = Severity.WARNING if r.accepted else Severity.ERROR
        found.append(_FINDING[r.target](r, severity))
    return found


def _worded(kind: FindingKind, r: TargetReport, severity: Severity, alternative: str = "", nodes: str = "",
            **fields: object) -> Finding:
    """The target's finding: its ops, the first offenders named in the text, all of them in the evidence and data."""
    if r.error and not r.offenders:
        alternative = "unchecked"  # the check itself failed: say that, not "0 nodes refused"
    listed = [o.describe() for o in r.offenders[:_LISTED]]
    more = len(r.offenders) - _LISTED
    named = "; ".join(listed) + (f"; and {more} more" if more > 0 else "") if listed else r.error or r.summary
    ops = tuple(dict.fromkeys(o.op for o in r.offenders))
    return worded(kind, severity, Source.TARGET, title=alternative, explanation=alternative, ops=ops, target=r.name,
                  nodes=nodes or named, evidence="\n".join(o.describe() for o in r.offenders) or r.error or r.summary,
                  subject=", ".join(ops),
                  data={"target": r.name, "accepted_fallback": r.accepted, "offenders": [o.to_json() for o in r.offenders]},
                  **fields)


def _gpu(r: TargetReport, severity: Severity) -> Finding:
    refused = len({(o.subgraph, o.node) for o in r.offenders if o.node is not None}) or len(r.offenders)
    return _worded(FindingKind.GPU_INCOMPATIBLE, r, severity, count=refused)


def _xnnpack(r: TargetReport, severity: Severity) -> Finding:
    return _worded(FindingKind.XNNPACK_FALLBACK, r, severity, "failed" if r.error else "",
                   delegated=r.delegated if r.delegated is not None else "?",
                   total=r.total if r.total is not None else "?", count=len(r.offenders))


def _micro(r: TargetReport, severity: Severity) -> Finding:
    numbers = not r.offenders and not r.error and r.parity_worst is not None
    return _worded(FindingKind.MICRO_INCOMPATIBLE, r, severity, "numbers" if numbers else "", worst=r.parity_worst or 0.0)


def _runtime(r: TargetReport, severity: Severity) -> Finding:
    return _worded(FindingKind.RUNTIME_TOO_OLD, r, severity, nodes="; ".join(r.setters),
                   needed=r.min_runtime or "a newer runtime", wanted=r.wanted or "?")


_FINDING: dict[Target, Callable[[TargetReport, Severity], Finding]] = {
    Target.GPU: _gpu, Target.XNNPACK: _xnnpack, Target.MICRO: _micro, Target.RUNTIME: _runtime}
