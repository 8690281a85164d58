"""unroll_rnn_layers: Keras LSTM / GRU / SimpleRNN / RNN layers over a static time dimension get unroll=True."""

from __future__ import annotations

import functools
from collections.abc import Callable

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import FunctionStack, Scopes, with_keyword

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


RUNTIME = -1  # a time dimension that is static when the script runs (a NumPy array's shape), value unknown here
_NUMPY_METHODS = frozenset({"reshape", "astype", "copy", "squeeze", "transpose"})  # NumPy in, NumPy out


def _constant(names: Names, scopes: Scopes, chain: tuple[cst.FunctionDef, ...], expr: cst.BaseExpression) -> int | None:
    """An int literal; a plain name every binding of which (in the scope it resolves to) is the same int literal
    (``TIMESTEPS = 12`` at module level); ``X.shape[i]`` of a NumPy array (RUNTIME: a NumPy dimension is always an
    int, ``input_shape=(X_train.shape[1], X_train.shape[2])``); None otherwise."""
    if isinstance(expr, cst.Name):
        values = scopes.values(expr.value, chain) or []
        found = {_constant(names, scopes, (), v) if isinstance(v, cst.Integer) else None for v in values}
        return found.pop() if len(found) == 1 else None
    if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Attribute) and expr.value.attr.value == "shape" \
            and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index) \
            and isinstance(expr.slice[0].slice.value, cst.Integer):
        return RUNTIME if _numpy(names, scopes, chain, expr.value.value, frozenset()) else None
    number = expr.evaluated_value if isinstance(expr, cst.Integer) else None
    return number if isinstance(number, int) else None


def _numpy(names: Names, scopes: Scopes, chain: tuple[cst.FunctionDef, ...], expr: cst.BaseExpression,
           seen: frozenset[str]) -> bool:
    """Whether ``expr`` is surely a NumPy array: a ``numpy.*`` call (np.zeros, np.random.rand, np.load ...), a
    NumPy method or slice of one, or a name every binding of which (in its scope) is one."""
    if isinstance(expr, cst.Name):
        values = scopes.values(expr.value, chain) if expr.value not in seen else None
        return bool(values) and all(_numpy(names, scopes, chain, v, seen | {expr.value}) for v in values or [])
    if isinstance(expr, cst.Subscript):
        return _numpy(names, scopes, chain, expr.value, seen)
    if isinstance(expr, cst.Call):
        qualified = _qualified(names, expr.func)
        if qualified is not None:
            return qualified.startswith("numpy.")
        return isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _NUMPY_METHODS \
            and _numpy(names, scopes, chain, expr.func.value, seen)
    return False


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


Constant = Callable[[cst.BaseExpression], "int | None"]  # a time-dimension expression -> its int, if it has one


def _time(call: cst.Call, positional_shape: bool, constant: Constant) -> tuple[bool, int | None]:
    """Whether ``call`` declares an input shape, and the time dimension it gives (None: unknown)."""
    shapes = [(a.value, _SHAPE_KEYWORDS[a.keyword.value]) for a in call.args
              if a.keyword is not None and a.keyword.value in _SHAPE_KEYWORDS]
    if positional_shape and call.args and call.args[0].keyword is None and not call.args[0].star:
        shapes.append((call.args[0].value, 0))
    return _shape_time(shapes, constant)


def _shape_time(shapes: list[tuple[cst.BaseExpression, int]], constant: Constant) -> tuple[bool, int | None]:
    """The time dimension of the one declared shape (entry ``index`` of a literal tuple or list)."""
    if not shapes:
        return False, None
    shape, index = shapes[0]
    if len(shapes) > 1 or not isinstance(shape, (cst.Tuple, cst.List)) or len(shape.elements) <= index:
        return True, None
    return True, constant(shape.elements[index].value)


def _build_shape(call: cst.Call) -> list[tuple[cst.BaseExpression, int]] | None:
    """``model.build((None, T, F))`` / ``model.build(input_shape=[...])``: a subclassed model's declared input (the
    batch is part of the shape, so time is entry 1); None for any other call."""
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value != "build" or len(call.args) != 1:
        return None
    arg = call.args[0]
    if arg.star or (arg.keyword is not None and arg.keyword.value != "input_shape"):
        return None
    return [(arg.value, 1)] if isinstance(arg.value, (cst.Tuple, cst.List)) else None


class _Unroll(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        # Every model input the file declares (Input, InputLayer, a layer's input_shape, a subclassed model's
        # build(shape)): all must be static. A dimension may be a literal or a name bound once to one.
        times: list[int | None] = []
        names = self.names
        scopes = self.scopes = Scopes(ctx.module)
        self.functions: list[cst.FunctionDef] = []  # around the current node, outermost first

        class Inputs(FunctionStack):
            def visit_Call(self, node: cst.Call) -> None:
                constant = functools.partial(_constant, names, scopes, tuple(reversed(self.functions)))
                build = _build_shape(node)
                if build is not None:
                    times.append(_shape_time(build, constant)[1])
                    return
                layer = _layer(_qualified(names, node.func))
                if layer is None:
                    return
                declared, time = _time(node, layer in _INPUTS, constant)
                if declared or layer in _INPUTS:  # an Input without a shape (tensor=, type_spec=) is unknown too
                    times.append(time)

        ctx.module.visit(Inputs())
        self._static = bool(times) and None not in times

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.functions.pop()
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        layer = _layer(_qualified(self.names, original.func))
        if layer not in _RNN or not original.args or any(a.star for a in original.args):
            return updated
        constant = functools.partial(_constant, self.names, self.scopes, tuple(reversed(self.functions)))
        declared, own = _time(original, False, constant)
        if (own is None) if declared else not self._static:
            return updated  # Keras: "Cannot unroll a RNN if the time dimension is undefined"
        own_text = "from a NumPy array's shape" if own == RUNTIME else str(own)
        why = f"time dimension {own_text}" if declared else "every model input in this file has a static time dimension"
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
        InputLayer / input_shape= in the file starting with an int literal (batch_shape: its second entry),
        or with a name bound only to one int literal (`TIMESTEPS = 12`), or X.shape[i] of a NumPy array
        (a np.* call, a NumPy method of one: always an int when the script runs); a subclassed model declares its
        input with model.build((None, T, F)), which counts the same way.
    Why it fails:
        docs/facts.md section 6 and 9.4: every Keras RNN layer with unroll=False fails builtins-only conversion
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
        docs/facts.md section 6 (LSTM/GRU/SimpleRNN with unroll=True: 0 WHILE, diff 4.5e-8 / 7.5e-8 / 1.2e-7)
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
        Example(  # sizes from module constants; a subclassed model declared by build((None, T, F))
            "import tensorflow as tf\nfrom tensorflow import keras\n\nTIMESTEPS = 12\nFEATURES = 3\n\n"
            "def build():\n"
            "    return keras.Sequential([keras.layers.Input(shape=(TIMESTEPS, FEATURES)), keras.layers.LSTM(8)])\n\n"
            "class Net(keras.Model):\n    def __init__(self):\n        super().__init__()\n"
            "        self.gru = keras.layers.GRU(8)\n\n"
            "net = Net()\nnet.build((None, TIMESTEPS, FEATURES))\n",
            "import tensorflow as tf\nfrom tensorflow import keras\n\nTIMESTEPS = 12\nFEATURES = 3\n\n"
            "def build():\n"
            "    return keras.Sequential([keras.layers.Input(shape=(TIMESTEPS, FEATURES)), "
            "keras.layers.LSTM(8, unroll=True)])\n\n"
            "class Net(keras.Model):\n    def __init__(self):\n        super().__init__()\n"
            "        self.gru = keras.layers.GRU(8, unroll=True)\n\n"
            "net = Net()\nnet.build((None, TIMESTEPS, FEATURES))\n",
        ),
        Example(  # the tutorials' input_shape=(X_train.shape[1], X_train.shape[2]) of a NumPy array
            "import numpy as np\nfrom tensorflow import keras\n\n"
            "X_train = np.random.rand(100, 30, 2).astype('float32')\n"
            "model = keras.Sequential()\nmodel.add(keras.layers.LSTM(50, input_shape=(X_train.shape[1], X_train.shape[2])))\n",
            "import numpy as np\nfrom tensorflow import keras\n\n"
            "X_train = np.random.rand(100, 30, 2).astype('float32')\n"
            "model = keras.Sequential()\n"
            "model.add(keras.layers.LSTM(50, input_shape=(X_train.shape[1], X_train.shape[2]), unroll=True))\n",
        ),
        Example(  # left alone: the shape of something that may be a tensor (unpacked, a tf op, a parameter)
            "import tensorflow as tf\nfrom tensorflow import keras\n\n"
            "X_train, X_test = split(data)\nseq = tf.zeros((4, 30, 2))\n"
            "a = keras.layers.LSTM(50, input_shape=(X_train.shape[1], 2))\n"
            "b = keras.layers.LSTM(50, input_shape=(seq.shape[1], 2))\n"
            "def build(x):\n    return keras.layers.GRU(8, input_shape=(x.shape[1], 2))\n"
        ),
        # Left alone: an unknown time dimension anywhere, no declared input, a non-Keras LSTM, an unroll
        # value that is not a literal, an ignore comment.
        Example("import keras\n\na = keras.Input(shape=(5, 8))\nb = keras.Input(shape=(None, 8))\n"
                "x = keras.layers.LSTM(16)(a)\n"),
        Example("from tensorflow import keras\n\nmodel = keras.Sequential([keras.layers.LSTM(16), keras.layers.Dense(1)])\n"),
        Example("import keras\n\nT = 5\nif long:\n    T = 50\ninputs = keras.Input(shape=(T, 8))\n"
                "x = keras.layers.LSTM(16)(inputs)\n"),
        Example("import keras\n\nT = 5\n\ndef make(T):\n    return keras.Input(shape=(T, 8))\n\n"
                "x = keras.layers.LSTM(16)(make(T))\n"),
        Example("import keras\n\nlayer = keras.layers.LSTM(16)\nnet.build((None, None, 8))\n"),

        Example("import keras\nimport mylib\n\ninputs = keras.Input(shape=(5, 8))\n"
                "x = mylib.LSTM(16)(inputs)\ny = keras.layers.LSTM(4, unroll=flag)(inputs)\n"),
        Example("import keras\n\ninputs = keras.Input(shape=(5, 8))\nx = keras.layers.LSTM(16)(inputs)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Unroll(self, ctx, select)
