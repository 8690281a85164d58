"""explicit_float32: float64-producing tnp constructors (asarray/array of floats, linspace, arange) get dtype float32."""

from __future__ import annotations

import libcst as cst

from repair.findings import FindingKind
from repair.safety import Safety
from repair.source import Example, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import kwarg, with_keyword
from rewrites.source._float64_flow import Flow, Producer, module_of
from rewrites.source.swap_tnp_calls import data_args

class _Float32(SourceTransformer):
    def visit_Module(self, node: cst.Module) -> None:
        # One decision per group of float64 producers whose values meet in one op: all become float32, or none does.
        self.flow = Flow(node, self.names, data_args, lambda line: self.ctx.ignored(line, line, self.rewrite.id)
                         or self.ctx.ignored(line, line, "swap_tnp_calls"))
        self._accepted: set[int] = set()
        for group in self.flow.groups:
            if group.owner != self.rewrite.id:
                continue
            free = [p for p in group.producers if not p.blocked]
            if not free:
                continue  # nothing here could change: nothing to decide or to warn about
            if group.blocked:
                why = "; ".join(f"{p.label} (line {p.line}) is {p.blocked}" for p in group.blocked)
                way_out = "remove the ignore comment, or make them float32 by hand" \
                    if any("ignore" in p.blocked for p in group.blocked) else \
                    "`repair fix` (compute_in_float32) keeps a float64 interface and computes in float32 inside"
                self.warn(free[0].node, f"float64 left as it is: {group.describe()} meet in one op, and {why}; making "
                          f"only the others float32 would mix float32 and float64 (tf ops do not promote), so nothing "
                          f"was changed: {way_out}")
                continue
            met = f"; their values meet in one op, so all {len(group.producers)} change together" \
                if len(group.producers) > 1 else ""
            site = self._site(group.producers[0].node, f"float64 -> float32: {group.describe()}{met}", Safety.UNSAFE)
            if site is not None and self.select(site):
                self._accepted.update(id(p.node) for p in group.producers)

    def _producer(self, original: cst.CSTNode) -> Producer | None:
        if id(original) not in self._accepted:
            return None
        return next(p for p in self.flow.group_of[id(original)].producers if p.node is original)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        producer = self._producer(original)
        return updated if producer is None else updated.with_changes(attr=cst.Name("float32"))

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        producer = self._producer(original)
        if producer is None:
            return updated
        quote = updated.value[-1]
        return updated.with_changes(value=f"{updated.prefix}{quote}float32{quote}")

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        # A builtin ``float`` as a dtype: every library here reads the string.
        return updated if self._producer(original) is None else cst.SimpleString('"float32"')

    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation) -> cst.BaseExpression:
        producer = self._producer(original)
        if producer is None:
            return updated
        tf, imports = self.tf()
        self.imports.extend(imports)
        sides = [updated.left, updated.right]
        for index in producer.literal_args:
            sides[index] = self._cast(tf, sides[index])
        return updated.with_changes(left=sides[0], right=sides[1])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        producer = self._producer(original)
        if producer is None:
            return updated
        module = module_of(original)
        if producer.kind == "np_astype":
            dtype = cst.Attribute(module, cst.Name("float32")) if module is not None else cst.SimpleString('"float32"')
            return cst.Call(cst.Attribute(updated, cst.Name("astype")), [cst.Arg(dtype)])
        if producer.kind == "add_dtype":
            return with_keyword(updated, "dtype", self._float32(module))
        if producer.kind == "wrap":
            if module is None:
                tf, imports = self.tf()
                self.imports.extend(imports)
                return self._cast(tf, updated)
            return cst.Call(cst.Attribute(module, cst.Name("asarray")),
                            [cst.Arg(updated, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                             kwarg("dtype", cst.Attribute(module, cst.Name("float32")))])
        # literal_args: the Python-float data becomes a float32 array; the tnp call stays.
        args = list(updated.args)
        for index in producer.literal_args:
            literal = args[index].value
            if module is None:
                tf, imports = self.tf()
                self.imports.extend(imports)
                wrapped = cst.Call(cst.Attribute(cst.Name(tf), cst.Name("constant")),
                                   [cst.Arg(literal, comma=_COMMA), kwarg("dtype", cst.Attribute(cst.Name(tf), cst.Name("float32")))])
            else:
                wrapped = cst.Call(cst.Attribute(module, cst.Name("asarray")),
                                   [cst.Arg(literal, comma=_COMMA), kwarg("dtype", cst.Attribute(module, cst.Name("float32")))])
            args[index] = args[index].with_changes(value=wrapped)
        return updated.with_changes(args=args)

    def _float32(self, module: cst.BaseExpression | None) -> cst.BaseExpression:
        """float32 spelled through the call's own module (tnp.float32, np.float32), or tf.float32 for a from-import."""
        if module is not None:
            return cst.Attribute(module, cst.Name("float32"))
        tf, imports = self.tf()
        self.imports.extend(imports)
        return cst.Attribute(cst.Name(tf), cst.Name("float32"))

    @staticmethod
    def _cast(tf: str, expr: cst.BaseExpression) -> cst.Call:
        return cst.Call(cst.Attribute(cst.Name(tf), cst.Name("cast")),
                        [cst.Arg(expr, comma=_COMMA), cst.Arg(cst.Attribute(cst.Name(tf), cst.Name("float32")))])


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


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
