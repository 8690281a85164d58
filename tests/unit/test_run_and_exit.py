"""run_and_exit: the exit code, the atexit handlers and buffered output all survive skipping TensorFlow's teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import atexit, sys, types
from pathlib import Path
from repair.core.tfenv import run_and_exit
if {tf_loaded}:
    sys.modules["tensorflow"] = types.ModuleType("tensorflow")  # only its presence is read: the os._exit path
atexit.register(Path({marker!r}).write_text, "atexit ran")
def main():
    sys.stdout.write("buffered, no newline")
    sys.exit({code!r})
run_and_exit(main)
"""


@pytest.mark.parametrize("tf_loaded", [True, False])
@pytest.mark.parametrize(("code", "status", "stderr"), [(3, 3, ""), (None, 0, ""), ("bad input", 1, "bad input")])
def test_exit_code_atexit_and_output_survive(tmp_path: Path, tf_loaded: bool, code: object, status: int,
                                             stderr: str) -> None:
    marker = tmp_path / "marker"
    script = SCRIPT.format(tf_loaded=tf_loaded, marker=str(marker), code=code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == status
    assert done.stdout == "buffered, no newline"
    assert done.stderr.strip() == stderr
    assert marker.read_text() == "atexit ran"
