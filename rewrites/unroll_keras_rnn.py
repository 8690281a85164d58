"""unroll_keras_rnn: rebuild a Keras model with unroll=True on its RNN layers (and its pins as static input shapes)."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.model.artifact import detect_kind
from repair.model.code_check import keras_metadata_refusal
from repair.model.parity import compare, generate_valid, load_sample
from repair.model.working import Port, WorkingModel, load, merged_pin, pin_conflict, reopen, serving_callable
from rewrites.export_keras_file import export_keras, load_keras
from rewrites.unroll_static_loops import UnrollStaticLoops

_RNN_CLASSES = frozenset({"LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})
_SHAPE_KEYS = ("batch_shape", "batch_input_shape")  # Keras 3, tf_keras

Dims = tuple[int | None, ...]


def set_unroll(config: Any) -> int:
    """Set unroll=True on every RNN layer config, nested ones included (Bidirectional, TimeDistributed,
    a nested Model); returns how many changed."""
    changed = 0
    if isinstance(config, dict):
        if (config.get("class_name") in _RNN_CLASSES and isinstance(config.get("config"), dict)
                and config["config"].get("unroll") is False):
            config["config"]["unroll"] = True
            changed += 1
        for value in config.values():
            changed += set_unroll(value)
    elif isinstance(config, list):
        for value in config:
            changed += set_unroll(value)
    return changed


def _input_layer_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The layer configs of the model's own inputs that carry a batch shape (InputLayer, or the first
    layer of a tf_keras Sequential built with input_shape=)."""
    layers = config.get("layers", [])
    found = [layer["config"] for layer in layers
             if layer.get("class_name") == "InputLayer" and isinstance(layer.get("config"), dict)]
    if not found and layers and isinstance(layers[0].get("config"), dict):
        first = layers[0]["config"]
        if any(key in first for key in _SHAPE_KEYS):
            found = [first]
    return found


def pin_inputs(config: dict[str, Any], shapes: dict[str, Dims]) -> list[str]:
    """Write the wanted static shapes into the model's input layers; returns 'name [..] -> [..]' per change.

    ``shapes`` is keyed by Keras input name (the serving key of a Keras export). A wanted input that is
    not an input layer of the config is refused: the pin would silently not apply.
    """
    layers = _input_layer_configs(config)
    by_name = {layer.get("name"): layer for layer in layers}
    if len(layers) == 1 and len(shapes) == 1 and next(iter(shapes)) not in by_name:
        by_name = {next(iter(shapes)): layers[0]}  # a Sequential's first layer is not named after the input
    changes = []
    for name, wanted in shapes.items():
        layer = by_name.get(name)
        if layer is None:
            raise RewriteFailed(f"the input '{name}' is not an input layer of the Keras config")
        key = next((k for k in _SHAPE_KEYS if k in layer), None)
        if key is None:
            raise RewriteFailed(f"the input layer '{name}' has no batch shape in its config")
        have = tuple(layer[key])
        if have != wanted:
            layer[key] = list(wanted)
            changes.append(f"{name} {_text(have)} -> {_text(wanted)}")
    return changes


def _text(dims: Dims) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"


def _wanted_shapes(entry_inputs: tuple[Port, ...], options: Options) -> dict[str, Dims]:
    """Static input shapes for the rebuild, by input name: the entry's (pins applied earlier included) with
    the user's --pin merged in. The batch of a pin is kept too: a pinned batch of 1 becomes the Input's."""
    shapes = {}
    count = len(entry_inputs)
    for index, port in enumerate(entry_inputs):
        if port.shape is None:
            continue
        shape: Dims = port.shape
        pin = options.pin_for(port.name, port.origin, index, count)
        if pin is not None and pin_conflict(port, pin) is None:
            shape = merged_pin(port, pin)
        shapes[port.name] = shape
    return shapes


def _unknown_time_dims(model: Any) -> list[str]:
    """RNN layers (and Bidirectional wrappers) whose time dimension is unknown: they cannot be unrolled."""
    names = []
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ in _RNN_CLASSES or type(layer).__name__ == "Bidirectional":
            dims = list(getattr(getattr(layer, "input", None), "shape", ()) or ())
            if len(dims) > 1 and dims[1] is None:
                names.append(layer.name)
        names += _unknown_time_dims(layer) if hasattr(layer, "layers") else []
    return names


def _pinned_any(model: WorkingModel, options: Options) -> bool:
    """Whether the user gave --pin for at least one of the inputs."""
    assert model.entry is not None
    count = len(model.entry.inputs)
    return any(options.pin_for(p.name, p.origin, i, count) is not None for i, p in enumerate(model.entry.inputs))


def _has_rolled_rnn(model: WorkingModel) -> bool:
    """Whether the Keras config holds an RNN layer with unroll=False, read from the files without loading Keras."""
    marker = b'"unroll": false'
    if model.keras_file is not None:
        path = model.keras_file
        try:
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    return marker in archive.read("config.json")
            import h5py

            with h5py.File(path, "r") as h5:
                config = h5.attrs.get("model_config", b"")
                return marker in (config.encode() if isinstance(config, str) else bytes(config))
        except (OSError, KeyError, zipfile.BadZipFile):
            return False
    return model.info is not None and marker in model.info.keras_metadata


def _load_source(model: WorkingModel, options: Options) -> tuple[Any, str, str]:
    """The Keras model behind ``model``: from the user's Keras file, or from a tf_keras SavedModel's
    keras_metadata.pb. Returns (keras model, flavour for the export, where it came from)."""
    if model.keras_file is not None:
        keras_model, flavour = load_keras(model.keras_file, detect_kind(model.keras_file), options.unsafe_load)
        return keras_model, flavour, model.keras_file.name
    import tf_keras

    # Reviving layers from keras_metadata.pb runs from_config, tf_keras' SavedModel loader ignores safe_mode, and a
    # Lambda's config holds marshalled Python: an untrusted SavedModel must not run code the user did not allow.
    refusal = keras_metadata_refusal(model.path, options.unsafe_load)
    if refusal:
        raise RewriteFailed(refusal)
    try:
        with captured_stderr():
            keras_model = tf_keras.models.load_model(str(model.path), compile=False, safe_mode=not options.unsafe_load)
    except Exception as exc:  # tf_keras raises ValueError, TypeError, KeyError... for layers it cannot revive
        raise RewriteFailed(f"tf_keras cannot load the SavedModel: {_one_line(exc)}") from None
    return keras_model, "tf_keras", "keras_metadata.pb"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


class UnrollKerasRnn(Rewrite):
    """Rebuild the Keras model with unroll=True on its RNN layers and static input shapes, and export it again.

    What it fixes:
        Keras RNN layers (LSTM, GRU, SimpleRNN, nested in Bidirectional or a sub-model) with unroll=False
        (the default), in a model given as a .keras or .h5 file (Keras 3 or tf_keras) or as a tf_keras
        SavedModel (model.save(dir), which keeps the layer configs in keras_metadata.pb). A time axis of
        None needs its length: with --pin this rewrite also answers dynamic-dims and writes the pin into
        the rebuilt Input, batch included (no wrapper signature); a --sample shape is pinned by
        pin_dynamic_dims first and then kept by the rebuild.
    Why it fails:
        The RNN loop accumulates into TensorLists that need a static element shape; builtins-only
        conversion fails ("'tf.TensorListReserve' op requires element_shape to be static") even with
        static shapes and batch 1, and the Flex TensorList ops it suggests cannot run in the pip
        interpreters. The converter's single-batch flag is wrong at batch > 1 (docs/facts.md §6).
    Safety:
        safe. Strategies, in order, and the report says which one worked:
        1. rebuild: the same layer configs with unroll=True and the inputs' static shapes (the pins), the
           same weights, exported again (Keras 3: model.export with the Inputs' own signature, since its
           default makes the batch None; tf_keras: SavedModel) and checked against the model it replaces
           on the same inputs. The serving signature then carries the pinned shape. Pinning changes the
           serving contract: it happens only with --pin, which is the consent.
        2. graph: when the model cannot be rebuilt (custom layers, no configs), the loop is unrolled in the
           frozen graph, as unroll_static_loops does.
        The time loop is unrolled at trace time, which needs a static time dimension.
    References:
        docs/facts.md §6 (verified from a .keras: set unroll=True in get_config(), from_config, set_weights,
        export; diff 9.3e-8).
    """

    id = "unroll_keras_rnn"
    title = "rebuild Keras RNN layers with unroll=True"
    answers = frozenset({FindingKind.TENSORLIST_LOOP, FindingKind.DYNAMIC_DIMS})
    safety = Safety.SAFE
    cases = ("loops/tf_keras_lstm_saved_model", "loops/keras_bilstm_file", "loops/keras_gru_h5_dynamic", "loops/keras_lstm_file",
             "loops/tf_keras_gru_h5")

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        keras_configs = model.keras_file is not None or (model.info is not None and bool(model.info.keras_metadata))
        if finding.kind is FindingKind.DYNAMIC_DIMS and not keras_configs:
            return ""  # a pin is pin_dynamic_dims' business unless this is a Keras RNN: nothing to say about it here
        if not keras_configs:
            return ("the SavedModel keeps no Keras layer configs (no keras_metadata.pb): set unroll=True on the RNN "
                    "layers in the source, or run repair on the .keras/.h5 file")
        if finding.kind is FindingKind.DYNAMIC_DIMS:
            # The pin is cheapest and exact in the rebuild (a static Input, no wrapper), but only when the model
            # has loops to unroll and the user's --pin makes every input static past the batch.
            if not _has_rolled_rnn(model):
                return "no RNN layer with unroll=False in the Keras config"
            wanted = _wanted_shapes(model.entry.inputs, options)
            if not all(shape is not None and None not in shape[1:] for shape in wanted.values()) or \
                    len(wanted) != len(model.entry.inputs) or not _pinned_any(model, options):
                return "--pin does not give every unknown dimension of the inputs"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        try:
            return self._rebuild(model, options, scratch / "rebuild")
        except RewriteFailed as exc:
            rebuild_failed = str(exc)
        try:
            applied = UnrollStaticLoops().apply(model, finding, options, scratch / "graph")
        except RewriteFailed as exc:
            raise RewriteFailed(f"rebuild: {rebuild_failed}; graph: {exc}") from None
        return replace(applied, model=replace(applied.model, keras_file=model.keras_file),
                       summary=f"graph strategy (the rebuild failed: {rebuild_failed}): {applied.summary}")

    def _rebuild(self, model: WorkingModel, options: Options, dest: Path) -> Applied:
        """Strategy 1: from_config with unroll=True and static input shapes, the same weights, exported again."""
        assert model.entry is not None
        original, flavour, source = _load_source(model, options)
        try:
            config = original.get_config()
        except (NotImplementedError, TypeError, ValueError) as exc:  # revived custom layers have no config
            raise RewriteFailed(f"the model's config cannot be read ({_one_line(exc)})") from None
        changed = set_unroll(config)
        if not changed:
            raise RewriteFailed("no RNN layer with unroll=False in the model config")
        pinned = pin_inputs(config, _wanted_shapes(model.entry.inputs, options))
        with captured_stderr():
            try:
                rebuilt = type(original).from_config(config)
                rebuilt.set_weights(original.get_weights())
            except Exception as exc:  # Keras raises ValueError/TypeError/KeyError from deep inside from_config
                raise RewriteFailed(f"cannot rebuild the model from its config: {_one_line(exc)}") from None
        unknown = _unknown_time_dims(rebuilt)
        if unknown:
            raise RewriteFailed(f"the time dimension of {', '.join(unknown)} is unknown: give it with --pin "
                                f"(e.g. --pin {model.entry.inputs[0].name}=-1,T,...)")
        dest.mkdir(parents=True, exist_ok=True)
        export_static(rebuilt, flavour, dest / "saved_model")
        new = replace(reopen(dest / "saved_model", model.entry), keras_file=model.keras_file)
        worst = same_outputs(model, new, options)
        pins = f"; inputs pinned in the rebuild: {', '.join(pinned)}" if pinned else ""
        return Applied(new, f"rebuild strategy: set unroll=True on {changed} RNN layer(s) from {source}{pins}; "
                            f"exported with {flavour} (matches the model it replaces, max diff {worst:.2g})")


def export_static(keras_model: Any, flavour: str, dest: Path) -> None:
    """Export like export_keras_file, keeping a static batch in the signature.

    Keras 3 ``model.export`` makes every input's batch None (``export_utils.make_input_spec``), which would
    drop a pinned batch of 1; an explicit ``input_signature`` of the Inputs' own shapes keeps it. tf_keras'
    SavedModel writer keeps the Input's batch as it is.
    """
    inputs = list(getattr(keras_model, "inputs", None) or [])
    if flavour != "keras" or not inputs or any(x.shape[0] is None for x in inputs):
        export_keras(keras_model, flavour, dest)
        return
    import keras

    def spec(x: Any) -> Any:
        return keras.InputSpec(shape=tuple(x.shape), dtype=x.dtype, name=x.name)

    if isinstance(keras_model, keras.Sequential):
        signature = keras.tree.map_structure(spec, keras_model.inputs)
    else:  # a functional model takes its whole input structure as one positional argument
        signature = [keras.tree.map_structure(spec, keras_model.input)]
    with captured_stderr():
        keras_model.export(str(dest), format="tf_saved_model", verbose=False, input_signature=signature)


def same_outputs(before: WorkingModel, after: WorkingModel, options: Options) -> float:
    """Run the replaced model and its rebuild on the same seeded inputs (or --sample); the worst difference.

    The inputs take the rebuild's (pinned) shapes, which the replaced model also accepts.
    """
    assert before.entry is not None and after.entry is not None
    if {p.name for p in after.entry.outputs} != {p.name for p in before.entry.outputs}:
        raise RewriteFailed(f"the rebuild's outputs ({', '.join(p.name for p in after.entry.outputs)}) are not the "
                            f"model's ({', '.join(p.name for p in before.entry.outputs)})")
    t = tf()
    old = serving_callable(load(before.path, before.tags), before.entry)
    new = serving_callable(load(after.path, after.tags), after.entry)
    origin = {p.name: p.origin for p in before.entry.outputs}

    def run_before(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with captured_stderr():
            out = old({k: t.constant(v) for k, v in feeds.items()})
        return {origin[k]: np.asarray(v) for k, v in out.items()}

    if options.sample is not None:
        feeds = load_sample(options.sample, after.entry.inputs)
        reference = run_before(feeds)
    else:
        feeds, reference = generate_valid(after.entry.inputs, run_before, options.seed, options.batch)
    with captured_stderr():
        got = new({k: t.constant(v) for k, v in feeds.items()})
    parity = compare(reference, {k: np.asarray(v) for k, v in got.items()}, after.entry.outputs, options.tolerance)
    if not parity.ok:
        raise RewriteFailed(f"the rebuilt model does not match the model it replaces (max diff {parity.worst:.3g})")
    return parity.worst
