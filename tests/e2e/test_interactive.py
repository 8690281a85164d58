"""The prompt in a real pseudo-terminal (pexpect): accept one, reject one, quit midway, and check that what
was written is exactly what was accepted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import Corpus, tree_digest

REPAIR = str(Path(sys.executable).with_name("repair"))
PROMPT = r"Apply this fix\?"

SOURCE_A = '''import tensorflow as tf
import tensorflow.experimental.numpy as tnp


def block(x):
    a = tnp.tanh(x)
    b = tnp.exp(a)
    return tnp.sqrt(b)
'''
SOURCE_B = '''from tensorflow.experimental import numpy as tnp


def head(x):
    return tnp.abs(x)
'''


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.py").write_text(SOURCE_A)
    (root / "b.py").write_text(SOURCE_B)
    return root


def _spawn(*args: str, cwd: Path) -> pexpect.spawn:
    return pexpect.spawn(REPAIR, list(args), cwd=str(cwd), encoding="utf-8", timeout=120,
                         env={"TERM": "dumb", "COLUMNS": "200", "PATH": str(Path(REPAIR).parent) + ":/usr/bin:/bin"})


def test_codemod_accept_reject_quit(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    child = _spawn("codemod", "src", "-i", "--write", cwd=tmp_path)
    child.expect("tnp.tanh -> tf.math.tanh")
    child.expect(PROMPT)
    child.sendline("?")  # help, then the same question again
    child.expect("quit: reject this fix")
    child.expect(PROMPT)
    child.sendline("d")  # details: the rewrite's documentation
    child.expect("What it fixes:")
    child.expect(PROMPT)
    child.sendline("y")
    child.expect("tnp.exp -> tf.math.exp")
    child.expect(PROMPT)
    child.sendline("n")
    child.expect("tnp.sqrt -> tf.math.sqrt")
    child.expect(PROMPT)
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    a = (root / "a.py").read_text()
    assert "a = tf.math.tanh(x)" in a and "b = tnp.exp(a)" in a and "return tnp.sqrt(b)" in a
    assert (root / "b.py").read_text() == SOURCE_B, "quitting must leave the files not reached untouched"


def test_codemod_all_remaining_and_default(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    child = _spawn("codemod", "src", "-i", "--write", "--plan-out", "plan.json", cwd=tmp_path)
    child.expect(PROMPT)
    child.sendline("")  # Enter: the default is yes for a safe fix
    child.expect(PROMPT)
    child.sendline("a")  # this one and every remaining one, in every file
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "tnp." not in (root / "a.py").read_text().split("\n", 2)[2]
    assert "return tf.math.abs(x)" in (root / "b.py").read_text()
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert [f["decision"] for f in plan["fixes"]] == ["accept"] * 4


def test_unsafe_default_is_no(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    text = "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n\ny = tnp.exp([0.5, 1.0])\n"
    (root / "c.py").write_text(text)
    child = _spawn("codemod", "src", "-i", "--write", cwd=tmp_path)
    child.expect(r"\[y\]es / \[N\]o")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert (root / "c.py").read_text() == text


@pytest.mark.slow
def test_fix_reject_then_accept(corpus: Corpus, tmp_path: Path) -> None:
    """A model fix is shown with what it changes (applied in scratch) before the question; rejecting it
    publishes nothing, accepting it publishes a verified model."""
    src = corpus.artifact("keras/keras3_saved_model_save")
    before = tree_digest(src)
    child = _spawn("fix", str(src), "--out", "rejected", "-i", cwd=tmp_path)
    child.expect("rebind_variables")
    child.expect("parity: max abs diff")  # the preview measured the fix before asking
    child.expect(PROMPT)
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert not (tmp_path / "rejected").exists()

    child = _spawn("fix", str(src), "--out", "accepted", "-i", "--plan-out", "plan.json", cwd=tmp_path)
    child.expect(PROMPT)
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    report = json.loads((tmp_path / "accepted" / "report.json").read_text())
    assert [(f["rewrite"], f["outcome"]) for f in report["fixes"]] == [("rebind_variables", "applied")]
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert [(f["id"], f["decision"]) for f in plan["fixes"]] == [("model::rebind_variables", "accept")]
    assert tree_digest(src) == before


@pytest.mark.slow
def test_fix_quit_midway_publishes_nothing(corpus: Corpus, tmp_path: Path) -> None:
    """Two fixes in a row: accept the first, quit at the second; the loop the second would remove still blocks,
    so nothing is published, and the report says which fix was never accepted."""
    src = corpus.artifact("loops/keras_lstm_dynamic_time")
    child = _spawn("fix", str(src), "--out", "out", "--pin", "seq=-1,6,8", "--report", "rep", "-i", cwd=tmp_path)
    child.expect("pin_dynamic_dims")
    child.expect(r"\[y\]es / \[N\]o")  # unsafe: the default is no, even though --pin named the sizes
    child.sendline("y")
    child.expect("unroll_static_loops")
    child.expect(PROMPT)
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert not (tmp_path / "out").exists()
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [(f["rewrite"], f["outcome"]) for f in report["fixes"]] == [
        ("pin_dynamic_dims", "applied"), ("unroll_static_loops", "rejected")]
    assert "quit before it was accepted" in report["fixes"][1]["summary"]
