"""Importing TensorFlow quietly, once, and only when a command needs it.

``repair --help`` and the codemod never import TensorFlow; everything else calls ``tf()``.
The converter and the C++ runtime write diagnostics straight to file descriptor 2, bypassing
Python's ``sys.stderr``; ``captured_stderr`` redirects the descriptor so that text becomes evidence
in the report instead of noise on the user's terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",  # oneDNN's reordering changes float results run to run
    "GRPC_VERBOSITY": "ERROR",
    "ABSL_MIN_LOG_LEVEL": "3",
}


def tf() -> ModuleType:
    """The tensorflow module, imported with logging silenced."""
    if "tensorflow" not in sys.modules:
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)
        with captured_stderr():
            import tensorflow  # noqa: F401

        tensorflow = sys.modules["tensorflow"]
        tensorflow.get_logger().setLevel("ERROR")
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    return sys.modules["tensorflow"]


class _Captured:
    text: str = ""


@contextlib.contextmanager
def captured_stderr(keep: Path | None = None) -> Iterator[_Captured]:
    """Redirect fd 2 to a temporary file for the duration; the text is in ``.text`` afterwards.

    ``keep`` names the file instead: its text survives the process if the stage kills it (the supervisor
    reads the converter's last words there, see repair/supervise.py).
    """
    result = _Captured()
    sys.stderr.flush()
    saved = os.dup(2)
    with (open(keep, "w+b") if keep is not None else tempfile.TemporaryFile(mode="w+b")) as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield result
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            result.text = tmp.read().decode("utf-8", errors="replace")
