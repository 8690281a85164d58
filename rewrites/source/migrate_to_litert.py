"""migrate_to_litert: tf.lite.Interpreter / tflite_runtime.interpreter -> ai_edge_litert.interpreter."""

from __future__ import annotations

import enum
import functools
import importlib.util
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node

from repair.core.findings import FindingKind
from repair.core.safety import Safety
from repair.source.rewrite import Example, NewImport, Select, SourceContext, SourceRewrite, SourceTransformer, canonical
from rewrites.source._analysis import Bindings

_TARGET = "ai_edge_litert.interpreter"
# What ai_edge_litert.interpreter has under the same name and signature as the old modules (checked against
# ai-edge-litert 2.3 and TF 2.21: Interpreter's keywords are a superset of tf.lite.Interpreter's, in the same order).
_MEMBERS = frozenset({"Interpreter", "load_delegate", "OpResolverType", "SignatureRunner", "Delegate"})
# Modules whose whole public API is ai_edge_litert.interpreter's (the same file, shipped in three packages).
_MODULES = ("tflite_runtime.interpreter", "tensorflow.lite.python.interpreter")
# The public tf.lite spellings of the same objects.
_TF_PUBLIC = {
    "tensorflow.lite.Interpreter": "Interpreter",
    "tensorflow.lite.experimental.load_delegate": "load_delegate",
    "tensorflow.lite.experimental.OpResolverType": "OpResolverType",
}
# tf.lite.Interpreter's parameters, in order (TF 2.21); ai_edge_litert's Interpreter takes the same ones first.
_PARAMS = ("model_path", "model_content", "experimental_delegates", "num_threads", "experimental_op_resolver_type",
           "experimental_preserve_all_tensors", "experimental_disable_delegate_clustering",
           "experimental_default_delegate_latest_features")
_RESOLVER = "experimental_op_resolver_type"
_CUSTOM_OPS = ("InterpreterWithCustomOps: its custom_op_registerers name functions linked into the old wrapper, "
               "which ai_edge_litert's does not hold")


_NOT_INSTALLED = ("ai_edge_litert is not installed in the Python running the codemod (pip install ai-edge-litert): "
                  "the migrated script would fail on its import")


class _Kind(enum.Enum):
    """What the migration does with one import binding."""

    MOVE = "move"  # the import is rewritten in place
    REF = "ref"  # it stays and its uses are rewritten one by one
    MOVE_IF_FALLBACK = "move-if-fallback"  # `import tensorflow.lite as tflite`: MOVE beside a tflite_runtime import, else REF
    BLOCKED = "blocked"  # not migrated; the reason goes with it
    OTHER = "other"  # nothing to do with the interpreter


@functools.cache
def _litert_installed() -> bool:
    """Whether ``ai_edge_litert`` can be imported here (located, never imported): a migration to a package the
    user does not have would turn a working script into one that fails on its first line."""
    return importlib.util.find_spec("ai_edge_litert") is not None


def old_member(qualified: str | None) -> str | None:
    """``tensorflow.lite.Interpreter`` / ``tflite_runtime.interpreter.load_delegate`` ... -> the member name
    ai_edge_litert.interpreter has for it; ``InterpreterWithCustomOps`` for that one (it does not map)."""
    if not qualified:
        return None
    if qualified in _TF_PUBLIC:
        return _TF_PUBLIC[qualified]
    for module in _MODULES:
        if qualified.startswith(module + "."):
            rest = qualified[len(module) + 1:]
            if rest in _MEMBERS or rest == "InterpreterWithCustomOps":
                return rest
    return None


def _module_of(dotted: str) -> str | None:
    """The old module an import names (``tensorflow.lite`` counts: its alias may stand for the interpreter module)."""
    if dotted in _MODULES or dotted == "tensorflow.lite":
        return dotted
    return None


def _target_expr(dotted_name: str) -> cst.BaseExpression:
    head, *rest = dotted_name.split(".")
    expr: cst.BaseExpression = cst.Name(head)
    for part in rest:
        expr = cst.Attribute(expr, cst.Name(part))
    return expr


@dataclass
class _Plan:
    """The whole file read before anything is edited: the migration is all or nothing."""

    moved_imports: set[int] = field(default_factory=set)  # id() of Import/ImportFrom statements rewritten in place
    moved_locals: set[str] = field(default_factory=set)  # names those imports bind: their uses keep their spelling
    blockers: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


class _Scan(cst.CSTVisitor):
    """Every old import, every attribute used through each local name, every call of an old Interpreter."""

    def __init__(self) -> None:
        super().__init__()
        self.imports: list[tuple[cst.Import | cst.ImportFrom, list[tuple[str, str]]]] = []  # statement, (local, target)
        self.attrs: dict[str, set[str]] = {}  # local name -> first attributes used through it
        self.calls: list[cst.Call] = []
        self.attributes: list[cst.Attribute] = []

    def visit_Import(self, node: cst.Import) -> bool:
        bound = []
        for alias in node.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                bound.append((get_full_name_for_node(alias.asname.name) or "", dotted))
            else:
                bound.append((dotted.split(".")[0], dotted))
        self.imports.append((node, bound))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.module is None or node.relative or isinstance(node.names, cst.ImportStar):
            return False
        base = get_full_name_for_node(node.module) or ""
        bound = []
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            local = get_full_name_for_node(alias.asname.name) if alias.asname is not None else name
            bound.append((local or name, f"{base}.{name}"))
        self.imports.append((node, bound))
        return False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes.append(node)
        if isinstance(node.value, cst.Name):
            self.attrs.setdefault(node.value.value, set()).add(node.attr.value)

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)


class _Migrate(SourceTransformer):
    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__(rewrite, ctx, select)
        self.plan = _Plan()
        self._in_import = 0

    # -- reading the file -------------------------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        scan = _Scan()
        node.visit(scan)
        plan = self.plan
        by_local: dict[str, list[tuple[cst.Import | cst.ImportFrom, str]]] = {}
        for statement, bound in scan.imports:
            for local, target in bound:
                by_local.setdefault(local, []).append((statement, target))
        for local, bindings in by_local.items():
            found = [self._import_kind(statement, target, local, scan) for statement, target in bindings]
            if all(k is _Kind.OTHER for k, _ in found):
                continue
            blocked = [why for k, why in found if k is _Kind.BLOCKED]
            if blocked:
                plan.blockers.append((bindings[0][0], blocked[0]))
                continue
            # `import tensorflow.lite as tflite` moves only as the fallback of a tflite_runtime import; bound
            # alone, its uses are rewritten one by one (it may also name the converter).
            fallback = any(k is _Kind.MOVE for k, _ in found)
            kinds = [(_Kind.MOVE if fallback else _Kind.REF) if k is _Kind.MOVE_IF_FALLBACK else k for k, _ in found]
            if _Kind.MOVE in kinds and len(set(kinds)) > 1:
                plan.blockers.append((bindings[0][0], f"`{local}` is bound by several imports, not all of them the "
                                                      "interpreter module"))
                continue
            if all(k is _Kind.MOVE for k in kinds):
                plan.moved_locals.add(local)
                plan.moved_imports.update(id(statement) for statement, _ in bindings)
        # A from-import that mixes moving names with others would have to be split: not done automatically.
        for statement, bound in scan.imports:
            if isinstance(statement, cst.ImportFrom) and id(statement) in plan.moved_imports \
                    and not all(local in plan.moved_locals for local, _ in bound):
                plan.moved_imports.discard(id(statement))
                plan.blockers.append((statement, "imports interpreter names together with other names: split the "
                                                 "import first"))
        module_bindings = Bindings(node)
        for call in scan.calls:
            self._check_call(call, module_bindings, plan)
        # The names a use-by-use rewrite imports must be free: a class or function of that name would be shadowed.
        for attribute in scan.attributes:
            head = attribute
            while isinstance(head, cst.Attribute):
                head = head.value  # type: ignore[assignment]
            if not isinstance(head, cst.Name) or head.value in plan.moved_locals:
                continue
            member = old_member(self.names.qualify(attribute))
            if member in _MEMBERS:
                bound = self.names.bound.get(member)
                mine = bound is not None and (bound == f"{_TARGET}.{member}" or old_member(canonical(bound)) == member)
                if (bound is not None and not mine) or member in module_bindings.classes or member in module_bindings.functions:
                    plan.blockers.append((attribute, f"the file already binds `{member}` to something else"))
        if not plan.blockers and not _litert_installed():
            targets: list[cst.CSTNode] = [s for s, _ in scan.imports if id(s) in plan.moved_imports]
            targets += [a for a in scan.attributes if old_member(self.names.qualify(a)) in _MEMBERS]
            if targets:
                plan.blockers.append((targets[0], _NOT_INSTALLED))
        if plan.blockers:
            for where, why in plan.blockers:
                self.warn(where, f"not migrated to ai_edge_litert.interpreter: {why}")

    def _import_kind(self, statement: cst.Import | cst.ImportFrom, target: str, local: str,
                     scan: _Scan) -> tuple[_Kind, str]:
        """What to do with one binding of an import, and why when it is ``BLOCKED`` ("" otherwise)."""
        member = old_member(target)
        if member == "InterpreterWithCustomOps":
            return _Kind.BLOCKED, _CUSTOM_OPS
        if member is not None:
            return _Kind.MOVE, ""  # from M import Interpreter / from tensorflow.lite import Interpreter
        module = _module_of(target)
        if module is None:
            return _Kind.OTHER, ""
        if isinstance(statement, cst.Import) and local == target.split(".")[0] != target:  # no alias: binds the head
            if module != "tflite_runtime.interpreter":
                return _Kind.REF, ""  # `import tensorflow.lite...`: `tensorflow` stays; its uses are rewritten one by one
            # The import moves (it would fail where tflite_runtime is not installed) and so does every
            # `tflite_runtime.interpreter` its uses spell.
            extra = sorted(scan.attrs.get(local, set()) - {"interpreter"})
            return (_Kind.BLOCKED, f"`{local}.{extra[0]}` is not the interpreter module") if extra else (_Kind.MOVE, "")
        used = scan.attrs.get(local, set())
        if module == "tensorflow.lite":
            return (_Kind.MOVE_IF_FALLBACK if used <= _MEMBERS else _Kind.REF), ""
        if "InterpreterWithCustomOps" in used:
            return _Kind.BLOCKED, _CUSTOM_OPS
        unknown = sorted(used - _MEMBERS)
        if unknown:
            return _Kind.BLOCKED, f"`{local}.{unknown[0]}` has no same-named LiteRT counterpart checked here"
        return _Kind.MOVE, ""

    def _check_call(self, call: cst.Call, bindings: Bindings, plan: _Plan) -> None:
        member = old_member(self.names.qualify(call.func))
        if member == "InterpreterWithCustomOps":
            plan.blockers.append((call, _CUSTOM_OPS))
            return
        if member != "Interpreter":
            return
        positional = 0
        for arg in call.args:
            if arg.star:
                plan.blockers.append((call, f"`{arg.star}` arguments: the keywords (and an OpResolverType, which "
                                            "ai_edge_litert rejects from tf.lite) cannot be checked"))
                return
            name = arg.keyword.value if arg.keyword is not None else (_PARAMS[positional] if positional < len(_PARAMS) else "")
            if arg.keyword is None:
                positional += 1
            if name not in _PARAMS:
                plan.blockers.append((call, f"argument `{name or 'positional'}` is not one of tf.lite.Interpreter's"))
                return
            if name == _RESOLVER and not self._is_resolver(arg.value, bindings):
                plan.blockers.append((call, "experimental_op_resolver_type is not spelled as an OpResolverType member: "
                                            "ai_edge_litert raises ValueError on tf.lite's OpResolverType"))
                return

    def _is_resolver(self, expr: cst.BaseExpression, bindings: Bindings, depth: int = 0) -> bool:
        """An OpResolverType member this migration rewrites too (or ai_edge_litert's own)."""
        if isinstance(expr, cst.Attribute):
            owner = self.names.qualify(expr.value)
            return old_member(owner) == "OpResolverType" or owner == f"{_TARGET}.OpResolverType"
        if isinstance(expr, cst.Name) and depth < 3:
            values = bindings.only(expr.value)
            return bool(values) and all(self._is_resolver(v, bindings, depth + 1) for v in values or [])
        return False

    # -- editing ----------------------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        self._in_import += 1
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self._in_import += 1
        return False

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        self._in_import -= 1
        if self.plan.blockers or id(original) not in self.plan.moved_imports:
            return updated
        aliases = []
        for alias in updated.names:
            dotted = get_full_name_for_node(alias.name) or ""
            aliases.append(alias.with_changes(name=_target_expr(_TARGET)) if _module_of(dotted) else alias)
        return self.edit(original, updated, updated.with_changes(names=aliases),
                         "import the LiteRT interpreter (ai_edge_litert.interpreter: same API; pip install ai-edge-litert)")

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        self._in_import -= 1
        if self.plan.blockers or id(original) not in self.plan.moved_imports or updated.module is None:
            return updated
        base = get_full_name_for_node(updated.module) or ""
        if _module_of(base) or base in ("tensorflow.lite", "tensorflow.lite.experimental"):
            module = _target_expr(_TARGET)  # from tflite_runtime.interpreter import Interpreter
        else:
            module = _target_expr("ai_edge_litert")  # from tflite_runtime import interpreter
        return self.edit(original, updated, updated.with_changes(module=module),
                         "import from the LiteRT interpreter (ai_edge_litert.interpreter: same API; pip install ai-edge-litert)")

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if self.plan.blockers or self._in_import:
            return updated
        head = original
        while isinstance(head, cst.Attribute):
            head = head.value  # type: ignore[assignment]
        if isinstance(head, cst.Name) and head.value == "tflite_runtime" and head.value in self.plan.moved_locals:
            if original.value is head and original.attr.value == "interpreter":  # the module an alias-less import binds
                return self.edit(original, updated, _target_expr(_TARGET), "tflite_runtime.interpreter -> "
                                 "ai_edge_litert.interpreter (same API; pip install ai-edge-litert)")
            return updated
        if not isinstance(head, cst.Name) or head.value in self.plan.moved_locals:
            return updated
        member = old_member(self.names.qualify(original))
        if member is None or member == "InterpreterWithCustomOps":
            return updated
        spelled = self.ctx.module.code_for_node(original)
        return self.edit(original, updated, cst.Name(member), f"{spelled} -> ai_edge_litert.interpreter.{member} "
                         "(same API; pip install ai-edge-litert)", imports=[NewImport(_TARGET, member)],
                         replaces=head.value)


class MigrateToLitert(SourceRewrite):
    """Move tf.lite.Interpreter and tflite_runtime to the LiteRT interpreter (ai_edge_litert.interpreter).

    What it fixes:
        Scripts that run a .tflite with ``tf.lite.Interpreter`` (deprecated: it warns on every construction
        that it is scheduled for deletion), ``tf.lite.experimental.load_delegate``, or the frozen
        ``tflite_runtime`` package (no wheels after Python 3.11). Imports of ``tflite_runtime.interpreter`` or
        ``tensorflow.lite.python.interpreter`` (``import ... as tflite``, ``from ... import Interpreter,
        load_delegate``, the ``try: tflite_runtime / except ImportError: tensorflow.lite`` fallback) are
        rewritten in place; ``tf.lite.Interpreter``, ``tf.lite.experimental.load_delegate`` and
        ``tf.lite.experimental.OpResolverType`` spelled through ``tf`` become the names imported from
        ``ai_edge_litert.interpreter``, and an import left unused is removed. Strings and comments are not code.
    Why it fails:
        docs/facts.md section 10: ai_edge_litert is the successor runtime and the one users can install on current
        Python; tf.lite.Interpreter is scheduled for deletion. Measured (TF 2.21, ai-edge-litert 2.3): the
        constructor keywords of tf.lite.Interpreter are all accepted, in the same order, by
        ai_edge_litert's (which adds experimental_compress_quantization_zero_points); load_delegate takes the
        same (library, options); a Delegate from either is accepted by either. One thing does not carry over:
        ai_edge_litert raises ``ValueError: Unrecognized passed in op resolver type`` on tf.lite's
        OpResolverType enum, so the enum is migrated with the interpreter. Neither interpreter runs Flex ops.
    Safety:
        safe when every argument maps 1:1: the migration is made for the whole file or not at all. It is
        display-only (nothing edited, the reason shown) when an Interpreter call passes ``*args``/``**kwargs``
        or an op resolver the file does not spell as an OpResolverType member, when InterpreterWithCustomOps
        is used (its registerers name functions of the old wrapper), when a from-import mixes interpreter names
        with others, when the name to import is already bound to something else, or when ai_edge_litert is
        not installed in the Python that runs the codemod (the rewritten script would fail on its import).
    References:
        docs/facts.md section 10; the LiteRT migration guide (https://ai.google.dev/edge/litert/migration).
    """

    id = "migrate_to_litert"
    title = "tf.lite.Interpreter / tflite_runtime -> ai_edge_litert.interpreter"
    safety = Safety.SAFE
    # No model finding is about the script's runtime; the interpreter one is the nearest (``repair fix --source``
    # offers it beside an interpreter failure, or at the end).
    answers = frozenset({FindingKind.INTERPRETER_FAILURE})
    model_rewrite = None
    triggers = ("Interpreter", "load_delegate", "OpResolverType", "tflite_runtime")
    modules = ("tensorflow.lite", "tflite_runtime")
    examples = (
        Example(
            "import numpy as np\nimport tensorflow as tf\n\nblob = tf.lite.TFLiteConverter.from_saved_model('m').convert()\n"
            "interpreter = tf.lite.Interpreter(model_content=blob, num_threads=2)\n"
            "# tf.lite.Interpreter is deprecated\nprint(\"tf.lite.Interpreter\")\n",
            "import numpy as np\nimport tensorflow as tf\nfrom ai_edge_litert.interpreter import Interpreter\n\n"
            "blob = tf.lite.TFLiteConverter.from_saved_model('m').convert()\n"
            "interpreter = Interpreter(model_content=blob, num_threads=2)\n"
            "# tf.lite.Interpreter is deprecated\nprint(\"tf.lite.Interpreter\")\n",
        ),
        Example(
            "import tflite_runtime.interpreter as tflite\n\n"
            "it = tflite.Interpreter(model_path, experimental_delegates=[tflite.load_delegate('libedgetpu.so.1')])\n",
            "import ai_edge_litert.interpreter as tflite\n\n"
            "it = tflite.Interpreter(model_path, experimental_delegates=[tflite.load_delegate('libedgetpu.so.1')])\n",
        ),
        Example(
            "try:\n    from tflite_runtime.interpreter import Interpreter, load_delegate\n"
            "except ImportError:\n    from tensorflow.lite.python.interpreter import Interpreter, load_delegate\n\n"
            "it = Interpreter(model_path='m.tflite')\n",
            "try:\n    from ai_edge_litert.interpreter import Interpreter, load_delegate\n"
            "except ImportError:\n    from ai_edge_litert.interpreter import Interpreter, load_delegate\n\n"
            "it = Interpreter(model_path='m.tflite')\n",
        ),
        Example(  # the enum moves with the interpreter: ai_edge_litert rejects tf.lite's
            "import tensorflow as tf\n\n"
            "it = tf.lite.Interpreter(model_path='m.tflite',\n"
            "                         experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,\n"
            "                         experimental_preserve_all_tensors=True)\n"
            "d = tf.lite.experimental.load_delegate('libdelegate.so')\n",
            "from ai_edge_litert.interpreter import Interpreter, OpResolverType, load_delegate\n\n"
            "it = Interpreter(model_path='m.tflite',\n"
            "                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF,\n"
            "                         experimental_preserve_all_tensors=True)\n"
            "d = load_delegate('libdelegate.so')\n",
        ),
        Example(  # an alias only used for the interpreter is removed
            "import tensorflow.lite as tfl\n\nit = tfl.Interpreter(model_content=blob)\n",
            "from ai_edge_litert.interpreter import Interpreter\n\nit = Interpreter(model_content=blob)\n",
        ),
        Example(
            "try:\n    import tflite_runtime.interpreter as tflite\nexcept ImportError:\n    import tensorflow.lite as tflite\n\n"
            "it = tflite.Interpreter(model_path='m.tflite')\n",
            "try:\n    import ai_edge_litert.interpreter as tflite\nexcept ImportError:\n"
            "    import ai_edge_litert.interpreter as tflite\n\n"
            "it = tflite.Interpreter(model_path='m.tflite')\n",
        ),
        Example(  # an alias-less import moves with every path that spells it
            "import tflite_runtime.interpreter\n\nit = tflite_runtime.interpreter.Interpreter(model_path='m.tflite')\n",
            "import ai_edge_litert.interpreter\n\nit = ai_edge_litert.interpreter.Interpreter(model_path='m.tflite')\n",
        ),
        Example(  # the compat spelling, a class reference and positional arguments in tf.lite.Interpreter's order
            "import tensorflow.compat.v1 as tf\n\nclass Runner(tf.lite.Interpreter):\n    pass\n\n"
            "it = tf.lite.Interpreter('m.tflite', None, None, 2, tf.lite.experimental.OpResolverType.AUTO)\n",
            "from ai_edge_litert.interpreter import Interpreter, OpResolverType\n\nclass Runner(Interpreter):\n    pass\n\n"
            "it = Interpreter('m.tflite', None, None, 2, OpResolverType.AUTO)\n",
        ),
        # Display-only: **kwargs may carry tf.lite's OpResolverType; a resolver read from elsewhere; custom ops.
        Example("import tensorflow as tf\n\nit = tf.lite.Interpreter(**options)\n", warns=1),
        Example("import tensorflow as tf\n\ndef load(resolver):\n"
                "    return tf.lite.Interpreter(model_path='m.tflite', experimental_op_resolver_type=resolver)\n", warns=1),
        Example("import tensorflow as tf\n\nclass Interpreter:\n    pass\n\nit = tf.lite.Interpreter(model_content=blob)\n",
                warns=1),
        Example("from tensorflow.lite import Interpreter, TFLiteConverter\n\nit = Interpreter(model_content=blob)\n",
                warns=1),
        Example("from tflite_runtime.interpreter import InterpreterWithCustomOps\n\n"
                "it = InterpreterWithCustomOps(custom_op_registerers=['TF_AddOps'], model_path='m.tflite')\n", warns=2),
        # Left alone: the converter, ai_edge_litert itself, text that names the old API, an ignore comment.
        Example("import tensorflow as tf\n\nblob = tf.lite.TFLiteConverter.from_saved_model('m').convert()\n"),
        Example("from ai_edge_litert.interpreter import Interpreter\n\nit = Interpreter(model_content=blob)\n"),
        Example("import tensorflow as tf\n\nprint('use tf.lite.Interpreter(model_content=blob)')\n"),
        Example("import tensorflow as tf\n\nit = tf.lite.Interpreter(model_content=blob)  # repair: ignore\n"),
    )

    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        return _Migrate(self, ctx, select)
