"""Graph surgery on a model's serving function: freeze, rewrite nodes, rebuild a SavedModel.

Decisions, in one place:
- Variables are frozen into constants. TFLite freezes them anyway; a frozen graph has no resource
  variables, so delegates and micro runtimes can run it, and nodes can be matched on constant
  operands (a Roll's shift, a Cumprod's axis).
- The serving contract is unchanged: the same input and output keys, dtypes and shapes. Fixes about
  the contract (pins, renames) are separate rewrites.
- Control flow is kept functional (``While``/``If`` bodies stay in the function library).
- A replacement is written as plain TensorFlow Python, traced on the replaced node's input specs,
  and spliced in under ``<node>/repair/``; consumers are rewired to its outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repair.core.tfenv import captured_stderr, tf
from repair.model.artifact import SERVING_DEFAULT
from repair.model.working import Entry, Port, WorkingModel, load, reopen, serving_callable, tensor_spec


@dataclass
class FrozenGraph:
    """A flat GraphDef plus which tensors are the serving inputs and outputs, in port order."""

    graph_def: Any
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    input_tensors: tuple[str, ...]
    output_tensors: tuple[str, ...]
    # Placeholders that stand for captured resources freezing cannot turn into constants (lookup tables),
    # by node name, with the live resource handle of the loaded model: a rewrite may read the table's
    # contents through it and replace its uses by constants.
    captures: dict[str, Any] = field(default_factory=dict)

    def nodes(self, op: str | None = None) -> list[Any]:
        return [n for n in self.graph_def.node if op is None or n.op == op]

    def node(self, name: str) -> Any | None:
        """The current node called ``name`` (after splices, earlier references to nodes are stale)."""
        return next((n for n in self.graph_def.node if n.name == name), None)

    def op_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter(n.op for n in self.graph_def.node)
        for fn in self.graph_def.library.function:
            counts.update(n.op for n in fn.node_def)
        return counts

    def const(self, ref: str) -> Any | None:
        """The numpy value of the Const behind a tensor reference, or None."""
        node = next((n for n in self.graph_def.node if n.name == ref.split(":")[0].lstrip("^")), None)
        if node is None or node.op != "Const":
            return None
        return tf().make_ndarray(node.attr["value"].tensor)


def serving_function(model: WorkingModel) -> Any:
    """The model's serving entry (pending contract changes included) traced as one concrete function whose
    positional inputs are the entry's inputs, in port order, and whose outputs are a dict by port name."""
    assert model.entry is not None
    t = tf()
    entry = model.entry
    call = serving_callable(load(model.path, model.tags), entry)
    names = [p.name for p in entry.inputs]

    def serve(*args: Any) -> dict[str, Any]:
        return call(dict(zip(names, args)))

    with captured_stderr():
        return t.function(serve, input_signature=[tensor_spec(p) for p in entry.inputs]).get_concrete_function()


def freeze(model: WorkingModel) -> FrozenGraph:
    """The model's serving entry (pending contract changes included) as a frozen, flat GraphDef."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    assert model.entry is not None
    entry = model.entry
    names = [p.name for p in entry.inputs]
    concrete = serving_function(model)
    with captured_stderr():
        frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=False)
    out_keys = sorted(concrete.structured_outputs)  # flatten order of a dict: sorted keys
    by_name = {p.name: p for p in entry.outputs}
    # Captures that stay placeholders after freezing (a lookup table's resource handle) keep their names;
    # they follow the serving inputs in both functions' inputs.
    live = dict(zip((x.name for x in concrete.inputs[len(names):]), concrete.captured_inputs))
    captures = {x.name.split(":")[0]: live[x.name] for x in frozen.inputs[len(names):] if x.name in live}
    return FrozenGraph(
        graph_def=frozen.graph.as_graph_def(),
        inputs=entry.inputs,
        outputs=tuple(by_name[k] for k in out_keys),
        input_tensors=tuple(x.name for x in frozen.inputs[:len(names)]),
        output_tensors=tuple(x.name for x in frozen.outputs),
        captures=captures,
    )


def tensor_specs(frozen: FrozenGraph, refs: Sequence[str]) -> list[Any]:
    """Static shape and dtype of tensors in the frozen graph (TensorFlow's shape inference on import)."""
    t = tf()
    graph = t.Graph()
    with graph.as_default(), captured_stderr():
        t.graph_util.import_graph_def(frozen.graph_def, name="")
    specs = []
    for ref in refs:
        tensor = graph.get_tensor_by_name(ref if ":" in ref else f"{ref}:0")
        specs.append(t.TensorSpec(tensor.shape, tensor.dtype))
    return specs


def rank_and_dims(frozen: FrozenGraph, ref: str) -> tuple[int | None, list[int | None]]:
    """A tensor's static rank and dims (None where unknown); (None, []) when even the rank is unknown."""
    spec = tensor_specs(frozen, [ref])[0]
    if spec.shape.rank is None:
        return None, []
    return spec.shape.rank, spec.shape.as_list()


def take(x: Any, axis: int, start: int | None, stop: int | None) -> Any:
    """``x[start:stop]`` along ``axis`` (a plain slice: it converts to a builtin SLICE/STRIDED_SLICE without masks)."""
    return x[(slice(None),) * axis + (slice(start, stop),)]


def _rename(ref: str, mapping: dict[str, str]) -> str:
    control = ref.startswith("^")
    name = ref.lstrip("^")
    base, _, index = name.partition(":")
    new = mapping.get(base, base)
    return ("^" if control else "") + new + (f":{index}" if index else "")


def splice(frozen: FrozenGraph, node_name: str, data_inputs: Sequence[str], build: Callable[..., Any]) -> None:
    """Replace ``node_name`` by ``build(*data_inputs)`` (traced TF Python), rewiring its consumers.

    ``build`` receives tensors for ``data_inputs`` (refs into the graph) and returns one tensor or
    a list, one per output of the replaced node. Constant operands are for ``build`` to close over.
    """
    t = tf()
    specs = tensor_specs(frozen, data_inputs)
    with captured_stderr():
        traced = t.function(build, input_signature=specs).get_concrete_function()
    sub = traced.graph.as_graph_def()
    prefix = f"{node_name}/repair/"
    placeholders = [x.name.split(":")[0] for x in traced.inputs]
    mapping = {p: "" for p in placeholders}
    mapping.update({n.name: prefix + n.name for n in sub.node if n.op != "Placeholder"})
    feeds = {p: ref for p, ref in zip(placeholders, data_inputs)}
    new_nodes = []
    for n in sub.node:
        if n.op == "Placeholder":
            continue
        copy = type(n)()
        copy.CopyFrom(n)
        copy.name = mapping[n.name]
        del copy.input[:]
        for ref in n.input:
            base = ref.lstrip("^").split(":")[0]
            if base in feeds:
                copy.input.append(("^" + feeds[base].split(":")[0]) if ref.startswith("^") else feeds[base])
            else:
                copy.input.append(_rename(ref, mapping))
        new_nodes.append(copy)
    outputs = [_rename(x.name, mapping) for x in traced.outputs]
    for fn in sub.library.function:
        if fn.signature.name not in {f.signature.name for f in frozen.graph_def.library.function}:
            frozen.graph_def.library.function.add().CopyFrom(fn)
    replace_node(frozen, node_name, new_nodes, outputs)


def replace_node(frozen: FrozenGraph, node_name: str, new_nodes: list[Any], outputs: list[str]) -> None:
    """Replace node ``node_name`` by ``new_nodes``: consumers of its output i read ``outputs[i]`` instead."""
    graph_def = frozen.graph_def
    kept = [n for n in graph_def.node if n.name != node_name]
    del graph_def.node[:]
    graph_def.node.extend(kept + new_nodes)
    for n in graph_def.node:
        for i, ref in enumerate(n.input):
            base, _, index = ref.lstrip("^").partition(":")
            if base != node_name:
                continue
            target = outputs[int(index) if index else 0]
            n.input[i] = ("^" + target.split(":")[0]) if ref.startswith("^") else target
    frozen.output_tensors = tuple(
        outputs[int(ref.partition(":")[2] or 0)] if ref.split(":")[0] == node_name else ref for ref in frozen.output_tensors
    )


def remove(frozen: FrozenGraph, node_name: str) -> None:
    """Delete a node whose outputs nobody reads as data (a PrintV2); control edges to it are dropped."""
    graph_def = frozen.graph_def
    for n in graph_def.node:
        if any(ref.lstrip("^").split(":")[0] == node_name and not ref.startswith("^") for ref in n.input):
            raise ValueError(f"{node_name} feeds data into {n.name}; it cannot be removed")
    kept = [n for n in graph_def.node if n.name != node_name]
    for n in kept:
        refs = [ref for ref in n.input if ref != f"^{node_name}"]
        del n.input[:]
        n.input.extend(refs)
    del graph_def.node[:]
    graph_def.node.extend(kept)


def prune_dead(frozen: FrozenGraph) -> None:
    """Drop nodes no serving output depends on (left behind by removals and replacements)."""
    by_name = {n.name: n for n in frozen.graph_def.node}
    live: set[str] = set()
    stack = [ref.split(":")[0] for ref in frozen.output_tensors] + [ref.split(":")[0] for ref in frozen.input_tensors]
    while stack:
        name = stack.pop()
        if name in live or name not in by_name:
            continue
        live.add(name)
        stack.extend(ref.lstrip("^").split(":")[0] for ref in by_name[name].input)
    kept = [n for n in frozen.graph_def.node if n.name in live]
    del frozen.graph_def.node[:]
    frozen.graph_def.node.extend(kept)


def save_graph(graph_def: Any, inputs: Sequence[Port], input_tensors: Sequence[str], outputs: Sequence[Port],
               output_tensors: Sequence[str], dest: Path) -> None:
    """Save a GraphDef as a serve-tagged SavedModel whose serving_default feeds and fetches the given tensors."""
    t = tf()

    def import_graph() -> None:
        t.compat.v1.import_graph_def(graph_def, name="")

    with captured_stderr():
        wrapped = t.compat.v1.wrap_function(import_graph, [])
        pruned = wrapped.prune(feeds=list(input_tensors), fetches=list(output_tensors))

        def serve(*args: Any) -> dict[str, Any]:
            return {p.name: v for p, v in zip(outputs, pruned(*args))}

        fn = t.function(serve, input_signature=[tensor_spec(p) for p in inputs])
        root = t.Module()
        root.serve = fn
        t.saved_model.save(root, str(dest), signatures={SERVING_DEFAULT: fn.get_concrete_function()})


def refreeze(frozen: FrozenGraph) -> FrozenGraph:
    """Freeze the graph again, which inlines every function call (e.g. unrolled loop bodies) into it."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    t = tf()
    graph_def = frozen.graph_def

    def import_graph() -> None:
        t.compat.v1.import_graph_def(graph_def, name="")

    with captured_stderr():
        wrapped = t.compat.v1.wrap_function(import_graph, [])
        pruned = wrapped.prune(feeds=list(frozen.input_tensors), fetches=list(frozen.output_tensors))
        inlined = convert_variables_to_constants_v2(pruned, lower_control_flow=False)
    return FrozenGraph(inlined.graph.as_graph_def(), frozen.inputs, frozen.outputs,
                       tuple(x.name for x in inlined.inputs), tuple(x.name for x in inlined.outputs))


def topological(frozen: FrozenGraph) -> list[Any]:
    """The graph's nodes in dependency order (a networkx view of the GraphDef)."""
    import networkx as nx

    graph = nx.DiGraph()
    nodes = {n.name: n for n in frozen.graph_def.node}
    graph.add_nodes_from(nodes)
    for n in frozen.graph_def.node:
        for ref in n.input:
            src = ref.lstrip("^").split(":")[0]
            if src in nodes:
                graph.add_edge(src, n.name)
    return [nodes[name] for name in nx.topological_sort(graph)]


def op_delta(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    """Per-op count change, e.g. {'Roll': -1, 'ConcatV2': 1}."""
    return {op: after[op] - before[op] for op in sorted(set(before) | set(after)) if after[op] != before[op]}


def save_frozen(frozen: FrozenGraph, dest: Path, previous: Entry) -> WorkingModel:
    """Save the rewritten graph as a SavedModel with the same contract and open it."""
    prune_dead(frozen)
    save_graph(frozen.graph_def, frozen.inputs, frozen.input_tensors, frozen.outputs, frozen.output_tensors, dest)
    return reopen(dest, previous)


@dataclass(frozen=True)
class Replacement:
    """How to replace one node: the tensors to feed the builder, and the builder (None: delete the node)."""

    data_inputs: tuple[str, ...]
    build: Callable[..., Any] | None


# A node's plan: a Replacement; or why this node cannot be replaced; or None: this node is fine as it is.
Plan = Callable[[FrozenGraph, Any], "Replacement | str | None"]


class SurgeryFailed(Exception):
    """A substitution could not be made; the message is one line naming the op and node (rewrites re-raise it as
    RewriteFailed)."""


@dataclass(frozen=True)
class Substituted:
    """The model a substitution saved, what it replaced (one label per node) and the TF op delta."""

    model: WorkingModel
    done: tuple[str, ...]
    op_delta: dict[str, int]

    def counts(self) -> str:
        """``Roll x2, Tile x1``."""
        return ", ".join(f"{op} x{self.done.count(op)}" for op in sorted(set(self.done)))


def substitute(model: WorkingModel, scratch: Path, plans: dict[str, Plan], *, who: str,
               label: Callable[[Any], str] = lambda node: str(node.op)) -> Substituted:
    """Freeze the serving function, replace every node whose op has a plan, in dependency order, and save the result
    under ``scratch``: the loop the op-table rewrites share (substitute_flex_ops, substitute_target_ops,
    lower_op_versions).

    Nodes are looked up by name each time: a splice replaces nodes and rewires consumers, so a replaced op feeding
    another (Roll -> Cumprod) is planned on the graph as it is now. A plan's reason (a string) stops the whole
    substitution: a model half rewritten is never saved. Raises SurgeryFailed with one line."""
    assert model.entry is not None
    try:
        frozen = freeze(model)
    except Exception as exc:  # TensorFlow refusing to freeze this graph: one line, not a traceback
        raise SurgeryFailed(f"{who}: freezing the serving function failed: {first_line(exc)}") from exc
    before = frozen.op_counts()
    done: list[str] = []
    for name in [n.name for n in topological(frozen) if n.op in plans]:
        node = frozen.node(name)
        if node is None:
            continue
        try:
            plan = plans[node.op](frozen, node)
        except Exception as exc:  # a case the row did not foresee: name the rewrite, the op and the node
            raise SurgeryFailed(f"{who}: replacing {node.op} ({name}) failed: {first_line(exc)}") from exc
        if plan is None:
            continue
        if isinstance(plan, str):
            raise SurgeryFailed(f"{node.op} ({name}): {plan}")
        try:
            if plan.build is None:
                remove(frozen, name)
            else:
                splice(frozen, name, plan.data_inputs, plan.build)
        except Exception as exc:
            raise SurgeryFailed(f"{who}: replacing {node.op} ({name}) failed: {first_line(exc)}") from exc
        done.append(label(node))
    if not done:
        raise SurgeryFailed(f"{who}: none of {', '.join(sorted(plans))} was found in a form it replaces in the frozen "
                            "serving graph")
    try:
        new = save_frozen(frozen, scratch / "saved_model", model.entry)
    except Exception as exc:
        raise SurgeryFailed(f"{who}: saving the rewritten graph failed: {first_line(exc)}") from exc
    return Substituted(new, tuple(done), op_delta(before, frozen.op_counts()))


def first_line(exc: BaseException) -> str:
    """One line for an exception; a trace-time error ("in user code:" + a traceback) gives its last line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[-1] if lines and lines[0].endswith(":") else (lines[0] if lines else "")
    name = type(exc).__name__
    return (text if text.startswith(f"{name}:") else f"{name}: {text}")[:300]
