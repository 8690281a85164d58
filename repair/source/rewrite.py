"""The contract every source rewrite implements: a pure libcst transformer with its own examples.

A source rewrite is the source form of a catalog fix: it edits the Python that builds and exports a
model so that the next export is right. It never imports or runs the user's code, and nothing here
imports TensorFlow. A rewrite proposes *sites*; every site is decided (accepted or rejected) before
it is applied, so one pass of a transformer can apply any subset of its own proposals:

    transformer = rewrite.transformer(context, select)   # select(site) -> apply this one?
    new_module = MetadataWrapper(module).visit(transformer)
    transformer.sites                                      # every site it found, applied or not

Names are resolved through the file's imports (``import tensorflow as tf``, ``from tensorflow.experimental
import numpy as tnp``, ``from tensorflow import keras`` ...), so a rewrite matches qualified names, never
spellings. A line that carries ``# repair: ignore`` (or ``# repair: ignore[rewrite_id, ...]``) is left alone.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from repair.core.findings import FindingKind
from repair.core.safety import Safety

# Spellings of one module under another name; matching happens on the canonical form.
_CANONICAL_PREFIXES = (
    ("tensorflow.compat.v2.", "tensorflow."),
    ("tensorflow.compat.v1.", "tensorflow."),
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.keras.", "keras."),
)
_CANONICAL_EXACT = {
    "tensorflow.compat.v2": "tensorflow",
    "tensorflow.compat.v1": "tensorflow",
    "tensorflow.keras": "keras",
    "tensorflow.python.keras": "keras",
}
def _spellings(name: str) -> list[str]:
    """Every spelling ``canonical`` maps to ``name``, ``name`` included."""
    found = [name]
    for prefix, replacement in _CANONICAL_PREFIXES:
        if name.startswith(replacement):
            found.append(prefix + name[len(replacement):])
    found += [spelled for spelled, canon in _CANONICAL_EXACT.items() if canon == name]
    return found


_IGNORE = re.compile(r"#\s*repair:\s*ignore(?:\[([^\]]*)\])?")


def canonical(name: str) -> str:
    """One spelling per API: ``tensorflow.compat.v1.while_loop`` -> ``tensorflow.while_loop``, ``tensorflow.keras.X`` ->
    ``keras.X`` (Keras 3 since TF 2.16). ``tf_keras.X`` stays apart: Keras 2 saves differently."""
    if name in _CANONICAL_EXACT:
        return _CANONICAL_EXACT[name]
    for prefix, replacement in _CANONICAL_PREFIXES:
        if name.startswith(prefix):
            return replacement + name[len(prefix):]
    return name


class Names:
    """What each imported name stands for in one file (every import statement, at any depth)."""

    def __init__(self, statements: Sequence[cst.Import | cst.ImportFrom]) -> None:
        self.bound: dict[str, str] = {}
        self.statement: dict[str, tuple[str, str | None, str | None]] = {}  # local -> (module, obj, asname)
        for node in statements:
            if isinstance(node, cst.Import):
                for alias in node.names:
                    dotted = get_full_name_for_node(alias.name) or ""
                    if alias.asname is not None:
                        self.bound[_as_name(alias)] = dotted
                        self.statement[_as_name(alias)] = (dotted, None, _as_name(alias))
                    else:
                        head = dotted.split(".")[0]
                        self.bound[head] = head
            elif node.module is not None and not node.relative and not isinstance(node.names, cst.ImportStar):
                base = get_full_name_for_node(node.module) or ""
                for alias in node.names:
                    name = get_full_name_for_node(alias.name) or ""
                    local = _as_name(alias) if alias.asname else name
                    self.bound[local] = f"{base}.{name}"
                    self.statement[local] = (base, name, _as_name(alias) if alias.asname else None)

    @classmethod
    def of(cls, code: str) -> Names:
        """The import table of a file, read from its import lines (walking a whole tree costs seconds on big files)."""
        return cls(_import_statements(code))

    def qualify(self, expr: cst.BaseExpression) -> str | None:
        """The canonical qualified name of a Name/Attribute chain, or None when its head is not imported.

        Only plain dotted names count: libcst's ``get_full_name_for_node`` also sees through calls, so
        ``keras.layers.LSTM(16)(x)`` would otherwise name the outer call ``keras.layers.LSTM``.
        """
        dotted = _plain_dotted(expr)
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        if head not in self.bound:
            return None
        return canonical(self.bound[head] + ("." + rest if rest else ""))

    def is_(self, expr: cst.BaseExpression, *qualified: str) -> bool:
        return self.qualify(expr) in qualified

    def reaches(self, wanted: Sequence[str], code: str) -> bool:
        """Whether the file can name one of ``wanted``: it imports the name (or something under it), or it imports a
        parent and the code spells the rest (``tf`` bound to ``tensorflow`` and ``tf.saved_model.save`` in the text,
        in any of its spellings: ``tf.compat.v1.saved_model.save``, ``tf.keras.layers`` for ``keras.layers``)."""
        spellings = [spelled for name in wanted for spelled in _spellings(name)]
        for local, target in self.bound.items():
            for name in spellings:
                if name == target or target.startswith(name + "."):
                    return True
                if name.startswith(target + ".") and local + name[len(target):] in code:
                    return True
        return False

    def local(self, module: str) -> str | None:
        """The local name bound to exactly this module (``tf`` for ``tensorflow``), if the file has one."""
        for local, target in sorted(self.bound.items()):
            if canonical(target) == module and "." not in local:
                return local
        return None


def _plain_dotted(expr: cst.BaseExpression) -> str | None:
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def _as_name(alias: cst.ImportAlias) -> str:
    assert alias.asname is not None
    return get_full_name_for_node(alias.asname.name) or ""


_IMPORT_LINE = re.compile(r"^[ \t]*(?:import|from)[ \t]+[\w.]", re.MULTILINE)


def _import_statements(code: str) -> list[cst.Import | cst.ImportFrom]:
    """Every import statement, found by its line and parsed alone (with its parenthesised or backslash continuation)."""
    found: list[cst.Import | cst.ImportFrom] = []
    for match in _IMPORT_LINE.finditer(code):
        start = match.start()
        end = code.find("\n", start)
        end = len(code) if end < 0 else end
        snippet = code[start:end]
        if "(" in snippet and ")" not in snippet:
            close = code.find(")", end)
            snippet = code[start:close + 1] if close >= 0 else snippet
        while snippet.rstrip().endswith("\\") and end < len(code):
            nxt = code.find("\n", end + 1)
            nxt = len(code) if nxt < 0 else nxt
            snippet, end = code[start:nxt], nxt
        try:
            statement = cst.parse_statement(snippet.strip().split(";")[0] + "\n")
        except (cst.ParserSyntaxError, RecursionError):
            continue  # "import" at the start of a docstring line, not a statement
        if isinstance(statement, cst.SimpleStatementLine):
            found.extend(s for s in statement.body if isinstance(s, (cst.Import, cst.ImportFrom)))
    return found


@dataclass(frozen=True)
class SourceOptions:
    """What the user told the codemod: sizes for unknown dims and the serving contract."""

    pins: dict[str, tuple[int | None, ...]] = field(default_factory=dict)  # input name -> dims (None keeps one unknown)
    renames: dict[str, str] = field(default_factory=dict)  # old serving key -> new key


@dataclass(frozen=True)
class Site:
    """One place a rewrite proposes to change (or, display-only, to warn about)."""

    rewrite_id: str
    safety: Safety
    line: int
    key: str  # stable within one text: the rewrite, a digest of the node's code, its occurrence
    message: str
    code: str  # the original code at the site, for the prompt


class Shared:
    """What every pass over one version of a module can reuse: its metadata (positions, scopes) and analyses
    (``memo``, keyed by the analysis). Resolving metadata costs about as much as a pass (measured:
    numpy.py of Keras, 3 passes, each resolving positions anew), so it is done once per version of the tree."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.memo: dict[str, object] = {}

    @functools.cached_property
    def wrapper(self) -> MetadataWrapper:
        return MetadataWrapper(self.module, unsafe_skip_copy=True)

    @functools.cached_property
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Every node's position, resolved on first use: computing them costs a full code generation of the module
        (a third of a parsed file's time on the installed keras + tensorflow sources), and most passes find no site."""
        return self.wrapper.resolve(PositionProvider)


class SourceContext:
    """One file being rewritten: its tree, names, lines and the user's options."""

    def __init__(self, module: cst.Module, options: SourceOptions, path: str = "<string>", names: Names | None = None,
                 code: str | None = None, shared: Shared | None = None) -> None:
        self.module = module
        self.shared = shared if shared is not None and shared.module is module else Shared(module)
        self.options = options
        self.path = path
        self._code = code  # the module's text when the caller has it: generating it costs as much as a parse
        self.names = names or Names.of(self.code)

    @functools.cached_property
    def code(self) -> str:
        return self._code if self._code is not None else self.module.code

    @functools.cached_property
    def lines(self) -> list[str]:
        return self.code.splitlines()

    def ignored(self, first: int, last: int, rewrite_id: str) -> bool:
        """Whether a ``# repair: ignore`` comment on the site's first or last line opts it out."""
        for number in {first, last}:
            if 1 <= number <= len(self.lines):
                match = _IGNORE.search(self.lines[number - 1])
                if match and (match.group(1) is None or rewrite_id in {s.strip() for s in match.group(1).split(",")}):
                    return True
        return False


Select = Callable[[Site], bool]
_Node = TypeVar("_Node")  # what ``edit`` returns: the common type of its two candidates (a node, or a FlattenSentinel)


class SourceTransformer(cst.CSTTransformer):
    """Base transformer: subclasses find sites and call ``edit`` or ``warn``; only selected edits happen."""

    # No METADATA_DEPENDENCIES: positions are resolved lazily (``position``), only once a pass reaches a site.

    def __init__(self, rewrite: SourceRewrite, ctx: SourceContext, select: Select) -> None:
        super().__init__()
        self.rewrite = rewrite
        self.ctx = ctx
        self.names = ctx.names
        self.options = ctx.options
        self.select = select
        self.sites: list[Site] = []
        self.imports: list[NewImport] = []
        self.drop_if_unused: list[tuple[str, str | None, str | None]] = []
        self._seen: Counter[str] = Counter()

    def _site(self, node: cst.CSTNode, message: str, safety: Safety) -> Site | None:
        pos = self.position(node)
        if self.ctx.ignored(pos.start.line, pos.end.line, self.rewrite.id):
            return None
        code = self.ctx.module.code_for_node(node)
        digest = hashlib.sha1(code.encode()).hexdigest()[:10]
        self._seen[digest] += 1
        key = f"{self.rewrite.id}:{digest}:{self._seen[digest]}"
        site = Site(self.rewrite.id, safety, pos.start.line, key, message, code)
        self.sites.append(site)
        return site

    def position(self, node: cst.CSTNode) -> CodeRange:
        """Where an original node of the module is (shared by every pass over this version of the tree)."""
        return self.ctx.shared.positions[node]

    def edit(self, original: cst.CSTNode, unchanged: _Node, replacement: _Node, message: str, *,
             safety: Safety | None = None, imports: Sequence[NewImport] = (), replaces: str | None = None) -> _Node:
        """Propose replacing ``original``; return ``replacement`` if this site is selected, else ``unchanged``.

        ``replaces`` names a local import the edit stops using (``tnp``): it is removed if nothing uses it after.
        """
        site = self._site(original, message, safety or self.rewrite.safety)
        if site is None or not self.select(site):
            return unchanged
        self.imports.extend(imports)
        if replaces is not None and replaces in self.names.statement:
            self.drop_if_unused.append(self.names.statement[replaces])
        return replacement

    def warn(self, original: cst.CSTNode, message: str) -> None:
        """Show something that has no safe automatic fix (display-only)."""
        self._site(original, message, Safety.DISPLAY_ONLY)

    def tf(self) -> tuple[str, list[NewImport]]:
        """The file's name for ``tensorflow``, with the import to add when it has none."""
        local = self.names.local("tensorflow")
        if local is not None:
            return local, []
        return "tf", [NewImport("tensorflow", alias="tf")]


@dataclass(frozen=True)
class NewImport:
    """An import an edit needs: ``import module as alias`` or ``from module import obj [as alias]``.

    Our own record, turned into LibCST's ImportItem only when a file changes: ``libcst.codemod`` costs
    ~0.3 s to import (its matchers module), which a codemod run that edits nothing never pays.
    """

    module: str
    obj: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class Example:
    """Source before and after the rewrite (``after`` None: it must be left alone), with the options it needs."""

    before: str
    after: str | None = None
    options: SourceOptions = SourceOptions()
    warns: int = 0  # display-only sites it must report
    unsafe: bool = False  # the edit is unsafe: applied only when unsafe fixes are accepted


class SourceRewrite(ABC):
    """One source form of the catalog. The class docstring is what ``repair rewrites ID`` prints."""

    id: ClassVar[str]
    title: ClassVar[str]
    safety: ClassVar[Safety]
    answers: ClassVar[frozenset[FindingKind]]  # the model findings this source edit prevents
    model_rewrite: ClassVar[str | None] = None  # the model-catalog rewrite it mirrors, if any
    triggers: ClassVar[tuple[str, ...]]  # a file containing none of these substrings cannot match: not parsed
    # Canonical names the rewrite's sites live under (``tensorflow.saved_model.save``): a file that imports
    # nothing on the way to one of them cannot match, so it is not parsed either. Empty: no such check.
    modules: ClassVar[tuple[str, ...]] = ()
    examples: ClassVar[tuple[Example, ...]]

    @abstractmethod
    def transformer(self, ctx: SourceContext, select: Select) -> SourceTransformer:
        """A fresh transformer for one pass over one file."""

    def could_match(self, text: str) -> bool:
        return any(t in text for t in self.triggers)

    def imported(self, names: Names, code: str) -> bool:
        """Whether the file can name what the rewrite matches (see ``Names.reaches``)."""
        return not self.modules or names.reaches(self.modules, code)

    def active(self, options: SourceOptions) -> bool:
        """Whether the rewrite can do anything with these options (a pin rewrite needs pins)."""
        return True

    def consented(self, options: SourceOptions) -> bool:
        """Whether the user's flags already ask for this (unsafe) rewrite: they gave the values it needs."""
        return False

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")


@dataclass(frozen=True)
class Pass:
    """One transformer pass: the new tree and every site found (applied or not)."""

    module: cst.Module
    sites: tuple[Site, ...]


def run_pass(rewrite: SourceRewrite, module: cst.Module, options: SourceOptions, select: Select, path: str = "<string>",
             names: Names | None = None, code: str | None = None, shared: Shared | None = None) -> Pass:
    """Run one rewrite over a module (whose text is ``code``, when the caller has it), applying the sites ``select``
    accepts. ``shared`` carries the metadata and analyses of earlier passes over the same module."""
    ctx = SourceContext(module, options, path, names, code, shared)
    transformer = rewrite.transformer(ctx, select)
    new = ctx.shared.wrapper.visit(transformer)
    if transformer.imports or transformer.drop_if_unused:  # only for a file that changed
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor, ImportItem, RemoveImportsVisitor

        if transformer.imports:
            items = [ImportItem(i.module, i.obj, i.alias) for i in transformer.imports]
            new = AddImportsVisitor(CodemodContext(), items).transform_module(new)
        if transformer.drop_if_unused:  # scope analysis
            new = RemoveImportsVisitor(CodemodContext(), sorted(set(transformer.drop_if_unused))).transform_module(new)
    return Pass(new, tuple(transformer.sites))
