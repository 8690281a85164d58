"""README command blocks as tests (as Polygraphy does): every ```sh block README marks with
``<!-- test: [setup=NAME] exit=E,E,... [files=PATH,...] -->`` is run line by line, as written, in a temporary
directory with the venv's ``repair`` and ``python`` first on PATH and this checkout importable (``python -m corpora``).
Each line must end with the exit code the marker gives for it, and the files it names must exist afterwards.

The blocks run without the dev extra: a sitecustomize on PYTHONPATH makes every module that only the ``dev`` extra
installs (pytest, ray, tfmot, click, ...) fail to import, in ``repair``'s children too, so a command README gives a
user of ``make demo`` (``pip install -e .``) cannot pass here by leaning on a test dependency.

Setups put the inputs a block works on into its directory: ``codemod`` copies bundled export scripts of
corpora/sources/scripts to ``src/`` and ``train.py``. The quick start block builds its own bundled corpus model.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- test: (?P<spec>[^>]*) -->\n```sh\n(?P<body>.*?)^```$", re.M | re.S)
SCRIPTS = ROOT / "corpora" / "sources" / "scripts"
TF_LOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|cudart_stub|oneDNN custom operations|This TensorFlow binary is optimized")


@dataclass(frozen=True)
class Block:
    """One marked README block: where it is, its commands and what the marker expects of them."""

    line: int
    setup: str
    commands: tuple[str, ...]
    exits: tuple[int, ...]
    files: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.setup or 'plain'}"


def _command(line: str) -> str:
    """The command of a README line: its trailing `# comment` dropped (README never quotes a #)."""
    return line.split(" #", 1)[0].strip()


def blocks() -> list[Block]:
    """Every marked block of README, in order."""
    text = README.read_text(encoding="utf-8")
    found = []
    for m in MARKER.finditer(text):
        spec = dict(item.split("=", 1) for item in m["spec"].split())
        commands = tuple(c for c in (_command(line) for line in m["body"].splitlines()) if c)
        exits = tuple(int(e) for e in spec["exit"].split(","))
        assert len(exits) == len(commands), f"README.md:{text.count(chr(10), 0, m.start()) + 1}: {len(commands)} commands, " \
                                           f"{len(exits)} exit codes in the marker"
        files = tuple(spec["files"].split(",")) if "files" in spec else ()
        found.append(Block(text.count("\n", 0, m.start()) + 1, spec.get("setup", ""), commands, exits, files))
    return found


BLOCKS = blocks()


def test_readme_marks_the_blocks_that_matter() -> None:
    """The quick start, the codemod and the rewrites blocks are marked (a marker lost in an edit fails here)."""
    runs = {c.split()[0] + " " + c.split()[1] for b in BLOCKS for c in b.commands}
    assert {"repair diagnose", "repair fix", "repair codemod", "repair rewrites"} <= runs, runs


def _setup(name: str, where: Path) -> None:
    if name == "codemod":
        (where / "src").mkdir()
        for script in ("dynamic_image.py", "tnp_float64_module.py", "static_while_loop.py"):
            shutil.copy(SCRIPTS / script, where / "src" / script)
        shutil.copy(SCRIPTS / "serving_keys_keras.py", where / "train.py")
    elif name not in ("", "rewrites"):
        raise AssertionError(f"README marker names an unknown setup '{name}'")


def _closure(name: str, extras: tuple[str, ...] = ()) -> dict[str, metadata.Distribution]:
    """The installed distributions ``name`` needs (with ``extras`` at the top level), keyed by normalised name."""
    from packaging.requirements import Requirement

    found: dict[str, metadata.Distribution] = {}
    todo = [(name, extras)]
    while todo:
        dist_name, wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", dist_name).lower()
        if key in found:
            continue
        try:
            found[key] = dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (*wanted, "")):
                todo.append((req.name, ()))
    return found


def dev_only_modules() -> list[str]:
    """Top-level modules of the distributions only the dev extra brings in (what `make demo` does not install)."""
    runtime, dev = _closure("repair"), _closure("repair", ("dev",))
    modules: set[str] = set()
    for key in set(dev) - set(runtime):
        dist = dev[key]
        top = (dist.read_text("top_level.txt") or "").split()
        if not top:  # wheels without top_level.txt: the first path part of each installed file
            top = [str(f).split("/")[0].removesuffix(".py") for f in dist.files or []]
        modules.update(m for m in top if m.isidentifier() and not m.startswith("_"))
    assert {"pytest", "ray"} <= modules, modules  # the dev extra as pyproject.toml declares it
    return sorted(modules)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PATH with the venv's bin first, this checkout importable, and the dev extra's modules blocked."""
    site = tmp_path_factory.mktemp("no-dev-extra")
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        f"for name in {dev_only_modules()!r}:\n"
        "    sys.modules[name] = None  # only the dev extra installs it: README's commands must not need it\n")
    venv_bin = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""),
                PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))


@dataclass
class Ran:
    command: str
    code: int
    stdout: str
    stderr: str


def _run(block: Block, where: Path, env: dict[str, str]) -> list[Ran]:
    ran = []
    for command in block.commands:
        proc = subprocess.run(command, shell=True, cwd=where, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300, executable="/bin/bash")
        ran.append(Ran(command, proc.returncode, proc.stdout, proc.stderr))
    return ran


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_readme_block_runs_as_written(block: Block, tmp_path: Path, env: dict[str, str]) -> None:
    _setup(block.setup, tmp_path)
    before = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    ran = _run(block, tmp_path, env)
    for r, expected in zip(ran, block.exits):
        assert r.code == expected, (f"{block.id}: `{r.command}` exited {r.code}, README says {expected}\n"
                                    f"stdout:\n{r.stdout[-2000:]}\nstderr:\n{r.stderr[-2000:]}")
    for r in ran:  # TensorFlow's start-up log lines (absl's `I0000 00:00:...`, cuda, oneDNN) never reach the user
        noise = [line for line in r.stderr.splitlines() if TF_LOG.search(line)]
        assert not noise, f"{block.id}: `{r.command}` printed TensorFlow's log lines: {noise[:3]}"
    for name in block.files:
        assert (tmp_path / name).is_file(), f"{block.id}: README says the block writes {name}; it is not there"

    if block.setup == "codemod":
        # The diff run prints a unified diff and writes nothing; --write then changes the files on disk.
        assert ran[0].stdout.startswith("---") and "+++" in ran[0].stdout, ran[0].stdout[:500]
        changed = [p.name for p, text in before.items() if p.read_text() != text]
        assert "train.py" in changed and len(changed) >= 2, changed
        assert 'name="features"' in (tmp_path / "train.py").read_text()  # --rename input_features=features
        assert "terminal" in ran[3].stderr, ran[3].stderr  # -i without a terminal: refused, says why
    if block.setup == "rewrites":
        from rewrites import CATALOG
        from rewrites.source import SOURCE_CATALOG

        listed = ran[0].stdout
        for r in [*CATALOG, *SOURCE_CATALOG]:
            assert r.id in listed, f"`repair rewrites` does not show {r.id} whole"
        assert "What it fixes" in ran[1].stdout and "example:" in ran[2].stdout
    if block.files:
        report = (tmp_path / "fixed" / "report.md").read_text()
        assert "rebind_variables" in report
