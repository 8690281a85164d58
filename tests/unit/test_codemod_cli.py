"""`repair codemod` through the CLI, without TensorFlow: diff mode, plan files, parallel runs, bad files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import repair

MODEL = '''import tensorflow as tf
import tensorflow.experimental.numpy as tnp


def block(x):
    return tnp.tanh(x) + tnp.exp([0.5, 1.0])  # an unsafe literal
'''


def _tree(root: Path, copies: int = 1) -> Path:
    root.mkdir()
    for i in range(copies):
        (root / f"m{i}.py").write_text(MODEL)
    (root / "broken.py").write_text("import tensorflow.experimental.numpy as tnp\ndef f(:\n")
    (root / "plain.py").write_text("x = 1\n")
    return root


def test_diff_mode_writes_nothing_and_reports(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    run = repair("codemod", str(root))
    assert run.exit_code == 1  # broken.py does not parse
    assert "+    return tf.math.tanh(x) + tnp.exp([0.5, 1.0])" in run.stdout
    assert (root / "m0.py").read_text() == MODEL
    assert "broken.py: failed: does not parse" in run.stderr
    assert "not applied (unsafe) swap_tnp_calls" in run.stderr
    assert "3 files scanned: 1 changed, 0 unchanged, 1 skipped by the pre-filter, 1 failed" in run.stderr


def test_plan_round_trip(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    plan = tmp_path / "plan.json"
    assert repair("codemod", str(root), "--unsafe-fixes", "--plan-out", str(plan)).exit_code == 1
    body = json.loads(plan.read_text())
    assert [(f["rewrite"], f["safety"], f["decision"]) for f in body["fixes"]] == [
        ("swap_tnp_calls", "safe", "accept"), ("swap_tnp_calls", "unsafe", "accept")]
    body["fixes"][0]["decision"] = "reject"
    plan.write_text(json.dumps(body))
    run = repair("codemod", str(root), "--plan-in", str(plan), "--write")
    assert "rejected in the plan file" in run.stderr
    assert "return tnp.tanh(x) + tf.math.exp([0.5, 1.0])" in (root / "m0.py").read_text()
    again = repair("codemod", str(root), "--plan-in", str(plan))  # the files changed: the plan is stale
    assert again.exit_code == 2 and "inputs changed since the plan was written" in again.stderr


def test_parallel_equals_serial(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src", copies=6)
    serial, parallel = repair("codemod", str(root)), repair("codemod", str(root), "-j", "2")
    assert serial.stdout == parallel.stdout and serial.stdout.count("\n+++ ") == 6


def test_bad_usage_is_one_line(tmp_path: Path) -> None:
    for args in (["codemod", str(tmp_path / "missing")], ["codemod", str(tmp_path), "--select", "nope"],
                 ["codemod", str(tmp_path), "-j", "0"], ["codemod", str(tmp_path), "-i"]):
        run = repair(*args)
        assert run.exit_code == 2 and len(run.stderr.strip().splitlines()) == 1, (args, run.stderr)


def test_notes_name_lines_of_the_file_on_disk(tmp_path: Path) -> None:
    """A rewrite that removes an import shifts the lines later rewrites see; the notes still point at the file as it
    is on disk (the py_function call is on line 12 of the original, line 11 of the rewritten text)."""
    script = tmp_path / "train.py"
    script.write_text('''import tensorflow as tf
import tensorflow.experimental.numpy as tnp


class Layer(tf.keras.layers.Layer):
    def call(self, x):
        return tnp.exp(x)


@tf.function
def f(x):
    y = tf.py_function(lambda a: a, [x], tf.float32)
    return y
''')
    run = repair("codemod", str(script), "--unsafe-fixes")
    assert run.exit_code == 0, run.stderr
    assert "-import tensorflow.experimental.numpy as tnp" in run.stdout
    assert f"{script}:12: warning warn_py_function" in run.stderr


def test_named_file_with_a_syntax_error_fails_even_when_the_prefilter_would_skip_it(tmp_path: Path) -> None:
    """Named on the command line, a file that is not Python is reported (exit 1) though no rewrite's trigger is in
    it; found by walking a folder, it is skipped unparsed (parsing the tree is what the pre-filter saves)."""
    folder = tmp_path / "src"
    folder.mkdir()
    bad = folder / "notes.py"
    bad.write_text("def f(:\n    pass\n")
    named = repair("codemod", str(bad))
    assert named.exit_code == 1 and f"{bad}: failed: does not parse: invalid syntax (line 1)" in named.stderr
    assert "1 file scanned: 0 changed, 0 unchanged, 0 skipped by the pre-filter, 1 failed" in named.stderr
    walked = repair("codemod", str(folder), "-j", "2")
    assert walked.exit_code == 0 and "1 skipped by the pre-filter, 0 failed" in walked.stderr



def test_paths_and_messages_are_printed_as_written_not_as_markup(tmp_path: Path) -> None:
    """File names and the code a note quotes come from the user: a "[bold]" in them is text, not markup."""
    bad = tmp_path / "[bold]model.py"
    bad.write_text("def f(:\n")
    run = repair("codemod", str(bad))
    assert run.exit_code == 1
    assert f"{bad}: failed: does not parse" in run.stderr, run.stderr



def test_control_characters_in_a_file_name_do_not_reach_the_terminal(tmp_path: Path) -> None:
    bad = tmp_path / "\x1b]0;pwned\x07model.py"
    bad.write_text("def f(:\n")
    run = repair("codemod", str(bad))
    assert run.exit_code == 1 and "\x1b" not in run.stderr and "?]0;pwned?model.py: failed" in run.stderr, run.stderr
