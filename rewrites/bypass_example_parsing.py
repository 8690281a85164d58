"""bypass_example_parsing: serve the parsed features instead of serialized tf.Example strings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repair.findings import Finding, FindingKind
from repair.model import Entry, EntryKind, Port, WorkingModel
from repair.options import Options
from repair.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.tfenv import tf

_PARSE_OPS = ("ParseExampleV2", "ParseExample")


def _graph_def(model: WorkingModel) -> Any:
    tf()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((model.path / "saved_model.pb").read_bytes())
    for mg in proto.meta_graphs:
        if frozenset(mg.meta_info_def.tags) == model.tags:
            return mg.graph_def
    return proto.meta_graphs[0].graph_def


def _dense_features(model: WorkingModel) -> list[tuple[str, str, str, tuple[int | None, ...]]] | str:
    """(key, tensor, dtype, shape) for each dense feature the parse node produces, or why not."""
    t = tf()
    graph = _graph_def(model)
    nodes = {n.name: n for n in graph.node}
    parse = [n for n in graph.node if n.op in _PARSE_OPS]
    if not parse:
        return "the example parsing happens inside a function, not the top-level graph"
    if len(parse) > 1:
        return f"{len(parse)} parse nodes; only one is supported"
    node = parse[0]
    if node.op != "ParseExampleV2":
        return "legacy ParseExample op; only ParseExampleV2 is supported"
    num_sparse = node.attr["num_sparse"].i
    if num_sparse or node.attr["ragged_value_types"].list.type:
        return "the example has sparse or ragged features, which have no dense tensor to feed"
    keys_node = nodes.get(node.input[3].split(":")[0])  # inputs: serialized, names, sparse_keys, dense_keys, ...
    if keys_node is None or keys_node.op != "Const":
        return "the dense feature keys are not a constant"
    keys = [k.decode() for k in t.make_ndarray(keys_node.attr["value"].tensor).reshape(-1).tolist()]
    dtypes = [t.dtypes.as_dtype(d).name for d in node.attr["Tdense"].list.type]
    shapes = [tuple(None if d.size < 0 else d.size for d in s.dim) for s in node.attr["dense_shapes"].list.shape]
    return [(k, f"{node.name}:{i}", dt, (None,) + sh) for i, (k, dt, sh) in enumerate(zip(keys, dtypes, shapes))]


def example_encoder(string_key: str, features: list[tuple[str, str, str, tuple[int | None, ...]]]) -> Any:
    """new inputs {feature: [batch, ...]} -> {string_key: serialized tf.Example per row}.

    Lets parity run the *original* signature on exactly the features the repaired model gets.
    """
    import numpy as np

    def encode(feeds: dict[str, Any]) -> dict[str, Any]:
        t = tf()
        batch = len(next(iter(feeds.values())))
        rows = []
        for i in range(batch):
            feature = {}
            for key, _, dtype, _ in features:
                values = np.asarray(feeds[key][i]).reshape(-1)
                if dtype.startswith("float"):
                    feature[key] = t.train.Feature(float_list=t.train.FloatList(value=values.tolist()))
                elif dtype == "string":
                    feature[key] = t.train.Feature(bytes_list=t.train.BytesList(value=values.tolist()))
                else:
                    feature[key] = t.train.Feature(int64_list=t.train.Int64List(value=values.tolist()))
            rows.append(t.train.Example(features=t.train.Features(feature=feature)).SerializeToString())
        return {string_key: np.array(rows, dtype=object)}

    return encode


class BypassExampleParsing(Rewrite):
    """Serve the parsed feature tensors directly instead of serialized tf.Example strings.

    What it fixes:
        An estimator-style serving signature (serving_input_receiver_fn) whose input is a string
        tensor of serialized tf.Example protos, parsed in the graph by ParseExampleV2.
    Why it fails:
        ParseExampleV2 is not a TFLite builtin: ERROR_NEEDS_FLEX_OPS, "TF Select ops: ParseExampleV2",
        and the pip interpreters cannot run Flex ops.
    Safety:
        unsafe: the serving contract changes from serialized examples to one float tensor per dense
        feature (keys are the feature names). The graph after parsing is unchanged.
    References:
        ATLAS.md section 5 (verified, diff 0).
    """

    id = "bypass_example_parsing"
    title = "feed parsed features instead of serialized tf.Example"
    answers = frozenset({FindingKind.SERIALIZED_EXAMPLE_INPUT, FindingKind.NEEDS_FLEX_OPS})
    safety = Safety.UNSAFE

    def claims(self, finding: Finding) -> bool:
        if finding.kind is FindingKind.NEEDS_FLEX_OPS:
            return set(finding.data.get("ops", [])) <= set(_PARSE_OPS)  # type: ignore[arg-type]
        return super().claims(finding)

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.info is None or model.entry is None:
            return "no serving signature to rewrite"
        if model.info.best_graph().has_object_graph:
            return "a TF2 SavedModel: the parsing is inside a function (not supported yet)"
        features = _dense_features(model)
        return features if isinstance(features, str) else None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None and model.info is not None
        features = _dense_features(model)
        if isinstance(features, str):
            raise RewriteFailed(features)
        sig = model.info.best_graph().signatures[model.entry.ref]
        by_key = {t.key: t for t in sig.outputs}
        inputs = tuple(Port(k, k, tensor, dt, shape) for k, tensor, dt, shape in features)
        outputs = tuple(Port(p.name, p.origin, by_key[p.source].tensor, p.dtype, p.shape) for p in model.entry.outputs)
        entry = Entry(EntryKind.PRUNED, "", inputs, outputs)
        listed = ", ".join(f"{k} {dt}[{','.join('?' if d is None else str(d) for d in sh)}]" for k, _, dt, sh in features)
        strings = [p for p in model.entry.inputs if p.dtype == "string"]
        if len(strings) != 1 or len(model.entry.inputs) != 1:
            raise RewriteFailed("the signature has inputs besides the serialized examples")
        encoder = example_encoder(strings[0].origin, features)
        return Applied(model.with_entry(entry), f"inputs are now the parsed features: {listed}", reference_adapter=encoder)
