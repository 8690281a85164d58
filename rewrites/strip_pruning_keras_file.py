"""strip_pruning_keras_file: a tf_keras .h5 full of tfmot pruning wrappers -> a stripped SavedModel, without tfmot."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.model.artifact import ArtifactKind
from repair.model.code_check import check_keras_file
from repair.model.working import WorkingModel
from rewrites.export_keras_file import checked_export
from rewrites.strip_pruning_wrappers import unwrapped_config

_WRAPPER = "PruneLowMagnitude"
# What tfmot 0.8's prune_registry prunes per layer class (used only when a mask's shape fits several weights).
_PRUNED_WEIGHTS = {
    "Dense": ("kernel",), "Conv1D": ("kernel",), "Conv2D": ("kernel",), "Conv3D": ("kernel",),
    "Conv2DTranspose": ("kernel",), "Conv3DTranspose": ("kernel",), "SeparableConv1D": ("pointwise_kernel",),
    "SeparableConv2D": ("pointwise_kernel",), "Embedding": ("embeddings",), "LocallyConnected1D": ("kernel",),
    "LocallyConnected2D": ("kernel",), "LSTM": ("kernel", "recurrent_kernel"), "GRU": ("kernel", "recurrent_kernel"),
    "SimpleRNN": ("kernel", "recurrent_kernel"),
}
_OWN = ("mask", "threshold", "pruning_step")


def keras_file_config(path: Path, kind: ArtifactKind) -> dict[str, Any] | None:
    """The model config JSON of a .h5 (attribute model_config) or .keras (config.json) file, or None. Runs no code."""
    try:
        if kind is ArtifactKind.H5:
            import h5py

            with h5py.File(path, "r") as f:
                raw = f.attrs.get("model_config")
        elif kind is ArtifactKind.KERAS_V3:
            with zipfile.ZipFile(path) as z:
                raw = z.read("config.json")
        else:
            return None
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    if raw is None:
        return None
    try:
        config = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except (ValueError, UnicodeDecodeError):
        return None
    return config if isinstance(config, dict) else None


def pruned_layers(config: dict[str, Any] | None) -> list[str]:
    """Names of the PruneLowMagnitude layers at the top level of a Keras model config."""
    if not config:
        return []
    layers = (config.get("config") or {}).get("layers") or []
    return [str((layer.get("config") or {}).get("name")) for layer in layers
            if isinstance(layer, dict) and layer.get("class_name") == _WRAPPER]


def _key(weight_name: str) -> str:
    """'prune_low_magnitude_lstm/lstm_cell/kernel:0' -> 'lstm_cell/kernel': the path inside the layer."""
    return weight_name.split(":")[0].split("/", 1)[-1]


def _own(weight_name: str, wrapper: str) -> str | None:
    """'mask' for the wrapper's own '<wrapper>/mask:0' (also mask_1 ...), None for the inner layer's weights."""
    head, _, last = weight_name.split(":")[0].rpartition("/")
    if head != wrapper:
        return None
    return next((own for own in _OWN if last == own or last.startswith(own + "_")), None)


def _h5_weights(path: Path, wrappers: set[str]) -> dict[str, tuple[dict[str, np.ndarray], list[np.ndarray]]]:
    """Layer name -> (inner weights by path inside the layer, the wrapper's masks in order), read from the .h5."""
    import h5py

    out: dict[str, tuple[dict[str, np.ndarray], list[np.ndarray]]] = {}
    with h5py.File(path, "r") as f:
        if "model_weights" not in f:
            raise RewriteFailed("the .h5 file has no model_weights group (saved with save_weights only?)")
        root = f["model_weights"]
        for name in root:
            group = root[name]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
            inner: dict[str, np.ndarray] = {}
            masks: list[np.ndarray] = []
            for weight_name in names:
                value = np.asarray(group[weight_name])
                own = _own(weight_name, name) if name in wrappers else None
                if own == "mask":
                    masks.append(value)
                elif own is None:
                    if _key(weight_name) in inner:
                        raise RewriteFailed(f"layer '{name}' has two weights called '{_key(weight_name)}'")
                    inner[_key(weight_name)] = value
            out[name] = (inner, masks)
    return out


def _masked_index(layer: Any, mask: np.ndarray, taken: set[int]) -> int:
    """Which weight of ``layer`` a mask belongs to: the one of its shape, else tfmot's choice for the class."""
    kind = type(layer).__name__
    fits = [i for i, w in enumerate(layer.weights) if tuple(w.shape) == mask.shape and i not in taken]
    if len(fits) > 1:
        preferred = _PRUNED_WEIGHTS.get(kind, ())
        fits = [i for i in fits if _key(layer.weights[i].name).rsplit("/", 1)[-1] in preferred]
    if len(fits) != 1:
        raise RewriteFailed(f"cannot tell which weight of layer '{layer.name}' ({kind}) the mask of shape {mask.shape} "
                            f"belongs to ({len(fits)} candidates)")
    return fits[0]


class StripPruningKerasFile(Rewrite):
    """Strip tfmot prune_low_magnitude wrappers from a tf_keras .h5 file and export it as a SavedModel, without tfmot.

    What it fixes:
        A pruned model saved with model.save('m.h5') without tfmot.sparsity.keras.strip_pruning, on a
        machine without tensorflow-model-optimization.
    Why it fails:
        Loading needs tfmot's PruneLowMagnitude class ("Unknown layer: 'PruneLowMagnitude'"), so the file
        cannot even be exported; with tfmot, it converts with the masks as resource variables
        (VAR_HANDLE/READ_VARIABLE/ASSIGN_VARIABLE, CALL_ONCE) that delegates and micro runtimes refuse.
    Safety:
        safe. Nothing in the file is executed: the model config JSON and the weights are read with
        h5py, each wrapper config is replaced by its inner layer's, the model is rebuilt with tf_keras
        from that config (a Lambda layer is refused unless --unsafe-load), and each mask is multiplied
        into the weight it prunes (the weight of its shape; tfmot's per-class choice if several fit).
        The export is checked against the rebuilt Keras model, as export_keras_file does.
        A pruned LSTM/GRU cannot be in a .h5 (tf_keras fails writing its two masks, both named
        'mask:0'). tf_keras .keras files with wrappers are refused with the way out; Keras 3 files
        cannot hold wrappers (tfmot 0.8 works with tf_keras only).
    References:
        docs/facts.md §4 (artifact-level strip without tfmot: 207,944 bytes .tflite, diff 1.5e-7).
    """

    id = "strip_pruning_keras_file"
    title = "strip pruning wrappers from the Keras file and export it"
    answers = frozenset({FindingKind.KERAS_FILE, FindingKind.PRUNING_WRAPPERS})
    safety = Safety.SAFE
    cases = ("pruning/h5_without_tfmot",)

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        """PRUNING_WRAPPERS for a .h5/.keras file whose config JSON has PruneLowMagnitude layers (read, never loaded)."""
        if model.kind not in (ArtifactKind.KERAS_V3, ArtifactKind.H5):
            return []
        wrappers = pruned_layers(keras_file_config(model.path, model.kind))
        if not wrappers:
            return []
        return [worded(FindingKind.PRUNING_WRAPPERS, Severity.WARNING, Source.STATIC, explanation="keras-file",
                       evidence="PruneLowMagnitude layers in the file's model config: " + ", ".join(wrappers[:4])
                       + (f" (+{len(wrappers) - 4} more)" if len(wrappers) > 4 else ""))]

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.info is not None or model.kind not in (ArtifactKind.H5, ArtifactKind.KERAS_V3):
            return "not a Keras file"
        if not pruned_layers(keras_file_config(model.path, model.kind)):
            return "no PruneLowMagnitude layer in the Keras file's config"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        if model.kind is not ArtifactKind.H5:
            raise RewriteFailed("a tf_keras .keras file with pruning wrappers cannot be stripped without tfmot here: "
                                "load it where tfmot is installed and save tfmot.sparsity.keras.strip_pruning(model) "
                                "as .h5 or with model.save(dir)")
        root = keras_file_config(model.path, model.kind)
        assert root is not None
        kind = root.get("class_name")
        if kind not in ("Sequential", "Functional", "Model"):
            raise RewriteFailed(f"the root is a {kind}, not a Sequential or functional model")
        check_keras_file(model.path, options.unsafe_load)  # from_config below runs a Lambda's code: refuse first
        config, names = unwrapped_config(root)
        tf()
        import tf_keras

        with captured_stderr():
            try:
                builder = tf_keras.Sequential if kind == "Sequential" else tf_keras.Model
                clean = builder.from_config(config)
            except (ValueError, TypeError, KeyError) as exc:
                raise RewriteFailed(f"cannot rebuild the unwrapped model with tf_keras: {_one_line(exc)}") from None
        stored = _h5_weights(model.path, set(names))
        outer = {inner: wrapper for wrapper, inner in names.items()}
        masked, pruned, zeros = 0, 0, 0
        for layer in clean.layers:
            if not layer.weights:
                continue
            name = outer.get(layer.name, layer.name)
            if name not in stored:
                raise RewriteFailed(f"no weights stored for layer '{name}'")
            inner, masks = stored[name]
            keys = [_key(w.name) for w in layer.weights]
            missing = [k for k in keys if k not in inner]
            if missing or len(inner) != len(keys):
                raise RewriteFailed(f"layer '{name}': stored weights {sorted(inner)} do not match the rebuilt "
                                    f"{type(layer).__name__}'s {keys}")
            values = [inner[k] for k in keys]
            taken: set[int] = set()
            for mask in masks:
                index = _masked_index(layer, mask, taken)
                taken.add(index)
                values[index] = values[index] * mask
                masked, pruned, zeros = masked + 1, pruned + mask.size, zeros + int(np.sum(values[index] == 0))
            try:
                layer.set_weights(values)
            except ValueError as exc:
                raise RewriteFailed(f"cannot set the weights of layer '{name}': {_one_line(exc)}") from None
        exported, worst = checked_export(clean, "tf_keras", scratch / "saved_model", options)
        # unroll_keras_rnn reloads model.keras_file: point it at a stripped copy that loads without tfmot.
        stripped_file = scratch / "stripped.h5"
        with captured_stderr():
            clean.save(str(stripped_file), save_format="h5")
        sparsity = zeros / pruned if pruned else 0.0
        return Applied(replace(exported, keras_file=stripped_file),
                       f"stripped {len(names)} wrapper(s) read from the .h5 without tfmot, folded {masked} mask(s) into "
                       f"kernels ({sparsity:.0%} zeros in the pruned kernels), exported with tf_keras (export matches the "
                       f"stripped Keras model, max diff {worst:.2g})")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
