"""build_tf1_signature: give a TF1 graph without SignatureDef a serving signature."""

from __future__ import annotations

import re
from pathlib import Path

from repair.artifact import GraphNodeInfo, MetaGraphInfo
from repair.findings import Finding, FindingKind
from repair.model import Entry, EntryKind, Port, WorkingModel
from repair.options import IoHint, Options
from repair.rewrite import Applied, Rewrite, RewriteFailed, Safety


def _key(node_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node_name.split(":")[0]).strip("_") or "tensor"


def _tensor(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def _guess(graph: MetaGraphInfo) -> tuple[list[GraphNodeInfo], list[GraphNodeInfo]]:
    """The obvious inputs (placeholders without default) and outputs (sinks)."""
    return [p for p in graph.placeholders if p.op == "Placeholder"], list(graph.sinks)


def _hint_flags(graph: MetaGraphInfo) -> str:
    ins, outs = _guess(graph)
    flags = [f"--io-hint inputs:{_key(p.name)}={p.name}:0" for p in ins]
    flags += [f"--io-hint outputs:{_key(s.name)}={s.name}:0" for s in outs]
    return " ".join(flags)


class BuildTf1Signature(Rewrite):
    """Build a serving signature for a TF1 graph saved without one.

    What it fixes:
        A TF1 SavedModel (Builder / simple_save without signature_def_map) with no SignatureDef.
    Why it fails:
        "ValueError: Only support at least one signature key." The converter and TF Serving need named
        inputs and outputs; a bare graph has none.
    Safety:
        safe when the graph has one obvious input set and one output: placeholders without a default
        become inputs and the single unconsumed compute node the output. Otherwise name them with
        --io-hint inputs:KEY=tensor:0 --io-hint outputs:KEY=tensor:0 (diagnose prints the flags).
    References:
        tf.compat.v1 WrappedFunction.prune; ATLAS.md section 5 (pruned signatures convert builtins-only).
    """

    id = "build_tf1_signature"
    title = "build a serving signature from the TF1 graph's inputs and outputs"
    answers = frozenset({FindingKind.TF1_GRAPH_WITHOUT_SIGNATURE})
    safety = Safety.SAFE

    def _io(self, model: WorkingModel, options: Options) -> tuple[list[IoHint], list[IoHint]] | str:
        assert model.info is not None
        graph = model.info.best_graph()
        ins = [h for h in options.io_hints if h.side == "inputs"]
        outs = [h for h in options.io_hints if h.side == "outputs"]
        guessed_in, guessed_out = _guess(graph)
        if not ins:
            if not guessed_in:
                return "the graph has no placeholders; name the inputs with " + (_hint_flags(graph) or "--io-hint inputs:KEY=tensor:0")
            ins = [IoHint("inputs", _key(p.name), _tensor(p.name)) for p in guessed_in]
        if not outs:
            if len(guessed_out) != 1:
                names = ", ".join(s.name for s in guessed_out) or "none"
                return f"cannot tell which node is the output (candidates: {names}); paste: {_hint_flags(graph)}"
            outs = [IoHint("outputs", _key(guessed_out[0].name), _tensor(guessed_out[0].name))]
        return ins, outs

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.info is None:
            return "not a SavedModel"
        io = self._io(model, options)
        return io if isinstance(io, str) else None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.info is not None
        io = self._io(model, options)
        if isinstance(io, str):
            raise RewriteFailed(io)
        ins, outs = io
        graph = model.info.best_graph()
        nodes = {p.name: p for p in graph.placeholders + graph.sinks}

        def port(hint: IoHint) -> Port:
            node = nodes.get(hint.tensor.split(":")[0])
            dtype = node.dtype if node is not None else "float32"
            shape = node.shape if node is not None else None
            return Port(hint.key, hint.key, _tensor(hint.tensor), dtype, shape)

        entry = Entry(EntryKind.PRUNED, "", tuple(port(h) for h in ins), tuple(port(h) for h in outs))
        text = ", ".join(f"{h.key}={_tensor(h.tensor)}" for h in ins) + " -> " + ", ".join(f"{h.key}={_tensor(h.tensor)}" for h in outs)
        return Applied(model.with_entry(entry), f"signature built from the graph: {text}", rebase_reference=True)
