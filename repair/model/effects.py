"""Side effects outside the model, found statically before any graph of the user's model runs.

A SavedModel is a program: loading it runs its initializers (TF2 restored resources' ``_initialize``, TF1
``main_op``/``legacy_init_op``), and every reference, parity or serving-loader run executes its signatures. An
untrusted model can read, write or list files there (``tf.io.write_file``, ``tf.print(output_stream="file://...")``,
tf.data file readers, a checkpoint restore from a foreign path), run Python (``py_func``) or talk to the network.
This module reads the protos only (``saved_model.pb`` or a frozen GraphDef ``.pb``; nothing is loaded or run), walks
every graph node and every function reachable from it and from the object graph (call ops, If/While/Case branches,
any func-typed attr or list of funcs), and reports each op with an effect outside the model.

What is allowed without ``--allow-side-effects`` (the model's own state, measured harmless to the machine):
variables, hash tables, random ops, TensorArrays, in-memory tf.data, control flow, assertions; ``tf.print`` to
stderr/stdout/the log (a print reaches the terminal only; it cannot touch a file); the saver's restore of the
model's own variables (its prefix is the ``saver_def`` filename tensor, which the loader feeds with the model's
``variables/`` path); a text-file table initialised from the model's own ``assets/`` file (its filename is an
asset tensor of ``asset_file_def`` or an object-graph asset captured by the initializer).

Measured with TF 2.21 (marker-writing payloads): ``TFLiteConverter.from_saved_model`` itself runs the initializers
(a TF2 resource ``_initialize`` and a TF1 ``main_op`` both wrote their marker before ``convert()`` was called), but
neither it nor ``convert()`` runs a signature's ops (``tf.io.write_file`` / ``tf.print`` to a file in
``serving_default`` wrote nothing), and ``convert()`` does not constant-fold ``ReadFile`` of a constant path (it stays
an unsupported op). So conversion is safe exactly when no effect is on the load path: ``Effect.at_load``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repair.core.errors import BadInput, Refused
from repair.core.tfenv import tf
from repair.model.artifact import INIT_OP_KEY, ArtifactKind, read_graph_def

FLAG = "--allow-side-effects"

# Stateful ops (TensorFlow's registry says is_stateful) that only touch the model's own state: variables, tables,
# random generators, TensorArrays, in-memory tf.data, control flow. Everything stateful outside this list is reported.
_HARMLESS_STATEFUL = frozenset({
    # variables
    "VarHandleOp", "_VarHandlesOp", "VarIsInitializedOp", "ReadVariableOp", "_ReadVariablesOp", "AssignVariableOp",
    "AssignAddVariableOp", "AssignSubVariableOp", "Variable", "VariableV2", "TemporaryVariable", "DestroyResourceOp",
    "VariableShape", "ResourceGather", "ResourceGatherNd", "ResourceStridedSliceAssign", "DisableCopyOnRead",
    "ResourceScatterAdd", "ResourceScatterDiv", "ResourceScatterMax", "ResourceScatterMin", "ResourceScatterMul",
    "ResourceScatterNdAdd", "ResourceScatterNdMax", "ResourceScatterNdMin", "ResourceScatterNdSub",
    "ResourceScatterNdUpdate", "ResourceScatterSub", "ResourceScatterUpdate", "ResourceCountUpTo",
    "IsResourceHandleRefCounting",
    # control flow and calls (their functions are scanned themselves)
    "If", "While", "Case", "StatefulPartitionedCall", "_If", "_While", "_Arg", "_Retval", "_DeviceArg",
    "_DeviceRetval",
    # lookup tables (a text-file initializer is checked on its own: it reads a file)
    "HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2", "MutableHashTableOfTensors",
    "MutableHashTableOfTensorsV2", "MutableDenseHashTable", "MutableDenseHashTableV2", "AnonymousHashTable",
    "AnonymousMutableHashTable", "AnonymousMutableHashTableOfTensors", "AnonymousMutableDenseHashTable",
    "LookupTableFindV2", "LookupTableImportV2", "LookupTableExportV2", "LookupTableInsertV2", "LookupTableRemoveV2",
    "LookupTableSizeV2", "InitializeTableV2", "InitializeTableFromDataset",
    # random numbers
    "RandomUniform", "RandomStandardNormal", "RandomUniformInt", "TruncatedNormal", "Multinomial",
    "ParameterizedTruncatedNormal", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "RandomShuffle", "RandomCrop",
    "StatefulRandomBinomial", "StatefulStandardNormal", "StatefulStandardNormalV2", "StatefulTruncatedNormal",
    "StatefulUniform", "StatefulUniformFullInt", "StatefulUniformInt", "RngReadAndSkip", "RngSkip",
    "NonDeterministicInts", "AnonymousSeedGenerator", "AnonymousRandomSeedGenerator", "DummySeedGenerator",
    "DeleteSeedGenerator", "DeleteRandomSeedGenerator", "StatelessRandomGetAlg", "SampleDistortedBoundingBox",
    "SampleDistortedBoundingBoxV2", "AllCandidateSampler", "LogUniformCandidateSampler", "UniformCandidateSampler",
    "LearnedUnigramCandidateSampler", "ThreadUnsafeUnigramCandidateSampler",
    # printing to the process's own streams (PrintV2 is checked on its own: it can print to a file), assertions
    "Print", "Assert", "CheckNumerics", "CheckNumericsV2",
    # TensorArrays, stacks, sparse maps, mutexes: in-process containers
    "TensorArray", "TensorArrayV2", "TensorArrayV3", "TensorArrayCloseV3", "TensorArrayConcatV3",
    "TensorArrayGatherV3", "TensorArrayGrad", "TensorArrayGradV2", "TensorArrayGradV3", "TensorArrayGradWithShape",
    "TensorArrayReadV3", "TensorArrayScatterV3", "TensorArraySizeV3", "TensorArraySplitV3", "TensorArrayWriteV3",
    "Stack", "StackV2", "StackCloseV2", "StackPopV2", "StackPushV2", "AddSparseToTensorsMap",
    "AddManySparseToTensorsMap", "TakeManySparseFromTensorsMap", "MutexV2", "MutexLock", "ConsumeMutexLock",
    # in-memory tf.data (file readers, caches, snapshots and services are not here)
    "TensorDataset", "TensorSliceDataset", "SparseTensorSliceDataset", "RangeDataset", "RandomDataset",
    "RandomDatasetV2", "ExperimentalRandomDataset", "AnonymousIterator", "AnonymousIteratorV2", "AnonymousIteratorV3",
    "Iterator", "IteratorV2", "MakeIterator", "IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional",
    "DeleteIterator", "ReduceDataset", "DatasetToSingleElement", "ShuffleDatasetV2", "ShuffleDatasetV3",
    "ShuffleAndRepeatDatasetV2", "AnonymousMemoryCache", "DummyMemoryCache", "DeleteMemoryCache",
    "DummyIterationCounter", "GlobalShuffleDataset", "ListDataset", "GeneratorDataset", "GroupByReducerDataset",
    "ExperimentalGroupByReducerDataset",
    # compute kernels the registry marks stateful for scheduling reasons
    "CudnnRNN", "CudnnRNNV2", "CudnnRNNV3", "XlaCallModule", "GuaranteeConst", "Timestamp", "DeviceIndex",
    "GraphDefVersion", "Empty", "DeepCopy", "IsTensorFloat32Enabled", "SyncDevice",
})

# Ops the registry does not call stateful that still reach outside the model.
_FILE_OPS = {
    "ReadFile": "reads a file", "MatchingFiles": "lists files", "ImmutableConst": "memory-maps a file",
    "GenerateVocabRemapping": "reads vocabulary files", "CacheDataset": "caches a dataset to a file",
    "SnapshotDataset": "writes/reads dataset snapshot files", "SnapshotDatasetV2": "writes/reads dataset snapshot files",
    "SnapshotChunkDataset": "reads snapshot files", "DatasetFromGraph": "runs a graph held in a tensor",
    "RegisterDataset": "contacts a tf.data service", "RegisterDatasetV2": "contacts a tf.data service",
}
# Known stateful effects, named better than "stateful op".
_DESCRIBED = {
    "WriteFile": "writes a file", "PyFunc": "runs Python (py_func)", "PyFuncStateless": "runs Python (py_func)",
    "EagerPyFunc": "runs Python (py_function)", "TFRecordDataset": "reads files (tf.data)",
    "TFRecordDatasetV2": "reads files (tf.data)", "TextLineDataset": "reads files (tf.data)",
    "FixedLengthRecordDataset": "reads files (tf.data)", "FixedLengthRecordDatasetV2": "reads files (tf.data)",
    "CSVDataset": "reads files (tf.data)", "CSVDatasetV2": "reads files (tf.data)",
    "ExperimentalCSVDataset": "reads files (tf.data)", "LMDBDataset": "reads files (tf.data)",
    "MatchingFilesDataset": "lists files (tf.data)", "ExperimentalMatchingFilesDataset": "lists files (tf.data)",
    "SqlDataset": "opens a database", "ExperimentalSqlDataset": "opens a database", "LoadDataset": "reads files",
    "SaveDataset": "writes files", "SaveDatasetV2": "writes files", "DatasetToTFRecord": "writes files",
    "CacheDatasetV2": "caches a dataset to a file", "CreateSummaryFileWriter": "writes summary files",
    "CreateSummaryDbWriter": "writes a summary database", "RpcClient": "contacts a network server",
    "RpcServer": "starts a network server", "RpcCall": "contacts a network server",
}
_SAVER_OPS = frozenset({"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"})
_TEXT_TABLE_INIT = frozenset({"InitializeTableFromTextFile", "InitializeTableFromTextFileV2"})
_PRINT_STREAMS = frozenset({"stderr", "stdout", "log(info)", "log(warning)", "log(error)"})
_CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
# Ops a path flows through unchanged, or joined with constant pieces (the saver's "_temp/part" suffix).
_PATH_PASS = frozenset({"Identity", "IdentityN", "StringJoin", "ShardedFilename", "Pack", "Snapshot"})
_TF1_INIT_COLLECTIONS = ("saved_model_main_op", "saved_model_legacy_init_op", "main_op", "legacy_init_op",
                         "table_initializer", "init_op", "local_init_op")


@dataclass(frozen=True)
class Effect:
    """One op with an effect outside the model: its type, node name, the function it is in, what it does."""

    op: str
    node: str
    function: str  # "" for the top-level graph
    what: str
    at_load: bool  # on the load path (initializers, restore): runs when the model is merely loaded or converted

    def where(self) -> str:
        return f"function {self.function}" if self.function else "the top-level graph"

    def describe(self) -> str:
        return f"{self.op} '{self.node}' in {self.where()} ({self.what}{', runs at load' if self.at_load else ''})"


def _node(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _funcs_in(node: Any) -> Iterator[str]:
    """Function names a node calls: any func-typed attr or list of funcs (f, then_branch, body, branches, ...)."""
    for value in node.attr.values():
        if value.HasField("func") and value.func.name:
            yield value.func.name
        if value.HasField("list"):
            yield from (f.name for f in value.list.func if f.name)


@functools.cache
def _op_def(op: str) -> Any:
    from tensorflow.python.framework import op_def_registry

    tf()
    return op_def_registry.get(op)


class _Scanner:
    """The graph, its function library and what binds function arguments, for one meta graph or GraphDef."""

    def __init__(self, graph_def: Any, meta_graph: Any | None = None) -> None:
        self.graph = {n.name: n for n in graph_def.node}
        self.functions = {f.signature.name: f for f in graph_def.library.function}
        self.fnodes = {name: {n.name: n for n in f.node_def} for name, f in self.functions.items()}
        self.assets: set[str] = set()
        self.saver_filename = ""
        self.captures: dict[str, list[str]] = {}  # function -> kinds of the object-graph objects it captures
        if meta_graph is not None:
            self.assets = {_node(a.tensor_info.name) for a in meta_graph.asset_file_def}
            self.saver_filename = _node(meta_graph.saver_def.filename_tensor_name)
            nodes = meta_graph.object_graph_def.nodes
            for name, cf in meta_graph.object_graph_def.concrete_functions.items():
                self.captures[name] = [nodes[i].WhichOneof("kind") if i < len(nodes) else "?" for i in cf.bound_inputs]
        # function -> [(caller scope, call node)] for argument binding
        self.callers: dict[str, list[tuple[str, Any]]] = {}
        for scope, nodes_ in [("", self.graph), *self.fnodes.items()]:
            for node in nodes_.values():
                for fn in self._callees(node):
                    self.callers.setdefault(fn, []).append((scope, node))

    def _callees(self, node: Any) -> list[str]:
        found = list(_funcs_in(node))
        if node.op in self.functions:
            found.append(node.op)
        return [f for f in found if f in self.functions]

    def reach(self, scope_nodes: Iterable[Any], extra: Iterable[str] = ()) -> set[str]:
        """Functions reachable from ``scope_nodes`` (and the ``extra`` function names) through any call."""
        todo = [f for n in scope_nodes for f in self._callees(n)] + [f for f in extra if f in self.functions]
        seen: set[str] = set()
        while todo:
            fn = todo.pop()
            if fn in seen:
                continue
            seen.add(fn)
            todo.extend(f for n in self.functions[fn].node_def for f in self._callees(n))
        return seen

    def upstream(self, names: Iterable[str]) -> set[str]:
        """Top-level nodes that ``names`` depend on (data and control inputs), themselves included."""
        todo, seen = [_node(n) for n in names], set()
        while todo:
            name = todo.pop()
            if name in seen or name not in self.graph:
                continue
            seen.add(name)
            todo.extend(_node(i) for i in self.graph[name].input)
        return seen

    # --- where a path-like input comes from -------------------------------------------------------------------
    def sources(self, scope: str, tensor: str, depth: int = 0) -> set[str]:
        """Leaves a string input is computed from: 'asset', 'saver', 'const:<value>' or 'other:<what>'."""
        if depth > 40:
            return {"other:too deep"}
        nodes = self.graph if not scope else self.fnodes[scope]
        name = _node(tensor)
        if not scope and name in self.assets:
            return {"asset"}
        if not scope and name and name == self.saver_filename:
            return {"saver"}
        node = nodes.get(name)
        if node is None:
            return self._arg_sources(scope, name, depth) if scope else {f"other:missing {name}"}
        data = [i for i in node.input if not i.startswith("^")]
        if node.op == "Const":
            return {"const:" + self._const_text(node)}
        if node.op == "ShardedFilename" and data:  # (prefix, shard, num_shards): only the prefix is a path
            return self.sources(scope, data[0], depth + 1)
        if node.op in _PATH_PASS:
            return set().union(*(self.sources(scope, i, depth + 1) for i in data)) if data else {f"other:{node.op}"}
        if node.op in ("Select", "SelectV2") and len(data) == 3:
            return self.sources(scope, data[1], depth + 1) | self.sources(scope, data[2], depth + 1)
        if node.op == "ReadVariableOp" and not scope and data:  # TF1 view: the asset path held in a variable
            handle = _node(data[0])
            assigns = [n for n in self.graph.values() if n.op == "AssignVariableOp" and n.input
                       and _node(n.input[0]) == handle]
            if assigns:
                return set().union(*(self.sources("", a.input[1], depth + 1) for a in assigns))
        return {f"other:{node.op} '{name}'"}

    def _arg_sources(self, scope: str, arg: str, depth: int) -> set[str]:
        """A function argument: what every call site passes, and what the object graph captures for it."""
        args = [a.name for a in self.functions[scope].signature.input_arg]
        if arg not in args:
            return {f"other:{arg}"}
        index = args.index(arg)
        found: set[str] = set()
        captured = self.captures.get(scope, [])
        first_capture = len(args) - len(captured)
        if captured and index >= first_capture:
            what = captured[index - first_capture]
            found.add("asset" if what == "asset" else f"other:captured {what}")
        for caller_scope, call in self.callers.get(scope, []):
            data = [i for i in call.input if not i.startswith("^")]
            if call.op in _CALL_OPS or call.op == scope:
                if index < len(data):
                    found |= self.sources(caller_scope, data[index], depth + 1)
            else:  # If/While/Case/dataset functions: bound in ways not traced here
                found.add(f"other:argument of {call.op}")
        return found or {"other:an input of the function"}

    @staticmethod
    def _const_text(node: Any) -> str:
        tensor = node.attr["value"].tensor
        values = list(tensor.string_val)
        return values[0].decode("utf-8", "replace") if len(values) == 1 else "<non-scalar>"

    # --- the rules ------------------------------------------------------------------------------------------------
    def effect(self, scope: str, node: Any) -> str | None:
        """What the node does outside the model, or None when it is harmless."""
        op = node.op
        if op in self.functions or op in _CALL_OPS:
            return None
        if op == "PrintV2":
            stream = node.attr["output_stream"].s.decode("utf-8", "replace") if "output_stream" in node.attr else "stderr"
            return None if stream in _PRINT_STREAMS else f"prints to {stream}"
        if op.startswith("Debug"):
            return "debug op (can write to files or a debug server)"
        if op in ("DecodeProtoV2", "EncodeProto"):
            source = node.attr["descriptor_source"].s.decode("utf-8", "replace") if "descriptor_source" in node.attr else "local://"
            return None if source in ("", "local://") or source.startswith("bytes://") else f"reads descriptors from {source}"
        if op in _FILE_OPS:
            return _FILE_OPS[op]
        data = [i for i in node.input if not i.startswith("^")]
        if op in _SAVER_OPS:
            inputs = data[:1] if op != "MergeV2Checkpoints" else data[:2]
            leaves = set().union(*(self.sources(scope, i) for i in inputs)) if inputs else {"other:none"}
            if "saver" in leaves and all(_relative_const(x) for x in leaves - {"saver"}):
                return None
            return "checkpoint I/O on a path other than the model's own variables (" + _leaf_text(leaves) + ")"
        if op in _TEXT_TABLE_INIT:
            leaves = self.sources(scope, data[1]) if len(data) > 1 else {"other:none"}
            if leaves == {"asset"}:
                return None
            return "initialises a table from a file that is not one of the model's assets (" + _leaf_text(leaves) + ")"
        if op in _DESCRIBED:
            return _DESCRIBED[op]
        op_def = _op_def(op)
        if op_def is None:  # not a TensorFlow op (a custom op): it cannot run in this process at all
            return None
        if op_def.is_stateful and op not in _HARMLESS_STATEFUL:
            return "stateful op repair cannot vouch for"
        return None


def _relative_const(leaf: str) -> bool:
    """A constant piece joined to the saver's prefix ('_temp/part', '.part'): never absolute, never '..'."""
    if not leaf.startswith("const:"):
        return False
    value = leaf[len("const:"):]
    return not value.startswith(("/", "\\")) and ".." not in Path(value).parts and "://" not in value


def _leaf_text(leaves: set[str]) -> str:
    shown = sorted(x.replace("const:", "constant '", 1) + ("'" if x.startswith("const:") else "") if x.startswith("const:")
                   else x.replace("other:", "", 1) for x in leaves)
    return "path from " + ", ".join(shown[:3]) + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else "")


def _scan(scanner: _Scanner, load_nodes: set[str], load_functions: set[str], extra_functions: Iterable[str],
          top: set[str] | None = None) -> list[Effect]:
    """Effects in the top-level nodes ``top`` (all when None) and every function reachable from them or ``extra``."""
    nodes = {n: scanner.graph[n] for n in (scanner.graph if top is None else top) if n in scanner.graph}
    functions = scanner.reach(nodes.values(), extra_functions)
    found: list[Effect] = []
    for name, node in nodes.items():
        what = scanner.effect("", node)
        if what:
            found.append(Effect(node.op, name, "", what, name in load_nodes))
    for fn in sorted(functions):
        for node in scanner.functions[fn].node_def:
            what = scanner.effect(fn, node)
            if what:
                found.append(Effect(node.op, node.name, fn, what, fn in load_functions))
    return found


def scan_meta_graph(meta_graph: Any) -> list[Effect]:
    """Effects in one meta graph: its top-level graph, the functions reachable from it and from the object graph."""
    scanner = _Scanner(meta_graph.graph_def, meta_graph)
    load_roots: list[str] = [meta_graph.saver_def.restore_op_name] if meta_graph.saver_def.restore_op_name else []
    for key in _TF1_INIT_COLLECTIONS:
        if key in meta_graph.collection_def:
            load_roots += list(meta_graph.collection_def[key].node_list.value)
    if INIT_OP_KEY in meta_graph.signature_def:
        load_roots += [t.name for t in meta_graph.signature_def[INIT_OP_KEY].outputs.values()]
    load_nodes = scanner.upstream(load_roots)
    # TF2: tf.saved_model.load (and the converter, which calls it) runs every restored resource's functions.
    objects = meta_graph.object_graph_def.nodes
    resource_fns: list[str] = []
    for obj in objects:
        if obj.WhichOneof("kind") == "resource":
            for child in obj.children:
                target = objects[child.node_id] if child.node_id < len(objects) else None
                if target is not None and target.WhichOneof("kind") == "function":
                    resource_fns += list(target.function.concrete_functions)
    load_functions = scanner.reach([scanner.graph[n] for n in load_nodes], resource_fns)
    every = list(meta_graph.object_graph_def.concrete_functions) + [
        o.bare_concrete_function.concrete_function_name for o in objects if o.WhichOneof("kind") == "bare_concrete_function"]
    # With signatures, only what a signature, an initializer or the saver can run: a TF1 graph keeps nodes of other
    # savers (a second meta graph's 'save/' beside its own 'save_1/') that nothing runs. Without a signature any
    # node may become an output, so all are scanned.
    signatures = [t.name for key, sig in meta_graph.signature_def.items() if key != INIT_OP_KEY
                  for t in list(sig.outputs.values()) + list(sig.inputs.values())]
    top = None
    if signatures:
        top = scanner.upstream(signatures + load_roots + [meta_graph.saver_def.save_tensor_name])
    return _scan(scanner, load_nodes, load_functions, every, top)


def scan_graph_def(graph_def: Any) -> list[Effect]:
    """Effects in a frozen GraphDef: every node and every function they call (nothing in it runs at load)."""
    return _scan(_Scanner(graph_def), set(), set(), ())


@functools.lru_cache(maxsize=64)
def _scan_path(path: str, kind: ArtifactKind, stamp: float) -> tuple[Effect, ...]:
    from google.protobuf import message, text_format

    tf()
    if kind is ArtifactKind.FROZEN_GRAPH:
        graph_def = read_graph_def(Path(path))
        return tuple(scan_graph_def(graph_def)) if graph_def is not None else ()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    pb, pbtxt = Path(path) / "saved_model.pb", Path(path) / "saved_model.pbtxt"
    try:
        if pb.is_file():
            proto.ParseFromString(pb.read_bytes())
        else:
            text_format.Parse(pbtxt.read_text(), proto)
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise BadInput(f"{path}: saved_model.pb cannot be read ({type(exc).__name__})") from None
    found: list[Effect] = []
    for mg in proto.meta_graphs:
        found.extend(e for e in scan_meta_graph(mg) if e not in found)
    return tuple(found)


def scan(path: Path, kind: ArtifactKind) -> tuple[Effect, ...]:
    """Every op with an effect outside the model in the SavedModel or frozen GraphDef at ``path`` (cached)."""
    if kind not in (ArtifactKind.SAVED_MODEL, ArtifactKind.FROZEN_GRAPH):
        return ()
    pb = path / "saved_model.pb" if path.is_dir() else path
    stamp = pb.stat().st_mtime if pb.exists() else 0.0
    return _scan_path(str(path.resolve()), kind, stamp)


def summary(effects: tuple[Effect, ...], limit: int = 3) -> str:
    """The effects in one line: the first few named, the count of the rest."""
    shown = "; ".join(e.describe() for e in effects[:limit])
    return shown + (f"; +{len(effects) - limit} more" if len(effects) > limit else "")


def refusal(path: Path, kind: ArtifactKind, allow: bool) -> Refused | None:
    """``repair fix``'s one line (exit 1) naming the first op, its function and the flag; None when allowed or clean."""
    effects = () if allow else scan(path, kind)
    if not effects:
        return None
    more = f" and {len(effects) - 1} more" if len(effects) > 1 else ""
    return Refused(f"refusing to run this model: {effects[0].describe()}{more}; pass {FLAG} if you trust it",
                   stage="load")
