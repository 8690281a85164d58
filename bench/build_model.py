"""Build one benchmark model with one real defect, in its own process: ``build_model.py ARCH DEFECT DEST``.

Random weights, no downloads. Writes the SavedModel to DEST/saved_model and DEST/meta.json
(the serving input name, read back from the saved signature).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ARCHS = ("MobileNetV2", "ResNet50", "EfficientNetB0")
DEFECTS = ("keras3_tf_save", "train_tag", "dynamic_hw", "pruning")
# bench.py's targets part also builds "train_tag_static": train_tag exported with batch 1, for the static-shape targets.


def _keras3(arch: str, hw: int | None) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    app = getattr(keras.applications, arch)
    if hw is not None:
        return app(weights=None, input_shape=(hw, hw, 3), classifier_activation=None)
    # include_top=True refuses unknown H/W; the same network with global average pooling + a 1000-way Dense
    # head is what include_top builds (minus EfficientNet's inference-time no-op Dropout).
    base = app(weights=None, include_top=False, input_shape=(None, None, 3), pooling="avg")
    return keras.Model(base.input, keras.layers.Dense(1000, name="predictions")(base.output))


def _retag_train(saved_model: Path) -> None:
    """Proto-level defect: the only meta graph is tagged {'train'} instead of {'serve'}."""
    from tensorflow.core.protobuf import saved_model_pb2

    pb = saved_model / "saved_model.pb"
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(pb.read_bytes())
    del sm.meta_graphs[0].meta_info_def.tags[:]
    sm.meta_graphs[0].meta_info_def.tags.append("train")
    pb.write_bytes(sm.SerializeToString())


def _pruned_tf_keras(arch: str, out: Path) -> None:
    """tf_keras model with tfmot prune_low_magnitude on its Conv2D/Depthwise/Dense layers, saved unstripped."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    base = getattr(tf_keras.applications, arch)(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    prunable = (tf_keras.layers.Conv2D, tf_keras.layers.DepthwiseConv2D, tf_keras.layers.Dense)

    def wrap(layer: Any) -> Any:
        return tfmot.sparsity.keras.prune_low_magnitude(layer) if isinstance(layer, prunable) else layer

    model = tf_keras.models.clone_model(base, clone_function=wrap)
    model.save(str(out))  # forgot tfmot.sparsity.keras.strip_pruning


def _input_name(saved_model: Path, tags: list[str]) -> str:
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((saved_model / "saved_model.pb").read_bytes())
    meta = next(m for m in sm.meta_graphs if list(m.meta_info_def.tags) == tags)
    sig = meta.signature_def["serving_default"]
    return next(iter(sig.inputs))


def build(arch: str, defect: str, dest: Path) -> None:
    out = dest / "saved_model"
    tags = ["serve"]
    if defect == "pruning":
        _pruned_tf_keras(arch, out)
    else:
        import tensorflow as tf

        model = _keras3(arch, None if defect == "dynamic_hw" else 224)
        if defect == "keras3_tf_save":
            tf.saved_model.save(model, str(out))  # the silent defect: should have been model.export
        elif defect == "train_tag_static":
            import keras

            # Keras 3 model.export traces an unknown batch unless input_signature gives one.
            model.export(str(out), verbose=False, input_signature=[keras.InputSpec(shape=(1, 224, 224, 3), dtype="float32")])
        else:
            model.export(str(out), verbose=False)
        if defect in ("train_tag", "train_tag_static"):
            _retag_train(out)
            tags = ["train"]
    meta = {"arch": arch, "defect": defect, "tags": tags, "input": _input_name(out, tags)}
    (dest / "meta.json").write_text(json.dumps(meta))


if __name__ == "__main__":
    arch, defect, dest = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if defect == "pruning" and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        sys.exit("pruning needs TF_USE_LEGACY_KERAS=1")
    build(arch, defect, dest)
