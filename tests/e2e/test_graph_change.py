"""graph_change on real SavedModels: re-traced identical graphs match node for node, real repairs show as the few
nodes they change, and the Model Explorer overlay marks exactly those nodes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from repair.core.tfenv import tf
from repair.model.change import GraphChange, GraphSide, NodeState, graph_change
from repair.model.model_explorer import COLORS, node_data
from tests.e2e.conftest import CorpusFixes


@dataclass(frozen=True)
class Pair:
    before: Path
    after: Path


def _marked(side: GraphSide | None) -> set[tuple[str, str, str, str]]:
    """(state, op, the node's own name, note) of every marked node: ids carry the call path, names do not."""
    assert side is not None
    return {(n.state.value, n.op, n.id.rsplit("/StatefulPartitionedCall/", 1)[-1].rsplit("/PartitionedCall/", 1)[-1],
             n.note) for n in side.marked}


# --- hand-built models (Keras 3 and tf.Module), each saved twice -----------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import keras

    t = tf()
    root = tmp_path_factory.mktemp("graph_change")
    out: dict[str, Path] = {}

    def mlp() -> keras.Model:
        # Built twice in one process: Keras names the second copy sequential_1/dense_2... (a re-trace's renames)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
        model(t.zeros((1, 6)))
        return model

    for name in ("keras_a", "keras_b"):
        mlp().export(str(root / name), verbose=False)
        out[name] = root / name
    mlp().save(str(root / "model.keras"))
    out["keras_file"] = root / "model.keras"

    class Chain(t.Module):
        """x -> 12 ops in a row; ``relu`` adds one op at the end (a real change, far from the input)."""

        def __init__(self, relu: bool) -> None:
            super().__init__()
            self.relu = relu

        @t.function(input_signature=[t.TensorSpec([None, 4], t.float32, name="x")])
        def __call__(self, x: object) -> object:
            y = x
            for i in range(12):
                y = t.math.sin(y) + float(i)
            return t.nn.relu(y) if self.relu else y

    for name, relu in (("chain_a", False), ("chain_b", False), ("chain_relu", True)):
        module = Chain(relu)
        t.saved_model.save(module, str(root / name), signatures={"serving_default": module.__call__})
        out[name] = root / name
    return out


def test_retraced_keras_model_matches_node_for_node(built: dict[str, Path]) -> None:
    change = graph_change(built["keras_a"], built["keras_b"])
    assert (change.added, change.removed, change.changed) == (0, 0, 0)
    assert change.summary.startswith("graph unchanged: the fix changed ")
    assert change.before is not None and change.after is not None
    # the two exports really were renamed: without structural matching they would not match
    ids_b = {n.id for n in change.before.nodes}
    ids_a = {n.id for n in change.after.nodes}
    assert ids_a != ids_b
    assert change.after.marked == () and change.before.marked == ()
    assert all(n.state is NodeState.SAME for n in change.after.nodes)


def test_retraced_tf_module_unchanged_and_a_real_change_is_one_node(built: dict[str, Path]) -> None:
    same = graph_change(built["chain_a"], built["chain_b"])
    assert (same.added, same.removed, same.changed) == (0, 0, 0)
    change = graph_change(built["chain_a"], built["chain_relu"], hops=2, max_nodes=80)
    assert (change.added, change.removed, change.changed) == (1, 0, 0)
    assert _marked(change.after) == {("added", "Relu", "Relu", "only in the repaired graph")}
    assert change.summary == "1 node added, 0 removed, 0 changed (2 hops shown)"
    after = change.after
    assert after is not None
    # drawn: the Relu, its producer AddV2 and that one's two inputs (Sin, Const); nothing consumes the Relu
    assert after.nodes[0].op == "Relu"
    assert sorted(n.op for n in after.nodes) == ["AddV2", "Const", "Relu", "Sin"]
    assert after.elided == after.total_nodes - 4
    assert {(e.source.rsplit("/", 1)[-1], e.target.rsplit("/", 1)[-1]) for e in after.edges} >= {("add_11", "Relu")}


def test_the_cap_keeps_marked_nodes_and_counts_the_rest(built: dict[str, Path]) -> None:
    change = graph_change(built["chain_a"], built["chain_relu"], hops=3, max_nodes=2)
    after = change.after
    assert after is not None
    assert len(after.nodes) == 2 and after.nodes[0].op == "Relu"
    assert after.elided == after.total_nodes - 2
    assert {e.target for e in after.edges} <= {n.id for n in after.nodes}


def test_a_side_that_is_not_a_saved_model_is_none_with_a_reason(built: dict[str, Path]) -> None:
    change = graph_change(built["keras_file"], built["keras_a"])
    assert change.before is None
    assert change.notes == ("original: model.keras is a Keras .keras file, not a SavedModel: it has no serving graph "
                            "to draw",)
    assert change.after is not None and change.after.nodes  # still drawn, around its inputs and outputs
    missing = graph_change(built["keras_a"], built["chain_a"], signature="predict")
    assert missing.before is None and missing.after is None
    assert "has no signature 'predict' (it has: serve, serving_default)" in missing.notes[0]


# --- real repairs from the corpus --------------------------------------------------------------------------------

_CASES = {
    "retag": ("tags/serve_gpu", ()),
    "pin": ("shapes/pin_batch_only", ("--pin", "frames=1,16,8")),
    "tnp": ("ops/tnp_arange", ()),
    "rebind": ("keras/keras3_saved_model_save", ()),
}


@pytest.fixture(scope="module")
def repaired(corpus_fixes: CorpusFixes) -> dict[str, Pair]:
    """Each case's session run of `repair fix` with its corpus flags (tests/e2e/conftest.py), the flags above."""
    pairs: dict[str, Pair] = {}
    for name, (case_id, flags) in _CASES.items():
        assert corpus_fixes.corpus.cases[case_id].expect.fix_args == flags, case_id
        run = corpus_fixes.fix(case_id)
        assert run.exit_code == 0, run.stdout + run.stderr
        pairs[name] = Pair(run.artifact, run.out)
    return pairs


def test_retag_is_graph_unchanged(repaired: dict[str, Pair]) -> None:
    change = graph_change(repaired["retag"].before, repaired["retag"].after)
    assert change.summary == "graph unchanged: the fix changed tags {gpu, serve} -> {serve}"
    assert (change.added, change.removed, change.changed) == (0, 0, 0)
    assert change.after is not None and change.after.nodes and change.after.marked == ()


def test_pin_marks_the_placeholder_only(repaired: dict[str, Pair]) -> None:
    change = graph_change(repaired["pin"].before, repaired["pin"].after)
    assert (change.added, change.removed, change.changed) == (0, 0, 1)
    expected = {("changed", "Placeholder", "serving_default_frames", "shape [?,16,8] -> [1,16,8]")}
    assert _marked(change.before) == expected and _marked(change.after) == expected
    assert change.after is not None
    assert len(change.after.nodes) == 4 and change.after.elided == change.after.total_nodes - 4

    overlay = node_data(change)
    assert list(overlay) == ["main"]  # the placeholder lives in the top-level GraphDef
    (result,) = overlay["main"]["results"].values()
    assert result == {"value": "changed: shape [?,16,8] -> [1,16,8]", "bgColor": COLORS[NodeState.CHANGED],
                      "textColor": "#000000"}
    # the node id is the placeholder's position in the GraphDef (Model Explorer's direct adapter numbering)
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((repaired["pin"].after / "saved_model.pb").read_bytes())
    names = [n.name for n in proto.meta_graphs[0].graph_def.node]
    (node_id,) = overlay["main"]["results"]
    assert names[int(node_id)] == "serving_default_frames"


def test_tnp_swap_is_the_float64_ops_turned_float32(repaired: dict[str, Pair]) -> None:
    change = graph_change(repaired["tnp"].before, repaired["tnp"].after)
    assert (change.added, change.removed, change.changed) == (1, 0, 3)
    changed = {("changed", "Mul", "mul", "T double -> float"), ("changed", "Cast", "mul/Cast", "DstT double -> float"),
               ("changed", "Cast", "mul/Cast_1", "DstT double -> float")}
    assert _marked(change.before) == changed
    assert _marked(change.after) == changed | {("added", "Cast", "Identity/repair/to_float64",
                                                "only in the repaired graph")}
    overlay = node_data(change)
    (graph_id,) = overlay  # all four in the one function that computes
    assert graph_id.startswith("__inference_")
    assert sorted(r["value"].split(":")[0] for r in overlay[graph_id]["results"].values()) == [
        "added", "changed", "changed", "changed"]
    assert len(node_data(change, "before")[next(iter(node_data(change, "before")))]["results"]) == 3


def test_keras3_rebind_keeps_the_graph_and_drops_the_unbound_variables(repaired: dict[str, Pair]) -> None:
    change = graph_change(repaired["rebind"].before, repaired["rebind"].after)
    assert (change.added, change.removed, change.changed) == (0, 0, 0)
    assert change.summary == ("graph unchanged: the fix changed variables 8 -> 4 "
                              "(-Variable, -Variable_1, -Variable_2, -Variable_3)")


def test_json_round_trip(repaired: dict[str, Pair]) -> None:
    change = graph_change(repaired["tnp"].before, repaired["tnp"].after)
    data = change.to_json()
    assert data["added"] == 1 and data["changed"] == 3 and data["hops"] == 2
    assert {n["state"] for n in data["after"]["nodes"]} == {"added", "changed", "same"}
    drawn = {n["id"] for n in data["after"]["nodes"]}
    assert all(e["source"] in drawn and e["target"] in drawn for e in data["after"]["edges"])


def test_node_data_shape() -> None:
    """Unit: the overlay for a hand-made change (top-level node, function node, SAME and elided nodes)."""
    from repair.model.change import DrawnNode

    marked = (DrawnNode("x", "Placeholder", NodeState.CHANGED, "shape [?,4] -> [1,4]", "", 3),
              DrawnNode("call/f/relu", "Relu", NodeState.ADDED, "only in the repaired graph", "__inference_f_9", 0),
              DrawnNode("call/g/relu", "Relu", NodeState.ADDED, "only in the repaired graph", "__inference_f_9", 0))
    side = GraphSide("repaired: serving_default", marked[:1], (), 10, 9, marked)
    change = GraphChange(None, side, 2, 0, 1, 2, "2 nodes added, 0 removed, 1 changed (2 hops shown)")
    assert node_data(change) == {
        "main": {"results": {"3": {"value": "changed: shape [?,4] -> [1,4]", "bgColor": COLORS[NodeState.CHANGED],
                                   "textColor": "#000000"}}},
        "__inference_f_9": {"results": {"1": {"value": "added", "bgColor": COLORS[NodeState.ADDED],
                                              "textColor": "#000000"}}},
    }
    assert node_data(change, "before") == {}
    with pytest.raises(ValueError):
        node_data(change, "left")

