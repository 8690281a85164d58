"""Reading a .tflite flatbuffer and running it.

Inspection parses the flatbuffer with TensorFlow's generated schema, so it works on models the
interpreter cannot load (Flex ops). Execution uses the LiteRT interpreter (``ai_edge_litert``) when
it is installed, else ``tf.lite.Interpreter``, always through ``get_signature_runner``: the input
order of ``get_input_details()`` is not the signature order for multi-input models (docs/facts.md §5).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from repair.core.tfenv import captured_stderr, tf

_RESOURCE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")


@dataclass(frozen=True)
class TfliteTensor:
    name: str
    shape_signature: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class TfliteInfo:
    """What a .tflite contains: op histogram, signatures and their tensor shapes."""

    size: int
    ops: Counter[str]  # builtin names, "FLEX:<TfOp>" for Flex, "CUSTOM:<name>" for custom
    subgraphs: int
    signatures: dict[str, tuple[dict[str, TfliteTensor], dict[str, TfliteTensor]]]
    float64_tensors: int
    unassigned_variables: tuple[str, ...] = ()  # read by READ_VARIABLE, assigned by no ASSIGN_VARIABLE

    @property
    def flex_ops(self) -> list[str]:
        return sorted(op.removeprefix("FLEX:") for op in self.ops if op.startswith("FLEX:"))

    @property
    def custom_ops(self) -> list[str]:
        return sorted(op.removeprefix("CUSTOM:") for op in self.ops if op.startswith("CUSTOM:"))

    @property
    def has_resource_variables(self) -> bool:
        return any(self.ops[op] for op in _RESOURCE_OPS)

    @property
    def unbound_variables(self) -> bool:
        """Variables read but never initialised: the silent-garbage signature (docs/facts.md 1i).

        docs/facts.md's cheap test is READ_VARIABLE without CALL_ONCE; a model that also has a lookup table
        gets a CALL_ONCE for the table alone, so the test here is per variable: a VAR_HANDLE shared
        name that some READ_VARIABLE reads and no ASSIGN_VARIABLE in any subgraph writes.
        """
        return bool(self.unassigned_variables)

    def histogram_text(self) -> str:
        return ", ".join(f"{op} {n}" for op, n in sorted(self.ops.items()))


def _schema() -> Any:  # the generated flatbuffer module: its classes are read by attribute
    tf()
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


def inspect_tflite(blob: bytes) -> TfliteInfo:
    """Parse the flatbuffer: op histogram, signatures, float64 tensors."""
    s = _schema()
    model = s.ModelT.InitFromPackedBuf(blob, 0)
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(s.TensorType).items() if not k.startswith("_")}
    ops: Counter[str] = Counter()
    float64 = 0
    read: set[str] = set()
    assigned: set[str] = set()
    for sg in model.subgraphs or []:
        handles: dict[int, str] = {}  # tensor index -> variable shared name, per subgraph
        for op in sg.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = names.get(builtin, str(builtin))
            if name == "CUSTOM":
                custom = (code.customCode or b"").decode()
                name = f"FLEX:{custom.removeprefix('Flex')}" if custom.startswith("Flex") else f"CUSTOM:{custom}"
            ops[name] += 1
            if name == "VAR_HANDLE" and op.outputs is not None:
                opts = op.builtinOptions
                shared = (getattr(opts, "sharedName", b"") or b"").decode() if opts is not None else ""
                container = (getattr(opts, "container", b"") or b"").decode() if opts is not None else ""
                handles[int(op.outputs[0])] = f"{container}/{shared}"
            elif name in ("READ_VARIABLE", "ASSIGN_VARIABLE") and op.inputs is not None and int(op.inputs[0]) in handles:
                (read if name == "READ_VARIABLE" else assigned).add(handles[int(op.inputs[0])])
        float64 += sum(1 for t in sg.tensors or [] if types.get(t.type) == "FLOAT64")

    def tensor(sg_index: int, index: int) -> TfliteTensor:
        t = model.subgraphs[sg_index].tensors[index]
        sig = t.shapeSignature if t.shapeSignature is not None else t.shape
        shape = tuple(int(d) for d in (sig if sig is not None else []))
        return TfliteTensor((t.name or b"").decode(), shape, types.get(t.type, str(t.type)).lower())

    signatures = {}
    for sd in model.signatureDefs or []:
        ins = {m.name.decode(): tensor(sd.subgraphIndex, m.tensorIndex) for m in sd.inputs or []}
        outs = {m.name.decode(): tensor(sd.subgraphIndex, m.tensorIndex) for m in sd.outputs or []}
        signatures[sd.signatureKey.decode()] = (ins, outs)
    return TfliteInfo(len(blob), ops, len(model.subgraphs or []), signatures, float64, tuple(sorted(read - assigned)))


def interpreter_name() -> str:
    try:
        import ai_edge_litert.interpreter  # noqa: F401

        return "ai-edge-litert"
    except ImportError:
        return "tf.lite.Interpreter"


@dataclass(frozen=True)
class Run:
    outputs: dict[str, np.ndarray]
    invoke_ms: float  # median wall time of one call, after a warm-up


def run_tflite(blob: bytes, inputs: dict[str, np.ndarray], signature_key: str = "serving_default", repeats: int = 3) -> Run:
    """Run one signature on the given inputs (keys are signature input names) and time the call."""
    import time

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - depends on the installed runtime
        Interpreter = tf().lite.Interpreter
    with captured_stderr():  # "Created TensorFlow Lite XNNPACK delegate" and friends
        interpreter = Interpreter(model_content=blob, num_threads=2)
        runner = interpreter.get_signature_runner(signature_key)
        out = runner(**inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            runner(**inputs)
            times.append((time.perf_counter() - start) * 1000)
    return Run({k: np.asarray(v) for k, v in out.items()}, float(np.median(times)))
