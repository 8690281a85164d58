"""Diagnosis: static inspection, one conversion, .tflite inspection, numeric parity, serving loader.

Each stage adds typed findings; none of them reads another's raw text. Converter exceptions alone
miss the worst failure (a .tflite that converts and outputs garbage), so a successful conversion is
always followed by inspecting the flatbuffer and by running it against TensorFlow on the same inputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from repair.core.errors import RepairError
from repair.core.findings import Finding, FindingKind, Severity, Source, in_report_order, worded
from repair.core.options import Options, Target
from repair.core.tfenv import captured_stderr, tf
from repair.fix import targets as target_stage
from repair.fix.rewrite import Catalog
from repair.model.artifact import SERVE, SERVING_DEFAULT, ArtifactKind
from repair.model.convert import Conversion, convert_saved_model
from repair.model.effects import FLAG as ALLOW_SIDE_EFFECTS
from repair.model.effects import scan as scan_effects
from repair.model.parity import Feeds, Parity, compare, generate_valid, load_sample, same_outputs
from repair.model.tflite import TfliteInfo, inspect_tflite, run_tflite
from repair.model.working import EntryKind, Port, WorkingModel, load, serving_callable
from repair.targets import TargetReport

if TYPE_CHECKING:
    from repair.fix.quantize import QuantOutcome

_STOPS_CONVERSION = frozenset(
    {FindingKind.NO_SIGNATURE_TRACED, FindingKind.NO_SIGNATURE_NEVER_TRACED, FindingKind.TF1_GRAPH_WITHOUT_SIGNATURE}
)


@dataclass(frozen=True)
class Reference:
    """The model whose outputs are the truth: the original, run by TensorFlow's own loader."""

    model: WorkingModel
    adapter: Callable[[Feeds], Feeds] | None = None  # new inputs -> the original's inputs

    def describe(self) -> str:
        entry = self.model.entry
        how = entry.describe() if entry is not None else "no entry"
        via = " (inputs re-encoded for it)" if self.adapter is not None else ""
        return f"{how} of {self.model.path}{via}"

    def run(self, feeds: Feeds) -> Feeds:
        """Feeds keyed by origin -> outputs keyed by origin."""
        entry = self.model.entry
        assert entry is not None
        if self.adapter is not None:
            feeds = self.adapter(feeds)
        t = tf()
        call = serving_callable(load(self.model.path, self.model.tags), entry)
        with captured_stderr():
            out = call({p.name: t.constant(feeds[p.origin]) for p in entry.inputs})
        return {p.origin: np.asarray(out[p.name]) for p in entry.outputs}


@dataclass
class Diagnosis:
    model: WorkingModel
    findings: list[Finding]
    static_only: bool = False  # the protos alone: not converted, not run (``repair fix`` when they decide the fixes)
    conversion: Conversion | None = None
    tflite: TfliteInfo | None = None
    parity: Parity | None = None  # .tflite against the reference
    tf_parity: Parity | None = None  # the model run by TensorFlow against the reference (verification)
    invoke_ms: float | None = None  # median interpreter time of one call on the parity inputs
    feeds: Feeds | None = None  # the parity inputs (by port name), kept so verification reuses them
    expected: Feeds | None = None  # the reference's outputs on them (by origin)
    timings: dict[str, float] = field(default_factory=dict)
    targets: list[TargetReport] = field(default_factory=list)  # each requested deployment target's check (gpu, micro...)
    quant: QuantOutcome | None = None  # diagnose --quantize: the model quantized once, every layer, and measured

    def has(self, kind: FindingKind) -> bool:
        return any(f.kind is kind for f in self.findings)


def static_findings(model: WorkingModel, options: Options, catalog: Catalog) -> list[Finding]:
    """Findings read off the artifact and its protos without running anything, in report order (the WORDING rows).

    Each rewrite of the catalog raises the findings it answers (``Rewrite.detect``); diagnose raises the ones no
    rewrite answers or several share."""
    found = _never_traced(model) + _pruning_wrappers(model)
    for rewrite in catalog:
        found += rewrite.detect(model, options)
    return in_report_order(found)


def _never_traced(model: WorkingModel) -> list[Finding]:
    """NO_SIGNATURE_NEVER_TRACED: no signature, no traced graph; nothing in the artifact can serve (no rewrite)."""
    if model.info is None:
        return []
    graph = model.info.best_graph()
    if graph.signatures or not graph.has_object_graph or any(f.concrete_functions for f in graph.traced_functions):
        return []
    fns = ", ".join(f.dotted for f in graph.traced_functions) or "none"
    return [worded(FindingKind.NO_SIGNATURE_NEVER_TRACED, Severity.ERROR, Source.STATIC,
                   evidence=f"functions with no concrete graph: {fns}")]


def _pruning_wrappers(model: WorkingModel) -> list[Finding]:
    """PRUNING_WRAPPERS in a SavedModel: strip_pruning_wrappers and strip_pruning_graph both answer it."""
    info = model.info
    if info is None:
        return []
    graph = info.best_graph()
    # tfmot leaves a '<wrapper>/pruning_step' variable on every wrapped layer, whatever saved it: model.save(dir)
    # (keras_metadata.pb), tf.saved_model.save (object-graph children), model.export (only the variable names).
    pruning_vars = sorted(n for n in graph.variable_names if n.rsplit("/", 1)[-1].split(":")[0] == "pruning_step")
    in_metadata = b"PruneLowMagnitude" in info.keras_metadata
    if not (in_metadata or "pruning_step" in graph.object_child_names or pruning_vars):
        return []
    if in_metadata:
        evidence = "keras_metadata.pb has PruneLowMagnitude layers"
    elif pruning_vars:
        more = f" (+{len(pruning_vars) - 4} more)" if len(pruning_vars) > 4 else ""
        evidence = "pruning variables: " + ", ".join(pruning_vars[:4]) + more
    else:
        evidence = "object graph has pruning_step"
    return [worded(FindingKind.PRUNING_WRAPPERS, Severity.WARNING, Source.STATIC, evidence=evidence)]


def is_random_op(op: str) -> bool:
    """An op that draws random numbers (tf.random.*, Dropout(training=True), Keras 3 seed generators)."""
    return op.startswith(("Random", "StatelessRandom", "StatelessTruncatedNormal", "StatelessMultinomial",
                          "StatelessParameterized", "Multinomial", "TruncatedNormal", "ParameterizedTruncatedNormal",
                          "Rng", "NonDeterministicInts"))


def _stochastic(ops: list[str], severity: Severity, source: Source, evidence: str, converts: bool) -> Finding:
    """Serving draws random numbers: named as such, whatever else the ops do (Flex or builtin)."""
    return worded(FindingKind.NONDETERMINISTIC_OUTPUTS, severity, source, title="" if ops else "no-ops",
                  explanation="" if converts else "flex", ops=tuple(ops), evidence=evidence, subject=", ".join(ops))


def conversion_findings(conversion: Conversion) -> list[Finding]:
    """Findings from a failed conversion, one per failure class (random ops named as such, apart from the rest)."""
    found = []
    for c in conversion.classified:
        random = [op for op in c.ops if is_random_op(op)]
        if random and c.kind in (FindingKind.NEEDS_FLEX_OPS, FindingKind.NEEDS_CUSTOM_OPS):
            found.append(_stochastic(random, Severity.ERROR, Source.CONVERTER, conversion.text, converts=False))
            c = replace(c, ops=tuple(op for op in c.ops if not is_random_op(op)))
            if not c.ops:
                continue
        ops = ", ".join(c.ops)
        # The converter's own words are the explanation when it names no model defect (a tag set, no signature).
        alternative = "converter" if c.kind in (FindingKind.TAG_SET_NOT_SERVE, FindingKind.NO_SIGNATURE_NEVER_TRACED) else ""
        title = "no-ops" if c.kind is FindingKind.TENSORLIST_LOOP and not ops else alternative
        found.append(worded(c.kind, Severity.ERROR, Source.CONVERTER, title=title, explanation=alternative, ops=tuple(c.ops),
                            detail=c.detail, evidence=conversion.text, subject=ops))
    return found


def tflite_findings(info: TfliteInfo, strict: bool = False) -> list[Finding]:
    """Findings from the flatbuffer; ``strict`` (target tflite-strict) makes what delegates refuse blocking."""
    found = []
    escalated = Severity.ERROR if strict else None
    if info.unbound_variables:
        found.append(worded(
            FindingKind.UNBOUND_VARIABLES, Severity.ERROR, Source.TFLITE, title="tflite", explanation="tflite",
            count=len(info.unassigned_variables),
            evidence=f"never assigned: {', '.join(info.unassigned_variables[:8])}; ops: {info.histogram_text()}",
        ))
    elif info.has_resource_variables:
        found.append(worded(FindingKind.RESOURCE_VARIABLES, escalated or Severity.WARNING, Source.TFLITE,
                            evidence=info.histogram_text()))
    if info.ops["WHILE"]:
        found.append(worded(FindingKind.WHILE_LOOP, escalated or Severity.INFO, Source.TFLITE, count=info.ops["WHILE"],
                            evidence=info.histogram_text()))
    if strict and info.float64_tensors:
        found.append(worded(FindingKind.FLOAT64_TENSORS, Severity.ERROR, Source.TFLITE, count=info.float64_tensors,
                            evidence=info.histogram_text()))
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def make_feeds(ports: tuple[Port, ...], reference: Reference, options: Options) -> tuple[Feeds, Feeds]:
    """Inputs for the candidate (by port name) and the reference's outputs on them (by origin).

    Raises Nondeterministic when the reference gives other outputs when run again on the same
    inputs: then no parity figure means anything.
    """
    def run(feeds: Feeds) -> Feeds:
        return reference.run({p.origin: feeds[p.name] for p in ports})

    if options.sample is not None:
        feeds = load_sample(options.sample, ports)
        expected = run(feeds)
    else:
        info = reference.model.info
        pool = info.string_pool if info is not None else ()
        feeds, expected = generate_valid(ports, run, options.seed, options.batch, strings=pool)
    if _may_vary(reference.model) and not same_outputs(expected, run(feeds)):
        raise Nondeterministic()
    return feeds, expected


# Ops whose results can change from one call to the next on the same inputs (random ops, stateful seeds, Python
# callbacks, variables updated in the call). Graphs without any of them are run once, not twice, for parity.
_VARYING_OPS = frozenset({"Multinomial", "TruncatedNormal", "ParameterizedTruncatedNormal", "NonDeterministicInts",
                          "EagerPyFunc", "PyFunc", "PyFuncStateless", "AssignAddVariableOp", "AssignSubVariableOp",
                          "LookupTableInsertV2", "LookupTableRemoveV2"})


def _may_vary(model: WorkingModel) -> bool:
    """Whether the model's graph (and its function library) holds any op that could make two runs differ."""
    if model.info is None:
        return True
    ops = model.info.best_graph().op_counts
    return any("Random" in op or op.startswith("Rng") or op in _VARYING_OPS for op in ops)


class Nondeterministic(Exception):
    """The reference's outputs change between runs on the same inputs."""


def _session_check(model: WorkingModel, feeds: Feeds, expected: Feeds, options: Options) -> Finding | None:
    """Run serving_default under the TF1-session loader that TF Serving and saved_model_cli use."""
    t = tf()
    entry = model.entry
    assert entry is not None
    graph = t.Graph()
    try:
        with graph.as_default(), t.compat.v1.Session(graph=graph) as sess, captured_stderr():
            meta = t.compat.v1.saved_model.loader.load(sess, [SERVE], str(model.path))
            sig = meta.signature_def[SERVING_DEFAULT]
            feed = {graph.get_tensor_by_name(sig.inputs[p.name].name): feeds[p.name] for p in entry.inputs}
            fetch = {p.name: graph.get_tensor_by_name(sig.outputs[p.name].name) for p in entry.outputs}
            got = sess.run(fetch, feed)
    except Exception as exc:  # the session loader raises many TF error types: all mean Serving would fail
        return worded(FindingKind.SESSION_LOADER_FAILURE, Severity.ERROR, Source.SERVING, evidence=_first_line(exc))
    parity = compare(expected, got, entry.outputs, options.tolerance)
    if not parity.ok:
        return worded(FindingKind.SESSION_LOADER_FAILURE, Severity.ERROR, Source.SERVING, title="numbers",
                      explanation="numbers", evidence=f"max abs diff {parity.worst:.3g}")
    return None


def _side_effects(model: WorkingModel, options: Options) -> tuple[list[Finding], bool]:
    """SIDE_EFFECTS (unless --allow-side-effects) and whether the converter may still run: it runs the initializers
    (measured), so only effects outside the load path leave conversion available."""
    effects = () if options.allow_side_effects else scan_effects(model.path, model.kind)
    if not effects:
        return [], True
    first, at_load = effects[0], any(e.at_load for e in effects)
    finding = worded(
        FindingKind.SIDE_EFFECTS, Severity.ERROR, Source.STATIC, op=first.op, where=first.where(), what=first.what,
        explanation="at-load" if at_load else "", flag=ALLOW_SIDE_EFFECTS,
        evidence="\n".join(e.describe() for e in effects), subject=", ".join(dict.fromkeys(e.op for e in effects)),
        data={"effects": [{"op": e.op, "node": e.node, "function": e.function, "what": e.what, "at_load": e.at_load}
                          for e in effects]},
    )
    return [finding], not at_load


def diagnose(model: WorkingModel, options: Options, catalog: Catalog, reference: Reference | None = None, *,
             static_only: bool = False) -> Diagnosis:
    """All findings for one model. ``reference`` defaults to the model itself run by TensorFlow; the catalog's
    rewrites raise the static findings they answer.

    ``static_only`` stops after reading the protos: no conversion, no run (milliseconds instead of seconds).
    """
    if model.info is None:  # a Keras file or a frozen graph: nothing to read or convert before it is exported
        found = static_findings(model, options, catalog)
        if model.kind is ArtifactKind.FROZEN_GRAPH:
            found += _side_effects(model, options)[0]
        return Diagnosis(model, found)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    findings = static_findings(model, options, catalog)
    effects, converts = _side_effects(model, options)  # nothing of the model runs while this is non-empty
    findings.extend(effects)
    timings["static"] = time.perf_counter() - start
    diag = Diagnosis(model, findings, static_only=static_only, timings=timings)
    entry = model.entry
    if static_only:
        return diag
    if entry is None or entry.kind is not EntryKind.SIGNATURE or any(f.kind in _STOPS_CONVERSION for f in findings):
        return diag
    if not converts:
        return diag

    tags = None if model.tags == frozenset({SERVE}) else model.tags  # look past a wrong tag set
    diag.conversion = convert_saved_model(model.path, tags=tags, signature_key=entry.ref)
    timings["convert"] = diag.conversion.seconds
    have = {f.kind for f in findings}
    if not diag.conversion.ok:
        findings.extend(f for f in conversion_findings(diag.conversion) if f.kind not in have)
        diag.targets = target_stage.not_checked(options, "the model did not convert")
        return diag
    assert diag.conversion.tflite is not None
    diag.tflite = inspect_tflite(diag.conversion.tflite)
    findings.extend(f for f in tflite_findings(diag.tflite, options.strict) if f.kind not in have)
    if not effects:  # with effects, the static .tflite findings stand: the reference run would execute them
        start = time.perf_counter()
        _parity_stage(diag, reference or Reference(model), options)
        timings["parity"] = time.perf_counter() - start
    _targets_stage(diag, options)
    return diag


def _targets_stage(diag: Diagnosis, options: Options) -> None:
    """Each requested deployment target's check on the .tflite, on the parity inputs when there are any."""
    if not target_stage.requested(options):
        return
    entry, conversion = diag.model.entry, diag.conversion
    assert entry is not None and conversion is not None and conversion.tflite is not None
    start = time.perf_counter()
    diag.targets = target_stage.run_checks(conversion.tflite, options, entry.ref, diag.feeds, diag.expected, entry.outputs)
    have = {f.kind for f in diag.findings}
    diag.findings.extend(f for f in target_stage.findings(diag.targets) if f.kind not in have)
    diag.timings["targets"] = time.perf_counter() - start


def _parity_stage(diag: Diagnosis, reference: Reference, options: Options) -> None:
    """The .tflite against the reference on the same inputs (and, for --target serving, the TF1-session loader); the
    inputs and the reference's outputs stay on the diagnosis, so the verification gate reuses them."""
    model, findings, conversion = diag.model, diag.findings, diag.conversion
    entry, info = model.entry, model.info
    assert entry is not None and info is not None and conversion is not None and conversion.tflite is not None
    try:
        feeds, expected = make_feeds(entry.inputs, reference, options)
    except Nondeterministic:
        random_ops = sorted(op for op in info.best_graph().op_counts if is_random_op(op))
        findings.append(_stochastic(
            random_ops, Severity.WARNING, Source.PARITY,
            f"two TensorFlow runs on identical inputs differ; random ops in the graph: {', '.join(random_ops) or 'none found'}",
            converts=True,
        ))
        return
    except RepairError:  # a bad --sample is the user's input, not the model's: exit 2 with its line
        raise
    except Exception as exc:  # a model that cannot run on these inputs: say so, do not guess
        findings.append(worded(FindingKind.REFERENCE_FAILURE, Severity.WARNING, Source.PARITY, evidence=_first_line(exc)))
        return
    diag.feeds, diag.expected = feeds, expected
    try:
        run = run_tflite(conversion.tflite, feeds, signature_key=entry.ref)
        got, diag.invoke_ms = run.outputs, run.invoke_ms
    except Exception as exc:  # interpreter errors come as RuntimeError/ValueError with C++ text
        findings.append(worded(FindingKind.INTERPRETER_FAILURE, Severity.ERROR, Source.PARITY, evidence=_first_line(exc)))
    else:
        diag.parity = compare(expected, got, entry.outputs, options.tolerance, {k: v.shape for k, v in feeds.items()})
        if not diag.parity.ok:
            unbound = diag.has(FindingKind.UNBOUND_VARIABLES)
            findings.append(worded(
                FindingKind.PARITY_MISMATCH, Severity.ERROR, Source.PARITY, explanation="unbound" if unbound else "",
                worst=diag.parity.worst,
                evidence="; ".join(f"{o.name}: max abs diff {o.max_abs_diff:.3g}" for o in diag.parity.outputs),
                data={"unbound_variables": unbound},
            ))
    if options.wants(Target.SERVING) and info.serve_graph() is not None and entry.ref == SERVING_DEFAULT:
        problem = _session_check(model, feeds, expected, options)
        if problem is not None:
            findings.append(problem)


def tf_parity(diag: Diagnosis, options: Options) -> Parity:
    """The diagnosed model run by TensorFlow on the diagnosis's parity inputs, against the reference's
    outputs on them (part of the verification gate; nothing is generated or run twice)."""
    model, feeds, expected = diag.model, diag.feeds, diag.expected
    assert model.entry is not None and feeds is not None and expected is not None
    got = Reference(model).run({p.origin: feeds[p.name] for p in model.entry.inputs})
    renamed = {p.name: got[p.origin] for p in model.entry.outputs}
    return compare(expected, renamed, model.entry.outputs, options.tolerance, {k: v.shape for k, v in feeds.items()})


