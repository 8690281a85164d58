"""Importing TensorFlow quietly, once, and only when a command needs it.

``repair --help`` and the codemod never import TensorFlow; everything else calls ``tf()``.
The converter and the C++ runtime write diagnostics straight to file descriptor 2, bypassing
Python's ``sys.stderr``; ``captured_stderr`` redirects the descriptor so that text becomes evidence
in the report instead of noise on the user's terminal.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",  # oneDNN's reordering changes float results run to run
    "GRPC_VERBOSITY": "ERROR",
    "ABSL_MIN_LOG_LEVEL": "3",
}


def run_and_exit(main: Callable[[], object]) -> NoReturn:
    """Run a command's ``main`` and end the process with its exit code, without tearing TensorFlow down.

    After a command that imported TensorFlow, Python's own shutdown spends about 0.9 s (measured after a MobileNetV2
    ``repair fix``) destroying TensorFlow's objects, memory the OS frees at once anyway. Everything that matters at
    exit still happens: the atexit handlers (``tf_safe``'s alias removal, logging's flush) run, then stdout and stderr
    are flushed, then ``os._exit``. Every file the command wrote is closed by then (it writes whole files). Without
    TensorFlow in the process, the exit is Python's usual one. An exception other than SystemExit propagates as ever.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if "tensorflow" not in sys.modules:
        sys.exit(code)  # type: ignore[arg-type]  # SystemExit's own code, passed on as it came
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): what Python would print, and its exit status 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


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
