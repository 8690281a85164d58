"""Choosing a bare graph's serving inputs and outputs: user hints first, else the obvious ones.

Shared by every rewrite that serves a graph nobody named the inputs of (a TF1 SavedModel without
SignatureDef, a frozen GraphDef). The obvious inputs are placeholders without a default; the
obvious output is the single compute node nothing consumes. When that is ambiguous, the reason
carries the exact --io-hint flags to paste.
"""

from __future__ import annotations

import re

from repair.core.options import IoHint, Side
from repair.model.artifact import GraphNodeInfo
from repair.model.working import Port


def key_for(node_name: str) -> str:
    """A signature key from a node name: 'import/input_:0' -> 'import_input'."""
    return re.sub(r"[^A-Za-z0-9_]", "_", node_name.split(":")[0]).strip("_") or "tensor"


def tensor_name(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def hint_flags(placeholders: tuple[GraphNodeInfo, ...], sinks: tuple[GraphNodeInfo, ...]) -> str:
    flags = [f"--io-hint inputs:{key_for(p.name)}={p.name}:0" for p in placeholders if p.op == "Placeholder"]
    flags += [f"--io-hint outputs:{key_for(s.name)}={s.name}:0" for s in sinks]
    return " ".join(flags)


def choose_io(placeholders: tuple[GraphNodeInfo, ...], sinks: tuple[GraphNodeInfo, ...],
              hints: tuple[IoHint, ...]) -> tuple[list[IoHint], list[IoHint]] | str:
    """The inputs and outputs to serve, or the reason they cannot be chosen (with flags to paste)."""
    ins = [h for h in hints if h.side is Side.INPUTS]
    outs = [h for h in hints if h.side is Side.OUTPUTS]
    if not ins:
        guessed = [p for p in placeholders if p.op == "Placeholder"]
        if not guessed:
            return "the graph has no placeholders; name the inputs with --io-hint inputs:KEY=tensor:0"
        ins = [IoHint(Side.INPUTS, key_for(p.name), tensor_name(p.name)) for p in guessed]
    if not outs:
        if len(sinks) != 1:
            names = ", ".join(s.name for s in sinks) or "none"
            return f"cannot tell which node is the output (candidates: {names}); paste: {hint_flags(placeholders, sinks)}"
        outs = [IoHint(Side.OUTPUTS, key_for(sinks[0].name), tensor_name(sinks[0].name))]
    return ins, outs


def ports(hints: list[IoHint], nodes: dict[str, GraphNodeInfo]) -> tuple[Port, ...]:
    """Ports for hinted tensors, with dtype and shape from the graph where it records them."""
    out = []
    for hint in hints:
        node = nodes.get(hint.tensor.split(":")[0])
        out.append(Port(hint.key, hint.key, tensor_name(hint.tensor), node.dtype if node else "float32",
                        node.shape if node else None))
    return tuple(out)
