"""Bad input: one clear line on stderr, exit code 2, no traceback, nothing written, nothing lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus, tree_digest

GOOD = "signatures/named_only"


def _assert_one_line(run_stderr: str, needle: str) -> None:
    lines = [line for line in run_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run_stderr
    assert "Traceback" not in run_stderr
    assert needle in lines[0], lines[0]


def test_missing_path(tmp_path: Path) -> None:
    run = repair("diagnose", str(tmp_path / "nope"))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "no such file or directory")


def test_empty_directory(tmp_path: Path) -> None:
    run = repair("fix", str(tmp_path), "--out", str(tmp_path.parent / "o"))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "empty directory")


def test_random_file(tmp_path: Path) -> None:
    f = tmp_path / "weights.bin"
    f.write_bytes(bytes(range(256)) * 4)
    run = repair("diagnose", str(f))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "neither a SavedModel directory")


def test_pb_file_instead_of_directory(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact(GOOD) / "saved_model.pb"))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "pass the SavedModel directory")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_saved_model_pb(corpus: Corpus, tmp_path: Path, damage: str) -> None:
    model = tmp_path / "m"
    shutil.copytree(corpus.artifact(GOOD), model)
    pb = model / "saved_model.pb"
    data = pb.read_bytes()
    pb.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"\x07\xff garbage \x00" * 50)
    before = tree_digest(model)
    run = repair("fix", str(model), "--out", str(tmp_path / "out"))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "saved_model.pb")
    assert tree_digest(model) == before
    assert not (tmp_path / "out").exists()


def test_missing_variables(corpus: Corpus, tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(corpus.artifact(GOOD), model)
    shutil.rmtree(model / "variables")
    run = repair("diagnose", str(model))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "variables")


def test_out_inside_input_is_refused(corpus: Corpus, tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(corpus.artifact(GOOD), model)
    before = tree_digest(model)
    run = repair("fix", str(model), "--out", str(model / "fixed"))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "inside the input")
    assert tree_digest(model) == before


def test_non_empty_out_needs_force(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    run = repair("fix", str(corpus.artifact(GOOD)), "--out", str(out))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "--force")
    assert (out / "precious.txt").read_text() == "keep me"


@pytest.mark.slow
def test_force_replaces_out(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    run = repair("fix", str(corpus.artifact(GOOD)), "--out", str(out), "--force")
    assert run.exit_code == 0, run.stdout
    assert not (out / "old.txt").exists() and (out / "saved_model.pb").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("flag", [["--pin", "x=1,a"], ["--pin", "x"], ["--io-hint", "x:y"], ["--rename", "=b"]])
def test_bad_flag_values(corpus: Corpus, flag: list[str]) -> None:
    run = repair("diagnose", str(corpus.artifact(GOOD)), *flag)
    assert run.exit_code == 2
    _assert_one_line(run.stderr, flag[0])


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    """The installed entry point, in a fresh process: same one line and exit code."""
    proc = subprocess.run([sys.executable, "-m", "repair.cli", "diagnose", str(tmp_path / "missing")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    _assert_one_line(proc.stderr, "no such file or directory")


@pytest.fixture(scope="module")
def lambda_keras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2.0)(inp)))
    path = tmp_path_factory.mktemp("lambda") / "lambda.keras"
    model.save(path)
    return path


def test_keras_code_needs_explicit_opt_in(lambda_keras: Path, tmp_path: Path) -> None:
    run = repair("fix", str(lambda_keras), "--out", str(tmp_path / "out"))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "--unsafe-load")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_keras_code_loads_with_opt_in(lambda_keras: Path, tmp_path: Path) -> None:
    run = repair("fix", str(lambda_keras), "--out", str(tmp_path / "out"), "--unsafe-load")
    assert run.exit_code == 0, run.stdout
    assert (tmp_path / "out" / "model.tflite").is_file()


def test_truncated_keras_file(lambda_keras: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.keras"
    broken.write_bytes(lambda_keras.read_bytes()[:200])
    run = repair("diagnose", str(broken))
    assert run.exit_code == 2
    _assert_one_line(run.stderr, "cannot be loaded as a Keras model")
