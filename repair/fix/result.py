"""What a run produced, as values: each fix's record, the gate's checks, and the run's result.

Its own module so that the pipeline (which builds a RunResult) and the reports (which read one) both import it and
neither imports the other.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from repair.core.errors import ExitCode
from repair.core.options import Options, Target
from repair.core.safety import Safety
from repair.fix.diagnose import Diagnosis
from repair.model.parity import Parity

if TYPE_CHECKING:
    from repair.fix.quantize import QuantOutcome

Row = tuple[str, str, str, str]  # a signature table row: (side, key, dtype, shape)


class FixOutcome(enum.Enum):
    """How one proposed fix ended."""

    APPLIED = "applied"
    REJECTED = "rejected"
    FAILED = "failed"


class RunStatus(enum.Enum):
    """How a ``repair fix`` run ended; the report and the exit code follow from it."""

    REPAIRED = "repaired"
    NOTHING_TO_FIX = "nothing-to-fix"
    REFUSED = "refused"
    VERIFICATION_FAILED = "verification-failed"


@dataclass(frozen=True)
class FixRecord:
    """What happened to one proposed fix; the report lists these in order."""

    rewrite_id: str
    finding_id: str
    safety: Safety
    outcome: FixOutcome
    summary: str
    seconds: float = 0.0
    signature_before: tuple[Row, ...] = ()
    signature_after: tuple[Row, ...] = ()
    op_delta: tuple[tuple[str, int], ...] = ()  # TF graph ops, for graph-surgery fixes
    why: str = ""  # why it ran (safe by default, consented by a flag, accepted at the prompt or in a plan file), or not
    ran: bool = True  # False: rejected before anything was applied (seconds is then 0 because nothing ran)
    export_seconds: float = 0.0  # the export that wrote this fix's change into a SavedModel (0: none needed)
    exported_with: tuple[str, ...] = ()  # the other fixes that one export wrote too (its seconds are shared)


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
    status: RunStatus
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
    source_edits: list[dict[str, str]] = field(default_factory=list)  # --source: each offered edit and its decision
    source_patch_text: str = ""  # the accepted source edits as one unified diff
    source_patch: Path | None = None  # where that diff was written
    quant: QuantOutcome | None = None  # --quantize: the quantized model, its proof, or why there is none
    reference_facts: dict[str, str] = field(default_factory=dict)  # how the original was run for parity (loader, entry)
    scratch: tuple[Path, ...] = ()  # the run's scratch directory (and its alias): never named in a report


SCHEMA_VERSION = "1"  # report.json's shape: a whole number as a string, raised by one whenever a key changes meaning


# Options fields whose values are the consent for an unsafe fix (Rewrite.consented), with the flag that sets each.
_CONSENT_FLAGS = (("pins", "--pin"), ("sample", "--sample"), ("targets", "--target"), ("renames", "--rename"),
                  ("input_keys", "--input-keys"), ("request", "--request"))


def consent_flags(consented: Callable[[Options], bool], options: Options) -> list[str]:
    """The flags the user gave that consent to an unsafe fix: each flag alone (the others cleared) is tried against
    the rewrite's own ``consented`` test, so the report names the flag that did it, not the list of all."""
    cleared = replace(options, pins={}, sample=None, targets=frozenset({Target.TFLITE}), renames={}, input_keys=(),
                      request=())
    found = []
    for name, flag in _CONSENT_FLAGS:
        alone = replace(cleared, **{name: getattr(options, name)})
        if getattr(options, name) != getattr(cleared, name) and consented(alone):
            found.append(f"{flag} {options.target_text}" if flag == "--target" else flag)
    return found


def describe_reference(entry: str, src: Path, rebased_by: str, adapted: bool, keras_saved: bool) -> dict[str, str]:
    """How the original was run to give parity's expected outputs, as facts for both reports.

    The reference is the user's input, or (``rebased_by``) the SavedModel a fix made from it in scratch, which the
    report names by that fix, never by its deleted scratch path. ``entry`` is how it was called (Entry.describe)."""
    facts = {"loader": "tf.saved_model.load (TensorFlow's object-graph loader), run eagerly", "entry": entry}
    if rebased_by:
        facts["model"] = f"the SavedModel {rebased_by} made from {src} (the first form of it that can serve)"
    else:
        facts["model"] = str(src)
    if keras_saved:
        facts["note"] = ("a Keras 3 model saved with tf.saved_model.save: this loader restores the variables by the "
                         "object graph, so the reference computes with the Keras model's own weights (the converter's "
                         "TF1 view does not)")
    if adapted:
        facts["inputs"] = "the new inputs re-encoded into the original's (its adapter), so both see the same values"
    return facts


__all__ = ["SCHEMA_VERSION", "FixOutcome", "FixRecord", "GateCheck", "Row", "RunResult", "RunStatus", "consent_flags",
           "describe_reference"]
