"""Where float64 comes from under NumPy behavior, grouped by data flow: the one analysis behind swap_tnp_calls and
explicit_float32.

tf.experimental.numpy (tnp) follows NumPy's types: ``tnp.eye(3)``, ``tnp.ones(3)``, ``tnp.linspace(0, 1, 8)``,
``tnp.asarray([0.5])``, ``tnp.random.randn(3)``, ``tnp.sqrt(2.0)``, ``np.float64(2)`` and ``x.astype(tnp.float64)``
are float64 (``tnp.arange(8)`` int64), and with numpy behavior on, a float64 (or int64) operand promotes the float32
model math it meets to float64, which TFLite runs only as Flex ops. Making one producer float32 and leaving another
float64 is worse than doing nothing: tnp ops and operators promote, but the tf ops a swap writes do not
(``TypeError: Input 'b' of 'MatMul' Op has type float32 that does not match type float64 of argument 'a'``). So the
decision is taken per *group*: producers whose values meet in one op are decided together, all or none.

The analysis (measured producers, TF 2.21, NumPy 2; see the two rewrites' docs):

- producers: tnp constructors without a float32 dtype (asarray/array of Python floats, eye, identity, ones, zeros,
  empty, full of a float, tri, geomspace, arange not used as an index), tnp.linspace/logspace (they ignore dtype=),
  tnp.random.rand/randn/standard_normal/uniform, tnp math on Python float data (``tnp.exp([0.1, 0.2])``,
  ``tnp.sqrt(2.0)``), every spelled float64 (``tnp.float64``, ``np.float64(...)``, ``tf.float64``, ``dtype=float``,
  ``"float64"`` in a dtype position, ``.astype(...)``), NumPy float arrays in model code (``np.array([0.5])``,
  ``np.random.randn(3)``: live only where they reach a method or a tf.function), and ``/`` between integer tensors
  (``tf.shape(x)[0] / 2``, ``tf.range(n) / n``: float64);
- groups: one union-find per file over producers, variables (per scope, as Python resolves them: locals, enclosing
  functions, module constants, default arguments), ``self.attr`` per class, in-file functions (arguments join the
  parameters, ``return`` joins the call) and class constructors (arguments join ``__init__``'s parameters). Every
  statement joins everything it reads and writes: ``h = (x + bias) * ramp`` is one op for this purpose. Joining
  more than the real data flow only makes groups larger (still consistent); what it cannot see is listed below.
- blocked producers: a float64 serving contract (``tf.TensorSpec(..., tf.float64)``, ``keras.Input(dtype="float64")``,
  ``set_floatx``), a line marked ``# repair: ignore``. A group with one is never edited; explicit_float32 shows a
  display-only warning that says why.

Limits (documented in both rewrites): data flow through containers, ``getattr``, other files, instance attributes
of other objects (``model.w``) or Keras layer calls (``layer(x)``) is not followed; a float64 value that comes from
outside the file (an argument a caller passes, a loaded checkpoint) is not seen; a tnp call on a Python number held
in a variable (``tnp.sqrt(self.dim)``) is not known to be float64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import Assignment, MetadataWrapper, PositionProvider, Scope, ScopeProvider

from repair.source.rewrite import Names, SourceTransformer

TNP = "tensorflow.experimental.numpy"
FLOAT64_NAMES = frozenset({f"{TNP}.float64", "numpy.float64", "numpy.double", "tensorflow.float64", "tensorflow.double"})
FLOAT32_NAMES = frozenset({f"{TNP}.float32", "numpy.float32", "numpy.single", "tensorflow.float32"})
_FLOAT64_STRINGS = frozenset({"float64", "double", "f8", "float"})
# tnp constructor -> positional index of its dtype; the data keyword that must hold Python floats (None: any call).
CONSTRUCTORS: dict[str, tuple[int, str | None]] = {
    "asarray": (1, "a"), "array": (1, "val"), "eye": (3, None), "identity": (1, None), "ones": (1, None),
    "zeros": (1, None), "empty": (1, None), "full": (2, "fill_value"), "tri": (3, None), "geomspace": (4, None),
    "arange": (3, None),
}
# They ignore dtype= (TF 2.21 with NumPy 2 takes the type of ``start * 1.0``): the result is cast instead.
IGNORE_DTYPE = {"linspace": 5, "logspace": 5}
RANDOM = frozenset({"rand", "randn", "standard_normal", "uniform"})
_NP_CONSTRUCTORS = {"array": 1, "asarray": 1}
_NP_RANDOM = frozenset({"rand", "randn", "standard_normal", "normal", "uniform", "random", "random_sample"})
# Calls whose arguments are indices: an arange there must stay an integer.
INDEXERS = frozenset({"take", "take_along_axis", "gather", "gather_nd", "one_hot", "scatter_nd", "tensor_scatter_nd_update"})
# Calls that fix the serving contract: a float64 there is what clients send, never changed from the source.
_CONTRACTS = frozenset({"tensorflow.TensorSpec", "keras.Input", "keras.layers.Input", "tf_keras.Input",
                        "tf_keras.layers.Input", "keras.config.set_floatx", "keras.backend.set_floatx",
                        "tf_keras.backend.set_floatx"})
_INT_TENSORS = frozenset({"tensorflow.size", "tensorflow.rank", "tensorflow.range"})
_CAST = "tensorflow.cast"


@dataclass
class Producer:
    """One float64 (or promoting int64) source in the code, and how it becomes float32."""

    node: cst.CSTNode
    kind: str  # dtype_name | dtype_string | dtype_builtin | add_dtype | wrap | literal_args | np_astype | int_divide
    label: str  # what the user reads: "tnp.eye", "tnp.float64", "Python floats in tnp.subtract"
    line: int
    tnp: bool  # a tnp producer is live anywhere; a NumPy/tf one only where it reaches model code
    blocked: str = ""  # why it cannot change (serving contract, ignore comment); "" when it can
    literal_args: tuple[int, ...] = ()  # literal_args: positions (in call.args) of the Python-float data;
    # int_divide: the sides (0 left, 1 right) that are integer tensors
    swap: bool = False  # literal_args: swap_tnp_calls can replace the whole call by its tf op (float32)


@dataclass
class Group:
    """Producers whose values meet in one op: decided together."""

    producers: list[Producer] = field(default_factory=list)

    @property
    def blocked(self) -> list[Producer]:
        return [p for p in self.producers if p.blocked]

    @property
    def owner(self) -> str:
        """swap_tnp_calls owns a group it can fix alone (tnp math on Python floats only); explicit_float32 the rest
        (and every group with a blocked producer, which it warns about)."""
        swappable = not self.blocked and all(p.kind == "literal_args" and p.swap for p in self.producers)
        return "swap_tnp_calls" if swappable else "explicit_float32"

    def describe(self) -> str:
        shown = ", ".join(f"{p.label} (line {p.line})" for p in self.producers[:6])
        more = f" and {len(self.producers) - 6} more" if len(self.producers) > 6 else ""
        return shown + more


def is_float64(names: Names, expr: cst.BaseExpression, builtin: bool = True) -> bool:
    """A dtype expression that means float64: tnp/np/tf float64, "float64", and (``builtin``) the builtin float.

    Measured under numpy behavior: ``tnp.asarray(x, float)`` and ``tnp.zeros(3, dtype=float)`` are float64, but
    ``x.astype(float)`` and ``tf.cast(x, float)`` are float32 (there, ``builtin=False``)."""
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value in (_FLOAT64_STRINGS if builtin else _FLOAT64_STRINGS - {"float"})
    if isinstance(expr, cst.Name) and expr.value == "float" and "float" not in names.bound:
        return builtin
    return qualify(names, expr) in FLOAT64_NAMES


def _spelled_float64(names: Names, expr: cst.BaseExpression) -> bool:
    """float64 as a dtype value outside a call: the builtin ``float``, ``"float64"``/``"double"``, a float64 name."""
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value in ("float64", "double")
    return is_float64(names, expr)


def is_float32(names: Names, expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value == "float32"
    return qualify(names, expr) in FLOAT32_NAMES


def qualify(names: Names, expr: cst.BaseExpression) -> str | None:
    """The qualified name of a plain dotted name; None for ``f(x).y`` or ``a[0].b``."""
    head = expr
    while isinstance(head, cst.Attribute):
        head = head.value
    return names.qualify(expr) if isinstance(head, cst.Name) else None


def number(expr: cst.BaseExpression) -> str | None:
    """'float' or 'int' for a Python number literal, None for anything else."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        expr = expr.expression
    return "float" if isinstance(expr, cst.Float) else "int" if isinstance(expr, cst.Integer) else None


def leaves(expr: cst.BaseExpression) -> list[str | None]:
    """The kinds of every leaf of a literal: numbers, lists/tuples of them, or ``[0.1] * 8``."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        if not expr.elements or any(isinstance(e, cst.StarredElement) for e in expr.elements):
            return [None]
        return [kind for e in expr.elements for kind in leaves(e.value)]
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
        for seq, count in ((expr.left, expr.right), (expr.right, expr.left)):
            if isinstance(seq, (cst.List, cst.Tuple)) and isinstance(count, cst.Integer):
                return leaves(seq)
        return [None]
    return [number(expr)]


def floats(expr: cst.BaseExpression) -> bool:
    """Python data that NumPy rules make float64: all number literals, at least one of them a float."""
    kinds = leaves(expr)
    return None not in kinds and "float" in kinds


def float_list(expr: cst.BaseExpression) -> bool:
    """A list/tuple literal of Python numbers with a float: float64 even next to a float32 tensor (not a weak scalar)."""
    return isinstance(expr, (cst.List, cst.Tuple, cst.BinaryOperation)) and floats(expr)


def _dtype_arg(call: cst.Call, position: int | None) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "dtype":
            return arg
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position] if position is not None and position < len(positional) else None


# tnp math that swap_tnp_calls knows: (positions in call.args of the arguments that carry data, whether swap_tnp_calls
# can replace the call), or None for a call it does not know. Given by swap_tnp_calls, which owns the table.
DataArgs = Callable[[str, cst.Call], "tuple[list[int], bool] | None"]


class _Walk(cst.CSTVisitor):
    """One pass over the file: producers, and the tokens each statement joins."""

    def __init__(self, names: Names, scopes: dict[cst.CSTNode, Scope | None], positions: dict[cst.CSTNode, object],
                 data_args: DataArgs, ignored: Callable[[int], bool]) -> None:
        super().__init__()
        self.names = names
        self.scopes = scopes
        self.positions = positions
        self.data_args = data_args
        self.ignored = ignored
        self.producers: dict[int, Producer] = {}
        self.parent: dict[int, int] = {}  # union-find over tokens
        self.graph: set[str] = set()  # tokens read or written in model code (methods, tf.functions)
        self.token_of: dict[int, str] = {}  # node id -> its token (names, self attributes, producers)
        self._statements: list[list[str]] = [[]]
        self._classes: list[cst.ClassDef] = []
        self._functions: list[tuple[cst.FunctionDef, bool]] = []  # (def, model code?)
        self._defs: dict[int, cst.FunctionDef] = {}  # id(name node of a def) -> def
        self._indices: set[int] = set()
        self._contract: set[int] = set()  # ids of expressions inside a serving-contract call
        self._cast: set[int] = set()  # ids of calls already cast to float32 (a wrapped linspace)
        self._astype_f32: set[int] = set()  # ids of NumPy random calls followed by .astype(float32)
        self._tokens_index: dict[str, int] = {}
        self._skip: set[int] = set()  # Name nodes that are not variables: attribute names, keywords

    # --- union-find ---
    def _id(self, token: str) -> int:
        if token not in self._tokens_index:
            self._tokens_index[token] = len(self._tokens_index)
            self.parent[self._tokens_index[token]] = self._tokens_index[token]
        return self._tokens_index[token]

    def find(self, token: str) -> int:
        i = self._id(token)
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, tokens: list[str]) -> None:
        if tokens:
            root = self.find(tokens[0])
            for token in tokens[1:]:
                self.parent[self.find(token)] = root

    def _add(self, token: str, node: cst.CSTNode | None = None) -> None:
        self._statements[-1].append(token)
        if node is not None:
            self.token_of[id(node)] = token
        if self._functions and self._functions[-1][1]:
            self.graph.add(token)

    # --- statements: everything one statement reads and writes is joined ---
    def _open(self) -> None:
        self._statements.append([])

    def _close(self) -> None:
        self.union(self._statements.pop())

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._open()

    def leave_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._close()

    def visit_If(self, node: cst.If) -> None:
        self._open()

    def leave_If(self, node: cst.If) -> None:
        self._close()

    def visit_While(self, node: cst.While) -> None:
        self._open()

    def leave_While(self, node: cst.While) -> None:
        self._close()

    def visit_For(self, node: cst.For) -> None:
        self._open()

    def leave_For(self, node: cst.For) -> None:
        self._close()

    def visit_With(self, node: cst.With) -> None:
        self._open()

    def leave_With(self, node: cst.With) -> None:
        self._close()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._open()  # decorators, defaults and parameters: default arguments join their parameters
        method = bool(self._classes) and self._in_class_body(node)
        traced = any(qualify(self.names, d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
                     == "tensorflow.function" for d in node.decorators)
        inherited = bool(self._functions) and self._functions[-1][1]
        self._functions.append((node, method or traced or inherited))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.pop()
        self._close()

    def _in_class_body(self, node: cst.FunctionDef) -> bool:
        body = self._classes[-1].body
        return isinstance(body, cst.IndentedBlock) and any(s is node for s in body.body)

    def visit_Param(self, node: cst.Param) -> None:
        # A parameter joins its default value (this statement) and, through its token, every call's argument.
        token = self._name_token(node.name)
        if token:
            self._add(token, node.name)
        if node.default is not None and "dtype" in node.name.value.lower() and _spelled_float64(self.names, node.default):
            self._dtype_producer(node.default, f"the default of {node.name.value}")

    def visit_Assign(self, node: cst.Assign) -> None:
        # A dtype constant (``DTYPE = "float64"``, ``dtype = float``); ``tnp.float64`` anywhere is found by its name.
        named = [t.target for t in node.targets if isinstance(t.target, cst.Name) and "dtype" in t.target.value.lower()]
        if named and _spelled_float64(self.names, node.value):
            self._dtype_producer(node.value, f"constant {named[0].value}")

    def visit_Return(self, node: cst.Return) -> None:
        if self._functions:
            self._add(f"r:{id(self._functions[-1][0])}")

    # --- names ---
    def _name_token(self, node: cst.Name) -> str | None:
        """A variable as Python resolves it (local, enclosing, module); None for builtins, imports, defs, self."""
        scope = self.scopes.get(node)
        if scope is None or node.value in ("self", "cls") or node.value not in scope:
            return None
        assignments = list(scope[node.value])
        if not assignments or any(not isinstance(a, Assignment) or isinstance(
                a.node, (cst.Import, cst.ImportFrom, cst.FunctionDef, cst.ClassDef)) for a in assignments):
            return None
        owners = {id(a.scope) for a in assignments}
        if len(owners) != 1:
            return None
        return f"v:{owners.pop()}:{node.value}"

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._skip.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._skip:
            return
        token = self._name_token(node)
        if token:
            self._add(token, node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._skip.add(id(node.attr))
        if isinstance(node.value, cst.Name) and node.value.value == "self" and self._classes:
            self._add(f"a:{id(self._classes[-1])}:{node.attr.value}", node)
        qualified = qualify(self.names, node)
        if qualified in FLOAT64_NAMES and id(node) not in self.producers:
            self._produce(node, "dtype_name", _short(qualified), tnp=qualified.startswith(TNP))

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            self._indices.add(id(node.slice.value))

    # --- producers ---
    def _produce(self, node: cst.CSTNode, kind: str, label: str, *, tnp: bool, **extra: object) -> None:
        line = self.positions[node].start.line  # type: ignore[attr-defined]
        blocked = "a serving contract (what clients send)" if id(node) in self._contract else ""
        if not blocked and self.ignored(line):
            blocked = "a line marked '# repair: ignore'"
        producer = Producer(node, kind, label, line, tnp, blocked, **extra)  # type: ignore[arg-type]
        self.producers[id(node)] = producer
        self._add(f"p:{id(node)}", node)

    def visit_Call(self, node: cst.Call) -> None:
        name = qualify(self.names, node.func) or ""
        short = name.rsplit(".", 1)[-1]
        if short in INDEXERS:
            self._indices.update(id(a.value) for a in node.args)
        if name in _CONTRACTS:
            self._contract.update(id(n) for n in _subtree(node))
        if node.args and (name == _CAST or name in (f"{TNP}.asarray", f"{TNP}.array")) and len(node.args) > 1:
            dtype = node.args[1].value if name == _CAST else (_dtype_arg(node, 1) or node.args[0]).value
            if is_float32(self.names, dtype):
                self._cast.add(id(node.args[0].value))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "astype" and node.args:
            if is_float32(self.names, node.args[0].value):
                self._astype_f32.add(id(node.func.value))
            elif is_float64(self.names, node.args[0].value, builtin=False):
                self._dtype_producer(node.args[0].value, "astype")
        self._call_joins(node)
        if name.startswith(TNP + "."):
            self._tnp_call(node, name[len(TNP) + 1:])
        elif name.startswith("numpy."):
            self._numpy_call(node, name[len("numpy."):])
        elif name == _CAST and len(node.args) > 1 and is_float64(self.names, node.args[1].value, builtin=False):
            self._dtype_producer(node.args[1].value, "tf.cast")
        elif name.startswith(("tensorflow.", "keras.")):
            dtype_arg = _dtype_arg(node, None)
            if dtype_arg is not None and is_float64(self.names, dtype_arg.value):
                self._dtype_producer(dtype_arg.value, _short(name))

    def _dtype_producer(self, expr: cst.BaseExpression, where: str) -> None:
        """A spelled float64 in a dtype position (the Attribute kind is found by visit_Attribute)."""
        if id(expr) in self.producers:
            return
        if isinstance(expr, cst.SimpleString):
            self._produce(expr, "dtype_string", f"{expr.value} in {where}", tnp=False)
        elif isinstance(expr, cst.Name):
            self._produce(expr, "dtype_builtin", f"dtype float in {where}", tnp=where.startswith("tnp."))
        else:
            qualified = qualify(self.names, expr)
            if qualified in FLOAT64_NAMES:
                self._produce(expr, "dtype_name", _short(qualified), tnp=qualified.startswith(TNP))

    def _tnp_call(self, node: cst.Call, short: str) -> None:
        label = f"tnp.{short}"
        if any(a.star for a in node.args):
            return
        dtype = _dtype_arg(node, CONSTRUCTORS.get(short, (None,))[0] or IGNORE_DTYPE.get(short))
        if dtype is not None and is_float64(self.names, dtype.value):
            self._dtype_producer(dtype.value, label)
        if short in IGNORE_DTYPE:
            retstep = next((a for a in node.args if a.keyword is not None and a.keyword.value == "retstep"), None)
            positional = [a for a in node.args if a.keyword is None]
            retstep = retstep or (positional[4] if short == "linspace" and len(positional) > 4 else None)
            if retstep is not None and not (isinstance(retstep.value, cst.Name) and retstep.value.value == "False"):
                return  # a (samples, step) pair: not one array to cast
            if id(node) not in self._cast and (dtype is None or is_float32(self.names, dtype.value)
                                               or is_float64(self.names, dtype.value)):
                self._produce(node, "wrap", f"{label} (float64 whatever its dtype= says)", tnp=True)
            return
        if short.startswith("random.") and short[len("random."):] in RANDOM:
            if id(node) not in self._cast:
                self._produce(node, "wrap", label, tnp=True)
            return
        if short in CONSTRUCTORS:
            if dtype is not None:
                return  # float32, float64 (its dtype is the producer) or another type: decided by the dtype
            _, data = CONSTRUCTORS[short]
            if data is not None:
                positional = [a for a in node.args if a.keyword is None]
                index = 1 if short == "full" else 0
                data_args = [a for a in node.args if a.keyword is not None and a.keyword.value == data]
                data_args = data_args or positional[index:index + 1]
                if not data_args or not floats(data_args[0].value):
                    return
            if short == "arange" and (id(node) in self._indices or not node.args):
                return
            self._produce(node, "add_dtype", label, tnp=True)
            return
        known = self.data_args(short, node)
        if known is None:
            return
        positions, swappable = known
        values = [node.args[i].value for i in positions]
        literal = [i for i in positions if floats(node.args[i].value)]
        # Python floats are float64 when they are a list, or when every data argument is a Python number.
        if literal and (any(float_list(v) for v in values) or all(number(v) for v in values)):
            self._produce(node, "literal_args", f"Python floats in {label}", tnp=True, literal_args=tuple(literal),
                          swap=swappable)

    def _numpy_call(self, node: cst.Call, short: str) -> None:
        label = f"np.{short}"
        dtype = _dtype_arg(node, _NP_CONSTRUCTORS.get(short))
        if dtype is not None:
            if is_float64(self.names, dtype.value):
                self._dtype_producer(dtype.value, label)
            return
        if short in _NP_CONSTRUCTORS and node.args and node.args[0].keyword is None and floats(node.args[0].value):
            self._produce(node, "add_dtype", label, tnp=False)
        elif short.startswith("random.") and short[len("random."):] in _NP_RANDOM and id(node) not in self._astype_f32:
            self._produce(node, "np_astype", label, tnp=False)

    def _call_joins(self, node: cst.Call) -> None:
        """A call of an in-file function or class joins its arguments to the parameters and its value to the returns."""
        target: cst.FunctionDef | None = None
        func = node.func
        if isinstance(func, cst.Name):
            target = self._resolve_def(func)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" \
                and self._classes:
            target = _method(self._classes[-1], func.attr.value)
        if target is None:
            return
        self._add(f"r:{id(target)}")
        for param in [*target.params.posonly_params, *target.params.params, *target.params.kwonly_params]:
            token = self._name_token(param.name)
            if token:
                self._add(token)

    def _resolve_def(self, name: cst.Name) -> cst.FunctionDef | None:
        scope = self.scopes.get(name)
        if scope is None or name.value not in scope:
            return None
        nodes = [a.node for a in scope[name.value] if isinstance(a, Assignment)]
        if len(nodes) != 1:
            return None
        if isinstance(nodes[0], cst.FunctionDef):
            return nodes[0]
        if isinstance(nodes[0], cst.ClassDef):
            return _method(nodes[0], "__init__")
        return None

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        sides = (node.left, node.right)
        ints = tuple(i for i, s in enumerate(sides) if self._int_tensor(s))
        if not ints:
            return
        if isinstance(node.operator, cst.Divide) and all(self._int_tensor(s) or number(s) == "int" for s in sides):
            self._produce(node, "int_divide", "integer tensor / integer (float64)", tnp=False, literal_args=ints)
        elif isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)) \
                and any(number(s) == "float" for s in sides):
            # Under numpy behavior an int32 tensor meeting a Python float is float64 (tf.range(3) * 1.5).
            self._produce(node, "int_divide", "integer tensor with a Python float (float64)", tnp=False,
                          literal_args=ints)

    def _int_tensor(self, expr: cst.BaseExpression) -> bool:
        """``tf.shape(x)[i]``, ``tf.size(x)``, ``tf.rank(x)``, ``tf.range`` of integers: int32 tensors."""
        if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Call):
            return qualify(self.names, expr.value.func) == "tensorflow.shape"
        if isinstance(expr, cst.Call):
            name = qualify(self.names, expr.func)
            if name == "tensorflow.range":  # int32 unless a float bound or a dtype says otherwise
                return bool(expr.args) and all(a.keyword is None and number(a.value) != "float" for a in expr.args)
            return name in _INT_TENSORS
        return False


def _short(qualified: str) -> str:
    for long, short in ((TNP, "tnp"), ("numpy", "np"), ("tensorflow", "tf")):
        if qualified.startswith(long + "."):
            return short + qualified[len(long):]
    return qualified


def _method(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    if not isinstance(cls.body, cst.IndentedBlock):
        return None
    found = [s for s in cls.body.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    return found[0] if len(found) == 1 else None


def _subtree(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _subtree(child)


class Flow:
    """The float64 producers of one file, grouped by the ops they meet in."""

    def __init__(self, module: cst.Module, names: Names, data_args: DataArgs, ignored: Callable[[int], bool],
                 wrapper: MetadataWrapper | None = None) -> None:
        wrapper = wrapper if wrapper is not None and wrapper.module is module else MetadataWrapper(module, unsafe_skip_copy=True)
        scopes = wrapper.resolve(ScopeProvider)
        positions = wrapper.resolve(PositionProvider)
        walk = _Walk(names, dict(scopes), dict(positions), data_args, ignored)
        module.visit(walk)
        self._walk = walk
        by_root: dict[int, Group] = {}
        live_roots = {walk.find(t) for t in walk.graph}
        for producer in walk.producers.values():
            root = walk.find(f"p:{id(producer.node)}")
            by_root.setdefault(root, Group()).producers.append(producer)
        self.groups = [g for root, g in by_root.items()
                       if any(p.tnp for p in g.producers) or root in live_roots]
        for group in self.groups:
            group.producers.sort(key=lambda p: p.line)
        self._roots = {walk.find(f"p:{id(p.node)}") for g in self.groups for p in g.producers}
        self.group_of: dict[int, Group] = {id(p.node): g for g in self.groups for p in g.producers}

    def touches(self, expr: cst.BaseExpression) -> bool:
        """Whether ``expr`` reads a value of a float64 group (a producer, or a name or attribute one flows into)."""
        for node in _subtree(expr):
            token = self._walk.token_of.get(id(node))
            if token is not None and self._walk.find(token) in self._roots:
                return True
        return False


def module_of(names: Names, call: cst.Call) -> cst.BaseExpression | None:
    """The module a call is spelled through (``tnp`` for ``tnp.eye`` and ``tnp.random.randn``, ``np`` for
    ``np.random.randn``), or None when the function or its submodule is from-imported (``from ... import random``)."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    module: cst.BaseExpression | None = func.value
    if qualify(names, func.value) in (f"{TNP}.random", "numpy.random"):
        module = module.value if isinstance(module, cst.Attribute) else None
    return module if module is not None and qualify(names, module) in (TNP, "numpy") else None


_MEMO = "float64_flow"


class GroupDecider(SourceTransformer):
    """A transformer that decides float64 per data-flow group: all of a group's producers change or none does.

    Each group is decided where the walk first reaches one of its members (prompts in file order), by the rewrite
    that owns it (``Group.owner``): ``decide(node, group)``. A ``# repair: ignore`` for this rewrite or for
    ``partner`` (the other float64 rewrite, which may own a member of the same group) keeps a member as it is.
    """

    partner: str = ""
    # The data arguments of a tnp call swap_tnp_calls knows and whether it can swap it (its table, given by both
    # subclasses: this module is imported by swap_tnp_calls).
    data_args: Callable[[str, cst.Call], tuple[list[int], bool] | None]

    def visit_Module(self, node: cst.Module) -> None:
        # Both float64 rewrites analyse the same version of a file the same way (the ignore test is symmetric:
        # this rewrite's id or its partner's), so the first computes the flow and the second reuses it.
        shared = self.ctx.shared
        flow = shared.memo.get(_MEMO) if shared.module is node else None
        if not isinstance(flow, Flow):
            flow = Flow(node, self.names, type(self).data_args, lambda line: self.ctx.ignored(line, line, self.rewrite.id)
                        or self.ctx.ignored(line, line, self.partner), shared.wrapper if shared.module is node else None)
            if shared.module is node:
                shared.memo[_MEMO] = flow
        self.flow = flow
        self._accepted: set[int] = set()
        self._decided: set[int] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        group = self.flow.group_of.get(id(node)) if hasattr(self, "flow") else None
        if group is not None and id(group) not in self._decided:
            self._decided.add(id(group))
            if group.owner == self.rewrite.id:
                self.decide(node, group)
        return super().on_visit(node)

    def decide(self, node: cst.CSTNode, group: Group) -> None:
        raise NotImplementedError
