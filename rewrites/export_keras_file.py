"""export_keras_file: turn a .keras/.h5 file into a SavedModel with serving_default."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.errors import BadInput
from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.model.artifact import ArtifactKind
from repair.model.code_check import check_keras_file
from repair.model.parity import compare, generate_valid, load_sample
from repair.model.working import Port, WorkingModel, load, open_saved_model, serving_callable

_CUSTOM_CLASS = re.compile(
    r"(?:Unknown (?:layer|object|class|function)[^'\"]*|Could not locate (?:class|function) )['\"]([\w.]+)['\"]")


def _why(exc: BaseException) -> str:
    """The useful part of a Keras load error, in one short clause."""
    text = str(exc)
    custom = _CUSTOM_CLASS.search(text)
    if custom:
        return f"custom class '{custom.group(1)}' is not importable here"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first[:160]}"


def load_keras(path: Path, kind: ArtifactKind, unsafe: bool) -> tuple[Any, str]:
    """Load with Keras 3 (safe mode unless ``unsafe``); .h5 files fall back to tf_keras.

    The file's configs are checked for code first (repair.model.code_check): tf_keras' .h5 loader ignores safe_mode,
    so without the check a Lambda in a file Keras 3 cannot read ran on the fallback (issue 12)."""
    check_keras_file(path, unsafe)
    tf()
    import keras

    errors = []
    try:
        with captured_stderr():
            return keras.saving.load_model(str(path), compile=False, safe_mode=not unsafe), "keras"
    except Exception as exc:  # keras raises ValueError, TypeError, OSError, zipfile errors...
        if "safe_mode" in str(exc) or "unsafe" in str(exc).lower():
            raise BadInput(f"{path}: the model contains code (e.g. a Lambda layer); "
                           "rerun with --unsafe-load if you trust it") from None
        errors.append(_why(exc))
    if kind is ArtifactKind.H5:
        try:
            import tf_keras

            with captured_stderr():
                return tf_keras.models.load_model(str(path), compile=False, safe_mode=not unsafe), "tf_keras"
        except Exception as exc:  # same: tf_keras has no narrower error type
            errors.append(_why(exc))
    custom = next((e for e in errors if e.startswith("custom class")), None)
    if custom:
        raise BadInput(f"{path}: {custom}: load the model where its code is defined and save it with model.export(DIR) "
                       "(a SavedModel keeps the graph without the Python class), then repair that")
    raise BadInput(f"{path}: cannot be loaded as a Keras model ({'; '.join(dict.fromkeys(errors))})")


def _by_port(expected: Any, outputs: tuple[Port, ...]) -> dict[str, np.ndarray]:
    """Keras outputs (a tensor, a list, or a dict by output name) keyed like the export's outputs."""
    if isinstance(expected, dict):
        if set(expected) == {p.origin for p in outputs}:
            return {k: np.asarray(v) for k, v in expected.items()}
        expected = list(expected.values())
    flat = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    if len(flat) != len(outputs):
        raise RewriteFailed(f"the Keras model has {len(flat)} outputs, the export {len(outputs)}")
    ordered = sorted(outputs, key=lambda p: int(p.origin.split("_")[-1]) if p.origin.split("_")[-1].isdigit() else 0)
    return {p.origin: np.asarray(v) for p, v in zip(ordered, flat)}


def export_keras(model: Any, flavour: str, dest: Path) -> None:
    with captured_stderr():
        if flavour == "keras":
            model.export(str(dest), format="tf_saved_model", verbose=False)
        else:
            model.save(str(dest), save_format="tf")


def checked_export(keras_model: Any, flavour: str, dest: Path, options: Options) -> tuple[WorkingModel, float]:
    """Export a Keras model to ``dest`` and check the SavedModel against the Keras model on the parity inputs.

    Returns the opened export and the worst difference; raises RewriteFailed when it has no signature or differs.
    """
    export_keras(keras_model, flavour, dest)
    exported = open_saved_model(dest)
    if exported.entry is None:
        raise RewriteFailed("the export has no serving signature")
    entry = exported.entry

    def run_keras(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = [feeds[p.name] for p in entry.inputs]
        with captured_stderr():
            return _by_port(keras_model(inputs[0] if len(inputs) == 1 else inputs, training=False), entry.outputs)

    if options.sample is not None:
        feeds = load_sample(options.sample, entry.inputs)
        reference = run_keras(feeds)
    else:
        pool = exported.info.string_pool if exported.info is not None else ()
        feeds, reference = generate_valid(entry.inputs, run_keras, options.seed, options.batch, strings=pool)
    with captured_stderr():
        got = serving_callable(load(dest, exported.tags), entry)({k: tf().constant(v) for k, v in feeds.items()})
    parity = compare(reference, {k: np.asarray(v) for k, v in got.items()}, entry.outputs, options.tolerance)
    if not parity.ok:
        raise RewriteFailed(f"the exported SavedModel does not match the Keras model (max diff {parity.worst:.3g})")
    return exported, parity.worst


class ExportKerasFile(Rewrite):
    """Load a .keras or .h5 file and export it as a serve-tagged SavedModel.

    What it fixes:
        A Keras file passed where a SavedModel is expected.
    Why it fails:
        "OSError: SavedModel file does not exist at: m.keras/{saved_model.pbtxt|saved_model.pb}".
        Keras 3 model.save(dir) refuses to write a SavedModel at all.
    Safety:
        safe. Keras 3 files use model.export(); tf_keras .h5 files use the legacy SavedModel writer.
        Loading runs in safe mode (no Lambda or pickled code) unless --unsafe-load is given. The export
        is checked against the Keras model on seeded inputs before it is used.
    References:
        docs/facts.md 1f, 1g (verified, diff 0).
    """

    id = "export_keras_file"
    title = "export the Keras file as a SavedModel"
    answers = frozenset({FindingKind.KERAS_FILE})
    safety = Safety.SAFE
    cases = ("keras/keras3_file", "keras/keras3_dict_outputs", "keras/keras3_h5", "keras/tf_keras_h5", "loops/keras_bilstm_file",
             "loops/keras_gru_h5_dynamic", "loops/keras_lstm_file", "loops/tf_keras_gru_h5", "ops/mixed_float16_keras_file")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        if model.kind not in (ArtifactKind.KERAS_V3, ArtifactKind.H5):
            return []
        return [worded(FindingKind.KERAS_FILE, Severity.ERROR, Source.ARTIFACT, suffix=model.path.suffix or model.kind.value,
                       path=model.path, evidence=str(model.path))]

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        keras_model, flavour = load_keras(model.path, model.kind, options.unsafe_load)
        exported, worst = checked_export(keras_model, flavour, scratch / "saved_model", options)
        exported = replace(exported, keras_file=model.path)
        summary = f"loaded with {flavour} and exported to a SavedModel (export matches Keras, max diff {worst:.2g})"
        return Applied(exported, summary)
