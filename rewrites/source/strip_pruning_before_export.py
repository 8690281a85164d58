"""strip_pruning_before_export: export strip_pruning(model), not the model still wrapped for pruning."""

from __future__ import annotations

import functools

import libcst as cst
from libcst.helpers import get_full_name_for_node

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, NewImport, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import SAVE, TF_MODULE, Bindings, argument, class_def, derives

_SPARSITY = "tensorflow_model_optimization.sparsity.keras"
_CLONE = ("keras.models.clone_model", "tf_keras.models.clone_model")
_PRUNE = f"{_SPARSITY}.prune_low_magnitude"
_STRIP = f"{_SPARSITY}.strip_pruning"
# Functions that export their first argument: (position, keyword).
_EXPORTERS = {SAVE: (0, "obj"), "tensorflow.lite.TFLiteConverter.from_keras_model": (0, "model"),
              "keras.models.save_model": (0, "model"), "keras.saving.save_model": (0, "model"),
              "tf_keras.models.save_model": (0, "model"), "tf_keras.saving.save_model": (0, "model")}


def _prune_func(names: Names, bindings: Bindings, value: cst.BaseExpression | None,
                seen: frozenset[str]) -> cst.BaseExpression | None:
    """The prune call's func if ``value`` is a model wrapped for pruning, else None: a prune call;
    ``clone_model(m, clone_function=f)`` where ``f`` (a lambda or the file's only def of that name) calls
    prune_low_magnitude (the tfmot guide's way to prune some layers); a call of the file's only def of that
    name every return of which is such a model (``def make_pruned(): ... return pruned``)."""
    if not isinstance(value, cst.Call):
        return None
    if names.is_(value.func, _PRUNE):
        return value.func
    if names.is_(value.func, *_CLONE):
        clone = argument(value, 2, "clone_function")
        body: cst.CSTNode | None = clone.value if clone is not None and isinstance(clone.value, cst.Lambda) else None
        if clone is not None and isinstance(clone.value, cst.Name):
            defs = bindings.functions.get(clone.value.value, [])
            body = defs[0] if len(defs) == 1 else None
        return _prune_inside(names, body) if body is not None else None
    if isinstance(value.func, cst.Name) and names.qualify(value.func) is None and value.func.value not in seen:
        defs = bindings.functions.get(value.func.value, [])
        if len(defs) != 1:
            return None
        replay = _Replay(names, bindings, defs[0], seen | {value.func.value})
        defs[0].visit(replay)
        found = replay.returned
        return found[0] if found and all(f is not None for f in found) else None
    return None


def _prune_inside(names: Names, node: cst.CSTNode) -> cst.BaseExpression | None:
    """The func of a prune call anywhere in ``node``."""
    found: list[cst.BaseExpression] = []

    class Find(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if names.is_(call.func, _PRUNE):
                found.append(call.func)

    node.visit(Find())
    return found[0] if found else None


class _Unread:
    """Bindings whose value is not followed (``x += ...``, ``for x in ...``, ``with ... as x``): the name no longer
    holds a known pruned model."""

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        raise NotImplementedError

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, None)


class _Replay(_Unread, cst.CSTVisitor):
    """One function's own assignments in file order, as ``_Strip`` reads them, and what each ``return`` gives:
    the prune call's func of a returned pruned model, or None."""

    def __init__(self, names: Names, bindings: Bindings, func: cst.FunctionDef, seen: frozenset[str]) -> None:
        super().__init__()
        self.names, self.bindings, self.func, self.seen = names, bindings, func, seen
        self.pruned: dict[str, cst.BaseExpression | None] = {}
        self.returned: list[cst.BaseExpression | None] = []

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        name = get_full_name_for_node(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
        if name:
            self.pruned[name] = _prune_func(self.names, self.bindings, value, self.seen)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, node.value)

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name, None)

    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        if isinstance(value, (cst.Name, cst.Attribute)):
            self.returned.append(self.pruned.get(get_full_name_for_node(value) or ""))
        else:
            self.returned.append(_prune_func(self.names, self.bindings, value, self.seen))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.func  # a nested def's returns are not this function's

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


class _Strip(_Unread, SourceTransformer):
    """Walks the file in order, remembering for each name whether its latest assignment was a prune call."""

    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.pruned: dict[str, cst.BaseExpression | None] = {}  # name -> the prune call's func, None: bound otherwise
        self.scopes: list[dict[str, cst.BaseExpression | None]] = []
        self.assigned: dict[int, str] = {}  # id of a call assigned to a name -> that name

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)
            return
        name = get_full_name_for_node(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
        if name:
            self.pruned[name] = self._prune_func(value)

    @functools.cached_property
    def bindings(self) -> Bindings:  # walked only for a file that clones or calls its own functions
        return Bindings(self.ctx.module)

    def _prune_func(self, value: cst.BaseExpression | None) -> cst.BaseExpression | None:
        if not isinstance(value, cst.Call):
            return None
        if self.names.is_(value.func, _PRUNE):  # the common case: no walk of the file
            return value.func
        return _prune_func(self.names, self.bindings, value, frozenset())

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        for target in original.targets:
            self._bind(target.target, original.value)
        return updated

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign) -> cst.AnnAssign:
        if original.value is not None:
            self._bind(original.target, original.value)
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(dict(self.pruned))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.pruned = self.scopes.pop()  # a function's own bindings do not outlive it
        return updated

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value)

    def _strip(self, func: cst.BaseExpression) -> tuple[cst.BaseExpression, list[NewImport]] | None:
        """``tfmot.sparsity.keras.strip_pruning`` spelled like the prune call (or imported beside it)."""
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name("strip_pruning")), []
        local = next((n for n, target in sorted(self.names.bound.items()) if target == _STRIP), None)
        if local is not None:
            return cst.Name(local), []
        if "strip_pruning" in self.names.bound:
            return None
        return cst.Name("strip_pruning"), [NewImport(_SPARSITY, "strip_pruning")]

    def visit_Assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target if len(node.targets) == 1 else None
        if isinstance(node.value, cst.Call) and isinstance(target, (cst.Name, cst.Attribute)):
            self.assigned[id(node.value)] = get_full_name_for_node(target) or ""

    @functools.cached_property
    def exported(self) -> set[str]:
        """Every name the file exports somewhere (an exporter's argument, the receiver of .save/.export)."""
        found: set[str] = set()
        names = self.names

        class Find(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                qualified = names.qualify(node.func)
                arg = argument(node, *_EXPORTERS[qualified]) if qualified in _EXPORTERS else None
                value = arg.value if arg is not None else None
                if qualified is None and isinstance(node.func, cst.Attribute) and node.func.attr.value in ("save", "export"):
                    value = node.func.value
                if isinstance(value, (cst.Name, cst.Attribute)):
                    found.add(get_full_name_for_node(value) or "")

        self.ctx.module.visit(Find())
        return found

    def _holder(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression | None:
        """``exporter = ExportModule(model_for_pruning)`` where the file's tf.Module subclass instance is exported
        later: the module would serve the wrapped model, so it gets ``strip_pruning(model_for_pruning)``."""
        target = self.assigned.get(id(original))
        if not target or target not in self.exported or not isinstance(original.func, cst.Name):
            return None
        cls = class_def(self.bindings, original.func.value)
        if cls is None or not derives(self.names, self.bindings, cls, frozenset({TF_MODULE})):
            return None
        args = list(updated.args)
        stripped: list[str] = []
        imports: list[NewImport] = []
        for index, arg in enumerate(original.args):
            name = get_full_name_for_node(arg.value) if isinstance(arg.value, (cst.Name, cst.Attribute)) else None
            func = self.pruned.get(name) if name and not arg.star else None
            strip = self._strip(func) if func is not None else None
            if strip is not None and name:  # a strip is only found for a named function
                args[index] = args[index].with_changes(value=cst.Call(strip[0], [cst.Arg(args[index].value)]))
                stripped.append(name)
                imports += strip[1]
        if not stripped:
            return None
        return self.edit(original, updated, updated.with_changes(args=args),
                         f"{target} (exported) holds {', '.join(stripped)} still wrapped for pruning: pass strip_pruning(...)",
                         imports=imports[:1])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        held = self._holder(original, updated) if id(original) in self.assigned else None
        if held is not None:
            return held
        qualified = self.names.qualify(original.func)
        if qualified in _EXPORTERS:
            arg = argument(original, *_EXPORTERS[qualified])
            exported = arg.value if arg is not None else None
        elif isinstance(original.func, cst.Attribute) and original.func.attr.value in ("save", "export") and qualified is None:
            arg, exported = None, original.func.value
        else:
            return updated
        name = get_full_name_for_node(exported) if isinstance(exported, (cst.Name, cst.Attribute)) else None
        func = self.pruned.get(name) if name else None
        strip = self._strip(func) if func is not None else None
        if strip is None or exported is None:
            return updated
        strip_func, imports = strip
        if qualified == SAVE and argument(original, 2, "signatures") is not None:
            # The signature functions were traced from (or will trace) the wrapped model: stripping only the saved
            # object would save a second, stripped model beside signatures that still read the wrappers.
            self.warn(original, f"{name} still has its pruning wrappers, and signatures= serves functions of it: "
                                f"strip first ({name} = strip_pruning({name})) and build the signatures from the result")
            return updated
        if arg is None:
            assert isinstance(updated.func, cst.Attribute)
            wrapped = cst.Call(strip_func, [cst.Arg(updated.func.value)])
            replacement = updated.with_changes(func=updated.func.with_changes(value=wrapped))
        else:
            index = next(i for i, a in enumerate(original.args) if a is arg)
            args = list(updated.args)
            args[index] = args[index].with_changes(value=cst.Call(strip_func, [cst.Arg(args[index].value)]))
            replacement = updated.with_changes(args=args)
        return self.edit(original, updated, replacement, f"{name} still has its pruning wrappers: export strip_pruning({name})",
                         imports=imports)


class StripPruningBeforeExport(SourceRewrite):
    """Export strip_pruning(model) instead of the model still wrapped for pruning.

    What it fixes:
        A name whose latest assignment (in file order) is tfmot.sparsity.keras.prune_low_magnitude(...)
        (any import alias: tfmot, `from tensorflow_model_optimization.sparsity import keras as sparsity`,
        a from-import of prune_low_magnitude), or is keras.models.clone_model(m, clone_function=f) whose f
        calls prune_low_magnitude (the tfmot guide's way to prune some layers), or is a call of a function
        of the file whose every return is such a model, that is then exported with X.save(...), X.export(...),
        tf.saved_model.save(X, ...), keras/tf_keras models.save_model(X, ...) or
        tf.lite.TFLiteConverter.from_keras_model(X). The exported argument becomes
        strip_pruning(X), spelled through the same alias. X itself is untouched, so training code after
        the export still sees the wrapped model. An instance of a tf.Module subclass of the file that is
        exported and built from X (exporter = ExportModule(X)) gets ExportModule(strip_pruning(X)). Left alone: a name
        reassigned after pruning (for example
        X = strip_pruning(X)), a parameter, anything it cannot trace to a prune call. tf.saved_model.save
        with signatures= is only warned about: its functions trace the wrapped model whatever object is saved.
    Why it fails:
        docs/facts.md section 4: unstripped wrappers do not break conversion, but the .tflite doubles (417 KB vs
        208 KB) and carries resource variables, a CALL_ONCE init subgraph and kernel*mask computed at run
        time (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE), which many delegates and micro runtimes refuse.
        The serving output key also keeps the prune_low_magnitude_ prefix.
    Safety:
        safe: strip_pruning folds each mask into its kernel; outputs match (diff 2.9e-7 vs 1e-7
        unstripped). The exported model no longer holds the optimizer or pruning step, so a file saved to
        resume pruning from should carry `# repair: ignore`.
    References:
        docs/facts.md section 4 and surprise 5; tfmot strip_pruning. The model-level counterpart is
        strip_pruning_wrappers.
    """

    id = "strip_pruning_before_export"
    title = "export strip_pruning(model), not the pruning-wrapped model"
    safety = Safety.SAFE
    answers = frozenset({FindingKind.PRUNING_WRAPPERS, FindingKind.RESOURCE_VARIABLES})
    model_rewrite = "strip_pruning_wrappers"
    triggers = ("prune_low_magnitude",)
    modules = ("tensorflow_model_optimization",)
    examples = (
        Example(
            "import tensorflow as tf\nimport tensorflow_model_optimization as tfmot\n\n"
            "model = build()\nmodel = tfmot.sparsity.keras.prune_low_magnitude(model, **params)\n"
            "model.fit(x, y, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])\n"
            "model.save(\"pruned\")  # for serving\n"
            "converter = tf.lite.TFLiteConverter.from_keras_model(model)\n",
            "import tensorflow as tf\nimport tensorflow_model_optimization as tfmot\n\n"
            "model = build()\nmodel = tfmot.sparsity.keras.prune_low_magnitude(model, **params)\n"
            "model.fit(x, y, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])\n"
            "tfmot.sparsity.keras.strip_pruning(model).save(\"pruned\")  # for serving\n"
            "converter = tf.lite.TFLiteConverter.from_keras_model(tfmot.sparsity.keras.strip_pruning(model))\n",
        ),
        Example(
            "import tensorflow as tf\nfrom tensorflow_model_optimization.sparsity import keras as sparsity\n\n"
            "def main():\n    pruned = sparsity.prune_low_magnitude(base)\n"
            "    tf.saved_model.save(obj=pruned, export_dir=out)\n",
            "import tensorflow as tf\nfrom tensorflow_model_optimization.sparsity import keras as sparsity\n\n"
            "def main():\n    pruned = sparsity.prune_low_magnitude(base)\n"
            "    tf.saved_model.save(obj=sparsity.strip_pruning(pruned), export_dir=out)\n",
        ),
        Example(
            "import tf_keras\nfrom tensorflow_model_optimization.sparsity.keras import prune_low_magnitude\n\n"
            "net = prune_low_magnitude(net)\ntf_keras.models.save_model(net, \"net.h5\")\n",
            "import tf_keras\nfrom tensorflow_model_optimization.sparsity.keras import strip_pruning, prune_low_magnitude\n\n"
            "net = prune_low_magnitude(net)\ntf_keras.models.save_model(strip_pruning(net), \"net.h5\")\n",
        ),
        Example(  # the tfmot guide's clone_model(clone_function=...) recipe; a factory that returns the pruned model
            "import tensorflow as tf\nimport tensorflow_model_optimization as tfmot\n\n"
            "def apply_pruning_to_dense(layer):\n    if isinstance(layer, tf.keras.layers.Dense):\n"
            "        return tfmot.sparsity.keras.prune_low_magnitude(layer)\n    return layer\n\n"
            "def make_pruned(base):\n    pruned = tfmot.sparsity.keras.prune_low_magnitude(base)\n"
            "    pruned.compile('adam', 'mse')\n"
            "    return pruned\n\n"
            "model_for_pruning = tf.keras.models.clone_model(base, clone_function=apply_pruning_to_dense)\n"
            "model_for_pruning.save(out)\n"
            "other = make_pruned(base)\ntf.keras.models.save_model(other, out2)\n",
            "import tensorflow as tf\nimport tensorflow_model_optimization as tfmot\n\n"
            "def apply_pruning_to_dense(layer):\n    if isinstance(layer, tf.keras.layers.Dense):\n"
            "        return tfmot.sparsity.keras.prune_low_magnitude(layer)\n    return layer\n\n"
            "def make_pruned(base):\n    pruned = tfmot.sparsity.keras.prune_low_magnitude(base)\n"
            "    pruned.compile('adam', 'mse')\n"
            "    return pruned\n\n"
            "model_for_pruning = tf.keras.models.clone_model(base, clone_function=apply_pruning_to_dense)\n"
            "tfmot.sparsity.keras.strip_pruning(model_for_pruning).save(out)\n"
            "other = make_pruned(base)\ntf.keras.models.save_model(tfmot.sparsity.keras.strip_pruning(other), out2)\n",
        ),
        Example(  # an exported tf.Module of the file that holds the pruned model: it gets the stripped one
            "import tensorflow as tf\nfrom tensorflow_model_optimization.sparsity import keras as sparsity\n\n"
            "class ExportModule(tf.Module):\n    def __init__(self, model):\n        self.model = model\n\n"
            "pruned = sparsity.prune_low_magnitude(base)\nexporter = ExportModule(pruned)\nkept = ExportModule(pruned)\n"
            "tf.saved_model.save(exporter, out)\n",
            "import tensorflow as tf\nfrom tensorflow_model_optimization.sparsity import keras as sparsity\n\n"
            "class ExportModule(tf.Module):\n    def __init__(self, model):\n        self.model = model\n\n"
            "pruned = sparsity.prune_low_magnitude(base)\nexporter = ExportModule(sparsity.strip_pruning(pruned))\n"
            "kept = ExportModule(pruned)\ntf.saved_model.save(exporter, out)\n",
        ),
        Example(  # signatures= serves functions of the wrapped model: stripping only the saved object cannot help
            "import tensorflow as tf\nimport tensorflow_model_optimization as tfmot\n\n"
            "model = tfmot.sparsity.keras.prune_low_magnitude(base)\n"
            "tf.saved_model.save(model, out, signatures={'serving_default': serve})\n",
            warns=1,
        ),
        # Left alone: a clone without a prune call; a factory that may return an unpruned model.
        Example(
            "import tensorflow as tf\nimport tensorflow_model_optimization as tfmot\n\n"
            "def make(base, prune):\n    if prune:\n        return tfmot.sparsity.keras.prune_low_magnitude(base)\n"
            "    return base\n\n"
            "copy = tf.keras.models.clone_model(base, clone_function=lambda layer: layer)\ncopy.save(out)\n"
            "m = make(base, False)\nm.save(out2)\n"
        ),
        # Left alone: already stripped; saved before pruning; a parameter; not tfmot.
        Example(
            "import tensorflow_model_optimization as tfmot\n\n"
            "base.save(\"base.keras\")\nmodel = tfmot.sparsity.keras.prune_low_magnitude(base)\n"
            "model = tfmot.sparsity.keras.strip_pruning(model)\nmodel.save(\"final\")\n"
            "def export(model):\n    model.save(\"x\")\n"
        ),
        Example("from mylib import prune_low_magnitude\n\nm = prune_low_magnitude(m)\nm.save(\"x\")\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Strip(self, ctx, select)
