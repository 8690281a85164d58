"""Typed findings: what is wrong with a model, in plain words, with the evidence kept verbatim.

A finding names a *symptom* (``UNBOUND_VARIABLES``); the rewrite that answers it names an *action*
(``rebind_variables``). The enum values are stable ids: reports, plan files and tests use them.
"""

from __future__ import annotations

import enum
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
            "data": _jsonable(self.data),
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
