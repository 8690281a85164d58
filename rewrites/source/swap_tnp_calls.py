"""swap_tnp_calls: tf.experimental.numpy calls -> their tf.math / tf equivalents."""

from __future__ import annotations

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, NewImport, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import dotted, with_keyword
from rewrites.source._float64_flow import Group, GroupDecider

# tnp function -> (tf function, keyword renames, tnp keywords that have no tf equivalent: leave the call alone).
_SAME = {"keepdims": "keepdims"}
_REDUCE = ({"a": "input_tensor", **_SAME}, frozenset({"dtype", "out", "initial", "where", "ddof"}))
_UNARY = {
    "abs": "math.abs", "absolute": "math.abs", "exp": "math.exp", "log": "math.log", "sqrt": "math.sqrt",
    "tanh": "math.tanh", "sin": "math.sin", "cos": "math.cos", "tan": "math.tan", "arcsin": "math.asin",
    "arccos": "math.acos", "arctan": "math.atan", "sinh": "math.sinh", "cosh": "math.cosh", "arcsinh": "math.asinh",
    "arccosh": "math.acosh", "arctanh": "math.atanh", "floor": "math.floor", "ceil": "math.ceil",
    "negative": "math.negative", "reciprocal": "math.reciprocal", "square": "math.square", "sign": "math.sign",
    "log1p": "math.log1p", "expm1": "math.expm1",
}
_BINARY = {
    "add": "math.add", "subtract": "math.subtract", "multiply": "math.multiply", "divide": "math.truediv",
    "true_divide": "math.truediv", "maximum": "math.maximum", "minimum": "math.minimum", "power": "math.pow",
    "arctan2": "math.atan2", "matmul": "linalg.matmul",
}
_REDUCTIONS = {
    "sum": "math.reduce_sum", "mean": "math.reduce_mean", "max": "math.reduce_max", "amax": "math.reduce_max",
    "min": "math.reduce_min", "amin": "math.reduce_min", "prod": "math.reduce_prod", "all": "math.reduce_all",
    "any": "math.reduce_any", "std": "math.reduce_std", "var": "math.reduce_variance",
}
# name -> (tf path, keyword renames, keywords that block the swap, keywords that must be given)
TABLE: dict[str, tuple[str, dict[str, str], frozenset[str], frozenset[str]]] = {
    **{k: (v, {}, frozenset({"out", "where", "dtype"}), frozenset()) for k, v in {**_UNARY, **_BINARY}.items()},
    **{k: (v, _REDUCE[0], _REDUCE[1], frozenset()) for k, v in _REDUCTIONS.items()},
    "reshape": ("reshape", {"a": "tensor", "newshape": "shape"}, frozenset({"order"}), frozenset()),
    "transpose": ("transpose", {"axes": "perm"}, frozenset(), frozenset()),
    "expand_dims": ("expand_dims", {"a": "input"}, frozenset(), frozenset()),
    "squeeze": ("squeeze", {"a": "input"}, frozenset(), frozenset()),
    "stack": ("stack", {"arrays": "values"}, frozenset({"out"}), frozenset()),
    "where": ("where", {}, frozenset(), frozenset()),
    "clip": ("clip_by_value", {"a": "t", "a_min": "clip_value_min", "a_max": "clip_value_max"}, frozenset({"out"}), frozenset()),
    # numpy's default axis=None flattens; tf's default is axis 0: swap only when the axis is given.
    "cumsum": ("math.cumsum", {"a": "x"}, frozenset({"dtype", "out"}), frozenset({"axis"})),
    "argmax": ("math.argmax", {"a": "input"}, frozenset({"out"}), frozenset({"axis"})),
    "argmin": ("math.argmin", {"a": "input"}, frozenset({"out"}), frozenset({"axis"})),
    "concatenate": ("concat", {"arrays": "values"}, frozenset({"out", "dtype"}), frozenset()),
}
_DATA_KEYWORDS = frozenset({"a", "x", "y", "x1", "x2", "arrays", "a_min", "a_max", "condition"})
# Positional index of the axis argument, for the "must be given" check.
_AXIS_POSITION = {"cumsum": 1, "argmax": 1, "argmin": 1}


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation):
        expr = expr.expression
    return isinstance(expr, (cst.Float, cst.Integer))


def _is_literal(expr: cst.BaseExpression) -> bool:
    """A Python number, or a list/tuple of them: data that tnp turns into float64 (int64 for integers)."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        return bool(expr.elements) and all(_is_number(e.value) or _is_literal(e.value) for e in expr.elements)
    return _is_number(expr)


def _data_positions(short: str, call: cst.Call) -> list[int]:
    """Positions in ``call.args`` of the arguments that carry data (not axes or shapes)."""
    arity = 2 if short in _BINARY else 3 if short in ("where", "clip") else 1
    positional = [i for i, a in enumerate(call.args) if a.keyword is None][:arity]
    return positional + [i for i, a in enumerate(call.args) if a.keyword is not None and a.keyword.value in _DATA_KEYWORDS]


def _swappable(short: str, call: cst.Call) -> bool:
    """Whether the tf op computes what the tnp call does, argument for argument (NumPy defaults that differ, dtype=,
    out= and *args keep the call)."""
    _, _, blockers, required = TABLE[short]
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    if keywords & blockers or any(a.star for a in call.args):
        return False
    return not (required and not (keywords & required) and len(call.args) <= _AXIS_POSITION.get(short, 99))


def data_args(short: str, call: cst.Call) -> tuple[list[int], bool] | None:
    """For the float64 analysis: the data arguments of a tnp call this rewrite knows, and whether it can swap it."""
    if short not in TABLE:
        return None
    return _data_positions(short, call), _swappable(short, call)


def _head(expr: cst.BaseExpression) -> str | None:
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


class _Swap(GroupDecider):
    # Float64 decided per data flow: a group of tnp calls on Python floats (and nothing else that is float64)
    # is swapped all together or not at all, as one site, decided where the file first reaches it.
    partner = "explicit_float32"
    data_args = staticmethod(data_args)

    def decide(self, node: cst.CSTNode, group: Group) -> None:
        calls = ", ".join(dict.fromkeys(p.label.rsplit(" ", 1)[-1] for p in group.producers))
        met = f"; their values meet in one op, so all {len(group.producers)} change together" \
            if len(group.producers) > 1 else ""
        site = self._site(node, f"{calls} on Python floats -> tf ops (float64 in tnp, float32 in tf): "
                          f"{group.describe()}{met}", Safety.UNSAFE)
        if site is not None and self.select(site):
            self._accepted.update(id(p.node) for p in group.producers)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = self.names.qualify(original.func)
        if not name or not name.startswith("tensorflow.experimental.numpy."):
            return updated
        short = name.rsplit(".", 1)[1]
        if short not in TABLE or not _swappable(short, original):
            return updated
        replacement, imports, head = self._swapped(short, updated)
        if id(original) in self.flow.group_of:  # a float64 producer: decided with its group
            if id(original) not in self._accepted:
                return updated
            self.imports.extend(imports)
            if head is not None and head in self.names.statement:
                self.drop_if_unused.append(self.names.statement[head])
            return replacement
        data = [original.args[i].value for i in _data_positions(short, original)]
        if any(_is_literal(v) for v in data) and all(_is_literal(v) for v in data):
            return updated  # integers only: tnp makes int64 (or float64 for exp/sqrt...), tf int32 or an error
        if any(_is_literal(v) and not _is_number(v) for v in data):
            return updated  # an integer list next to a tensor: int64 in tnp, which promotes; tf keeps the tensor's type
        if short in ("stack", "concatenate") and data and isinstance(data[0], (cst.List, cst.Tuple)):
            data = [e.value for e in data[0].elements]  # each array of the sequence is an operand
        if len(data) > 1 and (self.flow.groups or any(self.flow.touches(v) for v in data)):
            # tnp promotes mixed operands, tf ops do not: while the file still makes float64, a swap could turn
            # float64-meets-float32 into a TypeError. Once its producers are float32 (explicit_float32, this
            # rewrite's own group sites), the next round swaps it.
            return updated
        return self.edit(original, updated, replacement, f"tnp.{short} -> tf.{TABLE[short][0]}", safety=Safety.SAFE,
                         imports=imports, replaces=head)

    def _swapped(self, short: str, updated: cst.Call) -> tuple[cst.Call, list[NewImport], str | None]:
        """The tf call for a tnp call, the import it needs and the tnp name it stops using."""
        target, renames, _, _ = TABLE[short]
        keywords = {a.keyword.value for a in updated.args if a.keyword is not None}
        args = [a.with_changes(keyword=cst.Name(renames[a.keyword.value])) if a.keyword is not None and a.keyword.value in renames
                else a for a in updated.args]
        tf, imports = self.tf()
        replacement = updated.with_changes(func=dotted(tf, target), args=args)
        if short == "concatenate" and "axis" not in keywords and len(args) < 2:  # numpy's default axis is 0; tf.concat has none
            replacement = with_keyword(replacement, "axis", cst.Integer("0"))
        head = _head(updated.func)
        return replacement, imports, head if head != tf else None


class SwapTnpCalls(SourceRewrite):
    """Replace tf.experimental.numpy calls by the tf.math / tf ops they stand for.

    What it fixes:
        Model code written against tf.experimental.numpy (tnp). tnp follows NumPy's type promotion, so
        a call on Python float data (`tnp.exp([0.1, 0.2])`, `tnp.subtract(x, [0.5, 1.5])`, `tnp.sqrt(2.0)`)
        computes in float64, which TFLite runs only as Flex ops; the plain tf op computes in float32. The
        tnp import is removed once nothing uses it.
    Why it fails:
        docs/facts.md section 3: most tnp calls convert fine on float32 tensors; what fails is float64 leaking
        in (Flex AddV2/Mul on f64). Writing the tf op states the dtype and removes the NumPy layer. But tnp
        ops promote mixed operands and tf ops do not: measured on TF 2.21, `tf.linalg.matmul(tnp.eye(3), x)`
        and `tf.math.multiply(tnp.eye(3), x)` raise (float64 meets float32) where the tnp calls promoted. So
        the float64 decisions are taken per data-flow group, shared with explicit_float32
        (rewrites/source/_float64_flow.py, documented in `repair rewrites explicit_float32`): the calls on
        Python floats whose values meet in one op are swapped together as one site, and only when nothing else
        in their group is float64 (otherwise explicit_float32 owns the group).
    Safety:
        safe for a call on tensors that cannot meet float64: a one-operand call (tanh, sum, reshape ...)
        always; a call with several operands (matmul, add, where, stack, concatenate ...) only once the file
        makes no float64 any more (while it does, it is left for a later round, after explicit_float32).
        unsafe for a group of calls on Python floats (tnp computes them in float64, tf in float32). Calls whose
        NumPy defaults differ from tf's (cumsum/argmax without an axis), that pass dtype=/out=, or whose data
        are only Python integers (int64 in tnp, int32 or an error in tf) are left alone. Limits: a float64
        value the analysis does not see (from another file, a caller's argument) can still meet a swapped
        several-operand call.
    References:
        docs/facts.md section 3 and section 9.1; the model-level counterpart is compute_in_float32.
    """

    id = "swap_tnp_calls"
    title = "tf.experimental.numpy calls -> tf.math / tf equivalents"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.FLOAT64_OPS, FindingKind.NEEDS_FLEX_OPS})
    model_rewrite = "compute_in_float32"
    triggers = ("experimental",)  # tnp is only reachable through tensorflow.experimental
    modules = ("tensorflow.experimental.numpy",)
    examples = (
        Example(
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n"
            "def f(x):\n    return tnp.tanh(x) + tnp.sum(x, axis=1, keepdims=True)\n",
            "import tensorflow as tf\n\n"
            "def f(x):\n    return tf.math.tanh(x) + tf.math.reduce_sum(x, axis=1, keepdims=True)\n",
        ),
        Example(
            "from tensorflow.experimental import numpy as np2\n\n"
            "y = np2.reshape(x, newshape=(-1, 4))  # comments stay\n",
            "import tensorflow as tf\n\n"
            "y = tf.reshape(x, shape=(-1, 4))  # comments stay\n",
        ),
        Example(
            "import tensorflow as tf\n\ny = tf.experimental.numpy.concatenate([a, b])\n",
            "import tensorflow as tf\n\ny = tf.concat([a, b], axis=0)\n",
        ),
        Example(
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\ny = tnp.exp([0.5, 1.0])\n",
            "import tensorflow as tf\n\ny = tf.math.exp([0.5, 1.0])\n",
            unsafe=True,
        ),
        Example(  # the tnp import stays while something still uses it
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\ny = tnp.roll(tnp.abs(x), 1)\n",
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\ny = tnp.roll(tf.math.abs(x), 1)\n",
        ),
        Example(  # one group: both calls on Python floats meet in the multiply; swapped together, then the multiply
            "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\n\n"
            "def f(x):\n    centered = tnp.subtract(x, [0.5, 1.5])\n    scale = tnp.exp([0.1, 0.2])\n"
            "    return tnp.multiply(centered, scale)\n",
            "import tensorflow as tf\n\n\n"
            "def f(x):\n    centered = tf.math.subtract(x, [0.5, 1.5])\n    scale = tf.math.exp([0.1, 0.2])\n"
            "    return tf.math.multiply(centered, scale)\n",
            unsafe=True,
        ),
        Example(  # the matmul waits: tnp.eye is float64 (explicit_float32's), and tf.linalg.matmul would not promote
            "import tensorflow.experimental.numpy as tnp\n\n\ndef f(x):\n    return tnp.tanh(tnp.matmul(x, tnp.eye(3)))\n",
            "import tensorflow.experimental.numpy as tnp\nimport tensorflow as tf\n\n\n"
            "def f(x):\n    return tf.math.tanh(tnp.matmul(x, tnp.eye(3)))\n",
        ),
        # Left alone: numpy's axis=None flattens, tf's default is axis 0; dtype= has no tf equivalent;
        # plain numpy is not tnp; an ignore comment opts a line out.
        Example("import tensorflow.experimental.numpy as tnp\n\ny = tnp.cumsum(x)\nz = tnp.sum(x, dtype=tnp.float64)\n"),
        Example("import numpy as tnp\n\ny = tnp.tanh(x)\n"),
        Example("import tensorflow.experimental.numpy as tnp\n\ny = tnp.tanh(x)  # repair: ignore\n"),
        Example("import tensorflow.experimental.numpy as tnp\n\ny = tnp.roll(x, 1)\nz = tnp.exp([1, 2])\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Swap(self, ctx, select)
