"""Recognising what the user handed us, and reading a SavedModel's protos without running it.

Everything here is static: ``saved_model.pb`` is parsed as a protobuf and walked. No graph is
executed and no variable is read, so this is cheap and safe on untrusted input. Bad input raises
``BadInput`` with the one line the user sees.
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from repair.core.errors import BadInput, os_problem
from repair.core.tfenv import tf

SERVE = "serve"
SERVING_DEFAULT = "serving_default"
INIT_OP_KEY = "__saved_model_init_op"

_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# Ops that never make a graph output worth serving (bookkeeping, saving, initialisation).
_BOOKKEEPING_OPS = frozenset(
    {
        "NoOp", "SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin", "Const",
        "Assign", "AssignVariableOp", "VarHandleOp", "VariableV2", "VarIsInitializedOp", "ReadVariableOp",
        "Placeholder", "PlaceholderWithDefault", "Pack", "StaticRegexFullMatch", "Select",
        "SelectV2", "IsVariableInitialized", "Fill",
    }
)


class ArtifactKind(enum.Enum):
    """What kind of file or directory the user passed."""

    SAVED_MODEL = "saved-model"
    KERAS_V3 = "keras"  # a .keras zip (Keras 3)
    H5 = "h5"  # a Keras HDF5 file (Keras 3 or tf_keras)
    FROZEN_GRAPH = "frozen-graph"  # a serialized GraphDef with constants for weights (TF1 freeze_graph)


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature: key, graph tensor name, dtype name and shape."""

    key: str
    tensor: str
    dtype: str  # tf.DType name, e.g. "float32"
    shape: tuple[int | None, ...] | None  # None: unknown rank


@dataclass(frozen=True)
class SignatureInfo:
    key: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    method_name: str = ""


@dataclass(frozen=True)
class TracedFunction:
    """A tf.function restored from the object graph, reachable from the root by ``path``."""

    path: tuple[str, ...]
    concrete_functions: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class GraphNodeInfo:
    """A TF1 graph node that can serve as an input (placeholder) or output (sink)."""

    name: str
    op: str
    dtype: str
    shape: tuple[int | None, ...] | None


@dataclass(frozen=True)
class MetaGraphInfo:
    tags: frozenset[str]
    signatures: dict[str, SignatureInfo]
    traced_functions: tuple[TracedFunction, ...]
    has_object_graph: bool
    op_counts: Counter[str]  # graph nodes plus every function in the library
    placeholders: tuple[GraphNodeInfo, ...]  # TF1: top-level graph inputs
    sinks: tuple[GraphNodeInfo, ...]  # TF1: top-level nodes nobody consumes
    object_child_names: frozenset[str] = field(default_factory=frozenset)
    has_variables: bool = False
    # signature key -> variables its outputs read that neither the restore op nor an initializer assigns
    unbound_reads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # variable names as saved ('prune_low_magnitude_dense/pruning_step'): object-graph variables, else graph nodes
    variable_names: frozenset[str] = field(default_factory=frozenset)

    @property
    def tag_text(self) -> str:
        return "{" + ", ".join(repr(t) for t in sorted(self.tags)) + "}"


@dataclass(frozen=True)
class SavedModelInfo:
    path: Path
    meta_graphs: tuple[MetaGraphInfo, ...]
    keras_metadata: bytes  # tf_keras' keras_metadata.pb, b"" when absent
    has_variables_index: bool
    string_pool: tuple[bytes, ...] = ()  # vocabulary-like strings (constants, asset lines) for parity inputs

    def serve_graph(self) -> MetaGraphInfo | None:
        """The meta graph whose tag set is exactly {'serve'} (what the converter and Serving load)."""
        for mg in self.meta_graphs:
            if mg.tags == frozenset({SERVE}):
                return mg
        return None

    def best_graph(self) -> MetaGraphInfo:
        """The meta graph to work from: exact serve, else one containing serve, else the first."""
        exact = self.serve_graph()
        if exact is not None:
            return exact
        for mg in self.meta_graphs:
            if SERVE in mg.tags:
                return mg
        return self.meta_graphs[0]


def detect_kind(path: Path) -> ArtifactKind:
    """Classify the user's path, or raise BadInput with one clear line."""
    if not path.exists():
        raise BadInput(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return ArtifactKind.SAVED_MODEL
        if not any(path.iterdir()):
            raise BadInput(f"{path}: empty directory, not a SavedModel (expected saved_model.pb inside)")
        inner = sorted(p.name for p in path.iterdir() if p.suffix in (".keras", ".h5"))
        hint = f"; did you mean {path / inner[0]}?" if inner else ""
        raise BadInput(f"{path}: not a SavedModel (no saved_model.pb inside){hint}")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:  # unreadable (mode 000, another user's file): the user's problem, named with the path
        raise os_problem(exc, "cannot read the model") from None
    if head.startswith(_ZIP_MAGIC):
        return ArtifactKind.KERAS_V3
    if head.startswith(_HDF5_MAGIC):
        return ArtifactKind.H5
    if path.name == "saved_model.pb":
        raise BadInput(f"{path}: pass the SavedModel directory ({path.parent}), not the .pb file inside it")
    if path.suffix == ".pb" and read_graph_def(path) is not None:
        return ArtifactKind.FROZEN_GRAPH
    raise BadInput(f"{path}: neither a SavedModel directory, a Keras .keras/.h5 file, nor a frozen GraphDef .pb")


def read_graph_def(path: Path) -> object | None:
    """A frozen GraphDef from a .pb file, or None when the bytes are not one with at least one node."""
    from google.protobuf import message

    tf()
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except (message.DecodeError, ValueError):
        return None
    if not graph_def.node or not all(n.op for n in graph_def.node):
        return None
    return graph_def


def _shape(proto: object) -> tuple[int | None, ...] | None:
    if proto.unknown_rank:  # type: ignore[attr-defined]
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in proto.dim)  # type: ignore[attr-defined]


def _dtype_name(enum_value: int) -> str:
    return tf().dtypes.as_dtype(enum_value).name if enum_value else "invalid"


def _tensor_info(key: str, info: object) -> TensorInfo:
    return TensorInfo(
        key=key,
        tensor=info.name,  # type: ignore[attr-defined]
        dtype=_dtype_name(info.dtype),  # type: ignore[attr-defined]
        shape=_shape(info.tensor_shape),  # type: ignore[attr-defined]
    )


def _signatures(meta_graph: object) -> dict[str, SignatureInfo]:
    out: dict[str, SignatureInfo] = {}
    for key, sig in meta_graph.signature_def.items():  # type: ignore[attr-defined]
        if key == INIT_OP_KEY:
            continue
        out[key] = SignatureInfo(
            key=key,
            inputs=tuple(_tensor_info(k, v) for k, v in sorted(sig.inputs.items())),
            outputs=tuple(_tensor_info(k, v) for k, v in sorted(sig.outputs.items())),
            method_name=sig.method_name,
        )
    return out


def _traced_functions(object_graph: object) -> tuple[tuple[TracedFunction, ...], frozenset[str]]:
    """Restored tf.functions with their paths from the root (breadth first, first path wins)."""
    nodes = object_graph.nodes  # type: ignore[attr-defined]
    if not nodes:
        return (), frozenset()
    paths: dict[int, tuple[str, ...]] = {0: ()}
    queue = [0]
    names: set[str] = set()
    while queue:
        node_id = queue.pop(0)
        for child in nodes[node_id].children:
            names.add(child.local_name)
            if child.node_id not in paths:
                paths[child.node_id] = paths[node_id] + (child.local_name,)
                queue.append(child.node_id)
    found = []
    for node_id, path in sorted(paths.items(), key=lambda kv: (len(kv[1]), kv[1])):
        node = nodes[node_id]
        if node.WhichOneof("kind") == "function":
            found.append(TracedFunction(path=path, concrete_functions=tuple(node.function.concrete_functions)))
    return tuple(found), frozenset(names)


def _node_shape(node: object) -> tuple[int | None, ...] | None:
    attrs = node.attr  # type: ignore[attr-defined]
    if "shape" in attrs:
        return _shape(attrs["shape"].shape)
    if "_output_shapes" in attrs and attrs["_output_shapes"].list.shape:
        return _shape(attrs["_output_shapes"].list.shape[0])
    return None


def _node_dtype(node: object) -> str:
    attrs = node.attr  # type: ignore[attr-defined]
    for key in ("dtype", "T", "out_type"):
        if key in attrs and attrs[key].type:
            return _dtype_name(attrs[key].type)
    return "unknown"


def graph_io_nodes(graph_def: object) -> tuple[tuple[GraphNodeInfo, ...], tuple[GraphNodeInfo, ...]]:
    """TF1 graphs: placeholders, and nodes whose outputs nothing consumes (candidate outputs)."""
    consumed: set[str] = set()
    for node in graph_def.node:  # type: ignore[attr-defined]
        for inp in node.input:
            consumed.add(inp.lstrip("^").split(":")[0])
    placeholders, sinks = [], []
    for node in graph_def.node:  # type: ignore[attr-defined]
        info = GraphNodeInfo(node.name, node.op, _node_dtype(node), _node_shape(node))
        if node.op in ("Placeholder", "PlaceholderWithDefault"):
            placeholders.append(info)
        elif node.name not in consumed and node.op not in _BOOKKEEPING_OPS and not _is_bookkeeping_name(node.name):
            sinks.append(info)
    return tuple(placeholders), tuple(sinks)


def _is_bookkeeping_name(name: str) -> bool:
    head = name.split("/")[0]
    return head in ("save", "init", "init_all_tables", "legacy_init_op", "report_uninitialized_variables") or (
        head.startswith("save_") or head.startswith("init_")
    )


def _op_counts(meta_graph: object) -> Counter[str]:
    counts: Counter[str] = Counter()
    graph_def = meta_graph.graph_def  # type: ignore[attr-defined]
    counts.update(node.op for node in graph_def.node)
    for fn in graph_def.library.function:
        counts.update(node.op for node in fn.node_def)
    return counts


_VARIABLE_OPS = ("VarHandleOp", "VariableV2", "Variable")


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _unbound_reads(meta_graph: object) -> dict[str, tuple[str, ...]]:
    """Per signature: the resource variables its outputs read that nothing in the TF1 view ever assigns.

    The converter and TF Serving load a SavedModel into a TF1 session: they run the saver's restore op
    and the initializers, then the signature. A Keras 3 model saved with ``tf.saved_model.save``
    restores the checkpoint into fresh ``Variable``, ``Variable_1``, ... handles while its signature
    reads ``dense/kernel``, ... (docs/facts.md 1i): those are assigned by nothing, so the .tflite converts and
    outputs garbage. This is that check, read off the graph: no conversion needed.
    """
    graph_def = meta_graph.graph_def  # type: ignore[attr-defined]
    nodes = {n.name: n for n in graph_def.node}
    handles = {name for name, n in nodes.items() if n.op == "VarHandleOp"}
    if not handles:
        return {}
    bound = {_node_name(n.input[0]) for n in graph_def.node if n.op == "AssignVariableOp" and n.input}
    restore = nodes.get(_node_name(meta_graph.saver_def.restore_op_name))  # type: ignore[attr-defined]
    if restore is not None:  # TF2: one call of the restore function, taking every handle it assigns
        bound.update(_node_name(i) for i in restore.input if _node_name(i) in handles)
    found: dict[str, tuple[str, ...]] = {}
    for key, sig in meta_graph.signature_def.items():  # type: ignore[attr-defined]
        if key == INIT_OP_KEY:
            continue
        seen: set[str] = set()
        todo = [_node_name(t.name) for t in sig.outputs.values()]
        while todo:
            name = todo.pop()
            if name in seen or name not in nodes:
                continue
            seen.add(name)
            if name not in handles:
                todo.extend(_node_name(i) for i in nodes[name].input if not i.startswith("^"))
        unbound = sorted(h for h in seen & handles if h not in bound)
        if unbound:
            found[key] = tuple(unbound)
    return found


_POOL_LIMIT = 256


def _looks_like_vocab(value: bytes) -> bool:
    return 0 < len(value) <= 64 and b"/" not in value and b"ATTRIBUTES" not in value and b"CHECKPOINTABLE" not in value


def _string_pool(path: Path, proto: object) -> tuple[bytes, ...]:
    """Strings the model itself knows: lines of vocabulary assets, then string constants in its graphs."""
    from tensorflow.python.framework import tensor_util

    pool: list[bytes] = []
    assets = path / "assets"
    if assets.is_dir():
        for asset in sorted(assets.iterdir()):
            if asset.is_file() and asset.stat().st_size < 10_000_000:
                pool.extend(line.strip() for line in asset.read_bytes().splitlines()[:_POOL_LIMIT])
    for mg in proto.meta_graphs:  # type: ignore[attr-defined]
        nodes = list(mg.graph_def.node) + [n for fn in mg.graph_def.library.function for n in fn.node_def]
        for node in nodes:
            if len(pool) >= _POOL_LIMIT:
                break
            if node.op == "Const" and node.attr["dtype"].type == 7:  # DT_STRING
                try:
                    values = tensor_util.MakeNdarray(node.attr["value"].tensor).reshape(-1)[:_POOL_LIMIT]
                except (ValueError, TypeError):
                    continue
                pool.extend(v for v in values.tolist() if isinstance(v, bytes))
    unique = dict.fromkeys(v for v in pool if _looks_like_vocab(v))
    return tuple(unique)[:_POOL_LIMIT]


def _variable_names(mg: object) -> frozenset[str]:
    """Names of the saved variables: the object graph's (TF2), or the graph's variable nodes (TF1)."""
    names = {n.variable.name for n in mg.object_graph_def.nodes if n.WhichOneof("kind") == "variable"}  # type: ignore[attr-defined]
    names.update(n.attr["shared_name"].s.decode() or n.name for n in mg.graph_def.node if n.op in _VARIABLE_OPS)  # type: ignore[attr-defined]
    return frozenset(names)


def read_saved_model(path: Path) -> SavedModelInfo:
    """Parse ``saved_model.pb`` (or .pbtxt) into SavedModelInfo, or raise BadInput."""
    from google.protobuf import message, text_format

    tf()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    pb, pbtxt = path / "saved_model.pb", path / "saved_model.pbtxt"
    _check_readable(path)
    try:
        if pb.is_file():
            proto.ParseFromString(pb.read_bytes())
        else:
            text_format.Parse(pbtxt.read_text(), proto)
    except OSError as exc:
        raise os_problem(exc, "cannot read the model") from None
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        name = pb.name if pb.is_file() else pbtxt.name
        raise BadInput(f"{path}: {name} is corrupt or truncated and cannot be parsed ({type(exc).__name__})") from None
    if not proto.meta_graphs:
        raise BadInput(f"{path}: saved_model.pb holds no meta graph (corrupt, truncated or empty)")

    meta_graphs = []
    for mg in proto.meta_graphs:
        traced, child_names = _traced_functions(mg.object_graph_def)
        placeholders, sinks = graph_io_nodes(mg.graph_def)
        ops = _op_counts(mg)
        meta_graphs.append(
            MetaGraphInfo(
                tags=frozenset(mg.meta_info_def.tags),
                signatures=_signatures(mg),
                traced_functions=traced,
                has_object_graph=len(mg.object_graph_def.nodes) > 0,
                op_counts=ops,
                placeholders=placeholders,
                sinks=sinks,
                object_child_names=child_names,
                has_variables=any(ops[o] for o in _VARIABLE_OPS),
                unbound_reads=_unbound_reads(mg),
                variable_names=_variable_names(mg),
            )
        )
    keras_meta = path / "keras_metadata.pb"
    info = SavedModelInfo(
        path=path,
        meta_graphs=tuple(meta_graphs),
        keras_metadata=keras_meta.read_bytes() if keras_meta.is_file() else b"",
        has_variables_index=(path / "variables" / "variables.index").is_file(),
        string_pool=_string_pool(path, proto),
    )
    if any(mg.has_variables for mg in info.meta_graphs) and not info.has_variables_index:
        raise BadInput(f"{path}: the graph has variables but variables/variables.index is missing (incomplete copy?)")
    if info.has_variables_index:
        _check_shards(path / "variables")
        _check_index(path / "variables")
    return info


def _check_readable(path: Path) -> None:
    """Every file and folder of the SavedModel can be read: one that cannot (mode 000, another user's) is named now,
    with its path, instead of surfacing later as a TensorFlow PermissionDeniedError inside a "failed fix"."""

    def fail(exc: OSError) -> None:
        raise os_problem(exc, "cannot read the model")

    for root, _dirs, files in os.walk(path, onerror=fail):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb"):
                    pass
            except OSError as exc:
                fail(exc)


def _check_index(variables: Path) -> None:
    """variables/variables.index must be a readable checkpoint index (a corrupt one made the converter fail with a
    DataLossError that read as "the catalog cannot fix converter-error"). Reading it costs milliseconds."""
    from tensorflow.python.training import py_checkpoint_reader

    try:
        py_checkpoint_reader.NewCheckpointReader(str(variables / "variables"))
    except Exception as exc:  # TF raises its OpError subclasses (DataLossError, ...) and plain OpError here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        index = str(variables / "variables.index")
        first = first.replace(f" ({index})", "").replace(index, "variables.index").strip(" .")
        raise BadInput(f"{variables.parent}: variables/variables.index is corrupt ({first[:200]})") from None


def _check_shards(variables: Path) -> None:
    """Every variables.data-0000i-of-0000N shard the index implies must be there."""
    import re

    shards = sorted(variables.glob("variables.data-*-of-*"))
    totals = {int(m.group(1)) for p in shards if (m := re.search(r"-of-(\d+)$", p.name))}
    if not shards:
        raise BadInput(f"{variables.parent}: variables/variables.data-* is missing (only the index is there): "
                       "the SavedModel is incomplete")
    expected = max(totals) if totals else len(shards)
    if len(shards) < expected:
        raise BadInput(f"{variables.parent}: {expected - len(shards)} of {expected} variables.data shards are missing: "
                       "the SavedModel is incomplete")
