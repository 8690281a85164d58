"""What a repair changed in the serving graph, as data a picture and Model Explorer can show.

``graph_change(before, after)`` reads the serving function of two SavedModels (statically: their protos, nothing is
loaded or run), matches their nodes, and keeps the changed neighbourhood: every added, removed or changed node and the
nodes within ``hops`` edges of one. What falls outside is counted (``elided``), never drawn, so a ResNet50-sized graph
gives a picture of the change, not of the network.

Strings here (node names, op names, notes) come from the model and stay raw: escaping happens where they are printed.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repair.core.tfenv import tf


class NodeState(enum.Enum):
    SAME = "same"
    ADDED = "added"  # only in the repaired graph
    REMOVED = "removed"  # only in the original graph
    CHANGED = "changed"  # in both, with another op, inputs or attributes


@dataclass(frozen=True)
class DrawnNode:
    """One node of one side's picture."""

    id: str  # the node's name in that graph (unique within the side)
    op: str
    state: NodeState
    note: str = ""  # why it is marked: "op Placeholder -> Const", "input 1 now reads x", ...
    # Where the node lives in the SavedModel, for Model Explorer's ids: the function's name ("" for the top-level
    # graph) and the node's position in that function's node_def (-1: unknown)
    scope: str = ""
    index: int = -1


@dataclass(frozen=True)
class DrawnEdge:
    source: str  # DrawnNode.id
    target: str


@dataclass(frozen=True)
class GraphSide:
    """The part of one graph (before or after) that the picture draws."""

    label: str  # "original: serving_default" / "repaired: serving_default"
    nodes: tuple[DrawnNode, ...]
    edges: tuple[DrawnEdge, ...]
    total_nodes: int  # in the whole serving graph (functions flattened as ``graph_change`` documents)
    elided: int  # total_nodes - drawn
    # every added/removed/changed node of this side, drawn or elided (what Model Explorer's overlay marks)
    marked: tuple[DrawnNode, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "total_nodes": self.total_nodes, "elided": self.elided,
                "nodes": [{"id": n.id, "op": n.op, "state": n.state.value, "note": n.note} for n in self.nodes],
                "edges": [{"source": e.source, "target": e.target} for e in self.edges]}


@dataclass(frozen=True)
class GraphChange:
    """The serving graph before and after, cut to the changed neighbourhood."""

    before: GraphSide | None  # None: the original has no readable serving graph (a .keras/.h5 file, a bare GraphDef...)
    after: GraphSide | None
    added: int
    removed: int
    changed: int
    hops: int
    summary: str  # one plain sentence: "3 nodes added, 1 removed, 2 changed (2 hops shown)" / "graph unchanged: ..."
    notes: tuple[str, ...] = field(default=())  # e.g. why one side is missing

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed, "hops": self.hops,
                "summary": self.summary, "notes": list(self.notes),
                "before": self.before.to_json() if self.before else None,
                "after": self.after.to_json() if self.after else None}


# --- reading one side ---------------------------------------------------------------------------------------------

_CALLS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
# Identity computes nothing, and every function boundary adds some (a re-trace or a wrapper adds more): reading
# through them keeps the picture to the ops that compute
_TRANSPARENT = frozenset({"Identity", "IdentityN"})
_SMALL_CONST = 16  # elements: a Const this small is compared (and shown) by value
_SUFFIX = re.compile(r"_\d+$")


@dataclass
class _Node:
    """One node of a flattened serving graph."""

    id: str  # call-path prefix + the node's name: unique in the side
    op: str
    inputs: tuple[tuple[str, int], ...]  # (producer id, output index) per data input
    attrs: dict[str, str]  # the attributes that matter for "changed": dtypes, shapes, a Const's value
    scope: str  # function name, "" for the top-level graph
    index: int  # position in that scope's node list
    name: str = ""  # the node's name in its scope
    norm: str = ""  # that name with re-trace noise removed (numeric suffixes)


@dataclass
class _Side:
    nodes: dict[str, _Node]
    inputs: tuple[str, ...]  # node ids of the signature's inputs
    outputs: tuple[str, ...]  # node ids that produce the signature's outputs
    tags: frozenset[str]
    signature_keys: frozenset[str]
    io: dict[str, str]  # "input x" / "output y" -> "dtype shape tensor", for telling what a graph-identical fix changed
    variables: frozenset[str] = frozenset()  # every variable of the meta graph (top-level VarHandleOp/VariableV2)


def _normalise(name: str) -> str:
    """A node's own name (without the call path, which a wrapper function deepens) without numeric suffixes:
    ``sequential_1/dense_1/MatMul`` -> ``sequential/dense/MatMul``."""
    return "/".join(_SUFFIX.sub("", part) for part in name.split("/"))


@functools.cache
def _dtype(value: int) -> str:
    from tensorflow.core.framework import types_pb2

    name = types_pb2.DataType.Name(value) if value in types_pb2.DataType.values() else str(value)
    return name.removeprefix("DT_").lower()


def _shape_text(shape: Any) -> str:
    if shape.unknown_rank:
        return "<unknown rank>"
    return "[" + ",".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def _attrs(node: Any) -> dict[str, str]:
    """The attributes whose change matters to a reviewer: dtypes, shapes, small values. Function names are left out
    (a re-trace renames every function)."""
    out: dict[str, str] = {}
    for key, value in node.attr.items():
        if key.startswith("_") or key in ("shared_name", "debug_name", "container", "config", "config_proto", "executor_type"):
            continue
        kind = value.WhichOneof("value")
        if kind == "type":
            out[key] = _dtype(value.type)
        elif kind == "shape":
            out[key] = _shape_text(value.shape)
        elif kind in ("i", "f", "b") or (kind == "s" and len(value.s) <= 64):
            out[key] = str(getattr(value, kind))
        elif kind == "list" and (value.list.type or value.list.shape):
            out[key] = ",".join([_dtype(t) for t in value.list.type] + [_shape_text(sh) for sh in value.list.shape])
        elif kind == "tensor":
            out[key] = _tensor_text(value.tensor)
    return out


def _tensor_text(proto: Any) -> str:
    """A Const's value: the numbers when small, else dtype, shape and a digest (equal digests: equal values)."""
    count = 1
    for d in proto.tensor_shape.dim:
        count *= max(d.size, 0)
    head = f"{_dtype(proto.dtype)}{_shape_text(proto.tensor_shape)}"
    if count <= _SMALL_CONST:
        from tensorflow.python.framework import tensor_util

        try:
            return f"{head} {tensor_util.MakeNdarray(proto).tolist()}"
        except (TypeError, ValueError):  # a dtype numpy cannot hold (variant, resource): compare the bytes
            pass
    return f"{head} #{hashlib.sha1(proto.SerializeToString(deterministic=True)).hexdigest()[:10]}"


class _Flattener:
    """Flattens the serving function: call nodes are replaced by the body they call, each body's nodes prefixed with
    the call's path so ids stay unique (one function called twice gives two copies)."""

    def __init__(self, graph_def: Any) -> None:
        self.functions = {f.signature.name: f for f in graph_def.library.function}
        # name -> (position, NodeDef) per scope, built when a walk first enters the scope: the library also holds
        # the saver's and every other signature's functions, which the serving graph never calls
        self._scopes: dict[str, dict[str, tuple[int, Any]]] = {"": {n.name: (i, n) for i, n in enumerate(graph_def.node)}}
        self.nodes: dict[str, _Node] = {}
        self.pending: list[tuple[_Frame, str]] = []
        self.frames: dict[tuple[str, str], _Frame] = {}

    def scope(self, name: str) -> dict[str, tuple[int, Any]]:
        if name not in self._scopes:
            self._scopes[name] = {n.name: (i, n) for i, n in enumerate(self.functions[name].node_def)}
        return self._scopes[name]

    def resolve(self, frame: _Frame, ref: str) -> tuple[str, int] | None:
        """The flat (node id, output index) a tensor reference in ``frame`` reads, visiting what it needs."""
        while True:
            parts = ref.split(":")
            name = parts[0]
            # "node:1" at the top level, "node:output_name:1" inside a function
            last = parts[-1] if len(parts) > (2 if frame.scope else 1) else "0"
            index = int(last) if last.isdigit() else 0
            entry = self.scope(frame.scope).get(name)
            if entry is None:
                if frame.scope and name in frame.arg_names:
                    return frame.arg(frame.arg_names.index(name))
                return None
            node = entry[1]
            callee = node.attr["f"].func.name if node.op in _CALLS else ""
            if node.op in _TRANSPARENT:
                data = [r for r in node.input if not r.startswith("^")]
                pick = index if node.op == "IdentityN" else 0
                if pick < len(data):
                    ref = data[pick]
                    continue
            if callee in self.functions:
                child = self.frame(frame, name, node, callee)
                outs = self.functions[callee].signature.output_arg
                ret = self.functions[callee].ret.get(outs[index].name) if index < len(outs) else None
                if ret is None:  # a malformed library: the edge is dropped, not the picture
                    return None
                frame, ref = child, ret
                continue
            node_id = frame.prefix + name
            if node_id not in self.nodes:
                self.nodes[node_id] = _Node(node_id, node.op, (), _attrs(node), frame.scope, entry[0], name)
                self.pending.append((frame, name))
            return node_id, index

    def frame(self, parent: _Frame, name: str, node: Any, callee: str) -> _Frame:
        key = (parent.prefix, name)
        if key not in self.frames:
            refs = [r for r in node.input if not r.startswith("^")]
            self.frames[key] = _Frame(self, callee, parent.prefix + name + "/",
                                      [a.name for a in self.functions[callee].signature.input_arg], parent, refs)
        return self.frames[key]

    def run(self) -> None:
        while self.pending:
            frame, name = self.pending.pop()
            node = self.scope(frame.scope)[name][1]
            inputs = []
            for ref in node.input:
                if ref.startswith("^"):  # control edges order execution, they carry no value
                    continue
                src = self.resolve(frame, ref)
                if src is not None:
                    inputs.append(src)
            self.nodes[frame.prefix + name].inputs = tuple(inputs)


class _Frame:
    """One call of a function (or the top-level graph): where its arguments come from."""

    def __init__(self, flat: _Flattener, scope: str, prefix: str, arg_names: list[str], parent: _Frame | None,
                 arg_refs: list[str]) -> None:
        self.flat, self.scope, self.prefix, self.arg_names = flat, scope, prefix, arg_names
        self.parent, self.arg_refs = parent, arg_refs
        self.args: dict[int, tuple[str, int] | None] = {}

    def arg(self, i: int) -> tuple[str, int] | None:
        if i not in self.args:
            self.args[i] = None  # a cycle guard: an argument never reads itself
            if self.parent is not None and i < len(self.arg_refs):
                self.args[i] = self.flat.resolve(self.parent, self.arg_refs[i])
        return self.args[i]


def _pick_meta_graph(proto: Any) -> Any:
    """Exact {'serve'}, else one containing 'serve', else the first (what the rest of repair works from)."""
    for mg in proto.meta_graphs:
        if set(mg.meta_info_def.tags) == {"serve"}:
            return mg
    for mg in proto.meta_graphs:
        if "serve" in mg.meta_info_def.tags:
            return mg
    return proto.meta_graphs[0]


def _not_a_saved_model(path: Path) -> str:
    """Why ``path`` has no serving graph to draw, or "" when it is a SavedModel directory."""
    if path.is_dir():
        return "" if (path / "saved_model.pb").is_file() else f"{path.name} is a directory without saved_model.pb"
    if path.suffix == ".keras":
        return f"{path.name} is a Keras .keras file, not a SavedModel: it has no serving graph to draw"
    if path.suffix in (".h5", ".hdf5"):
        return f"{path.name} is a Keras HDF5 file, not a SavedModel: it has no serving graph to draw"
    if path.suffix == ".pb":
        return f"{path.name} is a frozen GraphDef, not a SavedModel: it has no signature to draw"
    return f"{path.name} is not a SavedModel directory"


def _read_side(path: Path, signature: str) -> tuple[_Side | None, str]:
    """The flattened serving graph of ``signature`` in the SavedModel at ``path``, or (None, why not)."""
    why = _not_a_saved_model(path)
    if why:
        return None, why
    from google.protobuf import message

    tf()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((path / "saved_model.pb").read_bytes())
    except (OSError, message.DecodeError) as exc:
        return None, f"{path.name}/saved_model.pb cannot be read: {exc}"
    if not proto.meta_graphs:
        return None, f"{path.name} has no meta graph"
    mg = _pick_meta_graph(proto)
    keys = frozenset(k for k in mg.signature_def if k != "__saved_model_init_op")
    if signature not in mg.signature_def:
        have = ", ".join(sorted(keys)) or "none"
        return None, f"{path.name} has no signature {signature!r} (it has: {have})"
    sig = mg.signature_def[signature]
    flat = _Flattener(mg.graph_def)
    top = _Frame(flat, "", "", [], None, [])
    outputs: list[str] = []
    inputs: list[str] = []
    io: dict[str, str] = {}
    for key, info in sorted(sig.outputs.items()):
        src = flat.resolve(top, info.name)
        if src is not None:
            outputs.append(src[0])
        io[f"output {key}"] = f"{_dtype(info.dtype)}{_shape_text(info.tensor_shape)} {info.name}"
    for key, info in sorted(sig.inputs.items()):
        src = flat.resolve(top, info.name)
        if src is not None:
            inputs.append(src[0])
        io[f"input {key}"] = f"{_dtype(info.dtype)}{_shape_text(info.tensor_shape)} {info.name}"
    flat.run()
    for node in flat.nodes.values():
        node.norm = _normalise(node.name)
    variables = frozenset(n.name for n in mg.graph_def.node if n.op in ("VarHandleOp", "VariableV2"))
    return _Side(flat.nodes, tuple(dict.fromkeys(inputs)), tuple(dict.fromkeys(outputs)),
                 frozenset(mg.meta_info_def.tags), keys, io, variables), ""


# --- matching -----------------------------------------------------------------------------------------------------

def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def _match(before: _Side, after: _Side) -> dict[str, str]:
    """after id -> before id for the nodes that are "the same node" in both graphs.

    By name first (normalised, with the op), then by structure: a node whose op and (already matched) inputs equal
    a before node's, so a re-traced graph whose every name changed still matches node for node. Last, nodes with
    the same op in the same place (the same matched input or consumer slot): these are the CHANGED candidates.
    """
    pairs: dict[str, str] = {}
    used: set[str] = set()

    def pair(a: str, b: str) -> None:
        pairs[a] = b
        used.add(b)

    groups_b: dict[tuple[str, str], list[str]] = defaultdict(list)
    groups_a: dict[tuple[str, str], list[str]] = defaultdict(list)
    for n in before.nodes.values():
        groups_b[(n.norm, n.op)].append(n.id)
    for n in after.nodes.values():
        groups_a[(n.norm, n.op)].append(n.id)
    for key, ids_a in groups_a.items():
        ids_b = groups_b.get(key, [])
        if len(ids_a) == len(ids_b):
            for a, b in zip(sorted(ids_a, key=_natural), sorted(ids_b, key=_natural), strict=True):
                pair(a, b)
    by_norm_b: dict[str, list[str]] = defaultdict(list)
    by_norm_a: dict[str, list[str]] = defaultdict(list)
    for n in before.nodes.values():
        if n.id not in used:
            by_norm_b[n.norm].append(n.id)
    for n in after.nodes.values():
        if n.id not in pairs:
            by_norm_a[n.norm].append(n.id)
    for norm, ids_a in by_norm_a.items():
        ids_b = by_norm_b.get(norm, [])
        if len(ids_a) == 1 and len(ids_b) == 1:
            pair(ids_a[0], ids_b[0])

    consumers_a = _consumers(after)
    consumers_b = _consumers(before)
    progress = True
    while progress:
        progress = False
        # structure: op + matched inputs (sources: op + attributes), unique on both sides
        keyed_b: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for n in before.nodes.values():
            if n.id not in used:
                keyed_b[(n.op, n.inputs) if n.inputs else (n.op, tuple(sorted(n.attrs.items())))].append(n.id)
        keyed_a: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for n in after.nodes.values():
            if n.id in pairs:
                continue
            if n.inputs:
                mapped = tuple((pairs.get(src), i) for src, i in n.inputs)
                if any(src is None for src, _ in mapped):
                    continue
                keyed_a[(n.op, mapped)].append(n.id)
            else:
                keyed_a[(n.op, tuple(sorted(n.attrs.items())))].append(n.id)
        for key, ids_a in keyed_a.items():
            ids_b = keyed_b.get(key, [])
            if len(ids_a) == 1 and len(ids_b) == 1:
                pair(ids_a[0], ids_b[0])
                progress = True
        if progress:
            continue
        # place: same op reading the same matched producer in the same slot, or feeding the same matched consumer
        for n in sorted(after.nodes.values(), key=lambda x: _natural(x.id)):
            if n.id in pairs:
                continue
            candidates: set[str] = set()
            for slot, (src, idx) in enumerate(n.inputs):
                b_src = pairs.get(src)
                if b_src is not None:
                    candidates |= {c for c, s in consumers_b.get((b_src, idx), []) if s == slot}
            for consumer, slot in consumers_a.get((n.id, 0), []):
                b_con = pairs.get(consumer)
                if b_con is not None and slot < len(before.nodes[b_con].inputs):
                    candidates.add(before.nodes[b_con].inputs[slot][0])
            fits = [c for c in candidates if c not in used and before.nodes[c].op == n.op]
            if len(fits) == 1:
                pair(n.id, fits[0])
                progress = True
    return pairs


def _consumers(side: _Side) -> dict[tuple[str, int], list[tuple[str, int]]]:
    table: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for n in side.nodes.values():
        for slot, src in enumerate(n.inputs):
            table[src].append((n.id, slot))
    return table


def _difference(a: _Node, b: _Node, pairs: dict[str, str]) -> str:
    """What differs between the matched nodes ``b`` (before) and ``a`` (after), in words; "" when nothing does."""
    notes: list[str] = []
    if a.op != b.op:
        notes.append(f"op {b.op} -> {a.op}")
    if len(a.inputs) != len(b.inputs):
        notes.append(f"{len(b.inputs)} inputs -> {len(a.inputs)}")
    else:
        for slot, ((src_a, idx_a), (src_b, idx_b)) in enumerate(zip(a.inputs, b.inputs, strict=True)):
            if pairs.get(src_a) != src_b or idx_a != idx_b:
                shown = src_a if idx_a == 0 else f"{src_a}:{idx_a}"
                notes.append(f"input {slot} now reads {shown}")
    for key in sorted(set(a.attrs) | set(b.attrs)):
        old, new = b.attrs.get(key, "-"), a.attrs.get(key, "-")
        if old != new:
            notes.append(f"{key} {old} -> {new}")
    return "; ".join(notes)


# --- cutting and drawing ------------------------------------------------------------------------------------------

def _neighbourhood(side: _Side, seeds: list[str], hops: int) -> list[str]:
    """``seeds`` and the nodes within ``hops`` edges of one (either direction), nearest first."""
    adjacent: dict[str, set[str]] = defaultdict(set)
    for n in side.nodes.values():
        for src, _ in n.inputs:
            adjacent[n.id].add(src)
            adjacent[src].add(n.id)
    order = list(dict.fromkeys(seeds))
    seen = set(order)
    frontier = list(order)
    for _ in range(hops):
        nxt: list[str] = []
        for node_id in frontier:
            for other in sorted(adjacent[node_id], key=_natural):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        order.extend(nxt)
        frontier = nxt
    return order


def _draw(side: _Side, label: str, states: dict[str, tuple[NodeState, str]], order: list[str],
          max_nodes: int) -> GraphSide:
    def drawn(node_id: str) -> DrawnNode:
        n = side.nodes[node_id]
        state, note = states.get(node_id, (NodeState.SAME, ""))
        return DrawnNode(n.id, n.op, state, note, n.scope, n.index)

    keep = order[:max_nodes]
    kept = set(keep)
    edges = tuple(DrawnEdge(src, n) for n in keep for src in dict.fromkeys(s for s, _ in side.nodes[n].inputs)
                  if src in kept)
    marked = tuple(drawn(i) for i in sorted(states, key=_natural))
    return GraphSide(label, tuple(drawn(i) for i in keep), edges, len(side.nodes), len(side.nodes) - len(keep), marked)


def _what_else_changed(before: _Side, after: _Side) -> str:
    """For a graph-identical fix: what the fix did change (tags, signature keys, the signature's I/O)."""
    said: list[str] = []
    if before.tags != after.tags:
        said.append(f"tags {{{', '.join(sorted(before.tags))}}} -> {{{', '.join(sorted(after.tags))}}}")
    if before.signature_keys != after.signature_keys:
        said.append(f"signature keys {', '.join(sorted(before.signature_keys))} -> {', '.join(sorted(after.signature_keys))}")
    for kind in ("input", "output"):
        keys_b = sorted(k.split(" ", 1)[1] for k in before.io if k.startswith(kind + " "))
        keys_a = sorted(k.split(" ", 1)[1] for k in after.io if k.startswith(kind + " "))
        if keys_b != keys_a:
            said.append(f"{kind} keys {', '.join(keys_b)} -> {', '.join(keys_a)}")
    for key in sorted(set(before.io) & set(after.io)):
        old, new = before.io[key].split(" ")[0], after.io[key].split(" ")[0]
        if old != new:  # dtype and shape; tensor names change with every export
            said.append(f"{key} {old} -> {new}")
    gone, new_vars = sorted(before.variables - after.variables, key=_natural), sorted(after.variables - before.variables)
    if gone or new_vars:
        shown = [f"-{v}" for v in gone[:4]] + [f"+{v}" for v in new_vars[:4]]
        more = len(gone) + len(new_vars) - len(shown)
        said.append(f"variables {len(before.variables)} -> {len(after.variables)} ({', '.join(shown)}"
                    + (f", {more} more)" if more else ")"))
    return ", ".join(said) or "nothing in the serving graph, its signature or its variables (the checkpoint or metadata)"


def graph_change(before: Path, after: Path, *, signature: str = "serving_default", hops: int = 2,
                 max_nodes: int = 80) -> GraphChange:
    """The serving graph of ``signature`` before and after a repair, cut to the changed neighbourhood.

    Static: both ``saved_model.pb`` protos are parsed, never loaded or run (a model is untrusted). The serving graph
    is the signature's ops in the MetaGraph (exact ``{'serve'}``, else one containing ``serve``, else the first),
    with every (Stateful)PartitionedCall replaced by the function it calls; a node's id is the path of call nodes
    that led to it plus its name (``StatefulPartitionedCall_1/StatefulPartitionedCall/sequential/dense/MatMul``).
    Nodes are matched by normalised name and op, then by structure, so a re-trace that renamed everything matches
    node for node. A side that is not a SavedModel (or lacks the signature) is None and ``notes`` says why.
    """
    side_b, why_b = _read_side(before, signature)
    side_a, why_a = _read_side(after, signature)
    notes = tuple(f"{name}: {why}" for name, why in (("original", why_b), ("repaired", why_a)) if why)
    label_b, label_a = f"original: {signature}", f"repaired: {signature}"
    if side_b is None or side_a is None:
        drawn_b = _draw(side_b, label_b, {}, _neighbourhood(side_b, [*side_b.inputs, *side_b.outputs], hops),
                        max_nodes) if side_b else None
        drawn_a = _draw(side_a, label_a, {}, _neighbourhood(side_a, [*side_a.inputs, *side_a.outputs], hops),
                        max_nodes) if side_a else None
        missing = "original" if side_b is None else "repaired model"
        if side_b is None and side_a is None:
            missing = "original nor the repaired model"
        summary = f"no graph comparison: the {missing} has no readable {signature!r} serving graph"
        return GraphChange(drawn_b, drawn_a, 0, 0, 0, hops, summary, notes)

    pairs = _match(side_b, side_a)
    matched_b = set(pairs.values())
    states_a: dict[str, tuple[NodeState, str]] = {}
    states_b: dict[str, tuple[NodeState, str]] = {}
    for n in side_a.nodes.values():
        b_id = pairs.get(n.id)
        if b_id is None:
            states_a[n.id] = (NodeState.ADDED, "only in the repaired graph")
            continue
        note = _difference(n, side_b.nodes[b_id], pairs)
        if note:
            states_a[n.id] = (NodeState.CHANGED, note)
            states_b[b_id] = (NodeState.CHANGED, note)
    for n in side_b.nodes.values():
        if n.id not in matched_b:
            states_b[n.id] = (NodeState.REMOVED, "only in the original graph")
    added = sum(1 for s, _ in states_a.values() if s is NodeState.ADDED)
    removed = sum(1 for s, _ in states_b.values() if s is NodeState.REMOVED)
    changed = sum(1 for s, _ in states_a.values() if s is NodeState.CHANGED)
    if not states_a and not states_b:
        order_b = _neighbourhood(side_b, [*side_b.inputs, *side_b.outputs], hops)
        order_a = _neighbourhood(side_a, [*side_a.inputs, *side_a.outputs], hops)
        summary = f"graph unchanged: the fix changed {_what_else_changed(side_b, side_a)}"
    else:
        # marked nodes first (so the cap never drops one before a neighbour), then their neighbourhood
        order_b = _neighbourhood(side_b, sorted(states_b, key=_natural), hops)
        order_a = _neighbourhood(side_a, sorted(states_a, key=_natural), hops)
        summary = f"{_count(added, 'node')} added, {removed} removed, {changed} changed ({hops} hops shown)"
    return GraphChange(_draw(side_b, label_b, states_b, order_b, max_nodes),
                       _draw(side_a, label_a, states_a, order_a, max_nodes), added, removed, changed, hops, summary, notes)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
