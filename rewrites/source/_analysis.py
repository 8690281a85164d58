"""Shared, conservative reading of one file for the export rewrites: what each name is bound to and which
classes the file defines. Control flow and scopes are ignored, so callers only act when *every* binding of
a name agrees; anything else reads as unknown."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

from repair.source.rewrite import Names

SAVE = "tensorflow.saved_model.save"
TF_FUNCTION = "tensorflow.function"
TF_MODULE = "tensorflow.Module"
_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string"})


class Bindings(cst.CSTVisitor):
    """Every value assigned to each dotted name (``model``, ``self.model``); None for a binding that is not a
    plain assignment (parameter, loop target, unpacking, ``+=``, def, import ...)."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.values: dict[str, list[cst.BaseExpression | None]] = {}
        self.classes: dict[str, list[cst.ClassDef]] = {}
        self.functions: dict[str, list[cst.FunctionDef]] = {}
        module.visit(self)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value, None)
        elif isinstance(target, (cst.Name, cst.Attribute)):
            dotted = get_full_name_for_node(target)
            if dotted:
                self.values.setdefault(dotted, []).append(value)

    def only(self, name: str) -> list[cst.BaseExpression] | None:
        """The values of every binding of ``name``, or None when one of them is not a plain assignment."""
        values = self.values.get(name)
        if not values or any(v is None for v in values):
            return None
        return [v for v in values if v is not None]

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name.name, None)

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name, None)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:  # a subclass may stop at nested scopes
        self._bind(node.name, None)
        self.functions.setdefault(node.name.value, []).append(node)
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> bool | None:
        self._bind(node.name, None)
        self.classes.setdefault(node.name.value, []).append(node)
        return None

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        target = node.asname.name if node.asname is not None else node.name
        if isinstance(target, (cst.Name, cst.Attribute)):
            self._bind(target, None)


class _ScopeBindings(Bindings):
    """The bindings of one scope only (a function, or the module): nested function, class and lambda bodies are
    other scopes (their names are bound here, their contents are not); ``global``/``nonlocal`` names are noted."""

    def __init__(self, root: cst.Module | cst.FunctionDef) -> None:
        self._root = root
        self.declared: set[str] = set()  # names a global/nonlocal statement takes out of this scope
        super().__init__(root)  # type: ignore[arg-type]  # Bindings only calls root.visit

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node is self._root:
            return True
        super().visit_FunctionDef(node)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        super().visit_ClassDef(node)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(n.name.value for n in node.names)


class Scopes(cst.CSTVisitor):
    """Python's rule for a plain name: a name bound anywhere in a function is that function's local; otherwise it
    is the enclosing function's, then the module's. ``values`` reads a name that way, so ``model`` in ``main`` and
    ``model`` in ``build_model`` are two names (``Bindings`` alone mixes them and reads both as unknown)."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.module = module
        self.all = Bindings(module)
        self.chains: dict[int, tuple[cst.FunctionDef, ...]] = {}  # id(function) -> it and its enclosing functions
        # name -> each ``name(...)`` call with the functions around it (innermost first), and how often the name
        # is read at all (a function read as often as it is called is only ever called: ``f(x)``, never ``g(f)``)
        self.calls: dict[str, list[tuple[cst.Call, tuple[cst.FunctionDef, ...]]]] = {}
        self.reads: dict[str, int] = {}
        self._stack: list[cst.FunctionDef] = []
        self._scopes: dict[int, _ScopeBindings] = {}
        module.visit(self)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(node)
        self.chains[id(node)] = tuple(reversed(self._stack))
        self.reads[node.name.value] = self.reads.get(node.name.value, 0) - 1  # its def names it, reads nothing

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.calls.setdefault(node.func.value, []).append((node, tuple(reversed(self._stack))))

    def visit_Name(self, node: cst.Name) -> None:
        self.reads[node.value] = self.reads.get(node.value, 0) + 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # ``x.f`` reads x, not a name f
        return False

    def parameter(self, name: str, chain: tuple[cst.FunctionDef, ...]) -> tuple[cst.FunctionDef, int | None] | None:
        """When ``name`` in ``chain`` is a parameter of the innermost function that nothing in it rebinds: that
        function and the parameter's position (None: keyword-only)."""
        if not chain or "." in name:
            return None
        func = chain[0]
        local = self._scope(func)
        if local.values.get(name) != [None] or name in local.declared:
            return None
        positional = [*func.params.posonly_params, *func.params.params]
        for index, param in enumerate(positional):
            if param.name.value == name:
                return func, index
        if any(p.name.value == name for p in func.params.kwonly_params):
            return func, None
        return None

    def _scope(self, root: cst.Module | cst.FunctionDef) -> _ScopeBindings:
        if id(root) not in self._scopes:
            self._scopes[id(root)] = _ScopeBindings(root)
        return self._scopes[id(root)]

    def chain(self, func: cst.FunctionDef | None) -> tuple[cst.FunctionDef, ...]:
        """``func`` and the functions around it, innermost first (empty at module level)."""
        return self.chains.get(id(func), ()) if func is not None else ()

    def values(self, name: str, chain: tuple[cst.FunctionDef, ...]) -> list[cst.BaseExpression] | None:
        """Every value bound to ``name`` in the scope it resolves to from ``chain`` (innermost function first), or
        None when one binding is not a plain assignment or a global/nonlocal statement hides where it lives.
        Dotted names (``self.model``) are attributes, not scoped: read file-wide as ``Bindings.only``."""
        if "." in name:
            return self.all.only(name)
        for func in chain:
            local = self._scope(func)
            if name in local.declared:
                return None
            if name in local.values:
                return local.only(name)
        top = self._scope(self.module)
        return top.only(name) if name not in top.declared else None


def class_def(bindings: Bindings, name: str) -> cst.ClassDef | None:
    """The file's only class called ``name`` (a name defined twice reads as unknown)."""
    found = bindings.classes.get(name, [])
    return found[0] if len(found) == 1 else None


def returns(func: cst.FunctionDef) -> list[cst.BaseExpression | None]:
    """What each ``return`` of ``func`` itself returns (None for a bare return), not those of nested functions."""
    found: list[cst.BaseExpression | None] = []

    class Collect(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            found.append(node.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    func.body.visit(Collect())
    return found


def derives(names: Names, bindings: Bindings, cls: cst.ClassDef, targets: frozenset[str],
            seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``cls`` derives from one of ``targets`` (qualified names), through classes of this file."""
    for base in cls.bases:
        if base.keyword is not None:
            continue
        if names.qualify(base.value) in targets:
            return True
        if isinstance(base.value, cst.Name) and base.value.value not in seen:
            parent = class_def(bindings, base.value.value)
            if parent is not None and derives(names, bindings, parent, targets, seen | {cls.name.value}):
                return True
    return False


def instance_class(bindings: Bindings, expr: cst.BaseExpression) -> cst.ClassDef | None:
    """The in-file class that every binding of ``expr`` instantiates (``m = Model()``), if there is one."""
    dotted = get_full_name_for_node(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
    values = bindings.only(dotted) if dotted else None
    if not values:
        return None
    found = {v.func.value if isinstance(v, cst.Call) and isinstance(v.func, cst.Name) else None for v in values}
    if len(found) != 1 or None in found:
        return None
    name = found.pop()
    return class_def(bindings, name) if name is not None else None


def tf_function_call(names: Names, decorator: cst.Decorator) -> cst.Call | bool | None:
    """``@tf.function(...)`` -> the Call; bare ``@tf.function`` -> True; anything else -> None."""
    expr = decorator.decorator
    if isinstance(expr, cst.Call) and names.is_(expr.func, TF_FUNCTION):
        return expr
    if names.is_(expr, TF_FUNCTION):
        return True
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def argument(call: cst.Call, position: int, name: str) -> cst.Arg | None:
    """The argument bound to parameter ``name`` at ``position`` (None if absent or hidden behind ``*args``)."""
    found = keyword(call, name)
    if found is not None:
        return found
    positional = []
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            positional.append(arg)
    return positional[position] if position < len(positional) else None


def append_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """``call`` with ``arg`` appended, keeping a trailing comma and the one-argument-per-line layout."""
    if not call.args:
        return call.with_changes(args=[arg])
    last = call.args[-1]
    before = call.args[-2].comma if len(call.args) > 1 else None
    layout = before.whitespace_after if isinstance(before, cst.Comma) else call.whitespace_before_args
    separator = layout if isinstance(layout, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    if isinstance(last.comma, cst.Comma):  # a trailing comma stays the last thing before ")"
        arg = arg.with_changes(comma=last.comma)
    else:  # so does the whitespace before ")"
        arg, last = arg.with_changes(whitespace_after_arg=last.whitespace_after_arg), last.with_changes(
            whitespace_after_arg=cst.SimpleWhitespace(""))
    return call.with_changes(args=[*call.args[:-1], last.with_changes(comma=cst.Comma(whitespace_after=separator)), arg])


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """``call`` with ``name=value`` appended (see ``append_arg``)."""
    return append_arg(call, kwarg(name, value))


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))


def string_value(expr: cst.BaseExpression) -> str | None:
    """The text of a plain string literal (no f-string, no implicit concatenation)."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def dtype_name(names: Names, expr: cst.BaseExpression) -> str | None:
    """``tf.float32`` -> ``float32`` (only TensorFlow dtypes named through the file's imports)."""
    qualified = names.qualify(expr)
    if qualified and qualified.startswith("tensorflow.") and qualified[len("tensorflow."):] in _DTYPES:
        return qualified[len("tensorflow."):]
    return None


def dotted(root: str, path: str) -> cst.BaseExpression:
    expr: cst.BaseExpression = cst.Name(root)
    for part in path.split("."):
        expr = cst.Attribute(expr, cst.Name(part))
    return expr


class FunctionStack(cst.CSTVisitor):
    """A visitor that knows the ``def``s around the node it is at (``functions``: outermost first)."""

    def __init__(self) -> None:
        super().__init__()
        self.functions: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
