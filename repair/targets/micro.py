"""The ``micro`` target: run the .tflite in the real TensorFlow Lite for Microcontrollers interpreter (``tflite-micro``).

What TFLM does, measured with the tflite-micro Python package installed here:

- It resolves every node's kernel before it prepares any, and stops at the first op it has no kernel for ("Didn't find
  op for builtin opcode 'TILE'", C-level stderr, then RuntimeError "TFLM failed to allocate tensors"). To name every
  missing op, not only the first, the check retries on a copy of the flatbuffer in which each op already reported
  points at an op TFLM has (ADD: only its kernel lookup matters) and a sentinel node with a custom op TFLM cannot
  have closes the last subgraph, so every retry stops at a lookup and never prepares a masked node.
- Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) run: the package counts the model's variables
  (``runtime.count_resource_variables``) and sizes its resource-variable store with that count; state persists
  across invokes (a variable += x read back 2 then 4 on two calls). They are not offenders.
- Tensors with an unknown dimension (-1 in shape_signature) are allocated at their stored shape (1 in place of -1)
  and never resized: a [1, None] input runs as [1, 1] without any error. A -1 in the leading (batch) dimension is
  served here by running each row separately; a -1 anywhere else means the model only runs at that placeholder size
  on a microcontroller, so each such tensor is an offender.
- The arena: ``print_allocations()`` prints "[RecordingMicroAllocator] Arena allocation total N bytes" (C-level,
  stderr in this build; both descriptors are captured). Too small an arena fails with "Failed to allocate tail memory"
  / "... memory ..."; far too small (under ~500 bytes) crashes the process, so the first arena is generous.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from repair.core.options import Target
from repair.targets import Offender, TargetReport

ARENA_CAP = 256 * 1024 * 1024
_MISSING = re.compile(r"Didn't find op for (builtin|custom) opcode '([^']*)'")
_ARENA_SHORT = re.compile(r"Failed to allocate (tail|head|temp|memory)|available \d+, missing: \d+")
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
_SENTINEL = 9999  # a builtin code no TFLM knows: "Op builtin_code out of range: 9999."
_SENTINEL_SAID = re.compile(rf"builtin_code out of range: {_SENTINEL}\b")
_CUSTOM_MISSING = "Failed to get registration from op code CUSTOM"  # TFLM names no custom op it lacks


def _schema() -> Any:
    """The flatbuffer schema tflite-micro ships (object API with Pack): no TensorFlow import."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


@contextlib.contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Redirect fd 1 and fd 2 to temporary files: TFLM's MicroPrintf writes C-level text there. The joined text is
    the list's only item afterwards."""
    result: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield result
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            result.append(tmp.read().decode("utf-8", errors="replace"))


@dataclass
class _Graph:
    """What the check needs from the flatbuffer: node ops per subgraph, the signature's indices, dynamic tensors."""

    blob: bytes
    model: Any  # ModelT
    names: dict[int, str]  # builtin code -> name
    inputs: list[tuple[str, int]]  # signature input name -> position in subgraph 0's inputs
    outputs: list[tuple[str, int]]

    def op_name(self, opcode_index: int) -> str:
        code = self.model.operatorCodes[opcode_index]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = self.names.get(builtin, str(builtin))
        return f"CUSTOM:{(code.customCode or b'').decode()}" if name == "CUSTOM" else name

    def nodes(self) -> Iterator[tuple[int, int, str, str]]:
        """(subgraph, node, op, first output tensor name) for every node of every subgraph."""
        for sg_index, sg in enumerate(self.model.subgraphs or []):
            for node, op in enumerate(sg.operators or []):
                outs = [int(t) for t in (op.outputs if op.outputs is not None else []) if int(t) >= 0]
                name = (sg.tensors[outs[0]].name or b"").decode() if outs else ""
                yield sg_index, node, self.op_name(op.opcodeIndex), name


def _read(blob: bytes, signature_key: str) -> _Graph:
    s = _schema()
    model = s.ModelT.InitFromPackedBuf(blob, 0)
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    main = model.subgraphs[0]
    sg_inputs = [int(t) for t in (main.inputs if main.inputs is not None else [])]
    sg_outputs = [int(t) for t in (main.outputs if main.outputs is not None else [])]
    defs = {(sd.signatureKey or b"").decode(): sd for sd in model.signatureDefs or []}
    if not defs:  # no SignatureDef: the subgraph's own tensor names stand in for the signature's
        ins = [((main.tensors[t].name or b"").decode(), i) for i, t in enumerate(sg_inputs)]
        outs = [((main.tensors[t].name or b"").decode(), i) for i, t in enumerate(sg_outputs)]
        return _Graph(blob, model, names, ins, outs)
    if signature_key not in defs:
        raise ValueError(f"no signature {signature_key!r} in the .tflite (it has {', '.join(sorted(defs))})")
    sd = defs[signature_key]
    if sd.subgraphIndex != 0:
        # TFLM runs subgraph 0 (its Python interpreter takes no signature), so another signature cannot be run.
        raise ValueError(f"signature {signature_key!r} is subgraph {sd.subgraphIndex}; TFLM runs subgraph 0 only")
    ins = [(m.name.decode(), sg_inputs.index(m.tensorIndex)) for m in sd.inputs or []]
    outs = [(m.name.decode(), sg_outputs.index(m.tensorIndex)) for m in sd.outputs or []]
    return _Graph(blob, model, names, ins, outs)


def _dynamic_offenders(graph: _Graph) -> list[Offender]:
    """Tensors with -1 past the leading dimension: TFLM runs them at their stored placeholder size only."""
    found = []
    for sg_index, sg in enumerate(graph.model.subgraphs or []):
        for tensor in sg.tensors or []:
            sig = [int(d) for d in (tensor.shapeSignature if tensor.shapeSignature is not None else [])]
            if any(d < 0 for d in sig[1:]):
                shape = "[" + ", ".join(str(d) for d in sig) + "]"
                found.append(Offender("DYNAMIC_TENSOR", f"shape {shape}: TFLM allocates it once at its stored shape and "
                                      "cannot resize it", None, sg_index, (tensor.name or b"").decode(), dynamic=True))
    return found


def _masked(graph: _Graph, missing: set[str]) -> bytes:
    """A copy of the model whose ``missing`` ops point at ADD (only TFLM's kernel lookup sees them: no masked node is
    ever prepared, because the sentinel's lookup fails after them) and whose last subgraph ends with the sentinel."""
    import flatbuffers

    s = _schema()
    model = s.ModelT.InitFromPackedBuf(graph.blob, 0)
    masked = {index for index in range(len(model.operatorCodes)) if graph.op_name(index) in missing}
    for index in masked:
        code = model.operatorCodes[index]
        code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.ADD
        code.customCode = None
    for sg in model.subgraphs:
        for op in sg.operators or []:
            if op.opcodeIndex in masked:  # ADD's option parser refuses custom options ("found builtin operator ADD
                op.customOptions = None  # with custom options") and would misread another op's builtin options
                op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.NONE, None
    sentinel = s.OperatorCodeT()
    sentinel.builtinCode = _SENTINEL
    sentinel.deprecatedBuiltinCode = s.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
    sentinel.version = 1
    model.operatorCodes.append(sentinel)
    node = s.OperatorT()
    node.opcodeIndex = len(model.operatorCodes) - 1
    node.inputs, node.outputs = [], []
    last = model.subgraphs[-1]
    last.operators = [*(last.operators or []), node]
    builder = flatbuffers.Builder(len(graph.blob) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _load(blob: bytes, arena: int) -> tuple[Any, str]:
    """A TFLM interpreter on ``blob`` (it allocates in its constructor; None when that failed) and what it printed."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = None
    with _captured_fds() as text:
        try:
            # from_bytes counts the resource variables (runtime.count_resource_variables) and sizes TFLM's store
            interpreter = runtime.Interpreter.from_bytes(blob, arena_size=arena)
            error = ""
        except Exception as e:
            error = str(e) or type(e).__name__
    return interpreter, text[0] + (f"\n{error}" if error else "")


def _missing_ops(graph: _Graph, text: str) -> tuple[list[str], str]:
    """Every op TFLM has no kernel for, in the order TFLM meets them, starting from the load that printed ``text``;
    and the last load's text when the search stopped on something other than a missing kernel (else "")."""
    missing: list[str] = []
    customs = list(dict.fromkeys(op for _, _, op, _ in graph.nodes() if op.startswith("CUSTOM:")))
    while True:
        found = _MISSING.search(text)
        if found is not None:
            name = f"CUSTOM:{found.group(2)}" if found.group(1) == "custom" else found.group(2)
            if name in missing:  # masking did not take: do not loop
                return missing, text
            missing.append(name)
        elif _CUSTOM_MISSING in text:
            # TFLM does not say which custom op it lacks: try each custom op alone, the others masked.
            lacking = [op for op in customs if op not in missing and _CUSTOM_MISSING in _load_masked(graph, {
                *missing, *(c for c in customs if c != op)})]
            if not lacking:
                return missing, text
            missing.extend(lacking)
        elif _SENTINEL_SAID.search(text):
            return missing, ""
        else:
            return missing, text
        text = _load_masked(graph, set(missing))


def _load_masked(graph: _Graph, missing: set[str]) -> str:
    blob = _masked(graph, missing)
    return _load(blob, max(len(blob) * 10, 1 << 20))[1]


def _run(interpreter: Any, graph: _Graph, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run subgraph 0 on ``feeds`` (by signature name), row by row when the feeds' batch exceeds the model's."""
    details = {name: interpreter.get_input_details(pos) for name, pos in graph.inputs}
    unknown = set(feeds) - set(details)
    if unknown or set(details) - set(feeds):
        raise ValueError(f"the feeds {sorted(feeds)} do not match the signature's inputs {sorted(details)}")
    arrays = {name: np.asarray(feeds[name], dtype=details[name]["dtype"]) for name in details}
    shapes = {name: tuple(int(d) for d in details[name]["shape"]) for name in details}
    rows = 1
    if all(shapes[n] and arrays[n].ndim == len(shapes[n]) and arrays[n].shape[1:] == shapes[n][1:] for n in arrays):
        batches = {arrays[n].shape[0] for n in arrays}
        if len(batches) == 1 and all(shapes[n][0] == 1 for n in arrays):
            rows = batches.pop()
    results: dict[str, list[np.ndarray]] = {name: [] for name, _ in graph.outputs}
    for row in range(rows):
        for name, pos in graph.inputs:
            # a static [1, ...] input fed row by row; otherwise the whole array, which TFLM checks against its shape
            interpreter.set_input(arrays[name][row:row + 1] if rows > 1 else arrays[name], pos)
        interpreter.invoke()
        for name, pos in graph.outputs:
            results[name].append(np.array(interpreter.get_output(pos), copy=True))
    return {name: np.concatenate(parts, axis=0) if rows > 1 else parts[0] for name, parts in results.items()}


def check_micro(blob: bytes, feeds: dict[str, np.ndarray] | None, signature_key: str = "serving_default") -> TargetReport:
    """Run ``blob`` in the TFLM interpreter: every op without a TFLM kernel (an offender per node), tensors TFLM can
    only run at a placeholder size, the arena it needed (retried bigger up to 256 MiB when it ran short) and, with
    ``feeds`` (signature input name -> array), its outputs by signature output name. Never raises."""
    start = time.perf_counter()
    try:
        return _check_micro(blob, feeds, signature_key)
    except Exception as e:  # a bug or an unexpected model: the check reports it, it never stops diagnosis
        error = f"{type(e).__name__}: {e}"
        return TargetReport(Target.MICRO, False, f"TFLM check failed: {error}", error=error,
                            seconds=time.perf_counter() - start)


def _check_micro(blob: bytes, feeds: dict[str, np.ndarray] | None, signature_key: str) -> TargetReport:
    start = time.perf_counter()

    def report(ok: bool, summary: str, offenders: list[Offender] | tuple[Offender, ...] = (), arena: int | None = None,
               outputs: dict[str, np.ndarray] | None = None, error: str = "", total: int | None = None) -> TargetReport:
        return TargetReport(Target.MICRO, ok, summary, tuple(offenders), total=total, arena_bytes=arena, outputs=outputs,
                            error=error, seconds=time.perf_counter() - start)

    try:
        graph = _read(blob, signature_key)
    except Exception as e:
        return report(False, f"TFLM check failed: {e}", error=str(e))
    nodes = list(graph.nodes())
    total = len(nodes)
    offenders = _dynamic_offenders(graph)
    first = arena = max(len(blob) * 10, 1 << 20)
    interpreter, text = _load(blob, arena)
    if _MISSING.search(text) or _CUSTOM_MISSING in text:
        try:
            missing, stuck = _missing_ops(graph, text)
        except Exception as e:  # the masked copy could not be written
            return report(False, f"TFLM check failed: {e}", error=f"while looking for missing kernels: {e}", total=total)
        kernels = [Offender(op, f"no TFLM kernel for {op}", node, sg, name) for sg, node, op, name in nodes if op in missing]
        error = f"the search for missing kernels stopped: {_last_line(stuck)}" if stuck else ""
        return report(False, f"no TFLM kernel for {', '.join(missing)}", kernels + offenders, error=error, total=total)
    while interpreter is None and _ARENA_SHORT.search(text) and arena < ARENA_CAP:
        arena = min(arena * 4, ARENA_CAP)
        interpreter, text = _load(blob, arena)
    if interpreter is None:
        refused = _prepare_failures(text, nodes)
        if refused:  # a kernel TFLM has refuses this node's types or attributes: that node is the offender
            return report(False, f"TFLM refuses {', '.join(dict.fromkeys(o.op for o in refused))}", refused + offenders,
                          total=total)
        error = "; ".join(line.strip() for line in text.splitlines() if line.strip())
        return report(False, f"TFLM cannot allocate it: {_last_line(text)}", offenders, error=error, total=total)
    with _captured_fds() as printed:
        interpreter.print_allocations()
    used = _ARENA_TOTAL.search(printed[0])
    arena_bytes = int(used.group(1)) if used else None
    outputs = None
    if feeds is not None and not offenders:  # with unknown non-batch dims TFLM only has the placeholder size to run
        try:
            with _captured_fds() as said:
                outputs = _run(interpreter, graph, feeds)
        except Exception as e:
            printed_text = said[0] if said else ""
            refused = _prepare_failures(printed_text, nodes)
            if refused:
                return report(False, f"TFLM refuses {', '.join(dict.fromkeys(o.op for o in refused))}",
                              refused + offenders, arena_bytes, total=total)
            lines = [line.strip() for line in printed_text.splitlines() if line.strip()]
            error = "; ".join([*lines, str(e) or type(e).__name__])
            return report(False, f"TFLM fails to run it: {error}", offenders, arena_bytes, error=error, total=total)
    note = f" (the first arena of {first:,} bytes was too small; given {arena:,})" if arena > first else ""
    bytes_text = f"{arena_bytes:,} bytes" if arena_bytes is not None else "size not reported"
    if offenders:
        summary = f"TFLM runs it only at placeholder sizes: {len(offenders)} tensor(s) with unknown dims; arena {bytes_text}"
    else:
        summary = f"TFLM runs it: arena {bytes_text}{note}"
    return report(not offenders, summary, offenders, arena_bytes, outputs, total=total)


_PREPARE_FAILED = re.compile(r"Node (\S+) \(number (\d+)\) failed to (prepare|invoke)")


def _prepare_failures(text: str, nodes: list[tuple[int, int, str, str]]) -> list[Offender]:
    """Nodes whose kernel refused them at prepare or invoke ("Does not support type other than int8|int16|float32, but
    got INT32; Node SELECT_V2 (number 8) failed to invoke with status 1"), with the kernel's words as the reason.
    TFLM stops at the first refusal, so this names one node."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = []
    for i, line in enumerate(lines):
        match = _PREPARE_FAILED.search(line)
        if match is None:
            continue
        index = int(match.group(2))
        said = line[: match.start()].rstrip(" ;") or (lines[i - 1] if i else "")
        name = next((n for sg, node, _, n in nodes if sg == 0 and node == index), "")
        found.append(Offender(match.group(1), f"TFLM's kernel refuses it at {match.group(3)}: {said or 'no reason printed'}",
                              index, 0, name))
    return found


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no reason printed"


__all__ = ["ARENA_CAP", "check_micro"]
