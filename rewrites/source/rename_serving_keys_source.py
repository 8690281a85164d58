"""rename_serving_keys_source: serving input/output keys written in the source -> the names from --rename."""

from __future__ import annotations

from collections import Counter

import libcst as cst

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, Select, SourceContext, SourceOptions, SourceRewrite, SourceTransformer
from rewrites.source._analysis import FunctionStack, Scopes, argument, keyword, string_value, tf_function_call

# Calls whose dict arguments are keyed by serving keys: qualified name -> ((position, keyword), ...).
_KEYED = {
    "tensorflow.estimator.export.build_raw_serving_input_receiver_fn": ((0, "features"),),
    "tensorflow.saved_model.predict_signature_def": ((0, "inputs"), (1, "outputs")),
    "tensorflow.saved_model.signature_def_utils.predict_signature_def": ((0, "inputs"), (1, "outputs")),
}
# Calls whose name= becomes the serving input key: qualified name -> position of name (None: keyword only).
_NAMED: dict[str, int | None] = {"tensorflow.TensorSpec": 2, "keras.Input": None, "keras.layers.Input": None,
                                 "tf_keras.Input": None, "tf_keras.layers.Input": None}


class _Rename(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        # A rename whose new key is itself renamed would never settle (a -> b, b -> c; a <-> b).
        self.renames = {old: new for old, new in self.options.renames.items() if new not in self.options.renames and old != new}
        self.serving: list[bool] = []  # per enclosing function: a tf.function with an input_signature
        # name=INPUT_NAME: the string literal the constant is bound to (id of the node -> why), renamed where it is
        # written, so every other use of the constant (a feed dict, get_layer) follows.
        self.constants: dict[int, str] = self._constants() if self.renames else {}

    def _constants(self) -> dict[int, str]:
        """The literals of constants used as name= (id -> why). A constant is renamed only when every read of it
        names the model's key (a name=, a feed dict's key, get_layer(...)); one read for anything else (a CSV
        column, a record's field) could break the script, so that constant is only warned about."""
        scopes = Scopes(self.ctx.module)
        names, found, reads, keyed = self.names, {}, Counter[str](), Counter[str]()

        class Find(FunctionStack):
            def visit_Name(self, node: cst.Name) -> None:
                reads[node.value] += 1

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                node.value.visit(self)  # ``x.NAME`` reads x, not NAME
                return False

            def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
                if isinstance(node.target, cst.Name):
                    reads[node.target.value] -= 1  # a binding, not a read

            def visit_DictElement(self, node: cst.DictElement) -> None:
                if isinstance(node.key, cst.Name):
                    keyed[node.key.value] += 1

            def visit_Call(self, node: cst.Call) -> None:
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "get_layer" and node.args \
                        and isinstance(node.args[0].value, cst.Name):
                    keyed[node.args[0].value.value] += 1
                qualified = names.qualify(node.func) or ""
                if qualified not in _NAMED:
                    return
                position = _NAMED[qualified]
                arg = argument(node, position, "name") if position is not None else keyword(node, "name")
                if arg is None or not isinstance(arg.value, cst.Name):
                    return
                keyed[arg.value.value] += 1
                values = scopes.values(arg.value.value, tuple(reversed(self.functions))) or []
                if values and all(isinstance(v, cst.SimpleString) for v in values):
                    for value in values:
                        found[id(value)] = arg.value.value

        self.ctx.module.visit(Find())
        return {key: f"{constant}, name= of an input" if reads[constant] == keyed[constant] else "" for key, constant
                in found.items()}

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        where = self.constants.get(id(original))
        if where == "" and self.renames.get(string_value(original) or "") is not None:
            self.warn(original, f"{self.ctx.module.code_for_node(original)} names a serving input and is also read for "
                                "something else: rename the input's key by hand (name=) or add the constant's new value")
            return updated
        return self._string(original, updated, where) if where else updated

    def _string(self, original: cst.BaseExpression, updated: cst.BaseExpression, where: str) -> cst.BaseExpression:
        """A string literal equal to an old key -> the new key, same prefix and quotes."""
        old = string_value(original)
        new = self.renames.get(old) if old is not None else None
        if new is None or not isinstance(original, cst.SimpleString) or "b" in original.prefix.lower():
            return updated
        quote = original.quote
        if quote[0] in new or "\\" in new or "\n" in new:
            return updated
        replacement = cst.SimpleString(f"{original.prefix}{quote}{new}{quote}")
        return self.edit(original, updated, replacement, f"serving key {old!r} -> {new!r} ({where})")

    def _dict(self, original: cst.BaseExpression, updated: cst.BaseExpression, where: str) -> cst.BaseExpression:
        if not isinstance(original, cst.Dict) or not isinstance(updated, cst.Dict):
            return updated
        keys = {k for e in original.elements if isinstance(e, cst.DictElement) and (k := string_value(e.key)) is not None}
        elements = [new.with_changes(key=self._string(old.key, new.key, where))
                    if isinstance(old, cst.DictElement) and isinstance(new, cst.DictElement)
                    and self.renames.get(string_value(old.key) or "") not in keys else new  # never collide with a kept key
                    for old, new in zip(original.elements, updated.elements)]
        return updated.with_changes(elements=elements)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not self.renames:
            return updated
        qualified = self.names.qualify(original.func) or ""
        if qualified in _KEYED:
            targets = [argument(original, position, name) for position, name in _KEYED[qualified]]
        elif qualified in _NAMED:
            position = _NAMED[qualified]
            targets = [argument(original, position, "name") if position is not None else keyword(original, "name")]
        else:
            return updated
        args = list(updated.args)
        short = qualified.rsplit(".", 1)[1]
        for target in targets:
            if target is None:
                continue
            index = next(i for i, a in enumerate(original.args) if a is target)
            change = self._dict if qualified in _KEYED else self._string
            args[index] = args[index].with_changes(value=change(target.value, args[index].value, short))
        return updated.with_changes(args=args)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        calls = [tf_function_call(self.names, d) for d in node.decorators]
        self.serving.append(any(isinstance(c, cst.Call) and keyword(c, "input_signature") is not None for c in calls))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.serving.pop()
        return updated

    def leave_Return(self, original: cst.Return, updated: cst.Return) -> cst.Return:
        if not self.renames or not self.serving or not self.serving[-1] or original.value is None or updated.value is None:
            return updated
        return updated.with_changes(value=self._dict(original.value, updated.value, "output of a served tf.function"))


class RenameServingKeysSource(SourceRewrite):
    """Rename serving input and output keys where the source writes them, from --rename old=new.

    What it fixes:
        String literals equal to an old key (SourceOptions.renames) in: the features dict of
        tf.estimator.export.build_raw_serving_input_receiver_fn; the inputs and outputs dicts of
        (tf.compat.v1.)saved_model.predict_signature_def and signature_def_utils.predict_signature_def;
        name= of tf.TensorSpec (also its third positional argument) and keras.Input / tf_keras.Input,
        which become the signature's input keys (a name= that is a name bound only to such a literal,
        INPUT_NAME = "input_features", is renamed where the literal is written, so the constant's other
        uses follow, when every use names the model's key: name=, a feed dict's key, get_layer(); any
        other use is a warning); the keys of a dict returned by a
        @tf.function(input_signature=...), which become its output keys. Quote style and prefix stay.
        Left alone without --rename, and for renames that chain or swap (a -> b with b -> c), which
        could not settle. The signatures={...} dict of tf.saved_model.save holds signature names, not
        serving keys, so it is not touched (use --signature for those).
    Why it fails:
        Key mismatches never fail conversion; they fail consumers: "Invalid Input name (features) for
        SignatureDef" in the .tflite runner, "missing a required argument" in TF2, "is not a valid input
        key" in saved_model_cli.
    Safety:
        unsafe: the contract changes for every existing client, and other uses of the same name
        (model.get_layer("old"), dicts fed to model.fit) are not followed. Giving --rename is the consent.
    References:
        docs/facts.md section 5 (measured on TF 2.21: the TensorSpec name=, not the parameter name, is the
        input key; a returned dict's keys are the output keys). The model-level counterpart is
        rename_serving_keys.
    """

    id = "rename_serving_keys_source"
    title = "rename serving keys in the source from --rename"
    safety = Safety.UNSAFE
    answers = frozenset({FindingKind.SERVING_KEY_MISMATCH})
    model_rewrite = "rename_serving_keys"
    triggers = ("TensorSpec", "Input(", "signature_def", "serving_input_receiver")
    modules = (*_KEYED, *_NAMED, "tensorflow.function")
    _RENAMES = SourceOptions(renames={"input_features": "features", "scores": "probabilities"})
    examples = (
        Example(
            "import tensorflow.compat.v1 as tf\n\n"
            "sig = tf.saved_model.predict_signature_def(inputs={'input_features': x}, outputs={\"scores\": y})\n"
            "fn = tf.estimator.export.build_raw_serving_input_receiver_fn({'input_features': x})\n",
            "import tensorflow.compat.v1 as tf\n\n"
            "sig = tf.saved_model.predict_signature_def(inputs={'features': x}, outputs={\"probabilities\": y})\n"
            "fn = tf.estimator.export.build_raw_serving_input_receiver_fn({'features': x})\n",
            options=_RENAMES, unsafe=True,
        ),
        Example(
            "import tensorflow as tf\nimport keras\n\n"
            "class Model(tf.Module):\n"
            "    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, 'input_features')])\n"
            "    def serve(self, input_features):\n"
            "        return {\"scores\": input_features}  # keys are the output keys\n\n"
            "inp = keras.Input((4,), name=\"input_features\")\n",
            "import tensorflow as tf\nimport keras\n\n"
            "class Model(tf.Module):\n"
            "    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, 'features')])\n"
            "    def serve(self, input_features):\n"
            "        return {\"probabilities\": input_features}  # keys are the output keys\n\n"
            "inp = keras.Input((4,), name=\"features\")\n",
            options=_RENAMES, unsafe=True,
        ),
        Example(  # a module constant as name=: renamed where it is written, so its other uses follow
            "import keras\n\nINPUT_NAME = 'input_features'\n\n"
            "def build():\n    inputs = keras.Input(shape=(4,), name=INPUT_NAME)\n    return inputs\n\n"
            "feed = {INPUT_NAME: x}\n",
            "import keras\n\nINPUT_NAME = 'features'\n\n"
            "def build():\n    inputs = keras.Input(shape=(4,), name=INPUT_NAME)\n    return inputs\n\n"
            "feed = {INPUT_NAME: x}\n",
            options=_RENAMES, unsafe=True,
        ),
        Example(  # a constant also read for something else (a CSV column) is only warned about
            "import keras\n\nINPUT_NAME = 'input_features'\ninputs = keras.Input(shape=(4,), name=INPUT_NAME)\n"
            "x = frame[INPUT_NAME]\n",
            options=_RENAMES, warns=1,
        ),
        Example(  # a constant bound to something else too is not followed
            "import keras\n\nNAME = 'input_features'\nif other:\n    NAME = make_name()\n"
            "inputs = keras.Input(shape=(4,), name=NAME)\n",
            options=_RENAMES,
        ),
        # Left alone: no renames; other strings equal to the key; a chain of renames; signature names.
        Example("import tensorflow as tf\n\nspec = tf.TensorSpec([None, 4], tf.float32, name='input_features')\n"),
        Example(
            "import tensorflow as tf\n\nspec = tf.TensorSpec([None, 4], tf.float32, name='a')\n"
            "feed = {'input_features': x}\nlog('input_features')\n"
            "def helper():\n    return {'scores': 1}\n"
            "tf.saved_model.save(m, out, signatures={'input_features': f})\n",
            options=SourceOptions(renames={"a": "b", "b": "c", "input_features": "features", "scores": "probabilities"}),
        ),
    )

    def active(self, options: SourceOptions) -> bool:
        return bool(options.renames)

    def consented(self, options: SourceOptions) -> bool:
        return bool(options.renames)

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Rename(self, ctx, select)
