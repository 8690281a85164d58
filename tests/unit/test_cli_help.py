"""The CLI's rough edges, without a model: help text and metavars, exit codes in every --help, --version, usage errors
answered before TensorFlow is imported, the rewrites listing on an 80-column pipe, progress lines, count grammar.

"Before TensorFlow" is measured, not assumed: the command runs in a subprocess (the real entry point, supervisor
included) with PYTHONPROFILEIMPORTTIME=1, which the supervised child inherits, and the import log must not name
tensorflow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from repair.cli import EXITS, _model_example
from repair.core.errors import ExitCode
from repair.core.progress import Progress
from repair.core.text import count

COMMANDS = ("diagnose", "fix", "codemod", "batch", "rewrites")
ENTRY = "import sys; from repair.supervise import main; sys.argv[0] = 'repair'; main()"


def repair(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``repair ARGS`` through the real entry point (repair.supervise.main), output captured (a pipe, not a TTY)."""
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def imported_tensorflow(stderr: str) -> bool:
    """Whether a -X importtime log (PYTHONPROFILEIMPORTTIME=1) shows tensorflow being imported."""
    return any(re.search(r"\|\s+tensorflow(\.|$)", line.strip()) for line in stderr.splitlines())


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """Every command's --help, as a user sees it (COLUMNS=100 so that wrapping is the same everywhere)."""
    texts = {}
    for command in COMMANDS:
        run = repair(command, "--help", env={"COLUMNS": "100"})
        assert run.returncode == 0, run.stderr
        texts[command] = run.stdout
    return texts


def test_help_has_real_metavars_never_typer_defaults(helps: dict[str, str]) -> None:
    for command, text in helps.items():
        # typer 0.29's defaults: "{MODEL}" in the usage line, "<path>", "<list[str]>", "<int>" after a name
        assert not re.search(r"<[a-zA-Z_\[\], ]+>", text), (command, re.findall(r"<[^>]*>", text))
        assert "{" not in text.splitlines()[0], text.splitlines()[0]
    assert helps["fix"].startswith("Usage: repair fix [OPTIONS] MODEL\n")
    assert helps["diagnose"].startswith("Usage: repair diagnose [OPTIONS] MODEL\n")
    assert helps["codemod"].startswith("Usage: repair codemod [OPTIONS] PATH...\n")
    assert helps["batch"].startswith("Usage: repair batch [OPTIONS] ZOO\n")
    assert helps["rewrites"].startswith("Usage: repair rewrites [OPTIONS] [ID]\n")
    for metavar in ("--pin NAME=DIMS", "--rename OLD=NEW", "--input-keys KEY[,KEY...]", "--io-hint SIDE:KEY=TENSOR",
                    "--out DIR", "--sample FILE.npz", "--request FILE.json", "--plan-in FILE.json", "--seed N"):
        assert metavar in helps["fix"], metavar
    assert "--pin NAME=DIMS" in helps["codemod"] and "--rename OLD=NEW" in helps["codemod"]
    assert "-j, --jobs N" in helps["batch"] and "--timeout SECONDS" in helps["batch"]


def test_every_command_lists_its_exit_codes(helps: dict[str, str]) -> None:
    codes = {str(int(c)) for c in ExitCode}
    for command, text in helps.items():
        block = text.split("Exit codes:\n", 1)[1].split("\n\n", 1)[0]
        listed = re.findall(r"^ {4}(\S+) +\S", block, flags=re.M)
        assert listed == [code for code, _ in EXITS[command]], (command, listed)
        # Every code a command lists is a documented ExitCode (batch adds the shell's 128+N for a signal) ...
        assert set(listed) - {"128+N"} <= codes, command
        # ... and every command can end with bad input and with an internal error.
        assert {str(int(ExitCode.BAD_INPUT)), str(int(ExitCode.INTERNAL_ERROR))} <= set(listed), command
    assert [code for code, _ in EXITS["fix"]] == [str(int(c)) for c in ExitCode]  # fix returns every one of them


def test_version_from_package_metadata_without_tensorflow() -> None:
    run = repair("--version", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"repair {version('repair')}\n"
    assert not imported_tensorflow(run.stderr)


@pytest.fixture()
def fake_model(tmp_path: Path) -> Path:
    """A directory in the model's place: the usage errors below must answer without reading it."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"")
    return model


@pytest.mark.parametrize(("args", "message"), [
    (("--out", "{tmp}/taken"), "repair: --out {tmp}/taken exists and is not empty; pass --force to replace it"),
    (("--out", "{tmp}/model/inside"), "repair: --out {tmp}/model/inside is inside the input {tmp}/model; choose a "
                                      "directory outside it"),
    (("--out", "{tmp}"), "repair: --out {tmp} contains the input {tmp}/model; choose another directory"),
])
def test_usage_errors_answer_before_tensorflow(fake_model: Path, args: tuple[str, ...], message: str) -> None:
    tmp = fake_model.parent
    (tmp / "taken").mkdir()
    (tmp / "taken" / "old.txt").write_text("mine")
    run = repair("fix", str(fake_model), *(a.format(tmp=tmp) for a in args), env={"PYTHONPROFILEIMPORTTIME": "1"})
    lines = [x for x in run.stderr.splitlines() if not x.startswith("import time:")]
    assert run.returncode == ExitCode.BAD_INPUT, run.stderr[-2000:]
    assert lines == [message.format(tmp=tmp)]
    assert not imported_tensorflow(run.stderr)
    assert (tmp / "taken" / "old.txt").read_text() == "mine"


def test_rewrites_listing_never_cuts_ids_on_80_columns_or_a_pipe() -> None:
    from rewrites import CATALOG
    from rewrites.source import SOURCE_CATALOG

    for env in ({"COLUMNS": "80"}, {"COLUMNS": ""}):  # 80 columns, and a pipe with no width given
        run = repair("rewrites", env=env)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert "…" not in run.stdout
        assert max(len(x.rstrip()) for x in lines) <= 80
        first = [x.split()[0] for x in lines if x.strip()]
        words = set(re.findall(r"[\w.-]+", run.stdout))
        for r in CATALOG:
            assert r.id in first, r.id
            assert {k.value for k in r.answers} <= words, r.id  # the finding ids it answers, whole
        for s in SOURCE_CATALOG:
            assert s.id in first, s.id


def test_every_model_rewrite_has_an_example_from_its_corpus_case() -> None:
    from corpora import get_case
    from rewrites import CATALOG

    for r in CATALOG:
        lines = _model_example(r.id, r.cases)
        assert lines, f"{r.id}: no corpus case repaired by it ({r.cases})"
        case_id = lines[0].split()[3].rstrip(":")
        case = get_case(case_id)
        assert r.id in case.expect.rewrites
        assert lines[1].startswith(f"  MODEL=$(python -m corpora build {case_id} example)")
        assert lines[-1].startswith('  repair fix "$MODEL" --out example-fixed')
    run = repair("rewrites", "rename_serving_keys")
    assert run.returncode == 0, run.stderr
    assert "example: corpus case serving/key_mismatch" in run.stdout
    assert '--rename input_features=features' in run.stdout.splitlines()[-1]


def test_progress_lines_without_a_terminal(tmp_path: Path) -> None:
    read, write = os.pipe()
    progress = Progress(write, live=False)
    progress.stage("loading TensorFlow, reading the model")
    progress.stage("converting the repaired model")
    progress.stop()  # closes the write end
    with os.fdopen(read) as f:
        lines = f.read().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\[ +\d+\.\ds\] loading TensorFlow, reading the model", lines[0])
    assert re.fullmatch(r"\[ +\d+\.\ds\] converting the repaired model", lines[1])


def test_count_grammar() -> None:
    assert count(1, "file") == "1 file"
    assert count(0, "file") == "0 files"
    assert count(2, "fix", "fixes") == "2 fixes"
    assert count(1, "fix", "fixes") == "1 fix"
