"""unroll_static_loops: replace While loops whose trip count is fixed by constants with chained body calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.surgery import FrozenGraph, freeze, op_delta, refreeze, replace_node, save_frozen
from repair.graph.tensorlists import TensorListError, eliminate
from repair.graph.walk import function_dependencies, function_ops
from repair.model.working import WorkingModel

MAX_TRIPS = 64  # beyond this an unrolled graph grows more than it speeds up
_WHILE_OPS = ("While", "StatelessWhile")


def control_slice(frozen: FrozenGraph, node: Any) -> set[int] | str:
    """Loop-variable indices the condition depends on, closed under the body; or why the count is not static."""
    library = {f.signature.name: f for f in frozen.graph_def.library.function}
    cond, body = library.get(node.attr["cond"].func.name), library.get(node.attr["body"].func.name)
    if cond is None or body is None:
        return "its condition or body is not in the function library"
    if any(op.startswith(("Random", "StatelessRandom", "Multinomial")) for op in function_ops(cond) | function_ops(body)):
        return "its body holds random ops"
    body_deps = function_dependencies(body)
    control = set(function_dependencies(cond)[0])
    while True:
        grown = control | {j for i in control for j in body_deps.get(i, set())}
        if grown == control:
            break
        control = grown
    data_inputs = [ref for ref in node.input if not ref.startswith("^")]
    for i in sorted(control):
        if not shape_only(frozen, data_inputs[i]):
            return "its trip count depends on the input (a loop variable the condition reads is not a constant)"
    counter = frozen.const(data_inputs[0])
    if counter is None or counter.ndim != 0 or int(counter) != 0:
        return "it has no loop counter starting at 0 (not a TF2 tf.while_loop)"
    return control


_SHAPE_OPS = frozenset({"Shape", "Size", "Rank", "ShapeN"})


def shape_only(frozen: FrozenGraph, ref: str) -> bool:
    """Whether a tensor depends on the serving inputs only through their shapes (a constant or a Keras
    time-step count): the input values never reach it."""
    nodes = {n.name: n for n in frozen.graph_def.node}
    inputs = {r.split(":")[0] for r in frozen.input_tensors}
    stack, seen = [ref.split(":")[0]], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inputs:
            return False
        node = nodes.get(name)
        if node is None:
            return False  # a tensor this graph does not define: nothing proves it is a constant
        if node.op in _SHAPE_OPS:
            continue  # a shape is static here or it would not convert; the gate checks other sizes
        stack.extend(r.lstrip("^").split(":")[0] for r in node.input if not r.startswith("^"))
    return True


def trip_count(frozen: FrozenGraph, node: Any) -> int | str:
    """The While's trip count, read from its loop counter output with unknown dims filled two ways.

    A count that changes with the fill size depends on an unknown dimension (a Keras RNN over a
    time axis of None): the reason is returned instead.
    """
    counts = {fill: _count(frozen, node, fill) for fill in (1, 3)}
    if counts[1] != counts[3]:
        return f"its trip count follows an unknown input dimension ({counts[1]} vs {counts[3]} trips); pin it with --pin"
    return counts[1]


def _count(frozen: FrozenGraph, node: Any, fill: int) -> int:
    """Run the frozen graph once in a session and read the While's loop counter output."""
    t = tf()
    graph = t.Graph()
    with graph.as_default(), captured_stderr():
        t.graph_util.import_graph_def(frozen.graph_def, name="")
        feeds = {}
        for ref in frozen.input_tensors:
            tensor = graph.get_tensor_by_name(ref)
            shape = [fill if d is None else d for d in (tensor.shape.as_list() or [])]
            feeds[tensor] = np.zeros(shape, dtype=tensor.dtype.as_numpy_dtype)
        with t.compat.v1.Session(graph=graph) as sess:
            return int(sess.run(graph.get_tensor_by_name(f"{node.name}:0"), feeds))


def unroll(frozen: FrozenGraph, node: Any, trips: int) -> None:
    """Replace the While node by ``trips`` chained calls of its body."""
    from tensorflow.core.framework import node_def_pb2

    data = [ref for ref in node.input if not ref.startswith("^")]
    controls = [ref for ref in node.input if ref.startswith("^")]
    types = list(node.attr["T"].list.type)
    calls = []
    current = data
    for k in range(trips):
        call = node_def_pb2.NodeDef()
        call.name = f"{node.name}/repair/iteration_{k}"
        call.op = "StatefulPartitionedCall"
        call.input.extend(current + (controls if k == 0 else []))
        call.attr["f"].func.name = node.attr["body"].func.name
        call.attr["Tin"].list.type.extend(types)
        call.attr["Tout"].list.type.extend(types)
        for key in ("config", "config_proto", "executor_type"):
            call.attr[key].s = b""
        calls.append(call)
        current = [f"{call.name}:{j}" for j in range(len(types))]
    replace_node(frozen, node.name, calls, current)


class UnrollStaticLoops(Rewrite):
    """Unroll tf.while_loop / tf.range loops whose trip count is fixed by constants.

    What it fixes:
        `tf.while_loop(lambda i, h: i < 3, ...)`, `for _ in tf.range(10)` under autograph, loops with
        maximum_iterations: the .tflite keeps a WHILE op with cond/body subgraphs. And loops that
        accumulate into TensorLists (TensorArray loops, Keras LSTM/GRU/SimpleRNN with unroll=False in a
        SavedModel): once unrolled and inlined, every list index is a constant, so the lists become
        Unpack/Pack and plain wiring. List sizes and indices computed from input shapes (a tf_keras
        return_sequences list sized from the time axis while the batch is None) fold from the static
        dims. TensorArrays written in straight-line code (a Python range loop: no While at all) have
        their lists eliminated the same way, with nothing to unroll.
    Why it fails:
        A plain loop does not fail in TF 2.21 (WHILE is a builtin), but it runs about 2x slower than the
        unrolled body on small loops (docs/facts.md §6) and many delegates and micro runtimes do not support
        WHILE, which is why --target tflite-strict blocks it. TensorList loops do fail builtins-only
        ("'tf.TensorListReserve' op requires element_shape to be static"), even at static shapes, and
        straight-line ones fail with "operand #0 does not dominate this use".
    Safety:
        safe. A loop is unrolled only when every loop variable its condition depends on (closed under
        the body) depends on the inputs only through their shapes (a constant, a Keras time-step count)
        and the body has no random ops: the trip count cannot depend on input values. The count is read
        by running the loop once; loops of more than 64 trips, or whose count depends on data, are left
        alone with the reason.
    References:
        docs/facts.md §6 (python-unrolled loop: 0 WHILE, 4.5 us vs 9.8 us per invoke, diff 1e-6).
    """

    id = "unroll_static_loops"
    title = "unroll loops with a static trip count"
    answers = frozenset({FindingKind.WHILE_LOOP, FindingKind.TENSORLIST_LOOP})
    safety = Safety.SAFE
    cases = ("loops/static_while", "loops/keras3_gru_saved_model_save", "loops/keras_bilstm_export", "loops/keras_gru_export",
             "loops/keras_lstm", "loops/keras_lstm_dynamic_time", "loops/keras_tensorarray_layer", "loops/range_loop",
             "loops/static_and_data_dependent", "loops/tensorarray", "loops/tensorarray_shape_sized",
             "loops/tensorarray_straight_line", "targets/gpu_lstm")
    tried_in_diagnose = True  # its conditions are only known on the frozen graph

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        return None if model.entry is not None else "no serving entry"

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        frozen = freeze(model)
        ops_before = frozen.op_counts()
        loops = [n for n in frozen.graph_def.node if n.op in _WHILE_OPS]
        if not loops:
            if not any(n.op.startswith("TensorList") for n in frozen.graph_def.node):
                raise RewriteFailed("no top-level While in the frozen serving graph (nested loops are not unrolled)")
            return self._straight_line(model, frozen, ops_before, scratch)
        done, left = [], []
        # By name: unrolling a loop rebuilds the node list, so a NodeDef held from before is a stale copy whose
        # inputs still name the loop just replaced (two loops in a row: the second read the first's old outputs).
        for name in [n.name for n in loops]:
            node = next(n for n in frozen.graph_def.node if n.name == name)
            control = control_slice(frozen, node)
            if isinstance(control, str):
                left.append(f"{node.name}: {control}")
                continue
            trips = trip_count(frozen, node)
            if isinstance(trips, str):
                left.append(f"{node.name}: {trips}")
                continue
            if trips > MAX_TRIPS:
                left.append(f"{node.name}: {trips} trips (more than {MAX_TRIPS})")
                continue
            unroll(frozen, node, trips)
            done.append(trips)
        if not done:
            raise RewriteFailed("; ".join(left))
        lists = 0
        if any(op.startswith("TensorList") for op in frozen.op_counts()):
            frozen = refreeze(frozen)  # inline the unrolled bodies: list indices become constants
            try:
                lists = eliminate(frozen)
            except TensorListError as exc:
                raise RewriteFailed(f"unrolled, but the TensorLists remain: {exc}") from None
        new = save_frozen(frozen, scratch / "saved_model", model.entry)
        note = f"; left alone: {'; '.join(left)}" if left else ""
        if lists:
            note = f"; {lists} TensorList read(s)/stack(s) replaced by Unpack/Pack" + note
        # Loops left alone (a data-dependent count, a nested loop) keep the while-loop finding: the gate must not
        # expect it gone from the output.
        loops_left = bool(left) or any(op in _WHILE_OPS for op in frozen.op_counts())
        return Applied(new, f"unrolled {len(done)} loop(s) ({', '.join(f'{n} trips' for n in done)}){note}",
                       op_delta=op_delta(ops_before, frozen.op_counts()),
                       partly=frozenset({FindingKind.WHILE_LOOP}) if loops_left else frozenset())

    @staticmethod
    def _straight_line(model: WorkingModel, frozen: FrozenGraph, ops_before: Any, scratch: Path) -> Applied:
        """TensorLists without a loop: a TensorArray written in a Python ``for i in range(n)`` at trace time.

        The converter fails on these too ("operand #0 does not dominate this use"), but every index is
        already a constant: the lists are eliminated as they are, with nothing to unroll.
        """
        assert model.entry is not None
        try:
            lists = eliminate(frozen)
        except TensorListError as exc:
            raise RewriteFailed(f"no loop, and the TensorLists cannot be resolved statically: {exc}") from None
        new = save_frozen(frozen, scratch / "saved_model", model.entry)
        return Applied(new, f"no loop to unroll: {lists} TensorList read(s)/stack(s) of straight-line code replaced "
                            "by Unpack/Pack", op_delta=op_delta(ops_before, frozen.op_counts()))
