"""What the user told us: target, serving contract, shapes, tolerances. Parsed once by the CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from repair.core.request import RequestInput


@dataclass(frozen=True)
class Tolerance:
    """Parity passes when |tflite - original| <= atol + rtol * |original| everywhere."""

    atol: float = 1e-5
    rtol: float = 1e-4


class Target(enum.Enum):
    """Where the model must work. ``tflite`` is always checked; the others add their own check to diagnosis and
    to the gate (``--target gpu,xnnpack,micro,runtime=2.14``)."""

    TFLITE = "tflite"  # converts builtins-only, runs in the TFLite interpreter, matches the original
    TFLITE_STRICT = "tflite-strict"  # also: no WHILE, no dynamic dims, no resource variables, no float64
    SERVING = "serving"  # also: runs under the TF1-session loader of TF Serving and saved_model_cli
    GPU = "gpu"  # every node passes the LiteRT GPU delegate's compatibility rules; no dynamic tensor anywhere
    XNNPACK = "xnnpack"  # the XNNPACK delegate takes every node (no CPU islands) and the outputs still match
    MICRO = "micro"  # the TFLM interpreter has a kernel for every op, allocates it, and its outputs match
    RUNTIME = "runtime"  # every (op, version) pair loads on the LiteRT/TFLite runtime version given (runtime=2.14)

    @property
    def static_shapes(self) -> bool:
        """Targets that refuse unknown dimensions, the batch one included."""
        return self in (Target.TFLITE_STRICT, Target.GPU, Target.MICRO)


TARGET_CHOICES = "tflite, tflite-strict, serving, gpu, xnnpack, micro, runtime=X.Y"


def parse_targets(text: str) -> tuple[frozenset[Target], tuple[int, int] | None]:
    """``--target gpu,micro,runtime=2.14`` -> the targets and the runtime version; ValueError names what is wrong."""
    targets: set[Target] = set()
    runtime: tuple[int, int] | None = None
    for word in (w.strip() for w in text.split(",")):
        name, _, value = word.partition("=")
        try:
            target = Target(name.strip().lower())
        except ValueError:
            raise ValueError(f"unknown target {word!r}; choose from {TARGET_CHOICES}") from None
        if target is Target.RUNTIME:
            parts = value.strip().split(".")
            if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
                raise ValueError(f"{word!r}: give the runtime version as runtime=MAJOR.MINOR, e.g. runtime=2.14")
            runtime = (int(parts[0]), int(parts[1]))
        elif value:
            raise ValueError(f"target {name!r} takes no value (only runtime=X.Y does)")
        targets.add(target)
    targets.add(Target.TFLITE)
    return frozenset(targets), runtime


class QuantMode(enum.Enum):
    """``--quantize``: what the published .tflite computes in. The values are the flag's spelling."""

    DYNAMIC = "dynamic"  # int8 weights, float activations (dynamic-range quantization): no calibration
    FLOAT16 = "float16"  # float16 weights, float compute: no calibration
    INT8 = "int8"  # full integer: int8 weights and activations, calibrated on representative data
    INT16X8 = "int16x8"  # int16 activations, int8 weights, calibrated

    @property
    def calibrated(self) -> bool:
        """Modes whose activation ranges come from running representative data."""
        return self in (QuantMode.INT8, QuantMode.INT16X8)


class Metric(enum.Enum):
    """One accuracy measure of a quantized output against the float original, on held-out samples."""

    MAX_ABS = "max_abs"  # largest |quantized - float| over every element of every held-out sample (lower is better)
    COSINE = "cosine"  # mean over held-out samples of the cosine similarity of the flattened output (higher is better);
    # an output of one number per sample: the cosine of those numbers across the samples (one sample's would be its sign)
    TOP1 = "top1"  # fraction of held-out rows whose argmax over the last axis agrees with the float model's

    @property
    def higher_is_better(self) -> bool:
        return self is not Metric.MAX_ABS

    def holds(self, achieved: float, limit: float) -> bool:
        """Whether ``achieved`` meets the budget ``limit`` (NaN never does)."""
        if achieved != achieved:
            return False
        return achieved >= limit if self.higher_is_better else achieved <= limit


@dataclass(frozen=True)
class BudgetTerm:
    """``--budget [OUTPUT:]METRIC=LIMIT``: one bound; ``output`` None applies it to every output."""

    metric: Metric
    limit: float
    output: str | None = None

    @property
    def text(self) -> str:
        return f"{self.output + ':' if self.output else ''}{self.metric.value}={self.limit:g}"


# What a quantization must keep when no --budget is given: a cosine similarity that a reviewer can trust as "the same
# outputs" for the calibrated modes, tighter for the weight-only ones (whose activations stay float).
DEFAULT_BUDGET: dict[QuantMode, tuple[BudgetTerm, ...]] = {
    QuantMode.DYNAMIC: (BudgetTerm(Metric.COSINE, 0.999),),
    QuantMode.FLOAT16: (BudgetTerm(Metric.COSINE, 0.9999),),
    QuantMode.INT8: (BudgetTerm(Metric.COSINE, 0.99),),
    QuantMode.INT16X8: (BudgetTerm(Metric.COSINE, 0.999),),
}
IO_TYPES = ("float", "int8", "uint8")


def parse_budget(texts: tuple[str, ...]) -> tuple[BudgetTerm, ...]:
    """``max_abs=0.05``, ``cosine=0.999,top1=0.99``, ``probs:top1=0.99`` (one flag may hold several, comma-separated).

    Raises ValueError with the flag's own words; the CLI turns it into one line and exit 2.
    """
    terms: list[BudgetTerm] = []
    for text in texts:
        for word in (w.strip() for w in text.split(",")):
            if not word:
                continue
            head, eq, value = word.partition("=")
            output, colon, name = head.rpartition(":")
            choices = ", ".join(m.value for m in Metric)
            if not eq or not name:
                raise ValueError(f"--budget {text}: {word!r} is not METRIC=LIMIT (metrics: {choices})")
            try:
                metric = Metric(name.strip())
            except ValueError:
                raise ValueError(f"--budget {text}: unknown metric {name.strip()!r} (metrics: {choices})") from None
            try:
                limit = float(value)
            except ValueError:
                raise ValueError(f"--budget {text}: {value!r} is not a number") from None
            if limit != limit or limit < 0 or (metric is not Metric.MAX_ABS and limit > 1):
                raise ValueError(f"--budget {text}: {metric.value} takes "
                                 + ("a limit >= 0" if metric is Metric.MAX_ABS else "a limit between 0 and 1"))
            terms.append(BudgetTerm(metric, limit, output.strip() if colon and output.strip() else None))
    return tuple(terms)


@dataclass(frozen=True)
class Quantize:
    """``--quantize MODE`` and its companions: how to quantize, on what data, within what budget."""

    mode: QuantMode
    io: str = "float"  # int8 only: the dtype of the model's inputs and outputs (IO_TYPES)
    calibration: Path | None = None  # a user's .npz keyed by input name, a batch of samples along axis 0
    calibration_samples: int = 0  # > 0 without a file: generated calibration data, accepted by the user
    held_out_samples: int = 64  # generated held-out samples (when neither --sample nor a file gives them)
    budget: tuple[BudgetTerm, ...] = ()  # empty: DEFAULT_BUDGET[mode]
    float_layers: tuple[str, ...] | None = None  # a replayed recipe (--plan-in): exactly these kept float, no search

    @property
    def terms(self) -> tuple[BudgetTerm, ...]:
        return self.budget or DEFAULT_BUDGET[self.mode]


class Side(enum.Enum):
    """Which end of a graph an --io-hint names; the values are the flag's spelling."""

    INPUTS = "inputs"
    OUTPUTS = "outputs"


@dataclass(frozen=True)
class IoHint:
    """A user-named graph tensor for a TF1 graph without signature: ``inputs:image=input_:0``."""

    side: Side
    key: str
    tensor: str


@dataclass(frozen=True)
class Options:
    targets: frozenset[Target] = frozenset({Target.TFLITE})
    runtime: tuple[int, int] | None = None  # with Target.RUNTIME: the oldest runtime the model must load on
    accept_fallback: frozenset[Target] = frozenset()  # targets whose failing nodes may stay on the CPU (a warning)
    pins: dict[str, tuple[int | None, ...]] = field(default_factory=dict)  # None: keep that dim unknown
    sample: Path | None = None
    io_hints: tuple[IoHint, ...] = ()
    input_keys: tuple[str, ...] = ()  # wanted input keys, in the order diagnose lists the inputs
    renames: dict[str, str] = field(default_factory=dict)  # old key -> new key, inputs or outputs
    request: tuple[RequestInput, ...] = ()  # a sample TF Serving REST request's inputs (keys, value kinds, shapes)
    signature: str | None = None  # which named signature becomes serving_default
    tolerance: Tolerance = Tolerance()
    seed: int = 0
    batch: int = 2
    unsafe_load: bool = False  # let Keras deserialize Lambda layers and other code
    allow_side_effects: bool = False  # run graphs that hold ops with effects outside the model (file I/O, py_func)
    convert_original: bool = False  # fix: convert and run the original too, even when its protos decide the fixes
    quantize: Quantize | None = None  # fix --quantize: publish a quantized .tflite proven within its budget

    @property
    def strict(self) -> bool:
        return Target.TFLITE_STRICT in self.targets

    @property
    def static_shapes(self) -> bool:
        """A requested target refuses unknown dimensions (tflite-strict, gpu, micro): pin them, the batch too."""
        return any(t.static_shapes for t in self.targets)

    def wants(self, target: Target) -> bool:
        return target in self.targets

    @property
    def target_text(self) -> str:
        """The targets as the user spells them: ``tflite,gpu,runtime=2.14`` (tflite first, the rest in enum order)."""
        words = [t.value if t is not Target.RUNTIME or self.runtime is None else f"runtime={self.runtime[0]}.{self.runtime[1]}"
                 for t in Target if t in self.targets]
        return ",".join(words)

    @property
    def request_keys(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.request)

    @property
    def wanted_input_keys(self) -> tuple[str, ...]:
        return self.input_keys or self.request_keys

    def input_aliases(self, name: str, origin: str, index: int, count: int) -> tuple[str, ...]:
        """Every key the user may call one serving input by in this run.

        Its current key, its key in the original model, the key ``--rename`` gives it, and the key at its
        position in ``--input-keys`` / ``--request`` (when those list one key per input): a user who renames
        ``input_1`` to ``image`` naturally writes ``--pin image=...``.
        """
        names = [name, origin]
        if name in self.renames:
            names.append(self.renames[name])
        if len(self.input_keys) == count:
            names.append(self.input_keys[index])
        return tuple(dict.fromkeys(names))

    def pin_for(self, name: str, origin: str, index: int, count: int) -> tuple[int | None, ...] | None:
        """The ``--pin`` the user gave for this input (under any of its aliases), or None."""
        return next((self.pins[a] for a in self.input_aliases(name, origin, index, count) if a in self.pins), None)
