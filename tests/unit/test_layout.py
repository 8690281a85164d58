"""The folder tree is the architecture: these tests hold the import rules that make it so.

Every import counts, module-level or inside a function (a lazy import is still a dependency). The rules, from the
bottom up (README "How the code is laid out"):

- ``repair.core`` imports nothing else of repair, and no heavy library at import time (TensorFlow only via tfenv.tf());
- ``repair.model`` imports core; ``repair.graph`` imports core and model;
- ``repair.source`` imports core only, and never TensorFlow, NumPy or Keras;
- ``repair.targets`` imports core and model (each target's check reads and runs a .tflite);
- ``repair.quantize`` imports core and model (it converts, runs and measures a .tflite);
- ``repair.fix`` imports core, model, targets, quantize and source (graph surgery is the rewrites' business);
- ``repair.batch`` imports core only: each model runs in its own ``repair fix`` process;
- ``repair.cli`` is the composition root: the only module of repair that imports the catalogs (``rewrites``);
- ``repair.supervise`` imports core.crash, core.tfenv's QUIET_ENV (and the CLI, lazily, to run the command
  in-process when nothing needs supervising), so the supervising parent never loads TensorFlow;
- model rewrites (``rewrites/``) import core, model, graph and the rewrite contract, never the engine's stages;
- source rewrites (``rewrites/source/``) import core and the source contract only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "keras", "tf_keras", "numpy", "ai_edge_litert", "tensorflow_model_optimization")

# What each part may import from repair/ and rewrites/ (prefixes). A module may always import its own wing.
ALLOWED: dict[str, tuple[str, ...]] = {
    "repair": (),  # the package itself: nothing
    "repair.core": ("repair.core",),
    "repair.model": ("repair.core", "repair.model"),
    "repair.graph": ("repair.core", "repair.model", "repair.graph"),
    "repair.source": ("repair.core", "repair.source"),
    "repair.targets": ("repair.core", "repair.model", "repair.targets"),
    "repair.quantize": ("repair.core", "repair.model", "repair.quantize"),
    "repair.fix": ("repair.core", "repair.model", "repair.targets", "repair.quantize", "repair.source", "repair.fix"),
    "repair.batch": ("repair.core", "repair.batch"),
    "repair.supervise": ("repair.core.crash", "repair.core.tfenv", "repair.cli"),
    "repair.cli": ("repair", "rewrites"),
    "rewrites.source": ("repair.core", "repair.source.rewrite", "rewrites.source"),
    "rewrites": ("repair.core", "repair.model", "repair.graph", "repair.fix.rewrite", "rewrites"),
}
# Parts that must not import TensorFlow, NumPy or Keras anywhere: the codemod and the supervisor start in a fraction of
# a second, and a batch driver only starts `repair fix` processes.
LIGHT = ("repair.source", "rewrites.source", "repair.supervise", "repair.batch")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """The most specific key of ALLOWED that ``module`` belongs to."""
    return max((k for k in ALLOWED if module == k or module.startswith(k + ".")), key=len)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, at any depth; relative imports resolved."""
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from repair.model import working` imports repair.model.working
            found += [(node.lineno, f"{base}.{alias.name}" if not node.module or node.level else base) for alias in node.names]
    return found


def _sources() -> list[Path]:
    return sorted([*(ROOT / "repair").rglob("*.py"), *(ROOT / "rewrites").rglob("*.py")])


def _allowed(part: str, imported: str) -> bool:
    return any(imported == p or imported.startswith(p + ".") for p in (*ALLOWED[part], part))


def test_every_module_belongs_to_a_part() -> None:
    for path in _sources():
        assert _part(_module_name(path)), path


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layout(path: Path) -> None:
    module = _module_name(path)
    part = _part(module)
    wrong = [f"line {line}: {name}" for line, name in _imports(path)
             if name.split(".")[0] in {"repair", "rewrites"} and not _allowed(part, name)]
    assert not wrong, f"{module} ({part}) may import only {ALLOWED[part]}: {wrong}"
    if part in LIGHT:
        heavy = [f"line {line}: {name}" for line, name in _imports(path) if name.split(".")[0] in HEAVY]
        assert not heavy, f"{module} must not import TensorFlow, NumPy or Keras: {heavy}"


def test_only_the_cli_imports_the_catalogs() -> None:
    importers = {_module_name(p) for p in (ROOT / "repair").rglob("*.py")
                 if any(name.split(".")[0] == "rewrites" for _, name in _imports(p))}
    assert importers <= {"repair.cli"}, importers


def test_the_light_parts_load_without_tensorflow() -> None:
    """Measured in a fresh interpreter: what the codemod, the supervisor and the shared vocabulary really load."""
    code = ("import sys; import repair.core.findings, repair.core.options, repair.core.decide, repair.core.publish, "
            "repair.core.errors, repair.core.text, repair.core.crash, repair.supervise, repair.source.codemod, "
            "rewrites.source; print(','.join(m for m in ('tensorflow', 'numpy', 'keras') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert run.stdout.strip() == "", f"loaded: {run.stdout.strip()}"
