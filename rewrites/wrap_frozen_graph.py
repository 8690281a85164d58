"""wrap_frozen_graph: turn a frozen GraphDef (.pb) into a SavedModel with serving_default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import IoHint, Options
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.io import choose_io, ports, tensor_name
from repair.graph.surgery import save_graph
from repair.model.artifact import ArtifactKind, graph_io_nodes, read_graph_def
from repair.model.working import WorkingModel, open_saved_model


def _io(model: WorkingModel, options: Options) -> tuple[Any, list[IoHint], list[IoHint]] | str:
    graph_def = read_graph_def(model.path)
    if graph_def is None:
        return "not a GraphDef"
    placeholders, sinks = graph_io_nodes(graph_def)
    chosen = choose_io(placeholders, sinks, options.io_hints)
    if isinstance(chosen, str):
        return chosen
    return graph_def, chosen[0], chosen[1]


class WrapFrozenGraph(Rewrite):
    """Wrap a frozen GraphDef in a SavedModel whose serving_default feeds its inputs and fetches its outputs.

    What it fixes:
        A frozen .pb (freeze_graph, convert_variables_to_constants, TF1 object-detection exports) given
        where a SavedModel is expected.
    Why it fails:
        TF2's TFLiteConverter.from_saved_model and TF Serving need a SavedModel with a signature; the
        TF1-only from_frozen_graph path needs the input and output names spelled out by hand.
    Safety:
        safe. The graph is imported unchanged and cut from its placeholders to its single unconsumed
        output (or to what --io-hint names); weights stay the graph's constants.
    References:
        tf.compat.v1.wrap_function and WrappedFunction.prune; TF's "migrating frozen graphs" guide.
    """

    id = "wrap_frozen_graph"
    title = "wrap the frozen GraphDef in a SavedModel"
    answers = frozenset({FindingKind.FROZEN_GRAPH})
    safety = Safety.SAFE
    cases = ("frozen/tf1_frozen_graph",)

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        if model.kind is not ArtifactKind.FROZEN_GRAPH:
            return []
        return [worded(FindingKind.FROZEN_GRAPH, Severity.ERROR, Source.ARTIFACT, evidence=str(model.path))]

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.kind is not ArtifactKind.FROZEN_GRAPH:
            return "not a frozen graph"
        io = _io(model, options)
        return io if isinstance(io, str) else None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        io = _io(model, options)
        if isinstance(io, str):
            raise RewriteFailed(io)
        graph_def, ins, outs = io
        placeholders, sinks = graph_io_nodes(graph_def)
        nodes = {n.name: n for n in placeholders + sinks}
        in_ports, out_ports = ports(ins, nodes), ports(outs, nodes)
        dest = scratch / "saved_model"
        save_graph(graph_def, in_ports, [p.source for p in in_ports], out_ports, [p.source for p in out_ports], dest)
        text = (", ".join(f"{h.key}={tensor_name(h.tensor)}" for h in ins) + " -> "
                + ", ".join(f"{h.key}={tensor_name(h.tensor)}" for h in outs))
        return Applied(open_saved_model(dest), f"wrapped the frozen graph: {text}", rebase_reference=True)
