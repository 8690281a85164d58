"""unroll_rnn_layers: Keras LSTM / GRU / SimpleRNN / RNN layers over a static time dimension get unroll=True."""

from __future__ import annotations

import libcst as cst

from repair.findings import FindingKind
from repair.safety import Safety
from repair.source import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import with_keyword

_KERAS = ("keras.layers.", "tf_keras.layers.", "tensorflow.keras.layers.")  # the last: tf.compat.v1.keras
_RNN = frozenset({"LSTM", "GRU", "SimpleRNN", "RNN"})
_INPUTS = frozenset({"Input", "InputLayer"})
_KERAS_INPUT = frozenset({"keras.Input", "tf_keras.Input", "tensorflow.keras.Input"})
# keyword -> index of the time dimension in it (the batch is not part of shape/input_shape)
_SHAPE_KEYWORDS = {"shape": 0, "input_shape": 0, "batch_shape": 1, "batch_input_shape": 1}


def _qualified(names: Names, expr: cst.BaseExpression) -> str | None:
    """The qualified name of a plain dotted name; None for ``f(x).y`` or ``a[0].b``, which Names.qualify would name."""
    head = expr
    while isinstance(head, cst.Attribute):
        head = head.value
    return names.qualify(expr) if isinstance(head, cst.Name) else None


def _layer(qualified: str | None) -> str | None:
    """The class name of a Keras layer constructor (keras.layers.LSTM -> LSTM), or None."""
    if qualified is None:
        return None
    if qualified in _KERAS_INPUT:
        return "Input"
    for prefix in _KERAS:
        if qualified.startswith(prefix) and "." not in qualified[len(prefix):]:
            return qualified[len(prefix):]
    return None


def _time(call: cst.Call, positional_shape: bool) -> tuple[bool, int | None]:
    """Whether ``call`` declares an input shape, and the time dimension it gives (None: unknown)."""
    shapes = [(a.value, _SHAPE_KEYWORDS[a.keyword.value]) for a in call.args
              if a.keyword is not None and a.keyword.value in _SHAPE_KEYWORDS]
    if positional_shape and call.args and call.args[0].keyword is None and not call.args[0].star:
        shapes.append((call.args[0].value, 0))
    if not shapes:
        return False, None
    shape, index = shapes[0]
    if len(shapes) > 1 or not isinstance(shape, (cst.Tuple, cst.List)) or len(shape.elements) <= index:
        return True, None
    value = shape.elements[index].value
    number = value.evaluated_value if isinstance(value, cst.Integer) else None
    return True, number if isinstance(number, int) else None


class _Unroll(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        # Every model input the file declares (Input, InputLayer, a layer's input_shape): all must be static.
        times: list[int | None] = []
        names = self.names

        class Inputs(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                layer = _layer(_qualified(names, node.func))
                if layer is None:
                    return
                declared, time = _time(node, positional_shape=layer in _INPUTS)
                if declared or layer in _INPUTS:  # an Input without a shape (tensor=, type_spec=) is unknown too
                    times.append(time)

        ctx.module.visit(Inputs())
        self._static = bool(times) and None not in times

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        layer = _layer(_qualified(self.names, original.func))
        if layer not in _RNN or not original.args or any(a.star for a in original.args):
            return updated
        declared, own = _time(original, positional_shape=False)
        if (own is None) if declared else not self._static:
            return updated  # Keras: "Cannot unroll a RNN if the time dimension is undefined"
        why = f"time dimension {own}" if declared else "every model input in this file has a static time dimension"
        unroll = [i for i, a in enumerate(updated.args) if a.keyword is not None and a.keyword.value == "unroll"]
        if unroll:
            given = updated.args[unroll[0]]
            if not (isinstance(given.value, cst.Name) and given.value.value == "False"):
                return updated  # already True, or a value we cannot read
            args = list(updated.args)
            args[unroll[0]] = given.with_changes(value=cst.Name("True"))
            return self.edit(original, updated, updated.with_changes(args=args), f"{layer}: unroll=False -> unroll=True ({why})")
        return self.edit(original, updated, with_keyword(updated, "unroll", cst.Name("True")), f"{layer}: unroll=True ({why})")


class UnrollRnnLayers(SourceRewrite):
    """Give Keras LSTM / GRU / SimpleRNN / RNN layers unroll=True when the time dimension is static.

    What it fixes:
        `keras.layers.LSTM(16)` (and GRU, SimpleRNN, RNN(cell); through keras, tf.keras, tf_keras or a
        from-import) without unroll=, or with an explicit unroll=False, in a file whose model inputs have
        a literal time dimension: the layer's own input_shape=(T, F), or every keras.Input(shape=...) /
        InputLayer / input_shape= in the file starting with an int literal (batch_shape: its second entry).
    Why it fails:
        ATLAS section 6 and 9.4: every Keras RNN layer with unroll=False fails builtins-only conversion
        ("'tf.TensorListReserve' op requires element_shape to be static"), even with static shapes and
        batch 1, tf_keras included; the Flex TensorList ops it suggests cannot run in the pip interpreters,
        and the converter's single-batch flag is wrong at batch > 1. With unroll=True LSTM/GRU/SimpleRNN
        convert to plain builtins (diff <= 1.2e-7).
    Safety:
        safe: the same cell runs over the same steps, unrolled at trace time (the graph grows with T).
        Keras refuses to unroll over an unknown time dimension, so with any shape=(None, ...) input, no
        declared input at all, or a shape that is not a literal, the layers are left alone; pin the time
        dimension first. A layer name that does not resolve to Keras and an unroll= value that is not a
        literal are left alone too.
    References:
        ATLAS.md section 6 (LSTM/GRU/SimpleRNN with unroll=True: 0 WHILE, diff 4.5e-8 / 7.5e-8 / 1.2e-7)
        and section 9.4; the model-level counterpart is unroll_keras_rnn.
    """

    id = "unroll_rnn_layers"
    title = "Keras RNN layers over a static time dimension -> unroll=True"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.TENSORLIST_LOOP})
    model_rewrite = "unroll_keras_rnn"
    triggers = ("LSTM", "GRU", "RNN")  # "RNN" covers SimpleRNN
    modules = ("keras.layers", "tf_keras.layers", "tensorflow.keras.layers")
    examples = (
        Example(
            "import keras\n\ninputs = keras.Input(shape=(5, 8))\n"
            "x = keras.layers.LSTM(16, return_sequences=True)(inputs)  # encoder\nx = keras.layers.GRU(16, unroll=False)(x)\n",
            "import keras\n\ninputs = keras.Input(shape=(5, 8))\n"
            "x = keras.layers.LSTM(16, return_sequences=True, unroll=True)(inputs)  # encoder\n"
            "x = keras.layers.GRU(16, unroll=True)(x)\n",
        ),
        Example(
            "from tensorflow import keras\n\nmodel = keras.Sequential([\n"
            "    keras.layers.Bidirectional(keras.layers.SimpleRNN(8), input_shape=(10, 4)),\n])\n",
            "from tensorflow import keras\n\nmodel = keras.Sequential([\n"
            "    keras.layers.Bidirectional(keras.layers.SimpleRNN(8, unroll=True), input_shape=(10, 4)),\n])\n",
        ),
        Example(
            "import tensorflow as tf\nfrom keras.layers import LSTM\n\n"
            "layer = LSTM(\n    32,\n    input_shape=(20, 3),\n)\n"
            "cell = tf.keras.layers.RNN(tf.keras.layers.LSTMCell(4))\n",
            "import tensorflow as tf\nfrom keras.layers import LSTM\n\n"
            "layer = LSTM(\n    32,\n    input_shape=(20, 3),\n    unroll=True,\n)\n"
            "cell = tf.keras.layers.RNN(tf.keras.layers.LSTMCell(4), unroll=True)\n",
        ),
        Example(
            "import tf_keras\n\nx = tf_keras.layers.Input(batch_shape=(1, 7, 2))\ny = tf_keras.layers.GRU(4)(x)\n",
            "import tf_keras\n\nx = tf_keras.layers.Input(batch_shape=(1, 7, 2))\ny = tf_keras.layers.GRU(4, unroll=True)(x)\n",
        ),
        # Left alone: an unknown time dimension anywhere, no declared input, a non-Keras LSTM, an unroll
        # value that is not a literal, an ignore comment.
        Example("import keras\n\na = keras.Input(shape=(5, 8))\nb = keras.Input(shape=(None, 8))\n"
                "x = keras.layers.LSTM(16)(a)\n"),
        Example("from tensorflow import keras\n\nmodel = keras.Sequential([keras.layers.LSTM(16), keras.layers.Dense(1)])\n"),
        Example("import keras\nimport mylib\n\ninputs = keras.Input(shape=(5, 8))\n"
                "x = mylib.LSTM(16)(inputs)\ny = keras.layers.LSTM(4, unroll=flag)(inputs)\n"),
        Example("import keras\n\ninputs = keras.Input(shape=(5, 8))\nx = keras.layers.LSTM(16)(inputs)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Unroll(self, ctx, select)
