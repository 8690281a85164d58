"""unroll_tensor_array_loop: a tf.TensorArray filled in a Python loop (or by in-order writes) -> a list + tf.stack."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source.unroll_tf_range_loop import early_exit
from rewrites.source.unroll_while_loop import _Bindings, _bound_names, _int, _qualified, static_int

_TENSOR_ARRAY = "tensorflow.TensorArray"
# What the list form reads in place of each TensorArray method (their only arguments: see _consumer_args).
_CONSUMERS = frozenset({"stack", "concat", "read", "gather", "size"})
# tf.TensorArray(dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None, handle=None,
# flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True, name=None)
_PARAMS = ("dtype", "size", "dynamic_size")
_IGNORED = frozenset({"clear_after_read", "infer_shape", "element_shape", "colocate_with_first_write_call", "name"})


def _ta_call(names: object, expr: cst.BaseExpression) -> cst.Call | None:
    if isinstance(expr, cst.Call) and _qualified(names, expr.func) == _TENSOR_ARRAY:  # type: ignore[arg-type]
        return expr
    return None


def _write(name: str, expr: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(index, value) of ``name.write(index, value)`` (optionally ``.mark_used()``), else None."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "mark_used" \
            and not expr.args:
        expr = expr.func.value
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "write"
            and isinstance(expr.func.value, cst.Name) and expr.func.value.value == name):
        return None
    found: dict[str, cst.BaseExpression] = {}
    for position, arg in enumerate(expr.args):
        if arg.star or (arg.keyword is None and position > 1):
            return None
        key = arg.keyword.value if arg.keyword is not None else ("index", "value")[position]
        found[key] = arg.value
    if set(found) != {"index", "value"}:
        return None
    return found["index"], found["value"]


def _consumer(name: str, node: cst.Call) -> str | None:
    """The method of ``name.<method>(...)`` when it is one the list form can answer with these arguments."""
    func = node.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name):
        return None
    method = func.attr.value
    if method not in _CONSUMERS or any(a.star for a in node.args):
        return None
    positional = [a for a in node.args if a.keyword is None]
    keywords = {a.keyword.value for a in node.args if a.keyword is not None}
    if method in ("stack", "concat", "size"):
        return method if not positional and keywords <= {"name"} else None
    return method if len(positional) == 1 and not keywords else None  # read(index) / gather(indices)


@dataclass
class _Use:
    node: cst.CSTNode
    top: int  # index of the function's top-level statement it is in


class _Uses(cst.CSTVisitor):
    """Every use of one TensorArray name in a function, sorted into creations, writes, reads and anything else."""

    def __init__(self, name: str, names: object) -> None:
        self.name, self.names = name, names
        self.top = 0
        self.creations: list[_Use] = []  # statement lines
        self.writes: list[_Use] = []  # statement lines
        self.consumers: list[tuple[_Use, str]] = []  # calls, with the method
        self.other: list[_Use] = []

    def _nested(self, node: cst.CSTNode) -> bool:
        from rewrites.source.unroll_while_loop import _names

        if self.name in _names(node):
            self.other.append(_Use(node, self.top))
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._nested(node)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return self._nested(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._nested(node)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        if len(node.body) != 1:
            return True
        small = node.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name) \
                and small.targets[0].target.value == self.name:
            if (call := _ta_call(self.names, small.value)) is not None:
                self.creations.append(_Use(node, self.top))
                call.visit(self)
            elif (found := _write(self.name, small.value)) is not None:
                self.writes.append(_Use(node, self.top))
                found[0].visit(self)
                found[1].visit(self)
            else:
                self.other.append(_Use(node, self.top))
            return False
        if isinstance(small, cst.Expr) and (found := _write(self.name, small.value)) is not None:
            self.writes.append(_Use(node, self.top))
            found[0].visit(self)
            found[1].visit(self)
            return False
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        method = _consumer(self.name, node)
        if method is None:
            return True
        self.consumers.append((_Use(node, self.top), method))
        for arg in node.args:
            arg.value.visit(self)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Call) and _consumer(self.name, node.value) == "size":
            self.other.append(_Use(node, self.top))  # `ta.size().numpy()`: len() gives a Python int
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.other.append(_Use(node, self.top))


@dataclass(frozen=True)
class _Plan:
    name: str
    dtype: cst.BaseExpression
    steps: str  # for the message


def _literal(expr: cst.BaseExpression) -> bool:
    """A Python number or a list/tuple of them: TensorArray.write converts it to the array's dtype."""
    if isinstance(expr, (cst.Integer, cst.Float)):
        return True
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        return _literal(expr.expression)
    if isinstance(expr, (cst.List, cst.Tuple)):
        return all(isinstance(e, cst.Element) and _literal(e.value) for e in expr.elements)
    return False


class _ToList(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.bindings = _Bindings()
        ctx.module.visit(self.bindings)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        for line, name in self._creations(original):
            if name is None:
                self.warn(line, "tf.TensorArray stays a TensorList: it is not bound to a plain local name")
                continue
            plan = self._plan(original, name)
            if isinstance(plan, str):
                self.warn(line, f"tf.TensorArray `{name}` stays a TensorList (TensorListReserve/SetItem/Stack, "
                                f"which the builtins-only converter lowers only with static shapes): {plan}")
                continue
            tf, imports = self.tf()
            # _Apply changes statements inside the def, never the def itself: the result is a FunctionDef.
            new = cst.ensure_type(updated.visit(_Apply(plan, tf, self.names)), cst.FunctionDef)
            message = (f"tf.TensorArray `{name}` filled {plan.steps} -> a Python list + tf.stack "
                       f"(no TensorList ops)")
            updated = self.edit(line, updated, new, message, imports=imports)
        return updated

    def _creations(self, fn: cst.FunctionDef) -> list[tuple[cst.SimpleStatementLine, str | None]]:
        """Statement lines of ``fn`` (not of nested defs) that create a TensorArray, with the name they bind."""
        found: list[tuple[cst.SimpleStatementLine, str | None]] = []
        names = self.names

        class Look(cst.CSTVisitor):
            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return node is fn

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

            def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
                if len(node.body) == 1 and isinstance(node.body[0], cst.Assign) \
                        and _ta_call(names, node.body[0].value) is not None:
                    targets = node.body[0].targets
                    single = len(targets) == 1 and isinstance(targets[0].target, cst.Name)
                    found.append((node, targets[0].target.value if single else None))  # type: ignore[attr-defined]

        fn.visit(Look())
        return found

    def _plan(self, fn: cst.FunctionDef, name: str) -> _Plan | str:
        if not isinstance(fn.body, cst.IndentedBlock):
            return "the function body is one line"
        if name in {p.name.value for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params)}:
            return "the name is also a parameter"
        uses = _Uses(name, self.names)
        top = list(fn.body.body)
        for index, stmt in enumerate(top):
            uses.top = index
            stmt.visit(uses)
        if uses.other:
            use = uses.other[0].node
            what = self.ctx.module.code_for_node(use).strip().splitlines()[0][:80]
            return (f"it is used as a value (`{what}`: a tf.while_loop loop variable, an argument or a return value), "
                    f"so its writes are not all in one straight line")
        if len(uses.creations) != 1 or not any(s is uses.creations[0].node for s in top):
            return "it is created more than once or inside a nested block"
        creation = uses.creations[0]
        call = _ta_call(self.names, creation.node.body[0].value)  # type: ignore[attr-defined]
        assert call is not None
        args = self._arguments(call)
        if isinstance(args, str):
            return args
        if "dtype" not in args:
            return "it has no dtype"
        if not uses.writes:
            return "nothing writes it"
        if any(w.top <= creation.top for w in uses.writes) or any(u.top < creation.top for u, _ in uses.consumers):
            return "it is used before it is created"
        counted = self._count(top, uses)
        if isinstance(counted, str):
            return counted
        count, last, steps = counted
        if any(u.top < last or (u.top == last and method != "read") for u, method in uses.consumers):
            return "it is read before every write is done (only .read may run inside the loop)"
        dynamic = args.get("dynamic_size")
        if dynamic is not None and not (isinstance(dynamic, cst.Name) and dynamic.value in ("True", "False")):
            return "its dynamic_size is not a literal"
        size = args.get("size")
        if size is None:
            return "it has no size"
        if isinstance(dynamic, cst.Name) and dynamic.value == "True":
            initial = static_int(self.names, self.bindings, size)
            if initial is None or not isinstance(count, int) or initial > count:
                return "its initial size is larger than the number of writes (stack would add zeros)"
        else:
            known = static_int(self.names, self.bindings, size)
            same = known == count if isinstance(count, int) and known is not None else \
                self.ctx.module.code_for_node(size) == count
            if not same:
                return f"its size `{self.ctx.module.code_for_node(size)}` is not the number of writes"
        return _Plan(name, args["dtype"], steps)

    def _arguments(self, call: cst.Call) -> dict[str, cst.BaseExpression] | str:
        found: dict[str, cst.BaseExpression] = {}
        for position, arg in enumerate(call.args):
            if arg.star or (arg.keyword is None and position >= len(_PARAMS)):
                return "its arguments are not plain"
            key = arg.keyword.value if arg.keyword is not None else _PARAMS[position]
            if key not in _PARAMS and key not in _IGNORED:
                return f"it has `{key}=`"
            if key in _PARAMS:
                found[key] = arg.value
        return found

    def _count(self, top: list[cst.BaseStatement], uses: _Uses) -> tuple[int | str, int, str] | str:
        """(number of writes, top-level index of the last, how) when the writes fill indices 0, 1, ... in order: each
        a top-level statement with the next literal index, or one write per step of a Python ``for i in range(N)``
        loop, indexed by ``i``. The number is an int, or the code of N when only the trace knows it (``x.shape[1]``)."""
        lines = [w.node for w in uses.writes]
        if all(any(s is line for s in top) for line in lines):
            for k, line in enumerate(lines):
                index = _write(uses.name, _value(line))
                if index is None or _int(index[0]) != k:
                    return "its writes are not at indices 0, 1, 2 ... in order"
            return len(lines), uses.writes[-1].top, f"by {len(lines)} writes"
        if len(lines) != 1:
            return "it is written more than once per step"
        loop = top[uses.writes[0].top]
        if not (isinstance(loop, cst.For) and isinstance(loop.body, cst.IndentedBlock)
                and any(s is lines[0] for s in loop.body.body)):
            return "its write is not a direct statement of a Python for loop (it may be skipped or repeated)"
        if loop.orelse is not None or not isinstance(loop.target, cst.Name) or loop.asynchronous is not None:
            return "its loop is not a plain `for i in range(N)`"
        counter = loop.target.value
        index = _write(uses.name, _value(lines[0]))
        if index is None or not (isinstance(index[0], cst.Name) and index[0].value == counter):
            return f"its write index is not the loop counter `{counter}`"
        exit_ = early_exit(loop.body)
        if exit_:
            return f"its loop has `{exit_}`, so the number of writes depends on values"
        rebound = _Rebinds(counter)
        loop.body.visit(rebound)
        if rebound.found:
            return f"the loop rebinds `{counter}`"
        limit = self._range_limit(loop.iter)
        if limit is None:
            spelled = self.ctx.module.code_for_node(loop.iter)
            return (f"its loop `for {counter} in {spelled}` is not a Python range(N) over a size the trace knows "
                    f"(a tensor bound makes AutoGraph build a WHILE loop)")
        return limit, uses.writes[0].top, f"in a {limit}-step Python loop"

    def _range_limit(self, expr: cst.BaseExpression) -> int | str | None:
        """N of ``range(N)`` / ``range(0, N)`` when N is a Python int at trace time: a constant (as an int), or
        ``len(...)`` / ``x.shape[k]`` (as its code)."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "range"):
            return None
        if self.bindings.count["range"] or any(a.keyword is not None or a.star for a in expr.args):
            return None
        args = [a.value for a in expr.args]
        if len(args) == 2 and _int(args[0]) == 0:
            args = args[1:]
        if len(args) != 1:
            return None
        limit = args[0]
        known = static_int(self.names, self.bindings, limit)
        if known is not None:
            return known if known >= 1 else None
        if isinstance(limit, cst.Call) and _qualified(self.names, limit.func) == "tensorflow.constant":
            return None  # a tensor: AutoGraph turns range(tensor) into tf.range
        static_shape = isinstance(limit, cst.Subscript) and isinstance(limit.value, cst.Attribute) \
            and limit.value.attr.value == "shape"
        length = isinstance(limit, cst.Call) and isinstance(limit.func, cst.Name) and limit.func.value == "len" \
            and not self.bindings.count["len"]
        return self.ctx.module.code_for_node(limit) if static_shape or length else None


class _Rebinds(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name, self.found = name, False

    def visit_Assign(self, node: cst.Assign) -> None:
        self.found |= any(self.name in _bound_names(t.target) for t in node.targets)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.found |= self.name in _bound_names(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.found |= self.name in _bound_names(node.target)


def _value(line: cst.CSTNode) -> cst.BaseExpression:
    small = line.body[0]  # type: ignore[attr-defined]
    return small.value  # Assign or Expr


class _Apply(cst.CSTTransformer):
    """Rewrites every use of one TensorArray name that ``_ToList._plan`` proved are all of the list-able forms."""

    def __init__(self, plan: _Plan, tf: str, names: object) -> None:
        super().__init__()
        self.plan, self.tf, self.names = plan, tf, names
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1  # the function itself, not nested ones

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._depth -= 1
        return updated

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def _tf(self, attr: str) -> cst.Attribute:
        return cst.Attribute(cst.Name(self.tf), cst.Name(attr))

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
                                  ) -> cst.SimpleStatementLine:
        if len(updated.body) != 1:
            return updated
        small = updated.body[0]
        name = self.plan.name
        if not isinstance(small, (cst.Assign, cst.Expr)):
            return updated
        target_is_name = isinstance(small, cst.Assign) and len(small.targets) == 1 \
            and isinstance(small.targets[0].target, cst.Name) and small.targets[0].target.value == name
        if target_is_name and _ta_call(self.names, small.value) is not None:
            return updated.with_changes(body=[small.with_changes(value=cst.List([]))])
        if target_is_name or isinstance(small, cst.Expr):
            found = _write(name, small.value)
            if found is None:
                return updated
            value = found[1]
            if _literal(value):  # TensorArray.write converted it to the array's dtype; tf.stack would not
                value = cst.Call(self._tf("constant"), [cst.Arg(value), cst.Arg(self.plan.dtype, keyword=cst.Name("dtype"),
                                 equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))])
            append = cst.Call(cst.Attribute(cst.Name(name), cst.Name("append")), [cst.Arg(value)])
            return updated.with_changes(body=[cst.Expr(append)])
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        method = _consumer(self.plan.name, updated)
        if method is None:
            return updated
        name = cst.Name(self.plan.name)
        if method == "stack":
            return cst.Call(self._tf("stack"), [cst.Arg(name)])
        if method == "concat":
            return cst.Call(self._tf("concat"), [cst.Arg(name, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                                                 cst.Arg(cst.Integer("0"))])
        if method == "size":
            return cst.Call(cst.Name("len"), [cst.Arg(name)])
        index = updated.args[0].value
        if method == "read":
            return cst.Subscript(name, [cst.SubscriptElement(cst.Index(index))])
        stacked = cst.Call(self._tf("stack"), [cst.Arg(name)])  # gather
        return cst.Call(self._tf("gather"), [cst.Arg(stacked, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                                             cst.Arg(index)])


class UnrollTensorArrayLoop(SourceRewrite):
    """Replace a tf.TensorArray filled in a Python loop (or by in-order writes) with a Python list + tf.stack.

    What it fixes:
        In one function: `ta = tf.TensorArray(tf.float32, size=N)`, then exactly one `ta = ta.write(i, v)` (or
        `ta.write(i, v)`, `.mark_used()`) per step of a Python `for i in range(N):` loop, or top-level writes at
        literal indices 0, 1, 2 ..., then `ta.stack()` / `.concat()` / `.read(j)` / `.gather(idx)` / `.size()`.
        It becomes `ta = []`, `ta.append(v)`, `tf.stack(ta)` / `tf.concat(ta, 0)` / `ta[j]` /
        `tf.gather(tf.stack(ta), idx)` / `len(ta)`. A literal written value becomes `tf.constant(v, dtype=...)`
        (TensorArray.write converted it). N may be a constant, `len(...)` or `x.shape[k]`: all Python ints when
        the function is traced. A `for i in tf.range(N)` loop with a constant N is first turned into this form by
        unroll_tf_range_loop.
    Why it fails:
        Measured in TF 2.21: a TensorArray saves as TensorListReserve/SetItem/Stack even in a Python loop with
        no WHILE, and the builtins-only converter fails ("'tf.TensorListReserve' op requires element_shape to be
        static / 1D tensor", then "Lowering tensor list ops is failed"), at batch None and at a pinned batch of
        1 alike; in a tf.range loop it converts only when every shape is pinned, and then keeps a WHILE.
        The list is unrolled at trace time: plain ops, no TensorList, no WHILE.
    Safety:
        safe. The same values are stacked in the same order: the rewrite proves the writes fill indices 0..N-1
        once each (the index is the loop counter of a range(N) / range(0, N) loop without break, continue or
        return, or the next literal), that the size is N (or dynamic_size=True from a size no larger), and
        that nothing else touches the array. An array that is a tf.while_loop loop variable, passed to or
        returned from a function, written under a condition, in a loop over a tensor (AutoGraph makes a WHILE),
        or read (other than .read) before the writes end is left alone with a note saying why.
    References:
        docs/facts.md section 6 (TensorArray rows: builtins FAIL with TensorListReserve; python list + tf.stack: 0 WHILE,
        11 ops, 4.4 us); tensorflow/tensorflow#42181 (TensorArray cannot be converted with TFLiteConverter).
    """

    id = "unroll_tensor_array_loop"
    title = "tf.TensorArray written in a Python loop -> Python list + tf.stack"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.TENSORLIST_LOOP, FindingKind.WHILE_LOOP})
    triggers = ("TensorArray",)
    modules = (_TENSOR_ARRAY,)
    examples = (
        Example(
            "import tensorflow as tf\n\n\n@tf.function\ndef decode(h, w):\n"
            "    steps = tf.TensorArray(tf.float32, size=4, element_shape=[None, 8])\n"
            "    for i in range(4):\n        h = tf.tanh(h @ w)\n        steps = steps.write(i, h)  # one per step\n"
            "    return steps.stack(), steps.read(3), steps.size()\n",
            "import tensorflow as tf\n\n\n@tf.function\ndef decode(h, w):\n"
            "    steps = []\n"
            "    for i in range(4):\n        h = tf.tanh(h @ w)\n        steps.append(h)  # one per step\n"
            "    return tf.stack(steps), steps[3], len(steps)\n",
        ),
        Example(
            "import tensorflow as tf\n\n\nclass Cell(tf.keras.layers.Layer):\n    def call(self, x):\n"
            "        out = tf.TensorArray(dtype=tf.float32, size=x.shape[1], dynamic_size=False)\n"
            "        for t in range(x.shape[1]):\n            prev = out.read(t - 1) if t else x[:, 0]\n"
            "            out.write(t, prev * 0.5 + x[:, t]).mark_used()\n"
            "        return tf.transpose(out.stack(), [1, 0])\n",
            "import tensorflow as tf\n\n\nclass Cell(tf.keras.layers.Layer):\n    def call(self, x):\n"
            "        out = []\n"
            "        for t in range(x.shape[1]):\n            prev = out[t - 1] if t else x[:, 0]\n"
            "            out.append(prev * 0.5 + x[:, t])\n"
            "        return tf.transpose(tf.stack(out), [1, 0])\n",
        ),
        Example(
            "import tensorflow as tf\n\n\n@tf.function\ndef tensor_array():\n"
            "    outputs = tf.TensorArray(dtype=tf.int32, size=1, dynamic_size=True)\n"
            "    outputs = outputs.write(0, 1)\n    outputs = outputs.write(1, 2)\n"
            "    return outputs.gather(tf.range(outputs.size()))\n",
            "import tensorflow as tf\n\n\n@tf.function\ndef tensor_array():\n"
            "    outputs = []\n"
            "    outputs.append(tf.constant(1, dtype=tf.int32))\n    outputs.append(tf.constant(2, dtype=tf.int32))\n"
            "    return tf.gather(tf.stack(outputs), tf.range(len(outputs)))\n",
        ),
        # Left alone with a note: a tf.while_loop loop variable; a loop over a tensor; a write under a condition.
        Example("import tensorflow as tf\n\n\ndef f(x, n):\n    ta = tf.TensorArray(tf.float32, size=n)\n"
                "    _, ta = tf.while_loop(lambda i, ta: i < n, lambda i, ta: (i + 1, ta.write(i, x)), (0, ta))\n"
                "    return ta.stack()\n", warns=1),
        Example("import tensorflow as tf\n\n\ndef f(x):\n    ta = tf.TensorArray(tf.float32, size=tf.shape(x)[0])\n"
                "    for i in range(tf.shape(x)[0]):\n        ta = ta.write(i, x[i])\n    return ta.stack()\n", warns=1),
        Example("import tensorflow as tf\n\n\ndef f(x):\n    ta = tf.TensorArray(tf.float32, size=3)\n"
                "    for i in range(3):\n        if i > 0:\n            ta = ta.write(i, x)\n    return ta.stack()\n",
                warns=1),
        Example("import tensorflow as tf\n\n\ndef f(x):\n    ta = tf.TensorArray(tf.float32, size=2)\n"
                "    for i in range(2):\n        ta = ta.write(i, x)\n    return ta.stack(), ta.size().dtype\n", warns=1),
        # Left alone: opted out.
        Example("import tensorflow as tf\n\n\ndef f(x):\n    ta = tf.TensorArray(tf.float32, size=1)  # repair: ignore\n"
                "    ta = ta.write(0, x)\n    return ta.stack()\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _ToList(self, ctx, select)
