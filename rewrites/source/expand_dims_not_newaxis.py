"""expand_dims_not_newaxis: ``x[:, None]`` / ``x[..., tf.newaxis]`` on tensors in model code -> ``tf.expand_dims``."""

from __future__ import annotations

import functools
import re

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, NewImport, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import Bindings, derives, dotted, tf_function_call

_NEWAXIS = frozenset({"tensorflow.newaxis", "numpy.newaxis", "tensorflow.experimental.numpy.newaxis"})
# Classes whose ``call`` is model code (Keras 3 through keras / tf.keras, Keras 2 through tf_keras).
_LAYERS = frozenset(f"{root}.{name}" for root in ("keras", "tf_keras") for name in (
    "layers.Layer", "Layer", "Model", "models.Model", "Sequential", "models.Sequential"))
_LAMBDA_LAYERS = frozenset({"keras.layers.Lambda", "tf_keras.layers.Lambda"})
_KERAS_INPUTS = frozenset({"keras.Input", "keras.layers.Input", "tf_keras.Input", "tf_keras.layers.Input"})
# tf./keras.ops functions whose results are not tensors (lists, NumPy arrays, datasets, files ...).
_NOT_TENSORS = ("tensorflow.make_ndarray", "tensorflow.io.gfile.", "tensorflow.nest.", "tensorflow.config.",
                "tensorflow.data.", "tensorflow.saved_model.", "tensorflow.train.", "tensorflow.summary.",
                "tensorflow.lite.", "tensorflow.distribute.", "keras.ops.convert_to_numpy")
_MAX_DEPTH = 4  # how far a name is followed through its assignments
# An index holding None or a newaxis (``x[:, None]``, ``x[..., tf.newaxis]``): the text pre-filter.
# A subscript (``name[``, ``f(x)[``, ``a[0][``: not a list literal such as ``shape=[None, 4]``, nor a typing
# annotation such as ``Optional[None]``) whose index holds None or a newaxis among plain index parts. Measured on the
# installed keras + tensorflow sources: 78 files instead of 365 for the looser "any bracket with None", so the tree
# codemod parses a quarter of what it did.
_INDEXES_NEW_AXIS = re.compile(
    r"[\w\)\]](?<!Optional)(?<!Callable)(?<!Union)(?<!Dict)(?<!Tuple)(?<!List)(?<!Type)(?<!Mapping)(?<!Sequence)"
    r"(?<!Iterator)(?<!Iterable)(?<!Generator)\[[\w\s:.,+\-]*\b(?:None|newaxis)\b")
# What the rewrite edits lives in model code; a file without any of these has no tensor it could prove (on the
# installed keras + tensorflow sources this halves the files parsed again: 39 of the 78).
_MODEL_CODE = re.compile(r"@[\w.]*function\b|\bdef call\(|\bLambda\(|\bInput\(|\btf\.\w+\(")


def _is_full_slice(element: cst.SubscriptElement) -> bool:
    s = element.slice
    return isinstance(s, cst.Slice) and s.lower is None and s.upper is None and s.step is None


def _axis(value: int) -> cst.BaseExpression:
    return cst.Integer(str(value)) if value >= 0 else cst.UnaryOperation(cst.Minus(), cst.Integer(str(-value)))


def new_axes(index: list[str]) -> list[int] | None:
    """The ``expand_dims`` axes, in the order to apply them, for an index of ``new``/``full``/``...`` items (None when it
    is not one of those, or has two ellipses). Items before the ellipsis (or all of them, without one) count from the
    front: each full slice and new axis is one output dim, so a new axis at item i is output dim i. Items after the
    ellipsis count from the back (``x[..., None, :]`` -> -2); they are applied nearest-the-end first, each axis read
    in the final layout."""
    if index.count("...") > 1 or any(i not in ("new", "full", "...") for i in index):
        return None
    cut = index.index("...") if "..." in index else len(index)
    front = [i for i, item in enumerate(index[:cut]) if item == "new"]
    after = index[cut + 1:]
    back = [-(len(after) - j) for j, item in enumerate(after) if item == "new"]
    return front + sorted(back, reverse=True)


class _Expand(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.functions: list[tuple[cst.FunctionDef | cst.Lambda, bool, bool]] = []  # node, model code?, keras.ops layer?
        self._lambda_args: set[int] = set()  # id() of lambdas passed to keras.layers.Lambda
        self._classes: list[cst.ClassDef] = []
        self._subscript: cst.Subscript | None = None  # the subscript being read (its line is looked up when needed)
        self._scopes: dict[int, Bindings] = {}  # id(function) -> its bindings (a nested function's included)

    @functools.cached_property
    def bindings(self) -> Bindings:
        return Bindings(self.ctx.module)

    # -- where model code is ------------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        return updated

    def _keras_class(self) -> cst.ClassDef | None:
        cls = self._classes[-1] if self._classes else None
        return cls if cls is not None and derives(self.names, self.bindings, cls, _LAYERS) else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.functions[-1][1] if self.functions else False
        traced = any(tf_function_call(self.names, d) is not None for d in node.decorators)
        cls = self._keras_class() if node.name.value == "call" and not self.functions else None
        uses_ops = cls is not None and _uses_keras_ops(self.names, cls)
        inherited_ops = self.functions[-1][2] if self.functions else False
        self.functions.append((node, outer or traced or cls is not None, uses_ops or inherited_ops))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.functions.pop()
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        if self.names.qualify(node.func) in _LAMBDA_LAYERS and node.args and isinstance(node.args[0].value, cst.Lambda):
            self._lambda_args.add(id(node.args[0].value))

    def visit_Lambda(self, node: cst.Lambda) -> None:
        outer = self.functions[-1] if self.functions else None
        model = id(node) in self._lambda_args or (outer is not None and outer[1])
        self.functions.append((node, model, outer[2] if outer else False))

    def leave_Lambda(self, original: cst.Lambda, updated: cst.Lambda) -> cst.BaseExpression:
        self.functions.pop()
        return updated

    # -- what is a tensor ---------------------------------------------------------------------------------------
    def _params(self, node: cst.FunctionDef | cst.Lambda) -> set[str]:
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        names = [p.name.value for p in every]
        if isinstance(node, cst.FunctionDef) and self._classes and names[:1] in (["self"], ["cls"]):
            names = names[1:]
        return {n for n in names if n != "training"}

    def _tensor(self, expr: cst.BaseExpression, depth: int = 0) -> str | None:
        """``tf``: a TensorFlow tensor; ``keras``: a symbolic Keras tensor (functional model); None: not provable."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, cst.Subscript):
            return self._tensor(expr.value, depth + 1)
        if isinstance(expr, cst.UnaryOperation):
            return self._tensor(expr.expression, depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            kinds = {self._tensor(expr.left, depth + 1), self._tensor(expr.right, depth + 1)} - {None}
            return "keras" if "keras" in kinds else ("tf" if kinds else None)
        if isinstance(expr, cst.Call):
            name = self.names.qualify(expr.func) or ""
            if name in _KERAS_INPUTS:  # Keras 3 symbolic tensors need keras.ops; Keras 2 ones take tf ops
                return "keras" if name.startswith("keras.") else "tf"
            if name.startswith(_NOT_TENSORS):
                return None
            if name.startswith("keras.ops.") or (name.startswith("tensorflow.") and name[11:12].islower()):
                return "tf" if self.functions else None  # in any function (a mask helper); not top-level data prep
            inner = expr.func  # keras.layers.Dense(4)(x): a layer called on a symbolic tensor
            root = (self.names.qualify(inner.func) or "").split(".")[0] if isinstance(inner, cst.Call) else ""
            if root in ("keras", "tf_keras"):
                kinds = {self._tensor(a.value, depth + 1) for a in expr.args}
                return ("keras" if root == "keras" else "tf") if kinds & {"keras", "tf"} else None
            return None
        if isinstance(expr, cst.Name):
            scope = self.functions[-1][0] if self.functions else None
            if scope is not None and expr.value in self._params(scope):
                if self._in_model():
                    return "tf"
                # A helper's parameter is unknown, unless a tensor assignment at the top of its body rebinds it
                # before this line (``seq = tf.cast(seq, tf.float32)``): that value is the one read here.
                value = self._rebound(scope, expr.value) if isinstance(scope, cst.FunctionDef) else None
                return self._tensor(value, depth + 1) if value is not None else None
            values = self._local_values(expr.value)
            if not values:
                return None
            kinds = {self._tensor(v, depth + 1) for v in values}
            return kinds.pop() if len(kinds) == 1 else None
        return None

    def _rebound(self, func: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
        """The value of the last plain ``name = value`` statement of ``func``'s own body before the current line, when
        every assignment of ``name`` in ``func`` is such a statement (so it dominates the use and nothing else
        rebinds it)."""
        if not isinstance(func.body, cst.IndentedBlock):
            return None
        found: list[tuple[int, cst.BaseExpression]] = []
        for statement in func.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (isinstance(small, cst.Assign) and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name) and small.targets[0].target.value == name):
                    found.append((self.position(small).start.line, small.value))
        scope = self._scopes.setdefault(id(func), Bindings(func))  # type: ignore[arg-type]
        if not found or len([v for v in scope.values.get(name, []) if v is not None]) != len(found):
            return None
        here = self.position(self._subscript).start.line if self._subscript is not None else 0
        before = [value for line, value in found if line < here]
        return before[-1] if before else None

    def _local_values(self, name: str) -> list[cst.BaseExpression] | None:
        """Every value assigned to ``name`` in the innermost function (the module at top level); None if one is not a
        plain assignment or the name is also a parameter there."""
        scope = self.functions[-1][0] if self.functions else None
        if isinstance(scope, cst.Lambda):
            return None
        if scope is None:
            return self.bindings.only(name)
        if id(scope) not in self._scopes:
            self._scopes[id(scope)] = Bindings(scope)  # type: ignore[arg-type]  # Bindings only calls .visit on it
        return self._scopes[id(scope)].only(name)

    def _in_model(self) -> bool:
        return bool(self.functions) and self.functions[-1][1]

    # -- the edit -----------------------------------------------------------------------------------------------
    def _item(self, element: cst.SubscriptElement) -> str:
        s = element.slice
        if isinstance(s, cst.Index) and s.star is None:
            if isinstance(s.value, cst.Name) and s.value.value == "None":
                return "new"
            if self.names.qualify(s.value) in _NEWAXIS:
                return "new"
            if isinstance(s.value, cst.Ellipsis):
                return "..."
        return "full" if _is_full_slice(element) else "other"

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        index = [self._item(e) for e in original.slice]
        if "new" not in index:
            return updated
        self._subscript = original
        kind = self._tensor(original.value)
        if kind is None:
            return updated
        axes = new_axes(index)
        code = self.ctx.module.code_for_node(original)
        if axes is None:
            self.warn(original, f"{code}: a new axis mixed with indexing or partial slices is a StridedSlice with "
                                "new_axis_mask, Flex on dynamic dims (standalone LiteRT cannot run it); slice first, "
                                "then tf.expand_dims")
            return updated
        func, imports = self._expand_dims(kind)
        replacement: cst.BaseExpression = updated.value
        for axis in axes:
            replacement = cst.Call(func, [cst.Arg(replacement, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                                          cst.Arg(_axis(axis))])
        replacement = replacement.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        spelled = self.ctx.module.code_for_node(func)
        return self.edit(original, updated, replacement,
                         f"{code} -> {spelled}(..., {', '.join(map(str, axes))}): a StridedSlice with new_axis_mask "
                         "stays Flex on dynamic dims; ExpandDims is builtin", imports=imports)

    def _expand_dims(self, kind: str) -> tuple[cst.BaseExpression, list[NewImport]]:
        """``keras.ops.expand_dims`` for symbolic Keras tensors and in Keras 3 layers written with keras.ops, else
        ``tf.expand_dims`` (the file's own spellings)."""
        uses_ops = kind == "keras" or (bool(self.functions) and self.functions[-1][2])
        if uses_ops:
            ops = self.names.local("keras.ops")
            if ops is not None:
                return cst.Attribute(cst.Name(ops), cst.Name("expand_dims")), []
            keras = self.names.local("keras")
            if keras is not None:
                return cst.Attribute(cst.Attribute(cst.Name(keras), cst.Name("ops")), cst.Name("expand_dims")), []
            if kind == "keras":  # a Keras 3 symbolic tensor: a tf op would refuse it (tf.keras is Keras 3 here)
                tf, imports = self.tf()
                return dotted(tf, "keras.ops.expand_dims"), imports
        tf, imports = self.tf()
        return cst.Attribute(cst.Name(tf), cst.Name("expand_dims")), imports


def _uses_keras_ops(names: Names, cls: cst.ClassDef) -> bool:
    """Whether a Keras 3 class calls keras.ops itself (then its new code should too: it may run on JAX or torch)."""
    found = False

    class Find(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            found = found or (names.qualify(node) or "").startswith("keras.ops.")

    cls.visit(Find())
    return found


class ExpandDimsNotNewaxis(SourceRewrite):
    """Write ``tf.expand_dims(x, axis)`` instead of ``x[:, None]`` / ``x[..., tf.newaxis]`` on tensors in model code.

    What it fixes:
        New axes made by indexing a tensor (``x[:, None]``, ``x[..., tf.newaxis]``, ``x[None]``,
        ``mask[:, None, None, :]``) inside model code: a ``@tf.function``, the ``call`` of a Keras layer or model,
        a ``keras.layers.Lambda`` function, a functional Keras graph (a value from ``keras.Input`` or a layer
        call), or a helper they call that indexes a tf./keras.ops value (the Transformer tutorial's
        ``create_padding_mask``: ``seq = tf.cast(...); return seq[:, tf.newaxis, tf.newaxis, :]``). Each new axis becomes one
        ``expand_dims`` (``keras.ops.expand_dims`` in a Keras 3 layer written
        with keras.ops, and on symbolic Keras tensors). The index may hold full slices (``:``) and one
        ellipsis; axes after the ellipsis are counted from the end (``x[..., None, :]`` -> axis -2).
    Why it fails:
        Indexing with None is a StridedSlice with new_axis_mask. Measured, TF 2.21: on a tensor with two or
        more unknown dims it stays the Flex op StridedSlice (``x[..., tf.newaxis]`` and ``x[:, :, None]`` on
        [?, ?], ``x[:, None, None, :]`` on [?, ?], ``x[None, ...]`` on [?, ?, ?]), which standalone LiteRT
        (ai-edge-litert) cannot run; ExpandDims is a builtin at any shape. Keras-Hub made the same change in
        its own models; the model-level counterpart is substitute_flex_ops.
    Safety:
        safe: ``expand_dims`` at the computed axes is the same reshape, bit for bit (measured on every form
        in the examples, static and dynamic shapes, ranks 2 to 4: values, shapes and dtypes equal). Only
        subscripts that are provably tensors are touched: a parameter of model code, the result of a tf. or
        keras.ops call inside a function (not those that return lists, NumPy arrays or datasets), a symbolic
        Keras tensor, or a local name every assignment of which is one of those (a helper's parameter counts
        once a top-level assignment of a tensor rebinds it before the use). NumPy data preparation at module
        level is left alone. A new axis mixed with integer indexing or partial slices
        (``x[:, 0, None]``, ``x[1:, None]``) is display-only: it has no single-call equivalent.
    References:
        docs/facts.md section 10 (Keras-Hub replaced ``x[:, None]`` with ``ops.expand_dims``); the model rewrite
        substitute_flex_ops (StridedSlice with new axes -> ExpandDims).
    """

    id = "expand_dims_not_newaxis"
    title = "x[:, None] / x[..., tf.newaxis] on tensors -> tf.expand_dims (no Flex StridedSlice)"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.NEEDS_FLEX_OPS})
    model_rewrite = "substitute_flex_ops"
    triggers = ("None", "newaxis")
    modules = ("tensorflow", "keras", "tf_keras")
    examples = (
        Example(
            "import tensorflow as tf\n\n@tf.function\ndef f(x, mask):\n"
            "    return x[..., tf.newaxis] * tf.cast(mask, tf.float32)[:, None, None, :]\n",
            "import tensorflow as tf\n\n@tf.function\ndef f(x, mask):\n"
            "    return tf.expand_dims(x, -1) * tf.expand_dims(tf.expand_dims(tf.cast(mask, tf.float32), 1), 2)\n",
        ),
        Example(
            "import keras\nfrom keras import ops\n\nclass Attn(keras.layers.Layer):\n"
            "    def call(self, x):\n        n = ops.shape(x)[1]\n        causal = ops.tril(ops.ones((n, n)))\n"
            "        return x * causal[None, ...]\n",
            "import keras\nfrom keras import ops\n\nclass Attn(keras.layers.Layer):\n"
            "    def call(self, x):\n        n = ops.shape(x)[1]\n        causal = ops.tril(ops.ones((n, n)))\n"
            "        return x * ops.expand_dims(causal, 0)\n",
        ),
        Example(
            "import tensorflow as tf\n\nclass M(tf.keras.Model):\n    def call(self, inputs):\n"
            "        h = inputs[:, :, None]\n        return h[..., None, :]\n",
            "import tensorflow as tf\n\nclass M(tf.keras.Model):\n    def call(self, inputs):\n"
            "        h = tf.expand_dims(inputs, 2)\n        return tf.expand_dims(h, -2)\n",
        ),
        Example(
            "import keras\n\nseq = keras.Input(shape=(None,))\nx = keras.layers.Dense(8)(seq[..., None])\n",
            "import keras\n\nseq = keras.Input(shape=(None,))\nx = keras.layers.Dense(8)(keras.ops.expand_dims(seq, -1))\n",
        ),
        Example(  # Keras 3 through tf.keras: a symbolic tensor takes keras.ops, not a tf op
            "import tensorflow as tf\n\nx = tf.keras.Input(shape=(None, None))\ny = tf.keras.layers.Dense(4)(x)[:, None]\n",
            "import tensorflow as tf\n\nx = tf.keras.Input(shape=(None, None))\n"
            "y = tf.keras.ops.expand_dims(tf.keras.layers.Dense(4)(x), 1)\n",
        ),
        Example(  # Keras 2 (tf_keras) symbolic tensors take tf ops
            "import tensorflow as tf\nimport tf_keras\n\nx = tf_keras.Input(shape=(None,))\ny = x[..., None]\n",
            "import tensorflow as tf\nimport tf_keras\n\nx = tf_keras.Input(shape=(None,))\ny = tf.expand_dims(x, -1)\n",
        ),
        Example(
            "import tensorflow as tf\n\nlayer = tf.keras.layers.Lambda(lambda t: t[None])\n",
            "import tensorflow as tf\n\nlayer = tf.keras.layers.Lambda(lambda t: tf.expand_dims(t, 0))\n",
        ),
        Example(  # a helper whose parameter is rebound to a tf value first (the Transformer tutorial's mask)
            "import tensorflow as tf\n\ndef create_padding_mask(seq):\n    seq = tf.cast(tf.math.equal(seq, 0), tf.float32)\n"
            "    return seq[:, tf.newaxis, tf.newaxis, :]\n",
            "import tensorflow as tf\n\ndef create_padding_mask(seq):\n    seq = tf.cast(tf.math.equal(seq, 0), tf.float32)\n"
            "    return tf.expand_dims(tf.expand_dims(seq, 1), 2)\n",
        ),
        Example(  # display-only: a new axis with integer indexing / a partial slice
            "import tensorflow as tf\n\n@tf.function\ndef f(x):\n    return x[:, 0, None] + x[1:, None, :1]\n", warns=2,
        ),
        # Left alone: NumPy arrays and lists outside model code, plain indexing, a helper we cannot see into,
        # an ignore comment.
        Example("import numpy as np\nimport tensorflow as tf\n\nlabels = np.arange(4)[:, None]\n"
                "y = tf.constant(labels)[..., None]\n"),
        Example("import tensorflow as tf\n\n@tf.function\ndef f(x, table):\n    return x[:, 0] + x[..., :2]\n"),
        Example("import tensorflow as tf\n\ndef weights(proto):\n    return tf.make_ndarray(proto)[:, None]\n"),
        Example("import tensorflow as tf\n\nclass Pos(tf.keras.layers.Layer):\n    def call(self, x):\n"
                "        return x + self.table[None]  # an attribute: not provably a tensor\n"),
        Example("import tensorflow as tf\n\ndef helper(x):\n    return x[:, None]\n"),
        Example("import tensorflow as tf\n\ndef helper(x, flag):\n    if flag:\n        x = tf.cast(x, tf.float32)\n"
                "    return x[:, None]\n"),
        Example("import tensorflow as tf\n\n@tf.function\ndef f(x):\n    return x[:, None]  # repair: ignore\n"),
    )

    def could_match(self, text: str) -> bool:
        """Nearly every file says ``None``: only one that indexes with it (or with a newaxis) and holds model code
        (a tf.function, a layer's call, a Lambda, a keras.Input, a ``tf.`` call) is parsed."""
        return _INDEXES_NEW_AXIS.search(text) is not None and _MODEL_CODE.search(text) is not None

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Expand(self, ctx, select)
