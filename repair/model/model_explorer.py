"""A graph change as Google Model Explorer "node data": an overlay that colours the added, changed and removed nodes.

The format is Model Explorer's ``ModelNodeData`` (google-ai-edge/model-explorer,
``src/server/package/src/model_explorer/node_data_builder.py``): a JSON object keyed by graph id, each value a
``GraphNodeData`` ``{"results": {node_id: {"value": ..., "bgColor": ..., "textColor": ...}}}``. A string ``value`` is
accepted as well as a number (the ``custom_data_overlay_demo.ipynb`` example colab writes ``{"value": node_type}``);
it is what the node shows, so it carries the state and the note ("changed: shape [?,16,8] -> [1,16,8]").

The ids are those of Model Explorer's direct SavedModel adapter (``builtin_tf_direct``,
``src/builtin-adapter/adapters/tensorflow/direct_saved_model_to_json_graph_convert.cc``): one graph per function
named by the function (``"main"`` for the top-level GraphDef), nodes numbered by position in that function's
``node_def``, from 0 in ``main`` and from 1 in a function (0 is its ``GraphInputs`` node). The overlay therefore
applies to the SavedModel's ``saved_model.pb`` opened with that adapter, not to the .tflite (whose operators are
not the GraphDef's nodes) nor to the MLIR adapter (which numbers nodes its own way). Checked against the real
adapter (ai-edge-model-explorer-adapter 0.2.1, ``ConvertSavedModelDirectlyToJson``) on the pin, tnp and while-unroll
repairs: every id here names, in its output, the node with the op and name the change marks. Open it with::

    model-explorer FIXED/saved_model.pb --node_data_paths=FIXED/model_explorer.json   # pick "TF adapter (direct)"

or, choosing that adapter from Python: ``model_explorer.visualize_from_config(model_explorer.config()
.add_model_from_path("FIXED/saved_model.pb", adapterId="builtin_tf_direct").add_node_data_from_path(...))``.
"""

from __future__ import annotations

from typing import Any

from repair.model.change import GraphChange, NodeState

# Background colours for the states (CSS colours; the same meaning as in report.html's picture)
COLORS: dict[NodeState, str] = {
    NodeState.ADDED: "#b7e1b0",
    NodeState.CHANGED: "#ffd27a",
    NodeState.REMOVED: "#f4a6a6",
}
MAIN_GRAPH = "main"  # the direct adapter's id for the top-level GraphDef


def model_explorer_id(scope: str, index: int) -> tuple[str, str]:
    """(graph id, node id) of the node at ``index`` in function ``scope`` ("" for the top-level graph)."""
    if not scope:
        return MAIN_GRAPH, str(index)
    return scope, str(index + 1)  # node 0 of a function's graph is the adapter's GraphInputs node


def node_data(change: GraphChange, side: str = "after") -> dict[str, Any]:
    """The change as Model Explorer node data for one side ("after": overlay on the repaired SavedModel, "before":
    on the original): every added/changed/removed node of that side, drawn or elided, coloured by its state.

    A node that sits in a function called from two places is one node in Model Explorer (it draws each function
    once), so both calls' marks land on it; the first one's value is kept. Empty when that side has no graph.
    """
    if side not in ("after", "before"):
        raise ValueError(f"side must be 'after' or 'before', not {side!r}")
    graph_side = change.after if side == "after" else change.before
    out: dict[str, Any] = {}
    if graph_side is None:
        return out
    for node in graph_side.marked:
        if node.index < 0 or node.state is NodeState.SAME:
            continue
        graph_id, node_id = model_explorer_id(node.scope, node.index)
        results = out.setdefault(graph_id, {"results": {}})["results"]
        if node_id in results:
            continue
        value = node.state.value
        if node.state is NodeState.CHANGED and node.note:
            value = f"{value}: {node.note}"
        results[node_id] = {"value": value, "bgColor": COLORS[node.state], "textColor": "#000000"}
    return out
