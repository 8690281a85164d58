"""explicit_float32: float64-producing tnp constructors (asarray/array of floats, linspace, arange) get dtype float32."""

from __future__ import annotations

import libcst as cst

from repair.findings import FindingKind
from repair.safety import Safety
from repair.source import Example, NewImport, Names, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import keyword, kwarg, with_keyword

_TNP = "tensorflow.experimental.numpy."
# tnp constructor -> (positional index of dtype, keyword that carries the data, or None: the call always gets float32)
_CONSTRUCTORS: dict[str, tuple[int, str | None]] = {"asarray": (1, "a"), "array": (1, "val"), "linspace": (5, None),
                                                     "arange": (3, None)}
# Calls whose arguments are indices: an arange there must stay an integer.
_INDEXERS = frozenset({"take", "take_along_axis", "gather", "gather_nd", "one_hot", "scatter_nd", "tensor_scatter_nd_update"})


def _qualified(names: Names, expr: cst.BaseExpression) -> str | None:
    """The qualified name of a plain dotted name; None for ``f(x).y`` or ``a[0].b``, which Names.qualify would name."""
    head = expr
    while isinstance(head, cst.Attribute):
        head = head.value
    return names.qualify(expr) if isinstance(head, cst.Name) else None


def _number(expr: cst.BaseExpression) -> str | None:
    """'float' or 'int' for a Python number literal, None for anything else."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        expr = expr.expression
    return "float" if isinstance(expr, cst.Float) else "int" if isinstance(expr, cst.Integer) else None


def _leaves(expr: cst.BaseExpression) -> list[str | None]:
    """The kinds of every leaf of a literal: numbers, lists/tuples of them, or ``[0.1] * 8``."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        if not expr.elements or any(isinstance(e, cst.StarredElement) for e in expr.elements):
            return [None]
        return [kind for e in expr.elements for kind in _leaves(e.value)]
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
        for seq, count in ((expr.left, expr.right), (expr.right, expr.left)):
            if isinstance(seq, (cst.List, cst.Tuple)) and isinstance(count, cst.Integer):
                return _leaves(seq)
        return [None]
    return [_number(expr)]


def _floats(expr: cst.BaseExpression) -> bool:
    """Python data that tnp turns into float64: all number literals, at least one of them a float."""
    kinds = _leaves(expr)
    return None not in kinds and "float" in kinds


class _Float32(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self._indices: set[int] = set()  # ids of expressions used as indices
        self._cast: set[int] = set()  # ids of expressions already cast (a wrapped linspace)

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            self._indices.add(id(node.slice.value))

    def visit_Call(self, node: cst.Call) -> None:
        name = _qualified(self.names, node.func) or ""
        if name.rsplit(".", 1)[-1] in _INDEXERS:
            self._indices.update(id(a.value) for a in node.args)
        if node.args and (name == "tensorflow.cast" or name in (_TNP + "asarray", _TNP + "array") and keyword(node, "dtype")):
            self._cast.add(id(node.args[0].value))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = _qualified(self.names, original.func)
        if not name or not name.startswith(_TNP) or name[len(_TNP):] not in _CONSTRUCTORS:
            return updated
        short = name[len(_TNP):]
        dtype_at, data_keyword = _CONSTRUCTORS[short]
        positional = [a for a in original.args if a.keyword is None]
        if not original.args or any(a.star for a in original.args) or len(positional) > dtype_at:
            return updated
        given = keyword(original, "dtype")
        if short == "linspace":
            # TF 2.21 with NumPy 2 ignores linspace's dtype (it takes the type of start * 1.0): cast the result.
            retstep = keyword(original, "retstep") or (positional[4] if len(positional) > 4 else None)
            if retstep is not None and not (isinstance(retstep.value, cst.Name) and retstep.value.value == "False"):
                return updated  # a (samples, step) pair
            if id(original) in self._cast or given is not None and not self._float32(given.value):
                return updated
            return self._cast_linspace(original, updated)
        if given is not None or short == "arange" and id(original) in self._indices:
            return updated
        if data_keyword is not None:
            data = positional[:1] or [a for a in original.args if a.keyword is not None and a.keyword.value == data_keyword]
            if not data or not _floats(data[0].value):
                return updated
        imports: list[NewImport] = []
        if isinstance(original.func, cst.Attribute):  # the call's own module: tnp.float32, np2.float32 ...
            dtype: cst.BaseExpression = cst.Attribute(original.func.value, cst.Name("float32"))
        else:  # a from-imported function: tnp accepts tf dtypes
            tf, imports = self.tf()
            dtype = cst.Attribute(cst.Name(tf), cst.Name("float32"))
        why = "is int64 and promotes float32 math to float64 (keep it if it is used as indices)" if short == "arange" \
            else "of Python floats is float64"
        code = self.ctx.module.code_for_node(dtype)
        return self.edit(original, updated, with_keyword(updated, "dtype", dtype), f"tnp.{short} {why}: dtype={code}",
                         imports=imports)

    def _float32(self, dtype: cst.BaseExpression) -> bool:
        if isinstance(dtype, cst.SimpleString):
            return dtype.evaluated_value == "float32"
        return (_qualified(self.names, dtype) or "").endswith(".float32")

    def _cast_linspace(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        imports: list[NewImport] = []
        first = cst.Arg(updated, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if isinstance(original.func, cst.Attribute):  # tnp.asarray(tnp.linspace(...), dtype=tnp.float32)
            module = original.func.value
            func: cst.BaseExpression = cst.Attribute(module, cst.Name("asarray"))
            dtype = kwarg("dtype", cst.Attribute(module, cst.Name("float32")))
        else:  # a from-imported linspace: tf.cast(linspace(...), tf.float32)
            tf, imports = self.tf()
            func, dtype = cst.Attribute(cst.Name(tf), cst.Name("cast")), cst.Arg(cst.Attribute(cst.Name(tf), cst.Name("float32")))
        shown = self.ctx.module.code_for_node(cst.Call(func, [cst.Arg(cst.Ellipsis(), comma=first.comma), dtype]))
        return self.edit(original, updated, cst.Call(func, [first, dtype]),
                         f"tnp.linspace is float64 whatever its dtype= says (TF 2.21, NumPy 2): {shown}", imports=imports)


class ExplicitFloat32(SourceRewrite):
    """Make float64-producing tf.experimental.numpy constructors float32.

    What it fixes:
        tnp.asarray / tnp.array of Python floats (a float literal, a list or tuple containing one, [0.1] * 8)
        and tnp.arange without a dtype get dtype=float32; tnp.linspace is wrapped in
        tnp.asarray(..., dtype=float32). tnp follows NumPy: these make float64 (arange: int64), and one of
        them in float32 model math turns the whole expression float64.
    Why it fails:
        ATLAS section 3: `tnp.add(x, tnp.asarray([0.1]*8))` and `x * tnp.linspace(0, 1, 8)` convert only
        with Flex AddV2/Mul on f64 tensors (fine with prefer_float32); `x * tnp.arange(8)` fails that way
        in all three numpy modes, prefer_float32 included, because the int64 arange promotes float32 to
        float64. Measured for this rewrite (TF 2.21, NumPy 2.4): tnp.linspace ignores its dtype= (it takes
        the type of `start * 1.0`), so `tnp.linspace(0, 1, 8, dtype=tnp.float32)` is still float64 and
        `x * ...` does not even trace; the asarray cast around it converts builtins-only with no float64
        tensor, as do asarray/arange with dtype=float32.
    Safety:
        unsafe: the constant is computed in float32 instead of float64, and an arange becomes float32
        instead of int64. An arange used directly as an index (x[tnp.arange(n)], take/gather/one_hot) is
        left alone; review the others where the result is used as an index. The dtype is spelled with the
        call's own module (tnp.asarray -> dtype=tnp.float32, np2.linspace -> np2.asarray(..., dtype=np2.float32)):
        no new import, and it reads as the NumPy code it is; a from-imported function gets tf.float32
        (tnp accepts tf dtypes), a from-imported linspace tf.cast. Calls that pass another dtype, data that
        is not a number literal (a tensor, integers) and plain NumPy are left alone.
    References:
        ATLAS.md section 3 and section 9.1; the model-level counterpart is compute_in_float32.
    """

    id = "explicit_float32"
    title = "float64 tnp constants (asarray/array of floats, linspace, arange) -> float32"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.FLOAT64_OPS, FindingKind.NEEDS_FLEX_OPS})
    model_rewrite = "compute_in_float32"
    triggers = ("experimental",)  # tnp is only reachable through tensorflow.experimental
    modules = ("tensorflow.experimental.numpy",)
    examples = (
        Example(
            "import tensorflow.experimental.numpy as tnp\n\n"
            "def f(x):\n    return tnp.add(x, tnp.asarray([0.1] * 8))  # bias\n",
            "import tensorflow.experimental.numpy as tnp\n\n"
            "def f(x):\n    return tnp.add(x, tnp.asarray([0.1] * 8, dtype=tnp.float32))  # bias\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow.experimental import numpy as np2\n\n"
            "w = np2.linspace(0, 1, 8)\nr = np2.arange(8)\nc = np2.array([[1, 2.5], [3, -4]])\n",
            "from tensorflow.experimental import numpy as np2\n\n"
            "w = np2.asarray(np2.linspace(0, 1, 8), dtype=np2.float32)\nr = np2.arange(8, dtype=np2.float32)\n"
            "c = np2.array([[1, 2.5], [3, -4]], dtype=np2.float32)\n",
            unsafe=True,
        ),
        Example(
            "import tensorflow as tf\n\ny = x * tf.experimental.numpy.asarray(\n    [0.5, 1.5],\n)\n"
            "z = tf.experimental.numpy.linspace(0, 1, 2, dtype=tf.float32)\n",
            "import tensorflow as tf\n\ny = x * tf.experimental.numpy.asarray(\n    [0.5, 1.5],\n"
            "    dtype=tf.experimental.numpy.float32,\n)\n"
            "z = tf.experimental.numpy.asarray(tf.experimental.numpy.linspace(0, 1, 2, dtype=tf.float32), "
            "dtype=tf.experimental.numpy.float32)\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow.experimental.numpy import asarray, linspace\n\nw = linspace(0.0, 1.0, num=8) + asarray(0.5)\n",
            "from tensorflow.experimental.numpy import asarray, linspace\nimport tensorflow as tf\n\n"
            "w = tf.cast(linspace(0.0, 1.0, num=8), tf.float32) + asarray(0.5, dtype=tf.float32)\n",
            unsafe=True,
        ),
        # Left alone: a dtype is given, the data is a tensor or integers, an arange used as indices, a
        # linspace cast already or given another dtype, plain NumPy, an ignore comment.
        Example("import tensorflow.experimental.numpy as tnp\n\n"
                "a = tnp.asarray([0.1], dtype=tnp.float64)\nb = tnp.asarray(x)\nc = tnp.asarray([1, 2])\n"
                "d = tnp.arange(0, 8, 1, tnp.int32)\ne = x[tnp.arange(3)]\nf = tnp.take(x, tnp.arange(3))\n"
                "g = tnp.asarray(tnp.linspace(0, 1, 8), dtype=tnp.float32)\nh = tnp.linspace(0, 1, 8, dtype=tnp.float64)\n"
                "i, step = tnp.linspace(0, 1, 8, retstep=True)\n"),
        Example("import numpy as np\nimport tensorflow.experimental.numpy as tnp\n\n"
                "y = np.asarray([0.1]) * np.linspace(0, 1, 4)\n"),
        Example("import tensorflow.experimental.numpy as tnp\n\nw = tnp.linspace(0, 1, 8)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Float32(self, ctx, select)
