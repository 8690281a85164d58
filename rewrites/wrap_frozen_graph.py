"""wrap_frozen_graph: turn a frozen GraphDef (.pb) into a SavedModel with serving_default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repair.artifact import SERVING_DEFAULT, ArtifactKind, graph_io_nodes, read_graph_def
from repair.findings import Finding, FindingKind
from repair.graph_io import choose_io, ports, tensor_name
from repair.model import WorkingModel, open_saved_model, tensor_spec
from repair.options import IoHint, Options
from repair.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.tfenv import captured_stderr, tf


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
        t = tf()

        def import_graph() -> None:
            t.compat.v1.import_graph_def(graph_def, name="")

        with captured_stderr():
            wrapped = t.compat.v1.wrap_function(import_graph, [])
            pruned = wrapped.prune(feeds=[p.source for p in in_ports], fetches=[p.source for p in out_ports])

            def serve(*args: Any) -> dict[str, Any]:
                return {p.name: v for p, v in zip(out_ports, pruned(*args))}

            fn = t.function(serve, input_signature=[tensor_spec(p) for p in in_ports])
            root = t.Module()
            root.serve = fn
            dest = scratch / "saved_model"
            t.saved_model.save(root, str(dest), signatures={SERVING_DEFAULT: fn.get_concrete_function()})
        text = ", ".join(f"{h.key}={tensor_name(h.tensor)}" for h in ins) + " -> " + ", ".join(f"{h.key}={tensor_name(h.tensor)}" for h in outs)
        return Applied(open_saved_model(dest), f"wrapped the frozen graph: {text}", rebase_reference=True)
