"""strip_pruning_graph: fold tfmot pruning masks into constants in a SavedModel that has no Keras metadata."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.surgery import FrozenGraph, op_delta, prune_dead, save_frozen, serving_function
from repair.model.working import WorkingModel

_WRAPPER = b"PruneLowMagnitude"
# tfmot's wrapper variables: <wrapper>/mask, <wrapper>/threshold (one pair per pruned weight), <wrapper>/pruning_step.
PRUNING_VARIABLES = ("mask", "threshold", "pruning_step")


def is_pruning_variable(name: str) -> bool:
    """'prune_low_magnitude_dense/mask:0' -> True. tfmot's own variables, never the layer's weights."""
    last = name.split(":")[0].rsplit("/", 1)[-1]
    return any(last == v or (last.startswith(v + "_") and last[len(v) + 1:].isdigit()) for v in PRUNING_VARIABLES)


@dataclass
class _Traced:
    """The serving function inlined into one flat GraphDef, with its captured variables by placeholder name."""

    graph_def: Any
    variables: dict[str, Any]  # resource placeholder -> tf.Variable
    input_tensors: tuple[str, ...]
    output_tensors: tuple[str, ...]
    output_keys: tuple[str, ...]


def _trace(model: WorkingModel) -> _Traced:
    # convert_variables_to_constants_v2 (surgery.freeze) cannot be used: tfmot's wrapper call always runs
    # `kernel.assign(kernel * mask)` (weight_mask_op), and that AssignVariableOp consumes the variable handle the
    # converter turns into a constant ("Input 0 of node .../AssignVariableOp was passed float ... expected
    # resource", measured on TF 2.21). So the function is inlined with the converter's own grappler pass and
    # the variables are frozen here, by hand, after the assignments are folded.
    from tensorflow.python.framework.convert_to_constants import _run_inline_graph_optimization

    t = tf()
    concrete = serving_function(model)
    with captured_stderr():
        graph_def = _run_inline_graph_optimization(concrete, lower_control_flow=False, aggressive_inlining=True)
    by_handle = {id(v.handle): v for v in concrete.graph.variables}
    variables = {}
    for external, internal in concrete.graph.captures:
        if external.dtype != t.resource:
            continue
        variable = by_handle.get(id(external))
        if variable is None:
            raise RewriteFailed(f"the serving function captures a resource that is not a variable ({internal.name})")
        variables[internal.name.split(":")[0]] = variable
    return _Traced(
        graph_def=graph_def,
        variables=variables,
        input_tensors=tuple(x.name for x in concrete.inputs if x.dtype != t.resource),
        output_tensors=tuple(x.name for x in concrete.outputs),
        output_keys=tuple(sorted(concrete.structured_outputs)),  # flatten order of a dict: sorted keys
    )


def _base(ref: str) -> str:
    return ref.lstrip("^").split(":")[0]


def fold_pruning(traced: _Traced) -> tuple[Any, dict[str, int], dict[str, str]]:
    """Freeze the inlined graph: reads become constants, tfmot's ``kernel.assign(kernel * mask)`` is folded away.

    A read ordered after the assignment (a control input on it) gets ``kernel * mask``; any other read gets the
    stored value. Returns the new GraphDef, counts ({'masks': n, 'zeros': n, 'pruned': n}) and, for every read
    that became a constant, its node name -> the variable's name.
    """
    t = tf()
    nodes = {n.name: n for n in traced.graph_def.node}

    def variable_of(ref: str) -> str | None:
        """The resource placeholder behind a handle, through the Identity chains inlining leaves."""
        name = _base(ref)
        while name in nodes and nodes[name].op == "Identity":
            name = _base(nodes[name].input[0])
        return name if name in traced.variables else None

    def var_name(placeholder: str) -> str:
        return str(traced.variables[placeholder].name)

    values = {p: v.numpy() for p, v in traced.variables.items()}
    folded: dict[str, str] = {}  # assign node -> the placeholder it writes
    after: dict[str, np.ndarray] = {}
    stats = Counter({"masks": 0, "zeros": 0, "pruned": 0})
    constants: dict[str, str] = {}
    for node in traced.graph_def.node:
        if node.op in ("AssignAddVariableOp", "AssignSubVariableOp", "ResourceApplyGradientDescent"):
            raise RewriteFailed(f"the serving function updates variable '{var_name(variable_of(node.input[0]) or '')}' "
                                f"({node.op}): only tfmot's kernel*mask assignment can be folded")
        if node.op != "AssignVariableOp":
            continue
        target = variable_of(node.input[0])
        if target is None:
            raise RewriteFailed(f"{node.name} assigns a resource that is not a captured variable")
        if is_pruning_variable(var_name(target)):
            folded[node.name] = target  # a pruning_step/threshold update cannot reach an output: dropped
            continue
        value = nodes.get(_base(node.input[1]))
        operands = [nodes.get(_base(r)) for r in value.input if not r.startswith("^")] if value is not None else []
        reads = [variable_of(n.input[0]) if n is not None and n.op == "ReadVariableOp" else None for n in operands]
        if value is None or value.op != "Mul" or len(reads) != 2 or target not in reads or None in reads:
            raise RewriteFailed(f"the serving function assigns variable '{var_name(target)}' with something other than "
                                "weight * mask (not a tfmot pruning update)")
        first, second = reads
        assert first is not None and second is not None  # None is not in reads: checked above
        mask_var = second if first == target else first
        mask = values[mask_var]
        if mask.shape != values[target].shape or not np.isin(mask, (0, 1)).all():
            raise RewriteFailed(f"'{var_name(mask_var)}' multiplies '{var_name(target)}' but is not a 0/1 mask of its shape")
        after[node.name] = values[target] * mask
        folded[node.name] = target
        stats["masks"] += 1
        stats["pruned"] += mask.size
        stats["zeros"] += int(np.sum(after[node.name] == 0))
    if not stats["masks"] and not any(is_pruning_variable(var_name(p)) for p in traced.variables):
        raise RewriteFailed("the serving function neither reads pruning variables nor applies a pruning mask")

    out = type(traced.graph_def)()
    out.library.CopyFrom(traced.graph_def.library)
    out.versions.CopyFrom(traced.graph_def.versions)
    resource_nodes = {n for n in nodes if variable_of(n) is not None}
    dropped = set(folded) | resource_nodes
    for node in traced.graph_def.node:
        if node.name in dropped:
            continue
        copy = out.node.add()
        if node.op == "ReadVariableOp" and (read := variable_of(node.input[0])) is not None:
            assigns = [_base(r) for r in node.input if r.startswith("^") and folded.get(_base(r)) == read
                       and _base(r) in after]
            value = after[assigns[-1]] if assigns else values[read]
            copy.name, copy.op = node.name, "Const"
            copy.attr["dtype"].type = node.attr["dtype"].type
            copy.attr["value"].tensor.CopyFrom(t.make_tensor_proto(value))
            constants[node.name] = var_name(read)
            continue
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(r for r in node.input if not (r.startswith("^") and _base(r) in dropped))
        users = [r for r in copy.input if _base(r) in dropped]
        if users:
            raise RewriteFailed(f"{node.op} node '{node.name}' uses variable '{var_name(variable_of(users[0]) or '')}' "
                                "directly (e.g. inside a loop body): it cannot be frozen here")
    return out, dict(stats), constants


class StripPruningGraph(Rewrite):
    """Fold tfmot pruning masks into constants in a SavedModel saved without Keras metadata.

    What it fixes:
        A model wrapped with prune_low_magnitude and saved with tf.saved_model.save(model, dir) (or
        model.export) without strip_pruning: there is no keras_metadata.pb to rebuild the model from.
    Why it fails:
        It converts, but the .tflite keeps kernel and mask as resource variables (VAR_HANDLE/
        READ_VARIABLE/ASSIGN_VARIABLE with a CALL_ONCE init), because tfmot's wrapper assigns
        kernel * mask back into the kernel on every call. Delegates and micro runtimes refuse it.
        TensorFlow's own freezing (convert_variables_to_constants_v2) fails on that assignment.
    Safety:
        safe. The serving function is inlined; every tfmot assignment `kernel.assign(kernel * mask)` is
        checked to be exactly that (a Mul of the kernel and a 0/1 mask of its shape) and folded: reads
        ordered after it become the constant kernel*mask, other reads the stored value, which is what
        TensorFlow computes. Updates of pruning_step/threshold cannot reach an output and are dropped.
        Any other variable update, or a variable used inside a loop body, is refused with its name.
        The serving contract is unchanged.
    References:
        docs/facts.md §4; measured: tf.saved_model.save of a pruned tf_keras CNN -> .tflite ops VAR_HANDLE 4,
        READ_VARIABLE 4, ASSIGN_VARIABLE 4, CALL_ONCE 1; after this fix none, diff <= 1e-6.
    """

    id = "strip_pruning_graph"
    title = "fold pruning masks into constants (no Keras metadata)"
    answers = frozenset({FindingKind.PRUNING_WRAPPERS, FindingKind.RESOURCE_VARIABLES})
    safety = Safety.SAFE
    cases = ("pruning/tf_saved_model_save",)

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.info is None or model.entry is None:
            return "no SavedModel with a serving entry"
        if _WRAPPER in model.info.keras_metadata:
            return "a tf_keras SavedModel with keras_metadata.pb: strip_pruning_wrappers rebuilds it"
        graph = model.info.best_graph()
        names = graph.object_child_names | frozenset(n.rsplit("/", 1)[-1] for n in graph.variable_names)
        if "pruning_step" not in names:
            return "no tfmot pruning variables (pruning_step) in the SavedModel"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        traced = _trace(model)
        before = Counter(n.op for n in traced.graph_def.node)
        graph_def, stats, constants = fold_pruning(traced)
        by_name = {p.name: p for p in model.entry.outputs}
        missing = [k for k in traced.output_keys if k not in by_name]
        if missing:
            raise RewriteFailed(f"the serving function returns keys the signature does not list: {', '.join(missing)}")
        frozen = FrozenGraph(graph_def, model.entry.inputs, tuple(by_name[k] for k in traced.output_keys),
                             traced.input_tensors, traced.output_tensors)
        prune_dead(frozen)
        delta = op_delta(before, frozen.op_counts())
        with captured_stderr():
            saved = save_frozen(frozen, scratch / "saved_model", model.entry)
        frozen_vars = {constants[n.name] for n in frozen.graph_def.node if n.name in constants}
        sparsity = stats["zeros"] / stats["pruned"] if stats["pruned"] else 0.0
        return Applied(saved, f"folded {stats['masks']} mask(s) into constant kernels ({sparsity:.0%} zeros), froze "
                              f"{len(frozen_vars)} variable(s) into constants; serving keys kept", op_delta=delta)
