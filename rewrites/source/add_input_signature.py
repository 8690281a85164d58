"""add_input_signature: @tf.function on an exported function -> @tf.function(input_signature=[...])."""

from __future__ import annotations

import functools

import libcst as cst
from libcst.helpers import get_full_name_for_node

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, Select, SourceContext, SourceOptions, SourceRewrite, SourceTransformer
from rewrites.source._analysis import (
    SAVE,
    TF_MODULE,
    Bindings,
    append_arg,
    argument,
    derives,
    dtype_name,
    instance_class,
    keyword,
    kwarg,
    tf_function_call,
)

Spec = tuple[tuple[int | None, ...], str]  # shape, dtype
# Calls whose shape argument is a literal: (shape position, dtype position).
_SHAPED = {"tensorflow.zeros": (0, 1), "tensorflow.ones": (0, 1), "tensorflow.random.normal": (0, 3),
           "tensorflow.random.uniform": (0, 3)}


def _literal_spec(names: Names, expr: cst.BaseExpression) -> Spec | None:
    """``tf.zeros((3, 4))`` -> ((None, 4), "float32"): the literal shape with an unknown batch."""
    if not isinstance(expr, cst.Call):
        return None
    positions = _SHAPED.get(names.qualify(expr.func) or "")
    if positions is None:
        return None
    shape, dtype = argument(expr, positions[0], "shape"), argument(expr, positions[1], "dtype")
    if shape is None or not isinstance(shape.value, (cst.List, cst.Tuple)):
        return None
    dims = [e.value for e in shape.value.elements]
    if not all(isinstance(d, cst.Integer) and not isinstance(e, cst.StarredElement) for d, e in zip(dims, shape.value.elements)):
        return None
    dtype_text = dtype_name(names, dtype.value) if dtype is not None else "float32"
    if dtype_text is None:
        return None
    ints = tuple(int(d.value, 0) for d in dims if isinstance(d, cst.Integer))
    return ((None, *ints[1:]) if ints else ()), dtype_text


class _Scan(cst.CSTVisitor):
    """Functions, the classes they sit in, calls and the objects tf.saved_model.save receives."""

    def __init__(self, names: Names) -> None:
        super().__init__()
        self.names = names
        self.owner: dict[int, cst.ClassDef | None] = {}  # id(FunctionDef) -> the class it is a method of
        self.calls: list[cst.Call] = []
        self.saved: list[cst.BaseExpression] = []  # save(obj, ...) objects
        self.referenced: set[str] = set()  # names inside save(...) arguments or assigned to attributes
        self._stack: list[cst.CSTNode] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self._stack[-1] if self._stack else None
        self.owner[id(node)] = parent if isinstance(parent, cst.ClassDef) else None
        self._stack.append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        if self.names.is_(node.func, SAVE):
            obj = argument(node, 0, "obj")
            if obj is not None:
                self.saved.append(obj.value)
            for arg in node.args:
                self.referenced |= _names_in(arg.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Name) and any(isinstance(t.target, cst.Attribute) for t in node.targets):
            self.referenced.add(node.value.value)


def _names_in(expr: cst.BaseExpression) -> set[str]:
    found: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    expr.visit(Collect())
    return found


class _AddSignature(SourceTransformer):
    # The file is walked again only once a @tf.function without input_signature is found.
    @functools.cached_property
    def bindings(self) -> Bindings:
        return Bindings(self.ctx.module)

    @functools.cached_property
    def scan(self) -> _Scan:
        scan = _Scan(self.names)
        self.ctx.module.visit(scan)
        return scan

    @functools.cached_property
    def saved_classes(self) -> list[cst.ClassDef]:
        found = []
        for obj in self.scan.saved:
            cls = instance_class(self.bindings, obj)
            if cls is not None and derives(self.names, self.bindings, cls, frozenset({TF_MODULE})):
                found.append(cls)
        return found

    def _family(self, cls: cst.ClassDef) -> list[cst.ClassDef]:
        """The saved classes that are ``cls`` or derive from it (their instances run its methods)."""
        return [c for c in self.saved_classes if _inherits(self.bindings, c, cls)]

    def _callers(self, func: cst.FunctionDef, cls: cst.ClassDef | None) -> list[cst.Call]:
        calls = []
        family = self._family(cls) if cls is not None else []
        for call in self.scan.calls:
            target = call.func
            if cls is None:
                if isinstance(target, cst.Name) and target.value == func.name.value:
                    calls.append(call)
                continue
            if isinstance(target, cst.Attribute) and target.attr.value == func.name.value:
                target = target.value
            elif func.name.value != "__call__":
                continue
            owner = instance_class(self.bindings, target)
            if any(owner is c for c in family):
                calls.append(call)
        return calls

    def _specs(self, func: cst.FunctionDef, params: list[str], cls: cst.ClassDef | None) -> tuple[list[Spec], str] | None:
        seen: dict[str, set[Spec]] = {p: set() for p in params}
        for call in self._callers(func, cls):
            for index, param in enumerate(params):
                arg = argument(call, index, param)
                spec = _literal_spec(self.names, arg.value) if arg is not None else None
                if spec is not None:
                    seen[param].add(spec)
        specs, sources = [], set()
        for param in params:
            dtypes = {d for _, d in seen[param]}
            dtype = dtypes.pop() if len(dtypes) == 1 else "float32"
            pin = self.options.pins.get(param)
            if pin is not None:
                specs.append((tuple(None if d is None or d < 0 else d for d in pin), dtype))
                sources.add("pins")
            elif len(seen[param]) == 1:
                specs.append(next(iter(seen[param])))
                sources.add("calls in this file")
            else:
                return None
        return specs, " and ".join(sorted(sources)) or "no parameters"

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        index = next((i for i, d in enumerate(original.decorators) if tf_function_call(self.names, d) is not None), None)
        if index is None:
            return updated
        call = tf_function_call(self.names, original.decorators[index])
        if isinstance(call, cst.Call) and (keyword(call, "input_signature") is not None
                                           or any(a.keyword is None for a in call.args)):
            return updated
        if id(original) not in self.scan.owner:
            return updated
        cls = self.scan.owner[id(original)]
        if cls is not None and not self._family(cls):
            return updated
        if cls is None and original.name.value not in self.scan.referenced:
            return updated
        params = self._params(original, cls)
        found = self._specs(original, params, cls) if params is not None else None
        if params is None or found is None:
            return updated
        specs, source = found
        tf, imports = self.tf()
        signature = cst.parse_expression("[" + ", ".join(
            f"{tf}.TensorSpec([{', '.join('None' if d is None else str(d) for d in shape)}], {tf}.{dtype}, name=\"{param}\")"
            for param, (shape, dtype) in zip(params, specs)) + "]")
        decorator = updated.decorators[index]
        new_call = append_arg(decorator.decorator if isinstance(decorator.decorator, cst.Call)
                              else cst.Call(decorator.decorator), kwarg("input_signature", signature))
        new = decorator.with_changes(decorator=new_call)
        described = ", ".join(f"{p}: {list(s)} {d}" for p, (s, d) in zip(params, specs))
        chosen = self.edit(original.decorators[index], decorator, new,
                           f"@tf.function on exported {original.name.value}: fix input_signature ({described}; from {source})",
                           imports=imports)
        decorators = list(updated.decorators)
        decorators[index] = chosen
        return updated.with_changes(decorators=decorators)

    def _params(self, func: cst.FunctionDef, cls: cst.ClassDef | None) -> list[str] | None:
        p = func.params
        if p.kwonly_params or isinstance(p.star_arg, cst.Param) or p.star_kwarg is not None:
            return None
        names = [param.name.value for param in (*p.posonly_params, *p.params)]
        static = any(get_full_name_for_node(d.decorator) == "staticmethod" for d in func.decorators)
        if cls is not None and not static:
            if not names:
                return None
            names = names[1:]
        return names


def _inherits(bindings: Bindings, cls: cst.ClassDef, ancestor: cst.ClassDef, seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``cls`` is ``ancestor`` or derives from it through classes of this file."""
    if cls is ancestor:
        return True
    for base in cls.bases:
        if isinstance(base.value, cst.Name) and base.keyword is None and base.value.value not in seen:
            parents = bindings.classes.get(base.value.value, [])
            if len(parents) == 1 and _inherits(bindings, parents[0], ancestor, seen | {cls.name.value}):
                return True
    return False


class AddInputSignature(SourceRewrite):
    """Give an exported @tf.function a fixed input_signature.

    What it fixes:
        @tf.function (bare, or with arguments but no input_signature=) on a method of a tf.Module
        subclass whose instance the file passes to tf.saved_model.save, or on a function the file hands
        to tf.saved_model.save (signatures=f) or attaches to an object (module.f = f). Each parameter
        (self excluded) gets tf.TensorSpec(shape, dtype, name=param): the shape comes from --pin
        (SourceOptions.pins, keyed by the parameter name; None keeps a dim unknown), otherwise from a
        call in the same file with a literal-shaped tf.zeros / tf.ones / tf.random.normal /
        tf.random.uniform argument, with its first dim made an unknown batch ([3, 4] -> [None, 4]).
        The dtype is that call's dtype=, else float32. Left alone unless every parameter gets one
        shape: *args, **kwargs, keyword-only parameters, calls that disagree, tf.constant arguments.
    Why it fails:
        A tf.function without input_signature has no graph until it is called. Saved untraced, the
        SavedModel holds no signature and nothing to serve ("Only support at least one signature
        key"; docs/facts.md 1d). Traced before saving, it still has no signature (1e), and the model-level
        repair can only freeze the traced shape ([3, 4], not [None, 4]). With an input_signature,
        tf.saved_model.save exports a single such method as serving_default.
    Safety:
        unsafe: the function then only accepts the declared shapes and dtypes; calls with another
        rank, inner size or dtype raise instead of retracing. Giving --pin is consent (as for
        pin_none_dims), also for the shapes taken from calls in the same run.
    References:
        docs/facts.md 1d and 1e (from source, input_signature=[TensorSpec([None, 4])]: diff 1.8e-7).
        The model-level counterpart is wrap_traced_function.
    """

    id = "add_input_signature"
    title = "@tf.function on an exported function -> fixed input_signature"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.NO_SIGNATURE_NEVER_TRACED, FindingKind.NO_SIGNATURE_TRACED})
    model_rewrite = "wrap_traced_function"
    triggers = ("saved_model",)
    modules = ("tensorflow.function",)
    _MODULE = ("class Scorer(tf.Module):\n    def __init__(self):\n        self.w = tf.Variable(tf.ones([4, 2]))\n\n"
               "    @tf.function{}\n    def __call__(self, x):\n        return x @ self.w\n\n")
    examples = (
        Example(
            "import tensorflow as tf\n\n" + _MODULE.format("") +
            "scorer = Scorer()\nscorer(tf.zeros((3, 4)))\ntf.saved_model.save(scorer, \"out\")\n",
            "import tensorflow as tf\n\n"
            + _MODULE.format("(input_signature=[tf.TensorSpec([None, 4], tf.float32, name=\"x\")])") +
            "scorer = Scorer()\nscorer(tf.zeros((3, 4)))\ntf.saved_model.save(scorer, \"out\")\n",
            unsafe=True,
        ),
        Example(  # pins win; jit_compile= is kept; a second parameter from tf.ones with an int dtype
            "import tensorflow.compat.v2 as tf2\n\nclass Pair(tf2.Module):\n"
            "    @tf2.function(jit_compile=True)\n    def serve(self, image, ids):\n        return image\n\n"
            "pair = Pair()\npair.serve(tf2.zeros([1, 8, 8, 3]), ids=tf2.ones([2, 5], tf2.int32))\n"
            "tf2.saved_model.save(pair, out)\n",
            "import tensorflow.compat.v2 as tf2\n\nclass Pair(tf2.Module):\n"
            "    @tf2.function(jit_compile=True, "
            "input_signature=[tf2.TensorSpec([1, None, None, 3], tf2.float32, name=\"image\"), "
            "tf2.TensorSpec([None, 5], tf2.int32, name=\"ids\")])\n    def serve(self, image, ids):\n        return image\n\n"
            "pair = Pair()\npair.serve(tf2.zeros([1, 8, 8, 3]), ids=tf2.ones([2, 5], tf2.int32))\n"
            "tf2.saved_model.save(pair, out)\n",
            options=SourceOptions(pins={"image": (1, None, None, 3)}),
            unsafe=True,
        ),
        Example(  # a plain function handed to signatures=
            "import tensorflow as tf\n\n@tf.function()\ndef serve(x):\n    return x * 2\n\n"
            "tf.saved_model.save(module, out, signatures=serve)\n",
            "import tensorflow as tf\n\n@tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name=\"x\")])\n"
            "def serve(x):\n    return x * 2\n\n"
            "tf.saved_model.save(module, out, signatures=serve)\n",
            options=SourceOptions(pins={"x": (None, 16)}),
            unsafe=True,
        ),
        # Left alone: no shape for every parameter (tf.constant, no call); calls that disagree; not
        # exported; already has an input_signature; **kwargs.
        Example("import tensorflow as tf\n\n" + _MODULE.format("") +
                "scorer = Scorer()\nscorer(tf.constant([[1.0, 2.0, 3.0, 4.0]]))\ntf.saved_model.save(scorer, \"out\")\n"),
        Example("import tensorflow as tf\n\n" + _MODULE.format("") +
                "scorer = Scorer()\nscorer(tf.zeros((3, 4)))\nscorer(tf.zeros((3, 5)))\ntf.saved_model.save(scorer, \"out\")\n"),
        Example("import tensorflow as tf\n\n" + _MODULE.format("") + "scorer = Scorer()\nscorer(tf.zeros((3, 4)))\n"
                "# saved_model elsewhere\n"),
        Example("import tensorflow as tf\n\n@tf.function\ndef serve(**inputs):\n    return inputs\n\n"
                "tf.saved_model.save(module, out, signatures=serve)\n"),
    )

    def consented(self, options: SourceOptions) -> bool:
        return bool(options.pins)

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _AddSignature(self, ctx, select)
