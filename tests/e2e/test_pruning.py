"""strip_pruning_wrappers: the .tflite loses its resource variables and shrinks; keys stay unless renamed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from repair.fix.rewrite import RewriteFailed
from rewrites.strip_pruning_wrappers import _masks, _saved_weights, unwrapped_config
from tests.cli_helpers import repair
from tests.conftest import Corpus


def test_unwrapped_config_renames_graph_references() -> None:
    wrapper = {"class_name": "PruneLowMagnitude", "name": "prune_low_magnitude_dense",
               "config": {"name": "prune_low_magnitude_dense", "layer": {"class_name": "Dense", "config": {"name": "dense"}}},
               "inbound_nodes": [[["features", 0, 0, {}]]]}
    head = {"class_name": "Dense", "name": "head", "config": {"name": "head"},
            "inbound_nodes": [[["prune_low_magnitude_dense", 0, 0, {}]]]}
    root = {"class_name": "Functional", "config": {"layers": [wrapper, head], "output_layers": [["head", 0, 0]],
                                                    "input_layers": [["features", 0, 0]]}}
    config, names = unwrapped_config(root)
    assert names == {"prune_low_magnitude_dense": "dense"}
    assert config["layers"][0]["class_name"] == "Dense" and config["layers"][0]["name"] == "dense"
    assert config["layers"][1]["inbound_nodes"] == [[["dense", 0, 0, {}]]]


@pytest.mark.slow
def test_strip_shrinks_and_drops_resource_variables(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    # --convert-original: the "before" .tflite (size, ops) is only measured when asked for.
    run = repair("fix", str(corpus.artifact("pruning/unstripped")), "--out", str(out), "--convert-original")
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["bytes"]["tflite_after"] < 0.6 * report["bytes"]["tflite_before"]
    ops = report["after"]["tflite"]["ops"]
    assert not {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"} & set(ops)
    assert report["op_delta"]["VAR_HANDLE"] < 0
    assert list(report["after"]["tflite"]["signatures"]["serving_default"]["outputs"]) == ["prune_low_magnitude_dense"]


@pytest.mark.slow
def test_rename_restores_the_plain_layer_name(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("pruning/unstripped")), "--out", str(out),
                 "--rename", "prune_low_magnitude_dense=dense")
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert list(report["after"]["tflite"]["signatures"]["serving_default"]["outputs"]) == ["dense"]
    assert [f["rewrite"] for f in report["fixes"]] == ["strip_pruning_wrappers", "rename_serving_keys"]


class _Var:
    """Stands in for a restored variable: a name, a shape and numpy()."""

    def __init__(self, name: str, value: np.ndarray) -> None:
        self.name, self.shape, self._value = name, value.shape, value

    def numpy(self) -> np.ndarray:
        return self._value


class SeparableConv2D:
    def __init__(self, weights: list[_Var]) -> None:
        self.name, self.weights = "separable_conv2d", weights


class _Saved:
    def __init__(self, **children: object) -> None:
        self.__dict__.update(children)


def _separable() -> tuple[list[_Var], SeparableConv2D]:
    saved = [_Var("sep/depthwise_kernel:0", np.ones((3, 3, 2, 1))), _Var("sep/pointwise_kernel:0", np.ones((1, 1, 2, 4))),
             _Var("sep/bias:0", np.ones(4))]
    rebuilt = SeparableConv2D([_Var(v.name.replace("sep/", "separable_conv2d/"), v.numpy()) for v in saved])
    return saved, rebuilt


def test_masks_follow_pruning_vars_not_attribute_names() -> None:
    saved, layer = _separable()
    mask = _Var("sep/mask:0", np.array([1.0, 0.0] * 4).reshape(1, 1, 2, 4))
    wrapper = _Saved(pruning_vars=[[saved[1], mask, _Var("sep/threshold:0", np.zeros(()))]])
    masks = _masks(wrapper, saved, layer)
    assert list(masks) == [1]  # the pointwise kernel; the depthwise kernel is not pruned
    assert np.array_equal(masks[1], mask.numpy())
    assert _masks(_Saved(pruning_vars=[]), saved, layer) == {}  # a DepthwiseConv2D wrapper: no mask at all


def test_unreadable_wrappers_fail_with_a_reason_naming_the_layer() -> None:
    saved, layer = _separable()
    with pytest.raises(RewriteFailed, match="'separable_conv2d'.*no pruning_vars"):
        _masks(_Saved(), saved, layer)
    stranger = _Var("other/kernel:0", np.ones((1, 1, 2, 4)))
    with pytest.raises(RewriteFailed, match="'separable_conv2d'.*belongs to no weight"):
        _masks(_Saved(pruning_vars=[[stranger, _Var("m:0", np.ones((1, 1, 2, 4))), None]]), saved, layer)
    with pytest.raises(RewriteFailed, match="'separable_conv2d'.*unreadable"):
        _masks(_Saved(pruning_vars=[7]), saved, layer)


def test_saved_weights_pair_by_order_and_fall_back_to_names() -> None:
    saved, layer = _separable()
    assert _saved_weights(_Saved(variables=saved), layer) == saved
    by_name = _Saved(depthwise_kernel=saved[0], pointwise_kernel=saved[1], bias=saved[2])  # e.g. Normalization
    assert _saved_weights(by_name, layer) == saved
    with pytest.raises(RewriteFailed, match="'separable_conv2d'.*saved 2 weight"):
        _saved_weights(_Saved(variables=saved[:2]), layer)
    with pytest.raises(RewriteFailed, match="'separable_conv2d'.*does not match"):
        _saved_weights(_Saved(variables=[saved[1], saved[0], saved[2]]), layer)
    with pytest.raises(RewriteFailed, match="'separable_conv2d'.*no saved weight 'bias'"):
        _saved_weights(_Saved(depthwise_kernel=saved[0], pointwise_kernel=saved[1]), layer)


@pytest.mark.slow
def test_depthwise_and_separable_wrappers_are_stripped(corpus: Corpus, tmp_path: Path) -> None:
    import tensorflow as tf

    artifact = corpus.artifact("pruning/unstripped_depthwise_separable")
    out = tmp_path / "o"
    run = repair("fix", str(artifact), "--out", str(out))
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "repaired"
    [fix] = [f for f in report["fixes"] if f["rewrite"] == "strip_pruning_wrappers"]
    assert fix["outcome"] == "applied" and "stripped 2 wrapper(s), folded 1 mask(s)" in fix["summary"], fix
    assert all(check["ok"] for check in report["gate"]), report["gate"]  # builtins-only and parity included
    assert {"converts builtins-only", "TFLite matches the original"} <= {c["check"] for c in report["gate"]}
    ops = set(report["after"]["tflite"]["ops"])
    assert {"DEPTHWISE_CONV_2D", "CONV_2D"} <= ops
    assert not {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"} & ops
    assert list(report["after"]["tflite"]["signatures"]["serving_default"]["outputs"]) == ["head"]

    def checkpoint(path: Path) -> dict[str, np.ndarray]:
        reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
        return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if "OBJECT_GRAPH" not in k}

    before, after = checkpoint(artifact), checkpoint(out)
    assert any("/mask/" in k for k in before) and any("/pruning_step/" in k for k in before)
    assert not [k for k in after if any(part in k for part in ("mask", "threshold", "pruning_step"))], sorted(after)
    [pointwise] = [v for k, v in after.items() if "/pointwise_kernel/" in k]
    assert np.mean(pointwise == 0) >= 0.5  # ConstantSparsity 0.5, folded in
    depthwise = [v for k, v in after.items() if "/depthwise_kernel/" in k]
    assert len(depthwise) == 2 and all(np.mean(v == 0) < 0.5 for v in depthwise)  # never pruned by tfmot


def test_pruning_variable_names_and_keras_file_config() -> None:
    from rewrites.strip_pruning_graph import is_pruning_variable
    from rewrites.strip_pruning_keras_file import _key, _own, pruned_layers

    assert is_pruning_variable("prune_low_magnitude_dense/mask:0") and is_pruning_variable("w/threshold_1:0")
    assert is_pruning_variable("prune_low_magnitude_conv2d/pruning_step")
    assert not is_pruning_variable("dense/kernel:0") and not is_pruning_variable("attention/masked_kernel:0")
    assert _key("prune_low_magnitude_lstm/lstm_cell/kernel:0") == "lstm_cell/kernel" and _key("conv2d/bias:0") == "bias"
    assert _own("prune_low_magnitude_dense/mask:0", "prune_low_magnitude_dense") == "mask"
    assert _own("prune_low_magnitude_dense/kernel:0", "prune_low_magnitude_dense") is None  # the inner layer's
    assert _own("dense/mask:0", "prune_low_magnitude_dense") is None
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"name": "x"}},
        {"class_name": "PruneLowMagnitude", "config": {"name": "prune_low_magnitude_dense", "layer": {}}}]}}
    assert pruned_layers(config) == ["prune_low_magnitude_dense"]
    assert pruned_layers(None) == [] and pruned_layers({"class_name": "Sequential"}) == []


_ORIGINAL_WITH_TFMOT = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tensorflow as tf, tf_keras, tensorflow_model_optimization as tfmot
artifact, fixed = sys.argv[1], sys.argv[2]
if artifact.endswith(".h5"):
    with tfmot.sparsity.keras.prune_scope():
        original = tf_keras.models.load_model(artifact, compile=False)
    run = lambda x: original(x, training=False).numpy()
else:
    sig = tf.saved_model.load(artifact).signatures["serving_default"]
    run = lambda x: list(sig(tf.constant(x)).values())[0].numpy()
served = tf.saved_model.load(fixed).signatures["serving_default"]
x = np.random.default_rng(1).standard_normal((4, 8, 8, int(sys.argv[3]))).astype("float32")
print(float(np.max(np.abs(run(x) - list(served(tf.constant(x)).values())[0].numpy()))))
"""

_WITHOUT_TFMOT = """
import sys
sys.modules["tensorflow_model_optimization"] = None  # the tool's own install has no tfmot: any import fails
from repair.cli import app
app(sys.argv[1:])
"""


@pytest.mark.slow
@pytest.mark.parametrize("case_id, channels", [("pruning/h5_without_tfmot", 3), ("pruning/tf_saved_model_save", 1)])
def test_stripped_output_matches_the_pruned_original_run_by_tfmot(corpus: Corpus, tmp_path: Path, case_id: str,
                                                                   channels: int) -> None:
    """Proof against the original itself, loaded with tfmot in a separate process; the fix runs with tfmot blocked."""
    import os
    import subprocess
    import sys

    artifact, out = corpus.artifact(case_id), tmp_path / "o"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    fix = subprocess.run([sys.executable, "-c", _WITHOUT_TFMOT, "fix", str(artifact), "--out", str(out)],
                         capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2])
    assert fix.returncode == 0, fix.stdout + fix.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert not {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"} & set(report["after"]["tflite"]["ops"])
    check = subprocess.run([sys.executable, "-c", _ORIGINAL_WITH_TFMOT, str(artifact), str(out), str(channels)],
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr[-2000:]
    assert float(check.stdout.strip().splitlines()[-1]) < 1e-5


@pytest.mark.slow
def test_pruned_tf_keras_dot_keras_is_refused_with_the_way_out(tmp_path: Path) -> None:
    """tf_keras can write a .keras v3 zip with wrappers; its weights layout is not read here: refused, not crashed."""
    import os
    import subprocess
    import sys

    script = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tf_keras, tensorflow_model_optimization as tfmot
base = tf_keras.Sequential([tf_keras.layers.Dense(3, input_shape=(4,))])
tfmot.sparsity.keras.prune_low_magnitude(base).save(sys.argv[1])
"""
    path = tmp_path / "pruned.keras"
    built = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert built.returncode == 0, built.stderr[-2000:]
    diagnosis = repair("diagnose", str(path), "--json")
    ids = {f["id"] for f in json.loads(diagnosis.stdout)["findings"]}
    assert {"keras-file", "pruning-wrappers"} <= ids
    run = repair("fix", str(path), "--out", str(tmp_path / "o"))
    assert run.exit_code == 1 and not (tmp_path / "o").exists()
    assert "strip_pruning(model)" in run.stdout + run.stderr


@pytest.mark.slow
def test_a_pruned_model_holding_a_lookup_table_is_stripped(tmp_path: Path) -> None:
    """The stripped SavedModel is saved from the weights alone, except when the model holds a resource that is not a
    weight (IntegerLookup's hash table): then the table comes along through its layer, and the fix still verifies."""
    import os
    import subprocess
    import sys

    import tensorflow as tf

    script = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tf_keras, tensorflow_model_optimization as tfmot
sparsity = tfmot.sparsity.keras
ids = tf_keras.Input((4,), dtype="int64", name="ids")
hot = tf_keras.layers.IntegerLookup(vocabulary=[3, 5, 7], output_mode="multi_hot")(ids)
dense = sparsity.prune_low_magnitude(tf_keras.layers.Dense(8, activation="relu"),
                                     pruning_schedule=sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1))
model = tf_keras.Model(ids, tf_keras.layers.Dense(2, name="head")(dense(hot)))
model.compile(optimizer="adam", loss="mse")
x = np.random.default_rng(0).integers(0, 9, (32, 4))
model.fit(x, np.zeros((32, 2), "float32"), epochs=1, verbose=0, callbacks=[sparsity.UpdatePruningStep()])
model.save(sys.argv[1])
"""
    src, out = tmp_path / "saved_model", tmp_path / "o"
    built = subprocess.run([sys.executable, "-c", script, str(src)], capture_output=True, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert built.returncode == 0, built.stderr[-2000:]
    run = repair("fix", str(src), "--out", str(out))
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    [fix] = [f for f in report["fixes"] if f["rewrite"] == "strip_pruning_wrappers"]
    assert fix["outcome"] == "applied" and "stripped 1 wrapper(s), folded 1 mask(s)" in fix["summary"], fix
    assert all(check["ok"] for check in report["gate"]), report["gate"]
    assert list(report["after"]["tflite"]["signatures"]["serving_default"]["outputs"]) == ["head"]
    keys = tf.train.load_checkpoint(str(out / "variables" / "variables")).get_variable_to_shape_map()
    assert not [k for k in keys if any(part in k for part in ("mask", "threshold", "pruning_step"))], sorted(keys)
