"""``repair fix --source``: the converter's error location (file:line from ConverterErrorData, present when the
SavedModel was saved with debug info) is mapped to the source site, offered beside the model fix, and the
accepted edit becomes a patch that repairs the source itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import tree_digest

pytestmark = pytest.mark.slow

SCRIPT = '''import sys

import tensorflow as tf
import tensorflow.experimental.numpy as tnp

tnp.experimental_enable_numpy_behavior()


class Shift(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        return tnp.add(x, tnp.asarray([0.1, 0.2, 0.3, 0.4]))


tf.saved_model.save(Shift(), sys.argv[1], options=tf.saved_model.SaveOptions(save_debug_info=True))
'''


def _export(script: Path, dest: Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, str(script), str(dest)], check=True, capture_output=True, env=env)


def test_located_source_edit_beside_the_model_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    script = src / "export.py"
    script.write_text(SCRIPT)
    _export(script, tmp_path / "model")
    before = tree_digest(src)

    run = repair("fix", "model", "--out", "fixed", "--unsafe-fixes", "--source", "src", "--plan-out", "plan.json")
    assert run.exit_code == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "fixed" / "report.json").read_text())
    assert [f["rewrite"] for f in report["fixes"] if f["outcome"] == "applied"] == ["compute_in_float32"]
    [edit] = [e for e in report["source_edits"] if e["rewrite"] == "explicit_float32"]
    assert edit["location"] == "src/export.py:12" and "at the converter's error location" in edit["title"]
    assert edit["decision"] == "accept"
    assert tree_digest(src) == before, "fix must never write the user's source"
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert {f["id"].split("::")[0] for f in plan["fixes"]} == {"model", "src/export.py"}

    # The patch repairs the source: the next export needs no model fix at all.
    subprocess.run(["git", "apply", "fixed/source.patch"], check=True, cwd=tmp_path)
    assert "tnp.asarray([0.1, 0.2, 0.3, 0.4], dtype=" in script.read_text()
    _export(script, tmp_path / "model2")
    diagnosis = repair("diagnose", "model2", "--json")
    assert diagnosis.exit_code == 0, diagnosis.stdout
    assert json.loads(diagnosis.stdout)["blocking"] == 0
