"""The one place that knows the order: load -> diagnose -> plan -> decide -> apply -> export -> verify -> report -> publish.

All work happens in a scratch directory beside ``--out`` (same filesystem, so publishing is one
``os.rename``). The user's input is only ever read. Nothing appears at ``--out`` unless the
verification gate passed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from repair.artifact import SERVE, SERVING_DEFAULT, ArtifactKind, detect_kind
from repair.diagnose import Diagnosis, Reference, diagnose, tf_parity
from repair.errors import BadInput, ExitCode, RepairError
from repair.findings import Finding, FindingKind, blocking
from repair.model import Entry, WorkingModel, forget, open_file_artifact, open_saved_model, reopen, save_serving
from repair.options import Options
from repair.parity import Parity
from repair.plan import Decider, Decision, FixRecord, Outcome, accept_all, annotate, proposals
from repair.rewrite import RewriteFailed

MAX_ROUNDS = 4


@dataclass(frozen=True)
class GateCheck:
    name: str
    ok: bool
    detail: str


@dataclass
class RunResult:
    """Everything a report needs about one run."""

    input: Path
    out: Path | None
    options: Options
    status: str  # repaired | nothing-to-fix | refused | verification-failed
    exit_code: ExitCode
    message: str
    original: Diagnosis
    final: Diagnosis | None
    fixes: list[FixRecord] = field(default_factory=list)
    gate: list[GateCheck] = field(default_factory=list)
    tf_parity: Parity | None = None
    timings: dict[str, float] = field(default_factory=dict)
    input_bytes: int = 0
    output_bytes: int = 0
    reference: str = ""  # what parity compared against


def open_model(path: Path) -> WorkingModel:
    """Load stage: classify the artifact and read it statically."""
    kind = detect_kind(path)
    if kind is ArtifactKind.SAVED_MODEL:
        return open_saved_model(path)
    return open_file_artifact(path, kind)


def validate_flags(model: WorkingModel, options: Options) -> None:
    """Flags that name inputs, outputs or signatures must name real ones: a typo is bad input, not a no-op."""
    if model.info is not None and options.signature is not None:
        keys = sorted(model.info.best_graph().signatures)
        if keys and options.signature not in keys:
            raise BadInput(f"--signature {options.signature}: no such signature (have: {', '.join(keys)})")
    if model.entry is None:
        return
    inputs = {n for p in model.entry.inputs for n in (p.name, p.origin)}
    outputs = {n for p in model.entry.outputs for n in (p.name, p.origin)}
    for name in options.pins:
        if name not in inputs:
            raise BadInput(f"--pin {name}=...: no input is called '{name}' (inputs: {', '.join(p.name for p in model.entry.inputs)})")
    for name in options.renames:
        if name not in inputs | outputs:
            raise BadInput(f"--rename {name}=...: no input or output is called '{name}' "
                           f"(inputs: {', '.join(p.name for p in model.entry.inputs)}; outputs: {', '.join(p.name for p in model.entry.outputs)})")


def run_diagnosis(path: Path, options: Options) -> Diagnosis:
    """``repair diagnose``: findings with the fix that answers each (or why none does).

    A Keras file or frozen graph is turned into a temporary SavedModel first, so that what would fail after the
    export (an RNN's TensorList, a Flex op) is reported too, not only "this is a Keras file".
    """
    model = open_model(path)
    validate_flags(model, options)
    diag = diagnose(model, options)
    diag.findings = annotate(diag.findings, model, options)
    if model.info is not None:
        return diag
    todo = proposals(diag.findings, set())
    if not todo:
        return diag
    with tempfile.TemporaryDirectory(prefix=".repair-diagnose-") as tmp:
        proposal = todo[0]
        try:
            exported = proposal.rewrite.apply(model, proposal.finding, options, Path(tmp)).model
        except RewriteFailed as exc:
            diag.findings = [replace(f, no_fix_reason=str(exc), fix=None) for f in diag.findings]
            return diag
        inner = diagnose(exported, options)
        inner.findings = diag.findings + annotate(inner.findings, exported, options)
        inner.model = model
        forget(Path(tmp))
        return inner


def _signature_rows(entry: Entry | None) -> tuple[tuple[str, str, str, str], ...]:
    if entry is None:
        return ()
    return tuple(("input", p.name, p.dtype, p.shape_text()) for p in entry.inputs) + tuple(
        ("output", p.name, p.dtype, p.shape_text()) for p in entry.outputs
    )


def _export(model: WorkingModel, dest: Path) -> WorkingModel:
    """Export stage: save the pending entry as serving_default and reopen it, keeping port origins."""
    assert model.entry is not None
    save_serving(model, dest)
    return reopen(dest, model.entry)


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _check_paths(src: Path, out: Path, force: bool) -> None:
    src_r, out_r = src.resolve(), out.resolve()
    if out_r == src_r or src_r in out_r.parents:
        raise BadInput(f"--out {out} is inside the input {src}; choose a directory outside it")
    if out_r in src_r.parents:
        raise BadInput(f"--out {out} contains the input {src}; choose another directory")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} exists and is a file")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BadInput(f"--out {out} exists and is not empty; pass --force to replace it")


def _gate(final: Diagnosis, fixed: Parity | None) -> list[GateCheck]:
    """The verification gate: every check must pass before anything is published."""
    model = final.model
    info = model.info
    checks = [
        GateCheck("tag {'serve'}", info is not None and info.serve_graph() is not None, "meta graph tags"),
        GateCheck(
            "serving_default", info is not None and SERVING_DEFAULT in info.best_graph().signatures, "signature present"
        ),
    ]
    conv = final.conversion
    flex = final.tflite.flex_ops + final.tflite.custom_ops if final.tflite else []
    checks.append(GateCheck(
        "converts builtins-only",
        conv is not None and conv.ok and not flex,
        "ok" if conv is not None and conv.ok and not flex else (conv.text.splitlines()[0][:200] if conv and conv.text else "not converted"),
    ))
    parity = final.parity
    if parity is not None:
        detail = f"max abs diff {parity.worst:.3g} (atol {parity.tolerance.atol:g}, rtol {parity.tolerance.rtol:g})"
    elif final.has(FindingKind.NONDETERMINISTIC_OUTPUTS):
        detail = "the original's outputs are random, so parity cannot be proven"
    elif final.has(FindingKind.REFERENCE_FAILURE):
        detail = "the original could not run on generated inputs: give --pin NAME=... or --sample FILE.npz"
    elif final.has(FindingKind.INTERPRETER_FAILURE):
        detail = "the .tflite failed in the interpreter"
    else:
        detail = "not run"
    checks.append(GateCheck("TFLite matches the original", parity is not None and parity.ok, detail))
    if fixed is not None:
        checks.append(GateCheck("TensorFlow matches the original", fixed.ok, f"max abs diff {fixed.worst:.3g}"))
    remaining = [f for f in blocking(final.findings)]
    checks.append(GateCheck("no blocking findings", not remaining, ", ".join(f.id for f in remaining) or "none"))
    return checks


def _publish(final_dir: Path, out: Path) -> None:
    """One rename makes the output appear; a replaced --out is moved aside first, then removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    trash = None
    if out.exists():
        trash = out.parent / f".repair-old-{out.name}-{os.getpid()}"
        os.rename(out, trash)
    os.rename(final_dir, out)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def run_fix(src: Path, out: Path, options: Options, *, force: bool = False, decider: Decider = accept_all,
            report_dir: Path | None = None) -> RunResult:
    """``repair fix``: repair, verify, report and publish, or explain why not."""
    from repair.report import write_reports  # report formatting is only needed here

    started = time.perf_counter()
    model = open_model(src)
    _check_paths(src, out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".repair-{out.name}-", dir=out.parent))
    try:
        return _run(src, out, model, options, decider, scratch, report_dir, started, write_reports)
    finally:
        forget(scratch)
        shutil.rmtree(scratch, ignore_errors=True)


def _run(src, out, model, options, decider, scratch, report_dir, started, write_reports) -> RunResult:  # type: ignore[no-untyped-def]
    original_model = model
    reference = Reference(model) if model.entry is not None and model.info is not None else None
    records: list[FixRecord] = []
    done: set[str] = set()
    first: Diagnosis | None = None
    diag: Diagnosis | None = None
    step = 0
    export_error = ""
    for _ in range(MAX_ROUNDS):
        validate_flags(model, options)
        diag = diagnose(model, options, reference)
        diag.findings = annotate(diag.findings, model, options)
        first = first or diag
        todo = proposals(diag.findings, done)
        if not todo:
            break
        changed = False
        for proposal in todo:
            done.add(proposal.rewrite.id)
            before = _signature_rows(model.entry)
            if decider(proposal, model) is Decision.REJECT:
                records.append(FixRecord(proposal.rewrite.id, proposal.finding.id, proposal.safety.value, Outcome.REJECTED, "rejected"))
                continue
            step += 1
            work = scratch / f"{step:02d}-{proposal.rewrite.id}"
            work.mkdir()
            t0 = time.perf_counter()
            try:
                applied = proposal.rewrite.apply(model, proposal.finding, options, work)
            except RepairError:
                raise  # bad flags for this model: the whole run stops with its one line
            except Exception as exc:  # RewriteFailed, or TensorFlow refusing this model: the fix failed, say why
                records.append(FixRecord(proposal.rewrite.id, proposal.finding.id, proposal.safety.value, Outcome.FAILED,
                                         _one_line(exc), time.perf_counter() - t0))
                continue
            model, changed = applied.model, True
            if applied.reference_adapter is not None and reference is not None:
                reference = Reference(reference.model, applied.reference_adapter)
            elif applied.rebase_reference or reference is None:
                reference = Reference(model)
            records.append(FixRecord(
                proposal.rewrite.id, proposal.finding.id, proposal.safety.value, Outcome.APPLIED, applied.summary,
                time.perf_counter() - t0, before, _signature_rows(model.entry), tuple((applied.op_delta or {}).items()),
            ))
        if not changed:
            break  # everything proposed was rejected or failed: the diagnosis above still describes the model
        if model.reexport:
            step += 1
            try:
                model = _export(model, scratch / f"{step:02d}-export")
            except Exception as exc:  # tf.saved_model.save refusing the wrapper: nothing to verify
                export_error = _one_line(exc)
                break
    else:
        diag = diagnose(model, options, reference)
        diag.findings = annotate(diag.findings, model, options)
    assert first is not None and diag is not None

    result = RunResult(src, None, options, "", ExitCode.OK, "", first, diag, records,
                       input_bytes=_dir_bytes(src), reference=reference.describe() if reference else "the model itself")
    if export_error:
        result.status, result.exit_code = "verification-failed", ExitCode.VERIFICATION_FAILED
        result.message = f"exporting the repaired model failed: {export_error}"
        return _finish(result, None, report_dir, started, write_reports)
    not_applied = {r.rewrite_id for r in records if r.outcome is not Outcome.APPLIED}
    refused = [f for f in blocking(diag.findings) if not f.fix or f.fix in not_applied]
    if refused:
        result.status, result.exit_code = "refused", ExitCode.FINDINGS_REMAIN
        result.message = "cannot repair: " + "; ".join(f"{f.id}: {_why_not(f, records)}" for f in refused)
        return _finish(result, None, report_dir, started, write_reports)

    if reference is not None and diag.parity is not None and diag.model is not reference.model:
        result.tf_parity = tf_parity(diag, options)
    result.gate = _gate(diag, result.tf_parity)
    if not all(c.ok for c in result.gate):
        failed = [c for c in result.gate if not c.ok]
        result.status, result.exit_code = "verification-failed", ExitCode.VERIFICATION_FAILED
        result.message = "verification failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return _finish(result, None, report_dir, started, write_reports)

    final_dir = diag.model.path
    if final_dir == original_model.path:  # nothing needed changing: publish a verified copy
        final_dir = scratch / "final"
        shutil.copytree(src, final_dir)
    assert diag.conversion is not None and diag.conversion.tflite is not None
    (final_dir / "model.tflite").write_bytes(diag.conversion.tflite)
    result.output_bytes = _dir_bytes(final_dir)
    applied = [r for r in records if r.outcome is Outcome.APPLIED]
    result.status = "repaired" if applied else "nothing-to-fix"
    skipped = [f"{r.rewrite_id} ({r.outcome.value}: {r.summary})" for r in records if r.outcome is not Outcome.APPLIED]
    result.message = f"repaired with {len(applied)} fix(es), verified" if applied else "nothing to fix; verified copy written"
    if skipped:
        result.message += "; not applied: " + "; ".join(skipped)
    result.out = out
    result = _finish(result, final_dir, report_dir, started, write_reports)
    forget(final_dir)
    _publish(final_dir, out)
    return result


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if isinstance(exc, RewriteFailed) else f"{type(exc).__name__}: {text}"[:300]


def _why_not(finding: Finding, records: list[FixRecord]) -> str:
    for record in records:
        if record.rewrite_id == finding.fix and record.outcome is not Outcome.APPLIED:
            return f"{record.rewrite_id} {record.outcome.value}: {record.summary}"
    return finding.no_fix_reason


def _finish(result: RunResult, final_dir: Path | None, report_dir: Path | None, started: float, write_reports) -> RunResult:  # type: ignore[no-untyped-def]
    result.timings["total"] = time.perf_counter() - started
    if final_dir is not None:
        write_reports(result, final_dir)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        write_reports(result, report_dir)
    return result


__all__ = ["RunResult", "open_model", "run_diagnosis", "run_fix", "SERVE"]
