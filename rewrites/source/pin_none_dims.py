"""pin_none_dims: the unknown dims of a TensorSpec / keras.Input / first-layer input_shape -> the sizes the user pinned."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, NewImport, Select, SourceContext, SourceOptions, SourceRewrite, SourceTransformer
from rewrites.source._analysis import Bindings, argument, dtype_name, keyword, string_value, tf_function_call, with_keyword

_SPEC = "tensorflow.TensorSpec"
_INPUTS = frozenset({"keras.Input", "keras.layers.Input", "tf_keras.Input", "tf_keras.layers.Input"})
_INPUT_LAYERS = frozenset({"keras.layers.InputLayer", "keras.InputLayer", "tf_keras.layers.InputLayer"})
_LAYER_PREFIXES = ("keras.layers.", "tf_keras.layers.")
# Serving keys Keras makes up for an input without name=: Keras 3 ``keras_tensor_7`` (or ``input_layer``), tf_keras
# ``input_1`` and, for a Sequential built from input_shape=, ``<first layer>_input``.
_GENERATED = re.compile(r"keras_tensor(_\d+)?|input_layer(_\d+)?")
_GENERATED_LEGACY = re.compile(r"input_\d+|\w+_input")
# The script asks for Keras 2 before TensorFlow is imported: tf.keras is then tf_keras.
_LEGACY_ENV = re.compile(r"TF_USE_LEGACY_KERAS['\"]\s*[\],]\s*=?\s*['\"]?(1|[Tt]rue)")

Dims = tuple[int | None, ...]
_UNKNOWN = object()  # a dim the codemod cannot read (a parameter, an attribute, arithmetic)


@dataclass
class _Form:
    """One place the source declares an input's shape, and how the export turns it into a serving input."""

    call: cst.Call
    kind: str  # "spec" (tf.TensorSpec), "input" (keras.Input / InputLayer) or "layer" (a layer's input_shape=)
    key: str | None  # the serving key the export gets from it, when the source spells it
    legacy: bool  # tf_keras: the Input's batch is exported as declared; Keras 3 model.export makes it unknown
    shape: cst.Arg | None  # the argument holding the dims
    with_batch: bool  # the dims include the batch (TensorSpec, batch_shape=, batch_input_shape=)
    batch: cst.Arg | None = None  # batch_size=, for forms whose dims exclude the batch
    dtype: cst.Arg | None = None


class _Scan(cst.CSTVisitor):
    """Every input form of the file, the ``.export(...)`` calls and the parameters of tf.functions."""

    def __init__(self, transformer: _Pin) -> None:
        super().__init__()
        self.names = transformer.names
        self.legacy_env = bool(_LEGACY_ENV.search(transformer.ctx.code))
        self.forms: dict[int, _Form] = {}  # id(Call) -> form
        self.exports: list[cst.Call] = []
        self.params: set[str] = set()  # parameter names of @tf.function defs (add_input_signature's pins)
        self._spec_params: dict[int, str] = {}  # id(TensorSpec call) in an input_signature -> its parameter

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        calls = [tf_function_call(self.names, d) for d in node.decorators]
        if not any(c is not None for c in calls):
            return
        params = [p.name.value for p in node.params.params]
        params = params[1:] if params[:1] == ["self"] else params
        self.params |= set(params)
        for call in calls:
            signature = argument(call, 1, "input_signature") if isinstance(call, cst.Call) else None
            if signature is not None and isinstance(signature.value, (cst.List, cst.Tuple)):
                for element, param in zip(signature.value.elements, params):
                    self._spec_params[id(element.value)] = param  # an unnamed TensorSpec serves under its parameter

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.names.qualify(node.func) or ""
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "export" and not qualified:
            self.exports.append(node)
            return
        legacy = qualified.startswith("tf_keras.") or self.legacy_env
        form = None
        if qualified == _SPEC:
            name = argument(node, 2, "name")
            key = string_value(name.value) if name is not None else self._spec_params.get(id(node))
            form = _Form(node, "spec", key, legacy, argument(node, 0, "shape"), True)
        elif qualified in _INPUTS or qualified in _INPUT_LAYERS:
            layer = qualified in _INPUT_LAYERS
            name = keyword(node, "name") if layer else argument(node, 2 if legacy else 5, "name")
            key = string_value(name.value) if name is not None else None
            full = keyword(node, "batch_shape") or keyword(node, "batch_input_shape")
            shape = full or keyword(node, "shape") or keyword(node, "input_shape") or argument(node, 0, "shape")
            dtype = keyword(node, "dtype") if layer else argument(node, 3 if legacy else 2, "dtype")
            form = _Form(node, "input", key, legacy, shape, full is not None, argument(node, 1, "batch_size"), dtype)
        elif qualified.startswith(_LAYER_PREFIXES) and (keyword(node, "input_shape") or keyword(node, "batch_input_shape")):
            # A Sequential's first layer: tf_keras serves it as "<layer name>_input", Keras 3 as a made-up key.
            name = keyword(node, "name")
            layer_name = string_value(name.value) if name is not None else None
            key = f"{layer_name}_input" if legacy and layer_name else None
            full = keyword(node, "batch_input_shape")
            form = _Form(node, "layer", key, legacy, full or keyword(node, "input_shape"), full is not None,
                         keyword(node, "batch_size"), keyword(node, "dtype"))
        if form is not None:
            self.forms[id(node)] = form


@dataclass
class _Plan:
    """Which pin each form gets, and what the Keras 3 exports need."""

    pins: dict[int, tuple[str, Dims]]  # id(form call) -> (pin key, dims)
    unnamed_warning: str | None  # for unnamed Keras forms when a pin matched nothing in this file
    export_spec: _Form | None  # the file's only Keras 3 input, pinned with a batch: model.export gets its spec
    keras3_batch: bool  # some Keras 3 input is pinned with a batch: its model.export needs an input_signature


class _Pin(SourceTransformer):
    @functools.cached_property
    def bindings(self) -> Bindings:
        return Bindings(self.ctx.module)

    @functools.cached_property
    def scan(self) -> _Scan:
        scan = _Scan(self)
        self.ctx.module.visit(scan)
        return scan

    @functools.cached_property
    def plan(self) -> _Plan:
        pins = self.options.pins
        forms = list(self.scan.forms.values())
        matched: dict[int, tuple[str, Dims]] = {id(f.call): (f.key, pins[f.key]) for f in forms
                                                if f.key is not None and f.key in pins}
        used = {key for key, _ in matched.values()}
        unmatched = [k for k in pins if k not in used and k not in self.scan.params]
        unnamed = [f for f in forms if f.kind != "spec" and f.key is None]
        pattern = _GENERATED_LEGACY if unnamed and unnamed[0].legacy else _GENERATED
        generated = [k for k in unmatched if pattern.fullmatch(k)]
        warning = None
        if len(unnamed) == 1 and len(generated) == 1:
            # The key Keras made up for the file's only unnamed input: that input is the one the user saw served.
            matched[id(unnamed[0].call)] = (generated[0], pins[generated[0]])
        elif unnamed and unmatched:
            warning = (f"--pin {', '.join(unmatched)} matches no input of this file; this input has no name=, so its "
                       "serving key is made up by Keras (keras_tensor_N in Keras 3, input_N or <layer>_input in tf_keras): "
                       "give it name= to pin it")
        keras3 = [f for f in forms if f.kind != "spec" and not f.legacy]
        batches = {matched[id(f.call)][1][0] for f in keras3 if id(f.call) in matched} - {None}
        only = keras3[0] if len(keras3) == 1 and batches else None
        return _Plan(matched, warning, only, bool(batches))

    def _value(self, expr: cst.BaseExpression) -> int | object | None:
        """A dim's value: a literal, or a name every binding of which is the same literal; else _UNKNOWN."""
        if isinstance(expr, cst.Integer):
            return int(expr.value, 0)
        if isinstance(expr, cst.Name) and expr.value == "None":
            return None
        if isinstance(expr, cst.Name):  # a module constant: every binding is the same literal
            values = {_literal(v) for v in self.bindings.only(expr.value) or [expr]}
            return values.pop() if len(values) == 1 and _UNKNOWN not in values else _UNKNOWN
        return _UNKNOWN

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        form = self.scan.forms.get(id(original))
        if form is not None:
            return self._pin(form, original, updated)
        if any(e is original for e in self.scan.exports):
            return self._export(original, updated)
        return updated

    def _pin(self, form: _Form, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) not in self.plan.pins:
            if form.kind != "spec" and form.key is None and self.plan.unnamed_warning:
                self.warn(original, self.plan.unnamed_warning)
            return updated
        key, pin = self.plan.pins[id(original)]
        if form.shape is None or not isinstance(form.shape.value, (cst.List, cst.Tuple)) or any(
                isinstance(e, cst.StarredElement) for e in form.shape.value.elements):
            self.warn(original, f"--pin {key}: the shape here is not a literal list or tuple: not pinned")
            return updated
        elements = form.shape.value.elements
        rank = len(elements) + (0 if form.with_batch else 1)
        if len(pin) != rank:
            self.warn(original, f"--pin {key} has {len(pin)} dims, the input here has {rank} (batch included): not pinned")
            return updated
        # The dims the literal holds; a Keras 3 batch is not written here (model.export makes it unknown anyway).
        wanted = list(pin if form.with_batch else pin[1:])
        if form.with_batch and form.kind != "spec" and not form.legacy:
            wanted[0] = None
        values = [self._value(e.value) for e in elements]
        unreadable = [self.ctx.module.code_for_node(e.value) for e, v, d in zip(elements, values, wanted)
                      if v is _UNKNOWN and d is not None]
        if unreadable:
            self.warn(original, f"--pin {key}: the dim {unreadable[0]} here is not a literal or a module constant: not pinned")
            return updated
        clash = [(v, d) for v, d in zip(values, wanted) if isinstance(v, int) and d is not None and v != d]
        if clash:
            self.warn(original, f"--pin {key} disagrees with the fixed dims here ({clash[0][0]} vs {clash[0][1]}): not pinned")
            return updated
        index = next(i for i, a in enumerate(original.args) if a is form.shape)
        literal = updated.args[index].value
        assert isinstance(literal, (cst.List, cst.Tuple))
        pinned = [e.with_changes(value=cst.Integer(str(d))) if v is None and d is not None else e
                  for e, v, d in zip(literal.elements, values, wanted)]
        args = list(updated.args)
        args[index] = args[index].with_changes(value=literal.with_changes(elements=pinned))
        call = updated.with_changes(args=args)
        batch = pin[0]
        note = ""
        if not form.with_batch and batch is not None and form.legacy:
            call, ok = self._batch_size(form, original, call, key, batch)
            if not ok:
                return updated
        elif batch is not None and form.kind != "spec" and not form.legacy:
            note = f" (Keras 3 exports the batch as unknown: {batch} goes into model.export's input_signature)"
            if not self.scan.exports:
                # Shown at the callee, which this edit leaves as it is: the next round finds the same site.
                self.warn(original.func, f"--pin {key}: the batch {batch} is not pinned: Keras 3 model.export makes the "
                          "batch unknown unless it is given input_signature=, and this file has no model.export call")
        if self.ctx.module.code_for_node(call) == self.ctx.module.code_for_node(updated):
            return updated
        shown = ", ".join("-1" if d is None else str(d) for d in pin)
        return self.edit(original, updated, call, f"pin '{key}' to ({shown}){note}")

    def _batch_size(self, form: _Form, original: cst.Call, call: cst.Call, key: str, batch: int) -> tuple[cst.Call, bool]:
        """tf_keras exports the Input's batch_size as the batch dim: write the pinned one there."""
        if form.batch is None:
            return with_keyword(call, "batch_size", cst.Integer(str(batch))), True
        value = self._value(form.batch.value)
        if value == batch:
            return call, True
        if value is not None:
            self.warn(original, f"--pin {key}: batch {batch}, but batch_size here is "
                      f"{self.ctx.module.code_for_node(form.batch.value)}: not pinned")
            return call, False
        index = next(i for i, a in enumerate(original.args) if a is form.batch)
        args = list(call.args)
        args[index] = args[index].with_changes(value=cst.Integer(str(batch)))
        return call.with_changes(args=args), True

    def _export(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``model.export(path)`` of a Keras 3 model whose Input was pinned with a batch: give it that batch."""
        if not self.plan.keras3_batch or keyword(original, "input_signature") is not None or argument(
                original, 0, "filepath") is None:
            return updated
        fmt = keyword(original, "format")
        if fmt is not None and string_value(fmt.value) != "tf_saved_model":
            return updated
        assert isinstance(original.func, cst.Attribute)
        resolved = self._model_inputs(original.func.value)
        if resolved is None and self.plan.export_spec is not None:  # the file's only Keras input
            resolved = [self.plan.export_spec], False
        if resolved is None:
            self.warn(original, "a pinned batch cannot be written here: Keras 3 model.export makes the batch unknown "
                      "unless it is given input_signature=, and the codemod cannot tell which of this file's Keras "
                      "inputs this model has; pass input_signature=[keras.InputSpec(shape=(...), dtype=..., name=...)]")
            return updated
        forms, nested = resolved
        pinned = [self.plan.pins[id(f.call)] for f in forms if id(f.call) in self.plan.pins]
        if not any(pin[0] is not None for _, pin in pinned):
            return updated  # this model's inputs keep their batch
        keras, imports = self._keras()
        specs = []
        for form in forms:
            spec = self._spec(form, keras)
            if isinstance(spec, str) and spec.startswith("!"):
                self.warn(original, spec[1:] + ": model.export is not given the pinned batch; pass input_signature=")
                return updated
            specs.append(spec)
        body = ", ".join(specs)
        signature = cst.parse_expression(f"[[{body}]]" if nested else f"[{body}]")
        keys = ", ".join(f"'{key}'" for key, _ in pinned)
        return self.edit(original, updated, with_keyword(updated, "input_signature", signature),
                         f"export {keys} with the pinned batch (Keras 3 model.export makes it unknown)", imports=imports)

    def _model_inputs(self, receiver: cst.BaseExpression) -> tuple[list[_Form], bool] | None:
        """The input forms of ``model`` when every binding of it is ``keras.Model(inputs, ...)`` with inputs a name
        (or a list of names) each bound to one input form of this file; and whether they are a list."""
        if not isinstance(receiver, cst.Name):
            return None
        values = self.bindings.only(receiver.value)
        if not values or len(values) != 1 or not isinstance(values[0], cst.Call):
            return None
        if self.names.qualify(values[0].func) not in {"keras.Model", "keras.models.Model"}:
            return None
        inputs = argument(values[0], 0, "inputs")
        if inputs is None:
            return None
        nested = isinstance(inputs.value, (cst.List, cst.Tuple))
        exprs = [e.value for e in inputs.value.elements] if isinstance(inputs.value, (cst.List, cst.Tuple)) else [inputs.value]
        forms = []
        for expr in exprs:
            bound = self.bindings.only(expr.value) if isinstance(expr, cst.Name) else None
            form = self.scan.forms.get(id(bound[0])) if bound and len(bound) == 1 else None
            if form is None or form.kind == "spec" or form.legacy:
                return None
            forms.append(form)
        return forms, nested

    def _spec(self, form: _Form, keras: str) -> str:
        """``keras.InputSpec(shape=(1, 10, 12), dtype="float32", name="x")`` for a form; "!why" when it cannot be."""
        key, pin = self.plan.pins.get(id(form.call), (form.key, None))
        if key is None or form.shape is None or not isinstance(form.shape.value, (cst.List, cst.Tuple)):
            return f"!the input at {self.ctx.module.code_for_node(form.call)[:40]} has no readable name or shape"
        values = [self._value(e.value) for e in form.shape.value.elements][1 if form.with_batch else 0:]
        wanted = list(pin[1:]) if pin is not None else [None] * len(values)
        if any(v is _UNKNOWN and d is None for v, d in zip(values, wanted)) or len(wanted) != len(values):
            return f"!--pin {key}: a dim of the Input is not readable"
        dims = [pin[0] if pin is not None else None] + [d if d is not None else v for v, d in zip(values, wanted)]
        dtype = "float32"
        if form.dtype is not None:
            dtype = string_value(form.dtype.value) or dtype_name(self.names, form.dtype.value) or ""
            if not dtype:
                return f"!--pin {key}: the dtype of the Input is not a literal"
        shape = "(" + ", ".join("None" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
        return f"{keras}.InputSpec(shape={shape}, dtype=\"{dtype}\", name=\"{key}\")"

    def _keras(self) -> tuple[str, list[NewImport]]:
        local = self.names.local("keras")
        if local is not None:
            return local, []
        tf = self.names.local("tensorflow")
        return (f"{tf}.keras", []) if tf is not None else ("keras", [NewImport("keras")])


def _literal(expr: cst.BaseExpression) -> int | object | None:
    if isinstance(expr, cst.Integer):
        return int(expr.value, 0)
    return None if isinstance(expr, cst.Name) and expr.value == "None" else _UNKNOWN


class PinNoneDims(SourceRewrite):
    """Pin the unknown dims of a named input to the sizes given with --pin, batch included.

    What it fixes:
        --pin NAME=dims means what it means for `repair fix --pin`: it lists every dim of the serving input
        NAME, batch first; -1 keeps a dim unknown. The codemod finds where the source declares that input:
        - tf.TensorSpec(shape=[None, None, 3], dtype=..., name="image") (positional or keyword; an unnamed
          TensorSpec in @tf.function(input_signature=[...]) serves under its parameter's name): dim by dim.
        - keras.Input / keras.layers.Input / InputLayer (Keras 3, tf.keras, tf_keras) with shape= or
          input_shape= (the batch excluded) or batch_shape= / batch_input_shape= (the batch included), and a
          Sequential's first layer with input_shape= / batch_input_shape=. Its key is name=; tf_keras serves a
          first layer's input as "<layer name>_input".
        The batch: tf_keras exports the Input's batch as declared, so batch_size=N is written (or set).
        Keras 3 model.export always exports the batch as unknown (measured: batch_size=1 and
        batch_shape=(1, ...) both give -1), so the Input keeps its batch (training is unaffected) and
        model.export(path) gets input_signature=[keras.InputSpec(shape=(N, ...), dtype=..., name=KEY)]
        (measured: that gives exactly [N, ...]) for the inputs of the keras.Model(inputs, ...) it exports
        ([[...]] for a list of inputs), or for the file's only Keras 3 input.
        An input without name= serves under a key Keras makes up (keras_tensor_N, input_N): a pin of such a
        key applies to the file's only unnamed input. None literals are replaced; a name dim (module
        constant) is read through its bindings.
        Warned about, never partly edited: a pin of the wrong rank, or contradicting a fixed dim or
        batch_size; a dim or shape the codemod cannot read (a parameter, an attribute); a Keras 3 batch
        that cannot be written (several Keras inputs, no model.export in the file, a computed dtype);
        unnamed inputs when a pin matched nothing in the file.
    Why it fails:
        The default converter accepts unknown dims, but the .tflite then needs resize_tensor_input
        before every call ("Cannot set tensor: Dimension mismatch"), graphs valid at one size fail at
        others ("XNNPack delegate failed to reshape runtime"), delegates and micro runtimes refuse
        dynamic shapes ("Attempting to use a delegate that only supports static-sized tensors with a
        graph that has dynamic-sized tensors"), and the legacy converter rejects them ("None is only
        supported in the 1st dimension").
    Safety:
        unsafe: the model then only accepts the pinned sizes. Giving --pin is the consent.
    References:
        docs/facts.md section 2 (pinned at 224: diff 1.4e-6) and surprise 2. The model-level counterpart
        is pin_dynamic_dims. Wild cases corpora/sources/wild/pin_*.py.
    """

    id = "pin_none_dims"
    title = "pin the None dims of named inputs from --pin"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.DYNAMIC_DIMS})
    model_rewrite = "pin_dynamic_dims"
    triggers = ("TensorSpec", "Input", "input_shape")
    modules = (_SPEC, "keras", "tf_keras")
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
        Example(  # Keras 3: the shape in the Input, the batch in model.export (the only Keras input of the file)
            "import keras\n\nF = 12\n\ndef build():\n"
            "    encoder_inputs = keras.Input(shape=(None, F), name=\"encoder_inputs\")\n"
            "    return keras.Model(encoder_inputs, keras.layers.Dense(4)(encoder_inputs))\n\n"
            "model = build()\nmodel.export(\"out\", verbose=False)\n",
            "import keras\n\nF = 12\n\ndef build():\n"
            "    encoder_inputs = keras.Input(shape=(10, F), name=\"encoder_inputs\")\n"
            "    return keras.Model(encoder_inputs, keras.layers.Dense(4)(encoder_inputs))\n\n"
            "model = build()\nmodel.export(\"out\", verbose=False, input_signature=[keras.InputSpec(shape=(1, 10, 12), "
            "dtype=\"float32\", name=\"encoder_inputs\")])\n",
            options=SourceOptions(pins={"encoder_inputs": (1, 10, 12)}), unsafe=True,
        ),
        Example(  # tf.keras with an unknown batch kept (-1): nothing goes into the export
            "import tensorflow as tf\nfrom tensorflow.keras import layers\n\n"
            "image = tf.keras.Input(shape=(None, None, 3), name=\"image\")\n"
            "tokens = layers.Input((None,), name=\"tokens\", dtype=\"int32\")\n",
            "import tensorflow as tf\nfrom tensorflow.keras import layers\n\n"
            "image = tf.keras.Input(shape=(224, 224, 3), name=\"image\")\n"
            "tokens = layers.Input((128,), name=\"tokens\", dtype=\"int32\")\n",
            options=SourceOptions(pins={"image": (None, 224, 224, 3), "tokens": (None, 128)}), unsafe=True,
        ),
        Example(  # tf_keras: the batch is batch_size= (written, or a None one set); batch_input_shape= dim by dim
            "import tf_keras as keras\n\n"
            "a = keras.Input(shape=(None, 12), name=\"a\")\n"
            "b = keras.layers.InputLayer(input_shape=(None,), batch_size=None, name=\"b\")\n"
            "c = keras.layers.Dense(3, batch_input_shape=(None, None), name=\"dense\")\n",
            "import tf_keras as keras\n\n"
            "a = keras.Input(shape=(10, 12), name=\"a\", batch_size=1)\n"
            "b = keras.layers.InputLayer(input_shape=(5,), batch_size=1, name=\"b\")\n"
            "c = keras.layers.Dense(3, batch_input_shape=(1, 7), name=\"dense\")\n",
            options=SourceOptions(pins={"a": (1, 10, 12), "b": (1, 5), "dense_input": (1, 7)}), unsafe=True,
        ),
        Example(  # tf.keras under TF_USE_LEGACY_KERAS: a Sequential's unnamed first layer, pinned by its served key
            "import os\nos.environ[\"TF_USE_LEGACY_KERAS\"] = \"1\"\nimport tensorflow as tf\n\n"
            "model = tf.keras.Sequential([\n    tf.keras.layers.LSTM(8, input_shape=(None, 3)),\n"
            "    tf.keras.layers.Dense(1),\n])\n",
            "import os\nos.environ[\"TF_USE_LEGACY_KERAS\"] = \"1\"\nimport tensorflow as tf\n\n"
            "model = tf.keras.Sequential([\n    tf.keras.layers.LSTM(8, input_shape=(20, 3), batch_size=1),\n"
            "    tf.keras.layers.Dense(1),\n])\n",
            options=SourceOptions(pins={"lstm_input": (1, 20, 3)}), unsafe=True,
        ),
        Example(  # an unnamed TensorSpec of a tf.function serves under its parameter's name
            "import tensorflow as tf\n\nclass M(tf.Module):\n"
            "    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])\n"
            "    def __call__(self, x):\n        return x\n",
            "import tensorflow as tf\n\nclass M(tf.Module):\n"
            "    @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32)])\n"
            "    def __call__(self, x):\n        return x\n",
            options=SourceOptions(pins={"x": (1, 16)}), unsafe=True,
        ),
        # Left alone: no pins.
        Example("import tensorflow as tf\n\nSPEC = tf.TensorSpec([None, None, None, 3], tf.float32, name=\"image\")\n"),
        # Warned about: a pin of the wrong rank, one contradicting a fixed dim, a computed shape, a dim read from
        # a parameter; an input with no pin is left alone.
        Example(
            "import tensorflow as tf\nimport keras\n\n"
            "a = tf.TensorSpec([None, None, 3], tf.float32, name=\"image\")\n"
            "b = keras.Input((None, None, 1), name=\"image\")\n"
            "c = tf.TensorSpec([None, 8], tf.float32, name=\"other\")\n"
            "d = tf.TensorSpec(shape, tf.float32, name=\"image\")\n"
            "def build(size):\n    return tf.TensorSpec([None, size, size, 3], name=\"image\")\n",
            options=_PINS, warns=4,
        ),
        Example(  # seq2seq: several Keras inputs; each export gets the inputs of the keras.Model it exports
            "import keras\n\nT = 12\n"
            "encoder_inputs = keras.Input(shape=(None, T), name=\"encoder_inputs\")\n"
            "decoder_inputs = keras.Input(shape=(None, T), name=\"decoder_inputs\")\n"
            "encoder_model = keras.Model(encoder_inputs, enc_states)\n"
            "model = keras.Model([encoder_inputs, decoder_inputs], outputs)\n"
            "encoder_model.export(\"enc\")\nmodel.export(\"train\")\n",
            "import keras\n\nT = 12\n"
            "encoder_inputs = keras.Input(shape=(10, T), name=\"encoder_inputs\")\n"
            "decoder_inputs = keras.Input(shape=(None, T), name=\"decoder_inputs\")\n"
            "encoder_model = keras.Model(encoder_inputs, enc_states)\n"
            "model = keras.Model([encoder_inputs, decoder_inputs], outputs)\n"
            "encoder_model.export(\"enc\", input_signature=[keras.InputSpec(shape=(1, 10, 12), dtype=\"float32\", "
            "name=\"encoder_inputs\")])\n"
            "model.export(\"train\", input_signature=[[keras.InputSpec(shape=(1, 10, 12), dtype=\"float32\", "
            "name=\"encoder_inputs\"), keras.InputSpec(shape=(None, None, 12), dtype=\"float32\", name=\"decoder_inputs\")]])\n",
            options=SourceOptions(pins={"encoder_inputs": (1, 10, 12)}), unsafe=True,
        ),
        # Warned about: a Keras 3 batch for a model.export whose model the codemod cannot trace to this file's
        # Inputs (several of them); an unnamed input when a pin matched nothing. The shapes are still pinned.
        Example(
            "import keras\n\n"
            "a = keras.Input((None, 4), name=\"a\")\nb = keras.Input((4,), name=\"b\")\n"
            "model = build()\nmodel.export(\"out\")\n",
            "import keras\n\n"
            "a = keras.Input((6, 4), name=\"a\")\nb = keras.Input((4,), name=\"b\")\n"
            "model = build()\nmodel.export(\"out\")\n",
            options=SourceOptions(pins={"a": (1, 6, 4)}), warns=1, unsafe=True,
        ),
        Example(
            "import keras\n\nx = keras.Input((None, 4))\n",
            options=SourceOptions(pins={"encoder_inputs": (1, 6, 4)}), warns=1,
        ),
    )

    def active(self, options: SourceOptions) -> bool:
        return bool(options.pins)

    def consented(self, options: SourceOptions) -> bool:
        return bool(options.pins)

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Pin(self, ctx, select)
