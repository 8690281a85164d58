"""What the user told us: target, serving contract, shapes, tolerances. Parsed once by the CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path



@dataclass(frozen=True)
class Tolerance:
    """Parity passes when |tflite - original| <= atol + rtol * |original| everywhere."""

    atol: float = 1e-5
    rtol: float = 1e-4


class Target(enum.Enum):
    TFLITE = "tflite"  # converts builtins-only, runs in the TFLite interpreter, matches the original
    TFLITE_STRICT = "tflite-strict"  # also: no WHILE, no dynamic dims, no resource variables, no float64
    SERVING = "serving"  # also: runs under the TF1-session loader of TF Serving and saved_model_cli

    @property
    def strict(self) -> bool:
        return self is Target.TFLITE_STRICT


@dataclass(frozen=True)
class IoHint:
    """A user-named graph tensor for a TF1 graph without signature: ``inputs:image=input_:0``."""

    side: str  # "inputs" or "outputs"
    key: str
    tensor: str


@dataclass(frozen=True)
class Options:
    target: Target = Target.TFLITE
    pins: dict[str, tuple[int | None, ...]] = field(default_factory=dict)  # None: keep that dim unknown
    sample: Path | None = None
    io_hints: tuple[IoHint, ...] = ()
    input_keys: tuple[str, ...] = ()  # wanted input keys, in the order diagnose lists the inputs
    renames: dict[str, str] = field(default_factory=dict)  # old key -> new key, inputs or outputs
    request_keys: tuple[str, ...] = ()  # input keys seen in a sample TF Serving REST request
    signature: str | None = None  # which named signature becomes serving_default
    tolerance: Tolerance = Tolerance()
    seed: int = 0
    batch: int = 2
    unsafe_load: bool = False  # let Keras deserialize Lambda layers and other code
    convert_original: bool = False  # fix: convert and run the original too, even when its protos decide the fixes

    @property
    def wanted_input_keys(self) -> tuple[str, ...]:
        return self.input_keys or self.request_keys
