"""pin_none_dims: None dims of a named TensorSpec / keras.Input -> the sizes the user pinned."""

from __future__ import annotations

import libcst as cst

from repair.findings import FindingKind
from repair.safety import Safety
from repair.source import Example, Select, SourceContext, SourceOptions, SourceRewrite, SourceTransformer
from rewrites.source._analysis import argument, keyword, string_value

_SPEC = "tensorflow.TensorSpec"
_INPUTS = frozenset({"keras.Input", "keras.layers.Input", "tf_keras.Input", "tf_keras.layers.Input"})


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


class _Pin(SourceTransformer):
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        qualified = self.names.qualify(original.func)
        if qualified == _SPEC:
            shape, name, batch = argument(original, 0, "shape"), argument(original, 2, "name"), False
        elif qualified in _INPUTS:
            shape, name, batch = argument(original, 0, "shape"), keyword(original, "name"), True
        else:
            return updated
        key = string_value(name.value) if name is not None else None
        pin = self.options.pins.get(key) if key is not None else None
        if pin is None or shape is None or not isinstance(shape.value, (cst.List, cst.Tuple)):
            return updated
        elements = shape.value.elements
        if any(isinstance(e, cst.StarredElement) for e in elements):
            return updated
        dims = tuple(None if d is None or d < 0 else d for d in pin)[1 if batch else 0:]  # keras.Input has no batch dim
        if len(dims) != len(elements):
            self.warn(original, f"--pin {key} has {len(pin)} dims, the shape here has {len(elements)}"
                      + (" plus the batch" if batch else "") + ": not pinned")
            return updated
        clash = [(e.value, d) for e, d in zip(elements, dims)
                 if isinstance(e.value, cst.Integer) and d is not None and int(e.value.value, 0) != d]
        if clash:
            self.warn(original, f"--pin {key} disagrees with the fixed dims here: not pinned")
            return updated
        index = next(i for i, a in enumerate(original.args) if a is shape)
        literal = updated.args[index].value
        assert isinstance(literal, (cst.List, cst.Tuple))
        pinned = [e.with_changes(value=cst.Integer(str(d))) if _is_none(e.value) and d is not None else e
                  for e, d in zip(literal.elements, dims)]
        if all(a is b for a, b in zip(pinned, literal.elements)):
            return updated
        args = list(updated.args)
        args[index] = args[index].with_changes(value=literal.with_changes(elements=pinned))
        shown = ", ".join("None" if d is None else str(d) for d in dims)
        return self.edit(original, updated, updated.with_changes(args=args), f"pin the unknown dims of '{key}' to ({shown})")


class PinNoneDims(SourceRewrite):
    """Pin the unknown dims of a named input to the sizes given with --pin.

    What it fixes:
        None dims in tf.TensorSpec(shape=[None, None, None, 3], ..., name="image") and
        keras.Input(shape=(None, None, 3), name="image") (also keras.layers.Input and tf_keras),
        for inputs named in --pin (SourceOptions.pins, keyed by the name= string). A pin always
        includes the batch dim, as --pin does for the model: for a TensorSpec it maps dim by dim; for
        keras.Input, whose shape excludes the batch, the pin's first dim is dropped (the batch stays
        whatever keras makes it). A pin dim of None (-1 on the command line) keeps that dim unknown.
        Only None literals change: the list or tuple, its layout and any named dims stay.
        Left alone: inputs without a pin, shapes that are not a literal list/tuple, an unnamed or
        computed name=. A pin of the wrong rank, or one contradicting a fixed dim, is only warned about.
    Why it fails:
        The default converter accepts unknown dims, but the .tflite then needs resize_tensor_input
        before every call ("Cannot set tensor: Dimension mismatch"), graphs valid at one size fail at
        others ("XNNPack delegate failed to reshape runtime"), delegates and micro runtimes refuse
        dynamic shapes, and the legacy converter rejects them ("None is only supported in the 1st
        dimension").
    Safety:
        unsafe: the model then only accepts the pinned sizes. Giving --pin is the consent.
    References:
        ATLAS.md section 2 (pinned at 224: diff 1.4e-6) and surprise 2. The model-level counterpart
        is pin_dynamic_dims.
    """

    id = "pin_none_dims"
    title = "pin the None dims of named inputs from --pin"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.DYNAMIC_DIMS})
    model_rewrite = "pin_dynamic_dims"
    triggers = ("TensorSpec", "Input(")
    modules = (_SPEC, *_INPUTS)
    _PINS = SourceOptions(pins={"image": (1, 224, 224, 3), "tokens": (None, 128)})
    examples = (
        Example(
            "import tensorflow as tf\n\n"
            "SPEC = tf.TensorSpec(shape=[None, None, None, 3], dtype=tf.float32, name=\"image\")  # camera frames\n"
            "TOKENS = tf.TensorSpec((None, None), tf.int32, 'tokens')\n",
            "import tensorflow as tf\n\n"
            "SPEC = tf.TensorSpec(shape=[1, 224, 224, 3], dtype=tf.float32, name=\"image\")  # camera frames\n"
            "TOKENS = tf.TensorSpec((None, 128), tf.int32, 'tokens')\n",
            options=_PINS, unsafe=True,
        ),
        Example(
            "import keras\nfrom tensorflow.keras import layers\n\n"
            "image = keras.Input(shape=(None, None, 3), name=\"image\")\n"
            "tokens = layers.Input((None,), name=\"tokens\", dtype=\"int32\")\n",
            "import keras\nfrom tensorflow.keras import layers\n\n"
            "image = keras.Input(shape=(224, 224, 3), name=\"image\")\n"
            "tokens = layers.Input((128,), name=\"tokens\", dtype=\"int32\")\n",
            options=_PINS, unsafe=True,
        ),
        # Left alone: no pins; an input with no pin; a pin of the wrong rank and one contradicting a
        # fixed dim (both warned about); a computed shape.
        Example("import tensorflow as tf\n\nSPEC = tf.TensorSpec([None, None, None, 3], tf.float32, name=\"image\")\n"),
        Example(
            "import tensorflow as tf\nimport keras\n\n"
            "a = tf.TensorSpec([None, None, 3], tf.float32, name=\"image\")\n"
            "b = keras.Input((None, None, 1), name=\"image\")\n"
            "c = tf.TensorSpec([None, 8], tf.float32, name=\"other\")\n"
            "d = tf.TensorSpec(shape, tf.float32, name=\"image\")\n",
            options=_PINS, warns=2,
        ),
    )

    def active(self, options: SourceOptions) -> bool:
        return bool(options.pins)

    def consented(self, options: SourceOptions) -> bool:
        return bool(options.pins)

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Pin(self, ctx, select)
