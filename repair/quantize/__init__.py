"""Quantization with a proven accuracy budget: ``repair fix MODEL --out DIR --quantize MODE``.

The float model has already passed the verification gate when this wing runs; it turns that model into a
quantized .tflite and proves, on held-out samples and the real LiteRT interpreter, that each output stays within
its budget (``--budget``) against the float original. The modules, in the order a run uses them:

- ``calibration``  the representative data: a user's .npz (validated like ``--sample``) or generated data, split into
                   calibration samples and held-out samples that calibration never saw;
- ``convert``      calibrate once (the expensive part), then quantize the calibrated model by a ``Recipe`` (which
                   layers stay float) in milliseconds; the weight-only modes; the ops a quantized model computes in float;
- ``measure``      run a .tflite on the held-out samples (quantized inputs and outputs handled), score each output
                   against the float outputs by the budget's metrics, and time it;
- ``sensitivity``  rank layers by their own quantization error (each layer measured in isolation);
- ``search``       the loop: quantize, measure, keep the worst layers float until the budget holds, with as few
                   float layers as the search finds; or a refusal that says why.

It imports core and model only; the engine (``repair.fix.quantize``) runs it after the float gate, adds its checks
to the gate and its sections to the reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repair.core.options import BudgetTerm, Metric, QuantMode

Feeds = dict[str, np.ndarray]


class QuantFailed(Exception):
    """The converter or the quantizer refused: ``str(exc)`` is one line for the user, ``text`` the verbatim output."""

    def __init__(self, message: str, text: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.text = text
        self.kind = kind  # a short class: "unsupported-op", "dynamic-tensor", "calibration-dtype", "converter"


@dataclass(frozen=True)
class Calibration:
    """The representative data of one run, one sample per entry (batch 1), keyed by serving input name."""

    calibration: tuple[Feeds, ...]
    held_out: tuple[Feeds, ...]  # never shown to calibration: the budget is measured on these
    source: str  # "calibration.npz (200 samples: 150 calibration, 50 held out)", "generated (seed 0)"
    generated: bool  # True: the data proves the mechanics work, not accuracy on real inputs
    notes: tuple[str, ...] = ()  # what was done to the user's data to make it feed the model (a lossless dtype cast)


@dataclass(frozen=True)
class Recipe:
    """What the published model is: the mode, its I/O dtype, and the layers kept in float (by output tensor name).

    The plan file records it so CI replays exactly this model (``--plan-in``) without searching again.
    """

    mode: QuantMode
    io: str = "float"
    float_layers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"mode": self.mode.value, "io": self.io, "float_layers": list(self.float_layers)}

    @staticmethod
    def from_json(data: dict[str, object]) -> Recipe:
        layers = data.get("float_layers") or []
        assert isinstance(layers, list)
        return Recipe(QuantMode(str(data["mode"])), str(data.get("io", "float")), tuple(str(x) for x in layers))


@dataclass(frozen=True)
class LayerError:
    """One layer's own quantization error, measured in isolation (its inputs exact, only its output quantized)."""

    tensor: str  # the layer's output tensor name: what a recipe's float_layers names
    op: str  # builtin op name
    nsr: float  # noise-to-signal, the ranking key: mean over channels (last axis) of min(1, rms(error) / rms(float))
    rmse: float
    max_abs: float


@dataclass(frozen=True)
class OutputScore:
    """One budget term on one output: the limit and what the quantized model achieved on the held-out samples."""

    output: str
    metric: Metric
    limit: float
    achieved: float

    @property
    def ok(self) -> bool:
        return self.metric.holds(self.achieved, self.limit)


@dataclass(frozen=True)
class Step:
    """One quantize-and-measure round of the search."""

    float_layers: tuple[str, ...]
    scores: tuple[OutputScore, ...]
    seconds: float
    why: str  # "all layers quantized", "the 4 most sensitive layers float", "bisection: 3 float", ...

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.scores)


@dataclass
class QuantResult:
    """What a budgeted quantization produced and proved, or why it was refused (``tflite`` None, ``refusal`` set)."""

    recipe: Recipe
    budget: tuple[BudgetTerm, ...]
    calibration: Calibration
    tflite: bytes | None = None
    scores: tuple[OutputScore, ...] = ()  # of the published model, on the held-out samples
    kept: tuple[LayerError, ...] = ()  # layers the search kept float, with their measured error
    no_kernel: tuple[str, ...] = ()  # ops the quantizer left in float because they have no quantized kernel
    float_ops: tuple[str, ...] = ()  # every op of the result that computes in float (QUANTIZE/DEQUANTIZE excluded)
    ranking: tuple[LayerError, ...] = ()  # every layer's measured error, worst first (empty when no search ran)
    steps: tuple[Step, ...] = ()
    float_bytes: int = 0
    quant_bytes: int = 0
    float_latency: float = 0.0  # median seconds per held-out sample in the LiteRT interpreter
    quant_latency: float = 0.0
    refusal: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # calibrate, rank, search, measure

    @property
    def ok(self) -> bool:
        return self.tflite is not None and not self.refusal and all(s.ok for s in self.scores)


__all__ = ["Calibration", "Feeds", "LayerError", "OutputScore", "QuantFailed", "QuantResult", "Recipe", "Step"]
