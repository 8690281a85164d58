"""Hostile loading: no Python code from a model file runs unless the user passed --unsafe-load, on any loader path.

Each payload is a real model whose code writes a marker file the moment a loader runs it: a Lambda layer's
marshalled lambda (called when Keras rebuilds the functional graph) or a module named in config.json that
writes the marker when imported. Every loader path the tool has is probed:

- Keras 3 ``.keras`` (keras.saving.load_model, safe mode);
- Keras 3 ``.h5`` (Keras 3's legacy h5 loader);
- tf_keras ``.h5`` holding a TFOpLambda and a Lambda (Keras 3 cannot load it, the tool fell back to tf_keras,
  whose h5 loader ignores safe mode: the reported probe, issue 12 item 1);
- tf_keras SavedModel whose keras_metadata.pb is revived by unroll_keras_rnn (tf_keras.models.load_model on a
  directory ignores safe mode too), with the class name JSON-escaped ("Lambd\\u0061") so a byte search misses it;
- a ``.keras`` whose config.json names a module outside Keras (importing it runs its code).

The config walk itself (repair.model.code_check.find_code) is tested on plain dicts, without TensorFlow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from repair.model.code_check import CodeRef, find_code, tf_symbol_is_op
from tests.conftest import ROOT, tree_digest
from tests.hostile import assert_clean, run

# ---------------------------------------------------------------------------------------------------------------
# Payload builders: each runs in a fresh interpreter (Keras 3, or tf_keras with TF_USE_LEGACY_KERAS=1).


def _payload(marker: str):  # type: ignore[no-untyped-def]
    """A lambda that creates ``marker`` when called and returns its input: the code a hostile Lambda carries."""
    return lambda t, m=marker: (open(m, "a").close(), t)[1]


def build_keras3(dest: str, marker: str, suffix: str) -> None:
    """Keras 3: Input(4) -> Lambda(payload) -> Dense(2), saved as .keras or .h5."""
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,), name="x")
    hidden = keras.layers.Lambda(_payload(marker), name="innocent_scale")(inp)
    model = keras.Model(inp, keras.layers.Dense(2, name="scores")(hidden))
    model.save(str(Path(dest) / f"payload.{suffix}"))


def build_tf_keras_h5(dest: str, marker: str) -> None:
    """tf_keras: Input(4) -> tf.math.add (a TFOpLambda: Keras 3 cannot load it) -> Lambda(payload) -> Dense(2), .h5."""
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input((4,), name="x")
    shifted = tf.math.add(inp, 1.0)
    hidden = tf_keras.layers.Lambda(_payload(marker), name="innocent_scale")(shifted)
    model = tf_keras.Model(inp, tf_keras.layers.Dense(2, name="scores")(hidden))
    model.save(str(Path(dest) / "payload.h5"))


def build_tf_keras_saved_model(dest: str, marker: str) -> None:
    """tf_keras: Input(6, 4) -> Lambda(payload) -> LSTM(8) -> Dense(3), model.save(dir) (legacy SavedModel).

    The LSTM's rolled loop fails conversion, so unroll_keras_rnn revives the model from keras_metadata.pb. The
    Lambda's class name is JSON-escaped in the metadata ("Lambd\\u0061": the same after json.loads), which hides
    it from a byte search for '"Lambda"'.
    """
    import tf_keras
    from tf_keras.protobuf import saved_metadata_pb2

    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input((6, 4), name="frames")
    hidden = tf_keras.layers.Lambda(_payload(marker), name="innocent_scale")(inp)
    model = tf_keras.Model(inp, tf_keras.layers.Dense(3, name="scores")(tf_keras.layers.LSTM(8)(hidden)))
    out = Path(dest) / "saved_model"
    model.save(str(out), save_format="tf")
    meta = saved_metadata_pb2.SavedMetadata()
    meta.ParseFromString((out / "keras_metadata.pb").read_bytes())
    for node in meta.nodes:
        node.metadata = node.metadata.replace('"class_name": "Lambda"', '"class_name": "Lambd\\u0061"')
    (out / "keras_metadata.pb").write_bytes(meta.SerializeToString())


def build_module_reference(dest: str, marker: str) -> None:
    """Keras 3 .keras Input(4) -> Dense(2) whose activation config.json names module 'evil_activations', and that
    module (on PYTHONPATH for the probe) creates the marker when imported."""
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, keras.layers.Dense(2, name="scores")(inp))
    plain = Path(dest) / "plain.keras"
    model.save(str(plain))
    with zipfile.ZipFile(plain) as z:
        files = {name: z.read(name) for name in z.namelist()}
    config = json.loads(files["config.json"])
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["activation"] = {"module": "evil_activations", "class_name": "function", "config": "boom",
                                     "registered_name": "boom"}
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(Path(dest) / "payload.keras", "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    plain.unlink()
    lib = Path(dest) / "lib"
    lib.mkdir()
    (lib / "evil_activations.py").write_text(f"open({marker!r}, 'a').close()\n\ndef boom(x):\n    return x\n")


def _build(function: str, dest: Path, marker: Path, *extra: str, legacy: bool = False) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1" if legacy else "0")
    args = ", ".join(repr(a) for a in (str(dest), str(marker), *extra))
    proc = subprocess.run([sys.executable, "-c", f"from tests.e2e.test_hostile_loading import {function}; {function}({args})"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    marker.unlink(missing_ok=True)  # building ran the lambda once (Keras traces it): only a load may recreate it


def _build_many(calls: list[tuple[str, tuple[str, ...]]], legacy: bool) -> None:
    """Run several builders in one fresh interpreter (one TensorFlow import for all of them)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1" if legacy else "0")
    script = "import tests.e2e.test_hostile_loading as b\n" + "".join(f"b.{fn}(*{args!r})\n" for fn, args in calls)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


class Payloads:
    """The payload models of this module, built once, and the marker each one's code would create."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.markers = root / "markers"
        self.markers.mkdir()
        for name in ("k3keras", "k3h5", "tfkh5", "tfksm", "module"):
            (root / name).mkdir()
        m = self.marker
        _build_many([("build_keras3", (str(root / "k3keras"), str(m("k3keras")), "keras")),
                     ("build_keras3", (str(root / "k3h5"), str(m("k3h5")), "h5")),
                     ("build_module_reference", (str(root / "module"), str(m("module"))))], legacy=False)
        _build_many([("build_tf_keras_h5", (str(root / "tfkh5"), str(m("tfkh5")))),
                     ("build_tf_keras_saved_model", (str(root / "tfksm"), str(m("tfksm"))))], legacy=True)
        for marker in self.markers.iterdir():
            marker.unlink()  # building ran each lambda once (Keras traces it): only a load may recreate it

    def marker(self, name: str) -> Path:
        return self.markers / name


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> Payloads:
    return Payloads(tmp_path_factory.mktemp("hostile_loading"))


KERAS_FILES = {  # probe -> (file, what the one line must name)
    "k3keras": ("payload.keras", "'innocent_scale' (Lambda)"),
    "k3h5": ("payload.h5", "'innocent_scale' (Lambda)"),
    "tfkh5": ("payload.h5", "'innocent_scale' (Lambda)"),
    "module": ("payload.keras", "'scores' (Dense) names the function 'boom' of the Python module 'evil_activations'"),
}


@pytest.mark.parametrize("probe", list(KERAS_FILES))
def test_keras_file_with_code_is_refused_before_loading(payloads: Payloads, tmp_path: Path, probe: str) -> None:
    """Probe: `repair fix` of a Keras file whose Lambda (or a module its config.json names) creates a marker when
    a loader runs it: Keras 3 .keras, Keras 3 .h5, tf_keras .h5 with TFOpLambda + Lambda (Keras 3 cannot load it,
    tf_keras' h5 loader ignores safe mode), .keras naming module 'evil_activations' (on PYTHONPATH).
    Expected: exit 2, one line naming the layer, its class and --unsafe-load; no marker; input unchanged; no --out."""
    name, needle = KERAS_FILES[probe]
    model = payloads.root / probe / name
    digest = tree_digest(model)
    out = tmp_path / "out"
    env = {"PYTHONPATH": str(payloads.root / "module" / "lib")} if probe == "module" else None
    result = run("fix", model, "--out", out, env=env)
    assert_clean(result, code=2, input_path=model, digest=digest, out=out, markers=[payloads.marker(probe)])
    line = result.one_line()
    assert needle in line and "--unsafe-load" in line, line
    assert not out.exists()


def test_diagnose_names_the_code_too(payloads: Payloads) -> None:
    """Probe: `repair diagnose` of the tf_keras .h5 with TFOpLambda + Lambda (diagnose exports a Keras file to look
    past it, which loads it). Expected: the same refusal as fix: exit 2, one line naming the layer and the flag,
    no marker, input unchanged."""
    model = payloads.root / "tfkh5" / "payload.h5"
    digest = tree_digest(model)
    result = run("diagnose", model)
    assert_clean(result, code=2, input_path=model, digest=digest, markers=[payloads.marker("tfkh5")])
    line = result.one_line()
    assert "'innocent_scale' (Lambda)" in line and "--unsafe-load" in line, line


def test_saved_model_layers_are_not_revived(payloads: Payloads, tmp_path: Path) -> None:
    """Probe: `repair fix` of a tf_keras SavedModel (LSTM: its rolled loop fails conversion) whose keras_metadata.pb
    holds a Lambda spelled "Lambd\\u0061": unroll_keras_rnn would revive the layers with tf_keras, which ignores
    safe mode for SavedModels. Expected: the rebuild declines naming the layer and --unsafe-load (the graph
    strategy needs no Keras code and may still repair it); no marker; input unchanged; --out absent or complete."""
    model = payloads.root / "tfksm" / "saved_model"
    digest = tree_digest(model)
    out = tmp_path / "out"
    result = run("fix", model, "--out", out)
    assert_clean(result, code=(0, 1), input_path=model, digest=digest, out=out, markers=[payloads.marker("tfksm")])
    report = out / "report.json"  # verbatim text (report.md escapes markdown, the terminal wraps lines)
    said = result.stdout + result.stderr + (report.read_text() if report.is_file() else "")
    assert "'innocent_scale' (Lambda)" in " ".join(said.split()) and "--unsafe-load" in said, result.show()


def test_unsafe_load_lets_the_code_run(payloads: Payloads, tmp_path: Path) -> None:
    """Probe: the tf_keras .h5 payload with --unsafe-load. Expected: the load proceeds (the user vouched for the
    file), so the lambda runs and creates its marker: proof the payloads of this module are real. Exit 0 or
    another documented code, never a traceback; input unchanged."""
    model = payloads.root / "tfkh5" / "payload.h5"
    digest = tree_digest(model)
    marker = payloads.marker("tfkh5")
    result = run("fix", model, "--out", tmp_path / "out", "--unsafe-load")
    try:
        assert_clean(result, code=(0, 1, 3), input_path=model, digest=digest, out=tmp_path / "out")
        assert marker.exists(), f"the payload never ran: the probes above prove nothing\n{result.show()}"
    finally:
        marker.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------------
# The config walk, on plain dicts (no TensorFlow).


def _layer(class_name: str, name: str, **config: object) -> dict[str, object]:
    return {"module": "keras.layers", "class_name": class_name, "config": {"name": name, **config}, "registered_name": None}


def _model(*layers: dict[str, object], name: str = "model") -> dict[str, object]:
    return {"module": "keras", "class_name": "Functional", "config": {"name": name, "layers": list(layers)}}


RELU = {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"}


def test_plain_models_hold_no_code() -> None:
    """Dense/Conv/LSTM in Keras 3 and tf_keras spellings, TFOpLambda on math ops, a string lookup with an inline
    vocabulary, a builtin activation, dtype policies: nothing to refuse."""
    config = _model(
        _layer("InputLayer", "x", batch_shape=[None, 4]),
        _layer("Dense", "d", activation=RELU,
               dtype={"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}),
        _layer("Conv2D", "c", activation="relu"),
        {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}},
        {"class_name": "TFOpLambda", "config": {"name": "tf.reshape", "function": "reshape"}},
        {"class_name": "SlicingOpLambda", "config": {"name": "tf.__operators__.getitem", "function": "__operators__.getitem"}},
        {"class_name": "TFOpLambda", "config": {"name": "tf.compat.v1.transpose", "function": "compat.v1.transpose"}},
        _layer("StringLookup", "s", vocabulary=["a", "b"]),
        _layer("Bidirectional", "b", layer=_layer("LSTM", "l", unroll=False, activation="tanh")),
        {"class_name": "function", "module": "builtins", "config": "relu"},
    )
    assert find_code(config) == []


def test_lambda_anywhere_is_code() -> None:
    """A Lambda inside a nested model inside a TimeDistributed is found and named by its path; Keras 3 '__lambda__'
    as an activation and a tf_keras cell wrapper's residual_fn bytecode too."""
    lam = {"class_name": "Lambda", "config": {"name": "hidden", "function": ["YmFk", None, None], "function_type": "lambda",
                                              "module": "__main__"}}
    config = _model(_layer("TimeDistributed", "td", layer=_model(lam, name="inner")))
    assert find_code(config) == [CodeRef("td/inner/hidden", "Lambda", "holds marshalled Python bytecode (a lambda)")]
    activation = {"class_name": "__lambda__", "config": {"value": ["YmFk", None, None]}}
    assert [r.layer for r in find_code(_model(_layer("Dense", "d", activation=activation)))] == ["d"]
    wrapper = _layer("ResidualWrapper", "w", residual_fn=["YmFk", None, None], residual_fn_type="lambda",
                     cell=_layer("LSTMCell", "cell"))
    found = find_code(_model(_layer("RNN", "rnn", cell=wrapper)))
    assert [(r.layer, r.class_name) for r in found] == [("rnn/w", "ResidualWrapper")]
    named = {"class_name": "Lambda", "config": {"name": "f", "function": {"module": "mypkg.ops", "class_name": "function",
                                                                         "config": "scale"}}}
    assert "calls the Python function 'scale' of module 'mypkg.ops'" in find_code(_model(named))[0].what


def test_foreign_modules_and_loading_layers_are_code() -> None:
    """Any module outside Keras/TensorFlow (a class or a function), TFSMLayer, TorchModuleWrapper, a vocabulary
    file, and TFOpLambda symbols that are not ops (file I/O, Python callbacks, library loading) are refused."""
    config = _model(
        {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"},
        {"module": "my_layers", "class_name": "Scale", "config": {"name": "scale"}},
        _layer("TFSMLayer", "sm", filepath="/somewhere/else"),
        _layer("TorchModuleWrapper", "torch"),
        _layer("StringLookup", "lookup", vocabulary="/etc/passwd"),
        {"class_name": "TFOpLambda", "config": {"name": "w", "function": "io.write_file"}},
        {"class_name": "TFOpLambda", "config": {"name": "p", "function": "print"}},
        {"class_name": "TFOpLambda", "config": {"name": "f", "function": "py_function"}},
        {"class_name": "TFOpLambda", "config": {"name": "r", "function": "raw_ops.ReadFile"}},
        {"class_name": "TFOpLambda", "config": {"name": "g", "function": "compat.v1.gfile.Remove"}},
    )
    found = find_code(config)
    assert [r.layer for r in found] == ["", "scale", "sm", "torch", "lookup", "w", "p", "f", "r", "g"], found
    assert "names the function 'system' of the Python module 'os'" in found[0].what


def test_tf_symbols() -> None:
    """The TFOpLambda allowlist: op namespaces and plain ops pass, everything that is not a graph op does not."""
    for ok in ("math.add", "nn.relu", "reshape", "concat", "compat.v1.squeeze", "image.resize", "__operators__.add",
               "linalg.matmul", "experimental.numpy.tanh", "debugging.assert_equal", "strings.join"):
        assert tf_symbol_is_op(ok), ok
    for bad in ("io.write_file", "io.gfile.rmtree", "print", "py_function", "numpy_function", "load_library",
                "compat.v1.py_func", "raw_ops.WriteFile", "saved_model.save", "data.TextLineDataset", "Variable",
                "rpc_server", "xla_launch", "summary.write", "debugging.experimental.enable_dump_debug_info", "", "a..b"):
        assert not tf_symbol_is_op(bad), bad


def test_escaped_names_in_messages() -> None:
    """A layer name made of escape sequences reaches the one line with its control characters as '?'."""
    lam = {"class_name": "Lambda", "config": {"name": "\x1b[2J\x1b]8;;http://x\x07evil", "function_type": "lambda",
                                              "function": ["", None, None]}}
    text = find_code(_model(lam))[0].describe()
    assert "\x1b" not in text and "\x07" not in text and "evil" in text
