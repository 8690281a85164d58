"""unroll_tf_range_loop: `for i in tf.range(N):` with a constant N -> `for i in range(N):` (unrolled at trace time)."""

from __future__ import annotations

import re

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source.unroll_while_loop import _MAX_TRIPS, _NEEDS_TENSOR, _Bindings, _names, _qualified, static_int

_RANGE = "tensorflow.range"
# ``for ... in tf.range(`` (or an alias such as ``tf_range(``) on one line: the only form the rewrite edits;
# ``range`` alone is Python's.
_FOR_RANGE = re.compile(r"\bfor\b[^\n#]*\bin\s+[\w.]+range\(")
_SET_LOOP_OPTIONS = "tensorflow.autograph.experimental.set_loop_options"
# A Python int counter becomes int32 where ops convert it, as tf.range's default: an int64 counter would not.
_INT_DTYPES = frozenset({"tensorflow.int32"})
_RANGE_PARAMS = ("start", "limit", "delta")


class _Exits(cst.CSTVisitor):
    """Whether a loop body leaves the loop early (break, continue or return), not counting nested defs and loops'
    own break/continue."""

    def __init__(self) -> None:
        self.found = ""
        self._loops = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_For(self, node: cst.For) -> None:
        self._loops += 1

    def leave_For(self, original_node: cst.For) -> None:
        self._loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._loops += 1

    def leave_While(self, original_node: cst.While) -> None:
        self._loops -= 1

    def visit_Break(self, node: cst.Break) -> None:
        self.found = self.found or ("" if self._loops else "break")

    def visit_Continue(self, node: cst.Continue) -> None:
        self.found = self.found or ("" if self._loops else "continue")

    def visit_Return(self, node: cst.Return) -> None:
        self.found = self.found or "return"


def early_exit(body: cst.BaseSuite) -> str:
    """``break``, ``continue`` or ``return`` if the loop body can leave its loop early, else ``""``."""
    look = _Exits()
    body.visit(look)
    return look.found


def counter_needs_tensor(names: Names, body: cst.CSTNode, counter: str) -> str:
    """Why a counter that becomes a Python int would change what the body computes ("" when it would not):
    an attribute read (``i.dtype``), true division (int32 tensor / int gives float64, a Python int float32),
    or tf.cond/case/switch_case (a Python bool is refused)."""
    found = ""

    class Look(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            if isinstance(node.value, cst.Name) and node.value.value == counter:
                found = found or f"the body reads `{counter}.{node.attr.value}`"

        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            nonlocal found
            if isinstance(node.operator, cst.Divide) and counter in _names(node.left) | _names(node.right):
                found = found or f"the body divides with `{counter}` (int32 tensor / int is float64)"

        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            if _qualified(names, node.func) in _NEEDS_TENSOR and counter in _names(node):
                found = found or f"`{counter}` reaches tf.cond/tf.case, which refuse a Python value"

    body.visit(Look())
    return found


class _Unroll(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.bindings = _Bindings()
        ctx.module.visit(self.bindings)

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.BaseStatement:
        call = original.iter
        if not isinstance(call, cst.Call) or _qualified(self.names, call.func) != _RANGE or original.asynchronous:
            return updated
        bounds = self._bounds(call)
        if isinstance(bounds, str):
            self.warn(original, f"for ... in tf.range(...) stays a WHILE loop: {bounds}")
            return updated
        why = self._why_not(original)
        if why:
            self.warn(original, f"for ... in tf.range(...) stays a WHILE loop: {why}")
            return updated
        trips = len(range(*bounds))
        new_iter = cst.Call(cst.Name("range"), [cst.Arg(self._spelled(call, bounds, k)) for k in self._kept(bounds)])
        new = updated.with_changes(iter=new_iter, body=_without_loop_options(self, updated.body))
        alias = call.func.value if isinstance(call.func, cst.Name) else None  # `from tensorflow import range as r`
        return self.edit(original, updated, new,
                         f"for ... in tf.range with a static trip count ({trips}) -> Python range loop unrolled at trace time",
                         replaces=alias)

    @staticmethod
    def _kept(bounds: tuple[int, int, int]) -> list[int]:
        """Which of (start, limit, delta) range() needs: range(limit), range(start, limit) or all three."""
        start, _, delta = bounds
        return [1] if (start, delta) == (0, 1) else [0, 1] if delta == 1 else [0, 1, 2]

    def _spelled(self, call: cst.Call, bounds: tuple[int, int, int], k: int) -> cst.BaseExpression:
        """The bound as the user wrote it when that is a Python int already (a literal or a module constant), else
        its value (``tf.constant(3)`` -> ``3``)."""
        wanted = _RANGE_PARAMS[k]
        positional = [a.value for a in call.args if a.keyword is None]
        order = ("limit",) if len(positional) == 1 else _RANGE_PARAMS
        written = dict(zip(order, positional))
        written.update({a.keyword.value: a.value for a in call.args if a.keyword is not None})
        expr = written.get(wanted)
        if isinstance(expr, (cst.Name, cst.Integer)) or (isinstance(expr, cst.UnaryOperation) and wanted != "limit"):
            return expr.with_changes(lpar=[], rpar=[]) if isinstance(expr, cst.Name) else expr
        value = bounds[k]
        return cst.Integer(str(value)) if value >= 0 else cst.UnaryOperation(cst.Minus(), cst.Integer(str(-value)))

    def _bounds(self, call: cst.Call) -> tuple[int, int, int] | str:
        """(start, limit, delta) when every one is a constant the code fixes; else why the trip count is not static."""
        values: dict[str, cst.BaseExpression] = {}
        positional = [a for a in call.args if a.keyword is None]
        if any(a.star for a in call.args) or len(positional) > 3:
            return "its arguments are not plain"
        order = ("limit",) if len(positional) == 1 else _RANGE_PARAMS
        values.update(zip(order, (a.value for a in positional)))
        for arg in call.args:
            if arg.keyword is not None:
                if arg.keyword.value == "dtype":
                    if _qualified(self.names, arg.value) not in _INT_DTYPES:
                        return "its counter is not int32 (a Python int converts to int32, not to its dtype)"
                elif arg.keyword.value in _RANGE_PARAMS:
                    values[arg.keyword.value] = arg.value
                elif arg.keyword.value != "name":
                    return f"it has `{arg.keyword.value}=`"
        if "limit" not in values:  # tf.range(start=N) counts to N, as range(N)
            if "start" not in values:
                return "it has no limit"
            values["limit"], values["start"] = values.pop("start"), cst.Integer("0")
        found = {k: static_int(self.names, self.bindings, v) for k, v in values.items()}
        start, limit, delta = found.get("start", 0), found.get("limit"), found.get("delta", 1)
        if start is None or limit is None or delta is None:
            unknown = next(k for k in _RANGE_PARAMS if k in found and found[k] is None)
            spelled = self.ctx.module.code_for_node(values[unknown])
            return (f"its {unknown} `{spelled}` is not a constant the source fixes (it may depend on the input); "
                    f"a Python range over a static size (e.g. x.shape[1]) unrolls it")
        if delta == 0 or not 1 <= len(range(start, limit, delta)) <= _MAX_TRIPS:
            return f"its trip count is not between 1 and {_MAX_TRIPS}"
        if self.bindings.count["range"]:
            return "the file rebinds `range`"
        return start, limit, delta

    def _why_not(self, loop: cst.For) -> str:
        if loop.orelse is not None:
            return "it has an else: clause"
        if not isinstance(loop.target, cst.Name):
            return "its target is not a plain name"
        exit_ = early_exit(loop.body)
        if exit_:
            return f"its body has `{exit_}`, so the number of steps depends on values"
        return counter_needs_tensor(self.names, loop.body, loop.target.value)


def _without_loop_options(transformer: _Unroll, body: cst.BaseSuite) -> cst.BaseSuite:
    """The loop body without its ``tf.autograph.experimental.set_loop_options(...)`` lines: they only configure the
    AutoGraph loop that is gone (``pass`` if nothing else is left)."""
    if not isinstance(body, cst.IndentedBlock):
        return body

    def loop_option(stmt: cst.BaseStatement) -> bool:
        return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr) \
            and isinstance(stmt.body[0].value, cst.Call) \
            and _qualified(transformer.names, stmt.body[0].value.func) == _SET_LOOP_OPTIONS

    kept = [s for s in body.body if not loop_option(s)]
    if len(kept) == len(body.body):
        return body
    first = body.body[0]
    if not kept:
        kept = [cst.SimpleStatementLine([cst.Pass()])]
    elif len(kept) < len(body.body) and isinstance(first, cst.SimpleStatementLine) and loop_option(first):
        kept[0] = kept[0].with_changes(leading_lines=first.leading_lines)  # a comment above the option stays
    return body.with_changes(body=kept)


class UnrollTfRangeLoop(SourceRewrite):
    """Unroll an AutoGraph `for i in tf.range(N):` loop whose trip count is a constant into a Python range loop.

    What it fixes:
        `for i in tf.range(N):` (also tf.range(start, limit[, delta]) and dtype=tf.int32) where every bound
        is an int literal, a module constant bound once to one, or tf.constant(<int literal>), at most 64 trips.
        AutoGraph turns it into a WHILE loop (docs/facts.md section 6: builtins-only, but blocking for delegates and
        micro runtimes, and 2x slower per invoke); a TensorArray written in it becomes TensorList ops that
        fail the builtins-only conversion unless every shape is static. It becomes `for i in range(N):`,
        unrolled when the function is traced, and its `tf.autograph.experimental.set_loop_options(...)` lines
        (they configure only the AutoGraph loop) are dropped. A TensorArray it writes is then a Python-loop
        TensorArray, which unroll_tensor_array_loop turns into a list + tf.stack.
    Why it fails:
        AutoGraph converts a loop over a tensor into tf.while_loop; the converter keeps it as a WHILE op with
        cond/body subgraphs (--target tflite-strict: blocking), and TensorList ops inside it need static
        element shapes.
    Safety:
        safe. The body runs the same number of times on the same values; the counter is a Python int instead
        of an int32 tensor, so a loop whose body reads an attribute of the counter (`i.dtype`), divides with
        it (int32 tensor / int is float64) or hands it to tf.cond/tf.case is left alone with a note, as are
        loops with break/continue/return (the step count depends on values), an else: clause, a bound that
        is not a constant the source fixes (it may depend on the input: a note says so) and more than 64 trips.
    References:
        docs/facts.md section 6 (autograph `for _ in tf.range(10)`: WHILE 1 / 9.9 us; python range: 0 WHILE / 4.5 us;
        TensorArray in a tf.range loop at batch None: TensorListReserve failure); measured in TF 2.21: a
        literal `tf.range(3)` still gives a WHILE. The model-level counterpart is unroll_static_loops.
    """

    id = "unroll_tf_range_loop"
    title = "for ... in tf.range(<constant>) -> Python range loop"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.WHILE_LOOP, FindingKind.TENSORLIST_LOOP})
    model_rewrite = "unroll_static_loops"
    triggers = ("range(",)
    modules = (_RANGE,)

    def could_match(self, text: str) -> bool:
        return _FOR_RANGE.search(text) is not None
    examples = (
        Example(
            "import tensorflow as tf\n\nSTEPS = 4\n\n\n@tf.function\ndef f(x, w):\n    for i in tf.range(STEPS):\n"
            "        tf.autograph.experimental.set_loop_options(shape_invariants=[(x, tf.TensorShape([None, 8]))])\n"
            "        x = tf.tanh(x @ w) + tf.cast(i, tf.float32)\n    return x\n",
            "import tensorflow as tf\n\nSTEPS = 4\n\n\n@tf.function\ndef f(x, w):\n    for i in range(STEPS):\n"
            "        x = tf.tanh(x @ w) + tf.cast(i, tf.float32)\n    return x\n",
        ),
        Example(
            "import tensorflow as tf\nfrom tensorflow import range as tf_range\n\n\ndef g(xs):\n    total = 0.0\n"
            "    for t in tf_range(1, tf.constant(7), 2, dtype=tf.int32):  # odd steps\n        total += xs[:, t]\n"
            "    return total\n",
            "import tensorflow as tf\n\n\ndef g(xs):\n    total = 0.0\n"
            "    for t in range(1, 7, 2):  # odd steps\n        total += xs[:, t]\n    return total\n",
        ),
        # Left alone with a note: a bound read from the input, a break, a counter handed to tf.cond.
        Example("import tensorflow as tf\n\n\ndef f(x):\n    for i in tf.range(tf.shape(x)[0]):\n        x = x * 2.0\n"
                "    return x\n", warns=1),
        Example("import tensorflow as tf\n\n\ndef f(x):\n    for i in tf.range(5):\n        if tf.reduce_sum(x) > 3.0:\n"
                "            break\n        x = x * 2.0\n    for j in tf.range(5):\n"
                "        x = tf.cond(j > 2, lambda: x, lambda: x + 1.0)\n    return x\n", warns=2),
        Example("import tensorflow as tf\n\n\ndef f(ids):\n    for k in tf.range(3, dtype=tf.int64):\n"
                "        ids = tf.concat([ids, [k]], 0)\n    return ids\n", warns=1),
        # Left alone: not TensorFlow's range; opted out.
        Example("import numpy as np\n\nfor i in np.range(3):\n    pass\n"),
        Example("import tensorflow as tf\n\nfor i in tf.range(3):  # repair: ignore\n    print(i)\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Unroll(self, ctx, select)
