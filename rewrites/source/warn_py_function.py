"""warn_py_function: tf.py_function / tf.numpy_function / tf.compat.v1.py_func in model code -> a warning."""

from __future__ import annotations

from collections import Counter

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer

# canonical name -> the op it saves as
_PY_FUNCS = {"tensorflow.py_function": "EagerPyFunc", "tensorflow.numpy_function": "PyFunc", "tensorflow.py_func": "PyFunc"}
# tf.data methods: a py_function in their argument runs in the input pipeline, not in the exported model.
_PIPELINE = frozenset({"map", "filter", "flat_map", "interleave", "from_generator"})


def _qualified(names: Names, expr: cst.BaseExpression) -> str | None:
    """The qualified name of a plain dotted name; None for ``f(x).y`` or ``a[0].b``, which Names.qualify would name."""
    head = expr
    while isinstance(head, cst.Attribute):
        head = head.value
    return names.qualify(expr) if isinstance(head, cst.Name) else None


class _Uses(cst.CSTVisitor):
    """For each name, how many times the file reads it, and how many of those are an argument of a tf.data method
    (``ds.map(load_example)``): a function read only that way runs in the input pipeline, never in the model."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()
        self.in_pipeline: Counter[str] = Counter()

    def visit_Name(self, node: cst.Name) -> None:
        self.reads[node.value] += 1

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _PIPELINE:
            for arg in node.args:
                if isinstance(arg.value, cst.Name):
                    self.in_pipeline[arg.value.value] += 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.reads[node.name.value] -= 1  # the def's own name is a binding, not a read

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # ``x.map``: ``map`` is an attribute, not a read of a name ``map``
        return False

    def pipeline_only(self, name: str) -> bool:
        return self.reads[name] > 0 and self.reads[name] == self.in_pipeline[name]


class _Warn(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self._pipeline = 0  # depth of tf.data method calls around the current node, and of pipeline-only defs
        self._uses: _Uses | None = None  # walked once a def is entered

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self._uses is None:
            self._uses = _Uses()
            self.ctx.module.visit(self._uses)
        self._pipeline += self._uses.pipeline_only(node.name.value)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        assert self._uses is not None
        self._pipeline -= self._uses.pipeline_only(original.name.value)
        return updated

    def _check(self, node: cst.CSTNode, func: cst.BaseExpression, args: tuple[cst.Arg, ...]) -> None:
        op = _PY_FUNCS.get(_qualified(self.names, func) or "")
        if op is None or self._pipeline:
            return
        spelled = self.ctx.module.code_for_node(func)
        func_arg = next((a for a in args if a.keyword is not None and a.keyword.value == "func"), None)
        wrapped = func_arg.value if func_arg is not None else args[0].value if args and args[0].keyword is None else None
        what = f"`{self.ctx.module.code_for_node(wrapped)}`" if isinstance(wrapped, (cst.Name, cst.Attribute)) else "the function"
        self.warn(node, f"{spelled} saves as the custom op {op}: TFLite has no kernel for it and SELECT_TF_OPS does not "
                        f"help; rewrite {what} in TF ops (a tf.data pipeline may keep it)")

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _PIPELINE:
            self._pipeline += 1
        self._check(node, node.func, tuple(node.args))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if isinstance(original.func, cst.Attribute) and original.func.attr.value in _PIPELINE:
            self._pipeline -= 1
        return updated

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if not isinstance(node.decorator, cst.Call):  # a decorator call is seen by visit_Call
            self._check(node, node.decorator, ())


class WarnPyFunction(SourceRewrite):
    """Warn about tf.py_function / tf.numpy_function / tf.compat.v1.py_func in model code.

    What it fixes:
        Nothing automatically: it points at Python callbacks inside the model, which no converter flag
        can carry into a .tflite.
    Why it fails:
        docs/facts.md section 7 and 9.10: the SavedModel saves fine, but the callback becomes the custom op
        EagerPyFunc (py_function) or PyFunc (numpy_function, py_func). TFLite has no kernel for either
        and SELECT_TF_OPS does not rescue them: the callback is Python, which no runtime on the device has.
        The only fix is to express the function in TF ops.
    Safety:
        display-only: there is no mechanical translation of arbitrary Python. Calls inside a tf.data
        method (map, filter, interleave ...), and inside a def of the file that is only ever passed to one
        (ds.map(load_example)), are not warned about: the input pipeline is not exported.
    References:
        docs/facts.md section 7 (`tf.py_function` / `tf.numpy_function`: CUSTOM EagerPyFunc / PyFunc, select FAIL)
        and section 9.10.
    """

    id = "warn_py_function"
    title = "warn about Python callbacks (py_function / numpy_function) in model code"
    safety = Safety.DISPLAY_ONLY
    answers = frozenset({FindingKind.NEEDS_CUSTOM_OPS})
    model_rewrite = None
    triggers = ("py_func", "numpy_function")  # "py_func" covers py_function
    modules = tuple(_PY_FUNCS)
    examples = (
        Example(
            "import tensorflow as tf\n\n@tf.function\ndef f(x):\n"
            "    y = tf.py_function(my_op, [x], tf.float32)\n    return tf.numpy_function(np_op, [y], tf.float32)\n",
            warns=2,
        ),
        Example("import tensorflow.compat.v1 as tf1\n\ny = tf1.py_func(lambda a: a * 2, [x], tf1.float32)\n", warns=1),
        Example("from tensorflow import numpy_function\n\n"
                "@numpy_function(Tout=float)\ndef g(a):\n    return a + 1\n", warns=1),
        # Left alone: a user function named py_function, NumPy itself, a tf.data map, an ignore comment.
        Example("def py_function(f, args):\n    return f(*args)\n\ny = py_function(abs, [-1])\n"),
        Example("import numpy as np\n\nf = np.vectorize(lambda a: a + 1)  # not a numpy_function\n"),
        Example("import tensorflow as tf\n\nds = ds.map(lambda x: tf.py_function(decode, [x], tf.float32))\n"),
        Example(  # a named function that only tf.data maps over runs in the pipeline; one the model calls does not
            "import tensorflow as tf\n\ndef load(raw):\n    return tf.py_function(decode, [raw], tf.float32)\n\n"
            "def serve(x):\n    return tf.py_function(func=rule, inp=[x], Tout=tf.float32)\n\n"
            "ds = ds.map(load).filter(keep)\nmodel_fn = serve\n",
            warns=1,
        ),
        Example(  # also read elsewhere (called in the model): warned
            "import tensorflow as tf\n\ndef load(raw):\n    return tf.py_function(decode, [raw], tf.float32)\n\n"
            "ds = ds.map(load)\ny = load(x)\n",
            warns=1,
        ),
        Example("import tensorflow as tf\n\ny = tf.py_function(f, [x], tf.float32)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Warn(self, ctx, select)
