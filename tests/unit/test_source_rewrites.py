"""Tests generated from every source rewrite's own examples (no TensorFlow), plus the catalog's own rules.

Each ``Example`` is run three ways: safe fixes only, safe and unsafe fixes, and again on its own output
(a second run must change nothing). Every output must parse. Adding a rewrite with examples adds its tests.
"""

from __future__ import annotations

import subprocess
import sys

import libcst as cst
import pytest

from repair.core.decide import AutoDecider
from repair.core.safety import Safety
from repair.source.codemod import FileStatus, rewrite_source
from repair.source.rewrite import Example, SourceRewrite
from rewrites.source import SOURCE_CATALOG

EXAMPLES = [pytest.param(r, e, id=f"{r.id}-{i}") for r in SOURCE_CATALOG for i, e in enumerate(r.examples)]
SAFE_ONLY = AutoDecider(yes=True, unsafe=False)
ALL = AutoDecider(yes=True, unsafe=True)


def _run(rewrite: SourceRewrite, text: str, example: Example, decider: AutoDecider):  # type: ignore[no-untyped-def]
    return rewrite_source(text, [rewrite], example.options, decider)


@pytest.mark.parametrize("rewrite, example", EXAMPLES)
def test_example(rewrite: SourceRewrite, example: Example) -> None:
    result = _run(rewrite, example.before, example, ALL)
    assert result.status is not FileStatus.FAILED, result.error
    expected = example.before if example.after is None else example.after
    assert result.after == expected
    assert len(result.warnings) == example.warns
    cst.parse_module(result.after)
    again = _run(rewrite, result.after, example, ALL)
    assert again.after == result.after, "a second run changed the rewritten code"
    safe = _run(rewrite, example.before, example, SAFE_ONLY)
    if example.unsafe:
        assert safe.after == example.before, "an unsafe edit was applied without --unsafe-fixes"
    else:
        assert safe.after == expected


@pytest.mark.parametrize("rewrite", SOURCE_CATALOG, ids=lambda r: r.id)
def test_rewrite_is_documented_and_exemplified(rewrite: SourceRewrite) -> None:
    doc = rewrite.doc()
    for heading in ("What it fixes:", "Why it fails:", "Safety:", "References:"):
        assert heading in doc, f"{rewrite.id} docstring lacks {heading}"
    assert rewrite.triggers and rewrite.answers and rewrite.title
    changing = [e for e in rewrite.examples if e.after is not None and e.after != e.before]
    leaving = [e for e in rewrite.examples if e.after is None]
    if rewrite.safety is Safety.DISPLAY_ONLY:
        assert not changing and any(e.warns for e in rewrite.examples)
    else:
        assert changing, f"{rewrite.id} has no before/after example"
    assert leaving, f"{rewrite.id} has no example of code it must leave alone"
    for example in changing + [e for e in rewrite.examples if e.warns]:  # the pre-filter must not hide a real match
        assert rewrite.could_match(example.before), f"{rewrite.id}: the pre-filter skips an example it should change"


def test_ids_unique_and_catalog_is_tensorflow_free() -> None:
    assert len({r.id for r in SOURCE_CATALOG}) == len(SOURCE_CATALOG)
    code = ("import sys, repair.source.codemod, rewrites.source, repair.cli; "
            "assert 'tensorflow' not in sys.modules, 'the codemod imported tensorflow'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("code, expr, qualified", [
    ("import tensorflow as tf", "tf.saved_model.save", "tensorflow.saved_model.save"),
    ("import tensorflow.compat.v1 as tf", "tf.while_loop", "tensorflow.while_loop"),
    ("import tensorflow.experimental.numpy as tnp", "tnp.tanh", "tensorflow.experimental.numpy.tanh"),
    ("from tensorflow.experimental import numpy as tnp", "tnp.tanh", "tensorflow.experimental.numpy.tanh"),
    ("from tensorflow import keras", "keras.layers.LSTM", "keras.layers.LSTM"),
    ("import keras", "keras.layers.LSTM", "keras.layers.LSTM"),
    ("import tf_keras as keras", "keras.layers.LSTM", "tf_keras.layers.LSTM"),
    ("from keras.layers import LSTM as L", "L", "keras.layers.LSTM"),
    ("import numpy as tnp", "tnp.tanh", "numpy.tanh"),
    ("import tensorflow as tf", "tnp.tanh", None),  # not imported: never matched by spelling
    ("from tensorflow import keras", "keras.layers.LSTM(8)", None),  # a call is not a name
])
def test_names_resolve_import_aliases(code: str, expr: str, qualified: str | None) -> None:
    from repair.source.rewrite import Names

    names = Names.of(code + "\n")
    assert names.qualify(cst.parse_expression(expr)) == qualified


@pytest.mark.parametrize("code, wanted, reaches", [
    ("import tensorflow as tf\ntf.compat.v1.saved_model.predict_signature_def(a)",
     "tensorflow.saved_model.predict_signature_def", True),
    ("import tensorflow as tf\ntf.keras.layers.LSTM(3)", "keras.layers", True),
    ("import tensorflow as tf\ntf.nn.relu(x)", "tensorflow.while_loop", False),
    ("from tensorflow.python.ops import control_flow_ops\ncontrol_flow_ops.while_loop(c, b, v)", "tensorflow.while_loop", False),
    ("from tensorflow import (\n    experimental,\n)\nexperimental.numpy.tanh(x)", "tensorflow.experimental.numpy", True),
])
def test_prefilter_reaches_only_names_the_file_can_spell(code: str, wanted: str, reaches: bool) -> None:
    from repair.source.rewrite import Names

    assert Names.of(code).reaches([wanted], code) is reaches


def test_litert_migration_needs_the_package_where_the_script_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ai_edge_litert installed, migrating would make the script fail on its import: display-only, no edit.
    (The environment is simulated by hiding the package from importlib's finder, not by stubbing the rewrite.)"""
    import importlib.util

    from repair.source.rewrite import SourceOptions
    from rewrites.source import migrate_to_litert

    located = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ai_edge_litert" else located(name, *a))
    migrate_to_litert._litert_installed.cache_clear()
    try:
        code = "import tensorflow as tf\n\nit = tf.lite.Interpreter(model_path='m.tflite')\n"
        result = rewrite_source(code, SOURCE_CATALOG, SourceOptions(), AutoDecider(yes=True, unsafe=True), "run.py")
    finally:
        migrate_to_litert._litert_installed.cache_clear()
    assert result.after == code
    (edit,) = result.edits
    assert edit.site.safety is Safety.DISPLAY_ONLY and "pip install ai-edge-litert" in edit.site.message
