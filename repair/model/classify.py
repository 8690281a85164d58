"""Classifying converter failures: structured error codes first, then one ordered regex table.

Nothing else in the package reads raw converter text. ``ConverterError.errors`` carries
``ConverterErrorData`` protos whose ``error_code`` and ``operator.name`` are the reliable signal
(docs/facts.md §0); the free text is matched only for the failures that carry no code (TensorList lowering,
tag and signature errors raised as plain Python exceptions). Every ``'tf.X' op is neither a custom
op nor a flex op`` line appears for flex and custom failures alike, so it is never matched on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from repair.core.findings import FindingKind

_FLEX_CODE = "ERROR_NEEDS_FLEX_OPS"
_CUSTOM_CODE = "ERROR_NEEDS_CUSTOM_OPS"


@dataclass(frozen=True)
class Classified:
    """One failure class found in a conversion attempt."""

    kind: FindingKind
    ops: tuple[str, ...] = ()  # TF op names without the "tf." prefix, e.g. ("Roll",)
    detail: str = ""  # the line that matched, for the report


@dataclass(frozen=True)
class _Rule:
    kind: FindingKind
    pattern: re.Pattern[str]
    detail: str


# Ordered: the first matching rule per kind wins. Text rules only; codes are handled above them.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        FindingKind.TENSORLIST_LOOP,
        re.compile(r"'tf\.TensorList\w+' op requires element_shape to be (static|1D tensor)"),
        "a TensorList (TensorArray or Keras RNN loop) has no static element shape",
    ),
    _Rule(
        FindingKind.TENSORLIST_LOOP,
        re.compile(r"Lowering tensor list ops is failed"),
        "TensorList lowering failed",
    ),
    _Rule(  # a TensorArray filled in a Python loop (no While): the lowering leaves a use before its definition
        FindingKind.TENSORLIST_LOOP,
        re.compile(r"\[\"TensorList\w+:\".*operand #\d+ does not dominate this use"),
        "a TensorList written in straight-line code (a TensorArray filled in a Python loop) cannot be lowered",
    ),
    _Rule(
        FindingKind.TAG_SET_NOT_SERVE,
        re.compile(r"MetaGraphDef associated with tags \{.*\} could not be found in SavedModel"),
        "no meta graph has exactly the tag set {'serve'}",
    ),
    _Rule(
        FindingKind.NO_SIGNATURE_NEVER_TRACED,  # refined by static inspection into traced/never traced
        re.compile(r"Only support at least one signature key"),
        "the SavedModel has no SignatureDef",
    ),
)

_SELECT_OPS = re.compile(r"TF Select ops: (.+)")
_CUSTOM_OPS = re.compile(r"Custom ops: (.+)")
_DETAIL_LINE = re.compile(r"^\s*tf\.(\w+)\((.*)$", re.MULTILINE)
_F64 = re.compile(r"xf64>|<f64>")
_F16 = re.compile(r"x(?:b?f16)>|<(?:b?f16)>")  # float16 and bfloat16: a mixed-precision policy's compute dtype


def _split_ops(text: str) -> tuple[str, ...]:
    return tuple(op.strip() for op in text.split(",") if op.strip())


def float64_ops(text: str) -> tuple[str, ...]:
    """Ops whose ``Details:`` line shows float64 tensors: float64 is then the root cause, not the op."""
    return tuple(sorted({m.group(1) for m in _DETAIL_LINE.finditer(text) if _F64.search(m.group(2))}))


def float16_ops(text: str) -> tuple[str, ...]:
    """Ops whose ``Details:`` line shows float16/bfloat16 tensors (Keras mixed precision), the root cause then."""
    return tuple(sorted({m.group(1) for m in _DETAIL_LINE.finditer(text) if _F16.search(m.group(2))}))


def classify(error_codes: list[tuple[str, str]], text: str) -> list[Classified]:
    """Classify one failed conversion.

    ``error_codes`` holds ``(ErrorCode name, operator name)`` pairs from ``ConverterError.errors``;
    ``text`` is the exception message plus whatever the converter wrote to stderr.
    """
    found: list[Classified] = []
    flex = sorted({op.removeprefix("tf.") for code, op in error_codes if code == _FLEX_CODE and op})
    custom = sorted({op.removeprefix("tf.") for code, op in error_codes if code == _CUSTOM_CODE and op})
    # The summary lines list every op even when error data was truncated; merge both sources.
    for match in _SELECT_OPS.finditer(text):
        flex = sorted(set(flex) | set(_split_ops(match.group(1))))
    for match in _CUSTOM_OPS.finditer(text):
        custom = sorted(set(custom) | set(_split_ops(match.group(1))))

    f64 = float64_ops(text)
    if f64:
        found.append(Classified(FindingKind.FLOAT64_OPS, f64, "the failing ops run on float64 tensors"))
        flex = [op for op in flex if op not in f64]
    f16 = float16_ops(text)
    if f16:
        found.append(Classified(FindingKind.FLOAT16_OPS, f16, "the failing ops run on float16 tensors"))
        flex = [op for op in flex if op not in f16]
    if flex:
        found.append(Classified(FindingKind.NEEDS_FLEX_OPS, tuple(flex), "TF Select ops: " + ", ".join(flex)))
    if custom:
        found.append(Classified(FindingKind.NEEDS_CUSTOM_OPS, tuple(custom), "Custom ops: " + ", ".join(custom)))

    seen = {c.kind for c in found}
    for rule in _RULES:
        if rule.kind in seen:
            continue
        if rule.pattern.search(text):
            ops: tuple[str, ...] = ()
            if rule.kind is FindingKind.TENSORLIST_LOOP:
                ops = tuple(sorted(set(re.findall(r"(?:'tf\.|\[\")(TensorList\w+)", text))))
            found.append(Classified(rule.kind, ops, rule.detail))
            seen.add(rule.kind)
    if not found:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "no message")
        found.append(Classified(FindingKind.CONVERTER_ERROR, (), first[:300]))
    return found
