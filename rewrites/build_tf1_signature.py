"""build_tf1_signature: give a TF1 graph without SignatureDef a serving signature."""

from __future__ import annotations

from pathlib import Path

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import IoHint, Options
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.io import choose_io, ports, tensor_name
from repair.model.working import Entry, EntryKind, WorkingModel


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
        tf.compat.v1 WrappedFunction.prune; docs/facts.md section 5 (pruned signatures convert builtins-only).
    """

    id = "build_tf1_signature"
    title = "build a serving signature from the TF1 graph's inputs and outputs"
    answers = frozenset({FindingKind.TF1_GRAPH_WITHOUT_SIGNATURE})
    safety = Safety.SAFE
    cases = ("signatures/tf1_no_signature", "signatures/tf1_no_signature_hint")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        if model.info is None:
            return []
        graph = model.info.best_graph()
        if graph.signatures or graph.has_object_graph:
            return []
        sinks = ", ".join(s.name for s in graph.sinks) or "none"
        inputs = ", ".join(p.name for p in graph.placeholders) or "none"
        return [worded(FindingKind.TF1_GRAPH_WITHOUT_SIGNATURE, Severity.ERROR, Source.STATIC,
                       evidence=f"placeholders: {inputs}; unconsumed nodes: {sinks}")]

    def _io(self, model: WorkingModel, options: Options) -> tuple[list[IoHint], list[IoHint]] | str:
        assert model.info is not None
        graph = model.info.best_graph()
        return choose_io(graph.placeholders, graph.sinks, options.io_hints)

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
        entry = Entry(EntryKind.PRUNED, "", ports(ins, nodes), ports(outs, nodes))
        text = (", ".join(f"{h.key}={tensor_name(h.tensor)}" for h in ins) + " -> "
                + ", ".join(f"{h.key}={tensor_name(h.tensor)}" for h in outs))
        return Applied(model.with_entry(entry), f"signature built from the graph: {text}", rebase_reference=True)
