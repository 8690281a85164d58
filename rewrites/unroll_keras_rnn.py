"""unroll_keras_rnn: rebuild a Keras model with unroll=True on its RNN layers, from the user's Keras file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repair.artifact import detect_kind
from repair.findings import Finding, FindingKind
from repair.model import WorkingModel, reopen
from repair.options import Options
from repair.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.tfenv import captured_stderr
from rewrites.export_keras_file import export_keras, load_keras

_RNN_CLASSES = frozenset({"LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})


def set_unroll(config: Any) -> int:
    """Set unroll=True on every RNN layer config, nested ones included; returns how many changed."""
    changed = 0
    if isinstance(config, dict):
        if config.get("class_name") in _RNN_CLASSES and isinstance(config.get("config"), dict):
            if config["config"].get("unroll") is False:
                config["config"]["unroll"] = True
                changed += 1
        for value in config.values():
            changed += set_unroll(value)
    elif isinstance(config, list):
        for value in config:
            changed += set_unroll(value)
    return changed


def _unknown_time_dims(model: Any) -> list[str]:
    names = []
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ in _RNN_CLASSES or type(layer).__name__ == "Bidirectional":
            shape = getattr(layer, "input", None)
            dims = list(getattr(shape, "shape", ()) or ())
            if len(dims) > 1 and dims[1] is None:
                names.append(layer.name)
        names += _unknown_time_dims(layer) if hasattr(layer, "layers") else []
    return names


class UnrollKerasRnn(Rewrite):
    """Rebuild the Keras model with unroll=True on its LSTM/GRU/SimpleRNN layers and export it again.

    What it fixes:
        Keras RNN layers with unroll=False (the default) in a model given as a .keras or .h5 file.
    Why it fails:
        The RNN loop accumulates into TensorLists that need a static element shape; builtins-only
        conversion fails ("'tf.TensorListReserve' op requires element_shape to be static") even with
        static shapes and batch 1, and the Flex TensorList ops it suggests cannot run in the pip
        interpreters. The converter's single-batch flag is wrong at batch > 1 (ATLAS §6).
    Safety:
        safe. Same layers and weights, the time loop unrolled at trace time; needs a static time
        dimension (pin it in the source otherwise). Works from the user's Keras file: a bare
        SavedModel does not carry the layer configs.
    References:
        ATLAS.md §6 (verified from a .keras: set unroll=True in get_config(), from_config, set_weights,
        export; diff 9.3e-8).
    """

    id = "unroll_keras_rnn"
    title = "rebuild Keras RNN layers with unroll=True"
    answers = frozenset({FindingKind.TENSORLIST_LOOP})
    safety = Safety.SAFE

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.keras_file is None:
            return ("the model is a SavedModel, which does not keep Keras layer configs: set unroll=True on the RNN "
                    "layers in the source (or run repair on the .keras file)")
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.keras_file is not None and model.entry is not None
        original, flavour = load_keras(model.keras_file, detect_kind(model.keras_file), options.unsafe_load)
        unknown = _unknown_time_dims(original)
        if unknown:
            raise RewriteFailed(f"the time dimension of {', '.join(unknown)} is unknown; give the Input a fixed length")
        config = original.get_config()
        changed = set_unroll(config)
        if not changed:
            raise RewriteFailed("no RNN layer with unroll=False in the model config")
        with captured_stderr():
            rebuilt = type(original).from_config(config)
            rebuilt.set_weights(original.get_weights())
            dest = scratch / "saved_model"
            export_keras(rebuilt, flavour, dest)
        return Applied(reopen(dest, model.entry), f"set unroll=True on {changed} RNN layer(s) and exported again")
