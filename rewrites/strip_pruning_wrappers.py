"""strip_pruning_wrappers: remove tfmot prune_low_magnitude wrappers from a tf_keras SavedModel, without tfmot."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.model.artifact import SERVING_DEFAULT
from repair.model.code_check import keras_metadata_refusal
from repair.model.working import WorkingModel, load, open_saved_model

_WRAPPER = "PruneLowMagnitude"
_GRAPH_KEYS = ("inbound_nodes", "input_layers", "output_layers")


def _metadata(model: WorkingModel) -> list[tuple[str, dict[str, Any]]]:
    """(node path, decoded metadata) for every node of tf_keras' keras_metadata.pb."""
    tf()
    from tf_keras.protobuf import saved_metadata_pb2
    from tf_keras.src.saving.legacy.saved_model import json_utils

    proto = saved_metadata_pb2.SavedMetadata()
    proto.ParseFromString((model.path / "keras_metadata.pb").read_bytes())
    return [(n.node_path, json_utils.decode(n.metadata)) for n in proto.nodes]


def _rename_refs(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_rename_refs(v, names) for v in value]
    if isinstance(value, tuple):
        return tuple(_rename_refs(v, names) for v in value)
    if isinstance(value, dict):
        return {k: _rename_refs(v, names) for k, v in value.items()}
    return value


def unwrapped_config(root: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The model config with every wrapper replaced by its inner layer; wrapper name -> inner name."""
    config = root["config"]
    names: dict[str, str] = {}
    layers = []
    for layer in config["layers"]:
        if layer.get("class_name") != _WRAPPER:
            layers.append(layer)
            continue
        inner = dict(layer["config"]["layer"])
        outer_name = layer["config"]["name"]
        names[outer_name] = inner["config"]["name"]
        for key in ("name", *_GRAPH_KEYS):  # functional models keep graph wiring beside the config
            if key in layer:
                inner[key] = layer[key]
        if "name" in layer:
            inner["name"] = names[outer_name]
        layers.append(inner)
    clean = dict(config, layers=layers)
    for key in _GRAPH_KEYS:
        if key in clean:
            clean[key] = _rename_refs(clean[key], names)
    clean["layers"] = [{**layer, **{k: _rename_refs(layer[k], names) for k in _GRAPH_KEYS if k in layer}} for layer in layers]
    return clean, names


def _object(root: Any, node_path: str, layer_name: str) -> Any:
    obj = root
    for part in node_path.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            raise RewriteFailed(f"layer '{layer_name}': '{node_path}' is not in the loaded SavedModel")
    return obj


class StripPruningWrappers(Rewrite):
    """Strip tfmot prune_low_magnitude wrappers left in a tf_keras SavedModel, folding the masks into the kernels.

    What it fixes:
        A model wrapped with prune_low_magnitude and saved without tfmot.sparsity.keras.strip_pruning.
    Why it fails:
        It converts, but every wrapped layer keeps kernel, mask, threshold and pruning_step as resource
        variables computed at run time (VAR_HANDLE/READ_VARIABLE/ASSIGN_VARIABLE with a CALL_ONCE init):
        the .tflite is about twice the size and delegates and micro runtimes refuse resource variables.
    Safety:
        safe. The model is rebuilt from its own keras_metadata.pb with each wrapper replaced by its
        inner layer, and weight*mask is written into every weight the wrapper masks: the same numbers.
        Masks are found through the wrapper's pruning_vars, whatever tfmot prunes for the layer type
        (Conv/Dense/Conv*Transpose: kernel; SeparableConv: pointwise_kernel; DepthwiseConv2D: none;
        LSTM: kernel and recurrent_kernel). A wrapper or layer whose weights cannot be matched is
        refused with a reason naming it. tfmot is not imported. The serving keys stay as they were
        (e.g. 'prune_low_magnitude_dense'); pass --rename prune_low_magnitude_dense=dense for the plain
        layer name.
    References:
        docs/facts.md §4 (verified: 416,968 -> 207,944 bytes .tflite, diff 1.5e-7).
    """

    id = "strip_pruning_wrappers"
    title = "strip pruning wrappers, folding masks into kernels"
    answers = frozenset({FindingKind.PRUNING_WRAPPERS, FindingKind.RESOURCE_VARIABLES})
    safety = Safety.SAFE
    cases = ("pruning/unstripped", "pruning/unstripped_depthwise_separable", "pruning/unstripped_functional")

    def claims(self, finding: Finding) -> bool:
        return finding.kind in self.answers

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.info is None or model.entry is None:
            return "no SavedModel with a serving entry"
        if _WRAPPER.encode() not in model.info.keras_metadata:
            return "not a tf_keras SavedModel with prune_low_magnitude wrappers (keras_metadata.pb)"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        import tf_keras

        nodes = _metadata(model)
        root = nodes[0][1]
        if root.get("class_name") not in ("Sequential", "Functional", "Model"):
            raise RewriteFailed(f"the root is a {root.get('class_name')}, not a Sequential or functional model")
        config, names = unwrapped_config(root)
        if not names:
            raise RewriteFailed("no PruneLowMagnitude layer in the model config")
        # from_config outside a safe-mode scope would unmarshal a Lambda's Python: never without the user's consent.
        refusal = keras_metadata_refusal(model.path, options.unsafe_load)
        if refusal:
            raise RewriteFailed(refusal)
        from tf_keras.src.saving.serialization_lib import SafeModeScope

        with captured_stderr(), SafeModeScope(not options.unsafe_load):
            try:
                builder = tf_keras.Sequential if root["class_name"] == "Sequential" else tf_keras.Model
                clean = builder.from_config(config)
            except (ValueError, TypeError, KeyError) as exc:
                raise RewriteFailed(f"cannot rebuild the unwrapped model: {_one_line(exc)}") from None
        restored = load(model.path, model.tags)
        by_name = {meta.get("name"): path for path, meta in nodes if meta.get("class_name") not in (None, _WRAPPER)}
        wrappers = {path: meta for path, meta in nodes if meta.get("class_name") == _WRAPPER}
        masked, pruned, zeros = 0, 0, 0
        for layer in clean.layers:
            if not layer.weights:
                continue
            path = by_name.get(layer.name)
            if path is None:
                raise RewriteFailed(f"no weights found for layer '{layer.name}'")
            parent = path.rsplit(".", 1)[0]
            wrapper = _object(restored, parent, layer.name) if parent in wrappers else None
            saved = _saved_weights(_object(restored, path, layer.name), layer)
            values = [v.numpy() for v in saved]
            if wrapper is not None:
                for index, mask in _masks(wrapper, saved, layer).items():
                    values[index] = values[index] * mask
                    masked, pruned, zeros = masked + 1, pruned + mask.size, zeros + int(np.sum(values[index] == 0))
            try:
                layer.set_weights(values)
            except ValueError as exc:
                raise RewriteFailed(f"cannot set the weights of layer '{layer.name}': {_one_line(exc)}") from None
        dest = scratch / "saved_model"
        with captured_stderr():
            _save_serving(clean, {v: k for k, v in names.items()}, dest)
        stripped = open_saved_model(dest)
        assert stripped.entry is not None
        # The saved signature already has the serving contract (outputs keyed by the wrapper's name, as before):
        # each port keeps its original key as origin, and nothing is left for the export stage to re-save.
        origins = {p.name: p.origin for p in model.entry.inputs + model.entry.outputs}
        entry = replace(stripped.entry,
                        inputs=tuple(replace(p, origin=origins.get(p.name, p.origin)) for p in stripped.entry.inputs),
                        outputs=tuple(replace(p, origin=origins.get(p.name, p.origin)) for p in stripped.entry.outputs))
        sparsity = zeros / pruned if pruned else 0.0
        return Applied(replace(stripped, entry=entry),
                       f"stripped {len(names)} wrapper(s), folded {masked} mask(s) into kernels "
                       f"({sparsity:.0%} zeros in the pruned kernels); serving keys kept")


def _save_serving(clean: Any, outer: dict[str, str], dest: Path) -> None:
    """Save the stripped model as a serve-tagged SavedModel: its variables and one ``serving_default``.

    The signature is the one ``clean.save(dest, save_format="tf")`` would write (tf_keras' own trace of the model
    call, training=False, inputs named by the model's save spec), with each output keyed by its wrapper's name
    (``outer``: inner layer name -> wrapper name) so the serving contract is the original's. Only the variables are
    attached to the saved root, not the Keras model: attaching it makes tf_keras serialize every layer's call
    functions for a Keras reload (most of the strip's time, and the export then had to load and re-save them all),
    and the published SavedModel never carried that Keras metadata anyway.
    """
    t = tf()
    from tf_keras.src.saving.legacy.saving_utils import trace_model_call

    keras_call = trace_model_call(clean)

    @t.function
    def serve(*args: Any) -> dict[str, Any]:
        return {outer.get(key, key): value for key, value in keras_call(*args).items()}

    signature = serve.get_concrete_function(*keras_call.structured_input_signature[0])
    root = t.Module()
    variables = {id(v.handle) for v in clean.weights}
    if any(x.dtype == t.resource and id(x) not in variables for x, _ in signature.graph.captures):
        root.model = clean  # a resource that is not a weight (a lookup layer's table) is tracked through its layer only
    else:
        root.model = _checkpoint_tree(clean, {})
    t.saved_model.save(root, str(dest), signatures={SERVING_DEFAULT: signature})


def _checkpoint_tree(obj: Any, seen: dict[int, Any]) -> Any:
    """Plain trackables mirroring ``obj``'s checkpoint children, with its variables as the leaves.

    The saved variables keep the checkpoint keys the Keras model itself gives them
    (``model/layer_with_weights-3/pointwise_kernel``), without attaching the Keras model (see _save_serving).
    ``seen`` maps each mirrored object to its mirror, so a layer reachable by two names is one object, as in Keras.
    """
    t = tf()
    if isinstance(obj, t.Variable):
        return obj
    if id(obj) not in seen:
        node = seen[id(obj)] = t.__internal__.tracking.AutoTrackable()
        for name, child in t.train.TrackableView.children(obj).items():
            setattr(node, name, _checkpoint_tree(child, seen))
    return seen[id(obj)]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _base_name(variable: Any) -> str:
    """'block1a_dwconv/depthwise_kernel:0' -> 'depthwise_kernel'."""
    return str(variable.name).split("/")[-1].split(":")[0]


def _saved_weights(saved: Any, layer: Any) -> list[Any]:
    """The restored variables of one layer, in the order of ``layer.weights`` of its rebuilt twin.

    A tf_keras layer saves its ``variables`` list in ``layer.weights`` order, so the rebuilt layer of the
    same class and config pairs with it position by position (this also covers weights of nested
    sublayers and cells). Preprocessing layers such as Normalization save no such list; their weights are
    the layer's own children, found by name. Names and shapes are checked either way, not trusted.
    """
    kind = type(layer).__name__
    variables = getattr(saved, "variables", None)
    if variables is not None:
        variables = list(variables)
        if len(variables) != len(layer.weights):
            raise RewriteFailed(f"layer '{layer.name}' ({kind}) saved {len(variables)} weight(s), "
                                f"its rebuilt layer has {len(layer.weights)}")
    else:
        wanted = [_base_name(w) for w in layer.weights]
        if len(set(wanted)) != len(wanted):
            raise RewriteFailed(f"layer '{layer.name}' ({kind}) saved no variables list and its weight names "
                                f"are ambiguous ({', '.join(wanted)})")
        variables = [getattr(saved, name, None) for name in wanted]
        missing = [name for name, v in zip(wanted, variables) if not hasattr(v, "numpy")]
        if missing:
            raise RewriteFailed(f"layer '{layer.name}' ({kind}) has no saved weight {', '.join(map(repr, missing))}")
    for saved_var, weight in zip(variables, layer.weights):
        if _base_name(saved_var) != _base_name(weight) or tuple(saved_var.shape) != tuple(weight.shape):
            raise RewriteFailed(f"layer '{layer.name}' ({kind}): saved weight '{_base_name(saved_var)}' "
                                f"{tuple(saved_var.shape)} does not match '{_base_name(weight)}' {tuple(weight.shape)}")
    return variables


def _masks(wrapper: Any, saved: list[Any], layer: Any) -> dict[int, Any]:
    """Position in ``saved`` -> mask, from the wrapper's ``pruning_vars`` [(weight, mask, threshold), ...].

    tfmot masks whatever ``get_prunable_weights()`` returned (Conv2D/Dense: kernel, SeparableConv2D:
    pointwise_kernel, DepthwiseConv2D: nothing, LSTM: kernel and recurrent_kernel), so each mask is matched to
    its weight by identity, never by attribute name. A wrapper with no prunable weights has no mask at all.
    """
    kind = type(layer).__name__
    pruning_vars = getattr(wrapper, "pruning_vars", None)
    if pruning_vars is None:
        raise RewriteFailed(f"the pruning wrapper of layer '{layer.name}' ({kind}) has no pruning_vars: "
                            "cannot tell which weights its masks belong to")
    masks: dict[int, Any] = {}
    for entry in pruning_vars:
        try:
            weight, mask = entry[0], entry[1]
        except (TypeError, IndexError, KeyError):
            raise RewriteFailed(f"the pruning wrapper of layer '{layer.name}' ({kind}) has an unreadable "
                                "pruning_vars entry") from None
        index = next((i for i, v in enumerate(saved) if v is weight), None)
        if index is None:
            raise RewriteFailed(f"a mask of the pruning wrapper of layer '{layer.name}' ({kind}) belongs to "
                                f"no weight of the layer ('{_base_name(weight)}')")
        value = mask.numpy()
        if value.shape != tuple(saved[index].shape):
            raise RewriteFailed(f"the mask of '{_base_name(weight)}' in layer '{layer.name}' ({kind}) has shape "
                                f"{value.shape}, the weight {tuple(saved[index].shape)}")
        masks[index] = masks[index] * value if index in masks else value
    return masks

