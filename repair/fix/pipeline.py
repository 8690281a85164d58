"""The one place that knows the order: open -> diagnose -> plan -> decide -> apply -> export -> verify -> report -> publish.

``run_fix`` is that order, one named stage per step over one ``FixRun`` (the run's inputs and what the stages
learn). All work happens in a scratch directory beside ``--out`` (same filesystem, so publishing is one
``os.rename``). The user's input is only ever read. Nothing appears at ``--out`` unless the verification gate passed.
The catalogs are passed in (``Catalog``): the engine never imports them.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from repair.core import progress
from repair.core.crash import note_scratch
from repair.core.decide import AutoDecider, Decider, Decision, Proposal, ProposalKind, why_not, why_yes
from repair.core.errors import BadInput, ExitCode, RepairError, environment_problem
from repair.core.findings import Finding, FindingKind, blocking
from repair.core.options import Options, Target, Tolerance
from repair.core.publish import check_out_beside, make_scratch, publish, tf_safe
from repair.core.safety import Safety
from repair.core.text import count
from repair.fix.diagnose import Diagnosis, Reference, diagnose, make_feeds, tf_parity
from repair.fix.plan import ProposedFix, annotate, proposals
from repair.fix.quantize import check_request as check_quantize
from repair.fix.quantize import preview as quant_preview
from repair.fix.quantize import quantize_output
from repair.fix.report import write_reports
from repair.fix.result import FixOutcome, FixRecord, GateCheck, Row, RunResult, RunStatus, consent_flags, describe_reference
from repair.fix.rewrite import Applied, Catalog, Rewrite, RewriteFailed
from repair.fix.targets import requested as requested_targets
from repair.model.artifact import SERVING_DEFAULT, ArtifactKind, detect_kind
from repair.model.effects import refusal as side_effects_refusal
from repair.model.parity import Parity, check_sample, compare
from repair.model.working import (
    Entry,
    WorkingModel,
    forget,
    open_file_artifact,
    open_saved_model,
    pin_conflict,
    reopen,
    save_serving,
)

if TYPE_CHECKING:
    from repair.source.codemod import SourceOffers

MAX_ROUNDS = 4


def open_model(path: Path) -> WorkingModel:
    """Load stage: classify the artifact and read it statically."""
    kind = detect_kind(path)
    if kind is ArtifactKind.SAVED_MODEL:
        return open_saved_model(path)
    return open_file_artifact(path, kind)


def validate_sample(model: WorkingModel, options: Options) -> bool:
    """A --sample that cannot feed the model's inputs is bad input (exit 2), said before anything converts or runs.

    Checked once, against the first model that has a serving entry (the user's, or a Keras file's first export):
    later rewrites may change the contract (parse_example), and parity feeds the sample by origin keys then.
    Returns whether the check could be made.
    """
    if options.sample is None:
        return True
    if model.entry is None:
        return False
    check_sample(options.sample, model.entry.inputs, options)
    return True


def validate_flags(model: WorkingModel, options: Options) -> None:
    """Flags that name inputs, outputs or signatures must name real ones: a typo is bad input, not a no-op."""
    if model.info is not None and options.signature is not None:
        keys = sorted(model.info.best_graph().signatures)
        if keys and options.signature not in keys:
            raise BadInput(f"--signature {options.signature}: no such signature (have: {', '.join(keys)})")
    if model.entry is None:
        return
    ports = model.entry.inputs
    aliases = {a: p for i, p in enumerate(ports) for a in options.input_aliases(p.name, p.origin, i, len(ports))}
    inputs = {n for p in ports for n in (p.name, p.origin)}
    outputs = {n for p in model.entry.outputs for n in (p.name, p.origin)}
    for name, pin in options.pins.items():
        port = aliases.get(name)
        if port is None:
            raise BadInput(f"--pin {name}=...: no input is called '{name}' (inputs: {', '.join(p.name for p in ports)})")
        problem = pin_conflict(port, pin)
        if problem:
            raise BadInput(f"--pin {name}={','.join('-1' if d is None else str(d) for d in pin)}: {problem}")
    for name in options.renames:
        if name not in inputs | outputs:
            raise BadInput(f"--rename {name}=...: no input or output is called '{name}' "
                           f"(inputs: {', '.join(p.name for p in model.entry.inputs)}; "
                           f"outputs: {', '.join(p.name for p in model.entry.outputs)})")


def run_diagnosis(path: Path, options: Options, catalog: Catalog) -> Diagnosis:
    """``repair diagnose``: findings with the fix that answers each (or why none does).

    A Keras file or frozen graph is turned into a temporary SavedModel first, so that what would fail after the
    export (an RNN's TensorList, a Flex op) is reported too, not only "this is a Keras file". With ``--quantize``, a
    model that converts and matches is quantized once, every layer quantized, and measured against the budget.
    """
    started = time.perf_counter()
    progress.stage("loading TensorFlow, reading the model")
    model = open_model(tf_safe(path))  # TensorFlow cannot open a path that is not UTF-8: an alias of it
    validate_flags(model, options)
    check_quantize(model, options)
    opened = time.perf_counter() - started
    progress.stage("diagnosing: converting, running the .tflite, checking parity")
    if options.quantize is None:
        diag = _diagnosis(model, options, catalog)
        diag.timings = {"open": opened, **diag.timings, "total": time.perf_counter() - started}
        return diag
    with tempfile.TemporaryDirectory(prefix=".repair-diagnose-quant-") as tmp:
        note_scratch(Path(tmp))
        diag = _diagnosis(model, options, catalog, Path(tmp))
        converted = diag.conversion is not None and diag.conversion.ok and diag.model.entry is not None
        unfixed = [f for f in blocking(diag.findings) if not f.fix]  # a Keras file's own finding has its export
        if converted and diag.parity is not None and diag.parity.ok and not unfixed:
            t0 = time.perf_counter()
            progress.stage(f"quantizing to {options.quantize.mode.value} and measuring")
            diag.quant = quantize_output(diag, None, options, one_shot=True)
            diag.findings = diag.findings + diag.quant.findings
            diag.timings["quantize"] = time.perf_counter() - t0
        diag.model = model  # what the user gave (a Keras file's export lived in scratch)
        forget(Path(tmp))
    diag.timings = {"open": opened, **diag.timings, "total": time.perf_counter() - started}
    return diag


def _diagnosis(model: WorkingModel, options: Options, catalog: Catalog, keep: Path | None = None) -> Diagnosis:
    """The diagnosis of ``model``; an exported Keras file is kept in ``keep`` (when given) for the caller to use."""
    sample_checked = validate_sample(model, options)
    diag = diagnose(model, options, catalog)
    diag.findings = annotate(diag.findings, model, options, catalog)
    if diag.has(FindingKind.SIDE_EFFECTS):  # trying a fix or exporting would load and run the model's graphs
        return diag
    if model.info is not None:
        diag.findings = _tried(diag.findings, model, options, catalog)
        return diag
    todo = proposals(diag.findings, set(), catalog)
    if not todo:
        return diag
    with tempfile.TemporaryDirectory(prefix=".repair-diagnose-") as tmp:
        note_scratch(Path(tmp))
        work = keep / "export" if keep is not None else Path(tmp)
        work.mkdir(exist_ok=True)
        proposal = todo[0]
        try:
            exported = proposal.rewrite.apply(model, proposal.finding, options, work).model
        except RewriteFailed as exc:
            diag.findings = [replace(f, no_fix_reason=str(exc), fix=None) for f in diag.findings]
            return diag
        validate_flags(exported, options)
        if not sample_checked:
            validate_sample(exported, options)
        inner = diagnose(exported, options, catalog)
        inner.findings = diag.findings + _tried(annotate(inner.findings, exported, options, catalog), exported, options,
                                              catalog)
        inner.model = model if keep is None else exported
        forget(Path(tmp))
        return inner


def _tried(findings: list[Finding], model: WorkingModel, options: Options, catalog: Catalog) -> list[Finding]:
    """Diagnose announces a graph-surgery fix only after applying it in scratch: one that declines loses its
    ``fix`` and says why instead (`repair fix` would decline the same way)."""
    tried = [f for f in findings if f.fix and catalog[f.fix].tried_in_diagnose]
    if not tried:
        return findings
    verdicts: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory(prefix=".repair-diagnose-try-") as tmp:
        note_scratch(Path(tmp))
        for n, finding in enumerate(tried):
            assert finding.fix is not None
            rewrite = catalog[finding.fix]
            key = f"{rewrite.id}:{finding.id}"
            if key in verdicts:
                continue
            work = Path(tmp) / f"{n:02d}-{rewrite.id}"
            work.mkdir()
            try:
                rewrite.apply(model, finding, options, work)
                verdicts[key] = None
            except RepairError:
                raise
            except RewriteFailed as exc:
                verdicts[key] = f"{rewrite.id} was tried on this model and declined: {exc}"
            except Exception as exc:  # TensorFlow refusing the rewritten graph: the fix would fail the same way
                verdicts[key] = f"{rewrite.id} was tried on this model and failed: {_one_line(exc)}"
            forget(work)
    out = []
    for finding in findings:
        reason = verdicts.get(f"{finding.fix}:{finding.id}")
        out.append(replace(finding, fix=None, no_fix_reason=reason) if reason else finding)
    return out


def _signature_rows(entry: Entry | None) -> tuple[Row, ...]:
    if entry is None:
        return ()
    return tuple(("input", p.name, p.dtype, p.shape_text()) for p in entry.inputs) + tuple(
        ("output", p.name, p.dtype, p.shape_text()) for p in entry.outputs
    )


def _export(model: WorkingModel, dest: Path) -> WorkingModel:
    """Export stage: save the pending entry as serving_default and reopen it, keeping port origins."""
    assert model.entry is not None
    save_serving(model, dest)
    # The user's Keras file still describes this model (same layers and weights, a new contract around them):
    # rewrites that rebuild from it (unroll_keras_rnn) must still find it.
    return replace(reopen(dest, model.entry), keras_file=model.keras_file)


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _check_paths(src: Path, out: Path, force: bool) -> None:
    check_out_beside(src, out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BadInput(f"--out {out} exists and is not empty; pass --force to replace it")


def _gate(final: Diagnosis, fixed: Parity | None, claimed: dict[str, set[str]] | None = None,
          wanted: tuple[Target, ...] = ()) -> list[GateCheck]:
    """The verification gate: every check must pass before anything is published.

    ``claimed`` maps each applied fix to the findings it answered: the output was diagnosed again from scratch
    (protos, conversion, .tflite, parity), and a finding a fix claimed to remove that is still there refuses the
    run, whatever its severity: a model with its defect still inside is never published as repaired. ``wanted`` are
    the deployment targets asked for: each must have passed its own check on the output (or its fallback accepted).
    """
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
    converted = conv is not None and conv.ok and not flex
    first_line = conv.text.splitlines()[0][:200] if conv and conv.text else "not converted"
    checks.append(GateCheck("converts builtins-only", converted, "ok" if converted else first_line))
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
    for report in final.targets:  # every requested deployment target, re-checked on the output
        detail = report.summary + (" (CPU fallback accepted with --accept-fallback)" if report.accepted else "")
        checks.append(GateCheck(f"target {report.name}", report.ok or report.accepted, detail))
    checks += [GateCheck(f"target {t.value}", False, "not checked") for t in wanted
               if t not in {r.target for r in final.targets}]
    remaining = [f for f in blocking(final.findings)]
    checks.append(GateCheck("no blocking findings", not remaining, ", ".join(f.id for f in remaining) or "none"))
    if claimed:
        still = {f.id for f in final.findings}
        left = [f"{finding} (after {fix})" for fix, findings in claimed.items() for finding in sorted(findings & still)]
        checks.append(GateCheck("fixed defects are gone from the output", not left,
                                "still present: " + ", ".join(left) if left else
                                "re-detected none of: " + ", ".join(sorted({f for fs in claimed.values() for f in fs}))))
    return checks


@dataclass
class FixRun:
    """One ``repair fix`` run: what it was asked (the first block) and what its stages learn (the second)."""

    src: Path
    out: Path | None
    options: Options  # widened by a fix whose original computes at lower precision (see _apply)
    catalog: Catalog
    decider: Decider
    scratch: Path
    report_dir: Path | None
    source: Path | None  # the Python that built the model: its matching edits are offered beside the model fixes
    force: bool
    started: float
    original: WorkingModel
    timings: dict[str, float]  # stage seconds outside the diagnoses, for the report

    model: WorkingModel = field(init=False)  # the model as the fixes so far left it
    reference: Reference | None = None  # what parity compares against: the original, or the first serving entry
    offers: SourceOffers | None = None
    first: Diagnosis | None = None  # the original's diagnosis
    diag: Diagnosis | None = None  # the latest diagnosis: of the output, once the rounds end
    records: list[FixRecord] = field(default_factory=list)
    claimed: dict[str, set[str]] = field(default_factory=dict)  # applied fix -> findings it answered (gate re-checks)
    widened_by: str = ""  # the fix whose lower-precision original widened the parity tolerance, if any
    crashed: set[str] = field(default_factory=set)  # fixes that raised something other than RewriteFailed
    done: set[str] = field(default_factory=set)  # fixes already proposed
    step: int = 0  # numbers the scratch directories
    export_error: str = ""
    rebased_by: str = ""  # the fix whose output became the parity reference (the original could not serve)
    unexported: list[int] = field(default_factory=list)  # records applied since the last export (it writes them)

    def __post_init__(self) -> None:
        self.model = self.original
        if self.original.entry is not None and self.original.info is not None:
            self.reference = Reference(self.original)


def run_fix(src: Path, out: Path | None, options: Options, catalog: Catalog, *, force: bool = False,
            decider: Decider | None = None, report_dir: Path | None = None, source: Path | None = None) -> RunResult:
    """``repair fix``: repair, verify, report and publish, or explain why not.

    ``out`` None runs everything but publishes nothing (``--plan-out`` alone: propose and decide only).
    ``source`` is the Python that built the model: matching source edits are offered beside the model fixes.
    """
    started = time.perf_counter()
    decider = decider or AutoDecider(consented=catalog.consented(options))
    progress.stage("loading TensorFlow, reading the model")
    model = open_model(tf_safe(src))  # TensorFlow cannot open a path that is not UTF-8: an alias of it
    _refuse_side_effects(src, out, model, options, catalog, force, report_dir, started)
    check_quantize(model, options)  # a --budget naming no output, a calibration file that cannot feed it: exit 2, no scratch
    timings = {"open": time.perf_counter() - started}
    if out is not None:
        _check_paths(src, out, force)
        scratch = make_scratch(out)  # beside --out, its owner in its name (repair.core.publish)
    else:
        scratch = Path(tempfile.mkdtemp(prefix=".repair-plan-"))
    note_scratch(scratch)  # a supervisor removes it if the converter kills this process
    run = FixRun(src, out, options, catalog, decider, tf_safe(scratch), report_dir, source, force, started, model,
                 timings)
    try:
        _repair(run)  # rounds of diagnose -> plan -> decide -> apply -> export
        result = _verify(run)  # the output's diagnosis, what stays unfixed, TF parity, the gate
        if run.options.quantize is not None and result.status in (RunStatus.REPAIRED, RunStatus.NOTHING_TO_FIX):
            _quantize_stage(run, result)  # the verified float model -> a quantized one within the budget, or why not
        if result.status in (RunStatus.REFUSED, RunStatus.VERIFICATION_FAILED):
            return _finish(result, None, report_dir, started)
        return _publish(run, result)  # reports, then one rename to --out
    finally:
        forget(scratch)
        shutil.rmtree(scratch, ignore_errors=True)


def _refuse_side_effects(src: Path, out: Path | None, model: WorkingModel, options: Options, catalog: Catalog,
                         force: bool, report_dir: Path | None, started: float) -> None:
    """Before anything loads or runs the model: a graph that reaches outside it (file I/O, py_func) is refused."""
    refusal = side_effects_refusal(model.path, model.kind, options.allow_side_effects)
    if refusal is None:
        return
    if out is not None:
        _check_paths(src, out, force)
    diag = _annotated(model, options, None, catalog)  # static findings and SIDE_EFFECTS; converted only when safe
    _finish(RunResult(src, None, options, RunStatus.REFUSED, ExitCode.FINDINGS_REMAIN, str(refusal), diag, diag,
                      input_bytes=_dir_bytes(src)), None, report_dir, started)
    raise refusal


def _source_offers(source: Path, diag: Diagnosis, options: Options, catalog: Catalog) -> SourceOffers:
    """Source edits for the first diagnosis's findings, located ones (the converter's file:line) first."""
    from repair.source.codemod import SourceOffers  # LibCST: only imported when --source asks for it
    from repair.source.rewrite import SourceOptions

    kinds = {f.kind for f in diag.findings}
    rewrites = [r for r in catalog.source if r.answers & kinds]
    locations = diag.conversion.locations if diag.conversion is not None else frozenset()
    return SourceOffers(source, rewrites, SourceOptions(pins=options.pins, renames=options.renames), locations)


def _repair(run: FixRun) -> None:
    """Rounds of diagnose -> plan -> decide -> apply -> export until nothing new is proposed (at most MAX_ROUNDS);
    leaves the output's diagnosis in ``run.diag``.

    Static first: when the protos alone call for fixes, they are applied before converting anything; the next round
    converts the result (once). --source needs the original's conversion (its error locations), and
    --convert-original asks for it (the report's op delta and "before" parity).
    """
    quick = run.source is None and not run.options.convert_original
    sample_checked = False
    for _ in range(MAX_ROUNDS):
        validate_flags(run.model, run.options)
        sample_checked = sample_checked or validate_sample(run.model, run.options)
        diag, todo = _diagnose_round(run, quick)
        run.diag = diag
        run.first = run.first or diag
        if run.source is not None and run.offers is None:
            run.offers = _source_offers(run.source, run.first, run.options, run.catalog)
        if not todo:
            break
        changed = False
        for proposal in todo:
            changed = _decide_and_apply(run, proposal, diag) or changed
        if not changed:
            if diag.static_only:
                continue  # the static fixes were all declined: what else is wrong needs the conversion
            break  # everything proposed was rejected or failed: the diagnosis above still describes the model
        if run.model.reexport and not _export_stage(run):
            break
    else:
        progress.stage("converting the repaired model, checking parity")
        run.diag = _annotated(run.model, run.options, run.reference, run.catalog)
    assert run.diag is not None
    if run.diag.static_only and not run.export_error:  # the loop ended on a static round: verify what it produced
        progress.stage("converting the repaired model, checking parity")
        run.diag = _annotated(run.model, run.options, run.reference, run.catalog)


def _diagnose_round(run: FixRun, quick: bool) -> tuple[Diagnosis, list[ProposedFix]]:
    """One round's diagnosis and the fixes it proposes: static only when that already proposes fixes."""
    if quick:
        progress.stage("diagnosing from the protos")
        diag = _annotated(run.model, run.options, run.reference, run.catalog, static_only=True)
        todo = proposals(diag.findings, run.done, run.catalog)
        if todo:
            return diag, todo
    which = "the original" if run.model is run.original else "the repaired model"
    progress.stage(f"diagnosing {which}: converting, running the .tflite, checking parity")
    diag = _annotated(run.model, run.options, run.reference, run.catalog)
    return diag, proposals(diag.findings, run.done, run.catalog)


def _decide_and_apply(run: FixRun, proposal: ProposedFix, diag: Diagnosis) -> bool:
    """Ask the decider about one proposed fix and apply it if accepted; returns whether the model changed."""
    rewrite = proposal.rewrite
    run.done.add(rewrite.id)
    before = _signature_rows(run.model.entry)
    run.step += 1
    attempt = _Attempt(proposal, run.model, run.options, run.scratch / f"{run.step:02d}-{rewrite.id}", run.reference)
    question = attempt.question(run.src)
    decision = run.decider(question)
    if run.offers is not None:
        run.offers.offer(run.decider, proposal.finding.id)  # the source edit for the same finding, beside the model fix
    if decision is Decision.REJECT:
        not_why = "not accepted: " + why_not(run.decider, question)
        run.records.append(FixRecord(rewrite.id, proposal.finding.id, proposal.safety, FixOutcome.REJECTED, not_why,
                                     attempt.seconds, why=not_why, ran=attempt.ran))  # ran: previewed at the prompt
        return False
    progress.stage(f"applying {rewrite.id}")
    try:
        applied = attempt.result()
    except RepairError:
        raise  # bad flags for this model: the whole run stops with its one line
    except Exception as exc:  # RewriteFailed, or TensorFlow refusing this model: the fix failed, say why
        if (problem := environment_problem(exc, f"{rewrite.id} writing in {run.scratch.parent}")) is not None:
            raise problem from None  # a full disk is not a fix that failed: exit 2, nothing published
        run.records.append(FixRecord(rewrite.id, proposal.finding.id, proposal.safety, FixOutcome.FAILED,
                                     _one_line(exc), attempt.seconds, why=_why_ran(run, rewrite, question)))
        if not isinstance(exc, RewriteFailed):
            run.crashed.add(rewrite.id)
        return False
    run.model = applied.model
    if applied.tolerance_floor is not None:
        run.options, run.widened_by = _widened(run.options, applied.tolerance_floor), rewrite.id
    answered = {f.id for f in diag.findings if f.fix == rewrite.id} | {proposal.finding.id}
    run.claimed.setdefault(rewrite.id, set()).update(answered - {k.value for k in applied.partly})
    if applied.reference_adapter is not None and run.reference is not None:
        run.reference = Reference(run.reference.model, applied.reference_adapter)
    elif applied.rebase_reference or run.reference is None:
        run.reference, run.rebased_by = Reference(run.model), rewrite.id
    if run.model.reexport:  # the change is written by the round's export: its seconds and final shapes come from it
        run.unexported.append(len(run.records))
    run.records.append(FixRecord(
        rewrite.id, proposal.finding.id, proposal.safety, FixOutcome.APPLIED, applied.summary,
        attempt.seconds, before, _signature_rows(run.model.entry), tuple((applied.op_delta or {}).items()),
        _why_ran(run, rewrite, question),
    ))
    return True


def _why_ran(run: FixRun, rewrite: Rewrite, question: Proposal) -> str:
    """Why an accepted fix ran; for an unsafe fix the user's flag consented to, the flag by name (--pin ...)."""
    auto = getattr(run.decider, "inner", run.decider)  # a Recorder (--plan-out) wraps the decider it asks
    if (isinstance(auto, AutoDecider) and not auto.unsafe and rewrite.safety is Safety.UNSAFE
            and rewrite.id in auto.consented):
        flags = consent_flags(rewrite.consented, run.options) or ["the flags given"]
        return f"unsafe: consented by {' and '.join(flags)} (the flag that gives its values is the consent)"
    return why_yes(run.decider, question)


def _exported(run: FixRun, seconds: float) -> None:
    """Credit the export that just ran to the fixes it wrote, and read their final output shapes from it: a pinned
    batch reaches the outputs only when the graph is re-traced (an output [?,4] becomes [1,4])."""
    exported = _signature_rows(run.model.entry)
    ids = [run.records[i].rewrite_id for i in run.unexported]
    for i in run.unexported:
        r = run.records[i]
        run.records[i] = replace(r, export_seconds=seconds, exported_with=tuple(x for x in ids if x != r.rewrite_id),
                                 signature_before=_with_outputs(r.signature_before, exported),
                                 signature_after=_with_outputs(r.signature_after, exported))
    run.unexported.clear()


def _with_outputs(rows: tuple[Row, ...], exported: tuple[Row, ...]) -> tuple[Row, ...]:
    """``rows`` with each output's shape as exported, when their inputs are the exported ones (a graph's output
    shapes follow from its input shapes); other rows (another contract, earlier in the round) stay as they were."""
    if [r for r in rows if r[0] == "input"] != [r for r in exported if r[0] == "input"]:
        return rows
    final = {(r[1], r[2]): r for r in exported if r[0] == "output"}
    return tuple(final.get((r[1], r[2]), r) if r[0] == "output" else r for r in rows)


def _export_stage(run: FixRun) -> bool:
    """Save the pending serving entry and reopen it; False (with ``run.export_error``) when TensorFlow refuses."""
    run.step += 1
    progress.stage("exporting the repaired SavedModel")
    try:
        t0 = time.perf_counter()
        run.model = _export(run.model, run.scratch / f"{run.step:02d}-export")
        run.timings["export"] = run.timings.get("export", 0.0) + time.perf_counter() - t0
        _exported(run, time.perf_counter() - t0)
    except Exception as exc:  # tf.saved_model.save refusing the wrapper: nothing to verify
        if (problem := environment_problem(exc, f"exporting the repaired model in {run.scratch.parent}")) is not None:
            raise problem from None
        run.export_error = _one_line(exc)
        return False
    return True


def _verify(run: FixRun) -> RunResult:
    """The verdict on the output: refused (a blocking finding left unfixed), verification-failed (the gate), or
    repaired / nothing-to-fix with the proof each verified fix ran on."""
    diag, first, options, records = run.diag, run.first, run.options, run.records
    assert first is not None and diag is not None
    if run.widened_by:
        records = [replace(r, why=f"{r.why}; parity tolerance widened to the original's own precision "
                                  f"(atol {options.tolerance.atol:g}, rtol {options.tolerance.rtol:g})")
                   if r.rewrite_id == run.widened_by and r.outcome is FixOutcome.APPLIED else r for r in records]
    result = RunResult(run.src, None, options, RunStatus.REPAIRED, ExitCode.OK, "", first, diag, records,
                       input_bytes=_dir_bytes(run.src),
                       reference=run.reference.describe() if run.reference else "the model itself",
                       timings=run.timings, scratch=(run.scratch, run.scratch.resolve()))
    if run.reference is not None and run.reference.model.entry is not None:
        result.reference_facts = describe_reference(
            run.reference.model.entry.describe(), run.src, run.rebased_by, run.reference.adapter is not None,
            not run.rebased_by and first.has(FindingKind.UNBOUND_VARIABLES))
    if run.offers is not None:
        run.offers.offer(run.decider)  # what no model fix answered (a signature never traced, a py_function)
        result.source_edits, result.source_patch_text = run.offers.records, run.offers.patch()
    if run.export_error:
        result.status, result.exit_code = RunStatus.VERIFICATION_FAILED, ExitCode.VERIFICATION_FAILED
        result.message = f"exporting the repaired model failed: {run.export_error}"
        return result
    not_applied = {r.rewrite_id for r in records if r.outcome is not FixOutcome.APPLIED}
    # A blocking finding left unfixed stops the run. So does any finding whose accepted fix crashed (an error the
    # rewrite did not foresee, a warning's included): publishing "nothing to fix" would hide it. A fix that declined
    # with a reason (RewriteFailed: "the trip count depends on the input") leaves a warning as it is, and says so.
    stops = blocking(diag.findings)
    refused = [f for f in diag.findings
               if (f in stops and (not f.fix or f.fix in not_applied)) or f.fix in run.crashed]
    if refused:
        result.status, result.exit_code = RunStatus.REFUSED, ExitCode.FINDINGS_REMAIN
        result.message = "cannot repair: " + "; ".join(f"{f.id}: {_why_not(f, records)}" for f in refused)
        return result

    if run.reference is not None and diag.parity is not None and diag.model is not run.reference.model:
        t0 = time.perf_counter()
        progress.stage("checking the repaired SavedModel against the original in TensorFlow")
        result.tf_parity = tf_parity(diag, options)
        result.timings["tf_parity"] = time.perf_counter() - t0
    result.gate = _gate(diag, result.tf_parity, run.claimed, tuple(requested_targets(options)))
    if not all(c.ok for c in result.gate):
        failed = [c for c in result.gate if not c.ok]
        result.status, result.exit_code = RunStatus.VERIFICATION_FAILED, ExitCode.VERIFICATION_FAILED
        result.message = "verification failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return result

    proof = _proof(diag, result.tf_parity)
    result.fixes = [replace(r, why=f"{r.why}; {proof}")
                    if r.outcome is FixOutcome.APPLIED and r.safety is Safety.VERIFIED else r
                    for r in result.fixes]
    applied = [r for r in records if r.outcome is FixOutcome.APPLIED]
    result.status = RunStatus.REPAIRED if applied else RunStatus.NOTHING_TO_FIX
    skipped = [f"{r.rewrite_id} ({r.outcome.value}: {r.summary})" for r in records if r.outcome is not FixOutcome.APPLIED]
    result.message = (f"repaired with {count(len(applied), 'fix', 'fixes')}, verified" if applied
                      else "nothing to fix; verified copy written")
    if skipped:
        result.message += "; not applied: " + "; ".join(skipped)
    return result


def _quantize_stage(run: FixRun, result: RunResult) -> None:
    """Quantize the verified float output (``--quantize``), offer the result as a fix, and add its gate checks.

    The quantized model is one more proposal (``model::quantize``): ``--quantize`` is the consent, ``-i`` asks, and a
    plan file accepts or rejects it and records the recipe (the layers kept float) that ``--plan-in`` replays.
    """
    diag, options = result.final, run.options
    assert diag is not None and options.quantize is not None
    progress.stage(f"quantizing to {options.quantize.mode.value} within the budget")
    outcome = quantize_output(diag, run.reference, options)
    result.quant = outcome
    result.timings["quantize"] = outcome.seconds
    diag.findings = diag.findings + outcome.findings
    qr = outcome.result
    mode = options.quantize.mode.value
    if outcome.refused or blocking(outcome.findings):
        stops = [f for f in blocking(outcome.findings)]
        result.gate += outcome.checks
        result.status, result.exit_code = RunStatus.REFUSED, ExitCode.FINDINGS_REMAIN
        result.message = f"cannot quantize to {mode}: " + (
            qr.refusal if qr is not None and qr.refusal else "; ".join(f"{f.id}: {f.title}" for f in stops))
        return
    assert qr is not None
    kept = len(qr.recipe.float_layers)
    title = (f"publish the {mode} model" + (f" with {kept} layer(s) kept float" if kept else "") + ": "
             + ", ".join(f"{s.output} {s.metric.value} {s.achieved:.4g}" for s in qr.scores)
             + f" on {len(qr.calibration.held_out)} held-out sample(s); {qr.float_bytes} -> {qr.quant_bytes} bytes")
    question = Proposal(id="model::quantize", kind=ProposalKind.MODEL, rewrite_id="quantize", safety=Safety.UNSAFE,
                        title=title, location=str(run.src), finding="",
                        preview=lambda: quant_preview(outcome), details=lambda: quant_preview(outcome))
    decision = run.decider(question)
    result.gate += outcome.checks
    if decision is Decision.REJECT:  # the quantization ran (its proof is what was asked about): its seconds are real
        not_why = "not accepted: " + why_not(run.decider, question)
        result.fixes.append(FixRecord("quantize", "", Safety.UNSAFE, FixOutcome.REJECTED, not_why, outcome.seconds,
                                      why=not_why))
        result.status, result.exit_code = RunStatus.REFUSED, ExitCode.FINDINGS_REMAIN
        result.message = f"the {mode} model was not accepted ({why_not(run.decider, question)}); nothing published"
        return
    auto = getattr(run.decider, "inner", run.decider)
    consented = isinstance(auto, AutoDecider) and not auto.unsafe and "quantize" in auto.consented
    result.fixes.append(FixRecord("quantize", "", Safety.UNSAFE, FixOutcome.APPLIED, title, outcome.seconds,
                                  why=f"unsafe: consented by --quantize {mode} (the flag is the consent)" if consented
                                  else why_yes(run.decider, question)))
    failed = [c for c in outcome.checks if not c.ok]
    if failed:
        result.status, result.exit_code = RunStatus.VERIFICATION_FAILED, ExitCode.VERIFICATION_FAILED
        result.message = "verification failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return
    quantized = (f"quantized to {mode}" + (f" keeping {kept} layer(s) float" if kept else "")
                 + f", within the budget on {len(qr.calibration.held_out)} held-out sample(s)")
    if result.status is RunStatus.NOTHING_TO_FIX:  # the float model needed nothing: the quantization is the change
        result.message = f"{quantized}; verified" + result.message.partition("verified copy written")[2]
    else:
        result.message += f"; {quantized}"
    result.status = RunStatus.REPAIRED


def _publish(run: FixRun, result: RunResult) -> RunResult:
    """Write the .tflite and the reports into the verified output, then publish it at --out by one rename."""
    diag = result.final
    assert diag is not None and diag.conversion is not None and diag.conversion.tflite is not None
    progress.stage("writing model.tflite and the reports")
    final_dir = diag.model.path
    if final_dir == run.original.path:  # nothing needed changing: publish a verified copy
        final_dir = run.scratch / "final"
        shutil.copytree(run.src, final_dir)
    quantized = result.quant.result.tflite if result.quant is not None and result.quant.result is not None else None
    if quantized is not None:  # --quantize: the quantized model is the deliverable, the float one stays beside it
        (final_dir / "model_float.tflite").write_bytes(diag.conversion.tflite)
    (final_dir / "model.tflite").write_bytes(quantized if quantized is not None else diag.conversion.tflite)
    result.output_bytes = _dir_bytes(final_dir)
    if run.out is None:  # --plan-out alone: decided and verified, nothing published
        result.message += "; nothing published (no --out)"
        return _finish(result, None, run.report_dir, run.started)
    result.out = run.out
    result = _finish(result, final_dir, run.report_dir, run.started)
    forget(final_dir)
    publish(final_dir, run.out, force=run.force)  # no-replace unless --force: a run that published first is never lost
    if result.source_patch is not None and result.source_patch.parent == final_dir:
        result.source_patch = run.out / result.source_patch.name
    return result


def _widened(options: Options, floor: Tolerance) -> Options:
    """The options with a tolerance at least ``floor`` (the user's, where it is wider)."""
    have = options.tolerance
    return replace(options, tolerance=Tolerance(max(have.atol, floor.atol), max(have.rtol, floor.rtol)))


def _proof(final: Diagnosis, fixed: Parity | None) -> str:
    """What the gate proved about the numbers, for fixes that run because it proves them."""
    parts = []
    if final.parity is not None:
        parts.append(f".tflite max abs diff {final.parity.worst:.3g}")
    if fixed is not None:
        parts.append(f"SavedModel max abs diff {fixed.worst:.3g}")
    tol = final.parity.tolerance if final.parity is not None else None
    within = f" (atol {tol.atol:g}, rtol {tol.rtol:g})" if tol is not None else ""
    return "parity holds against the original: " + ", ".join(parts) + within


def _annotated(model: WorkingModel, options: Options, reference: Reference | None, catalog: Catalog,
               static_only: bool = False) -> Diagnosis:
    """A diagnosis whose findings name the fix that answers each (or why none does)."""
    diag = diagnose(model, options, catalog, reference, static_only=static_only)
    diag.findings = annotate(diag.findings, model, options, catalog)
    return diag


class _Attempt:
    """One proposed model fix, applied at most once: lazily for the prompt's preview, or when accepted."""

    def __init__(self, proposal: ProposedFix, model: WorkingModel, options: Options, work: Path,
                 reference: Reference | None) -> None:
        self.proposal, self.model, self.options, self.work, self.reference = proposal, model, options, work, reference
        self.seconds = 0.0
        self.ran = False  # whether apply was called (the prompt's preview calls it before the decision)
        self._applied: Applied | None = None
        self._error: BaseException | None = None

    def result(self) -> Applied:
        """Apply the fix (once) and return what it produced; raises what the rewrite raised."""
        if self._applied is None and self._error is None:
            self.work.mkdir(parents=True, exist_ok=True)
            self.ran = True
            t0 = time.perf_counter()
            try:
                self._applied = self.proposal.rewrite.apply(self.model, self.proposal.finding, self.options, self.work)
            except BaseException as exc:
                self._error = exc
            self.seconds = time.perf_counter() - t0
        if self._error is not None:
            raise self._error
        assert self._applied is not None
        return self._applied

    def question(self, src: Path) -> Proposal:
        rewrite, finding = self.proposal.rewrite, self.proposal.finding
        return Proposal(
            id=f"model::{rewrite.id}",
            kind=ProposalKind.MODEL,
            rewrite_id=rewrite.id,
            safety=rewrite.safety,
            title=f"{rewrite.title} (answers {finding.id}: {finding.title})",
            location=str(src),
            finding=finding.id,
            preview=self.preview,
            details=lambda: f"{finding.explanation}\n\n{rewrite.doc()}"
            + (f"\n\nevidence (start):\n{finding.evidence[:1500]}" if finding.evidence else ""),
        )

    def preview(self) -> str:
        """What the fix changes, measured by applying it in scratch: signature delta, TF op delta, parity."""
        try:
            applied = self.result()
        except RepairError:
            raise
        except Exception as exc:
            return f"applying it failed: {_one_line(exc)}"
        lines = [f"applied in scratch ({self.seconds:.1f}s): {applied.summary}"]
        before, after = _signature_rows(self.model.entry), _signature_rows(applied.model.entry)
        removed = [r for r in before if r not in after]
        added = [r for r in after if r not in before]
        lines += [f"  - {side} {key} {dtype} {shape}" for side, key, dtype, shape in removed]
        lines += [f"  + {side} {key} {dtype} {shape}" for side, key, dtype, shape in added]
        if not removed and not added:
            lines.append("  signature unchanged")
        if applied.op_delta:
            lines.append("  TF ops: " + ", ".join(f"{op} {n:+d}" for op, n in sorted(applied.op_delta.items())))
        lines.append("  parity: " + self._parity(applied))
        return "\n".join(lines)

    def _parity(self, applied: Applied) -> str:
        """TensorFlow outputs of the fixed model against the original's, on generated inputs (best effort)."""
        model = applied.model
        if self.reference is None or applied.rebase_reference or model.entry is None:
            return "n/a (this fix creates the serving entry; it becomes the reference)"
        reference = Reference(self.reference.model, applied.reference_adapter or self.reference.adapter)
        try:
            if model.reexport:
                model = _export(model, self.work.with_name(self.work.name + "-preview"))
            entry = model.entry
            assert entry is not None
            feeds, expected = make_feeds(entry.inputs, reference, self.options)
            got = Reference(model).run({p.origin: feeds[p.name] for p in entry.inputs})
            parity = compare(expected, {p.name: got[p.origin] for p in entry.outputs}, entry.outputs,
                             self.options.tolerance)
        except Exception as exc:  # a preview never stops the run: the gate measures parity for real
            return f"not measured here ({_one_line(exc)}); the verification gate measures it"
        return f"max abs diff {parity.worst:.3g} vs the original in TensorFlow ({'within' if parity.ok else 'OUTSIDE'} tolerance)"


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if isinstance(exc, RewriteFailed) else f"{type(exc).__name__}: {text}"[:300]


def _why_not(finding: Finding, records: list[FixRecord]) -> str:
    for record in records:
        if record.rewrite_id == finding.fix and record.outcome is not FixOutcome.APPLIED:
            hint = (" (not blocking: decline this fix with -i or --plan-in to publish without it)"
                    if record.outcome is FixOutcome.FAILED and not blocking([finding]) else "")
            return f"{record.rewrite_id} {record.outcome.value}: {record.summary}{hint}"
    return finding.no_fix_reason


def _finish(result: RunResult, final_dir: Path | None, report_dir: Path | None, started: float) -> RunResult:
    """Reports (and the source patch) into the output and --report; the run's total time."""
    result.timings["total"] = time.perf_counter() - started
    for directory in (report_dir, final_dir):
        if directory is not None and result.source_patch_text:
            directory.mkdir(parents=True, exist_ok=True)
            result.source_patch = directory / "source.patch"
            result.source_patch.write_text(result.source_patch_text)
    if final_dir is not None:
        write_reports(result, final_dir)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        write_reports(result, report_dir)
    return result


__all__ = ["FixRun", "open_model", "run_diagnosis", "run_fix"]
