"""unroll_while_loop: `i, x = tf.while_loop(lambda i, x: i < N, ...)` with a constant trip count -> a Python for loop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer

# As the model-catalog unroll_static_loops: past this the unrolled graph costs more than the WHILE it removes.
_MAX_TRIPS = 64
# Keywords that do not change the values a loop computes.
_NEUTRAL = frozenset({"parallel_iterations", "back_prop", "swap_memory", "name"})
_REQUIRED = frozenset({"cond", "body", "loop_vars"})
_LESS = frozenset({"tensorflow.less", "tensorflow.math.less"})
# A Python bool where a tensor was: tf.cond refuses it, so a counter fed to these keeps the loop.
_NEEDS_TENSOR = frozenset({"tensorflow.cond", "tensorflow.case", "tensorflow.switch_case"})


def _qualified(names: Names, expr: cst.BaseExpression) -> str | None:
    """The qualified name of a plain dotted name; None for ``f(x).y`` or ``a[0].b``, which Names.qualify would name."""
    head = expr
    while isinstance(head, cst.Attribute):
        head = head.value
    return names.qualify(expr) if isinstance(head, cst.Name) else None


def _int(expr: cst.BaseExpression) -> int | None:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        value = _int(expr.expression)
        return None if value is None else -value
    if isinstance(expr, cst.Integer):
        value = expr.evaluated_value
        return value if isinstance(value, int) else None
    return None


def static_int(names: Names, bindings: _Bindings, expr: cst.BaseExpression) -> int | None:
    """A Python int the code fixes: an int literal, a module constant bound once to one, or tf.constant(<int literal>)."""
    if isinstance(expr, cst.Name) and bindings.count[expr.value] == 1:
        return bindings.constants.get(expr.value)
    if isinstance(expr, cst.Call) and _qualified(names, expr.func) == "tensorflow.constant":
        return _int(expr.args[0].value) if len(expr.args) == 1 and expr.args[0].keyword is None else None
    return _int(expr)


def _bound_names(target: cst.BaseExpression) -> list[str]:
    """The names an assignment target binds (``a.b`` and ``a[0]`` bind none)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _bound_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return []


class _Bindings(cst.CSTVisitor):
    """How often each name is bound anywhere in the file, module-level int constants, and plain defs (at module
    level or nested in a function or method: not methods themselves)."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.constants: dict[str, int] = {}
        self.defs: dict[str, cst.FunctionDef] = {}
        self._scopes: list[str] = []  # "class" / "def" around the current node

    def _bind(self, *names: str) -> None:
        self.count.update(names)

    def visit_Module(self, node: cst.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    target, value = small.targets[0].target.value, small.value
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                    target, value = small.target.value, small.value
                else:
                    continue
                if (number := _int(value)) is not None:
                    self.constants[target] = number

    def visit_Assign(self, node: cst.Assign) -> None:
        self._bind(*(n for t in node.targets for n in _bound_names(t.target)))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(*_bound_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(*_bound_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self._bind(*_bound_names(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(*_bound_names(node.target))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(*_bound_names(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:  # import ... as, with ... as, except ... as
        self._bind(*_bound_names(node.name))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self._bind((get_full_name_for_node(node.name) or "").split(".")[0])

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name.value)

    def visit_Global(self, node: cst.Global) -> None:
        self._bind(*(n.name.value for n in node.names))

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._bind(*(n.name.value for n in node.names))

    def visit_Del(self, node: cst.Del) -> None:
        self._bind(*_bound_names(node.target))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name.value)
        self._scopes.append("class")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name.value)
        in_class = bool(self._scopes) and self._scopes[-1] == "class"  # a method: its name is an attribute
        if not in_class and not node.decorators and node.asynchronous is None:
            self.defs[node.name.value] = node
        self._scopes.append("def")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()


class _Names(cst.CSTVisitor):
    """Every name read or written under a node (attribute and keyword names excluded), skipping some subtrees."""

    def __init__(self, skip: set[int]) -> None:
        self.found: set[str] = set()
        self.skip = skip

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.skip:
            return False
        if isinstance(node, cst.Name):
            self.found.add(node.value)
        if isinstance(node, cst.Attribute):
            node.value.visit(self)
            return False
        if isinstance(node, cst.Arg):
            node.value.visit(self)
            return False
        return True


def _names(node: cst.CSTNode, skip: Sequence[cst.CSTNode] = ()) -> set[str]:
    collector = _Names({id(n) for n in skip})
    node.visit(collector)
    return collector.found


def _positional(params: cst.Parameters, count: int) -> list[str] | None:
    """The parameter names a lambda/def binds when called with ``count`` positional values (more parameters are
    fine when they have defaults), None if it takes others."""
    listed = [*params.posonly_params, *params.params]
    if params.star_kwarg is not None or isinstance(params.star_arg, cst.Param) or len(listed) < count:
        return None
    if any(p.default is None for p in (*listed[count:], *params.kwonly_params)):
        return None
    return [p.name.value for p in listed[:count]]


def _defaults(params: cst.Parameters, count: int) -> dict[str, cst.BaseExpression]:
    """Parameters a call with ``count`` positional values leaves at their defaults, with those defaults."""
    listed = [*params.posonly_params, *params.params]
    return {p.name.value: p.default for p in (*listed[count:], *params.kwonly_params) if p.default is not None}


def _only_return(fn: cst.FunctionDef) -> cst.BaseExpression | None:
    """What a def returns when its body is that one ``return`` statement."""
    block = fn.body
    lines = block.body if isinstance(block, cst.IndentedBlock) else [block]
    if len(lines) != 1 or not isinstance(lines[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return None
    small = lines[0].body
    return small[0].value if len(small) == 1 and isinstance(small[0], cst.Return) else None


def _final_return(fn: cst.FunctionDef) -> cst.BaseExpression | None:
    """What a def returns when its only ``return`` is its last statement (any statements before it)."""
    from rewrites.source._analysis import returns

    block = fn.body
    if not isinstance(block, cst.IndentedBlock) or len(returns(fn)) != 1:
        return _only_return(fn)
    last = block.body[-1]
    if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and isinstance(last.body[0], cst.Return):
        return last.body[0].value
    return None


def _single_line(node: cst.CSTNode) -> bool:
    return "\n" not in cst.Module([]).code_for_node(node)


def _unparenthesized(seq: cst.Tuple | cst.List) -> cst.BaseExpression:
    """``a, b`` from ``(a, b)`` or ``[a, b]`` when it fits on one line; the original otherwise (its newlines need it)."""
    if not _single_line(seq):
        return seq
    elements = [*seq.elements[:-1], seq.elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return cst.Tuple(elements, lpar=[], rpar=[])


def _tuple(names: Sequence[str]) -> cst.Name | cst.Tuple:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])


# the body's parameters, the tuple it returns, and its def (None: a lambda)
_Step = tuple[list[str], cst.Tuple | cst.List, cst.FunctionDef | None]


class _Unroll(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.bindings = _Bindings()
        ctx.module.visit(self.bindings)
        self._scopes: list[cst.Module | cst.FunctionDef | cst.ClassDef] = [ctx.module]
        self._statements: set[int] = set()  # while_loop calls that are the value of a one-statement assignment

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._scopes.pop()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scopes.append(node)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._scopes.pop()
        return updated

    def _bound(self, expr: cst.BaseExpression) -> int | None:
        """An int literal, a module constant bound once to one, or tf.constant(<int literal>)."""
        return static_int(self.names, self.bindings, expr)

    def _code(self, node: cst.CSTNode) -> str:
        return cst.Module([]).code_for_node(node).strip().splitlines()[0][:80]

    def _def(self, expr: cst.BaseExpression) -> cst.FunctionDef | None:
        """The plain def a name refers to: bound once in the enclosing function (a local ``def body`` shadows others of
        the same name elsewhere in the file), or else bound once in the file."""
        if not isinstance(expr, cst.Name):
            return None
        scope = self._scopes[-1]
        if isinstance(scope, cst.FunctionDef) and isinstance(scope.body, cst.IndentedBlock):
            local = _Bindings()
            for stmt in scope.body.body:
                stmt.visit(local)
            if local.count[expr.value]:
                found = local.defs.get(expr.value)
                return found if local.count[expr.value] == 1 and any(found is s for s in scope.body.body) else None
        if self.bindings.count[expr.value] == 1:
            return self.bindings.defs.get(expr.value)
        return None

    def _limit(self, cond: cst.BaseExpression, count: int) -> tuple[int, cst.BaseExpression] | str | None:
        """(N, its expression) for a condition ``i < N`` (or tf.less(i, N)) over ``count`` loop variables, a lambda or a
        def of this file whose only statement returns it; None for an always-true condition (``lambda *_: True``: the loop runs
        maximum_iterations times); else why the trip count is not static."""
        fn = self._def(cond)
        if isinstance(cond, cst.Lambda):
            params, test = cond.params, cond.body
        elif fn is not None and (returned := _only_return(fn)) is not None:
            params, test = fn.params, returned
        else:
            return f"its condition `{self._code(cond)}` is not a lambda or a one-line def of this file"
        listed = [p.name.value for p in (*params.posonly_params, *params.params)]
        star = isinstance(params.star_arg, cst.Param)
        names = listed[:count] if len(listed) >= count else listed
        if params.star_kwarg is not None or (not star and _positional(params, count) is None) or (star and len(listed) > count):
            return "its condition does not take the loop variables as positional parameters"
        if isinstance(test, cst.Name) and test.value == "True":
            return None
        defaults = _defaults(params, count)
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
                and isinstance(test.comparisons[0].operator, cst.LessThan):
            left, right = test.left, test.comparisons[0].comparator
        elif isinstance(test, cst.Call) and _qualified(self.names, test.func) in _LESS and len(test.args) == 2 \
                and all(a.keyword is None and not a.star for a in test.args):
            left, right = test.args[0].value, test.args[1].value
        else:
            return f"its condition `{self._code(test)}` is not `counter < N` (the trip count depends on values)"
        if not names or not isinstance(left, cst.Name) or left.value != names[0]:
            return "its condition does not compare the first loop variable (the counter)"
        if isinstance(right, cst.Name) and right.value in defaults:  # `def cond(i, x, n=STEPS)`: never passed
            right = defaults[right.value]
        bound = self._bound(right)
        if bound is None:
            return (f"its bound `{self._code(right)}` is not a constant the source fixes (an int literal, a module "
                    f"constant or a default argument of the condition): the trip count may depend on the input")
        return bound, right

    def _step(self, body: cst.BaseExpression, count: int, counted: bool) -> _Step | str:
        """The body's parameters, its returned tuple (first element ``i + 1`` when ``counted``) and its def."""
        fn = self._def(body)
        if isinstance(body, cst.Lambda):
            params, result = body.params, body.body
        elif fn is not None and (returned := _final_return(fn)) is not None:
            params, result = fn.params, returned
        else:
            return f"its body `{self._code(body)}` is not a lambda or a def of this file ending in its only return"
        names = _positional(params, count)
        if names is None:
            return "its body does not take the loop variables as positional parameters"
        if not isinstance(result, (cst.Tuple, cst.List)) or len(result.elements) != count \
                or any(isinstance(e, cst.StarredElement) for e in result.elements):
            return "its body does not return a tuple of the loop variables"
        if counted:
            first = result.elements[0].value
            if not (isinstance(first, cst.BinaryOperation) and isinstance(first.operator, cst.Add)
                    and isinstance(first.left, cst.Name) and first.left.value == names[0] and _int(first.right) == 1):
                return "its counter does not step by exactly 1"
            if fn is not None and _rebinds(fn.body, names[0]):
                return f"its body rebinds the counter `{names[0]}`"
        return names, result, fn

    def _needs_tensor(self, where: cst.CSTNode, name: str) -> bool:
        """Whether a loop variable that stays a Python int once unrolled reaches tf.cond or has an attribute read."""
        found = False
        names = self.names

        class Look(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> None:
                nonlocal found
                found |= isinstance(node.value, cst.Name) and node.value.value == name

            def visit_Call(self, node: cst.Call) -> None:
                nonlocal found
                found |= _qualified(names, node.func) in _NEEDS_TENSOR and name in _names(node)

        where.visit(Look())
        return found

    def visit_Call(self, node: cst.Call) -> None:
        if _qualified(self.names, node.func) == "tensorflow.while_loop" and id(node) not in self._statements:
            self.warn(node, "tf.while_loop stays a WHILE loop: its result is not unpacked into names by a plain "
                            "assignment, so it cannot become a for loop here")

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if len(node.body) == 1 and isinstance(node.body[0], cst.Assign):
            self._statements.add(id(node.body[0].value))

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
                                  ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        plan = self._plan(original)
        if plan is None:
            return updated
        if isinstance(plan, str):
            self.warn(original, f"tf.while_loop stays a WHILE loop: {plan}")
            return updated
        statements, message = plan
        unchanged: cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] = updated
        return self.edit(original, unchanged, cst.FlattenSentinel(statements), message)

    def _plan(self, line: cst.SimpleStatementLine) -> tuple[list[cst.BaseStatement], str] | str | None:
        if len(line.body) != 1 or not isinstance(line.body[0], cst.Assign) or len(line.body[0].targets) != 1:
            return None
        assign = line.body[0]
        call = assign.value
        if not isinstance(call, cst.Call) or _qualified(self.names, call.func) != "tensorflow.while_loop":
            return None
        if isinstance(self._scopes[-1], cst.ClassDef):  # a name bound in a class body becomes a class attribute
            return "it is in a class body"
        args: dict[str, cst.BaseExpression] = {}
        for position, arg in enumerate(call.args):
            if arg.star or (arg.keyword is None and position > 2):
                return "its arguments are not plain"
            args[arg.keyword.value if arg.keyword is not None else ("cond", "body", "loop_vars")[position]] = arg.value
        extra = args.keys() - _REQUIRED - {"maximum_iterations"} - _NEUTRAL
        if not args.keys() >= _REQUIRED or extra:
            return f"it has {', '.join(f'`{k}=`' for k in sorted(extra)) or 'no cond/body/loop_vars'}"
        loop_vars, target = args["loop_vars"], assign.targets[0].target
        if not isinstance(loop_vars, (cst.Tuple, cst.List)) or not isinstance(target, (cst.Tuple, cst.List)):
            return "its loop_vars or its result is not a tuple of names"
        count = len(loop_vars.elements)
        targets = [e.value.value if isinstance(e, cst.Element) and isinstance(e.value, cst.Name) else "" for e in target.elements]
        if count < 2 or len(targets) != count or "" in targets \
                or any(isinstance(e, cst.StarredElement) for e in loop_vars.elements):
            return "its loop_vars or its result is not a tuple of two or more names"
        named = [t for t in targets if t != "_"]
        if len(set(named)) != len(named):
            return "its result unpacks into the same name twice"
        found = self._limit(args["cond"], count)
        if isinstance(found, str):
            return found
        limit, spelled = found if found is not None else (None, None)
        maximum = args.get("maximum_iterations")
        if maximum is not None and isinstance(maximum, cst.Name) and maximum.value == "None":
            maximum = None
        most = self._bound(maximum) if maximum is not None else None
        if maximum is not None and most is None:
            return f"its maximum_iterations `{self._code(maximum)}` is not a constant the source fixes"
        if limit is None:  # always true: maximum_iterations alone counts the steps
            if most is None:
                return "its condition is always true and it has no constant maximum_iterations"
            trips = most
        else:
            start = self._bound(loop_vars.elements[0].value)
            if start is None:
                return "its counter does not start at a constant"
            trips = limit - start if most is None else min(limit - start, most)
            spelled = spelled if start == 0 and trips == limit else None
        # range() spells the count as the user did when it is a module constant (`range(NUM_STEPS)` stays right
        # when NUM_STEPS changes); otherwise as its value.
        count_expr: cst.BaseExpression = cst.Integer(str(trips))
        for candidate in (spelled, maximum if most == trips else None):
            if isinstance(candidate, cst.Name) and self.bindings.constants.get(candidate.value) == trips \
                    and self.bindings.count[candidate.value] == 1:
                count_expr = cst.Name(candidate.value)
                break
        if not 1 <= trips <= _MAX_TRIPS:
            return f"its trip count ({trips}) is not between 1 and {_MAX_TRIPS}"
        if self.bindings.count["range"]:
            return "the file rebinds `range`"
        step = self._step(args["body"], count, counted=limit is not None)
        if isinstance(step, str):
            return step
        params, result, fn = step
        # A loop variable that starts as a Python int stays one (tf.while_loop made it a tensor).
        where: cst.CSTNode = result if fn is None else fn.body
        for param, initial in zip(params, loop_vars.elements):
            starts_as_int = (limit is not None and param == params[0]) or self._bound(initial.value) is not None
            if starts_as_int and self._needs_tensor(where, param):
                return f"`{param}` would be a Python int, and the body hands it to tf.cond/tf.case or reads an attribute"
        # Inside the loop: a lambda's body is inlined, so its parameters are the loop variables; a def is
        # called, so the targets themselves can be (a `_` target keeps the parameter's name).
        loop = params if fn is None else [t if t != "_" else p for t, p in zip(targets, params)]
        # Names the new code binds must not mean anything else in the scope (nor make a global local).
        cond_fn = self._def(args["cond"])  # a def condition is no longer called: its own names do not count
        skip = [line, *(d for d in (fn, cond_fn) if d is not None)]
        taken = _names(self._scopes[-1], skip) | _names(loop_vars)
        taken |= {fn.name.value} if fn is not None else set()
        fresh = [v for v, t in zip(loop, targets) if v != t]
        if len(set(loop)) != count or "_" in loop or any(v in taken or v in named for v in fresh):
            return "the names the for loop would bind are already used in this scope"
        if fn is not None and set(loop) & (_names(fn) - set(params)):  # the def reads one of them from outside
            return "its body reads one of the loop variables' names from outside"
        index = next((n for n in ("_", "_step") if n not in taken and n not in loop), None)
        if index is None:
            return "no free name for the for loop's index"
        value: cst.BaseExpression = _unparenthesized(result) if fn is None else cst.Call(
            cst.Name(fn.name.value), [cst.Arg(cst.Name(v)) for v in loop])
        body = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(_tuple(loop))], value)])
        statements: list[cst.BaseStatement] = [
            line.with_changes(body=[cst.Assign([cst.AssignTarget(_tuple(loop))], _unparenthesized(loop_vars))]),
            cst.For(cst.Name(index), cst.Call(cst.Name("range"), [cst.Arg(count_expr)]), cst.IndentedBlock([body])),
        ]
        # `_` targets are throwaway by convention; the rest get the final values, as the while_loop gave them.
        last = [(t, v) for t, v in zip(targets, loop) if t != v and t != "_"]
        if last:
            statements.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(_tuple([t for t, _ in last]))],
                                                                  _tuple([v for _, v in last]))]))
        return statements, f"tf.while_loop with a static trip count ({trips}) -> Python for loop unrolled at trace time"


def _rebinds(node: cst.CSTNode, name: str) -> bool:
    """Whether an assignment, augmented assignment or for loop under ``node`` binds ``name``."""
    found = False

    class Look(cst.CSTVisitor):
        def visit_Assign(self, n: cst.Assign) -> None:
            nonlocal found
            found |= any(name in _bound_names(t.target) for t in n.targets)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            nonlocal found
            found |= name in _bound_names(n.target)

        def visit_For(self, n: cst.For) -> None:
            nonlocal found
            found |= name in _bound_names(n.target)

    node.visit(Look())
    return found


class UnrollWhileLoop(SourceRewrite):
    """Unroll a tf.while_loop whose trip count is fixed by constants into a Python for loop.

    What it fixes:
        `i, x = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, step(x)), (0, x))`: a counter
        that starts at and is compared with `<` (or tf.less) to an int literal, a module constant bound
        once to one, tf.constant(<int literal>) or a default argument of the condition (`def cond(i, h,
        n=STEPS)`: tf.while_loop never passes it), and steps by exactly 1. The condition is a lambda or a
        one-line def; the body a lambda returning the new values or a def (several statements are fine)
        whose only return, its last statement, returns them. The defs may be nested in the method that
        loops (looked up in the enclosing function first). maximum_iterations caps the count; with an
        always-true condition (`lambda *_: True`) it alone is the count. It becomes `i, x = 0, x` /
        `for _ in range(3): i, x = i + 1, step(x)` (a def body is called: `i, x = body(i, x)`), unrolled
        when the function is traced; a count that is a module constant stays spelled (`range(NUM_STEPS)`).
    Why it fails:
        docs/facts.md section 6 and 9.3: a static while loop converts builtins-only in TF 2.21 (one WHILE op
        with cond/body subgraphs), so this is not a conversion fix for --target tflite; but the unrolled
        body runs about 2x faster per invoke (4.5 vs 9.8 us) and --target tflite-strict (delegates,
        micro runtimes such as TFLite Micro) requires no WHILE at all. A TensorArray loop variable stays a
        TensorList after the unroll (unroll_tensor_array_loop notes why it cannot take it).
    Safety:
        safe. The same body runs the same number of times on the same values. A loop variable that starts
        as a Python int stays one (tf.while_loop made it a tensor), so a loop whose body hands it to
        tf.cond/case or reads an attribute of it is left alone. Left alone as well, each with a display-only
        note saying why: data-dependent conditions (the bound is not a constant the source fixes), a
        non-constant start, any step but +1, shape_invariants, more than 64 trips, a result that is not
        unpacked into names, and names the new code would have to bind that are already used in the scope
        (the loop variables are the lambda's parameters, the targets get the results after the loop).
    References:
        docs/facts.md section 6 (python-unrolled loop: 0 WHILE, 4.5 us vs 9.8 us per invoke, diff 1e-6) and
        section 9.3; the model-level counterpart is unroll_static_loops.
    """

    id = "unroll_while_loop"
    title = "tf.while_loop with a constant trip count -> Python for loop"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.WHILE_LOOP, FindingKind.TENSORLIST_LOOP})
    model_rewrite = "unroll_static_loops"
    triggers = ("while_loop",)
    modules = ("tensorflow.while_loop",)
    examples = (
        Example(
            "import tensorflow as tf\n\n\ndef f(x, w):\n"
            "    # three steps\n    i, x = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, tf.tanh(x @ w)), (0, x))\n"
            "    return x\n",
            "import tensorflow as tf\n\n\ndef f(x, w):\n"
            "    # three steps\n    i, x = 0, x\n    for _ in range(3):\n        i, x = i + 1, tf.tanh(x @ w)\n"
            "    return x\n",
        ),
        Example(
            "import tensorflow.compat.v1 as tf\n\nSTEPS = 10\n\n"
            "_, out = tf.while_loop(lambda k, *rest: tf.less(k, STEPS), lambda k, h: [k + 1, h * 2.0],\n"
            "                       loop_vars=[tf.constant(2), h0], maximum_iterations=STEPS)\n",
            "import tensorflow.compat.v1 as tf\n\nSTEPS = 10\n\n"
            "k, h = tf.constant(2), h0\nfor _ in range(8):\n    k, h = k + 1, h * 2.0\nout = h\n",
        ),
        Example(
            "from tensorflow import while_loop\n\n\ndef step(i, x, y):\n    return i + 1, x + y, y\n\n\n"
            "def g(x, y):\n    n, x, y = while_loop(lambda i, x, y: i < 4, step, (0, x, y))  # loop\n    return x\n",
            "from tensorflow import while_loop\n\n\ndef step(i, x, y):\n    return i + 1, x + y, y\n\n\n"
            "def g(x, y):\n    n, x, y = 0, x, y  # loop\n    for _ in range(4):\n        n, x, y = step(n, x, y)\n"
            "    return x\n",
        ),
        # Named defs (nested in a method), the bound as a default argument of the condition, a body of several
        # statements, shape-neutral keywords; maximum_iterations caps the trip count.
        Example(
            "import tensorflow as tf\n\nSTEPS = 6\n\n\nclass Refiner(tf.Module):\n"
            "    @tf.function\n    def __call__(self, x):\n"
            "        def cond(i, h, limit=STEPS):\n            return tf.less(i, limit)\n\n"
            "        def body(i, h):\n            h = tf.tanh(h @ self.w)\n            h = h * 0.5\n"
            "            return [i + 1, h]\n\n"
            "        _, h = tf.while_loop(cond, body, loop_vars=[tf.constant(0), x], maximum_iterations=4, back_prop=False)\n"
            "        return h\n",
            "import tensorflow as tf\n\nSTEPS = 6\n\n\nclass Refiner(tf.Module):\n"
            "    @tf.function\n    def __call__(self, x):\n"
            "        def cond(i, h, limit=STEPS):\n            return tf.less(i, limit)\n\n"
            "        def body(i, h):\n            h = tf.tanh(h @ self.w)\n            h = h * 0.5\n"
            "            return [i + 1, h]\n\n"
            "        i, h = tf.constant(0), x\n        for _ in range(4):\n            i, h = body(i, h)\n"
            "        return h\n",
        ),
        # An always-true condition: maximum_iterations alone counts the steps (a module constant stays spelled).
        Example(
            "import tensorflow as tf\n\nSTEPS = 3\n\n\ndef f(a, b):\n"
            "    a, b = tf.while_loop(lambda *_: True, lambda a, b: (a + b, b * 2.0), [a, b], maximum_iterations=STEPS)\n"
            "    return a\n",
            "import tensorflow as tf\n\nSTEPS = 3\n\n\ndef f(a, b):\n"
            "    a, b = a, b\n    for _ in range(STEPS):\n        a, b = a + b, b * 2.0\n"
            "    return a\n",
        ),
        # Left alone with a note: a data-dependent condition, a non-literal start, a step of 2, a counter fed to
        # tf.cond, a loop-variable name used elsewhere in the scope, a result that is not unpacked.
        Example("import tensorflow as tf\n\n"
                "i, x = tf.while_loop(lambda i, x: tf.reduce_max(x) > 0.5, lambda i, x: (i + 1, x / 2), (0, x))\n",
                warns=1),
        Example("import tensorflow as tf\n\n"
                "i, x = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * w), (start, x))\n"
                "j, y = tf.while_loop(lambda j, y: j < 8, lambda j, y: (j + 2, y * w), (0, y))\n"
                "k, z = tf.while_loop(lambda k, z: k < 3, lambda k, z: (k + 1, tf.cond(k > 0, f, g)), (0, z))\n",
                warns=3),
        Example("import tensorflow as tf\n\n\ndef f(x, h):\n"
                "    _, out = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, h * x), (0, h))\n"
                "    return out + h\n", warns=1),
        Example("import tensorflow as tf\n\n\ndef g(x, n):\n"
                "    def cond(i, x):\n        return i < n\n\n"
                "    return tf.while_loop(cond, lambda i, x: (i + 1, x * 2.0), (0, x))[1]\n", warns=1),
        # Left alone: opted out.
        Example("import tensorflow as tf\n\n"
                "i, x = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * w), (0, x))  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Unroll(self, ctx, select)
