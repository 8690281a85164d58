"""The ``xnnpack`` target: which nodes the LiteRT interpreter's default XNNPACK delegate takes, measured.

The interpreter applies XNNPACK when it allocates; afterwards its node list is the model's original nodes followed by
one DELEGATE node per partition the delegate took, whose inputs and outputs are the partition's boundary tensors. A
partition is recovered by walking back from each DELEGATE node's outputs over the original nodes until the walk reaches
the partition's inputs; every original node no partition holds runs on TFLite's reference CPU kernel (an "island").
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np

from repair.core.options import Target
from repair.core.tfenv import captured_stderr
from repair.targets import Offender, TargetReport


def _schema() -> Any:
    """The flatbuffer schema LiteRT ships: reading the model this way does not import TensorFlow (seconds)."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


FALLBACK_REASON = "not delegated to XNNPACK: runs on the reference CPU kernel"


def _signature_subgraph(blob: bytes, signature_key: str) -> int | None:
    """The subgraph index of the signature, None when the model has no such signature (or none at all: then 0)."""
    s = _schema()
    model = s.Model.GetRootAs(blob, 0)
    if model.SignatureDefsLength() == 0:
        return 0
    for i in range(model.SignatureDefsLength()):
        sd = model.SignatureDefs(i)
        if (sd.SignatureKey() or b"").decode() == signature_key:
            return int(sd.SubgraphIndex())
    return None


def _partitions(nodes: list[dict[str, Any]], original: int) -> list[set[int]]:
    """The original nodes each DELEGATE node replaced, found by walking back from its outputs to its inputs."""
    producer: dict[int, int] = {}
    for node in nodes[:original]:
        for t in node["outputs"]:
            producer[int(t)] = int(node["index"])
    parts: list[set[int]] = []
    for node in nodes[original:]:
        if node["op_name"] != "DELEGATE":
            continue
        boundary = {int(t) for t in node["inputs"]}
        part: set[int] = set()
        todo = [int(t) for t in node["outputs"]]
        while todo:
            t = todo.pop()
            if t in boundary or t not in producer or producer[t] in part:
                continue
            idx = producer[t]
            part.add(idx)
            todo.extend(int(i) for i in nodes[idx]["inputs"] if int(i) >= 0)
        parts.append(part)
    return parts


def _delegate_lines(text: str) -> list[str]:
    """The lines of the interpreter's stderr that come from XNNPACK (its reasons), without the creation notice."""
    return [line.strip() for line in text.splitlines()
            if ("XNNPack" in line or "XNNPACK" in line) and "Created TensorFlow Lite XNNPACK delegate" not in line]


def check_xnnpack(blob: bytes, feeds: dict[str, np.ndarray] | None, signature_key: str = "serving_default") -> TargetReport:
    """Load ``blob`` in the LiteRT interpreter with its default XNNPACK delegate (2 threads) and count the nodes of the
    signature's subgraph the delegate took; the others are offenders. With ``feeds`` (signature input name -> array)
    the signature also runs once, so a model XNNPACK refuses at run time fails too. Never raises."""
    start = time.perf_counter()
    try:
        return _check_xnnpack(blob, feeds, signature_key)
    except Exception as e:  # a bug or an unexpected model: the check reports it, it never stops diagnosis
        error = f"{type(e).__name__}: {e}"
        return TargetReport(Target.XNNPACK, False, f"XNNPACK check failed: {error}", error=error,
                            seconds=time.perf_counter() - start)


def _check_xnnpack(blob: bytes, feeds: dict[str, np.ndarray] | None, signature_key: str) -> TargetReport:
    start = time.perf_counter()

    def failed(error: str, offenders: tuple[Offender, ...] = (), delegated: int | None = None,
               total: int | None = None) -> TargetReport:
        return TargetReport(Target.XNNPACK, False, f"XNNPACK check failed: {error}", offenders, delegated=delegated,
                            total=total, error=error, seconds=time.perf_counter() - start)

    try:
        subgraph = _signature_subgraph(blob, signature_key)
    except Exception as e:  # not a flatbuffer we can read
        return failed(f"cannot read the .tflite: {e}")
    if subgraph is None:
        return failed(f"no signature {signature_key!r} in the .tflite")
    if subgraph != 0:
        # The interpreter's Python API lists the nodes of the primary subgraph only (NodeInputs/NodeName take no
        # subgraph index), so a signature elsewhere cannot be counted node by node.
        return failed(f"signature {signature_key!r} is subgraph {subgraph}; the interpreter lists nodes of subgraph 0 only")
    from ai_edge_litert.interpreter import Interpreter

    original = _schema().Model.GetRootAs(blob, 0).Subgraphs(0).OperatorsLength()
    load_error = ""
    with captured_stderr() as cap:  # "Created TensorFlow Lite XNNPACK delegate for CPU." is chatter, not output
        try:
            interpreter = Interpreter(model_content=blob, num_threads=2)
            interpreter.allocate_tensors()
            nodes = interpreter._get_ops_details()
        except Exception as e:
            load_error = f"the LiteRT interpreter with XNNPACK could not load the model: {e}".strip()
    if load_error:
        return failed("; ".join([*_delegate_lines(cap.text), load_error]))
    parts = _partitions(nodes, original)
    taken = set().union(*parts) if parts else set()

    def output_name(node: dict[str, Any]) -> str:
        outs = [int(t) for t in node["outputs"] if int(t) >= 0]
        return str(interpreter._get_tensor_details(outs[0], subgraph_index=0)["name"]) if outs else ""

    offenders = [Offender(str(n["op_name"]), FALLBACK_REASON, int(n["index"]), 0, output_name(n))
                 for n in nodes[:original] if int(n["index"]) not in taken]
    error = ""
    if feeds is not None:
        with captured_stderr() as cap:
            try:
                runner = interpreter.get_signature_runner(signature_key)
                runner(**feeds)  # resizes the inputs to the feeds' shapes, as every caller of the runner does
            except Exception as e:
                # The interpreter joins its error reporter's messages without a separator: "XNNPack delegate failed
                # to reshape runtimeNode number 3 (TfLiteXNNPackDelegate) failed to prepare."
                error = re.sub(r"(?<=\S)(?=Node number \d)", ". ", str(e).strip()) or type(e).__name__
        if error:
            error = "; ".join([*(line for line in _delegate_lines(cap.text) if line not in error), error])
            offenders.append(Offender("DELEGATE", f"fails at run time with XNNPACK: {error}"))
    delegated = len(taken)
    islands = len(parts)
    # Counted in the signature's subgraph (the node API lists no other); a WHILE/IF body's nodes are not counted.
    scope = (" of the signature's subgraph (control-flow bodies not counted)"
             if _schema().Model.GetRootAs(blob, 0).SubgraphsLength() > 1 else "")
    if error:
        summary = f"XNNPACK fails at run time: {error}"
    elif delegated == original:
        summary = f"XNNPACK took all {original} nodes{scope} ({islands} partition{'s' if islands != 1 else ''})"
    else:
        summary = (f"XNNPACK took {delegated} of {original} nodes{scope} in {islands} partition{'s' if islands != 1 else ''}; "
                   f"{original - delegated} fall back to the CPU")
    return TargetReport(Target.XNNPACK, not offenders and not error, summary, tuple(offenders), delegated=delegated,
                        total=original, error=error, seconds=time.perf_counter() - start)


__all__ = ["FALLBACK_REASON", "check_xnnpack"]
