"""Diagnosis: static inspection, one conversion, .tflite inspection, numeric parity, serving loader.

Each stage adds typed findings; none of them reads another's raw text. Converter exceptions alone
miss the worst failure (a .tflite that converts and outputs garbage), so a successful conversion is
always followed by inspecting the flatbuffer and by running it against TensorFlow on the same inputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from repair.core.errors import RepairError
from repair.core.findings import Finding, FindingKind, Severity, Source
from repair.core.options import Options, Target
from repair.core.tfenv import captured_stderr, tf
from repair.model.artifact import SERVE, SERVING_DEFAULT, ArtifactKind, SignatureInfo
from repair.model.convert import Conversion, convert_saved_model
from repair.model.effects import finding as side_effects_finding
from repair.model.effects import scan as scan_effects
from repair.model.parity import Feeds, Parity, compare, generate_valid, load_sample, same_outputs
from repair.model.tflite import TfliteInfo, inspect_tflite, run_tflite
from repair.model.working import EntryKind, Port, WorkingModel, load, merged_pin, serving_callable

_PARSE_OPS = ("ParseExampleV2", "ParseExample", "ParseSingleExample", "ParseSequenceExample")
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

    def has(self, kind: FindingKind) -> bool:
        return any(f.kind is kind for f in self.findings)


def _finding(kind: FindingKind, severity: Severity, source: Source, title: str, explanation: str, **kw: Any) -> Finding:
    return Finding(kind=kind, severity=severity, source=source, title=title, explanation=explanation, **kw)


def _same_contract(a: SignatureInfo | None, b: SignatureInfo) -> bool:
    """Same keys, dtypes and shapes: serving_default already serves what signature ``b`` does."""
    if a is None:
        return False
    def shape(sig: SignatureInfo) -> list[tuple[str, str, object]]:
        return [(t.key, t.dtype, t.shape) for t in sig.inputs + sig.outputs]
    return shape(a) == shape(b)


def static_findings(model: WorkingModel, options: Options) -> list[Finding]:
    """Findings from the SavedModel protos alone."""
    info = model.info
    assert info is not None
    out: list[Finding] = []
    tag_sets = ", ".join(mg.tag_text for mg in info.meta_graphs)
    if info.serve_graph() is None:
        out.append(_finding(
            FindingKind.TAG_SET_NOT_SERVE, Severity.ERROR, Source.STATIC,
            "No meta graph is tagged exactly {'serve'}",
            "The converter, TF Serving and saved_model_cli load the meta graph whose tag set is exactly {'serve'}; "
            f"this SavedModel has {tag_sets}.",
            evidence=f"available tag sets: {tag_sets}", subject=tag_sets,
        ))
    graph = info.best_graph()
    if not graph.signatures:
        traced = [f for f in graph.traced_functions if f.concrete_functions]
        if not graph.has_object_graph:
            sinks = ", ".join(s.name for s in graph.sinks) or "none"
            inputs = ", ".join(p.name for p in graph.placeholders) or "none"
            out.append(_finding(
                FindingKind.TF1_GRAPH_WITHOUT_SIGNATURE, Severity.ERROR, Source.STATIC,
                "TF1 graph saved without a signature",
                "The graph has no SignatureDef, so nothing names its inputs and outputs; the converter says "
                "'Only support at least one signature key'.",
                evidence=f"placeholders: {inputs}; unconsumed nodes: {sinks}",
            ))
        elif traced:
            names = ", ".join(f"{f.dotted} ({len(f.concrete_functions)} traced)" for f in traced)
            out.append(_finding(
                FindingKind.NO_SIGNATURE_TRACED, Severity.ERROR, Source.STATIC,
                "No signature, but a traced tf.function was saved",
                "tf.saved_model.save was called without signatures= and the tf.function had no input_signature. "
                "It was traced before saving, so its graph is in the SavedModel and can be wrapped.",
                evidence=f"traced functions: {names}",
            ))
        else:
            fns = ", ".join(f.dotted for f in graph.traced_functions) or "none"
            out.append(_finding(
                FindingKind.NO_SIGNATURE_NEVER_TRACED, Severity.ERROR, Source.STATIC,
                "No signature, and the tf.function was never traced",
                "The tf.function had no input_signature and was never called before saving, so no graph was saved: "
                "nothing in the artifact can be served. Only the source can fix it: add "
                "input_signature=[tf.TensorSpec(...)] to the @tf.function, or pass signatures= to tf.saved_model.save.",
                evidence=f"functions with no concrete graph: {fns}",
            ))
    elif (options.signature and options.signature != SERVING_DEFAULT and options.signature in graph.signatures
          and not _same_contract(graph.signatures.get(SERVING_DEFAULT), graph.signatures[options.signature])):
        out.append(_finding(
            FindingKind.NO_SERVING_DEFAULT, Severity.ERROR, Source.STATIC,
            f"serving_default is not the signature you asked for ('{options.signature}')",
            f"--signature {options.signature} asks for '{options.signature}' to be what clients get by default.",
            evidence="signatures: " + ", ".join(sorted(graph.signatures)), subject=options.signature,
        ))
    elif SERVING_DEFAULT not in graph.signatures:
        keys = ", ".join(sorted(graph.signatures))
        out.append(_finding(
            FindingKind.NO_SERVING_DEFAULT, Severity.ERROR, Source.STATIC,
            "No 'serving_default' signature",
            f"The SavedModel only has the signature(s) {keys}. TF Serving and most clients call 'serving_default'.",
            evidence=f"signatures: {keys}", subject=keys,
        ))
    entry = model.entry
    if entry is not None and any(graph.op_counts[op] for op in _PARSE_OPS) and any(p.dtype == "string" for p in entry.inputs):
        out.append(_finding(
            FindingKind.SERIALIZED_EXAMPLE_INPUT, Severity.ERROR, Source.STATIC,
            "The serving input is serialized tf.Example strings",
            "The serving function parses tf.Example protos (an estimator serving_input_receiver_fn, or a TF2 "
            "tf.function calling tf.io.parse_example); ParseExampleV2 is not a TFLite builtin and needs Flex ops the "
            "pip interpreters cannot run.",
            evidence=", ".join(f"{op} x{graph.op_counts[op]}" for op in _PARSE_OPS if graph.op_counts[op]),
            subject=", ".join(p.name for p in entry.inputs if p.dtype == "string"),
        ))
    if entry is not None:
        strict = options.target.strict
        first = 0 if strict else 1  # the strict target wants the batch dimension fixed too
        dynamic = [p for p in entry.inputs if p.shape is None or any(d is None for d in p.shape[first:])]
        # An explicit --pin is a contract: an input it would change is a finding even when the model converts as it
        # is (only its batch unknown), so the pin is applied and reported, never dropped in silence.
        count = len(entry.inputs)
        pinned = {p.name: merged_pin(p, pin) for i, p in enumerate(entry.inputs)
                  if (pin := options.pin_for(p.name, p.origin, i, count)) is not None and merged_pin(p, pin) != p.shape}
        if dynamic or pinned:
            listed = ", ".join(f"{p.name} {p.shape_text()}" + (f" (--pin asks for {list(pinned[p.name])})" if p.name in pinned else "")
                               for p in entry.inputs if p in dynamic or p.name in pinned)
            out.append(_finding(
                FindingKind.DYNAMIC_DIMS, Severity.ERROR if strict or pinned else Severity.WARNING, Source.STATIC,
                "--pin asks for other input shapes than the signature's" if not dynamic
                else "Inputs have unknown dimensions" if strict else "Inputs have unknown non-batch dimensions",
                ("The pin you gave is the serving contract: the signature must take exactly that shape. " if pinned else "")
                + "The converter accepts unknown dims, but the .tflite must be resized before each call, graphs that only "
                "work at one size fail at others, and delegates and micro runtimes refuse dynamic shapes.",
                evidence=listed, subject=", ".join(dict.fromkeys([p.name for p in dynamic] + list(pinned))),
            ))
        wanted = options.wanted_input_keys
        have = [p.name for p in entry.inputs]
        renames_apply = options.renames and any(k in have or k in [p.name for p in entry.outputs] for k in options.renames)
        if (wanted and sorted(wanted) != sorted(have)) or renames_apply:
            out.append(_finding(
                FindingKind.SERVING_KEY_MISMATCH, Severity.ERROR, Source.STATIC,
                "The serving input keys differ from what clients send",
                "Clients sending other keys fail: TF Serving and saved_model_cli reject unknown input keys, "
                "the .tflite runner says 'Invalid Input name'.",
                evidence=f"signature inputs: {', '.join(have)}; clients send: {', '.join(wanted) or '(renames requested)'}",
                subject=", ".join(have),
            ))
    unbound = graph.unbound_reads.get(entry.ref, ()) if entry is not None and entry.kind is EntryKind.SIGNATURE else ()
    if unbound:
        out.append(_finding(
            FindingKind.UNBOUND_VARIABLES, Severity.ERROR, Source.STATIC,
            "The serving signature reads variables that are never restored",
            f"In the TF1 view that the converter and TF Serving load, the checkpoint restores into other variables than "
            f"the {len(unbound)} the signature reads: the .tflite converts without error and outputs garbage, and TF "
            "Serving fails with 'Could not find variable'. This is what a Keras 3 model saved with tf.saved_model.save "
            "produces.",
            evidence=f"read by {entry.ref} but assigned by neither the restore op nor an initializer: "
                     + ", ".join(unbound[:8]) + (f" (+{len(unbound) - 8} more)" if len(unbound) > 8 else ""),
        ))
    # tfmot leaves a '<wrapper>/pruning_step' variable on every wrapped layer, whatever saved it: model.save(dir)
    # (keras_metadata.pb), tf.saved_model.save (object-graph children), model.export (only the variable names).
    pruning_vars = sorted(n for n in graph.variable_names if n.rsplit("/", 1)[-1].split(":")[0] == "pruning_step")
    if b"PruneLowMagnitude" in info.keras_metadata or "pruning_step" in graph.object_child_names or pruning_vars:
        out.append(_finding(
            FindingKind.PRUNING_WRAPPERS, Severity.WARNING, Source.STATIC,
            "Pruning wrappers were left in (saved without strip_pruning)",
            "The model converts, but masks and kernels become resource variables with an init subgraph: the .tflite "
            "is about twice as large and many delegates and micro runtimes cannot run it.",
            evidence="keras_metadata.pb has PruneLowMagnitude layers" if b"PruneLowMagnitude" in info.keras_metadata
            else "pruning variables: " + ", ".join(pruning_vars[:4]) + (f" (+{len(pruning_vars) - 4} more)" if len(pruning_vars) > 4 else "")
            if pruning_vars else "object graph has pruning_step",
        ))
    return out


def _keras_file_pruning(model: WorkingModel) -> list[Finding]:
    """PRUNING_WRAPPERS for a .h5/.keras file whose config JSON has PruneLowMagnitude layers (read, never loaded)."""
    from rewrites.strip_pruning_keras_file import keras_file_config, pruned_layers

    wrappers = pruned_layers(keras_file_config(model.path, model.kind))
    if not wrappers:
        return []
    return [_finding(
        FindingKind.PRUNING_WRAPPERS, Severity.WARNING, Source.STATIC,
        "Pruning wrappers were left in (saved without strip_pruning)",
        "The file needs tensorflow-model-optimization to load at all, and once exported, masks and kernels become "
        "resource variables with an init subgraph that many delegates and micro runtimes cannot run.",
        evidence="PruneLowMagnitude layers in the file's model config: " + ", ".join(wrappers[:4])
        + (f" (+{len(wrappers) - 4} more)" if len(wrappers) > 4 else ""),
    )]


def is_random_op(op: str) -> bool:
    """An op that draws random numbers (tf.random.*, Dropout(training=True), Keras 3 seed generators)."""
    return op.startswith(("Random", "StatelessRandom", "StatelessTruncatedNormal", "StatelessMultinomial",
                          "StatelessParameterized", "Multinomial", "TruncatedNormal", "ParameterizedTruncatedNormal",
                          "Rng", "NonDeterministicInts"))


def _stochastic(ops: list[str], severity: Severity, source: Source, evidence: str, converts: bool) -> Finding:
    """Serving draws random numbers: named as such, whatever else the ops do (Flex or builtin)."""
    return _finding(
        FindingKind.NONDETERMINISTIC_OUTPUTS, severity, source,
        "Serving is stochastic: the serving path draws random numbers" + (f" ({', '.join(ops)})" if ops else ""),
        "The model is random at inference: the same input gives other outputs on every call, so no conversion can be "
        "checked against it. A Dropout or noise layer called with training=True (or a tf.random call) in the "
        "serving function is the usual cause" + ("." if converts else
        "; these random ops are also not TFLite builtins (Keras 3 seed generators lower to Flex StatelessRandom ops)."),
        evidence=evidence, subject=", ".join(ops), data={"ops": ops},
    )


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
        texts = {
            FindingKind.NEEDS_FLEX_OPS: ("Ops that TFLite builtins do not have: " + ops,
                "These ops exist only as Flex (TF Select) ops. SELECT_TF_OPS would convert, but the pip interpreters "
                "cannot run Flex ops and most devices do not ship them."),
            FindingKind.NEEDS_CUSTOM_OPS: ("Ops with no TFLite implementation at all: " + ops,
                "These ops are neither builtins nor Flex ops; SELECT_TF_OPS does not help. They must be rewritten in "
                "other TF ops."),
            FindingKind.FLOAT64_OPS: ("float64 computation: " + ops,
                "The failing ops run on float64 tensors, which TFLite builtins do not support. The op itself is fine in "
                "float32: float64 is the root cause (often tnp.asarray of Python floats, tnp.arange or a float64 model)."),
            FindingKind.FLOAT16_OPS: ("float16/bfloat16 computation (mixed precision): " + ops,
                "The failing ops run on float16 (or bfloat16) tensors, which TFLite builtins have no kernels for. This is "
                "the compute dtype of a Keras mixed-precision policy (mixed_float16 or mixed_bfloat16 set when the model "
                "was built): variables stay float32 and are cast to float16 for every layer. The ops are fine in float32."),
            FindingKind.TENSORLIST_LOOP: ("A loop accumulates into a TensorList" + (f" ({ops})" if ops else ""),
                "TensorArray loops and Keras LSTM/GRU/SimpleRNN layers with unroll=False lower to TensorList ops that "
                "need a static element shape; builtins-only conversion fails even at static shapes."),
            FindingKind.TAG_SET_NOT_SERVE: ("The converter found no {'serve'} meta graph", c.detail),
            FindingKind.NO_SIGNATURE_NEVER_TRACED: ("The converter found no signature", c.detail),
            FindingKind.CONVERTER_CRASH: ("The TFLite converter crashed: " + c.detail,
                "The converter aborted or segfaulted instead of raising an error (an LLVM ERROR such as 'Failed to "
                "infer result type(s)', or a crash in a conversion pass). repair ran it in a supervised process, so "
                "the crash is reported here; its last stderr lines are the evidence."),
            FindingKind.CONVERTER_ERROR: ("Conversion failed: " + c.detail,
                "The converter failed in a way this version does not classify; the full text is in the evidence."),
        }
        title, explanation = texts[c.kind]
        found.append(_finding(c.kind, Severity.ERROR, Source.CONVERTER, title, explanation,
                              evidence=conversion.text, subject=ops, data={"ops": list(c.ops)}))
    return found


def tflite_findings(info: TfliteInfo, strict: bool = False) -> list[Finding]:
    """Findings from the flatbuffer; ``strict`` (target tflite-strict) makes what delegates refuse blocking."""
    found = []
    escalated = Severity.ERROR if strict else None
    if info.unbound_variables:
        found.append(_finding(
            FindingKind.UNBOUND_VARIABLES, Severity.ERROR, Source.TFLITE,
            "Variables are read but never initialised in the .tflite",
            f"The .tflite reads {len(info.unassigned_variables)} resource variable(s) that no initialiser assigns: it "
            "converts without error and outputs garbage. This is what a Keras 3 model saved with tf.saved_model.save "
            "produces.",
            evidence=f"never assigned: {', '.join(info.unassigned_variables[:8])}; ops: {info.histogram_text()}",
        ))
    elif info.has_resource_variables:
        found.append(_finding(
            FindingKind.RESOURCE_VARIABLES, escalated or Severity.WARNING, Source.TFLITE,
            "The .tflite keeps resource variables",
            "VAR_HANDLE/READ_VARIABLE ops with an init subgraph work in the TFLite interpreter, but many delegates and "
            "micro runtimes cannot run them, and the file is larger than a frozen one.",
            evidence=info.histogram_text(),
        ))
    if info.ops["WHILE"]:
        found.append(_finding(
            FindingKind.WHILE_LOOP, escalated or Severity.INFO, Source.TFLITE,
            f"The .tflite has {info.ops['WHILE']} WHILE loop(s)",
            "Static-trip-count loops convert builtins-only in TF 2.21; unrolled they run about 2x faster on small bodies "
            "and some delegates need them unrolled.",
            evidence=info.histogram_text(),
        ))
    if strict and info.float64_tensors:
        found.append(_finding(
            FindingKind.FLOAT64_TENSORS, Severity.ERROR, Source.TFLITE,
            f"The .tflite has {info.float64_tensors} float64 tensor(s)",
            "Micro runtimes and most delegates have no float64 at all, not even for CAST at the interface. "
            "Give the model a float32 signature in the source.",
            evidence=info.histogram_text(),
        ))
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
        return _finding(
            FindingKind.SESSION_LOADER_FAILURE, Severity.ERROR, Source.SERVING,
            "serving_default fails under the TF1-session loader (TF Serving, saved_model_cli)",
            "TF Serving loads SavedModels into a TF1 session; this signature does not run there.",
            evidence=_first_line(exc),
        )
    parity = compare(expected, got, entry.outputs, options.tolerance)
    if not parity.ok:
        return _finding(
            FindingKind.SESSION_LOADER_FAILURE, Severity.ERROR, Source.SERVING,
            "serving_default gives different numbers under the TF1-session loader",
            "TF Serving would return outputs that differ from TensorFlow's own loader.",
            evidence=f"max abs diff {parity.worst:.3g}",
        )
    return None


def _side_effects(model: WorkingModel, options: Options) -> tuple[list[Finding], bool]:
    """SIDE_EFFECTS (unless --allow-side-effects) and whether the converter may still run: it runs the initializers
    (measured), so only effects outside the load path leave conversion available."""
    effects = () if options.allow_side_effects else scan_effects(model.path, model.kind)
    if not effects:
        return [], True
    return [side_effects_finding(effects)], not any(e.at_load for e in effects)


def diagnose(model: WorkingModel, options: Options, reference: Reference | None = None, *,
             static_only: bool = False) -> Diagnosis:
    """All findings for one model. ``reference`` defaults to the model itself run by TensorFlow.

    ``static_only`` stops after reading the protos: no conversion, no run (milliseconds instead of seconds).
    """
    if model.kind is ArtifactKind.FROZEN_GRAPH:
        return Diagnosis(model, [_finding(
            FindingKind.FROZEN_GRAPH, Severity.ERROR, Source.ARTIFACT,
            "A frozen GraphDef, not a SavedModel",
            "TF2's converter and TF Serving need a SavedModel with a signature naming the inputs and outputs; a frozen "
            ".pb only has a graph.",
            evidence=str(model.path),
        )] + _side_effects(model, options)[0])
    if model.info is None:
        return Diagnosis(model, [_finding(
            FindingKind.KERAS_FILE, Severity.ERROR, Source.ARTIFACT,
            f"A Keras {model.path.suffix or model.kind.value} file, not a SavedModel",
            "The converter and TF Serving need a SavedModel directory: 'SavedModel file does not exist at: "
            f"{model.path}/{{saved_model.pbtxt|saved_model.pb}}'.",
            evidence=str(model.path),
        )] + _keras_file_pruning(model))
    timings: dict[str, float] = {}
    start = time.perf_counter()
    findings = static_findings(model, options)
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
        return diag
    assert diag.conversion.tflite is not None
    diag.tflite = inspect_tflite(diag.conversion.tflite)
    findings.extend(f for f in tflite_findings(diag.tflite, options.target.strict) if f.kind not in have)
    if effects:  # the static .tflite findings stand; the reference and parity runs would execute the effects
        return diag

    start = time.perf_counter()
    reference = reference or Reference(model)
    try:
        feeds, expected = make_feeds(entry.inputs, reference, options)
    except Nondeterministic:
        random_ops = sorted(op for op in model.info.best_graph().op_counts if is_random_op(op))
        findings.append(_stochastic(
            random_ops, Severity.WARNING, Source.PARITY,
            f"two TensorFlow runs on identical inputs differ; random ops in the graph: {', '.join(random_ops) or 'none found'}",
            converts=True,
        ))
        timings["parity"] = time.perf_counter() - start
        return diag
    except RepairError:  # a bad --sample is the user's input, not the model's: exit 2 with its line
        raise
    except Exception as exc:  # a model that cannot run on these inputs: say so, do not guess
        findings.append(_finding(
            FindingKind.REFERENCE_FAILURE, Severity.WARNING, Source.PARITY,
            "Could not run the original model on generated inputs",
            "Parity was not checked. Give real input sizes with --pin NAME=... or a --sample FILE.npz.",
            evidence=_first_line(exc),
        ))
        timings["parity"] = time.perf_counter() - start
        return diag
    diag.feeds, diag.expected = feeds, expected
    try:
        run = run_tflite(diag.conversion.tflite, feeds, signature_key=entry.ref)
        got, diag.invoke_ms = run.outputs, run.invoke_ms
    except Exception as exc:  # interpreter errors come as RuntimeError/ValueError with C++ text
        findings.append(_finding(
            FindingKind.INTERPRETER_FAILURE, Severity.ERROR, Source.PARITY,
            "The .tflite fails in the interpreter",
            "The model converted but the TFLite interpreter could not run it on inputs the original accepts.",
            evidence=_first_line(exc),
        ))
    else:
        diag.parity = compare(expected, got, entry.outputs, options.tolerance, {k: v.shape for k, v in feeds.items()})
        if not diag.parity.ok:
            unbound = diag.has(FindingKind.UNBOUND_VARIABLES)
            findings.append(_finding(
                FindingKind.PARITY_MISMATCH, Severity.ERROR, Source.PARITY,
                f"The .tflite's outputs differ from the original (max abs diff {diag.parity.worst:.3g})",
                "The converted model computes something else than the model it came from"
                + (": its variables are never initialised." if unbound else "."),
                evidence="; ".join(f"{o.name}: max abs diff {o.max_abs_diff:.3g}" for o in diag.parity.outputs),
                data={"unbound_variables": unbound},
            ))
    if options.target is Target.SERVING and model.info.serve_graph() is not None and entry.ref == SERVING_DEFAULT:
        problem = _session_check(model, feeds, expected, options)
        if problem is not None:
            findings.append(problem)
    timings["parity"] = time.perf_counter() - start
    return diag


def tf_parity(diag: Diagnosis, options: Options) -> Parity:
    """The diagnosed model run by TensorFlow on the diagnosis's parity inputs, against the reference's
    outputs on them (part of the verification gate; nothing is generated or run twice)."""
    model, feeds, expected = diag.model, diag.feeds, diag.expected
    assert model.entry is not None and feeds is not None and expected is not None
    got = Reference(model).run({p.origin: feeds[p.name] for p in model.entry.inputs})
    renamed = {p.name: got[p.origin] for p in model.entry.outputs}
    return compare(expected, renamed, model.entry.outputs, options.tolerance, {k: v.shape for k, v in feeds.items()})


