"""explicit_float32: float64-producing tnp constructors (asarray/array of floats, linspace, arange) get dtype float32."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import ImportItem

from repair.findings import FindingKind
from repair.safety import Safety
from repair.source import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer

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


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """``call`` with ``name=value`` appended, keeping a trailing comma and the one-argument-per-line layout."""
    arg = cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
    if not call.args:
        return call.with_changes(args=[arg])
    last = call.args[-1]
    separator: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the call is laid out over lines
        arg = arg.with_changes(comma=last.comma)
        before = call.args[-2].comma if len(call.args) > 1 else None
        layout = before.whitespace_after if isinstance(before, cst.Comma) else call.whitespace_before_args
        if isinstance(layout, cst.ParenthesizedWhitespace):
            separator = layout
    return call.with_changes(args=[*call.args[:-1], last.with_changes(comma=cst.Comma(whitespace_after=separator)), arg])


class _Float32(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self._indices: set[int] = set()  # ids of expressions used as indices

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            self._indices.add(id(node.slice.value))

    def visit_Call(self, node: cst.Call) -> None:
        name = _qualified(self.names, node.func) or ""
        if name.rsplit(".", 1)[-1] in _INDEXERS:
            self._indices.update(id(a.value) for a in node.args)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = _qualified(self.names, original.func)
        if not name or not name.startswith(_TNP) or name[len(_TNP):] not in _CONSTRUCTORS:
            return updated
        short = name[len(_TNP):]
        dtype_at, data_keyword = _CONSTRUCTORS[short]
        positional = [a for a in original.args if a.keyword is None]
        if any(a.star for a in original.args) or len(positional) > dtype_at:
            return updated
        if any(a.keyword is not None and a.keyword.value == "dtype" for a in original.args):
            return updated
        if data_keyword is not None:
            data = positional[:1] or [a for a in original.args if a.keyword is not None and a.keyword.value == data_keyword]
            if not data or not _floats(data[0].value):
                return updated
        if short == "arange" and id(original) in self._indices:
            return updated
        imports: list[ImportItem] = []
        if isinstance(original.func, cst.Attribute):  # the call's own module: tnp.float32, np2.float32 ...
            dtype: cst.BaseExpression = cst.Attribute(original.func.value, cst.Name("float32"))
        else:  # a from-imported function: tnp accepts tf dtypes
            tf, imports = self.tf()
            dtype = cst.Attribute(cst.Name(tf), cst.Name("float32"))
        why = {"asarray": "of Python floats is float64", "array": "of Python floats is float64",
               "linspace": "defaults to float64",
               "arange": "is int64 and promotes float32 math to float64 (keep it if it is used as indices)"}[short]
        code = self.ctx.module.code_for_node(dtype)
        return self.edit(original, updated, with_keyword(updated, "dtype", dtype), f"tnp.{short} {why}: dtype={code}",
                         imports=imports)


class ExplicitFloat32(SourceRewrite):
    """Give float64-producing tf.experimental.numpy constructors an explicit dtype=float32.

    What it fixes:
        tnp.asarray / tnp.array of Python floats (a float literal, a list or tuple containing one, [0.1] * 8),
        tnp.linspace and tnp.arange without a dtype. tnp follows NumPy: these make float64 (arange: int64),
        and one of them in float32 model math turns the whole expression float64.
    Why it fails:
        ATLAS section 3: `tnp.add(x, tnp.asarray([0.1]*8))` and `x * tnp.linspace(0, 1, 8)` convert only
        with Flex AddV2/Mul on f64 tensors (fine with prefer_float32); `x * tnp.arange(8)` fails that way
        in all three numpy modes, prefer_float32 included, because the int64 arange promotes float32 to
        float64. The verified repair states float32 (diff <= 2.4e-7 against the float64 reference).
    Safety:
        unsafe: the constant is computed in float32 instead of float64, and an arange becomes float32
        instead of int64. An arange used directly as an index (x[tnp.arange(n)], take/gather/one_hot) is
        left alone; review the others where the result is used as an index. The dtype is spelled with the
        call's own module (tnp.asarray -> dtype=tnp.float32, np2.linspace -> dtype=np2.float32): no new
        import, and it reads as the NumPy code it is; a from-imported function gets tf.float32, which tnp
        also accepts. Calls that already pass a dtype, data that is not a literal (a tensor) and plain NumPy
        are left alone.
    References:
        ATLAS.md section 3 and section 9.1; the model-level counterpart is compute_in_float32.
    """

    id = "explicit_float32"
    title = "tnp.asarray/linspace/arange of Python numbers -> explicit dtype float32"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.FLOAT64_OPS, FindingKind.NEEDS_FLEX_OPS})
    model_rewrite = "compute_in_float32"
    triggers = ("experimental",)  # tnp is only reachable through tensorflow.experimental
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
            "w = np2.linspace(0, 1, 8, dtype=np2.float32)\nr = np2.arange(8, dtype=np2.float32)\n"
            "c = np2.array([[1, 2.5], [3, -4]], dtype=np2.float32)\n",
            unsafe=True,
        ),
        Example(
            "import tensorflow as tf\n\ny = x * tf.experimental.numpy.asarray(\n    [0.5, 1.5],\n)\n",
            "import tensorflow as tf\n\ny = x * tf.experimental.numpy.asarray(\n    [0.5, 1.5],\n"
            "    dtype=tf.experimental.numpy.float32,\n)\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow.experimental.numpy import linspace\n\nw = linspace(0.0, 1.0, num=8)\n",
            "from tensorflow.experimental.numpy import linspace\nimport tensorflow as tf\n\n"
            "w = linspace(0.0, 1.0, num=8, dtype=tf.float32)\n",
            unsafe=True,
        ),
        # Left alone: a dtype is given (keyword or positional), the data is a tensor or integers, plain NumPy,
        # an arange used as indices, an ignore comment.
        Example("import tensorflow.experimental.numpy as tnp\n\n"
                "a = tnp.asarray([0.1], dtype=tnp.float64)\nb = tnp.asarray(x)\nc = tnp.asarray([1, 2])\n"
                "d = tnp.arange(0, 8, 1, tnp.int32)\ne = x[tnp.arange(3)]\nf = tnp.take(x, tnp.arange(3))\n"),
        Example("import numpy as np\nimport tensorflow.experimental.numpy as tnp\n\n"
                "y = np.asarray([0.1]) * np.linspace(0, 1, 4)\n"),
        Example("import tensorflow.experimental.numpy as tnp\n\nw = tnp.linspace(0, 1, 8)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Float32(self, ctx, select)
