"""Deployment targets: does the produced .tflite run where it will be deployed, not only convert?

One module per target, each a function of the flatbuffer's bytes that returns a ``TargetReport``:

- ``gpu``      the LiteRT GPU delegate's compatibility rules, node by node, and dynamic tensors anywhere inside;
- ``xnnpack``  the XNNPACK delegate in the LiteRT interpreter: which nodes it took, which fell back;
- ``micro``    the TensorFlow Lite for Microcontrollers interpreter: missing kernels, arena bytes, its outputs;
- ``runtime``  the oldest LiteRT/TFLite runtime each (op, version) pair loads on, against the one the user ships.

This wing imports core and model only; the engine (``repair.fix``) runs the checks in diagnosis and in the gate and
turns a failing report into a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repair.core.options import Target


@dataclass(frozen=True)
class Offender:
    """One node a target refuses (or a tensor, for a dynamic shape), with the target's reason."""

    op: str  # builtin name ("TOPK_V2"), "CUSTOM:<name>" for custom ops
    reason: str
    node: int | None = None  # operator index in its subgraph; None for a tensor-level reason
    subgraph: int = 0
    name: str = ""  # the node's first output tensor name, or the tensor's name
    dynamic: bool = False  # refused only for an unknown dimension: static input shapes remove it (pin_dynamic_dims)

    def describe(self) -> str:
        where = f"#{self.node}" if self.node is not None else "tensor"
        sg = f" (subgraph {self.subgraph})" if self.subgraph else ""
        label = f" '{self.name}'" if self.name else ""
        return f"{self.op} {where}{label}{sg}: {self.reason}"

    def to_json(self) -> dict[str, object]:
        return {"op": self.op, "node": self.node, "subgraph": self.subgraph, "name": self.name, "reason": self.reason,
                "dynamic": self.dynamic}


@dataclass(frozen=True)
class TargetReport:
    """What one target's check found on one .tflite."""

    target: Target
    ok: bool
    summary: str  # one line for the table: "43/43 nodes GPU-compatible", "XNNPACK took 40 of 43 nodes"
    offenders: tuple[Offender, ...] = ()
    delegated: int | None = None  # gpu/xnnpack: nodes the delegate takes (gpu: nodes its rules accept)
    total: int | None = None  # nodes in the model (all subgraphs for gpu/micro, the primary one for xnnpack)
    arena_bytes: int | None = None  # micro: the tensor arena the TFLM interpreter used
    min_runtime: str | None = None  # runtime: the oldest runtime that loads every (op, version) pair
    setters: tuple[str, ...] = ()  # runtime: the "OP vN (needs X.Y.Z)" pairs that set min_runtime
    wanted: str | None = None  # runtime: the version the user ships ("2.14")
    outputs: dict[str, np.ndarray] | None = field(default=None, compare=False, repr=False)  # micro: by signature name
    parity_worst: float | None = None  # micro: max abs diff of its outputs against the original (set by the engine)
    accepted: bool = False  # failed, but the user accepted the CPU fallback (--accept-fallback)
    error: str = ""  # the check itself could not run (the interpreter refused to load the model, ...)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"runtime={self.wanted}" if self.target is Target.RUNTIME and self.wanted else self.target.value

    @property
    def verdict(self) -> str:
        return "pass" if self.ok else "accepted fallback" if self.accepted else "FAIL"

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.name,
            "ok": self.ok,
            "verdict": self.verdict,
            "summary": self.summary,
            "offenders": [o.to_json() for o in self.offenders],
            "delegated": self.delegated,
            "total": self.total,
            "arena_bytes": self.arena_bytes,
            "min_runtime": self.min_runtime,
            "runtime_setters": list(self.setters),
            "wanted_runtime": self.wanted,
            "parity_max_abs_diff": self.parity_worst,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


__all__ = ["Offender", "TargetReport"]
