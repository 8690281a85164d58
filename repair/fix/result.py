"""What a run produced, as values: each fix's record, the gate's checks, and the run's result.

Its own module so that the pipeline (which builds a RunResult) and the reports (which read one) both import it and
neither imports the other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from repair.core.errors import ExitCode
from repair.core.options import Options
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
    why: str = ""  # why it ran: safe by default, consented by a flag, accepted at the prompt or in a plan file


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


__all__ = ["FixOutcome", "FixRecord", "GateCheck", "Row", "RunResult", "RunStatus"]
