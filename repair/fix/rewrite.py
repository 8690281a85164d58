"""The contract every catalog entry implements.

A rewrite answers one or more finding kinds, declares its safety, says whether it can apply to a
given model (``check`` returns the reason it cannot, or None), and ``apply`` returns a *new*
``WorkingModel``; the input model and its files are never touched. A rewrite whose finding can be read off the
artifact also raises it (``detect``), and names the corpus cases that prove it (``cases``). Rewrites import only
repair's types and helpers, never the pipeline or the CLI. The class docstring, with the headings
What it fixes / Why it fails / Safety / References, is what ``repair rewrites ID`` prints.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options, Tolerance
from repair.core.safety import Safety
from repair.model.working import WorkingModel

if TYPE_CHECKING:
    from repair.source.rewrite import SourceRewrite

__all__ = ["Applied", "Catalog", "Rewrite", "RewriteFailed", "Safety"]


class RewriteFailed(Exception):
    """A rewrite could not be applied to this model; the message says why."""


@dataclass(frozen=True)
class Applied:
    """What ``apply`` produced, with the sentence the report shows."""

    model: WorkingModel
    summary: str
    rebase_reference: bool = False  # the original has no usable entry: this model's entry becomes the reference
    # The input contract changed: turns the new inputs (keyed by origin) into the original's inputs,
    # so parity still runs the original model (e.g. features -> serialized tf.Example strings).
    reference_adapter: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    op_delta: dict[str, int] | None = None  # TF graph ops added/removed by a graph-surgery fix
    # Finding kinds this fix answered only in part (a loop unrolled, another left alone with the reason in the
    # summary): the gate does not expect them gone from the output. Every other answered finding must be.
    partly: frozenset[FindingKind] = frozenset()
    # The original computes at a lower precision than the fix (a float16 model made float32): parity can only hold
    # at the original's own precision, so the gate uses at least this tolerance and says so.
    tolerance_floor: Tolerance | None = None


class Rewrite(ABC):
    id: ClassVar[str]
    title: ClassVar[str]
    answers: ClassVar[frozenset[FindingKind]]
    safety: ClassVar[Safety]
    # Graph surgery whose conditions are only known once the graph is frozen (a Roll's shift, a loop's trip
    # count, an area resize's sizes): `repair diagnose` applies it in scratch before announcing it, so it never
    # promises a fix that `repair fix` would then decline.
    tried_in_diagnose: ClassVar[bool] = False
    # The corpus cases ("<class>/<case>") whose Expect(rewrites=...) names this rewrite, the first one the case its
    # fast test builds (tests/e2e/test_rewrites.py): one the rewrite applies to directly, with the fewest flags.
    cases: ClassVar[tuple[str, ...]] = ()

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        """The findings this rewrite answers that the artifact and its protos show without running anything.

        Called on every model diagnosed (``model.info`` is None for a Keras file or a frozen graph); a finding the
        converter, the .tflite or parity raises is diagnose's (the default: none)."""
        return []

    def claims(self, finding: Finding) -> bool:
        """Whether this finding is one the rewrite is about (a rewrite may answer only some Flex ops)."""
        return finding.kind in self.answers

    def consented(self, options: Options) -> bool:
        """Whether the user's flags already ask for this (unsafe) fix: they gave the values it needs."""
        return False

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        """None when the rewrite can apply to this model; otherwise the reason it cannot ("" when the finding is not
        about what this rewrite does on this model, so the user is told the other rewrites' reasons only)."""
        return None

    @abstractmethod
    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        """Return a new model; write files only under ``scratch`` (an empty directory)."""

    @classmethod
    def doc(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")


@dataclass(frozen=True)
class Catalog:
    """The rewrites the engine may use, in the order fixes are applied, and the source rewrites ``--source`` offers
    beside them. The engine never imports a catalog: the CLI builds this from ``rewrites`` and passes it in."""

    rewrites: tuple[Rewrite, ...]
    source: Sequence[SourceRewrite] = ()
    by_id: dict[str, Rewrite] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {r.id: r for r in self.rewrites})

    def __iter__(self) -> Iterator[Rewrite]:
        return iter(self.rewrites)

    def __getitem__(self, rewrite_id: str) -> Rewrite:
        return self.by_id[rewrite_id]

    def answering(self, kind: FindingKind) -> list[Rewrite]:
        """The rewrites that answer a finding kind, in catalog order."""
        return [r for r in self.rewrites if kind in r.answers]

    def consented(self, options: Options) -> frozenset[str]:
        """Unsafe rewrites the user asked for by giving the values they need (--pin, --rename ...): the flag is the
        consent."""
        ids = {r.id for r in self.rewrites if r.safety is Safety.UNSAFE and r.consented(options)}
        if options.quantize is not None:  # the quantized model (repair.fix.quantize): --quantize is the consent
            ids.add("quantize")
        return frozenset(ids)
