"""export_keras_model: tf.saved_model.save(keras3_model, dir) -> keras3_model.export(dir)."""

from __future__ import annotations

import functools

import libcst as cst
from libcst.helpers import get_full_name_for_node

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Names, Select, SourceContext, SourceRewrite, SourceTransformer
from rewrites.source._analysis import SAVE, Scopes, argument, class_def, derives, keyword, returns

# Keras 3 only (``import keras``, ``tf.keras`` since TF 2.16): tf_keras models save serving_default correctly.
_MODEL_CLASSES = frozenset({"keras.Model", "keras.models.Model", "keras.Sequential", "keras.models.Sequential"})
_BUILDERS = _MODEL_CLASSES | {"keras.models.load_model", "keras.saving.load_model"}
Chain = tuple[cst.FunctionDef, ...]  # the functions around a name, innermost first


def _builds_model(names: Names, scopes: Scopes, expr: cst.BaseExpression, seen: frozenset[str]) -> bool:
    """A call that returns a Keras 3 model: a constructor, load_model, an application, an in-file subclass, or
    an in-file function every return of which is one of those (read in that function's own scope)."""
    if not isinstance(expr, cst.Call):
        return False
    name = names.qualify(expr.func)
    if name in _BUILDERS or (name and name.startswith("keras.applications.") and name.rsplit(".", 1)[1][:1].isupper()):
        return True
    if not isinstance(expr.func, cst.Name) or name is not None or expr.func.value in seen:
        return False
    local = expr.func.value
    cls = class_def(scopes.all, local)
    if cls is not None:
        return derives(names, scopes.all, cls, _MODEL_CLASSES)
    funcs = scopes.all.functions.get(local, [])
    if len(funcs) != 1:
        return False
    results, inner = returns(funcs[0]), scopes.chain(funcs[0])
    return bool(results) and all(r is not None and _is_keras_model(names, scopes, r, inner, seen | {local}) for r in results)


def _is_keras_model(names: Names, scopes: Scopes, expr: cst.BaseExpression, chain: Chain,
                    seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``expr``, read in the scope ``chain`` (innermost function first), is a Keras 3 model."""
    if isinstance(expr, (cst.Name, cst.Attribute)):
        dotted = get_full_name_for_node(expr) or ""
        key = f"{dotted}@{id(chain[0]) if chain else 0}"  # the same name in two scopes is two names
        if key in seen:
            return False
        values = scopes.values(dotted, chain)
        if values is None:
            return _parameter_is_model(names, scopes, dotted, chain, seen | {key})
        return bool(values) and all(_builds_model(names, scopes, v, seen | {key}) for v in values)
    return _builds_model(names, scopes, expr, seen)


def _is_script(module: cst.Module) -> bool:
    """Whether the file is run as a script (it has an ``if __name__ == "__main__":`` block at module level)."""
    for statement in module.body:
        if isinstance(statement, cst.If) and isinstance(statement.test, cst.Comparison):
            sides = [statement.test.left, *(c.comparator for c in statement.test.comparisons)]
            if any(isinstance(e, cst.Name) and e.value == "__name__" for e in sides):
                return True
    return False


def _parameter_is_model(names: Names, scopes: Scopes, name: str, chain: Chain, seen: frozenset[str]) -> bool:
    """A parameter (``def export(model, path): tf.saved_model.save(model, path)``) is a Keras 3 model when the
    function is the file's only def of its name, is only ever called (never passed around), is called at least
    once, and every call passes a Keras 3 model for it (read in the caller's scope); and when no other file can
    call it: the file is a script (``if __name__ == "__main__":``) or the helper's name is private (``_export``)."""
    found = scopes.parameter(name, chain)
    if found is None:
        return False
    func, position = found
    if not func.name.value.startswith("_") and not _is_script(scopes.module):
        return False  # a public helper of a module others may import: callers we cannot see may pass other objects
    calls = scopes.calls.get(func.name.value, [])
    if scopes.all.functions.get(func.name.value) != [func] or not calls or scopes.reads.get(func.name.value) != len(calls):
        return False
    for call, caller in calls:
        arg = argument(call, position, name) if position is not None else keyword(call, name)
        if arg is None or arg.star or not _is_keras_model(names, scopes, arg.value, caller, seen):
            return False
    return True


class _Export(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.functions: list[cst.FunctionDef] = []  # the functions around the current node, outermost first

    @functools.cached_property
    def scopes(self) -> Scopes:  # walked only once a save call is found
        return Scopes(self.ctx.module)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.functions.pop()
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not self.names.is_(original.func, SAVE) or len(original.args) != 2:
            return updated
        obj, path = argument(original, 0, "obj"), argument(original, 1, "export_dir")
        chain = tuple(reversed(self.functions))
        if obj is None or path is None or not _is_keras_model(self.names, self.scopes, obj.value, chain):
            return updated
        new_obj, new_path = (updated.args[next(i for i, b in enumerate(original.args) if b is a)] for a in (obj, path))
        replacement = updated.with_changes(
            func=cst.Attribute(new_obj.value, cst.Name("export")),
            args=[new_path.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.MaybeSentinel.DEFAULT)],
        )
        return self.edit(original, updated, replacement,
                         "Keras 3 model saved with tf.saved_model.save -> model.export (the input key becomes the Input's name)")


class ExportKerasModel(SourceRewrite):
    """Export a Keras 3 model with model.export instead of tf.saved_model.save.

    What it fixes:
        tf.saved_model.save(model, dir) where model is a Keras 3 model built or loaded in the same file
        (keras.Model / keras.Sequential / keras.models.load_model / keras.saving.load_model /
        keras.applications.X / an instance of a class of the file deriving from keras.Model / a call of a
        function of the file whose every return is one of those; a parameter of a save helper of the file
        every call of which passes one of those, in a script or with a private name), with
        nothing but the model and the directory. Names are read in Python's scopes (a `model` local to
        build_model() and the caller's `model` are two names). Only names every assignment of which (in the
        scope the name resolves to) builds a Keras 3 model are rewritten; tf_keras models (which save serving_default
        correctly), calls with
        signatures= or options= (model.export has no equivalent) and names it cannot resolve are left alone.
    Why it fails:
        docs/facts.md 1i: the save succeeds and the .tflite converts without a word, but its outputs are
        garbage (NaN, 1e31): in the TF1-session view used by the converter and TF Serving the signature
        reads variables the checkpoint never restores. model.export writes a SavedModel whose variables
        bind (measured on TF 2.21 / Keras 3.15: tf.saved_model.save gives diff nan / 4.9e37 against
        Keras, model.export 1.2e-7).
    Safety:
        unsafe: the numbers become right, but the serving contract changes. tf.saved_model.save names
        the input key 'inputs'; model.export names it after the keras.Input ('features', or
        'keras_tensor_N' when unnamed). The output key stays 'output_0'. TF2 code calling
        signatures['serving_default'](inputs=...) must use the new key.
    References:
        docs/facts.md 1i, section 5 (keys per save path) and surprise 6; the model-level counterpart is
        rebind_variables.
    """

    id = "export_keras_model"
    title = "tf.saved_model.save(keras 3 model) -> model.export"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.UNBOUND_VARIABLES, FindingKind.PARITY_MISMATCH, FindingKind.SESSION_LOADER_FAILURE})
    model_rewrite = "rebind_variables"
    triggers = ("saved_model",)
    modules = ("tensorflow.saved_model.save",)
    examples = (
        Example(
            "import keras\nimport tensorflow as tf\n\n"
            "inputs = keras.Input((4,), name=\"features\")\n"
            "model = keras.Model(inputs, keras.layers.Dense(2)(inputs))\n"
            "tf.saved_model.save(model, \"export/model\")  # for serving\n",
            "import keras\nimport tensorflow as tf\n\n"
            "inputs = keras.Input((4,), name=\"features\")\n"
            "model = keras.Model(inputs, keras.layers.Dense(2)(inputs))\n"
            "model.export(\"export/model\")  # for serving\n",
            unsafe=True,
        ),
        Example(
            "import tensorflow as tf\nfrom tensorflow import keras\n\n"
            "class Net(keras.Model):\n    def call(self, x):\n        return x\n\n"
            "class Wide(Net):\n    pass\n\n"
            "net = Wide()\nloaded = keras.saving.load_model(\"m.keras\")\n"
            "tf.saved_model.save(obj=net, export_dir=out)\n"
            "tf.saved_model.save(loaded, out2)\n"
            "tf.compat.v1.saved_model.save(tf.keras.applications.MobileNetV2(weights=None), out3)\n",
            "import tensorflow as tf\nfrom tensorflow import keras\n\n"
            "class Net(keras.Model):\n    def call(self, x):\n        return x\n\n"
            "class Wide(Net):\n    pass\n\n"
            "net = Wide()\nloaded = keras.saving.load_model(\"m.keras\")\n"
            "net.export(out)\n"
            "loaded.export(out2)\n"
            "tf.keras.applications.MobileNetV2(weights=None).export(out3)\n",
            unsafe=True,
        ),
        Example(
            "import keras\nimport tensorflow as tf\n\n"
            "def build_model():\n    model = keras.Sequential([keras.layers.Dense(2)])\n    return model\n\n"
            "def main(out):\n    net = build_model()\n    net.fit(x, y)\n    tf.saved_model.save(net, str(out / \"sm\"))\n",
            "import keras\nimport tensorflow as tf\n\n"
            "def build_model():\n    model = keras.Sequential([keras.layers.Dense(2)])\n    return model\n\n"
            "def main(out):\n    net = build_model()\n    net.fit(x, y)\n    net.export(str(out / \"sm\"))\n",
            unsafe=True,
        ),
        Example(  # the factory's local and the caller's variable share a name: two scopes, two names
            "import tensorflow as tf\nfrom tensorflow import keras\n\n"
            "def build_model():\n    model = keras.Sequential([keras.layers.Dense(2)])\n    model.compile('adam', 'mse')\n"
            "    return model\n\n"
            "def main(path):\n    model = build_model()\n    tf.saved_model.save(model, path)\n",
            "import tensorflow as tf\nfrom tensorflow import keras\n\n"
            "def build_model():\n    model = keras.Sequential([keras.layers.Dense(2)])\n    model.compile('adam', 'mse')\n"
            "    return model\n\n"
            "def main(path):\n    model = build_model()\n    model.export(path)\n",
            unsafe=True,
        ),
        # Left alone: tf_keras; signatures=/options=; a name also bound to something else; a tf.Module;
        # a parameter of unknown type; a function that may return something else; recursion.
        Example("import tf_keras\nimport tensorflow as tf\n\nmodel = tf_keras.Sequential([])\ntf.saved_model.save(model, out)\n"),
        Example(
            "import keras\nimport tensorflow as tf\n\nmodel = keras.Sequential([])\n"
            "tf.saved_model.save(model, out, signatures=f)\n"
            "tf.saved_model.save(model, out, options=tf.saved_model.SaveOptions())\n"
            "if small:\n    model = make_other()\n"
            "tf.saved_model.save(model, out2)\n"
            "tf.saved_model.save(tf.Module(), out3)\n"
            "def save(m, path):\n    tf.saved_model.save(m, path)\n"
            "def make(flag):\n    if flag:\n        return keras.Sequential([])\n    return tf.Module()\n"
            "def loop():\n    return loop()\n"
            "tf.saved_model.save(make(True), out4)\n"
            "tf.saved_model.save(loop(), out5)\n"
        ),
        Example(  # a save helper: every call of it passes a Keras 3 model
            "import keras\nimport tensorflow as tf\n\n"
            "def export(model, export_dir):\n    tf.saved_model.save(model, export_dir)\n\n"
            "def main():\n    model = keras.Sequential([keras.layers.Dense(2)])\n    export(model, 'a')\n"
            "    export(export_dir='b', model=keras.models.load_model('m.keras'))\n\nif __name__ == '__main__':\n    main()\n",
            "import keras\nimport tensorflow as tf\n\n"
            "def export(model, export_dir):\n    model.export(export_dir)\n\n"
            "def main():\n    model = keras.Sequential([keras.layers.Dense(2)])\n    export(model, 'a')\n"
            "    export(export_dir='b', model=keras.models.load_model('m.keras'))\n\nif __name__ == '__main__':\n    main()\n",
            unsafe=True,
        ),
        Example(  # left alone: a helper also called with a tf.Module, one never called, one passed around
            "import keras\nimport tensorflow as tf\n\n"
            "def export(model, export_dir):\n    tf.saved_model.save(model, export_dir)\n\n"
            "def unused(model, d):\n    tf.saved_model.save(model, d)\n\n"
            "def passed(model, d):\n    tf.saved_model.save(model, d)\n\n"
            "export(keras.Sequential([]), 'a')\nexport(tf.Module(), 'b')\n"
            "passed(keras.Sequential([]), 'c')\ncallbacks = [passed]\n\nif __name__ == '__main__':\n    pass\n"
        ),
        Example(  # left alone: a public helper of a module (no __main__ block) that other files may import
            "import keras\nimport tensorflow as tf\n\n"
            "def export(model, export_dir):\n    tf.saved_model.save(model, export_dir)\n\n"
            "export(keras.Sequential([]), 'a')\n"
        ),
        Example(  # the function's model is its parameter, not the module's; a global statement hides the binding
            "import keras\nimport tensorflow as tf\n\nmodel = keras.Sequential([])\n"
            "def save(model, path):\n    tf.saved_model.save(model, path)\n"
            "def reload(path):\n    global model\n    model = load(path)\n    tf.saved_model.save(model, path)\n"
        ),
        Example("import keras\nimport tensorflow as tf\n\nmodel = keras.Sequential([])\n"
                "tf.saved_model.save(model, out)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Export(self, ctx, select)
