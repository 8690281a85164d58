"""Typed findings: what is wrong with a model, in plain words, with the evidence kept verbatim.

A finding names a *symptom* (``UNBOUND_VARIABLES``); the rewrite that answers it names an *action*
(``rebind_variables``). The enum values are stable ids: reports, plan files and tests use them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Severity(enum.Enum):
    """How much a finding matters for deployment."""

    ERROR = "error"  # the model cannot be deployed to the target as it is
    WARNING = "warning"  # deploys, but is fragile or slower than it should be
    INFO = "info"  # worth knowing; nothing to do

    @property
    def rank(self) -> int:
        return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[self]


class Source(enum.Enum):
    """Which diagnosis stage produced a finding."""

    ARTIFACT = "artifact"  # the file or directory itself
    STATIC = "static"  # the SavedModel protos, read without running TensorFlow
    CONVERTER = "converter"  # a TFLiteConverter attempt
    TFLITE = "tflite"  # the produced flatbuffer
    PARITY = "parity"  # numbers: TFLite (or TF) against the original
    SERVING = "serving"  # the TF1-session loader used by TF Serving and saved_model_cli
    TARGET = "target"  # a deployment target's own check of the .tflite (gpu, xnnpack, micro, runtime=X.Y)
    QUANTIZE = "quantize"  # a quantized conversion, measured against the float original (--quantize)


class FindingKind(enum.Enum):
    """Every failure class the tool knows. Values are stable ids."""

    # artifact
    KERAS_FILE = "keras-file"
    FROZEN_GRAPH = "frozen-graph"
    # static inspection
    TAG_SET_NOT_SERVE = "tag-set-not-serve"
    NO_SIGNATURE_TRACED = "no-signature-traced"
    NO_SIGNATURE_NEVER_TRACED = "no-signature-never-traced"
    NO_SERVING_DEFAULT = "no-serving-default"
    TF1_GRAPH_WITHOUT_SIGNATURE = "tf1-graph-without-signature"
    SERIALIZED_EXAMPLE_INPUT = "serialized-example-input"
    DYNAMIC_DIMS = "dynamic-dims"
    SERVING_KEY_MISMATCH = "serving-key-mismatch"
    PRUNING_WRAPPERS = "pruning-wrappers"
    SIDE_EFFECTS = "side-effects"  # ops that reach outside the model (file I/O, py_func): nothing was run
    # converter
    NEEDS_FLEX_OPS = "needs-flex-ops"
    NEEDS_CUSTOM_OPS = "needs-custom-ops"
    FLOAT64_OPS = "float64-ops"
    FLOAT16_OPS = "float16-ops"  # float16/bfloat16 compute (a Keras mixed-precision policy)
    TENSORLIST_LOOP = "tensorlist-loop"
    CONVERTER_ERROR = "converter-error"
    CONVERTER_CRASH = "converter-crash"  # the converter killed the process (LLVM ERROR abort, segfault)
    # produced .tflite
    UNBOUND_VARIABLES = "unbound-variables"
    RESOURCE_VARIABLES = "resource-variables"
    WHILE_LOOP = "while-loop"
    FLOAT64_TENSORS = "float64-tensors"
    # numbers
    PARITY_MISMATCH = "parity-mismatch"
    INTERPRETER_FAILURE = "interpreter-failure"
    REFERENCE_FAILURE = "reference-failure"
    NONDETERMINISTIC_OUTPUTS = "nondeterministic-outputs"
    # serving loader
    SESSION_LOADER_FAILURE = "session-loader-failure"
    # deployment targets (--target gpu,xnnpack,micro,runtime=X.Y)
    GPU_INCOMPATIBLE = "gpu-incompatible"
    XNNPACK_FALLBACK = "xnnpack-fallback"
    MICRO_INCOMPATIBLE = "micro-incompatible"
    RUNTIME_TOO_OLD = "runtime-too-old"
    # quantization (--quantize MODE): measured on held-out samples against the float original
    QUANT_FAILED = "quant-failed"  # the converter or the quantizer refused the model
    QUANT_OVER_BUDGET = "quant-over-budget"  # the quantized model misses the --budget
    QUANT_FLOAT_OPS = "quant-float-ops"  # ops without a quantized kernel stay float (a float island)
    CALIBRATION_DTYPE = "calibration-dtype"  # the calibration data needed a (lossless) cast to feed the model


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a model.

    ``evidence`` keeps raw tool output (converter text, error messages) verbatim for the report;
    nothing branches on it. ``fix`` is the id of the rewrite that answers the finding, or None with
    ``no_fix_reason`` saying why nothing in the catalog does.

    Every text field holds raw text, and may quote what the model chose (keys, node and op names,
    converter messages): it is escaped where it reaches a medium (repair.core.text: the terminal in
    repair.cli, markdown in repair.fix.report), never here, so nothing is escaped twice; JSON keeps it verbatim.
    """

    kind: FindingKind
    severity: Severity
    source: Source
    title: str
    explanation: str
    evidence: str = ""
    subject: str = ""  # what it is about: a signature key, an op name, an input key
    fix: str | None = None
    no_fix_reason: str = ""
    # The ops a converter finding (or a stochastic one) is about, as the converter named them; None for findings
    # that are not about ops. Rewrites that answer only some ops read it (``claims``).
    ops: tuple[str, ...] | None = None
    data: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        return self.kind.value

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "source": self.source.value,
            "title": self.title,
            "explanation": self.explanation,
            "subject": self.subject,
            "fix": self.fix,
            "no_fix_reason": self.no_fix_reason,
            "evidence": self.evidence,
            # ops first, then the rest: the same JSON as when ops lived in data
            "data": _jsonable(({"ops": list(self.ops)} if self.ops is not None else {}) | self.data),
        }


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def blocking(findings: list[Finding]) -> list[Finding]:
    """The findings that stop deployment."""
    return [f for f in findings if f.severity is Severity.ERROR]


@dataclass(frozen=True)
class Wording:
    """How a finding kind is said: the title and explanation, the alternatives a detector picks by name when one kind
    is raised in several situations, and the next step when nothing in the catalog fixes it.

    Texts are ``str.format`` templates: the detector fills the fields (``{ops}``, ``{count}`` ...); literal braces are
    doubled."""

    title: str
    explanation: str
    no_fix: str = ""  # the user's next step when no rewrite answers the finding ("no catalog fix" when empty)
    titles: Mapping[str, str] = field(default_factory=dict)  # alternative titles, by name
    explanations: Mapping[str, str] = field(default_factory=dict)  # alternative explanations, by name


_UNKNOWN_DIMS = ("The converter accepts unknown dims, but the .tflite must be resized before each call, graphs that only "
                 "work at one size fail at others, and delegates and micro runtimes refuse dynamic shapes.")
_STOCHASTIC = ("The model is random at inference: the same input gives other outputs on every call, so no conversion can be "
               "checked against it. A Dropout or noise layer called with training=True (or a tf.random call) in the "
               "serving function is the usual cause")
_COMPUTES_ELSE = "The converted model computes something else than the model it came from"
_NOT_RUN = "{op} {what}. repair did not run any graph of this model (no load, no reference run, no parity"
_TRUST = "). If you trust the model, pass {flag} to run it."

# Every finding kind's wording. The order of the rows is the order findings read off the model before any conversion
# (the artifact and its protos) are reported in, whichever detector raised them: reports and tests depend on it.
_UNCHECKED = "The {target} check could not run on the .tflite, so the target is not proven"


WORDING: dict[FindingKind, Wording] = {
    FindingKind.KERAS_FILE: Wording(
        "A Keras {suffix} file, not a SavedModel",
        "The converter and TF Serving need a SavedModel directory: 'SavedModel file does not exist at: "
        "{path}/{{saved_model.pbtxt|saved_model.pb}}'.",
    ),
    FindingKind.FROZEN_GRAPH: Wording(
        "A frozen GraphDef, not a SavedModel",
        "TF2's converter and TF Serving need a SavedModel with a signature naming the inputs and outputs; a frozen "
        ".pb only has a graph.",
    ),
    FindingKind.TAG_SET_NOT_SERVE: Wording(
        "No meta graph is tagged exactly {{'serve'}}",
        "The converter, TF Serving and saved_model_cli load the meta graph whose tag set is exactly {{'serve'}}; "
        "this SavedModel has {tag_sets}.",
        titles={"converter": "The converter found no {{'serve'}} meta graph"},
        explanations={"converter": "{detail}"},
    ),
    FindingKind.TF1_GRAPH_WITHOUT_SIGNATURE: Wording(
        "TF1 graph saved without a signature",
        "The graph has no SignatureDef, so nothing names its inputs and outputs; the converter says "
        "'Only support at least one signature key'.",
    ),
    FindingKind.NO_SIGNATURE_TRACED: Wording(
        "No signature, but a traced tf.function was saved",
        "tf.saved_model.save was called without signatures= and the tf.function had no input_signature. "
        "It was traced before saving, so its graph is in the SavedModel and can be wrapped.",
    ),
    FindingKind.NO_SIGNATURE_NEVER_TRACED: Wording(
        "No signature, and the tf.function was never traced",
        "The tf.function had no input_signature and was never called before saving, so no graph was saved: "
        "nothing in the artifact can be served. Only the source can fix it: add "
        "input_signature=[tf.TensorSpec(...)] to the @tf.function, or pass signatures= to tf.saved_model.save.",
        no_fix="no graph was saved: only the source can fix it (add input_signature= to the "
        "@tf.function, or pass signatures= to tf.saved_model.save, then save again)",
        titles={"converter": "The converter found no signature"},
        explanations={"converter": "{detail}"},
    ),
    FindingKind.NO_SERVING_DEFAULT: Wording(
        "No 'serving_default' signature",
        "The SavedModel only has the signature(s) {keys}. TF Serving and most clients call 'serving_default'.",
        titles={"asked": "serving_default is not the signature you asked for ('{signature}')"},
        explanations={"asked": "--signature {signature} asks for '{signature}' to be what clients get by default."},
    ),
    FindingKind.SERIALIZED_EXAMPLE_INPUT: Wording(
        "The serving input is serialized tf.Example strings",
        "The serving function parses tf.Example protos (an estimator serving_input_receiver_fn, or a TF2 "
        "tf.function calling tf.io.parse_example); ParseExampleV2 is not a TFLite builtin and needs Flex ops the "
        "pip interpreters cannot run.",
    ),
    FindingKind.DYNAMIC_DIMS: Wording(
        "Inputs have unknown non-batch dimensions",
        _UNKNOWN_DIMS,
        titles={"strict": "Inputs have unknown dimensions", "pin": "--pin asks for other input shapes than the signature's"},
        explanations={"pin": "The pin you gave is the serving contract: the signature must take exactly that shape. "
                      + _UNKNOWN_DIMS},
    ),
    FindingKind.SERVING_KEY_MISMATCH: Wording(
        "The serving input keys differ from what clients send",
        "Clients sending other keys fail: TF Serving and saved_model_cli reject unknown input keys, "
        "the .tflite runner says 'Invalid Input name'.",
    ),
    FindingKind.UNBOUND_VARIABLES: Wording(
        "The serving signature reads variables that are never restored",
        "In the TF1 view that the converter and TF Serving load, the checkpoint restores into other variables than "
        "the {count} the signature reads: the .tflite converts without error and outputs garbage, and TF "
        "Serving fails with 'Could not find variable'. This is what a Keras 3 model saved with tf.saved_model.save "
        "produces.",
        titles={"tflite": "Variables are read but never initialised in the .tflite"},
        explanations={"tflite": "The .tflite reads {count} resource variable(s) that no initialiser assigns: it "
                      "converts without error and outputs garbage. This is what a Keras 3 model saved with "
                      "tf.saved_model.save produces."},
    ),
    FindingKind.PRUNING_WRAPPERS: Wording(
        "Pruning wrappers were left in (saved without strip_pruning)",
        "The model converts, but masks and kernels become resource variables with an init subgraph: the .tflite "
        "is about twice as large and many delegates and micro runtimes cannot run it.",
        no_fix="apply tfmot.sparsity.keras.strip_pruning(model) before saving",
        explanations={"keras-file": "The file needs tensorflow-model-optimization to load at all, and once exported, "
                      "masks and kernels become resource variables with an init subgraph that many delegates and "
                      "micro runtimes cannot run."},
    ),
    FindingKind.SIDE_EFFECTS: Wording(
        "The graph has ops with effects outside the model: {op} in {where}",
        _NOT_RUN + _TRUST,
        no_fix="not a conversion defect: the graph reaches outside the model, so nothing of it was run; "
        "remove those ops in the source, or pass --allow-side-effects if you trust the model",
        explanations={"at-load": _NOT_RUN + ", no conversion: the converter runs the initializers" + _TRUST},
    ),
    FindingKind.NEEDS_FLEX_OPS: Wording(
        "Ops that TFLite builtins do not have: {ops}",
        "These ops exist only as Flex (TF Select) ops. SELECT_TF_OPS would convert, but the pip interpreters "
        "cannot run Flex ops and most devices do not ship them.",
        no_fix="no builtin equivalent for these ops in the catalog (`repair rewrites substitute_flex_ops` "
        "lists the ones it has); rewrite them in the source, and move string processing (tf.strings, string hashing) out "
        "of the model so it serves numeric ids. SELECT_TF_OPS converts but the result cannot run without Flex",
    ),
    FindingKind.NEEDS_CUSTOM_OPS: Wording(
        "Ops with no TFLite implementation at all: {ops}",
        "These ops are neither builtins nor Flex ops; SELECT_TF_OPS does not help. They must be rewritten in "
        "other TF ops.",
        no_fix="these ops have no TFLite kernel, builtin or Flex: rewrite them in other TF ops in the "
        "source (tf.py_function has no automatic fix)",
    ),
    FindingKind.FLOAT64_OPS: Wording(
        "float64 computation: {ops}",
        "The failing ops run on float64 tensors, which TFLite builtins do not support. The op itself is fine in "
        "float32: float64 is the root cause (often tnp.asarray of Python floats, tnp.arange or a float64 model).",
        no_fix="compute in float32: cast inputs and weights to tf.float32 in the source (tnp.asarray of "
        "Python floats, tnp.arange and tnp.linspace produce float64)",  # shown only if compute_in_float32 cannot apply
    ),
    FindingKind.FLOAT16_OPS: Wording(
        "float16/bfloat16 computation (mixed precision): {ops}",
        "The failing ops run on float16 (or bfloat16) tensors, which TFLite builtins have no kernels for. This is "
        "the compute dtype of a Keras mixed-precision policy (mixed_float16 or mixed_bfloat16 set when the model "
        "was built): variables stay float32 and are cast to float16 for every layer. The ops are fine in float32.",
        no_fix="build the model for inference under the float32 policy (keras.mixed_precision."
        "set_global_policy('float32') before building it, then load the trained weights) and export that",
    ),
    FindingKind.TENSORLIST_LOOP: Wording(
        "A loop accumulates into a TensorList ({ops})",
        "TensorArray loops and Keras LSTM/GRU/SimpleRNN layers with unroll=False lower to TensorList ops that "
        "need a static element shape; builtins-only conversion fails even at static shapes.",
        no_fix="unroll the loop: Keras RNN layers with unroll=True over a static time dimension, or a "
        "Python loop with a list and tf.stack instead of TensorArray. Do not use the converter's single-batch flag: it is "
        "wrong at batch > 1",
        titles={"no-ops": "A loop accumulates into a TensorList"},
    ),
    FindingKind.CONVERTER_ERROR: Wording(
        "Conversion failed: {detail}",
        "The converter failed in a way this version does not classify; the full text is in the evidence.",
        no_fix="unclassified converter failure: read the evidence",
    ),
    FindingKind.CONVERTER_CRASH: Wording(
        "The TFLite converter crashed: {detail}",
        "The converter aborted or segfaulted instead of raising an error (an LLVM ERROR such as 'Failed to "
        "infer result type(s)', or a crash in a conversion pass). repair ran it in a supervised process, so "
        "the crash is reported here; its last stderr lines are the evidence.",
        no_fix="a converter bug, not a defect the catalog knows: the evidence has the converter's last "
        "words; simplify or replace the op it names in the source, try another TensorFlow version, and report it upstream "
        "with the SavedModel",
    ),
    FindingKind.RESOURCE_VARIABLES: Wording(
        "The .tflite keeps resource variables",
        "VAR_HANDLE/READ_VARIABLE ops with an init subgraph work in the TFLite interpreter, but many delegates and "
        "micro runtimes cannot run them, and the file is larger than a frozen one.",
        no_fix="freeze the variables (strip pruning wrappers, avoid stateful ops in the serving function)",
    ),
    FindingKind.WHILE_LOOP: Wording(
        "The .tflite has {count} WHILE loop(s)",
        "Static-trip-count loops convert builtins-only in TF 2.21; unrolled they run about 2x faster on small bodies "
        "and some delegates need them unrolled.",
        no_fix="loops with a static trip count can be unrolled in the source (a Python range loop); "
        "blocking only for --target tflite-strict",
    ),
    FindingKind.FLOAT64_TENSORS: Wording(
        "The .tflite has {count} float64 tensor(s)",
        "Micro runtimes and most delegates have no float64 at all, not even for CAST at the interface. "
        "Give the model a float32 signature in the source.",
        no_fix="give the model a float32 signature in the source",
    ),
    FindingKind.PARITY_MISMATCH: Wording(
        "The .tflite's outputs differ from the original (max abs diff {worst:.3g})",
        _COMPUTES_ELSE + ".",
        no_fix="the conversion changes the numbers; no catalog fix applies",
        explanations={"unbound": _COMPUTES_ELSE + ": its variables are never initialised."},
    ),
    FindingKind.INTERPRETER_FAILURE: Wording(
        "The .tflite fails in the interpreter",
        "The model converted but the TFLite interpreter could not run it on inputs the original accepts.",
        no_fix="the graph only works at some input sizes: pin them with --pin",
    ),
    FindingKind.REFERENCE_FAILURE: Wording(
        "Could not run the original model on generated inputs",
        "Parity was not checked. Give real input sizes with --pin NAME=... or a --sample FILE.npz.",
        no_fix="give real input sizes with --pin NAME=... or real inputs with --sample FILE.npz",
    ),
    FindingKind.NONDETERMINISTIC_OUTPUTS: Wording(
        "Serving is stochastic: the serving path draws random numbers ({ops})",
        _STOCHASTIC + ".",
        no_fix="turn the random op off at inference (training=False, no noise layers), or "
        "give a --sample whose switches disable it; parity cannot be proven otherwise",
        titles={"no-ops": "Serving is stochastic: the serving path draws random numbers"},
        explanations={"flex": _STOCHASTIC + "; these random ops are also not TFLite builtins (Keras 3 seed generators "
                      "lower to Flex StatelessRandom ops)."},
    ),
    FindingKind.SESSION_LOADER_FAILURE: Wording(
        "serving_default fails under the TF1-session loader (TF Serving, saved_model_cli)",
        "TF Serving loads SavedModels into a TF1 session; this signature does not run there.",
        no_fix="no catalog fix applies",
        titles={"numbers": "serving_default gives different numbers under the TF1-session loader"},
        explanations={"numbers": "TF Serving would return outputs that differ from TensorFlow's own loader."},
    ),
    FindingKind.GPU_INCOMPATIBLE: Wording(
        "{count} node(s) cannot run on the LiteRT GPU delegate ({ops})",
        "The GPU delegate takes only the nodes its compatibility rules accept, with static shapes; the rest run on "
        "the CPU, and each switch between GPU and CPU copies tensors. Nodes: {nodes}.",
        no_fix="split the model at the tensor before the first refused node and run the tail on the CPU, or accept "
        "the CPU fallback with --accept-fallback gpu",
        titles={"unchecked": _UNCHECKED}, explanations={"unchecked": "{nodes}"},
    ),
    FindingKind.XNNPACK_FALLBACK: Wording(
        "XNNPACK delegates {delegated} of {total} node(s); {count} fall back to the reference CPU kernels ({ops})",
        "Each node XNNPACK does not take runs on TFLite's own kernels, and each island costs a hand-over between "
        "the two. Nodes: {nodes}.",
        no_fix="keep those ops on the CPU (--accept-fallback xnnpack), or replace them in the source by ops XNNPACK "
        "takes",
        titles={"unchecked": _UNCHECKED, "failed": "The .tflite fails with the XNNPACK delegate"},
        explanations={"unchecked": "{nodes}", "failed": "The interpreter with XNNPACK could not run the model: {nodes}."},
    ),
    FindingKind.MICRO_INCOMPATIBLE: Wording(
        "TensorFlow Lite for Microcontrollers cannot run the .tflite ({ops})",
        "The TFLM interpreter refused or mis-ran it: {nodes}.",
        no_fix="replace these ops in the source by ones TFLM has kernels for, or run this part of the model on the "
        "host",
        titles={"unchecked": _UNCHECKED, "numbers": "TFLM's outputs differ from the original (max abs diff {worst:.3g})"},
        explanations={"unchecked": "{nodes}",
                      "numbers": "The TFLM interpreter ran the .tflite, but its outputs differ from the original's."},
    ),
    FindingKind.RUNTIME_TOO_OLD: Wording(
        "The .tflite needs LiteRT/TFLite {needed}; runtime {wanted} cannot load it ({ops})",
        "An older runtime fails at load with \"Didn't find op for builtin opcode '...' version 'N'\" for each op "
        "version newer than it. Ops that set the minimum: {nodes}.",
        no_fix="upgrade the runtime on the device, or avoid the op versions named (they come from the ops' types or "
        "attributes, e.g. int16 activations or broadcasting over more than 4 dims)",
        titles={"unchecked": _UNCHECKED}, explanations={"unchecked": "{nodes}"},
    ),
    FindingKind.QUANT_FAILED: Wording(
        "{mode} quantization fails: {reason}",
        "The converter could not produce a {mode} model: {detail}",
        no_fix="quantize to another mode (--quantize float16 or dynamic)",  # the stage names the class's own cure
    ),
    FindingKind.QUANT_OVER_BUDGET: Wording(
        "{mode} quantization misses the budget: {misses}",
        "Measured on {count} held-out sample(s) against the float original, with every layer quantized. The layers "
        "whose own quantization error is largest: {worst}.",
        no_fix="loosen --budget, give real calibration data (--calibration FILE.npz), or quantize to a wider type "
        "(--quantize int16x8 or float16)",
    ),
    FindingKind.QUANT_FLOAT_OPS: Wording(
        "{count} op(s) stay float in the {mode} model: no quantized kernel ({ops})",
        "The quantizer leaves an op without a quantized kernel in float and puts DEQUANTIZE/QUANTIZE around it: the "
        "model runs, but that part is as slow and as large as before, and an integer-only accelerator or "
        "microcontroller build without float kernels cannot run it. Ops: {nodes}.",
        no_fix="accept the float island (--accept-fallback micro on a microcontroller), or replace those ops in the "
        "source by ones with int8 kernels",
    ),
    FindingKind.CALIBRATION_DTYPE: Wording(
        "The calibration data needed a cast to feed the model",
        "{notes}. TensorFlow's calibrator refuses arrays of another dtype (\"Got value of type FLOAT32 but expected "
        "type INT32 for input 0\"); the cast kept every value.",
        no_fix="save the arrays in the inputs' own dtypes",
    ),
}

_ORDER = {kind: rank for rank, kind in enumerate(WORDING)}


def worded(kind: FindingKind, severity: Severity, source: Source, *, title: str = "", explanation: str = "",
           evidence: str = "", subject: str = "", ops: tuple[str, ...] | None = None,
           data: dict[str, object] | None = None, **fields: object) -> Finding:
    """A finding said in the words of ``WORDING[kind]``: ``title``/``explanation`` name an alternative of the row
    (empty: its default), ``fields`` fill the templates; ``{ops}`` is ``ops`` joined by commas."""
    wording = WORDING[kind]
    if ops is not None:
        fields.setdefault("ops", ", ".join(ops))
    title_text = wording.titles[title] if title else wording.title
    explanation_text = wording.explanations[explanation] if explanation else wording.explanation
    return Finding(kind=kind, severity=severity, source=source, title=title_text.format(**fields),
                   explanation=explanation_text.format(**fields), evidence=evidence, subject=subject, ops=ops,
                   data=data if data is not None else {})


def in_report_order(findings: list[Finding]) -> list[Finding]:
    """Findings in the order of the WORDING rows (stable: two findings of one kind keep theirs)."""
    return sorted(findings, key=lambda f: _ORDER[f.kind])
